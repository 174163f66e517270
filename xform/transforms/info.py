"""``typeof`` and ``print_environment_info``."""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from typing import Any

import jax
import jaxlib
import numpy as np

from xform.core.trace import Tracer
from xform.random import KeyArray
from xform.lax.parallel import manual_axis_sizes


def typeof(x: Any) -> Any:
    """The abstract type of ``x`` (shape, dtype, weak type), as ``jax.typeof``: JAX's
    ``ShapedArray``, printed ``float32[3]``, for concrete values and xform's tracers alike.
    A value laid out over Explicit mesh axes prints its sharding type (``float32[8@x,4]``).
    Inside a shard_map body with ``check_vma=True`` it carries the mesh axes the value varies
    over, as JAX's does (``float32[3]{V:i}``, ``.manual_axis_type.varying``)."""
    if isinstance(x, Tracer):
        a = x.aval
        plain = (jax.core.ShapedArray(a.shape, a.dtype, weak_type=a.weak_type)
                 if a.sharding is None else
                 jax.core.ShapedArray(a.shape, a.dtype, weak_type=a.weak_type,
                                      sharding=a.sharding))
        return _with_varying_axes(plain, a.vma) if a.vma else plain
    if isinstance(x, KeyArray):  # typed keys: JAX's key dtype over the key array's shape
        return jax.core.ShapedArray(x.shape, x.dtype)
    return jax.typeof(x)


def _with_varying_axes(plain: Any, vma: frozenset) -> Any:
    # JAX's type of a value varying over manual mesh axes needs a sharding on a mesh whose
    # axes are Manual: the manual axes of the enclosing bodies, in mesh order
    sizes = manual_axis_sizes()
    names = tuple(sizes)
    try:
        mat = plain.manual_axis_type.update(varying=frozenset(vma))
        if plain.sharding.mesh.manual_axes:
            # a block in a body manual over some axes, split over the others: its own mesh
            sharding = plain.sharding
        else:
            mesh = jax.sharding.AbstractMesh(
                tuple(sizes[n] for n in names), names,
                axis_types=(jax.sharding.AxisType.Manual,) * len(names))
            sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
        return jax.core.ShapedArray(plain.shape, plain.dtype, weak_type=plain.weak_type,
                                    sharding=sharding, manual_axis_type=mat)
    except (TypeError, ValueError, AttributeError, KeyError, AssertionError):
        return plain  # a JAX whose types take the varying axes otherwise: no annotation


def print_environment_info(return_string: bool = False) -> str | None:
    """Print (or return) the versions of xform, JAX, jaxlib, numpy and Python, and the devices,
    as ``jax.print_environment_info``."""
    lines = [f"xform:    {importlib.metadata.version('xform')}",
             f"jax:      {jax.__version__}",
             f"jaxlib:   {jaxlib.__version__}",
             f"numpy:    {np.__version__}",
             f"python:   {sys.version}",
             f"device info: {jax.devices()[0].device_kind}-{jax.device_count()}, "
             f"{jax.local_device_count()} local devices",
             f"process_count: {jax.process_count()}",
             f"platform: {platform.uname()}"]
    text = "\n".join(lines) + "\n"
    if return_string:
        return text
    print(text, end="")
    return None
