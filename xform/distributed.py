"""Multi-process runs through JAX's distributed runtime (``jax.distributed``).

Every process runs the same program; ``initialize`` connects them (one coordinator, a process
count and this process's id), after which ``xform.devices()`` lists the devices of every
process, ``xform.local_devices()`` this process's, and a ``Mesh`` over all of them makes
``jit`` with shardings and ``shard_map`` span the processes (XLA does the communication; on CPU,
through the collectives implementation chosen with
``jax.config.update('jax_cpu_collectives_implementation', 'gloo')``). Call ``initialize`` before
anything touches a device.

    >>> import xform
    >>> xform.distributed.is_initialized()
    False
"""

from __future__ import annotations

from typing import Any, Sequence

import jax


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None,
               local_device_ids: int | Sequence[int] | None = None, **kwargs: Any) -> None:
    """Connect this process to the others (``jax.distributed.initialize``, same arguments).

    Arguments:
        coordinator_address: ``host:port`` of process 0's coordinator service.
        num_processes: how many processes take part.
        process_id: this process's index, ``0 <= process_id < num_processes``.
        local_device_ids: which of this machine's devices this process uses.
        kwargs: the rest of ``jax.distributed.initialize``'s options (timeouts, ...).

    On clusters JAX can detect (SLURM, Kubernetes, cloud TPUs) the arguments may be omitted.
    """
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id,
                               local_device_ids=local_device_ids, **kwargs)


def shutdown() -> None:
    """Disconnect from the other processes (``jax.distributed.shutdown``)."""
    jax.distributed.shutdown()


def is_initialized() -> bool:
    """Whether ``initialize`` has connected this process."""
    return jax.distributed.is_initialized()
