"""Sharding types over Explicit mesh axes ("sharding in types"), on 8 CPU devices: xform's avals
carry the arguments' shardings, results get JAX's sharding rules, and ``out_sharding=`` works
eagerly, under jit, grad and vmap. Every check runs the same program under JAX and compares
values and the results' ``.sharding.spec``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

from explicit_mesh import MESH, A, B
from explicit_mesh import same_values_and_layouts as _same
import xform
import xform.numpy as xnp
from xform.core.avals import get_aval





def _put(x, spec):
    return jax.device_put(x, spec)




def test_dot_out_sharding_eager_and_jit(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    for spec in (P("x", None), P(None, "x"), P()):
        _same(xnp.dot(a, b, out_sharding=spec), jnp.dot(a, b, out_sharding=spec))
        fx = xform.jit(lambda a, b, s=spec: xnp.dot(a, b, out_sharding=s))
        fj = jax.jit(lambda a, b, s=spec: jnp.dot(a, b, out_sharding=s))
        _same(fx(a, b), fj(a, b))


def test_matmul_einsum_dot_general_out_sharding(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    _same(xform.jit(lambda a, b: xnp.matmul(a, b, out_sharding=P("x", None)))(a, b),
          jax.jit(lambda a, b: jnp.matmul(a, b, out_sharding=P("x", None)))(a, b))
    # the result transposed from the contraction's order: the spec follows the output's axes
    _same(xform.jit(lambda a, b: xnp.einsum("ij,jk->ki", a, b,
                                            out_sharding=P(None, "x")))(a, b),
          jax.jit(lambda a, b: jnp.einsum("ij,jk->ki", a, b, out_sharding=P(None, "x")))(a, b))
    dn = (((1,), (0,)), ((), ()))
    _same(xform.lax.dot_general(a, b, dn, out_sharding=P(None, "x")),
          jax.lax.dot_general(a, b, dn, out_sharding=P(None, "x")))


def test_ambiguous_contraction_raises_jax_error(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    with pytest.raises(Exception) as ej:
        jax.jit(lambda a, b: jnp.dot(a, b))(a, b)
    with pytest.raises(type(ej.value), match="Contracting dimensions are sharded"):
        xform.jit(lambda a, b: xnp.dot(a, b))(a, b)


def test_typeof_and_jaxpr_show_sharding_types(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    seen = {}

    def f(lib, np_):
        def g(a, b):
            c = np_.dot(a, b, out_sharding=P("x", None))
            seen[lib] = (str(lib.typeof(a)), str(lib.typeof(b)), str(lib.typeof(c)))
            return c
        return g

    jax.jit(f(jax, jnp))(a, b)
    xform.jit(f(xform, xnp))(a, b)
    assert seen[xform] == seen[jax] == ("float32[8@x,16@y]", "float32[16@y,4]",
                                        "float32[8@x,4]")
    jx = xform.make_jaxpr(f(xform, xnp))(a, b)
    jj = jax.make_jaxpr(f(jax, jnp))(a, b)
    assert ([v.aval.str_short() for v in jx.jaxpr.invars + jx.jaxpr.outvars]
            == [v.aval.str_short(short_dtypes=True) for v in jj.jaxpr.invars + jj.jaxpr.outvars])


def test_elementwise_and_reductions_follow_jax(mesh):
    a = _put(A, P("x", "y"))
    r = _put(np.arange(16, dtype=np.float32), P())

    def f(np_):
        return lambda a, r: (np_.sin(a) + r, np_.sum(a * 2, axis=1), np_.mean(a, axis=0),
                             np_.transpose(a))

    _same(xform.jit(f(xnp))(a, r), jax.jit(f(jnp))(a, r))


def _mlp_loss(np_, relu):
    def loss(params, batch):
        x, y = batch
        for w, b in params:
            x = relu(np_.dot(x, w) + b)
        return np_.mean(np_.sum((x - y) ** 2, axis=-1))
    return loss


def _mlp_data():
    rng = np.random.RandomState(0)
    params = [(rng.randn(8, 8).astype(np.float32) / 3, rng.randn(8).astype(np.float32)),
              (rng.randn(8, 4).astype(np.float32) / 3, rng.randn(4).astype(np.float32))]
    batch = (rng.randn(16, 8).astype(np.float32), rng.randn(16, 4).astype(np.float32))
    return params, batch


def test_jit_grad_under_explicit_mesh(mesh):
    params, batch = _mlp_data()
    params, batch = _put(params, P()), _put(batch, P("x"))
    gx = xform.jit(xform.grad(_mlp_loss(xnp, xform.nn.relu)))(params, batch)
    gj = jax.jit(jax.grad(_mlp_loss(jnp, jax.nn.relu)))(params, batch)
    _same(gx, gj)
    # the weights split too: the tangents and cotangents are laid out as their primals
    vg_x = xform.jit(xform.value_and_grad(_mlp_loss(xnp, xform.nn.relu)))
    vg_j = jax.jit(jax.value_and_grad(_mlp_loss(jnp, jax.nn.relu)))
    for specs in ([(P(None, "y"), P("y")), (P(), P())], [(P("y", None), P()), (P(), P())]):
        params2 = _put(_mlp_data()[0], specs)
        _same(vg_x(params2, batch), vg_j(params2, batch))
    # a layout JAX rejects (x split twice over "x"): the same error, when xform traces
    params3 = _put(_mlp_data()[0], [(P(None, "x"), P("x")), (P(), P())])
    with pytest.raises(Exception) as ej:
        vg_j(params3, batch)
    with pytest.raises(type(ej.value), match="illegally sharded"):
        vg_x(params3, batch)


def test_shard_map_infers_in_specs_under_jit(mesh):
    params, batch = _mlp_data()
    params, batch = _put(params, P()), _put(batch, P(("x", "y")))

    def dp(lib, np_, relu):
        @lib.shard_map(out_specs=P())
        def loss(params, local_batch):
            return lib.lax.pmean(_mlp_loss(np_, relu)(params, local_batch), ("x", "y"))
        return loss

    lx, lj = dp(xform, xnp, xform.nn.relu), dp(jax, jnp, jax.nn.relu)
    _same(xform.jit(lx)(params, batch), jax.jit(lj)(params, batch))
    _same(xform.jit(xform.grad(lx))(params, batch), jax.jit(jax.grad(lj))(params, batch))

    # the results of a shard_map are typed by its out_specs
    def blocks(lib):
        return lib.shard_map(lambda x: x * 2, out_specs=P("x", "y"))

    a = _put(A, P("x", "y"))
    _same(xform.jit(lambda a: blocks(xform)(a) + 1)(a), jax.jit(lambda a: blocks(jax)(a) + 1)(a))


def test_vmap_of_explicitly_sharded_input(mesh):
    x = _put(np.arange(8 * 16 * 4, dtype=np.float32).reshape(8, 16, 4) / 100, P("x", "y"))
    w = _put(B.T.copy(), P())

    def f(np_):
        return lambda r: np_.tanh(np_.dot(r, w)) * 2

    _same(xform.jit(xform.vmap(f(xnp)))(x), jax.jit(jax.vmap(f(jnp)))(x))
    _same(xform.vmap(f(xnp))(x), jax.vmap(f(jnp))(x))


def test_vmap_of_dot_with_out_sharding(mesh):
    xs = _put(np.arange(3 * 8 * 16, dtype=np.float32).reshape(3, 8, 16) / 100,
              P(None, "x", "y"))
    b = _put(B, P("y", None))

    def f(np_):
        return lambda a: np_.dot(a, b, out_sharding=P("x", None))

    _same(xform.jit(xform.vmap(f(xnp)))(xs), jax.jit(jax.vmap(f(jnp)))(xs))


def test_jvp_of_dot_with_out_sharding(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    ta = _put(np.ones_like(A), P("x", "y"))

    def f(np_):
        return lambda a: np_.dot(a, b, out_sharding=P("x", None))

    _same(xform.jit(lambda a, t: xform.jvp(f(xnp), (a,), (t,)))(a, ta),
          jax.jit(lambda a, t: jax.jvp(f(jnp), (a,), (t,)))(a, ta))


def test_no_sharding_types_without_explicit_axes():
    auto = jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Auto,) * 2)
    a = jax.device_put(A, jax.sharding.NamedSharding(auto, P("x", "y")))
    seen = []
    xform.jit(lambda a: seen.append(xform.typeof(a)) or a)(a)
    assert str(seen[0]) == "float32[8,16]"
    assert get_aval(a).sharding is None and get_aval(A).sharding is None


def test_reshape_out_sharding_value_grad_vmap(mesh):
    a = _put(A, P("x", "y"))

    def f(np_):
        def g(a):
            r = np_.reshape(a, (4, 2, 16))
            s = np_.reshape(a, (8, 2, 8), out_sharding=P("x", None, "y"))
            return np_.sum(np_.sin(r) ** 2) + np_.sum(s * 3)
        return g

    _same(xform.jit(f(xnp))(a), jax.jit(f(jnp))(a))
    _same(xform.jit(xform.grad(f(xnp)))(a), jax.jit(jax.grad(f(jnp)))(a))
    # vmap over an axis split over "x": requested layouts get "x" at the batch axis, as in JAX
    _same(xform.jit(xform.vmap(lambda r: xnp.reshape(r, (2, 8), out_sharding=P(None, "y"))))(a),
          jax.jit(jax.vmap(lambda r: jnp.reshape(r, (2, 8), out_sharding=P(None, "y"))))(a))
    b = _put(B, P("y", None))
    _same(xform.vmap(lambda r: xnp.dot(r, b, out_sharding=P()))(a),
          jax.vmap(lambda r: jnp.dot(r, b, out_sharding=P()))(a))


def test_vmap_mapped_axes_split_differently_raises(mesh):
    a, c = _put(A, P("x", "y")), _put(A, P(None, "y"))
    with pytest.raises(ValueError, match="should be sharded the same"):
        jax.vmap(lambda u, v: u + v)(a, c)
    with pytest.raises(ValueError, match="should be sharded the same"):
        xform.vmap(lambda u, v: u + v)(a, c)


_IDX = np.array([1, 3, 3, 7])
# (name, f(np, lax) -> loss of an f32[8@x,16@y] array); JAX accepts some of these layouts and
# rejects others (ShardingTypeError, ValueError): xform must do the same, with the same type
OPS = {
    "dynamic_slice": lambda np_, lax: lambda a: np_.sum(lax.dynamic_slice(a, (0, 3), (8, 4)) ** 2),
    "dynamic_update_slice": lambda np_, lax: lambda a: np_.sum(
        lax.dynamic_update_slice(a, a[:, :4] * 2, (0, 5)) ** 2),
    "where": lambda np_, lax: lambda a: np_.sum(np_.where(a > 1, a, 0.0) ** 2),
    "max": lambda np_, lax: lambda a: np_.sum(np_.max(a, axis=1) ** 2),
    "softmax": lambda np_, lax: lambda a: np_.sum(
        np_.exp(a) / np_.sum(np_.exp(a), axis=1, keepdims=True)),
    "concatenate": lambda np_, lax: lambda a: np_.sum(np_.concatenate([a, a * 2], axis=1) ** 2),
    "gram": lambda np_, lax: lambda a: np_.sum(np_.dot(a.T, a, out_sharding=P()) ** 2),
    "slice_uneven": lambda np_, lax: lambda a: np_.sum(a[:, 2:9] ** 2),
    "take_ambiguous": lambda np_, lax: lambda a: np_.sum(np_.take(a, _IDX, axis=1) ** 2),
    "cumsum_split_axis": lambda np_, lax: lambda a: np_.sum(np_.cumsum(a, axis=1) ** 2),
    "scan_split_xs": lambda np_, lax: lambda a: np_.sum(
        lax.scan(lambda c, r: (c + r, c * r), np_.zeros(16), a)[1]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_value_and_grad_agree_with_jax(mesh, name):
    a = _put(A, P("x", "y"))
    fj, fx = OPS[name](jnp, jax.lax), OPS[name](xnp, xform.lax)
    for tj, tx in ((lambda g: g, lambda g: g), (jax.grad, xform.grad)):
        try:
            want = jax.jit(tj(fj))(a)
        except Exception as e:  # noqa: BLE001 -- JAX rejects the layout: so must xform
            with pytest.raises(type(e)):
                xform.jit(tx(fx))(a)
            continue
        _same(xform.jit(tx(fx))(a), want)


def test_eval_shape_of_jit_carries_the_layout(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    got = xform.jit(lambda a, b: xnp.dot(a, b, out_sharding=P("x", None))).eval_shape(a, b)
    want = jax.jit(lambda a, b: jnp.dot(a, b, out_sharding=P("x", None))).eval_shape(a, b)
    assert got.shape == want.shape and got.sharding.spec == want.sharding.spec


def test_shard_map_closing_over_split_value_raises_as_jax(mesh):
    a, c = _put(A, P("x", "y")), _put(A, P("x", None))

    def f(lib, np_):
        def g(a, c):
            d = c * 2
            return lib.shard_map(lambda blk: blk + np_.sum(d), out_specs=P("x", "y"))(a)
        return g

    with pytest.raises(NotImplementedError, match="Closing over inputs to shard_map"):
        jax.jit(f(jax, jnp))(a, c)
    with pytest.raises(NotImplementedError, match="losing over inputs to shard_map"):
        xform.jit(f(xform, xnp))(a, c)


def test_reshard_traced_values_and_scalar_dot(mesh):
    a = _put(A, P("x", "y"))

    def f(lib, np_):
        def g(a):
            r = lib.sharding.reshard(np_.sin(a), P("y", None))
            return np_.sum(r * np_.dot(2.0, a, out_sharding=P(None, "x")))
        return g

    _same(xform.jit(f(xform, xnp))(a), jax.jit(f(jax, jnp))(a))
    _same(xform.jit(xform.grad(f(xform, xnp)))(a), jax.jit(jax.grad(f(jax, jnp)))(a))
    _same(xform.jit(xform.vmap(lambda r: xform.reshard(r, P("y"))))(a),
          jax.jit(jax.vmap(lambda r: jax.reshard(r, P("y"))))(a))
    _same(xform.reshard(a, P(None, "x")), jax.reshard(a, P(None, "x")))


def test_creation_out_sharding_and_like(mesh):
    a = _put(A, P("x", "y"))

    def f(np_):
        return lambda a: (np_.zeros((8, 4), out_sharding=P(None, "x")) + 1,
                          np_.ones_like(a) * a, np_.full((4, 8), 2.0, out_sharding=P("x")),
                          np_.where(a > 1, np_.zeros_like(a), a))

    _same(xform.jit(f(xnp))(a), jax.jit(f(jnp))(a))
    _same(f(xnp)(a), f(jnp)(a))


# -- creation functions, samplers, indexing, einsum chains, partial-manual shard_map --------------
def _same_or_same_error(fx, fj):
    """fx() and fj() agree (values and layouts), or both raise the same exception type."""
    try:
        want = fj()
    except Exception as e:  # noqa: BLE001 -- JAX rejects it: so must xform
        with pytest.raises(type(e)):
            fx()
        return
    _same(fx(), want)


def test_creation_device_and_out_sharding(mesh):
    a = _put(A[:, :4], P("x", "y"))
    d1 = jax.devices()[1]
    rows = jax.sharding.NamedSharding(MESH, P("x"))
    cases = {
        "arange": lambda n: n.arange(8, out_sharding=P("x")),
        "arange_dev": lambda n: n.arange(8.0, device=rows),
        "arange_single": lambda n: n.arange(8, device=d1),
        "linspace": lambda n: n.linspace(0, 1, 8, device=rows),
        "eye": lambda n: n.eye(8, device=jax.sharding.NamedSharding(MESH, P("x", "y"))),
        "zeros_dev": lambda n: n.zeros((8, 4), device=d1),
        "full_dev": lambda n: n.full((8, 4), 2.0, device=rows),
        "zeros_like": lambda n: n.zeros_like(a, out_sharding=P(None, "y")),
        "full_like": lambda n: n.full_like(a, 3.0, out_sharding=P("y")),
        "ones_like_dev": lambda n: n.ones_like(a, device=jax.sharding.NamedSharding(MESH, P("y"))),
        "empty_like_dev": lambda n: n.empty_like(a, device=d1),
        "array": lambda n: n.array(A[:, :4], out_sharding=P("x")),
        "asarray_dev": lambda n: n.asarray(A[:, :4], device=jax.sharding.NamedSharding(
            MESH, P(None, "y"))),
    }
    for name, f in cases.items():
        _same(f(xnp), f(jnp))
        if name.endswith("_single") or name == "zeros_dev" or name == "empty_like_dev":
            continue  # under jit JAX refuses a single device other than the mesh's
        # under jit: JAX ignores a concrete sharding given to full/zeros/*_like, and keeps it
        # for arange/linspace/eye/array
        _same(xform.jit(lambda a, f=f: f(xnp) * 1)(a), jax.jit(lambda a, f=f: f(jnp) * 1)(a))
    with pytest.raises(ValueError, match="Only one of `device` or `out_sharding`"):
        jnp.zeros((8,), device=d1, out_sharding=P("x"))
    with pytest.raises(ValueError, match="Only one of `device` or `out_sharding`"):
        xnp.zeros((8,), device=d1, out_sharding=P("x"))


def test_ravel_broadcast_to_out_sharding(mesh):
    a, r = _put(A, P("x", "y")), _put(np.arange(16, dtype=np.float32), P("y"))
    cases = [lambda n: lambda a, r: n.ravel(a, out_sharding=P(("x", "y"))),
             lambda n: lambda a, r: n.broadcast_to(r, (8, 16), out_sharding=P("x", "y")),
             lambda n: lambda a, r: n.broadcast_to(r, (8, 16), out_sharding=P("x", None))]
    for f in cases:
        _same_or_same_error(lambda f=f: xform.jit(f(xnp))(a, r), lambda f=f: jax.jit(f(jnp))(a, r))
        _same_or_same_error(
            lambda f=f: xform.jit(xform.grad(lambda a, r: xnp.sum(f(xnp)(a, r) ** 2),
                                             (0, 1)))(a, r),
            lambda f=f: jax.jit(jax.grad(lambda a, r: jnp.sum(f(jnp)(a, r) ** 2), (0, 1)))(a, r))


_SAMPLERS = {
    "normal": lambda r: lambda k: r.normal(k, (8, 4), out_sharding=P("x", "y")),
    "uniform": lambda r: lambda k: r.uniform(k, (8, 4), minval=-1.0, out_sharding=P("x")),
    "randint": lambda r: lambda k: r.randint(k, (8, 4), 0, 9, out_sharding=P(None, "y")),
    "bernoulli": lambda r: lambda k: r.bernoulli(k, 0.3, (8,), out_sharding=P("x")),
    "permutation": lambda r: lambda k: r.permutation(k, 8, out_sharding=P("x")),
}


def test_random_samplers_out_sharding(mesh):
    import inspect
    for name in dir(jax.random):  # every sampler JAX gives an out_sharding takes it
        fn = getattr(jax.random, name)
        if callable(fn) and "out_sharding" in str(inspect.signature(fn)):
            assert "out_sharding" in inspect.signature(getattr(xform.random, name)).parameters
    k = jax.random.key(3)
    f = _SAMPLERS["normal"]
    _same(f(xform.random)(k), f(jax.random)(k))
    for f in _SAMPLERS.values():
        _same(xform.jit(f(xform.random))(k), jax.jit(f(jax.random))(k))
    # vmap over split keys: the batch axis takes the keys' layout, as in JAX
    ks = _put(jax.random.split(k, 8), P("x"))
    _same(xform.jit(xform.vmap(lambda k: xform.random.normal(k, (4,), out_sharding=P("y"))))(ks),
          jax.jit(jax.vmap(lambda k: jax.random.normal(k, (4,), out_sharding=P("y"))))(ks))


_IDX3 = np.array([1, 3, 3])
_GETS = {
    "rows": lambda n: lambda a: a.at[n.asarray(_IDX3)].get(out_sharding=P(None, "y")),
    "slice": lambda n: lambda a: a.at[:, 1:9].get(out_sharding=P("x")),  # static: ignored
    "int": lambda n: lambda a: a.at[2].get(out_sharding=P()),
    "ambiguous": lambda n: lambda a: a[n.asarray(_IDX3)],
}


def test_at_get_out_sharding(mesh):
    a = _put(A, P("x", "y"))
    for f in _GETS.values():
        _same_or_same_error(lambda f=f: f(xnp)(a), lambda f=f: f(jnp)(a))
        _same_or_same_error(lambda f=f: xform.jit(f(xnp))(a), lambda f=f: jax.jit(f(jnp))(a))
    g = _GETS["rows"]
    _same(xform.jit(xform.grad(lambda a: xnp.sum(g(xnp)(a) ** 2)))(a),
          jax.jit(jax.grad(lambda a: jnp.sum(g(jnp)(a) ** 2)))(a))
    xs = _put(np.arange(3 * 8 * 16, dtype=np.float32).reshape(3, 8, 16), P(None, "x", "y"))
    _same(xform.jit(xform.vmap(g(xnp)))(xs), jax.jit(jax.vmap(g(jnp)))(xs))


def test_einsum_several_contractions_out_sharding(mesh):
    a, b = _put(A, P("x", "y")), _put(B, P("y", None))
    c = _put(np.arange(24, dtype=np.float32).reshape(4, 6) / 10, P())
    cases = [lambda n: lambda a, b, c: n.einsum("ij,jk,kl->il", a, b, c, out_sharding=P("x")),
             lambda n: lambda a, b, c: n.einsum("ij,jk,kl->li", a, b, c,
                                                out_sharding=P(None, "y")),
             # without out_sharding each contraction is typed: the first one is ambiguous
             lambda n: lambda a, b, c: n.einsum("ij,jk,kl->il", a, b, c)]
    for f in cases:
        _same_or_same_error(lambda f=f: f(xnp)(a, b, c), lambda f=f: f(jnp)(a, b, c))
        _same_or_same_error(lambda f=f: xform.jit(f(xnp))(a, b, c),
                            lambda f=f: jax.jit(f(jnp))(a, b, c))
    f = cases[0]
    _same(xform.jit(xform.grad(lambda *v: xnp.sum(f(xnp)(*v) ** 2), (0, 1, 2)))(a, b, c),
          jax.jit(jax.grad(lambda *v: jnp.sum(f(jnp)(*v) ** 2), (0, 1, 2)))(a, b, c))
    xs = _put(np.arange(3 * 8 * 16, dtype=np.float32).reshape(3, 8, 16) / 100, P(None, "x", "y"))
    _same(xform.jit(xform.vmap(lambda a: f(xnp)(a, b, c)))(xs),
          jax.jit(jax.vmap(lambda a: f(jnp)(a, b, c)))(xs))


def _collectives(compiled_text):
    """The collectives of a compiled program, with their result shapes."""
    ops = ("all-gather", "all-reduce", "reduce-scatter", "all-to-all", "collective-permute")
    return sorted(line.split("=", 1)[1].split("(")[0].strip() for line in
                  compiled_text.splitlines()
                  if any(f" {op}(" in line or f" {op}-start(" in line for op in ops))


def test_auto_region_compiles_to_jax_collectives(mesh):
    # an einsum chain, a gather and a repeat given an out_sharding run in an auto_axes region,
    # as JAX's: the partitioner lays out the insides, no operand is gathered whole first
    a = _put(np.ones((64, 32), np.float32), P("x", "y"))
    b = _put(np.ones((32, 48), np.float32), P("y", None))
    c = _put(np.ones((48, 16), np.float32), P(None, "y"))
    idx = _put(np.arange(16, dtype=np.int32) % 5, P("x"))
    cases = [
        (lambda n: lambda a, b, c, i: n.einsum("ij,jk,kl->il", a, b, c, out_sharding=P("x"))),
        (lambda n: lambda a, b, c, i: a.at[i].get(out_sharding=P("x", "y"))),
        (lambda n: lambda a, b, c, i: n.repeat(a, 3, axis=1, out_sharding=P("x", "y"))),
    ]
    for f in cases:
        fx, fj = xform.jit(f(xnp)), jax.jit(f(jnp))
        want = _collectives(fj.lower(a, b, c, idx).compile().as_text())
        assert _collectives(fx.lower(a, b, c, idx).compile().as_text()) == want
        _same(fx(a, b, c, idx), fj(a, b, c, idx))
    assert "all-gather" in " ".join(_collectives(
        jax.jit(lambda a, b, c: jnp.einsum("ij,jk,kl->il", jax.sharding.reshard(a, P()), b, c,
                                           out_sharding=P("x"))).lower(a, b, c)
        .compile().as_text()))  # (the gather the previous way inserted shows up here)


def test_partial_manual_shard_map_blocks_keep_explicit_layout(mesh):
    a, c = _put(A, P("x", "y")), _put(A, P(None, "y"))
    seen = {}

    def mk(lib, np_, os=None, specs=True):
        def body(blk, cb):
            w = np_.ones((16, 4)) / 16
            s = np_.sin(blk) + np_.sum(cb)
            h = np_.dot(s, w, out_sharding=os) if os is not None else np_.dot(s, w)
            seen[lib] = [str(lib.typeof(v)) for v in (blk, cb, s, np_.sum(s, axis=0), h)]
            return np_.tanh(h)
        kw = dict(in_specs=(P("x"), P())) if specs else {}
        return lib.shard_map(body, mesh=MESH, out_specs=P("x"), axis_names={"x"}, **kw)

    _same(xform.jit(mk(xform, xnp, P()))(a, c), jax.jit(mk(jax, jnp, P()))(a, c))
    assert seen[xform] == seen[jax]
    assert seen[jax][:2] == ["float32[2,16@y]{V:x}", "float32[8,16@y]"]
    for os, specs in ((None, True), (P(), False)):  # an ambiguous contraction; in_specs inferred
        _same_or_same_error(lambda os=os, specs=specs: xform.jit(mk(xform, xnp, os, specs))(a, c),
                            lambda os=os, specs=specs: jax.jit(mk(jax, jnp, os, specs))(a, c))
    lx = lambda a, c: xnp.sum(mk(xform, xnp, P())(a, c) ** 2)  # noqa: E731
    lj = lambda a, c: jnp.sum(mk(jax, jnp, P())(a, c) ** 2)  # noqa: E731
    _same(xform.jit(xform.grad(lx, (0, 1)))(a, c), jax.jit(jax.grad(lj, (0, 1)))(a, c))


def test_repeat_out_sharding(mesh):
    a, c = _put(A, P("x", "y")), _put(A, P("x", None))
    cases = [lambda n: lambda a, c: n.repeat(a, 2, axis=1, out_sharding=P("x")),
             lambda n: lambda a, c: n.repeat(a, 2, axis=1),  # split along the axis: JAX refuses
             lambda n: lambda a, c: n.repeat(c, 2, axis=1),  # the operand's layout is kept
             lambda n: lambda a, c: n.repeat(a, n.arange(16) % 3, axis=1,
                                             total_repeat_length=20, out_sharding=P("y"))]
    for f in cases:
        _same_or_same_error(lambda f=f: xform.jit(f(xnp))(a, c), lambda f=f: jax.jit(f(jnp))(a, c))
    f = cases[0]
    _same(xform.jit(xform.grad(lambda a, c: xnp.sum(f(xnp)(a, c) ** 2)))(a, c),
          jax.jit(jax.grad(lambda a, c: jnp.sum(f(jnp)(a, c) ** 2)))(a, c))


def test_broadcasted_iota_out_sharding(mesh):
    a = _put(A, P("x", "y"))

    def f(lax):
        return lambda a: lax.broadcasted_iota(np.float32, (8, 16), 1, out_sharding=P("x", "y")) * a

    _same(f(xform.lax)(a), f(jax.lax)(a))
    _same(xform.jit(f(xform.lax))(a), jax.jit(f(jax.lax))(a))
    _same(xform.jit(xform.grad(lambda a: xnp.sum(f(xform.lax)(a) ** 2)))(a),
          jax.jit(jax.grad(lambda a: jnp.sum(f(jax.lax)(a) ** 2)))(a))
