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


class _ShardingState:
    # set once any aval carries an explicit sharding (or a primitive is bound with an
    # ``out_sharding``): until then the equations' sharding types are never looked at, so
    # programs without Explicit mesh axes pay nothing for them
    seen = False


sharding_state = _ShardingState()


def explicit_sharding(sharding: Any) -> Any:
    """The sharding type of a value laid out as ``sharding`` (JAX's aval sharding: a
    ``NamedSharding`` over an ``AbstractMesh``), or None where it says nothing: no mesh with
    Explicit axes, or a spec that splits no dimension (replicated)."""
    if type(sharding) is not jax.sharding.NamedSharding:
        return None
    mesh = sharding.mesh
    if not mesh.explicit_axes:
        return None
    spec = sharding.spec
    if (all(e is None for e in spec.partitions) and not getattr(spec, "unreduced", None)
            and not getattr(spec, "reduced", None)):
        return None
    if isinstance(mesh, jax.sharding.Mesh):
        sharding = jax.sharding.NamedSharding(mesh.abstract_mesh, spec)
    return sharding


def sharding_without_axis(sharding: Any, d: int) -> Any:
    """The sharding type of a value of type ``sharding`` with its axis ``d`` taken out (one
    example of a vmap, one step of a scan), or None."""
    if sharding is None:
        return None
    spec = list(sharding.spec.partitions)  # (its unreduced / reduced axes are kept)
    if d >= len(spec):
        return sharding
    del spec[d]
    return explicit_sharding(jax.sharding.NamedSharding(
        sharding.mesh, sharding.spec.update(partitions=tuple(spec))))


def sharding_with_axis(sharding: Any, d: int) -> Any:
    """The sharding type with a new axis at ``d``, not split (a vmap's batch axis, a scan's
    stacked results), or None."""
    if sharding is None:
        return None
    spec = list(sharding.spec.partitions)
    if d > len(spec):
        return sharding
    spec.insert(d, None)
    return jax.sharding.NamedSharding(sharding.mesh,
                                      sharding.spec.update(partitions=tuple(spec)))


def out_sharding_param(out_sharding: Any) -> dict:
    """``{"out_sharding": out_sharding}`` for a primitive's params, or ``{}`` when it is None
    (programs that give none keep the params, and the printed jaxprs, they always had)."""
    if out_sharding is None:
        return {}
    sharding_state.seen = True
    return {"out_sharding": out_sharding}


def _dim_text(d: int, entry: Any) -> str:
    if entry is None:
        return str(d)
    names = entry if isinstance(entry, tuple) else (entry,)
    return f"{d}@" + (names[0] if len(names) == 1 else "(" + ",".join(names) + ")")


class ShapedArray:
    """The abstract value of an array: shape, dtype, weak type; inside the body of a
    ``shard_map`` with ``check_vma=True``, the manual mesh axes the value may vary over
    (``vma``, JAX's varying manual axes; empty everywhere else); and, for a value laid out over
    Explicit mesh axes, its sharding type (``sharding``: JAX's ``NamedSharding`` over the
    abstract mesh; None for a replicated value and everywhere without Explicit axes).

    >>> ShapedArray((3, 4), np.float32)
    ShapedArray(float32[3,4])
    """

    __slots__ = ("shape", "dtype", "weak_type", "vma", "sharding")
    array_abstraction_level = 1

    def __init__(self, shape, dtype, weak_type: bool = False, vma: frozenset = _NO_AXES,
                 sharding: Any = None):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self.vma = vma if type(vma) is frozenset else frozenset(vma)
        self.sharding = sharding
        if sharding is not None:
            if len(sharding.spec) > len(self.shape):
                raise ValueError(f"sharding {sharding.spec} has more entries than the "
                                 f"rank of shape {self.shape}")
            sharding_state.seen = True

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None, vma=None,
               sharding=_NO_AXES) -> ShapedArray:
        """A copy with the given fields replaced (``sharding=None`` drops the sharding type;
        a new shape of another rank drops it too, unless one is given)."""
        if sharding is _NO_AXES:
            sharding = self.sharding
            if shape is not None and sharding is not None and len(shape) != len(self.shape):
                sharding = None
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
            self.vma if vma is None else vma,
            sharding,
        )

    def strip_weak_type(self) -> ShapedArray:
        return self.update(weak_type=False) if self.weak_type else self

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type
                and self.vma == other.vma and self.sharding == other.sharding)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type, self.vma, self.sharding))

    def _dims_text(self) -> str:
        if self.sharding is None:
            return ",".join(map(str, self.shape))
        parts = self.sharding.spec.partitions
        spec = tuple(parts) + (None,) * (len(self.shape) - len(parts))
        return ",".join(_dim_text(d, e) for d, e in zip(self.shape, spec))

    def _reduction_text(self) -> str:
        """``{U:x}`` / ``{R:x}``: the mesh axes the value is unreduced (a partial sum) or
        reduced (a full copy that may stay one) over, as JAX prints them."""
        spec = self.sharding.spec if self.sharding is not None else None
        if spec is None or not (spec.unreduced or spec.reduced):
            return ""
        names = self.sharding.mesh.axis_names

        def one(prefix, axes):
            axes = [a for a in names if a in axes]
            return f"{prefix}:{axes[0] if len(axes) == 1 else '(' + ','.join(axes) + ')'}"
        parts = ([one("U", spec.unreduced)] if spec.unreduced else []) + (
            [one("R", spec.reduced)] if spec.reduced else [])
        return "{" + ", ".join(parts) + "}"

    def str_short(self) -> str:
        """``f32[3,4]``, as in a jaxpr (``f32[8@x,4]`` when dimension 0 is split over the
        Explicit mesh axis ``x``, ``f32[3,4]{U:x}`` when it is unreduced over ``x``, as JAX
        prints it)."""
        return (f"{short_dtype_name(self.dtype)}[{self._dims_text()}]"
                f"{self._reduction_text()}")

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        vma = f", vma={set(self.vma)}" if self.vma else ""
        return (f"ShapedArray({self.dtype.name}[{self._dims_text()}]{self._reduction_text()}"
                f"{weak}{vma})")


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
        # (a JAX tracer is a jax.Array too: inside jax.jit, its sharding type comes along)
        sharding = getattr(aval, "sharding", None)
        if sharding is not None:
            sharding = explicit_sharding(sharding) if sharding.mesh.explicit_axes else None
        return ShapedArray(x.shape, x.dtype, getattr(x, "weak_type", False), sharding=sharding)
    if is_python_scalar(x):
        return ShapedArray((), dtype_of_scalar(x), weak_type=True)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, canonicalize_dtype(x.dtype), False)
    if aval is not None and hasattr(aval, "shape") and hasattr(aval, "dtype"):
        # a jax tracer, seen when xform traces inside jax.jit: its sharding type comes along
        return ShapedArray(aval.shape, aval.dtype, getattr(aval, "weak_type", False),
                           sharding=explicit_sharding(getattr(aval, "sharding", None)))
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
