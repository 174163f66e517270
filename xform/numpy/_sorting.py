"""Sorting and searching: sort, argsort, lexsort, partition, argpartition, searchsorted,
digitize.

All of them are ``sort`` (one primitive, several operands sorted together) or ``top_k``, plus
comparisons; NaNs sort to the end, as in JAX.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np

from xform import lax
from xform.core.avals import is_inexact, result_type
from xform.core.trace import to_aval
from xform.numpy import _shape as sh
from xform.numpy._creation import _iota, asarray
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._indexing import take
from xform.numpy._promote import check_arraylike, convert, promote_dtypes
from xform.numpy._ufuncs import imag, real

_INDEX = np.dtype(np.int32)


def _axis_of(a: Any, axis: Any) -> tuple:
    """(array, axis) with ``axis=None`` meaning the flattened array."""
    a = asarray(a)
    if axis is None:
        return sh.ravel(a), 0
    return a, sh.canonicalize_axis(axis, to_aval(a).ndim)


@eager_jit(static_argnames=("axis", "kind", "order", "stable", "descending"))
def sort(a: Any, axis: int | None = -1, *, kind: None = None, order: None = None,
         stable: bool = True, descending: bool = False) -> Any:
    """A sorted copy of ``a`` along ``axis`` (the flattened array for None), as
    ``jax.numpy.sort``."""
    check_arraylike("sort", a)
    if order is not None:
        raise ValueError("The 'order' argument to sort is not supported.")
    a, axis = _axis_of(a, axis)
    out = lax.sort(a, dimension=axis, is_stable=stable)
    return lax.rev(out, (axis,)) if descending else out


@eager_jit(static_argnames=("axis", "kind", "order", "stable", "descending"))
def argsort(a: Any, axis: int | None = -1, *, kind: None = None, order: None = None,
            stable: bool = True, descending: bool = False) -> Any:
    """The int32 indices that sort ``a`` along ``axis``, as ``jax.numpy.argsort`` (ties keep
    their order, descending included)."""
    check_arraylike("argsort", a)
    if order is not None:
        raise ValueError("The 'order' argument to argsort is not supported.")
    a, axis = _axis_of(a, axis)
    shape = to_aval(a).shape
    if descending:
        a = lax.rev(a, (axis,))
    _, idx = lax.sort((a, _iota(_INDEX, shape, axis)), dimension=axis, is_stable=stable,
                      num_keys=1)
    if descending:
        # sorted ascending from the reversed array, then reversed: ties stay in input order
        idx = lax.sub(convert(shape[axis] - 1, _INDEX, True), lax.rev(idx, (axis,)))
    return idx


@eager_jit(static_argnames=("axis",))
def lexsort(keys: Sequence[Any], axis: int = -1) -> Any:
    """Indices sorting by the last key, then the one before, ..., as ``jax.numpy.lexsort``."""
    keys = [asarray(k) for k in keys]
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    shapes = {tuple(to_aval(k).shape) for k in keys}
    if len(shapes) != 1:
        raise ValueError("all keys need to be the same shape")
    shape = shapes.pop()
    if not shape:
        return convert(0, _INDEX)
    axis = sh.canonicalize_axis(axis, len(shape))
    iota = _iota(_INDEX, shape, axis)
    out = lax.sort(tuple(keys[::-1]) + (iota,), dimension=axis, is_stable=True,
                   num_keys=len(keys))
    return out[-1]


def _neg(x: Any) -> Any:
    if to_aval(x).dtype == np.bool_:
        return lax.bitwise_not(x)
    return lax.neg(x)


@eager_jit(static_argnames=("kth", "axis"))
def partition(a: Any, kth: int, axis: int = -1) -> Any:
    """``a`` rearranged so the ``kth`` element is where sorting puts it, smaller ones before
    and larger ones after, as ``jax.numpy.partition`` (the same layout as JAX's)."""
    check_arraylike("partition", a)
    a = asarray(a)
    axis = sh.canonicalize_axis(axis, to_aval(a).ndim)
    kth = operator.index(kth)
    arr = sh.moveaxis(a, axis, -1)
    n = to_aval(arr).shape[-1]
    kth = kth + n if kth < 0 else kth
    if not 0 <= kth < n:
        raise ValueError(f"kth={kth} out of bounds for an axis of size {n}")
    bottom = _neg(lax.top_k(_neg(arr), kth + 1)[0])
    top = lax.top_k(arr, n - kth - 1)[0]
    out = lax.concatenate([bottom, top], to_aval(arr).ndim - 1)
    return sh.moveaxis(out, -1, axis)


@eager_jit(static_argnames=("kth", "axis"))
def argpartition(a: Any, kth: int, axis: int = -1) -> Any:
    """Indices that ``partition`` ``a``, as ``jax.numpy.argpartition``."""
    # cycle: numpy/_setops.py imports _sorting (argsort)
    from xform.numpy._setops import put_along_axis
    check_arraylike("argpartition", a)
    a = asarray(a)
    axis = sh.canonicalize_axis(axis, to_aval(a).ndim)
    kth = operator.index(kth)
    arr = sh.moveaxis(a, axis, -1)
    shape = to_aval(arr).shape
    n = shape[-1]
    kth = kth + n if kth < 0 else kth
    if not 0 <= kth < n:
        raise ValueError(f"kth={kth} out of bounds for an axis of size {n}")
    bottom = lax.top_k(_neg(arr), kth + 1)[1]
    # the rest by a proxy (zeros where bottom took its entries): duplicates are not picked twice
    # (a weakly typed float array, as JAX's, whose top_k indices are then weakly typed too)
    proxy = put_along_axis(lax.full(shape, 1.0), bottom, 0.0, axis=-1, inplace=False)
    top = lax.top_k(proxy, n - kth - 1)[1]
    out = lax.concatenate([bottom, top], len(shape) - 1)
    return sh.moveaxis(out, -1, axis)


def _lt_total(x: Any, y: Any) -> Any:
    """``x < y`` in the order sort uses for floats: NaN after everything."""
    lt = lax.lt(x, y)
    if not is_inexact(to_aval(x).dtype):
        return lt
    x_nan, y_nan = lax.ne(x, x), lax.ne(y, y)
    return lax.bitwise_or(lt, lax.bitwise_and(y_nan, lax.bitwise_not(x_nan)))


@eager_jit(static_argnames=("side", "method"))
def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None, *,
                 method: str = "scan") -> Any:
    """Where ``v``'s elements would go in the sorted 1-D ``a`` to keep it sorted (int32), as
    ``jax.numpy.searchsorted``. Every ``method`` gives the same answer; xform compares all
    pairs (one fused comparison and sum), which suits the small sorted arrays this is used
    with."""
    check_arraylike("searchsorted", a, v)
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'. Expected one of "
                         "['left', 'right'].")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"{method!r} is an invalid value for keyword 'method'. Expected one "
                         "of ['sort', 'scan', 'scan_unrolled', 'compare_all'].")
    a, v = asarray(a), asarray(v)
    if to_aval(a).ndim != 1:
        raise ValueError("a should be 1-dimensional")
    if sorter is not None:
        a = take(a, asarray(sorter))
    a, v = promote_dtypes(a, v)
    n = to_aval(a).shape[0]
    vshape = to_aval(v).shape
    big = vshape + (n,)
    ab = lax.broadcast_in_dim(a, big, (len(vshape),))
    vb = lax.broadcast_in_dim(v, big, tuple(range(len(vshape))))
    # left: how many a[i] < v; right: how many a[i] <= v, i.e. not v < a[i]
    hit = _lt_total(ab, vb) if side == "left" else lax.bitwise_not(_lt_total(vb, ab))
    return lax.reduce_sum(convert(hit, _INDEX), (len(vshape),))


@eager_jit(static_argnames=("right", "method"))
def digitize(x: Any, bins: Any, right: bool = False, *, method: str | None = None) -> Any:
    """The index of the bin each element of ``x`` falls in, as ``jax.numpy.digitize``
    (``bins`` increasing or decreasing)."""
    check_arraylike("digitize", x, bins)
    x, bins = asarray(x), asarray(bins)
    if to_aval(bins).ndim != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got {bins}")
    n = to_aval(bins).shape[0]
    if n == 0:
        return lax.full_like(x, 0, _INDEX)
    side = "left" if right else "right"
    kw = {} if method is None else {"method": method}
    up = searchsorted(bins, x, side=side, **kw)
    down = lax.sub(convert(n, _INDEX, True), searchsorted(lax.rev(bins, (0,)), x, side=side,
                                                          **kw))
    increasing = lax.ge(lax.index_in_dim(bins, n - 1, 0, False),
                        lax.index_in_dim(bins, 0, 0, False))
    return lax.select(lax.broadcast_in_dim(increasing, to_aval(up).shape, ()), up, down)


@jit_typed
def sort_complex(a: Any) -> Any:
    """``a`` flattened along its last axis sorted by real then imaginary part, as complex."""
    a = asarray(a)
    if not np.issubdtype(to_aval(a).dtype, np.complexfloating):
        return convert(sort(a), result_type(to_aval(a).dtype, 1j))
    _, _, out = lax.sort((real(a), imag(a), a), dimension=-1, num_keys=2)
    return out
