"""Elementwise integer functions of xform.numpy: gcd, lcm and bitwise_count."""

from __future__ import annotations

from typing import Any

import numpy as np

from xform import lax
from xform.core.trace import to_aval
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit
from xform.numpy._predicates import _const, _dtype
from xform.numpy._promote import promote_args


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
