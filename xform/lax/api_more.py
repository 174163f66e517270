"""The rest of ``jax.lax``'s small public functions: shape arithmetic (``broadcast_shapes``, the
convolution and reduce-window shape tuples, ``conv_general_permutations``, ``shape_as_value``),
``dtype``, the accuracy types of the transcendental functions (``AccuracyMode``,
``Tolerance``, JAX's own classes so that one value works with both libraries), and two
compositions of xform primitives: ``conv_general_dilated_local`` (patches, then a batched
contraction with per-position filters) and ``composite`` (a named decomposition, which xform
evaluates, differentiates and batches as the xform code it is).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.lax import AccuracyMode, Tolerance

from xform.core.avals import canonicalize_dtype
from xform.core.trace import Tracer, to_aval
from xform.lax._window_args import padtype_to_pads
from xform.lax.composite_ops import _transpose_padding, conv_general_dilated_patches
from xform.lax.convolution import conv_dimension_numbers
from xform.lax.linear import dot_general
from xform.lax.shape import transpose

__all__ = [
    "AccuracyMode", "Tolerance", "broadcast_shapes", "composite", "conv_general_dilated_local",
    "conv_general_permutations", "conv_general_shape_tuple", "conv_shape_tuple",
    "conv_transpose_shape_tuple", "dtype", "reduce_window_shape_tuple", "shape_as_value",
]


# -- shape arithmetic -------------------------------------------------------------------------
def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape numpy broadcasting gives ``shapes`` (shorter shapes padded with leading 1s),
    as ``jax.lax.broadcast_shapes``; raises ``ValueError`` for incompatible shapes."""
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if not shapes:
        return ()
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = {d for d in sizes if d != 1}
        if len(big) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}")
        out.append(big.pop() if big else 1)
    return tuple(out)


def conv_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                     strides: Sequence[int], pads: Any,
                     batch_group_count: int = 1) -> tuple[int, ...]:
    """The output shape of an ``NC...``/``OI...`` convolution (``conv_general_dilated`` with
    default dimension numbers, no dilation), as ``jax.lax.conv_shape_tuple``."""
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    pads = [tuple(p) for p in pads]
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(f"Wrong number of explicit pads for convolution. Expected "
                        f"{len(lhs_shape) - 2}, got {len(pads)}.")
    padded = [n + lo + hi for n, (lo, hi) in zip(lhs_shape[2:], pads)]
    if any(n < 0 for n in padded):
        raise ValueError(f"Negative padding is larger than the size of the corresponding "
                         f"dimension: got padding={pads} for lhs_shape[2:]={lhs_shape[2:]}")
    space = tuple(max(0, (n - k) // s + 1) for n, k, s in zip(padded, rhs_shape[2:], strides))
    if batch_group_count > 1 and lhs_shape[0] % batch_group_count:
        raise ValueError(f"conv_shape_tuple: batch size {lhs_shape[0]} is not a multiple of "
                         f"batch_group_count={batch_group_count}")
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + space


def conv_general_permutations(dimension_numbers: Any) -> tuple[tuple[int, ...], ...]:
    """For ``dimension_numbers`` given as three strings (``("NHWC", "HWIO", "NHWC")``), the
    permutations that bring lhs, rhs and output to ``NC...``/``OI...``/``NC...`` order with the
    spatial axes in the rhs spec's order, as ``jax.lax.conv_general_permutations``."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for spec, (a, b) in zip(dimension_numbers, pairs):
        if spec.count(a) != 1 or spec.count(b) != 1:
            raise TypeError(f"convolution dimension_numbers[{dimension_numbers.index(spec)}] "
                            f"must contain the characters '{a}' and '{b}' exactly once, got "
                            f"{spec}.")
        if len(set(spec)) != len(spec):
            raise TypeError(f"convolution dimension_numbers must not have repeated characters, "
                            f"got {spec}.")
    spatial = [set(s) - set(p) for s, p in zip(dimension_numbers, pairs)]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise TypeError(f"convolution dimension_numbers elements must each have the same set "
                        f"of spatial characters, got {dimension_numbers}.")

    def perm(spec: str, pair: tuple[str, str]) -> tuple[int, ...]:
        rest = sorted((i for i, c in enumerate(spec) if c not in pair),
                      key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1]), *rest)

    return perm(lhs_spec, pairs[0]), perm(rhs_spec, pairs[1]), perm(out_spec, pairs[2])


def conv_general_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                             window_strides: Sequence[int], padding: Any,
                             dimension_numbers: Any) -> tuple[int, ...]:
    """The output shape of ``conv_general_dilated`` (no dilation) with ``dimension_numbers``
    as three spec strings, as ``jax.lax.conv_general_shape_tuple``."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_t = tuple(lhs_shape[i] for i in lhs_perm)
    rhs_t = tuple(rhs_shape[i] for i in rhs_perm)
    out_t = conv_shape_tuple(lhs_t, rhs_t, window_strides, padding)
    return tuple(out_t[i] for i in np.argsort(out_perm))


def conv_transpose_shape_tuple(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                               window_strides: Sequence[int], padding: Any,
                               dimension_numbers: Any) -> tuple[int, ...]:
    """The output shape of ``conv_transpose`` with ``dimension_numbers`` as three spec
    strings, as ``jax.lax.conv_transpose_shape_tuple``."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_t = tuple(lhs_shape[i] for i in lhs_perm)
    rhs_t = tuple(rhs_shape[i] for i in rhs_perm)
    if isinstance(padding, str):
        padding = [_transpose_padding(k, s, padding) for k, s in zip(rhs_t[2:], window_strides)]
    totals = [int(sum(p)) for p in padding]
    space = [(i - 1) * s - k + 2 + p
             for i, k, s, p in zip(lhs_t[2:], rhs_t[2:], window_strides, totals)]
    out_t = (lhs_t[0], rhs_t[0], *space)
    return tuple(out_t[i] for i in np.argsort(out_perm))


def reduce_window_shape_tuple(operand_shape: Sequence[int], window_dimensions: Sequence[int],
                              window_strides: Sequence[int], padding: Sequence[tuple[int, int]],
                              base_dilation: Sequence[int] | None = None,
                              window_dilation: Sequence[int] | None = None) -> tuple[int, ...]:
    """The output shape of ``reduce_window`` with explicit ``(low, high)`` padding, as
    ``jax.lax.reduce_window_shape_tuple``."""
    def dilate(shape, dilation):
        if dilation is None:
            return tuple(shape)
        return tuple(0 if d == 0 else (d - 1) * r + 1 for d, r in zip(shape, dilation))

    operand_shape = dilate(operand_shape, base_dilation)
    window = dilate(window_dimensions, window_dilation)
    return tuple((n + lo + hi - w) // s + 1
                 for n, (lo, hi), w, s in zip(operand_shape, padding, window, window_strides))


def shape_as_value(shape: Sequence[int]) -> Any:
    """``shape`` as an integer vector (int32, or int64 for sizes past int32), as
    ``jax.lax.shape_as_value``; xform's shapes are always constant."""
    shape = tuple(int(d) for d in shape)
    dtype = np.int64 if shape and max(shape) > np.iinfo(np.int32).max else np.int32
    return jax.numpy.zeros((0,), dtype) if not shape else np.asarray(shape, dtype)


def dtype(x: Any) -> np.dtype:
    """The dtype of an array, tracer, scalar or dtype-like ``x``, as ``jax.lax.dtype``:
    Python and numpy scalars, dtypes and non-JAX arrays canonicalized (64-bit types are
    32-bit unless x64 is on)."""
    if isinstance(x, Tracer):
        return to_aval(x).dtype
    if isinstance(x, jax.Array):
        return x.dtype
    if isinstance(x, (bool, int, float, complex)):
        return to_aval(x).dtype  # the weakly typed defaults, canonicalized
    if not isinstance(x, type) and hasattr(x, "dtype"):
        return canonicalize_dtype(x.dtype)
    return canonicalize_dtype(x)


# -- compositions -----------------------------------------------------------------------------
def conv_general_dilated_local(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                               filter_shape: Sequence[int],
                               lhs_dilation: Sequence[int] | None = None,
                               rhs_dilation: Sequence[int] | None = None,
                               dimension_numbers: Any = None, precision: Any = None) -> Any:
    """A locally connected (unshared) convolution: a different filter at each output position,
    as ``jax.lax.conv_general_dilated_local``. ``rhs`` holds, in ``dimension_numbers``' rhs
    layout, the filters with input features ``I = lhs_features * prod(filter_shape)`` and the
    output's spatial sizes in place of the window's.

    It is the patches of ``lhs`` (``conv_general_dilated_patches``) contracted over their
    feature axis with the filter of their position (a ``dot_general`` batched over the
    spatial axes), so it differentiates and batches through those two primitives.
    """
    if precision is None or isinstance(precision, (str, jax.lax.Precision)):
        lhs_precision = precision
    elif isinstance(precision, (tuple, list)) and len(precision) == 2:
        lhs_precision = precision[0]
    else:
        raise ValueError(f"Unsupported precision for conv_general_dilated_local: {precision}")
    patches = conv_general_dilated_patches(
        lhs, filter_shape, window_strides, padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
        precision=lhs_precision)
    lhs_shape = to_aval(lhs).shape
    _, rhs_spec, out_spec = conv_dimension_numbers(lhs_shape, (1, 1, *filter_shape),
                                                   dimension_numbers)
    # patches are in the output's layout: contract its feature axis with the filters' input
    # axis, batch over the spatial axes (paired in the order the out spec lists them)
    out_spatial, rhs_spatial = list(out_spec[2:]), list(rhs_spec[2:])
    order = sorted(range(len(out_spatial)), key=lambda k: out_spatial[k])
    dn = (((out_spec[1],), (rhs_spec[1],)),
          (tuple(out_spatial[k] for k in order), tuple(rhs_spatial[k] for k in order)))
    out = dot_general(patches, rhs, dn, precision=precision)
    # out is (*spatial sorted, batch, features): put every axis back where out_spec says
    ndim = len(out_spec)
    src = [out_spatial[k] for k in order] + [out_spec[0], out_spec[1]]
    perm = [src.index(d) for d in range(ndim)]
    return transpose(out, tuple(perm))


def composite(decomposition: Callable, name: str, version: int = 0) -> Callable:
    """Mark ``decomposition`` as the composite operation ``name``, as ``jax.lax.composite``:
    the returned function takes arrays positionally and attributes as keywords. JAX emits a
    ``stablehlo.composite`` that a backend may replace with its own kernel; xform evaluates the
    decomposition (what any backend without that kernel runs), so the results are the same and
    every transform applies to it as to any xform code (JAX raises for derivatives and vmap
    of a composite; xform differentiates and batches its decomposition).

    >>> @xform.lax.composite
    ... def my_tanh(x): ...          # or composite(fn, name="my.tanh")
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"composite: name must be a non-empty string, got {name!r}")

    @functools.wraps(decomposition)
    def fn(*args: Any, **attributes: Any) -> Any:
        return decomposition(*args, **attributes)

    fn.composite_name, fn.composite_version = name, version  # type: ignore[attr-defined]
    return fn
