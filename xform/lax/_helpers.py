"""Family helpers for defining primitives in a few lines, and argument handling shared by the
public ``xform.lax`` functions."""

from __future__ import annotations

import contextlib

from typing import Any, Callable, Sequence

import jax
import numpy as np

from xform.core.avals import ShapedArray, dtype_of_scalar
from xform.core.jax_internals import convert_element_type, get_concrete_mesh
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, broadcast_batcher, vectorized_batcher
from xform.interpreters.jvp import array_function_calls
from xform.interpreters.lowering import to_jax

# dtype classes a primitive accepts, named as JAX's messages name them
FLOAT = ("floating", "complexfloating")
REAL_FLOAT = ("floating",)
NUMBER = ("integer", "floating", "complexfloating")
INTEGER = ("integer",)
INT_OR_BOOL = ("integer", "bool")
ANY = ("integer", "floating", "complexfloating", "bool")
_CLASSES = {"floating": np.floating, "complexfloating": np.complexfloating,
            "integer": np.integer, "signedinteger": np.signedinteger,
            "unsignedinteger": np.unsignedinteger, "bool": np.bool_}


def check_dtype(name: str, aval: ShapedArray, accepted: Sequence[str], arg: str = "") -> None:
    if not any(jax.dtypes.issubdtype(aval.dtype, _CLASSES[c]) for c in accepted):
        what = f" for {arg}" if arg else ""
        raise TypeError(f"{name} does not accept dtype {aval.dtype.name}{what}. Accepted dtypes "
                        f"are subtypes of {', '.join(accepted)}.")


def shape_str(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes_lax(name: str, *avals: ShapedArray) -> tuple:
    """lax's rule: rank-0 operands next to arrays; arrays of one rank whose sizes agree in each
    dimension or are 1 there (the result takes the other size), as ``jax.lax.add`` accepts."""
    shapes = [a.shape for a in avals if a.ndim]
    if not shapes:
        return ()
    if len({len(s) for s in shapes}) != 1:
        raise TypeError(f"{name}: arrays must have the same number of dimensions, got "
                        f"{', '.join(shape_str(a.shape) for a in avals)}. lax operations do not "
                        "add leading dimensions; use xform.numpy (which broadcasts) or "
                        "xform.lax.broadcast_in_dim / expand_dims first.")
    out = []
    for sizes in zip(*shapes):
        big = {d for d in sizes if d != 1}
        if len(big) > 1:
            raise TypeError(f"{name} got incompatible shapes for broadcasting: "
                            f"{', '.join(shape_str(a.shape) for a in avals)}. lax operations "
                            "need equal sizes in each dimension (or size 1); use xform.numpy "
                            "(which broadcasts) or xform.lax.broadcast_in_dim first.")
        out.append(big.pop() if big else 1)
    return tuple(out)


def unop(name: str, accepted: Sequence[str], jax_fn: Callable, *,
         result_dtype: Callable | None = None) -> Primitive:
    """An elementwise primitive of one operand (shape and weak type kept), with the rules every
    such primitive shares: abstract evaluation (dtype check), ``to_jax = jax_fn`` and the
    vectorized batching rule. Its JVP and transpose rules are registered next to the call."""
    p = Primitive(name)

    def rule(x: ShapedArray, **params):
        check_dtype(name, x, accepted)
        dtype = result_dtype(x.dtype) if result_dtype else x.dtype
        return ShapedArray(x.shape, dtype, x.weak_type)

    abstract_eval[p] = rule
    to_jax[p] = jax_fn
    batch_rules[p] = vectorized_batcher(p)
    return p


def naryop(name: str, accepted: Sequence[str], jax_fn: Callable, *,
           result_dtype: Callable | None = None, same_dtypes: bool = True) -> Primitive:
    """An elementwise primitive of several operands of one dtype (rank-0 operands broadcast),
    with the rules every such primitive shares: abstract evaluation (dtype and shape checks),
    ``to_jax = jax_fn`` and the broadcasting batching rule. Its JVP and transpose rules are
    registered next to the call."""
    p = Primitive(name)

    def rule(*avals: ShapedArray, **params):
        for i, a in enumerate(avals):
            check_dtype(name, a, accepted, f"operand {i}")
        if same_dtypes and any(a.dtype != avals[0].dtype for a in avals[1:]):
            raise TypeError(
                f"lax.{name} requires arguments to have the same dtypes, got "
                f"{', '.join(a.dtype.name for a in avals)}. (Tip: xform.numpy.{name} is a "
                "similar function that does automatic type promotion on inputs).")
        shape = broadcast_shapes_lax(name, *avals)
        dtype = result_dtype(avals[0].dtype) if result_dtype else avals[0].dtype
        return ShapedArray(shape, dtype, all(a.weak_type for a in avals))

    abstract_eval[p] = rule
    to_jax[p] = jax_fn
    batch_rules[p] = broadcast_batcher(p)
    return p


def bool_result(_dtype) -> np.dtype:
    return np.dtype(np.bool_)


def real_result(dtype) -> np.dtype:
    return np.finfo(dtype).dtype if np.issubdtype(dtype, np.complexfloating) else np.dtype(dtype)


# -- arguments of the public functions ------------------------------------------------------

_weak_convert_cache: dict = {}


def weak_scalar(val: Any, dtype) -> Any:
    """A weakly typed scalar of ``dtype``: the Python scalar itself when its default dtype is
    ``dtype`` already, else a concrete weak jax.Array."""
    dtype = np.dtype(dtype)
    if dtype_of_scalar(val) == dtype:
        return val
    fn = _weak_convert_cache.get(dtype)
    if fn is None:
        fn = _weak_convert_cache[dtype] = jax.jit(
            lambda v: convert_element_type(v, dtype, weak_type=True))
    # concrete even while jax.jit traces xform's program
    with jax.ensure_compile_time_eval(), outside_abstract_mesh():
        return fn(val)


def const_like(x: Any, value: Any) -> Any:
    """``value`` as a constant of ``x``'s dtype in a formula, typed as JAX types its constants:
    weakly beside a weakly typed scalar (a Python number, or a 0-d weak array), strongly
    beside anything else -- so a weakly typed array's derivative through ``sqrt``, ``square``,
    ``erf``... is strongly typed, as JAX's."""
    aval = to_aval(x)
    if aval.weak_type:
        if not aval.shape:
            return weak_scalar(value.item() if isinstance(value, np.generic) else value,
                               aval.dtype)
        array_function_calls.strong_constant = True  # (see there)
    return np.array(value, aval.dtype)


def outside_abstract_mesh():
    """A context in which JAX computes concrete values (xform's constants, made while it traces)
    even inside ``jax.sharding.use_abstract_mesh`` with no concrete mesh set, where JAX refuses
    to compile anything: the mesh in context is set aside (a constant has no sharding)."""
    if jax.sharding.get_abstract_mesh().empty or not get_concrete_mesh().empty:
        return contextlib.nullcontext()
    return jax.sharding.use_abstract_mesh(jax.sharding.AbstractMesh((), ()))
