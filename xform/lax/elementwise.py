"""Elementwise primitives: unary math, binary arithmetic and comparisons, select, clamp,
dtype conversion. Each primitive is one line through a family helper; special cases follow."""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import lax as jlax
from jax._src.lax.lax import _convert_element_type as _jax_convert

from xform.core.avals import ShapedArray, canonicalize_dtype, is_inexact
from xform.core.primitive import Primitive, abstract_eval
from xform.interpreters.batching import (
    batch_rules, broadcast_batcher, full_broadcast_batcher, vectorized_batcher,
)
from xform.interpreters.lowering import to_jax
from xform.lax._helpers import (
    ANY, FLOAT, INT_OR_BOOL, INTEGER, NUMBER, REAL_FLOAT, bool_result, broadcast_shapes_lax,
    check_dtype, naryop, real_result, shape_str, unop,
)

# -- unary ----------------------------------------------------------------------------------
neg_p = unop("neg", NUMBER, jlax.neg)
batch_rules[neg_p] = vectorized_batcher(neg_p)
sign_p = unop("sign", NUMBER, jlax.sign)
batch_rules[sign_p] = vectorized_batcher(sign_p)
floor_p = unop("floor", REAL_FLOAT, jlax.floor)
batch_rules[floor_p] = vectorized_batcher(floor_p)
ceil_p = unop("ceil", REAL_FLOAT, jlax.ceil)
batch_rules[ceil_p] = vectorized_batcher(ceil_p)
is_finite_p = unop("is_finite", REAL_FLOAT, jlax.is_finite, result_dtype=bool_result)
batch_rules[is_finite_p] = vectorized_batcher(is_finite_p)
exp_p = unop("exp", FLOAT, jlax.exp)
batch_rules[exp_p] = vectorized_batcher(exp_p)
exp2_p = unop("exp2", FLOAT, jlax.exp2)
batch_rules[exp2_p] = vectorized_batcher(exp2_p)
log_p = unop("log", FLOAT, jlax.log)
batch_rules[log_p] = vectorized_batcher(log_p)
log1p_p = unop("log1p", FLOAT, jlax.log1p)
batch_rules[log1p_p] = vectorized_batcher(log1p_p)
expm1_p = unop("expm1", FLOAT, jlax.expm1)
batch_rules[expm1_p] = vectorized_batcher(expm1_p)
tanh_p = unop("tanh", FLOAT, jlax.tanh)
batch_rules[tanh_p] = vectorized_batcher(tanh_p)
logistic_p = unop("logistic", FLOAT, jlax.logistic)
batch_rules[logistic_p] = vectorized_batcher(logistic_p)
sin_p = unop("sin", FLOAT, jlax.sin)
batch_rules[sin_p] = vectorized_batcher(sin_p)
cos_p = unop("cos", FLOAT, jlax.cos)
batch_rules[cos_p] = vectorized_batcher(cos_p)
tan_p = unop("tan", FLOAT, jlax.tan)
batch_rules[tan_p] = vectorized_batcher(tan_p)
asin_p = unop("asin", FLOAT, jlax.asin)
batch_rules[asin_p] = vectorized_batcher(asin_p)
acos_p = unop("acos", FLOAT, jlax.acos)
batch_rules[acos_p] = vectorized_batcher(acos_p)
atan_p = unop("atan", FLOAT, jlax.atan)
batch_rules[atan_p] = vectorized_batcher(atan_p)
sinh_p = unop("sinh", FLOAT, jlax.sinh)
batch_rules[sinh_p] = vectorized_batcher(sinh_p)
cosh_p = unop("cosh", FLOAT, jlax.cosh)
batch_rules[cosh_p] = vectorized_batcher(cosh_p)
asinh_p = unop("asinh", FLOAT, jlax.asinh)
batch_rules[asinh_p] = vectorized_batcher(asinh_p)
acosh_p = unop("acosh", FLOAT, jlax.acosh)
batch_rules[acosh_p] = vectorized_batcher(acosh_p)
atanh_p = unop("atanh", FLOAT, jlax.atanh)
batch_rules[atanh_p] = vectorized_batcher(atanh_p)
sqrt_p = unop("sqrt", FLOAT, jlax.sqrt)
batch_rules[sqrt_p] = vectorized_batcher(sqrt_p)
rsqrt_p = unop("rsqrt", FLOAT, jlax.rsqrt)
batch_rules[rsqrt_p] = vectorized_batcher(rsqrt_p)
cbrt_p = unop("cbrt", REAL_FLOAT, jlax.cbrt)
batch_rules[cbrt_p] = vectorized_batcher(cbrt_p)
abs_p = unop("abs", NUMBER, jlax.abs, result_dtype=real_result)
batch_rules[abs_p] = vectorized_batcher(abs_p)
erf_p = unop("erf", REAL_FLOAT, jlax.erf)
batch_rules[erf_p] = vectorized_batcher(erf_p)
erfc_p = unop("erfc", REAL_FLOAT, jlax.erfc)
batch_rules[erfc_p] = vectorized_batcher(erfc_p)
erf_inv_p = unop("erf_inv", REAL_FLOAT, jlax.erf_inv)
batch_rules[erf_inv_p] = vectorized_batcher(erf_inv_p)
lgamma_p = unop("lgamma", REAL_FLOAT, jlax.lgamma)
batch_rules[lgamma_p] = vectorized_batcher(lgamma_p)
digamma_p = unop("digamma", REAL_FLOAT, jlax.digamma)
batch_rules[digamma_p] = vectorized_batcher(digamma_p)
square_p = unop("square", NUMBER, jlax.square)
batch_rules[square_p] = vectorized_batcher(square_p)
real_p = unop("real", ("complexfloating",), jlax.real, result_dtype=real_result)
batch_rules[real_p] = vectorized_batcher(real_p)
imag_p = unop("imag", ("complexfloating",), jlax.imag, result_dtype=real_result)
batch_rules[imag_p] = vectorized_batcher(imag_p)
not_p = unop("not", INT_OR_BOOL, jlax.bitwise_not)
batch_rules[not_p] = vectorized_batcher(not_p)

# round: rounding_method 0 = away from zero, 1 = to nearest even (as jax.lax.RoundingMethod)
round_p = unop("round", REAL_FLOAT, lambda x, *, rounding_method: jlax.round(x, rounding_method))
batch_rules[round_p] = vectorized_batcher(round_p)

# integer_pow: x ** y for a static Python int y
integer_pow_p = unop("integer_pow", NUMBER, lambda x, *, y: jlax.integer_pow(x, y))
batch_rules[integer_pow_p] = vectorized_batcher(integer_pow_p)

# conj keeps complex dtypes and turns real ones into complex, as in JAX
conj_p = Primitive("conj")


def _conj_abstract_eval(x: ShapedArray, *, input_dtype):
    check_dtype("conj", x, NUMBER)
    dtype = x.dtype if np.issubdtype(x.dtype, np.complexfloating) else np.complex64
    return ShapedArray(x.shape, canonicalize_dtype(dtype), x.weak_type)


abstract_eval[conj_p] = _conj_abstract_eval
to_jax[conj_p] = lambda x, *, input_dtype: jlax.conj(x)
batch_rules[conj_p] = vectorized_batcher(conj_p)

# -- binary ---------------------------------------------------------------------------------
add_p = naryop("add", NUMBER, jlax.add)
batch_rules[add_p] = broadcast_batcher(add_p)
sub_p = naryop("sub", NUMBER, jlax.sub)
batch_rules[sub_p] = broadcast_batcher(sub_p)
mul_p = naryop("mul", NUMBER, jlax.mul)
batch_rules[mul_p] = broadcast_batcher(mul_p)
div_p = naryop("div", NUMBER, jlax.div)
batch_rules[div_p] = broadcast_batcher(div_p)
rem_p = naryop("rem", ("integer", "floating"), jlax.rem)
batch_rules[rem_p] = broadcast_batcher(rem_p)
max_p = naryop("max", ANY, jlax.max)
batch_rules[max_p] = broadcast_batcher(max_p)
min_p = naryop("min", ANY, jlax.min)
batch_rules[min_p] = broadcast_batcher(min_p)
atan2_p = naryop("atan2", REAL_FLOAT, jlax.atan2)
batch_rules[atan2_p] = broadcast_batcher(atan2_p)
nextafter_p = naryop("nextafter", REAL_FLOAT, jlax.nextafter)
batch_rules[nextafter_p] = broadcast_batcher(nextafter_p)
and_p = naryop("and", INT_OR_BOOL, jlax.bitwise_and)
batch_rules[and_p] = broadcast_batcher(and_p)
or_p = naryop("or", INT_OR_BOOL, jlax.bitwise_or)
batch_rules[or_p] = broadcast_batcher(or_p)
xor_p = naryop("xor", INT_OR_BOOL, jlax.bitwise_xor)
batch_rules[xor_p] = broadcast_batcher(xor_p)
shift_left_p = naryop("shift_left", INTEGER, jlax.shift_left)
batch_rules[shift_left_p] = broadcast_batcher(shift_left_p)
shift_right_logical_p = naryop("shift_right_logical", INTEGER, jlax.shift_right_logical)
batch_rules[shift_right_logical_p] = broadcast_batcher(shift_right_logical_p)
shift_right_arithmetic_p = naryop("shift_right_arithmetic", INTEGER,
                                  jlax.shift_right_arithmetic)
batch_rules[shift_right_arithmetic_p] = broadcast_batcher(shift_right_arithmetic_p)
eq_p = naryop("eq", ANY, jlax.eq, result_dtype=bool_result)
batch_rules[eq_p] = broadcast_batcher(eq_p)
ne_p = naryop("ne", ANY, jlax.ne, result_dtype=bool_result)
batch_rules[ne_p] = broadcast_batcher(ne_p)
lt_p = naryop("lt", ("integer", "floating", "bool"), jlax.lt, result_dtype=bool_result)
batch_rules[lt_p] = broadcast_batcher(lt_p)
le_p = naryop("le", ("integer", "floating", "bool"), jlax.le, result_dtype=bool_result)
batch_rules[le_p] = broadcast_batcher(le_p)
gt_p = naryop("gt", ("integer", "floating", "bool"), jlax.gt, result_dtype=bool_result)
batch_rules[gt_p] = broadcast_batcher(gt_p)
ge_p = naryop("ge", ("integer", "floating", "bool"), jlax.ge, result_dtype=bool_result)
batch_rules[ge_p] = broadcast_batcher(ge_p)

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
batch_rules[pow_p] = broadcast_batcher(pow_p)

# stop_gradient: the identity, with a zero derivative (its JVP rule is its whole point)
stop_gradient_p = unop("stop_gradient", ANY, lambda x: x)
batch_rules[stop_gradient_p] = vectorized_batcher(stop_gradient_p)

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
batch_rules[select_n_p] = full_broadcast_batcher(select_n_p, scalar_ok=(0,))

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
batch_rules[clamp_p] = full_broadcast_batcher(clamp_p, scalar_ok=(0, 2))

convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract_eval(x: ShapedArray, *, new_dtype, weak_type):
    return ShapedArray(x.shape, new_dtype, weak_type)


abstract_eval[convert_element_type_p] = _convert_abstract_eval


def _convert_to_jax(x, *, new_dtype, weak_type):
    x_complex = isinstance(x, complex) or np.issubdtype(getattr(x, "dtype", np.float32),
                                                        np.complexfloating)
    if x_complex and not np.issubdtype(new_dtype, np.complexfloating):
        x = jlax.real(x)  # complex to real keeps the real part (without numpy's warning)
    return _jax_convert(x, new_dtype, weak_type=weak_type)


to_jax[convert_element_type_p] = _convert_to_jax
batch_rules[convert_element_type_p] = vectorized_batcher(convert_element_type_p)


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


# polygamma(m, x): needed for the derivative of digamma (and of itself)
polygamma_p = naryop("polygamma", REAL_FLOAT, jlax.polygamma)


batch_rules[polygamma_p] = broadcast_batcher(polygamma_p)


def polygamma(m: Any, x: Any) -> Any:
    """The polygamma function of order ``m``, as ``jax.lax.polygamma``."""
    return polygamma_p.bind(m, x)


# -- derivative rules -----------------------------------------------------------------------
# JVP rules give each operand's contribution, linear in its tangent ``t`` (see defjvp); they
# use xform primitives only, so they differentiate and batch again. Transpose rules exist for
# the primitives that are linear in some operand.
from xform.interpreters.jvp import Zero, defjvp, defjvp_zero, instantiate  # noqa: E402
from xform.interpreters.jvp import jvp_rules  # noqa: E402
from xform.interpreters.transpose import is_undefined, transpose_rules  # noqa: E402
from xform.core.trace import to_aval as _aval  # noqa: E402
from xform.lax._helpers import weak_scalar  # noqa: E402


def _like(t: Any, ans: Any) -> Any:
    """Broadcast a rank-0 or size-1 contribution up to the output's shape."""
    from xform.lax.shape import broadcast_in_dim
    ts, shape = _aval(t).shape, _aval(ans).shape
    if ts == shape:
        return t
    if not ts:
        return broadcast_in_dim(t, shape, ())
    squeezed = [i for i, (a, b) in enumerate(zip(ts, shape)) if a == 1 and b != 1]
    from xform.lax.shape import reshape
    kept = [i for i in range(len(ts)) if i not in squeezed]
    return broadcast_in_dim(reshape(t, [ts[i] for i in kept]), shape, tuple(kept))


def _unbroadcast(ct: Any, aval: ShapedArray) -> Any:
    """Sum a cotangent down to an operand that was broadcast (rank 0 or size-1 dims)."""
    from xform.lax.reductions import reduce_sum
    from xform.lax.shape import reshape
    cs = _aval(ct).shape
    if cs == aval.shape:
        return ct
    if not aval.shape:
        return reduce_sum(ct, tuple(range(len(cs))))
    axes = tuple(i for i, (a, b) in enumerate(zip(aval.shape, cs)) if a == 1 and b != 1)
    return reshape(reduce_sum(ct, axes), aval.shape)


def _const(x: Any, value: float) -> Any:
    """A scalar of ``x``'s dtype (weak, so it never promotes)."""
    return weak_scalar(float(value), _aval(x).dtype)


for _p in (sign_p, floor_p, ceil_p, round_p, is_finite_p, eq_p, ne_p, lt_p, le_p, gt_p, ge_p,
           and_p, or_p, xor_p, not_p, shift_left_p, shift_right_logical_p,
           shift_right_arithmetic_p, nextafter_p, stop_gradient_p):
    defjvp_zero(_p)

defjvp(neg_p, lambda t, ans, x: neg(t))
defjvp(exp_p, lambda t, ans, x: mul(t, ans))
defjvp(exp2_p, lambda t, ans, x: mul(t, mul(ans, _const(x, np.log(2.0)))))
defjvp(log_p, lambda t, ans, x: div(t, x))
defjvp(log1p_p, lambda t, ans, x: div(t, add(x, _const(x, 1.0))))
defjvp(expm1_p, lambda t, ans, x: mul(t, add(ans, _const(x, 1.0))))
# (t + t*y) * (1 - y) rather than t * (1 - y**2): the tangent is used first, so under jacrev
# and jacfwd XLA fuses the same loops JAX's program has (and (1+y)(1-y) keeps its precision
# where y -> +-1)
defjvp(tanh_p, lambda t, ans, x: mul(add(t, mul(t, ans)), sub(_const(x, 1.0), ans)))
defjvp(logistic_p, lambda t, ans, x: mul(t, mul(ans, sub(_const(x, 1.0), ans))))
defjvp(sin_p, lambda t, ans, x: mul(t, cos(x)))
defjvp(cos_p, lambda t, ans, x: neg(mul(t, sin(x))))
defjvp(tan_p, lambda t, ans, x: mul(t, add(_const(x, 1.0), square(ans))))
defjvp(asin_p, lambda t, ans, x: mul(t, rsqrt(sub(_const(x, 1.0), square(x)))))
defjvp(acos_p, lambda t, ans, x: neg(mul(t, rsqrt(sub(_const(x, 1.0), square(x))))))
defjvp(atan_p, lambda t, ans, x: div(t, add(_const(x, 1.0), square(x))))
defjvp(sinh_p, lambda t, ans, x: mul(t, cosh(x)))
defjvp(cosh_p, lambda t, ans, x: mul(t, sinh(x)))
defjvp(asinh_p, lambda t, ans, x: mul(t, rsqrt(add(square(x), _const(x, 1.0)))))
defjvp(acosh_p, lambda t, ans, x: mul(t, rsqrt(mul(sub(x, _const(x, 1.0)),
                                                   add(x, _const(x, 1.0))))))
defjvp(atanh_p, lambda t, ans, x: div(t, sub(_const(x, 1.0), square(x))))
defjvp(sqrt_p, lambda t, ans, x: div(t, mul(ans, _const(x, 2.0))))
defjvp(rsqrt_p, lambda t, ans, x: mul(t, mul(div(ans, x), _const(x, -0.5))))
defjvp(cbrt_p, lambda t, ans, x: mul(t, mul(integer_pow(ans, -2), _const(x, 1.0 / 3.0))))
defjvp(erf_p, lambda t, ans, x: mul(t, mul(_const(x, 2.0 / np.sqrt(np.pi)), exp(neg(square(x))))))
defjvp(erfc_p, lambda t, ans, x: mul(t, mul(_const(x, -2.0 / np.sqrt(np.pi)),
                                            exp(neg(square(x))))))
defjvp(erf_inv_p, lambda t, ans, x: mul(t, mul(_const(x, np.sqrt(np.pi) / 2.0),
                                               exp(square(ans)))))
defjvp(lgamma_p, lambda t, ans, x: mul(t, digamma(x)))
defjvp(digamma_p, lambda t, ans, x: mul(t, polygamma(_const(x, 1.0), x)))
defjvp(polygamma_p, None, lambda t, ans, m, x: mul(t, polygamma(add(m, _const(m, 1.0)), x)))
defjvp(square_p, lambda t, ans, x: mul(t, mul(x, _const(x, 2.0))))
defjvp(real_p, lambda t, ans, x: real(t))
defjvp(imag_p, lambda t, ans, x: imag(t))
defjvp(conj_p, lambda t, ans, x, **_: conj(t))


def _abs_jvp(t, ans, x):
    if np.issubdtype(_aval(x).dtype, np.complexfloating):
        # d|x| = Re(conj(x) t) / |x|, and 0 at x = 0 (JAX's choice; dividing by |x| there
        # would make the gradient of every |z|-based function NaN at the origin)
        safe = select(eq(ans, _const(ans, 0.0)), _like(_const(ans, 1.0), ans), ans)
        return div(real(mul(conj(x), t)), safe)
    # +t for x >= 0, as JAX: not sign(x), whose 0 at x = 0 also zeroes every derivative of a
    # smooth function built on |x| there (hypot(x, 1), x * |x|, ...)
    return select(ge(x, _const(x, 0.0)), t, neg(t))


defjvp(abs_p, _abs_jvp)


def _integer_pow_jvp(t, ans, x, *, y):
    if y == 0:
        return mul(t, _const(x, 0.0))
    return mul(t, mul(_const(x, y), x if y == 2 else integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)

defjvp(add_p, lambda t, ans, x, y: _like(t, ans), lambda t, ans, x, y: _like(t, ans))
defjvp(sub_p, lambda t, ans, x, y: _like(t, ans), lambda t, ans, x, y: _like(neg(t), ans))
defjvp(mul_p, lambda t, ans, x, y: _like(mul(t, y), ans),
       lambda t, ans, x, y: _like(mul(x, t), ans))
defjvp(div_p, lambda t, ans, x, y: _like(div(t, y), ans),
       lambda t, ans, x, y: _like(mul(neg(t), div(ans, y)), ans))
defjvp(rem_p, lambda t, ans, x, y: _like(t, ans),
       lambda t, ans, x, y: _like(mul(neg(t), mul(sign(div(x, y)), floor(abs(div(x, y))))),
                                  ans))
defjvp(atan2_p,
       lambda t, ans, x, y: _like(mul(t, div(y, add(square(x), square(y)))), ans),
       lambda t, ans, x, y: _like(mul(t, div(neg(x), add(square(x), square(y)))), ans))


def _pow_jvp_base(t, ans, x, y):
    # y * x ** (y - 1), with 0 where y == 0 (so 0 ** 0 differentiates to 0, as in JAX)
    one = _const(y, 1.0) if is_inexact(_aval(y).dtype) else 1
    if not is_inexact(_aval(y).dtype):
        yf = convert_element_type(y, _aval(x).dtype)
    else:
        yf = y
    jac = select(eq(yf, _const(yf, 0.0)), _like(_const(x, 0.0), ans),
                 _like(mul(yf, pow(x, sub(y, one))), ans))
    return mul(_like(t, ans), jac)


def _pow_jvp_exponent(t, ans, x, y):
    # log(x) * x ** y, with 0 where x == 0
    safe_log = select(eq(x, _const(x, 0.0)), _like(_const(x, 0.0), x), log(x))
    return mul(_like(t, ans), _like(mul(safe_log, ans), ans))


defjvp(pow_p, _pow_jvp_base, _pow_jvp_exponent)


def _balanced_eq(x, ans, y):
    # 1 where x is the winner, 1/2 on ties: the derivative of max/min splits evenly at a tie
    one, half, zero = _const(ans, 1.0), _const(ans, 0.5), _const(ans, 0.0)
    x, y = _like(x, ans), _like(y, ans)
    return select(eq(x, ans), select(eq(y, ans), _like(half, ans), _like(one, ans)),
                  _like(zero, ans))


defjvp(max_p, lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(y, ans, x)))
defjvp(min_p, lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(y, ans, x)))


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = select_n_p.bind(which, *cases)
    if all(isinstance(t, Zero) for t in tangents[1:]):
        return ans, Zero(_aval(ans))
    return ans, select_n_p.bind(which, *[instantiate(t) for t in tangents[1:]])


jvp_rules[select_n_p] = _select_n_jvp


def _clamp_jvp(primals, tangents):
    lo, x, hi = primals
    ans = clamp_p.bind(lo, x, hi)
    zeros = _like(_const(ans, 0.0), ans)
    out = Zero(_aval(ans))
    t_lo, t_x, t_hi = tangents
    from xform.interpreters.jvp import add_tangents
    if not isinstance(t_x, Zero):
        inside = bitwise_and(gt(x, _like(lo, x)), lt(x, _like(hi, x)))
        out = add_tangents(out, select(inside, t_x, zeros))
    if not isinstance(t_lo, Zero):
        out = add_tangents(out, select(gt(_like(lo, ans), x), _like(t_lo, ans), zeros))
    if not isinstance(t_hi, Zero):
        out = add_tangents(out, select(lt(_like(hi, ans), x), _like(t_hi, ans), zeros))
    return ans, out


jvp_rules[clamp_p] = _clamp_jvp


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    ans = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if isinstance(t, Zero) or not is_inexact(new_dtype):
        from xform.interpreters.jvp import tangent_aval
        return ans, Zero(tangent_aval(_aval(ans)))
    return ans, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


jvp_rules[convert_element_type_p] = _convert_jvp


# transposes of the linear ones
def _add_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(ct, x.aval) if is_undefined(x) else None,
            _unbroadcast(ct, y.aval) if is_undefined(y) else None]


def _sub_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(ct, x.aval) if is_undefined(x) else None,
            _unbroadcast(neg(ct), y.aval) if is_undefined(y) else None]


def _mul_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    if is_undefined(x) and is_undefined(y):
        raise NotImplementedError("mul is not linear in both operands at once")
    if is_undefined(x):
        return [_unbroadcast(mul(ct, y), x.aval), None]
    return [None, _unbroadcast(mul(x, ct), y.aval)]


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise NotImplementedError("div is linear in its numerator only")
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(div(ct, y), x.aval), None]


def _neg_transpose(ct, x):
    return [None if isinstance(ct, Zero) else neg(ct)]


def _convert_transpose(ct, x, *, new_dtype, weak_type):
    if isinstance(ct, Zero):
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise NotImplementedError("select_n is not linear in its predicate")
    if isinstance(ct, Zero):
        return [None] * (1 + len(cases))
    zeros = _like(_const(ct, 0.0), ct)
    out = [None]
    for i, c in enumerate(cases):
        if not is_undefined(c):
            out.append(None)
            continue
        picks = [zeros] * len(cases)
        picks[i] = ct
        out.append(select_n_p.bind(which, *picks))
    return out


def _real_transpose(ct, x):
    if isinstance(ct, Zero):
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=False)]


def _imag_transpose(ct, x):
    if isinstance(ct, Zero):
        return [None]
    c = convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=False)
    return [mul(c, weak_scalar(-1j, x.aval.dtype))]


def _conj_transpose(ct, x, *, input_dtype):
    if isinstance(ct, Zero):
        return [None]
    out = conj(ct)
    if not np.issubdtype(input_dtype, np.complexfloating):
        out = real(out)
    return [out]


transpose_rules[add_p] = _add_transpose
transpose_rules[sub_p] = _sub_transpose
transpose_rules[mul_p] = _mul_transpose
transpose_rules[div_p] = _div_transpose
transpose_rules[neg_p] = _neg_transpose
transpose_rules[convert_element_type_p] = _convert_transpose
transpose_rules[select_n_p] = _select_n_transpose
transpose_rules[real_p] = _real_transpose
transpose_rules[imag_p] = _imag_transpose
transpose_rules[conj_p] = _conj_transpose
