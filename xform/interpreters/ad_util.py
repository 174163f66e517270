"""What the interpreters bind themselves: ``add_any`` and zeros of an aval.

The interpreters sit below ``xform.lax`` and never import it, yet forward mode sums tangents,
the backward pass sums cotangents, and both need zeros where a symbolic ``Zero`` must become an
array. As in JAX's ``ad_util``:

- ``add_any_p`` (named ``add_any``, as in JAX's jaxprs) adds two tangents or cotangents of the
  same shape and dtype. As JAX's, it is typed like its first operand (weak type included)
  where it is staged, and like ``x + y`` where it runs eagerly. It is defined here with its
  shape rule and lowering; each interpreter registers its own rule for it next to its table
  (``jvp.py``, ``transpose.py``, ``batching.py``), as JAX's ``ad.py`` and ``batching.py`` do.
- ``zeros_like_aval`` binds ``broadcast_in_dim`` of a scalar zero, so under staging it is an
  equation (as JAX prints it), not a constant. ``broadcast_in_dim`` and ``transpose`` are lax
  primitives (``xform/lax/shape.py``); that module hands them to ``shape_primitives`` here when it
  defines them, the way JAX's lax fills ``ad_util.aval_zeros_likers``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from xform.core.avals import ShapedArray, dtype_of_scalar, float0
from xform.core.jax_internals import add_any as add_any_jax, convert_element_type
from xform.core import primitive as primitive_mod
from xform.core.primitive import Primitive, abstract_eval, vma_rules
from xform.core.trace import to_aval
from xform.interpreters.eval import impl_rules
from xform.interpreters.lowering import to_jax


# -- add_any ----------------------------------------------------------------------------------
add_any_p = Primitive("add_any")


def _add_any_abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    if x.shape != y.shape or x.dtype != y.dtype:
        raise TypeError(
            f"add_any adds two tangents or cotangents of one type, got {x.str_short()} and "
            f"{y.str_short()}. This is a bug in xform: a rule produced a tangent whose shape or "
            "dtype differs from its primal's.")
    # typed like its first operand, weak type included, as JAX's add_any is when staged
    return ShapedArray(x.shape, x.dtype, x.weak_type,
                       sharding=x.sharding if x.sharding == y.sharding else None)


abstract_eval[add_any_p] = _add_any_abstract_eval
to_jax[add_any_p] = add_any_jax
# run eagerly, it gives the type of ``x + y`` (weak only where both are), as JAX's eager add_any
impl_rules[add_any_p] = jax.jit(jax.lax.add)
# jvp_rules: jvp.py; transpose_rules: transpose.py; batch_rules: batching.py


def add_any(x: Any, y: Any) -> Any:
    """``x + y`` for two arrays of one shape and dtype (tangents or cotangents)."""
    return add_any_p.bind(x, y)


# -- tangent_type -----------------------------------------------------------------------------
# ``tangent_type[weak_type=w]`` gives a tangent the weak type JAX's jit declares for it: the
# tangents of a jit (every jax.numpy function is one) are typed like their primals, a strongly
# typed tangent of a weakly typed Python scalar coming out weak, while a jax.lax function called
# directly gives the type it computes (see ``array_function_calls`` in jvp.py). JAX keeps such a
# declared type only on the staged equation: re-interpreting a staged jaxpr (batching a jit's
# body, differentiating it, evaluating it op by op, its backward pass) re-binds each equation on
# the values it has and recomputes the types. So this equation lowers to the conversion, but
# ``eval_jaxpr`` passes its operand through, and its transpose is the identity.
tangent_type_p = Primitive("tangent_type")


def _tangent_type_abstract_eval(x: ShapedArray, *, weak_type: bool) -> ShapedArray:
    return ShapedArray(x.shape, x.dtype, weak_type, x.vma)


abstract_eval[tangent_type_p] = _tangent_type_abstract_eval
to_jax[tangent_type_p] = lambda x, *, weak_type: convert_element_type(
    x, x.dtype, weak_type=weak_type)
vma_rules[tangent_type_p] = lambda vmas, **_: vmas[0]
# jvp_rules: jvp.py; transpose_rules: transpose.py; batch_rules: batching.py


# -- pvary ------------------------------------------------------------------------------------
# Inside a shard_map body with varying-axes types, ``pvary[axes]`` marks a value replicated over
# ``axes`` as varying over them: no value changes on any device (it lowers to nothing); its
# transpose is a ``psum`` over ``axes`` (registered with the collectives, xform/lax/parallel.py).
# ``bind`` inserts it where a less varying operand meets a more varying one.
pvary_p = Primitive("pvary")
abstract_eval[pvary_p] = lambda x, *, axes: x
vma_rules[pvary_p] = lambda vmas, *, axes: vmas[0] | frozenset(axes)
to_jax[pvary_p] = lambda x, *, axes: x
primitive_mod.pvary.bind = lambda x, axes: pvary_p.bind(x, axes=tuple(axes))


def pvary_to(x: Any, vma: frozenset) -> Any:
    """``x`` cast to vary over the axes of ``vma`` it does not vary over yet."""
    missing = vma - to_aval(x).vma
    return pvary_p.bind(x, axes=tuple(sorted(missing, key=str))) if missing else x


# -- zeros ------------------------------------------------------------------------------------
class _ShapePrimitives:
    """The lax shape primitives the interpreters bind: ``broadcast_in_dim_p`` (zeros, and the
    broadcast of an unbatched operand) and ``transpose_p`` (moving a batch axis). Set by
    ``xform/lax/shape.py`` where it defines them."""

    broadcast_in_dim_p: Primitive
    transpose_p: Primitive

    def __getattr__(self, name: str):  # only reached while the attribute is unset
        raise RuntimeError(
            f"{name} is not registered yet: xform/lax/shape.py registers it when imported "
            "(`import xform` does that).")


shape_primitives = _ShapePrimitives()


def scalar_zero(dtype: Any, weak_type: bool) -> Any:
    """A concrete scalar 0 of ``dtype`` (weakly typed if asked), written inline by staging."""
    dtype = np.dtype(dtype)
    if not weak_type:
        return np.zeros((), dtype)
    zero = False if dtype == np.bool_ else dtype.type(0).item()
    if dtype_of_scalar(zero) == dtype:
        return zero  # a Python scalar is weak in its default dtype already
    with jax.ensure_compile_time_eval():  # concrete even while jax.jit traces xform's program
        return convert_element_type(np.zeros((), dtype), dtype, weak_type=True)


def zeros_like_aval(aval: ShapedArray) -> Any:
    """Zeros of ``aval``'s shape, dtype and weak type, bound under the current trace
    (``broadcast_in_dim`` of a scalar zero, as JAX emits it; the scalar itself for rank 0).
    float0 zeros (tangents of integer values) are a concrete numpy array, as in JAX."""
    if aval.dtype == float0:
        return np.zeros(aval.shape, float0)
    zero = scalar_zero(aval.dtype, aval.weak_type)
    if not aval.shape:
        out = jnp.asarray(zero)  # a jax.Array (eager results are), written inline by staging
    else:
        # over Explicit mesh axes, laid out as the values they stand for
        extra = {} if aval.sharding is None else {"sharding": aval.sharding}
        out = shape_primitives.broadcast_in_dim_p.bind(zero, shape=tuple(aval.shape),
                                                       broadcast_dimensions=(), **extra)
    return pvary_to(out, aval.vma) if aval.vma else out
