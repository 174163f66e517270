"""xform.random against jax.random: the same key gives the same bits and samples, bit for bit,
eagerly, under jit and under vmap (batched keys give per-lane streams, unbatched keys the same
sample in every lane)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.random as xr

SEEDS = [0, 1, 42, 2**31 - 1]
SHAPES = [(), (3,), (2, 3)]
FLOATS = [np.float32, jnp.float16, jnp.bfloat16]


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    # compare bit patterns (so NaNs and signed zeros count too)
    assert np.array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8)), (a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_keys(seed):
    assert_same(xr.PRNGKey(seed), jax.random.PRNGKey(seed))
    k, jk = xr.key(seed), jax.random.key(seed)
    assert k.shape == () and k.dtype == jk.dtype and str(k.dtype) == "key<fry>"
    assert_same(xr.key_data(k), jax.random.key_data(jk))
    for num in (2, 3, (2, 2)):
        s = xr.split(k, num)
        assert s.shape == jax.random.split(jk, num).shape
        assert_same(xr.key_data(s), jax.random.key_data(jax.random.split(jk, num)))
        assert_same(xr.split(xr.PRNGKey(seed), num),
                    jax.random.split(jax.random.PRNGKey(seed), num))
    for d in (0, 7, 2**31 - 1):
        assert_same(xr.key_data(xr.fold_in(k, d)), jax.random.key_data(jax.random.fold_in(jk, d)))
    for dt in (np.uint8, np.uint16, np.uint32):
        assert_same(xr.bits(k, (2, 3), dt), jax.random.bits(jk, (2, 3), dt))
    # JAX's own typed keys are accepted too, and wrap/unwrap round-trips
    assert_same(xr.normal(jk, (3,)), jax.random.normal(jk, (3,)))
    assert_same(xr.key_data(xr.wrap_key_data(xr.key_data(k))), xr.key_data(k))


def test_negative_seed_and_errors():
    assert_same(xr.PRNGKey(-7), jax.random.PRNGKey(-7))
    with pytest.raises(TypeError, match="single key"):
        xr.normal(xr.split(xr.key(0)), (2,))
    with pytest.raises(TypeError, match="PRNG key"):
        xr.normal(jnp.zeros(3), (2,))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_float_samplers(seed, shape):
    k, jk = xr.key(seed), jax.random.key(seed)
    for dt in FLOATS:
        assert_same(xr.normal(k, shape, dt), jax.random.normal(jk, shape, dt))
        assert_same(xr.uniform(k, shape, dt), jax.random.uniform(jk, shape, dt))
        assert_same(xr.uniform(k, shape, dt, -2.0, 3.0),
                    jax.random.uniform(jk, shape, dt, -2.0, 3.0))
    assert_same(xr.exponential(k, shape), jax.random.exponential(jk, shape))
    assert_same(xr.gumbel(k, shape), jax.random.gumbel(jk, shape))
    assert_same(xr.gumbel(k, shape, mode="high"), jax.random.gumbel(jk, shape, mode="high"))
    assert_same(xr.truncated_normal(k, -1.0, 2.0, shape),
                jax.random.truncated_normal(jk, -1.0, 2.0, shape))
    assert_same(xr.gamma(k, 1.5, shape), jax.random.gamma(jk, 1.5, shape))
    assert_same(xr.gamma(k, 0.3, shape), jax.random.gamma(jk, 0.3, shape))
    assert_same(xr.normal(k, shape, np.complex64), jax.random.normal(jk, shape, np.complex64))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_discrete_samplers(seed, shape):
    k, jk = xr.key(seed), jax.random.key(seed)
    for dt, lo, hi in ((np.int32, -3, 200), (np.uint8, 0, 256), (np.int8, -128, 5),
                       (np.int32, 5, 5)):
        assert_same(xr.randint(k, shape, lo, hi, dt), jax.random.randint(jk, shape, lo, hi, dt))
    assert_same(xr.bernoulli(k, 0.3, shape), jax.random.bernoulli(jk, 0.3, shape))
    assert_same(xr.bernoulli(k, 0.3, shape, mode="high"),
                jax.random.bernoulli(jk, 0.3, shape, mode="high"))
    logits = jnp.log(jnp.array([0.2, 0.3, 0.5]))
    assert_same(xr.categorical(k, logits, shape=shape),
                jax.random.categorical(jk, logits, shape=shape))


@pytest.mark.parametrize("seed", SEEDS)
def test_permutation_choice_categorical(seed):
    k, jk = xr.key(seed), jax.random.key(seed)
    x = jnp.arange(12.0).reshape(3, 4)
    p = jnp.array([0.1, 0.2, 0.3, 0.4])
    cases = [
        (lambda r, k: r.permutation(k, 10)),
        (lambda r, k: r.permutation(k, x, 1)),
        (lambda r, k: r.permutation(k, x, 1, independent=True)),
        (lambda r, k: r.choice(k, 5, (3,))),
        (lambda r, k: r.choice(k, x, (2,), axis=1)),
        (lambda r, k: r.choice(k, x, (2,), replace=False, axis=1)),
        (lambda r, k: r.choice(k, 4, (5,), p=p)),
        (lambda r, k: r.choice(k, 4, (3,), p=p, replace=False)),
        (lambda r, k: r.categorical(k, jnp.zeros((2, 5)), axis=1, shape=(3, 2))),
        (lambda r, k: r.categorical(k, jnp.zeros((2, 5)), axis=0, shape=(4, 5))),
        (lambda r, k: r.categorical(k, jnp.zeros((2, 5)), axis=1, shape=(3, 2), replace=False)),
    ]
    for case in cases:
        assert_same(case(xr, k), case(jax.random, jk))


def test_multivariate_normal():
    linalg = pytest.importorskip("xform.numpy.linalg")
    if not hasattr(linalg, "cholesky"):
        pytest.skip("xform.numpy.linalg.cholesky not available")
    mean, cov = jnp.array([1.0, -1.0]), jnp.array([[2.0, 0.5], [0.5, 1.0]])
    a = xr.multivariate_normal(xr.key(0), mean, cov, (3,))
    b = jax.random.multivariate_normal(jax.random.key(0), mean, cov, (3,))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 42])
def test_jit_matches(seed):
    k, jk = xr.key(seed), jax.random.key(seed)

    def f(r, key):
        k1, k2 = r.split(key)
        return (r.normal(k1, (2, 3)), r.uniform(k2, (4,), jnp.bfloat16),
                r.randint(r.fold_in(key, 3), (3,), 0, 10), r.gamma(k2, 2.0, (2,)),
                r.truncated_normal(k1, -0.5, 0.5, (3,)), r.permutation(k2, 6))

    outs = xform.jit(lambda key: f(xr, key))(k)
    for a, b in zip(outs, f(jax.random, jk)):
        assert_same(a, b)
    # raw keys through jit too, and a key passed back out of jit
    assert_same(xform.jit(lambda key: xr.normal(key, (3,)))(xr.PRNGKey(seed)),
                jax.random.normal(jax.random.PRNGKey(seed), (3,)))
    ks = xform.jit(lambda key: xr.split(key, 3))(k)
    assert isinstance(ks, xr.KeyArray) and ks.shape == (3,)
    assert_same(xr.key_data(ks), jax.random.key_data(jax.random.split(jk, 3)))


SAMPLERS = {
    "normal": lambda r, k: r.normal(k, (3,)),
    "uniform": lambda r, k: r.uniform(k, (2, 2), minval=-1.0, maxval=2.0),
    "randint": lambda r, k: r.randint(k, (3,), 0, 100),
    "bernoulli": lambda r, k: r.bernoulli(k, 0.5, (3,)),
    "gumbel": lambda r, k: r.gumbel(k, (3,)),
    "exponential": lambda r, k: r.exponential(k, (3,)),
    "truncated_normal": lambda r, k: r.truncated_normal(k, -1.0, 1.0, (3,)),
    "gamma": lambda r, k: r.gamma(k, jnp.array([0.5, 1.0, 3.0])),
    "categorical": lambda r, k: r.categorical(k, jnp.zeros((2, 4))),
    "permutation": lambda r, k: r.permutation(k, 5),
    "choice": lambda r, k: r.choice(k, 5, (2,), replace=False),
    "split": lambda r, k: r.key_data(r.split(k, 3)),
    "fold_in": lambda r, k: r.key_data(r.fold_in(k, 11)),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_vmap_batched_key_matches_loop(name):
    f = SAMPLERS[name]
    keys = xr.split(xr.key(5), 4)
    out = xform.vmap(lambda k: f(xr, k))(keys)
    loop = np.stack([np.asarray(f(xr, keys[i])) for i in range(4)])
    assert_same(out, loop)
    jkeys = jax.random.split(jax.random.key(5), 4)
    assert_same(out, jax.vmap(lambda k: f(jax.random, k))(jkeys))
    # raw keys batched along axis 0 as well
    raw = xr.key_data(keys)
    assert_same(xform.vmap(lambda k: f(xr, k))(raw), loop)


@pytest.mark.parametrize("name", ["normal", "randint", "gamma", "split", "permutation"])
def test_vmap_unbatched_key_same_in_every_lane(name):
    f = SAMPLERS[name]
    k = xr.key(9)
    out = xform.vmap(lambda x: f(xr, k), axis_size=3)(xnp.zeros(3))
    one = np.asarray(f(xr, k))
    assert_same(out, np.stack([one] * 3))


def test_vmap_of_jit_and_batched_params():
    keys = xr.split(xr.key(1), 3)
    lo = jnp.array([-1.0, 0.0, 1.0])
    f = xform.jit(lambda k, m: xr.uniform(k, (2,), minval=m, maxval=m + 1.0))
    out = xform.vmap(f)(keys, lo)
    loop = np.stack([np.asarray(xr.uniform(keys[i], (2,), minval=lo[i], maxval=lo[i] + 1.0))
                     for i in range(3)])
    assert_same(out, loop)
    # a batched key with an unbatched parameter, and the other way round
    out2 = xform.vmap(lambda m: xr.uniform(keys[0], (2,), minval=m, maxval=m + 1.0))(lo)
    assert_same(out2, jax.vmap(lambda m: jax.random.uniform(
        jax.random.split(jax.random.key(1), 3)[0], (2,), minval=m, maxval=m + 1.0))(lo))


def test_grad_through_reparameterized_samplers():
    k, jk = xr.key(3), jax.random.key(3)

    def loss(r, key, mu, sigma):
        return jnp.sum(r.normal(key, (4,)) * sigma + mu) if r is jax.random else \
            xnp.sum(r.normal(key, (4,)) * sigma + mu)

    g = xform.grad(lambda m, s: loss(xr, k, m, s), argnums=(0, 1))(0.5, 2.0)
    jg = jax.grad(lambda m, s: loss(jax.random, jk, m, s), argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose(g, jg, rtol=1e-6)
    # truncated_normal and uniform are differentiable in their bounds, gamma in alpha
    for f in (lambda r, key, a: r.uniform(key, (3,), minval=a, maxval=a + 2.0),
              lambda r, key, a: r.truncated_normal(key, a, a + 1.0, (3,)),
              lambda r, key, a: r.gamma(key, a, (3,))):
        g = xform.grad(lambda a, f=f: xnp.sum(f(xr, k, a)))(1.5)
        jg = jax.grad(lambda a, f=f: jnp.sum(f(jax.random, jk, a)))(1.5)
        np.testing.assert_allclose(g, jg, rtol=1e-5)
    # a key closed over under jvp is a constant (zero tangent)
    _, t = xform.jvp(lambda m: xr.normal(k, (2,)) + m, (1.0,), (1.0,))
    np.testing.assert_allclose(t, np.ones(2))
    # per-example gradients: vmap of grad with batched keys
    keys = xr.split(k, 3)
    pg = xform.vmap(xform.grad(lambda m, key: xnp.sum(xr.normal(key, (2,)) * m)),
                    in_axes=(None, 0))(2.0, keys)
    loop = [xform.grad(lambda m, i=i: xnp.sum(xr.normal(keys[i], (2,)) * m))(2.0)
            for i in range(3)]
    np.testing.assert_allclose(pg, np.stack(loop), rtol=1e-6)


def test_jaxpr_uses_threefry():
    text = str(xform.make_jaxpr(lambda k: xr.normal(k, (3,)))(xr.key(0)))
    assert "threefry2x32" in text and "erf_inv" in text
