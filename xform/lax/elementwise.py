"""Elementwise primitives: unary math, binary arithmetic and comparisons, select, clamp,
dtype conversion. Each primitive is one line through a family helper; special cases follow."""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import lax as jlax
from jax._src.lax.lax import _convert_element_type as _jax_convert

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.interpreters.lowering import to_jax
from xform.lax._helpers import (
    ANY, FLOAT, INT_OR_BOOL, INTEGER, NUMBER, REAL_FLOAT, bool_result, broadcast_shapes_lax,
    check_dtype, naryop, real_result, shape_str, unop,
)

# -- unary ----------------------------------------------------------------------------------
neg_p = unop("neg", NUMBER, jlax.neg)
sign_p = unop("sign", NUMBER, jlax.sign)
floor_p = unop("floor", REAL_FLOAT, jlax.floor)
ceil_p = unop("ceil", REAL_FLOAT, jlax.ceil)
is_finite_p = unop("is_finite", REAL_FLOAT, jlax.is_finite, result_dtype=bool_result)
exp_p = unop("exp", FLOAT, jlax.exp)
exp2_p = unop("exp2", FLOAT, jlax.exp2)
log_p = unop("log", FLOAT, jlax.log)
log1p_p = unop("log1p", FLOAT, jlax.log1p)
expm1_p = unop("expm1", FLOAT, jlax.expm1)
tanh_p = unop("tanh", FLOAT, jlax.tanh)
logistic_p = unop("logistic", FLOAT, jlax.logistic)
sin_p = unop("sin", FLOAT, jlax.sin)
cos_p = unop("cos", FLOAT, jlax.cos)
tan_p = unop("tan", FLOAT, jlax.tan)
asin_p = unop("asin", FLOAT, jlax.asin)
acos_p = unop("acos", FLOAT, jlax.acos)
atan_p = unop("atan", FLOAT, jlax.atan)
sinh_p = unop("sinh", FLOAT, jlax.sinh)
cosh_p = unop("cosh", FLOAT, jlax.cosh)
asinh_p = unop("asinh", FLOAT, jlax.asinh)
acosh_p = unop("acosh", FLOAT, jlax.acosh)
atanh_p = unop("atanh", FLOAT, jlax.atanh)
sqrt_p = unop("sqrt", FLOAT, jlax.sqrt)
rsqrt_p = unop("rsqrt", FLOAT, jlax.rsqrt)
cbrt_p = unop("cbrt", REAL_FLOAT, jlax.cbrt)
abs_p = unop("abs", NUMBER, jlax.abs, result_dtype=real_result)
erf_p = unop("erf", REAL_FLOAT, jlax.erf)
erfc_p = unop("erfc", REAL_FLOAT, jlax.erfc)
erf_inv_p = unop("erf_inv", REAL_FLOAT, jlax.erf_inv)
lgamma_p = unop("lgamma", REAL_FLOAT, jlax.lgamma)
digamma_p = unop("digamma", REAL_FLOAT, jlax.digamma)
square_p = unop("square", NUMBER, jlax.square)
real_p = unop("real", ("complexfloating",), jlax.real, result_dtype=real_result)
imag_p = unop("imag", ("complexfloating",), jlax.imag, result_dtype=real_result)
not_p = unop("not", INT_OR_BOOL, jlax.bitwise_not)

# round: rounding_method 0 = away from zero, 1 = to nearest even (as jax.lax.RoundingMethod)
round_p = unop("round", REAL_FLOAT, lambda x, *, rounding_method: jlax.round(x, rounding_method))

# integer_pow: x ** y for a static Python int y
integer_pow_p = unop("integer_pow", NUMBER, lambda x, *, y: jlax.integer_pow(x, y))

# conj keeps complex dtypes and turns real ones into complex, as in JAX
conj_p = Primitive("conj")


def _conj_abstract_eval(x: ShapedArray, *, input_dtype):
    check_dtype("conj", x, NUMBER)
    dtype = x.dtype if np.issubdtype(x.dtype, np.complexfloating) else np.complex64
    return ShapedArray(x.shape, canonicalize_dtype(dtype), x.weak_type)


abstract_eval[conj_p] = _conj_abstract_eval
to_jax[conj_p] = lambda x, *, input_dtype: jlax.conj(x)

# -- binary ---------------------------------------------------------------------------------
add_p = naryop("add", NUMBER, jlax.add)
sub_p = naryop("sub", NUMBER, jlax.sub)
mul_p = naryop("mul", NUMBER, jlax.mul)
div_p = naryop("div", NUMBER, jlax.div)
rem_p = naryop("rem", ("integer", "floating"), jlax.rem)
max_p = naryop("max", ANY, jlax.max)
min_p = naryop("min", ANY, jlax.min)
atan2_p = naryop("atan2", REAL_FLOAT, jlax.atan2)
nextafter_p = naryop("nextafter", REAL_FLOAT, jlax.nextafter)
and_p = naryop("and", INT_OR_BOOL, jlax.bitwise_and)
or_p = naryop("or", INT_OR_BOOL, jlax.bitwise_or)
xor_p = naryop("xor", INT_OR_BOOL, jlax.bitwise_xor)
shift_left_p = naryop("shift_left", INTEGER, jlax.shift_left)
shift_right_logical_p = naryop("shift_right_logical", INTEGER, jlax.shift_right_logical)
shift_right_arithmetic_p = naryop("shift_right_arithmetic", INTEGER,
                                  jlax.shift_right_arithmetic)
eq_p = naryop("eq", ANY, jlax.eq, result_dtype=bool_result)
ne_p = naryop("ne", ANY, jlax.ne, result_dtype=bool_result)
lt_p = naryop("lt", ("integer", "floating", "bool"), jlax.lt, result_dtype=bool_result)
le_p = naryop("le", ("integer", "floating", "bool"), jlax.le, result_dtype=bool_result)
gt_p = naryop("gt", ("integer", "floating", "bool"), jlax.gt, result_dtype=bool_result)
ge_p = naryop("ge", ("integer", "floating", "bool"), jlax.ge, result_dtype=bool_result)

# pow: a floating/complex base with an exponent of the same dtype or of an integer dtype
pow_p = Primitive("pow")


def _pow_abstract_eval(x: ShapedArray, y: ShapedArray):
    check_dtype("pow", x, FLOAT, "the base")
    if not np.issubdtype(y.dtype, np.integer) and y.dtype != x.dtype:
        raise TypeError(f"lax.pow requires the exponent to have the base's dtype or an integer "
                        f"dtype, got {x.dtype.name} and {y.dtype.name}.")
    return ShapedArray(broadcast_shapes_lax("pow", x, y), x.dtype, x.weak_type and y.weak_type)


abstract_eval[pow_p] = _pow_abstract_eval
to_jax[pow_p] = jlax.pow

# stop_gradient: the identity, with a zero derivative (its JVP rule is its whole point)
stop_gradient_p = unop("stop_gradient", ANY, lambda x: x)

# -- select_n, clamp, convert_element_type --------------------------------------------------
select_n_p = Primitive("select_n")


def _select_n_abstract_eval(which: ShapedArray, *cases: ShapedArray):
    if not cases:
        raise TypeError("select_n requires at least one case")
    if which.dtype != np.bool_ and not np.issubdtype(which.dtype, np.integer):
        raise TypeError(f"select_n `which` must be boolean or integer, got {which.dtype.name}")
    if which.dtype == np.bool_ and len(cases) > 2:
        raise TypeError("select_n with a boolean `which` takes at most two cases")
    for i, c in enumerate(cases[1:], 1):
        if (c.shape, c.dtype) != (cases[0].shape, cases[0].dtype):
            raise TypeError(f"select_n cases must have the same shapes and dtypes, got case 0 "
                            f"{cases[0].str_short()} and case {i} {c.str_short()}")
    if which.shape and which.shape != cases[0].shape:
        raise TypeError(f"select_n `which` must be scalar or have the cases' shape "
                        f"{shape_str(cases[0].shape)}, got {shape_str(which.shape)}")
    return ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))


abstract_eval[select_n_p] = _select_n_abstract_eval
to_jax[select_n_p] = jlax.select_n

clamp_p = Primitive("clamp")


def _clamp_abstract_eval(lo: ShapedArray, x: ShapedArray, hi: ShapedArray):
    for name, a in (("min", lo), ("max", hi)):
        if a.dtype != x.dtype:
            raise TypeError(f"clamp requires {name} and operand to have the same dtype, got "
                            f"{a.dtype.name} and {x.dtype.name}")
        if a.shape and a.shape != x.shape:
            raise TypeError(f"clamp requires {name} to be scalar or of the operand's shape "
                            f"{shape_str(x.shape)}, got {shape_str(a.shape)}")
    return x


abstract_eval[clamp_p] = _clamp_abstract_eval
to_jax[clamp_p] = jlax.clamp

convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract_eval(x: ShapedArray, *, new_dtype, weak_type):
    return ShapedArray(x.shape, new_dtype, weak_type)


abstract_eval[convert_element_type_p] = _convert_abstract_eval
to_jax[convert_element_type_p] = lambda x, *, new_dtype, weak_type: _jax_convert(
    x, new_dtype, weak_type=weak_type)


# -- public functions with jax.lax's signatures ---------------------------------------------
def _unary(p: Primitive, doc: str):
    def f(x: Any) -> Any:
        return p.bind(x)
    f.__name__ = f.__qualname__ = p.name if p.name != "not" else "bitwise_not"
    f.__doc__ = f"Elementwise {doc}: ``xform.lax.{f.__name__}(x)``, as ``jax.lax.{f.__name__}``."
    return f


def _binary(p: Primitive, public: str):
    def f(x: Any, y: Any) -> Any:
        return p.bind(x, y)
    f.__name__ = f.__qualname__ = public
    f.__doc__ = (f"Elementwise ``{public}`` of two operands of one dtype, as "
                 f"``jax.lax.{public}``.")
    return f


neg = _unary(neg_p, "negation")
sign = _unary(sign_p, "sign")
floor = _unary(floor_p, "floor")
ceil = _unary(ceil_p, "ceiling")
is_finite = _unary(is_finite_p, "finiteness test")
exp = _unary(exp_p, "exponential")
exp2 = _unary(exp2_p, "base-2 exponential")
log = _unary(log_p, "natural logarithm")
log1p = _unary(log1p_p, "log(1 + x)")
expm1 = _unary(expm1_p, "exp(x) - 1")
tanh = _unary(tanh_p, "hyperbolic tangent")
logistic = _unary(logistic_p, "logistic sigmoid")
sin = _unary(sin_p, "sine")
cos = _unary(cos_p, "cosine")
tan = _unary(tan_p, "tangent")
asin = _unary(asin_p, "arcsine")
acos = _unary(acos_p, "arccosine")
atan = _unary(atan_p, "arctangent")
sinh = _unary(sinh_p, "hyperbolic sine")
cosh = _unary(cosh_p, "hyperbolic cosine")
asinh = _unary(asinh_p, "inverse hyperbolic sine")
acosh = _unary(acosh_p, "inverse hyperbolic cosine")
atanh = _unary(atanh_p, "inverse hyperbolic tangent")
sqrt = _unary(sqrt_p, "square root")
rsqrt = _unary(rsqrt_p, "reciprocal square root")
cbrt = _unary(cbrt_p, "cube root")
abs = _unary(abs_p, "absolute value")  # noqa: A001 - jax.lax's name
erf = _unary(erf_p, "error function")
erfc = _unary(erfc_p, "complementary error function")
erf_inv = _unary(erf_inv_p, "inverse error function")
lgamma = _unary(lgamma_p, "log-gamma")
digamma = _unary(digamma_p, "digamma")
square = _unary(square_p, "square")
real = _unary(real_p, "real part")
imag = _unary(imag_p, "imaginary part")
bitwise_not = _unary(not_p, "bitwise/logical not")

add = _binary(add_p, "add")
sub = _binary(sub_p, "sub")
mul = _binary(mul_p, "mul")
div = _binary(div_p, "div")
rem = _binary(rem_p, "rem")
max = _binary(max_p, "max")  # noqa: A001 - jax.lax's name
min = _binary(min_p, "min")  # noqa: A001 - jax.lax's name
atan2 = _binary(atan2_p, "atan2")
nextafter = _binary(nextafter_p, "nextafter")
bitwise_and = _binary(and_p, "bitwise_and")
bitwise_or = _binary(or_p, "bitwise_or")
bitwise_xor = _binary(xor_p, "bitwise_xor")
shift_left = _binary(shift_left_p, "shift_left")
shift_right_logical = _binary(shift_right_logical_p, "shift_right_logical")
shift_right_arithmetic = _binary(shift_right_arithmetic_p, "shift_right_arithmetic")
eq = _binary(eq_p, "eq")
ne = _binary(ne_p, "ne")
lt = _binary(lt_p, "lt")
le = _binary(le_p, "le")
gt = _binary(gt_p, "gt")
ge = _binary(ge_p, "ge")


def pow(x: Any, y: Any) -> Any:  # noqa: A001 - jax.lax's name
    """Elementwise power ``x ** y``; ``y`` may have ``x``'s dtype or an integer dtype."""
    return pow_p.bind(x, y)


def stop_gradient(x: Any) -> Any:
    """The identity whose derivative is zero, on every leaf of the pytree ``x``."""
    import jax
    return jax.tree_util.tree_map(stop_gradient_p.bind, x)


def integer_pow(x: Any, y: int) -> Any:
    """``x ** y`` for a static integer ``y``, as ``jax.lax.integer_pow``."""
    return integer_pow_p.bind(x, y=int(y))


def round(x: Any, rounding_method: Any = 0) -> Any:  # noqa: A001 - jax.lax's name
    """Round to integral values; ``rounding_method`` 0 (away from zero) or 1 (to even)."""
    return round_p.bind(x, rounding_method=jlax.RoundingMethod(int(rounding_method)))


def conj(x: Any) -> Any:
    """Complex conjugate (real inputs become complex), as ``jax.lax.conj``."""
    from xform.core.trace import to_aval
    return conj_p.bind(x, input_dtype=to_aval(x).dtype)


def select_n(which: Any, *cases: Any) -> Any:
    """``cases[which]`` elementwise; ``which`` is bool (two cases) or int32."""
    return select_n_p.bind(which, *cases)


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``pred`` else ``on_false`` (``select_n(pred, on_false, on_true)``)."""
    return select_n_p.bind(pred, on_false, on_true)


def clamp(min: Any, x: Any, max: Any) -> Any:  # noqa: A002 - jax.lax's names
    """``min(max(x, min), max)`` elementwise, as ``jax.lax.clamp``."""
    return clamp_p.bind(min, x, max)


def convert_element_type(operand: Any, new_dtype: Any) -> Any:
    """Cast to ``new_dtype``, as ``jax.lax.convert_element_type``."""
    from xform.core.trace import to_aval
    new_dtype = canonicalize_dtype(new_dtype)
    aval = to_aval(operand)
    if aval.dtype == new_dtype and not aval.weak_type:
        return operand
    if np.issubdtype(aval.dtype, np.complexfloating) and not np.issubdtype(
            new_dtype, np.complexfloating):
        operand = real(operand)
    return convert_element_type_p.bind(operand, new_dtype=new_dtype, weak_type=False)


def _convert_weak(operand: Any, new_dtype: Any, weak_type: bool) -> Any:
    """Convert keeping a weak type (used by dtype promotion in xform.numpy)."""
    return convert_element_type_p.bind(operand, new_dtype=canonicalize_dtype(new_dtype),
                                       weak_type=weak_type)
