"""Device placement helpers with JAX's names (arrays are ``jax.Array``s, so these are JAX's)."""

from __future__ import annotations

from typing import Any

import jax

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
