"""pmap on 8 CPU devices against jax.pmap, and a data-parallel training step against the
single-device step."""

import jax
import numpy as np
import pytest

import xform


RNG = np.random.RandomState(2)


@pytest.mark.parametrize("case", ["collective", "in_axes_none", "static", "axis1",
                                  "out_axes_none", "pytree_kwargs", "fewer_devices"])
def test_pmap_against_jax(case):
    def run(lib):
        L = lib.lax
        if case == "collective":
            return lib.pmap(lambda v: v / L.psum(v, "i"), axis_name="i")(np.arange(8.0))
        if case == "in_axes_none":
            return lib.pmap(lambda a, b: (a + b, b * 2.0), in_axes=(0, None))(
                np.arange(2.0), 4.0)
        if case == "static":
            return lib.pmap(lambda a, k, b: a * k + b, static_broadcasted_argnums=1)(
                np.arange(4.0), 3, np.ones(4))
        if case == "axis1":
            return lib.pmap(lambda a: L.all_gather(a.sum(), "j"), axis_name="j", in_axes=1,
                            out_axes=0)(np.arange(12.0).reshape(3, 4))
        if case == "out_axes_none":
            return lib.pmap(lambda a: L.pmax(a, "i"), axis_name="i", out_axes=None)(
                np.arange(8.0) % 5)
        if case == "pytree_kwargs":
            return lib.pmap(lambda d, *, s: {"u": d["a"] * s, "v": d["b"].sum()})(
                {"a": np.ones((8, 2)), "b": np.ones((8, 3))}, s=np.arange(8.0)[:, None])
        if case == "fewer_devices":
            return lib.pmap(lambda v: L.ppermute(v, "i", [(0, 1), (1, 2), (2, 0)]),
                            axis_name="i")(np.arange(3.0))

    got, want = run(xform), run(jax)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), got,
                           want)
    for leaf in jax.tree_util.tree_leaves(got):
        assert isinstance(leaf, jax.Array)


def test_pmap_result_lives_on_the_devices():
    out = xform.pmap(lambda v: v * 2)(np.arange(8.0))
    assert len(out.addressable_shards) == 8
    assert {s.device for s in out.addressable_shards} == set(xform.devices())


def test_pmap_errors():
    with pytest.raises(ValueError, match="requires 9 logical devices"):
        xform.pmap(lambda v: v)(np.arange(9.0))
    with pytest.raises(ValueError, match="inconsistent sizes"):
        xform.pmap(lambda a, b: a + b)(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="static_broadcasted_argnums"):
        xform.pmap(lambda a, k: a, static_broadcasted_argnums=1)(np.ones(2))
    with pytest.raises(TypeError, match="in_axes"):
        xform.pmap(lambda a: a, in_axes=0.5)


def test_pmap_donate():
    a = xform.pmap(lambda v: v + 1)(np.zeros(8))
    b = xform.pmap(lambda v: v * 2, donate_argnums=0)(a)
    assert a.is_deleted()
    np.testing.assert_allclose(b, 2 * np.ones(8))


def _loss(lib, params, x, y):
    h = lib.numpy.tanh(x @ params["w1"] + params["b1"])
    return ((h @ params["w2"] - y) ** 2).mean()


def _params():
    return {"w1": RNG.randn(5, 16).astype(np.float32) * 0.3,
            "b1": np.zeros(16, np.float32),
            "w2": RNG.randn(16, 2).astype(np.float32) * 0.3}


def test_pmap_training_step_equals_single_device_step():
    params = _params()
    x = RNG.randn(64, 5).astype(np.float32)
    y = RNG.randn(64, 2).astype(np.float32)

    def step(p, xb, yb):
        g = xform.grad(lambda q: _loss(xform, q, xb, yb))(p)
        g = xform.lax.pmean(g, "batch")
        return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)

    pstep = xform.pmap(step, axis_name="batch", in_axes=(None, 0, 0))
    new = pstep(params, x.reshape(8, 8, 5), y.reshape(8, 8, 2))
    # the single-device step on the whole batch, computed by JAX
    g = jax.grad(lambda q: _loss(jax, q, x, y))(params)
    want = jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, params, g)
    for k in params:
        assert new[k].shape == (8,) + params[k].shape
        for d in range(8):  # every device holds the same updated parameters
            np.testing.assert_allclose(new[k][d], want[k], rtol=1e-5, atol=1e-6)


def test_grad_and_vmap_of_pmap():
    w = RNG.randn(3).astype(np.float32)
    xs = RNG.randn(8, 3).astype(np.float32)

    def f(lib):
        return lambda v: lib.pmap(lambda r: lib.lax.psum(lib.numpy.sin(r * v), "i"),
                                  axis_name="i")(xs).sum()

    np.testing.assert_allclose(xform.grad(f(xform))(w), jax.grad(f(jax))(w), rtol=1e-5)
    batch = RNG.randn(2, 8, 3).astype(np.float32)
    got = xform.vmap(xform.pmap(lambda r: r - xform.lax.pmean(r, "i"), axis_name="i"))(batch)
    np.testing.assert_allclose(got, batch - batch.mean(1, keepdims=True), rtol=1e-5,
                               atol=1e-6)

