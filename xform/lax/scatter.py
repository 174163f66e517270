"""The scatter family: ``scatter``, ``scatter-add``, ``scatter-sub``, ``scatter-mul``,
``scatter-min``, ``scatter-max`` and ``scatter_apply`` (a ``scatter`` whose update computation
is the user's function), with XLA's semantics (see xform/lax/indexing.py for gather and the
shared checks). Their derivative and batching rules follow the primitives' shape rules below."""


from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jax import lax as jlax
from jax.lax import GatherScatterMode, ScatterDimensionNumbers

from xform.core.avals import ShapedArray
from xform.core.caches import WeakCache
from xform.core.ir import Eqn, Jaxpr, Var
from xform.core.primitive import Primitive, abstract_eval, eval_abstract
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_rules, broadcast_batch, moveaxis, not_mapped
from xform.interpreters.jvp import Zero, defjvp, jvp_rules, tangent_aval
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.staging import trace_to_jaxpr
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax._helpers import shape_str
from xform.lax.elementwise import (
    _np_promoted, add, add_p, div, eq, max_p, min_p, mul, mul_p, neg, select, sub, sub_p,
)
from xform.lax.indexing import (  # noqa: F401  (shared checks and helpers)
    _as_tuple, _bind_checked, _check_batching, _check_dims, _check_disjoint, _check_index_map,
    _check_indices, _default_fill_value, _gather_dnums, _gather_dnums_of_scatter,
    _indices_bdim_ok, _insert, _is_float0, _pair_batching, _scatter_dnums,
    _scatter_dnums_of_gather, _shift_dims, _window_sizes, _zeros, gather, gather_p,
)
from xform.lax.shape import broadcast_in_dim, full, full_like, iota, reshape

__all__ = ["scatter", "scatter_add", "scatter_apply", "scatter_max", "scatter_min",
           "scatter_mul", "scatter_sub"]

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
        if jax_fn is jlax.scatter and update_jaxpr is not None:  # scatter_apply
            def func(x):
                return eval_jaxpr_jax(update_jaxpr, update_consts, [x, x])[0]
            return jlax.scatter_apply(operand, indices, func, dimension_numbers,
                                      update_shape=np.shape(updates),
                                      indices_are_sorted=indices_are_sorted,
                                      unique_indices=unique_indices, mode=mode)
        return jax_fn(operand, indices, updates, dimension_numbers,
                      indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                      mode=mode)
    return rule


# -- scatter derivatives ------------------------------------------------------------------------
# JAX's definitions throughout. Indices are never differentiated. scatter-add is linear in
# operand and updates; its transpose hands the cotangent to the operand and gathers it back at
# the scattered windows for the updates. scatter-mul is linear in the operand (for fixed
# updates); its derivative in the updates needs unique indices, as in JAX. scatter-min/max split
# the derivative evenly among the values that tie for the result. scatter with repeated indices
# differentiates through the update that lands, found by scattering update ids.
def _scatter_opts(indices_are_sorted, unique_indices, mode):
    return {"indices_are_sorted": indices_are_sorted, "unique_indices": unique_indices,
            "mode": mode}


def _zero_out(ans):
    return Zero(tangent_aval(to_aval(ans)))


def _scatter_add_jvp(primals, tangents, *, _prim=None, **params):
    # scatter-add and scatter-sub: linear in the operand and the updates together
    prim = _prim or scatter_add_p
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    ans = prim.bind(operand, indices, updates, **params)
    if isinstance(t_updates, Zero):
        # adding nothing: the operand's tangent passes through (or the output has none)
        return ans, _zero_out(ans) if isinstance(t_operand, Zero) else t_operand
    if isinstance(t_operand, Zero):
        t_operand = _zeros(to_aval(operand).shape, to_aval(t_updates).dtype)
    return ans, prim.bind(t_operand, indices, t_updates, **params)


def _gather_updates_ct(ct, indices, updates_shape, dn, mode):
    """The cotangent of a scatter's updates: the output cotangent read at their windows."""
    return gather(ct, indices, _gather_dnums_of_scatter(dn),
                  _window_sizes(dn, to_aval(ct).ndim, updates_shape), mode=mode, fill_value=0)


def _check_indices_known(name, indices):
    if is_undefined(indices):
        raise NotImplementedError(f"{name} is not linear in its indices; only the operand and "
                                  "updates can be transposed.")


def _scatter_add_transpose(ct, operand, indices, updates, *, dimension_numbers, mode,
                           _negate=False, **_):
    _check_indices_known("scatter-sub" if _negate else "scatter-add", indices)
    if isinstance(ct, Zero):
        return [None, None, None]
    operand_ct = ct if is_undefined(operand) else None
    updates_ct = None
    if is_undefined(updates):
        updates_ct = _gather_updates_ct(ct, indices, updates.aval.shape, dimension_numbers,
                                        mode)
        updates_ct = neg(updates_ct) if _negate else updates_ct
    return [operand_ct, None, updates_ct]


def _scatter_mul_jvp_operand(t, ans, operand, indices, updates, **params):
    return scatter_mul_p.bind(t, indices, updates, **params)


def _needs_unique(name: str, unique_indices: bool) -> None:
    if not unique_indices:
        raise NotImplementedError(
            f"{name} gradients with respect to the updates are only implemented if "
            "`unique_indices=True` (as in JAX): with repeated indices, the derivative of one "
            "update depends on the others at the same position. Pass unique_indices=True when "
            "the indices are unique, or differentiate only with respect to the operand.")


def _scatter_mul_jvp_updates(t, ans, operand, indices, updates, *, dimension_numbers,
                             indices_are_sorted, unique_indices, mode, **_):
    # out = x * u at the scattered positions: d out = x * (t scattered into zeros)
    _needs_unique("scatter_mul", unique_indices)
    zeros = _zeros(to_aval(operand).shape, to_aval(t).dtype)
    return mul(operand, scatter_add(zeros, indices, t, dimension_numbers,
                                    **_scatter_opts(indices_are_sorted, unique_indices, mode)))


def _scatter_mul_transpose(ct, operand, indices, updates, *, dimension_numbers,
                           indices_are_sorted, unique_indices, mode, **_):
    _check_indices_known("scatter-mul", indices)
    if is_undefined(operand) and is_undefined(updates):
        raise NotImplementedError("scatter-mul is not linear in operand and updates at once.")
    if isinstance(ct, Zero):
        return [None, None, None]
    opts = _scatter_opts(indices_are_sorted, unique_indices, mode)
    if is_undefined(operand):
        return [scatter_mul(ct, indices, updates, dimension_numbers, **opts), None, None]
    _needs_unique("scatter_mul", unique_indices)
    return [None, None, _gather_updates_ct(mul(ct, operand), indices, updates.aval.shape,
                                           dimension_numbers, mode)]


def _scatter_extremal_jvp(prim):
    """scatter-min/max: the result at a position is the operand's value or an update's; the
    derivative there is the average of the tangents of every value equal to the result."""
    def rule(primals, tangents, **params):
        operand, indices, updates = primals
        t_operand, _, t_updates = tangents
        ans = prim.bind(operand, indices, updates, **params)
        dn, mode = params["dimension_numbers"], params["mode"]
        opts = _scatter_opts(params["indices_are_sorted"], params["unique_indices"], mode)
        op_aval, up_aval = to_aval(operand), to_aval(updates)
        gdn = _gather_dnums_of_scatter(dn)
        sizes = _window_sizes(dn, op_aval.ndim, up_aval.shape)

        def read(x):  # the values at each update's window
            return gather(x, indices, gdn, sizes, mode=mode, fill_value=0)

        def count(x):  # how many of the updates ``x`` (0/1) land at each update's window
            return read(scatter_add(_full_like(operand, 0), indices, x, dn, mode=mode))

        target = read(ans)
        won = eq(updates, target)          # this update is (one of) the result
        kept = eq(read(operand), target)   # the operand's value is (one of) the result
        one, zero = _full_like(updates, 1), _full_like(updates, 0)
        n_won = count(select(won, one, zero))
        n_refs = count(one)
        share = select(kept, div(one, add(n_won, one)), div(one, n_won))
        updates_coef = select(won, share, zero)
        # spread over the n_refs updates reading this position: each removes its part of the
        # operand's tangent, so that the operand keeps 1/(n_won + 1) of it (or nothing)
        operand_coef = div(sub(select(kept, div(one, add(n_won, one)), zero), one), n_refs)
        # the weak types as JAX's rule gives them: zero tangents as zeros of the operands'
        # types, the coefficients typed by the operands, the tangents combined with numpy's
        # promotion (JAX's rule writes ``*`` and ``+``)
        if isinstance(t_operand, Zero):
            t_operand = _full_like(operand, 0)
        if isinstance(t_updates, Zero):
            t_updates = _full_like(updates, 0)
        t_scattered = _np_promoted(add, _np_promoted(mul, read(t_operand), operand_coef),
                                   _np_promoted(mul, t_updates, updates_coef))
        return ans, scatter_add(t_operand, indices, t_scattered, dn, **opts)
    return rule


def _scatter_jvp(primals, tangents, **params):
    if params["update_jaxpr"] is not None:
        raise NotImplementedError(
            "scatter_apply is not differentiable (as in JAX): its function may be applied "
            "several times at one index. Write the update with `x.at[idx].set(f(x[idx]))` to "
            "differentiate it.")
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    dn, mode = params["dimension_numbers"], params["mode"]
    opts = _scatter_opts(params["indices_are_sorted"], params["unique_indices"], mode)
    if params["unique_indices"]:
        # no overlaps: the tangents scatter the same way
        ans = scatter_p.bind(operand, indices, updates, **params)
        up_aval = to_aval(updates)
        if isinstance(t_updates, Zero):
            t_updates = _zeros(up_aval.shape, to_aval(t_operand).dtype)
        if isinstance(t_operand, Zero):
            t_operand = _zeros(to_aval(operand).shape, to_aval(t_updates).dtype)
        return ans, scatter_p.bind(t_operand, indices, t_updates, **params)
    # Repeated indices: which update lands is unspecified. Scatter a positive id per update,
    # read the ids back at each update's window: the updates whose id is read back are the ones
    # that landed, positions holding id 0 kept the operand. The result (primal and tangent) is
    # then a scatter-add of the masked values, consistent with each other by construction.
    op_aval, up_aval = to_aval(operand), to_aval(updates)
    ids = _update_ids(up_aval.shape, dn.update_window_dims)
    scattered = scatter(_zeros(op_aval.shape, np.int32), indices, ids, dn, **opts)
    read_back = gather(scattered, indices, _gather_dnums_of_scatter(dn),
                       _window_sizes(dn, op_aval.ndim, up_aval.shape), mode=mode, fill_value=0)
    keep_operand = eq(scattered, _zeros(op_aval.shape, np.int32))
    landed = eq(ids, read_back)

    def combine(x, u):
        xm = select(keep_operand, x, _full_like(x, 0))
        if u is None:
            return xm
        return scatter_add(xm, indices, select(landed, u, _full_like(u, 0)), dn, **opts)

    ans = combine(operand, updates)
    if isinstance(t_operand, Zero) and isinstance(t_updates, Zero):
        return ans, _zero_out(ans)
    if isinstance(t_operand, Zero):
        t_operand = _zeros(op_aval.shape, to_aval(t_updates).dtype)
    return ans, combine(t_operand, None if isinstance(t_updates, Zero) else t_updates)


def _update_ids(updates_shape: Sequence[int], window_dims: Sequence[int]) -> Any:
    """int32 ids 1, 2, ... numbering the updates' windows, broadcast over each window."""
    scatter_pos = tuple(d for d in range(len(updates_shape)) if d not in window_dims)
    scatter_shape = tuple(updates_shape[d] for d in scatter_pos)
    n = int(np.prod(scatter_shape, dtype=np.int64))
    ids = add(iota(np.int32, n), full((n,), 1, np.int32))
    return broadcast_in_dim(reshape(ids, scatter_shape), tuple(updates_shape), scatter_pos)


def _scatter_transpose(ct, operand, indices, updates, *, dimension_numbers,
                       indices_are_sorted, unique_indices, mode, **_):
    # Linear in (operand, updates) jointly when no two updates overlap: the operand's
    # cotangent is ct with the overwritten windows zeroed, the updates' is ct read there.
    _check_indices_known("scatter", indices)
    if not unique_indices:
        raise NotImplementedError(
            "scatter transpose is only implemented where unique_indices=True (as in JAX): "
            "with repeated indices, which update lands is unspecified. Differentiating "
            "(grad, vjp) a scatter with repeated indices works; only linear_transpose of one "
            "needs the promise.")
    if isinstance(ct, Zero):
        return [None, None, None]
    up_shape = updates.aval.shape if is_undefined(updates) else to_aval(updates).shape
    operand_ct = updates_ct = None
    if is_undefined(operand):
        operand_ct = scatter(ct, indices, _zeros(up_shape, to_aval(ct).dtype),
                             dimension_numbers, indices_are_sorted=indices_are_sorted,
                             unique_indices=True, mode=mode)
    if is_undefined(updates):
        updates_ct = _gather_updates_ct(ct, indices, up_shape, dimension_numbers, mode)
    return [operand_ct, None, updates_ct]


def _full_like(x: Any, value: Any) -> Any:
    return full_like(x, value)


# -- scatter batching ---------------------------------------------------------------------------
# One scatter with the batch axis in the dimension numbers, kept where it is when they allow:
# - unbatched indices: the batch axis is one more window dim (the updates' batch axis moves only
#   if it sits outside the range of update dims that can hold that window dim);
# - batched indices: a batching-dims pair (operand axis, indices axis), the updates' batch axis
#   being the matching scatter dim of the updates (the smaller of indices and updates moves
#   when they disagree). An unbatched operand is broadcast: each example writes its own copy.
def _scatter_batch_rule(prim):
    def rule(axis_size, vals, dims, *, dimension_numbers, **params):
        (operand, indices, updates), (ob, ib, ub) = vals, dims
        dn = dimension_numbers
        window = dn.update_window_dims
        up_rank = to_aval(updates).ndim - (ub is not not_mapped)
        if ib is not_mapped:
            dropped = set(dn.inserted_window_dims) | set(dn.operand_batching_dims)
            op_windows = [d for d in range(to_aval(operand).ndim - (ob is not not_mapped))
                          if d not in dropped]
            if ob is not_mapped:
                k = sum(1 for w in window if w < ub)  # window dims before the updates' axis
                ob = op_windows[k - 1] + 1 if k else 0
                operand = broadcast_batch(operand, axis_size, ob)
            else:
                k = sum(1 for d in op_windows if d < ob)
                lo = window[k - 1] + 1 if k else 0
                hi = window[k] if k < len(window) else up_rank
                if ub is not_mapped:
                    updates, ub = broadcast_batch(updates, axis_size, lo), lo
                elif not lo <= ub <= hi:
                    updates, ub = moveaxis(updates, ub, lo), lo
            new_dn = ScatterDimensionNumbers(
                update_window_dims=window[:k] + (ub,) + tuple(w + 1 for w in window[k:]),
                inserted_window_dims=_shift_dims(dn.inserted_window_dims, ob),
                scatter_dims_to_operand_dims=_shift_dims(dn.scatter_dims_to_operand_dims, ob),
                operand_batching_dims=_shift_dims(dn.operand_batching_dims, ob),
                scatter_indices_batching_dims=dn.scatter_indices_batching_dims)
            return prim.bind(operand, indices, updates, dimension_numbers=new_dn,
                             **params), ob

        # the updates' scatter dims are the indices' batch dims, in order
        free = [d for d in range(up_rank) if d not in window]
        if ib == to_aval(indices).ndim - 1 and ub is not not_mapped:
            # the index vectors must stay last: move the batch axis straight to where the
            # updates have theirs
            dst = sum(1 for d in free if d < ub)
            indices, ib = moveaxis(indices, ib, dst), dst
        indices, ib = _indices_bdim_ok(indices, ib)
        lo = free[ib - 1] + 1 if ib else 0
        hi = free[ib] if ib < len(free) else up_rank
        if ub is not_mapped:
            updates, ub = broadcast_batch(updates, axis_size, lo), lo
        elif not lo <= ub <= hi:
            if to_aval(indices).size <= to_aval(updates).size:
                dst = sum(1 for d in free if d < ub)
                indices, ib = moveaxis(indices, ib, dst), dst
            else:
                updates, ub = moveaxis(updates, ub, lo), lo
        if ob is not_mapped:
            operand, ob = broadcast_batch(operand, axis_size, 0), 0
        op_batching, idx_batching = _pair_batching(
            _shift_dims(dn.operand_batching_dims, ob),
            _shift_dims(dn.scatter_indices_batching_dims, ib), ob, ib)
        new_dn = ScatterDimensionNumbers(
            update_window_dims=_shift_dims(window, ub),
            inserted_window_dims=_shift_dims(dn.inserted_window_dims, ob),
            scatter_dims_to_operand_dims=_shift_dims(dn.scatter_dims_to_operand_dims, ob),
            operand_batching_dims=op_batching, scatter_indices_batching_dims=idx_batching)
        return prim.bind(operand, indices, updates, dimension_numbers=new_dn, **params), ob
    return rule


scatter_p = Primitive("scatter")
abstract_eval[scatter_p] = _scatter_abstract_eval("scatter")
to_jax[scatter_p] = _scatter_to_jax(jlax.scatter)
jvp_rules[scatter_p] = _scatter_jvp
transpose_rules[scatter_p] = _scatter_transpose
batch_rules[scatter_p] = _scatter_batch_rule(scatter_p)

scatter_add_p = Primitive("scatter-add")
abstract_eval[scatter_add_p] = _scatter_abstract_eval("scatter-add")
to_jax[scatter_add_p] = _scatter_to_jax(jlax.scatter_add)
jvp_rules[scatter_add_p] = _scatter_add_jvp
transpose_rules[scatter_add_p] = _scatter_add_transpose
batch_rules[scatter_add_p] = _scatter_batch_rule(scatter_add_p)

scatter_sub_p = Primitive("scatter-sub")
abstract_eval[scatter_sub_p] = _scatter_abstract_eval("scatter-sub")
to_jax[scatter_sub_p] = _scatter_to_jax(jlax.scatter_sub)
jvp_rules[scatter_sub_p] = lambda primals, tangents, **params: _scatter_add_jvp(
    primals, tangents, _prim=scatter_sub_p, **params)
transpose_rules[scatter_sub_p] = lambda ct, *args, **params: _scatter_add_transpose(
    ct, *args, _negate=True, **params)
batch_rules[scatter_sub_p] = _scatter_batch_rule(scatter_sub_p)

scatter_mul_p = Primitive("scatter-mul")
abstract_eval[scatter_mul_p] = _scatter_abstract_eval("scatter-mul")
to_jax[scatter_mul_p] = _scatter_to_jax(jlax.scatter_mul)
defjvp(scatter_mul_p, _scatter_mul_jvp_operand, None, _scatter_mul_jvp_updates)
transpose_rules[scatter_mul_p] = _scatter_mul_transpose
batch_rules[scatter_mul_p] = _scatter_batch_rule(scatter_mul_p)

scatter_min_p = Primitive("scatter-min")
abstract_eval[scatter_min_p] = _scatter_abstract_eval("scatter-min")
to_jax[scatter_min_p] = _scatter_to_jax(jlax.scatter_min)
jvp_rules[scatter_min_p] = _scatter_extremal_jvp(scatter_min_p)
batch_rules[scatter_min_p] = _scatter_batch_rule(scatter_min_p)

scatter_max_p = Primitive("scatter-max")
abstract_eval[scatter_max_p] = _scatter_abstract_eval("scatter-max")
to_jax[scatter_max_p] = _scatter_to_jax(jlax.scatter_max)
jvp_rules[scatter_max_p] = _scatter_extremal_jvp(scatter_max_p)
batch_rules[scatter_max_p] = _scatter_batch_rule(scatter_max_p)

# the combining function each scatter carries in its update_jaxpr param (None for scatter)
_COMBINERS = {scatter_add_p: add_p, scatter_sub_p: sub_p, scatter_mul_p: mul_p,
              scatter_min_p: min_p, scatter_max_p: max_p}
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


def scatter_sub(operand: Any, scatter_indices: Any, updates: Any,
                dimension_numbers: ScatterDimensionNumbers, *, indices_are_sorted: bool = False,
                unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    return _scatter(scatter_sub_p, operand, scatter_indices, updates, dimension_numbers,
                    indices_are_sorted, unique_indices, mode)


_apply_jaxprs = WeakCache("scatter_apply: traced update functions")


def scatter_apply(operand: Any, scatter_indices: Any, func: Any,
                  dimension_numbers: ScatterDimensionNumbers, *, update_shape: Sequence[int] = (),
                  indices_are_sorted: bool = False, unique_indices: bool = False,
                  mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` with ``func`` applied to its elements at ``scatter_indices``, as
    ``jax.lax.scatter_apply``: a ``scatter`` whose update computation is ``func`` (a repeated
    index applies it repeatedly). ``update_shape`` is the shape the updates of a scatter with
    these ``dimension_numbers`` would have. Not differentiable, as in JAX.

    >>> xform.lax.scatter_apply(jnp.zeros(3), jnp.array([[1]]), lambda v: v + 1,
    ...     ScatterDimensionNumbers((), (0,), (0,)), update_shape=(1,))   # [0., 1., 0.]
    """
    aval = to_aval(operand)
    # one jaxpr per (func, dtype), weakly on func: eager calls then reuse one compiled program
    closed = _apply_jaxprs.get((func,), aval.dtype)
    if closed is None:
        scalar = ShapedArray((), aval.dtype)
        closed, _ = trace_to_jaxpr(lambda x, _: ([func(x)], None), [scalar, scalar],
                                   description="scatter_apply function")
        if any(isinstance(c, Tracer) for c in closed.consts):
            raise NotImplementedError(
                "scatter_apply: `func` closes over traced values (as in JAX, an update "
                "computation may depend only on its argument); write "
                "`x.at[idx].set(f(x[idx]))` instead.")
        _apply_jaxprs.put((func,), aval.dtype, closed)
    params = {"dimension_numbers": _scatter_dnums("scatter_apply", dimension_numbers),
              "indices_are_sorted": bool(indices_are_sorted),
              "unique_indices": bool(unique_indices), "mode": GatherScatterMode.from_any(mode),
              "update_jaxpr": closed.jaxpr, "update_consts": tuple(closed.consts)}
    unused = _zeros(tuple(int(d) for d in update_shape), aval.dtype)
    return _bind_checked(scatter_p, [operand, scatter_indices, unused], params)


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
scatter_sub.__doc__ = _SCATTER_DOC.format(
    summary="Subtracts ``updates`` from ``operand`` at ``scatter_indices``",
    name="scatter_sub", extra=" by subtraction (repeated indices accumulate)")
scatter_mul.__doc__ = _SCATTER_DOC.format(
    summary="Multiplies ``operand`` by ``updates`` at ``scatter_indices``", name="scatter_mul",
    extra=" by multiplication (repeated indices accumulate)")
scatter_min.__doc__ = _SCATTER_DOC.format(
    summary="Elementwise minimum of ``operand`` and ``updates`` at ``scatter_indices``",
    name="scatter_min", extra=" by taking the minimum")
scatter_max.__doc__ = _SCATTER_DOC.format(
    summary="Elementwise maximum of ``operand`` and ``updates`` at ``scatter_indices``",
    name="scatter_max", extra=" by taking the maximum")
