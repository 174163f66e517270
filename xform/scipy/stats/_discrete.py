"""Discrete distributions (``poisson``, ``bernoulli``, ``binom``, ``geom``) and the
multivariate ones (``multivariate_normal``, ``dirichlet``), with JAX's formulas."""

from __future__ import annotations

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.scipy.special import entr, gammaincc, gammaln, xlog1py, xlogy
from xform.scipy.stats._common import c, namespace, promote
from xform.scipy.special import _inexact

__all__ = ["bernoulli", "binom", "dirichlet", "geom", "multivariate_normal", "poisson"]

NEG_INF = -np.inf


# -- poisson ---------------------------------------------------------------------------------
def _poisson_logpmf(k, mu, loc=0):
    k, mu, loc = promote(k, mu, loc)
    x = k - loc
    log_probs = xlogy(x, mu) - gammaln(x + 1) - mu
    return xnp.where((x < 0) | (xnp.round(k) != k), NEG_INF, log_probs)


def _poisson_cdf(k, mu, loc=0):
    k, mu, loc = promote(k, mu, loc)
    x = k - loc
    return xnp.where(x < 0, c(k, 0.0), gammaincc(xnp.floor(1 + x), mu))


def _poisson_entropy(mu, loc=0):
    """The entropy: a sum over the pmf's support for small ``mu``, the asymptotic series for
    ``mu >= 100`` (JAX's split; the sums have static bounds, so it compiles)."""
    mu, loc = _inexact(mu, loc)
    shape = np.broadcast_shapes(mu.shape, loc.shape)
    flat = xnp.ravel(mu)

    def summed(max_k, upper):
        k = xnp.arange(max_k, dtype=flat.dtype)[:, None]
        probs = xnp.exp(_poisson_logpmf(k, flat, 0))
        return xnp.sum(entr(xnp.where(k < upper[None, :], probs, 0.0)), axis=0)

    small = summed(35, xnp.ceil(flat + 20))
    medium = summed(250, xnp.ceil(flat + 10 * xnp.sqrt(flat) + 20))
    large = 0.5 * xnp.log(2 * np.pi * np.e * flat) - 1.0 / (12 * flat)
    out = xnp.where(flat == 0, xnp.zeros_like(flat),
                    xnp.where(flat < 10, small, xnp.where(flat < 100, medium, large)))
    return xnp.broadcast_to(xnp.reshape(out, mu.shape), shape)


poisson = namespace("poisson", logpmf=_poisson_logpmf,
                    pmf=lambda k, mu, loc=0: xnp.exp(_poisson_logpmf(k, mu, loc)),
                    cdf=_poisson_cdf, entropy=_poisson_entropy)


# -- bernoulli -------------------------------------------------------------------------------
def _bernoulli_logpmf(k, p, loc=0):
    k, p, loc = promote(k, p, loc)
    x = k - loc
    log_probs = xlogy(x, p) + xlog1py(1 - x, -p)
    return xnp.where((x < 0) | (x > 1), NEG_INF, log_probs)


def _bernoulli_cdf(k, p):
    k, p = promote(k, p)
    invalid = xnp.isnan(k) | xnp.isnan(p) | (p < 0) | (p > 1)
    return xnp.select([invalid, k < 0, (k >= 0) & (k < 1), k >= 1],
                      [c(k, np.nan), c(k, 0.0), 1 - p, c(k, 1.0)])


def _bernoulli_ppf(q, p):
    q, p = promote(q, p)
    invalid = xnp.isnan(q) | xnp.isnan(p) | (p < 0) | (p > 1) | (q < 0) | (q > 1)
    return xnp.where(invalid, np.nan, xnp.where(q <= 1 - p, c(q, 0.0), c(q, 1.0)))


bernoulli = namespace("bernoulli", logpmf=_bernoulli_logpmf,
                      pmf=lambda k, p, loc=0: xnp.exp(_bernoulli_logpmf(k, p, loc)),
                      cdf=_bernoulli_cdf, ppf=_bernoulli_ppf)


# -- binom -----------------------------------------------------------------------------------
def _binom_logpmf(k, n, p, loc=0):
    k, n, p, loc = promote(k, n, p, loc)
    y = k - loc
    comb = gammaln(n + 1) - (gammaln(y + 1) + gammaln(n - y + 1))
    linear = xlogy(y, p) + xlog1py(n - y, -p)
    log_probs = xnp.where(((y == 0) & (n == 0)) | (linear == 0), c(k, 0.0), comb + linear)
    return xnp.where((k >= loc) & (k < loc + n + 1), log_probs, NEG_INF)


binom = namespace("binom", logpmf=_binom_logpmf,
                  pmf=lambda k, n, p, loc=0: xnp.exp(_binom_logpmf(k, n, p, loc)))


# -- geom ------------------------------------------------------------------------------------
def _geom_logpmf(k, p, loc=0):
    k, p, loc = promote(k, p, loc)
    x = k - loc
    log_probs = xlog1py(x - 1, -p) + xnp.log(p)
    return xnp.where(x <= 0, NEG_INF, log_probs)


geom = namespace("geom", logpmf=_geom_logpmf,
                 pmf=lambda k, p, loc=0: xnp.exp(_geom_logpmf(k, p, loc)))


# -- multivariate_normal ---------------------------------------------------------------------
def _mvn_logpdf(x, mean, cov, allow_singular=None):
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = _inexact(x, mean, cov)
    log_2pi = xnp.log(c(x, 2 * np.pi))
    if not mean.shape:
        return -0.5 * (x - mean) ** 2 / cov - 0.5 * (log_2pi + xnp.log(cov))
    n = mean.shape[-1]
    if not cov.shape:
        y = x - mean
        return -0.5 * xnp.einsum("...i,...i->...", y, y) / cov - n / 2 * (log_2pi + xnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    chol = lax.linalg.cholesky(cov)
    d = x - mean
    batch = np.broadcast_shapes(chol.shape[:-2], d.shape[:-1])
    chol_b = xnp.broadcast_to(chol, batch + (n, n))
    d_b = xnp.broadcast_to(d, batch + (n,))
    y = lax.linalg.triangular_solve(chol_b, d_b[..., None], left_side=True, lower=True)[..., 0]
    return (-0.5 * xnp.einsum("...i,...i->...", y, y) - n / 2 * log_2pi
            - xnp.log(xnp.diagonal(chol, axis1=-1, axis2=-2)).sum(-1))


multivariate_normal = namespace(
    "multivariate_normal", logpdf=_mvn_logpdf,
    pdf=lambda x, mean, cov: xnp.exp(_mvn_logpdf(x, mean, cov)))


# -- dirichlet -------------------------------------------------------------------------------
def _dirichlet_logpdf(x, alpha):
    x, alpha = _inexact(x, alpha)
    if alpha.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` or one "
                         f"entry fewer; got x.shape={x.shape}, alpha.shape={alpha.shape}")
    if x.shape[0] != alpha.shape[0]:
        x = xnp.concatenate([x, 1 - x.sum(0, keepdims=True)], axis=0)
    normalizer = xnp.sum(gammaln(alpha)) - gammaln(xnp.sum(alpha))
    if x.ndim > 1:
        alpha = xnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    log_probs = xnp.sum(xlogy(alpha - 1, x), axis=0) - normalizer
    simplex = xnp.all(x > 0, axis=0) & (abs(xnp.sum(x, axis=0) - 1) < 1e-6)
    return xnp.where(simplex, log_probs, NEG_INF)


dirichlet = namespace("dirichlet", logpdf=_dirichlet_logpdf,
                      pdf=lambda x, alpha: xnp.exp(_dirichlet_logpdf(x, alpha)))
