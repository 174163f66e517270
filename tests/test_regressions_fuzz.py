"""Regressions found by the differential property test (tests/test_differential.py), each
shrunk to a few lines and compared against JAX on the same input."""

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp


def test_dtype_queries_return_python_bools_under_jit():
    # xform.numpy's module-level `bool` (the dtype) shadowed the builtin: issubdtype and
    # can_cast returned arrays, so `if jnp.issubdtype(...)` failed under jit
    def probe(np_mod):
        def f(x):
            flags = (np_mod.issubdtype(x.dtype, np_mod.floating),
                     np_mod.issubdtype(np_mod.result_type(x), np_mod.integer),
                     np_mod.can_cast(np.int32, np.float32))
            assert all(type(b) is bool for b in flags), flags
            return x * 2 if flags[0] else x
        return f

    x = np.float32(1.5)
    pairs = [(lambda f: f, lambda f: f), (xform.jit, jax.jit), (xform.grad, jax.grad),
             (lambda f: xform.jit(xform.grad(f)), lambda f: jax.jit(jax.grad(f)))]
    for xform_t, jax_t in pairs:
        np.testing.assert_allclose(xform_t(probe(xnp))(x), jax_t(probe(jnp))(x))


def test_fourth_order_reverse_through_integer_outputs():
    # the transpose of a staged call got float0 cotangents of integer outputs as real inputs and
    # added two of them (`add does not accept dtype void`) at the fourth reverse level
    x = np.array([0.79, 1.9, -1.41], np.float32)

    def build(jax_mod, np_mod, lax_mod):
        def f(x):
            i = np_mod.argmin(x)
            return np_mod.sin(lax_mod.dynamic_index_in_dim(x, i, keepdims=False)) + np_mod.sin(
                lax_mod.dynamic_index_in_dim(x, 2, keepdims=False))

        def total(g):
            return lambda x: np_mod.sum(g(x))

        return jax_mod.grad(total(jax_mod.jacrev(jax_mod.jacrev(jax_mod.jacrev(f)))))

    np.testing.assert_allclose(build(xform, xnp, xform.lax)(x), build(jax, jnp, jax.lax)(x),
                               rtol=1e-5, atol=1e-6)
