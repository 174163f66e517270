"""dtype objects, promotion queries and constants of xform.numpy (JAX's lattice and names)."""

from __future__ import annotations

import builtins
from typing import Any

import jax.numpy as _jnp_consts  # dtype objects and finfo/iinfo only: no computation
import numpy as np
from jax import dtypes as _jax_dtypes

from xform.core.avals import canonicalize_dtype, result_type as _result_type
from xform.numpy._creation import asarray

_JaxScalarType = type(_jnp_consts.float32)


class _ScalarType(_JaxScalarType):
    """A scalar type of xform.numpy: JAX's (``dtype=xnp.float32``, ``==``, ``isinstance`` and
    ``np.dtype`` behave as in jax.numpy), but calling it converts with ``xform.numpy.asarray``.
    JAX's own would hand an xform tracer to numpy: ``xnp.float32(x)`` of a traced ``x`` must be
    a cast that keeps its derivative, not the value without it."""

    def __call__(self, x: Any) -> Any:
        return asarray(x, dtype=self.dtype)


def _scalar_type(jax_type: Any) -> Any:
    t = _ScalarType(jax_type.__name__, (object,), {"dtype": jax_type.dtype})
    t.__module__ = jax_type.__module__  # prints as jax.numpy.float32, as the type it stands for
    t.__doc__ = jax_type.__doc__
    return t


# JAX's scalar-type objects: ``xnp.float32(1.0)`` and ``dtype=xnp.float32`` work as in jax.numpy
float16 = _scalar_type(_jnp_consts.float16)
bfloat16 = _scalar_type(_jnp_consts.bfloat16)
float32 = _scalar_type(_jnp_consts.float32)
float64 = _scalar_type(_jnp_consts.float64)
int8 = _scalar_type(_jnp_consts.int8)
int16 = _scalar_type(_jnp_consts.int16)
int32 = _scalar_type(_jnp_consts.int32)
int64 = _scalar_type(_jnp_consts.int64)
uint8 = _scalar_type(_jnp_consts.uint8)
uint16 = _scalar_type(_jnp_consts.uint16)
uint32 = _scalar_type(_jnp_consts.uint32)
uint64 = _scalar_type(_jnp_consts.uint64)
bool_ = _scalar_type(_jnp_consts.bool_)
complex64 = _scalar_type(_jnp_consts.complex64)
complex128 = _scalar_type(_jnp_consts.complex128)
# numpy's other names for them, and the narrow float/int types XLA knows
bool = _scalar_type(_jnp_consts.bool)  # noqa: A001
int_ = _scalar_type(_jnp_consts.int_)
uint = _scalar_type(_jnp_consts.uint)
float_ = _scalar_type(_jnp_consts.float_)
complex_ = _scalar_type(_jnp_consts.complex_)
single = _scalar_type(_jnp_consts.single)
double = _scalar_type(_jnp_consts.double)
csingle = _scalar_type(_jnp_consts.csingle)
cdouble = _scalar_type(_jnp_consts.cdouble)
int2 = _scalar_type(_jnp_consts.int2)
int4 = _scalar_type(_jnp_consts.int4)
uint2 = _scalar_type(_jnp_consts.uint2)
uint4 = _scalar_type(_jnp_consts.uint4)
int1 = _scalar_type(_jnp_consts.int1)
uint1 = _scalar_type(_jnp_consts.uint1)
float4_e2m1fn = _scalar_type(_jnp_consts.float4_e2m1fn)
float6_e2m3fn = _scalar_type(_jnp_consts.float6_e2m3fn)
float6_e3m2fn = _scalar_type(_jnp_consts.float6_e3m2fn)
float8_e3m4 = _scalar_type(_jnp_consts.float8_e3m4)
float8_e4m3 = _scalar_type(_jnp_consts.float8_e4m3)
float8_e4m3b11fnuz = _scalar_type(_jnp_consts.float8_e4m3b11fnuz)
float8_e4m3fn = _scalar_type(_jnp_consts.float8_e4m3fn)
float8_e4m3fnuz = _scalar_type(_jnp_consts.float8_e4m3fnuz)
float8_e5m2 = _scalar_type(_jnp_consts.float8_e5m2)
float8_e5m2fnuz = _scalar_type(_jnp_consts.float8_e5m2fnuz)
float8_e8m0fnu = _scalar_type(_jnp_consts.float8_e8m0fnu)
dtype = np.dtype

# abstract classes for issubdtype
generic = np.generic
number = np.number
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger
character = np.character
flexible = np.flexible
object_ = np.object_
ComplexWarning = _jnp_consts.ComplexWarning

pi = float(np.pi)
e = float(np.e)
inf = float(np.inf)
nan = float(np.nan)
euler_gamma = float(np.euler_gamma)
newaxis = None

finfo = _jnp_consts.finfo
iinfo = _jnp_consts.iinfo


def result_type(*args: Any) -> np.dtype:
    """The dtype JAX's promotion lattice gives ``args`` (arrays, dtypes or Python scalars).

    >>> result_type(int8, 1)
    dtype('int8')
    """
    return _result_type(*args)


def promote_types(a: Any, b: Any) -> np.dtype:
    """The promoted dtype of two dtypes, as ``jax.numpy.promote_types`` (no weak types)."""
    return canonicalize_dtype(_jnp_consts.promote_types(a, b))


def issubdtype(arg1: Any, arg2: Any) -> bool:
    """True if ``arg1`` is a sub-dtype of ``arg2`` (bfloat16 counts as floating)."""
    # builtins.bool: this module's `bool` is the dtype jnp.bool, whose call makes an array
    return builtins.bool(_jax_dtypes.issubdtype(arg1, arg2))


def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    """numpy's ``can_cast`` on dtypes."""
    return builtins.bool(np.can_cast(np.dtype(from_), np.dtype(to), casting))


def default_float() -> np.dtype:
    return canonicalize_dtype(np.float64)


def default_int() -> np.dtype:
    return canonicalize_dtype(np.int64)
