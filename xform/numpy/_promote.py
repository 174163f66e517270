"""dtype promotion and broadcasting for xform.numpy (JAX's rules, weak types included)."""

from __future__ import annotations

import warnings

from typing import Any, Sequence

import jax
import numpy as np

from xform import lax
from xform.core.avals import (
    ShapedArray, canonicalize_dtype, explicit_sharding, is_python_scalar, result_type,
)
from xform.core.trace import Tracer, to_aval
from xform.lax import elementwise as lax_ew
from xform.lax._helpers import weak_scalar


_FAST_TYPES = (jax.Array, Tracer)


def is_array_like(x: Any) -> bool:
    return isinstance(x, Tracer) or hasattr(x, "shape") and hasattr(x, "dtype")


def check_arraylike(name: str, *args: Any) -> None:
    """jax.numpy's rule: arrays and scalars only (a list is not silently converted)."""
    for i, a in enumerate(args):
        if not (isinstance(a, _FAST_TYPES) or is_python_scalar(a) or is_array_like(a)
                or isinstance(a, np.generic)):
            raise TypeError(f"{name} requires ndarray or scalar arguments, but got "
                            f"{type(a).__name__} at position {i}. Convert it first with "
                            "xform.numpy.asarray.")


def aval_of(x: Any) -> ShapedArray:
    return to_aval(x)


def convert(x: Any, dtype: Any, weak_type: bool = False) -> Any:
    """``x`` as ``dtype`` (and weak type), emitting convert_element_type only when needed."""
    dtype = canonicalize_dtype(dtype)
    if is_python_scalar(x):
        if weak_type:
            return weak_scalar(x, dtype)
        return _strong_scalar(x, dtype)
    aval = to_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type:
        return x
    return lax_ew._convert_weak(x, dtype, weak_type)


def _strong_scalar(x: Any, dtype: np.dtype) -> Any:
    """A strongly typed 0-d numpy value of ``dtype``: written inline (a literal) when staged.

    numpy rather than a jax.Array, so that building it inside jax.jit's tracing (xform.jit
    lowers through it) never makes a jax tracer."""
    with np.errstate(all="ignore"):
        return np.asarray(x).astype(dtype)


_promotion_cache: dict = {}
_SCALAR_DEFAULTS: dict = {}


def _promotion_key(a: Any) -> Any:
    if isinstance(a, _FAST_TYPES):
        return (a.dtype, a.weak_type)
    if type(a) in (bool, int, float, complex):
        return type(a)
    return None


def _cached_result_type(args: tuple) -> tuple:
    """``result_type(*args, return_weak_type_flag=True)``, cached on the dtypes, weak types
    and Python scalar types (eager calls pay for JAX's lattice walk once)."""
    keys = tuple(_promotion_key(a) for a in args)
    if None in keys:
        return result_type(*args, return_weak_type_flag=True)
    # 'strict' promotion raises where 'standard' promotes: only the standard answers are cached
    if jax.config.jax_numpy_dtype_promotion != "standard":
        return result_type(*args, return_weak_type_flag=True)
    key = (keys, bool(jax.config.jax_enable_x64))
    out = _promotion_cache.get(key)
    if out is None:
        out = _promotion_cache[key] = result_type(*args, return_weak_type_flag=True)
        if not _SCALAR_DEFAULTS or key[1] != _SCALAR_DEFAULTS.get("x64"):
            _SCALAR_DEFAULTS.clear()
            _SCALAR_DEFAULTS.update({t: result_type(t(0)) for t in (bool, int, float, complex)})
            _SCALAR_DEFAULTS["x64"] = key[1]
    return out


def promote_dtypes(*args: Any) -> list:
    """Convert every argument to the common dtype JAX's lattice gives them."""
    if len(args) < 2:
        return list(args)
    first = args[0]
    if isinstance(first, _FAST_TYPES):
        # fast path (eager calls): arrays of one dtype and weak type need no promotion
        dt, wk = first.dtype, first.weak_type
        if all(isinstance(a, _FAST_TYPES) and a.dtype == dt and a.weak_type == wk
               for a in args[1:]):
            return list(args)
    dtype, weak = _cached_result_type(args)
    out = []
    for a in args:
        if is_python_scalar(a):
            out.append(a if _SCALAR_DEFAULTS.get(type(a)) == dtype else weak_scalar(a, dtype))
            continue
        aval = to_aval(a)
        if aval.dtype != dtype or aval.weak_type != weak:
            a = lax_ew._convert_weak(a, dtype, weak)
        out.append(a)
    return out


def _to_inexact_dtype(dtype: np.dtype) -> np.dtype:
    if np.issubdtype(dtype, np.inexact) or dtype == np.dtype("bfloat16"):
        return dtype
    return result_type(dtype, 1.0)


def promote_to_inexact(*args: Any) -> list:
    """Integer and bool arguments become the default float dtype first (as jnp.sin(int))."""
    if len(args) > 1:
        args = promote_dtypes(*args)
    out = []
    for a in args:
        if is_python_scalar(a):
            a = float(a) if not isinstance(a, complex) else a
            out.append(a)
            continue
        aval = to_aval(a)
        dtype = _to_inexact_dtype(aval.dtype)
        if dtype != aval.dtype:
            a = lax_ew._convert_weak(a, dtype, aval.weak_type)
        out.append(a)
    return out


def shape_of(x: Any) -> tuple:
    if isinstance(x, _FAST_TYPES):
        return x.shape
    return () if is_python_scalar(x) else tuple(to_aval(x).shape)


def broadcast_shapes(name: str, *shapes: Sequence[int]) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ValueError(
            f"{name}: incompatible shapes for broadcasting: "
            f"{', '.join(str(tuple(s)) for s in shapes)}. Trailing dimensions must be equal or "
            "1; reshape or expand_dims an operand first.") from None


def broadcast_to_shape(x: Any, shape: tuple, sharding: Any = None) -> Any:
    """broadcast_in_dim ``x`` to ``shape`` (numpy's right-aligned rule); no-op when equal.
    ``sharding``: the result's layout over Explicit mesh axes, if any."""
    xs = shape_of(x)
    if xs == tuple(shape):
        return x
    if is_python_scalar(x):
        x = weak_scalar(x, result_type(x))
    nd = len(shape) - len(xs)
    dims = tuple(range(nd, len(shape)))
    return lax.broadcast_in_dim(x, tuple(shape), dims, out_sharding=sharding)


def broadcast_sharding(avals: list, shape: tuple) -> Any:
    """The layout of the broadcast of values of types ``avals`` to ``shape`` over Explicit
    mesh axes (each dimension split as the operands that have it at full size split it, as
    JAX's broadcast of several arrays), or None when none of them is split."""
    if all(a.sharding is None for a in avals):
        return None
    n = len(shape)
    spec: list = [None] * n
    mesh = None
    for a in avals:
        if a.sharding is None:
            continue
        mesh = a.sharding.mesh
        entries = (list(a.sharding.spec.partitions) + [None] * a.ndim)[:a.ndim]
        for d, e in enumerate(entries):
            out = n - a.ndim + d
            if e is not None and a.shape[d] == shape[out] and spec[out] is None:
                spec[out] = e
    return explicit_sharding(jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*spec)))


def _check_rank_promotion(name: str, shapes: list) -> None:
    """``jax_numpy_rank_promotion``: 'allow' (numpy's rule), 'warn' or 'raise' when operands of
    different non-zero ranks are broadcast together (rank-0 operands are always fine)."""
    mode = jax.config.jax_numpy_rank_promotion
    if mode == "allow":
        return
    msg = (f"Operands could not be broadcast together with shapes "
           f"{' '.join(str(tuple(s)) for s in shapes)} in {name}")
    if mode == "raise":
        raise ValueError(msg + " and with the config option jax_numpy_rank_promotion='raise'. "
                         "Add the leading axes explicitly (x[None], expand_dims, reshape), or "
                         "set jax_numpy_rank_promotion to 'allow'.")
    warnings.warn(f"Following NumPy automatic rank promotion for {name} on shapes "
                  f"{' '.join(str(tuple(s)) for s in shapes)}. Set the "
                  "jax_numpy_rank_promotion config option to 'allow' to disable this warning.",
                  stacklevel=3)


def broadcast_for_binop(name: str, *args: Any) -> list:
    """Broadcast array operands to the common shape; rank-0 operands stay as they are (lax's
    binary operations accept them next to arrays)."""
    shapes = [shape_of(a) for a in args]
    nonscalar = [s for s in shapes if s]
    if all(s == nonscalar[0] for s in nonscalar[1:]):
        return list(args)  # equal shapes, rank-0 operands aside: lax takes them as they are
    if len({len(s) for s in nonscalar}) > 1:
        _check_rank_promotion(name, shapes)
    try:
        out_shape = broadcast_shapes(name, *shapes)
    except ValueError as e:  # a binary operation's operands: JAX's type is TypeError
        raise TypeError(str(e)) from None
    return [a if s == out_shape or s == () else broadcast_to_shape(a, out_shape)
            for a, s in zip(args, shapes)]


def promote_args(name: str, *args: Any) -> list:
    """jax.numpy's binary-op preparation: check, promote dtypes, broadcast shapes."""
    check_arraylike(name, *args)
    return broadcast_for_binop(name, *promote_dtypes(*args))


def promote_args_inexact(name: str, *args: Any) -> list:
    check_arraylike(name, *args)
    return broadcast_for_binop(name, *promote_to_inexact(*args))
