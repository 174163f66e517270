"""Padding, concatenation, static and dynamic slicing, and dynamic updates: ``pad``,
``concatenate``, ``slice``, ``dynamic_slice``, ``dynamic_update_slice``, with their rules, and the
``*_in_dim`` helpers built on them. (Broadcasting, reshaping and friends are in shape.py.)"""


import inspect
import operator
from typing import Any, Sequence

import numpy as np
from jax import lax as jlax

from xform.core.avals import (
    ShapedArray, canonicalize_dtype, dtype_of_scalar, is_integer, is_python_scalar,
)
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_rules, broadcast_batch, move_bdim, not_mapped, shift_axis,
)
from xform.interpreters.jvp import Zero, instantiate, jvp_rules, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear, is_undefined, transpose_rules
from xform.lax.compiled import compiled
from xform.lax.elementwise import add, convert_element_type, lt, select, sub
from xform.lax.indexing import GatherDimensionNumbers, gather
from xform.lax.scatter import ScatterDimensionNumbers, scatter
from xform.lax.shape import (
    _aval_of, _axis, _index_zero, _ints, _is_array, _is_zero, _jvp_linear_in_first, _shape,
    _sum_all, _zero_scalar, _zero_tangent, broadcast_in_dim_p, expand_dims, full, squeeze,
)

__all__ = [
    "pad", "concatenate", "split", "slice", "slice_in_dim", "index_in_dim", "dynamic_slice",
    "dynamic_slice_in_dim", "dynamic_index_in_dim", "dynamic_update_slice",
    "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim",
]


# -- pad ------------------------------------------------------------------------------------
pad_p = Primitive("pad")


def _pad_abstract_eval(x: ShapedArray, padding_value: ShapedArray, *, padding_config):
    if padding_value.ndim != 0:
        raise ValueError(f"pad padding_value must be a scalar; got one of shape "
                         f"{padding_value.shape}.")
    if x.dtype != padding_value.dtype:
        raise TypeError(f"pad operand and padding_value must be same dtype: got "
                        f"{x.dtype.name} and {padding_value.dtype.name}. Convert the padding "
                        "value to the operand's dtype.")
    if len(padding_config) != x.ndim:
        raise ValueError(f"length of padding_config must equal the number of axes of operand, "
                         f"got padding_config {padding_config} for operand shape {x.shape}.")
    if any(interior < 0 for _, _, interior in padding_config):
        raise ValueError(f"interior padding in padding_config must be nonnegative, got "
                         f"padding_config {padding_config}.")
    shape = tuple(lo + hi + d + max(d - 1, 0) * interior
                  for d, (lo, hi, interior) in zip(x.shape, padding_config))
    if any(d < 0 for d in shape):
        raise ValueError(f"Dimension size after padding is not at least 0, got result shape "
                         f"{shape}, for padding_config {padding_config} and operand shape "
                         f"{x.shape}.")
    return ShapedArray(shape, x.dtype, x.weak_type and padding_value.weak_type)


abstract_eval[pad_p] = _pad_abstract_eval
to_jax[pad_p] = lambda x, padding_value, *, padding_config: jlax.pad(
    x, padding_value, padding_config)


def _strong_zero(aval: Any) -> Any:
    """The zero that the transposes of slicing fill with: strongly typed, so a weak cotangent
    of a slice comes back strong, as JAX's (its pad and update take the zeros' weak type)."""
    return np.zeros((), aval.dtype)


def _pad_jvp(primals, tangents, *, padding_config):
    # linear in (operand, padding_value) together
    ans = pad_p.bind(*primals, padding_config=padding_config)
    (t_x, t_v), (x, v) = tangents, primals
    if _is_zero(t_x) and _is_zero(t_v):
        return ans, _zero_tangent(ans)
    t_x = instantiate(Zero(tangent_aval(to_aval(x)))) if _is_zero(t_x) else t_x
    # a zero typed like the padding value's tangent (JAX instantiates it so): padding with a
    # strongly typed value gives a strongly typed tangent
    t_v = t_v if not _is_zero(t_v) else _zero_scalar(tangent_aval(to_aval(v)))
    return ans, pad_p.bind(t_x, t_v, padding_config=padding_config)


def _pad_transpose(ct, x, padding_value, *, padding_config):
    if isinstance(ct, Zero):
        return [Zero(x.aval) if is_undefined(x) else None,
                Zero(padding_value.aval) if is_undefined(padding_value) else None]
    # Undo low/high padding by padding with their negations (cropping what was added, putting
    # back zeros for what a negative padding cut off), then step over the interior padding.
    unpadded = ct
    if any(lo or hi for lo, hi, _ in padding_config):
        unpadded = pad(ct, _strong_zero(to_aval(ct)),
                       [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    ct_x = unpadded
    if any(interior for _, _, interior in padding_config):
        shape = to_aval(unpadded).shape
        ct_x = slice(unpadded, (0,) * len(shape), shape,
                     tuple(interior + 1 for _, _, interior in padding_config))
    # the padding value lands everywhere the operand does not
    ct_v = sub(_sum_all(ct), _sum_all(ct_x)) if is_undefined(padding_value) else None
    return [ct_x if is_undefined(x) else None, ct_v]


def _pad_batch(axis_size, vals, dims, *, padding_config):
    (x, v), (x_bdim, v_bdim) = vals, dims
    x_bdim = 0 if x_bdim is not_mapped else x_bdim
    x = move_bdim(x, dims[0], x_bdim, axis_size)
    config = list(padding_config)
    config.insert(x_bdim, (0, 0, 0))
    if v_bdim is not_mapped:
        return pad_p.bind(x, v, padding_config=tuple(config)), x_bdim
    # one padding value per example: pad with zeros, then select the padded places
    padded = pad_p.bind(x, _zero_scalar(to_aval(x)), padding_config=tuple(config))
    shape = to_aval(padded).shape
    inside = pad_p.bind(full(to_aval(x).shape, True), np.bool_(False),
                        padding_config=tuple(config))
    values = broadcast_in_dim_p.bind(v, shape=shape, broadcast_dimensions=(x_bdim,))
    return select(inside, padded, values), x_bdim


jvp_rules[pad_p] = _pad_jvp
transpose_rules[pad_p] = _pad_transpose
batch_rules[pad_p] = _pad_batch


# -- concatenate ----------------------------------------------------------------------------
concatenate_p = Primitive("concatenate")


def _concatenate_abstract_eval(*xs: ShapedArray, dimension):
    if not xs:
        raise ValueError("concatenate requires a non-empty sequence of arrays.")
    shapes = ", ".join(map(str, (x.shape for x in xs)))
    if any(x.dtype != xs[0].dtype for x in xs[1:]):
        raise TypeError(
            f"lax.concatenate requires arguments to have the same dtypes, got "
            f"{', '.join(x.dtype.name for x in xs)}. (Tip: xform.numpy.concatenate is a similar "
            "function that does automatic type promotion on inputs).")
    if any(x.ndim != xs[0].ndim for x in xs[1:]):
        raise TypeError(f"Cannot concatenate arrays with different numbers of dimensions: got "
                        f"{shapes}.")
    if not 0 <= dimension < xs[0].ndim:
        raise TypeError(f"concatenate dimension out of bounds: dimension {dimension} for shapes "
                        f"{shapes}; it must be in 0..{xs[0].ndim - 1}.")
    for i, x in enumerate(xs[1:], 1):
        for d, (n, n0) in enumerate(zip(x.shape, xs[0].shape)):
            if d != dimension and n != n0:
                raise TypeError(
                    f"Cannot concatenate arrays with shapes that differ in dimensions other than "
                    f"the one being concatenated: concatenating along dimension {dimension} for "
                    f"shapes {shapes}; operand {i} has size {n} in dimension {d} where operand 0 "
                    f"has size {n0}.")
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, xs[0].dtype, all(x.weak_type for x in xs))


abstract_eval[concatenate_p] = _concatenate_abstract_eval
to_jax[concatenate_p] = lambda *xs, dimension: jlax.concatenate(xs, dimension)


def _concatenate_jvp(primals, tangents, *, dimension):
    ans = concatenate_p.bind(*primals, dimension=dimension)
    if all(_is_zero(t) for t in tangents):
        return ans, _zero_tangent(ans)
    ts = [instantiate(Zero(tangent_aval(to_aval(x)))) if _is_zero(t) else t
          for x, t in zip(primals, tangents)]
    return ans, concatenate_p.bind(*ts, dimension=dimension)


def _concatenate_transpose(ct, *xs, dimension):
    if isinstance(ct, Zero):
        return [Zero(x.aval) if is_undefined(x) else None for x in xs]
    out, start = [], 0
    for x in xs:
        size = _aval_of(x).shape[dimension]
        out.append(slice_in_dim(ct, start, start + size, axis=dimension)
                   if is_undefined(x) else None)
        start += size
    return out


def _concatenate_batch(axis_size, vals, dims, *, dimension):
    # all operands meet at the batch axis most of them have (unbatched ones are broadcast)
    batched = [d for d in dims if d is not not_mapped]
    dst = max(batched, key=batched.count)
    args = [move_bdim(x, d, dst, axis_size) for x, d in zip(vals, dims)]
    return concatenate_p.bind(*args, dimension=shift_axis(dimension, dst)), dst


jvp_rules[concatenate_p] = _concatenate_jvp
transpose_rules[concatenate_p] = _concatenate_transpose
batch_rules[concatenate_p] = _concatenate_batch


# -- split ----------------------------------------------------------------------------------
# The pieces of one axis as one primitive, as in JAX (xform.numpy.split and its siblings use
# it). Its transpose is one concatenate of the pieces' cotangents; with a slice per piece the
# backward pass would sum one zero-padded full-size cotangent per piece, which XLA fuses into
# a loop that branches per element (the gates of an LSTM step: about 7 % of the step on CPU).
split_p = Primitive("split", multiple_results=True)


def _split_abstract_eval(x: ShapedArray, *, sizes, axis):
    if not 0 <= axis < x.ndim:
        raise ValueError(f"split: axis {axis} is out of range for an operand of shape "
                         f"{x.shape}; valid axes are 0 to {x.ndim - 1}.")
    if any(n < 0 for n in sizes):
        raise ValueError(f"split: sizes must be nonnegative, got sizes {sizes}.")
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"split: sum of sizes must be equal to the dimension size, got sizes "
                         f"{sizes} (sum {sum(sizes)}) for axis {axis} of an operand of shape "
                         f"{x.shape}.")
    return [ShapedArray(x.shape[:axis] + (n,) + x.shape[axis + 1:], x.dtype, x.weak_type)
            for n in sizes]


abstract_eval[split_p] = _split_abstract_eval
to_jax[split_p] = lambda x, *, sizes, axis: list(jlax.split(x, sizes, axis))


def _split_jvp(primals, tangents, *, sizes, axis):
    (x,), (t,) = primals, tangents
    out = split_p.bind(x, sizes=sizes, axis=axis)
    if _is_zero(t):
        return out, [_zero_tangent(o) for o in out]
    return out, split_p.bind(t, sizes=sizes, axis=axis)


def _split_transpose(cts, x, *, sizes, axis):
    if all(isinstance(c, Zero) for c in cts):
        return [Zero(x.aval)]
    return [concatenate_p.bind(*[instantiate(c) for c in cts], dimension=axis)]


def _split_batch(axis_size, vals, dims, *, sizes, axis):
    (x,), (bdim,) = vals, dims
    out = split_p.bind(x, sizes=sizes, axis=shift_axis(axis, bdim))
    return out, [bdim] * len(sizes)


jvp_rules[split_p] = _split_jvp
transpose_rules[split_p] = _split_transpose
batch_rules[split_p] = _split_batch


def split(operand: Any, sizes: Sequence[int], axis: int = 0) -> list:
    """The consecutive pieces of ``operand`` along ``axis`` of the given ``sizes`` (which sum
    to that axis' size), as ``jax.lax.split``."""
    ndim = to_aval(operand).ndim
    axis = operator.index(axis)
    if -ndim <= axis < 0:
        axis += ndim
    return split_p.bind(operand, sizes=tuple(operator.index(n) for n in sizes), axis=axis)


# -- slice ----------------------------------------------------------------------------------
slice_p = Primitive("slice")


def _slice_abstract_eval(x: ShapedArray, *, start_indices, limit_indices, strides):
    for arg, v in (("start_indices", start_indices), ("limit_indices", limit_indices),
                   ("strides", strides)):
        if v is not None and len(v) != x.ndim:
            raise TypeError(f"slice {arg} must have length equal to the number of dimensions of "
                            f"the operand, got {arg} {v} for operand shape {x.shape}.")
    strides = strides if strides is not None else (1,) * x.ndim
    if any(s <= 0 for s in strides):
        raise TypeError(f"slice strides must be positive, got {strides}.")
    if any(s < 0 for s in start_indices):
        raise TypeError(f"slice start_indices must have every element be nonnegative, got "
                        f"{start_indices}.")
    for d, (lim, n) in enumerate(zip(limit_indices, x.shape)):
        if lim > n:
            raise TypeError(
                f"slice limit_indices must be less than or equal to operand shape, got "
                f"limit_indices {limit_indices} for operand shape {x.shape}: dimension {d} has "
                f"size {n} but the limit is {lim}.")
    if any(lim < s for s, lim in zip(start_indices, limit_indices)):
        raise TypeError(f"slice limit_indices must be greater than or equal to start_indices, "
                        f"got start_indices {start_indices} and limit_indices {limit_indices}.")
    shape = tuple(-(-(lim - s) // st) for s, lim, st in zip(start_indices, limit_indices, strides))
    return ShapedArray(shape, x.dtype, x.weak_type)


abstract_eval[slice_p] = _slice_abstract_eval
to_jax[slice_p] = lambda x, *, start_indices, limit_indices, strides: jlax.slice(
    x, start_indices, limit_indices, strides)
_jvp_linear_in_first(slice_p)


def _slice_transpose(ct, *, x_aval, start_indices, limit_indices, strides):
    # pad the cotangent back: zeros before the start, after the last element taken, and
    # between elements taken with a stride
    strides = strides if strides is not None else (1,) * x_aval.ndim
    config = []
    for n, start, stride, size in zip(x_aval.shape, start_indices, strides,
                                      to_aval(ct).shape):
        end = start + (size - 1) * stride + 1 if size else start
        config.append((start, n - end, stride - 1))
    return pad(ct, _strong_zero(to_aval(ct)), config)


def _slice_batch(axis_size, vals, dims, *, start_indices, limit_indices, strides):
    (x,), (bdim,) = vals, dims
    starts, limits = list(start_indices), list(limit_indices)
    starts.insert(bdim, 0)
    limits.insert(bdim, axis_size)
    if strides is not None:
        strides = list(strides)
        strides.insert(bdim, 1)
        strides = tuple(strides)
    return slice_p.bind(x, start_indices=tuple(starts), limit_indices=tuple(limits),
                        strides=strides), bdim


deflinear(slice_p, _slice_transpose)
batch_rules[slice_p] = _slice_batch


# -- dynamic_slice and dynamic_update_slice -------------------------------------------------
def _check_start_indices(name: str, x: ShapedArray, indices: Sequence[ShapedArray]) -> None:
    if len(indices) != x.ndim:
        raise TypeError(f"{name} takes one start index per operand dimension: got "
                        f"{len(indices)} for operand of shape {x.shape}.")
    if any(i.ndim != 0 for i in indices):
        raise TypeError(f"start_indices arguments to {name} must be scalars, got indices of "
                        f"shapes {', '.join(str(i.shape) for i in indices)}.")
    if any(not is_integer(i.dtype) or i.dtype != indices[0].dtype for i in indices):
        raise TypeError(f"index arguments to {name} must be integers of the same type, got: "
                        f"{', '.join(i.dtype.name for i in indices)}.")


dynamic_slice_p = Primitive("dynamic_slice")


def _dynamic_slice_abstract_eval(x: ShapedArray, *start_indices: ShapedArray, slice_sizes):
    _check_start_indices("dynamic_slice", x, start_indices)
    if len(slice_sizes) != x.ndim:
        raise TypeError(f"dynamic_slice slice_sizes must have one entry per operand dimension, "
                        f"got slice_sizes {slice_sizes} for operand shape {x.shape}.")
    if any(s < 0 for s in slice_sizes):
        raise TypeError(f"dynamic_slice slice_sizes must be greater than or equal to zero, got "
                        f"slice_sizes of {slice_sizes}.")
    for d, (s, n) in enumerate(zip(slice_sizes, x.shape)):
        if s > n:
            raise TypeError(
                f"dynamic_slice slice_sizes must be less than or equal to operand shape, got "
                f"slice_sizes {slice_sizes} for operand shape {x.shape}: dimension {d} has size "
                f"{n} but the slice asks for {s}.")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


abstract_eval[dynamic_slice_p] = _dynamic_slice_abstract_eval
# the public function has already wrapped negative indices; the primitive only clamps
to_jax[dynamic_slice_p] = lambda x, *idx, slice_sizes: jlax.dynamic_slice(
    x, idx, slice_sizes, allow_negative_indices=False)
_jvp_linear_in_first(dynamic_slice_p)


def _dynamic_slice_transpose(ct, x, *idx, slice_sizes):
    none = [None] * len(idx)
    if isinstance(ct, Zero):
        return [Zero(x.aval)] + none
    zeros = full(x.aval.shape, _strong_zero(x.aval), sharding=x.aval.sharding)
    return [dynamic_update_slice_p.bind(zeros, ct, *idx)] + none


def _batched_start_indices(axis_size, idx, idx_dims):
    """The start indices of a batch of examples as gather/scatter index vectors, ``[B, n]``."""
    columns = [broadcast_in_dim_p.bind(i, shape=(axis_size, 1),
                                       broadcast_dimensions=() if d is not_mapped else (0,))
               for i, d in zip(idx, idx_dims)]
    return concatenate(columns, 1)


def _dynamic_slice_batch(axis_size, vals, dims, *, slice_sizes):
    (x, *idx), (x_bdim, *idx_dims) = vals, dims
    if all(d is not_mapped for d in idx_dims):
        # one slice position for all: take the whole batch axis
        idx.insert(x_bdim, _index_zero(idx))
        sizes = list(slice_sizes)
        sizes.insert(x_bdim, axis_size)
        return dynamic_slice_p.bind(x, *idx, slice_sizes=tuple(sizes)), x_bdim
    # A start position per example: a gather, with the operand's batch axis (if any) as a
    # batching dimension, so the batch axis stays where it is. "clip" clamps the starts as
    # dynamic_slice does (and keeps the gradient, a scatter-add, clamped the same way).
    indices = _batched_start_indices(axis_size, idx, idx_dims)
    n = len(slice_sizes)
    if x_bdim is not_mapped:
        dnums = GatherDimensionNumbers(offset_dims=tuple(range(1, n + 1)),
                                       collapsed_slice_dims=(), start_index_map=tuple(range(n)))
        return gather(x, indices, dnums, slice_sizes, mode="clip"), 0
    dnums = GatherDimensionNumbers(
        offset_dims=tuple(d for d in range(n + 1) if d != x_bdim), collapsed_slice_dims=(),
        start_index_map=tuple(shift_axis(d, x_bdim) for d in range(n)),
        operand_batching_dims=(x_bdim,), start_indices_batching_dims=(0,))
    sizes = list(slice_sizes)
    sizes.insert(x_bdim, 1)
    # each example reads its own operand slice: the indices are unique and (per example) sorted
    return gather(x, indices, dnums, sizes, unique_indices=True, indices_are_sorted=True,
                  mode="clip"), x_bdim


transpose_rules[dynamic_slice_p] = _dynamic_slice_transpose
batch_rules[dynamic_slice_p] = _dynamic_slice_batch

dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dynamic_update_slice_abstract_eval(x: ShapedArray, update: ShapedArray,
                                        *start_indices: ShapedArray):
    if x.dtype != update.dtype:
        raise TypeError(f"lax.dynamic_update_slice requires arguments to have the same dtypes, "
                        f"got {x.dtype.name}, {update.dtype.name}.")
    if x.ndim != update.ndim:
        raise TypeError(f"dynamic_update_slice update must have the same rank as operand, got "
                        f"update shape {update.shape} for operand shape {x.shape}.")
    for d, (u, n) in enumerate(zip(update.shape, x.shape)):
        if u > n:
            raise TypeError(
                f"dynamic_update_slice update shape must be smaller than operand shape, got "
                f"update shape {update.shape} for operand shape {x.shape}: dimension {d} of "
                f"the update has size {u} > {n}.")
    _check_start_indices("dynamic_update_slice", x, start_indices)
    weak = x.weak_type and update.weak_type and all(i.weak_type for i in start_indices)
    return ShapedArray(x.shape, x.dtype, weak)


abstract_eval[dynamic_update_slice_p] = _dynamic_update_slice_abstract_eval
to_jax[dynamic_update_slice_p] = lambda x, update, *idx: jlax.dynamic_update_slice(
    x, update, idx, allow_negative_indices=False)


def _dynamic_update_slice_jvp(primals, tangents):
    x, update, *idx = primals
    ans = dynamic_update_slice_p.bind(x, update, *idx)
    t_x, t_u = tangents[:2]
    if _is_zero(t_x) and _is_zero(t_u):
        return ans, _zero_tangent(ans)
    t_x = instantiate(Zero(tangent_aval(to_aval(x)))) if _is_zero(t_x) else t_x
    t_u = instantiate(Zero(tangent_aval(to_aval(update)))) if _is_zero(t_u) else t_u
    return ans, dynamic_update_slice_p.bind(t_x, t_u, *idx)


def _dynamic_update_slice_transpose(ct, x, update, *idx):
    none = [None] * len(idx)
    u_aval = _aval_of(update)
    if isinstance(ct, Zero):
        return [Zero(x.aval) if is_undefined(x) else None,
                Zero(u_aval) if is_undefined(update) else None] + none
    ct_x = ct_u = None
    if is_undefined(x):  # the operand's values under the update are overwritten
        zeros = full(u_aval.shape, _zero_scalar(to_aval(ct)), sharding=u_aval.sharding)
        ct_x = dynamic_update_slice_p.bind(ct, zeros, *idx)
    if is_undefined(update):
        ct_u = dynamic_slice_p.bind(ct, *idx, slice_sizes=u_aval.shape)
    return [ct_x, ct_u] + none


def _dynamic_update_slice_batch(axis_size, vals, dims):
    (x, update, *idx), (x_bdim, u_bdim, *idx_dims) = vals, dims
    if all(d is not_mapped for d in idx_dims):
        # one position for all: update the whole batch axis of operand and update at once
        dst = x_bdim if x_bdim is not not_mapped else u_bdim
        x, update = move_bdim(x, x_bdim, dst, axis_size), move_bdim(update, u_bdim, dst,
                                                                   axis_size)
        idx.insert(dst, _index_zero(idx))
        return dynamic_update_slice_p.bind(x, update, *idx), dst
    # A position per example: a scatter with the batch axes of operand and update as batching
    # dimensions (they need not be at the same place). "clip" clamps as dynamic_update_slice.
    if x_bdim is not_mapped:
        x_bdim = 0
        x = broadcast_batch(x, axis_size, 0)
    if u_bdim is not_mapped:
        u_bdim = 0
        update = broadcast_batch(update, axis_size, 0)
    n = to_aval(update).ndim - 1
    dnums = ScatterDimensionNumbers(
        update_window_dims=tuple(d for d in range(n + 1) if d != u_bdim),
        inserted_window_dims=(),
        scatter_dims_to_operand_dims=tuple(shift_axis(d, x_bdim) for d in range(n)),
        operand_batching_dims=(x_bdim,), scatter_indices_batching_dims=(0,))
    indices = _batched_start_indices(axis_size, idx, idx_dims)
    return scatter(x, indices, update, dnums, indices_are_sorted=True, unique_indices=True,
                   mode="clip"), x_bdim


jvp_rules[dynamic_update_slice_p] = _dynamic_update_slice_jvp
transpose_rules[dynamic_update_slice_p] = _dynamic_update_slice_transpose
batch_rules[dynamic_update_slice_p] = _dynamic_update_slice_batch



def pad(operand: Any, padding_value: Any,
        padding_config: Sequence[tuple[int, int, int]]) -> Any:
    """Pad with the scalar ``padding_value`` (of the operand's dtype): per dimension a
    ``(low, high, interior)`` triple; negative ``low``/``high`` remove elements.

    >>> pad(jnp.ones(2), 0.0, [(1, 0, 1)])
    Array([0., 1., 0., 1.], dtype=float32)
    """
    config = []
    for triple in padding_config:
        t = _ints("pad", "padding_config", triple)
        if len(t) != 3:
            raise ValueError(f"pad padding_config entries must be (low, high, interior) "
                             f"triples, got {tuple(triple)}.")
        config.append(t)
    return pad_p.bind(operand, padding_value, padding_config=tuple(config))


def concatenate(operands: Sequence[Any], dimension: int) -> Any:
    """Join ``operands`` (equal shapes except along ``dimension``) along ``dimension``."""
    operands = list(operands)
    if not operands:
        raise ValueError("concatenate requires a non-empty sequence of arrays.")
    if len(operands) == 1 and _is_array(operands[0]):
        return operands[0]
    return concatenate_p.bind(*operands, dimension=operator.index(dimension))


def slice(operand: Any, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001
          strides: Sequence[int] | None = None) -> Any:
    """The static slice ``operand[start:limit:stride]`` in every dimension.

    >>> slice(jnp.arange(6), (1,), (6,), (2,))
    Array([1, 3, 5], dtype=int32)
    """
    return slice_p.bind(
        operand, start_indices=_ints("slice", "start_indices", start_indices),
        limit_indices=_ints("slice", "limit_indices", limit_indices),
        strides=None if strides is None else _ints("slice", "strides", strides))


def slice_in_dim(operand: Any, start_index: int | None, limit_index: int | None,
                 stride: int = 1, axis: int = 0) -> Any:
    """``slice`` along one axis; ``None`` bounds mean the whole axis, negative ones count from
    the end."""
    shape = to_aval(operand).shape
    axis = _axis("slice_in_dim", axis, len(shape))
    n = shape[axis]
    start = 0 if start_index is None else operator.index(start_index)
    limit = n if limit_index is None else operator.index(limit_index)
    start, limit = start + n if start < 0 else start, limit + n if limit < 0 else limit
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis], limits[axis], strides[axis] = start, limit, operator.index(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand: Any, index: int, axis: int = 0, keepdims: bool = True) -> Any:
    """Element ``index`` (static; negative counts from the end) along ``axis``; the axis is
    kept with size 1 unless ``keepdims`` is false."""
    shape = to_aval(operand).shape
    axis = _axis("index_in_dim", axis, len(shape))
    index, n = operator.index(index), shape[axis]
    wrapped = index + n if index < 0 else index
    if not 0 <= wrapped < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    result = slice_in_dim(operand, wrapped, wrapped + 1, 1, axis)
    return result if keepdims else squeeze(result, (axis,))


def _start_index(i: Any, size: int, allow_negative: bool) -> Any:
    """One start index of a dynamic slice, negative values wrapped as JAX wraps them: static
    integers here, traced ones with ``select(i < 0, i + size, i)`` in the program."""
    if isinstance(i, (int, np.integer)):
        dtype = dtype_of_scalar(i) if isinstance(i, int) else canonicalize_dtype(i.dtype)
        if np.issubdtype(dtype, np.unsignedinteger):
            return i
        if i < 0 and not allow_negative:
            raise ValueError(f"Index {i} is out of bounds for dimension {size} if "
                             "allow_negative_indices=False")
        return np.asarray(i + size if i < 0 else i, dtype)
    dtype = to_aval(i).dtype
    if not allow_negative or not np.issubdtype(dtype, np.signedinteger):
        return i  # unsigned can't be negative; other dtypes get the primitive's dtype error
    negative = lt(i, np.zeros((), dtype))  # typed: a Python 0 is int64 under x64
    shifted = add(convert_element_type(i, dtype), np.asarray(size, dtype))
    return select(negative, shifted, i)


def _start_indices(name: str, aval: ShapedArray, start_indices: Any,
                   allow_negative: bool | Sequence[bool]) -> list:
    if _is_array(start_indices) or isinstance(start_indices, np.ndarray):
        ia = to_aval(start_indices)
        if ia.ndim != 1:
            raise ValueError(f"{name} start indices must be a 1D sequence, got an array of shape "
                             f"{ia.shape}.")
        start_indices = [index_in_dim(start_indices, k, keepdims=False)
                         for k in range(ia.shape[0])]
    start_indices = list(start_indices)
    if len(start_indices) != aval.ndim:
        raise ValueError(f"{name}: got {len(start_indices)} start indices for an operand of "
                         f"shape {aval.shape}; pass one scalar index per dimension "
                         f"({aval.ndim}).")
    if isinstance(allow_negative, (bool, np.bool_)):
        allow_negative = [bool(allow_negative)] * aval.ndim
    return [_start_index(i, n, neg) for i, n, neg in zip(start_indices, aval.shape,
                                                          allow_negative)]


def _zero_index_like(i: Any) -> Any:
    """The index 0 of ``i``'s dtype, for the dimensions an ``*_in_dim`` helper leaves alone."""
    return 0 if is_python_scalar(i) else np.zeros((), to_aval(i).dtype)


def dynamic_slice(operand: Any, start_indices: Any, slice_sizes: Sequence[int], *,
                  allow_negative_indices: bool | Sequence[bool] = True) -> Any:
    """A slice of static size ``slice_sizes`` starting at the (possibly traced) scalar
    ``start_indices``; negative starts count from the end, and starts are clamped so the slice
    fits in the operand.

    >>> dynamic_slice(jnp.arange(5), (3,), (3,))
    Array([2, 3, 4], dtype=int32)
    """
    aval = to_aval(operand)
    idx = _start_indices("dynamic_slice", aval, start_indices, allow_negative_indices)
    sizes = _shape("dynamic_slice", slice_sizes, "slice_sizes")
    return dynamic_slice_p.bind(operand, *idx, slice_sizes=sizes)


def dynamic_slice_in_dim(operand: Any, start_index: Any, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True) -> Any:
    """``dynamic_slice`` along one axis, taking the whole of the others."""
    shape = to_aval(operand).shape
    axis = _axis("dynamic_slice_in_dim", axis, len(shape))
    starts = [_zero_index_like(start_index)] * len(shape)
    starts[axis] = start_index
    allow = [False] * len(shape)
    allow[axis] = allow_negative_indices
    sizes = list(shape)
    sizes[axis] = operator.index(slice_size)
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=allow)


def _dynamic_index_in_dim(operand, index, axis=0, keepdims=True, allow_negative_indices=True):
    result = dynamic_slice_in_dim(operand, index, 1, axis,
                                  allow_negative_indices=allow_negative_indices)
    return result if keepdims else squeeze(result, (axis,))


def _dynamic_update_index_in_dim(operand, update, index, axis, allow_negative_indices=True):
    axis = _axis("dynamic_update_index_in_dim", axis, to_aval(operand).ndim)
    if to_aval(update).ndim != to_aval(operand).ndim:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis,
                                       allow_negative_indices=allow_negative_indices)


_dynamic_index_in_dim.__name__ = "dynamic_index_in_dim"
_dynamic_update_index_in_dim.__name__ = "dynamic_update_index_in_dim"
_jitted: dict = {}


def _jit(fun):
    """``fun`` compiled with its configuration arguments static, as JAX jits these two helpers
    (their jaxprs show a ``jit`` equation). """
    jitted = _jitted.get(fun)
    if jitted is None:
        names = [n for n in ("axis", "keepdims", "allow_negative_indices")
                 if n in inspect.signature(fun).parameters]
        jitted = _jitted[fun] = compiled(fun, static_argnames=tuple(names))
    return jitted


def dynamic_index_in_dim(operand: Any, index: Any, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True) -> Any:
    """Element ``index`` (possibly traced) along ``axis``; the axis is kept with size 1 unless
    ``keepdims`` is false."""
    return _jit(_dynamic_index_in_dim)(operand, index, axis=operator.index(axis),
                                       keepdims=bool(keepdims),
                                       allow_negative_indices=bool(allow_negative_indices))


def dynamic_update_slice(operand: Any, update: Any, start_indices: Any, *,
                         allow_negative_indices: bool | Sequence[bool] = True) -> Any:
    """``operand`` with ``update`` written at the (possibly traced) ``start_indices``; starts
    are clamped so the update fits.

    >>> dynamic_update_slice(jnp.zeros(4), jnp.ones(2), (1,))
    Array([0., 1., 1., 0.], dtype=float32)
    """
    aval = to_aval(operand)
    idx = _start_indices("dynamic_update_slice", aval, start_indices, allow_negative_indices)
    return dynamic_update_slice_p.bind(operand, update, *idx)


def dynamic_update_slice_in_dim(operand: Any, update: Any, start_index: Any, axis: int, *,
                                allow_negative_indices: bool = True) -> Any:
    """``dynamic_update_slice`` at ``start_index`` along ``axis`` (0 along the others)."""
    ndim = to_aval(operand).ndim
    axis = _axis("dynamic_update_slice_in_dim", axis, ndim)
    starts = [_zero_index_like(start_index)] * ndim
    starts[axis] = start_index
    allow = [False] * ndim
    allow[axis] = allow_negative_indices
    return dynamic_update_slice(operand, update, starts, allow_negative_indices=allow)


def dynamic_update_index_in_dim(operand: Any, update: Any, index: Any, axis: int, *,
                                allow_negative_indices: bool = True) -> Any:
    """Write ``update`` (with or without the size-1 ``axis``) at ``index`` along ``axis``."""
    return _jit(_dynamic_update_index_in_dim)(
        operand, update, index, axis=operator.index(axis),
        allow_negative_indices=bool(allow_negative_indices))
