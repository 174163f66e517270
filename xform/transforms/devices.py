"""Device placement helpers with JAX's names (arrays are ``jax.Array``s, so these are JAX's)."""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import NamedSharding, PartitionSpec, Sharding

from xform.core.trace import Tracer
from xform.lax.sharding import reshard, resolve_sharding, with_sharding_constraint

ShapeDtypeStruct = jax.ShapeDtypeStruct


def devices(backend: str | None = None) -> list:
    """The devices XLA can run on (``jax.devices``)."""
    return jax.devices(backend)


def device_put(x: Any, device: Any = None, *, src: Any = None, donate: bool = False,
               may_alias: bool | None = None) -> Any:
    """Place a pytree of arrays on ``device``: a device, a ``Sharding``, or (under a mesh set
    with ``xform.set_mesh``) a bare ``PartitionSpec`` (``jax.device_put``). Under an xform
    transform a sharding becomes a ``with_sharding_constraint`` on the traced values, as JAX's
    ``device_put`` does under ``jit`` (over a mesh with Explicit axes a ``reshard``: the
    sharding becomes the values' type, as in JAX); a device placement leaves traced values as
    they are."""
    leaves = jax.tree_util.tree_leaves(x)
    if not any(isinstance(v, Tracer) for v in leaves):
        return jax.device_put(x, device, src=src, donate=donate, may_alias=may_alias)
    if isinstance(device, (Sharding, PartitionSpec)) or (
            device is not None and not isinstance(device, jax.Device)
            and all(isinstance(s, (Sharding, PartitionSpec, type(None)))
                    for s in jax.tree_util.tree_leaves(device, is_leaf=lambda s: s is None))):
        targets = jax.tree_util.tree_leaves(device)
        if targets and all(_explicit(t) for t in targets):
            return reshard(x, device)
        return with_sharding_constraint(x, device)
    return x


def _explicit(s: Any) -> bool:
    """Whether ``s`` lays a value out over a mesh with Explicit axes (its type then says so)."""
    s = resolve_sharding(s, "device_put")
    return isinstance(s, NamedSharding) and bool(s.mesh.explicit_axes)


def local_devices(process_index: int | None = None, backend: str | None = None) -> list:
    """The devices attached to this process (``jax.local_devices``)."""
    return jax.local_devices(process_index, backend)


def device_count(backend: str | None = None) -> int:
    """The number of devices of all processes (``jax.device_count``)."""
    return jax.device_count(backend)


def local_device_count(backend: str | None = None) -> int:
    """The number of devices attached to this process (``jax.local_device_count``)."""
    return jax.local_device_count(backend)


def process_index(backend: str | None = None) -> int:
    """This process's index in a multi-process run (0 alone; ``jax.process_index``)."""
    return jax.process_index(backend)


def process_count(backend: str | None = None) -> int:
    """The number of processes of a multi-process run (1 alone; ``jax.process_count``)."""
    return jax.process_count(backend)


def block_until_ready(x: Any) -> Any:
    """Wait until every array in the pytree ``x`` is computed; returns ``x``."""
    return jax.block_until_ready(x)


def device_get(x: Any) -> Any:
    """Copy a pytree of arrays to the host as numpy arrays (``jax.device_get``)."""
    return jax.device_get(x)


def default_backend() -> str:
    """The platform name of the default backend: ``'cpu'``, ``'gpu'`` or ``'tpu'``."""
    return jax.default_backend()


def live_arrays(platform: str | None = None) -> list:
    """The arrays alive on the backend's devices (``jax.live_arrays``); xform's arrays are
    ``jax.Array``s, so they are all in it."""
    return jax.live_arrays(platform)


def copy_to_host_async(x: Any) -> Any:
    """Start copying every array in the pytree ``x`` to the host without waiting
    (``jax.copy_to_host_async``), so that a later ``device_get`` or ``np.asarray`` finds the data
    there; returns ``x``."""
    return jax.copy_to_host_async(x)


# A device, and one shard of an array: xform's arrays live on JAX's devices as they are
Device = jax.Device
Shard = jax.Shard
