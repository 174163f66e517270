"""More array creation and matrix structure: logspace, geomspace, tri, tril, triu, diag,
diagonal, diagflat, trace, meshgrid, indices, the triangle/diagonal index helpers,
fill_diagonal, kron and cross.

Masks are iotas compared (as JAX builds them); diagonals are one gather of static positions.
"""

from __future__ import annotations

import operator
from typing import Any

import jax
import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype, result_type
from xform.core.trace import to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import _iota, asarray, linspace, zeros_like
from xform.numpy._eager import eager_jit
from xform.numpy._indexing import rewriting_take, scatter_update
from xform.numpy._promote import check_arraylike, convert, promote_dtypes
from xform.numpy._reductions import sum as sum_


def _default_float() -> np.dtype:
    return canonicalize_dtype(np.float64)


def _default_int() -> np.dtype:
    return canonicalize_dtype(np.int64)


@eager_jit(static_argnames=("num", "endpoint", "dtype", "axis"))
def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:
    """``base ** linspace(start, stop, num)``, as ``jax.numpy.logspace``."""
    comp = result_type(start, stop, float) if dtype is None else result_type(
        start, stop, float, dtype)
    lin = linspace(start, stop, num, endpoint=endpoint, dtype=comp, axis=axis)
    out = uf.power(convert(base, comp), lin)
    return convert(out, comp if dtype is None else dtype)


@eager_jit(static_argnames=("num", "endpoint", "dtype", "axis"))
def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:
    """Numbers spaced evenly on a log scale between ``start`` and ``stop`` (same sign), as
    ``jax.numpy.geomspace``."""
    comp = result_type(start, stop, float) if dtype is None else result_type(
        start, stop, float, dtype)
    start, stop = convert(start, comp), convert(stop, comp)
    sign = uf.sign(start)
    res = logspace(uf.log10(uf.multiply(start, sign)), uf.log10(uf.multiply(stop, sign)),
                   num, endpoint=endpoint, base=10.0, dtype=comp, axis=0)
    res = uf.multiply(sign, res)
    if axis != 0:
        res = sh.moveaxis(res, 0, axis)
    return convert(res, comp if dtype is None else dtype)


def _tri_mask(n: int, m: int, k: int) -> Any:
    """bool (n, m): True where ``col <= row + k``."""
    rows = _iota(np.int32, (n, m), 0)
    cols = _iota(np.int32, (n, m), 1)
    if k:
        rows = lax.add(rows, convert(int(k), np.int32, True))
    return lax.ge(rows, cols)


@eager_jit(static_argnames=("N", "M", "k", "dtype"))
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """Ones at and below the ``k``-th diagonal, as ``jax.numpy.tri``."""
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    return convert(_tri_mask(N, M, operator.index(k)),
                   _default_float() if dtype is None else dtype)


def _triangle(name: str, m: Any, k: int, lower: bool) -> Any:
    check_arraylike(name, m)
    m = asarray(m)
    shape = to_aval(m).shape
    if len(shape) < 2:
        raise ValueError(f"Argument to xform.numpy.{name} must be at least 2D, got shape "
                         f"{shape}")
    n_, m_ = shape[-2:]
    mask = _tri_mask(n_, m_, k if lower else k - 1)
    mask = lax.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))
    zero = zeros_like(m)
    return lax.select(mask, m, zero) if lower else lax.select(mask, zero, m)


@eager_jit(static_argnames=("k",))
def tril(m: Any, k: int = 0) -> Any:
    """``m`` with the entries above the ``k``-th diagonal zeroed (last two axes), as
    ``jax.numpy.tril``."""
    return _triangle("tril", m, operator.index(k), True)


@eager_jit(static_argnames=("k",))
def triu(m: Any, k: int = 0) -> Any:
    """``m`` with the entries below the ``k``-th diagonal zeroed, as ``jax.numpy.triu``."""
    return _triangle("triu", m, operator.index(k), False)


@eager_jit(static_argnames=("offset", "axis1", "axis2"))
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset``-th diagonal of the ``(axis1, axis2)`` planes, appended as the last axis,
    as ``jax.numpy.diagonal``."""
    check_arraylike("diagonal", a)
    a = asarray(a)
    ndim = to_aval(a).ndim
    if ndim < 2:
        raise ValueError(f"diagonal requires an array of at least two dimensions, got {ndim}")
    a1, a2 = sh.canonicalize_axis(axis1, ndim, "axis1"), sh.canonicalize_axis(axis2, ndim,
                                                                              "axis2")
    if a1 == a2:
        raise ValueError("axis1 and axis2 must not be equal")
    a = sh.moveaxis(a, (a1, a2), (-2, -1))
    n, m = to_aval(a).shape[-2:]
    offset = operator.index(offset)
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    rows = np.arange(length, dtype=np.int32) - min(offset, 0)
    cols = np.arange(length, dtype=np.int32) + max(offset, 0)
    return rewriting_take(a, (Ellipsis, rows, cols))


@eager_jit(static_argnames=("k",))
def diag(v: Any, k: int = 0) -> Any:
    """The ``k``-th diagonal of a matrix, or a matrix with vector ``v`` on it, as
    ``jax.numpy.diag``."""
    check_arraylike("diag", v)
    v = asarray(v)
    k = operator.index(k)
    shape = to_aval(v).shape
    if len(shape) == 2:
        return diagonal(v, offset=k)
    if len(shape) != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {shape}")
    n = shape[0] + builtins_abs(k)
    zero = convert(0, to_aval(v).dtype, to_aval(v).weak_type)
    v = lax.pad(v, zero, [(max(k, 0), max(-k, 0), 0)])
    full = lax.broadcast_in_dim(v, (n, n), (1,))
    return lax.select(_diag_mask(n, n, k), full, zeros_like(full))


builtins_abs = abs


def _diag_mask(n: int, m: int, k: int) -> Any:
    rows = _iota(np.int32, (n, m), 0)
    cols = _iota(np.int32, (n, m), 1)
    return lax.eq(lax.add(rows, convert(k, np.int32, True)), cols)


@eager_jit(static_argnames=("k",))
def diagflat(v: Any, k: int = 0) -> Any:
    """A matrix with the flattened ``v`` on the ``k``-th diagonal, as ``jax.numpy.diagflat``."""
    v = asarray(v)
    # JAX's sets v into (strongly typed) zeros of its dtype
    return convert(diag(sh.ravel(v), k), to_aval(v).dtype)


@eager_jit(static_argnames=("offset", "axis1", "axis2", "dtype"))
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: None = None) -> Any:
    """Sum of the ``offset``-th diagonal, as ``jax.numpy.trace``."""
    return sum_(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list:
    """Coordinate arrays from coordinate vectors, as ``jax.numpy.meshgrid`` (``indexing`` is
    ``'xy'`` (Cartesian) or ``'ij'`` (matrix))."""
    check_arraylike("meshgrid", *xi)
    if indexing not in ("xy", "ij"):
        raise ValueError(f"Valid values for indexing are 'xy' and 'ij', got {indexing!r}")
    args = [asarray(x) for x in xi]
    for i, x in enumerate(args):
        if to_aval(x).ndim != 1:
            raise ValueError(f"Arguments to meshgrid must be 1D, got shape {to_aval(x).shape} "
                             f"at position {i}")
    if not args:
        return []
    shape = [to_aval(x).shape[0] for x in args]
    if indexing == "xy" and len(args) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(args):
        dim = i
        if indexing == "xy" and len(args) >= 2 and i < 2:
            dim = 1 - i
        target = tuple(s if d == dim else 1 for d, s in enumerate(shape)) if sparse \
            else tuple(shape)
        out.append(lax.broadcast_in_dim(x, target, (dim,)))
    return out


def indices(dimensions: Any, dtype: Any = None, sparse: bool = False) -> Any:
    """A grid of index arrays, stacked (or a tuple with ``sparse``), as
    ``jax.numpy.indices``."""
    dims = tuple(operator.index(d) for d in dimensions)
    dtype = _default_int() if dtype is None else canonicalize_dtype(dtype)
    outs = []
    for i, n in enumerate(dims):
        shape = tuple(n if j == i else (1 if sparse else dims[j]) for j in range(len(dims)))
        outs.append(_iota(dtype, shape, i))
    if sparse:
        return tuple(outs)
    if not outs:
        return jax.numpy.zeros((0,), dtype)  # an empty constant: no computation to trace
    return sh.stack(outs)


def _static_pair(rows: np.ndarray, cols: np.ndarray) -> tuple:
    dt = _default_int()
    return jax.device_put(rows.astype(dt)), jax.device_put(cols.astype(dt))


def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple:
    """Row and column indices of the lower triangle, as ``jax.numpy.tril_indices``."""
    return _static_pair(*np.tril_indices(operator.index(n), operator.index(k), m))


def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple:
    """Row and column indices of the upper triangle, as ``jax.numpy.triu_indices``."""
    return _static_pair(*np.triu_indices(operator.index(n), operator.index(k), m))


def tril_indices_from(arr: Any, k: int = 0) -> tuple:
    """``tril_indices`` for ``arr``'s last two dimensions."""
    n, m = to_aval(arr).shape[-2:]
    return tril_indices(n, k, m)


def triu_indices_from(arr: Any, k: int = 0) -> tuple:
    """``triu_indices`` for ``arr``'s last two dimensions."""
    n, m = to_aval(arr).shape[-2:]
    return triu_indices(n, k, m)


def diag_indices(n: int, ndim: int = 2) -> tuple:
    """Indices of the main diagonal of an ``ndim``-dimensional ``n``-cube."""
    idx = jax.device_put(np.arange(operator.index(n), dtype=_default_int()))
    return (idx,) * operator.index(ndim)


def diag_indices_from(arr: Any) -> tuple:
    """``diag_indices`` for ``arr`` (every dimension of one length)."""
    shape = to_aval(arr).shape
    if len(set(shape)) != 1:
        raise ValueError(f"All dimensions of input must be of equal length, got {shape}")
    return diag_indices(shape[0], len(shape))


@eager_jit(static_argnames=("wrap", "inplace"))
def fill_diagonal(a: Any, val: Any, wrap: bool = False, *, inplace: bool = True) -> Any:
    """``a`` with ``val`` written on its main diagonal, as ``jax.numpy.fill_diagonal`` (which
    needs ``inplace=False``: arrays are immutable)."""
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    if wrap:
        raise NotImplementedError("fill_diagonal: wrap=True is not implemented")
    a = asarray(a)
    shape = to_aval(a).shape
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    n = min(shape)
    idx = np.arange(n, dtype=np.int32)
    val = sh.ravel(asarray(val))
    size = to_aval(val).shape[0]
    if size != n:
        val = sh.ravel(lax.broadcast_in_dim(val, (-(-n // size), size), (1,)))
        val = lax.slice(val, (0,), (n,)) if to_aval(val).shape[0] != n else val
    return scatter_update(a, (idx,) * len(shape), val, lax.scatter)


@eager_jit()
def kron(a: Any, b: Any) -> Any:
    """Kronecker product, as ``jax.numpy.kron``."""
    check_arraylike("kron", a, b)
    a, b = promote_dtypes(asarray(a), asarray(b))
    na, nb = to_aval(a).ndim, to_aval(b).ndim
    if na < nb:
        a = sh.reshape(a, (1,) * (nb - na) + to_aval(a).shape)
    elif nb < na:
        b = sh.reshape(b, (1,) * (na - nb) + to_aval(b).shape)
    sa, sb = to_aval(a).shape, to_aval(b).shape
    nd = len(sa)
    # a's axes at even positions, b's at odd ones: the product's (i, j) pairs flatten in order
    ea = sh.reshape(a, tuple(x for s in sa for x in (s, 1)))
    eb = sh.reshape(b, tuple(x for s in sb for x in (1, s)))
    return sh.reshape(uf.multiply(ea, eb), tuple(sa[i] * sb[i] for i in range(nd)))


@eager_jit(static_argnames=("axisa", "axisb", "axisc", "axis"))
def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Any:
    """Cross product of 2- or 3-vectors along the given axes, as ``jax.numpy.cross``."""
    check_arraylike("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote_dtypes(asarray(a), asarray(b))
    a = sh.moveaxis(a, axisa, -1)
    b = sh.moveaxis(b, axisb, -1)
    na, nb = to_aval(a).shape[-1], to_aval(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")


    def comp(x: Any, i: int) -> Any:
        return rewriting_take(x, (Ellipsis, i))

    if na == 2 and nb == 2:
        return uf.subtract(uf.multiply(comp(a, 0), comp(b, 1)),
                           uf.multiply(comp(a, 1), comp(b, 0)))
    a0, a1 = comp(a, 0), comp(a, 1)
    a2 = comp(a, 2) if na == 3 else zeros_like(a0)
    b0, b1 = comp(b, 0), comp(b, 1)
    b2 = comp(b, 2) if nb == 3 else zeros_like(b0)
    c = [uf.subtract(uf.multiply(a1, b2), uf.multiply(a2, b1)),
         uf.subtract(uf.multiply(a2, b0), uf.multiply(a0, b2)),
         uf.subtract(uf.multiply(a0, b1), uf.multiply(a1, b0))]
    c = sh.broadcast_arrays(*c)
    return sh.moveaxis(sh.stack(c, axis=-1), -1, axisc)
