"""Functions whose output shape depends on data: nonzero, flatnonzero, argwhere, unique (and
its array-API forms), union1d, intersect1d, setdiff1d, setxor1d, bincount, compress, extract;
with isin, select and put_along_axis.

As in JAX, a data-dependent size must be given as ``size=`` (and optionally ``fill_value=``)
under a transform; eagerly it is read from the data. Without it, the error is a
ConcretizationTypeError naming the argument to pass.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype, is_inexact
from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import _iota, asarray, full, zeros
from xform.numpy._eager import eager_jit
from xform.numpy._indexing import _normalize_index_array, scatter_update, take
from xform.numpy._manip import atleast_1d
from xform.numpy._promote import check_arraylike, convert, promote_dtypes
from xform.numpy._sorting import argsort
from jax.lax import ScatterDimensionNumbers

_INDEX = np.dtype(np.int32)


def _default_int() -> np.dtype:
    return canonicalize_dtype(np.int64)


def concrete_size(name: str, arg: str, x: Any, count: Callable[[np.ndarray], int]) -> int:
    """``count(value of x)`` when ``x`` is concrete; JAX's error suggesting ``arg=`` when not.
    """
    if isinstance(x, Tracer):
        try:
            x = x.concrete_value(f"{name} ({arg})")
        except ConcretizationTypeError as err:
            raise ConcretizationTypeError(
                f"The {arg} argument of jnp.{name} must be statically specified to use "
                f"jnp.{name} within JAX transformations: its output shape depends on the "
                f"values of its input, which are not known when tracing. Pass {arg}=<int> "
                f"(and optionally fill_value=...) to fix the output size.\n{err}") from None
    return int(count(np.asarray(x)))


def _to_mask(a: Any) -> Any:
    return a if to_aval(a).dtype == np.bool_ else uf.not_equal(a, 0)


# -- nonzero family ------------------------------------------------------------------------
@eager_jit(static_argnames=("size",))
def _nonzero(a: Any, size: int, fill_value: Any) -> tuple:
    shape = to_aval(a).shape
    mask = sh.ravel(_to_mask(a))
    if int(np.prod(shape)) == 0 or size == 0:
        return tuple(zeros(size, _default_int()) for _ in shape)
    # position of the k-th nonzero = how many positions have fewer than k + 1 nonzeros up to
    # and including them: a cumulative count of a histogram of the running count
    running = lax.cumsum(convert(mask, _default_int()), 0)
    flat = lax.cumsum(bincount(running, length=size), 0)
    strides = np.cumprod((1,) + shape[::-1][:-1])[::-1]
    out = tuple(uf.remainder(uf.floor_divide(flat, int(st)), int(n))
                for st, n in zip(strides, shape))
    if fill_value is not None:
        fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * len(shape)
        if len(fills) != len(shape) or any(np.ndim(f) for f in fills):
            raise ValueError(f"fill_value must be a scalar or a tuple of length {len(shape)}; "
                             f"got {fill_value}")
        total = lax.reduce_sum(convert(mask, _default_int()), (0,))
        pad = lax.ge(_iota(_default_int(), (size,), 0), total)
        out = tuple(uf.where(pad, f, o) for f, o in zip(fills, out))
    return out


def nonzero(a: Any, *, size: int | None = None, fill_value: Any = None) -> tuple:
    """The indices of the nonzero elements, one array per dimension, as ``jax.numpy.nonzero``.

    Under a transform pass ``size``: the first ``size`` indices are returned, padded with
    ``fill_value`` (default 0).

    >>> import xform, xform.numpy as xnp
    >>> xform.jit(lambda x: xnp.nonzero(x, size=3)[0])(xnp.array([0, 5, 0, 7]))
    Array([1, 3, 0], dtype=int32)
    """
    check_arraylike("nonzero", a)
    a = asarray(a)
    if to_aval(a).ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "jnp.atleast_1d(scalar).nonzero() instead.")
    if size is None:
        size = concrete_size("nonzero", "size", a, np.count_nonzero)
    return _nonzero(a, operator.index(size), fill_value)


def flatnonzero(a: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """Indices of the nonzero elements of the flattened array, as ``jax.numpy.flatnonzero``."""
    return nonzero(sh.ravel(asarray(a)), size=size, fill_value=fill_value)[0]


def argwhere(a: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """Indices of the nonzero elements as rows of a ``(count, ndim)`` array, as
    ``jax.numpy.argwhere``."""
    a = asarray(a)
    nd = to_aval(a).ndim
    idx = nonzero(atleast_1d(a), size=size, fill_value=fill_value)
    out = sh.stack(idx, axis=1)
    if nd == 0:
        return lax.slice(out, (0, 0), (to_aval(out).shape[0], 0))
    return out


@eager_jit(static_argnames=("minlength", "length"))
def _bincount(x: Any, weights: Any, minlength: int, length: int) -> Any:
    if weights is None:
        weights = np.array(1, _default_int())
        dtype = _default_int()
    else:
        weights = asarray(weights)
        dtype = to_aval(weights).dtype
    x = lax.max(x, convert(0, to_aval(x).dtype, True))
    weights = sh.broadcast_to(convert(weights, dtype), to_aval(x).shape)
    return scatter_update(zeros(length, dtype), x, weights, lax.scatter_add, mode="drop")


def bincount(x: Any, weights: Any = None, minlength: int = 0, *,
             length: int | None = None) -> Any:
    """Occurrences of each non-negative integer in ``x`` (summed ``weights``), as
    ``jax.numpy.bincount``; under a transform the output ``length`` must be given."""
    check_arraylike("bincount", x)
    x = asarray(x)
    if not np.issubdtype(to_aval(x).dtype, np.integer):
        raise TypeError(f"x argument to bincount must have an integer type; got "
                        f"{to_aval(x).dtype}")
    if to_aval(x).ndim != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = operator.index(minlength)
    if length is None:
        length = concrete_size("bincount", "length", x,
                               lambda v: max(minlength, int(v.max()) + 1 if v.size else 0))
    return _bincount(x, weights, minlength, operator.index(length))


# -- unique and set operations -----------------------------------------------------------------
def _sorted_mask(ar: Any, equal_nan: bool) -> tuple:
    """(sorted values, True where a new value starts, the sorting permutation)."""
    perm = argsort(ar)
    aux = lax.sort(ar, dimension=0)
    n = to_aval(aux).shape[0]
    if n == 0:
        return aux, lax.full((0,), True, np.bool_), perm
    new = lax.ne(lax.slice(aux, (1,), (n,)), lax.slice(aux, (0,), (n - 1,)))
    if equal_nan and is_inexact(to_aval(aux).dtype):
        both_nan = lax.bitwise_and(lax.ne(lax.slice(aux, (1,), (n,)), lax.slice(aux, (1,), (n,))),
                                   lax.ne(lax.slice(aux, (0,), (n - 1,)),
                                          lax.slice(aux, (0,), (n - 1,))))
        new = lax.bitwise_and(new, lax.bitwise_not(both_nan))
    mask = lax.concatenate([lax.full((1,), True, np.bool_), new], 0)
    return aux, mask, perm


@eager_jit(static_argnames=("return_index", "return_inverse", "return_counts", "equal_nan",
                            "size", "shape"))
def _unique(ar: Any, fill_value: Any, return_index: bool, return_inverse: bool,
            return_counts: bool, equal_nan: bool, size: int, shape: tuple) -> Any:
    aux, mask, perm = _sorted_mask(ar, equal_nan)
    n = to_aval(aux).shape[0]
    ind = _nonzero(mask, size, None)[0]
    result = take(aux, ind) if n else full((size,), 0, to_aval(aux).dtype)
    if fill_value is not None:
        valid = lax.lt(_iota(_default_int(), (size,), 0),
                       lax.reduce_sum(convert(mask, _default_int()), (0,)))
        result = uf.where(valid, result, convert(fill_value, to_aval(result).dtype))
    ret = (result,)
    if return_index:
        ret += (take(perm, ind) if n else perm,)
    if return_inverse:
        imask = lax.sub(lax.cumsum(convert(mask, _default_int()), 0),
                        convert(1, _default_int(), True))
        inv = scatter_update(zeros(n, _default_int()), perm, imask, lax.scatter)
        ret += (sh.reshape(inv, shape),)
    if return_counts:
        idx = _nonzero(mask, size + 1, None)[0]
        tail = lax.slice(idx, (1,), (size + 1,))
        tail = uf.where(tail, tail, convert(n, _default_int(), True))
        idx = lax.concatenate([lax.slice(idx, (0,), (1,)), tail], 0)
        ret += (lax.sub(lax.slice(idx, (1,), (size + 1,)), lax.slice(idx, (0,), (size,))),)
    return ret[0] if len(ret) == 1 else ret


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *, equal_nan: bool = True,
           size: int | None = None, fill_value: Any = None, sorted: bool = True) -> Any:
    """The sorted unique elements of ``ar`` (flattened), as ``jax.numpy.unique``; optionally
    the first-occurrence indices, the inverse map and the counts.

    Under a transform pass ``size``: the result is padded with ``fill_value`` (default: the
    smallest element) or cut to ``size`` entries.

    >>> import xform, xform.numpy as xnp
    >>> xform.jit(lambda x: xnp.unique(x, size=3, fill_value=-1))(xnp.array([2, 1, 2]))
    Array([ 1,  2, -1], dtype=int32)
    """
    check_arraylike("unique", ar)
    if axis is not None:
        raise NotImplementedError("xform.numpy.unique: only axis=None is implemented")
    ar = asarray(ar)
    shape = tuple(to_aval(ar).shape)
    flat = sh.ravel(ar)
    if to_aval(flat).shape[0] == 0 and size and fill_value is None:
        raise ValueError("jnp.unique: for zero-sized input with nonzero size argument, "
                         "fill_value must be specified")
    if size is None:
        size = concrete_size("unique", "size", flat, lambda v: len(_np_unique(v, equal_nan)))
    return _unique(flat, fill_value, bool(return_index), bool(return_inverse),
                   bool(return_counts), bool(equal_nan), operator.index(size), shape)


def _np_unique(v: np.ndarray, equal_nan: bool) -> np.ndarray:
    return np.unique(v, equal_nan=equal_nan) if v.dtype.kind in "fc" else np.unique(v)


class _UniqueAll(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class _UniqueCounts(NamedTuple):
    values: Any
    counts: Any


class _UniqueInverse(NamedTuple):
    values: Any
    inverse_indices: Any


def unique_values(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The array API's ``unique_values``: ``unique(x)``."""
    return unique(x, size=size, fill_value=fill_value)


def unique_counts(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The array API's ``unique_counts``: (values, counts)."""
    return _UniqueCounts(*unique(x, return_counts=True, size=size, fill_value=fill_value))


def unique_inverse(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The array API's ``unique_inverse``: (values, inverse_indices)."""
    return _UniqueInverse(*unique(x, return_inverse=True, size=size, fill_value=fill_value))


def unique_all(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The array API's ``unique_all``: (values, indices, inverse_indices, counts)."""
    return _UniqueAll(*unique(x, return_index=True, return_inverse=True, return_counts=True,
                              size=size, fill_value=fill_value))


@eager_jit(static_argnames=("assume_unique", "invert"))
def isin(element: Any, test_elements: Any, assume_unique: bool = False,
         invert: bool = False, *, method: str = "auto") -> Any:
    """True where ``element`` is one of ``test_elements``, as ``jax.numpy.isin``."""
    check_arraylike("isin", element, test_elements)
    element, test = promote_dtypes(asarray(element), sh.ravel(asarray(test_elements)))
    eshape = to_aval(element).shape
    m = to_aval(test).shape[0]
    big = eshape + (m,)
    eq = lax.eq(lax.broadcast_in_dim(element, big, tuple(range(len(eshape)))),
                lax.broadcast_in_dim(test, big, (len(eshape),)))
    out = lax.reduce_or(eq, (len(eshape),))
    return lax.bitwise_not(out) if invert else out


def union1d(ar1: Any, ar2: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """Sorted unique elements of either array, as ``jax.numpy.union1d``."""
    both = sh.concatenate([sh.ravel(asarray(ar1)), sh.ravel(asarray(ar2))], 0)
    return unique(both, size=size, fill_value=fill_value)


def _masked_unique(name: str, vals: Any, keep: Any, size: Any, fill_value: Any) -> Any:
    """The sorted unique ``vals`` where ``keep``: non-kept ones are moved past the kept."""
    if size is None:
        size = concrete_size(name, "size", keep, np.count_nonzero)
    idx = nonzero(keep, size=size)[0]
    out = take(vals, idx) if to_aval(vals).shape[0] else full((size,), 0, to_aval(vals).dtype)
    if fill_value is None:
        fill_value = lax.reduce_min(vals, (0,)) if to_aval(vals).shape[0] else 0
    valid = lax.lt(_iota(_default_int(), (size,), 0),
                   lax.reduce_sum(convert(keep, _default_int()), (0,)))
    return uf.where(valid, out, convert(fill_value, to_aval(out).dtype))


def setdiff1d(ar1: Any, ar2: Any, assume_unique: bool = False, *, size: int | None = None,
              fill_value: Any = None) -> Any:
    """Sorted unique values of ``ar1`` not in ``ar2``, as ``jax.numpy.setdiff1d``."""
    ar1 = sh.ravel(asarray(ar1))
    aux, mask, _ = _sorted_mask(ar1, True)
    keep = lax.bitwise_and(mask, isin(aux, ar2, invert=True))
    # JAX pads setdiff1d with 0 by default (intersect1d with the smallest value)
    return _masked_unique("setdiff1d", aux, keep, size, 0 if fill_value is None else fill_value)


def intersect1d(ar1: Any, ar2: Any, assume_unique: bool = False,
                return_indices: bool = False, *, size: int | None = None,
                fill_value: Any = None) -> Any:
    """Sorted unique values in both arrays, as ``jax.numpy.intersect1d``."""
    if return_indices:
        raise NotImplementedError("intersect1d: return_indices=True is not implemented")
    ar1 = sh.ravel(asarray(ar1))
    aux, mask, _ = _sorted_mask(ar1, True)
    keep = lax.bitwise_and(mask, isin(aux, ar2))
    return _masked_unique("intersect1d", aux, keep, size, fill_value)


def compress(condition: Any, a: Any, axis: int | None = None, *, size: int | None = None,
             fill_value: Any = 0, out: None = None) -> Any:
    """The slices of ``a`` along ``axis`` where the 1-D ``condition`` is true, as
    ``jax.numpy.compress``."""
    condition = asarray(condition)
    a = asarray(a)
    if axis is None:
        a, axis = sh.ravel(a), 0
    axis = sh.canonicalize_axis(axis, to_aval(a).ndim)
    n = to_aval(a).shape[axis]
    cond = _to_mask(condition)
    m = to_aval(cond).shape[0]
    if m > n:
        cond = lax.slice(cond, (0,), (n,))
    elif m < n:
        a = lax.slice_in_dim(a, 0, m, axis=axis)
    if size is None:
        size = concrete_size("compress", "size", cond, np.count_nonzero)
    idx = nonzero(cond, size=size, fill_value=to_aval(a).shape[axis])[0]
    return take(a, idx, axis=axis, mode="fill", fill_value=fill_value)


def extract(condition: Any, arr: Any, *, size: int | None = None, fill_value: Any = 0) -> Any:
    """Elements of the flattened ``arr`` where ``condition`` is true, as
    ``jax.numpy.extract``."""
    return compress(sh.ravel(asarray(condition)), sh.ravel(asarray(arr)), size=size,
                    fill_value=fill_value)


# -- select, piecewise, put_along_axis ------------------------------------------------------
@eager_jit()
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """For each element, the choice of the first true condition (``default`` if none), as
    ``jax.numpy.select``."""
    if len(condlist) != len(choicelist):
        raise ValueError("condlist must have length equal to choicelist ({} vs {})".format(
            len(condlist), len(choicelist)))
    if not condlist:
        raise ValueError("condlist must be non-empty")
    check_arraylike("select", *condlist, *choicelist, default)
    for i, c in enumerate(condlist):
        if to_aval(asarray(c)).dtype != np.bool_:
            raise TypeError(f"condlist must be boolean arrays; element {i} has dtype "
                            f"{to_aval(asarray(c)).dtype}")
    values = promote_dtypes(default, *choicelist)
    out = values[0]
    for cond, choice in zip(condlist[::-1], values[:0:-1]):
        out = uf.where(cond, choice, out)
    return out


@eager_jit(static_argnames=("axis", "inplace", "mode"))
def put_along_axis(arr: Any, indices: Any, values: Any, axis: int | None,
                   inplace: bool = True, *, mode: Any = None) -> Any:
    """``arr`` with ``values`` written at ``indices`` along ``axis`` (matching positions
    elsewhere), as ``jax.numpy.put_along_axis``; ``inplace=False`` is required (arrays are
    immutable)."""
    if inplace:
        raise ValueError("jax.numpy.put_along_axis cannot modify arrays in-place, because JAX "
                         "arrays are immutable. Pass inplace=False to instead return an "
                         "updated array.")
    check_arraylike("put_along_axis", arr, indices, values)
    arr, indices = asarray(arr), asarray(indices)
    orig_shape = to_aval(arr).shape
    if axis is None:
        arr, indices, axis = sh.ravel(arr), sh.ravel(indices), 0
    ashape, ishape = to_aval(arr).shape, to_aval(indices).shape
    if len(ashape) != len(ishape):
        raise ValueError("put_along_axis: indices and arr must have the same number of "
                         f"dimensions; {len(ishape)} vs {len(ashape)}")
    axis = sh.canonicalize_axis(axis, len(ashape))
    # indices broadcast against arr off the axis; the updated positions have arr's shape there
    out_shape = tuple(ishape[axis] if d == axis else n for d, n in enumerate(ashape))
    idx = sh.broadcast_to(_normalize_index_array(indices, ashape[axis]), out_shape)
    cols = []
    for d in range(len(ashape)):
        c = idx if d == axis else _iota(_INDEX, out_shape, d)
        cols.append(lax.broadcast_in_dim(c, out_shape + (1,), tuple(range(len(out_shape)))))
    sidx = cols[0] if len(cols) == 1 else lax.concatenate(cols, len(out_shape))
    vals = sh.broadcast_to(convert(asarray(values), to_aval(arr).dtype), out_shape)
    dnums = ScatterDimensionNumbers(update_window_dims=(),
                                    inserted_window_dims=tuple(range(len(ashape))),
                                    scatter_dims_to_operand_dims=tuple(range(len(ashape))))
    out = lax.scatter(arr, sidx, vals, dnums, mode=mode)
    return sh.reshape(out, orig_shape)


def setxor1d(ar1: Any, ar2: Any, assume_unique: bool = False, *, size: int | None = None,
             fill_value: Any = None) -> Any:
    """Sorted values in exactly one of the arrays, as ``jax.numpy.setxor1d``."""
    ar1, ar2 = promote_dtypes(sh.ravel(asarray(ar1)), sh.ravel(asarray(ar2)))
    aux, mask, _ = _sorted_mask(sh.concatenate([ar1, ar2], 0), True)
    keep = lax.bitwise_and(mask, lax.bitwise_xor(isin(aux, ar1), isin(aux, ar2)))
    return _masked_unique("setxor1d", aux, keep, size, fill_value)
