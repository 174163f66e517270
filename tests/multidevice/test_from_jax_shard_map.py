"""``xform.from_jax`` of functions that call ``jax.shard_map`` (8 CPU devices): JAX's
shard_map equation and its collectives map onto xform's, and xform's grad/jit/vmap of the
result print JAX's numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import xform

N = 8
MESH = jax.make_mesh((N,), ("i",), axis_types=(AxisType.Auto,))
MESH2 = jax.make_mesh((4, 2), ("i", "j"), axis_types=(AxisType.Auto,) * 2)
RNG = np.random.RandomState(1)
W = RNG.randn(3, 2).astype(np.float32)
X = RNG.randn(16, 3).astype(np.float32)


def _programs():
    def data_parallel(check_vma):
        # grad inside the body with respect to replicated params, then pmean
        def body(w, xb):
            g = jax.grad(lambda w: (jnp.tanh(xb @ w) ** 2).sum())(w)
            return jax.lax.pmean(g, "i"), jax.lax.psum((xb @ w).sum(), "i")
        sm = jax.shard_map(body, mesh=MESH, in_specs=(P(), P("i")), out_specs=(P(), P()),
                           check_vma=check_vma)
        return lambda w, x: sum(jnp.sum(o * o) for o in sm(w, x))

    def collectives(check_vma):
        def body(w, xb):
            h = xb @ w
            g = jax.lax.all_gather(h, "i", tiled=True)
            r = jax.lax.ppermute(h, "i", [(d, (d + 1) % N) for d in range(N)])
            s = jax.lax.psum_scatter(jnp.tile(h, (N, 1)), "i", tiled=True)
            i = jax.lax.axis_index("i").astype(jnp.float32)
            m = jax.lax.pmax(jax.lax.stop_gradient(h.sum()), "i")  # JAX differentiates no pmax
            return (g.sum(0, keepdims=True) * 0 + r * i + s).sum(0, keepdims=True) + m
        sm = jax.shard_map(body, mesh=MESH, in_specs=(P(), P("i")), out_specs=P("i"),
                           check_vma=check_vma)
        return lambda w, x: jnp.sum(jnp.sin(sm(w, x)))

    def two_axes(check_vma):
        def body(w, xb):
            return jax.lax.psum(jnp.sin(xb @ w), "j").sum(0, keepdims=True)
        sm = jax.shard_map(body, mesh=MESH2, in_specs=(P(None, "j"), P("i")),
                           out_specs=P("i", "j"), check_vma=check_vma)
        return lambda w, x: jnp.sum(sm(w, x) ** 2)

    return {"data_parallel": data_parallel, "collectives": collectives, "two_axes": two_axes}


PROGRAMS = _programs()


def _w(name):
    return RNG.randn(3, 4).astype(np.float32) if name == "two_axes" else W


def _close(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("check_vma", [True, False])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_from_jax_shard_map_value_grad_jit(name, check_vma):
    f = PROGRAMS[name](check_vma)
    xf = xform.from_jax(f)
    w = _w(name)
    _close(xform.jit(xf)(w, X), jax.jit(f)(w, X))
    _close(xform.grad(xf, argnums=(0, 1))(w, X), jax.grad(f, argnums=(0, 1))(w, X))
    _close(xform.jit(xform.grad(xf))(w, X), jax.jit(jax.grad(f))(w, X))


def test_from_jax_shard_map_under_vmap():
    f = PROGRAMS["data_parallel"](True)
    ws = np.stack([W, -W])
    _close(xform.vmap(xform.from_jax(f), in_axes=(0, None))(ws, X),
           jax.vmap(f, in_axes=(0, None))(ws, X))


def test_from_jax_jaxpr_holds_one_shard_map():
    text = str(xform.make_jaxpr(xform.from_jax(PROGRAMS["data_parallel"](True)))(W, X))
    assert text.count("shard_map[") == 1 and "pvary" in text


def _body(v):
    # JAX collectives in a JAX function called inside xform's shard_map body
    return (jax.lax.psum(jnp.sin(v), "i") * jax.lax.axis_index("j")
            + jax.lax.pmean(v, ("i", "j")))


@pytest.mark.parametrize("check_vma", [True, False])
def test_from_jax_collectives_inside_xform_shard_map(check_vma):
    x = np.arange(64, dtype=np.float32).reshape(8, 8) / 9
    spec = dict(mesh=MESH2, in_specs=P("i", "j"), out_specs=P(None, "j"), check_vma=check_vma)
    sx = xform.shard_map(xform.from_jax(_body), **spec)
    sj = jax.shard_map(_body, **spec)
    _close(xform.jit(sx)(x), jax.jit(sj)(x))
    _close(xform.jit(xform.grad(lambda x: xform.numpy.sum(sx(x) ** 2)))(x),
           jax.jit(jax.grad(lambda x: jnp.sum(sj(x) ** 2)))(x))


def test_from_jax_collectives_under_xform_pmap():
    def f(v):
        return jax.lax.pmean(jnp.sin(v), "i") * jax.lax.axis_index("i")

    x = np.arange(16, dtype=np.float32).reshape(8, 2) / 5
    _close(xform.pmap(xform.from_jax(f), axis_name="i")(x), jax.pmap(f, axis_name="i")(x))
