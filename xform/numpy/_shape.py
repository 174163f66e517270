"""Shape manipulation: reshape, ravel, transpose, swapaxes, moveaxis, expand_dims, squeeze,
broadcast_to, stack, concatenate."""

from __future__ import annotations

import operator
from typing import Any, Sequence

import jax
import numpy as np

from xform import lax
from xform.core.avals import is_python_scalar
from xform.core.trace import Tracer, to_aval
from xform.numpy._creation import array
from xform.numpy._eager import jit_typed
from xform.numpy._promote import broadcast_shapes, check_arraylike, convert, promote_dtypes


def _as_array(a: Any) -> Any:
    if is_python_scalar(a):
        return array(a)
    return a


def canonicalize_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """A non-negative axis, or numpy's AxisError-like ValueError naming the rank."""
    axis = operator.index(axis)
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ValueError(f"{name} {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim if ndim else 0


def _axes_tuple(axis: Any, ndim: int) -> tuple:
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim) for a in axis)
    else:
        axes = (canonicalize_axis(axis, ndim),)
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in {axis!r}")
    return axes


def reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
            copy: bool | None = None, out_sharding: Any = None) -> Any:
    """Give ``a`` a new shape with the same size (one entry may be -1), as
    ``jax.numpy.reshape`` (``out_sharding`` lays the result out over Explicit mesh axes).

    As JAX's, a numpy array or scalar is reshaped by its own method and stays a numpy
    array (so numpy's own indexing rules follow it)."""
    check_arraylike("reshape", a)
    if shape is None:
        shape = newshape
    if out_sharding is None and isinstance(a, (np.ndarray, np.generic)):
        return a.reshape(shape, order=order)
    return _reshape(a, shape, order, out_sharding)


def _reshape(a: Any, shape: Any, order: str = "C", out_sharding: Any = None) -> Any:
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    a = _as_array(a)
    aval = to_aval(a)
    if isinstance(shape, (int, np.integer)) or not isinstance(shape, (tuple, list)) and \
            hasattr(shape, "__index__"):
        shape = (shape,)
    shape = tuple(operator.index(d) for d in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension (-1), got {shape}")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or aval.size % known:
            raise TypeError(f"cannot reshape array of shape {aval.shape} (size {aval.size}) "
                            f"into shape {shape}: the size is not divisible.")
        shape = tuple(aval.size // known if d == -1 else d for d in shape)
    if int(np.prod(shape, dtype=np.int64)) != aval.size:
        raise TypeError(f"cannot reshape array of shape {aval.shape} (size {aval.size}) into "
                        f"shape {shape} (size {int(np.prod(shape, dtype=np.int64))}).")
    if shape == aval.shape and out_sharding is None:
        return a
    return lax.reshape(a, shape, out_sharding=out_sharding)


@jit_typed(inline=True)
def ravel(a: Any, order: str = "C", *, out_sharding: Any = None) -> Any:
    """The flattened array, as ``jax.numpy.ravel`` (``out_sharding``: its layout over
    Explicit mesh axes)."""
    check_arraylike("ravel", a)
    return _reshape(a, (to_aval(_as_array(a)).size,), order, out_sharding)


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes (reverse them by default), as ``jax.numpy.transpose``."""
    check_arraylike("transpose", a)
    a = _as_array(a)
    ndim = to_aval(a).ndim
    if axes is None:
        perm = tuple(range(ndim))[::-1]
    else:
        perm = tuple(canonicalize_axis(ax, ndim) for ax in axes)
        if sorted(perm) != list(range(ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                             f"{ndim} axes of the array")
    if perm == tuple(range(ndim)):
        return a
    return lax.transpose(a, perm)


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes, as ``jax.numpy.matrix_transpose``."""
    ndim = to_aval(x).ndim
    if ndim < 2:
        raise ValueError(f"matrix_transpose requires at least 2 dimensions, got {ndim}")
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return transpose(x, perm)


@jit_typed(inline=True)
def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes, as ``jax.numpy.swapaxes``."""
    check_arraylike("swapaxes", a)
    a = _as_array(a)
    ndim = to_aval(a).ndim
    perm = list(range(ndim))
    i, j = canonicalize_axis(axis1, ndim, "axis1"), canonicalize_axis(axis2, ndim, "axis2")
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


@jit_typed(inline=True)
def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions, the others keeping their order, as ``jax.numpy.moveaxis``."""
    check_arraylike("moveaxis", a)
    a = _as_array(a)
    ndim = to_aval(a).ndim
    src = _axes_tuple(source, ndim)
    dst = _axes_tuple(destination, ndim)
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same "
                         f"number of elements, got {len(src)} and {len(dst)}")
    rest = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        rest.insert(d, s)
    return transpose(a, rest)


@jit_typed(inline=True)
def expand_dims(a: Any, axis: Any) -> Any:
    """Insert size-1 axes at ``axis`` (an int or tuple), as ``jax.numpy.expand_dims``."""
    check_arraylike("expand_dims", a)
    a = _as_array(a)
    shape = to_aval(a).shape
    out_ndim = len(shape) + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = sorted(_axes_tuple(axis, out_ndim))
    new_shape = list(shape)
    for ax in axes:
        new_shape.insert(ax, 1)
    dims = tuple(i for i in range(out_ndim) if i not in axes)
    return lax.broadcast_in_dim(a, tuple(new_shape), dims)


@jit_typed(inline=True)
def squeeze(a: Any, axis: Any = None) -> Any:
    """Remove size-1 axes (all of them, or those in ``axis``), as ``jax.numpy.squeeze``."""
    check_arraylike("squeeze", a)
    a = _as_array(a)
    shape = to_aval(a).shape
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = _axes_tuple(axis, len(shape))
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"cannot select an axis to squeeze out which has size not "
                                 f"equal to one: axis {ax} of shape {shape} has size "
                                 f"{shape[ax]}")
    if not axes:
        return a
    return lax.squeeze(a, tuple(sorted(axes)))


def _check_broadcast_layout(aval: Any, shape: tuple, out_sharding: Any) -> None:
    # JAX's rule: a split dimension of the operand stays split the same way in the result
    out_spec = tuple(getattr(out_sharding, "spec", out_sharding))
    out_spec = (out_spec + (None,) * len(shape))[:len(shape)]
    in_spec = tuple(aval.sharding.spec) if aval.sharding is not None else ()
    tail = out_spec[len(shape) - aval.ndim:]
    if any(e is not None and e != o for e, o in zip(in_spec, tail)):
        raise ValueError(f"Incompatible types for broadcasting: input type={aval.str_short()} "
                         f"and requested shape {shape} laid out as {out_spec}: a split "
                         "dimension of the input must be split the same way in the result.")


def broadcast_to(array: Any, shape: Any, *, out_sharding: Any = None) -> Any:
    """Broadcast ``array`` to ``shape`` by numpy's rules, as ``jax.numpy.broadcast_to``
    (``out_sharding``: the result's layout over Explicit mesh axes)."""
    check_arraylike("broadcast_to", array)
    array = _as_array(array)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    src = to_aval(array).shape
    try:
        ok = len(src) <= len(shape) and tuple(np.broadcast_shapes(src, shape)) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"Incompatible shapes for broadcasting: {src} and requested shape "
                         f"{shape}")
    if out_sharding is not None:
        _check_broadcast_layout(to_aval(array), shape, out_sharding)
    if src == shape and out_sharding is None:
        return array
    nd = len(shape) - len(src)
    squeezed = tuple(i for i, d in enumerate(src) if d == 1 and shape[nd + i] != 1)
    if squeezed:
        array = lax.squeeze(array, squeezed)
    dims = tuple(nd + i for i in range(len(src)) if i not in squeezed)
    return lax.broadcast_in_dim(array, shape, dims, out_sharding=out_sharding)


@jit_typed(inline=True)
def broadcast_arrays(*args: Any) -> list:
    """Broadcast every argument to the common shape, as ``jax.numpy.broadcast_arrays``."""
    shape = broadcast_shapes("broadcast_arrays", *[to_aval(a).shape for a in args])
    return [broadcast_to(a, shape) for a in args]


def concatenate(arrays: Sequence[Any], axis: int | None = 0, dtype: Any = None) -> Any:
    """Join arrays along an existing axis (flattened first when ``axis`` is None), as
    ``jax.numpy.concatenate``."""
    if _is_array(arrays):
        return _concatenate_array(arrays, axis, dtype)
    arrays = list(arrays)
    if not arrays:
        raise ValueError("Need at least one array to concatenate.")
    check_arraylike("concatenate", *arrays)
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    arrays = [_as_array(a) for a in arrays]
    ndim = to_aval(arrays[0]).ndim
    if ndim == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    for i, a in enumerate(arrays[1:], 1):
        if to_aval(a).ndim != ndim:
            raise TypeError(f"All input arrays must have the same number of dimensions, but "
                             f"the array at index 0 has {ndim} dimension(s) and the array at "
                             f"index {i} has {to_aval(a).ndim} dimension(s)")
    axis = canonicalize_axis(axis, ndim)
    arrays = promote_dtypes(*arrays) if len(arrays) > 1 else arrays
    if dtype is not None:
        arrays = [convert(a, dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return lax.concatenate(arrays, axis)


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, jax.Array, Tracer))


def _concatenate_array(arr: Any, axis: int | None, dtype: Any) -> Any:
    """``concatenate`` of the rows of one array: a reshape (JAX's fast path)."""
    arr = _as_array(arr) if dtype is None else convert(_as_array(arr), dtype)
    shape = tuple(to_aval(arr).shape)
    if not shape or not shape[0]:
        raise ValueError("Need at least one array to concatenate.")
    if axis is None:
        return lax.reshape(arr, (int(np.prod(shape)),))
    if len(shape) == 1:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    axis = canonicalize_axis(axis, len(shape) - 1)
    new_shape = shape[1:axis + 1] + (shape[0] * shape[axis + 1],) + shape[axis + 2:]
    dimensions = (*range(1, axis + 1), 0, *range(axis + 1, len(shape)))
    return lax.reshape(arr, new_shape, dimensions)


def stack(arrays: Sequence[Any], axis: int = 0, out: None = None, dtype: Any = None) -> Any:
    """Join arrays of one shape along a new axis, as ``jax.numpy.stack``."""
    if _is_array(arrays):  # one array: its rows, by a reshape rather than row by row, as JAX
        if not to_aval(arrays).shape or not to_aval(arrays).shape[0]:
            raise ValueError("Need at least one array to stack.")
        axis = canonicalize_axis(axis, to_aval(arrays).ndim)
        return concatenate(expand_dims(arrays, axis + 1), axis=axis, dtype=dtype)
    arrays = list(arrays)
    if not arrays:
        raise ValueError("Need at least one array to stack.")
    check_arraylike("stack", *arrays)
    shapes = {tuple(to_aval(a).shape) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"All input arrays must have the same shape, got "
                         f"{[tuple(to_aval(a).shape) for a in arrays]}")
    ndim = len(shapes.pop()) + 1
    axis = canonicalize_axis(axis, ndim)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, dtype=dtype)


def shape(a: Any) -> tuple:
    """The shape of ``a``."""
    return tuple(to_aval(a).shape)


def ndim(a: Any) -> int:
    """The number of dimensions of ``a``."""
    return to_aval(a).ndim


def size(a: Any, axis: int | None = None) -> int:
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = to_aval(a).shape
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[axis]
