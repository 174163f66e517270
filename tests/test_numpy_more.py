"""Op records for the breadth of xform.numpy beyond the seed subset: more ufuncs, matrix
structure, manipulation, sorting, set operations and statistics. Each record is checked
against jax.numpy on the same inputs (eager and under jit, dtype included), under vmap (batch
axis first and last) and, where differentiable, by check_grads to first order.

Arguments are numpy arrays (check_vmap batches those); static arguments live in the lambdas.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.core.errors import ConcretizationTypeError
from op_records import OpRecord, check_eager, check_grads_record, check_jit, check_vmap


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def pos32(rng, *shape):
    return rng.uniform(0.5, 2.0, shape).astype(np.float32)


def ints(rng, *shape, lo=-5, hi=6):
    return rng.integers(lo, hi, shape).astype(np.int32)


def sorted32(rng, n):
    return np.sort(rng.standard_normal(n)).astype(np.float32)


RECORDS: list[OpRecord] = []


def rec(name, f, args_maker, tol=1e-5, differentiable=True, **kw):
    """``f(np_module, *args)`` run with xform.numpy and with jax.numpy."""
    RECORDS.append(OpRecord(name, lambda *a: f(xnp, *a), lambda *a: f(jnp, *a), args_maker,
                            tol, differentiable=differentiable, **kw))


# -- more ufuncs ----------------------------------------------------------------------------
for _n in ["logaddexp", "logaddexp2", "hypot", "copysign", "fmax", "fmin"]:
    rec(_n, lambda np_, x, y, n=_n: getattr(np_, n)(x, y), lambda r: [f32(r, 2, 3), f32(r, 3)])
rec("fmod", lambda np_, x, y: np_.fmod(x, y), lambda r: [f32(r, 4), pos32(r, 4)])
rec("fmod_int", lambda np_, x, y: np_.fmod(x, y), lambda r: [ints(r, 4), ints(r, 4, lo=1)],
    differentiable=False)
rec("divmod", lambda np_, x, y: np_.divmod(x, y), lambda r: [f32(r, 4), pos32(r, 4)],
    differentiable=False)
rec("heaviside", lambda np_, x, y: np_.heaviside(x, y), lambda r: [f32(r, 4), f32(r, 4)],
    differentiable=False)
for _n in ["sinc", "deg2rad", "rad2deg", "degrees", "radians", "fabs", "reciprocal", "rint",
           "trunc"]:
    rec(_n, lambda np_, x, n=_n: getattr(np_, n)(x), lambda r: [f32(r, 2, 3) + 0.1],
        differentiable=_n not in ("rint", "trunc"))
for _n in ["isnan", "isinf", "isfinite", "isposinf", "isneginf"]:
    rec(_n, lambda np_, x, n=_n: getattr(np_, n)(x / x[0]),
        lambda r: [np.array([0.0, 1.0, -0.0, -2.0], np.float32)], differentiable=False)
# signbit of NaN needs a bitcast xform does not have: finite and signed-zero inputs only
rec("signbit", lambda np_, x: np_.signbit(x),
    lambda r: [np.array([0.0, np.inf, -0.0, -2.0, -np.inf], np.float32)], differentiable=False)
rec("nan_to_num", lambda np_, x: np_.nan_to_num(x / x[0], nan=1.5),
    lambda r: [np.array([0.0, 1.0, -2.0, 3.0], np.float32)], differentiable=False)
rec("nan_to_num_grad", lambda np_, x: np_.nan_to_num(x), lambda r: [f32(r, 3)])
rec("isclose", lambda np_, x, y: np_.isclose(x, x + y * 1e-6, equal_nan=True),
    lambda r: [f32(r, 4), f32(r, 4)], differentiable=False)
rec("allclose", lambda np_, x, y: np_.allclose(x, y), lambda r: [f32(r, 3), f32(r, 3)],
    differentiable=False)
rec("array_equal", lambda np_, x: np_.array_equal(x, x), lambda r: [ints(r, 3)])
rec("frexp", lambda np_, x: np_.frexp(x * 100), lambda r: [f32(r, 4)], differentiable=False)
rec("ldexp", lambda np_, x, e: np_.ldexp(x, e), lambda r: [f32(r, 4), ints(r, 4)])
rec("modf", lambda np_, x: np_.modf(x * 3), lambda r: [f32(r, 4)])
rec("gcd_lcm", lambda np_, x, y: (np_.gcd(x, y), np_.lcm(x, y)),
    lambda r: [ints(r, 4, lo=-12, hi=13), ints(r, 4, lo=0, hi=13)], differentiable=False)
rec("angle", lambda np_, x: np_.angle(x, deg=True), lambda r: [f32(r, 4)],
    differentiable=False)
rec("float_power", lambda np_, x, y: np_.float_power(x, y), lambda r: [pos32(r, 3), f32(r, 3)])
rec("astype", lambda np_, x: np_.astype(x, np_.int16), lambda r: [f32(r, 3) * 4],
    differentiable=False)

# -- creation and matrix structure ------------------------------------------------------------
rec("logspace", lambda np_, a, b: np_.logspace(a, b, 4, base=2.0),
    lambda r: [f32(r), f32(r)])
rec("geomspace", lambda np_, a, b: np_.geomspace(a, b, 3), lambda r: [pos32(r), pos32(r)])
rec("tri", lambda np_: np_.tri(3, 4, 1, dtype=np_.int32), lambda r: [])
rec("tril_triu", lambda np_, m: (np_.tril(m, -1), np_.triu(m, 1)), lambda r: [f32(r, 3, 4)])
rec("diag_vec", lambda np_, v: np_.diag(v, -1), lambda r: [f32(r, 3)])
rec("diag_mat", lambda np_, m: np_.diag(m, 1), lambda r: [f32(r, 3, 4)])
rec("diagonal", lambda np_, m: np_.diagonal(m, 1, 0, 2), lambda r: [f32(r, 3, 2, 4)])
rec("trace", lambda np_, m: np_.trace(m, -1), lambda r: [f32(r, 3, 4)])
rec("meshgrid", lambda np_, x, y: np_.meshgrid(x, y), lambda r: [f32(r, 3), f32(r, 2)])
rec("meshgrid_ij_sparse", lambda np_, x, y: np_.meshgrid(x, y, indexing="ij", sparse=True),
    lambda r: [f32(r, 3), f32(r, 2)])
rec("indices", lambda np_: np_.indices((2, 3)), lambda r: [])
rec("fill_diagonal", lambda np_, m: np_.fill_diagonal(m, 2.0, inplace=False),
    lambda r: [f32(r, 3, 3)])
rec("kron", lambda np_, a, b: np_.kron(a, b), lambda r: [f32(r, 2, 2), f32(r, 3)])
rec("cross", lambda np_, a, b: np_.cross(a, b), lambda r: [f32(r, 2, 3), f32(r, 3)])
rec("cross_2d", lambda np_, a, b: np_.cross(a, b), lambda r: [f32(r, 2), f32(r, 2)])

# -- manipulation ----------------------------------------------------------------------------
rec("atleast", lambda np_, s, v: (np_.atleast_1d(s), np_.atleast_2d(v), np_.atleast_3d(v)),
    lambda r: [f32(r), f32(r, 3)])
rec("hstack_vstack", lambda np_, a, b: (np_.hstack([a, b]), np_.vstack([a, b])),
    lambda r: [f32(r, 3), f32(r, 3)])
rec("dstack_column_stack", lambda np_, a, b: (np_.dstack([a, b]), np_.column_stack([a, b])),
    lambda r: [f32(r, 2), f32(r, 2)])
rec("split", lambda np_, a: np_.split(a, [1, 3], axis=1), lambda r: [f32(r, 2, 4)])
rec("array_split", lambda np_, a: np_.array_split(a, 3), lambda r: [f32(r, 5)])
rec("unstack", lambda np_, a: np_.unstack(a, axis=1), lambda r: [f32(r, 2, 3)])
rec("tile", lambda np_, a: np_.tile(a, (2, 1, 2)), lambda r: [f32(r, 2, 3)])
rec("repeat", lambda np_, a: np_.repeat(a, 2, axis=0), lambda r: [f32(r, 2, 3)])
rec("repeat_array", lambda np_, a: np_.repeat(a, np.array([1, 0, 2])),
    lambda r: [f32(r, 3)])
rec("repeat_traced", lambda np_, a, n: np_.repeat(a, n, total_repeat_length=5),
    lambda r: [f32(r, 3), np.array([2, 0, 3], np.int32)])
rec("flips", lambda np_, a: (np_.flip(a), np_.fliplr(a), np_.flipud(a), np_.flip(a, (0, 2))),
    lambda r: [f32(r, 2, 3, 2)])
rec("roll", lambda np_, a: (np_.roll(a, 2), np_.roll(a, (1, -1), (0, 1))),
    lambda r: [f32(r, 3, 4)])
rec("roll_traced", lambda np_, a, s: np_.roll(a, s[0], axis=1),
    lambda r: [f32(r, 2, 3), ints(r, 1)])
rec("rot90", lambda np_, a: (np_.rot90(a), np_.rot90(a, 2), np_.rot90(a, 3, (1, 2))),
    lambda r: [f32(r, 2, 3, 2)])
for _mode in ["constant", "edge", "wrap", "reflect", "symmetric"]:
    rec(f"pad_{_mode}", lambda np_, a, m=_mode: np_.pad(a, ((1, 2), (2, 1)), mode=m),
        lambda r: [f32(r, 3, 3)])
rec("pad_constant_values", lambda np_, a: np_.pad(a, 1, constant_values=((1, 2), (3, 4))),
    lambda r: [f32(r, 2, 2)])
rec("append", lambda np_, a, b: np_.append(a, b), lambda r: [f32(r, 2, 2), f32(r, 3)])
rec("diff", lambda np_, a: (np_.diff(a, 2), np_.diff(a, axis=0, prepend=0.5)),
    lambda r: [f32(r, 3, 4)])

# -- sorting and searching ---------------------------------------------------------------------
rec("sort", lambda np_, a: (np_.sort(a), np_.sort(a, axis=0, descending=True),
                            np_.sort(a, axis=None)), lambda r: [f32(r, 3, 4)])
rec("argsort", lambda np_, a: (np_.argsort(a), np_.argsort(a, axis=0, descending=True)),
    lambda r: [ints(r, 3, 4, lo=0, hi=3)])
rec("lexsort", lambda np_, a, b: np_.lexsort((a, b)),
    lambda r: [ints(r, 6, lo=0, hi=3), ints(r, 6, lo=0, hi=2)])
rec("partition", lambda np_, a: np_.partition(a, 2), lambda r: [f32(r, 2, 5)])
rec("argpartition", lambda np_, a: np_.argpartition(a, 1, axis=0), lambda r: [f32(r, 4, 2)],
    differentiable=False)
rec("searchsorted", lambda np_, a, v: (np_.searchsorted(a, v),
                                       np_.searchsorted(a, v, side="right")),
    lambda r: [np.array([0., 1., 1., 2.], np.float32), np.round(f32(r, 5) + 1)],
    differentiable=False)
rec("digitize", lambda np_, x, b: (np_.digitize(x, b), np_.digitize(x, b[::-1], right=True)),
    lambda r: [f32(r, 5), sorted32(r, 3)],
    differentiable=False)

# -- data-dependent sizes (with size=) ----------------------------------------------------------
rec("nonzero", lambda np_, a: np_.nonzero(a, size=5, fill_value=-1),
    lambda r: [ints(r, 2, 3, lo=0, hi=2)])
rec("flatnonzero_where", lambda np_, a: (np_.flatnonzero(a, size=4),
                                         np_.where(a, size=3)),
    lambda r: [ints(r, 5, lo=0, hi=2)])
rec("argwhere", lambda np_, a: np_.argwhere(a, size=4), lambda r: [ints(r, 2, 3, lo=0, hi=2)])
rec("unique", lambda np_, a: np_.unique(a, size=4, fill_value=9),
    lambda r: [ints(r, 6, lo=0, hi=4)])
rec("unique_all", lambda np_, a: np_.unique(a, return_index=True, return_inverse=True,
                                            return_counts=True, size=5),
    lambda r: [ints(r, 2, 3, lo=0, hi=4)])
rec("unique_float", lambda np_, a: np_.unique(np_.round(a), size=3), lambda r: [f32(r, 5)],
    differentiable=False)
rec("bincount", lambda np_, x, w: (np_.bincount(x, length=4), np_.bincount(x, w, length=3)),
    lambda r: [ints(r, 5, lo=0, hi=5), f32(r, 5)],
    differentiable=False)
rec("histogram", lambda np_, a: np_.histogram(a, bins=4), lambda r: [f32(r, 8)],
    differentiable=False)
rec("histogram_weights", lambda np_, a, w: np_.histogram(a, bins=3, range=(-1, 1), weights=w,
                                                         density=True)[0],
    lambda r: [f32(r, 6), pos32(r, 6)])
rec("isin", lambda np_, a, b: np_.isin(a, b), lambda r: [ints(r, 2, 3), ints(r, 4)])
rec("setops", lambda np_, a, b: (np_.union1d(a, b, size=6),
                                 np_.intersect1d(a, b, size=3, fill_value=0),
                                 np_.setdiff1d(a, b, size=3)),
    lambda r: [ints(r, 4, lo=0, hi=5), ints(r, 3, lo=0, hi=5)])
rec("compress_extract", lambda np_, c, a: (np_.compress(c, a, axis=1, size=2),
                                           np_.extract(c > 0, a[0], size=2)),
    lambda r: [ints(r, 3, lo=0, hi=2), f32(r, 2, 3)])
rec("select", lambda np_, a, b: np_.select([a < 0, b < 0], [a, b * 2], default=-1.0),
    lambda r: [f32(r, 4), f32(r, 4)])
rec("piecewise", lambda np_, x: np_.piecewise(x, [x < 0, x > 0.5], [lambda v: -v, 2.0,
                                                                      lambda v: v * v]),
    lambda r: [f32(r, 5)])
rec("put_along_axis", lambda np_, a, v: np_.put_along_axis(
    a, np.array([[1], [0]]), v, axis=1, inplace=False), lambda r: [f32(r, 2, 3), f32(r, 2, 1)])

# -- statistics ------------------------------------------------------------------------------
rec("quantile", lambda np_, a: (np_.quantile(a, 0.3, axis=1),
                                np_.quantile(a, np.array([0.1, 0.9], np.float32), axis=(0, 2),
                                             keepdims=True)),
    lambda r: [f32(r, 2, 3, 4)])
rec("quantile_methods", lambda np_, a: [np_.quantile(a, 0.4, method=m) for m in
                                        ("lower", "higher", "nearest", "midpoint")],
    lambda r: [f32(r, 6)], differentiable=False)
rec("percentile_median", lambda np_, a: (np_.percentile(a, 25.0, axis=0), np_.median(a),
                                         np_.median(a, axis=1, keepdims=True)),
    lambda r: [f32(r, 3, 4)])
rec("nanquantile", lambda np_, a: (np_.nanmedian(np_.where(a > 1, np_.nan, a), axis=0),
                                   np_.nanpercentile(a, 60.0)), lambda r: [f32(r, 4, 3)])
rec("average", lambda np_, a, w: (np_.average(a, axis=1, weights=w, returned=True),
                                  np_.average(a)), lambda r: [f32(r, 2, 3), pos32(r, 3)])
rec("count_nonzero_ptp", lambda np_, a: (np_.count_nonzero(a, axis=0), np_.ptp(a, axis=1),
                                         np_.ptp(a, keepdims=True)),
    lambda r: [np.round(f32(r, 3, 4))],
    differentiable=False)
for _n in ["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd"]:
    rec(_n, lambda np_, a, n=_n: getattr(np_, n)(np_.where(a > 1.0, np_.nan, a), axis=1),
        lambda r: [f32(r, 3, 4)], tol=1e-4)
rec("nanargmax_min", lambda np_, a: (np_.nanargmax(np_.where(a > 1.0, np_.nan, a), axis=0),
                                     np_.nanargmin(np_.where(a > 1.0, np_.nan, a))),
    lambda r: [f32(r, 3, 4)],
    differentiable=False)
rec("nancumsum", lambda np_, a: (np_.nancumsum(np_.where(a > 1.0, np_.nan, a), axis=1),
                                 np_.cumulative_sum(a, axis=0, include_initial=True)),
    lambda r: [f32(r, 2, 3)])
rec("cov_corrcoef", lambda np_, a: (np_.cov(a), np_.corrcoef(a, rowvar=False)),
    lambda r: [f32(r, 3, 5)], tol=1e-4)

# -- the rest: aliases, index helpers, calculus, convolution ------------------------------------
rec("concat_permute", lambda np_, a: (np_.concat([a, a], axis=1), np_.permute_dims(a, (1, 0)),
                                      np_.rollaxis(a, 1)), lambda r: [f32(r, 2, 3)])
rec("vecdot_matvec", lambda np_, m, v: (np_.vecdot(m, v), np_.matvec(m, v),
                                        np_.vecmat(v, np_.transpose(m))),
    lambda r: [f32(r, 2, 3), f32(r, 3)])
rec("unravel_ravel", lambda np_, i: (np_.unravel_index(i, (3, 4)),
                                     np_.ravel_multi_index((i, i), (12, 12), mode="clip")),
    lambda r: [ints(r, 4, lo=-12, hi=12)], differentiable=False)
rec("delete_insert", lambda np_, a, v: (np_.delete(a, np.array([0, 2]), axis=1),
                                        np_.insert(a, 1, 5.0, axis=1),
                                        np_.insert(a[0], np.array([0, 2, 3]), v)),
    lambda r: [f32(r, 2, 3), f32(r, 3)])
rec("resize_block", lambda np_, a: (np_.resize(a, (2, 4)), np_.block([[a, a], [a, a]])),
    lambda r: [f32(r, 3)])
rec("choose_put", lambda np_, i, a: (np_.choose(i, [a[0], a[1], a[2]], mode="clip"),
                                     np_.put(a, np.array([0, 5]), 1.5, inplace=False)),
    lambda r: [ints(r, 4, lo=0, hi=3), f32(r, 3, 4)])
rec("vander_polyval", lambda np_, p, x: (np_.vander(x, 3), np_.polyval(p, x)),
    lambda r: [f32(r, 3), f32(r, 4)])
rec("trapezoid_gradient", lambda np_, y, x: (np_.trapezoid(y, x=x), np_.gradient(y),
                                             np_.gradient(y, 0.5)),
    lambda r: [f32(r, 5), sorted32(r, 5)])
rec("interp", lambda np_, x, fp: np_.interp(x, np.array([-1., 0., 0.5, 2.], np.float32), fp),
    lambda r: [f32(r, 5), f32(r, 4)])
rec("unwrap", lambda np_, p: np_.unwrap(p * 4), lambda r: [f32(r, 5)])
rec("convolve_correlate", lambda np_, a, v: (np_.convolve(a, v), np_.convolve(v, a, "same"),
                                             np_.correlate(a, v), np_.correlate(v, a, "full")),
    lambda r: [f32(r, 5), f32(r, 3)])
rec("windows", lambda np_: (np_.hanning(4), np_.hamming(4), np_.blackman(4), np_.bartlett(4)),
    lambda r: [])
rec("apply_along_axis", lambda np_, a: (np_.apply_along_axis(lambda x: x * x.sum(), 1, a),
                                        np_.apply_over_axes(np_.sum, a, [0])),
    lambda r: [f32(r, 2, 3)])
rec("setxor1d", lambda np_, a, b: np_.setxor1d(a, b, size=4, fill_value=0),
    lambda r: [ints(r, 4, lo=0, hi=5), ints(r, 3, lo=0, hi=5)])

rec("polynomials", lambda np_, a, b: (np_.polyadd(a, b), np_.polysub(b, a), np_.polymul(a, b),
                                      np_.polyder(a), np_.polyint(b), np_.poly(b)),
    lambda r: [f32(r, 3), f32(r, 2)])
rec("vectorize", lambda np_, x, y: (np_.vectorize(lambda u, v: u * 2 + v)(x, y),
                                    np_.vectorize(lambda u, v: (u * v).sum(),
                                                  signature="(n),(n)->()")(x, y)),
    lambda r: [f32(r, 2, 3), f32(r, 3)])
rec("bitwise_count", lambda np_, x: np_.bitwise_count(x), lambda r: [ints(r, 5, lo=-9, hi=99)],
    differentiable=False)

def _ids(r):
    return r.name


# vmap and gradients run each record under xform.jit: vmap(jit(f)) batches the whole traced
# program (every primitive's batch rule, as inline tracing would) but compiles once per case
# instead of once per primitive, which keeps this file's compile count small.
_COMPILED = [dataclasses.replace(r, fun=xform.jit(r.fun)) for r in RECORDS]


@pytest.mark.parametrize("rec", RECORDS, ids=_ids)
def test_eager(rec):
    check_eager(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=_ids)
def test_jit(rec):
    check_jit(rec)


@pytest.mark.parametrize("rec", _COMPILED, ids=_ids)
def test_vmap(rec):
    check_vmap(rec)


@pytest.mark.parametrize("rec", [r for r in _COMPILED if r.differentiable], ids=_ids)
def test_grads(rec):
    check_grads_record(rec, order=1)


# -- errors: data-dependent shapes under jit ------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: xnp.nonzero(x), lambda x: xnp.unique(x), lambda x: xnp.argwhere(x),
    lambda x: xnp.bincount(x), lambda x: xnp.where(x), lambda x: xnp.flatnonzero(x),
])
def test_dynamic_shape_needs_size(fn):
    x = jnp.array([0, 1, 2])
    fn(x)  # eagerly the size is read from the data
    with pytest.raises(ConcretizationTypeError, match="size=|length="):
        xform.jit(fn)(x)


def test_dynamic_shape_error_is_type_error():
    with pytest.raises(TypeError, match="statically specified"):
        xform.jit(lambda x: xnp.nonzero(x))(jnp.array([0, 1]))


def test_eager_dynamic_shapes_match_jax():
    x = np.array([[0, 3, 0], [1, 0, 2]], np.int32)
    for f in (lambda m: m.nonzero(x), lambda m: m.unique(x, return_counts=True),
              lambda m: m.argwhere(x), lambda m: m.bincount(x.ravel())):
        jax.tree_util.tree_map(np.testing.assert_array_equal, f(xnp), f(jnp))


def test_put_along_axis_needs_inplace_false():
    with pytest.raises(ValueError, match="inplace=False"):
        xnp.put_along_axis(jnp.zeros(3), jnp.array([0]), 1.0, axis=0)


def test_array_methods_on_tracers():
    x = jnp.array([3.0, 1.0, 2.0])
    out = xform.jit(lambda v: (v.sort(), v.argsort(), v.ptp(), v.repeat(2)))(x)
    want = (jnp.sort(x), jnp.argsort(x), jnp.ptp(x), jnp.repeat(x, 2))
    jax.tree_util.tree_map(np.testing.assert_array_equal, out, want)


def test_static_builders():
    for f in (lambda m: m.mgrid[0:2, 0:3], lambda m: m.ogrid[0:2, 0:3],
              lambda m: m.fromfunction(lambda i, j: i + 2 * j, (2, 3)),
              lambda m: m.indices((2, 2), sparse=True), lambda m: m.tril_indices(3, 1)):
        jax.tree_util.tree_map(lambda g, w: check_same_array(g, w), f(xnp), f(jnp))


def check_same_array(got, want):
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


def test_ndarray_isinstance():
    seen = []

    def f(v):
        seen.append(isinstance(v, xnp.ndarray))
        return v

    xform.jit(f)(jnp.ones(2))
    xform.vmap(f)(jnp.ones(2))
    assert isinstance(jnp.ones(2), xnp.ndarray) and seen == [True, True]


def test_sinc_derivatives_exact_at_zero():
    f, g = xnp.sinc, jnp.sinc
    for _ in range(2):
        f, g = xform.grad(f), jax.grad(g)
        np.testing.assert_allclose(f(0.0), g(0.0), rtol=1e-6)
