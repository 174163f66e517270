"""xform.random's remaining samplers (beta ... weibull_min) against jax.random on the same keys:
the same samples, eagerly, under jit and under vmap over keys, and the same derivatives for the
reparameterized ones (gamma, loggamma, beta, dirichlet)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.random as xr

A3 = np.array([0.1, 1.0, 5.0], np.float32)

# name -> sampler(module, key); the same call on xform.random and jax.random
CASES = {
    "beta": lambda m, k: m.beta(k, 0.5, np.array([1.0, 2.0, 3.0]), (2, 3)),
    "loggamma": lambda m, k: m.loggamma(k, A3, (2, 3)),
    "gamma_small_a": lambda m, k: m.gamma(k, A3),
    "dirichlet": lambda m, k: m.dirichlet(k, np.array([0.5, 1.0, 2.0]), (2,)),
    "chisquare": lambda m, k: m.chisquare(k, 3.0, (4,)),
    "f": lambda m, k: m.f(k, 3.0, np.array([[2.0, 5.0]] * 3), (3, 2)),
    "t": lambda m, k: m.t(k, 4.0, (5,)),
    "generalized_normal": lambda m, k: m.generalized_normal(k, 1.5, (4,)),
    "ball": lambda m, k: m.ball(k, 3, 2, (2,)),
    "ball_p1": lambda m, k: m.ball(k, 2, 1.0),
    "cauchy": lambda m, k: m.cauchy(k, (5,)),
    "laplace": lambda m, k: m.laplace(k, (5,)),
    "logistic": lambda m, k: m.logistic(k, (2, 3)),
    "maxwell": lambda m, k: m.maxwell(k, (5,)),
    "rademacher": lambda m, k: m.rademacher(k, (6,)),
    "rademacher_f": lambda m, k: m.rademacher(k, (3,), np.float32),
    "double_sided_maxwell": lambda m, k: m.double_sided_maxwell(k, 1.0, np.array([1.0, 2.0]),
                                                                (3,)),
    "weibull_min": lambda m, k: m.weibull_min(k, 2.0, 1.5, (4,)),
    "pareto": lambda m, k: m.pareto(k, np.array([1.0, 3.0]), (3, 2)),
    "rayleigh": lambda m, k: m.rayleigh(k, 2.0, (4,)),
    "wald": lambda m, k: m.wald(k, np.array([1.0, 3.0]), (3, 2)),
    "triangular": lambda m, k: m.triangular(k, 0.0, 0.3, 1.0, (5,)),
    "lognormal": lambda m, k: m.lognormal(k, 0.5, (4,)),
    "lognormal_default": lambda m, k: m.lognormal(k),
    "orthogonal": lambda m, k: m.orthogonal(k, 3, (2,)),
    "orthogonal_wide": lambda m, k: m.orthogonal(k, 2, (), m=4),
    "geometric": lambda m, k: m.geometric(k, 0.3, (5,)),
    "geometric_array_p": lambda m, k: m.geometric(k, np.array([0.1, 0.9]), (2, 2)),
    "poisson": lambda m, k: m.poisson(k, np.array([0.0, 2.0, 30.0]), (2, 3)),
    "poisson_int32": lambda m, k: m.poisson(k, 4.0, (3,), np.int32),
    "binomial": lambda m, k: m.binomial(k, np.array([5.0, 100.0]), np.array([0.3, 0.7]),
                                        (3, 2)),
    "binomial_edge": lambda m, k: m.binomial(k, np.array([np.inf, -1.0, 4.0, 3.0]),
                                             np.array([0.5, 0.5, np.nan, 0.9])),
    "multinomial": lambda m, k: m.multinomial(k, 10.0, np.array([0.2, 0.3, 0.5])),
    "multinomial_batch": lambda m, k: m.multinomial(k, np.array([5.0, 50.0]),
                                                    np.array([0.6, 0.4]), shape=(2, 2)),
}
# low-precision floats: uniform-based samplers take them as JAX does
LOW = {
    "cauchy": lambda m, k, dt: m.cauchy(k, (4,), dt),
    "laplace": lambda m, k, dt: m.laplace(k, (4,), dt),
    "logistic": lambda m, k, dt: m.logistic(k, (4,), dt),
    "triangular": lambda m, k, dt: m.triangular(k, 0.0, 0.5, 2.0, (4,), dt),
    "rayleigh": lambda m, k, dt: m.rayleigh(k, 1.0, (4,), dt),
}


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


def assert_close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_samples_as_jax(name):
    fn = CASES[name]
    assert_same(fn(xr, xr.key(11)), fn(jax.random, jax.random.key(11)))
    assert_same(fn(xr, xr.PRNGKey(3)), fn(jax.random, jax.random.PRNGKey(3)))


@pytest.mark.parametrize("name", sorted(LOW))
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_low_precision(name, dtype):
    fn = LOW[name]
    assert_same(fn(xr, xr.key(4), dtype), fn(jax.random, jax.random.key(4), dtype))


@pytest.mark.parametrize("name", ["beta", "poisson", "binomial", "orthogonal"])
def test_jit_and_vmap_over_keys(name):
    # the same draws; XLA may fuse the float arithmetic differently, so allow an ulp or so
    fn = CASES[name]
    assert_close(xform.jit(lambda k: fn(xr, k))(xr.key(5)),
                jax.jit(lambda k: fn(jax.random, k))(jax.random.key(5)))
    assert_close(xform.vmap(lambda k: fn(xr, k))(xr.split(xr.key(6), 3)),
                jax.vmap(lambda k: fn(jax.random, k))(jax.random.split(jax.random.key(6), 3)))


def test_grads_of_reparameterized_samplers():
    k, jk = xr.key(1), jax.random.key(1)
    w = np.arange(3.0, dtype=np.float32)
    pairs = [
        (lambda a: xr.loggamma(k, a, (3,)).sum(),
         lambda a: jax.random.loggamma(jk, a, (3,)).sum(), 0.3),
        (lambda a: (xr.dirichlet(k, a) * w).sum(),
         lambda a: (jax.random.dirichlet(jk, a) * w).sum(), np.array([1.0, 2.0, 3.0])),
    ]
    for fx, fj, x in pairs:
        np.testing.assert_allclose(xform.grad(fx)(x), jax.grad(fj)(x), rtol=1e-6)
    gx = xform.grad(lambda a, b: xr.beta(k, a, b, (3,)).sum(), (0, 1))(1.5, 2.0)
    gj = jax.grad(lambda a, b: jax.random.beta(jk, a, b, (3,)).sum(), (0, 1))(1.5, 2.0)
    np.testing.assert_allclose(gx, gj, rtol=1e-6)
    # vmap of the gradient over keys (the log-space rule batched)
    keys, jkeys = xr.split(k, 2), jax.random.split(jk, 2)
    np.testing.assert_allclose(
        xform.vmap(xform.grad(lambda a, kk: xr.loggamma(kk, a)), (None, 0))(0.5, keys),
        jax.vmap(jax.grad(lambda a, kk: jax.random.loggamma(kk, a)), (None, 0))(0.5, jkeys),
        rtol=1e-6)


def test_key_helpers_and_errors():
    assert xr.key_impl(xr.key(0)) == str(jax.random.key_impl(jax.random.key(0)))
    assert xr.key_dtype() == jax.random.key_dtype()
    assert_same(xr.key_data(xr.clone(xr.key(2))), jax.random.key_data(jax.random.key(2)))
    with pytest.raises(ValueError, match="alpha.ndim"):
        xr.dirichlet(xr.key(0), 1.0)
    with pytest.raises(ValueError, match="float dtype"):
        xr.cauchy(xr.key(0), (2,), np.int32)
    with pytest.raises(ValueError, match="int dtype"):
        xr.geometric(xr.key(0), 0.5, (2,), np.float32)
    with pytest.raises(ValueError, match="broadcast"):
        xr.pareto(xr.key(0), np.ones(3), (2,))
    with pytest.raises(TypeError, match="single key"):
        xr.laplace(xr.split(xr.key(0)), (2,))
