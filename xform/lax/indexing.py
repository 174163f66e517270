"""Indexing primitives: ``gather`` and the ``scatter`` family (``scatter``, ``scatter-add``,
``scatter-mul``, ``scatter-min``, ``scatter-max``).

Both follow XLA's operation semantics. The last dimension of the indices array is always the
index vector (``index_vector_dim`` in XLA's terms); the dimensions before it are the batch of
indices. Dimension numbers, modes and their printed form are jax.lax's own classes, so jaxprs
print as JAX prints them.

Gather: each index vector ``i`` (a start position along the operand dimensions named by
``start_index_map``) selects an operand slice of shape ``slice_sizes``. The output has the
indices' batch dimensions, with the slice's kept dimensions inserted at ``offset_dims``;
``collapsed_slice_dims`` (size 1) and ``operand_batching_dims`` are dropped from the slice.

Scatter: the mirror image. ``updates`` has the indices' batch dimensions with window
dimensions at ``update_window_dims``; each window is combined into the operand at the position
its index vector gives, with ``inserted_window_dims`` (size 1 in the operand) left out of the
window.

Rules: gather is linear in its operand (transpose: a scatter-add); scatter-add is linear in
operand and updates (transpose: the cotangent, and a gather of it); scatter is linear in both
when the indices are unique; scatter-mul is linear in its operand. Derivatives follow JAX's
definitions, including its limits (scatter-mul in its updates and the transpose of scatter need
``unique_indices=True``). Under vmap every one stays a single gather or scatter: the batch axis
goes into the dimension numbers (an offset or window dim, or a pair of batching dims).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax import lax as jlax
from jax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers

from xform.core.avals import ShapedArray
from xform.core.primitive import Primitive, abstract_eval, eval_abstract
from xform.core.trace import current_trace, to_aval
from xform.interpreters.batching import batch_rules, moveaxis, not_mapped
from xform.interpreters.jvp import Zero, defjvp, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax._helpers import shape_str
from xform.lax.shape import full

__all__ = ["GatherDimensionNumbers", "GatherScatterMode", "ScatterDimensionNumbers", "gather"]


# -- checks shared by gather and scatter ------------------------------------------------------
def _check_dims(op: str, field: str, dims: Sequence[int], bound: int, what: str,
                *, must_sort: bool = True) -> None:
    """``dims`` lie in [0, bound), have no repeats, and (when ``must_sort``) are increasing."""
    for d in dims:
        if not 0 <= d < bound:
            raise TypeError(f"{op}: {field}={tuple(dims)} has dimension {d}, out of range for "
                            f"{what}; each entry must be in [0, {bound}).")
    if len(set(dims)) != len(dims):
        raise TypeError(f"{op}: {field}={tuple(dims)} repeats a dimension; each dimension may "
                        "appear once.")
    if must_sort and list(dims) != sorted(dims):
        raise TypeError(f"{op}: {field}={tuple(dims)} must be sorted in increasing order.")


def _check_disjoint(op: str, field_a: str, a: Sequence[int], field_b: str,
                    b: Sequence[int]) -> None:
    common = sorted(set(a) & set(b))
    if common:
        raise TypeError(f"{op}: {field_a}={tuple(a)} and {field_b}={tuple(b)} share operand "
                        f"dimension(s) {tuple(common)}; an operand dimension can play only "
                        "one of these roles.")


def _check_indices(op: str, indices: ShapedArray, arg: str) -> None:
    if not jax.dtypes.issubdtype(indices.dtype, np.integer):
        # ValueError, as jax.lax raises for this input
        raise ValueError(f"{op}: {arg} must have an integer dtype, got {indices.dtype.name} "
                         f"(shape {shape_str(indices.shape)}); cast them with "
                         f"`.astype(jnp.int32)`.")
    if indices.ndim < 1:
        raise TypeError(f"{op}: {arg} must have rank >= 1 (its last dimension holds the index "
                        f"vectors), got a scalar; write `{arg}[None]` for a single index.")


def _check_batching(op: str, operand: ShapedArray, indices: ShapedArray,
                    operand_batching_dims: Sequence[int], indices_batching_dims: Sequence[int],
                    indices_field: str) -> None:
    """operand and indices batching dims: in range, paired one to one, of equal sizes."""
    _check_dims(op, "operand_batching_dims", operand_batching_dims, operand.ndim,
                f"an operand of shape {shape_str(operand.shape)}")
    # the last dimension of the indices is the index vector; it cannot be a batch dimension
    _check_dims(op, indices_field, indices_batching_dims, indices.ndim - 1,
                f"indices of shape {shape_str(indices.shape)} (whose last dimension is the "
                "index vector)", must_sort=False)
    if len(operand_batching_dims) != len(indices_batching_dims):
        raise TypeError(f"{op}: operand_batching_dims={tuple(operand_batching_dims)} and "
                        f"{indices_field}={tuple(indices_batching_dims)} must have the same "
                        "length; they pair up operand and indices dimensions.")
    op_sizes = tuple(operand.shape[d] for d in operand_batching_dims)
    idx_sizes = tuple(indices.shape[d] for d in indices_batching_dims)
    if op_sizes != idx_sizes:
        raise TypeError(f"{op}: the operand batching dimensions {tuple(operand_batching_dims)} "
                        f"have sizes {op_sizes} but the indices batching dimensions "
                        f"{tuple(indices_batching_dims)} have sizes {idx_sizes}; they must "
                        "be equal.")


def _check_index_map(op: str, field: str, index_map: Sequence[int], operand: ShapedArray,
                     indices: ShapedArray) -> None:
    if len(index_map) != indices.shape[-1]:
        raise TypeError(f"{op}: {field}={tuple(index_map)} has {len(index_map)} entries but "
                        f"the index vectors (last dimension of indices of shape "
                        f"{shape_str(indices.shape)}) have length {indices.shape[-1]}; they "
                        "must be equal.")
    _check_dims(op, field, index_map, operand.ndim,
                f"an operand of shape {shape_str(operand.shape)}", must_sort=False)


# -- helpers for the derivative and batching rules --------------------------------------------
def _is_float0(t: Any) -> bool:
    return to_aval(t).dtype == jax.dtypes.float0


def _zeros(shape: Sequence[int], dtype: Any, sharding: Any = None) -> Any:
    return full(shape, 0, dtype, sharding=sharding)


def _shift_dims(dims: Sequence[int], at: int) -> tuple:
    """``dims`` numbered in an array that gains a new axis at position ``at``."""
    return tuple(d + (d >= at) for d in dims)


def _insert(seq: Sequence[Any], at: int, value: Any) -> tuple:
    return tuple(seq[:at]) + (value,) + tuple(seq[at:])


def _pair_batching(op_dims: tuple, idx_dims: tuple, ob: int, ib: int) -> tuple[tuple, tuple]:
    """Add the pair (operand axis ``ob``, indices axis ``ib``) to the batching dims (already
    numbered with those axes in place); operand batching dims stay sorted, pairs stay paired."""
    pos = sum(1 for d in op_dims if d < ob)
    return _insert(op_dims, pos, ob), _insert(idx_dims, pos, ib)


def _indices_bdim_ok(indices: Any, ib: int) -> tuple[Any, int]:
    """The index vectors must stay in the last dimension: a batch axis there moves to 0."""
    ndim = to_aval(indices).ndim
    if ib == ndim - 1:
        return moveaxis(indices, ib, 0), 0
    return indices, ib


def _gather_dnums_of_scatter(dn: ScatterDimensionNumbers) -> GatherDimensionNumbers:
    """The gather that reads back the windows a scatter with ``dn`` writes."""
    return GatherDimensionNumbers(
        offset_dims=dn.update_window_dims, collapsed_slice_dims=dn.inserted_window_dims,
        start_index_map=dn.scatter_dims_to_operand_dims,
        operand_batching_dims=dn.operand_batching_dims,
        start_indices_batching_dims=dn.scatter_indices_batching_dims)


def _scatter_dnums_of_gather(dn: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    """The scatter that writes the slices a gather with ``dn`` reads."""
    return ScatterDimensionNumbers(
        update_window_dims=dn.offset_dims, inserted_window_dims=dn.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dn.start_index_map,
        operand_batching_dims=dn.operand_batching_dims,
        scatter_indices_batching_dims=dn.start_indices_batching_dims)


def _window_sizes(dn: ScatterDimensionNumbers, operand_ndim: int,
                  updates_shape: Sequence[int]) -> tuple:
    """The slice sizes of the gather reading back a scatter's windows (sizes from updates)."""
    dropped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
    window = iter(dn.update_window_dims)
    return tuple(1 if d in dropped else updates_shape[next(window)]
                 for d in range(operand_ndim))


def _bind_gather(operand, indices, dn, slice_sizes, params):
    return gather_p.bind(operand, indices, dimension_numbers=dn,
                         slice_sizes=tuple(slice_sizes), **params)


# -- gather ----------------------------------------------------------------------------------
gather_p = Primitive("gather")


def _gather_abstract_eval(operand: ShapedArray, indices: ShapedArray, *, dimension_numbers,
                          slice_sizes, unique_indices, indices_are_sorted, mode, fill_value):
    op = "gather"
    _check_indices(op, indices, "start_indices")
    dn = dimension_numbers
    offset_dims, collapsed = dn.offset_dims, dn.collapsed_slice_dims
    operand_batching = dn.operand_batching_dims
    out_rank = len(offset_dims) + indices.ndim - 1

    _check_dims(op, "offset_dims", offset_dims, out_rank,
                f"an output of rank {out_rank} (len(offset_dims) + rank(start_indices) - 1)")
    _check_index_map(op, "start_index_map", dn.start_index_map, operand, indices)
    _check_dims(op, "collapsed_slice_dims", collapsed, operand.ndim,
                f"an operand of shape {shape_str(operand.shape)}")
    _check_batching(op, operand, indices, operand_batching, dn.start_indices_batching_dims,
                    "start_indices_batching_dims")
    _check_disjoint(op, "collapsed_slice_dims", collapsed, "operand_batching_dims",
                    operand_batching)
    _check_disjoint(op, "start_index_map", dn.start_index_map, "operand_batching_dims",
                    operand_batching)

    if len(slice_sizes) != operand.ndim:
        raise TypeError(f"{op}: slice_sizes={tuple(slice_sizes)} has {len(slice_sizes)} "
                        f"entries but the operand of shape {shape_str(operand.shape)} has rank "
                        f"{operand.ndim}; give one slice size per operand dimension.")
    n_dims = len(offset_dims) + len(collapsed) + len(operand_batching)
    if n_dims != operand.ndim:
        raise TypeError(f"{op}: every operand dimension must be either an offset dimension or "
                        f"collapsed or batching, but offset_dims={tuple(offset_dims)}, "
                        f"collapsed_slice_dims={tuple(collapsed)} and operand_batching_dims="
                        f"{tuple(operand_batching)} account for {n_dims} dimensions of an "
                        f"operand of rank {operand.ndim}.")
    if indices.size:  # with no indices, no slice is taken and any size is accepted
        for i, (s, d) in enumerate(zip(slice_sizes, operand.shape)):
            if not 0 <= s <= d:
                raise TypeError(f"{op}: slice_sizes[{i}]={s} is out of range for operand "
                                f"dimension {i} of size {d} (operand shape "
                                f"{shape_str(operand.shape)}); it must be in [0, {d}].")
    for d in collapsed:
        if slice_sizes[d] != 1:
            raise TypeError(f"{op}: collapsed_slice_dims includes dimension {d}, whose slice "
                            f"size is {slice_sizes[d]}; only dimensions of slice size 1 can be "
                            "collapsed.")
    for d in operand_batching:
        if slice_sizes[d] > 1:
            raise TypeError(f"{op}: operand_batching_dims includes dimension {d}, whose slice "
                            f"size is {slice_sizes[d]}; batching dimensions must have slice "
                            "size 0 or 1.")

    # the slice's kept sizes fill offset_dims in order, the indices' batch dims fill the rest
    dropped = set(collapsed) | set(operand_batching)
    kept = iter(s for i, s in enumerate(slice_sizes) if i not in dropped)
    batch = iter(indices.shape[:-1])
    shape = tuple(next(kept) if i in offset_dims else next(batch) for i in range(out_rank))
    return ShapedArray(shape, operand.dtype, operand.weak_type)


abstract_eval[gather_p] = _gather_abstract_eval
to_jax[gather_p] = lambda operand, indices, *, dimension_numbers, slice_sizes, unique_indices, \
    indices_are_sorted, mode, fill_value: jlax.gather(
        operand, indices, dimension_numbers, slice_sizes, unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted, mode=mode, fill_value=fill_value)


# Derivatives. Gather is linear in the operand: its tangent gathers the operand's tangent (out
# of bounds slices read 0 in "fill" mode), and its transpose adds the cotangent back into zeros
# at the same positions: a scatter-add with the mirror-image dimension numbers.
def _gather_jvp(t, ans, operand, indices, *, dimension_numbers, slice_sizes, unique_indices,
                indices_are_sorted, mode, fill_value):
    if _is_float0(t):  # integer operands have float0 tangents: nothing to gather
        return Zero(tangent_aval(to_aval(ans)))
    return gather(t, indices, dimension_numbers, slice_sizes, unique_indices=unique_indices,
                  indices_are_sorted=indices_are_sorted, mode=mode, fill_value=0)


def _gather_transpose(ct, operand, indices, *, dimension_numbers, slice_sizes, unique_indices,
                      indices_are_sorted, mode, fill_value):
    if is_undefined(indices):
        raise NotImplementedError("gather is not linear in its indices; only the operand can "
                                  "be transposed.")
    if isinstance(ct, Zero):
        return [None, None]
    zeros = _zeros(operand.aval.shape, operand.aval.dtype, operand.aval.sharding)
    # cycle: lax/scatter.py imports indexing (gather's checks)
    from xform.lax.scatter import scatter_add
    out = scatter_add(zeros, indices, ct, _scatter_dnums_of_gather(dimension_numbers),
                      indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                      mode=mode)
    return [out, None]


# Batching uses the dimension numbers' batching dims, so a batched gather stays one gather and
# the batch axis stays where it is whenever the dimension numbers can express its place:
# - batched operand only: the batch axis is one more offset dim, sliced whole;
# - batched indices (with or without a batched operand): the batch axis is one more batch dim
#   of the indices; a batched operand pairs its batch axis with it as a batching dim.
def _gather_batch_rule(axis_size, vals, dims, *, dimension_numbers, slice_sizes,
                       unique_indices, indices_are_sorted, mode, fill_value):
    (operand, indices), (ob, ib) = vals, dims
    dn = dimension_numbers
    params = {"unique_indices": unique_indices, "indices_are_sorted": indices_are_sorted,
              "mode": mode, "fill_value": fill_value}
    offsets = dn.offset_dims
    if ib is not_mapped:
        dropped = set(dn.collapsed_slice_dims) | set(dn.operand_batching_dims)
        k = sum(1 for d in range(ob) if d not in dropped)  # kept slice dims before the batch
        out_b = offsets[k - 1] + 1 if k else 0
        new_dn = GatherDimensionNumbers(
            offset_dims=offsets[:k] + (out_b,) + tuple(o + 1 for o in offsets[k:]),
            collapsed_slice_dims=_shift_dims(dn.collapsed_slice_dims, ob),
            start_index_map=_shift_dims(dn.start_index_map, ob),
            operand_batching_dims=_shift_dims(dn.operand_batching_dims, ob),
            start_indices_batching_dims=dn.start_indices_batching_dims)
        sizes = _insert(slice_sizes, ob, axis_size)
        return _bind_gather(operand, indices, new_dn, sizes, params), out_b

    indices, ib = _indices_bdim_ok(indices, ib)
    # the output's batch dims are the indices' batch dims, in order, around the offset dims
    out_rank = len(offsets) + to_aval(indices).ndim - 2
    free = [d for d in range(out_rank) if d not in offsets]
    out_b = free[ib - 1] + 1 if ib else 0
    idx_batching = _shift_dims(dn.start_indices_batching_dims, ib)
    if ob is not_mapped:
        # several index sets into one array: the promises about the indices no longer hold
        params.update(unique_indices=False, indices_are_sorted=False)
        new_dn = GatherDimensionNumbers(
            offset_dims=_shift_dims(offsets, out_b),
            collapsed_slice_dims=dn.collapsed_slice_dims, start_index_map=dn.start_index_map,
            operand_batching_dims=dn.operand_batching_dims,
            start_indices_batching_dims=idx_batching)
        return _bind_gather(operand, indices, new_dn, slice_sizes, params), out_b
    op_batching, idx_batching = _pair_batching(
        _shift_dims(dn.operand_batching_dims, ob), idx_batching, ob, ib)
    new_dn = GatherDimensionNumbers(
        offset_dims=_shift_dims(offsets, out_b),
        collapsed_slice_dims=_shift_dims(dn.collapsed_slice_dims, ob),
        start_index_map=_shift_dims(dn.start_index_map, ob),
        operand_batching_dims=op_batching, start_indices_batching_dims=idx_batching)
    sizes = _insert(slice_sizes, ob, min(axis_size, 1))
    return _bind_gather(operand, indices, new_dn, sizes, params), out_b


defjvp(gather_p, _gather_jvp, None)
transpose_rules[gather_p] = _gather_transpose
batch_rules[gather_p] = _gather_batch_rule



# -- public functions with jax.lax's signatures -----------------------------------------------
def _bind_checked(prim: Primitive, args: Sequence[Any], params: dict) -> Any:
    """``prim.bind``; when an eager call fails in JAX, re-raise with xform's shape message."""
    try:
        return prim.bind(*args, **params)
    except (TypeError, ValueError):
        if current_trace() is None:  # traced binds ran the shape rule already
            eval_abstract(prim, [to_aval(a) for a in args], params)
        raise


def _as_tuple(dims: Any) -> tuple:
    return tuple(operator.index(d) for d in dims)


def _gather_dnums(dn: Any) -> GatherDimensionNumbers:
    if not isinstance(dn, GatherDimensionNumbers):
        raise TypeError(f"gather: dimension_numbers must be a "
                        f"jax.lax.GatherDimensionNumbers, got {type(dn).__name__}.")
    return GatherDimensionNumbers(*map(_as_tuple, dn))


def _scatter_dnums(op: str, dn: Any) -> ScatterDimensionNumbers:
    if not isinstance(dn, ScatterDimensionNumbers):
        raise TypeError(f"{op}: dimension_numbers must be a "
                        f"jax.lax.ScatterDimensionNumbers, got {type(dn).__name__}.")
    return ScatterDimensionNumbers(*map(_as_tuple, dn))


def _default_fill_value(dtype: np.dtype) -> Any:
    """What an out-of-bounds gather yields in FILL_OR_DROP mode (as jax.lax.gather)."""
    if jax.dtypes.issubdtype(dtype, np.inexact):
        return np.nan
    if jax.dtypes.issubdtype(dtype, np.signedinteger):
        return int(np.iinfo(dtype).min)
    if jax.dtypes.issubdtype(dtype, np.unsignedinteger):
        return int(np.iinfo(dtype).max)
    if dtype == np.bool_:
        return True
    raise ValueError(f"gather: no default fill_value for dtype {dtype.name}; pass fill_value.")


def gather(operand: Any, start_indices: Any, dimension_numbers: GatherDimensionNumbers,
           slice_sizes: Sequence[int], *, unique_indices: bool = False,
           indices_are_sorted: bool = False, mode: str | GatherScatterMode | None = None,
           fill_value: Any = None) -> Any:
    """Slices of ``operand`` at the positions in ``start_indices``, as ``jax.lax.gather``.

    Arguments:
        operand: the array to gather from.
        start_indices: integer array whose last dimension holds the index vectors.
        dimension_numbers: a ``GatherDimensionNumbers`` (XLA's gather semantics).
        slice_sizes: the size of the slice taken at each start position, one per operand dim.
        unique_indices, indices_are_sorted: promises about ``start_indices``.
        mode: ``"promise_in_bounds"`` (the default, as in jax.lax), ``"clip"`` or ``"fill"``.
        fill_value: the value of out-of-bounds slices in ``"fill"`` mode (default NaN for
            inexact dtypes, the minimum for signed, the maximum for unsigned, True for bool).

    Returns:
        The gathered array.

    >>> x = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    >>> dn = GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
    ...                             start_index_map=(0,))
    >>> gather(x, np.array([[2], [0]]), dn, (1, 2))   # x[[2, 0]]
    Array([[4., 5.],
           [0., 1.]], dtype=float32)
    """
    parsed = GatherScatterMode.from_any(
        GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode)
    if parsed == GatherScatterMode.FILL_OR_DROP:
        if fill_value is None:
            fill_value = _default_fill_value(to_aval(operand).dtype)
        elif isinstance(fill_value, float) and np.isnan(fill_value):
            fill_value = np.nan  # one NaN object, so that params compare equal across calls
    else:
        fill_value = None
    params = {"dimension_numbers": _gather_dnums(dimension_numbers),
              "slice_sizes": _as_tuple(slice_sizes), "unique_indices": bool(unique_indices),
              "indices_are_sorted": bool(indices_are_sorted), "mode": parsed,
              "fill_value": fill_value}
    return _bind_checked(gather_p, [operand, start_indices], params)
