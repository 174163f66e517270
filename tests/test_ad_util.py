"""add_any and zeros: what the interpreters bind themselves (xform/interpreters/ad_util.py).

Every check compares with JAX on the same program, or with numpy on the same values.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.interpreters.ad_util import add_any, add_any_p, zeros_like_aval
from xform.core.avals import ShapedArray

RNG = np.random.RandomState(0)
X = RNG.randn(3, 4).astype(np.float32)
Y = RNG.randn(3, 4).astype(np.float32)


def _prims(closed_jaxpr) -> list[str]:
    return [str(e.primitive) for e in closed_jaxpr.jaxpr.eqns]


def _f(lib):
    def f(x):
        return (lib.sin(x) * x + lib.cos(x) * x).sum()
    return f


@pytest.mark.parametrize("transform", ["grad", "jvp"])
def test_accumulation_prints_add_any_as_jax_does(transform):
    def build(lib, api):
        f = _f(lib)
        if transform == "grad":
            return api.grad(f)
        return lambda x: api.jvp(f, (x,), (x,))
    ours = _prims(xform.make_jaxpr(build(xnp, xform))(X))
    theirs = _prims(jax.make_jaxpr(build(jnp, jax))(X))
    assert ours.count("add_any") == theirs.count("add_any") > 0
    assert ours == theirs


def test_add_any_value_and_rules():
    np.testing.assert_allclose(add_any(X, Y), X + Y, rtol=1e-6)
    # jvp: linear in both operands
    _, t = xform.jvp(add_any, (X, Y), (Y, X))
    np.testing.assert_allclose(t, X + Y, rtol=1e-6)
    _, t = xform.jvp(lambda x: add_any(x, Y), (X,), (2 * X,))
    np.testing.assert_allclose(t, 2 * X, rtol=1e-6)
    # transpose: each operand gets the whole cotangent
    _, vjp = xform.vjp(add_any, X, Y)
    ct_x, ct_y = vjp(Y)
    np.testing.assert_allclose(ct_x, Y)
    np.testing.assert_allclose(ct_y, Y)
    (ct_x,) = xform.vjp(lambda x: add_any(x, Y), X)[1](X)
    np.testing.assert_allclose(ct_x, X)


@pytest.mark.parametrize("in_axes", [(0, 0), (0, 1), (1, None), (None, 0)])
def test_add_any_batching(in_axes):
    # operands of per-example shape (4,), batched along the given axes (size 3)
    xs = {0: X, 1: X.T, None: X[0]}[in_axes[0]]
    ys = {0: Y, 1: Y.T, None: Y[0]}[in_axes[1]]
    out = xform.vmap(add_any, in_axes=in_axes)(xs, ys)

    def example(a, axis, i):
        return a if axis is None else np.take(a, i, axis=axis)
    loop = [example(xs, in_axes[0], i) + example(ys, in_axes[1], i) for i in range(3)]
    np.testing.assert_allclose(out, np.stack(loop), rtol=1e-6)


def test_add_any_of_two_types_is_a_clear_error():
    with pytest.raises(TypeError, match=r"add_any .*f32\[3,4\].*f32\[4\]"):
        xform.make_jaxpr(add_any)(X, Y[0])
    with pytest.raises(TypeError, match="add_any"):
        xform.make_jaxpr(add_any)(X, X.astype(np.float16))


def test_add_any_under_jit_and_grad_of_grad():
    # second order: the backward pass's add_any is itself differentiated and batched
    def f(x):
        return xform.numpy.sum(xform.numpy.sin(x) * x * x)

    def g(x):
        return jnp.sum(jnp.sin(x) * x * x)

    h = xform.jit(xform.vmap(xform.grad(lambda v: xform.grad(f)(v).sum())))
    expected = jax.vmap(jax.grad(lambda v: jax.grad(g)(v).sum()))(X)
    np.testing.assert_allclose(h(X), expected, rtol=1e-5, atol=1e-6)
    assert add_any_p in {e.primitive for e in xform.make_jaxpr(xform.grad(f))(X).jaxpr.eqns}


@pytest.mark.parametrize("x", [1.0, np.float32(1.0), np.ones(3, np.float32),
                               np.ones((2, 3), np.float16)])
def test_instantiated_zeros_match_jax(x):
    # floor has a zero derivative: the symbolic zero tangent is instantiated at the output
    _, ours = xform.jvp(xnp.floor, (x,), (x,))
    _, theirs = jax.jvp(jnp.floor, (x,), (x,))
    assert isinstance(ours, jax.Array)
    assert (ours.shape, ours.dtype, ours.weak_type) == (theirs.shape, theirs.dtype,
                                                         theirs.weak_type)
    np.testing.assert_array_equal(ours, theirs)
    ours_j = str(xform.make_jaxpr(lambda v: xform.jvp(xnp.floor, (v,), (v,)))(x))
    theirs_j = str(jax.make_jaxpr(lambda v: jax.jvp(jnp.floor, (v,), (v,)))(x))
    assert ours_j == theirs_j


def test_zeros_like_aval_stages_an_equation():
    aval = ShapedArray((2, 3), np.dtype(np.float32))
    closed = xform.make_jaxpr(lambda x: zeros_like_aval(aval))(1.0)
    assert _prims(closed) == ["broadcast_in_dim"]
    np.testing.assert_array_equal(zeros_like_aval(aval), np.zeros((2, 3), np.float32))
