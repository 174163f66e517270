"""More elementwise primitives: special functions (``erf``, ``erfc``, ``erf_inv``, ``lgamma``,
``digamma``, ``polygamma``, ``bessel_i0e``, ``bessel_i1e``, ``igamma``,
``igammac``, ``igamma_grad_a``, ``random_gamma_grad``, ``regularized_incomplete_beta``,
``zeta``), bit operations (``clz``, ``population_count``, ``mulhi``,
``bitcast_convert_type``), ``complex``, ``reduce_precision``, and the total-order comparisons
``eq_to``, ``le_to``, ``lt_to`` (primitives only, as in JAX: NaNs and signed zeros in the
total order ``sort`` uses).

Same layout as xform/lax/elementwise.py: one block per primitive, the family helper line
(abstract eval, to_jax, batching), then its JVP, its transpose where it is linear, then the public
function. Where JAX has no derivative for an argument the JVP raises JAX's error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, moveaxis
from xform.interpreters.jvp import (
    Zero, defjvp, defjvp_zero, deflinear_jvp, instantiate, jvp_flat,
)
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear, is_undefined, transpose_rules
import jax

from xform.lax._helpers import (
    ANY, FLOAT, INTEGER, REAL_FLOAT, bool_result, const_like, naryop, shape_str, unop,
)
from xform.lax.elementwise import (
    _const, _like, _np_promoted, _unary, _unbroadcast, abs, add, exp, gt, imag,
    integer_pow, log, log1p, mul, neg, real, select, sign, square, sub,
)
from xform.lax.elementwise import convert_element_type
from xform.lax.elementwise import div as div_, min as min_, pow as pow_

__all__ = [
    "erf", "erfc", "erf_inv", "lgamma", "digamma", "polygamma",
    "bessel_i0e", "bessel_i1e", "igamma", "igammac", "igamma_grad_a", "random_gamma_grad",
    "betainc", "zeta", "clz", "population_count", "mulhi", "bitcast_convert_type", "complex",
    "reciprocal", "reduce_precision",
]


def _not_supported(message: str, error: type = ValueError):
    def partial(t, ans, *primals, **params):
        raise error(message)
    return partial


# -- special functions --------------------------------------------------------------------------
erf_p = unop("erf", REAL_FLOAT, jlax.erf)
defjvp(erf_p, lambda t, ans, x: mul(t, mul(const_like(x, 2.0 / np.sqrt(np.pi)),
                                           exp(neg(square(x))))))
erf = _unary(erf_p, "error function")

erfc_p = unop("erfc", REAL_FLOAT, jlax.erfc)
defjvp(erfc_p, lambda t, ans, x: mul(t, mul(const_like(x, -2.0 / np.sqrt(np.pi)),
                                            exp(neg(square(x))))))
erfc = _unary(erfc_p, "complementary error function")

erf_inv_p = unop("erf_inv", REAL_FLOAT, jlax.erf_inv)
defjvp(erf_inv_p, lambda t, ans, x: mul(t, mul(const_like(x, np.sqrt(np.pi) / 2.0),
                                               exp(square(ans)))))
erf_inv = _unary(erf_inv_p, "inverse error function")

lgamma_p = unop("lgamma", REAL_FLOAT, jlax.lgamma)
defjvp(lgamma_p, lambda t, ans, x: mul(t, digamma(x)))
lgamma = _unary(lgamma_p, "log-gamma")

digamma_p = unop("digamma", REAL_FLOAT, jlax.digamma)
defjvp(digamma_p, lambda t, ans, x: mul(t, polygamma(const_like(x, 1.0), x)))
digamma = _unary(digamma_p, "digamma")

# polygamma(m, x): needed for the derivative of digamma (and of itself)
polygamma_p = naryop("polygamma", REAL_FLOAT, jlax.polygamma)
def _polygamma_dm(t, ans, m, x):
    # the order is an integer: no derivative, and JAX raises rather than give a zero
    raise ValueError("polygamma gradient with respect to m is not supported")


defjvp(polygamma_p, _polygamma_dm,
       lambda t, ans, m, x: mul(t, polygamma(add(m, const_like(m, 1.0)), x)))


def polygamma(m: Any, x: Any) -> Any:
    """The polygamma function of order ``m``, as ``jax.lax.polygamma``."""
    return polygamma_p.bind(m, x)


bessel_i0e_p = unop("bessel_i0e", REAL_FLOAT, jlax.bessel_i0e)
# d/dx e^-|x| I0(x) = e^-|x| I1(x) - sign(x) e^-|x| I0(x)
defjvp(bessel_i0e_p, lambda t, ans, x: mul(t, sub(bessel_i1e(x), mul(sign(x), ans))))


def bessel_i0e(x: Any) -> Any:
    """Exponentially scaled modified Bessel function of order 0, ``e^-|x| I0(x)``."""
    return bessel_i0e_p.bind(x)


bessel_i1e_p = unop("bessel_i1e", REAL_FLOAT, jlax.bessel_i1e)


def _bessel_i1e_jvp(t, ans, x):
    # i0e(x) - i1e(x) (sign(x) + 1/x), whose limit at 0 is 1/2; away from 0 only, so the
    # unused branch never divides by zero
    eps = float(np.finfo(to_aval(x).dtype).eps)
    not_tiny = gt(abs(x), _like(_const(x, eps), x))
    safe = select(not_tiny, x, _like(_const(x, eps), x))
    slope = sub(bessel_i0e(safe), mul(ans, add(sign(safe), integer_pow(safe, -1))))
    return mul(t, select(not_tiny, slope, _like(_const(x, 0.5), x)))


defjvp(bessel_i1e_p, _bessel_i1e_jvp)


def bessel_i1e(x: Any) -> Any:
    """Exponentially scaled modified Bessel function of order 1, ``e^-|x| I1(x)``."""
    return bessel_i1e_p.bind(x)


def _igamma_dx(t, ans, a, x):
    # x^(a-1) e^-x / Gamma(a)
    return _np_promoted(mul, t, exp(sub(mul(sub(a, _const(a, 1.0)), log(x)), add(x, lgamma(a)))))


igamma_p = naryop("igamma", REAL_FLOAT, jlax.igamma)
defjvp(igamma_p, lambda t, ans, a, x: _np_promoted(mul, t, igamma_grad_a(a, x)), _igamma_dx)


def igamma(a: Any, x: Any) -> Any:
    """Regularized lower incomplete gamma function ``P(a, x)``, as ``jax.lax.igamma``."""
    return igamma_p.bind(a, x)


igammac_p = naryop("igammac", REAL_FLOAT, jlax.igammac)
defjvp(igammac_p, lambda t, ans, a, x: neg(_np_promoted(mul, t, igamma_grad_a(a, x))),
       lambda t, ans, a, x: neg(_igamma_dx(t, ans, a, x)))


def igammac(a: Any, x: Any) -> Any:
    """Regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return igammac_p.bind(a, x)


igamma_grad_a_p = naryop("igamma_grad_a", REAL_FLOAT, jlax.igamma_grad_a)
defjvp(igamma_grad_a_p, *[_not_supported(
    "Differentiation rule for 'igamma_grad_a' not implemented (as in JAX): the second "
    "derivative of igamma in `a` is not available.", NotImplementedError)] * 2)


def igamma_grad_a(a: Any, x: Any) -> Any:
    """``d/da igamma(a, x)``, as ``jax.lax.igamma_grad_a``."""
    return igamma_grad_a_p.bind(a, x)


random_gamma_grad_p = naryop("random_gamma_grad", REAL_FLOAT, jlax.random_gamma_grad)
defjvp(random_gamma_grad_p, *[_not_supported(
    "random_gamma_grad is not differentiable in xform: it is itself the derivative of gamma "
    "samples.")] * 2)


def random_gamma_grad(a: Any, x: Any) -> Any:
    """The derivative of a ``Gamma(a, 1)`` sample ``x`` with respect to ``a``, as
    ``jax.lax.random_gamma_grad``."""
    return random_gamma_grad_p.bind(a, x)


def _betainc_dx(t, ans, a, b, x):
    # x^(a-1) (1-x)^(b-1) / B(a, b)
    one = _const(a, 1.0)
    log_beta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    return mul(t, exp(sub(add(mul(sub(b, one), log1p(neg(x))), mul(sub(a, one), log(x))),
                          log_beta)))


regularized_incomplete_beta_p = naryop("regularized_incomplete_beta", REAL_FLOAT,
                                       jlax.betainc)
_betainc_ab = _not_supported("Betainc gradient with respect to a and b not supported.")
defjvp(regularized_incomplete_beta_p, _betainc_ab, _betainc_ab, _betainc_dx)


def betainc(a: Any, b: Any, x: Any) -> Any:
    """Regularized incomplete beta function ``I_x(a, b)``, as ``jax.lax.betainc``;
    differentiable in ``x``."""
    return regularized_incomplete_beta_p.bind(a, b, x)


zeta_p = naryop("zeta", REAL_FLOAT, jlax.zeta)

# Bernoulli numbers B_2, B_4, ..., B_32 as fractions (numerator, denominator)
_BERNOULLI_EVEN = [(1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6),
                   (-3617, 510), (43867, 798), (-174611, 330), (854513, 138),
                   (-236364091, 2730), (8553103, 6), (-23749461029, 870),
                   (8615841276005, 14322), (-7709321041217, 510)]


def _strong(x: Any, value: float) -> Any:
    return np.array(value, to_aval(x).dtype)


def _zeta_series(s: Any, a: Any) -> Any:
    """The Hurwitz zeta function by Euler-Maclaurin summation with ``n`` terms summed and
    ``n`` Bernoulli corrections (8 in float32, 16 in float64), differentiable in both
    arguments: ``sum_{k<n} (a+k)^-s + (a+n)^(1-s)/(s-1) + (a+n)^-s (1/2 + sum_j B_2j/(2j)!
    prod_{i<2j-1} (s+i) / (a+n)^(2j-1))``. JAX differentiates ``jax.scipy.special.zeta``
    through the same expansion; its value is the primitive's."""
    dtype = to_aval(a).dtype
    # strongly typed from here on, as JAX's expansion promotes its arguments against strongly
    # typed arrays (the casts' transposes give a weak argument's cotangent its weak type)
    s, a = convert_element_type(s, dtype), convert_element_type(a, dtype)
    n = 8 if np.finfo(dtype).bits <= 32 else 16
    total = None
    for k in range(n):
        term = pow_(add(a, _strong(a, float(k))), neg(s))
        total = term if total is None else add(total, term)
    a_n = add(a, _strong(a, float(n)))
    one = _strong(s, 1.0)
    tail = div_(pow_(a_n, sub(one, s)), sub(s, one))
    big = _strong(s, float(np.finfo(dtype).max))
    ratio_prod, corrections = None, None
    for m in range(2 * n - 1):
        ratio = div_(add(s, _strong(s, float(m))), a_n)
        ratio_prod = ratio if ratio_prod is None else mul(ratio_prod, ratio)
        if m % 2 == 0:  # m = 2j - 2: the j-th correction
            num, den = _BERNOULLI_EVEN[m // 2]
            coef = float(num) / (float(den) * math.factorial(m + 2))
            term = mul(min_(ratio_prod, big), _strong(s, coef))
            corrections = term if corrections is None else add(corrections, term)
    last = mul(pow_(a_n, neg(s)), add(_strong(s, 0.5), corrections))
    return add(add(total, tail), last)


def _zeta_dx(t, ans, x, q):
    # no closed form: the derivative of the Euler-Maclaurin expansion in its first argument
    _, (tangent,), _ = jvp_flat(lambda s: ([_zeta_series(s, q)], None), [x], [t])
    return instantiate(tangent)


# d/dq zeta(x, q) = -x zeta(x + 1, q); in x, the derivative of the series (JAX's lax.zeta has
# no derivative; jax.scipy.special.zeta differentiates the same series in both arguments)
defjvp(zeta_p, _zeta_dx,
       lambda t, ans, x, q: mul(t, neg(mul(x, zeta(add(x, _const(x, 1.0)), q)))))


def zeta(x: Any, q: Any) -> Any:
    """Hurwitz zeta function ``zeta(x, q)``, as ``jax.lax.zeta``."""
    return zeta_p.bind(x, q)


# -- bit operations (no derivative) -------------------------------------------------------------
clz_p = unop("clz", INTEGER, jlax.clz)
defjvp_zero(clz_p)


def clz(x: Any) -> Any:
    """Number of leading zero bits of each integer, as ``jax.lax.clz``."""
    return clz_p.bind(x)


population_count_p = unop("population_count", INTEGER, jlax.population_count)
defjvp_zero(population_count_p)


def population_count(x: Any) -> Any:
    """Number of set bits of each integer, as ``jax.lax.population_count``."""
    return population_count_p.bind(x)


mulhi_p = naryop("mulhi", INTEGER, jlax.mulhi)
defjvp_zero(mulhi_p)


def mulhi(x: Any, y: Any) -> Any:
    """The high half of the double-width product of two integers, as ``jax.lax.mulhi``."""
    return mulhi_p.bind(x, y)


bitcast_convert_type_p = Primitive("bitcast_convert_type")


def _bitcast_abstract_eval(x: ShapedArray, *, new_dtype):
    old_bits, new_bits = np.dtype(x.dtype).itemsize, np.dtype(new_dtype).itemsize
    if old_bits == new_bits:
        shape = x.shape
    elif old_bits > new_bits:
        shape = x.shape + (old_bits // new_bits,)
    else:
        if not x.shape or x.shape[-1] != new_bits // old_bits:
            raise TypeError(f"Attempting to convert array of shape {shape_str(x.shape)} from "
                            f"{x.dtype} of size {old_bits} bytes to {np.dtype(new_dtype)} of "
                            f"size {new_bits} bytes: the last dimension must be "
                            f"{new_bits // old_bits}.")
        shape = x.shape[:-1]
    return ShapedArray(shape, np.dtype(new_dtype))


def _bitcast_batch(axis_size, vals, dims, *, new_dtype):
    # the batch axis goes in front, away from the trailing axis the bitcast adds or removes
    (x,), (d,) = vals, dims
    return bitcast_convert_type_p.bind(moveaxis(x, d, 0), new_dtype=new_dtype), 0


abstract_eval[bitcast_convert_type_p] = _bitcast_abstract_eval
to_jax[bitcast_convert_type_p] = lambda x, *, new_dtype: jlax.bitcast_convert_type(x, new_dtype)
batch_rules[bitcast_convert_type_p] = _bitcast_batch
defjvp_zero(bitcast_convert_type_p)


def bitcast_convert_type(operand: Any, new_dtype: Any) -> Any:
    """Reinterpret the bits of ``operand`` as ``new_dtype``, as
    ``jax.lax.bitcast_convert_type`` (a wider type eats the last axis; a narrower one adds it).
    """
    return bitcast_convert_type_p.bind(operand, new_dtype=canonicalize_dtype(new_dtype))


# -- complex, reduce_precision, reciprocal ------------------------------------------------------
complex_p = naryop("complex", REAL_FLOAT, jlax.complex,
                   result_dtype=lambda d: np.result_type(d, np.complex64))


deflinear_jvp(complex_p)


def _complex_transpose(ct, x, y):
    # JAX's convention for the cotangent of complex(x, y) = x + i y: (Re ct, -Im ct)
    if isinstance(ct, Zero):
        return [None, None]
    return [_unbroadcast(real(ct), x.aval) if is_undefined(x) else None,
            _unbroadcast(neg(imag(ct)), y.aval) if is_undefined(y) else None]


transpose_rules[complex_p] = _complex_transpose


def complex(x: Any, y: Any) -> Any:  # noqa: A001 - jax.lax's name
    """``x + i y`` from two real arrays of one dtype, as ``jax.lax.complex``."""
    return complex_p.bind(x, y)


reduce_precision_p = unop(
    "reduce_precision", FLOAT,
    lambda x, *, exponent_bits, mantissa_bits: jlax.reduce_precision(x, exponent_bits,
                                                                     mantissa_bits))
deflinear_jvp(reduce_precision_p)
deflinear(reduce_precision_p, lambda ct, *, x_aval, **p: reduce_precision_p.bind(ct, **p))


def reduce_precision(operand: Any, exponent_bits: int, mantissa_bits: int) -> Any:
    """Round to a float format with the given exponent and mantissa bits (keeping the dtype),
    as ``jax.lax.reduce_precision``."""
    return reduce_precision_p.bind(operand, exponent_bits=int(exponent_bits),
                                   mantissa_bits=int(mantissa_bits))


def reciprocal(x: Any) -> Any:
    """``1 / x`` elementwise, as ``jax.lax.reciprocal`` (``integer_pow(x, -1)``)."""
    return integer_pow(x, -1)


# -- total-order comparisons: -NaN < -inf < ... < -0 < +0 < ... < inf < NaN ---------------------
def _total_order(jax_prim):
    def lower(x, y):
        x, y = jax.numpy.broadcast_arrays(x, y)  # rank-0 operands broadcast, as for eq
        return jax_prim.bind(x, y)
    return lower


eq_to_p = naryop("eq_to", ANY, _total_order(jlax.eq_to_p), result_dtype=bool_result)
defjvp_zero(eq_to_p)
le_to_p = naryop("le_to", ("integer", "floating", "bool"), _total_order(jlax.le_to_p),
                 result_dtype=bool_result)
defjvp_zero(le_to_p)
lt_to_p = naryop("lt_to", ("integer", "floating", "bool"), _total_order(jlax.lt_to_p),
                 result_dtype=bool_result)
defjvp_zero(lt_to_p)
