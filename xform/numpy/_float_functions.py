"""Elementwise floating-point functions of xform.numpy: the log-sum-exp pair, hypot, copysign,
fmod/divmod/reciprocal/fabs, heaviside, sinc, angle conversions, nan_to_num, the rounding
family (trunc, rint, modf), fmax/fmin, float_power, nextafter, frexp/ldexp and angle.

Each is built from xform.lax and the basic ufuncs, so it traces, differentiates and batches.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from xform import lax
from xform.core.avals import canonicalize_dtype
from xform.core.trace import to_aval
from xform.lax.custom import custom_jvp
from xform.numpy import _ufuncs as uf
from xform.numpy._dtypes import finfo
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._predicates import (
    _as_array, _const, _dtype, _is_complex, _is_inexact, isinf, isnan, isneginf, isposinf,
    signbit,
)
from xform.numpy._promote import (
    check_arraylike, convert, promote_args, promote_args_inexact, promote_to_inexact,
)


def _inexact_pair(name: str, x1: Any, x2: Any) -> list:
    """Promoted to one inexact dtype and broadcast to one shape (for ``select``)."""
    return uf.broadcast_for_shapes(*promote_args_inexact(name, x1, x2))


# -- log-sum-exp pairs, hypot, copysign --------------------------------------------------------
def _wrap_between(x: Any, a: float) -> Any:
    """``x`` shifted by a multiple of ``2a`` into ``[-a, a)`` (the branch of a complex log)."""
    two_a = _const(x, 2 * a)
    rem = lax.rem(lax.add(x, _const(x, a)), two_a)
    rem = lax.select(lax.lt(rem, _const(x, 0)), lax.add(rem, two_a), rem)
    return lax.sub(rem, _const(x, a))


def _log_add_pow(base: float):
    """``log_b(b**x1 + b**x2)`` without overflow, for the base of ``exp`` (e) or ``exp2``."""
    power = lax.exp if base == np.e else lax.exp2
    scale = 1.0 if base == np.e else 1 / np.log(2)

    def impl(x1: Any, x2: Any) -> Any:
        amax = lax.max(x1, x2)
        if _is_complex(x1):
            delta = lax.sub(lax.add(x1, x2), lax.mul(amax, _const(amax, 2)))
            log1p = lax.log1p(power(delta))
            out = lax.add(amax, log1p if scale == 1.0 else lax.mul(_const(amax, scale), log1p))
            im = lax.imag(out)  # the imaginary part on the principal branch, as JAX
            shift = lax.sub(_wrap_between(im, np.pi * scale), im)
            return lax.add(out, lax.mul(lax.convert_element_type(shift, _dtype(out)),
                                        _const(out, 1j)))
        delta = lax.sub(x1, x2)
        log1p = lax.log1p(power(lax.neg(lax.abs(delta))))
        # base e: no scale at all, as JAX (a constant would make a weak array's result strong)
        out = lax.add(amax, log1p if scale == 1.0 else lax.mul(_const(amax, scale), log1p))
        # delta is NaN for NaN inputs and for two equal infinities: x1 + x2 is right for both
        return lax.select(lax.ne(delta, delta), lax.add(x1, x2), out)

    return impl


def _finite_or_zero(x: Any) -> Any:
    """``x`` with +inf (in the real part) replaced by 0, so ``exp(x - out)`` is not
    ``exp(inf - inf)``."""
    re = lax.real(x) if _is_complex(x) else x
    return lax.select(lax.eq(re, _const(re, np.inf)), lax.full_like(x, 0), x)


def _softmax_weights_jvp(impl: Callable, exp: Callable) -> Callable:
    """The JVP of ``log(b**x1 + b**x2)``: each tangent weighted by ``b**(x_i - out)``, the
    smooth derivative. Differentiating the max/abs formula instead gives the wrong value at
    ``x1 == x2`` (the tie of max and the kink of abs: 1 for logaddexp's first derivative and
    0 for its second, where the answers are 1/2 and 1/4)."""

    def jvp(primals, tangents):
        (x1, x2), (t1, t2) = primals, tangents
        out = impl(x1, x2)
        rest = _finite_or_zero(out)
        w1 = exp(lax.sub(_finite_or_zero(x1), rest))
        w2 = exp(lax.sub(_finite_or_zero(x2), rest))
        return out, lax.add(lax.mul(t1, w1), lax.mul(t2, w2))

    return jvp


_logaddexp = custom_jvp(_log_add_pow(np.e))
_logaddexp.defjvp(_softmax_weights_jvp(_logaddexp, lax.exp))
_logaddexp2 = custom_jvp(_log_add_pow(2.0))
_logaddexp2.defjvp(_softmax_weights_jvp(_logaddexp2, lax.exp2))


@eager_jit()
def logaddexp(x1: Any, x2: Any, /) -> Any:
    """``log(exp(x1) + exp(x2))`` without overflow, as ``jax.numpy.logaddexp``."""
    return _logaddexp(*_inexact_pair("logaddexp", x1, x2))


@eager_jit()
def logaddexp2(x1: Any, x2: Any, /) -> Any:
    """``log2(2**x1 + 2**x2)`` without overflow, as ``jax.numpy.logaddexp2``."""
    return _logaddexp2(*_inexact_pair("logaddexp2", x1, x2))


@eager_jit()
def hypot(x1: Any, x2: Any, /) -> Any:
    """``sqrt(x1**2 + x2**2)`` without overflow, as ``jax.numpy.hypot``."""
    x1, x2 = _inexact_pair("hypot", x1, x2)
    if _is_complex(x1):
        raise ValueError("hypot is not well defined for complex-valued inputs (as in JAX, a "
                         "ValueError); convert to real values first, e.g. with abs(x).")
    a, b = lax.abs(x1), lax.abs(x2)
    big, small = lax.max(a, b), lax.min(a, b)
    zero = lax.eq(big, _const(big, 0))
    safe = lax.select(zero, lax.full_like(big, 1), big)
    out = lax.mul(safe, lax.sqrt(lax.add(_const(big, 1), lax.square(lax.div(small, safe)))))
    out = lax.select(zero, big, out)
    inf = lax.bitwise_or(isinf(x1), isinf(x2))
    return lax.select(inf, lax.full_like(big, np.inf), out)


@eager_jit()
def copysign(x1: Any, x2: Any, /) -> Any:
    """``x1``'s magnitude with ``x2``'s sign, as ``jax.numpy.copysign``."""
    x1, x2 = _inexact_pair("copysign", x1, x2)
    if _is_complex(x1):
        raise TypeError("copysign does not support complex-valued inputs")
    mag = lax.abs(x1)
    return lax.select(signbit(x2), lax.neg(mag), mag)


# -- division-like -----------------------------------------------------------------------------
@eager_jit()
def fmod(x1: Any, x2: Any, /) -> Any:
    """C-style remainder (the dividend's sign), as ``jax.numpy.fmod``."""
    x1, x2 = promote_args("fmod", x1, x2)
    if np.issubdtype(_dtype(x1), np.integer):
        x2 = lax.select(lax.eq(x2, _const(x2, 0)), lax.full_like(x2, 1), x2)
    return lax.rem(x1, x2)


@jit_typed
def divmod(x1: Any, x2: Any, /) -> tuple:  # noqa: A001 - jax.numpy's name
    """``(floor_divide(x1, x2), remainder(x1, x2))``, as ``jax.numpy.divmod``."""
    return uf.floor_divide(x1, x2), uf.remainder(x1, x2)


@eager_jit()
def reciprocal(x: Any, /) -> Any:
    """Elementwise ``1 / x`` (integer division for integers), as ``jax.numpy.reciprocal``."""
    check_arraylike("reciprocal", x)
    return lax.integer_pow(_as_array(x), -1)


@eager_jit()
def fabs(x: Any, /) -> Any:
    """Absolute value as a float, as ``jax.numpy.fabs``."""
    check_arraylike("fabs", x)
    (x,) = promote_to_inexact(_as_array(x))
    if _is_complex(x):
        raise TypeError("fabs does not support complex-valued inputs.")
    return lax.abs(x)


@eager_jit()
def heaviside(x1: Any, x2: Any, /) -> Any:
    """0 for ``x1 < 0``, ``x2`` at ``x1 == 0``, 1 for ``x1 > 0``, as ``jax.numpy.heaviside``."""
    # as JAX's: x1 is not broadcast, so its constants are weak beside a weakly typed scalar
    # (strong beside an array), and where broadcasts
    check_arraylike("heaviside", x1, x2)
    x1, x2 = promote_to_inexact(x1, x2)
    zero = _const(x1, 0)
    return uf.where(lax.lt(x1, zero), zero, uf.where(lax.gt(x1, zero), _const(x1, 1),
                                                     uf.where(isnan(x1), x1, x2)))


# -- sinc, angles ------------------------------------------------------------------------------
def _sinc_taylor(k: int, x: Any) -> Any:
    """The ``k``-th derivative of ``sin(u) / u`` at ``u = 0``, shaped like ``x``; its own
    derivative is the next one, so every order of ``grad`` is exact at zero."""
    value = 0.0 if k % 2 else (-1) ** (k // 2) / (k + 1)
    return lax.add(lax.mul(x, _const(x, 0)), _const(x, value))


def _sinc_taylor_jvp(k: int, primals: tuple, tangents: tuple) -> tuple:
    (x,), (t,) = primals, tangents
    return _sinc_taylor_rule(k, x), lax.mul(_sinc_taylor_rule(k + 1, x), t)


def _make_sinc_taylor() -> Any:
    rule = custom_jvp(_sinc_taylor, nondiff_argnums=(0,))
    rule.defjvp(_sinc_taylor_jvp)
    return rule


_sinc_rule: list = []


def _sinc_taylor_rule(k: int, x: Any) -> Any:
    if not _sinc_rule:
        _sinc_rule.append(_make_sinc_taylor())
    return _sinc_rule[0](k, x)


@eager_jit()
def sinc(x: Any, /) -> Any:
    """``sin(pi x) / (pi x)`` with ``sinc(0) = 1``, as ``jax.numpy.sinc``; derivatives of
    every order are exact at 0."""
    check_arraylike("sinc", x)
    (x,) = promote_to_inexact(_as_array(x))
    is_zero = lax.eq(x, _const(x, 0))
    pi_x = lax.mul(_const(x, np.pi), x)
    safe = lax.select(is_zero, lax.full_like(x, 1), pi_x)
    return lax.select(is_zero, _sinc_taylor_rule(0, pi_x), lax.div(lax.sin(safe), safe))


def _scale(name: str, factor: float) -> Callable:
    @eager_jit()
    def f(x: Any, /) -> Any:
        check_arraylike(name, x)
        (x,) = promote_to_inexact(_as_array(x))
        return lax.mul(x, _const(x, factor))
    f.__wrapped_eager__.__name__ = f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise angle conversion, as ``jax.numpy.{name}``."
    return f


deg2rad = _scale("deg2rad", np.pi / 180)
radians = _scale("radians", np.pi / 180)
rad2deg = _scale("rad2deg", 180 / np.pi)
degrees = _scale("degrees", 180 / np.pi)


@eager_jit(static_argnames=("deg",))
def angle(z: Any, deg: bool = False) -> Any:
    """The complex argument (radians, or degrees with ``deg``), as ``jax.numpy.angle``."""
    check_arraylike("angle", z)
    z = _as_array(z)
    re, im = uf.real(z), uf.imag(z)
    if not _is_inexact(re) or (not _is_complex(z) and not to_aval(z).shape):
        # as JAX's: integers, and any real scalar, are computed in the default float type,
        # strongly typed (angle(0.3) and angle(np.float16(0.3)) are float32 and strong)
        dt = canonicalize_dtype(np.float64)
        re, im = convert(re, dt, False), convert(im, dt, False)
    out = lax.atan2(im, re)
    return lax.mul(out, _const(out, 180 / np.pi)) if deg else out


# -- non-finite values -------------------------------------------------------------------------
@eager_jit(static_argnames=("copy",))
def nan_to_num(x: Any, copy: bool = True, nan: Any = 0.0, posinf: Any = None,
               neginf: Any = None) -> Any:
    """NaN to ``nan``, infinities to the largest finite values (or the given ones), as
    ``jax.numpy.nan_to_num``."""
    check_arraylike("nan_to_num", x)
    x = _as_array(x)
    if not _is_inexact(x):
        return x
    if _is_complex(x):
        raise NotImplementedError("nan_to_num of complex values is not implemented")
    info = np.finfo(_dtype(x))
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    # strongly typed replacements, as JAX's asarray(nan, dtype=...): a weak input comes out strong
    x = uf.where(isnan(x), convert(nan, _dtype(x), False), x)
    x = uf.where(isposinf(x), convert(posinf, _dtype(x), False), x)
    return uf.where(isneginf(x), convert(neginf, _dtype(x), False), x)


# -- rounding family ---------------------------------------------------------------------------
@eager_jit()
def trunc(x: Any, /) -> Any:
    """Round toward zero, as ``jax.numpy.trunc`` (integers unchanged)."""
    check_arraylike("trunc", x)
    x = _as_array(x)
    if not _is_inexact(x):
        return x
    return lax.select(lax.lt(x, _const(x, 0)), lax.ceil(x), lax.floor(x))


@eager_jit()
def rint(x: Any, /) -> Any:
    """Round to the nearest integer, halves to even, as ``jax.numpy.rint`` (always inexact)."""
    check_arraylike("rint", x)
    (x,) = promote_to_inexact(_as_array(x))
    if _is_complex(x):
        return lax.add(convert(lax.round(lax.real(x), 1), _dtype(x)),
                       lax.mul(convert(lax.round(lax.imag(x), 1), _dtype(x)), _const(x, 1j)))
    return lax.round(x, 1)


@eager_jit()
def modf(x: Any, /, out: None = None) -> tuple:
    """Fractional and integral parts (both with ``x``'s sign), as ``jax.numpy.modf``."""
    check_arraylike("modf", x)
    (x,) = promote_to_inexact(_as_array(x))
    whole = trunc(x)
    return lax.sub(x, whole), whole


@eager_jit()
def fmax(x1: Any, x2: Any) -> Any:
    """Elementwise maximum ignoring NaNs, as ``jax.numpy.fmax``."""
    x1, x2 = promote_args("fmax", x1, x2)
    return uf.where(lax.bitwise_or(lax.gt(x1, x2), isnan(x2)), x1, x2)


@eager_jit()
def fmin(x1: Any, x2: Any) -> Any:
    """Elementwise minimum ignoring NaNs, as ``jax.numpy.fmin``."""
    x1, x2 = promote_args("fmin", x1, x2)
    return uf.where(lax.bitwise_or(lax.lt(x1, x2), isnan(x2)), x1, x2)


@eager_jit()
def float_power(x1: Any, x2: Any, /) -> Any:
    """``x1 ** x2`` of the arguments promoted to an inexact type, as ``jax.numpy.float_power``
    (which, unlike numpy's, does not widen to float64: two Python scalars stay weakly typed)."""
    check_arraylike("float_power", x1, x2)
    return lax.pow(*promote_args_inexact("float_power", x1, x2))


@eager_jit()
def nextafter(x1: Any, x2: Any, /) -> Any:
    """The next float after ``x1`` toward ``x2``, as ``jax.numpy.nextafter``."""
    x1, x2 = promote_args_inexact("nextafter", x1, x2)
    return lax.nextafter(x1, x2)


# -- exponent/mantissa -------------------------------------------------------------------------
@eager_jit()
def ldexp(x1: Any, x2: Any, /) -> Any:
    """``x1 * 2**x2`` for integer ``x2``, as ``jax.numpy.ldexp``."""
    check_arraylike("ldexp", x1, x2)
    x2 = _as_array(x2)
    if not np.issubdtype(_dtype(x2), np.integer):
        raise ValueError(f"ldexp: x2 must be an integer array, got {_dtype(x2).name}")
    (x1,) = promote_to_inexact(_as_array(x1))
    e = convert(x2, _dtype(x1))
    half = lax.floor(lax.mul(e, _const(e, 0.5)))
    # two factors keep 2**e representable when x1 * 2**e is
    x1, half, rest = uf.broadcast_for_shapes(x1, half, lax.sub(e, half))
    return lax.mul(lax.mul(x1, lax.exp2(half)), lax.exp2(rest))


@eager_jit()
def frexp(x: Any, /) -> tuple:
    """Mantissa in ``[0.5, 1)`` and int32 exponent with ``x = m * 2**e``, as
    ``jax.numpy.frexp``."""
    check_arraylike("frexp", x)
    (x,) = promote_to_inexact(_as_array(x))
    if _is_complex(x):
        raise TypeError("frexp does not support complex-valued inputs")
    special = lax.bitwise_or(lax.eq(x, _const(x, 0)), lax.bitwise_not(lax.is_finite(x)))
    safe = lax.select(special, lax.full_like(x, 1), lax.abs(x))
    e = lax.add(lax.floor(lax.div(lax.log(safe), _const(x, np.log(2)))), _const(x, 1))
    m = ldexp(x, convert(lax.neg(e), np.int32))
    for big, grow in ((True, 1), (False, -1)):  # fix the rounding of log2 by one step
        am = lax.abs(m)
        bad = lax.ge(am, _const(x, 1)) if big else lax.lt(am, _const(x, 0.5))
        bad = lax.bitwise_and(bad, lax.bitwise_not(special))
        m = lax.select(bad, lax.mul(m, _const(x, 2.0 ** -grow)), m)
        e = lax.select(bad, lax.add(e, _const(e, grow)), e)
    m = lax.select(special, x, m)
    e = lax.select(special, lax.full_like(e, 0), e)
    return m, convert(e, np.int32)


# -- spacing and the Bessel function i0 --------------------------------------------------------
@eager_jit()
def spacing(x: Any, /) -> Any:
    """The distance from ``x`` to the adjacent float away from zero, as ``jax.numpy.spacing``
    (the smallest subnormal with ``x``'s sign where that distance rounds to zero)."""
    (arr,) = promote_args_inexact("spacing", x)
    if _is_complex(arr):
        raise ValueError("jnp.spacing is not defined for complex inputs.")
    inf = _const(arr, np.inf)
    if _dtype(arr) == np.float16:  # numpy steps float16 toward +inf whatever the sign
        return lax.sub(lax.nextafter(arr, inf), arr)
    step = lax.sub(lax.nextafter(arr, copysign(inf, arr)), arr)
    # a numpy scalar in JAX's, so strongly typed even beside a Python scalar
    tiny = copysign(np.asarray(finfo(_dtype(arr)).smallest_subnormal, _dtype(arr)), arr)
    return lax.select(lax.eq(step, _const(arr, 0)), tiny, step)


def _i0_impl(x: Any) -> Any:
    ax = lax.abs(x)
    return lax.mul(lax.exp(ax), lax.bessel_i0e(ax))


def _i0_jvp(primals: tuple, tangents: tuple) -> tuple:
    # d/dx I0(x) = I1(x) = sign(x) exp(|x|) i1e(|x|); JAX's rule sets it to 0 at x == 0, where
    # |x| is not differentiable, and so does this one.
    (x,), (t,) = primals, tangents
    ax = lax.abs(x)
    slope = lax.mul(lax.sign(x), lax.mul(lax.exp(ax), lax.bessel_i1e(ax)))
    tan = lax.mul(t, slope)
    return _i0_impl(x), lax.select(lax.eq(x, _const(x, 0)), lax.full_like(tan, 0), tan)


_i0 = custom_jvp(_i0_impl)
_i0.defjvp(_i0_jvp)


@eager_jit()
def i0(x: Any) -> Any:
    """The modified Bessel function of the first kind, order 0, as ``jax.numpy.i0`` (real
    floats only; its derivative at 0 is 0)."""
    (arr,) = promote_args_inexact("i0", x)
    if not np.issubdtype(_dtype(arr), np.floating):
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {_dtype(arr)}")
    return _i0(arr)
