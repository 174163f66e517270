"""``hyp2f1``: the Gauss hypergeometric function ``2F1(a, b; c; x)`` for real arguments, with
JAX's case analysis (terminating polynomials for non-positive integer ``a`` or ``b``, the power
series, the digamma (Abramowitz-Stegun 15.3.10-12) transformation near ``x = 1`` for integer
``c - a - b``, closed forms at the edges) and JAX's custom derivatives (series in ``a``, ``b``,
``c``; ``d/dx 2F1 = ab/c 2F1(a+1, b+1; c+1; x)``)."""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_complex
from xform.lax.custom import custom_jvp
from xform.scipy._special_dist import promote_inexact
from xform.scipy._special_more import gamma

__all__ = ["hyp2f1"]


def _eps(x: Any) -> float:
    return float(np.finfo(x.dtype).eps)


def _one(x: Any) -> Any:
    return xnp.array(1, dtype=x.dtype)


def _terminal(a, b, c, x):
    """The finite sum when ``a`` (after swapping in ``b`` if that one terminates first) is a
    non-positive integer."""
    eps = _eps(x) * 50
    swap = (b < a) & (xnp.abs(b - xnp.round(b)) < eps) & ~((c % 1 == 0) & (c <= 0) & (c > b))
    a, b = xnp.where(swap, b, a), xnp.where(swap, a, b)
    a = xnp.abs(a)

    def body(i, state):
        total, term = state
        term = term * (-(a - i + 1) / (c + i - 1) * (b + i - 1) / i * x)
        return total + term, term

    return lax.fori_loop(_one(a), a + 1, body, (_one(x), _one(x)))[0]


def _series(a, b, c, x):
    rtol = _eps(x)

    def body(state):
        total, k, term = state
        return total + term, k + 1, term * ((a + k - 1) * (b + k - 1) / (c + k - 1) / k * x)

    def cond(state):
        total, k, term = state
        return (k < 250) & (lax.abs(term) > rtol * lax.abs(total))

    return lax.while_loop(cond, body, (xnp.array(0, x.dtype), _one(x), _one(x)))[0]


def _digamma_transform(a, b, c, x):
    """2F1 near ``x = 1`` when ``d = c - a - b`` is an integer (the logarithmic case)."""
    rtol = _eps(x)
    digamma = lax.digamma
    d = c - a - b
    s = 1 - x
    rd = xnp.round(d)
    e = xnp.where(rd >= 0, d, -d)
    d1 = xnp.where(rd >= 0, d, xnp.array(0, d.dtype))
    d2 = xnp.where(rd >= 0, xnp.array(0, d.dtype), d)
    ard = xnp.where(rd >= 0, rd, -rd).astype("int32")
    ax = xnp.log(s)
    y = digamma(_one(x)) + digamma(1.0 + e) - digamma(a + d1) - digamma(b + d1) - ax
    y = y / gamma(e + 1.0)
    p = (a + d1) * (b + d1) * s / gamma(e + 2.0)

    def cond(state):
        p, q, t, y = state
        return (t < 250) & (xnp.abs(q) >= rtol * xnp.abs(y))

    def body(state):
        p, q, t, y = state
        r = (digamma(1.0 + t) + digamma(1.0 + t + e) - digamma(a + t + d1)
             - digamma(b + t + d1) - ax)
        q = p * r
        y = y + q
        p = p * (s * (a + t + d1) / (t + 1.0))
        p = p * ((b + t + d1) / (t + 1.0 + e))
        return p, q, t + 1.0, y

    _, _, _, y = lax.while_loop(cond, body, (p, y, _one(x), y))

    def with_finite_sum(y):
        def step(i, state):
            p, t, y1 = state
            r = 1.0 - e + t
            p = p * (s * (a + t + d2) * (b + t + d2) / r)
            t = t + 1.0
            p = p / t
            return p, t, y1 + p

        y1 = lax.fori_loop(1, ard, step, (p, xnp.array(0, x.dtype), _one(x)))[-1]
        g = gamma(c)
        y1 = y1 * (gamma(e) * g / (gamma(a + d1) * gamma(b + d1)))
        y = y * (g / (gamma(a + d2) * gamma(b + d2)))
        y = xnp.where((ard & 1) != 0, -y, y)
        q = s ** rd
        return xnp.where(rd > 0, y * q + y1, y + y1 * q)

    return xnp.where(rd == 0, y * gamma(c) / (gamma(a) * gamma(b)), with_finite_sum(y))


def _terminal_or_series(a, b, c, x):
    eps = _eps(x) * 50
    d = c - a - b
    neg_int_a = (a <= 0) & (xnp.abs(a - xnp.round(a)) < eps)
    neg_int_b = (b <= 0) & (xnp.abs(b - xnp.round(b)) < eps)
    terminates = neg_int_a | neg_int_b
    index = xnp.where((x > 0.9) & ~terminates,
                      xnp.where(xnp.abs(d - xnp.round(d)) >= eps, 0, 1),
                      xnp.where(terminates, 2, 0))
    return lax.select_n(index, _series(a, b, c, x), _digamma_transform(a, b, c, x),
                        _terminal(a, b, c, x))


def _hyp2f1_scalar(a, b, c, x):
    eps = _eps(x) * 50
    d = c - a - b
    s = 1 - x
    ca, cb = c - a, c - b
    rd = xnp.round(d)
    index = xnp.where(
        (x == 0) | (((a == 0) | (b == 0)) & (c != 0)), 0,
        xnp.where((c == 0) | ((c < 0) & (c % 1 == 0)), 1,
                  xnp.where((d <= -1) & ~((xnp.abs(d - rd) >= eps) & (s < 0)), 2,
                            xnp.where((d <= 0) & (x == 1), 1,
                                      xnp.where((x < 1) & (b == c), 3,
                                                xnp.where((x < 1) & (a == c), 4,
                                                          xnp.where(x > 1, 1,
                                                                    xnp.where(x == 1, 5,
                                                                              6))))))))
    return lax.select_n(index, _one(x), xnp.array(np.inf, x.dtype),
                        s ** d * _terminal_or_series(ca, cb, c, x), s ** (-a), s ** (-b),
                        gamma(c) * gamma(d) / (gamma(ca) * gamma(cb)),
                        _terminal_or_series(a, b, c, x))


def _param_derivative(weight):
    """``d 2F1 / d param`` as the series with each term weighted by ``weight(a, b, c, k)``."""
    def scalar(a, b, c, x):
        precision = _eps(x)

        def body(state):
            total, k, term = state
            total = total + term * weight(a, b, c, k)
            return total, k + 1, term * ((a + k) * (b + k) / (c + k) / (k + 1) * x)

        def cond(state):
            total, k, term = state
            return (k < 250) & (lax.abs(term) / lax.abs(total) > precision)

        return lax.while_loop(cond, body, (xnp.array(0, x.dtype), 1, a * b / c * x))[0]
    return xnp.vectorize(scalar)


_d_a = _param_derivative(lambda a, b, c, k: lax.digamma(a + k) - lax.digamma(a))
_d_b = _param_derivative(lambda a, b, c, k: lax.digamma(b + k) - lax.digamma(b))
_d_c = _param_derivative(lambda a, b, c, k: lax.digamma(c) - lax.digamma(c + k))


@custom_jvp
def _hyp2f1(a, b, c, x):
    return xnp.vectorize(_hyp2f1_scalar)(a, b, c, x)


_hyp2f1.defjvps(lambda g, ans, a, b, c, x: _d_a(a, b, c, x) * g,
                lambda g, ans, a, b, c, x: _d_b(a, b, c, x) * g,
                lambda g, ans, a, b, c, x: _d_c(a, b, c, x) * g,
                lambda g, ans, a, b, c, x: a * b / c * _hyp2f1(a + 1, b + 1, c + 1, x) * g)


def hyp2f1(a: Any, b: Any, c: Any, x: Any) -> Any:
    """The Gauss hypergeometric function ``2F1(a, b; c; x)`` for real arguments with
    ``x < 1`` (JAX's conventions at ``x = 1`` and beyond)."""
    a, b, c, x = promote_inexact(a, b, c, x)
    if is_complex(x.dtype):
        raise ValueError("hyp2f1 does not support complex-valued inputs.")
    a, b, c, x = xnp.broadcast_arrays(a, b, c, x)
    return _hyp2f1(a, b, c, x)
