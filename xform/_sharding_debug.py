"""``xform.debug``'s sharding helpers: draw how an array is laid out over devices.

xform's concrete arrays are ``jax.Array``s, so these are JAX's own drawings
(``jax.debug.visualize_array_sharding``, which needs the ``rich`` package). They describe
concrete arrays: a traced value has no layout yet (it is decided when XLA compiles), so inside
a transform they raise, naming what to do instead.
"""

from __future__ import annotations

from typing import Any, Callable

import jax

from xform.core.trace import Tracer

__all__ = ["visualize_array_sharding", "visualize_sharding", "inspect_array_sharding"]


def _concrete(x: Any, what: str) -> Any:
    if isinstance(x, Tracer):
        raise TypeError(
            f"xform.debug.{what} needs a concrete array, got a traced value of type "
            f"{x.aval.str_short()} (its layout is decided when XLA compiles the program). Call "
            "it on the result of the jit-ted function instead.")
    return x


def visualize_array_sharding(arr: Any, **kwargs: Any) -> None:
    """Print a table of which device holds which block of ``arr``
    (``jax.debug.visualize_array_sharding``; keyword arguments are passed on: ``use_color``,
    ``scale``, ``min_width``, ``max_width``)."""
    jax.debug.visualize_array_sharding(_concrete(arr, "visualize_array_sharding"), **kwargs)


def visualize_sharding(shape: Any, sharding: Any, **kwargs: Any) -> None:
    """Print the table for an array of ``shape`` laid out as ``sharding``
    (``jax.debug.visualize_sharding``)."""
    jax.debug.visualize_sharding(shape, sharding, **kwargs)


def inspect_array_sharding(value: Any, *, callback: Callable[[Any], Any]) -> None:
    """Call ``callback`` with the sharding of each leaf of ``value`` (concrete arrays)."""
    for leaf in jax.tree_util.tree_leaves(value):
        callback(_concrete(leaf, "inspect_array_sharding").sharding)
