"""The rest of JAX's top-level names (and of custom_derivatives, ad_checkpoint, debug, stax),
each against JAX on the same inputs."""

import contextlib
import functools
import io
import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.example_libraries import stax as jax_stax

import xform
import xform.numpy as xnp
from xform.example_libraries import stax as xform_stax


def _close(a, b, tol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)
        assert np.asarray(x).dtype == np.asarray(y).dtype


# -- fwd_and_bwd -------------------------------------------------------------------------------
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
@pytest.mark.parametrize("jitted", [True, False])
def test_fwd_and_bwd_matches_jax(argnums, jitted):
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    w = np.linspace(0.5, -0.5, 12, dtype=np.float32).reshape(3, 4)
    ct = np.ones((2, 4), np.float32)
    out = {}
    for name, mod, m in [("jax", jax, jnp), ("xform", xform, xnp)]:
        def f(x, w, m=m):
            return m.tanh(x @ w)
        fwd, bwd = mod.fwd_and_bwd(f, argnums=argnums, jitted=jitted)
        y, res = fwd(x, w)
        out[name] = (y, bwd(res, ct))
    _close(out["jax"], out["xform"])


def test_fwd_and_bwd_jitted_backward_keeps_one_function():
    # a compiled fwd returns residuals carrying the same backward function each call, so the
    # jit-ted bwd finds its cache entry (the point of fwd_and_bwd)
    fwd, _ = xform.fwd_and_bwd(lambda x, w: xnp.sin(x * w), argnums=1)
    x, w = xnp.ones(3), xnp.full(3, 0.5)
    trees = {jax.tree.structure(fwd(x, w)[1]) for _ in range(3)}
    assert len(trees) == 1


def test_fwd_and_bwd_has_aux():
    for mod, m in [(jax, jnp), (xform, xnp)]:
        fwd, bwd = mod.fwd_and_bwd(lambda x, m=m: (m.sum(x ** 2), x * 3), argnums=0,
                                   has_aux=True)
        y, res, aux = fwd(np.arange(3.0, dtype=np.float32))
        assert float(y) == 5.0 and np.allclose(aux, [0, 3, 6])
        np.testing.assert_allclose(bwd(res, np.float32(1.0)), [0, 2, 4])


# -- config context managers -------------------------------------------------------------------
def test_enable_x64_context():
    with xform.enable_x64(True):
        x = xnp.arange(3.0)
        y = xform.jit(lambda v: v * 2)(x)
        g = xform.grad(lambda v: xnp.sum(v ** 2))(x)
        with jax.enable_x64(True):
            want = jax.grad(lambda v: jnp.sum(v ** 2))(jnp.arange(3.0))
    assert x.dtype == y.dtype == g.dtype == want.dtype == np.float64
    assert xnp.arange(3.0).dtype == np.float32  # restored


@pytest.mark.parametrize("run", ["eager", "jit", "vmap_of_jit"])
def test_numpy_dtype_promotion_strict(run):
    def f(a, b):
        return a + b

    a, b = np.ones(2, np.int32), np.ones(2, np.float32)
    with jax.numpy_dtype_promotion("strict"), pytest.raises(Exception) as want:
        f(jnp.asarray(a), jnp.asarray(b))
    call = {"eager": f, "jit": xform.jit(f),
            "vmap_of_jit": lambda a, b: xform.vmap(xform.jit(f))(a[None], b[None])}[run]
    call(xnp.asarray(a), xnp.asarray(b))  # standard promotion first: warms every cache
    with xform.numpy_dtype_promotion("strict"), pytest.raises(want.type):
        call(xnp.asarray(a), xnp.asarray(b))
    assert call(xnp.asarray(a), xnp.asarray(b)).dtype == np.float32  # standard again


def test_no_tracing_names_the_function():
    f = xform.jit(lambda x: x * 2)
    g = xform.jit(lambda x: x * 3)
    x = xnp.ones(3)
    f(x)
    with xform.no_tracing(True):
        f(x)  # cached: no trace
        with pytest.raises(RuntimeError, match="re-tracing function <lambda> at .*no_tracing"):
            g(x)
        with pytest.raises(RuntimeError, match="re-tracing function <lambda> at .*no_tracing"):
            xform.grad(lambda v: xnp.sum(g(v)))(x)


def test_no_execution():
    x = xnp.ones(3)
    with xform.no_execution(True):
        with pytest.raises(RuntimeError, match="no_execution"):
            x + 1
        with pytest.raises(RuntimeError, match="no_execution"):
            xform.jit(lambda v: v - 1)(x)


def test_default_device_and_device_types():
    dev = xform.devices()[0]
    assert isinstance(dev, xform.Device)
    with xform.default_device(dev):
        y = xform.jit(lambda v: v + 1)(np.ones(2, np.float32))
    assert y.devices() == {dev}
    shard = y.addressable_shards[0]
    assert isinstance(shard, xform.Shard) and shard.device == dev


def test_copy_to_host_async_and_transfer_guard():
    x = {"a": xnp.arange(3.0)}
    assert xform.copy_to_host_async(x) is x
    np.testing.assert_array_equal(np.asarray(x["a"]), [0, 1, 2])
    f = xform.jit(lambda v: v + 1)
    f(np.ones(2))
    with xform.transfer_guard("disallow"):  # numpy into a compiled call: an implicit transfer
        with pytest.raises(Exception, match="Disallowed host-to-device"):
            f(np.ones(2))
    assert xform.transfer_guard_host_to_device is jax.transfer_guard_host_to_device


def test_dlpack_typing_profiler():
    y = xform.dlpack.from_dlpack(np.arange(4.0, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(xform.jit(lambda v: v * 2)(y)), [0, 2, 4, 6])
    assert xform.dlpack.is_supported_dtype(np.float32)
    assert xform.typing.ArrayLike is jax.typing.ArrayLike
    with xform.profiler.TraceAnnotation("xform-step"):
        xform.jit(lambda v: v + 1)(y)


def test_explain_cache_misses_is_jax_flag():
    with xform.explain_cache_misses(True):
        assert jax.config.jax_explain_cache_misses
    assert not jax.config.jax_explain_cache_misses


# -- stax transposed convolutions ---------------------------------------------------------------
@pytest.mark.parametrize("layer,shape,filt,kw", [
    ("ConvTranspose", (2, 5, 6, 3), (3, 3), dict(strides=(2, 2), padding="SAME")),
    ("ConvTranspose", (2, 5, 6, 3), (3, 2), dict(strides=(2, 1), padding="VALID")),
    ("Conv1DTranspose", (2, 7, 3), (4,), dict(strides=(3,), padding=((1, 2),))),
])
def test_stax_conv_transpose_matches_jax(layer, shape, filt, kw):
    j_init, j_apply = getattr(jax_stax, layer)(4, filt, **kw)
    x_init, x_apply = getattr(xform_stax, layer)(4, filt, **kw)
    j_shape, params = j_init(jax.random.PRNGKey(0), shape)
    x_shape, x_params = x_init(xform.random.PRNGKey(0), shape)
    assert tuple(int(d) for d in j_shape) == x_shape
    _close(params, x_params)
    inputs = np.random.RandomState(0).randn(*shape).astype(np.float32)
    _close(j_apply(params, inputs), x_apply(params, inputs), 1e-5)
    j_grad = jax.grad(lambda p: jnp.sum(j_apply(p, inputs) ** 2))(params)
    x_grad = xform.grad(lambda p: xnp.sum(x_apply(p, inputs) ** 2))(params)
    _close(j_grad, x_grad, 1e-4)


def test_stax_general_conv_transpose_layouts():
    spec = ("NCHW", "OIHW", "NCHW")
    j_init, j_apply = jax_stax.GeneralConvTranspose(spec, 2, (2, 3), strides=(2, 2))
    x_init, x_apply = xform_stax.GeneralConvTranspose(spec, 2, (2, 3), strides=(2, 2))
    j_shape, params = j_init(jax.random.PRNGKey(1), (1, 3, 4, 5))
    x_shape, _ = x_init(xform.random.PRNGKey(1), (1, 3, 4, 5))
    assert tuple(int(d) for d in j_shape) == x_shape
    inputs = np.random.RandomState(1).randn(1, 3, 4, 5).astype(np.float32)
    _close(j_apply(params, inputs), x_apply(params, inputs), 1e-5)


# -- remat policy answers --------------------------------------------------------------------
def _printed_residuals(lib, f, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lib.ad_checkpoint.print_saved_residuals(f, *args)
    return out.getvalue().splitlines()


def _residuals(lib, policy):
    m = jnp if lib is jax else xnp

    def f(x):
        a = lib.ad_checkpoint.checkpoint_name(m.sin(x), "a")
        b = lib.ad_checkpoint.checkpoint_name(m.cos(a), "b")
        c = lib.ad_checkpoint.checkpoint_name(m.sin(b) @ m.ones((3, 3)), "c")
        return m.sum(m.tanh(c))
    lines = _printed_residuals(lib, lib.checkpoint(f, policy=policy), m.ones(3))
    return [line.split(" from ")[0] for line in lines]


@pytest.mark.parametrize("make", [
    lambda cp, ac: (lambda p, *_, **k: ac.Saveable if p.name == "name" else ac.Recompute),
    lambda cp, ac: (lambda p, *_, **k: ac.Recompute if p.name == "name" else False),
    # xform's save_anything_except_these_names does what its name says (JAX's, a TODO there,
    # saves everything): the reference is that policy written out for JAX
    lambda cp, ac: cp.save_anything_except_these_names("b") if cp is not
    jax.checkpoint_policies else (lambda p, *_, **k: not (p.name == "name" and k["name"] == "b")),
])
def test_policy_answers_match_jax(make):
    want = _residuals(jax, make(jax.checkpoint_policies, jax.ad_checkpoint))
    got = _residuals(xform, make(xform.checkpoint_policies, xform.ad_checkpoint))
    assert got == want


def test_offloading_policies_save_in_xform():
    # JAX moves an offloaded residual to host memory; xform keeps it where it is, which is
    # JAX's answer for the policy that saves those values instead
    cp = xform.checkpoint_policies
    got = _residuals(xform, cp.save_and_offload_only_these_names(
        names_which_can_be_saved=["a"], names_which_can_be_offloaded=["c"],
        offload_src="device", offload_dst="pinned_host"))
    assert got == _residuals(jax, jax.checkpoint_policies.save_only_these_names("a", "c"))
    got = _residuals(xform, cp.offload_dot_with_no_batch_dims("device", "pinned_host"))
    assert got == _residuals(jax, jax.checkpoint_policies.dots_with_no_batch_dims_saveable)
    with pytest.raises(ValueError, match="should not intersect"):
        cp.save_and_offload_only_these_names(names_which_can_be_saved=["a"],
                                             names_which_can_be_offloaded=["a"],
                                             offload_src="device", offload_dst="pinned_host")


def test_save_from_both_policies_takes_booleans_only():
    for lib in (jax, xform):
        cp = lib.checkpoint_policies
        policy = cp.save_from_both_policies(lambda *a, lib=lib, **k: lib.ad_checkpoint.Recompute,
                                            cp.save_only_these_names("b"))
        with pytest.raises(ValueError, match="should be a boolean"):
            _residuals(lib, policy)


def test_policy_bad_answer_is_a_type_error():
    with pytest.raises(TypeError, match="remat policy"):
        xform.grad(xform.checkpoint(lambda x: xnp.sin(xnp.sin(x)), policy=lambda *a, **k: 3))(
            1.0)


# -- debug.log ----------------------------------------------------------------------------------
def test_debug_log_matches_jax(caplog):
    def run(lib, m):
        @lib.jit
        def f(x):
            lib.debug.log("x = {x}", x=x)
            lib.debug.log(ordered=True)("twice {}", x * 2)
            return x
        f(m.arange(3.0))
        lib.vmap(f)(m.arange(2.0))
        lib.grad(lambda v: f(v).sum())(1.0)
        jax.effects_barrier()

    lines = {}
    for name, lib, m in [("jax", jax, jnp), ("xform", xform, xnp)]:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            run(lib, m)
        lines[name] = [(r.levelname, r.getMessage(), r.filename, r.lineno) for r in caplog.records
                       if r.getMessage().startswith(("x =", "twice"))]
    assert lines["xform"] == lines["jax"]
    assert len(lines["jax"]) == 8


# -- custom_derivatives.linear_call --------------------------------------------------------------
def _div_add(lib):
    def f(r, x):
        return x / r

    def t(r, ct):
        return ct / r

    return lambda x, denom: x + lib.custom_derivatives.linear_call(f, t, denom, x)


def _transpose(lib, f, example):
    return lambda y: lib.linear_transpose(f, example)(y)[0]


def test_linear_call_matches_jax():
    for lib in (jax, xform):
        div_add = _div_add(lib)
        assert float(div_add(9.0, 3.0)) == 12.0
        # the custom transpose (1/3 of the ct) replaces fun's own: 18 + 18 / 3
        assert float(_transpose(lib, functools.partial(div_add, denom=3.0), 1.0)(18.0)) == 24.0
    for lib in (jax, xform):
        def custom_id(x, lib=lib):
            return lib.custom_derivatives.linear_call(lambda _, x: x, lambda _, t: 7.0, (), x)
        t1 = _transpose(lib, custom_id, 1.0)
        t2 = _transpose(lib, t1, 1.0)
        t3 = _transpose(lib, t2, 1.0)
        assert [float(v) for v in (custom_id(1.0), t1(1.0), t2(1.0), t3(1.0))] == [1, 7, 1, 7]
    a = np.array([[2.0, 1.0], [0.0, 3.0]], np.float32)
    got = {}
    for name, lib, m in [("jax", jax, jnp), ("xform", xform, xnp)]:
        def mv(r, x, m=m):
            return {"y": r["A"] @ x[0] + x[1]}

        def mvt(r, ct):
            return (r["A"].T @ ct["y"], ct["y"] * 7.0)

        def g(x, lib=lib, mv=mv):
            return lib.custom_derivatives.linear_call(mv, mvt, {"A": a}, x)["y"].sum()
        xs = (np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32))
        div_add = _div_add(lib)
        got[name] = (lib.grad(g)(xs),
                     lib.jit(lib.grad(lambda x, div_add=div_add: div_add(x, 3.0) ** 2))(2.0),
                     lib.jvp(lambda x, div_add=div_add: div_add(x, 3.0), (2.0,), (1.0,)))
    _close(got["jax"], got["xform"])


def test_linear_call_under_vmap_matches_a_loop():
    # JAX has no batching rule for linear_call; the reference is a Python loop of xform's
    div_add = _div_add(xform)
    xs, ds = np.arange(3.0, dtype=np.float32), np.arange(1.0, 4.0, dtype=np.float32)
    f = xform.vmap(lambda d: xform.grad(lambda x: div_add(x, d) ** 2)(2.0))
    np.testing.assert_allclose(f(ds), [xform.grad(lambda x, d=d: div_add(x, d) ** 2)(2.0)
                                       for d in ds], rtol=1e-6)
    g = xform.vmap(xform.grad(lambda x: div_add(x, 3.0) ** 2))
    np.testing.assert_allclose(g(xs), [32 * x / 9 for x in xs], rtol=1e-6)
    # reverse mode through the batched call uses the batched custom transpose
    h = xform.grad(lambda v: xnp.sum(xform.vmap(lambda x, d: div_add(x, d))(v, ds)))
    np.testing.assert_allclose(h(xs), 1 + 1 / ds, rtol=1e-6)


def test_linear_call_residual_tangent_is_an_error():
    div_add = _div_add(xform)
    with pytest.raises(TypeError, match="residual"):
        xform.grad(lambda d: div_add(2.0, d))(3.0)


# -- fixes found by running JAX's documentation pages ---------------------------------------------
def test_typeof_typed_key():
    assert str(xform.typeof(xform.random.key(0))) == str(jax.typeof(jax.random.key(0)))


def test_array_of_none_is_a_value_error():
    with pytest.raises(ValueError):
        jnp.array(None)
    with pytest.raises(ValueError):
        xnp.array(None)


def test_jacobian_rebuilds_custom_pytree_inputs_as_jax():
    # JAX's jacobian checks its inputs with a tree map that rebuilds the argument with None
    # leaves: a custom node whose unflatten converts its children fails the same way
    def make(lib, m):
        class Box:
            def __init__(self, a):
                self.a = m.asarray(a)
        lib.tree_util.register_pytree_node(Box, lambda b: ((b.a,), None),
                                           lambda _, c: Box(*c))
        return Box

    for lib, m in [(jax, jnp), (xform, xnp)]:
        box = make(lib, m)(np.arange(3.0, dtype=np.float32))
        with pytest.raises(ValueError):
            lib.jacobian(lambda b: b)(box)


def _outer(m):
    def inner(x):
        return m.sin(m.sin(x))
    return inner


def test_saved_residual_sources_use_qualified_names():
    got = [w.rsplit("(", 1)[1] for w in _printed_residuals(xform, _outer(xnp), 1.0)]
    want = [w.rsplit("(", 1)[1] for w in _printed_residuals(jax, _outer(jnp), 1.0)]
    assert got == want and got[-1] == "_outer.<locals>.inner)"


def test_linear_call_across_the_jax_bridge():
    # JAX's linear_call replays onto xform's (from_jax) and xform's lowers to JAX's (to_jax):
    # the custom transpose (5x the true one here) survives both ways
    def f(r, x):
        return x / r

    def t(r, ct):
        return ct / r * 5

    def jax_fun(x):
        return (x + jax.custom_derivatives.linear_call(f, t, 3.0, x)) ** 2

    def xform_fun(x):
        return (x + xform.custom_derivatives.linear_call(f, t, 3.0, x)) ** 2

    want = jax.grad(jax_fun)(2.0)
    np.testing.assert_allclose(xform.grad(xform.from_jax(jax_fun))(2.0), want, rtol=1e-6)
    np.testing.assert_allclose(jax.grad(xform.to_jax(xform_fun))(2.0), want, rtol=1e-6)
    np.testing.assert_allclose(
        xform.vmap(xform.grad(xform.from_jax(jax_fun)))(np.arange(3.0, dtype=np.float32)),
        [jax.grad(jax_fun)(x) for x in np.arange(3.0, dtype=np.float32)], rtol=1e-6)
