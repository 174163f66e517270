"""More structural primitives: ``tile``, ``optimization_barrier``, ``copy``; and ``stack``,
``unstack``, ``collapse``, ``broadcast_like``, ``empty`` built on the shape primitives
(``split`` is in slicing.py).

- ``tile[reps] x`` repeats ``x`` ``reps[i]`` times along each axis. Linear: its transpose views
  the cotangent as ``(reps0, n0, reps1, n1, ...)`` and sums over the repeat axes.
- ``optimization_barrier xs`` is the identity on several operands that XLA may not move
  computations across. Its JVP puts primals and tangents behind one barrier each; it transposes
  to a barrier on the cotangents; vmap keeps batch axes where they are.
- ``copy x`` is the identity that makes a new buffer (``jnp.array(x, copy=True)`` in JAX binds
  it); linear, it transposes to a copy of the cotangent.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_rules, bdim_at_front, shift_axis, vectorized_batcher,
)
from xform.interpreters.jvp import Zero, deflinear_jvp, instantiate, jvp_rules, tangent_aval
from xform.interpreters.lowering import per_operand_outputs, to_jax
from xform.interpreters.transpose import deflinear, is_undefined, transpose_rules
from xform.lax._helpers import shape_str
from xform.lax.reductions import reduce_sum
from xform.lax.shape import broadcast_in_dim, full, reshape

__all__ = ["tile", "optimization_barrier", "stack", "unstack", "collapse",
           "broadcast_like", "empty"]


def _axis(name: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


# -- tile ---------------------------------------------------------------------------------------
tile_p = Primitive("tile")


def _tile_abstract_eval(x: ShapedArray, *, reps):
    if len(reps) != x.ndim:
        raise ValueError(f"tile: reps must have one entry per axis of the operand of shape "
                         f"{shape_str(x.shape)}, got reps={tuple(reps)}")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be nonnegative, got {tuple(reps)}")
    return ShapedArray(tuple(n * r for n, r in zip(x.shape, reps)), x.dtype, x.weak_type)


def _tile_transpose(ct, *, x_aval, reps):
    # ct[r0*n0 + i0, ...] -> view (r0, n0, r1, n1, ...) and sum over the r axes
    shape = x_aval.shape
    view = reshape(ct, tuple(d for r, n in zip(reps, shape) for d in (r, n)))
    return reduce_sum(view, tuple(range(0, 2 * len(shape), 2)))


def _tile_batch(axis_size, vals, dims, *, reps):
    (x,), (d,) = vals, dims
    return tile_p.bind(x, reps=reps[:d] + (1,) + reps[d:]), d


abstract_eval[tile_p] = _tile_abstract_eval
to_jax[tile_p] = lambda x, *, reps: jlax.tile(x, reps)
deflinear_jvp(tile_p)
deflinear(tile_p, _tile_transpose)
batch_rules[tile_p] = _tile_batch


def tile(operand: Any, reps: Sequence[int]) -> Any:
    """Repeat ``operand`` ``reps[i]`` times along axis ``i``, as ``jax.lax.tile``."""
    return tile_p.bind(operand, reps=tuple(int(r) for r in reps))


# -- optimization_barrier -----------------------------------------------------------------------
optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)
per_operand_outputs.add(optimization_barrier_p)


def _barrier_jvp(primals, tangents):
    outs = optimization_barrier_p.bind(*primals)
    live = [i for i, t in enumerate(tangents) if not isinstance(t, Zero)]
    t_outs: list = [Zero(t.aval) if isinstance(t, Zero) else None for t in tangents]
    for i, t in zip(live, optimization_barrier_p.bind(*[tangents[i] for i in live])):
        t_outs[i] = t
    return outs, t_outs


def _barrier_transpose(cts, *xs):
    live = [i for i, c in enumerate(cts) if not isinstance(c, Zero)]
    out: list = [None] * len(xs)
    for i, c in zip(live, optimization_barrier_p.bind(*[cts[i] for i in live])):
        out[i] = c
    return out


abstract_eval[optimization_barrier_p] = lambda *avals: list(avals)
to_jax[optimization_barrier_p] = lambda *xs: list(jlax.optimization_barrier(list(xs)))
jvp_rules[optimization_barrier_p] = _barrier_jvp
transpose_rules[optimization_barrier_p] = _barrier_transpose
batch_rules[optimization_barrier_p] = lambda n, vals, dims: (
    optimization_barrier_p.bind(*vals), list(dims))


def optimization_barrier(operand: Any, /) -> Any:
    """The identity on a pytree of arrays, which XLA may not move computations across, as
    ``jax.lax.optimization_barrier``."""
    leaves, tree = jax.tree_util.tree_flatten(operand)
    return jax.tree_util.tree_unflatten(tree, optimization_barrier_p.bind(*leaves))


# -- copy ---------------------------------------------------------------------------------------
copy_p = Primitive("copy")
abstract_eval[copy_p] = lambda x: x
to_jax[copy_p] = lambda x: jax.numpy.array(x, copy=True)
deflinear_jvp(copy_p)
deflinear(copy_p, lambda ct, *, x_aval: copy_p.bind(ct))
batch_rules[copy_p] = vectorized_batcher(copy_p)


# -- stack, unstack (primitives, as in JAX); collapse, broadcast_like, empty -------------------
stack_p = Primitive("stack")
unstack_p = Primitive("unstack", multiple_results=True)


def _stack_abstract_eval(*xs: ShapedArray, axis):
    if not xs:
        raise ValueError("stack requires at least one operand")
    for i, x in enumerate(xs[1:], 1):
        if x.shape != xs[0].shape or x.dtype != xs[0].dtype:
            raise TypeError(f"stack: all operands must have one shape and dtype, got "
                            f"{xs[0].str_short()} (operand 0) and {x.str_short()} "
                            f"(operand {i}).")
    if not 0 <= axis <= xs[0].ndim:
        raise ValueError(f"stack: axis {axis} is out of range for operands of rank "
                         f"{xs[0].ndim}; valid axes are 0 to {xs[0].ndim}.")
    shape = xs[0].shape[:axis] + (len(xs),) + xs[0].shape[axis:]
    return ShapedArray(shape, xs[0].dtype, all(x.weak_type for x in xs))


def _stack_transpose(ct, *xs, axis):
    if isinstance(ct, Zero):
        return [Zero(x.aval) if is_undefined(x) else None for x in xs]
    parts = unstack_p.bind(ct, axis=axis)
    return [p if is_undefined(x) else None for p, x in zip(parts, xs)]


def _stack_batch(axis_size, vals, dims, *, axis):
    args = [bdim_at_front(x, d, axis_size) for x, d in zip(vals, dims)]
    return stack_p.bind(*args, axis=axis + 1), 0


def _unstack_abstract_eval(x: ShapedArray, *, axis):
    if not 0 <= axis < x.ndim:
        raise ValueError(f"unstack: axis {axis} is out of range for an operand of shape "
                         f"{shape_str(x.shape)}; valid axes are 0 to {x.ndim - 1}.")
    part = ShapedArray(x.shape[:axis] + x.shape[axis + 1:], x.dtype, x.weak_type)
    return [part] * x.shape[axis]


def _unstack_jvp(primals, tangents, *, axis):
    (x,), (t,) = primals, tangents
    out = unstack_p.bind(x, axis=axis)
    if isinstance(t, Zero):
        return out, [Zero(tangent_aval(to_aval(o))) for o in out]
    return out, unstack_p.bind(t, axis=axis)


def _unstack_transpose(cts, x, *, axis):
    if all(isinstance(c, Zero) for c in cts):
        return [Zero(x.aval)]
    return [stack_p.bind(*[instantiate(c) for c in cts], axis=axis)]


def _unstack_batch(axis_size, vals, dims, *, axis):
    (x,), (bdim,) = vals, dims
    out = unstack_p.bind(x, axis=shift_axis(axis, bdim))
    return out, [bdim if bdim <= axis else bdim - 1] * len(out)


abstract_eval[stack_p] = _stack_abstract_eval
to_jax[stack_p] = lambda *xs, axis: jlax.stack(xs, axis)
deflinear_jvp(stack_p)
transpose_rules[stack_p] = _stack_transpose
batch_rules[stack_p] = _stack_batch
abstract_eval[unstack_p] = _unstack_abstract_eval
to_jax[unstack_p] = lambda x, *, axis: list(jlax.unstack(x, axis))
jvp_rules[unstack_p] = _unstack_jvp
transpose_rules[unstack_p] = _unstack_transpose
batch_rules[unstack_p] = _unstack_batch


def stack(operands: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays of one shape along a new axis ``axis``, as ``jax.lax.stack`` (the ``stack``
    primitive: linear, it transposes to ``unstack``)."""
    operands = list(operands)
    if not operands:
        raise ValueError("stack requires at least one operand")
    ndim = to_aval(operands[0]).ndim
    return stack_p.bind(*operands, axis=_axis("stack", int(axis), ndim + 1))


def unstack(x: Any, axis: int = 0) -> tuple:
    """The slices of ``x`` along ``axis``, as a tuple, as ``jax.lax.unstack`` (the
    ``unstack`` primitive: linear, it transposes to ``stack``)."""
    axis = _axis("unstack", int(axis), to_aval(x).ndim)
    return tuple(unstack_p.bind(x, axis=axis))


def collapse(operand: Any, start_dimension: int, stop_dimension: int | None = None) -> Any:
    """Merge axes ``start_dimension:stop_dimension`` into one, as ``jax.lax.collapse``."""
    shape = to_aval(operand).shape
    lo, hi, _ = slice(start_dimension, stop_dimension).indices(len(shape))
    if hi < lo:
        raise ValueError(f"collapse: start_dimension {start_dimension} must not come after "
                         f"stop_dimension {stop_dimension}")
    return reshape(operand, shape[:lo] + (math.prod(shape[lo:hi]),) + shape[hi:])


def broadcast_like(arr: Any, like_arr: Any) -> Any:
    """``arr`` broadcast (numpy rules) to the shape of ``like_arr``, as
    ``jax.lax.broadcast_like``."""
    a, target = to_aval(arr), to_aval(like_arr).shape
    if a.shape == target:
        return arr
    lead = len(target) - a.ndim
    kept = [i for i, n in enumerate(a.shape) if n == target[lead + i]]
    dropped = [i for i, n in enumerate(a.shape) if n != target[lead + i]]
    if any(a.shape[i] != 1 for i in dropped):
        raise ValueError(f"broadcast_like: cannot broadcast shape {shape_str(a.shape)} to "
                         f"{shape_str(target)}")
    x = reshape(arr, tuple(a.shape[i] for i in kept)) if dropped else arr
    return broadcast_in_dim(x, target, tuple(lead + i for i in kept))


def empty(shape: Sequence[int], dtype: Any, *, out_sharding: Any = None) -> Any:
    """An array of ``shape`` and ``dtype`` whose contents do not matter (zeros here), as
    ``jax.lax.empty``."""
    return full(tuple(shape), 0, canonicalize_dtype(dtype))
