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


# jax.numpy functions of one array, with the other arguments they need; None: not of one array
NUMPY_ARGS = {
    "pad": [((0, 1),)], "tile": [2], "repeat": [2], "roll": [1], "reshape": [(2, 1)],
    "broadcast_to": [(3, 2)], "expand_dims": [0], "take": [np.array([1, 0])], "resize": [(3,)],
    "insert": [1, 5.0], "append": [1.0], "delete": [0], "moveaxis": [0, 0], "swapaxes": [0, 0],
    "full_like": [2.0], "split": [2], "array_split": [2], "partition": [1], "argpartition": [1],
    "clip": [0.0, 1.0], "percentile": [50.0], "quantile": [0.5], "nanpercentile": [50.0],
    "nanquantile": [0.5], "convolve": [np.array([1.0, 2.0], np.float32)],
    "correlate": [np.array([1.0, 2.0], np.float32)], "polyval": [0.5],
    "interp": [np.array([0.0, 1.0], np.float32), np.array([0.0, 2.0], np.float32)],
    "outer": [np.array([1.0, 2.0], np.float32)], "kron": [np.array([1.0, 2.0], np.float32)],
    "searchsorted": [0.5], "digitize": [np.array([0.0, 1.0], np.float32)],
    "select": None, "piecewise": None, "stack": None, "concatenate": None,
    # numpy's own formatting applied to a jax Array in JAX (its type name, float64 digits)
    "array_repr": None, "array_str": None,
}
# JAX's jvp of trim_zeros at a Python scalar gives float64 numpy values (its concrete path)
NUMPY_JVP_SKIPPED = {("trim_zeros", "scalar")}


def _numpy_types(api, np_mod, name, kind):
    """(dtype, weak type) of the leaves of ``np_mod.<name>`` at a weakly typed scalar or array:
    ``(primal, jvp)``, ``jvp`` (primal and tangent) None where it has no jvp; or the error's
    type where it does not take the argument."""
    f0 = getattr(np_mod, name)
    extra = NUMPY_ARGS.get(name, [])
    x, t = (0.3, 1.0) if kind == "scalar" else (
        api.lax.broadcast_in_dim(0.3, (2,), ()), api.lax.broadcast_in_dim(1.0, (2,), ()))

    def types(tree):
        return [(str(np.asarray(v).dtype), bool(getattr(v, "weak_type", False)))
                for v in jax.tree_util.tree_leaves(tree)]
    try:
        primal = types(f0(x, *extra))
    except Exception as e:  # noqa: BLE001 - the error type is what is compared
        return type(e).__name__
    try:
        return primal, types(api.jvp(lambda v: f0(v, *extra), (x,), (t,)))
    except Exception:  # noqa: BLE001 - not differentiable
        return primal, None


def _numpy_names():
    return [n for n in sorted(dir(jax.numpy))
            if not n.startswith("_") and hasattr(xform.numpy, n) and NUMPY_ARGS.get(n, []) is
            not None and callable(getattr(jax.numpy, n))
            and not isinstance(getattr(jax.numpy, n), type)]


@pytest.mark.parametrize("kind", ["scalar", "weak_array"])
def test_weak_types_of_numpy_functions_as_jax(kind):
    # every jax.numpy function of one array (with fixed other arguments), its value and its
    # jvp tangent, at a Python scalar and at a weakly typed array: pad, insert, diagflat,
    # vander, polyval, spacing, argpartition and logical_not differed when this was written
    diffs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _numpy_names():
            want = _numpy_types(jax, jax.numpy, name, kind)
            if isinstance(want, str):
                continue  # JAX does not take this argument
            got = _numpy_types(xform, xform.numpy, name, kind)
            if (name, kind) in NUMPY_JVP_SKIPPED:
                want = (want[0], None)
            if want[1] is None and not isinstance(got, str):
                got = (got[0], None)  # xform differentiates more (nextafter: spacing)
            if got != want:
                diffs.append((name, want, got))
    assert not diffs, diffs


def test_weak_types_of_two_argument_numpy_functions_as_jax():
    # found by a sweep of jax.numpy functions of two arguments (a Python scalar, a weakly typed
    # array, a strongly typed array): heaviside did not broadcast x1 before typing its
    # constants in JAX; round's factor, and a full_like array fill, are strongly typed there
    s = np.array([1.0, 2.0], np.float32)
    cases = {
        "heaviside_py_weak": lambda api: api.numpy.heaviside(0.3, api.lax.broadcast_in_dim(
            0.3, (2,), ())),
        "heaviside_nan": lambda api: api.numpy.heaviside(np.array([-1, 0, 1, np.nan], np.float32),
                                                         0.5),
        "round_weak": lambda api: api.numpy.round(api.lax.broadcast_in_dim(0.37, (2,), ()), 1),
        "round_py": lambda api: api.numpy.round(0.37, 1),
        "full_like_array_fill": lambda api: api.numpy.full_like(
            api.lax.broadcast_in_dim(0.3, (2,), ()), s),
        "kaiser_float_m": lambda api: api.numpy.kaiser(4.5, 2.0),
    }
    for name, build in cases.items():
        want, got = build(jax), build(xform)
        assert (str(got.dtype), bool(got.weak_type)) == (str(want.dtype), bool(want.weak_type)), (
            name, want, got)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=name)


def test_gradient_with_coordinate_arrays_matches_jax():
    # jnp.gradient(f, x) with the coordinates along an axis (non-uniform spacing), JAX's
    # formula; it raised NotImplementedError
    rng = np.random.default_rng(0)
    f = rng.standard_normal((5, 4)).astype(np.float32)
    x = np.cumsum(rng.random(5) + 0.1).astype(np.float32)
    y = np.cumsum(rng.random(4) + 0.1).astype(np.float32)
    for args, kw in [((f, x), {"axis": 0}), ((f, x, y), {}), ((f, 2.0, y), {}),
                     ((f[:, 0], x), {}), ((f,), {"axis": ()})]:
        want, got = jax.numpy.gradient(*args, **kw), xform.numpy.gradient(*args, **kw)
        assert len(jax.tree_util.tree_leaves(want)) == len(jax.tree_util.tree_leaves(got))
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        xform.grad(lambda c: (xform.numpy.gradient(f[:, 0], c) ** 2).sum())(x),
        jax.grad(lambda c: (jax.numpy.gradient(f[:, 0], c) ** 2).sum())(x), rtol=1e-5)
