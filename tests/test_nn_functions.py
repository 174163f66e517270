"""xform.nn functions against jax.nn: values (extreme inputs included), jit, vmap against a
loop, derivatives against finite differences, and gradients at the kinks equal to JAX's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import nn
from xform.test_util import check_grads

X = jnp.array([-100.0, -3.0, -1.0, -0.3, 0.0, 0.5, 2.0, 7.0, 100.0])
SMOOTH = jnp.array([-2.5, -0.7, 0.3, 1.2, 2.9])  # away from every kink (0 and 6)

UNARY = {
    "relu": {}, "relu6": {}, "sigmoid": {}, "hard_sigmoid": {}, "softplus": {}, "silu": {},
    "swish": {}, "elu": {}, "celu": {}, "selu": {}, "leaky_relu": {}, "tanh": {},
    "log_sigmoid": {}, "softmax": {}, "log_softmax": {}, "logsumexp": {}, "standardize": {},
    "gelu": {"approximate": True},
}
CASES = [(n, kw) for n, kw in UNARY.items()] + [("gelu", {"approximate": False}),
                                                ("elu", {"alpha": 0.5}),
                                                ("leaky_relu", {"negative_slope": 0.2})]
IDS = [f"{n}-{kw}" for n, kw in CASES]


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_values_jit_and_kink_grads(name, kw):
    f, jf = getattr(nn, name), getattr(jax.nn, name)
    out, ref = f(X, **kw), jf(X, **kw)
    assert out.dtype == ref.dtype
    close(out, ref)
    close(xform.jit(lambda x: f(x, **kw))(X), ref)
    # gradients everywhere, kinks (0, 6) and extremes (+-100) included, equal JAX's
    g = xform.grad(lambda x: xnp.sum(f(x, **kw) * xnp.arange(1.0, 10.0)))(X)
    jg = jax.grad(lambda x: jnp.sum(jf(x, **kw) * jnp.arange(1.0, 10.0)))(X)
    assert not np.any(np.isnan(g))
    close(g, jg, 1e-5)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_check_grads(name, kw):
    f = getattr(nn, name)
    check_grads(lambda x: f(x, **kw), (SMOOTH,), order=2, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_vmap_matches_loop(name, kw):
    f = getattr(nn, name)
    xs = jnp.stack([SMOOTH, -SMOOTH, 2 * SMOOTH])
    loop = np.stack([np.asarray(f(x, **kw)) for x in xs])
    close(xform.vmap(lambda x: f(x, **kw))(xs), loop)
    out_axis = 1 if loop.ndim > 1 else 0  # logsumexp gives one number per example
    close(xform.vmap(lambda x: f(x, **kw), in_axes=1, out_axes=out_axis)(xs.T),
          loop.T if out_axis else loop)


@pytest.mark.parametrize("x", [0.0, 6.0, -1e-30, 1e-30])
def test_scalar_kinks(x):
    for name in ("relu", "relu6", "hard_sigmoid", "leaky_relu", "elu", "celu", "selu"):
        g = xform.grad(getattr(nn, name))(x)
        assert float(g) == float(jax.grad(getattr(jax.nn, name))(x)), name
    assert float(xform.grad(xform.grad(nn.relu))(0.5)) == 0.0


def test_softmax_family():
    x = jnp.array([[1.0, -jnp.inf, 3.0, 1000.0], [-jnp.inf, -jnp.inf, 0.0, 2.0]])
    for name in ("softmax", "log_softmax", "logsumexp"):
        for axis in (-1, 0, None) if name == "logsumexp" else (-1, 0, (0, 1)):
            close(getattr(nn, name)(x, axis=axis), getattr(jax.nn, name)(x, axis=axis))
    where = jnp.array([[True, False, True, True], [False, True, True, True]])
    y = jnp.array([[0.5, 2.0, -1.0, 0.3], [1.0, 0.0, 3.0, -2.0]])
    for name in ("softmax", "log_softmax"):
        close(getattr(nn, name)(y, where=where), getattr(jax.nn, name)(y, where=where))
        g = xform.grad(lambda v: xnp.sum(nn.softmax(v, where=where) * y))(y)
        jg = jax.grad(lambda v: jnp.sum(jax.nn.softmax(v, where=where) * y))(y)
        close(g, jg, 1e-5)
    # NaN-free gradient of softmax where exp underflows / with -inf logits
    g = xform.grad(lambda v: nn.softmax(v)[0])(jnp.array([0.0, -jnp.inf, -1000.0]))
    close(g, jax.grad(lambda v: jax.nn.softmax(v)[0])(jnp.array([0.0, -jnp.inf, -1000.0])))
    check_grads(lambda v: nn.softmax(v, axis=0), (y,), order=2, atol=1e-2, rtol=1e-2)
    close(xform.vmap(nn.softmax)(y), jnp.stack([jax.nn.softmax(r) for r in y]))


def test_glu_one_hot_standardize():
    x = jnp.arange(12.0).reshape(3, 4) / 7.0
    for axis in (-1, 1, 0):
        if x.shape[axis] % 2 == 0:
            close(nn.glu(x, axis), jax.nn.glu(x, axis))
    check_grads(lambda v: nn.glu(v), (x,), order=2, atol=1e-2, rtol=1e-2)
    idx = jnp.array([[0, 2], [1, 5]])
    for axis in (-1, 0, 1):
        for dtype in (None, jnp.int32):
            a = nn.one_hot(idx, 4, dtype=dtype, axis=axis)
            b = jax.nn.one_hot(idx, 4, dtype=dtype, axis=axis)
            assert a.dtype == b.dtype
            close(a, b)
    close(xform.vmap(lambda i: nn.one_hot(i, 4))(idx), jax.nn.one_hot(idx, 4))
    where = jnp.array([[True, True, False, True]] * 3)
    for algorithm in ("fast", "stable"):
        close(nn.standardize(x, algorithm=algorithm), jax.nn.standardize(x, algorithm=algorithm),
              1e-4)
        close(nn.standardize(x, axis=0, where=where, algorithm=algorithm),
              jax.nn.standardize(x, axis=0, where=where, algorithm=algorithm), 1e-4)
    close(nn.standardize(x, mean=0.5, variance=2.0), jax.nn.standardize(x, mean=0.5, variance=2.0))


def test_dtypes_and_int_inputs():
    for name in ("relu", "gelu", "sigmoid", "softmax", "silu", "softplus"):
        for dtype in (jnp.float16, jnp.bfloat16):
            x = X.astype(dtype)
            a, b = getattr(nn, name)(x), getattr(jax.nn, name)(x)
            assert a.dtype == b.dtype, name
            np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                       rtol=2e-2, atol=2e-2)
    ints = jnp.array([-2, 0, 3])
    for name in ("relu", "softplus", "gelu", "softmax"):  # (jax.nn.sigmoid rejects ints)
        a, b = getattr(nn, name)(ints), getattr(jax.nn, name)(ints)
        assert a.dtype == b.dtype, name
        close(a, b)
