"""``from_jax`` keeps JAX's layouts on 8 CPU devices: JAX's ``reshard`` replays as xform's
``reshard`` primitive (the sharding type changes, under jit, grad and vmap) and
``with_sharding_constraint`` as xform's ``sharding_constraint``; values and the results'
``.sharding.spec`` are compared with JAX running the same function."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

from explicit_mesh import A, B
from explicit_mesh import same_values_and_layouts as _same
import xform







def _moved(a, b):
    return jnp.sin(jax.sharding.reshard(a * 2, P(None, "x"))) @ jax.sharding.reshard(b, P())


def _tree(a, b):
    return jax.sharding.reshard((a, {"b": b}), (P(None, "y"), {"b": P("x", None)}))


@pytest.mark.parametrize("f", [_moved, _tree], ids=["moved", "tree"])
def test_from_jax_reshard_keeps_the_layout(mesh, f):
    a, b = jax.device_put(A, P("x", "y")), jax.device_put(B, P("y", None))
    want = jax.jit(f)(a, b)
    _same(xform.jit(xform.from_jax(f))(a, b), want)
    _same(xform.from_jax(f)(a, b), want)  # eager: JAX's program itself
    # the xform program carries the destination layout in its types
    jaxpr = str(xform.make_jaxpr(xform.from_jax(f))(a, b))
    assert "reshard" in jaxpr


def test_from_jax_reshard_under_grad_and_vmap(mesh):
    a, b = jax.device_put(A, P("x", "y")), jax.device_put(B, P("y", None))

    def loss(a, b):
        return jnp.sum(_moved(a, b) ** 2)

    _same(xform.jit(xform.grad(xform.from_jax(loss), argnums=(0, 1)))(a, b),
          jax.jit(jax.grad(loss, argnums=(0, 1)))(a, b))
    xs = jax.device_put(np.stack([B, -B, 2 * B]), P(None, "y", None))

    def per(b):
        return jax.sharding.reshard(jnp.cos(b), P(None, "x"))

    _same(xform.jit(xform.vmap(xform.from_jax(per)))(xs), jax.jit(jax.vmap(per))(xs))


def test_from_jax_sharding_constraint_on_auto_mesh():
    mesh = jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto,) * 2)
    s = NamedSharding(mesh, P(None, "x"))
    a = jax.device_put(A, NamedSharding(mesh, P("x", "y")))

    def f(a):
        return jax.lax.with_sharding_constraint(jnp.tanh(a), s) * 3

    want = jax.jit(f)(a)
    got = xform.jit(xform.from_jax(f))(a)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    assert got.sharding.is_equivalent_to(want.sharding, 2), (got.sharding, want.sharding)
    # the constraint is in xform's program, so XLA's partitioner sees it
    assert "sharding_constraint" in str(xform.make_jaxpr(xform.from_jax(f))(a))
    # and it is kept under grad
    gx = xform.jit(xform.grad(lambda a: xform.from_jax(f)(a).sum()))(a)
    gj = jax.jit(jax.grad(lambda a: f(a).sum()))(a)
    np.testing.assert_allclose(np.asarray(gx), np.asarray(gj), rtol=1e-6)
