"""Statistics: quantile, percentile, median (and their NaN-ignoring forms), average,
count_nonzero, ptp, the nan* reductions, cov, corrcoef, histogram, histogram2d and histogramdd.

Quantiles sort along the reduced axis and interpolate between two gathered order statistics,
as JAX does; the nan* reductions replace NaNs by the reduction's identity first.
"""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype, is_inexact, result_type
from xform.core.trace import to_aval
from xform.numpy import _reductions as red
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray, linspace
from xform.numpy._eager import eager_jit
from xform.numpy._indexing import scatter_update, take_along_axis
from xform.numpy._linalg_ops import matmul
from xform.numpy._manip import atleast_2d
from xform.numpy._matrices import diagonal
from xform.numpy._predicates import isnan
from xform.numpy._promote import check_arraylike, convert, promote_dtypes, promote_to_inexact
from xform.numpy._sorting import searchsorted

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _default_int() -> np.dtype:
    return canonicalize_dtype(np.int64)


def _inexact(a: Any) -> Any:
    (a,) = promote_to_inexact(asarray(a))
    return a


def _move_reduced_last(a: Any, axis: Any) -> tuple:
    """``a`` with the reduced axes flattened into one last axis, and the keepdims shape."""
    shape = to_aval(a).shape
    if axis is None:
        return sh.ravel(a), (1,) * len(shape)
    axes = red._reduction_axes(axis, len(shape), "quantile")
    keep = [d for d in range(len(shape)) if d not in axes]
    a = sh.transpose(a, keep + list(axes))
    kept = tuple(shape[d] for d in keep)
    a = sh.reshape(a, kept + (int(np.prod([shape[d] for d in axes], dtype=np.int64)),))
    return a, tuple(1 if d in axes else n for d, n in enumerate(shape))


def _quantile(a: Any, q: Any, axis: Any, method: str, keepdims: bool, ignore_nan: bool) -> Any:
    if method not in _METHODS:
        raise ValueError(f"method can only be one of {', '.join(map(repr, _METHODS))}")
    a = _inexact(a)
    if np.issubdtype(to_aval(a).dtype, np.complexfloating):
        raise ValueError("quantile does not support complex input, as the operation is poorly "
                         "defined.")
    q = convert(asarray(q), to_aval(a).dtype)
    if to_aval(q).ndim > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {to_aval(q).shape}")
    a, keep_shape = _move_reduced_last(a, axis)
    batch = to_aval(a).shape[:-1]
    n = to_aval(a).shape[-1]
    nan_in = isnan(a)
    if ignore_nan:
        a = lax.sort(a, dimension=-1)  # NaNs sort last
        count = red.sum(lax.bitwise_not(nan_in), axis=-1, dtype=to_aval(q).dtype,
                        keepdims=True)
    else:
        a = lax.sort(uf.where(red.any(nan_in, axis=-1, keepdims=True), np.nan, a),
                     dimension=-1)
        count = convert(n, to_aval(q).dtype, True)
    # positions: one row of indices per q, laid out along the last axis
    qs = sh.ravel(q)
    nq = to_aval(qs).shape[0]
    pos = lax.mul(lax.broadcast_in_dim(qs, batch + (nq,), (len(batch),)),
                  lax.sub(count, convert(1, to_aval(q).dtype, True)))
    low, high = lax.floor(pos), lax.ceil(pos)
    high_w = lax.sub(pos, low)
    low_w = lax.sub(convert(1, to_aval(q).dtype, True), high_w)
    last = lax.max(lax.sub(count, convert(1, to_aval(q).dtype, True)),
                   convert(0, to_aval(q).dtype, True))
    zero = convert(0, to_aval(q).dtype, True)
    low = convert(lax.max(zero, lax.min(low, last)), np.int32)
    high = convert(lax.max(zero, lax.min(high, last)), np.int32)
    lo_v = take_along_axis(a, low, axis=-1)
    hi_v = take_along_axis(a, high, axis=-1)
    if method == "linear":
        out = lax.add(lax.mul(lo_v, low_w), lax.mul(hi_v, high_w))
    elif method == "lower":
        out = lo_v
    elif method == "higher":
        out = hi_v
    elif method == "nearest":
        out = lax.select(lax.le(high_w, convert(0.5, to_aval(q).dtype, True)), lo_v, hi_v)
    else:
        out = lax.mul(lax.add(lo_v, hi_v), convert(0.5, to_aval(lo_v).dtype, True))
    if ignore_nan:  # all-NaN slices give NaN
        out = uf.where(lax.eq(count, zero), np.nan, out)
    # (batch..., nq) -> (q..., batch...) or (q..., keepdims shape)
    out = sh.moveaxis(out, -1, 0)
    out_tail = keep_shape if keepdims else batch
    return red._strong(sh.reshape(out, tuple(to_aval(q).shape) + tuple(out_tail)))


_STATIC_Q = ("axis", "method", "keepdims", "overwrite_input", "interpolation")


@eager_jit(static_argnames=_STATIC_Q)
def quantile(a: Any, q: Any, axis: Any = None, out: None = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *,
             interpolation: None = None) -> Any:
    """The ``q``-th quantiles (``q`` in [0, 1], scalar or 1-D) over ``axis``, as
    ``jax.numpy.quantile``; a NaN in a slice makes its result NaN."""
    check_arraylike("quantile", a, q)
    return _quantile(a, q, axis, method, keepdims, False)


@eager_jit(static_argnames=_STATIC_Q)
def nanquantile(a: Any, q: Any, axis: Any = None, out: None = None,
                overwrite_input: bool = False, method: str = "linear",
                keepdims: bool = False, *, interpolation: None = None) -> Any:
    """``quantile`` ignoring NaNs, as ``jax.numpy.nanquantile``."""
    check_arraylike("nanquantile", a, q)
    return _quantile(a, q, axis, method, keepdims, True)


def _percent(q: Any) -> Any:
    q = _inexact(q)
    return lax.div(q, convert(100, to_aval(q).dtype, True))


@eager_jit(static_argnames=_STATIC_Q)
def percentile(a: Any, q: Any, axis: Any = None, out: None = None,
               overwrite_input: bool = False, method: str = "linear",
               keepdims: bool = False, *, interpolation: None = None) -> Any:
    """The ``q``-th percentiles (``q`` in [0, 100]), as ``jax.numpy.percentile``."""
    check_arraylike("percentile", a, q)
    a = _inexact(a)
    q = convert(asarray(q), result_type(to_aval(a).dtype, to_aval(asarray(q)).dtype))
    return _quantile(a, _percent(q), axis, method, keepdims, False)


@eager_jit(static_argnames=_STATIC_Q)
def nanpercentile(a: Any, q: Any, axis: Any = None, out: None = None,
                  overwrite_input: bool = False, method: str = "linear",
                  keepdims: bool = False, *, interpolation: None = None) -> Any:
    """``percentile`` ignoring NaNs, as ``jax.numpy.nanpercentile``."""
    check_arraylike("nanpercentile", a, q)
    a = _inexact(a)
    q = convert(asarray(q), result_type(to_aval(a).dtype, to_aval(asarray(q)).dtype))
    return _quantile(a, _percent(q), axis, method, keepdims, True)


@eager_jit(static_argnames=("axis", "overwrite_input", "keepdims"))
def median(a: Any, axis: Any = None, out: None = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """The median over ``axis``, as ``jax.numpy.median``."""
    check_arraylike("median", a)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, False)


@eager_jit(static_argnames=("axis", "overwrite_input", "keepdims"))
def nanmedian(a: Any, axis: Any = None, out: None = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:
    """The median ignoring NaNs, as ``jax.numpy.nanmedian``."""
    check_arraylike("nanmedian", a)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, True)


@eager_jit(static_argnames=("axis", "returned", "keepdims"))
def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False,
            keepdims: bool = False) -> Any:
    """The (weighted) mean over ``axis``, as ``jax.numpy.average``; with ``returned`` also
    the sum of the weights."""
    check_arraylike("average", a)
    a = asarray(a)
    if weights is None:
        avg = red.mean(a, axis=axis, keepdims=keepdims)
        shape = to_aval(a).shape
        axes = red._reduction_axes(axis, len(shape), "average")
        cnt = int(np.prod([shape[d] for d in axes], dtype=np.int64))
        wsum = lax.full_like(avg, cnt)
    else:
        weights = asarray(weights)
        dt = result_type(to_aval(a).dtype, to_aval(weights).dtype, 1.0)
        a, weights = convert(a, dt), convert(weights, dt)
        ashape, wshape = to_aval(a).shape, to_aval(weights).shape
        if ashape != wshape:
            if axis is None:
                raise ValueError("Axis must be specified when shapes of a and weights differ.")
            if len(wshape) != 1:
                raise TypeError("1D weights expected when shapes of a and weights differ.")
            ax = sh.canonicalize_axis(axis, len(ashape))
            if wshape[0] != ashape[ax]:
                raise ValueError("Length of weights not compatible with specified axis.")
            weights = lax.broadcast_in_dim(weights, ashape, (ax,))
        wsum = red.sum(weights, axis=axis, keepdims=keepdims)
        avg = lax.div(red.sum(lax.mul(a, weights), axis=axis, keepdims=keepdims), wsum)
    if returned:
        if to_aval(avg).shape != to_aval(wsum).shape:
            wsum = sh.broadcast_to(wsum, to_aval(avg).shape)
        return avg, convert(wsum, to_aval(avg).dtype)
    return avg


@eager_jit(static_argnames=("axis", "keepdims"))
def count_nonzero(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """The number of nonzero elements over ``axis``, as ``jax.numpy.count_nonzero``."""
    check_arraylike("count_nonzero", a)
    a = asarray(a)
    return red.sum(uf.not_equal(a, convert(0, to_aval(a).dtype, True)), axis=axis,
                   dtype=_default_int(), keepdims=keepdims)


@eager_jit(static_argnames=("axis", "keepdims"))
def ptp(a: Any, axis: Any = None, out: None = None, keepdims: bool = False) -> Any:
    """``max - min`` over ``axis``, as ``jax.numpy.ptp``."""
    check_arraylike("ptp", a)
    return uf.subtract(red.max(a, axis, keepdims=keepdims), red.min(a, axis, keepdims=keepdims))


# -- NaN-ignoring reductions ----------------------------------------------------------------
def _is_inexact(a: Any) -> bool:
    return is_inexact(to_aval(a).dtype)


def _nan_fill(a: Any, fill: Any) -> Any:
    a = asarray(a)
    if not _is_inexact(a):
        return a
    return uf.where(isnan(a), convert(fill, to_aval(a).dtype, True), a)


_RED_STATIC = ("axis", "dtype", "keepdims")


@eager_jit(static_argnames=_RED_STATIC)
def nansum(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
           keepdims: bool = False, initial: Any = None, where: Any = None) -> Any:
    """``sum`` treating NaNs as zero, as ``jax.numpy.nansum``."""
    check_arraylike("nansum", a)
    return red.sum(_nan_fill(a, 0), axis, dtype, keepdims=keepdims, initial=initial,
                   where=where)


@eager_jit(static_argnames=_RED_STATIC)
def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
            keepdims: bool = False, initial: Any = None, where: Any = None) -> Any:
    """``prod`` treating NaNs as one, as ``jax.numpy.nanprod``."""
    check_arraylike("nanprod", a)
    return red.prod(_nan_fill(a, 1), axis, dtype, keepdims=keepdims, initial=initial,
                    where=where)


def _nan_extreme(name: str, fn: Any, fill: float, a: Any, axis: Any, keepdims: bool,
                 initial: Any, where: Any) -> Any:
    check_arraylike(name, a)
    a = asarray(a)
    if not _is_inexact(a):
        return fn(a, axis, keepdims=keepdims, initial=initial, where=where)
    out = fn(_nan_fill(a, fill), axis, keepdims=keepdims, initial=initial, where=where)
    all_nan = red.all(isnan(a), axis, keepdims=keepdims)
    return uf.where(all_nan, np.nan, out)


@eager_jit(static_argnames=("axis", "keepdims"))
def nanmax(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,
           initial: Any = None, where: Any = None) -> Any:
    """``max`` ignoring NaNs (NaN where a slice is all NaN), as ``jax.numpy.nanmax``."""
    return _nan_extreme("nanmax", red.max, -np.inf, a, axis, keepdims, initial, where)


@eager_jit(static_argnames=("axis", "keepdims"))
def nanmin(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,
           initial: Any = None, where: Any = None) -> Any:
    """``min`` ignoring NaNs, as ``jax.numpy.nanmin``."""
    return _nan_extreme("nanmin", red.min, np.inf, a, axis, keepdims, initial, where)


@eager_jit(static_argnames=_RED_STATIC)
def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
            keepdims: bool = False, where: Any = None) -> Any:
    """``mean`` of the non-NaN elements, as ``jax.numpy.nanmean``."""
    check_arraylike("nanmean", a)
    a = asarray(a)
    if not _is_inexact(a):
        return red.mean(a, axis, dtype, keepdims=keepdims, where=where)
    dt = to_aval(a).dtype if dtype is None else canonicalize_dtype(dtype)
    count = red.sum(lax.bitwise_not(isnan(a)), axis, dtype=dt, keepdims=keepdims, where=where)
    return lax.div(nansum(a, axis, dtype=dt, keepdims=keepdims, where=where), count)


@eager_jit(static_argnames=("axis", "dtype", "ddof", "keepdims"))
def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
           keepdims: bool = False, where: Any = None) -> Any:
    """``var`` of the non-NaN elements, as ``jax.numpy.nanvar``."""
    check_arraylike("nanvar", a)
    a = _inexact(a)
    mu = nanmean(a, axis, keepdims=True, where=where)
    # zeroed before squaring, so NaN entries get a zero (not NaN) cotangent
    centered = uf.where(isnan(a), convert(0, to_aval(a).dtype, True), uf.subtract(a, mu))
    if np.issubdtype(to_aval(a).dtype, np.complexfloating):
        sq = lax.real(lax.mul(centered, lax.conj(centered)))
    else:
        sq = lax.square(centered)
    count = red.sum(lax.bitwise_not(isnan(a)), axis, dtype=to_aval(sq).dtype,
                    keepdims=keepdims, where=where)
    norm = lax.sub(count, convert(ddof, to_aval(sq).dtype, True))
    out = lax.div(red.sum(sq, axis, keepdims=keepdims, where=where), norm)
    return out if dtype is None else convert(out, dtype)


@eager_jit(static_argnames=("axis", "dtype", "ddof", "keepdims"))
def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
           keepdims: bool = False, where: Any = None) -> Any:
    """``std`` of the non-NaN elements, as ``jax.numpy.nanstd``."""
    return lax.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, where))


def _nan_arg(name: str, fn: Any, fill: float, a: Any, axis: Any, keepdims: Any) -> Any:
    check_arraylike(name, a)
    a = asarray(a)
    if not _is_inexact(a):
        return fn(a, axis, keepdims=keepdims)
    nan_mask = isnan(a)
    res = fn(_nan_fill(a, fill), axis, keepdims=keepdims)
    return uf.where(red.all(nan_mask, axis, keepdims=bool(keepdims)),
                    convert(-1, to_aval(res).dtype, True), res)


@eager_jit(static_argnames=("axis", "keepdims"))
def nanargmax(a: Any, axis: int | None = None, out: None = None,
              keepdims: bool | None = None) -> Any:
    """``argmax`` ignoring NaNs (-1 for all-NaN slices), as ``jax.numpy.nanargmax``."""
    return _nan_arg("nanargmax", red.argmax, -np.inf, a, axis, keepdims)


@eager_jit(static_argnames=("axis", "keepdims"))
def nanargmin(a: Any, axis: int | None = None, out: None = None,
              keepdims: bool | None = None) -> Any:
    """``argmin`` ignoring NaNs (-1 for all-NaN slices), as ``jax.numpy.nanargmin``."""
    return _nan_arg("nanargmin", red.argmin, np.inf, a, axis, keepdims)


@eager_jit(static_argnames=("axis", "dtype"))
def nancumsum(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """``cumsum`` treating NaNs as zero."""
    return red.cumsum(_nan_fill(a, 0), axis, dtype)


@eager_jit(static_argnames=("axis", "dtype"))
def nancumprod(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """``cumprod`` treating NaNs as one."""
    return red.cumprod(_nan_fill(a, 1), axis, dtype)


@eager_jit(static_argnames=("axis", "dtype", "include_initial"))
def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Any:
    """The array API's cumulative sum (``include_initial`` prepends a zero)."""
    return _cumulative("cumulative_sum", red.cumsum, 0, x, axis, dtype, include_initial)


@eager_jit(static_argnames=("axis", "dtype", "include_initial"))
def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False) -> Any:
    """The array API's cumulative product (``include_initial`` prepends a one)."""
    return _cumulative("cumulative_prod", red.cumprod, 1, x, axis, dtype, include_initial)


def _cumulative(name: str, fn: Any, init: int, x: Any, axis: Any, dtype: Any,
                include_initial: bool) -> Any:
    x = asarray(x)
    if axis is None:
        if to_aval(x).ndim > 1:
            raise ValueError(f"{name}: axis must be specified for arrays of more than one "
                             "dimension")
        axis = 0
    out = fn(x, axis, dtype)
    if include_initial:
        ax = sh.canonicalize_axis(axis, to_aval(out).ndim)
        cfg = [(0, 0, 0)] * to_aval(out).ndim
        cfg[ax] = (1, 0, 0)
        out = lax.pad(out, convert(init, to_aval(out).dtype), cfg)
    return out


# -- covariance ------------------------------------------------------------------------------
@eager_jit(static_argnames=("rowvar", "bias", "ddof"))
def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False,
        ddof: int | None = None, fweights: Any = None, aweights: Any = None) -> Any:
    """The covariance matrix of the variables in the rows (columns unless ``rowvar``) of
    ``m``, as ``jax.numpy.cov``, with integer frequency weights ``fweights`` and analytic
    weights ``aweights`` of the observations (their absolute values, as JAX)."""
    m = atleast_2d(_inexact(m))
    if not rowvar and to_aval(m).shape[0] != 1:
        m = sh.transpose(m)
    if y is not None:
        y = atleast_2d(_inexact(y))
        if not rowvar and to_aval(y).shape[0] != 1:
            y = sh.transpose(y)
        m = sh.concatenate([m, y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    n = to_aval(m).shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        weights = asarray(weights)
        if to_aval(weights).ndim > 1:
            raise RuntimeError(f"cannot handle multidimensional {name}")
        if to_aval(weights).shape[0] != n:
            raise RuntimeError(f"incompatible numbers of samples and {name}")
        if name == "fweights" and not np.issubdtype(to_aval(weights).dtype, np.integer):
            raise TypeError("fweights must be integer.")
        weights = uf.absolute(weights)
        w = weights if w is None else uf.multiply(w, weights)
    if w is None:
        x = uf.subtract(m, red.mean(m, axis=1, keepdims=True))
        xt = uf.conj(sh.transpose(x))
        c = lax.div(matmul(x, xt), convert(n - ddof, to_aval(x).dtype, True))
        return sh.squeeze(c)
    avg, w_sum = average(m, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if ddof == 0:
        f = w_sum
    elif aweights is None:
        f = w_sum - ddof
    else:
        f = w_sum - ddof * red.sum(w * uf.absolute(asarray(aweights))) / w_sum
    x = uf.subtract(m, avg[:, None])
    xt = uf.conj(sh.transpose(uf.multiply(x, w[None, :])))
    return sh.squeeze(uf.true_divide(matmul(x, xt), f))


@eager_jit(static_argnames=("rowvar",))
def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Any:
    """Pearson correlation coefficients, as ``jax.numpy.corrcoef``."""
    c = cov(x, y, rowvar)
    if to_aval(c).ndim == 0:
        return lax.div(c, c)
    d = diagonal(c)
    stddev = lax.sqrt(uf.real(d))
    c = lax.div(c, lax.broadcast_in_dim(stddev, to_aval(c).shape, (0,)))
    c = lax.div(c, lax.broadcast_in_dim(stddev, to_aval(c).shape, (1,)))
    return uf.clip(c, -1, 1)


# -- histograms ---------------------------------------------------------------------------------
def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None,  # noqa: A002
                        weights: Any = None) -> Any:
    """The edges of ``histogram``'s bins, as ``jax.numpy.histogram_bin_edges``."""
    if isinstance(bins, str):
        raise NotImplementedError("string values for `bins` are not implemented")
    a = _inexact(a)
    dtype = to_aval(a).dtype
    if np.ndim(bins) == 1 or hasattr(bins, "shape") and to_aval(bins).ndim == 1:
        return convert(asarray(bins), dtype)
    bins = operator.index(bins)
    if range is None:
        lo, hi = red.min(a), red.max(a)
    else:
        lo, hi = convert(asarray(range[0]), dtype), convert(asarray(range[1]), dtype)
    same = lax.eq(lo, hi)
    lo = uf.where(same, lax.sub(lo, convert(0.5, dtype, True)), lo)
    hi = uf.where(same, lax.add(hi, convert(0.5, dtype, True)), hi)
    return linspace(lo, hi, bins + 1, dtype=dtype)


def histogram(a: Any, bins: Any = 10, range: Any = None, weights: Any = None,  # noqa: A002
              density: bool | None = None) -> tuple:
    """Counts (or densities) of ``a`` in ``bins`` and the bin edges, as
    ``jax.numpy.histogram``; the last bin includes its right edge."""
    a = _inexact(a)
    edges = histogram_bin_edges(a, bins, range, weights)
    a = sh.ravel(a)
    if weights is None:
        w = lax.full_like(a, 1)
    else:
        w = sh.ravel(convert(asarray(weights), to_aval(a).dtype))
    nb = to_aval(edges).shape[0]
    idx = searchsorted(edges, a, side="right")
    last = lax.index_in_dim(edges, nb - 1, 0, False)
    idx = uf.where(lax.eq(a, last), np.int32(nb - 1), idx)
    counts = scatter_update(lax.full((nb + 1,), 0, to_aval(w).dtype), idx, w, lax.scatter_add)
    counts = lax.slice(counts, (1,), (nb,))
    if density:
        widths = lax.sub(lax.slice(edges, (1,), (nb,)), lax.slice(edges, (0,), (nb - 1,)))
        counts = lax.div(lax.div(counts, widths), red.sum(counts))
    return counts, edges


def histogramdd(sample: Any, bins: Any = 10, range: Any = None,  # noqa: A002
                weights: Any = None, density: bool | None = None) -> tuple:
    """The ``D``-dimensional histogram of ``N`` points ``sample`` of shape ``(N, D)``, as
    ``jax.numpy.histogramdd``: ``bins`` an int or edges for all dimensions or one per
    dimension, ``range`` ``D`` pairs or Nones; returns ``(hist, [edges per dimension])``.
    Counts are integers without ``weights``; the last bin of each dimension includes its
    right edge."""
    if weights is None:
        check_arraylike("histogramdd", sample)
        (sample,) = promote_to_inexact(asarray(sample))
    else:
        check_arraylike("histogramdd", sample, weights)
        sample, weights = asarray(sample), asarray(weights)
        if to_aval(weights).shape != to_aval(sample).shape[:1]:
            raise ValueError("should have one weight for each sample.")
        sample, weights = promote_to_inexact(sample, weights)
    n, d = to_aval(sample).shape
    if range is not None and (len(range) != d or any(
            r is not None and np.shape(r)[0] != 2 for r in range)):
        raise ValueError(f"For sample.shape={(n, d)}, range must be a sequence of {d} pairs or "
                         f"Nones; got range={range}")
    try:
        per_dim = list(bins)
    except TypeError:  # one int: the same count of bins in every dimension
        per_dim = d * [bins]
    else:
        if len(per_dim) != d:
            raise ValueError("should be a bin for each dimension.")
    edges, flat = [], None
    for i in builtins.range(d):
        col = lax.index_in_dim(sample, i, 1, False)
        e = histogram_bin_edges(col, per_dim[i], None if range is None else range[i], weights)
        nb = to_aval(e).shape[0]
        idx = searchsorted(e, col, side="right")
        idx = uf.where(lax.eq(col, lax.index_in_dim(e, nb - 1, 0, False)),
                       uf.subtract(idx, 1), idx)
        idx = uf.clip(idx, 0, nb)  # bin 0 and bin nb: outside the edges, dropped below
        flat = idx if flat is None else uf.add(uf.multiply(flat, nb + 1), idx)
        edges.append(e)
    shape = tuple(to_aval(e).shape[0] + 1 for e in edges)
    w = lax.full((n,), 1, np.int32) if weights is None else weights
    hist = scatter_update(lax.full((int(np.prod(shape)),), 0, to_aval(w).dtype), flat, w,
                          lax.scatter_add)
    hist = lax.slice(lax.reshape(hist, shape), (1,) * d, tuple(s - 1 for s in shape))
    if density:
        hist = convert(hist, to_aval(sample).dtype)
        hist = uf.divide(hist, red.sum(hist))
        for i, e in enumerate(edges):
            nb = to_aval(e).shape[0]
            width = lax.sub(lax.slice(e, (1,), (nb,)), lax.slice(e, (0,), (nb - 1,)))
            hist = uf.divide(hist, sh.reshape(width, tuple(-1 if j == i else 1
                                                           for j in builtins.range(d))))
    return hist, edges


def histogram2d(x: Any, y: Any, bins: Any = 10, range: Any = None,  # noqa: A002
                weights: Any = None, density: bool | None = None) -> tuple:
    """The 2-D histogram of the points ``(x, y)``, as ``jax.numpy.histogram2d``: returns
    ``(hist, x_edges, y_edges)``; ``bins`` is an int, one edges array for both axes, or a pair."""
    check_arraylike("histogram2d", x, y)
    try:
        nbins = len(bins)
    except TypeError:
        nbins = 1
    if nbins not in (1, 2):  # one edges array, used for both axes
        bins = [asarray(bins), asarray(bins)]
    x, y = promote_dtypes(asarray(x), asarray(y))
    hist, edges = histogramdd(sh.stack([x, y], axis=1), bins, range, weights, density)
    return hist, edges[0], edges[1]
