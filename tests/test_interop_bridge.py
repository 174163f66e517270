"""The bridge's gaps closed: ``from_jax`` of checkpoints with any JAX policy, and JAX's typed
PRNG keys through ``xform.jit``, ``xform.vmap``, control flow and ``from_jax``; against JAX on
the same inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

B = np.array([1.0, 2.0, 3.0], np.float32)


def _close(got, want, tol=1e-4):
    jax.tree_util.tree_map(
        lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol,
                                                atol=tol), got, want)


# -- from_jax: checkpoint policies beyond the named ones ---------------------------------------
_W = np.random.RandomState(0).randn(4, 4).astype(np.float32)
_XC = np.linspace(-1.0, 1.0, 8).reshape(2, 4).astype(np.float32)


def _ck_body(x):
    from jax.ad_checkpoint import checkpoint_name
    h = checkpoint_name(jnp.sin(x @ _W), "h")
    g = checkpoint_name(jnp.tanh(h @ _W), "g")
    return jnp.sum(g * h)


_CP = jax.checkpoint_policies
POLICIES = {
    "dots_with_no_batch_dims": _CP.dots_with_no_batch_dims_saveable,
    "save_only_these_names": _CP.save_only_these_names("h"),
    "save_any_names_but_these": _CP.save_any_names_but_these("h"),
    "save_anything_except_these_names": _CP.save_anything_except_these_names("g"),
    "save_from_both": _CP.save_from_both_policies(_CP.save_only_these_names("g"),
                                                  _CP.dots_saveable),
    "user_callable": lambda prim, *avals, **params: prim.name == "sin",
}


@pytest.mark.parametrize("name", list(POLICIES))
def test_from_jax_checkpoint_policies(name):
    fj = jax.checkpoint(_ck_body, policy=POLICIES[name])
    fx = xform.from_jax(fj)
    _close(xform.grad(fx)(_XC), jax.grad(fj)(_XC), 1e-5)
    _close(xform.jit(xform.grad(fx))(_XC), jax.grad(fj)(_XC), 1e-5)


def test_from_jax_policy_decides_what_is_saved(capsys):
    def kinds(text):
        return sorted(line.split(" from ")[0] for line in text.strip().splitlines())
    for policy in (_CP.save_only_these_names("h"), _CP.save_any_names_but_these("h")):
        fj = jax.checkpoint(_ck_body, policy=policy)
        jax.ad_checkpoint.print_saved_residuals(fj, _XC)
        want = capsys.readouterr().out
        xform.ad_checkpoint.print_saved_residuals(xform.from_jax(fj), _XC)
        got = capsys.readouterr().out
        assert kinds(got) == kinds(want)
    assert "named 'g'" in got and "named 'h'" not in got


# -- typed PRNG keys -------------------------------------------------------------------------------
def test_typed_jax_keys_through_jit_and_vmap():
    k = jax.random.key(0)
    ks = jax.random.split(k, 4)
    _close(xform.jit(lambda k: xform.random.normal(k, (3,)))(k), jax.random.normal(k, (3,)))
    _close(xform.vmap(lambda k: xform.random.uniform(k, (2,)))(ks),
           jax.vmap(lambda k: jax.random.uniform(k, (2,)))(ks))
    got = xform.jit(lambda k: xform.random.split(k, 3))(k)
    assert got.dtype == jax.random.key(0).dtype
    _close(xform.random.key_data(got), jax.random.key_data(jax.random.split(k, 3)))
    with pytest.raises(TypeError, match="threefry"):
        xform.jit(lambda k: k)(jax.random.key(0, impl="rbg"))
    # control flow carrying or scanning JAX's typed keys, and grad beside one
    def body(L, R):
        return lambda c, kk: (c + R.normal(kk, ()), None)
    _close(xform.lax.scan(body(xform.lax, xform.random), 0.0, ks)[0],
           jax.lax.scan(body(jax.lax, jax.random), 0.0, ks)[0])

    def step(R):
        return lambda i, c: (c[0] + R.normal(c[1], ()), R.split(c[1])[0])
    got = xform.lax.fori_loop(0, 3, step(xform.random), (0.0, k))
    want = jax.lax.fori_loop(0, 3, step(jax.random), (0.0, k))
    _close((got[0], xform.random.key_data(got[1])), (want[0], jax.random.key_data(want[1])))
    _close(xform.grad(lambda x, k: xnp.sum(x * xform.random.normal(k, (3,))))(B, k),
           jax.random.normal(k, (3,)))


def test_from_jax_function_of_a_typed_key():
    def r(k, x):
        k1, k2 = jax.random.split(k)
        assert jax.dtypes.issubdtype(k.dtype, jax.dtypes.prng_key)  # typed inside, as given
        return jax.random.normal(k1, x.shape) * x + jax.random.uniform(k2, x.shape)
    k, ks = jax.random.key(1), jax.random.split(jax.random.key(2), 3)
    fx = xform.from_jax(r)
    _close(fx(k, B), r(k, B))
    _close(xform.jit(fx)(k, B), r(k, B))
    _close(xform.vmap(fx, (0, None))(ks, B), jax.vmap(r, (0, None))(ks, B))
    _close(xform.grad(lambda x, k: xnp.sum(fx(k, x)))(B, k),
           jax.grad(lambda x, k: jnp.sum(r(k, x)))(B, k))
    # xform's own typed keys cross too, and typed keys come back typed
    _close(fx(xform.random.key(1), B), r(k, B))
    split = xform.from_jax(lambda k: jax.random.split(k, 2))(k)
    assert isinstance(split, xform.random.KeyArray)
    _close(xform.random.key_data(split), jax.random.key_data(jax.random.split(k, 2)))


def _printing(x):
    jax.debug.print("x={x} sum={s:.3f}", x=x, s=jnp.sum(x))
    return jnp.sum(jnp.sin(x))


@pytest.mark.parametrize("how", ["eager", "jit", "vmap", "grad"])
def test_from_jax_debug_print_prints_as_jax(how, capfd):
    # jax.debug.print stages JAX's debug_print primitive; from_jax replays it as xform's
    # debug_callback, so the same lines come out under every xform transform
    x = np.array([[0.5, 1.0], [2.0, -1.0]], np.float32)
    wrap = {"eager": lambda lib, f: f, "jit": lambda lib, f: lib.jit(f),
            "vmap": lambda lib, f: lib.vmap(f), "grad": lambda lib, f: lib.grad(f)}[how]
    arg = x if how == "vmap" else x[0]
    want_val = wrap(jax, _printing)(arg)
    jax.effects_barrier()
    want = capfd.readouterr().out
    got_val = wrap(xform, xform.from_jax(_printing))(arg)
    xform.effects_barrier()
    got = capfd.readouterr().out
    assert sorted(got.splitlines()) == sorted(want.splitlines()) and want
    np.testing.assert_allclose(np.asarray(got_val), np.asarray(want_val), rtol=1e-6)


# -- from_jax: scatters carry JAX's update jaxprs (scatter_apply's function among them) --------
_IDX = np.array([[1], [1], [3]], np.int32)
_DN = jax.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                      scatter_dims_to_operand_dims=(0,))
_XS = jnp.linspace(-1.0, 1.0, 5, dtype=jnp.float32)


def _applies(x):
    # .at[].apply at a unique index, lax.scatter_apply at a repeated one (applied twice), and
    # a function of several operations
    a = x.at[2].apply(jnp.sin)
    b = jax.lax.scatter_apply(a, _IDX, lambda v: v * 2.0 + 1.0, _DN, update_shape=(3,))
    return b.at[jnp.array([0, 4])].apply(lambda v: jnp.tanh(v) * 1.5 - v ** 2)


def _applies_at(x, i):
    return x.at[i].apply(jnp.exp) * 2.0


def test_from_jax_scatter_apply_as_jax():
    fx = xform.from_jax(_applies)
    _close(fx(_XS), _applies(_XS))
    _close(xform.jit(fx)(_XS), jax.jit(_applies)(_XS))
    xs = jnp.stack([_XS, _XS[::-1], 2 * _XS])
    _close(xform.vmap(fx)(xs), jax.vmap(_applies)(xs))
    _close(xform.jit(xform.vmap(fx))(xs), jax.jit(jax.vmap(_applies))(xs))
    # batched indices too
    ix = np.array([0, 3, 4], np.int32)
    gx = xform.from_jax(_applies_at)
    _close(xform.vmap(gx)(xs, ix), jax.vmap(_applies_at)(xs, ix))
    _close(xform.vmap(gx, (None, 0))(_XS, ix), jax.vmap(_applies_at, (None, 0))(_XS, ix))
    # the replayed program holds xform's own update function, no JAX jaxpr
    eqns = [e for e in xform.make_jaxpr(fx)(_XS).jaxpr.eqns if e.primitive.name == "scatter"]
    assert len(eqns) == 3
    assert all(not isinstance(e.params["update_jaxpr"], jax.extend.core.Jaxpr) for e in eqns)


def test_from_jax_scatter_apply_derivatives_as_jax():
    fx = xform.from_jax(_applies)
    # JAX does not differentiate scatter_apply: neither does xform, with the same error type
    with pytest.raises(NotImplementedError, match="scatter_apply JVP"):
        jax.grad(lambda x: jnp.sum(_applies(x)))(_XS)
    with pytest.raises(NotImplementedError, match="scatter_apply"):
        xform.grad(lambda x: xnp.sum(fx(x)))(_XS)
    # a gradient that does not flow through the applied function is JAX's
    def scaled(x, s):
        return jnp.sum(_applies(x) * s)
    sx = xform.from_jax(scaled)
    _close(xform.grad(sx, argnums=1)(_XS, 1.5), jax.grad(scaled, argnums=1)(_XS, 1.5))
    _close(xform.jit(xform.grad(sx, argnums=1))(_XS, 1.5),
           jax.jit(jax.grad(scaled, argnums=1))(_XS, 1.5))


@pytest.mark.parametrize("method", ["add", "multiply", "min", "max", "set"])
def test_from_jax_scatters_with_jax_update_jaxprs(method):
    def f(x, u):
        return jnp.sum(jnp.sin(getattr(x.at[jnp.array([1, 1, 3])], method)(u)))
    u = np.array([0.3, -0.2, 0.7], np.float32)
    fx = xform.from_jax(f)
    _close(xform.jit(fx)(_XS, u), jax.jit(f)(_XS, u))
    if method == "multiply":
        # repeated indices: neither JAX nor xform differentiates scatter-mul in the updates
        with pytest.raises(NotImplementedError, match="unique_indices=True"):
            jax.grad(f, argnums=1)(_XS, u)
        with pytest.raises(NotImplementedError, match="unique_indices=True"):
            xform.grad(fx, argnums=1)(_XS, u)
        _close(xform.grad(fx)(_XS, u), jax.grad(f)(_XS, u))
    else:
        _close(xform.grad(fx, argnums=(0, 1))(_XS, u), jax.grad(f, argnums=(0, 1))(_XS, u))
    us = np.stack([u, 2 * u])
    _close(xform.vmap(fx, (None, 0))(_XS, us), jax.vmap(f, (None, 0))(_XS, us))


# -- from_jax: one JAX trace and one translation per function and signature --------------------
def test_from_jax_traces_once_per_signature(monkeypatch):
    from xform.transforms import interop_replay as interop
    calls = []

    def f(x, y):
        calls.append(1)
        return jnp.sum(jnp.tanh(x * y) ** 2), jnp.cos(x)

    x, y = np.linspace(-1.0, 1.0, 4).astype(np.float32), np.float32(0.7)
    loss = lambda fn: lambda a, b: fn(a, b)[0]  # noqa: E731
    want = jax.grad(loss(f))(x, y)
    calls.clear()
    # from_jax written inline each time, under several transforms: JAX traces f once
    _close(xform.grad(loss(xform.from_jax(f)))(x, y), want)
    _close(xform.jit(xform.grad(loss(xform.from_jax(f))))(x, y), want)
    _close(xform.grad(loss(xform.from_jax(f)))(x, y), want)
    assert len(calls) == 1
    xs = np.stack([x, -x])
    want_eager, want_vmap = f(x, y), jax.vmap(loss(f), (0, None))(xs, y)
    calls.clear()
    # and a later xform trace replays nothing: the translated program is reused
    replays = []
    replay = interop._replay
    monkeypatch.setattr(interop, "_replay", lambda *a: replays.append(1) or replay(*a))
    _close(xform.from_jax(f)(x, y), want_eager)
    _close(xform.grad(loss(xform.from_jax(f)))(x, y), want)
    _close(xform.jit(xform.vmap(loss(xform.from_jax(f)), (0, None)))(xs, y), want_vmap)
    assert calls == [] and replays == []
    # a new signature is a new trace, as in jax.jit
    xform.grad(loss(xform.from_jax(f)))(x[:3], y)
    xform.grad(loss(xform.from_jax(f)))(x[:3].astype(np.float16), y)
    assert len(calls) == 2


def test_from_jax_captures_globals_at_first_trace_as_jax_jit():
    # a global read at trace time is captured at the first trace, as jax.jit captures it
    scale = {"v": 2.0}

    def fj(x):
        return x * scale["v"]

    def fx(x):
        return x * scale["v"]

    x = np.arange(3.0, dtype=np.float32)
    got, want = [], []
    for v, arg in [(2.0, x), (5.0, x), (5.0, x[:2]), (7.0, x)]:
        scale["v"] = v
        want.append(jax.jit(fj)(arg))
        got.append(xform.jit(xform.from_jax(fx))(arg))
    for g, w in zip(got, want):
        _close(g, w)
    _close(got[1], x * 2.0)   # not retraced
    _close(got[2], x[:2] * 5.0)   # a new shape: traced again


def test_from_jax_custom_vjp_backward_traced_once():
    counts = {"fwd": 0, "bwd": 0}

    @jax.custom_vjp
    def h(x):
        return jnp.sin(x)

    def fwd(x):
        counts["fwd"] += 1
        return jnp.sin(x), jnp.cos(x)

    def bwd(c, g):
        counts["bwd"] += 1
        return (3.0 * g * c,)

    h.defvjp(fwd, bwd)

    def f(x):
        return jnp.sum(h(x) ** 2)

    x = np.linspace(0.0, 1.0, 3).astype(np.float32)
    want = jax.grad(f)(x)
    counts.update(fwd=0, bwd=0)
    for _ in range(3):
        _close(xform.grad(xform.from_jax(f))(x), want)
    _close(xform.jit(xform.grad(xform.from_jax(f)))(x), want)
    assert counts == {"fwd": 1, "bwd": 1}


def test_from_jax_cache_is_weak_and_keys_bound_methods():
    import gc
    import weakref

    class Model:
        def __init__(self, w):
            self.w = w
            self.calls = 0

        def apply(self, x):
            self.calls += 1
            return jnp.sum(jnp.sin(x * self.w))

    x = np.ones(3, np.float32)
    m = Model(np.float32(2.0))
    for _ in range(3):  # a new bound method each time, one trace
        _close(xform.grad(xform.from_jax(m.apply))(x), jax.grad(Model(2.0).apply)(x))
    assert m.calls == 1
    other = Model(np.float32(3.0))  # another instance: its own trace
    _close(xform.grad(xform.from_jax(other.apply))(x), jax.grad(Model(3.0).apply)(x))
    assert other.calls == 1

    def g(x):
        return jnp.sum(x * 2.0)

    ref, mref = weakref.ref(g), weakref.ref(m)
    xform.grad(xform.from_jax(g))(x)
    del g, m
    gc.collect()
    assert ref() is None and mref() is None  # the cache did not keep them alive


# -- named axes of enclosing xform transforms are bound in JAX's trace ---------------------------
_NAMED = {
    "psum": lambda v: jax.lax.psum(v, "i") * v,
    "pmean": lambda v: jax.lax.pmean(jnp.sin(v), "i"),
    "pmax": lambda v: jax.lax.pmax(v, "i") - v,
    "all_gather": lambda v: jax.lax.all_gather(v, "i"),
    "all_gather_tiled": lambda v: jax.lax.all_gather(v, "i", tiled=True, axis=0),
    "axis_index": lambda v: v * jax.lax.axis_index("i"),
    "axis_size": lambda v: v * jax.lax.axis_size("i") + jax.lax.psum(1, "i"),
    "ppermute": lambda v: jax.lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]),
    "psum_scatter": lambda v: jax.lax.psum_scatter(v, "i", tiled=True),
}
_NXS = np.arange(32, dtype=np.float32).reshape(4, 8) / 7


@pytest.mark.parametrize("name", sorted(_NAMED))
def test_from_jax_collectives_under_named_vmap(name):
    f = _NAMED[name]
    _close(xform.vmap(xform.from_jax(f), axis_name="i")(_NXS), jax.vmap(f, axis_name="i")(_NXS))


def test_from_jax_collectives_nested_named_vmaps_grad_jit():
    def f(v):
        return (jax.lax.psum(v, ("i", "j")) + jax.lax.axis_index("j")
                * jax.lax.psum(1, "i") + jax.lax.pmean(jnp.sin(v) * v, "j"))

    xs = _NXS.reshape(2, 4, 4)
    _close(xform.vmap(xform.vmap(xform.from_jax(f), axis_name="j"), axis_name="i")(xs),
           jax.vmap(jax.vmap(f, axis_name="j"), axis_name="i")(xs))

    def g(v):
        return jnp.sum(jax.lax.pmean(jnp.sin(v), "i") * v)

    _close(xform.jit(xform.vmap(xform.grad(xform.from_jax(g)), axis_name="i"))(_NXS),
           jax.jit(jax.vmap(jax.grad(g), axis_name="i"))(_NXS))
    # the same function under a vmap of another size is traced again, at that size
    _close(xform.vmap(xform.from_jax(_NAMED["axis_size"]), axis_name="i")(_NXS[:2]),
           jax.vmap(_NAMED["axis_size"], axis_name="i")(_NXS[:2]))


def test_from_jax_unbound_axis_is_still_jax_name_error():
    with pytest.raises(NameError, match="unbound axis name: i"):
        xform.vmap(xform.from_jax(_NAMED["psum"]), axis_name="k")(_NXS)
