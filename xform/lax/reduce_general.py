"""The general ``reduce`` primitive: several operands, any init values, any computation.

``reduce[computation consts dimensions] *operands *init_values`` reduces each operand over
``dimensions`` with ``computation``, a jaxpr of scalars ``(*accs, *xs) -> *accs`` (its
constvars' values in ``consts``; XLA's variadic reduce; ``init_values`` should be the
computation's identity, as XLA assumes).
``xform.lax.reduce`` binds it when the computation is not one of the monoids that have their own
reduction primitive (``reduce_sum``, ``reduce_max``, ...).

- JVP: the reduction is re-expressed as a pairwise tree of applications of the computation
  (vectorized over the pairs with vmap), which is differentiated with the JVP interpreter; the
  primal output is the primitive's own.
- vmap: the batch axis goes in front of every operand (broadcast where unbatched) and the
  reduced dimensions shift by one. Batched init values are not supported (as in JAX).
- No transpose: a general reduction is not linear.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
from jax import lax as jlax

from xform.core.avals import ShapedArray
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_fun, batch_rules, move_bdim, not_mapped
from xform.interpreters.jvp import instantiate, jvp_flat, jvp_rules
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr
from xform.lax._helpers import shape_str
from xform.lax.shape import broadcast_in_dim, reshape, transpose
from xform.lax.slicing import concatenate, slice_in_dim
from xform.lax import elementwise as ew

__all__ = ["reduce_p", "general_reduce"]

reduce_p = Primitive("reduce", multiple_results=True)


def _reduce_abstract_eval(*avals: ShapedArray, computation, consts, dimensions):
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    for i, (x, init) in enumerate(zip(operands, inits)):
        if x.shape != operands[0].shape:
            raise ValueError(f"reduce: operands must have the same shape, got "
                             f"{shape_str(operands[0].shape)} and {shape_str(x.shape)}")
        if init.shape or init.dtype != x.dtype:
            raise TypeError(f"reduce: init value {i} must be a scalar of its operand's dtype "
                            f"{x.dtype.name}, got {init.str_short()}")
    for d in dimensions:
        if not 0 <= d < operands[0].ndim:
            raise ValueError(f"reduce: dimension {d} is out of bounds for operands of shape "
                             f"{shape_str(operands[0].shape)}")
    shape = tuple(s for i, s in enumerate(operands[0].shape) if i not in dimensions)
    return [ShapedArray(shape, x.dtype) for x in operands]


def _reduce_to_jax(*args, computation, consts, dimensions):
    n = len(args) // 2
    operands, inits = list(args[:n]), list(args[n:])

    def comp(accs, xs):
        outs = eval_jaxpr_jax(computation, consts, [*accs, *xs])
        return outs

    if n == 1:
        return [jlax.reduce(operands[0], inits[0], lambda a, x: comp([a], [x])[0], dimensions)]
    return list(jlax.reduce(operands, inits, comp, dimensions))


def _combine(computation, consts, n: int, size: int) -> Callable:
    """The computation applied to ``size`` pairs at once (a leading axis of accs and xs)."""
    fun = batch_fun(lambda *vals: eval_jaxpr(computation, consts, *vals), size,
                    [0] * (2 * n), axis_name=None, instantiate=True)
    return lambda *vals: fun(*vals)[0]


def _tree_reduce(operands, inits, computation, consts, dimensions):
    """The same reduction as a pairwise tree of computations, in xform primitives."""
    n = len(operands)
    shape = to_aval(operands[0]).shape
    kept = [i for i in range(len(shape)) if i not in dimensions]
    rest = tuple(shape[i] for i in kept)
    size = 1
    for d in dimensions:
        size *= shape[d]
    m = 1
    for s in rest:
        m *= s
    # (reduced elements, kept elements): each row pair combines elementwise
    xs = [reshape(transpose(x, tuple(dimensions) + tuple(kept)), (size, m)) for x in operands]
    while size > 1:
        half = size // 2
        firsts = [slice_in_dim(x, 0, half, axis=0) for x in xs]
        seconds = [slice_in_dim(x, half, 2 * half, axis=0) for x in xs]
        flat = [reshape(x, (half * m,)) for x in firsts + seconds]
        outs = _combine(computation, consts, n, half * m)(*flat)
        outs = [reshape(o, (half, m)) for o in outs]
        if size % 2:
            outs = [concatenate([o, slice_in_dim(x, 2 * half, size, axis=0)], 0)
                    for o, x in zip(outs, xs)]
        xs, size = outs, half + size % 2
    accs = [broadcast_in_dim(init, (m,), ()) for init in inits]
    if size == 1:
        accs = _combine(computation, consts, n, m)(*accs, *[reshape(x, (m,)) for x in xs])
    return [reshape(a, rest) for a in accs]


def _reduce_jvp(primals, tangents, *, computation, consts, dimensions):
    n = len(primals) // 2
    ans = reduce_p.bind(*primals, computation=computation, consts=consts,
                        dimensions=dimensions)

    def tree(*vals):
        return _tree_reduce(vals[:n], vals[n:], computation, consts, dimensions), None

    _, t_out, _ = jvp_flat(tree, primals, [instantiate(t) for t in tangents])
    return ans, t_out


def _reduce_batch(axis_size, vals, dims, *, computation, consts, dimensions):
    n = len(vals) // 2
    if any(d is not not_mapped for d in dims[n:]):
        raise NotImplementedError("vmap of xform.lax.reduce with batched init values is not "
                                  "supported (as in JAX); pass unbatched init values.")
    operands = [move_bdim(x, d, 0, axis_size) for x, d in zip(vals[:n], dims[:n])]
    outs = reduce_p.bind(*operands, *vals[n:], computation=computation, consts=consts,
                         dimensions=tuple(d + 1 for d in dimensions))
    return outs, [0] * n


abstract_eval[reduce_p] = _reduce_abstract_eval
to_jax[reduce_p] = _reduce_to_jax
jvp_rules[reduce_p] = _reduce_jvp
batch_rules[reduce_p] = _reduce_batch


def _XFORM_EQUIVALENT() -> dict:
    return {jlax.add: ew.add, jlax.sub: ew.sub, jlax.mul: ew.mul, jlax.max: ew.max,
            jlax.min: ew.min, jlax.bitwise_and: ew.bitwise_and, jlax.bitwise_or: ew.bitwise_or,
            jlax.bitwise_xor: ew.bitwise_xor}


def general_reduce(operands: Any, init_values: Any, computation: Callable[[Any, Any], Any],
                   dimensions: Sequence[int]) -> Any:
    """``jax.lax.reduce`` for any computation: ``computation(accs, xs)`` on pytrees of scalars
    shaped like ``operands`` returns the new accs. Binds the ``reduce`` primitive."""
    flat_ops, tree = jax.tree_util.tree_flatten(operands)
    flat_inits, init_tree = jax.tree_util.tree_flatten(init_values)
    if tree != init_tree:
        raise ValueError(f"reduce: operands and init_values must have the same structure, got "
                         f"{tree} and {init_tree}")
    avals = [ShapedArray((), to_aval(x).dtype) for x in flat_ops]

    def flat_comp(*scalars):
        accs = jax.tree_util.tree_unflatten(tree, scalars[:len(avals)])
        xs = jax.tree_util.tree_unflatten(tree, scalars[len(avals):])
        out = jax.tree_util.tree_leaves(computation(accs, xs))
        return out, None

    # jax.lax's binary functions cannot run on xform's tracers: use xform's own
    computation = _XFORM_EQUIVALENT().get(computation, computation)
    closed, _ = trace_to_jaxpr(flat_comp, avals + avals, description="reduce computation")
    if any(isinstance(c, Tracer) for c in closed.consts):
        raise TypeError("reduce: the computation closes over traced values; reduction "
                        "computations must depend only on their arguments.")
    dims = tuple(sorted(int(d) for d in dimensions))
    outs = reduce_p.bind(*flat_ops, *flat_inits, computation=closed.jaxpr,
                         consts=tuple(closed.consts), dimensions=dims)
    return jax.tree_util.tree_unflatten(tree, outs)
