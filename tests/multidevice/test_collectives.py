"""Every collective inside shard_map on 8 CPU devices: values against NumPy, and the same
program under jit, vmap and grad against JAX's shard_map on the same input."""

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import xform
import xform.numpy as xnp

N = 8
MESH = xform.make_mesh((N,), ("i",), axis_types=(AxisType.Auto,))
RNG = np.random.RandomState(0)
X = RNG.randn(N * N, 3).astype(np.float32)   # one block of (8, 3) per device


def blocks(x):
    return x.reshape(N, -1, *x.shape[1:])


# name -> (per-device function given the lax module, out_specs, NumPy reference of the global
# result, linear?) -- the function receives its block of X laid out as P('i')
def _cases():
    B = blocks(X)                                    # B[d] is device d's block
    S = B.sum(0)
    return {
        "psum": (lambda L, b: L.psum(b, "i"), P(), S, True),
        "pmean": (lambda L, b: L.pmean(b, "i"), P(), B.mean(0), True),
        "pmax": (lambda L, b: L.pmax(b, "i"), P(), B.max(0), False),
        "pmin": (lambda L, b: L.pmin(b, "i"), P(), B.min(0), False),
        "psum_tuple_axes": (lambda L, b: L.psum(b * 2, ("i",)), P(), 2 * S, True),
        "all_gather": (lambda L, b: L.all_gather(b, "i"), P(), B, True),
        "all_gather_axis1": (lambda L, b: L.all_gather(b, "i", axis=1), P(),
                             B.transpose(1, 0, 2), True),
        "all_gather_tiled": (lambda L, b: L.all_gather(b, "i", tiled=True), P(), X, True),
        "psum_scatter": (lambda L, b: L.psum_scatter(b, "i"), P("i"), S.reshape(-1), True),
        "psum_scatter_tiled": (lambda L, b: L.psum_scatter(b, "i", tiled=True), P("i"), S,
                               True),
        "ppermute": (lambda L, b: L.ppermute(b, "i", [(d, (d + 1) % N) for d in range(N)]),
                     P("i"), np.roll(B, 1, axis=0).reshape(X.shape), True),
        "ppermute_partial": (lambda L, b: L.ppermute(b, "i", [(0, 3), (5, 1)]), P("i"),
                             np.stack([B[5] if d == 1 else B[0] if d == 3 else 0 * B[0]
                                       for d in range(N)]).reshape(X.shape), True),
        "all_to_all": (lambda L, b: L.all_to_all(b, "i", 0, 0), P("i"),
                       B.transpose(1, 0, 2).reshape(X.shape), True),
        "all_to_all_tiled": (lambda L, b: L.all_to_all(b, "i", 0, 0, tiled=True), P("i"),
                             B.transpose(1, 0, 2).reshape(X.shape), True),
        "axis_index": (lambda L, b: b * 0 + L.axis_index("i").astype(b.dtype), P("i"),
                       np.repeat(np.arange(N, dtype=np.float32), N)[:, None] + 0 * X, False),
        "axis_size": (lambda L, b: b * L.psum(1, "i"), P("i"), X * N, True),
        "pbroadcast": (lambda L, b: L.pbroadcast(b, "i", 3), P(), B[3], True),
        "pcast": (lambda L, b: L.pcast(b, "i", to="varying") * 2.0, P("i"), 2 * X, True),
    }


CASES = _cases()


def smap(lib, name, check_vma=True):
    fn, out_spec, _, _ = CASES[name]
    return lib.shard_map(lambda b: fn(lib.lax, b), mesh=MESH, in_specs=P("i"),
                         out_specs=out_spec, check_vma=check_vma)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shard_map_values_eager_and_jit(name):
    want = CASES[name][2]
    f = smap(xform, name)
    np.testing.assert_allclose(f(X), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(xform.jit(f)(X), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_of_shard_map(name):
    # a batch of 2 inputs, batched at axis 1 of the argument; a loop of NumPy references
    xs = np.stack([X, X[::-1] * 0.5], axis=1)
    f = smap(xform, name)
    got = xform.jit(xform.vmap(f, in_axes=1))(xs)
    want = np.stack([np.asarray(smap(xform, name)(xs[:, k])) for k in range(2)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[0], CASES[name][2], rtol=1e-5, atol=1e-5)


LINEAR = sorted(n for n in CASES if CASES[n][3] and n != "pcast")


def _loss(lib, name, w, check_vma=True):
    f = smap(lib, name, check_vma)
    return lambda x: (f(x * x) * w).sum()


@pytest.mark.parametrize("name", [n for n in LINEAR if n != "pbroadcast"])
def test_grad_of_shard_map_against_jax(name):
    w = RNG.randn(*np.shape(CASES[name][2])).astype(np.float32)
    gx = xform.jit(xform.grad(_loss(xform, name, w)))(X)
    # JAX types all_gather's result as varying, so its check rejects out_specs=P() there;
    # elsewhere JAX's reference is its check_vma=True autodiff (psum transposes to pvary)
    gj = jax.jit(jax.grad(_loss(jax, name, w, not name.startswith("all_gather"))))(X)
    np.testing.assert_allclose(gx, gj, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["pmax", "pmin", "pbroadcast"])
def test_grad_of_shard_map_against_numpy(name):
    # JAX differentiates none of these (and lowers no pbroadcast on CPU): d/dx of
    # sum(w * f(x * x)) by hand -- the winning (or source) device's element gets w * 2x
    w = RNG.randn(*np.shape(CASES[name][2])).astype(np.float32)
    gx = xform.jit(xform.grad(_loss(xform, name, w)))(X)
    B = blocks(X * X)
    if name == "pbroadcast":
        mask = np.arange(N)[:, None, None] == 3
    else:
        pick = B.argmax(0) if name == "pmax" else B.argmin(0)
        mask = np.arange(N)[:, None, None] == pick[None]
    want = (mask * w[None] * 2 * blocks(X)).reshape(X.shape)
    np.testing.assert_allclose(gx, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["psum", "all_gather", "ppermute", "psum_scatter_tiled"])
def test_jvp_of_shard_map_against_jax(name):
    t = RNG.randn(*X.shape).astype(np.float32)
    fx, fj = smap(xform, name), smap(jax, name, name != "all_gather")
    px, tx = xform.jvp(lambda x: fx(xnp.sin(x)), (X,), (t,))
    pj, tj = jax.jvp(lambda x: fj(jax.numpy.sin(x)), (X,), (t,))
    np.testing.assert_allclose(px, pj, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tx, tj, rtol=1e-5, atol=1e-5)


def test_grad_replicated_operand_and_result():
    # a replicated (P()) operand read on every device and a replicated result: the gradient
    # of the global function, as JAX computes it
    w = RNG.randn(3).astype(np.float32)

    def loss(lib):
        def per_device(b, v):
            return lib.lax.psum((b * v).sum(0), "i") * v
        f = lib.shard_map(per_device, mesh=MESH, in_specs=(P("i"), P()), out_specs=P())
        return lambda x, v: (f(x, v) ** 2).sum()

    gx = xform.grad(loss(xform), argnums=(0, 1))(X, w)
    gj = jax.grad(loss(jax), argnums=(0, 1))(X, w)
    for a, b in zip(gx, gj):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_collectives_under_vmap_inside_shard_map():
    # a named vmap inside the body: psum over the vmap's name and over the mesh axis
    def per_device(b):
        inner = xform.vmap(lambda r: xform.lax.psum(r, "v") + xform.lax.psum(r, "i"),
                           axis_name="v")
        return inner(b)

    f = xform.shard_map(per_device, mesh=MESH, in_specs=P("i"), out_specs=P("i"))
    B = blocks(X)
    want = B.sum(1, keepdims=True) + B.sum(0, keepdims=True)
    np.testing.assert_allclose(f(X), want.reshape(X.shape), rtol=1e-5, atol=1e-5)


def test_vmap_axis_name_reaches_into_shard_map_body():
    # vmap(shard_map(f), axis_name='v'): a collective over 'v' inside the body
    xs = np.stack([X, 2 * X, 3 * X])
    f = xform.shard_map(lambda b: b / xform.lax.psum(b, "v"), mesh=MESH, in_specs=P("i"),
                        out_specs=P("i"))
    got = xform.vmap(f, axis_name="v")(xs)
    np.testing.assert_allclose(got, xs / xs.sum(0), rtol=1e-5)


def test_jaxpr_holds_one_shard_map_and_lowers_to_manual_sharding():
    f = smap(xform, "psum")
    text = str(xform.make_jaxpr(f)(X))
    assert text.count("shard_map[") == 1 and "psum[axes=('i',)]" in text
    hlo = xform.jit(f).lower(X).as_text()
    assert "all_reduce" in hlo or "all-reduce" in hlo
