"""xform.random: jax.random's keys and samplers, bit for bit.

    >>> import xform.random as xr
    >>> k = xr.key(0)
    >>> k1, k2 = xr.split(k)
    >>> xr.normal(k1, (3,)).shape
    (3,)

Keys come in JAX's two forms. ``PRNGKey(seed)`` gives a *raw* key, ``uint32[2]``.
``key(seed)`` gives a *typed* key array: a :class:`KeyArray` of shape ``()`` and dtype
``key<fry>`` (JAX's key dtype), which holds the same ``uint32[..., 2]`` data and is a pytree of
it, so typed keys pass through ``jit``, ``vmap`` (with the key batch axis leading, as
``in_axes=0``/``out_axes=0`` give), ``grad`` and ``scan`` like any array. Every function here
takes either form, and JAX's own typed keys too; functions that return keys return the form
they were given. Inside xform's IR a key is its raw data, so jaxprs show ``u32[2]`` where JAX's
show ``key<fry>[]``. The bits come from the ``threefry2x32`` primitive (see
``xform/lax/random_bits.py``); each sampler is JAX's algorithm over them, so for the same key
the samples equal jax.random's exactly.
"""

import functools as _functools
import inspect as _inspect

from xform.lax.random_bits import random_gamma_p as random_gamma_p
import jax as _jax

from xform.core.trace import Tracer as _Tracer
from xform.lax.sharding import auto_region as _auto_region
from xform.random._keys import (
    KeyArray, PRNGKey, bernoulli, bits, categorical, choice, exponential, fold_in, gamma,
    gumbel, key, key_data, multivariate_normal, normal, permutation, randint, split,
    truncated_normal, uniform, wrap_key_data,
)
from xform.random._samplers import (
    ball, beta, binomial, cauchy, chisquare, clone, dirichlet, double_sided_maxwell, f,
    generalized_normal, geometric, key_dtype, key_impl, laplace, loggamma, logistic, lognormal,
    maxwell, multinomial, orthogonal, pareto, poisson, rademacher, rayleigh, t, triangular, wald,
    weibull_min,
)



def _with_out_sharding(sampler):
    """``sampler`` with JAX's keyword ``out_sharding=``: the samples laid out over Explicit
    mesh axes. As in JAX, the samples are drawn in an ``auto_axes`` region over the Explicit
    axes (its array arguments, the key and the parameters, are the region's operands; shapes
    and dtypes stay static) and laid out as asked."""
    sig = _inspect.signature(sampler)

    @_functools.wraps(sampler)
    def sample(*args, out_sharding=None, **kwargs):
        if out_sharding is None:
            return sampler(*args, **kwargs)
        bound = sig.bind(*args, **kwargs)
        names = [n for n, v in bound.arguments.items()
                 if isinstance(v, (_Tracer, _jax.Array, KeyArray))]

        def draw(*operands):
            bound.arguments.update(zip(names, operands))
            return sampler(*bound.args, **bound.kwargs)
        return _auto_region(draw, out_sharding, sampler.__name__,
                            *(bound.arguments[n] for n in names))

    sample.__signature__ = sig.replace(parameters=[*sig.parameters.values(), _inspect.Parameter(
        "out_sharding", _inspect.Parameter.KEYWORD_ONLY, default=None)])
    return sample


# the samplers jax.random gives an ``out_sharding``
ball, bernoulli, beta, bits, categorical, cauchy, chisquare, dirichlet = map(
    _with_out_sharding, (ball, bernoulli, beta, bits, categorical, cauchy, chisquare, dirichlet))
exponential, f, gamma, generalized_normal, geometric, gumbel, laplace, loggamma = map(
    _with_out_sharding,
    (exponential, f, gamma, generalized_normal, geometric, gumbel, laplace, loggamma))
logistic, lognormal, maxwell, multivariate_normal, normal, orthogonal, pareto = map(
    _with_out_sharding,
    (logistic, lognormal, maxwell, multivariate_normal, normal, orthogonal, pareto))
permutation, poisson, rademacher, randint, rayleigh, t, triangular = map(
    _with_out_sharding, (permutation, poisson, rademacher, randint, rayleigh, t, triangular))
truncated_normal, uniform, wald = map(_with_out_sharding, (truncated_normal, uniform, wald))

__all__ = [
    "KeyArray", "PRNGKey", "ball", "bernoulli", "beta", "binomial", "bits", "categorical",
    "cauchy", "chisquare", "choice", "clone", "dirichlet", "double_sided_maxwell", "exponential",
    "f", "fold_in", "gamma", "generalized_normal", "geometric", "gumbel", "key", "key_data",
    "key_dtype", "key_impl", "laplace", "loggamma", "logistic", "lognormal", "maxwell",
    "multinomial", "multivariate_normal", "normal", "orthogonal", "pareto", "permutation",
    "poisson", "rademacher", "randint", "random_gamma_p", "rayleigh", "split", "t", "triangular",
    "truncated_normal", "uniform", "wald", "weibull_min", "wrap_key_data",
]
