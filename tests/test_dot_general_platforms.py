"""dot_general's operand order per platform: the transpose rule's CPU choice (marked
``swap_off_cpu``) on CPU, JAX's form elsewhere, decided when the program is lowered.

Lowering for 'cuda' needs no GPU (JAX lowers for a platform it cannot run), so the GPU program's
contractions are compared with JAX's here; its values are checked on CPU by taking the non-CPU
branch of the lowering.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
import xform.numpy as xnp
from xform.lax import linear

SIZES, BATCH = (12, 8, 6, 4), 5
DOT = re.compile(r"stablehlo\.dot_general [^,]+, [^,]+, (.*?)(?:\s+loc\(.*)?$")
TRANSPOSE = re.compile(r"stablehlo\.transpose [^,]+, (.*?)(?:\s+loc\(.*)?$")


def _mlp_loss(np_):
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = np_.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        logits = h @ w + b
        logp = logits - np_.log(np_.sum(np_.exp(logits), axis=-1, keepdims=True))
        return -np_.sum(logp * y)
    return loss


def _data():
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((m, n), dtype=np.float32),
               rng.standard_normal(n, dtype=np.float32))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    x = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]
    return params, x, y


def _per_sample(lib, np_):
    return lib.jit(lib.vmap(lib.grad(_mlp_loss(np_)), in_axes=(None, 0, 0)))


def _contractions(text):
    """The dot_generals (dimension numbers and types) and transposes of StableHLO text, in
    program order."""
    out = []
    for line in text.splitlines():
        for kind, pat in (("dot_general", DOT), ("transpose", TRANSPOSE)):
            m = pat.search(line)
            if m:
                out.append((kind, m.group(1).strip()))
    return out


def _lowered(f, platforms, *args):
    return f.trace(*args).lower(lowering_platforms=platforms).as_text()


def test_gpu_program_contracts_as_jax_does():
    args = _data()
    xf, jf = _per_sample(xform, xnp), _per_sample(jax, jnp)
    got = _contractions(_lowered(xf, ("cuda",), *args))
    want = _contractions(_lowered(jf, ("cuda",), *args))
    # three weight gradients, each a batched outer product and a transpose, as JAX has them
    assert sum(k == "transpose" for k, _ in want) == 3
    assert got == want


def test_cpu_program_keeps_the_cpu_operand_order():
    args = _data()
    xf, jf = _per_sample(xform, xnp), _per_sample(jax, jnp)
    got = _contractions(_lowered(xf, ("cpu",), *args))
    want = _contractions(_lowered(jf, ("cpu",), *args))
    assert [k for k, _ in got].count("dot_general") == [k for k, _ in want].count("dot_general")
    # the weight gradients come out as (in, out) directly: dot_general(h, ct), no transpose
    assert [k for k, _ in got].count("transpose") == 0
    outer = [d for k, d in got if k == "dot_general" and "contracting_dims = [] x []" in d]
    assert len(outer) == 3
    for d in outer:  # (batch, in) x (batch, out) -> (batch, in, out)
        (b, i), (b2, o), res = [tuple(int(n) for n in t.split("x")[:-1])
                                for t in re.findall(r"tensor<([0-9x]+f32)>", d)]
        assert b == b2 == BATCH and res == (BATCH, i, o)


def test_one_program_lowers_for_both_platforms():
    args = _data()
    xf = _per_sample(xform, xnp)
    both = set(_contractions(_lowered(xf, ("cpu", "cuda"), *args)))
    cpu = set(_contractions(_lowered(xf, ("cpu",), *args)))
    cuda = set(_contractions(_lowered(xf, ("cuda",), *args)))
    # the marked contractions get a branch per platform: the CPU one as it is, the other
    # swapped and transposed
    assert cpu != cuda and both == cpu | cuda


def test_jaxpr_marks_the_cpu_choice():
    w = np.ones((3, 4), np.float32)
    jaxpr = xform.make_jaxpr(xform.grad(lambda w, x: xnp.sum(x @ w)))(w, np.ones(3, np.float32))
    marked = [e for e in jaxpr.jaxpr.eqns
              if e.primitive.name == "dot_general" and e.params.get("swap_off_cpu")]
    assert len(marked) == 1 and "swap_off_cpu=True" in str(jaxpr)
    # a forward program carries no mark
    assert "swap_off_cpu" not in str(xform.make_jaxpr(lambda w, x: x @ w)(w, np.ones(3)))


def test_values_on_cpu_match_jax():
    args = _data()
    got = _per_sample(xform, xnp)(*args)
    want = _per_sample(jax, jnp)(*args)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)


def test_non_cpu_branch_values_on_cpu(monkeypatch):
    # every platform_dependent in the program takes its default branch: the GPU program, run
    # here; fresh functions, so no compiled program is reused
    monkeypatch.setattr(linear.jlax, "platform_dependent",
                        lambda *args, default, **per_platform: default(*args))
    args = _data()
    got = _per_sample(xform, xnp)(*args)
    want = _per_sample(jax, jnp)(*args)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)
    # second order through marked contractions
    f = lambda w, x: jnp.sum(jnp.tanh(x @ w) ** 2)  # noqa: E731
    fx = lambda w, x: xnp.sum(xnp.tanh(x @ w) ** 2)  # noqa: E731
    w, x = args[0][0][0], args[1]
    np.testing.assert_allclose(np.asarray(xform.jit(xform.hessian(fx))(w[:4, :3], x[:2, :4])),
                               np.asarray(jax.jit(jax.hessian(f))(w[:4, :3], x[:2, :4])),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("lhs_shape,rhs_shape,dims", [
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),
    ((2, 3, 4), (2, 5, 4), (((2,), (2,)), ((0,), (0,)))),
    ((2, 3, 7, 4), (4, 2, 5), (((3,), (0,)), ((0,), (1,)))),
    ((3,), (3, 5), (((0,), (0,)), ((), ()))),
    ((2, 6), (2, 3, 4), (((), ()), ((0,), (0,)))),
])
def test_swapped_form_is_the_same_contraction(lhs_shape, rhs_shape, dims):
    rng = np.random.default_rng(1)
    lhs = rng.standard_normal(lhs_shape, dtype=np.float32)
    rhs = rng.standard_normal(rhs_shape, dtype=np.float32)
    prec = (jlax.Precision.HIGHEST, jlax.Precision.DEFAULT)
    got = linear._dot_general_swapped(lhs, rhs, dimension_numbers=dims, precision=prec,
                                      preferred_element_type=None)
    want = jlax.dot_general(lhs, rhs, dims, precision=prec)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_traced_lower_takes_lowering_platforms_and_keeps_the_function():
    import gc
    x = np.ones((3, 4), np.float32)
    # written inline: the jit object, which holds the lambda weakly, is gone before lower()
    traced = xform.jit(lambda a: xnp.sin(a) @ a.T).trace(x)
    gc.collect()
    for platforms in (None, ("cuda",), ("cpu", "cuda")):
        text = traced.lower(lowering_platforms=platforms).as_text()
        want = jax.jit(lambda a: jnp.sin(a) @ a.T).trace(x).lower(
            lowering_platforms=platforms).as_text()
        assert _contractions(text) == _contractions(want)
        assert "stablehlo.sine" in text
