"""``fresnel``: the Fresnel integrals ``S(x) = integral_0^x sin(pi t^2 / 2) dt`` and ``C(x)``
(the cosine one), with Cephes' rational fits (single- and double-precision sets, as JAX and
SciPy), an accurate ``sin``/``cos`` of ``pi x^2 / 2`` for large ``x``, and JAX's JVP
``(S', C') = (sin(pi x^2 / 2), cos(pi x^2 / 2))``."""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform.core.avals import is_complex
from xform.lax.custom import custom_jvp
from xform.scipy._special_dist import promote_inexact

__all__ = ["fresnel"]

# Cephes fresnl.c: single precision (polynomials) ...
_F32 = {
    "sn": [1.647629463788700e-9, -1.522754752581096e-7, 8.424748808502400e-6,
           -3.120693124703272e-4, 7.244727626597022e-3, -9.228055941124598e-2,
           5.235987735681432e-1],
    "cn": [1.416802502367354e-8, -1.157231412229871e-6, 5.387223446683264e-5,
           -1.604381798862293e-3, 2.818489036795073e-2, -2.467398198317899e-1,
           9.999999760004487e-1],
    "fn": [-1.903009855649792e12, 1.355942388050252e11, -4.158143148511033e9,
           7.343848463587323e7, -8.732356681548485e5, 8.560515466275470e3,
           -1.032877601091159e2, 2.999401847870011e0],
    "gn": [-1.860843997624650e11, 1.278350673393208e10, -3.779387713202229e8,
           6.492611570598858e6, -7.787789623358162e4, 8.602931494734327e2,
           -1.493439396592284e1, 9.999841934744914e-1],
}
# ... and double precision (rational functions)
_F64 = {
    "sn": [-2.99181919401019853726e3, 7.08840045257738576863e5, -6.29741486205862506537e7,
           2.54890880573376359104e9, -4.42979518059697779103e10, 3.18016297876567817986e11],
    "sd": [1.0, 2.81376268889994315696e2, 4.55847810806532581675e4, 5.17343888770096400730e6,
           4.19320245898111231129e8, 2.24411795645340920940e10, 6.07366389490084639049e11],
    "cn": [-4.98843114573573548651e-8, 9.50428062829859605134e-6, -6.45191435683965050962e-4,
           1.88843319396703850064e-2, -2.05525900955013891793e-1, 9.99999999999999998822e-1],
    "cd": [3.99982968972495980367e-12, 9.15439215774657478799e-10, 1.25001862479598821474e-7,
           1.22262789024179030997e-5, 8.68029542941784300606e-4, 4.12142090722199792936e-2,
           1.00000000000000000118e0],
    "fn": [4.21543555043677546506e-1, 1.43407919780758885261e-1, 1.15220955073585758835e-2,
           3.45017939782574027900e-4, 4.63613749287867322088e-6, 3.05568983790257605827e-8,
           1.02304514164907233465e-10, 1.72010743268161828879e-13, 1.34283276233062758925e-16,
           3.76329711269987889006e-20],
    "fd": [1.0, 7.51586398353378947175e-1, 1.16888925859191382142e-1,
           6.44051526508858611005e-3, 1.55934409164153020873e-4, 1.84627567348930545870e-6,
           1.12699224763999035261e-8, 3.60140029589371370404e-11, 5.88754533621578410010e-14,
           4.52001434074129701496e-17, 1.25443237090011264384e-20],
    "gn": [5.04442073643383265887e-1, 1.97102833525523411709e-1, 1.87648584092575249293e-2,
           6.84079380915393090172e-4, 1.15138826111884280931e-5, 9.82852443688422223854e-8,
           4.45344415861750144738e-10, 1.08268041139020870318e-12, 1.37555460633261799868e-15,
           8.36354435630677421531e-19, 1.86958710162783235106e-22],
    "gd": [1.0, 1.47495759925128324529e0, 3.37748989120019970451e-1,
           2.53603741420338795122e-2, 8.14679107184306179049e-4, 1.27545075667729118702e-5,
           1.04314589657571990585e-7, 4.60680728146520428211e-10, 1.10273215066240270757e-12,
           1.38796531259578871258e-15, 8.39158816283118707363e-19, 1.86958710162783236342e-22],
}


def _poly(coeffs: list, x: Any) -> Any:
    return xnp.polyval(np.asarray(coeffs, dtype=x.dtype), x)


def _sin_cos_half_pi_square(x: Any) -> tuple:
    """``sin`` and ``cos`` of ``pi x^2 / 2``, reduced exactly first: with ``s = x mod 2``,
    ``x^2 / 2 = s (x - s/2)`` modulo 2, so no large argument reaches ``sin``."""
    x = xnp.abs(x)
    s = xnp.fmod(x, 2.0)
    r = xnp.fmod(s * (x - s / 2), 2.0)
    sin = xnp.where(r < 0.5, xnp.sin(np.pi * r),
                    xnp.where(r > 1.5, xnp.sin(np.pi * (r - 2.0)), -xnp.sin(np.pi * (r - 1.0))))
    cos = xnp.where(r == 0.5, 0.0,
                    xnp.where(r < 1.0, -xnp.sin(np.pi * (r - 0.5)), xnp.sin(np.pi * (r - 1.5))))
    return sin, cos


def _fresnel_real(xx: Any) -> tuple:
    single = xx.dtype == np.float32
    c = _F32 if single else _F64
    x = xnp.abs(xx)
    x2 = x * x
    t = x2 * x2
    if single:
        s_small = x * x2 * _poly(c["sn"], t)
        c_small = x * _poly(c["cn"], t)
    else:
        s_small = x * x2 * _poly(c["sn"], t) / _poly(c["sd"], t)
        c_small = x * _poly(c["cn"], t) / _poly(c["cd"], t)
    sin, cos = _sin_cos_half_pi_square(x)
    if single:
        s_large = c_large = 0.5
    else:
        c_large = 0.5 + 1 / (np.pi * x) * sin
        s_large = 0.5 - 1 / (np.pi * x) * cos
    # the auxiliary functions f, g in 1/(pi x^2) between the two
    t = np.pi * x2
    u = 1.0 / (t * t)
    t = 1.0 / t
    if single:
        f = 1.0 - u * _poly(c["fn"], u)
        g = t * _poly(c["gn"], u)
    else:
        f = 1.0 - u * _poly(c["fn"], u) / _poly(c["fd"], u)
        g = t * _poly(c["gn"], u) / _poly(c["gd"], u)
    t = np.pi * x
    c_mid = 0.5 + (f * sin - g * cos) / t
    s_mid = 0.5 - (f * cos + g * sin) / t
    inf, small, large = xnp.isinf(xx), x2 < 2.5625, x > 36974.0
    s = xnp.where(inf, 0.5, xnp.where(small, s_small, xnp.where(large, s_large, s_mid)))
    co = xnp.where(inf, 0.5, xnp.where(small, c_small, xnp.where(large, c_large, c_mid)))
    neg = xx < 0.0
    return xnp.where(neg, -s, s), xnp.where(neg, -co, co)


@custom_jvp
def _fresnel(x: Any) -> tuple:
    if x.dtype in (np.float32, np.float64):
        return _fresnel_real(x)
    s, c = _fresnel_real(x.astype(np.float32))   # half precision: the single-precision fits
    return s.astype(x.dtype), c.astype(x.dtype)


@_fresnel.defjvp
def _fresnel_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    sin, cos = _sin_cos_half_pi_square(x)
    return _fresnel(x), (sin * t, cos * t)


def fresnel(x: Any) -> tuple:
    """The Fresnel integrals ``(S(x), C(x))`` for real ``x`` (float16 to float64)."""
    (x,) = promote_inexact(x)
    if is_complex(x.dtype):
        raise NotImplementedError("Support for complex-valued inputs is not implemented yet.")
    return _fresnel(x)
