"""More of ``jax.scipy.special``: gamma-function relatives (``gamma``, ``gammasgn``, ``loggamma``,
``beta``, ``factorial``, ``comb``, ``poch``, ``multigammaln``, ``polygamma``), Bessel functions of
order 0 and 1 (``i0``, ``i0e``, ``i1``, ``i1e``), ``zeta``, entropies (``rel_entr``, ``kl_div``),
Box-Cox transforms and ``softmax``/``log_softmax``, with JAX's formulas so values agree with
JAX's to the rounding of the same operations."""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_complex
from xform.core.trace import Tracer
from xform.interpreters.jvp import instantiate, jvp_flat
from xform.lax._helpers import const_like
from xform.lax.elementwise_more import _zeta_series
from xform.lax.custom import custom_jvp
from xform.scipy._special_dist import betaln
from xform.scipy._special_dist import promote_inexact as _inexact

__all__ = ["beta", "boxcox", "boxcox1p", "comb", "factorial", "gamma", "gammasgn", "i0",
           "i0e", "i1", "i1e", "kl_div", "log_softmax", "loggamma", "multigammaln", "poch",
           "polygamma", "rel_entr", "softmax", "zeta"]


def _real(name: str, x: Any) -> None:
    if is_complex(x.dtype):
        raise ValueError(f"{name} does not support complex-valued inputs.")


def gammasgn(x: Any) -> Any:
    """The sign of the gamma function (NaN at the poles), as ``jax.scipy.special.gammasgn``."""
    (x,) = _inexact(x)
    _real("gammasgn", x)
    typ = x.dtype.type
    floor_x = lax.floor(x)
    neg = x < 0
    return xnp.select([neg & (x == floor_x) | xnp.isnan(x),
                       neg & (floor_x % 2 != 0) | (x == 0) & xnp.signbit(x)],
                      [typ(np.nan), typ(-1.0)], typ(1.0))


def gamma(x: Any) -> Any:
    """The gamma function (real arguments), ``gammasgn(x) * exp(lgamma(x))``."""
    (x,) = _inexact(x)
    if is_complex(x.dtype):  # JAX has a complex gamma; xform does not yet
        raise NotImplementedError("xform.scipy.special.gamma supports real inputs only.")
    return gammasgn(x) * lax.exp(lax.lgamma(x))


def loggamma(x: Any) -> Any:
    """The log of the gamma function, NaN for ``x <= 0`` (real arguments)."""
    (x,) = _inexact(x)
    if is_complex(x.dtype):  # JAX has a complex loggamma; xform does not yet
        raise NotImplementedError("xform.scipy.special.loggamma supports real inputs only.")
    return xnp.where(x > 0, lax.lgamma(x), np.nan)


def beta(a: Any, b: Any) -> Any:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."""
    a, b = _inexact(a, b)
    _real("beta", a)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * lax.exp(betaln(a, b))


def factorial(n: Any, exact: bool = False) -> Any:
    """``n!`` as ``exp(lgamma(n + 1))`` (0 for negative ``n``); ``exact=True`` is not
    supported, as in JAX."""
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (n,) = _inexact(n)
    return xnp.where(n < 0, 0, lax.exp(lax.lgamma(n + 1)))


def comb(N: Any, k: Any, *, repetition: bool = False) -> Any:  # noqa: N803 - SciPy's name
    """The number of combinations of ``N`` things taken ``k`` at a time (floats)."""
    N, k = _inexact(N, k)  # noqa: N806
    if repetition:
        return xnp.where((k == 0) & (N >= 0), 1.0, comb(N + k - 1, k))
    cond = (k <= N) & (N >= 0) & (k >= 0)
    safe_n, safe_k = xnp.where(cond, N, 0.0), xnp.where(cond, k, 0.0)
    result = lax.exp(lax.lgamma(safe_n + 1) - lax.lgamma(safe_k + 1)
                     - lax.lgamma(safe_n + 1 - safe_k))
    return xnp.where(cond, result, 0.0)


@custom_jvp
def _poch(z: Any, m: Any) -> Any:
    return xnp.where(m == 0.0, xnp.array(1, dtype=z.dtype), gamma(z + m) / gamma(z))


_poch.defjvps(
    lambda z_dot, ans, z, m: (lax.digamma(z + m) - lax.digamma(z)) * _poch(z, m) * z_dot,
    lambda m_dot, ans, z, m: lax.digamma(z + m) * _poch(z, m) * m_dot)


def poch(z: Any, m: Any) -> Any:
    """The rising factorial ``Gamma(z + m) / Gamma(z)``, with JAX's derivatives."""
    z, m = _inexact(z, m)
    _real("poch", z)
    z, m = xnp.broadcast_arrays(z, m)
    return _poch(z, m)


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``."""
    if isinstance(d, Tracer):
        raise TypeError("multigammaln: the d argument must be a concrete integer, not a traced "
                        "value (pass it as a Python int or mark it static).")
    d = int(d)
    a, d_ = _inexact(a, d)
    dt = a.dtype
    constant = (np.array(0.25, dt) * d_ * (d_ - np.array(1, dt))) * lax.log(np.array(np.pi, dt))
    b = xnp.arange(d, dtype=d_.dtype) / np.array(2, dt)
    res = xnp.sum(lax.lgamma(xnp.expand_dims(a, -1) - xnp.expand_dims(b, tuple(range(a.ndim)))),
                  axis=-1)
    return res + constant


def polygamma(n: Any, x: Any) -> Any:
    """The ``n``-th derivative of the digamma function (``n`` an integer array)."""
    n_dtype = xnp.asarray(n).dtype
    if not np.issubdtype(n_dtype, np.integer):
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype "
                         f"{n_dtype}.")
    n, x = _inexact(n, x)
    _real("polygamma", x)
    n, x = xnp.broadcast_arrays(n, x)
    return lax.polygamma(n, x)


def zeta(x: Any, q: Any = None) -> Any:
    """The Hurwitz zeta function ``zeta(x, q)`` (``q`` is required, as in JAX)."""
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q != None to "
                                  "compute the Hurwitz Zeta function.")
    x, q = _inexact(x, q)
    x, q = xnp.broadcast_arrays(x, q)
    return _zeta(x, q)


@custom_jvp
def _zeta(x: Any, q: Any) -> Any:
    return lax.zeta(x, q)


@_zeta.defjvp
def _zeta_jvp(primals: Any, tangents: Any) -> Any:
    # as JAX's: the Euler-Maclaurin expansion differentiated in both arguments (its value is
    # the primal here, which also continues the function below x = 1)
    outs, tangents_out, _ = jvp_flat(lambda s, q: ([_zeta_series(s, q)], None),
                                     list(primals), list(tangents))
    return outs[0], instantiate(tangents_out[0])


def i0e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``."""
    (x,) = _inexact(x)
    return lax.bessel_i0e(x)


def i0(x: Any) -> Any:
    """The modified Bessel function of order 0."""
    (x,) = _inexact(x)
    return lax.mul(lax.exp(lax.abs(x)), lax.bessel_i0e(x))


def i1e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``."""
    (x,) = _inexact(x)
    return lax.bessel_i1e(x)


def i1(x: Any) -> Any:
    """The modified Bessel function of order 1."""
    (x,) = _inexact(x)
    return lax.mul(lax.exp(lax.abs(x)), lax.bessel_i1e(x))


def rel_entr(p: Any, q: Any) -> Any:
    """The relative entropy ``p log(p / q)`` (0 at ``p == 0 <= q``, ``inf`` elsewhere off
    the positive quadrant)."""
    p, q = _inexact(p, q)
    _real("rel_entr", p)
    zero = const_like(p, 0.0)  # JAX's _lax_const: weak beside a weak scalar
    both_pos = (p > zero) & (q > zero)
    one_zero = (p == zero) & (q >= zero)
    safe_p, safe_q = xnp.where(both_pos, p, 1), xnp.where(both_pos, q, 1)
    log_val = safe_p * lax.log(safe_p) - safe_p * lax.log(safe_q)
    return xnp.where(both_pos, log_val, xnp.where(one_zero, zero, np.inf))


def kl_div(p: Any, q: Any) -> Any:
    """The Kullback-Leibler divergence term ``p log(p / q) - p + q``."""
    p, q = _inexact(p, q)
    _real("kl_div", p)
    return rel_entr(p, q) - p + q


def boxcox(x: Any, lmbda: Any) -> Any:
    """The Box-Cox transform ``(x**lmbda - 1) / lmbda`` (``log x`` at ``lmbda == 0``)."""
    x, lmbda = _inexact(x, lmbda)
    is_zero = lmbda == 0
    safe = xnp.where(is_zero, xnp.ones_like(lmbda), lmbda)
    log_x = xnp.log(x)
    return xnp.where(is_zero, log_x, xnp.expm1(safe * log_x) / safe)


def boxcox1p(x: Any, lmbda: Any) -> Any:
    """The Box-Cox transform of ``1 + x``."""
    x, lmbda = _inexact(x, lmbda)
    is_zero = lmbda == 0
    safe = xnp.where(is_zero, xnp.ones_like(lmbda), lmbda)
    log1p_x = xnp.log1p(x)
    return xnp.where(is_zero, log1p_x, xnp.expm1(safe * log1p_x) / safe)


def _softmax(x: Any, axis: Any) -> Any:
    # jax.nn.softmax's forward pass (xform.nn sits above scipy, so it is written out here)
    x_max = xnp.max(x, axis, initial=-np.inf, keepdims=True)
    e = xnp.exp(x - lax.stop_gradient(x_max))
    return e / xnp.sum(e, axis, keepdims=True)


def softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` over ``axis`` (all axes by default, as JAX's
    ``jax.scipy.special.softmax``), shifted by the maximum for stability."""
    return _softmax(xnp.asarray(x), axis)


def log_softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` over ``axis`` (all axes by default), shifted by the maximum."""
    x = xnp.asarray(x)
    x_max = xnp.max(x, axis, initial=-np.inf, keepdims=True)
    shifted = x - lax.stop_gradient(x_max)
    return shifted - xnp.log(xnp.sum(xnp.exp(shifted), axis, keepdims=True))
