"""``xform.dtypes``: JAX's ``jax.dtypes`` (dtype objects, promotion and canonicalization).

The dtype objects (``float0``, ``bfloat16``, ``prng_key``, ``extended``) are JAX's own, so
dtypes compare equal across the two libraries; ``result_type`` also accepts xform's traced
values, and every function follows the ``jax_enable_x64`` flag as JAX's do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import dtypes as _jax_dtypes

from xform.core import avals as _avals

bfloat16 = _jax_dtypes.bfloat16
float0 = _jax_dtypes.float0
extended = _jax_dtypes.extended
prng_key = _jax_dtypes.prng_key
finfo = _jax_dtypes.finfo
iinfo = _jax_dtypes.iinfo
TypePromotionError = _jax_dtypes.TypePromotionError


def canonicalize_dtype(dtype: Any, allow_extended_dtype: bool = False) -> Any:
    """``dtype`` as arrays hold it: 64-bit types become 32-bit ones unless ``jax_enable_x64``
    is on (JAX's ``jax.dtypes.canonicalize_dtype``)."""
    return _jax_dtypes.canonicalize_dtype(dtype, allow_extended_dtype=allow_extended_dtype)


def issubdtype(a: Any, b: Any) -> bool:
    """``numpy.issubdtype`` that knows JAX's extra dtypes (bfloat16 is floating, float0 and key
    types are their own), as JAX's."""
    return bool(_jax_dtypes.issubdtype(a, b))


def result_type(*args: Any, return_weak_type_flag: bool = False) -> Any:
    """The dtype JAX's promotion lattice gives ``args`` (values, traced values, dtypes, Python
    scalars), weak types included; with ``return_weak_type_flag``, ``(dtype, weak_type)``."""
    return _avals.result_type(*args, return_weak_type_flag=return_weak_type_flag)


def scalar_type_of(x: Any) -> type:
    """The Python scalar type (bool, int, float, complex) of ``x``'s dtype."""
    dtype = _avals.get_aval(x).dtype if not isinstance(x, (type, np.dtype, str)) else x
    return _jax_dtypes.scalar_type_of(np.zeros((), dtype))


def itemsize_bits(dtype: Any) -> int:
    """The number of bits one element of ``dtype`` takes (4 for int4, 8 for bool), as JAX's."""
    return _jax_dtypes.itemsize_bits(dtype)
