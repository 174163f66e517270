"""Array creation: array/asarray/copy, zeros/ones/full (and *_like), empty, arange, linspace,
eye.

Constants built from concrete data are concrete ``jax.Array``s even under a transform (they do
not depend on traced values); shapes filled from a value become ``broadcast_in_dim``, as in JAX.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import jax
import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype, dtype_of_scalar, is_python_scalar, result_type
from xform.core.jax_internals import convert_element_type
from xform.core.trace import Tracer, current_trace, to_aval
from xform.lax import elementwise as lax_ew
from xform.lax.sharding import reshard, with_sharding_constraint
from xform.numpy._promote import broadcast_to_shape, convert, is_array_like
from xform.numpy._eager import jit_typed

_weak_const_cache: dict = {}


def _weak_constant(val: Any, dtype: np.dtype) -> jax.Array:
    """A concrete weakly typed 0-d jax.Array (not a traced value, whatever the trace)."""
    fn = _weak_const_cache.get(dtype)
    if fn is None:
        fn = _weak_const_cache[dtype] = jax.jit(
            lambda v: convert_element_type(v, dtype, weak_type=True))
    return fn(val)


def _canonical_shape(shape: Any) -> tuple:
    if isinstance(shape, (int, np.integer)) or (hasattr(shape, "__index__")
                                                 and not isinstance(shape, (tuple, list))):
        shape = (shape,)
    try:
        out = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"Shapes must be 1D sequences of concrete values of integer type, got "
                        f"{shape!r}. If a dimension comes from a traced value, make it static "
                        "(e.g. with jit's static_argnums).") from None
    if any(d < 0 for d in out):
        raise ValueError(f"negative dimensions are not allowed, got shape {out}")
    return out


def _default_float() -> np.dtype:
    return canonicalize_dtype(np.float64)


def _has_tracer(obj: Any) -> bool:
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_has_tracer(o) for o in obj)
    return False


def _one_layout(device: Any, out_sharding: Any, name: str) -> Any:
    """JAX's rule: ``device`` or ``out_sharding``, not both."""
    if device is not None and out_sharding is not None:
        raise ValueError(f"Only one of `device` or `out_sharding` can be set. Got {device=} and "
                         f"{out_sharding=} (in {name}).")
    return out_sharding


def _place(x: Any, device: Any = None, out_sharding: Any = None) -> Any:
    """``x`` placed as the creation functions' ``device=`` (a Device or a Sharding) and
    ``out_sharding=`` (a layout over Explicit mesh axes) ask, as JAX's: concrete arrays are put
    there; traced values get the layout as their sharding type (a ``NamedSharding`` or bare
    ``PartitionSpec``) or a sharding constraint (another ``Sharding``); a single device leaves
    a traced value where the program runs."""
    if out_sharding is not None:
        return reshard(x, out_sharding)
    if device is None:
        return x
    if not isinstance(x, Tracer):
        return jax.device_put(x, device)
    if isinstance(device, jax.sharding.NamedSharding) and device.mesh.explicit_axes:
        return reshard(x, device)
    if isinstance(device, jax.sharding.Sharding) and not isinstance(
            device, jax.sharding.SingleDeviceSharding):
        return with_sharding_constraint(x, device)
    return x


def _fill_place(x: Any, device: Any) -> Any:
    # JAX's full and full_like put their result on ``device`` eagerly and ignore it under a
    # transform (lax.full: "sharding will currently be ignored in jitted mode")
    return x if current_trace() is not None else jax.device_put(x, device)


@jit_typed(inline=True, jit=False, copy=True)
def array(object: Any, dtype: Any = None, copy: bool = True, order: str | None = "K",  # noqa: A002
          ndmin: int = 0, *, device: Any = None, out_sharding: Any = None) -> Any:
    """Create an array from an array, a scalar or nested lists, as ``jax.numpy.array``.

    >>> array([1, 2]).dtype
    dtype('int32')

    ``device`` (a Device or Sharding) or ``out_sharding`` (a layout over Explicit mesh axes)
    place the result, as in JAX.
    """
    _one_layout(device, out_sharding, "array")
    if order not in (None, "K", "C", "A"):
        raise NotImplementedError(f"array: order={order!r} is not supported; only 'C'/'K'.")
    if isinstance(object, Tracer) or isinstance(object, jax.Array):
        out = object if dtype is None else convert(object, dtype)
    elif isinstance(object, (list, tuple)) and _has_tracer(object):
        from xform.numpy._shape import stack  # cycle: numpy/_shape.py imports _creation (asarray)
        out = stack([array(o) for o in object])
        if dtype is not None:
            out = convert(out, dtype)
    elif is_python_scalar(object):
        if dtype is None:
            out = _weak_constant(object, dtype_of_scalar(object))
        else:
            out = jax.device_put(np.asarray(object, canonicalize_dtype(dtype)))
    else:
        if isinstance(object, (list, tuple)):
            object = [np.asarray(o) if isinstance(o, jax.Array) else o for o in object]
        if object is None:  # numpy would make an object array of it
            raise ValueError("None is not a valid value for xform.numpy.array")
        arr = np.asarray(object)
        if arr.dtype == np.dtype("O"):
            raise TypeError(f"array: cannot convert {type(object).__name__} to an array.")
        target = canonicalize_dtype(arr.dtype if dtype is None else dtype)
        out = jax.device_put(np.asarray(arr, dtype=target))
    if ndmin > to_aval(out).ndim:
        shape = to_aval(out).shape
        out = lax.reshape(out, (1,) * (ndmin - len(shape)) + shape)
    return _place(out, device, out_sharding)


@jit_typed(inline=True, jit=False)
def asarray(a: Any, dtype: Any = None, order: str | None = None, *,
            copy: bool | None = None, device: Any = None, out_sharding: Any = None) -> Any:
    """Convert ``a`` to an array without copying when it is one, as ``jax.numpy.asarray``
    (``device``/``out_sharding`` as in :func:`array`)."""
    # array's own body: a vmap of asarray returns its argument, of array a jax Array (JAX's)
    return array.__jit_typed__(a, dtype=dtype, copy=bool(copy), order=order, device=device,
                               out_sharding=out_sharding)


def full(shape: Any, fill_value: Any, dtype: Any = None, *, device: Any = None,
         out_sharding: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value``, as ``jax.numpy.full``
    (``out_sharding``: its layout over Explicit mesh axes; ``device``: a Device or Sharding to
    put it on; not both)."""
    _one_layout(device, out_sharding, "full")
    if device is not None:
        return _fill_place(full(shape, fill_value, dtype), device)
    shape = _canonical_shape(shape)
    if is_array_like(fill_value) and to_aval(fill_value).ndim:
        fill = fill_value if dtype is None else convert(fill_value, dtype)
        return broadcast_to_shape(fill, shape, out_sharding)
    if dtype is None:
        aval = to_aval(fill_value)
        fill = convert(fill_value, aval.dtype, aval.weak_type)
    else:
        fill = convert(fill_value, dtype)
    if not shape and not isinstance(fill, Tracer) and not isinstance(fill, jax.Array):
        f_aval = to_aval(fill)
        fill = jax.device_put(np.asarray(fill, dtype=f_aval.dtype))
        if f_aval.weak_type:  # full_like(0.3, 0.7) is weakly typed, as JAX's
            fill = convert_element_type(fill, f_aval.dtype, weak_type=True)
    if not shape:
        return fill
    return lax.broadcast_in_dim(fill, shape, (), out_sharding=out_sharding)


def zeros(shape: Any, dtype: Any = None, *, device: Any = None,
          out_sharding: Any = None) -> Any:
    """An array of zeros, as ``jax.numpy.zeros`` (default dtype float32);
    ``device``/``out_sharding`` as in :func:`full`."""
    return full(shape, 0, _default_float() if dtype is None else dtype, device=device,
                out_sharding=out_sharding)


def ones(shape: Any, dtype: Any = None, *, device: Any = None,
         out_sharding: Any = None) -> Any:
    """An array of ones, as ``jax.numpy.ones`` (default dtype float32);
    ``device``/``out_sharding`` as in :func:`full`."""
    return full(shape, 1, _default_float() if dtype is None else dtype, device=device,
                out_sharding=out_sharding)


def empty(shape: Any, dtype: Any = None, *, device: Any = None,
          out_sharding: Any = None) -> Any:
    """An array of ``shape`` (zero-filled: XLA has no uninitialized memory)."""
    return zeros(shape, dtype, device=device, out_sharding=out_sharding)


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None, *,
              device: Any = None, out_sharding: Any = None) -> Any:
    """An array like ``a`` (shape, dtype, weak type and, over Explicit mesh axes, layout unless
    ``shape`` or ``out_sharding`` is given) filled with ``fill_value``; ``device`` puts it on
    a Device or Sharding instead (not both)."""
    _one_layout(device, out_sharding, "full_like")
    if device is not None:
        # (a layout given: the model's is not kept, as in JAX)
        shape = to_aval(a).shape if shape is None else shape
        return _fill_place(full_like(a, fill_value, dtype, shape), device)
    aval = to_aval(a)
    sharding = out_sharding if out_sharding is not None else (
        aval.sharding if shape is None else None)
    shape = aval.shape if shape is None else _canonical_shape(shape)
    if np.ndim(fill_value) if not hasattr(fill_value, "aval") else to_aval(fill_value).ndim:
        # an array fill is broadcast as it is, typed by itself (or dtype), as JAX's
        fill = asarray(fill_value, dtype=dtype)
        return broadcast_to_shape(fill, tuple(shape))
    if dtype is None:
        fill = convert(fill_value, aval.dtype, aval.weak_type)
    else:
        fill = convert(fill_value, dtype)
    return full(shape, fill, out_sharding=sharding)


def zeros_like(a: Any, dtype: Any = None, shape: Any = None, *, device: Any = None,
               out_sharding: Any = None) -> Any:
    """Zeros with ``a``'s shape and dtype, as ``jax.numpy.zeros_like``
    (``device``/``out_sharding`` as in :func:`full_like`)."""
    return full_like(a, 0, dtype, shape, device=device, out_sharding=out_sharding)


def ones_like(a: Any, dtype: Any = None, shape: Any = None, *, device: Any = None,
              out_sharding: Any = None) -> Any:
    """Ones with ``a``'s shape and dtype, as ``jax.numpy.ones_like``
    (``device``/``out_sharding`` as in :func:`full_like`)."""
    return full_like(a, 1, dtype, shape, device=device, out_sharding=out_sharding)


def empty_like(a: Any, dtype: Any = None, shape: Any = None, *, device: Any = None) -> Any:
    """An array like ``a`` (zero-filled; ``device``: a Device or Sharding to put it on)."""
    return zeros_like(a, dtype, shape, device=device)


def _iota(dtype: Any, shape: Sequence[int], dimension: int) -> Any:
    dtype = canonicalize_dtype(dtype)
    if hasattr(lax, "broadcasted_iota"):
        return lax.broadcasted_iota(dtype, tuple(shape), dimension)
    v = lax.iota(dtype, shape[dimension])
    return v if len(shape) == 1 else lax.broadcast_in_dim(v, tuple(shape), (dimension,))


def _concrete(x: Any, name: str, arg: str) -> Any:
    if isinstance(x, Tracer):
        return x.concrete_value(f"{name} argument `{arg}`")
    return x


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, *,
           device: Any = None, out_sharding: Any = None) -> Any:
    """Evenly spaced values in ``[start, stop)``, as ``jax.numpy.arange`` (static bounds;
    ``device``/``out_sharding`` as in :func:`array`)."""
    _one_layout(device, out_sharding, "arange")
    return _place(_arange(start, stop, step, dtype), device, out_sharding)


def _arange(start: Any, stop: Any, step: Any, dtype: Any) -> Any:
    start = _concrete(start, "arange", "start")
    stop = _concrete(stop, "arange", "stop")
    step = _concrete(step, "arange", "step")
    vals = [v for v in (start, stop, step) if v is not None]
    out_dtype = canonicalize_dtype(dtype) if dtype is not None else result_type(
        *[np.asarray(v).dtype if not is_python_scalar(v) else v for v in vals])
    out_dtype = canonicalize_dtype(out_dtype)
    if stop is None and step is None and np.issubdtype(out_dtype, np.integer) and \
            np.ndim(start) == 0 and float(start) == int(start):
        n = max(int(start), 0)
        return _iota(out_dtype, (n,), 0)
    data = np.arange(np.asarray(start), None if stop is None else np.asarray(stop),
                     None if step is None else np.asarray(step))
    return jax.device_put(data.astype(out_dtype))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0, *,
             device: Any = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``jax.numpy.linspace``
    (``device``: a Device or Sharding to put them on)."""
    out = _linspace(start, stop, num, endpoint, retstep, dtype, axis)
    if retstep:
        return _place(out[0], device), out[1]
    return _place(out, device)


def _linspace(start: Any, stop: Any, num: int, endpoint: bool, retstep: bool, dtype: Any,
              axis: int) -> Any:
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    from xform.numpy import _ufuncs as uf  # cycle: numpy/_ufuncs.py imports _creation
    comp = result_type(start, stop, float)
    out_dtype = canonicalize_dtype(comp if dtype is None else dtype)
    start = convert(start, comp)
    stop = convert(stop, comp)
    bshape = tuple(np.broadcast_shapes(to_aval(start).shape, to_aval(stop).shape))
    start, stop = broadcast_to_shape(start, bshape), broadcast_to_shape(stop, bshape)
    axis = axis + len(bshape) + 1 if axis < 0 else axis
    out_shape = bshape[:axis] + (num,) + bshape[axis:]
    dims = tuple(d for d in range(len(out_shape)) if d != axis)
    s = lax.broadcast_in_dim(start, out_shape, dims) if out_shape != bshape else start
    e = lax.broadcast_in_dim(stop, out_shape, dims) if out_shape != bshape else stop
    div = (num - 1) if endpoint else num
    delta = lax_ew.sub(stop, start)
    step = lax_ew.div(delta, convert(div, comp, True)) if div > 0 else delta
    if num == 0:
        out = zeros(out_shape, comp)
    else:
        ramp = _iota(comp, out_shape, axis)
        st = lax.broadcast_in_dim(step, out_shape, dims) if out_shape != bshape else step
        out = lax_ew.add(s, lax_ew.mul(ramp, st))
        if endpoint and num > 1:
            last = lax_ew.eq(_iota(np.int32, out_shape, axis), convert(num - 1, np.int32, True))
            out = lax_ew.select(last, e, out)
    if np.issubdtype(out_dtype, np.integer):
        out = uf.floor(out)
    out = convert(out, out_dtype)
    return (out, step) if retstep else out


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None, *,
        device: Any = None) -> Any:
    """A 2-D array with ones on the ``k``-th diagonal, as ``jax.numpy.eye`` (``device``: a
    Device or Sharding to put it on)."""
    return _place(_eye(N, M, k, dtype), device)


def _eye(N: int, M: int | None, k: int, dtype: Any) -> Any:  # noqa: N803 - numpy's names
    N = operator.index(N)
    M = N if M is None else operator.index(M)
    dtype = _default_float() if dtype is None else canonicalize_dtype(dtype)
    rows = _iota(np.int32, (N, M), 0)
    cols = _iota(np.int32, (N, M), 1)
    if k:
        rows = lax_ew.add(rows, convert(int(k), np.int32, True))
    return convert(lax_ew.eq(rows, cols), dtype)


def identity(n: int, dtype: Any = None) -> Any:
    """The ``n`` x ``n`` identity matrix, as ``jax.numpy.identity``."""
    return eye(n, dtype=dtype)


@jit_typed(inline=True)
def copy(a: Any, order: str | None = None) -> Any:
    """``a`` itself as an array (arrays are immutable, so sharing is a copy)."""
    return asarray(a)
