"""xform.scipy.special: jax.scipy.special's functions, built from xform.lax and xform.numpy.

    >>> import xform.numpy as xnp
    >>> from xform.scipy.special import logsumexp
    >>> logsumexp(xnp.array([0.0, -xnp.inf]))
    Array(0., dtype=float32)

Numerics and derivatives follow JAX: ``logsumexp`` subtracts the (finite) maximum, and
``xlogy``, ``xlog1py``, ``entr`` and ``logit`` carry JAX's custom derivatives, so that
``xlogy(0, y)`` is 0 and its gradient is what JAX gives.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.lax._helpers import const_like
from xform.core.avals import is_complex
from xform.lax.custom import custom_jvp
from xform.scipy._special_dist import (
    betainc as betainc, betaln as betaln, gammainc as gammainc, gammaincc as gammaincc,
    log_ndtr as log_ndtr, ndtr as ndtr, ndtri as ndtri, promote_inexact as _inexact,
)
from xform.scipy._special_fresnel import fresnel as fresnel
from xform.scipy._special_hyp2f1 import hyp2f1 as hyp2f1
from xform.scipy._special_sph_harm import sph_harm_y as sph_harm_y
from xform.scipy._special_integrals import (  # noqa: F401 - re-exported
    bernoulli, bessel_jn, dawsn, erfcx, exp1, expi, expn, hyp1f1, owens_t, sici, spence, wofz,
)
from xform.scipy._special_more import (  # noqa: F401 - re-exported
    beta, boxcox, boxcox1p, comb, factorial, gamma, gammasgn, i0, i0e, i1, i1e, kl_div,
    log_softmax, loggamma, multigammaln, poch, polygamma, rel_entr, softmax, zeta,
)

__all__ = ["digamma", "entr", "erf", "erfc", "erfinv", "expit", "gammaln", "logit",
           "logsumexp", "xlog1py", "xlogy"]


def _const(x: Any, value: float) -> Any:
    # typed as JAX's constants in these formulas (``_lax_const``): weak beside a weak scalar
    # only, so a weakly typed array's ``logit`` is strongly typed
    return const_like(x, value)


def _full_like(x: Any, value: float) -> Any:
    return lax.full_like(x, value)


def erf(x: Any) -> Any:
    """The error function."""
    return lax.erf(*_inexact(x))


def erfc(x: Any) -> Any:
    """The complementary error function ``1 - erf(x)``."""
    return lax.erfc(*_inexact(x))


def erfinv(x: Any) -> Any:
    """The inverse error function."""
    return lax.erf_inv(*_inexact(x))


def expit(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    return lax.logistic(*_inexact(x))


@custom_jvp
def _logit(x: Any) -> Any:
    return lax.log(lax.div(x, lax.sub(_const(x, 1.0), x)))


_logit.defjvps(lambda g, ans, x: lax.div(g, lax.mul(x, lax.sub(_const(x, 1.0), x))))


def logit(x: Any) -> Any:
    """The log-odds ``log(x / (1 - x))``, the inverse of ``expit``."""
    return _logit(*_inexact(x))


def gammaln(x: Any) -> Any:
    """The log of the absolute value of the gamma function."""
    return lax.lgamma(*_inexact(x))


def digamma(x: Any) -> Any:
    """The digamma function, the derivative of ``gammaln``."""
    return lax.digamma(*_inexact(x))


def _is_nan(x: Any) -> Any:
    return lax.ne(x, x)


def _x_times_log(log: Callable, den: Callable, name: str) -> tuple[Callable, Callable]:
    """``x * log(y)``, 0 where ``x == 0`` (NaN in y still propagates, as in SciPy), with the
    custom JVP JAX gives it: ``x_dot * log(y) + y_dot * x / den(y)``, with ``log'(y) = 1 /
    den(y)``. Returns the custom_jvp function of same-shaped inexact arrays, and the public
    function that prepares them."""

    @custom_jvp
    def core(x: Any, y: Any) -> Any:
        ok = xnp.logical_or(lax.ne(x, _const(x, 0.0)), _is_nan(y))
        return xnp.where(ok, lax.mul(x, log(y)), _full_like(x, 0.0))

    @core.defjvp
    def core_jvp(primals, tangents):
        (x, y), (x_dot, y_dot) = primals, tangents
        out = core(x, y)
        # cast to the result's dtype, strongly typed, as JAX's rule does (``.astype``)
        return out, xnp.asarray(x_dot * log(y) + y_dot * x / den(y)).astype(out.dtype)

    def public(x: Any, y: Any) -> Any:
        x, y = _inexact(x, y)
        x, y = xnp.broadcast_arrays(x, y)
        return core(x, y)

    public.__name__ = public.__qualname__ = name
    public.__doc__ = f"``x * {log.__name__}(y)``, and 0 where ``x == 0``."
    return core, public


_xlogy, xlogy = _x_times_log(lax.log, lambda y: y, "xlogy")
_xlog1py, xlog1py = _x_times_log(lax.log1p, lambda y: 1 + y, "xlog1py")


@custom_jvp
def _xlogx(x: Any) -> Any:
    return _xlogy(x, x)


_xlogx.defjvps(lambda g, ans, x: g * (lax.log(x) + 1))


def entr(x: Any) -> Any:
    """The elementwise entropy ``-x log x`` (0 at 0, ``-inf`` below 0)."""
    (x,) = _inexact(x)
    if is_complex(x.dtype):
        raise ValueError("entr does not support complex-valued inputs.")
    return lax.select(lax.lt(x, _const(x, 0.0)), _full_like(x, -np.inf), lax.neg(_xlogx(x)))


def _reduction_axes(ndim: int, axis: Any) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def _masked(x: Any, where: Any, fill: float) -> Any:
    return x if where is None else xnp.where(where, x, _full_like(x, fill))


def _masked_max(x: Any, axes: tuple, where: Any = None, keepdims: bool = True) -> Any:
    """The maximum over ``axes`` of the entries where ``where`` holds (``-inf`` if none)."""
    return xnp.max(_masked(x, where, -np.inf), axis=axes, keepdims=keepdims)


def _masked_sum(x: Any, axes: tuple, where: Any = None, keepdims: bool = True) -> Any:
    """The sum over ``axes`` of the entries where ``where`` holds."""
    return xnp.sum(_masked(x, where, 0.0), axis=axes, keepdims=keepdims)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False, where: Any = None) -> Any:
    """``log(sum(b * exp(a)))`` computed stably (the maximum is subtracted first), as
    ``jax.scipy.special.logsumexp``; ``-inf`` entries contribute nothing."""
    if b is not None:
        a, b = _inexact(a, b)
        if a.shape != b.shape:
            shape = np.broadcast_shapes(a.shape, b.shape)
            a, b = xnp.broadcast_to(a, shape), xnp.broadcast_to(b, shape)
    else:
        (a,) = _inexact(a)
    dims = _reduction_axes(a.ndim, axis)
    real = lax.real(a) if is_complex(a.dtype) else a
    amax = _masked_max(real, dims, where)
    # a non-finite maximum (all -inf, or inf) is replaced by 0 so that exp() stays defined
    finite = lax.is_finite(amax)
    amax = lax.stop_gradient(lax.select(finite, amax, _full_like(amax, 0.0)))
    exp_a = lax.exp(lax.sub(a, xnp.broadcast_to(amax.astype(a.dtype), a.shape)))
    if b is not None:
        exp_a = lax.mul(exp_a, b)
    sumexp = _masked_sum(exp_a, dims, where, keepdims)
    sign = lax.sign(sumexp)
    if return_sign or not is_complex(a.dtype):
        sumexp = lax.abs(sumexp)
    amax_out = amax if keepdims else xnp.squeeze(amax, dims)
    out = lax.add(lax.log(sumexp), amax_out.astype(sumexp.dtype))
    if return_sign:
        return out, sign
    if b is not None and not is_complex(out.dtype):
        out = xnp.where(sign < 0, _full_like(out, np.nan), out)
    return out


