"""``dot_general``: general tensor contraction, with its rules, and ``dot`` / ``batch_matmul``.

The shape rule is written out here; ``to_jax`` is ``jax.lax.dot_general``. The rules pick operand
orders and report batch axes where they land, so that neither a gradient nor a vmap adds a
transpose a person would not write (see ``_dot_operand_ct`` and ``_dot_general_batch``).

The operand order the transpose rule picks is the one XLA:CPU runs fastest. Where it is not the
order JAX's rule takes, the equation carries ``swap_off_cpu=True``: the lowering then decides per
platform (``jax.lax.platform_dependent``, resolved when the program is lowered, so one jaxpr
serves every platform): CPU gets the equation as it is, other platforms JAX's form, the operands
the other way round and a transpose of the result (``_dot_general_to_jax``).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import numpy as np
from jax import lax as jlax


from xform.core.avals import ShapedArray, out_sharding_param
from xform.core.jax_internals import canonicalize_precision
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_rules, batched_sharding, not_mapped, prefer_last, shift_axis,
)
from xform.interpreters.jvp import Zero, defjvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.sharding_types import spec_of
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as _ew
from xform.lax._helpers import shape_str
from xform.lax._window_args import _int_tuple, _user_dtype, padtype_to_pads
from xform.lax.shape import transpose as _transpose

__all__ = ["batch_matmul", "dot", "dot_general", "padtype_to_pads"]


# -- dot_general ----------------------------------------------------------------------------
class _Axes(tuple):
    """A tuple of axes that prints as a list, the way JAX prints dot_general's
    ``dimension_numbers``: ``(([1], [0]), ([], []))``. Hashes and compares as a tuple."""

    __slots__ = ()

    def __repr__(self):
        return repr(list(self))


def _dot_dimension_numbers(dimension_numbers: Any) -> tuple:
    """``((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))`` as hashable, printable
    tuples of ints (a bare int stands for a one-axis sequence, as in JAX)."""
    try:
        (lc, rc), (lb, rb) = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError("dot_general's dimension_numbers must be ((lhs_contracting, "
                        "rhs_contracting), (lhs_batch, rhs_batch)), got "
                        f"{dimension_numbers!r}.") from None

    def axes(xs):
        if isinstance(xs, (int, np.integer)):
            xs = (xs,)
        return _Axes(_int_tuple("dot_general", "dimension_numbers entries", xs))

    return (axes(lc), axes(rc)), (axes(lb), axes(rb))


def _dtype_rank(dtype: np.dtype) -> tuple:
    # the "higher precision" order XLA uses to pick a dot's result type from mixed inputs:
    # complex beats real, then exponent range, then mantissa, then width, then signedness
    cplx = jax.dtypes.issubdtype(dtype, np.complexfloating)
    if jax.dtypes.issubdtype(dtype, np.inexact):
        info = jax.dtypes.finfo(dtype)
        return (cplx, int(info.maxexp), int(info.nmant), int(info.bits), True)
    bits = 1 if dtype == np.bool_ else int(jax.dtypes.iinfo(dtype).bits)
    return (False, -1, -1, bits, not jax.dtypes.issubdtype(dtype, np.unsignedinteger))


def _dot_general_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers,
                               precision=None, preferred_element_type=None, out_sharding=None,
                               swap_off_cpu=False):
    # the result's sharding type (out_sharding's, or the operands') is JAX's, set by
    # xform/interpreters/sharding_types.py
    (lc, rc), (lb, rb) = dimension_numbers
    for side, aval, contract, batch in (("lhs", lhs, lc, lb), ("rhs", rhs, rc, rb)):
        if not all(0 <= d < aval.ndim for d in contract + batch):
            raise TypeError(
                f"dot_general requires {side} dimension numbers to be nonnegative and less "
                f"than the number of axes of the {side} value, got {side}_batch of "
                f"{list(batch)} and {side}_contracting of {list(contract)} for {side} of "
                f"shape {shape_str(aval.shape)} (rank {aval.ndim}).")
        for what, dims in (("contracting", contract), ("batch", batch)):
            if len(set(dims)) != len(dims):
                raise TypeError(f"dot_general requires {side} {what} dimensions to be "
                                f"distinct, got {side}_{what} {list(dims)}.")
        if set(contract) & set(batch):
            raise TypeError(f"dot_general requires {side} batch dimensions to be disjoint from "
                            f"contracting dimensions, got {side}_batch {list(batch)} and "
                            f"{side}_contracting {list(contract)}.")
    if len(lb) != len(rb):
        raise TypeError(f"dot_general requires equal numbers of lhs_batch and rhs_batch "
                        f"dimensions, got lhs_batch {list(lb)} and rhs_batch {list(rb)}.")
    for what, ld, rd in (("batch", lb, rb), ("contracting", lc, rc)):
        ls, rs = tuple(lhs.shape[d] for d in ld), tuple(rhs.shape[d] for d in rd)
        if ls != rs:
            raise TypeError(
                f"dot_general requires {what} dimensions to have the same shape, got "
                f"{shape_str(ls)} and {shape_str(rs)}: lhs of shape {shape_str(lhs.shape)} "
                f"has {what} dimensions {list(ld)}, rhs of shape {shape_str(rhs.shape)} has "
                f"{what} dimensions {list(rd)}. Pick dimensions of equal sizes, or transpose "
                "or reshape an operand first.")

    lhs_free = [s for d, s in enumerate(lhs.shape) if d not in lc and d not in lb]
    rhs_free = [s for d, s in enumerate(rhs.shape) if d not in rc and d not in rb]
    shape = tuple(lhs.shape[d] for d in lb) + tuple(lhs_free) + tuple(rhs_free)

    lr, rr = _dtype_rank(lhs.dtype), _dtype_rank(rhs.dtype)
    if lr == rr and lhs.dtype != rhs.dtype:
        raise TypeError(f"lax.dot_general argument type error: {lhs.dtype.name}, "
                        f"{rhs.dtype.name}. Convert one operand with "
                        "xform.lax.convert_element_type.")
    dtype = lhs.dtype if lr >= rr else rhs.dtype
    if preferred_element_type is not None and preferred_element_type != dtype:
        if (not jax.dtypes.issubdtype(dtype, np.floating)
                and _dtype_rank(preferred_element_type)[3] < _dtype_rank(dtype)[3]):
            raise TypeError(
                "`preferred_element_type` must not be narrower than the original type, got "
                f"preferred_element_type of {preferred_element_type.name} for result type of "
                f"{dtype.name}.")
        dtype = preferred_element_type
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


def _dot_general_to_jax(lhs, rhs, *, dimension_numbers, precision=None,
                        preferred_element_type=None, out_sharding=None, swap_off_cpu=False):
    (lc, rc), (lb, rb) = dimension_numbers
    dims = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
    if out_sharding is not None:
        return jlax.dot_general(lhs, rhs, dims, precision=precision,
                                preferred_element_type=preferred_element_type,
                                out_sharding=out_sharding)
    as_is = functools.partial(jlax.dot_general, dimension_numbers=dims, precision=precision,
                              preferred_element_type=preferred_element_type)
    if not swap_off_cpu:
        return as_is(lhs, rhs)
    # the transpose rule's operand order is XLA:CPU's best; elsewhere (an H100 ran the
    # per-example gradients of an MLP 1.26x slower in it) the program is JAX's
    return jlax.platform_dependent(
        lhs, rhs, cpu=as_is,
        default=functools.partial(_dot_general_swapped, dimension_numbers=dims,
                                  precision=precision,
                                  preferred_element_type=preferred_element_type))


def _dot_general_swapped(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    """``dot_general(lhs, rhs)`` computed as ``dot_general(rhs, lhs)`` (the form JAX's transpose
    rule emits), its result transposed to lhs-then-rhs axis order (no transpose where one
    side has no free axes)."""
    (lc, rc), (lb, rb) = dimension_numbers
    prec = precision[::-1] if _is_pair(precision) else precision
    out = jlax.dot_general(rhs, lhs, ((rc, lc), (rb, lb)), precision=prec,
                           preferred_element_type=preferred_element_type)
    nb = len(lb)
    nl, nr = np.ndim(lhs) - len(lc) - nb, np.ndim(rhs) - len(rc) - nb
    if nl == 0 or nr == 0:
        return out
    # out: batch, rhs's free axes, lhs's free axes
    return jlax.transpose(out, (*range(nb), *range(nb + nr, nb + nr + nl),
                                *range(nb, nb + nr)))


dot_general_p = Primitive("dot_general")
dot_general_p.layout_param = "out_sharding"
# JAX leaves None-valued precision and preferred_element_type out of the printed form, and
# out_sharding too (the result's type shows it); swap_off_cpu is only ever present as True
dot_general_p.pp_params = lambda params: [
    (k, v) for k, v in sorted(params.items())
    if (v is not None or k == "dimension_numbers") and k != "out_sharding"]
abstract_eval[dot_general_p] = _dot_general_abstract_eval
to_jax[dot_general_p] = _dot_general_to_jax


# dot_general is bilinear: each operand's tangent goes through the same contraction.
defjvp(dot_general_p,
       lambda t, ans, lhs, rhs, **params: dot_general_p.bind(t, rhs, **params),
       lambda t, ans, lhs, rhs, **params: dot_general_p.bind(lhs, t, **params))


def _is_pair(precision: Any) -> bool:
    # (lhs, rhs) precisions follow their operands when these trade places; a single setting
    # or a dot algorithm applies to both
    return isinstance(precision, tuple) and len(precision) == 2


def _moved(shape: tuple, perm) -> int:
    """Elements a transpose of an array of ``shape`` by ``perm`` moves: none when only axes of
    size 1 change places (XLA makes that a bitcast), else all of them."""
    big = [a for a in perm if shape[a] != 1]
    return 0 if big == sorted(big) else int(np.prod(shape, dtype=np.int64))


def _dot_copies(lhs_shape: tuple, rhs_shape: tuple, lc, rc, lb, rb) -> int:
    """Elements XLA copies to bring a dot_general's operands into the form its matrix products
    take: batch axes first, then lhs (free, contracted) and rhs (contracted, free), each group
    flattened to one axis. A dot with batch axes in front and at most one contracted and one
    free axis per operand runs as it is (a 2-D product takes either operand transposed)."""
    lf = [d for d in range(len(lhs_shape)) if d not in lc and d not in lb]
    rf = [d for d in range(len(rhs_shape)) if d not in rc and d not in rb]
    if (len(lc) == 1 and len(lf) <= 1 and len(rf) <= 1
            and list(lb) == list(range(len(lb))) and list(rb) == list(range(len(rb)))):
        return 0
    return _moved(lhs_shape, [*lb, *lf, *lc]) + _moved(rhs_shape, [*rb, *rc, *rf])


def _layout_sharding(x_aval: ShapedArray, others, layout) -> dict:
    """``{"out_sharding": ...}`` for the contraction giving ``x``'s cotangent with its axes in
    ``layout`` order, where sharding types are in play (an aval involved carries one): ``x``'s
    own sharding, permuted, as JAX's transpose passes it (a contraction over a split dimension
    must be told its result's layout); else nothing, so plain programs keep their params."""
    if x_aval.sharding is None and all(to_aval(o).sharding is None for o in others):
        return {}
    # a reduced operand's cotangent is unreduced (and the other way round), as in JAX
    ct_spec = spec_of(x_aval).to_ct_spec()
    spec = tuple(ct_spec.partitions) + (None,) * x_aval.ndim
    return {"out_sharding": ct_spec.update(partitions=tuple(spec[d] for d in layout))}


def _dot_operand_ct(ct: Any, x_aval: ShapedArray, y: Any, x_contract, y_contract, x_batch,
                    y_batch, x_is_lhs: bool, precision: Any, preferred_element_type: Any) -> Any:
    """The cotangent of operand ``x`` of ``dot_general`` (``y`` is the other operand).

    It is one contraction of ``ct`` with ``y`` over ``y``'s free axes, batched over the batch
    axes, whose result is laid out as ``batch + ct's free + y's free`` or, with the operands
    swapped, ``batch + y's free + ct's free`` (batch pairs listed in ``x``'s axis order). The
    rule takes the order that moves the fewest elements: a transpose of the result where its
    layout is not ``x``'s, plus the copies XLA makes of operands whose contracted axes sit on
    the wrong side for a matrix product (``_dot_copies``). For ``x @ w`` the weight gradient
    is the outer product of ``x`` and ``ct``: emitted as ``dot_general(x, ct)`` it comes out as
    ``(in, out)`` directly (and under vmap as ``(batch, in, out)``), where
    ``dot_general(ct, x)`` would need a transpose of the whole result. For ``h @ w`` with ``h``
    of shape ``(time, batch, in)`` and ``w`` of shape ``(in, 1)``, ``dot_general(ct, h)``
    yields ``(1, in)`` (its transpose is a bitcast) where ``dot_general(h, ct)`` would make
    XLA copy all of ``h`` to put its contracted axes last.
    """
    nb = len(x_batch)
    x_free = [d for d in range(x_aval.ndim) if d not in x_contract and d not in x_batch]
    y_free = [d for d in range(to_aval(y).ndim) if d not in y_contract and d not in y_batch]
    # ct's axes: the batch axes, then lhs's free axes, then rhs's
    start = nb if x_is_lhs else nb + len(y_free)
    ct_x = list(range(start, start + len(x_free)))
    ct_y = [a for a in range(nb, nb + len(x_free) + len(y_free)) if a not in ct_x]
    order = sorted(range(nb), key=lambda i: x_batch[i])
    ct_batch, y_batch_sorted = _Axes(order), _Axes(y_batch[i] for i in order)
    # y's axes left after the contraction are its contracting axes (in y's axis order), which
    # are x's contracting axes
    x_from_y = [x_contract[i] for i in np.argsort(y_contract)]
    x_batch_sorted = [x_batch[i] for i in order]
    identity = list(range(x_aval.ndim))
    ct_first = x_batch_sorted + x_free + x_from_y
    y_first = x_batch_sorted + x_from_y + x_free
    if _is_pair(precision):
        x_prec, y_prec = precision if x_is_lhs else precision[::-1]
    y_shape, ct_shape = to_aval(y).shape, to_aval(ct).shape
    out_ct = tuple(x_aval.shape[d] for d in ct_first)
    out_y = tuple(x_aval.shape[d] for d in y_first)
    cost_ct = (_moved(out_ct, np.argsort(ct_first))
               + _dot_copies(ct_shape, y_shape, ct_y, y_free, ct_batch, y_batch_sorted))
    cost_y = (_moved(out_y, np.argsort(y_first))
              + _dot_copies(y_shape, ct_shape, y_free, ct_y, y_batch_sorted, ct_batch))
    if cost_y < cost_ct or (cost_y == cost_ct and ct_first != identity
                            and y_first == identity):
        dims = ((_Axes(y_free), _Axes(ct_y)), (y_batch_sorted, ct_batch))
        prec = (y_prec, x_prec) if _is_pair(precision) else precision
        # JAX's rule contracts (ct, y); off CPU the lowering emits that form (module doc).
        # Not with sharding types: the out_sharding describes this operand order's layout
        sharding = _layout_sharding(x_aval, (ct, y), y_first)
        out = dot_general_p.bind(y, ct, dimension_numbers=dims, precision=prec,
                                 preferred_element_type=preferred_element_type,
                                 **(sharding or _SWAP_OFF_CPU))
        layout = y_first
    else:
        dims = ((_Axes(ct_y), _Axes(y_free)), (ct_batch, y_batch_sorted))
        prec = (x_prec, y_prec) if _is_pair(precision) else precision
        out = dot_general_p.bind(ct, y, dimension_numbers=dims, precision=prec,
                                 preferred_element_type=preferred_element_type,
                                 **_layout_sharding(x_aval, (ct, y), ct_first))
        layout = ct_first
    if layout != identity:
        out = _transpose(out, tuple(int(i) for i in np.argsort(layout)))
    if to_aval(out).dtype != x_aval.dtype:  # as JAX: cast to the operand's dtype and weak type
        if (np.issubdtype(to_aval(out).dtype, np.complexfloating)
                and not np.issubdtype(x_aval.dtype, np.complexfloating)):
            out = _ew.real(out)
        out = _ew._convert_weak(out, x_aval.dtype, x_aval.weak_type)
    return out


_SWAP_OFF_CPU = {"swap_off_cpu": True}


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers, precision,
                           preferred_element_type, out_sharding=None, swap_off_cpu=False):
    # (swap_off_cpu only steers this equation's lowering: the cotangents' contractions choose
    # their own operand order)
    if is_undefined(lhs) and is_undefined(rhs):
        raise NotImplementedError("dot_general is linear in each operand separately, not in "
                                  "both together.")
    if isinstance(ct, Zero):
        return [None, None]
    (lc, rc), (lb, rb) = dimension_numbers
    if is_undefined(lhs):
        return [_dot_operand_ct(ct, lhs.aval, rhs, lc, rc, lb, rb, True, precision,
                                preferred_element_type), None]
    return [None, _dot_operand_ct(ct, rhs.aval, lhs, rc, lc, rb, lb, False, precision,
                                  preferred_element_type)]


transpose_rules[dot_general_p] = _dot_general_transpose


def _batched_sharding(out_sharding: Any, ndim: int, at: int) -> dict:
    """``out_sharding`` (of the rank-``ndim`` per-example result) for the batched contraction,
    with the batch axis at ``at``."""
    if out_sharding is None:
        return {}
    return {"out_sharding": batched_sharding(out_sharding, ndim, at)}


def _dot_general_batch(axis_size, vals, dims, *, dimension_numbers, precision,
                       preferred_element_type, out_sharding=None, swap_off_cpu=False):
    """Both operands batched: the batch axes pair up as one more dot_general batch dimension
    (the result's first axis). One batched: its batch axis is one more free axis, and the
    result's batch axis is reported where it lands (no transpose). When only rhs is batched
    and that is its only free axis (``w @ x`` with a batched vector), the operands trade
    places so that the batch axis comes out in front, as a hand-batched ``x @ w.T`` would --
    unless the vmap puts its batch axes last (``out_axes=-1``, as jacfwd does): then the
    natural order already leaves the batch axis last, where it is wanted. ``swap_off_cpu``
    (the transpose rule's mark) stays on the batched contraction, except where this rule swaps
    the operands itself: swapping them off CPU is JAX's batched program too (the batch axes
    pair up the same way either way round)."""
    (lhs, rhs), (lbd, rbd) = vals, dims
    (lc, rc), (lb, rb) = dimension_numbers
    # the per-example result's rank (out_sharding describes it)
    out_ndim = (to_aval(lhs).ndim - (lbd is not not_mapped) + to_aval(rhs).ndim
                - (rbd is not not_mapped) - 2 * len(lc) - len(lb))

    def shifted(axes, bdim):
        return _Axes(shift_axis(a, bdim) for a in axes)

    lc, lb, rc, rb = shifted(lc, lbd), shifted(lb, lbd), shifted(rc, rbd), shifted(rb, rbd)
    params = dict(precision=precision, preferred_element_type=preferred_element_type)
    marked = dict(params, **_SWAP_OFF_CPU) if swap_off_cpu else params
    if lbd is not not_mapped and rbd is not not_mapped:
        dn = ((lc, rc), (_Axes((lbd, *lb)), _Axes((rbd, *rb))))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn, **marked,
                                  **_batched_sharding(out_sharding, out_ndim, 0)), 0
    lhs_free = [d for d in range(to_aval(lhs).ndim) if d not in lc and d not in lb]
    rhs_free = [d for d in range(to_aval(rhs).ndim) if d not in rc and d not in rb]
    if lbd is not_mapped and rhs_free == [rbd] and lhs_free and not prefer_last():
        # (a marked equation is (y, ct): swapped here it is JAX's (ct, y), so the mark goes)
        swapped = dict(params, precision=precision[::-1] if _is_pair(precision) else precision)
        # (the per-example result is lhs's axes either way: rhs's only free axis is the batch)
        out = dot_general_p.bind(rhs, lhs, dimension_numbers=((rc, lc), (rb, lb)), **swapped,
                                 **_batched_sharding(out_sharding, out_ndim, len(rb)))
        return out, len(rb)
    if lbd is not not_mapped:
        at = len(lb) + lhs_free.index(lbd)
    else:
        at = len(lb) + len(lhs_free) + rhs_free.index(rbd)
    out = dot_general_p.bind(lhs, rhs, dimension_numbers=((lc, rc), (lb, rb)), **marked,
                             **_batched_sharding(out_sharding, out_ndim, at))
    return out, at


batch_rules[dot_general_p] = _dot_general_batch


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None,
                preferred_element_type: Any = None, out_sharding: Any = None) -> Any:
    """General contraction, as ``jax.lax.dot_general``.

    ``dimension_numbers`` is ``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))``.
    The result's axes are the batch axes, then lhs's remaining axes, then rhs's.
    ``out_sharding`` (a ``PartitionSpec`` or ``NamedSharding`` over Explicit mesh axes) lays
    the result out, as in JAX: needed when a contracted dimension is split over the mesh.

    >>> import numpy as np
    >>> dot_general(np.ones((2, 3)), np.ones((4, 3)), (((1,), (1,)), ((), ()))).shape
    (2, 4)
    """
    return dot_general_p.bind(
        lhs, rhs, dimension_numbers=_dot_dimension_numbers(dimension_numbers),
        precision=canonicalize_precision(precision),
        preferred_element_type=_user_dtype(preferred_element_type),
        **out_sharding_param(out_sharding))


def dot(lhs: Any, rhs: Any, precision: Any = None, preferred_element_type: Any = None, *,
        dimension_numbers: Any = None, out_sharding: Any = None) -> Any:
    """Vector/matrix product of 1-D or 2-D operands, as ``jax.lax.dot``: contracts lhs's last
    axis with rhs's first. With ``dimension_numbers`` it is ``dot_general``."""
    if dimension_numbers is None:
        ls, rs = to_aval(lhs).shape, to_aval(rhs).shape
        if not (1 <= len(ls) <= 2 and 1 <= len(rs) <= 2):
            raise ValueError(
                f"dot takes 1-D or 2-D operands, got shapes {shape_str(ls)} and "
                f"{shape_str(rs)}. Pass dimension_numbers, or use dot_general / "
                "batch_matmul / xform.numpy.matmul for other ranks.")
        if ls[-1] != rs[0]:
            raise ValueError(
                f"dot got incompatible shapes {shape_str(ls)} and {shape_str(rs)}: the last "
                f"axis of lhs ({ls[-1]}) must equal the first axis of rhs ({rs[0]}).")
        dimension_numbers = (((len(ls) - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type,
                       out_sharding)


def batch_matmul(lhs: Any, rhs: Any, precision: Any = None) -> Any:
    """Matrix product over the last two axes, batched over the leading ones (which must
    agree), as ``jax.lax.batch_matmul``."""
    ln, rn = to_aval(lhs).ndim, to_aval(rhs).ndim
    if min(ln, rn) < 2:
        raise ValueError(f"Arguments to batch_matmul must be at least 2D, got {ln}, {rn}")
    if ln != rn:
        raise ValueError(f"Arguments to batch_matmul must have same ndim, got {ln}, {rn}")
    batch = tuple(range(ln - 2))
    return dot_general(lhs, rhs, (((ln - 1,), (rn - 2,)), (batch, batch)), precision)


