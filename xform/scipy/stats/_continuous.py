"""Univariate continuous distributions, with JAX's formulas (so JAX's values at the edges of
the support: ``-inf`` log-densities outside it, NaN for invalid parameters where JAX gives NaN)."""

from __future__ import annotations


import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.scipy.special import (
    betainc, betaln, expit, gammainc, gammaincc, gammaln, log_ndtr, logit, logsumexp, ndtr,
    ndtri, xlog1py, xlogy,
)
from xform.scipy.stats._common import c, namespace, promote

__all__ = ["beta", "cauchy", "chi2", "expon", "gamma", "laplace", "logistic", "norm", "t",
           "truncnorm", "uniform", "vonmises"]

NEG_INF = -np.inf


def _exp(f):
    return lambda *args, **kw: xnp.exp(f(*args, **kw))


def _log(f):
    return lambda *args, **kw: xnp.log(f(*args, **kw))


# -- norm ------------------------------------------------------------------------------------
def _norm_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    var = scale * scale
    return (xnp.log(c(x, 2 * np.pi) * var) + (x - loc) ** 2 / var) / c(x, -2.0)


def _norm_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return ndtr((x - loc) / scale)


def _norm_logcdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return log_ndtr((x - loc) / scale)


def _norm_ppf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return ndtri(q) * scale + loc


norm = namespace(
    "norm", logpdf=_norm_logpdf, pdf=_exp(_norm_logpdf), cdf=_norm_cdf, logcdf=_norm_logcdf,
    sf=lambda x, loc=0, scale=1: _norm_cdf(*_neg_loc(x, loc, scale)),
    logsf=lambda x, loc=0, scale=1: _norm_logcdf(*_neg_loc(x, loc, scale)),
    ppf=_norm_ppf, isf=lambda q, loc=0, scale=1: _norm_ppf(1 - promote(q)[0], loc, scale))


def _neg_loc(x, loc, scale):
    x, loc, scale = promote(x, loc, scale)
    return -x, -loc, scale


# -- expon -----------------------------------------------------------------------------------
def _expon_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return xnp.where(x < loc, NEG_INF, -((x - loc) / scale + xnp.log(scale)))


def _expon_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return xnp.where(x < loc, c(x, 0.0), -xnp.expm1((loc - x) / scale))


def _expon_logsf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return xnp.where(x < loc, c(x, 0.0), (loc - x) / scale)


def _expon_ppf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return xnp.where(xnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc - scale * xnp.log1p(-q))


expon = namespace(
    "expon", logpdf=_expon_logpdf, pdf=_exp(_expon_logpdf), cdf=_expon_cdf,
    logcdf=lambda x, loc=0, scale=1: xnp.log1p(-xnp.exp(_expon_logsf(x, loc, scale))),
    sf=_exp(_expon_logsf), logsf=_expon_logsf, ppf=_expon_ppf)


# -- laplace ---------------------------------------------------------------------------------
def _laplace_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return -(xnp.abs(x - loc) / scale + xnp.log(c(x, 2.0) * scale))


def _laplace_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    d = (x - loc) / scale
    return xnp.where(d <= 0, c(x, 0.5) * xnp.exp(d), c(x, 1.0) - c(x, 0.5) * xnp.exp(-d))


laplace = namespace("laplace", logpdf=_laplace_logpdf, pdf=_exp(_laplace_logpdf),
                    cdf=_laplace_cdf)


# -- logistic --------------------------------------------------------------------------------
def _logistic_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    half = (x - loc) / scale / 2
    return c(x, -2.0) * xnp.logaddexp(half, -half) - xnp.log(scale)


def _logistic_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return expit((x - loc) / scale)


def _logistic_sf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return expit(-(x - loc) / scale)


def _logistic_ppf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return logit(q) * scale + loc


def _logistic_isf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return -logit(q) * scale + loc


logistic = namespace("logistic", logpdf=_logistic_logpdf, pdf=_exp(_logistic_logpdf),
                     cdf=_logistic_cdf, sf=_logistic_sf, ppf=_logistic_ppf, isf=_logistic_isf)


# -- uniform ---------------------------------------------------------------------------------
def _uniform_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return xnp.where((x > loc + scale) | (x < loc), NEG_INF, -xnp.log(scale))


def _uniform_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    inside = (x - loc) / scale
    # strong 0 and 1, as JAX's (its uniform.cdf is not weakly typed)
    zero, one = np.array(0.0, x.dtype), np.array(1.0, x.dtype)
    return xnp.select([x < loc, x > loc + scale, (x >= loc) & (x <= loc + scale)],
                      [zero, one, inside])


def _uniform_ppf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return xnp.where(xnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc + scale * q)


uniform = namespace("uniform", logpdf=_uniform_logpdf, pdf=_exp(_uniform_logpdf),
                    cdf=_uniform_cdf, ppf=_uniform_ppf)


# -- cauchy ----------------------------------------------------------------------------------
def _cauchy_logpdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    z = (x - loc) / scale
    return -(xnp.log(c(x, np.pi) * scale) + xnp.log1p(z * z))


def _cauchy_cdf(x, loc=0, scale=1):
    x, loc, scale = promote(x, loc, scale)
    return c(x, 0.5) + c(x, 1.0 / np.pi) * xnp.arctan((x - loc) / scale)


def _cauchy_ppf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return xnp.tan(c(q, np.pi) * q - c(q, np.pi / 2)) * scale + loc


def _cauchy_isf(q, loc=0, scale=1):
    q, loc, scale = promote(q, loc, scale)
    return xnp.tan(c(q, np.pi / 2) - c(q, np.pi) * q) * scale + loc


cauchy = namespace(
    "cauchy", logpdf=_cauchy_logpdf, pdf=_exp(_cauchy_logpdf), cdf=_cauchy_cdf,
    logcdf=_log(_cauchy_cdf), sf=lambda x, loc=0, scale=1: _cauchy_cdf(*_neg_loc(x, loc, scale)),
    logsf=lambda x, loc=0, scale=1: xnp.log(_cauchy_cdf(*_neg_loc(x, loc, scale))),
    ppf=_cauchy_ppf, isf=_cauchy_isf)


# -- gamma and chi2 --------------------------------------------------------------------------
def _gamma_logpdf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote(x, a, loc, scale)
    ok = x >= loc
    y = xnp.where(ok, (x - loc) / scale, c(x, 1.0))
    log_probs = xlogy(a - 1, y) - y - (gammaln(a) + xnp.log(scale))
    return xnp.where(ok, log_probs, NEG_INF)


def _gamma_cdf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote(x, a, loc, scale)
    return gammainc(a, xnp.clip((x - loc) / scale, 0.0, np.inf))


def _gamma_sf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote(x, a, loc, scale)
    y = (x - loc) / scale
    return xnp.where(y < 0, c(x, 1.0), gammaincc(a, y))


gamma = namespace("gamma", logpdf=_gamma_logpdf, pdf=_exp(_gamma_logpdf), cdf=_gamma_cdf,
                  logcdf=_log(_gamma_cdf), sf=_gamma_sf, logsf=_log(_gamma_sf))


def _chi2_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote(x, df, loc, scale)
    y = (x - loc) / scale
    half_df = df / 2
    kernel = (half_df - 1) * xnp.log(y) - y / 2
    normalizer = -(gammaln(half_df) + xnp.log(c(x, 2.0)) * df / 2)
    return xnp.where(x < loc, NEG_INF, normalizer - xnp.log(scale) + kernel)


def _chi2_cdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote(x, df, loc, scale)
    return gammainc(df / 2, xnp.clip((x - loc) / (scale * 2), 0.0, np.inf))


def _chi2_sf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote(x, df, loc, scale)
    return gammaincc(df / 2, xnp.clip((x - loc) / (scale * 2), 0.0, np.inf))


chi2 = namespace("chi2", logpdf=_chi2_logpdf, pdf=_exp(_chi2_logpdf), cdf=_chi2_cdf,
                 logcdf=_log(_chi2_cdf), sf=_chi2_sf, logsf=_log(_chi2_sf))


# -- beta ------------------------------------------------------------------------------------
def _beta_logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    y = (x - loc) / scale
    log_probs = -betaln(a, b) + xlogy(a - 1, y) + xlog1py(b - 1, -y) - xnp.log(scale)
    out = xnp.where((x > loc + scale) | (x < loc), NEG_INF, log_probs)
    return xnp.where((a <= 0) | (b <= 0) | (scale <= 0), np.nan, out)


def _beta_cdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return betainc(a, b, xnp.clip((x - loc) / scale, 0.0, 1.0))


def _beta_sf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return betainc(b, a, 1 - xnp.clip((x - loc) / scale, 0.0, 1.0))


beta = namespace("beta", logpdf=_beta_logpdf, pdf=_exp(_beta_logpdf), cdf=_beta_cdf,
                 logcdf=_log(_beta_cdf), sf=_beta_sf, logsf=_log(_beta_sf))


# -- t ---------------------------------------------------------------------------------------
def _t_logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote(x, df, loc, scale)
    z = (x - loc) / scale
    half_df = df / 2
    half_df1 = half_df + c(x, 0.5)
    normalizer = (gammaln(half_df) + xnp.log(scale * scale * c(x, np.pi) * df) / 2
                  - gammaln(half_df1))
    return -(normalizer + half_df1 * xnp.log1p(z * z / df))


t = namespace("t", logpdf=_t_logpdf, pdf=_exp(_t_logpdf))


# -- vonmises --------------------------------------------------------------------------------
def _vonmises_logpdf(x, kappa):
    x, kappa = promote(x, kappa)
    out = kappa * (xnp.cos(x) - 1) - xnp.log(c(x, 2 * np.pi) * lax.bessel_i0e(kappa))
    return xnp.where(kappa > 0, out, np.nan)


vonmises = namespace("vonmises", logpdf=_vonmises_logpdf, pdf=_exp(_vonmises_logpdf))


# -- truncnorm -------------------------------------------------------------------------------
def _log_diff(x, y):
    """``log(exp(x) - exp(y))``."""
    return logsumexp(xnp.stack([x, y]), b=xnp.stack([xnp.ones_like(x), -xnp.ones_like(y)]),
                     axis=0)


def _log_gauss_mass(a, b):
    """``log(ndtr(b) - ndtr(a))``, computed in the tail it lies in."""
    a, b = xnp.broadcast_arrays(a, b)
    left, right = b <= 0, a > 0
    central = ~(left | right)
    a_tail = xnp.where(right, -b, a)
    b_tail = xnp.where(right, -a, b)
    tail = _log_diff(log_ndtr(b_tail), log_ndtr(a_tail))
    return xnp.where(central, xnp.log1p(-ndtr(a) - ndtr(-b)), tail)


def _truncnorm_logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    val = _norm_logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    z = (x - loc) / scale
    val = xnp.where((z < a) | (z > b), NEG_INF, val)
    return xnp.where(a >= b, np.nan, val)


def _truncnorm_logcdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    x = (x - loc) / scale
    mass = _log_gauss_mass(a, b)
    logcdf = _log_gauss_mass(a, x) - mass
    logsf = _log_gauss_mass(x, b) - mass
    out = xnp.select([x >= b, x <= a, logcdf > -0.1, x > a],
                     [c(x, 0.0), c(x, NEG_INF), xnp.log1p(-xnp.exp(logsf)), logcdf])
    return xnp.where(a >= b, np.nan, out)


def _truncnorm_logsf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return _truncnorm_logcdf(-x, -b, -a, -loc, scale)


truncnorm = namespace(
    "truncnorm", logpdf=_truncnorm_logpdf, pdf=_exp(_truncnorm_logpdf),
    logcdf=_truncnorm_logcdf, cdf=_exp(_truncnorm_logcdf), logsf=_truncnorm_logsf,
    sf=_exp(_truncnorm_logsf))
