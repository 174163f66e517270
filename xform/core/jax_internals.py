"""Every use of a JAX internal (``jax._src``) in xform, in one place.

xform talks to JAX through its public API wherever that API does the job. The few things below
have no public equivalent; each is imported here and nowhere else, so a JAX release that moves one
fails at ``import xform`` with a message naming it, and ``tests/test_jax_internals.py`` exercises
each of them.
"""

from __future__ import annotations

try:
    from jax._src.lax.lax import _convert_element_type
except ImportError as e:  # pragma: no cover - only with a JAX that moved it
    raise ImportError(
        "xform needs jax._src.lax.lax._convert_element_type (conversion that keeps a weak type); "
        f"this JAX version moved it ({e}). Update xform/core/jax_internals.py.") from e


def convert_element_type(x, dtype, weak_type: bool):
    """``x`` converted to ``dtype`` with the given weak type (``jax.lax.convert_element_type``
    always gives a strong type)."""
    return _convert_element_type(x, dtype, weak_type=weak_type)
