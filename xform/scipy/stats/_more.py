"""More of ``jax.scipy.stats``: ``betabinom``, ``nbinom``, ``multinomial``, ``gennorm``,
``gumbel_l``, ``gumbel_r``, ``pareto``, ``wrapcauchy`` (namespaces of SciPy's method names with
JAX's formulas, so JAX's values at the edges of the support), and the sample statistics
``mode``, ``rankdata`` and ``sem``."""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.scipy.special import _inexact, betaln, gammaln, xlog1py, xlogy
from xform.scipy.stats._common import c, namespace, promote

__all__ = ["ModeResult", "betabinom", "gennorm", "gumbel_l", "gumbel_r", "mode", "multinomial",
           "nbinom", "pareto", "rankdata", "sem", "wrapcauchy"]

NEG_INF = -np.inf


def _exp_of(f):
    return lambda *args, **kw: xnp.exp(f(*args, **kw))


# -- betabinom -------------------------------------------------------------------------------
def _betabinom_logpmf(k, n, a, b, loc=0):
    k, n, a, b, loc = promote(k, n, a, b, loc)
    y = xnp.floor(k) - loc
    log_comb = -(xnp.log1p(n) + betaln(n - y + 1, y + 1))
    log_probs = log_comb + betaln(y + a, n - y + b) - betaln(a, b)
    log_probs = xnp.where((y == 0) & (n == 0), c(y, 0.0), log_probs)
    outside = (y < -loc) | (y > n) | (y + a <= 0)
    log_probs = xnp.where(outside, NEG_INF, log_probs)
    return xnp.where((n < 0) | (a <= 0) | (b <= 0), np.nan, log_probs)


betabinom = namespace("betabinom", logpmf=_betabinom_logpmf, pmf=_exp_of(_betabinom_logpmf))


# -- nbinom ----------------------------------------------------------------------------------
def _nbinom_logpmf(k, n, p, loc=0):
    k, n, p, loc = promote(k, n, p, loc)
    y = k - loc
    log_comb = gammaln(y + n) - gammaln(n) - gammaln(y + 1)
    log_probs = log_comb + xlogy(n, p) + xlogy(y, 1 - p)
    return xnp.where(k < loc, NEG_INF, log_probs)


nbinom = namespace("nbinom", logpmf=_nbinom_logpmf, pmf=_exp_of(_nbinom_logpmf))


# -- multinomial -----------------------------------------------------------------------------
def _multinomial_logpmf(x, n, p):
    (p,) = _inexact(p)
    x, n = xnp.asarray(x), xnp.asarray(n)
    dtype = xnp.result_type(x, n)
    if not np.issubdtype(dtype, np.integer):
        raise ValueError(f"x and n must be of integer type; got x.dtype={x.dtype}, "
                         f"n.dtype={n.dtype}")
    x, n = x.astype(p.dtype), n.astype(p.dtype)
    log_probs = gammaln(n + 1) + xnp.sum(xlogy(x, p) - gammaln(x + 1), axis=-1)
    return xnp.where(xnp.sum(x) == n, log_probs, NEG_INF)


multinomial = namespace("multinomial", logpmf=_multinomial_logpmf,
                        pmf=_exp_of(_multinomial_logpmf))


# -- gennorm ---------------------------------------------------------------------------------
def _gennorm_logpdf(x, beta):
    x, beta = promote(x, beta)
    return xnp.log(0.5 * beta) - lax.lgamma(1 / beta) - xnp.abs(x) ** beta


def _gennorm_cdf(x, beta):
    x, beta = promote(x, beta)
    return 0.5 * (1 + xnp.sign(x) * lax.igamma(1 / beta, xnp.abs(x) ** beta))


gennorm = namespace("gennorm", logpdf=_gennorm_logpdf, pdf=_exp_of(_gennorm_logpdf),
                    cdf=_gennorm_cdf)


# -- gumbel_l, gumbel_r ----------------------------------------------------------------------
def _gumbel(sign: float):
    """The Gumbel distribution of the minimum (``sign = 1``, ``gumbel_l``) or of the maximum
    (``sign = -1``, ``gumbel_r``): ``z = (x - loc) / scale``, density ``exp(s z - exp(s z))``
    with ``s = sign``, all NaN for ``scale <= 0``."""

    def standardized(f):
        def method(x, loc=0, scale=1):
            x, loc, scale = promote(x, loc, scale)
            return xnp.where(scale > 0, f(x, loc, scale, (x - loc) / scale), np.nan)
        return method

    def log_scale_free(x, loc, scale, z):
        t = z - xnp.exp(z) if sign > 0 else -(z + xnp.exp(-z))
        return xlogy(-1, scale) + t

    if sign > 0:   # gumbel_l
        logcdf = standardized(lambda x, loc, scale, z: xnp.log(-xnp.expm1(-xnp.exp(z))))
        logsf = standardized(lambda x, loc, scale, z: -xnp.exp(z))
        sf = _exp_of(logsf)
    else:          # gumbel_r
        logcdf = standardized(lambda x, loc, scale, z: -xnp.exp(-z))
        logsf = standardized(lambda x, loc, scale, z: _log1mexp(xnp.exp(-z)))
        sf = standardized(lambda x, loc, scale, z: 1 - xnp.exp(-xnp.exp(-z)))

    def ppf(p, loc=0, scale=1):
        p, loc, scale = promote(p, loc, scale)
        ok = (p > 0) & (p < 1)
        if sign > 0:
            q = loc + scale * xnp.log(xlog1py(-1, -p))
        else:
            q = loc - scale * xnp.log(xlogy(-1, p))
        return xnp.where(ok, q, np.nan)

    logpdf = standardized(log_scale_free)
    return dict(logpdf=logpdf, pdf=_exp_of(logpdf), logcdf=logcdf, cdf=_exp_of(logcdf),
                logsf=logsf, sf=sf, ppf=ppf)


def _log1mexp(x):
    """``log(1 - exp(-x))`` for ``x > 0``, each formula on the side of log 2 where it is
    accurate."""
    return xnp.where(x > np.log(2), xnp.log1p(-xnp.exp(-x)), xnp.log(-xnp.expm1(-x)))


gumbel_l = namespace("gumbel_l", **_gumbel(1.0))
gumbel_r = namespace("gumbel_r", **_gumbel(-1.0))


# -- pareto ----------------------------------------------------------------------------------
def _pareto(f, below):
    def method(x, b, loc=0, scale=1):
        x, b, loc, scale = promote(x, b, loc, scale)
        return xnp.where(x < loc + scale, below, f(b, loc, scale, (x - loc) / scale))
    return method


_pareto_logpdf = _pareto(lambda b, loc, s, y: -(xnp.log(s / b) + (b + 1) * xnp.log(y)), NEG_INF)
_pareto_logsf = _pareto(lambda b, loc, s, y: -(b * xnp.log(y)), 0.0)


def _pareto_ppf(q, b, loc=0, scale=1):
    q, b, loc, scale = promote(q, b, loc, scale)
    val = loc + scale * (1 - q) ** (-(1 / b))
    return xnp.where(xnp.isnan(q) | (q < 0) | (q > 1), np.nan, val)


pareto = namespace(
    "pareto", logpdf=_pareto_logpdf, pdf=_exp_of(_pareto_logpdf),
    cdf=_pareto(lambda b, loc, s, y: 1 - y ** (-b), 0.0),
    logcdf=_pareto(lambda b, loc, s, y: xnp.log1p(-(y ** (-b))), NEG_INF),
    logsf=_pareto_logsf, sf=_exp_of(_pareto_logsf), ppf=_pareto_ppf)


# -- wrapcauchy ------------------------------------------------------------------------------
def _wrapcauchy_logpdf(x, c_):
    x, c_ = promote(x, c_)
    inside = (x >= 0) & (x <= 2 * np.pi)
    val = (xnp.log(1 - c_ * c_) - np.log(2 * np.pi)
           - xnp.log(1 + c_ * c_ - 2 * c_ * xnp.cos(x)))
    return xnp.where((c_ > 0) & (c_ < 1), xnp.where(inside, val, NEG_INF), np.nan)


wrapcauchy = namespace("wrapcauchy", logpdf=_wrapcauchy_logpdf,
                       pdf=_exp_of(_wrapcauchy_logpdf))


# -- sample statistics -----------------------------------------------------------------------
class ModeResult(NamedTuple):
    """``mode``'s result: the most frequent value and its count."""
    mode: Any
    count: Any


def _check_nan_policy(name: str, nan_policy: str) -> None:
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy == "omit":
        raise NotImplementedError(f"Logic for `nan_policy` of {nan_policy} is not implemented")
    if nan_policy == "raise":
        raise NotImplementedError(
            f"In order to best JIT compile `{name}`, we cannot know whether `x` contains nans. "
            f"Please check if nans exist in `x` outside of the `{name}` function.")


def mode(a: Any, axis: int | None = 0, nan_policy: str = "propagate",
         keepdims: bool = False) -> ModeResult:
    """The most frequent value along ``axis`` (the smallest one on ties) and its count, as
    ``jax.scipy.stats.mode``."""
    x = xnp.atleast_1d(a)
    _check_nan_policy("mode", nan_policy)
    if axis is None:
        out_shape = (1,) * x.ndim if keepdims else ()
        x = xnp.ravel(x)[:, None]
    else:
        axis = operator.index(axis)
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"axis {axis} is out of bounds for array of dimension {x.ndim}")
        axis %= x.ndim
        out_shape = tuple(1 if i == axis else s for i, s in enumerate(x.shape)) if keepdims \
            else tuple(s for i, s in enumerate(x.shape) if i != axis)
        x = xnp.moveaxis(x, axis, 0)
        x = xnp.reshape(x, (x.shape[0], -1))
    if x.shape[0] == 0:
        dtype = xnp.result_type(float)
        return ModeResult(xnp.full(out_shape, np.nan, dtype), xnp.zeros(out_shape, dtype))
    # each column sorted; a value's count is the number of equal entries in its column, and
    # the first maximal count belongs to the smallest most frequent value
    s = xnp.sort(x, axis=0)
    counts = xnp.sum(s[:, None, :] == s[None, :, :], axis=1)
    first = xnp.argmax(counts, axis=0)
    vals = xnp.take_along_axis(s, first[None], axis=0)[0]
    cnt = xnp.max(counts, axis=0)
    return ModeResult(xnp.reshape(vals, out_shape), xnp.reshape(cnt, out_shape))


def rankdata(a: Any, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate") -> Any:
    """Ranks of the data (1 for the smallest), ties resolved by ``method`` ("average", "min",
    "max", "dense", "ordinal"); NaN everywhere if the data hold a NaN."""
    _check_nan_policy("rankdata", nan_policy)
    if method not in ("average", "min", "max", "dense", "ordinal"):
        raise ValueError(f"unknown method '{method}'")
    if axis is not None:
        return xnp.apply_along_axis(rankdata, axis, a, method)
    a = xnp.ravel(xnp.asarray(a))
    out_dtype = xnp.result_type(float)
    n = a.shape[0]
    arr, order = lax.sort_key_val(a, xnp.arange(n))
    inv = xnp.zeros_like(order).at[order].set(xnp.arange(n, dtype=order.dtype))
    if method == "ordinal":
        ranks = (inv + 1).astype(out_dtype)
    else:
        new_value = xnp.concatenate([xnp.array([True]), arr[1:] != arr[:-1]])
        dense = xnp.cumsum(new_value)[inv]
        if method == "dense":
            ranks = dense.astype(out_dtype)
        else:
            # starts[j]: index in the sorted data where the (j+1)-th distinct value begins
            starts = xnp.nonzero(new_value, size=n + 1, fill_value=n)[0].astype(out_dtype)
            if method == "max":
                ranks = starts[dense]
            elif method == "min":
                ranks = starts[dense - 1] + 1
            else:
                ranks = 0.5 * (starts[dense] + starts[dense - 1] + 1)
    return xnp.where(xnp.any(xnp.isnan(a)), xnp.full_like(ranks, np.nan), ranks)


def sem(a: Any, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Any:
    """The standard error of the mean, ``std(a, ddof) / sqrt(n)``; ``nan_policy="omit"``
    leaves NaNs out of both."""
    (b,) = _inexact(a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return xnp.std(b, axis, ddof=ddof, keepdims=keepdims) / xnp.sqrt(size).astype(b.dtype)
    if nan_policy == "omit":
        count = xnp.sum(~xnp.isnan(b), axis, keepdims=keepdims)
        return (xnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims)
                / xnp.sqrt(count).astype(b.dtype))
    raise ValueError(f"{nan_policy} is not supported")
