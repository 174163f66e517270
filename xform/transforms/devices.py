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


def device_get(x: Any) -> Any:
    """Copy a pytree of arrays to the host as numpy arrays (``jax.device_get``)."""
    return jax.device_get(x)


def device_count(backend: str | None = None) -> int:
    """The number of devices of all processes (``jax.device_count``)."""
    return jax.device_count(backend)


def local_device_count(backend: str | None = None) -> int:
    """The number of devices this process drives (``jax.local_device_count``)."""
    return jax.local_device_count(backend)


def local_devices(process_index: int | None = None, backend: str | None = None) -> list:
    """The devices of one process, this one by default (``jax.local_devices``)."""
    return jax.local_devices(process_index, backend)


def default_backend() -> str:
    """The platform name of the default backend: ``'cpu'``, ``'gpu'`` or ``'tpu'``."""
    return jax.default_backend()


def process_index(backend: str | None = None) -> int:
    """This process's index in a multi-process run (0 alone)."""
    return jax.process_index(backend)


def process_count(backend: str | None = None) -> int:
    """The number of processes in a multi-process run (1 alone)."""
    return jax.process_count(backend)


def live_arrays(platform: str | None = None) -> list:
    """The arrays alive on the backend's devices (``jax.live_arrays``); xform's arrays are
    ``jax.Array``s, so they are all in it."""
    return jax.live_arrays(platform)
