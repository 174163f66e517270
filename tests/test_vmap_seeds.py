"""The vmap examples of the seed documents (those without gradients), ported to xform, with the
numbers the documents print."""

import numpy as np

import xform
import xform.numpy as jnp
from xform import vmap


def _show(name, value):
    print(f"{name}:\n{np.asarray(value)}")
    return np.asarray(value)


# -- seed 000/001: MindSpore's 1-D convolution ------------------------------------------------
def convolve(x, w):
    output = []
    for i in range(1, len(x) - 1):
        output.append(jnp.dot(x[i - 1: i + 2], w))
    return jnp.stack(output)


X = jnp.arange(5).astype("float32")
W = jnp.array([1., 2., 3.])
CONV = np.array([[8., 14., 20.]] * 3, np.float32)


def test_convolve_default_axes():
    np.testing.assert_array_equal(_show("convolve", convolve(X, W)), [8., 14., 20.])
    x_batch, w_batch = jnp.stack([X, X, X]), jnp.stack([W, W, W])
    np.testing.assert_array_equal(_show("vmap(convolve)", vmap(convolve)(x_batch, w_batch)),
                                  CONV)


def test_convolve_in_axes_0_1_out_axes_1():
    x_batch, w_batch = jnp.stack([X, X, X]), jnp.stack([W, W, W])
    out = vmap(convolve, in_axes=(0, 1), out_axes=1)(x_batch, jnp.transpose(w_batch, (1, 0)))
    np.testing.assert_array_equal(_show("transposed", jnp.transpose(out, (1, 0))), CONV)


def test_convolve_in_axes_0_none():
    x_batch = jnp.stack([X, X, X])
    out = vmap(convolve, in_axes=(0, None), out_axes=0)(x_batch, W)
    np.testing.assert_array_equal(_show("in_axes=(0, None)", out), CONV)


def test_convolve_nested():
    hyper_x = jnp.array([[1., 2., 3., 4., 5.], [2., 3., 4., 5., 6.], [3., 4., 5., 6., 7.]])
    hyper_w = jnp.array([[1., 1., 1.], [2., 2., 2.], [3., 3., 3.]])
    out = vmap(vmap(convolve, in_axes=[None, 0]), in_axes=[0, None])(hyper_x, hyper_w)
    want = np.array([[[6, 9, 12], [12, 18, 24], [18, 27, 36]],
                     [[9, 12, 15], [18, 24, 30], [27, 36, 45]],
                     [[12, 15, 18], [24, 30, 36], [36, 45, 54]]], np.float32)
    np.testing.assert_array_equal(_show("nested", out), want)


# -- seed 002: the blog's custom_dot and vv -> mv -> mm ---------------------------------------
def custom_dot(x, y):
    return jnp.dot(x, y) ** 2


def test_custom_dot():
    x = jnp.asarray([[2, 2, 2], [3, 3, 3]])
    y = jnp.asarray([[4, 4, 4], [5, 5, 5]])
    out = _show("batched_custom_dot", vmap(custom_dot, in_axes=[0, 0])(x, y))
    np.testing.assert_array_equal(out, [576, 2025])
    assert out.dtype == np.int32


def test_vv_mv_mm():
    vv = lambda x, y: jnp.dot(x, y)  # noqa: E731
    mv = vmap(vv, (0, None), 0)
    mm = vmap(mv, (None, 1), 1)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(_show("mv", mv(a, b[:, 0])), a @ b[:, 0])
    np.testing.assert_allclose(_show("mm", mm(a, b)), a @ b)


# -- seed 003: torch.vmap tutorial -------------------------------------------------------------
def test_torch_batched_dot_and_model():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 5)).astype(np.float32), rng.normal(size=(2, 5)).astype(np.float32)
    np.testing.assert_allclose(_show("batched_dot", vmap(jnp.dot)(x, y)), (x * y).sum(1),
                               rtol=1e-5, atol=1e-6)
    weights = rng.normal(size=5).astype(np.float32)

    def model(feature_vec):
        return jnp.maximum(jnp.dot(feature_vec, weights), 0.0)

    examples = rng.normal(size=(3, 5)).astype(np.float32)
    result = vmap(model)(examples)
    expected = np.stack([np.asarray(model(e)) for e in examples])
    np.testing.assert_allclose(_show("model", result), expected, rtol=1e-5, atol=1e-6)


# -- seed 004: the neuron ----------------------------------------------------------------------
def _neuron():
    rng = np.random.RandomState(8675309)
    w = rng.randn(3, 5)
    rng.randn(5)  # the notebook's draws are offset by one call
    v = rng.randn(5)
    v_batch = rng.randn(4, 5)

    def model(v, W=w, b=1.0):
        return jnp.tanh(W @ v + b).sum()

    return model, v, v_batch


def test_neuron_values():
    model, v, v_batch = _neuron()
    np.testing.assert_allclose(_show("model(v)", model(v)), 2.0699806, rtol=1e-6)
    np.testing.assert_allclose(_show("vmap(model)", vmap(model)(v_batch)),
                               [-2.263083, -1.4514356, 0.9401485, 2.9187164], rtol=1e-5)


def test_neuron_jaxpr_is_hand_batched():
    model, _, v_batch = _neuron()
    jaxpr = xform.make_jaxpr(vmap(model))(v_batch)
    print(jaxpr)
    assert [e.primitive.name for e in jaxpr.eqns] == ["dot_general", "add", "tanh",
                                                      "reduce_sum"]
