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
from xform.interpreters.batching import batch_rules, vectorized_batcher
from xform.interpreters.jvp import Zero, deflinear_jvp, jvp_rules
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear, transpose_rules
from xform.lax._helpers import shape_str
from xform.lax.reductions import reduce_sum
from xform.lax.shape import broadcast_in_dim, full, reshape, squeeze
from xform.lax.slicing import concatenate, split

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


# -- stack, unstack, collapse, broadcast_like, empty --------------------------------------------
def stack(operands: Sequence[Any], axis: int = 0) -> Any:
    """Join arrays of one shape along a new axis ``axis``, as ``jax.lax.stack``."""
    operands = list(operands)
    if not operands:
        raise ValueError("stack requires at least one operand")
    shape = to_aval(operands[0]).shape
    axis = _axis("stack", int(axis), len(shape) + 1)
    new = shape[:axis] + (1,) + shape[axis:]
    dims = tuple(i for i in range(len(new)) if i != axis)
    return concatenate([broadcast_in_dim(x, new, dims) for x in operands], axis)


def unstack(x: Any, axis: int = 0) -> tuple:
    """The slices of ``x`` along ``axis``, as a tuple, as ``jax.lax.unstack``."""
    aval = to_aval(x)
    axis = _axis("unstack", int(axis), aval.ndim)
    if aval.shape[axis] == 0:
        return ()
    parts = split(x, (1,) * aval.shape[axis], axis)
    return tuple(squeeze(p, (axis,)) for p in parts)


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
