"""Elementwise primitives: unary math, binary arithmetic, comparisons and bitwise operations,
and select, clamp, dtype conversion (the special functions are in ``elementwise_more.py``).

Each primitive is one block, its whole story in consecutive lines:

    sin_p = unop("sin", FLOAT, jlax.sin)              # abstract eval, to_jax, batching
    defjvp(sin_p, lambda t, ans, x: mul(t, cos(x)))   # JVP
    sin = _unary(sin_p, "sine")                       # the public function

The family helpers (``unop``, ``naryop`` in ``xform.lax._helpers``) register what every member
shares: the shape/dtype rule, ``to_jax``, and the vectorized (unary) or broadcasting (n-ary)
batching rule. JVP rules give each operand's contribution, linear in its tangent ``t`` (see
``defjvp``); they use xform primitives only, so they differentiate and batch again. Transpose
rules follow in the blocks of the primitives that are linear in some operand.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype, is_inexact
from xform.core.jax_internals import convert_element_type as jax_convert_weak
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_rules, broadcast_batcher, full_broadcast_batcher, vectorized_batcher,
)
from xform.interpreters.jvp import (
    Zero, add_tangents, defjvp, defjvp_zero, instantiate, jvp_rules, tangent_aval,
)
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax._helpers import (
    ANY, FLOAT, INT_OR_BOOL, INTEGER, NUMBER, REAL_FLOAT, bool_result, broadcast_shapes_lax,
    check_dtype, const_like, naryop, real_result, shape_str, unop, weak_scalar,
)


# -- helpers for the public functions and the rules -----------------------------------------
# the unary functions that take JAX's ``accuracy=`` (a ``Tolerance`` or an ``AccuracyMode``):
# bound with an ``accuracy`` param only when given, so default programs print as JAX's do
_ACCURACY_OPS = frozenset({"cbrt", "cos", "exp", "exp2", "expm1", "log", "log1p", "logistic",
                           "rsqrt", "sin", "sqrt", "tan", "tanh"})


def _unary(p: Primitive, doc: str):
    if p.name in _ACCURACY_OPS:
        def f(x: Any, accuracy: Any = None) -> Any:
            return p.bind(x) if accuracy is None else p.bind(x, accuracy=accuracy)
    else:
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


def _const(x: Any, value: float) -> Any:
    """A scalar of ``x``'s dtype, weak (JAX's ``_one``/``full_like`` in a rule: it keeps the
    weak type of what it is combined with). Where JAX's rule writes ``_const``, strongly typed
    beside a weakly typed array, the rule here writes ``const_like``."""
    return weak_scalar(float(value), to_aval(x).dtype)


def _np_promoted(op: Any, x: Any, y: Any) -> Any:
    """``op(x, y)`` as JAX's rules written with Python's ``*`` and ``+`` compute it: numpy's
    promotion first, so a weakly typed operand next to a strongly typed one is cast to a strong
    type (a cast whose transpose gives its cotangent the weak type back)."""
    xw, yw = to_aval(x).weak_type, to_aval(y).weak_type
    if xw and not yw:
        x = convert_element_type(x, to_aval(x).dtype)
    elif yw and not xw:
        y = convert_element_type(y, to_aval(y).dtype)
    return op(x, y)


def _like(t: Any, ans: Any) -> Any:
    """Broadcast a rank-0 or size-1 contribution up to the output's shape (and, over Explicit
    mesh axes, its layout)."""
    from xform.lax.shape import broadcast_in_dim, reshape  # cycle: shape imports elementwise
    ans_aval = to_aval(ans)
    ts, shape = to_aval(t).shape, ans_aval.shape
    if ts == shape:
        return t
    if not ts:
        return broadcast_in_dim(t, shape, (), out_sharding=ans_aval.sharding)
    squeezed = [i for i, (a, b) in enumerate(zip(ts, shape)) if a == 1 and b != 1]
    kept = [i for i in range(len(ts)) if i not in squeezed]
    return broadcast_in_dim(reshape(t, [ts[i] for i in kept]), shape, tuple(kept),
                            out_sharding=ans_aval.sharding)


def _unbroadcast(ct: Any, aval: ShapedArray) -> Any:
    """Sum a cotangent down to an operand that was broadcast (rank 0 or size-1 dims)."""
    from xform.lax.reductions import reduce_sum  # cycle: reductions imports elementwise
    from xform.lax.shape import reshape  # cycle: shape imports elementwise
    cs = to_aval(ct).shape
    if cs == aval.shape:
        return ct
    if not aval.shape:
        return reduce_sum(ct, tuple(range(len(cs))))
    axes = tuple(i for i, (a, b) in enumerate(zip(aval.shape, cs)) if a == 1 and b != 1)
    return reshape(reduce_sum(ct, axes), aval.shape)


# -- unary math -----------------------------------------------------------------------------
neg_p = unop("neg", NUMBER, jlax.neg)
defjvp(neg_p, lambda t, ans, x: neg(t))


def _neg_transpose(ct, x):
    return [None if isinstance(ct, Zero) else neg(ct)]


transpose_rules[neg_p] = _neg_transpose
neg = _unary(neg_p, "negation")

sign_p = unop("sign", NUMBER, jlax.sign)
defjvp_zero(sign_p)
sign = _unary(sign_p, "sign")

floor_p = unop("floor", REAL_FLOAT, jlax.floor)
defjvp_zero(floor_p)
floor = _unary(floor_p, "floor")

ceil_p = unop("ceil", REAL_FLOAT, jlax.ceil)
defjvp_zero(ceil_p)
ceil = _unary(ceil_p, "ceiling")

# round: rounding_method 0 = away from zero, 1 = to nearest even (as jax.lax.RoundingMethod)
round_p = unop("round", REAL_FLOAT, lambda x, *, rounding_method: jlax.round(x, rounding_method))
defjvp_zero(round_p)


def round(x: Any, rounding_method: Any = 0) -> Any:  # noqa: A001 - jax.lax's name
    """Round to integral values; ``rounding_method`` 0 (away from zero) or 1 (to even)."""
    return round_p.bind(x, rounding_method=jlax.RoundingMethod(int(rounding_method)))


is_finite_p = unop("is_finite", REAL_FLOAT, jlax.is_finite, result_dtype=bool_result)
defjvp_zero(is_finite_p)
is_finite = _unary(is_finite_p, "finiteness test")

exp_p = unop("exp", FLOAT, jlax.exp)
defjvp(exp_p, lambda t, ans, x: mul(t, ans))
exp = _unary(exp_p, "exponential")

exp2_p = unop("exp2", FLOAT, jlax.exp2)
defjvp(exp2_p, lambda t, ans, x: mul(t, mul(ans, const_like(x, np.log(2.0)))))
exp2 = _unary(exp2_p, "base-2 exponential")

log_p = unop("log", FLOAT, jlax.log)
defjvp(log_p, lambda t, ans, x: div(t, x))
log = _unary(log_p, "natural logarithm")

log1p_p = unop("log1p", FLOAT, jlax.log1p)
defjvp(log1p_p, lambda t, ans, x: div(t, add(x, _const(x, 1.0))))
log1p = _unary(log1p_p, "log(1 + x)")

expm1_p = unop("expm1", FLOAT, jlax.expm1)
defjvp(expm1_p, lambda t, ans, x: mul(t, add(ans, _const(x, 1.0))))
expm1 = _unary(expm1_p, "exp(x) - 1")

tanh_p = unop("tanh", FLOAT, jlax.tanh)
# (t + t*y) * (1 - y) rather than t * (1 - y**2): the tangent is used first, so under jacrev
# and jacfwd XLA fuses the same loops JAX's program has (and (1+y)(1-y) keeps its precision
# where y -> +-1)
defjvp(tanh_p, lambda t, ans, x: mul(add(t, mul(t, ans)), sub(_const(x, 1.0), ans)))
tanh = _unary(tanh_p, "hyperbolic tangent")

logistic_p = unop("logistic", FLOAT, jlax.logistic)
defjvp(logistic_p, lambda t, ans, x: mul(t, mul(ans, sub(_const(x, 1.0), ans))))
logistic = _unary(logistic_p, "logistic sigmoid")

sin_p = unop("sin", FLOAT, jlax.sin)
defjvp(sin_p, lambda t, ans, x: mul(t, cos(x)))
sin = _unary(sin_p, "sine")

cos_p = unop("cos", FLOAT, jlax.cos)
defjvp(cos_p, lambda t, ans, x: neg(mul(t, sin(x))))
cos = _unary(cos_p, "cosine")

tan_p = unop("tan", FLOAT, jlax.tan)
defjvp(tan_p, lambda t, ans, x: mul(t, add(const_like(x, 1.0), square(ans))))
tan = _unary(tan_p, "tangent")

asin_p = unop("asin", FLOAT, jlax.asin)
defjvp(asin_p, lambda t, ans, x: mul(t, rsqrt(sub(const_like(x, 1.0), square(x)))))
asin = _unary(asin_p, "arcsine")

acos_p = unop("acos", FLOAT, jlax.acos)
defjvp(acos_p, lambda t, ans, x: mul(t, neg(rsqrt(sub(const_like(x, 1.0), square(x))))))
acos = _unary(acos_p, "arccosine")

atan_p = unop("atan", FLOAT, jlax.atan)
defjvp(atan_p, lambda t, ans, x: div(t, add(const_like(x, 1.0), square(x))))
atan = _unary(atan_p, "arctangent")

sinh_p = unop("sinh", FLOAT, jlax.sinh)
defjvp(sinh_p, lambda t, ans, x: mul(t, cosh(x)))
sinh = _unary(sinh_p, "hyperbolic sine")

cosh_p = unop("cosh", FLOAT, jlax.cosh)
defjvp(cosh_p, lambda t, ans, x: mul(t, sinh(x)))
cosh = _unary(cosh_p, "hyperbolic cosine")

asinh_p = unop("asinh", FLOAT, jlax.asinh)
defjvp(asinh_p, lambda t, ans, x: mul(t, rsqrt(add(square(x), _const(x, 1.0)))))
asinh = _unary(asinh_p, "inverse hyperbolic sine")

acosh_p = unop("acosh", FLOAT, jlax.acosh)
# x^2 - 1, as JAX writes it (not (x - 1)(x + 1)): the same values at the edges (x = 1, -1,
# inf and complex infinities), where the two forms round to different signs of 0 and inf
defjvp(acosh_p, lambda t, ans, x: mul(t, rsqrt(sub(square(x), _const(x, 1.0)))))
acosh = _unary(acosh_p, "inverse hyperbolic cosine")

atanh_p = unop("atanh", FLOAT, jlax.atanh)
# 1/(1+x) * t/(1-x), JAX's form: 1 - x^2 loses the sign of 0 and overflows to inf where
# JAX's gives nan (complex infinities)
defjvp(atanh_p, lambda t, ans, x: mul(integer_pow(add(_const(x, 1.0), x), -1),
                                      div(t, sub(_const(x, 1.0), x))))
atanh = _unary(atanh_p, "inverse hyperbolic tangent")

sqrt_p = unop("sqrt", FLOAT, jlax.sqrt)
# t * (0.5 / ans), JAX's form: at a complex 0 the quotient is nan (complex division by 0),
# where t / (2 ans) would give inf
defjvp(sqrt_p, lambda t, ans, x: mul(t, div(const_like(x, 0.5), ans)))
sqrt = _unary(sqrt_p, "square root")

rsqrt_p = unop("rsqrt", FLOAT, jlax.rsqrt)
defjvp(rsqrt_p, lambda t, ans, x: mul(t, mul(const_like(x, -0.5), div(ans, x))))
rsqrt = _unary(rsqrt_p, "reciprocal square root")

cbrt_p = unop("cbrt", REAL_FLOAT, jlax.cbrt)
defjvp(cbrt_p, lambda t, ans, x: mul(t, mul(const_like(x, 1.0 / 3.0), integer_pow(ans, -2))))
cbrt = _unary(cbrt_p, "cube root")

square_p = unop("square", NUMBER, jlax.square)
defjvp(square_p, lambda t, ans, x: mul(t, mul(x, const_like(x, 2.0))))
square = _unary(square_p, "square")

# integer_pow: x ** y for a static Python int y
integer_pow_p = unop("integer_pow", NUMBER, lambda x, *, y: jlax.integer_pow(x, y))


def _integer_pow_jvp(t, ans, x, *, y):
    if y == 0:
        return mul(t, _const(x, 0.0))
    if y == 1:
        return t  # as JAX's rule: the tangent itself, with its own type
    return mul(t, mul(const_like(x, y), x if y == 2 else integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)


def integer_pow(x: Any, y: int) -> Any:
    """``x ** y`` for a static integer ``y``, as ``jax.lax.integer_pow``."""
    return integer_pow_p.bind(x, y=int(y))


# -- complex parts --------------------------------------------------------------------------
abs_p = unop("abs", NUMBER, jlax.abs, result_dtype=real_result)


def _abs_jvp(t, ans, x):
    if np.issubdtype(to_aval(x).dtype, np.complexfloating):
        # d|x| = Re(t conj(x) / |x|), with |x| replaced by 1 at x = 0 (JAX's choice; dividing
        # by 0 there would make the gradient of every |z|-based function NaN at the origin).
        # The complex quotient, as JAX forms it, gives its values at infinities too.
        cans = convert_element_type_p.bind(ans, new_dtype=to_aval(x).dtype, weak_type=False)
        return real(mul(t, div(conj(x), _replace_zero(cans))))
    # +t for x >= 0, as JAX: not sign(x), whose 0 at x = 0 also zeroes every derivative of a
    # smooth function built on |x| there (hypot(x, 1), x * |x|, ...)
    return select(ge(x, _const(x, 0.0)), t, neg(t))


defjvp(abs_p, _abs_jvp)
abs = _unary(abs_p, "absolute value")  # noqa: A001 - jax.lax's name

real_p = unop("real", ("complexfloating",), jlax.real, result_dtype=real_result)
defjvp(real_p, lambda t, ans, x: real(t))


def _real_transpose(ct, x):
    if isinstance(ct, Zero):
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=False)]


transpose_rules[real_p] = _real_transpose
real = _unary(real_p, "real part")

imag_p = unop("imag", ("complexfloating",), jlax.imag, result_dtype=real_result)
defjvp(imag_p, lambda t, ans, x: imag(t))


def _imag_transpose(ct, x):
    if isinstance(ct, Zero):
        return [None]
    from xform.lax.elementwise_more import complex as make_complex  # cycle: it imports us
    # complex(0, -ct), as JAX builds it: multiplying by -1j would turn a nan or inf
    # cotangent into nan in both parts
    zero = _like(np.zeros((), to_aval(ct).dtype), ct)
    return [make_complex(zero, neg(ct))]


transpose_rules[imag_p] = _imag_transpose
imag = _unary(imag_p, "imaginary part")

# conj keeps complex dtypes and turns real ones into complex, as in JAX
conj_p = Primitive("conj")


def _conj_abstract_eval(x: ShapedArray, *, input_dtype):
    check_dtype("conj", x, NUMBER)
    dtype = x.dtype if np.issubdtype(x.dtype, np.complexfloating) else np.complex64
    return ShapedArray(x.shape, canonicalize_dtype(dtype), x.weak_type)


def _conj_transpose(ct, x, *, input_dtype):
    if isinstance(ct, Zero):
        return [None]
    out = conj(ct)
    if not np.issubdtype(input_dtype, np.complexfloating):
        out = real(out)
    return [out]


abstract_eval[conj_p] = _conj_abstract_eval
to_jax[conj_p] = lambda x, *, input_dtype: jlax.conj(x)
batch_rules[conj_p] = vectorized_batcher(conj_p)
defjvp(conj_p, lambda t, ans, x, **_: conj(t))
transpose_rules[conj_p] = _conj_transpose


def conj(x: Any) -> Any:
    """Complex conjugate (real inputs become complex), as ``jax.lax.conj``."""
    return conj_p.bind(x, input_dtype=to_aval(x).dtype)


# -- binary arithmetic ----------------------------------------------------------------------
add_p = naryop("add", NUMBER, jlax.add)


def _add_sub_jvp(prim, neg_y):
    # as JAX: two nonzero tangents combine by the primitive itself (add or sub), not add_any
    def rule(primals, tangents):
        ans = prim.bind(*primals)
        t_x, t_y = tangents
        if isinstance(t_x, Zero):
            return ans, _like(neg(t_y) if neg_y else t_y, ans)
        if isinstance(t_y, Zero):
            return ans, _like(t_x, ans)
        return ans, prim.bind(t_x, t_y)
    jvp_rules[prim] = rule


_add_sub_jvp(add_p, neg_y=False)


def _add_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(ct, x.aval) if is_undefined(x) else None,
            _unbroadcast(ct, y.aval) if is_undefined(y) else None]


transpose_rules[add_p] = _add_transpose
add = _binary(add_p, "add")

sub_p = naryop("sub", NUMBER, jlax.sub)
_add_sub_jvp(sub_p, neg_y=True)


def _sub_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(ct, x.aval) if is_undefined(x) else None,
            _unbroadcast(neg(ct), y.aval) if is_undefined(y) else None]


transpose_rules[sub_p] = _sub_transpose
sub = _binary(sub_p, "sub")

mul_p = naryop("mul", NUMBER, jlax.mul)
defjvp(mul_p, lambda t, ans, x, y: _like(mul(t, y), ans),
       lambda t, ans, x, y: _like(mul(x, t), ans))


def _mul_transpose(ct, x, y):
    if isinstance(ct, Zero):
        return [None, None]
    if is_undefined(x) and is_undefined(y):
        raise NotImplementedError("mul is not linear in both operands at once")
    if is_undefined(x):
        return [_unbroadcast(mul(ct, y), x.aval), None]
    return [None, _unbroadcast(mul(x, ct), y.aval)]


transpose_rules[mul_p] = _mul_transpose


def mul(x: Any, y: Any, *, out_dtype: Any = None) -> Any:
    """Elementwise product, as ``jax.lax.mul``; ``out_dtype`` casts both operands first."""
    if out_dtype is not None:
        x, y = convert_element_type(x, out_dtype), convert_element_type(y, out_dtype)
    return mul_p.bind(x, y)

div_p = naryop("div", NUMBER, jlax.div)
defjvp(div_p, lambda t, ans, x, y: _like(div(t, y), ans),
       lambda t, ans, x, y: _like(mul(neg(t), div(ans, y)), ans))


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise NotImplementedError("div is linear in its numerator only")
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(div(ct, y), x.aval), None]


transpose_rules[div_p] = _div_transpose
div = _binary(div_p, "div")

rem_p = naryop("rem", ("integer", "floating"), jlax.rem)
defjvp(rem_p, lambda t, ans, x, y: _like(t, ans),
       lambda t, ans, x, y: _like(mul(neg(t), mul(sign(div(x, y)), floor(abs(div(x, y))))),
                                  ans))
rem = _binary(rem_p, "rem")


def _balanced_eq(x, ans, y):
    # 1 where x is the winner, 1/2 on ties: the derivative of max/min splits evenly at a tie
    one, half, zero = _const(ans, 1.0), _const(ans, 0.5), _const(ans, 0.0)
    x, y = _like(x, ans), _like(y, ans)
    return select(eq(x, ans), select(eq(y, ans), _like(half, ans), _like(one, ans)),
                  _like(zero, ans))


max_p = naryop("max", ANY, jlax.max)
defjvp(max_p, lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(y, ans, x)))
max = _binary(max_p, "max")  # noqa: A001 - jax.lax's name

min_p = naryop("min", ANY, jlax.min)
defjvp(min_p, lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(x, ans, y)),
       lambda t, ans, x, y: mul(_like(t, ans), _balanced_eq(y, ans, x)))
min = _binary(min_p, "min")  # noqa: A001 - jax.lax's name

atan2_p = naryop("atan2", FLOAT, jlax.atan2)  # complex too, as JAX's
defjvp(atan2_p,
       lambda t, ans, x, y: _like(mul(t, div(y, add(square(x), square(y)))), ans),
       lambda t, ans, x, y: _like(mul(t, div(neg(x), add(square(x), square(y)))), ans))
atan2 = _binary(atan2_p, "atan2")

nextafter_p = naryop("nextafter", REAL_FLOAT, jlax.nextafter)
defjvp_zero(nextafter_p)
nextafter = _binary(nextafter_p, "nextafter")

# pow: a floating/complex base with an exponent of the same dtype or of an integer dtype
pow_p = Primitive("pow")


def _pow_abstract_eval(x: ShapedArray, y: ShapedArray):
    check_dtype("pow", x, FLOAT, "the base")
    if not np.issubdtype(y.dtype, np.integer) and y.dtype != x.dtype:
        raise TypeError(f"lax.pow requires the exponent to have the base's dtype or an integer "
                        f"dtype, got {x.dtype.name} and {y.dtype.name}.")
    return ShapedArray(broadcast_shapes_lax("pow", x, y), x.dtype, x.weak_type and y.weak_type)


def _replace_zero(x: Any) -> Any:
    """``x`` with its zeros replaced by ones (JAX's guard in the abs and pow derivatives)."""
    return select(eq(x, _const(x, 0.0)), _like(_const(x, 1.0), x), x)


def _pow_jvp_base(t, ans, x, y):
    # JAX's rule: y * x ** (y - 1); for an integer exponent 0 where y == 0 (so 0 ** 0
    # differentiates to 0), for a floating one no guard (0 ** 0 with x = 0 gives nan there).
    # As JAX's, it computes from strongly typed copies of x and y (JAX casts them to the
    # result dtype), so the derivative of a weakly typed base is strong
    x = convert_element_type(x, to_aval(x).dtype)
    if is_inexact(to_aval(y).dtype):
        y = convert_element_type(y, to_aval(y).dtype)
    if not is_inexact(to_aval(y).dtype):
        yf = convert_element_type(y, to_aval(x).dtype)
        # every select_n operand at the output's shape: under vmap an unbatched exponent
        # arrives with a size-1 batch axis, and select_n (as JAX's) takes a scalar or
        # full-shape predicate
        jac = select(_like(eq(yf, _const(yf, 0.0)), ans), _like(_const(x, 0.0), ans),
                     _like(mul(_replace_zero(yf), pow(x, sub(y, 1))), ans))
    else:
        jac = _like(mul(y, pow(x, sub(y, _const(y, 1.0)))), ans)
    return mul(_like(t, ans), jac)


def _pow_jvp_exponent(t, ans, x, y):
    # log(x) * x ** y, with log(1) = 0 where x == 0 (JAX's guard), cast to a strong type as
    # JAX's rule casts it (the cast's transpose gives a weak exponent a weak cotangent)
    out = mul(_like(t, ans), _like(mul(log(_replace_zero(x)), ans), ans))
    return convert_element_type(out, to_aval(y).dtype)


abstract_eval[pow_p] = _pow_abstract_eval
to_jax[pow_p] = jlax.pow
batch_rules[pow_p] = broadcast_batcher(pow_p)
defjvp(pow_p, _pow_jvp_base, _pow_jvp_exponent)


def pow(x: Any, y: Any) -> Any:  # noqa: A001 - jax.lax's name
    """Elementwise power ``x ** y``; ``y`` may have ``x``'s dtype or an integer dtype."""
    return pow_p.bind(x, y)


# -- comparisons and bitwise operations (no derivative) -------------------------------------
eq_p = naryop("eq", ANY, jlax.eq, result_dtype=bool_result)
defjvp_zero(eq_p)
eq = _binary(eq_p, "eq")

ne_p = naryop("ne", ANY, jlax.ne, result_dtype=bool_result)
defjvp_zero(ne_p)
ne = _binary(ne_p, "ne")

lt_p = naryop("lt", ("integer", "floating", "bool"), jlax.lt, result_dtype=bool_result)
defjvp_zero(lt_p)
lt = _binary(lt_p, "lt")

le_p = naryop("le", ("integer", "floating", "bool"), jlax.le, result_dtype=bool_result)
defjvp_zero(le_p)
le = _binary(le_p, "le")

gt_p = naryop("gt", ("integer", "floating", "bool"), jlax.gt, result_dtype=bool_result)
defjvp_zero(gt_p)
gt = _binary(gt_p, "gt")

ge_p = naryop("ge", ("integer", "floating", "bool"), jlax.ge, result_dtype=bool_result)
defjvp_zero(ge_p)
ge = _binary(ge_p, "ge")

not_p = unop("not", INT_OR_BOOL, jlax.bitwise_not)
defjvp_zero(not_p)
bitwise_not = _unary(not_p, "bitwise/logical not")

and_p = naryop("and", INT_OR_BOOL, jlax.bitwise_and)
defjvp_zero(and_p)
bitwise_and = _binary(and_p, "bitwise_and")

or_p = naryop("or", INT_OR_BOOL, jlax.bitwise_or)
defjvp_zero(or_p)
bitwise_or = _binary(or_p, "bitwise_or")

xor_p = naryop("xor", INT_OR_BOOL, jlax.bitwise_xor)
defjvp_zero(xor_p)
bitwise_xor = _binary(xor_p, "bitwise_xor")

shift_left_p = naryop("shift_left", INTEGER, jlax.shift_left)
defjvp_zero(shift_left_p)
shift_left = _binary(shift_left_p, "shift_left")

shift_right_logical_p = naryop("shift_right_logical", INTEGER, jlax.shift_right_logical)
defjvp_zero(shift_right_logical_p)
shift_right_logical = _binary(shift_right_logical_p, "shift_right_logical")

shift_right_arithmetic_p = naryop("shift_right_arithmetic", INTEGER,
                                  jlax.shift_right_arithmetic)
defjvp_zero(shift_right_arithmetic_p)
shift_right_arithmetic = _binary(shift_right_arithmetic_p, "shift_right_arithmetic")


# -- stop_gradient, select_n, clamp, convert_element_type ------------------------------------
# stop_gradient: the identity, with a zero derivative (its JVP rule is its whole point)
stop_gradient_p = unop("stop_gradient", ANY, lambda x: x)
defjvp_zero(stop_gradient_p)


def stop_gradient(x: Any) -> Any:
    """The identity whose derivative is zero, on every leaf of the pytree ``x``."""
    return jax.tree_util.tree_map(stop_gradient_p.bind, x)


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


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = select_n_p.bind(which, *cases)
    if all(isinstance(t, Zero) for t in tangents[1:]):
        return ans, Zero(to_aval(ans))
    return ans, select_n_p.bind(which, *[instantiate(t) for t in tangents[1:]])


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


abstract_eval[select_n_p] = _select_n_abstract_eval
to_jax[select_n_p] = jlax.select_n
batch_rules[select_n_p] = full_broadcast_batcher(select_n_p, scalar_ok=(0,))
jvp_rules[select_n_p] = _select_n_jvp
transpose_rules[select_n_p] = _select_n_transpose


def select_n(which: Any, *cases: Any) -> Any:
    """``cases[which]`` elementwise; ``which`` is bool (two cases) or int32."""
    return select_n_p.bind(which, *cases)


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``pred`` else ``on_false`` (``select_n(pred, on_false, on_true)``)."""
    return select_n_p.bind(pred, on_false, on_true)


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


def _clamp_jvp(primals, tangents):
    lo, x, hi = primals
    ans = clamp_p.bind(lo, x, hi)
    zeros = _like(_const(ans, 0.0), ans)
    out = Zero(to_aval(ans))
    t_lo, t_x, t_hi = tangents
    if not isinstance(t_x, Zero):
        inside = bitwise_and(gt(x, _like(lo, x)), lt(x, _like(hi, x)))
        out = add_tangents(out, select(inside, t_x, zeros))
    if not isinstance(t_lo, Zero):
        out = add_tangents(out, select(gt(_like(lo, ans), x), _like(t_lo, ans), zeros))
    if not isinstance(t_hi, Zero):
        out = add_tangents(out, select(lt(_like(hi, ans), x), _like(t_hi, ans), zeros))
    return ans, out


abstract_eval[clamp_p] = _clamp_abstract_eval
to_jax[clamp_p] = jlax.clamp
batch_rules[clamp_p] = full_broadcast_batcher(clamp_p, scalar_ok=(0, 2))
jvp_rules[clamp_p] = _clamp_jvp


def clamp(min: Any, x: Any, max: Any) -> Any:  # noqa: A002 - jax.lax's names
    """``min(max(x, min), max)`` elementwise, as ``jax.lax.clamp``."""
    return clamp_p.bind(min, x, max)


convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract_eval(x: ShapedArray, *, new_dtype, weak_type):
    return ShapedArray(x.shape, new_dtype, weak_type)


def _convert_to_jax(x, *, new_dtype, weak_type):
    x_complex = isinstance(x, complex) or np.issubdtype(getattr(x, "dtype", np.float32),
                                                        np.complexfloating)
    if x_complex and not np.issubdtype(new_dtype, np.complexfloating):
        x = jlax.real(x)  # complex to real keeps the real part (without numpy's warning)
    return jax_convert_weak(x, new_dtype, weak_type=weak_type)


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    ans = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if isinstance(t, Zero) or not is_inexact(new_dtype):
        return ans, Zero(tangent_aval(to_aval(ans)))
    return ans, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_transpose(ct, x, *, new_dtype, weak_type):
    if isinstance(ct, Zero):
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


abstract_eval[convert_element_type_p] = _convert_abstract_eval
to_jax[convert_element_type_p] = _convert_to_jax
batch_rules[convert_element_type_p] = vectorized_batcher(convert_element_type_p)
jvp_rules[convert_element_type_p] = _convert_jvp
transpose_rules[convert_element_type_p] = _convert_transpose


def convert_element_type(operand: Any, new_dtype: Any) -> Any:
    """Cast to ``new_dtype``, as ``jax.lax.convert_element_type``."""
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


def _with_accuracy(p: Primitive) -> None:
    """Let ``p`` carry an ``accuracy`` param: XLA picks an implementation within it; the
    derivative is the default-accuracy one (as JAX's rules compute it)."""
    jax_fn, base_jvp = to_jax[p], jvp_rules[p]

    def lower(x, accuracy=None):
        return jax_fn(x) if accuracy is None else jax_fn(x, accuracy=accuracy)

    def jvp(primals, tangents, accuracy=None):
        if accuracy is None:
            return base_jvp(primals, tangents)
        _, t = base_jvp(primals, tangents)
        return p.bind(*primals, accuracy=accuracy), t

    to_jax[p], jvp_rules[p] = lower, jvp


for _p in (cbrt_p, cos_p, exp_p, exp2_p, expm1_p, log_p, log1p_p, logistic_p, rsqrt_p, sin_p,
           sqrt_p, tan_p, tanh_p):
    _with_accuracy(_p)
del _p
