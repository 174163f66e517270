"""Argument normalisation shared by the dot, convolution and windowed-reduction families:
integer tuples, padding pairs, dilated sizes, dtypes, and padding strings ("SAME", "VALID")."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from xform.core.avals import canonicalize_dtype

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
