"""dtype promotion and broadcasting for xform.numpy (JAX's rules, weak types included)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xform.core.avals import is_python_scalar, result_type
from xform.core.trace import Tracer, to_aval
from xform.lax import elementwise as lax_ew


def promote_dtypes(*args: Any) -> list:
    """Convert every argument to the common dtype JAX's lattice gives them."""
    if len(args) < 2:
        return list(args)
    dtype, weak = result_type(*args, return_weak_type_flag=True)
    out = []
    for a in args:
        if is_python_scalar(a):
            from xform.lax._helpers import weak_scalar
            out.append(weak_scalar(a, dtype))
            continue
        aval = to_aval(a)
        if aval.dtype != dtype or aval.weak_type != weak:
            a = lax_ew._convert_weak(a, dtype, weak)
        out.append(a)
    return out


def promote_to_inexact(*args: Any) -> list:
    """Integer and bool arguments become the default float dtype first (as jnp.sin(int))."""
    out = []
    for a in args:
        aval = to_aval(a)
        if not np.issubdtype(aval.dtype, np.inexact):
            a = lax_ew._convert_weak(a, result_type(aval.dtype, 1.0), aval.weak_type)
        out.append(a)
    return promote_dtypes(*out) if len(out) > 1 else out


def is_array_like(x: Any) -> bool:
    return isinstance(x, Tracer) or hasattr(x, "shape") and hasattr(x, "dtype")
