"""Reductions: sum, prod, max, min, mean, var, std, argmax, argmin, all, any, cumsum, cumprod.

dtypes follow jax.numpy: bool and small integers sum in the default integer type
(``promote_integers``), means of integers are floats, argmax gives int32.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype, is_python_scalar, result_type
from xform.core.trace import to_aval
from xform.lax import elementwise as lax_ew
from xform.numpy._creation import array
from xform.numpy._eager import eager_jit
from xform.numpy._promote import check_arraylike, convert
from xform.numpy._shape import broadcast_to, canonicalize_axis, ravel
from xform.numpy._ufuncs import _to_bool as tb, subtract, where as np_where


def _as_array(a: Any) -> Any:
    if is_python_scalar(a):
        return array(a)
    return a


def _reduction_axes(axis: Any, ndim: int, name: str) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(canonicalize_axis(a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: duplicate value in 'axis': {axis!r}")
    return out


def _keep(x: Any, in_shape: tuple, axes: tuple) -> Any:
    """Put the reduced axes back as size-1 axes (``keepdims=True``)."""
    out_shape = tuple(1 if i in axes else d for i, d in enumerate(in_shape))
    dims = tuple(i for i in range(len(in_shape)) if i not in axes)
    return lax.broadcast_in_dim(x, out_shape, dims)


@functools.lru_cache(maxsize=None)
def _promoted_int(dtype: np.dtype) -> np.dtype:
    default = canonicalize_dtype(np.int64)
    if dtype == np.bool_:
        return default
    if np.issubdtype(dtype, np.unsignedinteger) and dtype.itemsize < default.itemsize:
        return canonicalize_dtype(np.uint64 if default.itemsize == 8 else np.uint32)
    if np.issubdtype(dtype, np.signedinteger) and dtype.itemsize < default.itemsize:
        return default
    return dtype


def _reduction(name: str, lax_reducer: Callable, a: Any, axis: Any, dtype: Any, keepdims: bool,
               initial: Any, where: Any, identity: Callable, combine: Callable,
               promote_integers: bool = False, bool_ok: bool = True) -> Any:
    check_arraylike(name, a)
    a = _as_array(a)
    aval = to_aval(a)
    if dtype is not None:
        a = convert(a, dtype)
    elif promote_integers:
        target = _promoted_int(aval.dtype)
        if target != aval.dtype:
            a = convert(a, target)
    elif not bool_ok and aval.dtype == np.bool_:
        a = convert(a, canonicalize_dtype(np.int64))
    a = _strong(a)  # JAX casts the input, so a weak input's cotangent comes back weak
    adt = to_aval(a).dtype
    axes = _reduction_axes(axis, aval.ndim, name)
    if where is not None:
        if initial is None and identity is None:
            raise ValueError(f"reduction operation {name} does not have an identity, so to use "
                             "a where mask one has to specify 'initial'.")
        fill = initial if identity is None else identity(adt)
        a = np_where(where, a, convert(fill, adt, True))
    out = lax_reducer(a, axes)
    if initial is not None:
        out = combine(out, convert(initial, adt, True))
    if keepdims:
        out = _keep(out, aval.shape, axes)
    return out


def _strong(out: Any) -> Any:
    """jax.numpy's reductions return strongly typed arrays, even of a weakly typed input: they
    cast the input (whose transpose types a weak input's cotangent weak again, whatever the
    reduction's rule multiplies it with)."""
    out_aval = to_aval(out)
    return convert(out, out_aval.dtype) if out_aval.weak_type else out


@eager_jit(static_argnames=('axis', 'dtype', 'keepdims', 'promote_integers'))
def sum(a: Any, axis: Any = None, dtype: Any = None, out: None = None,  # noqa: A001
        keepdims: bool = False, initial: Any = None, where: Any = None,
        promote_integers: bool = True) -> Any:
    """Sum over ``axis`` (all axes by default), as ``jax.numpy.sum``.

    >>> import xform.numpy as xnp
    >>> xnp.sum(xnp.ones((2, 3)), axis=1)
    Array([3., 3.], dtype=float32)
    """
    return _reduction("sum", lax.reduce_sum, a, axis, dtype, keepdims, initial, where,
                      lambda dt: 0, lax_ew.add, promote_integers, bool_ok=False)


@eager_jit(static_argnames=('axis', 'dtype', 'keepdims', 'promote_integers'))
def prod(a: Any, axis: Any = None, dtype: Any = None, out: None = None,
         keepdims: bool = False, initial: Any = None, where: Any = None,
         promote_integers: bool = True) -> Any:
    """Product over ``axis``, as ``jax.numpy.prod``."""
    return _reduction("prod", lax.reduce_prod, a, axis, dtype, keepdims, initial, where,
                      lambda dt: 1, lax_ew.mul, promote_integers, bool_ok=False)


def _min_value(dt: np.dtype) -> Any:
    if dt == np.bool_:
        return False
    return int(np.iinfo(dt).min) if np.issubdtype(dt, np.integer) else -np.inf


def _max_value(dt: np.dtype) -> Any:
    if dt == np.bool_:
        return True
    return int(np.iinfo(dt).max) if np.issubdtype(dt, np.integer) else np.inf


@eager_jit(static_argnames=('axis', 'keepdims'))
def max(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None, where: Any = None) -> Any:
    """Maximum over ``axis``, as ``jax.numpy.max``."""
    return _reduction("max", lax.reduce_max, a, axis, None, keepdims, initial, where,
                      None if initial is None else _min_value, lax_ew.max)


@eager_jit(static_argnames=('axis', 'keepdims'))
def min(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None, where: Any = None) -> Any:
    """Minimum over ``axis``, as ``jax.numpy.min``."""
    return _reduction("min", lax.reduce_min, a, axis, None, keepdims, initial, where,
                      None if initial is None else _max_value, lax_ew.min)


amax = max
amin = min


def _to_bool(a: Any) -> Any:
    return tb(a)


@eager_jit(static_argnames=('axis', 'keepdims'))
def all(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,  # noqa: A001
        *, where: Any = None) -> Any:
    """True where every element along ``axis`` is nonzero, as ``jax.numpy.all``."""
    a = _to_bool(_as_array(a))
    return _reduction("all", lax.reduce_and, a, axis, None, keepdims, None, where,
                      lambda dt: True, lax_ew.bitwise_and)


@eager_jit(static_argnames=('axis', 'keepdims'))
def any(a: Any, axis: Any = None, out: None = None, keepdims: bool = False,  # noqa: A001
        *, where: Any = None) -> Any:
    """True where some element along ``axis`` is nonzero, as ``jax.numpy.any``."""
    a = _to_bool(_as_array(a))
    return _reduction("any", lax.reduce_or, a, axis, None, keepdims, None, where,
                      lambda dt: False, lax_ew.bitwise_or)


def _inexact_dtype(dtype: np.dtype) -> np.dtype:
    if np.issubdtype(dtype, np.inexact) or dtype == np.dtype("bfloat16"):
        return dtype
    return result_type(dtype, 1.0)


def _count(shape: tuple, axes: tuple) -> int:
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


@eager_jit(static_argnames=('axis', 'dtype', 'keepdims'))
def mean(a: Any, axis: Any = None, dtype: Any = None, out: None = None, keepdims: bool = False,
         *, where: Any = None) -> Any:
    """Arithmetic mean over ``axis`` (integers give floats), as ``jax.numpy.mean``."""
    check_arraylike("mean", a)
    a = _as_array(a)
    aval = to_aval(a)
    axes = _reduction_axes(axis, aval.ndim, "mean")
    out_dtype = _inexact_dtype(aval.dtype) if dtype is None else canonicalize_dtype(dtype)
    total = sum(a, axis, dtype=out_dtype, keepdims=keepdims, where=where)
    if where is None:
        n = _count(aval.shape, axes)
        return lax_ew.div(total, convert(n, out_dtype, True))
    mask = broadcast_to(_to_bool(where), aval.shape)
    n = sum(mask, axis, dtype=out_dtype, keepdims=keepdims)
    return lax_ew.div(total, n)


@eager_jit(static_argnames=('axis', 'dtype', 'ddof', 'keepdims', 'correction'))
def var(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
        keepdims: bool = False, *, where: Any = None, correction: Any = None) -> Any:
    """Variance over ``axis`` with ``ddof`` (or ``correction``) degrees of freedom removed, as
    ``jax.numpy.var``."""
    check_arraylike("var", a)
    if correction is not None:
        ddof = correction
    a = _as_array(a)
    aval = to_aval(a)
    axes = _reduction_axes(axis, aval.ndim, "var")
    comp = _inexact_dtype(aval.dtype)
    a = convert(a, comp)
    centered = subtract(a, mean(a, axis, keepdims=True, where=where))
    if np.issubdtype(comp, np.complexfloating):
        sq = lax_ew.real(lax_ew.mul(centered, lax_ew.conj(centered)))
    else:
        sq = lax_ew.square(centered)
    if where is None:
        n = _count(aval.shape, axes)
        norm = convert(n - ddof, to_aval(sq).dtype, True)
    else:
        mask = broadcast_to(_to_bool(where), aval.shape)
        norm = lax_ew.sub(sum(mask, axis, dtype=to_aval(sq).dtype, keepdims=keepdims),
                          convert(ddof, to_aval(sq).dtype, True))
    out = lax_ew.div(sum(sq, axis, keepdims=keepdims, where=where), norm)
    if dtype is not None:
        out = convert(out, dtype)
    return out


@eager_jit(static_argnames=('axis', 'dtype', 'ddof', 'keepdims', 'correction'))
def std(a: Any, axis: Any = None, dtype: Any = None, out: None = None, ddof: int = 0,
        keepdims: bool = False, *, where: Any = None, correction: Any = None) -> Any:
    """Standard deviation over ``axis``, as ``jax.numpy.std``."""
    return lax_ew.sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where,
                           correction=correction))


def _arg_reduction(name: str, lax_fn: Callable, a: Any, axis: Any, keepdims: Any) -> Any:
    check_arraylike(name, a)
    a = _as_array(a)
    aval = to_aval(a)
    if aval.size == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    if axis is None:
        out = lax_fn(ravel(a), 0, np.dtype(np.int32))
        if keepdims:
            out = lax.broadcast_in_dim(out, (1,) * aval.ndim, ())
        return out
    ax = canonicalize_axis(axis, aval.ndim)
    out = lax_fn(a, ax, np.dtype(np.int32))
    return _keep(out, aval.shape, (ax,)) if keepdims else out


@eager_jit(static_argnames=('axis', 'keepdims'))
def argmax(a: Any, axis: int | None = None, out: None = None,
           keepdims: bool | None = None) -> Any:
    """Index of the maximum along ``axis`` (of the flattened array by default), as
    ``jax.numpy.argmax``."""
    return _arg_reduction("argmax", lax.argmax, a, axis, keepdims)


@eager_jit(static_argnames=('axis', 'keepdims'))
def argmin(a: Any, axis: int | None = None, out: None = None,
           keepdims: bool | None = None) -> Any:
    """Index of the minimum along ``axis``, as ``jax.numpy.argmin``."""
    return _arg_reduction("argmin", lax.argmin, a, axis, keepdims)


def _cumulative(name: str, lax_fn: Callable, a: Any, axis: Any, dtype: Any) -> Any:
    check_arraylike(name, a)
    a = _as_array(a)
    if axis is None:
        a, axis = ravel(a), 0
    aval = to_aval(a)
    axis = canonicalize_axis(axis, aval.ndim)
    if dtype is not None:
        a = convert(a, dtype)
    elif aval.dtype == np.bool_:
        a = convert(a, canonicalize_dtype(np.int64))
    return lax_fn(_strong(a), axis, reverse=False)


@eager_jit(static_argnames=('axis', 'dtype'))
def cumsum(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative sum along ``axis`` (of the flattened array by default), as
    ``jax.numpy.cumsum``."""
    return _cumulative("cumsum", lax.cumsum, a, axis, dtype)


@eager_jit(static_argnames=('axis', 'dtype'))
def cumprod(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative product along ``axis``, as ``jax.numpy.cumprod``."""
    return _cumulative("cumprod", lax.cumprod, a, axis, dtype)
