"""Sorting: ``sort`` (several operands sorted together by their first ``num_keys``),
``sort_key_val``, ``top_k`` and ``approx_top_k`` (``approx_max_k``/``approx_min_k``)."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, float0
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, move_bdim, not_mapped, shift_axis
from xform.interpreters.jvp import Zero, jvp_rules, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.lax import shape as sh
from xform.lax._helpers import shape_str
from xform.lax.indexing import GatherDimensionNumbers, gather

__all__ = ["sort", "sort_key_val", "top_k", "approx_max_k", "approx_min_k"]


def _normalize_axis(name: str, axis: Any, ndim: int) -> int:
    """A negative axis counts from the end; out-of-range ones are left for the shape rule."""
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name}: the axis must be an int, got {axis!r}") from None
    return axis + ndim if -ndim <= axis < 0 else axis


# -- sort -----------------------------------------------------------------------------------
sort_p = Primitive("sort", multiple_results=True)


def _sort_abstract_eval(*operands: ShapedArray, dimension: int, is_stable: bool,
                        num_keys: int) -> list:
    if not operands:
        raise TypeError("sort needs at least one operand")
    shape = operands[0].shape
    for i, a in enumerate(operands[1:], 1):
        if a.shape != shape:
            raise TypeError(f"sort operands must have equal shapes, got operand 0 of shape "
                            f"{shape_str(shape)} and operand {i} of shape {shape_str(a.shape)}. "
                            "Broadcast them to one shape first.")
    if not 1 <= num_keys <= len(operands):
        raise ValueError(f"sort: num_keys={num_keys} must be between 1 and the number of "
                         f"operands ({len(operands)}).")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"sort: dimension {dimension} is out of range for operands of shape "
                         f"{shape_str(shape)}; valid dimensions are {-len(shape)} to "
                         f"{len(shape) - 1}.")
    return list(operands)


abstract_eval[sort_p] = _sort_abstract_eval
to_jax[sort_p] = lambda *xs, dimension, is_stable, num_keys: jlax.sort(
    xs, dimension=dimension, is_stable=is_stable, num_keys=num_keys)


def _no_tangent(t: Any) -> bool:
    return isinstance(t, Zero) or to_aval(t).dtype == float0


def _take_along(t: Any, idx: Any, axis: int) -> Any:
    """``t`` indexed by ``idx`` along ``axis``, elementwise in every other axis (numpy's
    take_along_axis): one gather whose other axes are batching dims, so it batches and
    transposes (to a scatter-add) like any gather."""
    ndim = to_aval(t).ndim
    others = tuple(i for i in range(ndim) if i != axis)
    dnums = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(axis,),
                                   start_index_map=(axis,), operand_batching_dims=others,
                                   start_indices_batching_dims=others)
    return gather(t, sh.expand_dims(idx, (ndim,)), dnums, (1,) * ndim,
                  mode="promise_in_bounds")


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    # Sort positions along with the keys to learn the permutation, then move every tangent
    # by it; the tangents of the keys follow their values.
    shape = to_aval(primals[0]).shape
    if all(_no_tangent(t) for t in tangents):
        out = sort_p.bind(*primals, dimension=dimension, is_stable=is_stable, num_keys=num_keys)
        return out, [Zero(tangent_aval(to_aval(o))) for o in out]
    iota = sh.broadcasted_iota(np.int32, shape, dimension)
    *out, perm = sort_p.bind(*primals, iota, dimension=dimension, is_stable=is_stable,
                             num_keys=num_keys)
    return out, [Zero(tangent_aval(to_aval(o))) if _no_tangent(t)
                 else _take_along(t, perm, dimension) for o, t in zip(out, tangents)]


def _sort_batch_rule(axis_size, vals, dims, *, dimension, is_stable, num_keys):
    # Keep the first batched operand's batch axis; the others move there (unbatched ones are
    # broadcast), and the sorted dimension shifts past it.
    bdim = next(d for d in dims if d is not not_mapped)
    args = [move_bdim(v, d, bdim, axis_size) for v, d in zip(vals, dims)]
    out = sort_p.bind(*args, dimension=shift_axis(dimension, bdim), is_stable=is_stable,
                      num_keys=num_keys)
    return out, [bdim] * len(out)


jvp_rules[sort_p] = _sort_jvp
batch_rules[sort_p] = _sort_batch_rule

# -- top_k ----------------------------------------------------------------------------------
top_k_p = Primitive("top_k", multiple_results=True)


def _top_k_abstract_eval(x: ShapedArray, *, k: int, axis: int) -> list:
    if np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"top_k does not accept complex operands (got {x.dtype.name}): "
                         "complex numbers have no order. Pass e.g. xform.lax.abs(x).")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"top_k: axis {axis} is out of range for an operand of shape "
                         f"{shape_str(x.shape)}; top_k needs an operand of rank >= 1.")
    if k < 0:
        raise ValueError(f"top_k: k must be non-negative, got k={k}")
    if k > x.shape[axis]:
        raise ValueError(f"top_k: k={k} is larger than the size {x.shape[axis]} of axis {axis} "
                         f"of the operand of shape {shape_str(x.shape)}; pass k <= "
                         f"{x.shape[axis]}.")
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    # as in JAX, the indices take the operand's weak type
    return [ShapedArray(shape, x.dtype, x.weak_type),
            ShapedArray(shape, np.int32, x.weak_type)]


abstract_eval[top_k_p] = _top_k_abstract_eval
to_jax[top_k_p] = lambda x, *, k, axis: jlax.top_k(x, k, axis=axis)


def _top_k_jvp(primals, tangents, *, k, axis):
    (x,), (t,) = primals, tangents
    vals, idx = top_k_p.bind(x, k=k, axis=axis)
    t_vals = Zero(tangent_aval(to_aval(vals))) if _no_tangent(t) else _take_along(t, idx, axis)
    return [vals, idx], [t_vals, Zero(tangent_aval(to_aval(idx)))]


def _top_k_batch_rule(axis_size, vals, dims, *, k, axis):
    (x,), (bdim,) = vals, dims
    return top_k_p.bind(x, k=k, axis=shift_axis(axis, bdim)), [bdim, bdim]


jvp_rules[top_k_p] = _top_k_jvp
batch_rules[top_k_p] = _top_k_batch_rule


# -- approx_top_k: XLA's approximate top-k (TPU); other backends compute the exact one ---------
approx_top_k_p = Primitive("approx_top_k", multiple_results=True)


def _approx_top_k_abstract_eval(x: ShapedArray, *, k, reduction_dimension, recall_target,
                                is_max_k, reduction_input_size_override, aggregate_to_topk):
    name = "approx_max_k" if is_max_k else "approx_min_k"
    if k <= 0:
        raise ValueError(f"{name}: k must be positive, got {k}")
    if not x.ndim:
        raise TypeError(f"{name}: the operand must have rank >= 1, got shape {shape_str(x.shape)}")
    if not -x.ndim <= reduction_dimension < x.ndim:
        raise ValueError(f"{name}: reduction_dimension {reduction_dimension} is out of range "
                         f"for an operand of shape {shape_str(x.shape)}")
    reduction_dimension %= x.ndim  # JAX's jaxprs may carry -1
    size = x.shape[reduction_dimension]
    if size < k:
        raise ValueError(f"{name}: k must be smaller than the size of reduction_dim {size}, "
                         f"got {k}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name}: operand must be a floating type, got {x.dtype.name}")
    if aggregate_to_topk:
        out = k
    else:  # the size is XLA's choice: ask it, on shapes only
        out = jax.eval_shape(lambda v: jlax.approx_max_k(
            v, k, reduction_dimension, recall_target, reduction_input_size_override,
            aggregate_to_topk), jax.ShapeDtypeStruct(x.shape, x.dtype))[0].shape[
                reduction_dimension]
    shape = x.shape[:reduction_dimension] + (out,) + x.shape[reduction_dimension + 1:]
    return [ShapedArray(shape, x.dtype, x.weak_type), ShapedArray(shape, np.int32)]


def _approx_top_k_to_jax(x, *, is_max_k, **params):
    fn = jlax.approx_max_k if is_max_k else jlax.approx_min_k
    return list(fn(x, **params))


def _approx_top_k_jvp(primals, tangents, **params):
    (x,), (t,) = primals, tangents
    vals, idx = approx_top_k_p.bind(x, **params)
    axis = params["reduction_dimension"] % to_aval(x).ndim
    t_vals = Zero(tangent_aval(to_aval(vals))) if _no_tangent(t) else _take_along(t, idx, axis)
    return [vals, idx], [t_vals, Zero(tangent_aval(to_aval(idx)))]


def _approx_top_k_batch_rule(axis_size, vals, dims, *, reduction_dimension, **params):
    (x,), (bdim,) = vals, dims
    reduction_dimension %= to_aval(x).ndim - 1
    out = approx_top_k_p.bind(x, reduction_dimension=shift_axis(reduction_dimension, bdim),
                              **params)
    return out, [bdim, bdim]


abstract_eval[approx_top_k_p] = _approx_top_k_abstract_eval
to_jax[approx_top_k_p] = _approx_top_k_to_jax
jvp_rules[approx_top_k_p] = _approx_top_k_jvp
batch_rules[approx_top_k_p] = _approx_top_k_batch_rule


def _approx_top_k(operand, k, reduction_dimension, recall_target, is_max_k,
                  reduction_input_size_override, aggregate_to_topk):
    ndim = to_aval(operand).ndim
    name = "approx_max_k" if is_max_k else "approx_min_k"
    return approx_top_k_p.bind(
        operand, k=operator.index(k),
        reduction_dimension=_normalize_axis(name, reduction_dimension, ndim),
        recall_target=float(recall_target), is_max_k=is_max_k,
        reduction_input_size_override=int(reduction_input_size_override),
        aggregate_to_topk=bool(aggregate_to_topk))


def approx_max_k(operand: Any, k: int, reduction_dimension: int = -1,
                 recall_target: float = 0.95, reduction_input_size_override: int = -1,
                 aggregate_to_topk: bool = True) -> list[Any]:
    """The ``k`` largest values along ``reduction_dimension`` and their int32 indices (a list),
    as ``jax.lax.approx_max_k``: approximate (at ``recall_target``) on TPU, exact elsewhere."""
    return _approx_top_k(operand, k, reduction_dimension, recall_target, True,
                         reduction_input_size_override, aggregate_to_topk)


def approx_min_k(operand: Any, k: int, reduction_dimension: int = -1,
                 recall_target: float = 0.95, reduction_input_size_override: int = -1,
                 aggregate_to_topk: bool = True) -> list[Any]:
    """The ``k`` smallest values along ``reduction_dimension`` and their int32 indices (a list),
    as ``jax.lax.approx_min_k``: approximate (at ``recall_target``) on TPU, exact elsewhere."""
    return _approx_top_k(operand, k, reduction_dimension, recall_target, False,
                         reduction_input_size_override, aggregate_to_topk)


# -- public functions with jax.lax's signatures ---------------------------------------------
def sort(operand: Any | Sequence[Any], dimension: int = -1, is_stable: bool = True,
         num_keys: int = 1) -> Any:
    """Sort along ``dimension``, as ``jax.lax.sort``.

    ``operand`` is one array, or a sequence of arrays of one shape sorted together: the first
    ``num_keys`` of them are the keys (lexicographically), the rest follow the same permutation.
    Returns an array for an array, a tuple for a sequence.

    >>> keys, vals = xform.lax.sort((jnp.array([3, 1, 2]), jnp.array([0, 1, 2])))
    >>> vals   # [1, 2, 0]
    """
    single = not isinstance(operand, (tuple, list))
    operands = (operand,) if single else tuple(operand)
    if not operands:
        raise TypeError("sort needs at least one operand, got an empty sequence")
    ndim = to_aval(operands[0]).ndim
    try:
        num_keys = operator.index(num_keys)
    except TypeError:
        raise TypeError(f"sort: num_keys must be an int, got {num_keys!r}") from None
    out = sort_p.bind(*operands, dimension=_normalize_axis("sort", dimension, ndim),
                      is_stable=bool(is_stable), num_keys=num_keys)
    return out[0] if single else tuple(out)


def sort_key_val(keys: Any, values: Any, dimension: int = -1,
                 is_stable: bool = True) -> tuple[Any, Any]:
    """Sort ``keys`` along ``dimension`` and ``values`` by the same permutation, as
    ``jax.lax.sort_key_val``. Returns ``(sorted_keys, sorted_values)``."""
    k, v = sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)
    return k, v


def top_k(operand: Any, k: int, *, axis: int = -1) -> list[Any]:
    """The ``k`` largest entries along ``axis`` (last by default) in descending order and their
    int32 indices, as ``jax.lax.top_k`` (which returns them as a list).

    >>> vals, idx = xform.lax.top_k(jnp.array([1., 5., 3.]), 2)   # [5., 3.], [1, 2]
    """
    if int(k) != k:
        raise TypeError(f"top_k: k must be an integer, got {k!r}")
    ndim = to_aval(operand).ndim
    return top_k_p.bind(operand, k=int(k), axis=_normalize_axis("top_k", axis, ndim))
