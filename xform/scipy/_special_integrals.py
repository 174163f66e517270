"""The rest of ``jax.scipy.special``'s real-argument functions: the scaled complementary error
function and Faddeeva function (``erfcx``, ``wofz``), Dawson's integral (``dawsn``), the
exponential integrals (``expi``, ``exp1``, ``expn``), the dilogarithm (``spence``), Bessel
functions of the first kind of integer order (``bessel_jn``), the Bernoulli numbers
(``bernoulli``), the confluent hypergeometric function (``hyp1f1``), the sine and cosine
integrals (``sici``) and Owen's T function (``owens_t``).

The approximations are the published ones JAX uses (Cephes' rational fits for the exponential
integrals and the dilogarithm, Cody-Paciorek-Thacher for ``dawsn``, Weideman's series for
``wofz``, Miller's backward recurrence for ``bessel_jn``, the Pearson-Olver-Porter series for
``hyp1f1``), so values agree with JAX's to the rounding of the same operations; each function
carries JAX's custom derivative. Everything is written with xform.numpy and xform.lax, so
``jit``, ``vmap`` and ``grad`` apply.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_complex
from xform.core.trace import to_aval
from xform.lax._helpers import weak_scalar
from xform.lax.custom import custom_jvp
from xform.scipy._special_dist import promote_inexact as _inexact
from xform.scipy._special_more import gamma

__all__ = ["bernoulli", "bessel_jn", "dawsn", "erfcx", "exp1", "expi", "expn", "hyp1f1",
           "owens_t", "sici", "spence", "wofz"]


def _c(x: Any, value: float) -> Any:
    """A weak scalar of ``x``'s dtype: it neither promotes nor strengthens ``x``."""
    return weak_scalar(float(value), to_aval(x).dtype)


def _real_only(name: str, x: Any) -> None:
    if is_complex(x.dtype):
        raise ValueError(f"{name} does not support complex-valued inputs.")


def _poly(coeffs: Any, x: Any) -> Any:
    """Horner's rule with ``coeffs`` (highest degree first) cast to ``x``'s dtype."""
    return xnp.polyval(np.asarray(coeffs, dtype=to_aval(x).dtype), x)


def _eps(x: Any) -> float:
    return float(np.finfo(to_aval(x).dtype).eps)


# -- erfcx and the Faddeeva function ---------------------------------------------------------
# Weideman (1994) rational series for w(z) in the upper half plane: N = 32 terms, L = sqrt(N/sqrt2)
_WOFZ_L = 4.7568284600108841
_WOFZ_COEFFS = [
    -1.3034426067909105e-12, 3.7411838373738471e-12, 8.030427700497756e-12,
    -2.1543593557490879e-11, -5.5442449963237932e-11, 1.165824698850374e-10,
    4.1537441121999766e-10, -5.2310202114920615e-10, -3.2080151339721323e-09,
    8.1248864216535907e-10, 2.3797556530014025e-08, 2.2930438438915445e-08,
    -1.4813078929137642e-07, -4.1840763750512053e-07, 4.2558331397138446e-07,
    4.4015317312832251e-06, 6.8210319443575151e-06, -2.1409619201999998e-05,
    -0.00013075449254579421, -0.00024532980270038237, 0.00039259136070109705,
    0.0045195411053493093, 0.019006155784845501, 0.057304403529837282, 0.14060716226893755,
    0.29544451071508743, 0.54601397206393376, 0.9019254893648001, 1.3455441692345449,
    1.8256696296324815, 2.2635372999002676, 2.5722534081245696,
]


def _complex_of(re_like: Any, real: float, imag: float) -> Any:
    return lax.complex(lax.full_like(re_like, real), lax.full_like(re_like, imag))


def _wofz_upper_half(z: Any) -> Any:
    re = lax.real(z)
    big_l = _complex_of(re, _WOFZ_L, 0.0)
    iz = lax.complex(lax.neg(lax.imag(z)), re)
    den = big_l - iz
    p = _poly(_WOFZ_COEFFS, (big_l + iz) / den)
    return 2 * p / (den * den) + _complex_of(re, 1.0 / np.sqrt(np.pi), 0.0) / den


@custom_jvp
def _wofz(z: Any) -> Any:
    # the lower half plane by the reflection w(-z) = 2 exp(-z^2) - w(z)
    upper = lax.ge(lax.imag(z), lax.full_like(lax.imag(z), 0.0))
    w = _wofz_upper_half(lax.select(upper, z, lax.neg(z)))
    return lax.select(upper, w, 2 * lax.exp(lax.neg(z * z)) - w)


# w'(z) = -2 z w(z) + 2i / sqrt(pi)
_wofz.defjvps(lambda g, ans, z: g * (lax.neg(2 * z * ans)
                                     + _complex_of(lax.real(z), 0.0, 2.0 / np.sqrt(np.pi))))


def wofz(z: Any) -> Any:
    """The Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)``, as ``jax.scipy.special.wofz``."""
    (z,) = _inexact(z)
    if not is_complex(z.dtype):
        z = lax.convert_element_type(z, np.result_type(z.dtype, np.complex64))
    return _wofz(z)


# asymptotic series erfcx(x) ~ P(1/x^2) / (sqrt(pi) x), c_k = (-1)^k (2k-1)!! / 2^k
_ERFCX_SERIES = [7918.06640625, -1055.7421875, 162.421875, -29.53125, 6.5625, -1.875, 0.75,
                 -0.5, 1.0]


def _erfcx_real(x: Any, nterms: int) -> Any:
    # exp(x^2) overflows past sqrt(log(max)): the asymptotic series takes over there
    threshold = float(np.sqrt(np.log(np.finfo(x.dtype).max)))
    large = x > _c(x, threshold)
    safe = lax.select(large, lax.full_like(x, 1.0), x)
    direct = lax.exp(lax.square(safe)) * lax.erfc(safe)
    series = _poly(_ERFCX_SERIES[-nterms:], _c(x, 1.0) / lax.square(x))
    return lax.select(large, series / (x * _c(x, np.sqrt(np.pi))), direct)


@custom_jvp
def _erfcx(x: Any) -> Any:
    if x.dtype == np.float64:
        return _erfcx_real(x, 9)
    if x.dtype == np.float32:
        return _erfcx_real(x, 5)
    return _erfcx_real(x.astype(np.float32), 5).astype(x.dtype)


_erfcx.defjvps(lambda g, ans, x: g * (2 * x * ans - _c(x, 2.0 / np.sqrt(np.pi))))


def erfcx(x: Any) -> Any:
    """The scaled complementary error function ``exp(x**2) erfc(x)`` (real or complex)."""
    (x,) = _inexact(x)
    if is_complex(x.dtype):
        return _wofz(lax.complex(lax.neg(lax.imag(x)), lax.real(x)))
    return _erfcx(x)


# -- Dawson's integral (Cody, Paciorek, Thacher 1970) ----------------------------------------
_DAWSN = {
    "small": ([1.13681498971755972054e-11, 8.49262267667473811108e-10,
               1.94434204175553054283e-8, 9.53151741254484363489e-7,
               3.07828309874913200438e-6, 3.52513368520288738649e-4,
               -8.50149846724410912031e-4, 4.22618223005546594270e-2,
               -9.17480371773452345351e-2, 9.99999999999999994612e-1],
              [2.40372073066762605484e-11, 1.48864681368493396752e-9,
               5.21265281010541664570e-8, 1.27258478273186970203e-6,
               2.32490249820789513991e-5, 3.25524741826057911661e-4,
               3.48805814657162590916e-3, 2.79448531198828973716e-2,
               1.58874241960120565368e-1, 5.74918629489320327824e-1,
               1.00000000000000000539e0]),
    "medium": ([5.08955156417900903354e-1, -2.44754418142697847934e-1,
                9.41512335303534411857e-2, -2.18711255142039025206e-2,
                3.66207612329569181322e-3, -4.23209114460388756528e-4,
                3.59641304793896631888e-5, -2.14640351719968974225e-6,
                9.10010780076391431042e-8, -2.40274520828250956942e-9,
                3.59233385440928410398e-11],
               [1.00000000000000000000e0, -6.31839869873368190192e-1,
                2.36706788228248691528e-1, -5.31806367003223277662e-2,
                8.48041718586295374409e-3, -9.47996768486665330168e-4,
                7.81025592944552338085e-5, -4.55875153252442634831e-6,
                1.89100358111421846170e-7, -4.91324691331920606875e-9,
                7.18466403235734541950e-11]),
    "large": ([-5.90592860534773254987e-1, 6.29235242724368800674e-1,
               -1.72858975380388136411e-1, 1.64837047825189632310e-2,
               -4.86827613020462700845e-4],
              [1.00000000000000000000e0, -2.69820057197544900361e0,
               1.73270799045947845857e0, -3.93708582281939493482e-1,
               3.44278924041233391079e-2, -9.73655226040941223894e-4]),
}


def _dawsn_real(x: Any) -> Any:
    ax = lax.abs(x)
    one = lax.full_like(ax, 1.0)
    in_small = ax < _c(x, 3.25)
    in_medium = (ax >= _c(x, 3.25)) & (ax < _c(x, 6.25))
    in_large = ax >= _c(x, 6.25)
    # each region sees a harmless 1.0 outside its range: an overflowing polynomial there would
    # give inf/inf = NaN, which a select does not hide from the derivative
    num, den = _DAWSN["small"]
    s = lax.select(in_small, ax, one)
    small = s * _poly(num, s * s) / _poly(den, s * s)

    def tail(mask: Any, key: str) -> Any:
        num, den = _DAWSN[key]
        a = lax.select(mask, ax, one)
        t = _c(x, 1.0) / lax.square(a)
        return (_c(x, 0.5) / a) * (_c(x, 1.0) + t * _poly(num, t) / _poly(den, t))

    out = lax.select(in_small, small,
                     lax.select(in_medium, tail(in_medium, "medium"), tail(in_large, "large")))
    return xnp.sign(x) * out   # odd function; sign(0) = 0 = dawsn(0)


@custom_jvp
def _dawsn(x: Any) -> Any:
    if x.dtype in (np.float32, np.float64):
        return _dawsn_real(x)
    return _dawsn_real(x.astype(np.float32)).astype(x.dtype)


_dawsn.defjvps(lambda g, ans, x: g * (_c(x, 1.0) - _c(x, 2.0) * x * ans))


def dawsn(x: Any) -> Any:
    """Dawson's integral ``exp(-x**2) * integral_0^x exp(t**2) dt`` (real arguments)."""
    (x,) = _inexact(x)
    _real_only("dawsn", x)
    return _dawsn(x)


# -- exponential integrals (Cephes ei.c, expn.c) ---------------------------------------------
# expi on (0, 2]: x R(x) + euler_gamma + log x
_EI_SMALL = ([-5.350447357812542947283e0, 2.185049168816613393830e2,
              -4.176572384826693777058e3, 5.541176756393557601232e4,
              -3.313381331178144034309e5, 1.592627163384945414220e6],
             [1.0, -5.250547959112862969197e1, 1.259616186786790571525e3,
              -1.756549581973534652631e4, 1.493062117002725991967e5,
              -7.294949239640527645655e5, 1.592627163384945429726e6])
# expi on (2^k, 2^(k+1)] for k = 1..5, and beyond 64: exp(x)/x (1 + R(1/x)/x)
_EI_INTERVALS = [
    ([1.981808503259689673238e-2, -1.271645625984917501326e0, -2.088160335681228318920e0,
      2.755544509187936721172e0, -4.409507048701600257171e-1, 4.665623805935891391017e-2,
      -1.545042679673485262580e-3, 7.059980605299617478514e-5],
     [1.0, 1.476498670914921440652e0, 5.629177174822436244827e-1, 1.699017897879307263248e-1,
      2.291647179034212017463e-2, 4.450150439728752875043e-3, 1.727439612206521482874e-4,
      3.953167195549672482304e-5]),
    ([-1.373215375871208729803e0, -7.084559133740838761406e-1, 1.580806855547941010501e0,
      -2.601500427425622944234e-1, 2.994674694113713763365e-2, -1.038086040188744005513e-3,
      4.371064420753005429514e-5, 2.141783679522602903795e-6],
     [1.0, 8.585231423622028380768e-1, 4.483285822873995129957e-1, 7.687932158124475434091e-2,
      2.449868241021887685904e-2, 8.832165941927796567926e-4, 4.590952299511353531215e-4,
      -4.729848351866523044863e-6, 2.665195537390710170105e-6]),
    ([-2.106934601691916512584e0, 1.732733869664688041885e0, -2.423619178935841904839e-1,
      2.322724180937565842585e-2, 2.372880440493179832059e-4, -8.343219561192552752335e-5,
      1.363408795605250394881e-5, -3.655412321999253963714e-7, 1.464941733975961318456e-8,
      6.176407863710360207074e-10],
     [1.0, -2.298062239901678075778e-1, 1.105077041474037862347e-1,
      -1.566542966630792353556e-2, 2.761106850817352773874e-3, -2.089148012284048449115e-4,
      1.708528938807675304186e-5, -4.459311796356686423199e-7, 1.394634930353847498145e-8,
      6.150865933977338354138e-10]),
    ([-2.458119367674020323359e-1, -1.483382253322077687183e-1, 7.248291795735551591813e-2,
      -1.348315687380940523823e-2, 1.342775069788636972294e-3, -7.942465637159712264564e-5,
      2.644179518984235952241e-6, -4.239473659313765177195e-8],
     [1.0, -1.044225908443871106315e-1, -2.676453128101402655055e-1,
      9.695000254621984627876e-2, -1.601745692712991078208e-2, 1.496414899205908021882e-3,
      -8.462452563778485013756e-5, 2.728938403476726394024e-6, -4.239462431819542051337e-8]),
    ([1.212561118105456670844e-1, -5.823133179043894485122e-1, 2.348887314557016779211e-1,
      -3.040034318113248237280e-2, 1.510082146865190661777e-3, -2.523137095499571377122e-5],
     [1.0, -1.002252150365854016662e0, 2.928709694872224144953e-1,
      -3.337004338674007801307e-2, 1.560544881127388842819e-3, -2.523137093603234562648e-5]),
    ([-7.657847078286127362028e-1, 6.886192415566705051750e-1, -2.132598113545206124553e-1,
      3.346107552384193813594e-2, -3.076541477344756050249e-3, 1.747119316454907477380e-4,
      -6.103711682274170530369e-6, 1.218032765428652199087e-7, -1.086076102793290233007e-9],
     [1.0, -1.888802868662308731041e0, 1.066691687211408896850e0, -2.751915982306380647738e-1,
      3.930852688233823569726e-2, -3.414684558602365085394e-3, 1.866844370703555398195e-4,
      -6.345146083130515357861e-6, 1.239754287483206878024e-7, -1.086076102793126632978e-9]),
]


def _expi_small(x: Any) -> Any:
    num, den = _EI_SMALL
    return x * (_poly(num, x) / _poly(den, x)) + np.euler_gamma + xnp.log(x)


def _expi_interval(coeffs: tuple) -> Any:
    num, den = coeffs

    def f(x: Any) -> Any:
        w = _c(x, 1.0) / x
        return xnp.exp(x) * w * (w * (_poly(num, w) / _poly(den, w)) + _c(x, 1.0))
    return f


def _expi_positive(x: Any) -> Any:
    conds = [(x > _c(x, 0)) & (x <= _c(x, 2))] + [
        (x > _c(x, 2 ** k)) & (x <= _c(x, 2 ** (k + 1))) for k in range(1, 6)]
    funcs = [_expi_small] + [_expi_interval(c) for c in _EI_INTERVALS]
    return xnp.piecewise(x, conds, funcs)


@custom_jvp
def _expi(x: Any) -> Any:
    return xnp.piecewise(x, [x < 0], [lambda v: -exp1(-v), _expi_positive])


_expi.defjvps(lambda g, ans, x: xnp.exp(x) / x * g)


def expi(x: Any) -> Any:
    """The exponential integral ``Ei(x) = integral_{-inf}^x exp(t) / t dt`` (real arguments)."""
    (x,) = _inexact(x)
    _real_only("expi", x)
    return _expi(x)


def _expn_power_series(x: Any, n: Any) -> Any:
    """E_n(x) for x <= 1: the power series, with psi(n) summed up front."""
    one = _c(x, 1.0)
    psi = lax.fori_loop(_c(n, 1), n, lambda i, p: p + one / i,
                        -np.euler_gamma - xnp.log(x))
    n1 = xnp.where(n == _c(n, 1), one + one, n)
    z = -x
    init = (_c(x, 0.0) + 0 * x, one + 0 * x, one - n,
            xnp.where(n == _c(n, 1), _c(x, 0.0), one / (one - n1)), _c(x, np.inf) + 0 * x)

    def body(state):
        xk, yk, pk, ans, _ = state
        xk = xk + one
        yk = yk * z / xk
        pk = pk + one
        ans = ans + xnp.where(pk != 0, yk / pk, _c(x, 0.0))
        t = xnp.where(ans != 0, abs(yk / ans), one)
        return xk, yk, pk, ans, t

    ans = lax.while_loop(lambda s: (x > 0) & (s[4] > _eps(x)), body, init)[3]
    return z ** (n - _c(n, 1)) * psi / xnp.exp(lax.lgamma(n)) - ans


def _expn_continued_fraction(x: Any, n: Any) -> Any:
    """E_n(x) for x > 1: the continued fraction, rescaled when it grows past 2^57."""
    big = _c(x, 1.44115188075855872e17)
    one = _c(x, 1.0)
    zero = _c(x, 0.0)
    init = (_c(n, 1) + 0 * n, one + 0 * x, x, one + 0 * x, x + n, one / (x + n),
            _c(x, np.inf) + 0 * x, zero + 0 * x)

    def body(state):
        k, pkm2, qkm2, pkm1, qkm1, ans, _, r = state
        k = k + 1
        odd = k % 2 == 1
        yk = xnp.where(odd, one, x)
        xk = xnp.where(odd, n + (k - 1) / 2, k / 2)
        pk = pkm1 * yk + pkm2 * xk
        qk = qkm1 * yk + qkm2 * xk
        nonzero = qk != 0
        r = xnp.where(nonzero, pk / qk, r)
        t = xnp.where(nonzero, abs((ans - r) / r), one)
        ans = xnp.where(nonzero, r, ans)
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        rescale = abs(pk) > big
        pkm2, pkm1, qkm2, qkm1 = (xnp.where(rescale, v / big, v)
                                  for v in (pkm2, pkm1, qkm2, qkm1))
        return k, pkm2, qkm2, pkm1, qkm1, ans, t, r

    ans = lax.while_loop(lambda s: (x > 0) & (s[6] > _eps(x)), body, init)[5]
    return ans * xnp.exp(-x)


def _expn_large_n(x: Any, n: Any) -> Any:
    """E_n(x) for n >= 5000: the uniform asymptotic expansion's first terms."""
    xk = x + n
    yk = _c(x, 1.0) / (xk * xk)
    ans = yk * n * (6 * x * x - 8 * n * x + n * n)
    ans = yk * (ans + n * (n - 2 * x))
    ans = yk * (ans + n)
    return (ans + 1) * xnp.exp(-x) / xk


def _expn_scalar(n: Any, x: Any) -> Any:
    conds = [(n < 0) | (x < 0), (x == 0) & (n < 2), (x == 0) & (n >= 2),
             (n == 0) & (x >= 0), n >= 5000, x > 1]
    n1 = xnp.where(n == 1, n + n, n)
    vals = [np.nan, np.inf, _c(x, 1.0) / n1, xnp.exp(-x) / x, _expn_large_n,
            _expn_continued_fraction, _expn_power_series]
    return xnp.piecewise(x, conds, vals, n=n)


_expn_vectorized = xnp.vectorize(_expn_scalar)


@custom_jvp
def _expn(n: Any, x: Any) -> Any:
    return _expn_vectorized(n, x)


# d/dx E_n(x) = -E_{n-1}(x); n is an order, with no derivative
_expn.defjvps(None, lambda g, ans, n, x: lax.mul(lax.neg(g), _expn(lax.sub(n, _c(n, 1)), x)))


def expn(n: Any, x: Any) -> Any:
    """The generalized exponential integral ``E_n(x)`` (real arguments); NaN for ``n < 0`` or
    ``x < 0``. Differentiable in ``x`` (``dE_n/dx = -E_{n-1}``), not in the order ``n``."""
    n, x = _inexact(n, x)
    _real_only("expn", x)
    n, x = xnp.broadcast_arrays(n, x)
    return _expn(lax.stop_gradient(n), x)


def exp1(x: Any) -> Any:
    """The exponential integral ``E_1(x) = integral_x^inf exp(-t) / t dt`` (real arguments)."""
    (x,) = _inexact(x)
    _real_only("exp1", x)
    return expn(1, x)


# -- Spence's function (Cephes spence.c) -----------------------------------------------------
_SPENCE = ([4.65128586073990045278e-5, 7.31589045238094711071e-3, 1.33847639578309018650e-1,
            8.79691311754530315341e-1, 2.71149851196553469920e0, 4.25697156008121755724e0,
            3.29771340985225106936e0, 1.00000000000000000126e0],
           [6.90990488912553276999e-4, 2.54043763932544379113e-2, 2.82974860602568089943e-1,
            1.41172597751831069617e0, 3.63800533345137075418e0, 5.03278880143316990390e0,
            3.54771340985225096217e0, 9.99999999999999998740e-1])


def _spence_positive(x: Any) -> Any:
    # fold x > 2 onto 1/x, then split [0, 2] at 0.5 and 1.5 around the rational fit near 1
    inverted = x > 2.0
    x = xnp.where(inverted, 1.0 / x, x)
    above = x > 1.5
    below = x < 0.5
    inverted = inverted | above
    w = xnp.where(above, 1.0 / x - 1.0, xnp.where(below, -x, x - 1.0))
    num, den = _SPENCE
    y = -w * _poly(num, w) / _poly(den, w)
    y = xnp.where(below, np.pi ** 2 / 6.0 - xnp.log(x) * xnp.log(1.0 - x) - y, y)
    return xnp.where(inverted, -0.5 * xnp.log(x) ** 2 - y, y)


def spence(x: Any) -> Any:
    """Spence's function (the dilogarithm) ``integral_1^x log(t) / (1 - t) dt`` for real
    ``x >= 0`` (NaN below 0), float32 and float64 inputs, as ``jax.scipy.special.spence``."""
    x = xnp.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported, see docstring for supported "
                        "types.")
    return xnp.piecewise(x, [x < 0.0, x == 1.0, x == 0.0],
                         [np.nan, 0, np.pi ** 2 / 6, _spence_positive])


# -- Bernoulli numbers -----------------------------------------------------------------------
def bernoulli(n: int) -> Any:
    """The Bernoulli numbers ``B_0 .. B_n`` (``B_1 = -1/2``), from ``B_2k = (-1)^(k+1) 2 (2k)!
    zeta(2k) / (2 pi)^(2k)`` with the ratio of consecutive factors taken as a cumulative
    product; ``n`` must be a concrete non-negative integer."""
    n = operator.index(n)
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    first = xnp.array([1.0, -1.0 / 2, 1.0 / 6])
    if n < 3:
        return first[:n + 1]
    out = xnp.zeros(n + 1).at[:3].set(first)
    m = xnp.arange(4, n + 1, 2, dtype=out.dtype)
    lead = (1.0 / np.pi ** 2) * xnp.cumprod(-(m - 1) * m / 4 / np.pi ** 2)
    k = xnp.arange(2, 50, dtype=out.dtype)   # zeta(m) - 1, to 2^-50
    zeta_tail = xnp.sum(k[:, None] ** -m[None, :], axis=0)
    return out.at[4::2].set(lead * (1 + zeta_tail))


# -- bessel_jn (Miller's backward recurrence, normalised by sum J_0 + 2 J_2k = 1) ------------
def bessel_jn(z: Any, *, v: int, n_iter: int = 50) -> Any:
    """Bessel functions of the first kind ``J_0(z) .. J_v(z)`` for real ``z``: an array of shape
    ``(v + 1, *z.shape)``. ``n_iter`` is the start of the backward recurrence."""
    (z,) = _inexact(xnp.asarray(z))
    if is_complex(z.dtype):
        raise ValueError("complex input not supported.")
    v, n_iter = operator.index(v), int(n_iter)

    def step(carry, k):
        f0, f1, total = carry
        f = 2.0 * (k + 1.0) * f1 / z - f0
        total = xnp.where(k % 2 == 0, total + 2.0 * f, total)
        return (f1, f, total), f

    zero = xnp.zeros_like(z)
    init = (zero, xnp.full_like(z, 1e-16), zero)
    ks = lax.iota(z.dtype, n_iter + 1)
    (_, _, total), vals = lax.scan(step, init, ks, reverse=True)
    return vals[:v + 1] / (total - vals[0])


# -- hyp1f1 (Pearson, Olver, Porter 2014) ----------------------------------------------------
def _series(term_ratio, a, b, x, init_term, weight=None, start=1.0):
    """``sum_k weight(k) * term_k`` with ``term_{k+1} = term_k * term_ratio(k)``, stopped when a
    term falls below eps relative to the sum or after 250 terms."""
    eps = _eps(x)

    def body(state):
        total, k, term = state
        total = total + (term if weight is None else term * weight(k))
        return total, k + 1, term * term_ratio(k)

    def cond(state):
        total, k, term = state
        return (k < 250) & (lax.abs(term) / lax.abs(total) > eps)

    return lax.while_loop(cond, body, (xnp.asarray(start, x.dtype), 1, init_term))[0]


def _hyp1f1_taylor(a, b, x):
    return _series(lambda k: (a + k) / (b + k) * x / (k + 1), a, b, x, a / b * x)


def _hyp1f1_asymptotic(a, b, x):
    s = _series(lambda k: (b - a + k) * (1 - a + k) / (k + 1) / x, a, b, x,
                (b - a) * (1 - a) / x)
    return gamma(b) / gamma(a) * lax.exp(x) * x ** (a - b) * s


def _hyp1f1_scalar(a, b, x):
    result = lax.cond(lax.abs(x) < 100, _hyp1f1_taylor, _hyp1f1_asymptotic, a, b, x)
    # conventions: a = 0 gives 1 (also a = b = 0), a = b gives exp(x), b = 0 gives inf
    index = ((a == 0) * 1 + ((a == b) & (a != 0)) * 2 + ((b == 0) & (a != 0)) * 3)
    return lax.select_n(index, result, xnp.array(1, x.dtype), xnp.exp(x),
                        xnp.array(np.inf, x.dtype))


def _hyp1f1_da_scalar(a, b, x):
    return _series(lambda k: (a + k) / (b + k) * x / (k + 1), a, b, x, a / b * x,
                   weight=lambda k: lax.digamma(a + k) - lax.digamma(a), start=0.0)


def _hyp1f1_db_scalar(a, b, x):
    return _series(lambda k: (a + k) / (b + k) * x / (k + 1), a, b, x, a / b * x,
                   weight=lambda k: lax.digamma(b) - lax.digamma(b + k), start=0.0)


_hyp1f1_da = xnp.vectorize(_hyp1f1_da_scalar)
_hyp1f1_db = xnp.vectorize(_hyp1f1_db_scalar)


@custom_jvp
def _hyp1f1(a, b, x):
    return xnp.vectorize(_hyp1f1_scalar)(a, b, x)


_hyp1f1.defjvps(lambda g, ans, a, b, x: _hyp1f1_da(a, b, x) * g,
                lambda g, ans, a, b, x: _hyp1f1_db(a, b, x) * g,
                lambda g, ans, a, b, x: a / b * _hyp1f1(a + 1, b + 1, x) * g)


def hyp1f1(a: Any, b: Any, x: Any) -> Any:
    """The confluent hypergeometric function ``1F1(a; b; x)`` for real, positive arguments (the
    convention for ``a = b = 0`` is 1, as in JAX)."""
    a, b, x = _inexact(a, b, x)
    _real_only("hyp1f1", x)
    a, b, x = xnp.broadcast_arrays(a, b, x)
    return _hyp1f1(a, b, x)


# -- sine and cosine integrals (Cephes sici.c) -----------------------------------------------
_SICI_SMALL = {   # x <= 4: Si = x S(x^2), Ci = euler_gamma + log x + x^2 C(x^2)
    "sn": [-8.39167827910303881427e-11, 4.62591714427012837309e-8, -9.75759303843632795789e-6,
           9.76945438170435310816e-4, -4.13470316229406538752e-2, 1.00000000000000000302e0],
    "sd": [2.03269266195951942049e-12, 1.27997891179943299903e-9, 4.41827842801218905784e-7,
           9.96412122043875552487e-5, 1.42085239326149893930e-2, 9.99999999999999996984e-1],
    "cn": [2.02524002389102268789e-11, -1.35249504915790756375e-8, 3.59325051419993077021e-6,
           -4.74007206873407909465e-4, 2.89159652607555242092e-2, -1.00000000000000000080e0],
    "cd": [4.07746040061880559506e-12, 3.06780997581887812692e-9, 1.23210355685883423679e-6,
           3.17442024775032769882e-4, 5.10028056236446052392e-2, 4.00000000000000000080e0],
}
# 4 < x <= 1e9: the auxiliary functions f, g in 1/x^2 (one fit below 8, one above)
_SICI_AUX = {
    "fn4": [4.23612862892216586994e0, 5.45937717161812843388e0, 1.62083287701538329132e0,
            1.67006611831323023771e-1, 6.81020132472518137426e-3, 1.08936580650328664411e-4,
            5.48900223421373614008e-7],
    "fd4": [1, 8.16496634205391016773e0, 7.30828822505564552187e0, 1.86792257950184183883e0,
            1.78792052963149907262e-1, 7.01710668322789753610e-3, 1.10034357153915731354e-4,
            5.48900252756255700982e-7],
    "gn4": [8.71001698973114191777e-2, 6.11379109952219284151e-1, 3.97180296392337498885e-1,
            7.48527737628469092119e-2, 5.38868681462177273157e-3, 1.61999794598934024525e-4,
            1.97963874140963632189e-6, 7.82579040744090311069e-9],
    "gd4": [1, 1.64402202413355338886e0, 6.66296701268987968381e-1, 9.88771761277688796203e-2,
            6.22396345441768420760e-3, 1.73221081474177119497e-4, 2.02659182086343991969e-6,
            7.82579218933534490868e-9],
    "fn8": [4.55880873470465315206e-1, 7.13715274100146711374e-1, 1.60300158222319456320e-1,
            1.16064229408124407915e-2, 3.49556442447859055605e-4, 4.86215430826454749482e-6,
            3.20092790091004902806e-8, 9.41779576128512936592e-11, 9.70507110881952024631e-14],
    "fd8": [1.0, 9.17463611873684053703e-1, 1.78685545332074536321e-1,
            1.22253594771971293032e-2, 3.58696481881851580297e-4, 4.92435064317881464393e-6,
            3.21956939101046018377e-8, 9.43720590350276732376e-11, 9.70507110881952025725e-14],
    "gn8": [6.97359953443276214934e-1, 3.30410979305632063225e-1, 3.84878767649974295920e-2,
            1.71718239052347903558e-3, 3.48941165502279436777e-5, 3.47131167084116673800e-7,
            1.70404452782044526189e-9, 3.85945925430276600453e-12, 3.14040098946363334640e-15],
    "gd8": [1.0, 1.68548898811011640017e0, 4.87852258695304967486e-1,
            4.67913194259625806320e-2, 1.90284426674399523638e-3, 3.68475504442561108162e-5,
            3.57043223443740838771e-7, 1.72693748966316146736e-9, 3.87830166023954706752e-12,
            3.14040098946363335242e-15],
}


def _sici_small(x: Any) -> tuple:
    t = x * x
    si = x * _poly(_SICI_SMALL["sn"], t) / _poly(_SICI_SMALL["sd"], t)
    ci = np.euler_gamma + xnp.log(x) + t * _poly(_SICI_SMALL["cn"], t) / _poly(
        _SICI_SMALL["cd"], t)
    return xnp.where(x == 0, 0.0, si), xnp.where(x == 0, -np.inf, ci)


def _sici_aux(x: Any) -> tuple:
    z = 1.0 / (x * x)
    c = _SICI_AUX
    below8 = x < 8.0
    f = xnp.where(below8, _poly(c["fn4"], z) / (x * _poly(c["fd4"], z)),
                  _poly(c["fn8"], z) / (x * _poly(c["fd8"], z)))
    g = xnp.where(below8, z * _poly(c["gn4"], z) / _poly(c["gd4"], z),
                  z * _poly(c["gn8"], z) / _poly(c["gd8"], z))
    s, co = xnp.sin(x), xnp.cos(x)
    return (np.pi / 2) - f * co - g * s, f * s - g * co


def _sici_huge(x: Any) -> tuple:
    si = xnp.where(xnp.isposinf(x), np.pi / 2, (np.pi / 2) - xnp.cos(x) / x)
    ci = xnp.where(xnp.isposinf(x), 0.0, xnp.sin(x) / x)
    return si, ci


@custom_jvp
def _sici(x: Any) -> tuple:
    ax = xnp.abs(x)
    parts = [_sici_small(ax), _sici_aux(ax), _sici_huge(ax)]
    conds = [ax <= 4, (ax > 4) & (ax <= 1e9)]
    si = xnp.select(conds, [p[0] for p in parts[:2]], parts[2][0])
    ci = xnp.select(conds, [p[1] for p in parts[:2]], parts[2][1])
    return xnp.sign(x) * si, xnp.where(xnp.isneginf(x), np.nan, ci)


@_sici.defjvp
def _sici_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    # Si' = sin(x) / x, Ci' = cos(x) / x
    return _sici(x), (xnp.sinc(x / np.pi) * t, xnp.cos(x) / x * t)


def sici(x: Any) -> tuple:
    """The sine and cosine integrals ``(Si(x), Ci(x))``: ``Si = integral_0^x sin(t)/t dt``,
    ``Ci = euler_gamma + log x + integral_0^x (cos(t) - 1)/t dt`` (real arguments; NaN for
    ``Ci`` at ``-inf``)."""
    (x,) = _inexact(x)
    if is_complex(x.dtype):
        raise ValueError(f"Argument `x` to sici must be real-valued. Got dtype {x.dtype}.")
    return _sici(x)


# -- Owen's T function (Patefield and Tandy 2000, method T5) ---------------------------------
# 13-point quadrature of T(h, a) = a sum_i w_i exp(-h^2 (1 + a^2 t_i) / 2) / (1 + a^2 t_i),
# the factor 1/(2 pi) and the substitution's Jacobian folded into the weights
_OWENS_T_POINTS = np.array([
    0.0035082039676451715, 0.031279042338030754, 0.085266826283219451, 0.16245071730812277,
    0.25851196049125435, 0.36807553840697534, 0.48501092905604697, 0.60277514152618577,
    0.71477884217753227, 0.81475510988760099, 0.89711029755948966, 0.95723808085944262,
    0.99178832974629704])
_OWENS_T_WEIGHTS = np.array([
    0.018831438115323503, 0.018567086243977649, 0.018042093461223386, 0.017263829606398753,
    0.016243219975989857, 0.014994592034116705, 0.013535474469662088, 0.011886351605820165,
    0.010070377242777432, 0.0081130545742299587, 0.0060419009528470239,
    0.0038862217010742058, 0.0016793031084546090])


def _owens_t_quadrature(h: Any, a: Any) -> Any:
    r = xnp.square(a)[..., None] * xnp.expand_dims(_OWENS_T_POINTS, tuple(range(a.ndim)))
    integrand = xnp.exp(-0.5 * xnp.square(h)[..., None] * (1.0 + r)) / (1.0 + r)
    return a * (integrand @ _OWENS_T_WEIGHTS)


@custom_jvp
def _owens_t(h: Any, a: Any) -> Any:
    h = xnp.abs(h)
    abs_a = xnp.abs(a)
    root2 = _c(h, np.sqrt(2))
    h_normed = h / root2
    # |a| > 1 is mapped to 1/|a| by T(h, a) = (Phi(h) + Phi(ah))/2 - Phi(h) Phi(ah) - T(ah, 1/a)
    small_a = abs_a <= 1.0
    ma = xnp.where(small_a, abs_a, xnp.reciprocal(abs_a))
    mh = xnp.where(small_a, h, abs_a * h)
    out = _owens_t_quadrature(mh, ma)
    out = xnp.where(mh == 0.0, xnp.arctan(ma) / (2 * np.pi), out)   # exact at h = 0
    out = xnp.where(ma == 1.0, 0.125 * lax.erfc(-mh / root2) * lax.erfc(mh / root2), out)
    norm_h, norm_ah = lax.erfc(h_normed), lax.erfc(abs_a * h_normed)
    big = xnp.where(abs_a * h <= 0.67,
                    0.25 - 0.25 * lax.erf(h_normed) * lax.erf(abs_a * h_normed) - out,
                    0.25 * (norm_h + norm_ah - norm_h * norm_ah) - out)
    out = lax.sign(a) * xnp.where(abs_a > 1.0, big, out)
    return xnp.where(xnp.isnan(a) | xnp.isnan(h), xnp.full_like(out, np.nan), out)


@_owens_t.defjvp
def _owens_t_jvp(primals, tangents):
    (h, a), (dh, da) = primals, tangents
    out = _owens_t(h, a)
    root2 = _c(h, np.sqrt(2))
    d_h = (-lax.exp(-0.5 * lax.square(h)) * lax.erf(a * h / root2)
           / (2.0 * _c(h, np.sqrt(2.0 * np.pi))))
    d_a = lax.exp(-0.5 * (lax.square(a) + 1.0) * lax.square(h)) / (
        2.0 * np.pi * (lax.square(a) + 1.0))
    return out, (d_h * dh + d_a * da).astype(out.dtype)


def owens_t(h: Any, a: Any) -> Any:
    """Owen's T function ``T(h, a) = 1/(2 pi) integral_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2)
    dx``, by JAX's 13-point quadrature (with the exact values at ``h = 0`` and ``|a| = 1``)."""
    h, a = _inexact(h, a)
    h, a = xnp.broadcast_arrays(h, a)
    return _owens_t(h, a)
