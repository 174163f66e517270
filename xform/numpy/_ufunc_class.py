"""``xform.numpy.ufunc`` and ``frompyfunc``: a scalar function made a numpy-style universal
function, with ``reduce``, ``accumulate``, ``at``, ``reduceat`` and ``outer``.

As JAX's ``jnp.ufunc``, calling it vectorizes the scalar function over broadcast inputs, and
the methods are loops of lax control flow (``fori_loop``/``scan``) over calls of it, so every
transform (jit, vmap, grad) sees ordinary primitives. A ufunc may be given faster
implementations of the call and of each method (``call=``, ``reduce=`` ...), as JAX's own
ufuncs are. The ufunc itself is a static argument of the compiled methods, so it is hashable
by its function, name and counts.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import jax
import numpy as np

from xform import lax
from xform.core.trace import to_aval
from xform.interpreters.tracing import stage
from xform.lax.batched import batched_call
from xform.numpy import _float_functions as ff
from xform.numpy import _reductions as red
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit
from xform.numpy._functional import vectorize
from xform.numpy._indexing import take
from xform.numpy._promote import check_arraylike, convert
from xform.numpy._shape import broadcast_to

_AT_INPLACE = ("jax.numpy.ufunc.at cannot update arrays in place (JAX arrays are immutable); "
               "pass inplace=False and use the returned array.")


def _normalize_axis(axis: int, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


class ufunc:  # noqa: N801 (numpy's and JAX's class name)
    """A universal function from ``func`` of ``nin`` scalar inputs and ``nout`` outputs, as
    ``jax.numpy.ufunc``.

        >>> import xform.numpy as xnp
        >>> add = xnp.frompyfunc(lambda a, b: a + b, nin=2, nout=1, identity=0)
        >>> add.reduce(xnp.arange(5))
        Array(10, dtype=int32)
    """

    def __init__(self, func: Callable[..., Any], /, nin: int, nout: int, *,
                 name: str | None = None, nargs: int | None = None, identity: Any = None,
                 call: Callable | None = None, reduce: Callable | None = None,
                 accumulate: Callable | None = None, at: Callable | None = None,
                 reduceat: Callable | None = None):
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        # one private dict, so the public attributes stay read-only as JAX's properties are
        self.__props = {
            "func": func, "nin": operator.index(nin), "nout": operator.index(nout),
            "nargs": operator.index(nargs or nin), "identity": identity, "call": call,
            "reduce": reduce, "accumulate": accumulate, "at": at, "reduceat": reduceat,
        }

    _func = property(lambda self: self.__props["func"])
    nin = property(lambda self: self.__props["nin"])
    nout = property(lambda self: self.__props["nout"])
    nargs = property(lambda self: self.__props["nargs"])
    identity = property(lambda self: self.__props["identity"])

    def _key(self) -> tuple:
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self) -> str:
        return f"<jnp.ufunc '{self.__name__}'>"

    # -- the call --------------------------------------------------------------------------------
    def __call__(self, *args: Any, out: None = None, where: None = None) -> Any:
        check_arraylike(self.__name__, *args)
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        if len(args) != self.nin:
            raise TypeError(f"{self} takes {self.nin} positional arguments, got {len(args)}")
        call = self.__props["call"]
        return call(*args) if call is not None else _call_vectorized(self, *args)

    def _result_dtype(self, *args: Any) -> np.dtype:
        """The dtype ``func`` returns on scalars of the dtypes of ``args`` (traced, not run)."""
        specs = [jax.ShapeDtypeStruct((), to_aval(asarray(a)).dtype) for a in args]
        closed, _, _ = stage(self._func, specs, {}, kind="eval_shape")
        return closed.jaxpr.out_avals[0].dtype

    def _check_binary(self, method: str) -> None:
        if self.nin != 2:
            raise ValueError(f"{method} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{method} only supported for functions returning a single value")

    # -- reduce ----------------------------------------------------------------------------------
    def reduce(self, a: Any, axis: int | None = 0, dtype: Any = None, out: None = None,
               keepdims: bool = False, initial: Any = None, where: Any = None) -> Any:
        """``a`` reduced along ``axis`` (None: all axes) by repeated calls, starting from
        ``initial`` (else the first element); ``where`` masks elements out and needs an
        identity or ``initial``."""
        check_arraylike(f"{self.__name__}.reduce", a)
        self._check_binary("reduce")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduce()")
        if initial is not None:
            check_arraylike(f"{self.__name__}.reduce", initial)
        if where is not None:
            check_arraylike(f"{self.__name__}.reduce", where)
            if self.identity is None and initial is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an "
                                 "identity, so to use a where mask one has to specify "
                                 "'initial'.")
            if to_aval(asarray(where)).dtype != np.bool_:
                raise ValueError(f"where argument must have dtype=bool; got "
                                 f"dtype={to_aval(asarray(where)).dtype}")
        if isinstance(axis, (tuple, list)):
            raise NotImplementedError("tuple of axes")
        custom = self.__props["reduce"]
        if custom is not None:
            return custom(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                          where=where)
        dtype = None if dtype is None else np.dtype(dtype)
        return _reduce_via_loop(self, a, axis, dtype, keepdims, initial, where)

    # -- accumulate ------------------------------------------------------------------------------
    def accumulate(self, a: Any, axis: int = 0, dtype: Any = None, out: None = None) -> Any:
        """The running reduction of ``a`` along ``axis`` (same shape as ``a``)."""
        self._check_binary("accumulate")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.accumulate()")
        custom = self.__props["accumulate"]
        if custom is not None:
            return custom(a, axis=axis, dtype=dtype)
        check_arraylike(f"{self.__name__}.accumulate", a)
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("accumulate does not allow multiple axes")
        dtype = None if dtype is None else np.dtype(dtype)
        return _accumulate_via_scan(self, a, operator.index(axis), dtype)

    # -- at --------------------------------------------------------------------------------------
    def at(self, a: Any, indices: Any, b: Any = None, /, *, inplace: bool = True) -> Any:
        """``a`` with ``self(a[indices], b)`` written at ``indices``, applied once per index
        (repeated indices accumulate), as ``numpy.ufunc.at``; needs ``inplace=False``."""
        if inplace:
            raise NotImplementedError(_AT_INPLACE)
        custom = self.__props["at"]
        if custom is not None:
            return custom(a, indices) if b is None else custom(a, indices, b)
        args = () if b is None else (b,)
        check_arraylike(f"{self.__name__}.at", a, *args)
        return _at_via_scan(self, a, indices, *args)

    # -- reduceat --------------------------------------------------------------------------------
    def reduceat(self, a: Any, indices: Any, axis: int = 0, dtype: Any = None,
                 out: None = None) -> Any:
        """Reductions of ``a`` over the slices ``indices[i]:indices[i+1]`` along ``axis``
        (just ``a[indices[i]]`` where the next index is not larger), as
        ``numpy.ufunc.reduceat``."""
        self._check_binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.reduceat()")
        custom = self.__props["reduceat"]
        if custom is not None:
            return custom(a, indices, axis=axis, dtype=dtype)
        check_arraylike(f"{self.__name__}.reduceat", a, indices)
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        return _reduceat_via_loop(self, a, indices, operator.index(axis))

    # -- outer -----------------------------------------------------------------------------------
    def outer(self, A: Any, B: Any, /) -> Any:  # noqa: N803 (numpy's argument names)
        """``self(A[i...], B[j...])`` for every pair: shape ``A.shape + B.shape``."""
        self._check_binary("outer")
        check_arraylike(f"{self.__name__}.outer", A, B)
        return _outer(self, A, B)


@eager_jit(static_argnames=("self",))
def _call_vectorized(self: ufunc, *args: Any) -> Any:
    return vectorize(self._func)(*args)


@eager_jit(static_argnames=("self", "axis", "dtype", "keepdims"))
def _reduce_via_loop(self: ufunc, arr: Any, axis: Any, dtype: Any, keepdims: bool,
                     initial: Any, where: Any) -> Any:
    arr = asarray(arr)
    if initial is None:
        initial = self.identity
    if dtype is None:
        dtype = self._result_dtype(arr, arr)
    if where is not None:
        where = broadcast_to(asarray(where), _shape(arr))
    if axis is None:
        final_shape = (1,) * len(_shape(arr)) if keepdims else ()
        arr = sh.ravel(arr)
        where = None if where is None else sh.ravel(where)
        axis = 0
    else:
        axis = _normalize_axis(axis, len(_shape(arr)))
        rest = _shape(arr)[:axis] + _shape(arr)[axis + 1:]
        final_shape = _shape(arr)[:axis] + (1,) + _shape(arr)[axis + 1:] if keepdims else rest
    arr = sh.moveaxis(arr, axis, 0)
    if where is not None:
        where = sh.moveaxis(where, axis, 0)
    n = _shape(arr)[0]
    if n == 0:
        if initial is None:
            raise ValueError(f"zero-size array to reduction operation {self.__name__} which "
                             "has no identity")
        return lax.full(final_shape, initial, dtype)

    def body(i: Any, val: Any) -> Any:
        new = self(val, convert(lax.dynamic_index_in_dim(arr, i, 0, False), dtype))
        if where is None:
            return new
        return uf.where(lax.dynamic_index_in_dim(where, i, 0, False), new, val)

    if initial is None:
        start, value = 1, lax.index_in_dim(arr, 0, 0, False)
    else:
        start, value = 0, asarray(initial)
    value = broadcast_to(convert(value, dtype), _shape(arr)[1:])
    out = lax.fori_loop(start, n, body, value)
    return sh.reshape(out, final_shape) if keepdims else out


@eager_jit(static_argnames=("self", "axis", "dtype"))
def _accumulate_via_scan(self: ufunc, arr: Any, axis: int, dtype: Any) -> Any:
    arr = asarray(arr)
    if dtype is None:
        dtype = self._result_dtype(arr, arr)
    axis = _normalize_axis(axis, len(_shape(arr)))
    if math.prod(_shape(arr)) == 0:
        return lax.full(_shape(arr), 0, dtype)
    arr = sh.moveaxis(arr, axis, 0)
    first = convert(lax.index_in_dim(arr, 0, 0, False), dtype)

    def step(carry: tuple, _: Any) -> tuple:
        i, x = carry
        xi = convert(lax.dynamic_index_in_dim(arr, i, 0, False), dtype)
        y = uf.where(lax.eq(i, 0), first, self(convert(x, dtype), xi))
        return (lax.add(i, 1), y), y

    _, out = lax.scan(step, (np.int32(0), first), None, length=_shape(arr)[0])
    return sh.moveaxis(out, 0, axis)


def _index_tuple(indices: Any) -> tuple:
    """``indices`` as a tuple of index expressions (a list is one index array, as in JAX)."""
    if isinstance(indices, tuple):
        return indices
    if isinstance(indices, list):
        return (asarray(indices),)
    return (indices,)


def _at_via_scan(self: ufunc, a: Any, indices: Any, *args: Any) -> Any:
    dtype = self._result_dtype(a, *args)
    idx = _index_tuple(indices)
    # slices are static (as hashable triples; slice objects are not hashable before Python
    # 3.12); the index arrays are traced
    arrays = [asarray(i) for i in idx if not isinstance(i, slice)]
    slices = tuple((i.start, i.stop, i.step) if isinstance(i, slice) else None for i in idx)
    return _at_loop(self, dtype, slices, asarray(a), arrays, *args)


@eager_jit(static_argnames=("self", "dtype", "slices"))
def _at_loop(self: ufunc, dtype: Any, slices: tuple, a: Any, arrays: list, *args: Any) -> Any:
    a = convert(a, dtype)
    args = tuple(convert(asarray(x), dtype) for x in args)
    if not slices:
        return a
    it = iter(arrays)
    idx = [slice(*s) if s is not None else next(it) for s in slices]
    shapes = [_shape(i) for i in idx if not isinstance(i, slice)]
    shape = np.broadcast_shapes(*shapes) if shapes else ()
    if not shape:
        key = tuple(idx)
        return a.at[key].set(self(a[key], *args))
    size = math.prod(shape)
    if args:
        core = _shape(args[0])[len(shape):]
        args = (sh.reshape(broadcast_to(args[0], shape + core), (size,) + core),)
    flat = [i if isinstance(i, slice) else sh.ravel(broadcast_to(i, shape)) for i in idx]

    def step(carry: tuple, _: Any) -> tuple:
        k, acc = carry
        key = tuple(i if isinstance(i, slice) else i[k] for i in flat)
        acc = acc.at[key].set(self(acc[key], *(x[k] for x in args)))
        return (lax.add(k, 1), acc), None

    (_, out), _ = lax.scan(step, (np.int32(0), a), None, length=size)
    return out


@eager_jit(static_argnames=("self", "axis"))
def _reduceat_via_loop(self: ufunc, a: Any, indices: Any, axis: int) -> Any:
    a, indices = asarray(a), asarray(indices)
    if not _shape(a):
        raise ValueError(f"reduceat: a must have 1 or more dimension, got a.shape={_shape(a)}")
    if len(_shape(indices)) != 1:
        raise ValueError(f"reduceat: indices must be one-dimensional, got "
                         f"indices.shape={_shape(indices)}")
    axis = _normalize_axis(axis, len(_shape(a)))
    out = take(a, indices, axis=axis)
    n = _shape(a)[axis]
    bounds = sh.concatenate([indices, asarray([n], dtype=to_aval(indices).dtype)], 0)
    other = [d for d in range(len(_shape(out))) if d != axis]
    bounds = lax.expand_dims(bounds, other)
    m = _shape(bounds)[axis]
    lo = lax.slice_in_dim(bounds, 0, m - 1, axis=axis)
    hi = lax.slice_in_dim(bounds, 1, m, axis=axis)

    def body(i: Any, acc: Any) -> Any:
        inside = uf.logical_and(uf.greater(i, lo), uf.less(i, hi))
        return uf.where(inside, self(acc, lax.dynamic_slice_in_dim(a, i, 1, axis)), acc)

    return lax.fori_loop(0, n, body, out)


@eager_jit(static_argnames=("self",))
def _outer(self: ufunc, A: Any, B: Any) -> Any:  # noqa: N803
    A, B = asarray(A), asarray(B)
    a, b = sh.ravel(A), sh.ravel(B)
    rows = lambda x: batched_call(lambda y: self(x, y), [b], [0], description="ufunc.outer")  # noqa: E731
    out = batched_call(rows, [a], [0], description="ufunc.outer")
    return sh.reshape(out, _shape(A) + _shape(B))


def frompyfunc(func: Callable[..., Any], /, nin: int, nout: int, *,
               identity: Any = None) -> ufunc:
    """``func`` of ``nin`` scalars as a :class:`ufunc`, as ``jax.numpy.frompyfunc``.

        >>> import xform.numpy as xnp
        >>> mul = xnp.frompyfunc(lambda a, b: a * b, 2, 1, identity=1)
        >>> mul.outer(xnp.arange(1, 3), xnp.arange(1, 4))
        Array([[1, 2, 3],
               [2, 4, 6]], dtype=int32)
    """
    return ufunc(func, nin, nout, identity=identity)


# -- jax.numpy's own ufuncs --------------------------------------------------------------------
# As in JAX, these 14 public names are ufunc objects: calling one is the plain elementwise
# function, and ``add.reduce`` / ``add.accumulate`` / ``add.at`` use the matching reduction,
# cumulative reduction or scatter where one exists (the generic loops otherwise).
def _with_dtype(reduction: Callable, takes_dtype: bool) -> Callable:
    """``reduction`` as a ufunc's ``reduce`` (keyword arguments as ``ufunc.reduce`` passes)."""
    def reduce(a: Any, *, axis: Any, dtype: Any, keepdims: bool, initial: Any,
               where: Any) -> Any:
        if takes_dtype:
            return reduction(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                             where=where)
        if dtype is not None:
            a = convert(asarray(a), dtype)
        return reduction(a, axis=axis, keepdims=keepdims, initial=initial, where=where)
    return reduce


def _scatter_at(method: str) -> Callable:
    """``a.at[indices].<method>(b)`` as a ufunc's ``at`` (bool arrays go through int32)."""
    @eager_jit()
    def at(a: Any, indices: Any, b: Any) -> Any:
        a = asarray(a)
        if to_aval(a).dtype == np.bool_ and method in ("add", "multiply"):
            b = convert(convert(asarray(b), np.bool_), np.int32)
            out = getattr(convert(a, np.int32).at[indices], method)(b)
            return convert(out, np.bool_)
        return getattr(a.at[indices], method)(b)
    at.__name__ = f"_{method}_at"
    return at


def _builtin(func: Callable, nin: int, identity: Any = None, **methods: Any) -> ufunc:
    return ufunc(func, nin, 1, name=func.__name__, identity=identity, call=func, **methods)


add = _builtin(uf.add, 2, 0, reduce=_with_dtype(red.sum, True),
               accumulate=lambda a, axis, dtype: red.cumsum(a, axis=axis, dtype=dtype),
               at=_scatter_at("add"))
multiply = _builtin(uf.multiply, 2, 1, reduce=_with_dtype(red.prod, True),
                    accumulate=lambda a, axis, dtype: red.cumprod(a, axis=axis, dtype=dtype),
                    at=_scatter_at("multiply"))
subtract = _builtin(uf.subtract, 2, at=_scatter_at("subtract"))
maximum = _builtin(uf.maximum, 2, reduce=_with_dtype(red.max, False))
minimum = _builtin(uf.minimum, 2, reduce=_with_dtype(red.min, False))
bitwise_and = _builtin(uf.bitwise_and, 2, -1)
bitwise_or = _builtin(uf.bitwise_or, 2, 0)
bitwise_xor = _builtin(uf.bitwise_xor, 2, 0)
logical_and = _builtin(uf.logical_and, 2, True)
logical_or = _builtin(uf.logical_or, 2, False)
logical_xor = _builtin(uf.logical_xor, 2, False)
logaddexp = _builtin(ff.logaddexp, 2, -np.inf)
logaddexp2 = _builtin(ff.logaddexp2, 2, -np.inf)
negative = _builtin(uf.negative, 1)
