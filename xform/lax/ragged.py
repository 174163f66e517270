"""``ragged_dot_general``: a ``dot_general`` whose lhs is split into groups along one axis.

``group_sizes`` (``int32[g]``) cuts the lhs's ragged axis into ``g`` consecutive groups; as in
JAX it may also be ``[*sizes, g]``, one set of groups per position along the lhs axes that
precede the ragged one (its batch axes, then the free or contracting axes before it). Three
modes, from where that axis sits in ``dot_dimension_numbers`` (as in JAX):

- ragged non-contracting (``ragged_dot``'s, ``[m, k] x [g, k, n] -> [m, n]``): the rows of group
  ``i`` are multiplied by ``rhs``'s slice ``i`` along its group axis;
- ragged contracting (``[m, k]`` ragged in ``k`` ``x [k, n] -> [g, m, n]``): one product per
  group, over that group's part of the contraction;
- ragged batch: the ragged axis is a batch axis and the product is ``dot_general``'s.

The primitive lowers to JAX's ``ragged_dot_general`` (XLA's kernel where a backend has one). Its
derivative is that of its dense decomposition, ``_decompose``: the lhs (and, contracting, the
rhs) masked per group into a new leading axis, then one ``dot_general`` that contracts or
batches that axis with the groups. The tangent is that bilinear form of the tangents, written in
``dot_general``/``select``, so the backward pass transposes those. Under ``vmap``, a batched lhs
alone becomes one more free axis of the same primitive; otherwise the vmapped axis becomes a new
leading batch axis of both operands, and the group sizes run along it (``[B, *sizes, g]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import lax as jlax
from jax.lax import RaggedDotDimensionNumbers

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, bdim_at_front, not_mapped
from xform.interpreters.jvp import Zero, add_tangents, jvp_rules, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.interpreters.staging import trace_to_jaxpr
from xform.lax import elementwise as ew
from xform.core.jax_internals import canonicalize_precision
from xform.lax.linear import dot_general
from xform.lax.reductions import cumsum
from xform.lax.shape import broadcast_in_dim, broadcasted_iota, full, transpose

__all__ = ["RaggedDotDimensionNumbers", "ragged_dot", "ragged_dot_general"]

_BASIC = RaggedDotDimensionNumbers(dot_dimension_numbers=(([1], [1]), ([], [])),
                                   lhs_ragged_dimensions=[0], rhs_group_dimensions=[0])


def _mode(lhs_ndim: int, rdn: RaggedDotDimensionNumbers) -> tuple[str, int]:
    if len(rdn.lhs_ragged_dimensions) != 1:
        raise TypeError(f"ragged_dot_general: exactly one lhs ragged dimension is supported, "
                        f"got lhs_ragged_dimensions={rdn.lhs_ragged_dimensions}")
    (ragged,) = rdn.lhs_ragged_dimensions
    (l_contract, _), (l_batch, _) = rdn.dot_dimension_numbers
    if ragged in l_contract:
        return "contracting", ragged
    if ragged in l_batch:
        return "batch", ragged
    if 0 <= ragged < lhs_ndim:
        return "noncontracting", ragged
    raise TypeError(f"ragged_dot_general: lhs_ragged_dimensions {ragged} is out of range for "
                    f"an lhs of rank {lhs_ndim}")


def _prefix_dims(mode: str, rank: int, ragged: int, batch, contract) -> list[int]:
    """The operand axes that ``group_sizes`` of rank > 1 runs along, in its order (JAX's rule:
    ``group_sizes`` is ``[*those axes' sizes, g]``)."""
    batch, contract = list(batch), list(contract)
    free = [d for d in range(rank) if d not in batch and d not in contract]
    if mode == "noncontracting":
        return batch + free[:free.index(ragged)]
    if mode == "contracting":
        return batch + contract[:contract.index(ragged)]
    return batch[:batch.index(ragged)]


def _group_mask_select(x: Any, group_sizes: Any, dim: int, prefix: list[int]) -> Any:
    """``x`` repeated along a new leading group axis, zero outside each group's part of
    axis ``dim``: ``[g, *x.shape]``. ``group_sizes`` is ``[g]`` (the same groups everywhere) or
    ``[*x.shape at prefix, g]`` (groups per position along the ``prefix`` axes of ``x``)."""
    gs = to_aval(group_sizes)
    shape = (gs.shape[-1], *to_aval(x).shape)
    ends = cumsum(group_sizes, gs.ndim - 1)
    starts = ew.sub(ends, group_sizes)
    if gs.ndim == 1:
        where = (0,)
    else:
        # group axis first, the prefix axes in increasing order of the x axes they run along
        order = sorted(range(len(prefix)), key=lambda i: prefix[i])
        perm = (gs.ndim - 1, *order)
        starts, ends = transpose(starts, perm), transpose(ends, perm)
        where = (0, *(prefix[i] + 1 for i in order))
    iota = broadcasted_iota(gs.dtype, shape, dim + 1)
    inside = ew.bitwise_and(ew.le(broadcast_in_dim(starts, shape, where), iota),
                            ew.lt(iota, broadcast_in_dim(ends, shape, where)))
    xb = broadcast_in_dim(x, shape, tuple(range(1, len(shape))))
    return ew.select(inside, xb, full(shape, 0, to_aval(x).dtype))


def _check_group_sizes(lhs: ShapedArray, group_sizes: ShapedArray, rdn) -> None:
    # JAX's rule: [g], or [*the lhs's prefix axes' sizes, g]
    if group_sizes.ndim == 0:
        raise TypeError("ragged_dot_general: expected rank of group_sizes to be >=1.")
    if group_sizes.ndim == 1:
        return
    mode, ragged = _mode(lhs.ndim, rdn)
    (l_contract, _), (l_batch, _) = rdn.dot_dimension_numbers
    prefix = _prefix_dims(mode, lhs.ndim, ragged, l_batch, l_contract)
    expected = tuple(lhs.shape[d] for d in prefix) + (group_sizes.shape[-1],)
    if tuple(group_sizes.shape) != expected:
        raise TypeError(f"ragged_dot_general: expected group_sizes to have shape {expected}, "
                        f"got {tuple(group_sizes.shape)} (the sizes of the lhs axes {prefix} "
                        "that precede the ragged one, then the number of groups).")


def _decompose(lhs, rhs, group_sizes, *, ragged_dot_dimension_numbers, precision,
               preferred_element_type):
    """The dense equivalent of ``ragged_dot_general``: the ragged operands masked per group
    into a new leading group axis, then one ``dot_general``."""
    rdn = ragged_dot_dimension_numbers
    mode, ragged = _mode(to_aval(lhs).ndim, rdn)
    (l_contract, r_contract), (l_batch, r_batch) = rdn.dot_dimension_numbers
    l_prefix = _prefix_dims(mode, to_aval(lhs).ndim, ragged, l_batch, l_contract)
    inc = lambda dims: tuple(d + 1 for d in dims)  # noqa: E731
    kw = {"precision": precision, "preferred_element_type": preferred_element_type}
    if mode == "noncontracting":
        (group,) = rdn.rhs_group_dimensions
        return dot_general(_group_mask_select(lhs, group_sizes, ragged, l_prefix), rhs,
                           ((inc(l_contract) + (0,), tuple(r_contract) + (group,)),
                            (inc(l_batch), tuple(r_batch))), **kw)
    if mode == "contracting":
        r_ragged = r_contract[list(l_contract).index(ragged)]
        # the rhs axes paired with the lhs's prefix axes (batch, then contracting ones)
        pair = dict(zip(l_batch, r_batch)) | dict(zip(l_contract, r_contract))
        r_prefix = [pair[d] for d in l_prefix]
        return dot_general(_group_mask_select(lhs, group_sizes, ragged, l_prefix),
                           _group_mask_select(rhs, group_sizes, r_ragged, r_prefix),
                           ((inc(l_contract), inc(r_contract)),
                            ((0,) + inc(l_batch), (0,) + inc(r_batch))), **kw)
    return dot_general(lhs, rhs, rdn.dot_dimension_numbers, **kw)


ragged_dot_general_p = Primitive("ragged_dot_general")


def _abstract_eval(lhs: ShapedArray, rhs: ShapedArray, group_sizes: ShapedArray, *,
                   ragged_dot_dimension_numbers, precision, preferred_element_type):
    params = {"ragged_dot_dimension_numbers": ragged_dot_dimension_numbers,
              "precision": precision, "preferred_element_type": preferred_element_type}
    if not np.issubdtype(group_sizes.dtype, np.integer):
        raise TypeError(f"ragged_dot_general: group_sizes must be integers, got "
                        f"{group_sizes.str_short()}")
    rdn = ragged_dot_dimension_numbers
    mode, _ = _mode(lhs.ndim, rdn)
    if mode == "noncontracting" and len(rdn.rhs_group_dimensions) != 1:
        raise TypeError(f"ragged_dot_general: a ragged non-contracting lhs needs one rhs group "
                        f"dimension, got rhs_group_dimensions={rdn.rhs_group_dimensions}")
    if mode != "noncontracting" and rdn.rhs_group_dimensions:
        raise TypeError(f"ragged_dot_general: rhs_group_dimensions must be empty in ragged "
                        f"{mode} mode, got {rdn.rhs_group_dimensions}")
    _check_group_sizes(lhs, group_sizes, rdn)
    # the shape and dtype rules are those of the dense decomposition
    closed, _ = trace_to_jaxpr(lambda a, b, c: ([_decompose(a, b, c, **params)], None),
                               [lhs, rhs, group_sizes.update(weak_type=False)],
                               description="ragged_dot_general shape")
    return closed.jaxpr.outvars[0].aval


def _to_jax(lhs, rhs, group_sizes, *, ragged_dot_dimension_numbers, precision,
            preferred_element_type):
    return jlax.ragged_dot_general(lhs, rhs, group_sizes, ragged_dot_dimension_numbers,
                                   precision=precision,
                                   preferred_element_type=preferred_element_type)


def _jvp(primals, tangents, **params):
    lhs, rhs, gs = primals
    t_lhs, t_rhs, _ = tangents
    ans = ragged_dot_general_p.bind(lhs, rhs, gs, **params)
    out = None
    if not isinstance(t_lhs, Zero):
        out = _decompose(t_lhs, rhs, gs, **params)
    if not isinstance(t_rhs, Zero):
        term = _decompose(lhs, t_rhs, gs, **params)
        out = term if out is None else add_tangents(out, term)
    return ans, Zero(tangent_aval(to_aval(ans))) if out is None else out


def _shift(dims, at: int) -> tuple:
    return tuple(d + 1 if d >= at else d for d in dims)


def _batch(axis_size, vals, dims, *, ragged_dot_dimension_numbers, **params):
    lhs, rhs, gs = vals
    ld, rd, gd = dims
    rdn = ragged_dot_dimension_numbers
    (lc, rc), (lb, rb) = rdn.dot_dimension_numbers
    mode, ragged = _mode(to_aval(lhs).ndim - (ld is not not_mapped), rdn)
    if rd is not_mapped and gd is not_mapped:
        # the lhs's batch axis (moved in front) is one more free axis: the output puts it
        # after the batch axes
        lhs = bdim_at_front(lhs, ld, axis_size)
        new = RaggedDotDimensionNumbers(((_shift(lc, 0), rc), (_shift(lb, 0), rb)),
                                        _shift(rdn.lhs_ragged_dimensions, 0),
                                        rdn.rhs_group_dimensions)
        gs_aval = to_aval(gs)
        if gs_aval.ndim > 1 and mode == "noncontracting":
            # a free axis before the ragged one: per-axis group sizes run along it too
            at = len(lb)
            shape = gs_aval.shape[:at] + (axis_size,) + gs_aval.shape[at:]
            gs = broadcast_in_dim(gs, shape, tuple(d for d in range(len(shape)) if d != at))
        out = ragged_dot_general_p.bind(lhs, rhs, gs, ragged_dot_dimension_numbers=new,
                                        **params)
        return out, len(lb) + (1 if mode == "contracting" else 0)
    # otherwise every operand gets the batch axis in front, as a new (first) batch dimension,
    # and the group sizes run along it: [B, *prefix sizes, g]
    per_example = tuple(to_aval(lhs).shape)
    if ld is not not_mapped:
        per_example = per_example[:ld] + per_example[ld + 1:]
    prefix = _prefix_dims(mode, len(per_example), ragged, lb, lc)
    gs = bdim_at_front(gs, gd, axis_size)
    gs_shape = (axis_size, *(per_example[d] for d in prefix), to_aval(gs).shape[-1])
    if to_aval(gs).ndim == 2 and len(gs_shape) > 2:  # [B, g]: the same groups along the prefix
        gs = broadcast_in_dim(gs, gs_shape, (0, len(gs_shape) - 1))
    lhs, rhs = bdim_at_front(lhs, ld, axis_size), bdim_at_front(rhs, rd, axis_size)
    new = RaggedDotDimensionNumbers(
        ((_shift(lc, 0), _shift(rc, 0)), ((0,) + _shift(lb, 0), (0,) + _shift(rb, 0))),
        _shift(rdn.lhs_ragged_dimensions, 0), _shift(rdn.rhs_group_dimensions, 0))
    out = ragged_dot_general_p.bind(lhs, rhs, gs, ragged_dot_dimension_numbers=new, **params)
    return out, 1 if mode == "contracting" else 0


abstract_eval[ragged_dot_general_p] = _abstract_eval
to_jax[ragged_dot_general_p] = _to_jax
jvp_rules[ragged_dot_general_p] = _jvp
batch_rules[ragged_dot_general_p] = _batch


def ragged_dot_general(lhs: Any, rhs: Any, group_sizes: Any,
                       ragged_dot_dimension_numbers: RaggedDotDimensionNumbers,
                       precision: Any = None, preferred_element_type: Any = None,
                       group_offset: Any = None) -> Any:
    """A ``dot_general`` whose lhs is cut into ``len(group_sizes)`` consecutive groups along
    its ragged dimension, as ``jax.lax.ragged_dot_general`` (see the module docstring for the
    three modes)."""
    if group_offset is not None:
        raise NotImplementedError("ragged_dot_general: group_offset is not supported (JAX "
                                  "supports it on TPU only).")
    if not isinstance(ragged_dot_dimension_numbers, RaggedDotDimensionNumbers):
        raise TypeError(f"ragged_dot_general: ragged_dot_dimension_numbers must be a "
                        f"RaggedDotDimensionNumbers, got {ragged_dot_dimension_numbers!r}")
    pet = None if preferred_element_type is None else canonicalize_dtype(preferred_element_type)
    return ragged_dot_general_p.bind(
        lhs, rhs, group_sizes, ragged_dot_dimension_numbers=ragged_dot_dimension_numbers,
        precision=canonicalize_precision(precision), preferred_element_type=pet)


def ragged_dot(lhs: Any, rhs: Any, group_sizes: Any, precision: Any = None,
               preferred_element_type: Any = None, group_offset: Any = None) -> Any:
    """``[m, k] x [g, k, n] -> [m, n]``: row block ``i`` of ``lhs`` (``group_sizes[i]`` rows,
    consecutive) times ``rhs[i]``, as ``jax.lax.ragged_dot``. Rows past
    ``sum(group_sizes)`` give zeros.

    >>> ragged_dot(jnp.ones((5, 2)), jnp.ones((2, 2, 3)), jnp.array([2, 3], jnp.int32))
    """
    return ragged_dot_general(lhs, rhs, group_sizes, _BASIC, precision=precision,
                              preferred_element_type=preferred_element_type,
                              group_offset=group_offset)
