"""Shape primitives: broadcasting, reshaping, squeezing, transposing, reversing, iota; and the
public functions built on them (``expand_dims``, ``full``, ...). Padding, concatenation and
slicing are in slicing.py.

Every shape rule below is written by hand: it names the operation, the shapes and dimensions
involved, and what to change. Where JAX returns the operand itself for a no-op (a reshape to the
same shape, an identity transpose), the public function does the same, so jaxprs match JAX's.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax as jlax
from jax.sharding import PartitionSpec

from xform.core.avals import (
    ShapedArray, canonicalize_dtype, float0, is_python_scalar, out_sharding_param,
)
from xform.core.errors import ConcretizationTypeError
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.ad_util import shape_primitives
from xform.interpreters.batching import (
    batch_rules, batched_sharding, bdim_after_removing, moveaxis, not_mapped, shift_axis,
)
from xform.interpreters.jvp import Zero, defjvp_zero, jvp_rules, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear, is_undefined
from xform.lax._helpers import NUMBER, check_dtype, weak_scalar
from xform.lax.elementwise import _convert_weak

__all__ = [
    "broadcast", "broadcast_in_dim", "broadcast_to_rank", "reshape", "squeeze", "expand_dims",
    "transpose", "rev", "iota", "broadcasted_iota", "full", "full_like", "zeros_like_array",
]


# -- static arguments -----------------------------------------------------------------------
def _ints(name: str, arg: str, values: Any) -> tuple[int, ...]:
    """``values`` as a tuple of Python ints, or a TypeError naming the argument."""
    try:
        return tuple(operator.index(v) for v in values)
    except ConcretizationTypeError:
        raise
    except TypeError:
        raise TypeError(f"{name} {arg} must be a sequence of Python ints (static values known "
                        f"while tracing), got {values!r}.") from None


def _shape(name: str, shape: Any, arg: str = "shape") -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return _ints(name, arg, shape)


def _axis(name: str, axis: Any, ndim: int) -> int:
    """A possibly negative axis as an index in ``range(ndim)``; ValueError when out of range."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of dimension {ndim} "
                         f"(valid axes are {-ndim}..{ndim - 1}).")
    return axis % ndim if ndim else axis


def _is_array(x: Any) -> bool:
    """jax.Arrays and xform tracers: what a no-op may hand back unchanged."""
    return isinstance(x, (jax.Array, Tracer))


def _asarray(x: Any) -> Any:
    return x if _is_array(x) else jnp.asarray(x)


# -- helpers for the derivative and batching rules -----------------------------------------
# Every primitive here is linear in its array operands (the start indices of the dynamic ones
# are not differentiated), so JVPs apply the primitive to the tangents and transposes undo the
# data movement. Rules bind xform primitives only, so they differentiate and batch again.
def _is_zero(t: Any) -> bool:
    """A tangent that contributes nothing: symbolic, or the float0 of an integer primal."""
    return isinstance(t, Zero) or getattr(t, "dtype", None) == float0


def _zero_tangent(ans: Any) -> Zero:
    return Zero(tangent_aval(to_aval(ans)))


def _jvp_linear_in_first(prim: Primitive) -> None:
    """The JVP of a primitive linear in its first operand, whose other operands (start
    indices) get no tangent: the primitive applied to the tangent."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if _is_zero(tangents[0]):
            return ans, _zero_tangent(ans)
        return ans, prim.bind(tangents[0], *primals[1:], **params)
    jvp_rules[prim] = rule


def _aval_of(x: Any) -> ShapedArray:
    """The type of a transpose rule's argument, linear (UndefinedPrimal) or known."""
    return x.aval if is_undefined(x) else to_aval(x)


def _zero_scalar(aval: ShapedArray) -> Any:
    """A scalar 0 of ``aval``'s dtype and weak type (padding values of cotangents)."""
    if aval.weak_type:
        return weak_scalar(False if aval.dtype == np.bool_ else 0, aval.dtype)
    return np.zeros((), aval.dtype)


def _sum_all(x: Any) -> Any:
    from xform.lax.reductions import reduce_sum  # cycle: lax/reductions.py imports shape
    ndim = to_aval(x).ndim
    return reduce_sum(x, tuple(range(ndim))) if ndim else x


def _index_zero(indices: Sequence[Any]) -> Any:
    """The start index 0 for a batch axis, of the dtype the other start indices have."""
    return np.zeros((), to_aval(indices[0]).dtype if indices else np.int32)


# -- broadcast_in_dim -----------------------------------------------------------------------
broadcast_in_dim_p = Primitive("broadcast_in_dim")
broadcast_in_dim_p.layout_param = "sharding"
# the target shape is the output's type, so the jaxpr does not print it (as in JAX)
# JAX hides the shape (the output type shows it) and empty broadcast_dimensions
broadcast_in_dim_p.pp_params = lambda params: (
    [("broadcast_dimensions", params["broadcast_dimensions"])]
    if params["broadcast_dimensions"] else [])


def _broadcast_in_dim_abstract_eval(x: ShapedArray, *, shape, broadcast_dimensions,
                                    sharding=None):
    # the result's sharding type (``sharding``'s, or the operand's) is JAX's, set by
    # xform/interpreters/sharding_types.py
    dims = broadcast_dimensions
    if any(d < 0 for d in shape):
        raise TypeError(f"broadcast_in_dim shape must have every element be nonnegative, got "
                        f"{shape}.")
    if len(dims) != x.ndim:
        raise TypeError(
            f"broadcast_in_dim broadcast_dimensions must have length equal to operand ndim; got "
            f"broadcast_dimensions {dims} for operand of shape {x.shape} (ndim {x.ndim}). Give "
            "one output dimension for each operand dimension.")
    if len(shape) < x.ndim:
        raise TypeError(f"broadcast_in_dim target shape {shape} has lower rank than the operand "
                        f"of shape {x.shape}; the target must have rank >= {x.ndim}.")
    if any(not 0 <= d < len(shape) for d in dims):
        raise TypeError(
            f"broadcast_in_dim broadcast_dimensions must be a subset of output dimensions, got "
            f"{dims} for operand ndim {x.ndim} and shape {shape}; each entry must be in "
            f"0..{len(shape) - 1}.")
    if len(set(dims)) != len(dims):
        raise TypeError(f"broadcast_in_dim broadcast_dimensions must not contain duplicates, "
                        f"got {dims}.")
    for i, d in enumerate(dims):
        if x.shape[i] not in (1, shape[d]):
            raise TypeError(
                f"broadcast_in_dim operand dimension sizes must either be 1, or be equal to their "
                f"corresponding dimensions in the target broadcast shape; got operand of shape "
                f"{x.shape}, target broadcast shape {shape}, broadcast_dimensions {dims}: operand "
                f"dimension {i} (size {x.shape[i]}) maps to output dimension {d} (size "
                f"{shape[d]}).")
    return ShapedArray(shape, x.dtype, x.weak_type)


abstract_eval[broadcast_in_dim_p] = _broadcast_in_dim_abstract_eval


def _broadcast_in_dim_to_jax(x, *, shape, broadcast_dimensions, sharding=None):
    if sharding is None:
        return jlax.broadcast_in_dim(x, shape, broadcast_dimensions)
    return jlax.broadcast_in_dim(x, shape, broadcast_dimensions, out_sharding=sharding)


to_jax[broadcast_in_dim_p] = _broadcast_in_dim_to_jax
_jvp_linear_in_first(broadcast_in_dim_p)


def _broadcast_in_dim_transpose(ct, *, x_aval, shape, broadcast_dimensions, sharding=None):
    # Sum out the dimensions the broadcast created: the new ones, and those broadcast from size
    # 1 (which come back as size 1 by a reshape).
    from xform.lax.reductions import reduce_sum  # cycle: lax/reductions.py imports shape
    dims = broadcast_dimensions
    grown = [i for i, d in enumerate(dims) if x_aval.shape[i] == 1 and shape[d] != 1]
    summed = tuple(sorted(set(range(len(shape))) - set(dims) | {dims[i] for i in grown}))
    out = reduce_sum(ct, summed) if summed else ct
    kept = [i for i in range(x_aval.ndim) if i not in grown]
    by_position = sorted(kept, key=lambda i: dims[i])  # the order out has them in
    out = transpose(out, [by_position.index(i) for i in kept])
    return out if to_aval(out).shape == x_aval.shape else reshape(out, x_aval.shape)


def _broadcast_in_dim_batch(axis_size, vals, dims, *, shape, broadcast_dimensions,
                            sharding=None):
    # The batch axis maps to an output axis right after the one the operand axis before it maps
    # to (or first), which keeps broadcast_dimensions increasing: no transpose, and a batch
    # axis in front stays in front.
    (x,), (bdim,) = vals, dims
    bd = broadcast_dimensions
    out_bdim = bd[bdim - 1] + 1 if bdim > 0 else 0
    new_dims = [d + (d >= out_bdim) for d in bd]
    new_dims.insert(bdim, out_bdim)
    new_shape = list(shape)
    new_shape.insert(out_bdim, axis_size)
    extra = {}
    if sharding is not None:  # with the batch axis
        extra["sharding"] = batched_sharding(sharding, len(shape), out_bdim)
    return broadcast_in_dim_p.bind(x, shape=tuple(new_shape), broadcast_dimensions=tuple(new_dims),
                                   **extra), out_bdim


deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
batch_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch
shape_primitives.broadcast_in_dim_p = broadcast_in_dim_p  # the interpreters' zeros bind it


# -- reshape --------------------------------------------------------------------------------
reshape_p = Primitive("reshape")
reshape_p.layout_param = "sharding"


def _reshape_abstract_eval(x: ShapedArray, *, new_sizes, dimensions, sharding=None):
    if any(d < 0 for d in new_sizes):
        raise TypeError(f"reshape new_sizes must all be nonnegative, got {new_sizes}.")
    if dimensions is not None and sorted(dimensions) != list(range(x.ndim)):
        raise TypeError(f"reshape dimensions must be a permutation of operand dimensions, got "
                        f"dimensions {dimensions} for shape {x.shape}.")
    size = math.prod(new_sizes)
    if size != x.size:
        raise TypeError(
            f"reshape total size must be unchanged: cannot reshape an operand of shape {x.shape} "
            f"(size {x.size}) into new_sizes {new_sizes} (size {size}). Choose new_sizes whose "
            f"product is {x.size}.")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


abstract_eval[reshape_p] = _reshape_abstract_eval


def _reshape_to_jax(x, *, new_sizes, dimensions, sharding=None):
    if sharding is None:
        return jlax.reshape(x, new_sizes, dimensions)
    return jlax.reshape(x, new_sizes, dimensions, out_sharding=sharding)


to_jax[reshape_p] = _reshape_to_jax
_jvp_linear_in_first(reshape_p)


def _reshape_transpose(ct, *, x_aval, new_sizes, dimensions, sharding=None):
    # over Explicit mesh axes the cotangent is laid out as the operand was (as in JAX)
    layout = x_aval.sharding is not None or to_aval(ct).sharding is not None
    if dimensions is None:
        return reshape(ct, x_aval.shape, out_sharding=_layout_of(x_aval) if layout else None)
    # reshape with ``dimensions`` = transpose(x, dimensions), then reshape
    out_sharding = None
    if layout:
        spec = tuple(_layout_of(x_aval)) + (None,) * x_aval.ndim
        out_sharding = PartitionSpec(*(spec[d] for d in dimensions))
    read = reshape(ct, tuple(x_aval.shape[d] for d in dimensions), out_sharding=out_sharding)
    return transpose(read, tuple(np.argsort(dimensions)))


def _layout_of(aval: ShapedArray) -> Any:
    return aval.sharding.spec if aval.sharding is not None else PartitionSpec()


def _reshape_batch(axis_size, vals, dims, *, new_sizes, dimensions, sharding=None):
    (x,), (bdim,) = vals, dims
    ndim = to_aval(x).ndim

    def laid_out(at):  # with the batch axis
        if sharding is None:
            return None
        return batched_sharding(sharding, len(new_sizes), at)

    if dimensions is not None:  # the reshape transposes anyway: read the batch axis first
        perm = (bdim,) + tuple(shift_axis(d, bdim) for d in dimensions)
        return reshape(x, (axis_size,) + new_sizes, perm, out_sharding=laid_out(0)), 0
    if bdim == ndim - 1 and bdim > 0:  # row-major order keeps a trailing batch axis trailing
        return (reshape(x, new_sizes + (axis_size,), out_sharding=laid_out(len(new_sizes))),
                len(new_sizes))
    return reshape(moveaxis(x, bdim, 0), (axis_size,) + new_sizes, out_sharding=laid_out(0)), 0


deflinear(reshape_p, _reshape_transpose)
batch_rules[reshape_p] = _reshape_batch


# -- squeeze --------------------------------------------------------------------------------
squeeze_p = Primitive("squeeze")


def _squeeze_abstract_eval(x: ShapedArray, *, dimensions):
    for d in dimensions:
        if not 0 <= d < x.ndim:
            raise ValueError(f"squeeze: axis {d} is out of bounds for an array of dimension "
                             f"{x.ndim}.")
        if x.shape[d] != 1:
            raise ValueError(
                f"cannot select an axis to squeeze out which has size not equal to one, got "
                f"shape={x.shape} and dimensions={dimensions}: axis {d} has size {x.shape[d]}.")
    if len(set(dimensions)) != len(dimensions):
        raise ValueError(f"squeeze dimensions are not unique: {dimensions}.")
    shape = tuple(s for i, s in enumerate(x.shape) if i not in dimensions)
    return ShapedArray(shape, x.dtype, x.weak_type)


abstract_eval[squeeze_p] = _squeeze_abstract_eval
to_jax[squeeze_p] = lambda x, *, dimensions: jlax.squeeze(x, dimensions)
_jvp_linear_in_first(squeeze_p)


def _squeeze_batch(axis_size, vals, dims, *, dimensions):
    (x,), (bdim,) = vals, dims
    new_dims = tuple(shift_axis(d, bdim) for d in dimensions)
    return squeeze_p.bind(x, dimensions=new_dims), bdim_after_removing(bdim, new_dims)


deflinear(squeeze_p, lambda ct, *, x_aval, dimensions: expand_dims(ct, dimensions))
batch_rules[squeeze_p] = _squeeze_batch


# -- transpose ------------------------------------------------------------------------------
transpose_p = Primitive("transpose")


def _transpose_abstract_eval(x: ShapedArray, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(
            f"transpose permutation isn't a permutation of operand dimensions, got permutation "
            f"{permutation} for operand shape {x.shape}. It must list each of 0..{x.ndim - 1} "
            "exactly once.")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


abstract_eval[transpose_p] = _transpose_abstract_eval
to_jax[transpose_p] = lambda x, *, permutation: jlax.transpose(x, permutation)
shape_primitives.transpose_p = transpose_p  # batching's moveaxis binds it
_jvp_linear_in_first(transpose_p)


def _transpose_batch(axis_size, vals, dims, *, permutation):
    # the batch axis keeps its position; the others move as per example
    (x,), (bdim,) = vals, dims
    perm = [shift_axis(p, bdim) for p in permutation]
    perm.insert(bdim, bdim)
    return transpose_p.bind(x, permutation=tuple(perm)), bdim


deflinear(transpose_p, lambda ct, *, x_aval, permutation: transpose(
    ct, tuple(int(i) for i in np.argsort(permutation))))
batch_rules[transpose_p] = _transpose_batch


# -- rev ------------------------------------------------------------------------------------
rev_p = Primitive("rev")


def _rev_abstract_eval(x: ShapedArray, *, dimensions):
    if len(set(dimensions)) != len(dimensions):
        raise TypeError(f"rev dimensions must be unique, got {dimensions}.")
    if any(not 0 <= d < x.ndim for d in dimensions):
        raise TypeError(f"rev dimensions must all be in 0..{x.ndim - 1} (nonnegative and less "
                        f"than operand ndim), got dimensions {dimensions} for operand of shape "
                        f"{x.shape}.")
    return x


abstract_eval[rev_p] = _rev_abstract_eval
to_jax[rev_p] = lambda x, *, dimensions: jlax.rev(x, dimensions)
_jvp_linear_in_first(rev_p)
deflinear(rev_p, lambda ct, *, x_aval, dimensions: rev_p.bind(ct, dimensions=dimensions))
batch_rules[rev_p] = lambda axis_size, vals, dims, *, dimensions: (
    rev_p.bind(vals[0], dimensions=tuple(shift_axis(d, dims[0]) for d in dimensions)), dims[0])


# -- iota -----------------------------------------------------------------------------------
iota_p = Primitive("iota")
iota_p.layout_param = "sharding"  # (JAX's name for it)


def _iota_abstract_eval(*, dtype, shape, dimension, sharding=None):
    check_dtype("iota", ShapedArray((), dtype), NUMBER)
    if any(d < 0 for d in shape):
        raise TypeError(f"iota shape must have every element be nonnegative, got {shape}.")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"iota dimension must be between 0 and len(shape), got "
                         f"dimension={dimension} for shape={shape}.")
    return ShapedArray(shape, dtype, False)  # (its sharding type: JAX's, from out_sharding)


abstract_eval[iota_p] = _iota_abstract_eval
to_jax[iota_p] = lambda *, dtype, shape, dimension, sharding=None: jlax.broadcasted_iota(
    dtype, shape, dimension, **({} if sharding is None else {"out_sharding": sharding}))
defjvp_zero(iota_p)
# iota has no operands, so vmap never batches it (it stays one unbatched constant); the rule
# is here for completeness of the table
batch_rules[iota_p] = lambda axis_size, vals, dims, **params: (iota_p.bind(**params),
                                                                 not_mapped)


# -- public functions with jax.lax's signatures ---------------------------------------------
def _layout_param(out_sharding: Any) -> dict:
    """``{"sharding": out_sharding}`` (the param's name in JAX's broadcast_in_dim, reshape and
    iota), or ``{}`` when it is None."""
    extra = out_sharding_param(out_sharding)
    return {"sharding": extra["out_sharding"]} if extra else {}


def broadcast_in_dim(operand: Any, shape: Sequence[int],
                     broadcast_dimensions: Sequence[int], *, out_sharding: Any = None) -> Any:
    """Broadcast ``operand`` to ``shape``: its dimension ``i`` becomes output dimension
    ``broadcast_dimensions[i]`` (of the same size, or broadcast from size 1). ``out_sharding``
    lays the result out over Explicit mesh axes, as in JAX.

    >>> broadcast_in_dim(jnp.ones(3), (2, 3), (1,)).shape
    (2, 3)
    """
    shape = _shape("broadcast_in_dim", shape)
    dims = _ints("broadcast_in_dim", "broadcast_dimensions", broadcast_dimensions)
    aval = to_aval(operand)
    if (_is_array(operand) and aval.shape == shape and dims == tuple(range(aval.ndim))
            and out_sharding is None):
        return operand
    return broadcast_in_dim_p.bind(operand, shape=shape, broadcast_dimensions=dims,
                                   **_layout_param(out_sharding))


def broadcast(operand: Any, sizes: Sequence[int], *, out_sharding: Any = None) -> Any:
    """Add leading dimensions of sizes ``sizes``: the result has shape ``sizes + shape``."""
    sizes = _shape("broadcast", sizes, "sizes")
    if not sizes:
        return _asarray(operand)
    aval = to_aval(operand)
    dims = tuple(range(len(sizes), len(sizes) + aval.ndim))
    return broadcast_in_dim(operand, sizes + aval.shape, dims, out_sharding=out_sharding)


def broadcast_to_rank(x: Any, rank: int) -> Any:
    """Add leading dimensions of size 1 to give ``x`` rank ``rank``."""
    ndim = to_aval(x).ndim
    if ndim >= rank:
        return _asarray(x)
    return broadcast(x, (1,) * (rank - ndim))


def reshape(operand: Any, new_sizes: Sequence[int],
            dimensions: Sequence[int] | None = None, *, out_sharding: Any = None) -> Any:
    """Reshape to ``new_sizes`` (same number of elements), reading the operand in the order of
    ``dimensions`` (a permutation; default: row-major). ``out_sharding`` lays the result out
    over Explicit mesh axes, as in JAX (needed where a split dimension is merged or split).

    >>> reshape(jnp.arange(6), (2, 3)).shape
    (2, 3)
    """
    new_sizes = _shape("reshape", new_sizes, "new_sizes")
    aval = to_aval(operand)
    dims = None if dimensions is None else _ints("reshape", "dimensions", dimensions)
    same_dims = dims is None or dims == tuple(range(aval.ndim))
    if (aval.shape and aval.shape == new_sizes and same_dims and _is_array(operand)
            and out_sharding is None):
        return operand
    extra = _layout_param(out_sharding)
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=None if same_dims else dims,
                          **extra)


def squeeze(array: Any, dimensions: Sequence[int]) -> Any:
    """Remove the size-1 dimensions ``dimensions`` (negative values count from the end)."""
    ndim = to_aval(array).ndim
    dims = _ints("squeeze", "dimensions", dimensions)
    dims = tuple(sorted(_axis("squeeze", d, ndim) for d in dims))
    if len(set(dims)) != len(dims):
        raise ValueError(f"squeeze dimensions are not unique: {tuple(dimensions)}.")
    if not dims and _is_array(array):
        return array
    return squeeze_p.bind(array, dimensions=dims)


def expand_dims(array: Any, dimensions: Sequence[int]) -> Any:
    """Insert size-1 dimensions at ``dimensions`` (positions in the result; negative values
    count from its end). Binds ``broadcast_in_dim``, as JAX does.

    >>> expand_dims(jnp.ones((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    aval = to_aval(array)
    dims = _ints("expand_dims", "dimensions", dimensions)
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in lax.expand_dims: {dims}.")
    ndim_out = aval.ndim + len(dims)
    dims = tuple(_axis("expand_dims", d, ndim_out) for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in lax.expand_dims: {tuple(dimensions)} names the same "
                         f"axes {dims} of the rank-{ndim_out} result.")
    shape = list(aval.shape)
    for d in sorted(dims):
        shape.insert(d, 1)
    kept = tuple(d for d in range(ndim_out) if d not in dims)
    return broadcast_in_dim(array, tuple(shape), kept)


def transpose(operand: Any, permutation: Sequence[int]) -> Any:
    """Permute dimensions: output dimension ``i`` is operand dimension ``permutation[i]``."""
    perm = _ints("transpose", "permutation", permutation)
    if perm == tuple(range(to_aval(operand).ndim)) and _is_array(operand):
        return operand
    return transpose_p.bind(operand, permutation=perm)


def rev(operand: Any, dimensions: Sequence[int]) -> Any:
    """Reverse the order of elements along each of ``dimensions``."""
    return rev_p.bind(operand, dimensions=_ints("rev", "dimensions", dimensions))


def broadcasted_iota(dtype: Any, shape: Sequence[int], dimension: int, *,
                     out_sharding: Any = None) -> Any:
    """An array of ``shape`` whose value is its index along ``dimension`` (``out_sharding``:
    its layout over Explicit mesh axes, as in JAX)."""
    return iota_p.bind(dtype=canonicalize_dtype(dtype),
                       shape=_shape("broadcasted_iota", shape),
                       dimension=operator.index(dimension),
                       **_layout_param(out_sharding))


def iota(dtype: Any, size: int) -> Any:
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> iota(np.int32, 3)
    Array([0, 1, 2], dtype=int32)
    """
    return broadcasted_iota(dtype, (size,), 0)


def _convert(x: Any, dtype: np.dtype, weak_type: bool) -> Any:
    """``x`` as ``dtype`` with the given weak type; constants stay constants."""
    if is_python_scalar(x):
        return weak_scalar(x, dtype) if weak_type else np.asarray(x, dtype)
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x, dtype)
    aval = to_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type:
        return x
    return _convert_weak(x, dtype, weak_type)


def full(shape: Sequence[int], fill_value: Any, dtype: Any = None, *,
         sharding: Any = None) -> Any:
    """An array of ``shape`` filled with the scalar ``fill_value`` (cast to ``dtype`` if given;
    otherwise of its own dtype, weakly typed for Python scalars), laid out as ``sharding``
    over Explicit mesh axes if given.

    >>> full((2,), 3)
    Array([3, 3], dtype=int32, weak_type=True)
    """
    shape = _shape("full", shape)
    aval = to_aval(fill_value)
    if aval.ndim:
        raise TypeError(f"full must be called with scalar fill_value, got fill_value.shape "
                        f"{aval.shape}.")
    if dtype is None:
        value = _convert(fill_value, aval.dtype, aval.weak_type)
    else:
        value = _convert(fill_value, canonicalize_dtype(dtype), False)
    if sharding is not None and shape:
        return broadcast(value, shape, out_sharding=sharding)
    return broadcast(value, shape)


def full_like(x: Any, fill_value: Any, dtype: Any = None,
              shape: Sequence[int] | None = None, sharding: Any = None) -> Any:
    """An array like ``x`` (its shape, dtype and sharding type unless ``shape``/``dtype``/
    ``sharding`` are given) filled with ``fill_value``; weakly typed when ``x`` is and
    ``dtype`` is not given."""
    aval = to_aval(x)
    fill_shape = aval.shape if shape is None else _shape("full_like", shape)
    weak = dtype is None and aval.weak_type
    dtype = aval.dtype if dtype is None else canonicalize_dtype(dtype)
    if sharding is None and shape is None:
        sharding = aval.sharding
    return full(fill_shape, _convert(fill_value, dtype, weak), sharding=sharding)


def zeros_like_array(x: Any) -> Any:
    """Zeros of ``x``'s shape and dtype (and weak type)."""
    return full_like(x, 0)
