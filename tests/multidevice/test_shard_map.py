"""shard_map's front end and its composition with the other transforms (2-D meshes, partial
manual axes, scan, cond, jit, errors), against JAX's shard_map on the same input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

import xform

MESH = xform.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto,) * 2)
RNG = np.random.RandomState(1)
A = RNG.randn(8, 4).astype(np.float32)
W = RNG.randn(4, 6).astype(np.float32)


def matmul(lib):
    """The shard_map notebook's example: rows of a over x, the contraction over y."""
    def per_device(a_blk, w_blk):
        return lib.lax.psum(a_blk @ w_blk, "y")
    return lib.shard_map(per_device, mesh=MESH, in_specs=(P("x", "y"), P("y", None)),
                         out_specs=P("x", None))


def test_two_axis_mesh_against_jax():
    np.testing.assert_allclose(matmul(xform)(A, W), matmul(jax)(A, W), rtol=1e-5)
    np.testing.assert_allclose(matmul(xform)(A, W), A @ W, rtol=1e-5)
    loss = lambda lib: lambda a, w: (lib.numpy.tanh(matmul(lib)(a, w)) ** 2).sum()  # noqa
    gx = xform.jit(xform.grad(loss(xform), argnums=(0, 1)))(A, W)
    gj = jax.grad(loss(jax), argnums=(0, 1))(A, W)
    for a, b in zip(gx, gj):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_result_layout_and_blocks():
    out = xform.jit(matmul(xform))(A, W)
    assert out.sharding.spec == P("x", None) or out.sharding.spec == P("x")
    # each device's block: a sharded output concatenates, a replicated one is one copy
    f = xform.shard_map(lambda b: b * 0 + xform.lax.axis_index("x"), mesh=MESH,
                        in_specs=P("x", "y"), out_specs=P("x", "y"))
    np.testing.assert_array_equal(f(A), np.repeat(np.arange(4.0), 2)[:, None] + 0 * A)


def test_partial_manual_axes():
    # manual over x only; y stays automatic inside the body (XLA partitions it)
    def f(lib):
        return lib.shard_map(lambda b: lib.lax.psum(b.sum(0, keepdims=True), "x"), mesh=MESH,
                             in_specs=P("x"), out_specs=P(), axis_names={"x"})
    np.testing.assert_allclose(xform.jit(f(xform))(A), jax.jit(f(jax))(A), rtol=1e-5)
    np.testing.assert_allclose(xform.jit(f(xform))(A), A.sum(0, keepdims=True), rtol=1e-5)
    assert "manual_axes=('x',)" in str(xform.make_jaxpr(f(xform))(A))


def test_pytrees_none_specs_and_closures():
    scale = np.float32(3.0)
    def per_device(d, k):
        return {"s": xform.lax.psum(d["a"].sum() * k * scale, ("x", "y")), "b": d["b"] + 1}
    f = xform.shard_map(per_device, mesh=MESH, in_specs=({"a": P("x", "y"), "b": P()}, None),
                        out_specs={"s": P(), "b": P()})
    out = f({"a": A, "b": W}, 2.0)
    np.testing.assert_allclose(out["s"], A.sum() * 6, rtol=1e-5)
    np.testing.assert_allclose(out["b"], W + 1)


def test_shard_map_inside_scan_and_cond_with_grad():
    def step(lib):
        f = lib.shard_map(lambda c, xb: lib.lax.psum(lib.numpy.sin(c * xb).sum(0), "x"),
                          mesh=MESH, in_specs=(P(), P("x")), out_specs=P())

        def body(c, xb):
            nxt = lib.lax.cond(c.sum() > 0, lambda v: v * 0.5, lambda v: v + 1.0, f(c, xb))
            return nxt, nxt.sum()

        def loss(c0, xs):
            c, ys = lib.lax.scan(body, c0, xs)
            return (c ** 2).sum() + ys.sum()
        return loss

    c0, xs = A[0], RNG.randn(3, 8, 4).astype(np.float32)
    np.testing.assert_allclose(xform.jit(step(xform))(c0, xs), step(jax)(c0, xs), rtol=1e-5)
    gx = xform.jit(xform.grad(step(xform), argnums=(0, 1)))(c0, xs)
    gj = jax.jit(jax.grad(step(jax), argnums=(0, 1)))(c0, xs)
    for a, b in zip(gx, gj):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_vmap_grad_and_jacfwd_compose():
    f = lambda lib: lib.shard_map(  # noqa: E731
        lambda b, w: lib.lax.pmean(lib.numpy.tanh(b @ w), "x"), mesh=MESH,
        in_specs=(P("x"), P()), out_specs=P())
    per_example = lambda lib: lib.vmap(lib.grad(lambda w, b: f(lib)(b, w).sum()),  # noqa
                                       in_axes=(None, 0))
    bs = RNG.randn(3, 8, 4).astype(np.float32)
    np.testing.assert_allclose(xform.jit(per_example(xform))(W, bs), per_example(jax)(W, bs),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xform.jacfwd(lambda w: f(xform)(A, w).sum(0))(W),
                               jax.jacfwd(lambda w: f(jax)(A, w).sum(0))(W), rtol=1e-4,
                               atol=1e-5)


def test_eager_calls_reuse_the_traced_body():
    calls = []

    def per_device(b):
        calls.append(1)
        return xform.lax.psum(b, "x")
    f = xform.shard_map(per_device, mesh=MESH, in_specs=P("x"), out_specs=P())
    f(A)
    f(A + 1)
    assert len(calls) == 1


def test_mesh_from_context_and_decorator_form():
    with xform.set_mesh(MESH):
        @xform.shard_map(in_specs=P("x", "y"), out_specs=P())
        def total(b):
            return xform.lax.psum(b.sum(), ("x", "y"))
        np.testing.assert_allclose(total(A), A.sum(), rtol=1e-5)


def test_errors():
    psum = lambda b: xform.lax.psum(b, "x")  # noqa: E731
    with pytest.raises(ValueError, match="replicated across mesh axes"):
        xform.shard_map(lambda b: b, mesh=MESH, in_specs=P("x"), out_specs=P())(A)
    # check_vma=False lets it through (each device's copy is taken as the result)
    xform.shard_map(lambda b: b, mesh=MESH, in_specs=P("x"), out_specs=P(), check_vma=False)
    with pytest.raises(ValueError, match="evenly divide"):
        xform.shard_map(psum, mesh=MESH, in_specs=P("x"), out_specs=P())(A[:6])
    with pytest.raises(ValueError, match="too long"):
        xform.shard_map(psum, mesh=MESH, in_specs=P("x", None, None), out_specs=P())(A)
    with pytest.raises(ValueError, match="refers to 'z'"):
        xform.shard_map(psum, mesh=MESH, in_specs=P("z"), out_specs=P())(A)
    with pytest.raises(TypeError, match="in_specs=P()"):
        xform.shard_map(psum, mesh=MESH, in_specs=None, out_specs=P())(A)
    with pytest.raises(NameError, match="unbound axis name: q"):
        xform.shard_map(lambda b: xform.lax.psum(b, "q"), mesh=MESH, in_specs=P("x"),
                        out_specs=P("x"))(A)
    with pytest.raises(ValueError, match="context mesh"):
        xform.shard_map(psum, in_specs=P("x"), out_specs=P())(A)


def test_explicit_mesh_infers_in_specs_from_concrete_arguments():
    mesh = xform.make_mesh((8,), ("i",), axis_types=(AxisType.Explicit,))
    a = jax.device_put(jnp.asarray(A), NamedSharding(mesh, P("i")))
    f = xform.shard_map(lambda b: xform.lax.psum(b, "i"), mesh=mesh, out_specs=P())
    np.testing.assert_allclose(f(a), A.reshape(8, 1, 4).sum(0), rtol=1e-5)
    with pytest.raises(TypeError, match="in_specs"):
        xform.shard_map(lambda b: b, mesh=MESH, out_specs=P())(A)


def test_grad_inside_the_body_is_per_device_as_jax_check_vma_false():
    # Inside a body, xform differentiates each device's program on its own: the gradient of a
    # replicated parameter is the device's own, as JAX's with check_vma=False. (JAX's default,
    # check_vma=True, also all-reduces it: see docs/parallelism.md, "Not done".)
    mesh = xform.make_mesh((4,), ("i",), axis_types=(AxisType.Auto,),
                           devices=xform.devices()[:4])
    x, p = np.arange(8.0, dtype=np.float32), np.float32(2.0)

    def f(lib):
        return lib.shard_map(lambda q, xb: lib.grad(lambda r: (r * lib.numpy.sin(xb)).sum())(q)
                             [None], mesh=mesh, in_specs=(P(), P("i")), out_specs=P("i"),
                             check_vma=False)

    np.testing.assert_allclose(f(xform)(p, x), f(jax)(p, x), rtol=1e-6)
    np.testing.assert_allclose(f(xform)(p, x), np.sin(x).reshape(4, 2).sum(1), rtol=1e-6)


def test_out_specs_none_for_a_none_result():
    # as in JAX: None in out_specs is the spec of an empty result; for an array, a ValueError
    for lib in (xform, jax):
        f = lib.shard_map(lambda b: None, mesh=MESH, in_specs=P(), out_specs=None)
        assert f(A) is None
        g = lib.shard_map(lambda b: b, mesh=MESH, in_specs=P(), out_specs=None)
        with pytest.raises(ValueError):
            g(A)
