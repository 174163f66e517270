"""Weak types of every jax.lax function of one or two floating arguments, against JAX: the
primal, the jvp tangent and the vjp cotangent, for a Python scalar and for a weakly typed array
(the two cases JAX's rules tell apart: their constants are weak only beside a weak scalar).
A sweep of this kind found the slicing-transpose and rule-constant families of weak-type
differences; this keeps them found."""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest

import xform

# functions whose derivatives xform defines where JAX raises (or raises another error for)
XFORM_DIFFERENTIATES_MORE = {"nextafter", "polygamma", "zeta", "igamma_grad_a"}
# JAX hands back its Python-scalar argument (or its own TypedFloat literal) here, eagerly or
# under jvp, where xform gives a weakly typed jax Array of the same value
PYTHON_SCALAR_PASSTHROUGH = {"broadcast_like", "stop_gradient"}


def _names():
    out = []
    for name in sorted(dir(jax.lax)):
        if name.startswith("_") or name in XFORM_DIFFERENTIATES_MORE:
            continue
        f = getattr(jax.lax, name)
        if callable(f) and not isinstance(f, type) and hasattr(xform.lax, name):
            out.append(name)
    return out


def _types(api, name, kind):
    lax = api.lax
    f0 = getattr(lax, name)
    if kind == "scalar":
        x, t = 0.3, 1.0
    else:
        x, t = lax.broadcast_in_dim(0.3, (2,), ()), lax.broadcast_in_dim(1.0, (2,), ())
    for nargs in (1, 2):
        def f(v, nargs=nargs):
            return f0(*([v] + [0.7] * (nargs - 1)))
        try:
            p = f(x)
        except Exception:  # noqa: BLE001 - not a function of this many floating arguments
            continue
        if getattr(p, "dtype", None) != np.float32 or np.shape(p) != np.shape(x):
            return None
        try:
            _, tangent = api.jvp(f, (x,), (t,))
            out, pullback = api.vjp(f, x)
            (ct,) = pullback(lax.broadcast_in_dim(1.0, np.shape(out), ()))
        except Exception as e:  # noqa: BLE001 - the error type is what is compared
            return type(e).__name__
        return [(isinstance(v, jax.Array), str(np.asarray(v).dtype),
                 bool(getattr(v, "weak_type", False))) for v in (p, tangent, ct)]
    return None


@pytest.mark.parametrize("kind", ["scalar", "weak_array"])
def test_weak_types_of_lax_functions_as_jax(kind):
    diffs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _names():
            if kind == "scalar" and name in PYTHON_SCALAR_PASSTHROUGH:
                continue
            want = _types(jax, name, kind)
            if want is None:
                continue
            got = _types(xform, name, kind)
            if got != want:
                diffs.append((name, want, got))
    assert not diffs, diffs
