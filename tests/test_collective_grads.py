"""Derivatives of the collectives under vmap, against jax on the same inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import lax

X = np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32)

CASES = {
    "psum": (lambda L, x: L.psum(x, "i") * x, None),
    "pmean": (lambda L, x: L.pmean(x ** 2, "i") + x, None),
    "all_gather": (lambda L, x: L.all_gather(x, "i").sum(axis=0) * x, None),
    "all_gather_tiled": (lambda L, x: L.all_gather(x, "i", tiled=True)[:4] * x, None),
    "ppermute": (lambda L, x: L.ppermute(x, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]) * x, None),
    "psum_scatter": (lambda L, x: L.psum_scatter(x * x, "i"), None),
    "all_to_all": (lambda L, x: L.all_to_all(x[:, None] * x[None, :], "i", 0, 1), None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_of_sum_over_vmapped_collective(name):
    f, _ = CASES[name]

    def loss(mod, vmap, grad, x):
        return grad(lambda x: (vmap(lambda v: f(mod, v), axis_name="i")(x) ** 2).sum())(x)

    got = loss(lax, xform.vmap, xform.grad, X)
    want = loss(jax.lax, jax.vmap, jax.grad, X)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("name", ["psum", "ppermute", "all_gather"])
def test_per_example_grads_through_collective(name):
    # vmap outside grad: the collective is differentiated per example (its jvp and transpose
    # rules run under the vmap that binds the axis)
    f, _ = CASES[name]

    def per_example(mod, vmap, grad, x):
        return vmap(grad(lambda v: (f(mod, v) ** 2).sum()), axis_name="i")(x)

    got = per_example(lax, xform.vmap, xform.grad, X)
    want = per_example(jax.lax, jax.vmap, jax.grad, X)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=2e-5)


# JAX has no derivative for pmax/pmin; the reference is the same computation written as a max
# over the batch axis, whose derivative splits ties evenly
@pytest.mark.parametrize("name, collective, reduce", [("pmax", "pmax", jnp.max),
                                                      ("pmin", "pmin", jnp.min)])
def test_jvp_and_grad_of_pmax_pmin_split_ties(name, collective, reduce):
    x = jnp.array([[1.0, 5.0], [3.0, 0.0], [3.0, 2.0], [2.0, 0.0]])
    t = jnp.array([[1.0, 2.0], [10.0, 3.0], [20.0, 4.0], [5.0, 6.0]])

    def ours(x):
        return xform.vmap(lambda v: getattr(lax, collective)(v, "i") * v, axis_name="i")(x)

    def ref(x):
        return jnp.broadcast_to(reduce(x, axis=0), x.shape) * x

    np.testing.assert_allclose(np.asarray(xform.jvp(ours, (x,), (t,))[1]),
                               np.asarray(jax.jvp(ref, (x,), (t,))[1]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(xform.grad(lambda x: xnp.sum(ours(x) ** 2))(x)),
                               np.asarray(jax.grad(lambda x: jnp.sum(ref(x) ** 2))(x)),
                               rtol=1e-5)
