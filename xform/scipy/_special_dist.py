"""The special functions behind the distributions of ``xform.scipy.stats``: the normal cdf and
its inverse and log (``ndtr``, ``ndtri``, ``log_ndtr``), the incomplete gamma and beta functions
(``gammainc``, ``gammaincc``, ``betainc``) and ``betaln``, with JAX's numerics: the same
piecewise formulas and rational approximations, and ``log_ndtr``'s custom derivative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_complex, is_inexact, result_type
from xform.lax.custom import custom_jvp
from xform.lax.elementwise import _convert_weak

__all__ = ["betainc", "betaln", "gammainc", "gammaincc", "log_ndtr", "ndtr", "ndtri"]


def promote_inexact(*args: Any) -> list:
    """Promote to one inexact dtype, as JAX's ``promote_args_inexact``."""
    arrs = [xnp.asarray(a) for a in args]
    dtype = result_type(*arrs)
    if not is_inexact(dtype):
        dtype = result_type(dtype, 1.0)
    # a Python scalar (weakly typed) stays weak when it becomes a float, as in JAX
    return [a if a.dtype == dtype else _convert_weak(a, dtype, a.weak_type) for a in arrs]


_inexact = promote_inexact


def _broadcast(*args: Any) -> list:
    return list(xnp.broadcast_arrays(*_inexact(*args)))


def _float_only(name: str, x: Any) -> Any:
    x = xnp.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported, see docstring for supported "
                        f"types (scipy.special.{name} takes float32 or float64).")
    return x


def _c(x: Any, value: float) -> Any:
    return np.array(value, x.dtype)


def ndtr(x: Any) -> Any:
    """The standard normal cdf, ``(1 + erf(x / sqrt(2))) / 2``, accurate in both tails."""
    return _ndtr(_float_only("ndtr", x))


def _ndtr(x: Any) -> Any:
    half_sqrt_2 = _c(x, 0.5 * np.sqrt(2.0))
    w = x * half_sqrt_2
    z = xnp.abs(w)
    # erf near 0, erfc in the tails (where 1 + erf would lose the small result)
    y = xnp.where(z < half_sqrt_2, _c(x, 1.0) + lax.erf(w),
                  xnp.where(w > 0, _c(x, 2.0) - lax.erfc(z), lax.erfc(z)))
    return _c(x, 0.5) * y


# Cephes' piecewise rational approximations of the normal quantile (as JAX's ndtri uses them)
_P0 = [-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
       1.39312609387279679503E1, -1.23916583867381258016E0]
_Q0 = [1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
       -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
       1.59056225126211695515E1, -1.18331621121330003142E0]
_P1 = [4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
       4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
       -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4]
_Q1 = [1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
       1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
       -3.80806407691578277194E-2, -9.33259480895457427372E-4]
_P2 = [3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
       1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
       3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9]
_Q2 = [1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
       2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
       2.89247864745380683936E-6, 6.79019408009981274425E-9]


def _polyval(coeffs: list, x: Any) -> Any:
    return xnp.polyval(np.array(coeffs, x.dtype), x)


def ndtri(p: Any) -> Any:
    """The inverse of ``ndtr``: the standard normal quantile of ``p`` (``-inf`` at 0, ``inf``
    at 1)."""
    p = _float_only("ndtri", p)
    dt = p.dtype
    complement = xnp.where(p > _c(p, -np.expm1(-2.0)), _c(p, 1.0) - p, p)
    # 0 would make NaNs in the unused branches (and their derivatives): any safe value will do
    safe = xnp.where(complement == 0, _c(p, 0.5), complement)
    # central region, p > exp(-2): x / sqrt(2 pi) = w + w^3 P0(w^2) / Q0(w^2)
    w = safe - _c(p, 0.5)
    ww = w * w
    x_big = (w + w * ww * (_polyval(_P0, ww) / _polyval(_Q0, ww))) * -_c(p, np.sqrt(2 * np.pi))
    # tails: x = z - log(z) / z - P(1/z) / Q(1/z) / z with z = sqrt(-2 log p)
    z = xnp.sqrt(_c(p, -2.0) * xnp.log(safe))
    first = z - xnp.log(z) / z
    x_small = first - _polyval(_P2, 1 / z) / _polyval(_Q2, 1 / z) / z
    x_other = first - _polyval(_P1, 1 / z) / _polyval(_Q1, 1 / z) / z
    x = xnp.where(safe > _c(p, np.exp(-2.0)), x_big, xnp.where(z >= 8.0, x_small, x_other))
    x = xnp.where(p > _c(p, 1.0 - np.exp(-2.0)), x, -x)
    inf = np.array(np.inf, dt)
    return xnp.where(p == 0, -inf, xnp.where(p == 1, inf, x))


# log_ndtr switches to the asymptotic series below LOWER and to -ndtr(-x) above UPPER
_LOG_NDTR_SEGMENTS = {np.dtype(np.float32): (-10.0, 5.0), np.dtype(np.float64): (-20.0, 8.0)}


def _double_factorial(n: int) -> int:
    return int(np.prod(np.arange(n, 1, -2))) if n > 1 else 1


def _log_ndtr_series(x: Any, order: int) -> Any:
    if order <= 0:
        return np.array(1.0, x.dtype)
    x2 = x * x
    even, odd = xnp.zeros_like(x), xnp.zeros_like(x)
    x2n = x2
    for n in range(1, order + 1):
        y = np.array(_double_factorial(2 * n - 1), x.dtype) / x2n
        if n % 2:
            odd = odd + y
        else:
            even = even + y
        x2n = x2n * x2
    return _c(x, 1.0) + even - odd


def _log_ndtr_impl(x: Any, series_order: int) -> Any:
    lower, upper = _LOG_NDTR_SEGMENTS[np.dtype(x.dtype)]
    above = x > upper
    # one ndtr for both branches; max/min keep the unused branch (and its derivative) finite
    ndtr_res = _ndtr(xnp.where(above, -x, xnp.maximum(x, _c(x, lower))))
    low = xnp.minimum(x, _c(x, lower))
    log_scale = -_c(x, 0.5) * low * low - xnp.log(-low) - _c(x, 0.5 * np.log(2 * np.pi))
    series = log_scale + xnp.log(_log_ndtr_series(low, series_order))
    return xnp.where(above, -ndtr_res, xnp.where(x > lower, xnp.log(ndtr_res), series))


def _make_log_ndtr(series_order: int):
    @custom_jvp
    def f(x: Any) -> Any:
        return _log_ndtr_impl(x, series_order)

    def jvp(g, ans, x):
        # d/dx log ndtr(x) = pdf(x) / ndtr(x), in logs
        norm_logpdf = -_c(x, 0.5) * x * x - _c(x, 0.5 * np.log(2 * np.pi))
        return g * xnp.exp(norm_logpdf - ans)

    f.defjvps(jvp)
    return f


_log_ndtr_by_order: dict = {}


def log_ndtr(x: Any, series_order: int = 3) -> Any:
    """``log(ndtr(x))``, accurate far into both tails (an asymptotic series of order
    ``series_order`` below -10 in float32, -20 in float64)."""
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    x = xnp.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported.")
    f = _log_ndtr_by_order.get(series_order)
    if f is None:
        f = _log_ndtr_by_order[series_order] = _make_log_ndtr(series_order)
    return f(x)


def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)``."""
    return lax.igamma(*_broadcast(a, x))


def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return lax.igammac(*_broadcast(a, x))


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)``."""
    a, b, x = _broadcast(a, b, x)
    if is_complex(x.dtype):
        raise ValueError("betainc does not support complex-valued inputs.")
    return lax.betainc(a, b, x)


def _log_gamma_ratio(a: Any, b: Any) -> Any:
    """``lgamma(b) - lgamma(a + b)`` for ``8 <= b`` and ``a <= b`` without the cancellation
    of the direct difference: Stirling's series of the ratio (cdflib's ``algdiv``, which JAX and
    SciPy use)."""
    c = (0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03,
         -0.595202931351870e-03, 0.837308034031215e-03, -0.165322962780713e-02)
    h = a / b
    x = h / (1 + h)
    d = b + (a - 0.5)
    x2 = x * x
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) ** 2
    w = ((((c[5] * s11 * t + c[4] * s9) * t + c[3] * s7) * t + c[2] * s5) * t + c[1] * s3) * t
    w = (w + c[0]) * (x / b)
    u = d * xnp.log1p(a / b)
    v = a * (xnp.log(b) - 1.0)
    return xnp.where(u <= v, (w - v) - u, (w - u) - v)


def betaln(a: Any, b: Any) -> Any:
    """``log(|B(a, b)|)``, the log of the beta function (accurate for large arguments)."""
    a, b = _inexact(a, b)
    a, b = xnp.minimum(a, b), xnp.maximum(a, b)
    small_b = lax.lgamma(a) + (lax.lgamma(b) - lax.lgamma(a + b))
    large_b = lax.lgamma(a) + _log_gamma_ratio(a, b)
    return xnp.where(b < 8, small_b, large_b)
