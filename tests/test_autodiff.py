"""The differentiation API against JAX on the same functions: values, pytree nesting, chunked
jacobians, compositions with vmap and jit, symbolic zeros, perturbation confusion, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.tree_util import tree_flatten, tree_map, tree_structure

import xform
import xform.numpy as xnp

RNG = np.random.RandomState(0)
X = RNG.randn(3).astype(np.float32)
Y = RNG.randn(3).astype(np.float32)
W = RNG.randn(2, 3).astype(np.float32)


def f_x(np_):
    return lambda x: np_.sum(np_.sin(x) * x)


def f_xy(np_):
    return lambda x, y: np_.sum(np_.tanh(x * y) + x ** 2)


def f_vec(np_):
    return lambda x, y: {"a": np_.sin(x) * y, "b": (np_.cos(x), x * 2.)}


def assert_tree_close(got, want, rtol=1e-5, atol=1e-6):
    assert tree_structure(got) == tree_structure(want), (tree_structure(got),
                                                         tree_structure(want))
    for g, w in zip(tree_flatten(got)[0], tree_flatten(want)[0]):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol)


# -- the basic transforms -------------------------------------------------------------------
def test_jvp_and_linearize():
    got = xform.jvp(f_xy(xnp), (X, Y), (Y, X))
    want = jax.jvp(f_xy(jnp), (X, Y), (Y, X))
    assert_tree_close(got, want)
    y, f_jvp = xform.linearize(f_xy(xnp), X, Y)
    assert_tree_close((y, f_jvp(Y, X)), want)


def test_jvp_has_aux():
    f = lambda x: (xnp.sin(x), {"aux": x * 2})  # noqa: E731
    y, t, aux = xform.jvp(f, (X,), (Y,), has_aux=True)
    assert_tree_close((y, t), (np.sin(X), np.cos(X) * Y))
    np.testing.assert_allclose(aux["aux"], X * 2)


def test_vjp_returns_tuple():
    out, f_vjp = xform.vjp(f_vec(xnp), X, Y)
    jout, jf_vjp = jax.vjp(f_vec(jnp), X, Y)
    assert_tree_close(out, jout)
    ct = tree_map(jnp.ones_like, jout)
    got = f_vjp(ct)
    assert isinstance(got, tuple) and len(got) == 2
    assert_tree_close(got, jf_vjp(ct))


def test_grad_value_and_grad_argnums_has_aux():
    for argnums in [0, 1, (0,), (0, 1), (1, 0)]:
        assert_tree_close(xform.grad(f_xy(xnp), argnums)(X, Y), jax.grad(f_xy(jnp), argnums)(X, Y))
        assert_tree_close(xform.value_and_grad(f_xy(xnp), argnums)(X, Y),
                          jax.value_and_grad(f_xy(jnp), argnums)(X, Y))
    g, aux = xform.grad(lambda x: (xnp.sum(x ** 2), x + 1), has_aux=True)(X)
    np.testing.assert_allclose(g, 2 * X, rtol=1e-6)
    np.testing.assert_allclose(aux, X + 1)
    assert not isinstance(aux, xform.core.trace.Tracer)  # aux leaves the transform as a value
    (v, aux), g = xform.value_and_grad(lambda x: (xnp.sum(x ** 2), "s"), has_aux=True)(X)
    assert aux == "s"


def test_grad_pytree_argument():
    params = {"w": W, "b": (X[:2], Y[:2])}

    def loss(np_):
        return lambda p, x: np_.sum(np_.tanh(np_.dot(p["w"], x) + p["b"][0]) * p["b"][1])

    assert_tree_close(xform.grad(loss(xnp))(params, X), jax.grad(loss(jnp))(params, X))


def test_linear_transpose():
    f = lambda x: (xnp.dot(W, x) * 2., -x)  # noqa: E731
    jf = lambda x: (jnp.dot(W, x) * 2., -x)  # noqa: E731
    ct = (np.ones(2, np.float32), Y)
    assert_tree_close(xform.linear_transpose(f, X)(ct), jax.linear_transpose(jf, X)(ct))


def test_holomorphic_grad():
    z = np.array(1. + 2.j, np.complex64)
    got = xform.grad(lambda z: z * z + xnp.sin(z), holomorphic=True)(z)
    want = jax.grad(lambda z: z * z + jnp.sin(z), holomorphic=True)(z)
    np.testing.assert_allclose(got, want, rtol=1e-5)


# -- jacobians: values and nesting ----------------------------------------------------------
@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
def test_jacobian_pytree_nesting(jac, argnums):
    got = getattr(xform, jac)(f_vec(xnp), argnums)(X, Y)
    want = getattr(jax, jac)(f_vec(jnp), argnums)(X, Y)
    assert_tree_close(got, want)


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobian_has_aux_and_pytree_input(jac):
    f = lambda d: (xnp.sin(d["x"]) * d["y"][0], d["x"])  # noqa: E731
    jf = lambda d: (jnp.sin(d["x"]) * d["y"][0], d["x"])  # noqa: E731
    d = {"x": X, "y": (Y,)}
    assert_tree_close(getattr(xform, jac)(f, has_aux=True)(d),
                      getattr(jax, jac)(jf, has_aux=True)(d))


def test_hessian():
    for argnums in [0, (0, 1)]:
        assert_tree_close(xform.hessian(f_xy(xnp), argnums)(X, Y),
                          jax.hessian(f_xy(jnp), argnums)(X, Y), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("jac", ["jacfwd", "jacrev", "hessian"])
def test_chunked_jacobians_equal_unchunked(jac):
    f = f_xy(xnp) if jac == "hessian" else f_vec(xnp)
    x = RNG.randn(5).astype(np.float32)
    y = RNG.randn(5).astype(np.float32)
    full = getattr(xform, jac)(f, (0, 1))(x, y)
    for k in (1, 2, 3, 7):
        assert_tree_close(getattr(xform, jac)(f, (0, 1), chunk_size=k)(x, y), full)


# -- compositions, against jax --------------------------------------------------------------
def per_example(np_):
    return lambda w, x: np_.sum(np_.tanh(np_.dot(w, x)) ** 2)


XS = RNG.randn(4, 3).astype(np.float32)


@pytest.mark.parametrize("name", [
    "grad(vmap(f))", "vmap(grad(f))", "jacfwd(jacrev(f))", "jacrev(jacrev(f))",
    "grad(grad(grad(f)))", "jit(vmap(grad(f)))", "vmap(jit(grad(f)))", "grad(jit(f))",
    "jacrev(jit(f))", "jit(hessian(f))", "vmap(jvp)", "grad(vmap(grad(f)))",
])
def test_composition_matches_jax(name):
    def build(m, np_):
        f = per_example(np_)
        g = lambda x: np_.sum(np_.sin(x) * np_.cos(x) ** 2)  # noqa: E731
        return {
            "grad(vmap(f))": (lambda: m.grad(lambda w: np_.sum(
                m.vmap(f, in_axes=(None, 0))(w, XS)))(W)),
            "vmap(grad(f))": lambda: m.vmap(m.grad(f), in_axes=(None, 0))(W, XS),
            "jacfwd(jacrev(f))": lambda: m.jacfwd(m.jacrev(g))(X),
            "jacrev(jacrev(f))": lambda: m.jacrev(m.jacrev(g))(X),
            "grad(grad(grad(f)))": lambda: m.grad(m.grad(m.grad(np_.sin)))(0.7),
            "jit(vmap(grad(f)))": lambda: m.jit(m.vmap(m.grad(f), in_axes=(None, 0)))(W, XS),
            "vmap(jit(grad(f)))": lambda: m.vmap(m.jit(m.grad(f)), in_axes=(None, 0))(W, XS),
            "grad(jit(f))": lambda: m.grad(m.jit(f))(W, X),
            "jacrev(jit(f))": lambda: m.jacrev(m.jit(lambda x: np_.sin(x) * x))(X),
            "jit(hessian(f))": lambda: m.jit(m.hessian(g))(X),
            "vmap(jvp)": lambda: m.vmap(lambda t: m.jvp(g, (X,), (t,))[1])(XS),
            "grad(vmap(grad(f)))": lambda: m.grad(lambda w: np_.sum(
                m.vmap(m.grad(f), in_axes=(None, 0))(w, XS) ** 2))(W),
        }[name]

    assert_tree_close(build(xform, xnp)(), build(jax, jnp)(), rtol=2e-4, atol=1e-5)


def test_python_control_flow_under_eager_grad():
    def f(x, n):
        y = x
        for _ in range(n):
            y = xnp.sin(y) if y > 0 else xnp.cos(y)
        return y

    def jf(x, n):
        y = x
        for _ in range(n):
            y = jnp.sin(y) if y > 0 else jnp.cos(y)
        return y

    for x in (0.5, -0.5):
        np.testing.assert_allclose(xform.grad(f)(x, 3), jax.grad(jf)(x, 3), rtol=1e-6)


# -- symbolic zeros and perturbation confusion ----------------------------------------------
def test_symbolic_zeros_not_materialized():
    f = lambda x, y: (xnp.sin(x), xnp.cos(y) * 3.)  # noqa: E731
    _, t = xform.jvp(f, (1., 2.), (1., 0.))
    assert float(t[1]) == -np.sin(2.) * 3. * 0
    # out[1] does not depend on x: its tangent is a Zero, materialized once at the end
    jaxpr = xform.make_jaxpr(lambda x, y, tx: xform.jvp(lambda a: f(a, y), (x,), (tx,)))(
        1., 2., 1.)
    ops = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert ops.count("mul") == 2  # cos(x) * tx and cos(y) * 3; nothing multiplies zeros
    assert "sin" in ops and ops.count("cos") == 2


def test_jvp_of_unused_input_is_zero():
    y, t = xform.jvp(lambda x, z: xnp.sin(x), (1., 2.), (0., 1.))
    assert float(t) == 0.
    assert float(xform.grad(lambda x, z: xnp.sin(x), argnums=1)(1., 2.)) == 0.


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1, not 2
    def f(x):
        return x * xform.jvp(lambda y: x + y, (1.,), (1.,))[1]
    assert float(xform.jvp(f, (1.,), (1.,))[1]) == 1.
    assert float(xform.grad(f)(1.)) == 1.
    # mixed second derivative of the same function by nested jvp
    g = lambda x, y: xnp.sin(x) * y ** 2  # noqa: E731
    dxdy = xform.jvp(lambda x: xform.jvp(lambda y: g(x, y), (2.,), (1.,))[1], (0.3,), (1.,))[1]
    np.testing.assert_allclose(dxdy, np.cos(0.3) * 4., rtol=1e-6)


# -- errors ---------------------------------------------------------------------------------
def test_grad_of_non_scalar_output():
    with pytest.raises(TypeError, match=r"\(3,\).*jacrev.*vmap.*sum"):
        xform.grad(xnp.sin)(X)


def test_grad_of_integer_input():
    with pytest.raises(TypeError, match="allow_int"):
        xform.grad(lambda x: x * 2.)(3)
    with pytest.raises(TypeError, match="allow_int"):
        xform.grad(lambda x: xnp.sum(x * 1.))(np.array([True]))
    g = xform.grad(lambda x, y: x * y, argnums=1, allow_int=True)(np.int32(3), 2.)
    assert float(g) == 3.


def test_argnums_out_of_range():
    with pytest.raises(TypeError, match="argnums"):  # JAX's types: TypeError for grad,
        xform.grad(lambda x: x, argnums=1)(1.)
    with pytest.raises(ValueError, match="argnums"):  # ValueError for jacrev and negatives
        xform.jacrev(lambda x: x, argnums=(0, 3))(1.)


def test_holomorphic_with_real_input():
    with pytest.raises(TypeError, match="holomorphic"):
        xform.grad(lambda z: z * z, holomorphic=True)(1.)
    with pytest.raises(TypeError, match="holomorphic"):
        xform.jacfwd(lambda z: z * z, holomorphic=True)(X)


def test_tangent_mismatch_names_both():
    with pytest.raises(ValueError, match=r"f32\[2\].*f32\[3\]"):
        xform.jvp(xnp.sin, (X,), (np.ones(2, np.float32),))
    with pytest.raises(TypeError, match=r"f16\[3\].*f32\[3\]"):  # a dtype: JAX's TypeError
        xform.jvp(xnp.sin, (X,), (np.ones(3, np.float16),))
    with pytest.raises(TypeError):
        xform.jvp(xnp.sin, (X,), (X, X))


def test_has_aux_must_return_pair():
    with pytest.raises(TypeError, match="has_aux"):
        xform.grad(lambda x: x * 1., has_aux=True)(1.)


# -- check_grads ----------------------------------------------------------------------------
def test_check_grads_second_order():
    from xform.test_util import check_grads
    check_grads(lambda x, y: xnp.sin(x) * xnp.tanh(y), (X, Y), order=2)
