"""The autodiff examples of the seed tutorials (shared/seeds), with their printed numbers, or
against JAX on the same inputs where the tutorial prints none (its inputs are random)."""

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp

# MindSpore vmap tutorial: grad nested with vmap, both orders
MS_GRAD_X = np.array([[2.83662200e-01, -1.45500034e-01, 4.42569796e-03],
                      [-1.45500034e-01, 4.42569796e-03, 1.36737213e-01]], np.float32)
MS_GRAD_Y = np.array([[5.67324400e-01, -2.91000068e-01, 8.85139592e-03],
                      [-2.91000068e-01, 8.85139592e-03, 2.73474425e-01]], np.float32)
X_HAT = np.array([[1., 2., 3.], [2., 3., 4.]], np.float32)
Y_HAT = np.array([[2., 3., 4.], [3., 4., 5.]], np.float32)


def forward_fn(x, y):
    out = x + 2 * y
    out = xnp.sin(out)
    return xnp.sum(out)


def test_mindspore_grad_of_vmap():
    # MindSpore's grad of a vector output seeds it with ones: the grad of its sum
    g = xform.grad(lambda x, y: xnp.sum(xform.vmap(forward_fn)(x, y)), argnums=(0, 1))(
        X_HAT, Y_HAT)
    np.testing.assert_allclose(g[0], MS_GRAD_X, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g[1], MS_GRAD_Y, rtol=1e-5, atol=1e-6)


def test_mindspore_vmap_of_grad():
    g = xform.vmap(xform.grad(forward_fn, argnums=(0, 1)))(X_HAT, Y_HAT)
    np.testing.assert_allclose(g[0], MS_GRAD_X, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g[1], MS_GRAD_Y, rtol=1e-5, atol=1e-6)
    g2 = xform.jit(xform.vmap(xform.grad(forward_fn, argnums=(0, 1))))(X_HAT, Y_HAT)
    np.testing.assert_allclose(g2[0], MS_GRAD_X, rtol=1e-5, atol=1e-6)


# torch.vmap tutorial: jacobian rows by vmap over vjp, and per-sample gradients
N = 5
RNG = np.random.RandomState(0)
X = RNG.randn(N).astype(np.float32)


def f(x):
    return x ** 2


def test_torch_jacobian_by_vmap_of_vjp():
    y, vjp_fn = xform.vjp(f, X)
    basis = xnp.eye(N)
    jac_rows = np.stack([vjp_fn(v)[0] for v in basis])  # the sequential approach
    jac_vmap = xform.vmap(lambda v: vjp_fn(v)[0])(basis)
    np.testing.assert_allclose(jac_vmap, jac_rows, rtol=1e-6)
    np.testing.assert_allclose(jac_vmap, np.diag(2 * X), rtol=1e-6)
    np.testing.assert_allclose(xform.jacrev(f)(X), jac_vmap, rtol=1e-6)
    np.testing.assert_allclose(xform.jacfwd(f)(X), jac_vmap, rtol=1e-6)
    np.testing.assert_allclose(xform.hessian(lambda x: xnp.sum(f(x) * x))(X),
                               jax.hessian(lambda x: jnp.sum(x ** 3))(X), rtol=1e-5)


def test_torch_model_and_per_sample_gradients():
    batch_size, feature_size = 3, 5
    weights = RNG.randn(feature_size).astype(np.float32)
    examples = RNG.randn(batch_size, feature_size).astype(np.float32)

    def model(feature_vec):
        return xnp.maximum(xnp.dot(feature_vec, weights), 0.)

    result = xform.vmap(model)(examples)
    expected = np.stack([model(e) for e in examples])
    np.testing.assert_allclose(result, expected, rtol=1e-6)

    def loss(weight, sample, target):
        return (xnp.dot(sample, weight) - target) ** 2

    def jloss(weight, sample, target):
        return (jnp.dot(sample, weight) - target) ** 2

    samples = RNG.randn(64, feature_size).astype(np.float32)
    targets = RNG.randn(64).astype(np.float32)
    got = xform.vmap(xform.grad(loss), in_axes=(None, 0, 0))(weights, samples, targets)
    want = jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0))(weights, samples, targets)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    loop = np.stack([xform.grad(loss)(weights, s, t) for s, t in zip(samples, targets)])
    np.testing.assert_allclose(got, loop, rtol=1e-5, atol=1e-6)
