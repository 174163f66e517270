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
from xform.core.ir import Eqn, Jaxpr, Var
from xform.core.primitive import Primitive, abstract_eval, eval_abstract
from xform.core.trace import current_trace, to_aval
from xform.interpreters.lowering import to_jax
from xform.lax._helpers import shape_str
from xform.lax.elementwise import add_p, max_p, min_p, mul_p

__all__ = [
    "GatherDimensionNumbers", "GatherScatterMode", "ScatterDimensionNumbers", "gather",
    "scatter", "scatter_add", "scatter_max", "scatter_min", "scatter_mul",
]


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


# -- scatter family ---------------------------------------------------------------------------
def _scatter_abstract_eval(name: str):
    op = name.replace("-", "_")

    def rule(operand: ShapedArray, indices: ShapedArray, updates: ShapedArray, *,
             dimension_numbers, indices_are_sorted, unique_indices, mode, update_jaxpr,
             update_consts):
        _check_indices(op, indices, "scatter_indices")
        if operand.dtype != updates.dtype:
            raise TypeError(f"{op} requires operand and updates to have the same dtype, got "
                            f"{operand.dtype.name} and {updates.dtype.name}; cast updates with "
                            f"`.astype({operand.dtype.name})`.")
        dn = dimension_numbers
        window, inserted = dn.update_window_dims, dn.inserted_window_dims
        operand_batching = dn.operand_batching_dims
        _check_dims(op, "inserted_window_dims", inserted, operand.ndim,
                    f"an operand of shape {shape_str(operand.shape)}")
        _check_batching(op, operand, indices, operand_batching,
                        dn.scatter_indices_batching_dims, "scatter_indices_batching_dims")
        _check_disjoint(op, "inserted_window_dims", inserted, "operand_batching_dims",
                        operand_batching)
        _check_index_map(op, "scatter_dims_to_operand_dims", dn.scatter_dims_to_operand_dims,
                         operand, indices)
        _check_disjoint(op, "scatter_dims_to_operand_dims", dn.scatter_dims_to_operand_dims,
                        "operand_batching_dims", operand_batching)
        n_dims = len(window) + len(inserted) + len(operand_batching)
        if n_dims != operand.ndim:
            raise TypeError(f"{op}: every operand dimension must be either a window dimension "
                            f"or inserted or batching, but update_window_dims={tuple(window)}, "
                            f"inserted_window_dims={tuple(inserted)} and operand_batching_dims"
                            f"={tuple(operand_batching)} account for {n_dims} dimensions of an "
                            f"operand of rank {operand.ndim}.")
        upd_rank = indices.ndim - 1 + len(window)
        _check_dims(op, "update_window_dims", window, upd_rank,
                    f"updates of rank {upd_rank} (rank(scatter_indices) - 1 + "
                    "len(update_window_dims))")

        # the expected updates shape: the indices' batch dims, with the operand's window sizes
        # (upper bounds) at update_window_dims
        dropped = set(inserted) | set(operand_batching)
        sizes = iter(d for i, d in enumerate(operand.shape) if i not in dropped)
        batch = iter(indices.shape[:-1])
        expected = tuple(next(sizes) if i in window else next(batch) for i in range(upd_rank))
        ok = updates.ndim == upd_rank and all(
            u <= e if i in window else u == e
            for i, (u, e) in enumerate(zip(updates.shape, expected)))
        if not ok:
            bound = (f" (the window dimensions {tuple(window)} may be smaller)" if window
                     else "")
            raise TypeError(f"{op}: updates must have shape {shape_str(expected)}{bound} for "
                            f"an operand of shape {shape_str(operand.shape)}, scatter_indices "
                            f"of shape {shape_str(indices.shape)} and these dimension "
                            f"numbers, got updates of shape {shape_str(updates.shape)}.")
        return ShapedArray(operand.shape, operand.dtype, operand.weak_type)

    return rule


def _scatter_to_jax(jax_fn):
    def rule(operand, indices, updates, *, dimension_numbers, indices_are_sorted,
             unique_indices, mode, update_jaxpr, update_consts):
        return jax_fn(operand, indices, updates, dimension_numbers,
                      indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                      mode=mode)
    return rule


scatter_p = Primitive("scatter")
abstract_eval[scatter_p] = _scatter_abstract_eval("scatter")
to_jax[scatter_p] = _scatter_to_jax(jlax.scatter)

scatter_add_p = Primitive("scatter-add")
abstract_eval[scatter_add_p] = _scatter_abstract_eval("scatter-add")
to_jax[scatter_add_p] = _scatter_to_jax(jlax.scatter_add)

scatter_mul_p = Primitive("scatter-mul")
abstract_eval[scatter_mul_p] = _scatter_abstract_eval("scatter-mul")
to_jax[scatter_mul_p] = _scatter_to_jax(jlax.scatter_mul)

scatter_min_p = Primitive("scatter-min")
abstract_eval[scatter_min_p] = _scatter_abstract_eval("scatter-min")
to_jax[scatter_min_p] = _scatter_to_jax(jlax.scatter_min)

scatter_max_p = Primitive("scatter-max")
abstract_eval[scatter_max_p] = _scatter_abstract_eval("scatter-max")
to_jax[scatter_max_p] = _scatter_to_jax(jlax.scatter_max)

# the combining function each scatter carries in its update_jaxpr param (None for scatter)
_COMBINERS = {scatter_add_p: add_p, scatter_mul_p: mul_p, scatter_min_p: min_p,
              scatter_max_p: max_p}
_update_jaxprs: dict = {}


def _update_jaxpr(prim: Primitive, dtype: np.dtype) -> Jaxpr | None:
    """``{ lambda ; a b. let c = combine a b in (c,) }`` on scalars of ``dtype``, one object per
    (primitive, dtype): jaxprs hash by identity and params key the eager compile cache."""
    combine = _COMBINERS.get(prim)
    if combine is None:
        return None
    key = (prim, dtype)
    jaxpr = _update_jaxprs.get(key)
    if jaxpr is None:
        scalar = ShapedArray((), dtype)
        a, b = Var(scalar), Var(scalar)
        out = Var(eval_abstract(combine, [scalar, scalar], {}))
        jaxpr = _update_jaxprs[key] = Jaxpr([], [a, b], [Eqn(combine, [a, b], {}, [out])], [out])
    return jaxpr


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


def _scatter(prim: Primitive, operand: Any, scatter_indices: Any, updates: Any,
             dimension_numbers: ScatterDimensionNumbers, indices_are_sorted: bool,
             unique_indices: bool, mode: str | GatherScatterMode | None) -> Any:
    op = prim.name.replace("-", "_")
    params = {"dimension_numbers": _scatter_dnums(op, dimension_numbers),
              "indices_are_sorted": bool(indices_are_sorted),
              "unique_indices": bool(unique_indices), "mode": GatherScatterMode.from_any(mode),
              "update_jaxpr": _update_jaxpr(prim, to_aval(operand).dtype), "update_consts": ()}
    return _bind_checked(prim, [operand, scatter_indices, updates], params)


_SCATTER_DOC = """{summary}, as ``jax.lax.{name}``.

    Arguments:
        operand: the array scattered into.
        scatter_indices: integer array whose last dimension holds the index vectors.
        updates: the values scattered, of ``operand``'s dtype; its shape is the indices' batch
            dimensions with windows at ``dimension_numbers.update_window_dims``.
        dimension_numbers: a ``ScatterDimensionNumbers`` (XLA's scatter semantics).
        indices_are_sorted, unique_indices: promises about ``scatter_indices``.
        mode: ``"fill"``/``"drop"`` (the default: out-of-bounds updates are dropped), ``"clip"``
            or ``"promise_in_bounds"``.

    Returns:
        ``operand`` with the updates combined in{extra}.
    """


def scatter(operand: Any, scatter_indices: Any, updates: Any,
            dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
            unique_indices: bool = False,
            mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


def scatter_add(operand: Any, scatter_indices: Any, updates: Any,
                dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
                unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_add_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


def scatter_mul(operand: Any, scatter_indices: Any, updates: Any,
                dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
                unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_mul_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


def scatter_min(operand: Any, scatter_indices: Any, updates: Any,
                dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
                unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_min_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


def scatter_max(operand: Any, scatter_indices: Any, updates: Any,
                dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
                unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_max_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


scatter.__doc__ = _SCATTER_DOC.format(
    summary="Writes ``updates`` into ``operand`` at ``scatter_indices``", name="scatter",
    extra=" (where indices repeat, which update lands is unspecified)")
scatter_add.__doc__ = _SCATTER_DOC.format(
    summary="Adds ``updates`` into ``operand`` at ``scatter_indices``", name="scatter_add",
    extra=" by addition (repeated indices accumulate)")
scatter_mul.__doc__ = _SCATTER_DOC.format(
    summary="Multiplies ``operand`` by ``updates`` at ``scatter_indices``", name="scatter_mul",
    extra=" by multiplication (repeated indices accumulate)")
scatter_min.__doc__ = _SCATTER_DOC.format(
    summary="Elementwise minimum of ``operand`` and ``updates`` at ``scatter_indices``",
    name="scatter_min", extra=" by taking the minimum")
scatter_max.__doc__ = _SCATTER_DOC.format(
    summary="Elementwise maximum of ``operand`` and ``updates`` at ``scatter_indices``",
    name="scatter_max", extra=" by taking the maximum")
