"""Linear-algebra-shaped primitives: ``dot_general``, ``conv_general_dilated``, the windowed
reductions (``reduce_window_sum``/``max``/``min``) and the two primitives that max-pooling's
derivatives are written with (``select_and_scatter_add``, ``select_and_gather_add``).

Every shape rule is written out here; ``to_jax`` is the matching ``jax.lax`` call (for the
windowed primitives, which ``jax.lax`` does not export, the functions behind ``jax.lax``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax import lax as jlax
from jax._src.lax import windowed_reductions as _jax_windowed
from jax._src.lax.lax import canonicalize_precision as _canonicalize_precision

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval, eval_abstract
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import (
    batch_rules, move_bdim, moveaxis, not_mapped, shift_axis,
)
from xform.interpreters.jvp import Zero, defjvp, deflinear_jvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as _ew
from xform.lax._helpers import ANY, NUMBER, check_dtype, shape_str
from xform.lax.shape import full as _full
from xform.lax.shape import pad as _pad
from xform.lax.shape import reshape as _reshape
from xform.lax.shape import rev as _rev
from xform.lax.shape import slice as _slice
from xform.lax.shape import transpose as _transpose

__all__ = [
    "ConvDimensionNumbers", "batch_matmul", "conv", "conv_dimension_numbers",
    "conv_general_dilated", "conv_with_general_padding", "dot", "dot_general",
    "padtype_to_pads", "reduce_window",
]

ConvDimensionNumbers = jlax.ConvDimensionNumbers
conv_dimension_numbers = jlax.conv_dimension_numbers


# -- small argument helpers -----------------------------------------------------------------
def _int_tuple(name: str, what: str, xs: Any) -> tuple:
    try:
        return tuple(operator.index(x) for x in xs)
    except TypeError:
        raise TypeError(f"{name} expects {what} to be a sequence of Python ints, "
                        f"got {xs!r}.") from None


def _pairs(name: str, padding: Any) -> tuple:
    try:
        return tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(f"padding argument to {name} should be a string or a sequence of "
                         f"(low, high) pairs of ints, got {padding!r}.") from None


def _dilate(size: int, dilation: int) -> int:
    # dilation d puts d - 1 holes between neighbouring elements
    return 0 if size == 0 else 1 + dilation * (size - 1)


def _user_dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else canonicalize_dtype(dtype)


def padtype_to_pads(in_shape: Sequence[int], window_shape: Sequence[int],
                    window_strides: Sequence[int], padding: str) -> list[tuple[int, int]]:
    """``(low, high)`` padding pairs for ``"SAME"``, ``"SAME_LOWER"`` or ``"VALID"``.

    ``"SAME"`` pads so that the output has ``ceil(in / stride)`` elements, putting an odd
    extra element at the end (``"SAME_LOWER"``: at the start).

    >>> padtype_to_pads((5,), (2,), (1,), "SAME")
    [(0, 1)]
    """
    kind = padding.upper() if isinstance(padding, str) else padding
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise RuntimeError(f"Unrecognized padding type: expected 'VALID', 'SAME', or "
                           f"'SAME_LOWER', got {padding!r}.")
    pads = []
    for size, window, stride in zip(in_shape, window_shape, window_strides):
        out = -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if kind == "SAME" else (big, small))
    return pads


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
                               precision=None, preferred_element_type=None):
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
                        preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    dims = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
    return jlax.dot_general(lhs, rhs, dims, precision=precision,
                            preferred_element_type=preferred_element_type)


dot_general_p = Primitive("dot_general")
# JAX leaves None-valued precision and preferred_element_type out of the printed form
dot_general_p.pp_params = lambda params: [
    (k, v) for k, v in sorted(params.items()) if v is not None or k == "dimension_numbers"]
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


def _dot_operand_ct(ct: Any, x_aval: ShapedArray, y: Any, x_contract, y_contract, x_batch,
                    y_batch, x_is_lhs: bool, precision: Any, preferred_element_type: Any) -> Any:
    """The cotangent of operand ``x`` of ``dot_general`` (``y`` is the other operand).

    It is one contraction of ``ct`` with ``y`` over ``y``'s free axes, batched over the batch
    axes, whose result is laid out as ``batch + ct's free + y's free`` or, with the operands
    swapped, ``batch + y's free + ct's free`` (batch pairs listed in ``x``'s axis order). The
    rule takes the order that already is ``x``'s layout, so it emits no transpose where one
    can be avoided. For ``x @ w`` the weight gradient is the outer product of ``x`` and ``ct``:
    emitted as ``dot_general(x, ct)`` it comes out as ``(in, out)`` directly (and under vmap
    as ``(batch, in, out)``), where ``dot_general(ct, x)`` would need a transpose of the whole
    result.
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
    if ct_first != identity and y_first == identity:
        dims = ((_Axes(y_free), _Axes(ct_y)), (y_batch_sorted, ct_batch))
        prec = (y_prec, x_prec) if _is_pair(precision) else precision
        out = dot_general_p.bind(y, ct, dimension_numbers=dims, precision=prec,
                                 preferred_element_type=preferred_element_type)
        layout = y_first
    else:
        dims = ((_Axes(ct_y), _Axes(y_free)), (ct_batch, y_batch_sorted))
        prec = (x_prec, y_prec) if _is_pair(precision) else precision
        out = dot_general_p.bind(ct, y, dimension_numbers=dims, precision=prec,
                                 preferred_element_type=preferred_element_type)
        layout = ct_first
    if layout != identity:
        out = _transpose(out, tuple(int(i) for i in np.argsort(layout)))
    if to_aval(out).dtype != x_aval.dtype:
        out = _ew.convert_element_type(out, x_aval.dtype)
    return out


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers, precision,
                           preferred_element_type):
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


def _dot_general_batch(axis_size, vals, dims, *, dimension_numbers, precision,
                       preferred_element_type):
    """Both operands batched: the batch axes pair up as one more dot_general batch dimension
    (the result's first axis). One batched: its batch axis is one more free axis, and the
    result's batch axis is reported where it lands (no transpose). When only rhs is batched
    and that is its only free axis (``w @ x`` with a batched vector), the operands trade
    places so that the batch axis comes out in front, as a hand-batched ``x @ w.T`` would."""
    (lhs, rhs), (lbd, rbd) = vals, dims
    (lc, rc), (lb, rb) = dimension_numbers

    def shifted(axes, bdim):
        return _Axes(shift_axis(a, bdim) for a in axes)

    lc, lb, rc, rb = shifted(lc, lbd), shifted(lb, lbd), shifted(rc, rbd), shifted(rb, rbd)
    params = dict(precision=precision, preferred_element_type=preferred_element_type)
    if lbd is not not_mapped and rbd is not not_mapped:
        dn = ((lc, rc), (_Axes((lbd, *lb)), _Axes((rbd, *rb))))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn, **params), 0
    lhs_free = [d for d in range(to_aval(lhs).ndim) if d not in lc and d not in lb]
    rhs_free = [d for d in range(to_aval(rhs).ndim) if d not in rc and d not in rb]
    out = dot_general_p.bind(lhs, rhs, dimension_numbers=((lc, rc), (lb, rb)), **params) \
        if lbd is not not_mapped or rhs_free != [rbd] or not lhs_free else None
    if lbd is not not_mapped:
        return out, len(lb) + lhs_free.index(lbd)
    if out is not None:
        return out, len(lb) + len(lhs_free) + rhs_free.index(rbd)
    swapped = dict(params, precision=precision[::-1] if _is_pair(precision) else precision)
    out = dot_general_p.bind(rhs, lhs, dimension_numbers=((rc, lc), (rb, lb)), **swapped)
    return out, len(rb)


batch_rules[dot_general_p] = _dot_general_batch


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any, precision: Any = None,
                preferred_element_type: Any = None) -> Any:
    """General contraction, as ``jax.lax.dot_general``.

    ``dimension_numbers`` is ``((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))``.
    The result's axes are the batch axes, then lhs's remaining axes, then rhs's.

    >>> import numpy as np
    >>> dot_general(np.ones((2, 3)), np.ones((4, 3)), (((1,), (1,)), ((), ()))).shape
    (2, 4)
    """
    return dot_general_p.bind(
        lhs, rhs, dimension_numbers=_dot_dimension_numbers(dimension_numbers),
        precision=_canonicalize_precision(precision),
        preferred_element_type=_user_dtype(preferred_element_type))


def dot(lhs: Any, rhs: Any, precision: Any = None, preferred_element_type: Any = None, *,
        dimension_numbers: Any = None) -> Any:
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
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)


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


# -- conv_general_dilated -------------------------------------------------------------------
def _conv_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, window_strides, padding,
                        lhs_dilation, rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count, precision, preferred_element_type):
    name = "conv_general_dilated"
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(f"{name} lhs and rhs must have the same number of dimensions (at "
                         f"least 2), but got {shape_str(lhs.shape)} and "
                         f"{shape_str(rhs.shape)}.")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    nspatial = lhs.ndim - 2
    for what, seq in (("window_strides", window_strides), ("padding", padding),
                      ("lhs_dilation", lhs_dilation), ("rhs_dilation", rhs_dilation)):
        if len(seq) != nspatial:
            raise ValueError(f"{name} {what} must have one entry per spatial dimension "
                             f"({nspatial} for operands of shape {shape_str(lhs.shape)}), "
                             f"got {what}={seq!r}.")
    for what, seq in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                      ("rhs_dilation", rhs_dilation)):
        if any(s < 1 for s in seq):
            raise ValueError(f"{name} {what} must be positive, got {seq!r}.")

    batch, in_features = lhs.shape[lhs_spec[0]], lhs.shape[lhs_spec[1]]
    out_features, kernel_in = rhs.shape[rhs_spec[0]], rhs.shape[rhs_spec[1]]
    for what, count in (("feature_group_count", feature_group_count),
                        ("batch_group_count", batch_group_count)):
        if count < 1:
            raise ValueError(f"{name} {what} must be a positive integer, got {count}.")
        if out_features % count:
            raise ValueError(f"{name} rhs output feature dimension size must be a multiple "
                             f"of {what}, but {out_features} is not a multiple of {count} "
                             f"(rhs of shape {shape_str(rhs.shape)}).")
    if feature_group_count > 1 and batch_group_count > 1:
        raise ValueError(f"At most one of batch_group_count and feature_group_count may be "
                         f"> 1, got batch_group_count={batch_group_count} and "
                         f"feature_group_count={feature_group_count}")
    if in_features % feature_group_count:
        raise ValueError(f"{name} feature_group_count must divide lhs feature dimension size, "
                         f"but {feature_group_count} does not divide {in_features} (lhs of "
                         f"shape {shape_str(lhs.shape)}).")
    if in_features // feature_group_count != kernel_in:
        raise ValueError(
            f"{name} lhs feature dimension size divided by feature_group_count must equal the "
            f"rhs input feature dimension size, but {in_features} // {feature_group_count} != "
            f"{kernel_in} (lhs of shape {shape_str(lhs.shape)}, rhs of shape "
            f"{shape_str(rhs.shape)}, dimension_numbers={dimension_numbers}).")
    if batch % batch_group_count:
        raise ValueError(f"{name} batch_group_count must divide lhs batch dimension size, but "
                         f"{batch_group_count} does not divide {batch}.")

    spatial = []
    for i in range(nspatial):
        size = _dilate(lhs.shape[lhs_spec[2 + i]], lhs_dilation[i])
        window = _dilate(rhs.shape[rhs_spec[2 + i]], rhs_dilation[i])
        lo, hi = padding[i]
        padded = size + lo + hi
        if padded < 0:
            raise ValueError(f"Negative padding is larger than the size of the corresponding "
                             f"dimension: got padding={padding} for lhs spatial dimension {i} "
                             f"of size {size}.")
        spatial.append(max((padded - window) // window_strides[i] + 1, 0))
    canonical = (batch // batch_group_count, out_features, *spatial)
    shape = [0] * lhs.ndim
    for i, d in enumerate(out_spec):
        shape[d] = canonical[i]

    if lhs.dtype != rhs.dtype:
        raise TypeError(f"lax.{name} requires arguments to have the same dtypes, got "
                        f"{lhs.dtype.name}, {rhs.dtype.name}. Convert one operand with "
                        "xform.lax.convert_element_type.")
    dtype = lhs.dtype
    if preferred_element_type is not None:
        _check_preferred(dtype, preferred_element_type)
        dtype = preferred_element_type
    return ShapedArray(tuple(shape), dtype, lhs.weak_type and rhs.weak_type)


def _check_preferred(dtype: np.dtype, preferred: np.dtype) -> None:
    sub = jax.dtypes.issubdtype
    int_to_float = sub(dtype, np.integer) and sub(preferred, np.floating)
    if not int_to_float:
        for kind in (np.integer, np.floating, np.complexfloating):
            if sub(dtype, kind) and not sub(preferred, kind):
                raise TypeError(
                    f"Input type {dtype.name} is incompatible with `preferred_element_type` "
                    f"{preferred.name}. The compatible combinations of (input_type, "
                    "preferred_element_type) are (integral, integral), (integral, floating), "
                    "(floating, floating), (complex, complex).")
        if sub(dtype, np.signedinteger) and not sub(preferred, np.signedinteger):
            raise TypeError("`preferred_element_type` must have the same signedness as the "
                            f"original type, got {preferred.name} for {dtype.name}.")
    if preferred.itemsize < dtype.itemsize:
        raise TypeError("`preferred_element_type` must not be narrower than the original type, "
                        f"got {preferred.name} for {dtype.name}.")


def _conv_to_jax(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                 dimension_numbers, feature_group_count, batch_group_count, precision,
                 preferred_element_type):
    return jlax.conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
        feature_group_count, batch_group_count, precision, preferred_element_type)


conv_general_dilated_p = Primitive("conv_general_dilated")
abstract_eval[conv_general_dilated_p] = _conv_abstract_eval
to_jax[conv_general_dilated_p] = _conv_to_jax


# -- conv_general_dilated's rules -----------------------------------------------------------
# conv is bilinear, like dot_general: each operand's tangent goes through the same conv.
defjvp(conv_general_dilated_p,
       lambda t, ans, lhs, rhs, **params: conv_general_dilated_p.bind(t, rhs, **params),
       lambda t, ans, lhs, rhs, **params: conv_general_dilated_p.bind(lhs, t, **params))


def _reshape_axis_into(x: Any, src: int, dst: int) -> Any:
    """Merge axis ``src`` of ``x`` into axis ``dst`` (numbered with ``src`` removed), ``src``
    becoming the major part: a transpose only if ``src`` is not already next to ``dst``."""
    shape = list(to_aval(x).shape)
    size = shape.pop(src)
    shape[dst] *= size
    return _reshape(moveaxis(x, src, dst), shape)


def _reshape_axis_out_of(x: Any, src: int, size: int) -> Any:
    """Split axis ``src`` of ``x`` into ``(size, rest)``."""
    shape = list(to_aval(x).shape)
    shape[src:src + 1] = [size, shape[src] // size]
    return _reshape(x, shape)


def _conv_spec_transpose(spec: Sequence[int]) -> tuple:
    # the spec of the same array read with its first two (batch/feature) roles exchanged
    return (spec[1], spec[0], *spec[2:])


def _vjp_lhs_padding(in_sizes, window_sizes, strides, out_sizes, padding, lhs_dilation,
                     rhs_dilation) -> tuple:
    """The padding of the conv that transposes a conv with respect to its input: it slides
    the flipped kernel over the stride-dilated cotangent, so that each input position meets
    every output position whose window covered it."""
    pads = []
    for n, w, s, o, (lo, _), ld, rd in zip(in_sizes, window_sizes, strides, out_sizes, padding,
                                           lhs_dilation, rhs_dilation):
        window = _dilate(w, rd)
        before = window - lo - 1
        after = _dilate(n, ld) + window - 1 - _dilate(o, s) - before
        pads.append((before, after))
    return tuple(pads)


def _vjp_rhs_padding(in_sizes, window_sizes, strides, out_sizes, padding, lhs_dilation,
                     rhs_dilation) -> tuple:
    """The padding of the conv of the input with the cotangent that gives the kernel's
    cotangent: the forward low padding, and a high padding that makes the result the
    kernel's (dilated) size."""
    pads = []
    for n, w, s, o, (lo, _), ld, rd in zip(in_sizes, window_sizes, strides, out_sizes, padding,
                                           lhs_dilation, rhs_dilation):
        hi = _dilate(o, s) - _dilate(n, ld) + _dilate(w, rd) - lo - 1
        pads.append((lo, hi))
    return tuple(pads)


def _conv_lhs_ct(ct, lhs_aval, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                 dimension_numbers, feature_group_count, batch_group_count, precision,
                 preferred_element_type):
    # the input's cotangent: ct convolved with the spatially flipped kernel whose in/out
    # feature roles are exchanged; strides become lhs dilation (the holes a stride skipped)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    rhs_aval = to_aval(rhs)
    groups = max(feature_group_count, batch_group_count)
    if groups > 1:
        # the kernel's output features are (group, per-group); the group part moves to the
        # input-feature axis, which is the transposed kernel's output-feature axis
        rhs = _reshape_axis_out_of(rhs, rhs_spec[0], groups)
        rhs = _reshape_axis_into(rhs, rhs_spec[0], rhs_spec[1])
    ct_aval = to_aval(ct)
    pads = _vjp_lhs_padding([lhs_aval.shape[d] for d in lhs_spec[2:]],
                            [rhs_aval.shape[d] for d in rhs_spec[2:]], window_strides,
                            [ct_aval.shape[d] for d in out_spec[2:]], padding, lhs_dilation,
                            rhs_dilation)
    kernel = _rev(rhs, tuple(rhs_spec[2:]))
    if to_aval(kernel).dtype != ct_aval.dtype:
        kernel = _ew.convert_element_type(kernel, ct_aval.dtype)
    dnums = ConvDimensionNumbers(tuple(out_spec), _conv_spec_transpose(rhs_spec),
                                 tuple(lhs_spec))
    out = conv_general_dilated_p.bind(
        ct, kernel, window_strides=tuple(lhs_dilation), padding=pads,
        lhs_dilation=tuple(window_strides), rhs_dilation=tuple(rhs_dilation),
        dimension_numbers=dnums, feature_group_count=groups, batch_group_count=1,
        precision=precision, preferred_element_type=preferred_element_type)
    if to_aval(out).dtype != lhs_aval.dtype:
        out = _ew.convert_element_type(out, lhs_aval.dtype)
    if batch_group_count > 1:
        # the groups came out on the feature axis; they belong to the batch axis
        out = _reshape_axis_out_of(out, lhs_spec[1], batch_group_count)
        out = _reshape_axis_into(out, lhs_spec[1], lhs_spec[0])
    return out


def _conv_rhs_ct(ct, lhs, rhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                 dimension_numbers, feature_group_count, batch_group_count, precision,
                 preferred_element_type):
    # the kernel's cotangent: the input convolved with ct (as the kernel), batch and feature
    # roles exchanged in all three layouts; strides and kernel dilation trade places, and
    # feature groups become batch groups (and back)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_aval, ct_aval = to_aval(lhs), to_aval(ct)
    pads = _vjp_rhs_padding([lhs_aval.shape[d] for d in lhs_spec[2:]],
                            [rhs_aval.shape[d] for d in rhs_spec[2:]], window_strides,
                            [ct_aval.shape[d] for d in out_spec[2:]], padding, lhs_dilation,
                            rhs_dilation)
    if lhs_aval.dtype != ct_aval.dtype:
        lhs = _ew.convert_element_type(lhs, ct_aval.dtype)
    dnums = ConvDimensionNumbers(_conv_spec_transpose(lhs_spec), _conv_spec_transpose(out_spec),
                                 _conv_spec_transpose(rhs_spec))
    out = conv_general_dilated_p.bind(
        lhs, ct, window_strides=tuple(rhs_dilation), padding=pads,
        lhs_dilation=tuple(lhs_dilation), rhs_dilation=tuple(window_strides),
        dimension_numbers=dnums, feature_group_count=batch_group_count,
        batch_group_count=feature_group_count, precision=precision,
        preferred_element_type=preferred_element_type)
    if to_aval(out).dtype != rhs_aval.dtype:
        out = _ew.convert_element_type(out, rhs_aval.dtype)
    return out


def _conv_transpose(ct, lhs, rhs, **params):
    if is_undefined(lhs) and is_undefined(rhs):
        raise NotImplementedError("conv_general_dilated is linear in each operand "
                                  "separately, not in both together.")
    if isinstance(ct, Zero):
        return [None, None]
    if is_undefined(lhs):
        return [_conv_lhs_ct(ct, lhs.aval, rhs, **params), None]
    if to_aval(ct).size == 0:  # a kernel of zero spatial size would come out of the conv
        return [None, _full(rhs.aval.shape, 0, rhs.aval.dtype)]
    return [None, _conv_rhs_ct(ct, lhs, rhs.aval, **params)]


transpose_rules[conv_general_dilated_p] = _conv_transpose


def _conv_batch(axis_size, vals, dims, **params):
    """vmap of a conv, always one conv:

    - batched input: the batch axis folds into the input's batch axis N (as the major part);
    - batched kernel: it folds into the kernel's output features (inside each feature or
      batch group, so the groups stay outermost); the input is shared;
    - both: the feature-group trick: the batch folds into the input's features and the
      kernel's output features, and ``feature_group_count`` (or, for a conv that already
      uses ``batch_group_count``, that) is multiplied by the batch size, so example ``b``'s
      input meets only example ``b``'s kernel.
    """
    (lhs, rhs), (lbd, rbd) = vals, dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    if axis_size == 0:
        per_example = [ShapedArray(a.shape[:d] + a.shape[d + 1:], a.dtype)
                       if d is not not_mapped else a
                       for a, d in zip(map(to_aval, vals), dims)]
        out = eval_abstract(conv_general_dilated_p, per_example, params)
        return _full((0, *out.shape), 0, out.dtype), 0
    if lbd is not not_mapped and rbd is not not_mapped:
        if bgc > 1:
            lhs = _reshape_axis_into(lhs, lbd, lhs_spec[0])
            groups = dict(batch_group_count=bgc * axis_size)
        else:
            lhs = _reshape_axis_into(lhs, lbd, lhs_spec[1])
            groups = dict(feature_group_count=fgc * axis_size)
        rhs = _reshape_axis_into(rhs, rbd, rhs_spec[0])
        out = conv_general_dilated_p.bind(lhs, rhs, **dict(params, **groups))
        return _reshape_axis_out_of(out, out_spec[1], axis_size), out_spec[1]
    if lbd is not not_mapped:
        if bgc == 1:
            lhs = _reshape_axis_into(lhs, lbd, lhs_spec[0])
        else:
            # N is (group, per-group): fold the batch into the per-group part
            n = lhs_spec[0] + (lbd <= lhs_spec[0])
            lhs = _reshape_axis_out_of(lhs, n, bgc)
            lhs = _reshape_axis_into(lhs, lbd + (lbd > n), lhs_spec[0] + 1)
            lhs = _reshape_axis_into(lhs, lhs_spec[0], lhs_spec[0])
        out = conv_general_dilated_p.bind(lhs, rhs, **params)
        return _reshape_axis_out_of(out, out_spec[0], axis_size), out_spec[0]
    groups = max(fgc, bgc)
    if groups == 1:
        rhs = _reshape_axis_into(rhs, rbd, rhs_spec[0])
        out = conv_general_dilated_p.bind(lhs, rhs, **params)
        return _reshape_axis_out_of(out, out_spec[1], axis_size), out_spec[1]
    # O is (group, per-group): fold the batch into the per-group part, then take it out of
    # the result's features the same way
    o = rhs_spec[0] + (rbd <= rhs_spec[0])
    rhs = _reshape_axis_out_of(rhs, o, groups)
    rhs = _reshape_axis_into(rhs, rbd + (rbd > o), rhs_spec[0] + 1)
    rhs = _reshape_axis_into(rhs, rhs_spec[0], rhs_spec[0])
    out = conv_general_dilated_p.bind(lhs, rhs, **params)
    f = out_spec[1]
    out = _reshape_axis_out_of(out, f, groups)
    out = _reshape_axis_out_of(out, f + 1, axis_size)
    return _reshape_axis_into(out, f, f + 1), f


batch_rules[conv_general_dilated_p] = _conv_batch


def conv_general_dilated(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                         lhs_dilation: Sequence[int] | None = None,
                         rhs_dilation: Sequence[int] | None = None,
                         dimension_numbers: Any = None, feature_group_count: int = 1,
                         batch_group_count: int = 1, precision: Any = None,
                         preferred_element_type: Any = None) -> Any:
    """N-d convolution with strides, padding and dilations, as
    ``jax.lax.conv_general_dilated``.

    Arguments:
        padding: ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or one ``(low, high)`` pair per
            spatial dimension.
        dimension_numbers: ``None`` (``("NCH..", "OIH..", "NCH..")``), three layout strings
            such as ``("NHWC", "HWIO", "NHWC")``, or a ``ConvDimensionNumbers``.

    >>> import numpy as np
    >>> conv_general_dilated(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), (1, 1),
    ...                      "SAME").shape
    (1, 3, 5, 5)
    """
    name = "conv_general_dilated"
    la, ra = to_aval(lhs), to_aval(rhs)
    if la.ndim != ra.ndim or la.ndim < 2:
        raise ValueError(f"{name} lhs and rhs must have the same number of dimensions (at "
                         f"least 2), but got {shape_str(la.shape)} and {shape_str(ra.shape)}.")
    dnums = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    nspatial = la.ndim - 2
    window_strides = _int_tuple(name, "window_strides", window_strides)
    rhs_dilation = ((1,) * nspatial if rhs_dilation is None
                    else _int_tuple(name, "rhs_dilation", rhs_dilation))
    if lhs_dilation is None:
        lhs_dilation = (1,) * nspatial
    else:
        lhs_dilation = _int_tuple(name, "lhs_dilation", lhs_dilation)
        if isinstance(padding, str) and any(d != 1 for d in lhs_dilation):
            raise ValueError("String padding is not implemented for transposed convolution "
                             "(lhs_dilation other than 1): give the padding as (low, high) "
                             "pairs.")
    if isinstance(padding, str):
        in_spatial = [la.shape[d] for d in dnums.lhs_spec[2:]]
        windows = [_dilate(ra.shape[d], r) for d, r in zip(dnums.rhs_spec[2:], rhs_dilation)]
        padding = tuple(padtype_to_pads(in_spatial, windows, window_strides, padding))
    else:
        padding = _pairs(name, padding)
    return conv_general_dilated_p.bind(
        lhs, rhs, window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, dimension_numbers=dnums,
        feature_group_count=operator.index(feature_group_count),
        batch_group_count=operator.index(batch_group_count),
        precision=_canonicalize_precision(precision),
        preferred_element_type=_user_dtype(preferred_element_type))


def conv(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: str,
         precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Convolution in ``NCH..``/``OIH..`` layout with string padding, as ``jax.lax.conv``."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs: Any, rhs: Any, window_strides: Sequence[int],
                              padding: Any, lhs_dilation: Sequence[int] | None,
                              rhs_dilation: Sequence[int] | None, precision: Any = None,
                              preferred_element_type: Any = None) -> Any:
    """Convolution in ``NCH..``/``OIH..`` layout with explicit dilations, as
    ``jax.lax.conv_with_general_padding``."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                precision=precision,
                                preferred_element_type=preferred_element_type)


# -- windowed reductions --------------------------------------------------------------------
def _window_shape(name: str, shape: tuple, window_dimensions, window_strides, padding,
                  base_dilation=None, window_dilation=None) -> tuple:
    """The output shape of a reduction over windows of ``shape``."""
    n = len(window_dimensions)
    if len(shape) != n:
        raise TypeError(f"{name} got the wrong number of window_dimensions for operand: got "
                        f"operand shape {shape_str(shape)} with window_dimensions "
                        f"{tuple(window_dimensions)}. Give one window size per axis.")
    base_dilation = (1,) * n if base_dilation is None else base_dilation
    window_dilation = (1,) * n if window_dilation is None else window_dilation
    for what, seq, low in (("window_dimensions", window_dimensions, 1),
                           ("window_strides", window_strides, 1),
                           ("base_dilation", base_dilation, 1),
                           ("window_dilation", window_dilation, 1),
                           ("padding", padding, None)):
        if len(seq) != n:
            raise TypeError(f"{name} got inconsistent {what} and window_dimensions: got "
                            f"{what} {tuple(seq)} and window_dimensions "
                            f"{tuple(window_dimensions)}.")
        if low is not None and any(s < low for s in seq):
            raise TypeError(f"{name} requires {what} to be positive, got {tuple(seq)}.")
    out = []
    for d, w, s, (lo, hi), bd, wd in zip(shape, window_dimensions, window_strides, padding,
                                        base_dilation, window_dilation):
        padded = _dilate(d, bd) + lo + hi
        out.append(max((padded - _dilate(w, wd)) // s + 1, 0))
    return tuple(out)


def _reduce_window_primitive(name: str, accepted: Sequence[str], jax_fn) -> Primitive:
    p = Primitive(name)

    def rule(operand: ShapedArray, *, window_dimensions, window_strides, padding,
             base_dilation, window_dilation):
        check_dtype(name, operand, accepted)
        shape = _window_shape(name, operand.shape, window_dimensions, window_strides, padding,
                              base_dilation, window_dilation)
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    abstract_eval[p] = rule
    to_jax[p] = jax_fn
    return p


reduce_window_sum_p = _reduce_window_primitive("reduce_window_sum", NUMBER,
                                               _jax_windowed._reduce_window_sum)
reduce_window_max_p = _reduce_window_primitive("reduce_window_max", ANY,
                                               _jax_windowed._reduce_window_max)
reduce_window_min_p = _reduce_window_primitive("reduce_window_min", ANY,
                                               _jax_windowed._reduce_window_min)


# -- the windowed reductions' rules ---------------------------------------------------------
def _insert(seq: Sequence, pos: int, value: Any) -> tuple:
    return (*seq[:pos], value, *seq[pos:])


def _window_batch(p: Primitive, ndim_param: str = "window_dimensions"):
    """The batch axis gets a window of size 1 (stride 1, no padding or dilation), so the
    reduction runs on every example at once and the batch axis stays where it is. Operands
    of two-operand primitives move to the first batched one's batch axis."""
    def rule(axis_size, vals, dims, **params):
        bdim = next(d for d in dims if d is not not_mapped)
        vals = [move_bdim(v, d, bdim, axis_size) for v, d in zip(vals, dims)]
        new = dict(params, window_dimensions=_insert(params["window_dimensions"], bdim, 1),
                   window_strides=_insert(params["window_strides"], bdim, 1),
                   padding=_insert(params["padding"], bdim, (0, 0)))
        for name in ("base_dilation", "window_dilation"):
            if name in params:
                new[name] = _insert(params[name], bdim, 1)
        return p.bind(*vals, **new), bdim
    return rule


def _reduce_window_sum_transpose(ct, operand, *, window_dimensions, window_strides, padding,
                                 base_dilation, window_dilation):
    # Each input element is summed into every window that covers it. Spreading ct back: put
    # stride - 1 zeros between its elements, pad its edges so every input position sees the
    # windows that covered it, and sum windows of the same (dilated) shape over it at steps
    # of base_dilation (positions between dilated input elements are skipped). A window of
    # ones reads the same flipped, so no rev is needed.
    if isinstance(ct, Zero):
        return [None]
    shape = operand.aval.shape
    ct_shape = to_aval(ct).shape
    pads = _vjp_lhs_padding(shape, window_dimensions, window_strides, ct_shape, padding,
                            base_dilation, window_dilation)
    config = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = _pad(ct, _ew._const(ct, 0.0), config)
    out = reduce_window_sum_p.bind(
        padded, window_dimensions=window_dimensions, window_strides=tuple(base_dilation),
        padding=((0, 0),) * len(shape), base_dilation=(1,) * len(shape),
        window_dilation=window_dilation)
    return [out]


deflinear_jvp(reduce_window_sum_p)
transpose_rules[reduce_window_sum_p] = _reduce_window_sum_transpose
batch_rules[reduce_window_sum_p] = _window_batch(reduce_window_sum_p)


def _chooser_jvp(select_prim):
    # The tangent of a window max (min) is the tangent of the element that wins the window.
    def partial(t, ans, operand, **params):
        return select_and_gather_add_p.bind(t, operand, select_prim=select_prim, **params)
    return partial


defjvp(reduce_window_max_p, _chooser_jvp(_ew.ge_p))
batch_rules[reduce_window_max_p] = _window_batch(reduce_window_max_p)
defjvp(reduce_window_min_p, _chooser_jvp(_ew.le_p))
batch_rules[reduce_window_min_p] = _window_batch(reduce_window_min_p)

# max-pooling's derivatives: select_prim is ge (max) or le (min), the comparison that picks
# the winning element of a window.
_JAX_SELECT = {_ew.ge_p: jlax.ge_p, _ew.le_p: jlax.le_p}
_XFORM_SELECT = {jlax.ge_p: _ew.ge_p, jlax.le_p: _ew.le_p, _ew.ge_p: _ew.ge_p,
                 _ew.le_p: _ew.le_p}


def _check_select_prim(name: str, select_prim) -> None:
    if select_prim not in _JAX_SELECT:
        raise TypeError(f"{name} takes select_prim ge (for max) or le (for min), got "
                        f"{select_prim!r}.")


def _select_and_scatter_add_abstract_eval(source: ShapedArray, operand: ShapedArray, *,
                                          select_prim, window_dimensions, window_strides,
                                          padding):
    name = "select_and_scatter_add"
    _check_select_prim(name, select_prim)
    windows = _window_shape(name, operand.shape, window_dimensions, window_strides, padding)
    if source.shape != windows:
        raise TypeError(f"{name} source must have the shape of the windowed reduction of "
                        f"operand, {shape_str(windows)}, got source of shape "
                        f"{shape_str(source.shape)} for operand of shape "
                        f"{shape_str(operand.shape)}.")
    if source.dtype != operand.dtype:
        raise TypeError(f"{name} requires source and operand to have the same dtype, got "
                        f"{source.dtype.name} and {operand.dtype.name}.")
    return ShapedArray(operand.shape, source.dtype, source.weak_type and operand.weak_type)


def _select_and_scatter_add_to_jax(source, operand, *, select_prim, window_dimensions,
                                   window_strides, padding):
    return _jax_windowed._select_and_scatter_add(
        source, operand, _JAX_SELECT[select_prim], window_dimensions, window_strides, padding)


select_and_scatter_add_p = Primitive("select_and_scatter_add")
abstract_eval[select_and_scatter_add_p] = _select_and_scatter_add_abstract_eval
to_jax[select_and_scatter_add_p] = _select_and_scatter_add_to_jax


def _select_and_scatter_add_transpose(ct, source, operand, *, select_prim, window_dimensions,
                                      window_strides, padding):
    # linear in source; its transpose reads, for every window, ct at the winning position
    if is_undefined(operand):
        raise NotImplementedError("select_and_scatter_add is linear in its source only.")
    if isinstance(ct, Zero):
        return [None, None]
    ones = (1,) * len(window_dimensions)
    return [select_and_gather_add_p.bind(
        ct, operand, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding, base_dilation=ones,
        window_dilation=ones), None]


# linear in source; the choice of winners is piecewise constant in operand
defjvp(select_and_scatter_add_p,
       lambda t, ans, source, operand, **params:
       select_and_scatter_add_p.bind(t, operand, **params),
       None)
transpose_rules[select_and_scatter_add_p] = _select_and_scatter_add_transpose
batch_rules[select_and_scatter_add_p] = _window_batch(select_and_scatter_add_p)


def _select_and_gather_add_abstract_eval(tangents: ShapedArray, operand: ShapedArray, *,
                                         select_prim, window_dimensions, window_strides,
                                         padding, base_dilation, window_dilation):
    name = "select_and_gather_add"
    _check_select_prim(name, select_prim)
    if tangents.shape != operand.shape:
        raise TypeError(f"{name} tangents and operand shapes must match, got "
                        f"{shape_str(tangents.shape)} and {shape_str(operand.shape)}.")
    if tangents.dtype != operand.dtype:
        raise TypeError(f"{name} requires tangents and operand to have the same dtype, got "
                        f"{tangents.dtype.name} and {operand.dtype.name}.")
    shape = _window_shape(name, operand.shape, window_dimensions, window_strides, padding,
                          base_dilation, window_dilation)
    return ShapedArray(shape, tangents.dtype, tangents.weak_type and operand.weak_type)


def _select_and_gather_add_to_jax(tangents, operand, *, select_prim, window_dimensions,
                                  window_strides, padding, base_dilation, window_dilation):
    return _jax_windowed._select_and_gather_add(
        tangents, operand, _JAX_SELECT[select_prim], window_dimensions, window_strides,
        padding, base_dilation, window_dilation)


select_and_gather_add_p = Primitive("select_and_gather_add")
abstract_eval[select_and_gather_add_p] = _select_and_gather_add_abstract_eval
to_jax[select_and_gather_add_p] = _select_and_gather_add_to_jax


def _select_and_gather_add_transpose(ct, tangents, operand, *, select_prim, window_dimensions,
                                     window_strides, padding, base_dilation, window_dilation):
    # linear in tangents; its transpose adds each window's ct into the window's winner. With
    # base dilation the windows run over the dilated operand: dilate it with the selection's
    # losing value (so holes never win), scatter there, and keep the real positions.
    if is_undefined(operand):
        raise NotImplementedError("select_and_gather_add is linear in its tangents only.")
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(
            "Reverse-mode differentiation of a max/min window reduction (its JVP, "
            "select_and_gather_add) with window_dilation other than 1 is not implemented, "
            f"got window_dilation={tuple(window_dilation)}; as in JAX. Use forward mode "
            "(jacfwd/jvp), or dilate the operand instead of the window.")
    if isinstance(ct, Zero):
        return [None, None]
    aval = to_aval(operand)
    dilated = any(d != 1 for d in base_dilation)
    if dilated:
        loser = _identity("max" if select_prim is _ew.ge_p else "min", aval.dtype)
        operand = _pad(operand, np.array(loser, aval.dtype),
                       tuple((0, 0, d - 1) for d in base_dilation))
    out = select_and_scatter_add_p.bind(
        ct, operand, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding)
    if dilated:
        out = _slice(out, (0,) * aval.ndim, to_aval(out).shape, tuple(base_dilation))
    return [out, None]


# linear in tangents; the choice of winners is piecewise constant in operand
defjvp(select_and_gather_add_p,
       lambda t, ans, tangents, operand, **params:
       select_and_gather_add_p.bind(t, operand, **params),
       None)
transpose_rules[select_and_gather_add_p] = _select_and_gather_add_transpose
batch_rules[select_and_gather_add_p] = _window_batch(select_and_gather_add_p)


def _window_params(name: str, shape: tuple, window_dimensions, window_strides, padding,
                   base_dilation, window_dilation) -> dict:
    """reduce_window's arguments as the primitives' params (string padding resolved)."""
    window_dimensions = _int_tuple(name, "window_dimensions", window_dimensions)
    n = len(window_dimensions)
    window_strides = (1,) * n if window_strides is None else _int_tuple(
        name, "window_strides", window_strides)
    base_dilation = (1,) * n if base_dilation is None else _int_tuple(
        name, "base_dilation", base_dilation)
    window_dilation = (1,) * n if window_dilation is None else _int_tuple(
        name, "window_dilation", window_dilation)
    if isinstance(padding, str):
        # as in JAX: the padding that SAME needs for the undilated operand
        windows = [_dilate(w, d) for w, d in zip(window_dimensions, window_dilation)]
        padding = tuple(padtype_to_pads(shape, windows, window_strides, padding))
    else:
        padding = _pairs(name, padding)
    return {"window_dimensions": window_dimensions, "window_strides": window_strides,
            "padding": padding, "base_dilation": base_dilation,
            "window_dilation": window_dilation}


def _reduce_window_sum(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_sum_p.bind(operand, **params)


def _reduce_window_max(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_max_p.bind(operand, **params)


def _reduce_window_min(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_min_p.bind(operand, **params)


def _select_and_scatter_add(source: Any, operand: Any, select_prim: Any,
                            window_dimensions: Sequence[int], window_strides: Sequence[int],
                            padding: Sequence[tuple[int, int]]) -> Any:
    """Adds each element of ``source`` into the position that ``select_prim`` picks in the
    matching window of ``operand`` (max-pooling's transpose). Takes xform's or jax.lax's
    ``ge_p``/``le_p``."""
    name = "select_and_scatter_add"
    return select_and_scatter_add_p.bind(
        source, operand, select_prim=_XFORM_SELECT.get(select_prim, select_prim),
        window_dimensions=_int_tuple(name, "window_dimensions", window_dimensions),
        window_strides=_int_tuple(name, "window_strides", window_strides),
        padding=_pairs(name, padding))


def _select_and_gather_add(tangents: Any, operand: Any, select_prim: Any,
                           window_dimensions: Sequence[int], window_strides: Sequence[int],
                           padding: Sequence[tuple[int, int]], base_dilation: Sequence[int],
                           window_dilation: Sequence[int]) -> Any:
    """For each window of ``operand``, the element of ``tangents`` at the position that
    ``select_prim`` picks (max-pooling's JVP). Takes xform's or jax.lax's ``ge_p``/``le_p``."""
    name = "select_and_gather_add"
    return select_and_gather_add_p.bind(
        tangents, operand, select_prim=_XFORM_SELECT.get(select_prim, select_prim),
        window_dimensions=_int_tuple(name, "window_dimensions", window_dimensions),
        window_strides=_int_tuple(name, "window_strides", window_strides),
        padding=_pairs(name, padding),
        base_dilation=_int_tuple(name, "base_dilation", base_dilation),
        window_dilation=_int_tuple(name, "window_dilation", window_dilation))


def _monoid(computation: Any) -> str | None:
    for kind, fns in (("add", (_ew.add, jlax.add)), ("max", (_ew.max, jlax.max)),
                      ("min", (_ew.min, jlax.min))):
        if any(computation is f for f in fns):
            return kind
    return None


def _identity(kind: str, dtype: np.dtype) -> Any:
    if kind == "add":
        return 0
    low = kind == "max"  # max starts from the lowest value, min from the highest
    if dtype == np.bool_:
        return not low
    if jax.dtypes.issubdtype(dtype, np.inexact):
        return -np.inf if low else np.inf
    info = jax.dtypes.iinfo(dtype)
    return info.min if low else info.max


_WINDOW_PRIMS = {"add": reduce_window_sum_p, "max": reduce_window_max_p,
                 "min": reduce_window_min_p}


def reduce_window(operand: Any, init_value: Any, computation: Any,
                  window_dimensions: Sequence[int], window_strides: Sequence[int] | None = None,
                  padding: Any = "VALID", base_dilation: Sequence[int] | None = None,
                  window_dilation: Sequence[int] | None = None) -> Any:
    """Reduce each window of ``operand``, as ``jax.lax.reduce_window``.

    ``computation`` is ``add``, ``max`` or ``min`` (xform.lax's or jax.lax's) with its identity
    as ``init_value`` (0, -inf / the dtype's minimum, +inf / the dtype's maximum): a windowed
    sum, max-pool or min-pool.

    >>> import numpy as np, xform
    >>> reduce_window(np.arange(4.0, dtype=np.float32), 0.0, xform.lax.add, (2,))
    Array([1., 3., 5.], dtype=float32)
    """
    name = "reduce_window"
    aval = to_aval(operand)
    kind = _monoid(computation)
    if kind is None:
        raise NotImplementedError(
            f"{name} supports computation xform.lax.add, max or min (or jax.lax's), got "
            f"{computation!r}. Write other window reductions with these, or with slicing.")
    if isinstance(init_value, Tracer):
        raise NotImplementedError(
            f"{name} needs a concrete init_value (the identity of {kind}), got a traced value "
            f"of type {init_value.aval.str_short()}. Pass a Python or numpy scalar.")
    init = np.asarray(init_value)
    if init.shape != ():
        raise TypeError(f"{name} init_value must be a scalar, got shape "
                        f"{shape_str(init.shape)}.")
    identity = _identity(kind, aval.dtype)
    if init.item() != identity:
        raise NotImplementedError(
            f"{name} with computation {kind} supports only its identity as init_value "
            f"({identity} for {aval.dtype.name}), got {init.item()!r}. Combine the result "
            f"with the init value afterwards instead (e.g. xform.lax.{kind}(result, init)).")
    params = _window_params(name, aval.shape, window_dimensions, window_strides, padding,
                            base_dilation, window_dilation)
    return _WINDOW_PRIMS[kind].bind(operand, **params)

