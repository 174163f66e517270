"""The nn functions added to match jax.nn (activations, logmeanexp, dot_product_attention),
compared with jax.nn on the same inputs under eager, jit, vmap and grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import nn

X = np.array([-3.0, -1.0, -0.5, 0.0, 0.3, 1.0, 2.5], np.float32)  # the kinks included
POS = np.array([0.01, 0.5, np.log(2.0), 1.0, 5.0, 30.0], np.float32)

NAMES = ["mish", "hard_tanh", "squareplus", "identity", "soft_sign", "sparse_plus",
         "sparse_sigmoid", "hard_silu", "hard_swish"]


def _pair(name):
    return getattr(nn, name), getattr(jax.nn, name)


@pytest.mark.parametrize("name", NAMES + ["log1mexp"])
def test_values_jit_vmap_grad(name):
    f, g = _pair(name)
    x = POS if name == "log1mexp" else X
    np.testing.assert_allclose(f(x), g(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(xform.jit(f)(x), g(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(xform.vmap(f)(x), jax.vmap(g)(x), rtol=1e-6, atol=1e-7)
    dx = xform.vmap(xform.grad(f))(x)
    np.testing.assert_allclose(dx, jax.vmap(jax.grad(g))(x), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["hard_tanh", "soft_sign", "sparse_plus", "identity"])
def test_integer_inputs_keep_jax_dtypes(name):
    f, g = _pair(name)
    x = np.array([-2, 0, 3], np.int32)
    assert f(x).dtype == g(x).dtype
    np.testing.assert_allclose(f(x), g(x))


def test_log1mexp_second_derivative():
    d2 = xform.grad(xform.grad(nn.log1mexp))(0.7)
    np.testing.assert_allclose(d2, jax.grad(jax.grad(jax.nn.log1mexp))(0.7), rtol=1e-5)


@pytest.mark.parametrize("axis,keepdims,masked", [(None, False, False), (1, True, False),
                                                  (0, False, True)])
def test_logmeanexp(axis, keepdims, masked):
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4) / 3
    where = (x > 1.0) if masked else None
    got = nn.logmeanexp(x, axis=axis, where=where, keepdims=keepdims)
    want = jax.nn.logmeanexp(x, axis=axis, where=where, keepdims=keepdims)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    gx = xform.grad(lambda x: nn.logmeanexp(x, axis=axis, where=where).sum())(x)
    gj = jax.grad(lambda x: jax.nn.logmeanexp(x, axis=axis, where=where).sum())(x)
    np.testing.assert_allclose(gx, gj, rtol=1e-5, atol=1e-7)


# -- dot_product_attention -------------------------------------------------------------------
rng = np.random.RandomState(0)
B, T, S, N, K, H = 2, 3, 4, 4, 2, 8
Q = rng.randn(B, T, N, H).astype(np.float32)
KK = rng.randn(B, S, K, H).astype(np.float32)
V = rng.randn(B, S, K, H).astype(np.float32)
BIAS = rng.randn(1, N, T, S).astype(np.float32)
MASK = rng.rand(B, 1, T, S) > 0.3
QLEN = np.array([2, 3], np.int32)
KVLEN = np.array([4, 1], np.int32)

CASES = {
    "plain": {},
    "bias_mask": dict(bias=BIAS, mask=MASK),
    "causal_scale": dict(is_causal=True, scale=0.5),
    "seq_lengths": dict(query_seq_lengths=QLEN, key_value_seq_lengths=KVLEN),
    "window": dict(local_window_size=(1, 0)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_dot_product_attention(case):
    kw = CASES[case]
    want = jax.nn.dot_product_attention(Q, KK, V, **kw)
    np.testing.assert_allclose(nn.dot_product_attention(Q, KK, V, **kw), want, rtol=2e-5,
                               atol=2e-6)
    got = xform.jit(lambda q, k, v: nn.dot_product_attention(q, k, v, **kw))(Q, KK, V)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)

    def loss_x(q, k, v):
        return xnp.sum(nn.dot_product_attention(q, k, v, **kw) ** 2)

    def loss_j(q, k, v):
        return jnp.sum(jax.nn.dot_product_attention(q, k, v, **kw) ** 2)

    for gx, gj in zip(xform.grad(loss_x, (0, 1, 2))(Q, KK, V),
                      jax.grad(loss_j, (0, 1, 2))(Q, KK, V)):
        np.testing.assert_allclose(gx, gj, rtol=1e-4, atol=1e-5)


def test_dot_product_attention_vmap_unbatched_layout_and_residual():
    # (T, N, H) without a batch dimension, vmapped over a leading axis
    got = xform.vmap(nn.dot_product_attention)(Q, KK, V)
    want = jax.vmap(jax.nn.dot_product_attention)(Q, KK, V)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    out, res = nn.dot_product_attention(Q, KK, V, is_causal=True, return_residual=True)
    out_j, res_j = jax.nn.dot_product_attention(Q, KK, V, is_causal=True, return_residual=True)
    np.testing.assert_allclose(res, res_j, rtol=2e-5, atol=2e-6)
    with pytest.raises(ValueError, match="multiple of key/value heads"):
        nn.dot_product_attention(Q[:, :, :3], KK, V)
