"""What the sharding-type tests share: an Explicit (4, 2) mesh (set by conftest's `mesh`
fixture), two operands, and the leaf-by-leaf check that xform's results have JAX's values and
layouts."""

import jax
import numpy as np
from jax.sharding import AxisType

MESH = jax.make_mesh((4, 2), ("x", "y"), axis_types=(AxisType.Explicit,) * 2)
A = np.arange(8 * 16, dtype=np.float32).reshape(8, 16) / 50
B = np.arange(16 * 4, dtype=np.float32).reshape(16, 4) / 30


def same_values_and_layouts(got, want, atol=1e-5):
    """Values and layouts (specs; the sharding itself on one device) agree, leaf by leaf."""
    gl, wl = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(gl) == len(wl)
    for g, w in zip(gl, wl):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=atol)
        if not hasattr(w.sharding, "spec"):  # on one device
            assert g.sharding == w.sharding, (g.sharding, w.sharding)
            continue
        assert g.sharding.spec == w.sharding.spec, (g.sharding.spec, w.sharding.spec)
