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
