"""xform.nn modules: pytrees, layers against jax.lax, ensembles (stack/unstack/vmap), losses."""

import dataclasses

import jax
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import nn
from xform.nn import losses

KEY = xform.random.key(0)


def _keys(n):
    return xform.random.split(KEY, n)


class Affine(nn.Module):
    w: xform.Array
    b: xform.Array
    tag: str = nn.static_field(default="affine")

    def __call__(self, x):
        return self.w * x + self.b


def test_module_is_frozen_dataclass_pytree():
    m = Affine(xnp.ones(3), xnp.zeros(3))
    assert dataclasses.is_dataclass(m)
    leaves, treedef = jax.tree_util.tree_flatten(m)
    assert len(leaves) == 2                     # the static tag is not a leaf
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(back, Affine) and back.tag == "affine"
    np.testing.assert_array_equal(back.w, m.w)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.w = xnp.zeros(3)
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(m)]
    assert paths == [".w", ".b"]


def test_static_field_is_part_of_structure():
    a = Affine(xnp.ones(3), xnp.zeros(3), tag="a")
    b = Affine(xnp.ones(3), xnp.zeros(3), tag="b")
    assert jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b)


@pytest.mark.parametrize("layer", [
    lambda: nn.Linear(3, 4, key=KEY),
    lambda: nn.Linear(3, 4, use_bias=False, key=KEY),
    lambda: nn.Conv2d(2, 3, 3, key=KEY),
    lambda: nn.LayerNorm(4),
    lambda: nn.Embedding(5, 3, key=KEY),
    lambda: nn.MLP(3, 2, 8, 2, key=KEY),
    lambda: nn.Sequential([nn.Linear(3, 4, key=KEY), nn.Lambda(nn.relu)]),
    lambda: nn.MaxPool2d(2),
    lambda: nn.Dropout(0.3),
])
def test_pytree_round_trip(layer):
    m = layer()
    leaves, treedef = jax.tree_util.tree_flatten(m)
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert type(back) is type(m)
    assert jax.tree_util.tree_structure(back) == treedef
    for x, y in zip(leaves, jax.tree_util.tree_leaves(back)):
        assert x is y
    assert all(nn.is_array(x) for x in leaves)
    repr(m)


def test_linear_grad_and_jit():
    m = nn.Linear(3, 2, key=KEY)
    x = xnp.arange(3.0)
    np.testing.assert_allclose(m(x), np.asarray(m.weight) @ np.arange(3.0) + m.bias, rtol=1e-6)
    g = xform.grad(lambda m: xnp.sum(m(x)))(m)
    assert isinstance(g, nn.Linear)
    np.testing.assert_allclose(g.weight, np.tile(np.arange(3.0), (2, 1)))
    np.testing.assert_allclose(g.bias, np.ones(2))
    np.testing.assert_allclose(xform.jit(lambda m, x: m(x))(m, x), m(x), rtol=1e-6)


def test_layer_needs_one_example():
    with pytest.raises(ValueError, match="vmap"):
        nn.Linear(3, 2, key=KEY)(xnp.ones((5, 3)))


@pytest.mark.parametrize("stride,padding", [(1, "VALID"), (2, "SAME"), (1, 1)])
def test_conv2d_matches_jax_lax(stride, padding):
    conv = nn.Conv2d(2, 3, (3, 2), stride=stride, padding=padding, key=KEY)
    x = np.random.RandomState(0).randn(2, 7, 6).astype(np.float32)
    pad = [(padding, padding)] * 2 if isinstance(padding, int) else padding
    ref = jax.lax.conv_general_dilated(x[None], np.asarray(conv.weight), (stride, stride),
                                       pad)[0] + np.asarray(conv.bias)
    np.testing.assert_allclose(conv(x), ref, rtol=1e-5, atol=1e-5)


def test_pools_match_jax_lax():
    x = np.random.RandomState(1).randn(3, 6, 7).astype(np.float32)
    ref = jax.lax.reduce_window(x, -np.inf, jax.lax.max, (1, 2, 2), (1, 2, 2), "VALID")
    np.testing.assert_allclose(nn.MaxPool2d(2)(x), ref)
    ref = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 3, 3), (1, 1, 2), "VALID") / 9
    np.testing.assert_allclose(nn.AvgPool2d(3, (1, 2))(x), ref, rtol=1e-6)


def test_conv_pool_batched_by_vmap_equals_loop():
    conv, pool = nn.Conv2d(1, 2, 3, key=KEY), nn.MaxPool2d(2)
    xs = np.random.RandomState(2).randn(4, 1, 8, 8).astype(np.float32)
    out = xform.vmap(lambda x: pool(conv(x)))(xs)
    np.testing.assert_allclose(out, np.stack([pool(conv(x)) for x in xs]), rtol=1e-5)


def test_dropout():
    d = nn.Dropout(0.5)
    x = xnp.ones(1000)
    y = np.asarray(d(x, key=KEY))
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    np.testing.assert_array_equal(d(x, inference=True), x)
    np.testing.assert_array_equal(nn.Dropout(0.5, inference=True)(x), x)
    with pytest.raises(ValueError, match="key"):
        d(x)


def test_layernorm_embedding_mlp_sequential():
    x = xnp.asarray([1.0, 2.0, 4.0, 7.0])
    y = np.asarray(nn.LayerNorm(4)(x))
    np.testing.assert_allclose([y.mean(), y.var()], [0.0, 1.0], atol=1e-4)
    emb = nn.Embedding(5, 3, key=KEY)
    np.testing.assert_array_equal(emb(xnp.asarray([4, 1])), np.asarray(emb.weight)[[4, 1]])
    mlp = nn.MLP(3, 2, 8, 2, key=KEY)
    assert len(mlp.layers) == 3 and mlp(xnp.ones(3)).shape == (2,)
    seq = nn.Sequential([nn.Linear(3, 8, key=KEY), nn.Lambda(nn.relu), nn.Dropout(0.5),
                         nn.Linear(8, 2, key=KEY)])
    assert seq(xnp.ones(3), key=KEY).shape == (2,)
    assert isinstance(seq[0], nn.Linear) and len(seq[:2]) == 2


def test_partition_combine():
    m = nn.Sequential([nn.Linear(3, 4, key=KEY), nn.LayerNorm(4)])
    arrays, rest = nn.partition(m, nn.is_array)
    assert jax.tree_util.tree_leaves(rest) == []
    back = nn.combine(arrays, rest)
    np.testing.assert_allclose(back(xnp.ones(3)), m(xnp.ones(3)))
    # only the 2-d weights: train them, keep the rest fixed
    w_only, others = nn.partition(m, lambda x: nn.is_array(x) and x.ndim == 2)
    assert len(jax.tree_util.tree_leaves(w_only)) == 1
    assert len(jax.tree_util.tree_leaves(others)) == 3
    grads = xform.grad(lambda w, o: xnp.sum(nn.combine(w, o)(xnp.ones(3))))(w_only, others)
    assert grads.layers[0].weight.shape == (4, 3)


def test_stack_unstack_round_trip():
    models = [nn.MLP(3, 2, 4, 1, key=k) for k in _keys(3)]
    ens = nn.stack(models)
    assert isinstance(ens, nn.MLP) and ens.layers[0].weight.shape == (3, 4, 3)
    for a, b in zip(models, nn.unstack(ens)):
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
            np.testing.assert_array_equal(x, y)
        assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)


def test_stack_names_first_difference():
    with pytest.raises(ValueError, match=r"static field \.layers\[1\]\.out_features"):
        nn.stack([nn.Sequential([nn.Linear(2, 3, key=KEY), nn.Linear(3, 4, key=KEY)]),
                  nn.Sequential([nn.Linear(2, 3, key=KEY), nn.Linear(3, 5, key=KEY)])])
    with pytest.raises(ValueError, match=r"\.w has shape"):
        nn.stack([Affine(xnp.ones(3), xnp.ones(3)), Affine(xnp.ones(2), xnp.ones(3))])


def test_vmap_over_stacked_modules_equals_loop():
    def lenet_like(key):
        k1, k2 = xform.random.split(key)
        return nn.Sequential([nn.Conv2d(1, 2, 3, key=k1), nn.Lambda(nn.relu), nn.MaxPool2d(2),
                              nn.Lambda(xnp.ravel), nn.Linear(18, 3, key=k2)])

    models = [lenet_like(k) for k in _keys(4)]
    ens = nn.stack(models)
    x = np.random.RandomState(3).randn(1, 8, 8).astype(np.float32)
    out = xform.vmap(lambda m, x: m(x), in_axes=(0, None))(ens, x)
    np.testing.assert_allclose(out, np.stack([m(x) for m in models]), rtol=1e-5, atol=1e-6)
    # one minibatch per member, each batch mapped again inside
    xb = np.random.RandomState(4).randn(4, 5, 1, 8, 8).astype(np.float32)
    out = xform.jit(xform.vmap(lambda m, xs: xform.vmap(m)(xs)))(ens, xb)
    ref = np.stack([np.stack([m(x) for x in xs]) for m, xs in zip(models, xb)])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_module_as_vmapped_function_keeps_params_unbatched():
    m = nn.Linear(3, 2, key=KEY)
    xs = np.random.RandomState(5).randn(6, 3).astype(np.float32)
    np.testing.assert_allclose(xform.vmap(m)(xs), np.stack([m(x) for x in xs]), rtol=1e-6)


def test_vmap_built_ensemble():
    ens = xform.vmap(lambda k: nn.Linear(3, 2, key=k))(_keys(4))
    assert isinstance(ens, nn.Linear) and ens.weight.shape == (4, 2, 3)


# -- losses ---------------------------------------------------------------------------------

LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, 0.0, 1e4], [0.5, -0.3, 2.0]], np.float32)
INT_LABELS = np.array([1, 2, 0], np.int32)


def _log_softmax_ref(z):
    z = z.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_softmax_cross_entropy_values():
    ref = -_log_softmax_ref(LOGITS)[np.arange(3), INT_LABELS]
    out = losses.softmax_cross_entropy_with_integer_labels(LOGITS, INT_LABELS)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    onehot = np.eye(3, dtype=np.float32)[INT_LABELS]
    np.testing.assert_allclose(losses.softmax_cross_entropy(LOGITS, onehot), ref, rtol=1e-6)
    with pytest.raises(ValueError, match="integer_labels"):
        losses.softmax_cross_entropy(LOGITS, INT_LABELS)


@pytest.mark.parametrize("loss", [
    lambda z: losses.softmax_cross_entropy_with_integer_labels(z, INT_LABELS),
    lambda z: losses.softmax_cross_entropy(z, np.eye(3, dtype=np.float32)[INT_LABELS]),
    lambda z: losses.sigmoid_binary_cross_entropy(z, (z > 0).astype(np.float32) * 0.0),
    # xnp, not np: numpy's ones_like of a traced z raises, as it does under JAX
    lambda z: losses.sigmoid_binary_cross_entropy(z, xnp.ones_like(z)),
    lambda z: losses.mean_squared_error(z * 1e-3, xnp.zeros_like(z)),
])
def test_losses_nan_free_at_extremes(loss):
    value, grad = xform.value_and_grad(lambda z: xnp.sum(loss(z)))(LOGITS)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))


def test_sigmoid_bce_and_mse_values():
    z = np.array([-3.0, 0.0, 2.0], np.float32)
    y = np.array([0.0, 1.0, 0.3], np.float32)
    p = 1 / (1 + np.exp(-z.astype(np.float64)))
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(z, y), ref, rtol=1e-5)
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(1e4, 0.0), 1e4)
    np.testing.assert_allclose(losses.mean_squared_error(z, y), np.mean((z - y) ** 2),
                               rtol=1e-6)
