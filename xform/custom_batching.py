"""``xform.custom_batching``: JAX's ``jax.custom_batching`` (``custom_vmap``,
``sequential_vmap``)."""

from xform.lax.custom_batching import (
    custom_vmap as custom_vmap, sequential_vmap as sequential_vmap,
)
