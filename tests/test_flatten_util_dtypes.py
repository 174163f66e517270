"""xform.flatten_util.ravel_pytree and xform.dtypes against JAX's on the same inputs."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.dtypes
import xform.flatten_util
import xform.numpy as xnp

TREES = [
    {"a": np.ones(2, np.float32), "b": (np.arange(3, dtype=np.int32), np.float16(2.0)), "c": 3},
    [np.arange(6.0, dtype=np.float32).reshape(2, 3), np.float32(1.5)],
    (np.array([1 + 2j], np.complex64), np.ones((1, 1), np.float32)),
    {},
]


def _same(want, got):
    assert jax.tree.structure(want) == jax.tree.structure(got)
    for w, g in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
        assert np.asarray(g).dtype == np.asarray(w).dtype and np.shape(g) == np.shape(w)
        np.testing.assert_allclose(np.asarray(g), np.asarray(w))


@pytest.mark.parametrize("i", range(len(TREES)))
def test_ravel_pytree_matches_jax(i):
    tree = TREES[i]
    jf, ju = jax.flatten_util.ravel_pytree(tree)
    xf, xu = xform.flatten_util.ravel_pytree(tree)
    _same(jf, xf)
    _same(ju(jf), xu(xf))
    _same(ju(jf), xu(jf))  # unravel accepts a JAX array too
    # under jit: ravel and unravel inside
    _same(jax.jit(lambda t: jax.flatten_util.ravel_pytree(t)[0])(tree),
          xform.jit(lambda t: xform.flatten_util.ravel_pytree(t)[0])(tree))


def test_ravel_pytree_grad_and_vmap():
    params = {"w": np.arange(6.0, dtype=np.float32).reshape(2, 3), "b": np.ones(3, np.float32)}

    def loss(lib, rp):
        def f(flat, unravel):
            p = unravel(flat)
            return (p["w"].sum(0) * p["b"]).sum() ** 2
        flat, unravel = rp(params)
        return (lib.grad(lambda v: f(v, unravel))(flat),
                lib.vmap(lambda v: unravel(v)["b"])(lib.numpy.stack([flat, 2 * flat])))
    _same(loss(jax, jax.flatten_util.ravel_pytree),
          loss(xform, xform.flatten_util.ravel_pytree))


def test_unravel_errors_match_jax():
    tree = TREES[0]
    for rp in (jax.flatten_util.ravel_pytree, xform.flatten_util.ravel_pytree):
        flat, unravel = rp(tree)
        with pytest.raises(TypeError, match="expected dtype float32"):
            unravel(flat.astype(np.float16))
        with pytest.raises(ValueError):
            unravel(flat[:2])


DTYPE_ARGS = [(np.int8, 1), (np.int32, 1.0), (np.float16, np.float32), ("bfloat16", np.float16),
              (np.uint8, np.int8), (np.bool_,), (np.complex64, 2.0), (1, 2.0)]


@pytest.mark.parametrize("args", DTYPE_ARGS, ids=str)
def test_result_type(args):
    assert xform.dtypes.result_type(*args) == jax.dtypes.result_type(*args)
    assert (xform.dtypes.result_type(*args, return_weak_type_flag=True)
            == jax.dtypes.result_type(*args, return_weak_type_flag=True))


def test_result_type_of_traced_values():
    def f(lib, nl):
        return lambda x: nl.zeros((), lib.dtypes.result_type(x, 1.0))
    assert (xform.jit(f(xform, xnp))(np.int32(1)).dtype
            == jax.jit(f(jax, jnp))(np.int32(1)).dtype)


@pytest.mark.parametrize("name", ["float0", "bfloat16", "prng_key", "extended", "finfo", "iinfo",
                                  "TypePromotionError"])
def test_same_objects(name):
    assert getattr(xform.dtypes, name) is getattr(jax.dtypes, name)


@pytest.mark.parametrize("a,b", [("bfloat16", np.floating), (np.int8, np.integer),
                                 (jax.dtypes.float0, np.floating), (np.float32, np.inexact),
                                 (jax.dtypes.prng_key, jax.dtypes.extended)])
def test_issubdtype(a, b):
    assert xform.dtypes.issubdtype(a, b) == jax.dtypes.issubdtype(a, b)


@pytest.mark.parametrize("d", [np.float64, np.int64, np.uint64, np.complex128, np.float32])
def test_canonicalize_dtype(d):
    assert xform.dtypes.canonicalize_dtype(d) == jax.dtypes.canonicalize_dtype(d)


@pytest.mark.parametrize("x", [1, 1.0, True, 1j, np.int8(1), np.float16(1)])
def test_scalar_type_of_and_itemsize(x):
    assert xform.dtypes.scalar_type_of(x) is jax.dtypes.scalar_type_of(x)
    d = np.asarray(x).dtype
    assert xform.dtypes.itemsize_bits(d) == jax.dtypes.itemsize_bits(d)
