"""Helpers of xform.scipy.stats: argument promotion and the per-distribution namespaces."""

from __future__ import annotations

import types
from typing import Any, Callable

import xform.numpy as xnp
from xform.lax._helpers import weak_scalar
from xform.scipy.special import _inexact


def promote(*args: Any) -> list:
    """JAX's ``promote_args_inexact``: one inexact dtype, one broadcast shape."""
    return list(xnp.broadcast_arrays(*_inexact(*args)))


def c(x: Any, value: float) -> Any:
    """A weak scalar of ``x``'s dtype (it neither promotes nor strengthens ``x``'s type)."""
    return weak_scalar(float(value), x.dtype)


def namespace(name: str, **funcs: Callable) -> types.SimpleNamespace:
    """``xform.scipy.stats.<name>``: the distribution's functions, named as SciPy's methods."""
    for method, f in funcs.items():
        f.__name__ = method
        f.__qualname__ = f"{name}.{method}"
        if f.__doc__ is None:
            f.__doc__ = f"``scipy.stats.{name}.{method}``, as ``jax.scipy.stats.{name}``."
    ns = types.SimpleNamespace(**funcs)
    ns.__name__ = f"xform.scipy.stats.{name}"
    return ns
