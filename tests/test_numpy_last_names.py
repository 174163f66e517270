"""The last jax.numpy names added to xform.numpy (r_, c_, ufunc, frompyfunc, i0, kaiser, spacing,
packbits, unpackbits, polydiv, polyfit, roots, histogram2d, histogramdd; and poly, of a square
matrix too), each checked against JAX on the same inputs: values and dtypes eagerly and under
jit, and under vmap and grad where the function is batched or differentiable.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

rng = np.random.default_rng(0)
F = np.float32
VEC = np.array([-2.0, -0.5, 0.0, 0.75, 3.0], F)
MAT = (np.arange(12, dtype=F).reshape(3, 4) - 5) / 3
BITS = (rng.uniform(size=(3, 11)) > 0.5).astype(np.int32)
BYTES = rng.integers(0, 256, size=(2, 3)).astype(np.uint8)
SAMPLE = rng.normal(size=(16, 3)).astype(F)
WEIGHTS = rng.uniform(size=16).astype(F)
XS = np.linspace(0, 1, 8).astype(F)
YS = (XS ** 2 + 0.1 * np.sin(9 * XS)).astype(F)


def _mul_add(a, b):
    return a * b + 1.0


# one ufunc per module, made once, so jit caches stay warm across the table
UFUNCS = {xnp: xnp.frompyfunc(_mul_add, 2, 1, identity=0.0),
          jnp: jnp.frompyfunc(_mul_add, 2, 1, identity=0.0)}
IADD = {xnp: xnp.frompyfunc(lambda a, b: a + b, 2, 1, identity=0),
        jnp: jnp.frompyfunc(lambda a, b: a + b, 2, 1, identity=0)}

# (id, fn(module, *arrays), arrays, checks): checks among "jit", "vmap" (over the first
# argument's leading axis) and "grad" (of the sum of the float outputs, in the first argument)
CASES = [
    ("spacing", lambda m, x: m.spacing(x),
     (np.array([0.0, 0.25, -1.0, np.inf, -np.inf, np.nan, 1e-30, 3e38], F),), "jit vmap"),
    ("spacing_f16", lambda m, x: m.spacing(x), (np.array([0.0, -1.0, 2.5], np.float16),), "jit"),
    ("spacing_int", lambda m, x: m.spacing(x), (np.array([0, 1, -7], np.int32),), "jit"),
    ("i0", lambda m, x: m.i0(x), (VEC,), "jit vmap grad"),
    ("i0_int", lambda m, x: m.i0(x), (np.array([0, 1, 2], np.int32),), "jit"),
    ("kaiser", lambda m, b: m.kaiser(7, b), (np.array(2.5, F),), "jit vmap grad"),
    ("kaiser_short", lambda m, b: (m.kaiser(1, b), m.kaiser(0, b)), (np.array(3.0, F),), "jit"),
    ("packbits", lambda m, a: m.packbits(a), (BITS,), "jit vmap"),
    ("packbits_axis", lambda m, a: m.packbits(a, axis=1, bitorder="little"), (BITS,), "jit vmap"),
    ("packbits_bool0", lambda m, a: m.packbits(a > 0, axis=0), (BITS,), "jit"),
    ("unpackbits", lambda m, a: m.unpackbits(a), (BYTES,), "jit vmap"),
    ("unpackbits_axis", lambda m, a: m.unpackbits(a, axis=1, bitorder="little"), (BYTES,),
     "jit vmap"),
    ("unpackbits_count", lambda m, a: (m.unpackbits(a, axis=0, count=5),
                                       m.unpackbits(a, axis=1, count=30),
                                       m.unpackbits(a, axis=-1, count=-3)), (BYTES,), "jit"),
    ("polydiv", lambda m, u, v: m.polydiv(u, v),
     (np.array([1.0, 2, 3, 4, 5], F), np.array([2.0, -1, 0.5], F)), "jit vmap grad"),
    ("polydiv_int", lambda m, u, v: m.polydiv(u, v),
     (np.array([3, 1, 4], np.int32), np.array([2, 7], np.int32)), "jit"),
    ("polydiv_short", lambda m, u, v: m.polydiv(u, v),
     (np.array([2.0, 1], F), np.array([1.0, 2, 3], F)), "jit"),
    # grad in y: JAX's derivative in x is NaN at x == 0 (from vander's x ** 0)
    ("polyfit", lambda m, y, x: m.polyfit(x, y, 2), (YS, XS), "jit grad"),
    ("polyfit_w", lambda m, y, x, w: m.polyfit(x, y, 3, w=w), (YS, XS, XS + 1), "jit vmap grad"),
    ("polyfit_full", lambda m, x, y: m.polyfit(x, y, 2, full=True), (XS, YS), "jit"),
    ("polyfit_cov", lambda m, x, y: m.polyfit(x, y, 2, cov=True), (XS, YS), "jit"),
    ("polyfit_cov_2d", lambda m, x, y: m.polyfit(x, y, 1, cov="unscaled"),
     (XS, np.stack([YS, 2 * YS + 1], 1)), "jit"),
    ("polyfit_2d", lambda m, x, y: m.polyfit(x, y, 2, rcond=1e-3),
     (XS, np.stack([YS, -YS], 1)), "jit"),
    ("roots", lambda m, p: m.roots(p), (np.array([1.0, -6, 11, -6], F),), ""),
    ("roots_leading_zeros", lambda m, p: m.roots(p), (np.array([0.0, 0, 1, -3, 2], F),), ""),
    ("roots_keep", lambda m, p: m.roots(p, strip_zeros=False),
     (np.array([0.0, 1, -3, 2], F),), "jit"),
    ("roots_short", lambda m, p: m.roots(p), (np.array([3.0], F),), ""),
    # poly: roots, a scalar root, no roots, and a square matrix's characteristic polynomial
    # (complex, from its eigenvalues, as JAX); the real part carries the gradient
    ("poly", lambda m, z: m.poly(z), (VEC,), "jit vmap grad"),
    ("poly_scalar", lambda m, z: m.poly(z), (np.float32(2.5),), "jit"),
    ("poly_empty", lambda m, z: m.poly(z), (np.zeros(0, F),), "jit"),
    ("poly_matrix", lambda m, a: m.poly(a), (MAT[:, :3],), "jit vmap"),
    ("poly_matrix_real_part", lambda m, a: m.real(m.poly(a)), (MAT[:, 1:],), "grad"),
    ("poly_matrix_1x1", lambda m, a: m.poly(a), (MAT[:1, :1],), "jit"),
    ("histogramdd", lambda m, s: m.histogramdd(s), (SAMPLE,), "jit"),
    ("histogramdd_bins", lambda m, s: m.histogramdd(s, bins=[3, 4, 2]), (SAMPLE,), "jit"),
    ("histogramdd_range", lambda m, s: m.histogramdd(s, 4, range=[(-1, 1), None, (0, 2)]),
     (SAMPLE,), "jit"),
    ("histogramdd_density", lambda m, w, s: m.histogramdd(s, 3, weights=w, density=True),
     (WEIGHTS, SAMPLE), "jit grad"),
    ("histogram2d", lambda m, x, y: m.histogram2d(x, y), (SAMPLE[:, 0], SAMPLE[:, 1]), "jit"),
    ("histogram2d_edges", lambda m, x, y: m.histogram2d(x, y, bins=np.array([-2.0, 0, 1, 2])),
     (SAMPLE[:, 0], SAMPLE[:, 1]), "jit"),
    ("histogram2d_pair", lambda m, w, x, y: m.histogram2d(x, y, bins=[3, 5], weights=w),
     (WEIGHTS, SAMPLE[:, 0], SAMPLE[:, 1]), "jit vmap grad"),
    ("r_", lambda m, a: m.r_[-1:5:1, 0, 0, a], (np.array([1, 2, 3], np.int32),), "jit vmap"),
    ("r_linspace", lambda m, a: m.r_[-1:1:6j, 0, a], (np.array([1.0, 2, 3], F),), "jit grad"),
    ("r_directive", lambda m, a, b: (m.r_["0,2", a, b], m.r_["0,2,0", a, b],
                                     m.r_["0,2,-2", a, b], m.r_["1,2", a, b]),
     (np.array([1, 2, 3], np.int32), np.array([4, 5, 6], np.int32)), "jit"),
    ("r_matrix", lambda m, a, b: (m.r_["r", a, b], m.r_["c", a, b]),
     (np.array([1, 2, 3], np.int32), np.array([4, 5, 6], np.int32)), "jit"),
    ("c_", lambda m, a: (m.c_[a, a], m.c_[a[0], a[1]], m.c_["0,2,-1", a[0], a[1]]), (MAT,),
     "jit grad"),
    ("c_vectors", lambda m, a, b: (m.c_[a, b], m.c_["r", a, b], m.c_["c", a, b]),
     (np.array([1, 2, 3], np.int32), np.array([4, 5, 6], np.int32)), "jit vmap"),
    ("ufunc_call", lambda m, a: UFUNCS[m](a, a[0]), (MAT,), "jit vmap grad"),
    ("ufunc_reduce", lambda m, a: (UFUNCS[m].reduce(a), UFUNCS[m].reduce(a, axis=1),
                                   UFUNCS[m].reduce(a, axis=None, keepdims=True),
                                   UFUNCS[m].reduce(a, axis=-1, initial=2.0)),
     (MAT,), "jit vmap grad"),
    ("ufunc_reduce_where", lambda m, a: UFUNCS[m].reduce(a, axis=1, where=a > 0, initial=0.5),
     (MAT,), "jit vmap grad"),
    ("ufunc_reduce_int", lambda m, a: (IADD[m].reduce(a), IADD[m].reduce(a, dtype=np.float32),
                                       IADD[m].reduce(a[:0], axis=0)),
     (np.arange(12, dtype=np.int32).reshape(3, 4),), "jit"),
    ("ufunc_accumulate", lambda m, a: (UFUNCS[m].accumulate(a), UFUNCS[m].accumulate(a, 1)),
     (MAT,), "jit vmap grad"),
    ("ufunc_accumulate_dtype", lambda m, a: IADD[m].accumulate(a, dtype=np.float32),
     (np.arange(5, dtype=np.int32),), "jit"),
    ("ufunc_at", lambda m, v, i, b: UFUNCS[m].at(v, i, b, inplace=False),
     (np.arange(5, dtype=F), np.array([0, 0, 3], np.int32), np.array([1.0, 2, 3], F)),
     "jit vmap grad"),
    ("ufunc_at_scalar", lambda m, v: (UFUNCS[m].at(v, 2, 5.0, inplace=False),
                                      UFUNCS[m].at(v, (np.array([1, 1]),), 2.0, inplace=False)),
     (np.arange(5, dtype=F),), "jit grad"),
    ("ufunc_at_broadcast", lambda m, v: IADD[m].at(v, np.array([[1, 1], [4, 0]]), 3,
                                                   inplace=False),
     (np.arange(5, dtype=np.int32),), "jit vmap"),
    ("ufunc_at_2d", lambda m, a, i, j: UFUNCS[m].at(a, (i, j), 3.0, inplace=False),
     (MAT, np.array([0, 2, 0], np.int32), np.array([1, 3, 1], np.int32)), "jit grad"),
    ("ufunc_reduceat", lambda m, v, i: UFUNCS[m].reduceat(v, i),
     (np.arange(6, dtype=F), np.array([0, 3, 1, 5], np.int32)), "jit vmap grad"),
    ("ufunc_reduceat_axis", lambda m, a, i: UFUNCS[m].reduceat(a, i, axis=1),
     (MAT, np.array([0, 2], np.int32)), "jit grad"),
    ("ufunc_outer", lambda m, a, b: UFUNCS[m].outer(a, b),
     (np.array([1.0, -2, 0.5], F), MAT), "jit vmap grad"),
]


def _check(x_out, j_out, rtol=2e-5, atol=1e-5):
    xs, xtree = jax.tree.flatten(x_out)
    js, jtree = jax.tree.flatten(j_out)
    assert xtree == jtree, (xtree, jtree)
    for x, j in zip(xs, js):
        x, j = np.asarray(x), np.asarray(j)
        assert x.dtype == j.dtype, (x.dtype, j.dtype)
        assert x.shape == j.shape, (x.shape, j.shape)
        np.testing.assert_allclose(x, j, rtol=rtol, atol=atol, equal_nan=True)


def _float_sum(m, out):
    """The sum of the floating-point outputs (what grad differentiates)."""
    leaves = [x for x in jax.tree.leaves(out) if jnp.issubdtype(x.dtype, jnp.floating)]
    return sum(m.sum(m.where(m.isfinite(x), x, 0.0)) for x in leaves)


@pytest.mark.parametrize("name,fn,args,checks", CASES, ids=[c[0] for c in CASES])
def test_against_jax(name, fn, args, checks):
    _check(fn(xnp, *args), fn(jnp, *args))
    if "jit" in checks:
        _check(xform.jit(lambda *a: fn(xnp, *a))(*args), jax.jit(lambda *a: fn(jnp, *a))(*args))
    if "vmap" in checks:
        first = args[0]
        other = first[::-1] if first.ndim else first + 1  # a second, different example
        batched = (np.stack([first, other]),) + args[1:]
        in_axes = (0,) + (None,) * (len(args) - 1)
        _check(xform.vmap(lambda *a: fn(xnp, *a), in_axes)(*batched),
               jax.vmap(lambda *a: fn(jnp, *a), in_axes)(*batched))
    if "grad" in checks:
        _check(xform.grad(lambda *a: _float_sum(xnp, fn(xnp, *a)))(*args),
               jax.grad(lambda *a: _float_sum(jnp, fn(jnp, *a)))(*args), rtol=1e-4, atol=1e-4)


def test_i0_derivative_at_zero_is_zero():
    # JAX's custom rule: the derivative is defined as 0 at x == 0 (|x| has a kink there)
    for m, grad in ((xnp, xform.grad), (jnp, jax.grad)):
        assert float(grad(m.i0)(np.float32(0.0))) == 0.0
    _check(xform.jvp(xnp.i0, (VEC,), (np.ones_like(VEC),)),
           jax.jvp(jnp.i0, (VEC,), (np.ones_like(VEC),)))


def test_ufunc_attributes():
    u, j = UFUNCS[xnp], UFUNCS[jnp]
    assert (repr(u), u.__name__, u.nin, u.nout, u.nargs, u.identity) == \
        (repr(j), j.__name__, j.nin, j.nout, j.nargs, j.identity)
    assert isinstance(u, xnp.ufunc)
    assert u == xnp.frompyfunc(_mul_add, 2, 1, identity=0.0)
    assert hash(u) == hash(xnp.frompyfunc(_mul_add, 2, 1, identity=0.0))
    assert u != xnp.frompyfunc(_mul_add, 2, 1, identity=1.0)


def test_ufunc_custom_methods_are_used():
    # JAX's ufuncs accept faster implementations of the call and of each method
    calls = []

    def fast_reduce(a, **kw):
        calls.append(kw["axis"])
        return xnp.sum(a, axis=kw["axis"])

    u = xnp.ufunc(lambda a, b: a + b, 2, 1, identity=0, reduce=fast_reduce)
    np.testing.assert_allclose(u.reduce(MAT, axis=1), MAT.sum(1), rtol=1e-6)
    assert calls == [1]


def _raises_like_jax(fn, *args):
    with pytest.raises(Exception) as j_err:
        fn(jnp, *args)
    with pytest.raises(j_err.type):
        fn(xnp, *args)


@pytest.mark.parametrize("fn,args", [
    (lambda m, x: m.spacing(x), (np.array([1 + 1j], np.complex64),)),
    (lambda m, x: m.i0(x), (np.array([1 + 1j], np.complex64),)),
    (lambda m, x: m.packbits(x), (np.array([0.5], F),)),
    (lambda m, x: m.packbits(x, bitorder="middle"), (np.array([1], np.int32),)),
    (lambda m, x: m.unpackbits(x), (np.array([1], np.int32),)),
    (lambda m, p: m.roots(p), (np.ones((2, 2), F),)),
    (lambda m, a: m.poly(a), (MAT,)),
    (lambda m, a: m.poly(a), (np.ones((2, 2, 2), F),)),
    (lambda m, x, y: m.polyfit(x, y, -1), (XS, YS)),
    (lambda m, x, y: m.polyfit(x, y, 2), (XS, YS[:-1])),
    (lambda m, s: m.histogramdd(s, bins=[2, 3]), (SAMPLE,)),
    (lambda m, s, w: m.histogramdd(s, weights=w), (SAMPLE, WEIGHTS[:-1])),
    (lambda m, a: m.r_[a, "0,2"], (np.array([1, 2], np.int32),)),
    (lambda m, a: m.r_["x,y", a], (np.array([1, 2], np.int32),)),
    (lambda m, a: UFUNCS[m].at(a, 0, 1.0), (VEC,)),
    (lambda m, a: m.frompyfunc(_mul_add, 2, 1).reduce(a, where=a > 0), (VEC,)),
    (lambda m, a: UFUNCS[m].reduce(a, where=a), (VEC,)),
    (lambda m, a: UFUNCS[m].reduce(a, axis=(0, 1)), (MAT,)),
    (lambda m, a: m.frompyfunc(lambda x: x, 1, 1).reduce(a), (VEC,)),
    (lambda m, a: m.frompyfunc(lambda x, y: x + y, 2, 1).reduce(a[:0]), (VEC,)),
])
def test_errors_match_jax(fn, args):
    _raises_like_jax(fn, *args)


def test_roots_strip_zeros_needs_concrete_values():
    for m, jit in ((jnp, jax.jit), (xnp, xform.jit)):
        with pytest.raises(jax.errors.ConcretizationTypeError):
            jit(m.roots)(np.array([0.0, 1, 2], F))


BUILTIN_UFUNCS = ["add", "bitwise_and", "bitwise_or", "bitwise_xor", "logaddexp", "logaddexp2",
                  "logical_and", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
                  "subtract"]
UFUNC_METHODS = {
    "call": lambda u, a: u(a, a[0]),
    "reduce": lambda u, a: u.reduce(a),
    "reduce_all": lambda u, a: u.reduce(a, axis=None, keepdims=True),
    "accumulate": lambda u, a: u.accumulate(a, axis=1),
    "outer": lambda u, a: u.outer(a[0], a[1]),
    "at": lambda u, a: u.at(a, (np.array([0, 0, 2]), np.array([1, 1, 3])), a[0, :3],
                            inplace=False),
    "reduceat": lambda u, a: u.reduceat(a, np.array([0, 2]), axis=1),
}


@pytest.mark.parametrize("method", list(UFUNC_METHODS))
@pytest.mark.parametrize("name", BUILTIN_UFUNCS)
def test_builtin_ufuncs_against_jax(name, method):
    # as in JAX, these public names are ufunc objects with every method
    x_u, j_u = getattr(xnp, name), getattr(jnp, name)
    assert isinstance(x_u, xnp.ufunc) and (x_u.nin, x_u.identity) == (j_u.nin, j_u.identity)
    a = (np.arange(12, dtype=np.int32).reshape(3, 4) if "bitwise" in name
         else MAT > 0 if "logical" in name else MAT)
    fn = UFUNC_METHODS[method]
    try:
        expected = fn(j_u, a)
    except Exception as err:  # noqa: BLE001 (the same error type is what is checked)
        with pytest.raises(type(err)):
            fn(x_u, a)
        return
    _check(fn(x_u, a), expected)
    _check(xform.jit(lambda a: fn(x_u, a))(a), expected)


@pytest.mark.parametrize("name", ["add", "multiply", "subtract", "maximum"])
def test_builtin_ufunc_methods_transform(name):
    a, idx = MAT[0], np.array([0, 0, 1])
    x_u, j_u = getattr(xnp, name), getattr(jnp, name)
    _check(xform.grad(lambda v: x_u.at(v, idx, 3.0, inplace=False).sum())(a),
           jax.grad(lambda v: j_u.at(v, idx, 3.0, inplace=False).sum())(a))
    _check(xform.vmap(x_u.reduce)(MAT), jax.vmap(j_u.reduce)(MAT))
    _check(xform.grad(lambda v: x_u.accumulate(v).sum())(a),
           jax.grad(lambda v: j_u.accumulate(v).sum())(a))


def test_negative_is_a_unary_ufunc():
    _check(xnp.negative(MAT), jnp.negative(MAT))
    assert repr(xnp.negative) == repr(jnp.negative) and xnp.negative.nin == 1
