"""``xform.ad_checkpoint``: JAX's ``jax.ad_checkpoint`` names (``checkpoint``, ``checkpoint_name``,
``checkpoint_policies``, ``remat``)."""

from xform.transforms.checkpoint import (
    checkpoint as checkpoint, checkpoint_name as checkpoint_name,
    checkpoint_policies as checkpoint_policies, remat as remat,
)
