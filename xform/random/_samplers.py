"""jax.random's remaining samplers (beta ... weibull_min), each JAX's algorithm over the same
splits and bit draws, so for the same key the samples equal jax.random's."""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import jax
import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.trace import Tracer, to_aval
from xform.lax import random_bits as rb
from xform.lax.compiled import compiled as _jit
from xform.numpy import linalg
from xform.random._keys import (
    _bernoulli_jit, _cast, _check_shape, _float_dtype, _gamma, _normal, _shape, _uniform,
    _unwrap, canonicalize_dtype,
)


# -- shared helpers -------------------------------------------------------------------------------
def _split(data: Any, num: int) -> list:
    keys = rb.threefry_split(data, (num,))
    return [lax.index_in_dim(keys, i, keepdims=False) for i in range(num)]


def _pshape(x: Any) -> tuple:
    return to_aval(x).shape if isinstance(x, Tracer) else np.shape(x)


def _broadcast_shapes(name: str, shape: Any, *args: Any) -> tuple:
    """The samples' shape: ``shape`` checked against the parameters', or their broadcast."""
    arg_shapes = [_pshape(a) for a in args]
    if shape is None:
        return tuple(np.broadcast_shapes(*arg_shapes)) if arg_shapes else ()
    shape = _shape(shape)
    _check_shape(name, shape, *arg_shapes)
    return shape


def _int_dtype(name: str, dtype: Any) -> np.dtype:
    dtype = canonicalize_dtype(int if dtype is None else dtype)
    if not jax.dtypes.issubdtype(dtype, np.integer):
        raise ValueError(f"dtype argument to `{name}` must be an int dtype, got {dtype}")
    return dtype


def _as_array(x: Any) -> Any:
    """Python scalars become weakly typed arrays, as a jitted JAX function's arguments do."""
    return x if isinstance(x, Tracer) else xnp.asarray(x)


def _inexact(x: Any) -> Any:
    x = _as_array(x)
    if jax.dtypes.issubdtype(x.dtype, np.inexact):
        return x
    return x.astype(xnp.result_type(x, 1.0))


def _eps(dtype: np.dtype, attr: str) -> np.ndarray:
    return np.array(getattr(jax.dtypes.finfo(dtype), attr), dtype)


def _unif(data: Any, shape: tuple, dtype: np.dtype, minval: Any = 0.0, maxval: Any = 1.0):
    return _uniform(data, tuple(shape), dtype, _cast(minval, dtype), _cast(maxval, dtype))


# -- key helpers ----------------------------------------------------------------------------------
def key_impl(keys: Any) -> str:
    """The name of the keys' PRNG implementation ('threefry2x32', xform's only one)."""
    _unwrap("key_impl", keys, single=False)
    return "threefry2x32"


def key_dtype(impl: Any = None) -> Any:
    """The dtype of typed keys (``key<fry>``), as ``jax.random.key_dtype``."""
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"xform.random supports impl='threefry2x32' only, got {impl!r}.")
    return jax.random.key_dtype("threefry2x32")


def clone(key: Any) -> Any:
    """A copy of ``key`` (keys are values in xform, so the key itself), as
    ``jax.random.clone``."""
    _unwrap("clone", key, single=False)
    return key


# -- gamma family ---------------------------------------------------------------------------------
def loggamma(key: Any, a: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Logs of Gamma(``a``) samples, accurate for small ``a``, differentiable in ``a``, as
    ``jax.random.loggamma``."""
    data, _ = _unwrap("loggamma", key)
    return _gamma(data, a, shape, _float_dtype("gamma", dtype), log_space=True)


def beta(key: Any, a: Any, b: Any, shape: Sequence[int] | None = None,
         dtype: Any = None) -> Any:
    """Beta(``a``, ``b``) samples from two log-gamma draws, as ``jax.random.beta``."""
    data, _ = _unwrap("beta", key)
    dtype = _float_dtype("beta", dtype)
    shape = _broadcast_shapes("beta", shape, a, b)
    return _beta_jit(data, _as_array(a), _as_array(b), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _beta_jit(data, a, b, *, shape, dtype):
    key_a, key_b = _split(data, 2)
    a = xnp.broadcast_to(_cast(a, dtype), shape)
    b = xnp.broadcast_to(_cast(b, dtype), shape)
    log_a = _gamma(key_a, a, shape, dtype, log_space=True)
    log_b = _gamma(key_b, b, shape, dtype, log_space=True)
    # gamma_a / (gamma_a + gamma_b), scaled by the larger one so nothing underflows
    log_max = lax.max(log_a, log_b)
    ga, gb = xnp.exp(log_a - log_max), xnp.exp(log_b - log_max)
    return ga / (ga + gb)


def dirichlet(key: Any, alpha: Any, shape: Sequence[int] | None = None,
              dtype: Any = None) -> Any:
    """Dirichlet(``alpha``) samples (a softmax of log-gamma draws), as
    ``jax.random.dirichlet``."""
    data, _ = _unwrap("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    a_shape = _pshape(alpha)
    if len(a_shape) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {len(a_shape)}")
    if shape is None:
        shape = a_shape[:-1]
    else:
        shape = _shape(shape)
        _check_shape("dirichlet", shape, a_shape[:-1])
    return _dirichlet_jit(data, _as_array(alpha), shape=tuple(shape), dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _dirichlet_jit(data, alpha, *, shape, dtype):
    alpha = _cast(alpha, dtype)
    log_g = _gamma(data, alpha, shape + alpha.shape[-1:], dtype, log_space=True)
    e = xnp.exp(log_g - lax.stop_gradient(xnp.max(log_g, axis=-1, keepdims=True)))
    return e / xnp.sum(e, axis=-1, keepdims=True)


def chisquare(key: Any, df: Any, shape: Sequence[int] | None = None, dtype: Any = None):
    """Chi-square(``df``) samples, ``2 * Gamma(df / 2)``, as ``jax.random.chisquare``."""
    data, _ = _unwrap("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    shape = _broadcast_shapes("chisquare", shape, df)
    return _chisquare_jit(data, _as_array(df), shape=shape, dtype=dtype)


def _chisquare(data, df, shape, dtype):
    half_df = lax.div(_cast(df, dtype), np.array(2, dtype))
    return lax.mul(xnp.exp(_gamma(data, half_df, shape, dtype, log_space=True)),
                   np.array(2, dtype))


_chisquare_jit = _jit(lambda data, df, *, shape, dtype: _chisquare(data, df, shape, dtype),
                      static_argnames=("shape", "dtype"))


def f(key: Any, dfnum: Any, dfden: Any, shape: Sequence[int] | None = None,
      dtype: Any = None) -> Any:
    """F(``dfnum``, ``dfden``) samples, a ratio of scaled chi-squares, as ``jax.random.f``."""
    data, _ = _unwrap("f", key)
    dtype = _float_dtype("f", dtype)
    shape = _broadcast_shapes("f", shape, dfnum, dfden)
    return _f_jit(data, _as_array(dfnum), _as_array(dfden), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _f_jit(data, dfnum, dfden, *, shape, dtype):
    dfden, dfnum = _cast(dfden, dtype), _cast(dfnum, dtype)
    key_dfd, key_dfn = _split(data, 2)
    # lax.div, as JAX: parameters must be scalars or of the full shape
    num = lax.div(_chisquare(key_dfn, dfnum, shape, dtype), dfnum)
    den = lax.div(_chisquare(key_dfd, dfden, shape, dtype), dfden)
    return lax.div(num, den)


def t(key: Any, df: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Student's t(``df``) samples, as ``jax.random.t``."""
    data, _ = _unwrap("t", key)
    dtype = _float_dtype("t", dtype)
    shape = _broadcast_shapes("t", shape, df)
    return _t_jit(data, _as_array(df), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _t_jit(data, df, *, shape, dtype):
    df = _cast(df, dtype)
    key_n, key_g = _split(data, 2)
    n = _normal(key_n, shape, dtype)
    half_df = lax.div(df, np.array(2, dtype))
    g = _gamma(key_g, half_df, shape, dtype, log_space=False)
    return n * xnp.sqrt(half_df / g)


def generalized_normal(key: Any, p: float, shape: Sequence[int] = (), dtype: Any = None):
    """Samples with density proportional to ``exp(-|x|**p)``, as
    ``jax.random.generalized_normal``."""
    data, _ = _unwrap("generalized_normal", key)
    dtype = _float_dtype("generalized_normal", dtype)
    return _generalized_normal_jit(data, _as_array(p), shape=_shape(shape), dtype=dtype)


def _generalized_normal(data, p, shape, dtype):
    k0, k1 = _split(data, 2)
    g = _gamma(k0, 1 / p, shape, dtype, log_space=False)
    r = _rademacher(k1, shape, dtype)
    return r * g ** (1 / p)


_generalized_normal_jit = _jit(
    lambda data, p, *, shape, dtype: _generalized_normal(data, p, shape, dtype),
    static_argnames=("shape", "dtype"))


def ball(key: Any, d: int, p: float = 2, shape: Sequence[int] = (), dtype: Any = None):
    """Samples uniform in the unit ``p``-norm ball of dimension ``d``, as ``jax.random.ball``."""
    data, _ = _unwrap("ball", key)
    dtype = _float_dtype("ball", dtype)
    return _ball_jit(data, _as_array(p), d=int(d), shape=_shape(shape), dtype=dtype)


@partial(_jit, static_argnames=("d", "shape", "dtype"))
def _ball_jit(data, p, *, d, shape, dtype):
    k1, k2 = _split(data, 2)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = lax.neg(lax.log1p(lax.neg(_unif(k2, shape, dtype))))
    return g / (((xnp.abs(g) ** p).sum(-1) + e) ** (1 / p))[..., None]


# -- transforms of one uniform or normal draw -----------------------------------------------------
def _simple(name: str, body, *, params: int = 0):
    """A sampler ``name(key, *params, shape, dtype)`` with a float dtype and a fixed ``shape``
    default of ``()``, jitted over JAX's body ``body(data, *params, shape, dtype)``."""
    jitted = _jit(lambda data, *ps, shape, dtype: body(data, *ps, shape, dtype),
                  static_argnames=("shape", "dtype"))

    def sampler(key, *args, shape=(), dtype=None):
        data, _ = _unwrap(name, key)
        return jitted(data, *[_as_array(a) for a in args], shape=_shape(shape),
                      dtype=_float_dtype(name, dtype))

    return jitted, sampler


def _cauchy(data, shape, dtype):
    u = _unif(data, shape, dtype, _eps(dtype, "eps"), 1.0)
    return lax.tan(lax.mul(np.array(np.pi, dtype), lax.sub(u, np.array(0.5, dtype))))


def _laplace(data, shape, dtype):
    u = _unif(data, shape, dtype, np.array(-1.0, dtype) + _eps(dtype, "epsneg"), 1.0)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


def _logistic(data, shape, dtype):
    x = _unif(data, shape, dtype, _eps(dtype, "tiny"), 1.0)
    return lax.sub(lax.log(x), lax.log1p(lax.neg(x)))


def _maxwell(data, shape, dtype):
    return linalg.norm(_normal(data, (*shape, 3), dtype), axis=-1)


_cauchy_jit, _cauchy_sampler = _simple("cauchy", _cauchy)
_laplace_jit, _laplace_sampler = _simple("laplace", _laplace)
_logistic_jit, _logistic_sampler = _simple("logistic", _logistic)
_maxwell_jit, _maxwell_sampler = _simple("maxwell", _maxwell)


def cauchy(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard Cauchy samples, ``tan(pi * (u - 1/2))``, as ``jax.random.cauchy``."""
    return _cauchy_sampler(key, shape=shape, dtype=dtype)


def laplace(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard Laplace samples, as ``jax.random.laplace``."""
    return _laplace_sampler(key, shape=shape, dtype=dtype)


def logistic(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard logistic samples, ``log(u) - log1p(-u)``, as ``jax.random.logistic``."""
    return _logistic_sampler(key, shape=shape, dtype=dtype)


def maxwell(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Maxwell samples (norms of 3-vectors of normals), as ``jax.random.maxwell``."""
    return _maxwell_sampler(key, shape=shape, dtype=dtype)


def _rademacher(data, shape, dtype):
    b = _bernoulli_jit(data, xnp.asarray(0.5), shape=tuple(shape), mode="low").astype(dtype)
    return (2 * b - 1).astype(dtype)


_rademacher_jit = _jit(lambda data, *, shape, dtype: _rademacher(data, shape, dtype),
                       static_argnames=("shape", "dtype"))


def rademacher(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Samples of -1 and +1 with equal probability (integers by default), as
    ``jax.random.rademacher``."""
    data, _ = _unwrap("rademacher", key)
    dtype = canonicalize_dtype(int if dtype is None else dtype)
    return _rademacher_jit(data, shape=_shape(shape), dtype=dtype)


def double_sided_maxwell(key: Any, loc: Any, scale: Any, shape: Sequence[int] = (),
                         dtype: Any = None) -> Any:
    """Double-sided Maxwell samples (a Maxwell draw times a random sign, scaled and shifted),
    as ``jax.random.double_sided_maxwell``."""
    data, _ = _unwrap("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    return _dsm_jit(data, _as_array(loc), _as_array(scale), shape=_shape(shape), dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _dsm_jit(data, loc, scale, *, shape, dtype):
    params_shape = tuple(np.broadcast_shapes(loc.shape, scale.shape))
    shape = (shape or params_shape) + params_shape  # JAX's shape rule, kept as it is
    k_m, k_r = _split(data, 2)
    return _rademacher(k_r, shape, dtype) * _maxwell(k_m, shape, dtype) * scale + loc


def weibull_min(key: Any, scale: Any, concentration: Any, shape: Sequence[int] = (),
                dtype: Any = None) -> Any:
    """Weibull samples (the inverse CDF of a uniform), as ``jax.random.weibull_min``."""
    data, _ = _unwrap("weibull_min", key)
    dtype = _float_dtype("weibull_min", dtype)
    return _weibull_jit(data, _as_array(scale), _as_array(concentration), shape=_shape(shape),
                        dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _weibull_jit(data, scale, concentration, *, shape, dtype):
    u = _unif(data, shape, dtype, 0, 1)
    return xnp.power(-xnp.log1p(-u), 1.0 / concentration) * scale


def pareto(key: Any, b: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Pareto(``b``) samples, ``exp(e / b)`` for an exponential ``e``, as
    ``jax.random.pareto``."""
    data, _ = _unwrap("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    shape = _broadcast_shapes("pareto", shape, b)
    return _pareto_jit(data, _as_array(b), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _pareto_jit(data, b, *, shape, dtype):
    e = lax.neg(lax.log1p(lax.neg(_unif(data, shape, dtype))))
    return lax.exp(e / _cast(b, dtype))


def rayleigh(key: Any, scale: Any, shape: Sequence[int] | None = None, dtype: Any = None):
    """Rayleigh(``scale``) samples, as ``jax.random.rayleigh``."""
    data, _ = _unwrap("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    shape = _broadcast_shapes("rayleigh", shape, scale)
    return _rayleigh_jit(data, _as_array(scale), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _rayleigh_jit(data, scale, *, shape, dtype):
    u = _unif(data, shape, dtype)
    scale = xnp.broadcast_to(scale.astype(dtype), shape)
    return lax.mul(scale, lax.sqrt(lax.mul(lax.log(u), np.array(-2, dtype))))


def wald(key: Any, mean: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Wald (inverse Gaussian) samples with the given ``mean``, as ``jax.random.wald``."""
    data, _ = _unwrap("wald", key)
    dtype = _float_dtype("wald", dtype)
    shape = _broadcast_shapes("wald", shape, mean)
    return _wald_jit(data, _as_array(mean), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _wald_jit(data, mean, *, shape, dtype):
    k1, k2 = _split(data, 2)
    mean = xnp.broadcast_to(mean.astype(dtype), shape)
    v = _normal(k1, shape, dtype)
    z = _unif(k2, shape, dtype)
    y = lax.integer_pow(v, 2)
    y_sq = lax.integer_pow(y, 2)
    mean_sq = lax.integer_pow(mean, 2)
    sqrt_term = lax.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return lax.select(lax.le(z, mean / (mean + x)), x, mean_sq / x)


def triangular(key: Any, left: Any, mode: Any, right: Any,
               shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Triangular(``left``, ``mode``, ``right``) samples, as ``jax.random.triangular``."""
    data, _ = _unwrap("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    shape = _broadcast_shapes("triangular", shape, left, mode, right)
    return _triangular_jit(data, _as_array(left), _as_array(mode), _as_array(right),
                           shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _triangular_jit(data, left, mode, right, *, shape, dtype):
    left, right, mode = (xnp.broadcast_to(_cast(v, dtype), shape) for v in (left, right, mode))
    fc = (mode - left) / (right - left)
    u = _unif(data, shape, dtype)
    out1 = left + lax.sqrt(u * (right - left) * (mode - left))
    out2 = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(u < fc, out1, out2)


_ONE_F32 = np.float32(1)


def lognormal(key: Any, sigma: Any = _ONE_F32, shape: Sequence[int] | None = None,
              dtype: Any = None) -> Any:
    """Log-normal samples, ``exp(sigma * normal)``, as ``jax.random.lognormal``."""
    data, _ = _unwrap("lognormal", key)
    dtype = canonicalize_dtype(float if dtype is None else dtype)
    if not jax.dtypes.issubdtype(dtype, np.inexact):
        raise ValueError(f"dtype argument to `lognormal` must be a float or complex dtype, "
                         f"got {dtype}")
    shape = _broadcast_shapes("lognormal", shape, sigma)
    return _lognormal_jit(data, _as_array(sigma), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _lognormal_jit(data, sigma, *, shape, dtype):
    return lax.exp(_normal(data, shape, dtype) * _cast(sigma, dtype))


def orthogonal(key: Any, n: int, shape: Sequence[int] = (), dtype: Any = None,
               m: int | None = None) -> Any:
    """Samples from the Haar distribution on ``n x m`` matrices with orthonormal columns (or
    rows), as ``jax.random.orthogonal``."""
    data, _ = _unwrap("orthogonal", key)
    dtype = canonicalize_dtype(float if dtype is None else dtype)
    m = n if m is None else m
    return _orthogonal_jit(data, n=int(n), m=int(m), shape=_shape(shape), dtype=dtype)


@partial(_jit, static_argnames=("n", "m", "shape", "dtype"))
def _orthogonal_jit(data, *, n, m, shape, dtype):
    z = _normal(data, (*shape, max(n, m), min(n, m)), dtype)
    q, r = linalg.qr(z)
    d = xnp.diagonal(r, axis1=-2, axis2=-1)
    x = q * xnp.expand_dims(xnp.sign(d), -2)
    return xnp.swapaxes(x, -1, -2) if n < m else x


# -- discrete samplers ----------------------------------------------------------------------------
def geometric(key: Any, p: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Geometric(``p``) samples (trials up to the first success), as
    ``jax.random.geometric``."""
    data, _ = _unwrap("geometric", key)
    dtype = _int_dtype("geometric", dtype)
    shape = _broadcast_shapes("geometric", shape, p)
    return _geometric_jit(data, _inexact(p), shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _geometric_jit(data, p, *, shape, dtype):
    u = _unif(data, shape, p.dtype)
    u = xnp.where(u == 0, 1, u)  # JAX maps u=0 to 1 (no infinite log)
    log_one_minus_p = xnp.broadcast_to(lax.log1p(-p), shape)
    return (lax.floor(lax.div(lax.log(u), log_one_minus_p)) + 1).astype(dtype)


def poisson(key: Any, lam: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Poisson(``lam``) samples (Knuth's method below 10, Hormann's transformed rejection
    above), as ``jax.random.poisson``."""
    data, _ = _unwrap("poisson", key)
    dtype = canonicalize_dtype(int if dtype is None else dtype)
    shape = _pshape(lam) if shape is None else _shape(shape)
    lam = lax.convert_element_type(xnp.broadcast_to(lam, shape), np.float32)
    return _poisson_jit(data, lam, shape=tuple(shape), dtype=dtype)


def _poisson_knuth(data, lam, shape, dtype, max_iters):
    def body(carry):
        i, k, rng, log_prod = carry
        rng, sub = _split(rng, 2)
        k = lax.select(log_prod > -lam, k + 1, k)
        return i + 1, k, rng, log_prod + xnp.log(_unif(sub, shape, np.dtype(np.float32)))

    def cond(carry):
        i, log_prod = carry[0], carry[3]
        return xnp.any(log_prod > -lam) & (i < max_iters)

    init = (xnp.asarray(0), lax.full_like(lam, 0, dtype, shape), data,
            lax.full_like(lam, 0, np.float32, shape))
    k = lax.while_loop(cond, body, init)[1]
    return (k - 1).astype(dtype)


def _poisson_rejection(data, lam, shape, dtype, max_iters):
    log_lam = lax.log(lam)
    b = 0.931 + 2.53 * lax.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def body(carry):
        i, k_out, accepted, rng = carry
        rng, k0, k1 = _split(rng, 3)
        u = _unif(k0, shape, lam.dtype) - 0.5
        v = _unif(k1, shape, lam.dtype)
        u_shifted = 0.5 - abs(u)
        k = lax.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = lax.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t_ = -lam + k * log_lam - lax.lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept = accept1 | (~reject & (s <= t_))
        return i + 1, lax.select(accept, k, k_out), accepted | accept, rng

    def cond(carry):
        i, _, accepted, _ = carry
        return xnp.any(~accepted) & (i < max_iters)

    init = (xnp.asarray(0), lax.full_like(lam, -1, lam.dtype, shape),
            lax.full_like(lam, False, np.dtype(bool), shape), data)
    return lax.while_loop(cond, body, init)[1].astype(dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _poisson_jit(data, lam, *, shape, dtype):
    use_knuth = (lam != lam) | (lam < 10)
    lam_knuth = lax.select(use_knuth, lam, lax.full_like(lam, 0.0))
    lam_rejection = lax.select(use_knuth, lax.full_like(lam, 1e5), lam)
    max_iters = dtype.type(jax.dtypes.iinfo(dtype).max)
    result = lax.select(use_knuth,
                        _poisson_knuth(data, lam_knuth, shape, dtype, max_iters),
                        _poisson_rejection(data, lam_rejection, shape, dtype, max_iters))
    return lax.select(lam == 0, xnp.zeros_like(result), result)


_STIRLING_TAIL = [0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.0104112652619720, 0.00925546218271273,
                  0.00833056343336287]


def _stirling_approx_tail(k):
    table = xnp.array(_STIRLING_TAIL, dtype=k.dtype)
    use_table = k <= 9
    k = lax.clamp(np.array(0.0, k.dtype), k, np.array(9.0, k.dtype))
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return lax.select(use_table, table[xnp.asarray(xnp.floor(k), dtype="int32")], approx)


def _binomial_inversion(data, count, prob, shape, dtype, max_iters):
    log1minusprob = xnp.log1p(-prob)

    def body(carry):
        i, num_geom, geom_sum, rng = carry
        sub, rng = _split(rng, 2)
        num_geom_out = lax.select(geom_sum <= count, num_geom + 1, num_geom)
        geom = xnp.ceil(xnp.log(_unif(sub, shape, prob.dtype)) / log1minusprob)
        return i + 1, num_geom_out, geom_sum + geom, rng

    def cond(carry):
        i, geom_sum = carry[0], carry[2]
        return xnp.any(geom_sum <= count) & (i < max_iters)

    zeros = lax.full_like(prob, 0, prob.dtype, shape)
    k = lax.while_loop(cond, body, (xnp.asarray(0), zeros, zeros, data))[1]
    return (k - 1).astype(dtype)


def _btrs(data, count, prob, shape, dtype, max_iters):
    # transformed rejection (Hormann 1993)
    stddev = xnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = xnp.floor((count + 1) * prob)

    def body(carry):
        i, k_out, accepted, rng = carry
        rng, k0, k1 = _split(rng, 3)
        u = _unif(k0, shape, prob.dtype)
        v = _unif(k1, shape, prob.dtype)
        u = u - 0.5
        us = 0.5 - xnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = xnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = xnp.log(v * alpha / (a / (us * us) + b))
        ub = ((m + 0.5) * xnp.log((m + 1) / (r * (count - m + 1)))
              + (count + 1) * xnp.log((count - m + 1) / (count - k + 1))
              + (k + 0.5) * xnp.log(r * (count - k + 1) / (k + 1))
              + _stirling_approx_tail(m) + _stirling_approx_tail(count - m)
              - _stirling_approx_tail(k) - _stirling_approx_tail(count - k))
        accept = accept1 | (~reject & (v <= ub))
        return i + 1, lax.select(accept, k, k_out), accepted | accept, rng

    def cond(carry):
        i, accepted = carry[0], carry[2]
        return xnp.any(~accepted) & (i < max_iters)

    init = (xnp.asarray(0), lax.full_like(prob, -1, prob.dtype, shape),
            xnp.full(shape, False, bool), data)
    return lax.while_loop(cond, body, init)[1].astype(dtype)


def _binomial(data, count, prob, shape, dtype):
    if shape is None:
        shape = tuple(np.broadcast_shapes(count.shape, prob.shape))
    else:
        _check_shape("binomial", shape, count.shape, prob.shape)
    prob = _inexact(prob)
    count = xnp.broadcast_to(lax.convert_element_type(count, prob.dtype), shape)
    prob = xnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = lax.select(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = (count != count) | (count < 0.0)
    count_inf = xnp.isinf(count)
    q_is_nan = q != q
    q_l_0 = q < 0.0
    q = lax.select(q_is_nan | q_l_0, lax.full_like(q, 0.01), q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = xnp.floor(count)  # as numpy does for a float count
    count_inv = lax.select(use_inversion, count, lax.full_like(count, 0.0))
    count_btrs = lax.select(use_inversion, lax.full_like(count, 1e4), count)
    q_btrs = lax.select(use_inversion, lax.full_like(q, 0.5), q)
    max_iters = dtype.type(jax.dtypes.finfo(dtype).max)
    samples = lax.select(use_inversion,
                         _binomial_inversion(data, count_inv, q, shape, dtype, max_iters),
                         _btrs(data, count_btrs, q_btrs, shape, dtype, max_iters))
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = lax.select(invalid, xnp.full_like(samples, np.nan, dtype), samples)
    samples = lax.select(count_inf & ~invalid, xnp.full_like(samples, np.inf, dtype), samples)
    return lax.select(p_lt_half | count_nan_or_neg | q_is_nan | count_inf, samples,
                      count.astype(dtype) - samples)


_binomial_jit = _jit(lambda data, n, p, *, shape, dtype: _binomial(data, n, p, shape, dtype),
                     static_argnames=("shape", "dtype"))


def binomial(key: Any, n: Any, p: Any, shape: Sequence[int] | None = None,
             dtype: Any = None) -> Any:
    """Binomial(``n``, ``p``) samples (as floats), as ``jax.random.binomial``."""
    data, _ = _unwrap("binomial", key)
    dtype = _float_dtype("binomial", dtype)
    shape = None if shape is None else _shape(shape)
    return _binomial_jit(data, _as_array(n), _as_array(p), shape=shape, dtype=dtype)


def multinomial(key: Any, n: Any, p: Any, *, shape: Sequence[int] | None = None,
                dtype: Any = None, unroll: int | bool = 1) -> Any:
    """Multinomial(``n``, ``p``) counts over ``p``'s last axis (a scan of binomials), as
    ``jax.random.multinomial``."""
    data, _ = _unwrap("multinomial", key)
    n, p = _as_array(n), _as_array(p)
    n, p = _promote_inexact(n, p)
    shape = p.shape if shape is None else _shape(shape)
    n = xnp.broadcast_to(n, shape[:-1])
    p = xnp.moveaxis(xnp.broadcast_to(p, shape), -1, 0)
    remaining = lax.cumsum(p, 0, reverse=True)
    ratios = p / xnp.where(remaining == 0, 1, remaining)
    keys = rb.threefry_split(data, (ratios.shape[0],))

    def step(remainder, ratio_key):
        ratio, k = ratio_key
        count = _binomial_jit(k, remainder, xnp.clip(ratio, 0, 1), shape=None,
                              dtype=np.dtype(remainder.dtype))
        return remainder - count, count

    _, counts = lax.scan(step, n, (ratios, keys), unroll=unroll)
    out = xnp.moveaxis(counts, 0, -1)
    return out if dtype is None else out.astype(dtype)


def _promote_inexact(*xs):
    dtype = xnp.result_type(*xs, 1.0) if not all(
        jax.dtypes.issubdtype(x.dtype, np.inexact) for x in xs) else xnp.result_type(*xs)
    return [x.astype(dtype) for x in xs]
