"""Abstract values and dtype promotion.

An abstract value (aval) is what a tracer knows about the array it stands for: its shape, its
dtype, and whether the dtype is *weak* (it came from a Python scalar and yields to the other
operand's dtype in promotion). The promotion lattice itself is JAX's, taken from ``jax.dtypes``.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax import dtypes as jax_dtypes

_SHORT_NAMES = {
    "float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64",
    "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64",
    "bool": "bool", "complex64": "c64", "complex128": "c128",
}


def short_dtype_name(dtype: Any) -> str:
    """The dtype as JAX prints it in a jaxpr: ``f32``, ``i32``, ``bool``."""
    name = np.dtype(dtype).name
    return _SHORT_NAMES.get(name, name)


_NO_AXES: frozenset = frozenset()


class ShapedArray:
    """The abstract value of an array: shape, dtype, weak type and, inside the body of a
    ``shard_map`` with ``check_vma=True``, the manual mesh axes the value may vary over
    (``vma``, JAX's varying manual axes; empty everywhere else).

    >>> ShapedArray((3, 4), np.float32)
    ShapedArray(float32[3,4])
    """

    __slots__ = ("shape", "dtype", "weak_type", "vma")
    array_abstraction_level = 1

    def __init__(self, shape, dtype, weak_type: bool = False, vma: frozenset = _NO_AXES):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self.vma = vma if type(vma) is frozenset else frozenset(vma)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None, vma=None) -> ShapedArray:
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
            self.vma if vma is None else vma,
        )

    def strip_weak_type(self) -> ShapedArray:
        return self.update(weak_type=False) if self.weak_type else self

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type
                and self.vma == other.vma)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type, self.vma))

    def str_short(self) -> str:
        """``f32[3,4]``, as in a jaxpr."""
        return f"{short_dtype_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        vma = f", vma={set(self.vma)}" if self.vma else ""
        return f"ShapedArray({self.dtype.name}[{','.join(map(str, self.shape))}]{weak}{vma})"


def is_python_scalar(x: Any) -> bool:
    return type(x) in (bool, int, float, complex)


def canonicalize_dtype(dtype: Any) -> np.dtype:
    """64-bit types become 32-bit ones unless ``jax_enable_x64`` is on, as in JAX."""
    return np.dtype(jax_dtypes.canonicalize_dtype(dtype))


def dtype_of_scalar(x: Any) -> np.dtype:
    return canonicalize_dtype(jax_dtypes.result_type(x))


def get_aval(x: Any) -> ShapedArray:
    """The abstract value of a concrete value (a jax.Array, numpy array or Python scalar)."""
    aval = getattr(x, "aval", None)
    if isinstance(aval, ShapedArray):
        return aval
    if isinstance(x, jax.Array):
        return ShapedArray(x.shape, x.dtype, x.weak_type)
    if is_python_scalar(x):
        return ShapedArray((), dtype_of_scalar(x), weak_type=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, canonicalize_dtype(x.dtype), False)
    if aval is not None and hasattr(aval, "shape") and hasattr(aval, "dtype"):
        # a jax tracer, seen when xform traces inside jax.jit
        return ShapedArray(aval.shape, aval.dtype, getattr(aval, "weak_type", False))
    raise TypeError(f"Value {x!r} of type {type(x).__name__} is not a valid xform type: "
                    "pass a jax.Array, a numpy array, or a Python bool/int/float/complex.")


def is_valid_value(x: Any) -> bool:
    try:
        get_aval(x)
        return True
    except TypeError:
        return False


class _WeakTyped:
    """What jax.dtypes reads weak types from: an object with ``.dtype`` and ``.aval``."""

    __slots__ = ("aval", "dtype", "shape")

    def __init__(self, aval: ShapedArray):
        self.aval, self.dtype, self.shape = aval, aval.dtype, aval.shape


def result_type(*args: Any, return_weak_type_flag: bool = False):
    """JAX's promotion of values, avals or dtypes (weak types included)."""
    converted = []
    for a in args:
        if isinstance(a, ShapedArray) or hasattr(a, "aval") and isinstance(a.aval, ShapedArray):
            av = a if isinstance(a, ShapedArray) else a.aval
            converted.append(_WeakTyped(av))
        else:
            converted.append(a)
    dtype, weak = jax_dtypes.result_type(*converted, return_weak_type_flag=True)
    dtype = canonicalize_dtype(dtype)
    return (dtype, weak) if return_weak_type_flag else dtype


def is_float(dtype) -> bool:
    return jax_dtypes.issubdtype(dtype, np.floating)


def is_complex(dtype) -> bool:
    return jax_dtypes.issubdtype(dtype, np.complexfloating)


def is_inexact(dtype) -> bool:
    return jax_dtypes.issubdtype(dtype, np.inexact)


def is_integer(dtype) -> bool:
    return jax_dtypes.issubdtype(dtype, np.integer)


def is_bool(dtype) -> bool:
    return np.dtype(dtype) == np.bool_


float0 = jax_dtypes.float0
