"""Elementwise integer functions of xform.numpy: gcd, lcm, bitwise_count, packbits and
unpackbits."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from xform import lax
from xform.core.trace import to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._predicates import _const, _dtype
from xform.numpy._promote import check_arraylike, promote_args


@eager_jit()
def gcd(x1: Any, x2: Any, /) -> Any:
    """Greatest common divisor of integers, as ``jax.numpy.gcd``."""
    x1, x2 = promote_args("gcd", x1, x2)
    if not np.issubdtype(_dtype(x1), np.integer):
        raise ValueError("Arguments to gcd must be integers.")
    x1, x2 = uf.broadcast_for_shapes(uf.absolute(x1), uf.absolute(x2))

    def cond(ab):
        return lax.ne(lax.reduce_or(lax.ne(ab[1], _const(ab[1], 0)),
                                     tuple(range(len(to_aval(ab[1]).shape)))), False)

    def body(ab):
        a, b = ab
        zero = lax.eq(b, _const(b, 0))
        safe_b = lax.select(zero, lax.full_like(b, 1), b)
        return (lax.select(zero, a, b), lax.select(zero, lax.full_like(b, 0), lax.rem(a, safe_b)))

    a, _ = lax.while_loop(cond, body, (x1, x2))
    return a


@eager_jit()
def lcm(x1: Any, x2: Any, /) -> Any:
    """Least common multiple of integers, as ``jax.numpy.lcm``."""
    x1, x2 = promote_args("lcm", x1, x2)
    if not np.issubdtype(_dtype(x1), np.integer):
        raise ValueError("Arguments to lcm must be integers.")
    d = gcd(x1, x2)
    x1, x2, d = uf.broadcast_for_shapes(x1, x2, d)
    zero = lax.eq(d, _const(d, 0))
    safe = lax.select(zero, lax.full_like(d, 1), d)
    return lax.select(zero, lax.full_like(d, 0),
                      uf.absolute(lax.mul(x1, uf.floor_divide(x2, safe))))


@jit_typed
def bitwise_count(x: Any, /) -> Any:
    """The number of set bits of ``|x|`` per element (uint8), as ``jax.numpy.bitwise_count``."""
    x = asarray(x)
    dt = to_aval(x).dtype
    if not (np.issubdtype(dt, np.integer) or dt == np.bool_):
        raise TypeError(f"bitwise_count requires integer or bool input, got {dt}")
    if dt == np.bool_:
        return lax.convert_element_type(x, np.uint8)
    bits = np.iinfo(dt).bits
    udt = np.dtype(f"uint{bits}")
    v = lax.convert_element_type(uf.absolute(x), udt)
    count = lax.full_like(v, 0)
    one = np.array(1, udt)
    for i in range(bits):  # shift-and-mask: a handful of elementwise ops per bit
        count = lax.add(count, lax.bitwise_and(lax.shift_right_logical(v, np.array(i, udt)),
                                               one))
    return lax.convert_element_type(count, np.uint8)


# -- bit packing -------------------------------------------------------------------------------
def _check_bitorder(bitorder: str) -> None:
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")


def _bit_weights(bitorder: str) -> np.ndarray:
    """The shift of each of the 8 bits of a byte, most significant first for ``'big'``."""
    shifts = np.arange(8, dtype=np.uint8)
    return shifts[::-1].copy() if bitorder == "big" else shifts


def _bits_last(a: Any, axis: int | None) -> tuple:
    """``a`` with the packing axis moved last (flattened when ``axis`` is None)."""
    if axis is None:
        return sh.ravel(a), 0
    return sh.moveaxis(a, axis, -1), axis


@eager_jit(static_argnames=("axis", "bitorder"))
def packbits(a: Any, axis: int | None = None, bitorder: str = "big") -> Any:
    """Groups of 8 truth values packed into the bits of uint8, as ``jax.numpy.packbits``
    (the last group is padded with zeros)."""
    check_arraylike("packbits", a)
    arr = asarray(a)
    dt = _dtype(arr)
    if not (np.issubdtype(dt, np.integer) or dt == np.bool_):
        raise TypeError("Expected an input array of integer or boolean data type")
    _check_bitorder(bitorder)
    arr = lax.convert_element_type(lax.ne(arr, _const(arr, 0)), np.uint8)
    arr, axis = _bits_last(arr, axis)
    shape = tuple(to_aval(arr).shape)
    pad = -shape[-1] % 8
    if pad:
        arr = lax.pad(arr, np.uint8(0), [(0, 0, 0)] * (len(shape) - 1) + [(0, pad, 0)])
    shape = tuple(to_aval(arr).shape)
    arr = lax.reshape(arr, shape[:-1] + (shape[-1] // 8, 8))
    shifts = lax.broadcast_in_dim(_bit_weights(bitorder), tuple(to_aval(arr).shape),
                                  (len(shape),))
    packed = lax.reduce_sum(lax.shift_left(arr, shifts), (len(shape),))
    return sh.moveaxis(packed, -1, axis)


@eager_jit(static_argnames=("axis", "count", "bitorder"))
def unpackbits(a: Any, axis: int | None = None, count: int | None = None,
               bitorder: str = "big") -> Any:
    """The bits of a uint8 array as 0/1 uint8 values, as ``jax.numpy.unpackbits``; ``count``
    keeps that many bits (negative: drops them from the end; beyond the bits: pads zeros)."""
    check_arraylike("unpackbits", a)
    arr = asarray(a)
    if _dtype(arr) != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    _check_bitorder(bitorder)
    arr, axis = _bits_last(arr, axis)
    shape = tuple(to_aval(arr).shape)
    full_shape = shape + (8,)
    arr = lax.broadcast_in_dim(arr, full_shape, tuple(range(len(shape))))
    masks = lax.broadcast_in_dim(np.left_shift(np.uint8(1), _bit_weights(bitorder)),
                                 full_shape, (len(shape),))
    bits = lax.convert_element_type(lax.gt(lax.bitwise_and(arr, masks), np.uint8(0)), np.uint8)
    bits = lax.reshape(bits, shape[:-1] + (shape[-1] * 8,))
    if count is not None:
        n = shape[-1] * 8
        count = operator.index(count)
        keep = count if count >= 0 else max(n + count, 0)
        if keep > n:
            bits = lax.pad(bits, np.uint8(0), [(0, 0, 0)] * (len(shape) - 1) + [(0, keep - n, 0)])
        else:
            bits = lax.slice_in_dim(bits, 0, keep, axis=len(shape) - 1)
    return sh.moveaxis(bits, -1, axis)
