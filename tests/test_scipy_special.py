"""xform.scipy.special against jax.scipy.special: values (extremes, -inf, 0), jit, vmap,
derivatives, and JAX's custom derivatives at 0 for xlogy / xlog1py / entr."""

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.special as xss
from xform.test_util import check_grads


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


UNARY = {
    "erf": jnp.array([-100.0, -2.0, -0.3, 0.0, 0.7, 3.0, 100.0]),
    "erfc": jnp.array([-100.0, -2.0, -0.3, 0.0, 0.7, 3.0, 100.0]),
    "erfinv": jnp.array([-1.0, -0.9, -0.2, 0.0, 0.5, 0.99, 1.0]),
    "expit": jnp.array([-100.0, -2.0, 0.0, 0.7, 100.0]),
    "logit": jnp.array([0.0, 1e-6, 0.2, 0.5, 0.9, 1.0]),
    "gammaln": jnp.array([0.1, 0.5, 1.0, 2.5, 10.0, 100.0]),
    "digamma": jnp.array([0.1, 0.5, 1.0, 2.5, 10.0, 100.0]),
    "entr": jnp.array([-1.0, 0.0, 1e-30, 0.3, 1.0, 5.0, 100.0]),
}
SMOOTH = {
    "erf": jnp.array([-1.5, -0.3, 0.7]), "erfc": jnp.array([-1.5, -0.3, 0.7]),
    "erfinv": jnp.array([-0.6, 0.1, 0.5]), "expit": jnp.array([-2.0, 0.3, 1.5]),
    "logit": jnp.array([0.2, 0.5, 0.7]), "gammaln": jnp.array([0.5, 1.5, 3.0]),
    "digamma": jnp.array([0.5, 1.5, 3.0]), "entr": jnp.array([0.2, 0.7, 2.0]),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name):
    f, jf, x = getattr(xss, name), getattr(jss, name), UNARY[name]
    out, ref = f(x), jf(x)
    assert out.dtype == ref.dtype
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(xform.jit(f)(x), ref, rtol=1e-6, atol=1e-6, equal_nan=True)
    xs = jnp.stack([SMOOTH[name], SMOOTH[name][::-1]])
    close(xform.vmap(f)(xs), jnp.stack([jf(r) for r in xs]))
    close(xform.vmap(f, in_axes=1, out_axes=1)(xs.T), jnp.stack([jf(r) for r in xs]).T)
    # digamma's second derivative needs polygamma(2, .): checked to first order only
    check_grads(f, (SMOOTH[name],), order=1 if name == "digamma" else 2, atol=1e-2, rtol=1e-2)
    g = xform.grad(lambda v: xnp.sum(f(v)))(SMOOTH[name])
    close(g, jax.grad(lambda v: jnp.sum(jf(v)))(SMOOTH[name]), 1e-5)
    assert f(2).dtype == jf(2).dtype  # integers promote to float


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
def test_xlogy_family(name):
    f, jf = getattr(xss, name), getattr(jss, name)
    x = jnp.array([0.0, 0.0, 1.0, 2.0, -1.5, 0.0])
    y = jnp.array([0.0, 3.0, 0.5, 4.0, 2.0, jnp.nan])
    np.testing.assert_allclose(f(x, y), jf(x, y), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(xform.jit(f)(x, y), jf(x, y), rtol=1e-6, equal_nan=True)
    close(f(2.0, jnp.array([1.0, 3.0])), jf(2.0, jnp.array([1.0, 3.0])))
    # JAX's custom derivative at x == 0 (and elsewhere), for both arguments
    for x0, y0 in ((0.0, 0.0), (0.0, 2.0), (1.5, 0.5), (0.0, -0.5)):
        g = xform.grad(f, argnums=(0, 1))(x0, y0)
        jg = jax.grad(jf, argnums=(0, 1))(x0, y0)
        np.testing.assert_allclose(g, jg, rtol=1e-6, equal_nan=True)
    check_grads(f, (jnp.array([0.5, 1.5]), jnp.array([0.7, 2.0])), order=2, atol=1e-2,
                rtol=1e-2)
    xs, ys = jnp.array([[0.0, 1.0], [2.0, 0.0]]), jnp.array([[0.0, 2.0], [3.0, 5.0]])
    close(xform.vmap(f)(xs, ys), jnp.stack([jf(a, b) for a, b in zip(xs, ys)]))
    close(xform.vmap(f, in_axes=(0, None))(xs, ys[0]), jnp.stack([jf(a, ys[0]) for a in xs]))


def test_entr_grad_at_zero():
    for x0 in (0.0, 0.5, 2.0):
        assert float(xform.grad(xss.entr)(x0)) == float(jax.grad(jss.entr)(x0))


def test_logsumexp():
    a = jnp.array([[1.0, -jnp.inf, 3.0], [-jnp.inf, -jnp.inf, -jnp.inf], [100.0, 90.0, -100.0]])
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            close(xss.logsumexp(a, axis=axis, keepdims=keepdims),
                  jss.logsumexp(a, axis=axis, keepdims=keepdims))
    b = jnp.array([[1.0, 2.0, -3.0], [1.0, 1.0, 1.0], [0.5, -1.0, 2.0]])
    np.testing.assert_allclose(xss.logsumexp(a, axis=1, b=b), jss.logsumexp(a, axis=1, b=b),
                               rtol=1e-6, equal_nan=True)
    out, sign = xss.logsumexp(a, axis=1, b=b, return_sign=True)
    jout, jsign = jss.logsumexp(a, axis=1, b=b, return_sign=True)
    close(out, jout)
    close(sign, jsign)
    where = jnp.array([[True, True, False], [True, False, True], [False, True, True]])
    close(xss.logsumexp(a, axis=1, where=where), jss.logsumexp(a, axis=1, where=where))
    # gradients with -inf entries and a whole -inf row are NaN-free, as JAX's
    g = xform.grad(lambda v: xnp.sum(xss.logsumexp(v, axis=1)))(a)
    jg = jax.grad(lambda v: jnp.sum(jss.logsumexp(v, axis=1)))(a)
    np.testing.assert_allclose(g, jg, rtol=1e-6, equal_nan=True)
    x = jnp.array([[0.3, -1.2, 2.0], [1.0, 0.5, -0.5]])
    check_grads(lambda v: xss.logsumexp(v, axis=1), (x,), order=2, atol=1e-2, rtol=1e-2)
    close(xform.jit(lambda v: xss.logsumexp(v, axis=0))(x), jss.logsumexp(x, axis=0))
    close(xform.vmap(xss.logsumexp)(x), jnp.stack([jss.logsumexp(r) for r in x]))
    close(xform.vmap(xss.logsumexp, in_axes=1)(x), jnp.stack([jss.logsumexp(r) for r in x.T]))
