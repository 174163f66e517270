"""xform.from_jax / xform.to_jax: JAX libraries (optax, flax, equinox) inside xform's transforms,
xform functions inside JAX's. Every result is compared with the same program run by JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.transforms.interop import UnmappedPrimitiveError
from xform.transforms.interop_coverage import jax_primitive_coverage

optax = pytest.importorskip("optax")
flax = pytest.importorskip("flax")
eqx = pytest.importorskip("equinox")
import flax.linen as nn  # noqa: E402
from flax import nnx  # noqa: E402

RNG = np.random.default_rng(0)


def _close(a, b, tol=2e-5):
    jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y),
                                                         rtol=tol, atol=tol), a, b)


def _rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# -- from_jax: core programs ----------------------------------------------------------------------
def _control(x, w):
    y = jnp.tanh(x @ w).astype(jnp.float16).astype(jnp.float32)
    y = jax.lax.cond(y.sum() > 0, lambda a: a * 2, lambda a: a + 1, y)
    y = jax.lax.fori_loop(0, 3, lambda i, a: a * 1.1, y)
    y = jax.lax.stop_gradient(jax.lax.while_loop(lambda a: a.sum() < 100., lambda a: a * 1.5,
                                                  y)) + y
    y, _ = jax.lax.scan(lambda c, a: (c + a, c), y[0], y)
    return jax.nn.relu(y).sum() + jnp.cumsum(x).sum() + jax.nn.logsumexp(x)


def test_from_jax_control_flow_values_grads_vmap():
    x, w = _rand(4, 3), _rand(3, 3)
    g = xform.from_jax(_control)
    _close(g(x, w), _control(x, w))  # eagerly: one compiled JAX call
    _close(xform.jit(g)(x, w), _control(x, w))  # under a transform: replayed onto xform
    _close(xform.grad(g, argnums=(0, 1))(x, w), jax.grad(_control, argnums=(0, 1))(x, w))
    xs = np.stack([x, 2 * x])
    _close(xform.vmap(xform.grad(g), (0, None))(xs, w),
           jax.vmap(jax.grad(_control), (0, None))(xs, w))


def _h(x):
    return jnp.sum(jnp.tanh(x) ** 3 * jnp.sin(x[::-1]))


def test_from_jax_jacfwd_jacrev_chunked_vmap_checkpoint():
    x = _rand(4)
    f = xform.from_jax(_h)
    _close(xform.jacfwd(xform.jacrev(f))(x), jax.jacfwd(jax.jacrev(_h))(x))
    xs = _rand(6, 4)
    _close(xform.vmap(xform.grad(f), chunk_size=4)(xs), jax.vmap(jax.grad(_h))(xs))
    _close(xform.grad(xform.checkpoint(f))(x), jax.grad(_h)(x))
    # JAX's own checkpoint (with a named policy) inside the function becomes xform's
    hc = jax.checkpoint(_h, policy=jax.checkpoint_policies.dots_saveable)
    fc = xform.from_jax(hc)
    assert "checkpoint" in str(xform.make_jaxpr(fc)(x))
    _close(xform.grad(fc)(x), jax.grad(_h)(x))


def test_from_jax_keeps_custom_rules():
    @jax.custom_jvp
    def f(x):
        return jnp.sin(x)
    f.defjvp(lambda p, t: (f(p[0]), 100.0 * t[0]))

    @jax.custom_vjp
    def clip(x):
        return x
    clip.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -0.1, 0.1),))

    def loss(x):
        return jnp.sum(f(x) * x) + jnp.sum(clip(x) * x * 3.0)
    x = _rand(5)
    _close(xform.grad(xform.from_jax(loss))(x), jax.grad(loss)(x))
    _close(xform.jvp(xform.from_jax(f), (x,), (np.ones(5, np.float32),))[1], 100 * np.ones(5))
    xs = np.stack([x, -x])
    _close(xform.vmap(xform.grad(xform.from_jax(loss)))(xs), jax.vmap(jax.grad(loss))(xs))


_IDX = np.array([0, 2, 0], np.int32)
_SPD = (np.eye(4) * 4 + 0.5).astype(np.float32)


@pytest.mark.parametrize("name,f", [
    ("scatter", lambda x: x.at[_IDX].add(x[1]).at[_IDX, 1].set(2.0).at[_IDX].max(0.1)
     .at[_IDX].subtract(x[0])),
    ("solve_inv", lambda x: jnp.linalg.solve(_SPD, x) + jnp.linalg.inv(_SPD + 0.1 * x)),
    ("slogdet", lambda x: jnp.linalg.slogdet(_SPD + 0.1 * x)[1]),  # platform_dependent inside
    ("pool_sort", lambda x: nn.max_pool(x[None, :, :, None], (2, 2)).sum() + jnp.sort(x, 0)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_from_jax_linalg_indexing(name, f):
    x = jnp.asarray(_rand(4, 4))
    _close(xform.jit(xform.from_jax(f))(x), f(x), tol=1e-4)

    def s(x):
        return jnp.sum(jnp.sin(f(x)))
    _close(xform.grad(xform.from_jax(s))(x), jax.grad(s)(x), tol=1e-4)


def test_from_jax_random_keys():
    def r(k, x):
        k1, k2 = jax.random.split(k)
        return (jax.random.bernoulli(k1, 0.5, x.shape) * x
                + jax.random.normal(jax.random.fold_in(k2, 3), x.shape))
    x = _rand(3)
    _close(xform.jit(xform.from_jax(r))(jax.random.PRNGKey(3), x), r(jax.random.PRNGKey(3), x))
    # typed keys cross from_jax's boundary as their raw data (here under xform.jit's trace)
    typed = jax.random.key(3)
    _close(xform.jit(lambda x: xform.from_jax(r)(typed, x))(x), r(typed, x))
    _close(xform.from_jax(r)(typed, x), r(typed, x))


def test_from_jax_caches_per_avals():
    calls = []

    def f(x):
        calls.append(1)
        return jnp.sin(x)
    g = xform.from_jax(f)
    g(np.ones(3, np.float32))
    g(np.zeros(3, np.float32))
    assert len(calls) == 1
    g(np.ones(4, np.float32))
    assert len(calls) == 2


def test_unmapped_primitive_error_names_it():
    f = xform.from_jax(lambda x: jax.lax.empty((4,), jnp.float32) * 0 + x)
    with pytest.raises(UnmappedPrimitiveError, match="`empty`"):
        xform.vmap(f)(np.ones((2, 4), np.float32))
    mapped, unmapped = jax_primitive_coverage()
    assert "empty" in unmapped and "dot_general" in mapped and "scan" in mapped


def test_interop_md_list_is_current():
    # in a fresh interpreter: the listed JAX primitives depend on which JAX modules are loaded
    import os
    import pathlib
    import subprocess
    import sys
    root = pathlib.Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(root)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    rc = subprocess.run([sys.executable, "-m", "xform.transforms.interop_coverage", "--check"],
                        cwd=root, env=env).returncode
    assert rc == 0, ("docs/interop.md is stale: regenerate it with "
                     "`python -m xform.transforms.interop_coverage` and commit the result.")


# -- from_jax: optax, flax, equinox ---------------------------------------------------------------
def test_optax_adamw_clip_under_jit():
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-2))
    params = {"w": _rand(3, 2), "b": _rand(2)}
    state = opt.init(params)

    def upd(g, s, p):
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s
    grads = jax.tree.map(lambda p: p * 3.0, params)
    step = xform.jit(xform.from_jax(upd))
    ref_p, ref_s = upd(grads, state, params)
    got_p, got_s = step(grads, state, params)
    _close(got_p, ref_p)
    _close(got_s, ref_s)
    ref_p, ref_s = upd(grads, ref_s, ref_p)  # a second step, from the updated state
    got_p, got_s = step(grads, got_s, got_p)
    _close(got_p, ref_p)


class _Linen(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Conv(4, (3,))(x)
        x = nn.LayerNorm()(x)
        x = nn.Dropout(0.3, deterministic=False)(x)
        x = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=4)(x)
        return nn.Dense(1)(x).sum()


def test_flax_linen_vmap_grad():
    m = _Linen()
    xs = _rand(3, 5, 2)
    v = m.init({"params": jax.random.PRNGKey(0), "dropout": jax.random.PRNGKey(1)}, xs[0])

    def loss(p, x, k):
        return m.apply(p, x, rngs={"dropout": k})
    k = jax.random.PRNGKey(2)
    _close(xform.jit(xform.vmap(xform.grad(xform.from_jax(loss)), (None, 0, None)))(v, xs, k),
           jax.vmap(jax.grad(loss), (None, 0, None))(v, xs, k), tol=1e-4)


class _Nnx(nnx.Module):
    def __init__(self, rngs):
        self.conv = nnx.Conv(2, 4, (3,), rngs=rngs)
        self.ln = nnx.LayerNorm(4, rngs=rngs)
        self.do = nnx.Dropout(0.3)
        self.att = nnx.MultiHeadAttention(num_heads=2, in_features=4, qkv_features=4,
                                          decode=False, rngs=rngs)
        self.lin = nnx.Linear(4, 1, rngs=rngs)

    def __call__(self, x, key):
        x = self.do(self.ln(self.conv(x)), rngs=nnx.Rngs(dropout=key))
        return self.lin(self.att(x)).sum()


def test_flax_nnx_vmap_grad():
    gdef, params, rest = nnx.split(_Nnx(nnx.Rngs(0)), nnx.Param, ...)

    def loss(p, x, key):
        return nnx.merge(gdef, p, rest)(x, key)
    xs, key = _rand(3, 5, 2), jax.random.key(5)
    _close(xform.vmap(xform.grad(xform.from_jax(loss)), (None, 0, None))(params, xs, key),
           jax.vmap(jax.grad(loss), (None, 0, None))(params, xs, key), tol=1e-4)


def test_equinox_mlp_vmap_grad():
    mlp = eqx.nn.MLP(3, 2, 8, 2, key=jax.random.PRNGKey(0))
    arrays, static = eqx.partition(mlp, eqx.is_array)

    def loss(a, x):
        return jnp.sum(eqx.combine(a, static)(x) ** 2)
    xs = _rand(4, 3)
    _close(xform.vmap(xform.grad(xform.from_jax(loss)), (None, 0))(arrays, xs),
           jax.vmap(jax.grad(loss), (None, 0))(arrays, xs))


class _Mlp(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(nn.tanh(nn.Dense(8)(x)))[..., 0]


def test_flax_optax_training_driven_by_xform():
    m, opt = _Mlp(), optax.adamw(3e-2)
    x, y = _rand(16, 2), _rand(16)
    params = m.init(jax.random.PRNGKey(0), x)

    def loss(p, x, y):
        return jnp.mean((m.apply(p, x) - y) ** 2)

    def update(g, s, p):
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    xloss, xupdate = xform.from_jax(loss), xform.from_jax(update)

    @xform.jit
    def xstep(p, s, x, y):
        lv, g = xform.value_and_grad(xloss)(p, x, y)
        p, s = xupdate(g, s, p)
        return p, s, lv

    @jax.jit
    def jstep(p, s, x, y):
        lv, g = jax.value_and_grad(loss)(p, x, y)
        p, s = update(g, s, p)
        return p, s, lv

    xp, xs_ = params, opt.init(params)
    jp, js = params, opt.init(params)
    losses = []
    for _ in range(4):
        xp, xs_, xl = xstep(xp, xs_, x, y)
        jp, js, jl = jstep(jp, js, x, y)
        _close(xl, jl, tol=1e-4)
        losses.append(float(xl))
    _close(xp, jp, tol=1e-4)
    assert losses[-1] < losses[0]


# -- to_jax ---------------------------------------------------------------------------------------
@xform.custom_jvp
def _xsin(x):
    return xnp.sin(x)


_xsin.defjvp(lambda p, t: (_xsin(p[0]), 100.0 * t[0]))


@xform.custom_vjp
def _xclip(x):
    return x


_xclip.defvjp(lambda x: (x, None), lambda _, g: (xnp.clip(g, -0.1, 0.1),))


def _xf(x):
    y = xform.lax.scan(lambda c, a: (c * a + 1.0, c), 0.5, x)[0]
    return (xnp.sum(_xsin(x) * x) + xnp.sum(_xclip(x) * x) + y
            + xform.lax.cond(x[0] > 0, lambda: x[1], lambda: x[2]))


def _jf(x):  # the same program written with JAX
    @jax.custom_jvp
    def jsin(x):
        return jnp.sin(x)
    jsin.defjvp(lambda p, t: (jsin(p[0]), 100.0 * t[0]))

    @jax.custom_vjp
    def jclip(x):
        return x
    jclip.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -0.1, 0.1),))
    y = jax.lax.scan(lambda c, a: (c * a + 1.0, c), 0.5, x)[0]
    return (jnp.sum(jsin(x) * x) + jnp.sum(jclip(x) * x) + y
            + jax.lax.cond(x[0] > 0, lambda: x[1], lambda: x[2]))


def test_to_jax_under_jax_transforms():
    x = _rand(4)
    f = xform.to_jax(_xf)
    _close(jax.jit(f)(x), _jf(x))
    _close(jax.grad(f)(x), xform.grad(_xf)(x))
    _close(jax.grad(f)(x), jax.grad(_jf)(x))  # the custom rules came across
    xs = np.stack([x, -2 * x])
    _close(jax.vmap(jax.grad(f))(xs), xform.vmap(xform.grad(_xf))(xs))
    _close(jax.jit(jax.vmap(jax.grad(f)))(xs), jax.vmap(jax.grad(_jf))(xs))


def test_to_jax_custom_rules_inside_control_flow_and_jit():
    def xg(x):
        inner = xform.jit(lambda v: xnp.sum(_xsin(v) + _xclip(v) * v))
        c, _ = xform.lax.scan(lambda c, a: (c + inner(a * c), None), 1.0, x)
        return xform.lax.cond(c > 0, lambda: c * _xsin(x[0, 0]), lambda: c)

    def jg(x):
        @jax.custom_jvp
        def jsin(v):
            return jnp.sin(v)
        jsin.defjvp(lambda p, t: (jsin(p[0]), 100.0 * t[0]))

        @jax.custom_vjp
        def jclip(v):
            return v
        jclip.defvjp(lambda v: (v, None), lambda _, g: (jnp.clip(g, -0.1, 0.1),))
        inner = jax.jit(lambda v: jnp.sum(jsin(v) + jclip(v) * v))
        c, _ = jax.lax.scan(lambda c, a: (c + inner(a * c), None), 1.0, x)
        return jax.lax.cond(c > 0, lambda: c * jsin(x[0, 0]), lambda: c)
    x = _rand(3, 2) * 0.3
    _close(jax.grad(xform.to_jax(xg))(x), jax.grad(jg)(x), tol=1e-4)
    _close(xform.grad(xg)(x), jax.grad(jg)(x), tol=1e-4)


def test_round_trip():
    x = _rand(4)
    rt = xform.from_jax(xform.to_jax(_xf))
    _close(rt(x), _xf(x))
    _close(xform.jit(rt)(x), _xf(x))
    _close(xform.grad(rt)(x), xform.grad(_xf)(x))
    _close(xform.jit(xform.vmap(xform.grad(rt)))(np.stack([x, x + 1])),
           jax.vmap(jax.grad(_jf))(np.stack([x, x + 1])))
    back = xform.to_jax(xform.from_jax(_jf))
    _close(jax.grad(back)(x), jax.grad(_jf)(x))
