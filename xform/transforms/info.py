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


def typeof(x: Any) -> Any:
    """The abstract type of ``x`` (shape, dtype, weak type), as ``jax.typeof``: JAX's
    ``ShapedArray``, printed ``float32[3]``, for concrete values and xform's tracers alike."""
    if isinstance(x, Tracer):
        a = x.aval
        return jax.core.ShapedArray(a.shape, a.dtype, weak_type=a.weak_type)
    if isinstance(x, KeyArray):  # typed keys: JAX's key dtype over the key array's shape
        return jax.core.ShapedArray(x.shape, x.dtype)
    return jax.typeof(x)


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
