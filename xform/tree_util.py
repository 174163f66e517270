"""Pytrees: a re-export of ``jax.tree_util`` (C++ flattening; flax/equinox/optax-style
containers work)."""

from jax.tree_util import *  # noqa: F401,F403
from jax.tree_util import (  # noqa: F401
    register_dataclass, register_pytree_node, register_pytree_node_class,
    register_pytree_with_keys, tree_flatten, tree_leaves, tree_map, tree_structure,
    tree_unflatten,
)
