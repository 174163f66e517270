"""``conv_general_dilated`` with its rules (transpose by the standard input/kernel gradient
convolutions, batching by folding into the batch or feature dimensions), and ``conv`` /
``conv_with_general_padding``."""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray
from xform.core.jax_internals import canonicalize_precision
from xform.core.primitive import Primitive, abstract_eval, eval_abstract
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, moveaxis, not_mapped
from xform.interpreters.jvp import Zero, defjvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as _ew
from xform.lax._helpers import shape_str
from xform.lax._window_args import (
    _dilate, _int_tuple, _pairs, _user_dtype, _vjp_lhs_padding, padtype_to_pads,
)
from xform.lax.shape import full as _full, reshape as _reshape, rev as _rev

__all__ = ["ConvDimensionNumbers", "conv", "conv_dimension_numbers", "conv_general_dilated",
           "conv_with_general_padding"]

ConvDimensionNumbers = jlax.ConvDimensionNumbers
conv_dimension_numbers = jlax.conv_dimension_numbers


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


def _conv_to_jax(lhs, rhs, **params):
    if params["feature_group_count"] == 1 and params["batch_group_count"] == 1:
        return _conv_jax(lhs, rhs, **params)
    # grouped convs: XLA:CPU runs them as one conv that is several times slower than the
    # groups run one by one (batch groups up to a hundred times), so on CPU a grouped conv is
    # lowered as per-group convs; other platforms get the grouped conv as it is
    return jlax.platform_dependent(lhs, rhs, cpu=functools.partial(_conv_cpu_grouped, **params),
                                   default=functools.partial(_conv_jax, **params))


def _conv_jax(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
              dimension_numbers, feature_group_count, batch_group_count, precision,
              preferred_element_type):
    return jlax.conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
        feature_group_count, batch_group_count, precision, preferred_element_type)


# at most this many groups are lowered as separate convs (the program grows with each)
_MAX_SPLIT_GROUPS = 32


def _conv_cpu_grouped(lhs, rhs, **params):
    """A grouped conv for XLA:CPU, chosen by shape (measured on XLA:CPU's conv kernels):

    - groups with at least two input features each (up to ``_MAX_SPLIT_GROUPS`` groups): one
      conv per group on slices of the operands, concatenated along the output features; 2-3x
      faster than the grouped conv for feature groups, 10-100x for batch groups;
    - depthwise-like groups (one input feature each) stay one grouped conv, which XLA:CPU runs
      well; batch groups are first turned into feature groups (the group part of the input's
      batch moves to its features), since XLA:CPU's batch-group convs are very slow.
    """
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    groups = max(fgc, bgc)
    lhs_axis = lhs_spec[1] if fgc > 1 else lhs_spec[0]
    if rhs.shape[rhs_spec[1]] >= 2 and groups <= _MAX_SPLIT_GROUPS:
        single = dict(params, feature_group_count=1, batch_group_count=1)
        lsize, rsize = lhs.shape[lhs_axis] // groups, rhs.shape[rhs_spec[0]] // groups
        outs = [_conv_jax(jlax.slice_in_dim(lhs, g * lsize, (g + 1) * lsize, axis=lhs_axis),
                          jlax.slice_in_dim(rhs, g * rsize, (g + 1) * rsize, axis=rhs_spec[0]),
                          **single)
                for g in range(groups)]
        return jlax.concatenate(outs, out_spec[1])
    if bgc > 1:
        # batch = (group, per-group) -> features = (group, features): a feature-group conv
        shape = list(lhs.shape)
        n, f = lhs_spec[0], lhs_spec[1]
        split = shape[:n] + [bgc, shape[n] // bgc] + shape[n + 1:]
        perm = [d for d in range(len(split)) if d != n]
        perm.insert(f, n)
        lhs = jlax.transpose(jlax.reshape(lhs, split), perm)
        shape[n] //= bgc
        shape[f] *= bgc
        lhs = jlax.reshape(lhs, shape)
        params = dict(params, feature_group_count=bgc, batch_group_count=1)
    return _conv_jax(lhs, rhs, **params)


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
        precision=canonicalize_precision(precision),
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


