"""``xform.sharding``: JAX's sharding names, as ``jax.sharding`` has them.

xform's concrete arrays are ``jax.Array``s and xform's ``jit`` hands shardings to ``jax.jit``, so
the sharding objects are JAX's own: ``Mesh``, ``NamedSharding``, ``PartitionSpec`` (``P``),
``SingleDeviceSharding``, ``AxisType``, ... This module re-exports them, plus the array
constructors that place data on a mesh (``make_array_from_callback`` and friends), which are
re-exported at the top level of ``xform`` too.

    >>> import xform
    >>> from xform.sharding import PartitionSpec as P, NamedSharding
    >>> mesh = xform.make_mesh((1,), ('x',))
    >>> xform.device_put(xform.numpy.arange(4.0), NamedSharding(mesh, P('x'))).sharding.spec
    PartitionSpec('x',)
"""

from __future__ import annotations

import jax
import jax.sharding as _js
from jax.sharding import (  # noqa: F401  (re-exports)
    AbstractDevice as AbstractDevice, AbstractMesh as AbstractMesh, AxisType as AxisType,
    Mesh as Mesh, NamedSharding as NamedSharding, PartitionSpec as PartitionSpec,
    Sharding as Sharding, SingleDeviceSharding as SingleDeviceSharding,
    get_abstract_mesh as get_abstract_mesh, get_mesh as get_mesh, set_mesh as set_mesh,
    use_abstract_mesh as use_abstract_mesh,
)

# JAX's, and on xform's traced values too
from xform.lax.sharding import (
    auto_axes as auto_axes, explicit_axes as explicit_axes, reshard as reshard,
)

P = PartitionSpec

# names this JAX may or may not have (they moved between releases)
for _name in ("ManualAxisType", "make_single_device_sharding",
              "use_mesh", "PositionalSharding", "GSPMDSharding"):
    if hasattr(_js, _name):
        globals()[_name] = getattr(_js, _name)

make_mesh = jax.make_mesh
make_array_from_callback = jax.make_array_from_callback
make_array_from_process_local_data = jax.make_array_from_process_local_data
make_array_from_single_device_arrays = jax.make_array_from_single_device_arrays

__all__ = [n for n in dir(_js) if not n.startswith("_")] + [
    "P", "make_mesh", "make_array_from_callback", "make_array_from_process_local_data",
    "make_array_from_single_device_arrays"]
__all__ = [n for n in __all__ if n in globals()]
