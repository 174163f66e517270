"""Meshes, device_put, sharded jit (in/out shardings, donation), with_sharding_constraint and its
rules, on 8 CPU devices."""

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

import xform
import xform.numpy as xnp

MESH = xform.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto,) * 2)
X = np.arange(32, dtype=np.float32).reshape(8, 4) / 7


def test_names_are_jax_sharding():
    assert xform.sharding.Mesh is jax.sharding.Mesh
    assert xform.P is jax.sharding.PartitionSpec and xform.NamedSharding is NamedSharding
    assert xform.sharding.AxisType is AxisType
    mesh = xform.make_mesh((2, 4), ("a", "b"))
    assert dict(mesh.shape) == {"a": 2, "b": 4}
    assert xform.process_index() == 0 and xform.process_count() == 1
    assert xform.device_count() == 8 and len(xform.local_devices()) == 8


def test_device_put_with_sharding_and_bare_spec_under_mesh():
    s = NamedSharding(MESH, P("x", "y"))
    a = xform.device_put(X, s)
    assert a.sharding == s and len(a.addressable_shards) == 8
    np.testing.assert_array_equal(a, X)
    with xform.set_mesh(MESH):
        b = xform.device_put(X, P(None, "y"))
    assert b.sharding.spec == P(None, "y")
    assert {sh.data.shape for sh in b.addressable_shards} == {(8, 2)}


def test_make_array_helpers():
    s = NamedSharding(MESH, P("x"))
    a = xform.make_array_from_callback(X.shape, s, lambda idx: X[idx])
    np.testing.assert_array_equal(a, X)
    assert a.sharding == s
    shards = [jax.device_put(X[i * 2:(i + 1) * 2], d)
              for i, d in enumerate(s.mesh.devices[:, 0])]
    s1 = NamedSharding(xform.make_mesh((4,), ("x",), devices=list(MESH.devices[:, 0])), P("x"))
    b = xform.make_array_from_single_device_arrays(X.shape, s1, shards)
    np.testing.assert_array_equal(b, X)
    c = xform.make_array_from_process_local_data(s, X)  # one process: local data is global
    np.testing.assert_array_equal(c, X)
    assert c.sharding == s


def test_jit_in_and_out_shardings_are_honoured():
    sin, sout = NamedSharding(MESH, P("x", "y")), NamedSharding(MESH, P(None, "x"))
    f = xform.jit(lambda a: xnp.tanh(a) * 2, in_shardings=sin, out_shardings=sout)
    y = f(X)
    assert y.sharding == sout
    np.testing.assert_allclose(y, np.tanh(X) * 2, rtol=1e-6)
    text = f.lower(X).as_text()
    assert '{"x"}, {"y"}' in text and '{}, {"x"}' in text  # both layouts reach StableHLO


def test_jit_shardings_as_pytree_prefixes():
    s = NamedSharding(MESH, P("x"))
    f = xform.jit(lambda d: {"u": d["a"] + 1, "v": d["b"].sum()},
                  in_shardings=({"a": s, "b": None},),
                  out_shardings={"u": NamedSharding(MESH, P("y")), "v": None})
    out = f({"a": X, "b": X})
    assert out["u"].sharding.spec == P("y")
    np.testing.assert_allclose(out["v"], X.sum(), rtol=1e-5)


def test_jit_shardings_key_the_cache():
    g = lambda a: a * 3  # noqa: E731
    one = xform.jit(g, out_shardings=NamedSharding(MESH, P("x")))(X)
    two = xform.jit(g, out_shardings=NamedSharding(MESH, P("y")))(X)
    assert one.sharding.spec == P("x") and two.sharding.spec == P("y")


def test_donate_argnums_and_argnames():
    s = NamedSharding(MESH, P("x"))
    f = xform.jit(lambda a, b: a * b, donate_argnums=0)
    a = xform.device_put(X, s)
    out = f(a, X)
    assert a.is_deleted()
    np.testing.assert_allclose(out, X * X)
    assert "jax.buffer_donor = true" in f.lower(xform.device_put(X, s), X).as_text() or \
        "tf.aliasing_output" in f.lower(xform.device_put(X, s), X).as_text()
    g = xform.jit(lambda a, b: a + b, donate_argnames="b")
    b = xform.device_put(X, s)
    g(X, b)
    assert b.is_deleted()


def test_sharded_jit_under_vmap_and_grad_keeps_the_shardings():
    s = NamedSharding(MESH, P("x"))
    f = xform.jit(lambda a: xnp.sin(a), in_shardings=s, out_shardings=s)
    xs = np.stack([X, 2 * X])
    out = xform.jit(xform.vmap(f))(xs)
    np.testing.assert_allclose(out, np.sin(xs), rtol=1e-6)
    jaxpr = str(xform.make_jaxpr(xform.vmap(f))(xs))
    assert "spec=P(None, 'x')" in jaxpr  # the batch axis is unsharded
    g = xform.grad(lambda a: f(a).sum())(X)
    np.testing.assert_allclose(g, np.cos(X), rtol=1e-6)


def test_with_sharding_constraint_eager_jit_and_errors():
    wsc = xform.lax.with_sharding_constraint
    s = NamedSharding(MESH, P("y", "x"))
    assert wsc(X, s).sharding == s
    out = xform.jit(lambda a: wsc(a * 2, s) + 1)(X)
    np.testing.assert_allclose(out, X * 2 + 1)
    assert '{"y"}, {"x"}' in xform.jit(lambda a: wsc(a * 2, s)).lower(X).as_text()
    with xform.set_mesh(MESH):
        assert xform.jit(lambda a: wsc(a, P("x")))(X).sharding.spec == P("x")
    with pytest.raises(RuntimeError, match="non-empty mesh in context"):
        wsc(X, P("x"))
    with pytest.raises(ValueError, match="rank at least 3"):
        xform.jit(lambda a: wsc(a, NamedSharding(MESH, P("x", "y", None))))(X)


def test_with_sharding_constraint_rules_against_jax():
    s = NamedSharding(MESH, P("x"))

    def f(lib):
        return lambda a: (lib.lax.with_sharding_constraint(lib.numpy.sin(a), s) ** 2).sum()

    np.testing.assert_allclose(xform.grad(f(xform))(X), jax.grad(f(jax))(X), rtol=1e-6)
    t = np.ones_like(X)
    px, tx = xform.jvp(f(xform), (X,), (t,))
    pj, tj = jax.jvp(f(jax), (X,), (t,))
    np.testing.assert_allclose(px, pj, rtol=1e-6)
    np.testing.assert_allclose(tx, tj, rtol=1e-5)
    # the constraint is kept on the tangent and on the cotangent
    assert str(xform.make_jaxpr(lambda a, u: xform.jvp(f(xform), (a,), (u,)))(X, t)).count(
        "sharding_constraint") == 2
    assert str(xform.make_jaxpr(xform.grad(f(xform)))(X)).count("sharding_constraint") == 2
    # batching inserts an unsharded batch axis wherever the batch axis is
    s2 = NamedSharding(MESH, P("x", "y"))
    for axis, spec in [(0, P(None, "x", "y")), (1, P("x", None, "y")), (2, P("x", "y"))]:
        xs = np.stack([X, X], axis=axis)
        vm = xform.vmap(lambda a: xform.lax.with_sharding_constraint(a, s2), in_axes=axis,
                        out_axes=axis)
        assert f"spec={spec}" in str(xform.make_jaxpr(vm)(xs))
        out = xform.jit(vm)(xs)
        np.testing.assert_array_equal(out, xs)
        assert out.sharding.spec == spec


def test_device_put_under_transforms():
    s = NamedSharding(MESH, P("x"))
    f = xform.jit(lambda a: xform.device_put(a * 2, s))
    assert "sharding_constraint" in str(xform.make_jaxpr(f)(X))
    np.testing.assert_allclose(xform.grad(lambda a: f(a).sum())(X), 2 * np.ones_like(X))
    dev = xform.devices()[3]
    np.testing.assert_allclose(xform.jit(lambda a: xform.device_put(a, dev) + 1)(X), X + 1)


def test_visualize_array_sharding_draws_jaxs_table(capsys):
    from xform import _sharding_debug as debug  # exposed as xform.debug.* by the lead
    a = xform.device_put(X, NamedSharding(MESH, P("x", "y")))
    debug.visualize_array_sharding(a, use_color=False)
    ours = capsys.readouterr().out
    jax.debug.visualize_array_sharding(a, use_color=False)
    assert ours == capsys.readouterr().out and "CPU 7" in ours
    seen = []
    debug.inspect_array_sharding({"a": a}, callback=seen.append)
    assert seen == [a.sharding]
    with pytest.raises(TypeError, match="concrete array"):
        xform.jit(lambda v: debug.visualize_array_sharding(v) or v)(X)
