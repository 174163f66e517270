"""custom_jvp, custom_vjp and checkpoint: values, rules used, and composition with jit/vmap/grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.ad_checkpoint import checkpoint_name


# -- custom_jvp -----------------------------------------------------------------------------
@xform.custom_jvp
def log1pexp(x):
    return xnp.log(1. + xnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return log1pexp(x), x_dot * (1. - 1. / (1. + xnp.exp(x)))


def naive_log1pexp(x):
    return xnp.log(1. + xnp.exp(x))


def test_custom_jvp_value_is_the_function():
    np.testing.assert_allclose(log1pexp(3.), np.log1p(np.exp(3.)), rtol=1e-6)
    np.testing.assert_allclose(xform.jit(log1pexp)(3.), np.log1p(np.exp(3.)), rtol=1e-6)


def test_log1pexp_stays_finite_under_vmap_grad():
    xs = xnp.array([0., 10., 100.])
    g = xform.vmap(xform.grad(log1pexp))(xs)
    np.testing.assert_allclose(g, [0.5, 1 - 1 / (1 + np.exp(10.)), 1.], rtol=1e-5)
    assert np.isnan(np.asarray(xform.grad(naive_log1pexp)(100.)))  # the rule is what fixes it
    np.testing.assert_allclose(xform.jit(xform.vmap(xform.grad(log1pexp)))(xs), g)
    np.testing.assert_allclose(xform.vmap(xform.jit(xform.grad(log1pexp)))(xs), g)
    np.testing.assert_allclose(xform.grad(lambda x: xnp.sum(xform.vmap(log1pexp)(x)))(xs), g)


def test_custom_jvp_under_jit_and_nested_grad():
    x = 0.7
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(xform.grad(xform.jit(log1pexp))(x), s, rtol=1e-6)
    np.testing.assert_allclose(xform.jit(xform.grad(log1pexp))(x), s, rtol=1e-6)
    # the second derivative differentiates the rule: sigmoid'(x)
    np.testing.assert_allclose(xform.grad(xform.grad(log1pexp))(x), s * (1 - s), rtol=1e-5)
    np.testing.assert_allclose(xform.jvp(log1pexp, (x,), (2.,))[1], 2 * s, rtol=1e-6)


def test_custom_jvp_rule_is_what_gets_differentiated():
    @xform.custom_jvp
    def f(x):
        return xnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 3. * t[0]))  # deliberately not cos
    assert float(xform.grad(f)(1.)) == 3.
    y, t = xform.jvp(f, (1.,), (2.,))
    np.testing.assert_allclose(y, np.sin(1.), rtol=1e-6)
    assert float(t) == 6.


def test_custom_jvp_defjvps_and_multiple_args():
    @xform.custom_jvp
    def f(x, y):
        return xnp.sin(x) * y

    f.defjvps(lambda x_dot, ans, x, y: xnp.cos(x) * x_dot * y,
              lambda y_dot, ans, x, y: xnp.sin(x) * y_dot)
    gx, gy = xform.grad(f, argnums=(0, 1))(2., 3.)
    np.testing.assert_allclose([gx, gy], [np.cos(2.) * 3., np.sin(2.)], rtol=1e-6)


def test_custom_jvp_nondiff_argnums():
    from functools import partial

    @partial(xform.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def app_jvp(f, primals, tangents):
        x, = primals
        t, = tangents
        return app(f, x), 10. * t

    assert float(xform.grad(lambda x: app(xnp.sin, x))(1.)) == 10.
    np.testing.assert_allclose(xform.vmap(xform.grad(lambda x: app(xnp.sin, x)))(xnp.ones(3)),
                               [10.] * 3)


def test_custom_jvp_pytree_args_and_outputs():
    @xform.custom_jvp
    def f(d):
        return {"s": d["a"] * d["b"]}

    @f.defjvp
    def f_jvp(primals, tangents):
        d, = primals
        t, = tangents
        return f(d), {"s": t["a"] * d["b"] + d["a"] * t["b"]}

    g = xform.grad(lambda d: f(d)["s"])({"a": 2., "b": 5.})
    assert float(g["a"]) == 5. and float(g["b"]) == 2.


def test_custom_jvp_rule_output_errors():
    @xform.custom_jvp
    def f(x):
        return x

    f.defjvp(lambda p, t: (p[0], xnp.ones(3)))
    with pytest.raises(TypeError, match="shapes and dtypes"):
        xform.jvp(f, (1.,), (1.,))

    @xform.custom_jvp
    def h(x):
        return x
    with pytest.raises(AttributeError, match="No JVP defined"):
        h(1.)


def test_custom_jvp_in_jaxpr():
    text = str(xform.make_jaxpr(log1pexp)(1.))
    assert "custom_jvp_call" in text and "jvp=log1pexp_jvp" in text


# -- custom_vjp -----------------------------------------------------------------------------
@xform.custom_vjp
def clip_gradient(x):
    return x


def _clip_fwd(x):
    return x, None


def _clip_bwd(_, g):
    return (xnp.clip(g, -1., 1.),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def test_custom_vjp_gradient_clipping():
    f = lambda x: 5. * clip_gradient(x)  # noqa: E731
    assert float(f(2.)) == 10.
    assert float(xform.grad(f)(2.)) == 1.
    assert float(xform.grad(lambda x: -5. * clip_gradient(x))(2.)) == -1.
    assert float(xform.grad(lambda x: 0.5 * clip_gradient(x))(2.)) == 0.5
    assert float(xform.jit(xform.grad(f))(2.)) == 1.
    assert float(xform.grad(xform.jit(f))(2.)) == 1.
    np.testing.assert_allclose(xform.vmap(xform.grad(f))(xnp.array([1., 2.])), [1., 1.])
    np.testing.assert_allclose(
        xform.grad(lambda x: xnp.sum(xform.vmap(f)(x)))(xnp.array([1., 2.])), [1., 1.])


def test_custom_vjp_residuals_and_two_args():
    @xform.custom_vjp
    def f(x, y):
        return xnp.sin(x) * y

    def f_fwd(x, y):
        return f(x, y), (xnp.cos(x), xnp.sin(x), y)

    def f_bwd(res, g):
        cos_x, sin_x, y = res
        return (cos_x * g * y, sin_x * g)

    f.defvjp(f_fwd, f_bwd)
    gx, gy = xform.grad(f, argnums=(0, 1))(2., 3.)
    np.testing.assert_allclose([gx, gy], [np.cos(2.) * 3., np.sin(2.)], rtol=1e-6)
    xs = xnp.array([0.5, 1., 2.])
    gxs = xform.vmap(xform.grad(f), in_axes=(0, None))(xs, 3.)
    np.testing.assert_allclose(gxs, np.cos([0.5, 1., 2.]) * 3., rtol=1e-6)
    # an unbatched argument gets the sum of the per-example cotangents
    gy2 = xform.grad(lambda y: xnp.sum(xform.vmap(f, in_axes=(0, None))(xs, y)))(3.)
    np.testing.assert_allclose(gy2, np.sin([0.5, 1., 2.]).sum(), rtol=1e-6)


def test_custom_vjp_nondiff_argnums():
    from functools import partial

    @partial(xform.custom_vjp, nondiff_argnums=(0,))
    def scale(k, x):
        return k * x

    scale.defvjp(lambda k, x: (scale(k, x), None), lambda k, _, g: (2 * k * g,))
    assert float(xform.grad(lambda x: scale(3., x))(1.)) == 6.


def test_custom_vjp_forward_mode_is_an_error():
    with pytest.raises(TypeError, match=r"can't apply forward-mode autodiff \(jvp\) to a "
                                        "custom_vjp function."):
        xform.jvp(clip_gradient, (1.,), (1.,))


def test_custom_vjp_bwd_structure_error():
    @xform.custom_vjp
    def f(x):
        return x

    f.defvjp(lambda x: (x, None), lambda _, g: g)  # not a tuple
    with pytest.raises(TypeError, match="must produce a tuple"):
        xform.grad(f)(1.)


def test_custom_jvp_inside_custom_vjp_and_back():
    @xform.custom_vjp
    def f(x):
        return log1pexp(x)

    f.defvjp(lambda x: (log1pexp(x), x), lambda x, g: (g * xform.grad(log1pexp)(x),))
    np.testing.assert_allclose(xform.grad(f)(100.), 1., rtol=1e-6)


# -- checkpoint -----------------------------------------------------------------------------
def _mlp(w, x):
    h = xnp.sin(xnp.dot(w, x))
    return xnp.sum(xnp.tanh(xnp.dot(w, h)))


def test_checkpoint_same_gradients():
    w = xnp.array(np.random.RandomState(0).randn(3, 3).astype(np.float32))
    x = xnp.array([0.1, 0.2, 0.3])
    want = xform.grad(_mlp)(w, x)
    for policy in [None, xform.checkpoint_policies.everything_saveable,
                   xform.checkpoint_policies.nothing_saveable,
                   xform.checkpoint_policies.dots_saveable,
                   xform.checkpoint_policies.dots_with_no_batch_dims_saveable]:
        f = xform.checkpoint(_mlp, policy=policy)
        np.testing.assert_allclose(xform.grad(f)(w, x), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(xform.jit(xform.grad(f))(w, x), want, rtol=1e-5, atol=1e-6)
    assert xform.remat is xform.checkpoint


def _ops(jaxpr):
    return [e.primitive.name for e in jaxpr.jaxpr.eqns]


def test_checkpoint_recomputes_in_backward_pass():
    f = lambda x: xnp.sin(xnp.sin(x))  # noqa: E731
    plain = _ops(xform.make_jaxpr(xform.grad(f))(1.))
    remat = _ops(xform.make_jaxpr(xform.grad(xform.checkpoint(f)))(1.))
    assert plain.count("sin") == 2
    # forward: two sins; backward: the inner sin again, after the barrier
    assert remat.count("sin") == 3
    assert remat.index("optimization_barrier") < len(remat) - 1 - remat[::-1].index("sin")
    assert "optimization_barrier" not in _ops(
        xform.make_jaxpr(xform.grad(xform.checkpoint(f, prevent_cse=False)))(1.))
    saved = _ops(xform.make_jaxpr(xform.grad(xform.checkpoint(
        f, policy=xform.checkpoint_policies.everything_saveable)))(1.))
    assert saved.count("sin") == 2


def test_checkpoint_save_only_these_names():
    def f(x):
        a = checkpoint_name(xnp.sin(x), "a")
        return xnp.sin(a)

    pol = xform.checkpoint_policies.save_only_these_names("a")
    ops = _ops(xform.make_jaxpr(xform.grad(xform.checkpoint(f, policy=pol)))(1.))
    assert ops.count("sin") == 2  # "a" is saved, so nothing is recomputed
    ops = _ops(xform.make_jaxpr(xform.grad(xform.checkpoint(f)))(1.))
    assert ops.count("sin") == 3
    np.testing.assert_allclose(xform.grad(xform.checkpoint(f, policy=pol))(1.),
                               np.cos(np.sin(1.)) * np.cos(1.), rtol=1e-6)


def test_checkpoint_dots_saveable_keeps_dot():
    w = xnp.ones((3, 3))
    f = xform.checkpoint(lambda x: xnp.sum(xnp.sin(xnp.dot(w, x))),
                         policy=xform.checkpoint_policies.dots_saveable)
    ops = _ops(xform.make_jaxpr(xform.grad(f))(xnp.ones(3)))
    nothing = _ops(xform.make_jaxpr(xform.grad(xform.checkpoint(
        lambda x: xnp.sum(xnp.sin(xnp.dot(w, x))))))(xnp.ones(3)))
    assert ops.count("dot_general") < nothing.count("dot_general")


def test_checkpoint_composes():
    f = xform.checkpoint(lambda x: xnp.sin(xnp.sin(x)))
    jf = lambda x: jnp.sin(jnp.sin(x))  # noqa: E731
    xs = np.array([0.1, 0.5, 1.0], np.float32)
    np.testing.assert_allclose(xform.vmap(xform.grad(f))(xs), jax.vmap(jax.grad(jf))(xs),
                               rtol=1e-6)
    np.testing.assert_allclose(xform.grad(xform.grad(f))(0.3), jax.grad(jax.grad(jf))(0.3),
                               rtol=1e-5)
    np.testing.assert_allclose(xform.jvp(f, (0.3,), (1.,))[1], jax.jvp(jf, (0.3,), (1.,))[1],
                               rtol=1e-6)
    np.testing.assert_allclose(f(0.3), jf(0.3), rtol=1e-6)


def test_checkpoint_static_argnums():
    def f(x, n):
        for _ in range(n):
            x = xnp.sin(x)
        return x

    g = xform.checkpoint(f, static_argnums=(1,))
    np.testing.assert_allclose(xform.grad(g)(0.5, 3), xform.grad(f)(0.5, 3), rtol=1e-6)
