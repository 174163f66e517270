"""Elementwise functions of xform.numpy, built from xform.lax with numpy broadcasting and JAX's
dtype promotion (weak Python scalars, int -> float for transcendental functions)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from xform.core.avals import is_python_scalar, sharding_state
from xform.lax import elementwise as lax
from xform.lax._helpers import const_like
from xform.numpy._creation import array, ones_like, zeros_like
from xform.numpy._eager import eager_jit, jit_typed, promote_one
from xform.numpy._promote import (
    aval_of, broadcast_shapes, broadcast_sharding, broadcast_to_shape, check_arraylike, convert,
    promote_args,
    promote_args_inexact, promote_dtypes, promote_to_inexact, shape_of,
)


def _dtype(x: Any) -> np.dtype:
    return aval_of(x).dtype


def _is_int_or_bool(x: Any) -> bool:
    d = _dtype(x)
    return d == np.bool_ or np.issubdtype(d, np.integer)


def _unary_inexact(name: str, lax_fn: Callable, doc: str) -> Callable:
    def f(x: Any, /) -> Any:
        check_arraylike(name, x)
        return lax_fn(*promote_to_inexact(x))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Elementwise {doc}, as ``jax.numpy.{name}`` (integer and bool inputs are "
                 "promoted to the default float dtype).")
    return eager_jit()(f)


def _binary(name: str, lax_fn: Callable, doc: str, inexact: bool = False) -> Callable:
    promote = promote_args_inexact if inexact else promote_args

    def f(x: Any, y: Any, /) -> Any:
        return lax_fn(*promote(name, x, y))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {doc} with numpy broadcasting, as ``jax.numpy.{name}``."
    return eager_jit()(f)


sin = _unary_inexact("sin", lax.sin, "sine")
cos = _unary_inexact("cos", lax.cos, "cosine")
tan = _unary_inexact("tan", lax.tan, "tangent")
arcsin = _unary_inexact("arcsin", lax.asin, "arcsine")
arccos = _unary_inexact("arccos", lax.acos, "arccosine")
arctan = _unary_inexact("arctan", lax.atan, "arctangent")
sinh = _unary_inexact("sinh", lax.sinh, "hyperbolic sine")
cosh = _unary_inexact("cosh", lax.cosh, "hyperbolic cosine")
tanh = _unary_inexact("tanh", lax.tanh, "hyperbolic tangent")
arcsinh = _unary_inexact("arcsinh", lax.asinh, "inverse hyperbolic sine")
arccosh = _unary_inexact("arccosh", lax.acosh, "inverse hyperbolic cosine")
arctanh = _unary_inexact("arctanh", lax.atanh, "inverse hyperbolic tangent")
exp = _unary_inexact("exp", lax.exp, "exponential")
exp2 = _unary_inexact("exp2", lax.exp2, "base-2 exponential")
log = _unary_inexact("log", lax.log, "natural logarithm")
log1p = _unary_inexact("log1p", lax.log1p, "log(1 + x)")
expm1 = _unary_inexact("expm1", lax.expm1, "exp(x) - 1")
sqrt = _unary_inexact("sqrt", lax.sqrt, "square root")
cbrt = _unary_inexact("cbrt", lax.cbrt, "cube root")


@jit_typed(inline=True)
def log2(x: Any, /) -> Any:
    """Elementwise base-2 logarithm, as ``jax.numpy.log2``."""
    check_arraylike("log2", x)
    (x,) = promote_to_inexact(x)
    return lax.div(lax.log(x), lax.log(convert(2, _dtype(x))))


@jit_typed(inline=True)
def log10(x: Any, /) -> Any:
    """Elementwise base-10 logarithm, as ``jax.numpy.log10``."""
    check_arraylike("log10", x)
    (x,) = promote_to_inexact(x)
    return lax.div(lax.log(x), lax.log(convert(10, _dtype(x))))


def _as_array(x: Any) -> Any:
    """Python scalars become weak 0-d arrays so lax unary ops see an array."""
    if is_python_scalar(x):
        return array(x)
    return x


@jit_typed(inline=True)
def negative(x: Any, /) -> Any:
    """Elementwise ``-x``, as ``jax.numpy.negative``."""
    check_arraylike("negative", x)
    return lax.neg(x)


@jit_typed(inline=True)
def positive(x: Any, /) -> Any:
    """Elementwise ``+x`` (the input itself), as ``jax.numpy.positive``."""
    check_arraylike("positive", x)
    return _as_array(x)


@jit_typed(inline=True)
def absolute(x: Any, /) -> Any:
    """Elementwise absolute value, as ``jax.numpy.abs`` (unsigned and bool unchanged)."""
    check_arraylike("abs", x)
    d = _dtype(x)
    if d == np.bool_ or np.issubdtype(d, np.unsignedinteger):
        return _as_array(x)
    return lax.abs(x)


abs = absolute  # noqa: A001 - jax.numpy's name


@jit_typed(inline=True)
def square(x: Any, /) -> Any:
    """Elementwise ``x * x``, as ``jax.numpy.square``."""
    check_arraylike("square", x)
    if _dtype(x) == np.bool_:
        return x
    return lax.square(x)


@jit_typed(inline=True)
def sign(x: Any, /) -> Any:
    """Elementwise sign (-1, 0, 1), as ``jax.numpy.sign``."""
    check_arraylike("sign", x)
    return lax.sign(x)


@jit_typed(inline=True)
def floor(x: Any, /) -> Any:
    """Elementwise floor, as ``jax.numpy.floor`` (integer and bool inputs unchanged)."""
    check_arraylike("floor", x)
    return _as_array(x) if _is_int_or_bool(x) else lax.floor(x)


@jit_typed(inline=True)
def ceil(x: Any, /) -> Any:
    """Elementwise ceiling, as ``jax.numpy.ceil`` (integer and bool inputs unchanged)."""
    check_arraylike("ceil", x)
    return _as_array(x) if _is_int_or_bool(x) else lax.ceil(x)


@jit_typed
def round(a: Any, decimals: int = 0, out: None = None) -> Any:  # noqa: A001
    """Round half to even to ``decimals`` places, as ``jax.numpy.round``."""
    check_arraylike("round", a)
    if out is not None:
        raise NotImplementedError("The 'out' argument to xform.numpy.round is not supported.")
    if _is_int_or_bool(a):
        if decimals < 0:
            raise NotImplementedError("integer rounding with decimals < 0 is not implemented")
        return _as_array(a)
    if np.issubdtype(_dtype(a), np.complexfloating):
        raise NotImplementedError("xform.numpy.round of complex values is not implemented")
    if decimals == 0:
        return lax.round(a, 1)
    factor = const_like(a, 10.0 ** decimals)  # JAX's `_lax_const`: strong beside an array
    return lax.div(lax.round(lax.mul(a, factor), 1), factor)


around = round


@jit_typed(inline=True)
def conjugate(x: Any, /) -> Any:
    """Complex conjugate (real inputs unchanged), as ``jax.numpy.conjugate``."""
    check_arraylike("conjugate", x)
    return lax.conj(x) if np.issubdtype(_dtype(x), np.complexfloating) else _as_array(x)


conj = conjugate


@jit_typed(inline=True)
def real(val: Any, /) -> Any:
    """The real part (real inputs unchanged), as ``jax.numpy.real``."""
    check_arraylike("real", val)
    return lax.real(val) if np.issubdtype(_dtype(val), np.complexfloating) else _as_array(val)


@jit_typed(inline=True)
def imag(val: Any, /) -> Any:
    """The imaginary part (zeros for real inputs), as ``jax.numpy.imag``."""
    check_arraylike("imag", val)
    if np.issubdtype(_dtype(val), np.complexfloating):
        return lax.imag(val)
    return zeros_like(val)


add = _binary("add", lambda x, y: lax.bitwise_or(x, y) if _dtype(x) == np.bool_
              else lax.add(x, y), "sum")
subtract = _binary("subtract", lax.sub, "difference")
multiply = _binary("multiply", lambda x, y: lax.bitwise_and(x, y) if _dtype(x) == np.bool_
                   else lax.mul(x, y), "product")
true_divide = _binary("true_divide", lax.div, "true division", inexact=True)
divide = true_divide
maximum = _binary("maximum", lax.max, "maximum")
minimum = _binary("minimum", lax.min, "minimum")
arctan2 = _binary("arctan2", lax.atan2, "arctan(x1 / x2) with quadrant", inexact=True)
equal = _binary("equal", lax.eq, "x == y")
not_equal = _binary("not_equal", lax.ne, "x != y")


def _ordered(lax_fn: Callable) -> Callable:
    """An order comparison that, as JAX's, orders complex numbers lexicographically by (real,
    imag): the imaginary parts decide where the real parts are equal."""
    def compare(x: Any, y: Any) -> Any:
        if not np.issubdtype(_dtype(x), np.complexfloating):
            return lax_fn(x, y)
        rx, ry = lax.real(x), lax.real(y)
        return lax.select(lax.eq(rx, ry), lax_fn(lax.imag(x), lax.imag(y)), lax_fn(rx, ry))
    return compare


less = _binary("less", _ordered(lax.lt), "x < y")
less_equal = _binary("less_equal", _ordered(lax.le), "x <= y")
greater = _binary("greater", _ordered(lax.gt), "x > y")
greater_equal = _binary("greater_equal", _ordered(lax.ge), "x >= y")
bitwise_and = _binary("bitwise_and", lax.bitwise_and, "bitwise and")
bitwise_or = _binary("bitwise_or", lax.bitwise_or, "bitwise or")
bitwise_xor = _binary("bitwise_xor", lax.bitwise_xor, "bitwise xor")
left_shift = _binary("left_shift", lax.shift_left, "left shift")
right_shift = _binary("right_shift", lambda x, y: (
    lax.shift_right_logical(x, y) if np.issubdtype(_dtype(x), np.unsignedinteger)
    else lax.shift_right_arithmetic(x, y)), "right shift")


@jit_typed(inline=True)
def bitwise_not(x: Any, /) -> Any:
    """Elementwise bitwise (for bool: logical) not, as ``jax.numpy.bitwise_not``."""
    check_arraylike("bitwise_not", x)
    return lax.bitwise_not(x)


invert = bitwise_not


def _to_bool(x: Any) -> Any:
    if _dtype(x) == np.bool_:
        return x
    # JAX's rule constant: weak beside a weakly typed scalar, strong beside an array
    return lax.ne(x, const_like(x, 0))


def _logical(name: str, lax_fn: Callable) -> Callable:
    def f(x: Any, y: Any, /) -> Any:
        x, y = promote_args(name, x, y)
        return lax_fn(_to_bool(x), _to_bool(y))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise {name.replace('_', ' ')} of truth values, as ``jax.numpy.{name}``."
    return jit_typed(f, inline=True)


logical_and = _logical("logical_and", lax.bitwise_and)
logical_or = _logical("logical_or", lax.bitwise_or)
logical_xor = _logical("logical_xor", lax.bitwise_xor)


@jit_typed(inline=True)
def logical_not(x: Any, /) -> Any:
    """Elementwise logical not, as ``jax.numpy.logical_not``."""
    check_arraylike("logical_not", x)
    return lax.bitwise_not(_to_bool(_as_array(x)))


def _floor_divmod_float(x: Any, y: Any) -> tuple:
    # numpy's floored division: fix the truncated remainder's sign to follow the divisor's
    mod = lax.rem(x, y)
    div = lax.div(lax.sub(x, mod), y)
    zero = convert(0, _dtype(x), True)
    fix = lax.bitwise_and(lax.ne(mod, zero), lax.ne(lax.sign(y), lax.sign(mod)))
    mod = lax.select(fix, lax.add(mod, y), mod)
    div = lax.select(fix, lax.sub(div, convert(1, _dtype(x), True)), div)
    return lax.round(div, 1), mod


@jit_typed
def floor_divide(x1: Any, x2: Any, /) -> Any:
    """Elementwise floored division ``x1 // x2``, as ``jax.numpy.floor_divide``."""
    x1, x2 = promote_args("floor_divide", x1, x2)
    d = _dtype(x1)
    if d == np.bool_:
        raise TypeError("floor_divide does not accept bool operands; cast them to int first.")
    if np.issubdtype(d, np.unsignedinteger):
        return lax.div(x1, x2)
    if np.issubdtype(d, np.integer):
        zero = convert(0, d, True)
        div = lax.div(x1, x2)
        neg = lax.ne(lax.lt(x1, zero), lax.lt(x2, zero))
        inexact = lax.ne(lax.rem(x1, x2), zero)
        return lax.select(lax.bitwise_and(neg, inexact), lax.sub(div, convert(1, d, True)), div)
    if np.issubdtype(d, np.complexfloating):
        raise TypeError("floor_divide does not support complex inputs.")
    return _floor_divmod_float(x1, x2)[0]


@jit_typed
def remainder(x1: Any, x2: Any, /) -> Any:
    """Elementwise remainder with the divisor's sign (``x1 % x2``), as ``jax.numpy.remainder``."""
    x1, x2 = promote_args("remainder", x1, x2)
    d = _dtype(x1)
    if d == np.bool_ or np.issubdtype(d, np.complexfloating):
        raise TypeError(f"remainder does not accept {d.name} operands.")
    trunc = lax.rem(x1, x2)
    if np.issubdtype(d, np.unsignedinteger):
        return trunc
    zero = convert(0, d, True)
    fix = lax.bitwise_and(lax.ne(trunc, zero), lax.ne(lax.lt(trunc, zero), lax.lt(x2, zero)))
    return lax.select(fix, lax.add(trunc, x2), trunc)


mod = remainder


def _int_pow(x: Any, y: Any) -> Any:
    # exponentiation by squaring over the bits of the exponent, unrolled (exponents < 0 give 0
    # except for bases 1 and -1, as jax.numpy)
    d = _dtype(x)
    one = convert(1, d, True)
    acc = ones_like(x)
    base = x
    exp = y
    zero = convert(0, d, True)
    bits = np.iinfo(d).bits
    for _ in range(bits):
        bit = lax.ne(lax.bitwise_and(exp, one), zero)
        acc = lax.select(bit, lax.mul(acc, base), acc)
        base = lax.mul(base, base)
        exp = lax.shift_right_logical(exp, one)
    if np.issubdtype(d, np.signedinteger):
        acc = lax.select(lax.lt(y, zero), lax.select(lax.eq(x, one), acc, lax.mul(acc, zero)),
                         acc)
    return convert(acc, d, aval_of(x).weak_type and aval_of(y).weak_type)


def power(x1: Any, x2: Any, /) -> Any:
    """Elementwise ``x1 ** x2``, as ``jax.numpy.power`` (a static int exponent becomes
    ``integer_pow``)."""
    check_arraylike("power", x1, x2)
    if type(x2) is int and not is_python_scalar(x1):
        if x2 >= 0 or not _is_int_or_bool(x1):
            return lax.integer_pow(promote_one(x1), x2)
        return power(x1, convert(x2, _dtype(x1), True))
    x1, x2 = promote_args("power", x1, x2)
    d = _dtype(x1)
    if d == np.bool_:
        raise TypeError("power does not accept bool operands; cast them to int first.")
    if np.issubdtype(d, np.integer):
        x1, x2 = broadcast_for_shapes(x1, x2)
        return _int_pow(x1, x2)
    return lax.pow(x1, x2)


def broadcast_for_shapes(*args: Any) -> list:
    shape = broadcast_shapes("broadcast", *[shape_of(a) for a in args])
    # over Explicit mesh axes, every operand is laid out as the broadcast of them all (JAX's)
    sharding = (broadcast_sharding([aval_of(a) for a in args], shape)
                if sharding_state.seen else None)
    return [broadcast_to_shape(convert(a, _dtype(a), aval_of(a).weak_type)
                               if is_python_scalar(a) else a, shape, sharding) for a in args]


@jit_typed
def where(condition: Any, x: Any = None, y: Any = None, /, *, size: Any = None,
          fill_value: Any = None) -> Any:
    """``x`` where ``condition`` else ``y``, as ``jax.numpy.where``; with ``condition`` alone,
    ``nonzero(condition, size=size, fill_value=fill_value)``."""
    if x is None and y is None:
        from xform.numpy._setops import nonzero  # cycle: numpy/_setops.py imports _ufuncs
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("Either both or neither of the x and y arguments should be provided "
                         "to xform.numpy.where, got only one.")
    if size is not None or fill_value is not None:
        raise ValueError("size and fill_value arguments cannot be used in three-term where "
                         "function.")
    check_arraylike("where", condition, x, y)
    # dtypes promoted here, shapes broadcast below with the condition's (JAX's ValueError)
    x, y = promote_dtypes(x, y)
    condition = _to_bool(condition)
    condition, x, y = broadcast_for_shapes(condition, x, y)
    return lax.select_n(condition, y, x)


@jit_typed
def clip(arr: Any = None, /, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """Clamp ``arr`` to ``[min, max]``, as ``jax.numpy.clip``."""
    check_arraylike("clip", arr)
    if min is not None:
        arr = maximum(min, arr)
    if max is not None:
        arr = minimum(max, arr)
    return arr
