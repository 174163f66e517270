"""xform.ad_checkpoint.print_saved_residuals prints what JAX's prints for the same function
(the examples of JAX's gradient-checkpointing page): residual types, sources and lines."""

import functools

import jax
import jax.ad_checkpoint
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.ad_checkpoint
import xform.numpy as xnp

LIBS = {"jax": (jax, jnp), "xform": (xform, xnp)}


def g(nl, W, x):
    y = nl.dot(W, x)
    return nl.sin(y)


def f(nl, W1, W2, W3, x):
    x = g(nl, W1, x)
    x = g(nl, W2, x)
    x = g(nl, W3, x)
    return x


def h(lib, nl, p, x):
    y = lib.ad_checkpoint.checkpoint_name(nl.sin(p["w"] * x), "a")
    return nl.exp(y).sum()


W1, W2, W3, X = np.ones((5, 4)), np.ones((6, 5)), np.ones((7, 6)), np.ones(4)
P, XS = {"w": np.ones(3, np.float32)}, np.ones(3, np.float32)

CASES = {
    "mlp": lambda lib, nl: (functools.partial(f, nl), W1, W2, W3, X),
    "mlp_checkpoint": lambda lib, nl: (lib.checkpoint(functools.partial(f, nl)), W1, W2, W3, X),
    "named": lambda lib, nl: (functools.partial(h, lib, nl), P, XS),
    "named_policy": lambda lib, nl: (
        lib.checkpoint(functools.partial(h, lib, nl),
                       policy=lib.checkpoint_policies.save_only_these_names("a")), P, XS),
    "dots_saveable": lambda lib, nl: (
        lib.checkpoint(functools.partial(f, nl), policy=lib.checkpoint_policies.dots_saveable),
        W1, W2, W3, X),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_print_saved_residuals_matches_jax(case, capsys):
    out = {}
    for name, (lib, nl) in LIBS.items():
        fun, *args = CASES[case](lib, nl)
        lib.ad_checkpoint.print_saved_residuals(fun, *args)
        out[name] = capsys.readouterr().out
    assert out["xform"] == out["jax"]


def k(nl, x, *, scale):
    return nl.sin(x) * scale


def test_print_saved_residuals_with_kwargs_matches_jax(capsys):
    out = {}
    for name, (lib, nl) in LIBS.items():
        lib.ad_checkpoint.print_saved_residuals(functools.partial(k, nl),
                                                np.ones(2, np.float32), scale=np.float32(2.0))
        out[name] = capsys.readouterr().out
    assert out["xform"] == out["jax"]
    # the list form (an xform addition) says the same
    res = xform.ad_checkpoint.saved_residuals(functools.partial(k, xnp),
                                              np.ones(2, np.float32), scale=np.float32(2.0))
    assert "".join(f"{a.str_short()} {d}\n" for a, d in res) == out["jax"]
