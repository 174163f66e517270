"""Special-function primitives of two or three operands: the regularized incomplete gamma
functions (``igamma``, ``igammac``, and ``igamma_grad_a``, their derivative in ``a``) and the
regularized incomplete beta function (``regularized_incomplete_beta``, ``lax.betainc``).

They are what ``xform.scipy.special.gammainc`` / ``betainc`` and the cdfs of
``xform.scipy.stats`` (gamma, chi2, poisson, beta) are made of. Derivatives are JAX's: both
arguments of ``igamma``/``igammac``, only ``x`` of ``betainc`` (JAX raises for ``a`` and ``b``),
and none of ``igamma_grad_a`` (JAX raises too).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import lax as jlax

from xform.core.trace import to_aval

from xform.interpreters.batching import batch_rules, broadcast_batcher, vectorized_batcher
from xform.interpreters.jvp import defjvp
from xform.lax._helpers import REAL_FLOAT, naryop, unop
from xform.lax.elementwise import _like
from xform.lax.elementwise import (
    _const, abs, add, div, exp, gt, lgamma, log, log1p, mul, neg, select, sign, sub,
)

__all__ = ["bessel_i0e", "bessel_i1e", "betainc", "igamma", "igamma_grad_a", "igammac"]

igamma_p = naryop("igamma", REAL_FLOAT, jlax.igamma)
batch_rules[igamma_p] = broadcast_batcher(igamma_p)
igammac_p = naryop("igammac", REAL_FLOAT, jlax.igammac)
batch_rules[igammac_p] = broadcast_batcher(igammac_p)
igamma_grad_a_p = naryop("igamma_grad_a", REAL_FLOAT, jlax.igamma_grad_a)
batch_rules[igamma_grad_a_p] = broadcast_batcher(igamma_grad_a_p)
bessel_i0e_p = unop("bessel_i0e", REAL_FLOAT, jlax.bessel_i0e)
batch_rules[bessel_i0e_p] = vectorized_batcher(bessel_i0e_p)
bessel_i1e_p = unop("bessel_i1e", REAL_FLOAT, jlax.bessel_i1e)
batch_rules[bessel_i1e_p] = vectorized_batcher(bessel_i1e_p)
betainc_p = naryop("regularized_incomplete_beta", REAL_FLOAT, jlax.betainc)
batch_rules[betainc_p] = broadcast_batcher(betainc_p)


def igamma(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)``, as ``jax.lax.igamma``."""
    return igamma_p.bind(a, x)


def igammac(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return igammac_p.bind(a, x)


def igamma_grad_a(a: Any, x: Any) -> Any:
    """The derivative of ``igamma(a, x)`` with respect to ``a``."""
    return igamma_grad_a_p.bind(a, x)


def bessel_i0e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``."""
    return bessel_i0e_p.bind(x)


def bessel_i1e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``."""
    return bessel_i1e_p.bind(x)


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)``, as ``jax.lax.betainc``."""
    return betainc_p.bind(a, b, x)


def _igamma_dx(a: Any, x: Any) -> Any:
    # the gamma density: x^(a-1) e^(-x) / Gamma(a)
    return exp(sub(sub(mul(sub(a, _const(a, 1.0)), log(x)), x), lgamma(a)))


defjvp(igamma_p, lambda t, ans, a, x: mul(t, igamma_grad_a(a, x)),
       lambda t, ans, a, x: mul(t, _igamma_dx(a, x)))
defjvp(igammac_p, lambda t, ans, a, x: neg(mul(t, igamma_grad_a(a, x))),
       lambda t, ans, a, x: neg(mul(t, _igamma_dx(a, x))))


def _no_derivative(message: str):
    def rule(t, ans, *args, **params):
        raise ValueError(message)
    return rule


defjvp(igamma_grad_a_p,
       *[_no_derivative("Differentiation rule for 'igamma_grad_a' not implemented (as in JAX): "
                        "the second derivative of igamma in a is not available.")] * 2)


def _betainc_dx(t: Any, ans: Any, a: Any, b: Any, x: Any) -> Any:
    one = _const(a, 1.0)
    lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    return mul(t, exp(sub(add(mul(sub(b, one), log1p(neg(x))), mul(sub(a, one), log(x))),
                          lbeta)))


_betainc_ab = _no_derivative("Betainc gradient with respect to a and b not supported.")
defjvp(betainc_p, _betainc_ab, _betainc_ab, _betainc_dx)


# i0e' = i1e - sign(x) i0e;  i1e' = i0e - i1e (sign(x) + 1/x), 1/2 at 0 (where 1/x is not taken)
defjvp(bessel_i0e_p, lambda t, ans, x: mul(t, sub(bessel_i1e(x), mul(sign(x), ans))))


def _bessel_i1e_dx(t: Any, ans: Any, x: Any) -> Any:
    eps = _const(x, float(np.finfo(to_aval(x).dtype).eps))
    not_tiny = gt(abs(x), eps)
    full_eps = _like(eps, x)
    safe = select(not_tiny, x, full_eps)
    d = sub(bessel_i0e(safe), mul(ans, add(sign(safe), div(_const(x, 1.0), safe))))
    return mul(t, select(not_tiny, d, _like(_const(x, 0.5), x)))


defjvp(bessel_i1e_p, _bessel_i1e_dx)
