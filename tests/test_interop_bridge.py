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
