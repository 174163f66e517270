"""The rest of jax.numpy's everyday functions: array-API aliases (concat, permute_dims,
vecdot, matvec, vecmat), index helpers (ix_, unravel_index, ravel_multi_index), insert/delete/
resize/block, choose/put, polynomials (vander, polyval), calculus (trapezoid, gradient, interp,
unwrap), 1-D convolve/correlate, window functions, apply_along_axis/apply_over_axes,
fromfunction, setxor1d and the static index builders (s_, index_exp, mgrid, ogrid).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype
from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.lax.batched import batched_call
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import _iota, asarray, ones
from xform.numpy._dtypes import default_float
from xform.numpy._eager import eager_jit
from xform.numpy._indexing import scatter_update, take
from xform.numpy._linalg_ops import matmul
from xform.numpy._manip import atleast_1d, diff, flip, tile
from xform.numpy._promote import (
    broadcast_shapes as bs, check_arraylike, convert, promote_dtypes, promote_to_inexact,
)
from xform.numpy._reductions import cumsum, sum as sum_
from xform.numpy._setops import _masked_unique, _sorted_mask, isin
from xform.numpy._sorting import searchsorted


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


def _default_int() -> np.dtype:
    return canonicalize_dtype(np.int64)


# -- aliases and small helpers ------------------------------------------------------------------
def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Any:
    """The array API's ``concatenate``."""
    return sh.concatenate(arrays, axis=axis)


def permute_dims(a: Any, /, axes: tuple) -> Any:
    """The array API's ``transpose``."""
    return sh.transpose(a, axes)


def copy(a: Any, order: str | None = None) -> Any:
    """``a`` itself as an array (arrays are immutable, so sharing is a copy)."""
    return asarray(a)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple:
    """The shape numpy's broadcasting gives ``shapes``."""
    return bs("broadcast_shapes", *[(s,) if isinstance(s, int) else tuple(s) for s in shapes])


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Move ``axis`` to before position ``start``, as ``jax.numpy.rollaxis``."""
    nd = to_aval(a).ndim
    axis = sh.canonicalize_axis(axis, nd)
    start = start + nd if start < 0 else start
    if not 0 <= start <= nd:
        raise ValueError(f"rollaxis: start={start} out of range for {nd} dimensions")
    if axis < start:
        start -= 1
    return sh.moveaxis(a, axis, start)


def isdtype(dtype: Any, kind: Any) -> bool:
    """The array API's dtype-kind test (``'bool'``, ``'signed integer'``, ``'real floating'``,
    ``'numeric'``, ... or dtypes)."""
    dtype = np.dtype(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"bool": lambda d: d == np.bool_,
             "signed integer": lambda d: np.issubdtype(d, np.signedinteger),
             "unsigned integer": lambda d: np.issubdtype(d, np.unsignedinteger),
             "integral": lambda d: np.issubdtype(d, np.integer),
             "real floating": lambda d: np.issubdtype(d, np.floating)
             or d == np.dtype("bfloat16"),
             "complex floating": lambda d: np.issubdtype(d, np.complexfloating),
             "numeric": lambda d: d != np.bool_ and (np.issubdtype(d, np.number)
                                                     or d == np.dtype("bfloat16"))}
    for k in kinds:
        if isinstance(k, str):
            if k not in names:
                raise ValueError(f"Unrecognized {k=!r}")
            if names[k](dtype):
                return True
        elif dtype == np.dtype(k):
            return True
    return False


def iterable(y: Any) -> bool:
    """True when ``iter(y)`` works."""
    try:
        iter(y)
    except TypeError:
        return False
    return True


@eager_jit(static_argnames=("axis",))
def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, precision: Any = None,
           preferred_element_type: Any = None) -> Any:
    """Vector dot product along ``axis`` (conjugating ``x1``), broadcasting the rest."""
    x1, x2 = promote_dtypes(asarray(x1), asarray(x2))
    if np.issubdtype(to_aval(x1).dtype, np.complexfloating):
        x1 = uf.conj(x1)
    prod = uf.multiply(sh.moveaxis(x1, axis, -1), sh.moveaxis(x2, axis, -1))
    return sum_(prod, axis=-1, dtype=preferred_element_type)


def matvec(x1: Any, x2: Any, /) -> Any:
    """Matrix-vector products over broadcast batch axes: ``x1 @ x2[..., None]``."""
    x2 = asarray(x2)
    return sh.squeeze(matmul(x1, sh.expand_dims(x2, -1)), -1)


def vecmat(x1: Any, x2: Any, /) -> Any:
    """Vector-matrix products over broadcast batch axes: ``conj(x1)[..., None, :] @ x2``."""
    x1 = asarray(x1)
    if np.issubdtype(to_aval(x1).dtype, np.complexfloating):
        x1 = uf.conj(x1)
    return sh.squeeze(matmul(sh.expand_dims(x1, -2), x2), -2)


def _concrete_for_raise(name: str, x: Any) -> np.ndarray:
    """The value of ``x``, needed to check it for ``mode='raise'``; JAX's error when traced."""
    if isinstance(x, Tracer):
        try:
            x = x.concrete_value(f"{name} (mode='raise')")
        except ConcretizationTypeError as err:
            raise ConcretizationTypeError(
                f"jnp.{name} with mode='raise' needs concrete indices to check them, but they "
                f"are traced. Use mode='wrap' or mode='clip' instead.\n{err}") from None
    return np.asarray(x)


# -- index helpers ----------------------------------------------------------------------------
def ix_(*args: Any) -> tuple:
    """Open-mesh index arrays from 1-D sequences, as ``jax.numpy.ix_``."""
    n = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if to_aval(a).ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape "
                             f"{_shape(a)}")
        shape = tuple(_shape(a)[0] if j == i else 1 for j in range(n))
        out.append(sh.reshape(a, shape))
    return tuple(out)


@eager_jit(static_argnames=("shape",))
def _unravel(indices: Any, shape: tuple) -> tuple:
    total = int(np.prod(shape, dtype=np.int64))
    idx = uf.clip(indices, -total, total - 1)
    idx = uf.where(uf.less(idx, 0), uf.add(idx, total), idx)
    out, rest = [], idx
    for n in shape[::-1]:
        out.append(uf.remainder(rest, n))
        rest = uf.floor_divide(rest, n)
    return tuple(out[::-1])


def unravel_index(indices: Any, shape: Sequence[int]) -> tuple:
    """Flat indices to coordinate arrays for ``shape``, as ``jax.numpy.unravel_index``
    (out-of-range indices are clipped)."""
    check_arraylike("unravel_index", indices)
    return _unravel(asarray(indices), tuple(operator.index(d) for d in shape))


def ravel_multi_index(multi_index: Sequence[Any], dims: Sequence[int], mode: str = "raise",
                      order: str = "C", *, dtype: Any = None) -> Any:
    """Coordinate arrays to flat indices, as ``jax.numpy.ravel_multi_index``; ``mode`` is
    ``'clip'`` or ``'wrap'`` (``'raise'`` checks concrete indices only)."""
    dims = tuple(operator.index(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    idx = [asarray(i) for i in multi_index]
    if mode == "raise":
        for i, n in zip(idx, dims):
            i = _concrete_for_raise("ravel_multi_index", i)
            if np.any(i < 0) or np.any(i >= n):
                raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        idx = [uf.clip(i, 0, n - 1) for i, n in zip(idx, dims)]
    elif mode == "wrap":
        idx = [uf.remainder(i, n) for i, n in zip(idx, dims)]
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    order_dims = dims if order == "C" else dims[::-1]
    order_idx = idx if order == "C" else idx[::-1]
    strides = np.cumprod((1,) + order_dims[::-1][:-1])[::-1]
    out = None
    for i, s in zip(order_idx, strides):
        term = uf.multiply(i, int(s))
        out = term if out is None else uf.add(out, term)
    return out if dtype is None else convert(out, dtype)


# -- insert, delete, resize, block ------------------------------------------------------------
def _static_index_list(name: str, obj: Any, n: int) -> np.ndarray:
    if isinstance(obj, slice):
        return np.arange(n)[obj]
    if isinstance(obj, Tracer):
        obj = obj.concrete_value(f"{name} argument `obj`")
    return np.asarray(obj)


def delete(arr: Any, obj: Any, axis: int | None = None, *,
           assume_unique_indices: bool = False) -> Any:
    """``arr`` without the entries at ``obj`` (static indices or slice) along ``axis``."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = sh.ravel(arr), 0
    axis = sh.canonicalize_axis(axis, to_aval(arr).ndim)
    n = _shape(arr)[axis]
    drop = _static_index_list("delete", obj, n)
    if drop.dtype == np.bool_:
        keep = np.flatnonzero(~drop)
    else:
        keep = np.setdiff1d(np.arange(n), np.where(drop < 0, drop + n, drop))
    return take(arr, keep.astype(np.int32), axis=axis)


def insert(arr: Any, obj: Any, values: Any, axis: int | None = None) -> Any:
    """``arr`` with ``values`` inserted before the (static) indices ``obj`` along ``axis``."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = sh.ravel(arr), 0
    axis = sh.canonicalize_axis(axis, to_aval(arr).ndim)
    n = _shape(arr)[axis]
    where = _static_index_list("insert", obj, n)
    scalar_obj = where.ndim == 0
    where = np.atleast_1d(where)
    where = np.where(where < 0, where + n, where)
    values = convert(asarray(values), to_aval(arr).dtype)
    shape = list(_shape(arr))
    vshape = _shape(values)
    if scalar_obj and len(vshape) == len(shape):
        count = vshape[axis]
        where = np.repeat(where, count)
    else:
        count = len(where)
    shape[axis] = count
    if scalar_obj and len(vshape) < len(shape):
        values = sh.expand_dims(values, axis) if len(vshape) == len(shape) - 1 else values
    values = sh.broadcast_to(values, tuple(shape))
    # the inserted entries first, so a stable sort puts each before the entry it precedes
    order = np.argsort(np.concatenate([where, np.arange(n)]), kind="stable")
    joined = sh.concatenate([values, arr], axis=axis)
    return take(joined, order.astype(np.int32), axis=axis)


def resize(a: Any, new_shape: Any) -> Any:
    """``a`` flattened, repeated as needed and reshaped to ``new_shape``."""
    a = sh.ravel(asarray(a))
    new_shape = (operator.index(new_shape),) if np.ndim(new_shape) == 0 else tuple(new_shape)
    total = int(np.prod(new_shape, dtype=np.int64))
    n = _shape(a)[0]
    if n == 0 or total == 0:
        return lax.full(new_shape, 0, to_aval(a).dtype)
    reps = -(-total // n)
    return sh.reshape(lax.slice(tile(a, reps), (0,), (total,)), new_shape)


def block(arrays: Any) -> Any:
    """Assemble an array from nested lists of blocks, as ``jax.numpy.block``."""

    def depth(x: Any) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list)
                                                                  else 0)

    list_depth = depth(arrays)
    leaves = []

    def collect(x: Any) -> None:
        if isinstance(x, list):
            for y in x:
                collect(y)
        else:
            leaves.append(asarray(x))

    collect(arrays)
    result_ndim = max([list_depth] + [to_aval(x).ndim for x in leaves])

    def build(x: Any, level: int) -> Any:
        if not isinstance(x, list):
            x = atleast_1d(asarray(x))
            nd = to_aval(x).ndim
            return sh.reshape(x, (1,) * (result_ndim - nd) + _shape(x)) if nd < result_ndim \
                else x
        parts = [build(y, level + 1) for y in x]
        return sh.concatenate(parts, axis=result_ndim - list_depth + level)

    return build(arrays, 0)


# -- choose, put -------------------------------------------------------------------------------
@eager_jit(static_argnames=("mode",))
def choose(a: Any, choices: Any, out: None = None, mode: str = "raise") -> Any:
    """``choices[a[i]][i]`` elementwise, as ``jax.numpy.choose`` (``mode`` clip or wrap;
    ``raise`` checks concrete indices only)."""
    a = asarray(a)
    choices = [asarray(c) for c in choices]
    n = len(choices)
    if mode == "raise":
        concrete = _concrete_for_raise("choose", a)
        if np.any(concrete < 0) or np.any(concrete >= n):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = uf.remainder(a, n)
    elif mode == "clip":
        a = uf.clip(a, 0, n - 1)
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    vals = promote_dtypes(*choices)
    out_v = vals[0]
    for k in range(1, n):
        out_v = uf.where(uf.equal(a, k), vals[k], out_v)
    return uf.where(uf.equal(a, 0), vals[0], out_v)


@eager_jit(static_argnames=("mode", "inplace"))
def put(a: Any, ind: Any, v: Any, mode: str | None = None, *, inplace: bool = True) -> Any:
    """``a`` with the flat positions ``ind`` set to ``v`` (repeated as needed); needs
    ``inplace=False``, as ``jax.numpy.put``."""
    if inplace:
        raise ValueError("jax.numpy.put cannot modify arrays in-place, because JAX arrays are "
                         "immutable. Pass inplace=False to instead return an updated array.")
    a = asarray(a)
    shape = _shape(a)
    flat = sh.ravel(a)
    ind = sh.ravel(asarray(ind))
    v = sh.ravel(convert(asarray(v), to_aval(a).dtype))
    n_ind, n_v = _shape(ind)[0], _shape(v)[0]
    if n_ind == 0 or n_v == 0:
        return a
    if n_v != n_ind:
        v = lax.slice(tile(v, -(-n_ind // n_v)), (0,), (n_ind,))
    size = _shape(flat)[0]
    if mode == "wrap":
        ind = uf.remainder(ind, size)
    elif mode == "clip":
        ind = uf.clip(ind, 0, size - 1)
    elif mode not in (None, "raise", "fill", "drop"):
        raise ValueError(f"put: invalid mode={mode!r}")
    out = scatter_update(flat, ind, v, lax.scatter, mode="drop")
    return sh.reshape(out, shape)


# -- polynomials and calculus ----------------------------------------------------------------
@eager_jit(static_argnames=("N", "increasing"))
def vander(x: Any, N: int | None = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix of the 1-D ``x``, as ``jax.numpy.vander``."""
    x = asarray(x)
    if to_aval(x).ndim != 1:
        raise ValueError("x must be a one-dimensional array")
    n = _shape(x)[0] if N is None else operator.index(N)
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    cols = [uf.power(x, int(p)) if p else lax.full_like(x, 1) for p in powers]
    return sh.stack(cols, axis=1) if cols else lax.full((_shape(x)[0], 0), 0, to_aval(x).dtype)


@eager_jit(static_argnames=("unroll",))
def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """The polynomial with coefficients ``p`` (highest power first) at ``x`` (Horner)."""
    p, x = promote_dtypes(asarray(p), asarray(x))
    out = lax.full_like(x, 0)
    for k in range(_shape(p)[0]):
        out = uf.add(uf.multiply(out, x), lax.index_in_dim(p, k, 0, False))
    return out


@eager_jit(static_argnames=("axis",))
def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """Integral of ``y`` by the trapezoidal rule along ``axis``."""
    (y,) = promote_to_inexact(asarray(y))
    y = sh.moveaxis(y, axis, -1)
    n = _shape(y)[-1]
    if x is None:
        d = dx
    else:
        x = asarray(x)
        d = diff(sh.moveaxis(x, axis, -1) if to_aval(x).ndim > 1 else x, axis=-1)
    mid = uf.add(lax.slice_in_dim(y, 1, n, axis=to_aval(y).ndim - 1),
                 lax.slice_in_dim(y, 0, n - 1, axis=to_aval(y).ndim - 1))
    return uf.multiply(0.5, sum_(uf.multiply(d, mid), axis=-1))


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int | None = None) -> Any:
    """Central differences inside, one-sided at the edges, as ``jax.numpy.gradient``
    (scalar spacings)."""
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError("The 'edge_order' argument to gradient is not supported.")
    (f,) = promote_to_inexact(asarray(f))
    nd = to_aval(f).ndim
    axes = tuple(range(nd)) if axis is None else tuple(
        sh.canonicalize_axis(a, nd) for a in (axis if isinstance(axis, (tuple, list))
                                              else (axis,)))
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("Invalid number of spacing arguments")
    out = []
    for ax, h in zip(axes, spacing):
        if to_aval(asarray(h)).ndim:
            raise NotImplementedError("gradient: only scalar spacings are implemented")
        n = _shape(f)[ax]
        if n < 2:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")

        def sl(lo: int, hi: int) -> Any:
            return lax.slice_in_dim(f, lo, hi, axis=ax)  # noqa: B023

        first = uf.divide(uf.subtract(sl(1, 2), sl(0, 1)), h)
        last = uf.divide(uf.subtract(sl(n - 1, n), sl(n - 2, n - 1)), h)
        parts = [first]
        if n > 2:
            parts.append(uf.divide(uf.subtract(sl(2, n), sl(0, n - 2)), uf.multiply(2.0, h)))
        parts.append(last)
        out.append(sh.concatenate(parts, axis=ax))
    return out[0] if len(out) == 1 else out


@eager_jit()
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x``, as ``jax.numpy.interp``."""
    if period is not None:
        raise NotImplementedError("interp: the 'period' argument is not implemented")
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if to_aval(xp).ndim != 1 or to_aval(fp).ndim != 1:
        raise ValueError("xp and fp must be one-dimensional")
    if _shape(xp) != _shape(fp):
        raise ValueError("xp and fp must be of the same length")
    x, xp = promote_to_inexact(x, xp)
    (fp,) = promote_to_inexact(fp)
    n = _shape(xp)[0]
    i = uf.clip(searchsorted(xp, x, side="right"), 1, n - 1)
    x0, x1 = take(xp, uf.subtract(i, 1)), take(xp, i)
    f0, f1 = take(fp, uf.subtract(i, 1)), take(fp, i)
    dx = uf.subtract(x1, x0)
    safe = uf.where(uf.equal(dx, 0), 1.0, dx)
    f = uf.add(f0, uf.multiply(uf.divide(uf.subtract(x, x0), safe), uf.subtract(f1, f0)))
    f = uf.where(uf.equal(dx, 0), f1, f)
    lo = lax.index_in_dim(fp, 0, 0, False) if left is None else left
    hi = lax.index_in_dim(fp, n - 1, 0, False) if right is None else right
    f = uf.where(uf.less(x, lax.index_in_dim(xp, 0, 0, False)), lo, f)
    return uf.where(uf.greater(x, lax.index_in_dim(xp, n - 1, 0, False)), hi, f)


@eager_jit(static_argnames=("axis",))
def unwrap(p: Any, discont: Any = None, axis: int = -1, period: Any = 2 * np.pi) -> Any:
    """``p`` with jumps larger than ``discont`` along ``axis`` undone modulo ``period``."""
    (p,) = promote_to_inexact(asarray(p))
    dt = to_aval(p).dtype
    period = convert(period, dt)
    discont = uf.divide(period, 2) if discont is None else convert(discont, dt)
    axis = sh.canonicalize_axis(axis, to_aval(p).ndim)
    dd = diff(p, axis=axis)
    half = uf.divide(period, 2)
    ddmod = uf.subtract(uf.remainder(uf.add(dd, half), period), half)
    ddmod = uf.where(uf.logical_and(uf.equal(ddmod, uf.negative(half)), uf.greater(dd, 0)),
                     half, ddmod)
    correct = uf.where(uf.less(uf.absolute(dd), discont), 0, uf.subtract(ddmod, dd))
    n = _shape(p)[axis]
    cfg = [(0, 0, 0)] * to_aval(p).ndim
    cfg[axis] = (1, 0, 0)
    correct = lax.pad(cumsum(correct, axis=axis), convert(0, dt), cfg)
    return uf.add(p, correct) if n else p


# -- convolution ---------------------------------------------------------------------------------
def _conv(name: str, a: Any, v: Any, mode: str, pet: Any) -> Any:
    a, v = asarray(a), asarray(v)
    if to_aval(a).ndim != 1 or to_aval(v).ndim != 1:
        raise ValueError(f"{name}() only support 1-dimensional inputs.")
    a, v = promote_to_inexact(a, v) if pet is None else promote_dtypes(a, v)
    if not _shape(a)[0] or not _shape(v)[0]:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {_shape(a)} and "
                         f"{_shape(v)}.")
    reverse = False
    if name == "correlate":
        v = uf.conj(v) if np.issubdtype(to_aval(v).dtype, np.complexfloating) else v
        if _shape(a)[0] < _shape(v)[0]:
            a, v, reverse = v, a, True
    else:
        if _shape(a)[0] < _shape(v)[0]:
            a, v = v, a
        v = flip(v)
    m = _shape(v)[0]
    pads = {"valid": [(0, 0)], "same": [(m // 2, m - m // 2 - 1)], "full": [(m - 1, m - 1)]}
    if mode not in pads:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    out = lax.conv_general_dilated(sh.reshape(a, (1, 1, -1)), sh.reshape(v, (1, 1, -1)), (1,),
                                   pads[mode], preferred_element_type=pet)
    out = sh.reshape(out, (_shape(out)[-1],))
    return flip(out) if reverse else out


@eager_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def convolve(a: Any, v: Any, mode: str = "full", *, precision: Any = None,
             preferred_element_type: Any = None) -> Any:
    """Discrete linear convolution of two 1-D arrays, as ``jax.numpy.convolve``."""
    return _conv("convolve", a, v, mode, preferred_element_type)


@eager_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def correlate(a: Any, v: Any, mode: str = "valid", *, precision: Any = None,
              preferred_element_type: Any = None) -> Any:
    """Cross-correlation of two 1-D arrays, as ``jax.numpy.correlate``."""
    return _conv("correlate", a, v, mode, preferred_element_type)


# -- window functions ---------------------------------------------------------------------------
def _window(M: int, fn: Callable[[Any, int], Any]) -> Any:
    M = operator.index(M)
    if M <= 1:
        return ones((max(M, 0),))
    return fn(_iota(default_float(), (M,), 0), M)


@eager_jit(static_argnames=("M",))
def hanning(M: int) -> Any:
    """The Hann window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(0.5, uf.multiply(
        0.5, uf.cos(uf.divide(uf.multiply(2 * np.pi, n), M - 1)))))


@eager_jit(static_argnames=("M",))
def hamming(M: int) -> Any:
    """The Hamming window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(0.54, uf.multiply(
        0.46, uf.cos(uf.divide(uf.multiply(2 * np.pi, n), M - 1)))))


@eager_jit(static_argnames=("M",))
def blackman(M: int) -> Any:
    """The Blackman window of ``M`` points."""
    def fn(n: Any, M: int) -> Any:
        t = uf.divide(uf.multiply(2 * np.pi, n), M - 1)
        return uf.add(uf.subtract(0.42, uf.multiply(0.5, uf.cos(t))),
                      uf.multiply(0.08, uf.cos(uf.multiply(2, t))))
    return _window(M, fn)


@eager_jit(static_argnames=("M",))
def bartlett(M: int) -> Any:
    """The Bartlett (triangular) window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(1, uf.absolute(
        uf.subtract(uf.divide(uf.multiply(2, n), M - 1), 1))))


# -- functional helpers ---------------------------------------------------------------------------
def apply_along_axis(func1d: Callable, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    """``func1d`` applied to the 1-D slices along ``axis`` (batched over the others, as by
    ``vmap``)."""
    arr = asarray(arr)
    nd = to_aval(arr).ndim
    axis = sh.canonicalize_axis(axis, nd)
    fn = lambda x: func1d(x, *args, **kwargs)  # noqa: E731
    for _ in range(1, nd - axis):
        fn = _batched(fn, -1)
    for _ in range(axis):
        fn = _batched(fn, 0)
    return fn(arr)


def _batched(fn: Callable, axis: int) -> Callable:
    """``vmap(fn, in_axes=axis, out_axes=axis)`` from the batching interpreter (the libraries
    sit below xform.vmap)."""
    return lambda x: batched_call(fn, [x], [axis], axis, description="apply_along_axis")


def apply_over_axes(func: Callable, a: Any, axes: Sequence[int]) -> Any:
    """``func(a, axis)`` for each axis in turn, keeping the number of dimensions."""
    a = asarray(a)
    for axis in axes:
        b = func(a, axis)
        if to_aval(b).ndim == to_aval(a).ndim - 1:
            b = sh.expand_dims(b, axis)
        elif to_aval(b).ndim != to_aval(a).ndim:
            raise ValueError("function is not returning an array of the correct shape")
        a = b
    return a


def fromfunction(function: Callable, shape: Any, *, dtype: Any = float, **kwargs: Any) -> Any:
    """``function(*coordinate_arrays)`` over a grid of ``shape``."""
    shape = tuple(operator.index(d) for d in shape)
    dt = canonicalize_dtype(dtype)
    coords = [_iota(dt, shape, i) for i in range(len(shape))]
    return function(*coords, **kwargs)


def setxor1d(ar1: Any, ar2: Any, assume_unique: bool = False, *, size: int | None = None,
             fill_value: Any = None) -> Any:
    """Sorted values in exactly one of the arrays, as ``jax.numpy.setxor1d``."""
    ar1, ar2 = promote_dtypes(sh.ravel(asarray(ar1)), sh.ravel(asarray(ar2)))
    aux, mask, _ = _sorted_mask(sh.concatenate([ar1, ar2], 0), True)
    keep = lax.bitwise_and(mask, lax.bitwise_xor(isin(aux, ar1), isin(aux, ar2)))
    return _masked_unique("setxor1d", aux, keep, size, fill_value)


# -- static index builders ------------------------------------------------------------------------
s_ = np.s_
index_exp = np.index_exp


class _Grid:
    """``mgrid[...]`` / ``ogrid[...]``: numpy's grids of static slices, as device arrays."""

    def __init__(self, sparse: bool):
        self.sparse = sparse

    def __getitem__(self, key: Any) -> Any:
        grid = (np.ogrid if self.sparse else np.mgrid)[key]
        if isinstance(grid, (list, tuple)):
            return [asarray(g) for g in grid]
        return asarray(grid)


mgrid = _Grid(False)
ogrid = _Grid(True)

