"""The transforms: pytree handling and argument checking, then one call into an interpreter."""

from __future__ import annotations

from typing import Any

import jax

from xform._jit import Jitted as Jitted, Traced as Traced, eval_shape as eval_shape
from xform._jit import jit as jit, make_jaxpr as make_jaxpr
from xform._vmap import vmap as vmap
from xform._autodiff import (
    grad as grad, hessian as hessian, jacfwd as jacfwd, jacrev as jacrev, jvp as jvp,
    linear_transpose as linear_transpose, linearize as linearize,
    value_and_grad as value_and_grad, vjp as vjp,
)
from xform._custom import custom_jvp as custom_jvp, custom_vjp as custom_vjp
from xform._checkpoint import checkpoint as checkpoint, checkpoint_policies as checkpoint_policies, remat as remat  # noqa: E501

ShapeDtypeStruct = jax.ShapeDtypeStruct


def devices(backend: str | None = None) -> list:
    """The devices XLA can run on (``jax.devices``)."""
    return jax.devices(backend)


def device_put(x: Any, device: Any = None) -> Any:
    """Place a pytree of arrays on ``device`` (default: the default device)."""
    return jax.device_put(x, device)


def block_until_ready(x: Any) -> Any:
    """Wait until every array in the pytree ``x`` is computed; returns ``x``."""
    return jax.block_until_ready(x)
