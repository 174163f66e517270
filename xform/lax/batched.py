"""Running a function batched, for code below the transforms.

``lax.map(batch_size=)``, ``numpy.vectorize`` and ``numpy.apply_along_axis`` need what ``vmap``
does, but ``xform.lax`` and the libraries sit below ``xform.transforms``. They get it from the
interpreters directly: the function is traced once on one example's types, the batching
interpreter batches that jaxpr (``batching.batch_jaxpr``), and the batched jaxpr is evaluated
under the current trace, so whatever transform is active sees ordinary primitives.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from jax.tree_util import tree_flatten, tree_unflatten

from xform.core.avals import ShapedArray
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_jaxpr, move_bdim, not_mapped
from xform.interpreters.staging import eval_jaxpr, hoist_consts, trace_to_jaxpr


def _example_aval(aval: ShapedArray, axis: int | None) -> ShapedArray:
    if axis is None:
        return aval
    return ShapedArray(aval.shape[:axis] + aval.shape[axis + 1:], aval.dtype, aval.weak_type)


def batched_call(fun: Callable, args: Sequence[Any], in_axes: Sequence[int | None],
                 out_axis: int = 0, *, description: str = "") -> Any:
    """``fun(*args)`` evaluated as ``vmap(fun, in_axes, out_axis)(*args)`` would.

    Arguments:
        fun: the per-example function of ``len(args)`` arrays, returning a pytree of arrays.
        args: arrays (concrete or traced).
        in_axes: for each argument, the axis holding the batch (negative counts from the
            end), or None for an argument passed whole to every example. At least one is an
            int, and the mapped axes have one size.
        out_axis: where the batch axis goes in every output (negative counts from the end);
            outputs that do not depend on the batch are broadcast along it.

    Returns:
        The pytree ``fun`` returns, every leaf with a batch axis at ``out_axis``.
    """
    avals = [to_aval(a) for a in args]
    axes = [None if ax is None else ax % a.ndim for a, ax in zip(avals, in_axes)]
    sizes = {a.shape[ax] for a, ax in zip(avals, axes) if ax is not None}
    if len(sizes) != 1:
        raise ValueError(f"batched_call needs one batch size, got {sorted(sizes)} for "
                         f"in_axes {tuple(in_axes)} and shapes {[a.shape for a in avals]}.")
    (size,) = sizes
    what = description or f"batched call of {getattr(fun, '__name__', type(fun).__name__)}"

    def flat_fun(*xs):
        return tree_flatten(fun(*xs))

    closed, out_tree = trace_to_jaxpr(flat_fun, [_example_aval(a, ax)
                                                 for a, ax in zip(avals, axes)],
                                      description=what, kind="vmap")
    closed, consts = hoist_consts(closed)
    batched, out_batched = batch_jaxpr(closed, size, [not_mapped] * len(consts) + axes,
                                       axis_name=None)  # lax.map's batch has no axis name
    out_dims = [0 if b else not_mapped for b in out_batched]
    outs = eval_jaxpr(batched.jaxpr, batched.consts, *consts, *args)
    moved = []
    for out, d in zip(outs, out_dims):
        ndim = to_aval(out).ndim + (d is not_mapped)
        moved.append(move_bdim(out, d, out_axis % ndim, size))
    return tree_unflatten(out_tree, moved)
