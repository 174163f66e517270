"""``associative_scan``: a parallel prefix scan made of slices, elementwise ops and joins.

No loop primitive is involved: ``O(log n)`` rounds each combine neighbouring pairs, so every
transform treats it as the straight-line program it is (as JAX does).
"""

from __future__ import annotations

from typing import Any, Callable

from jax.tree_util import tree_flatten, tree_unflatten

from xform.core.trace import to_aval
from xform.lax.shape import expand_dims, reshape, rev
from xform.lax.slicing import concatenate, slice_in_dim


def _interleave(a: Any, b: Any, axis: int) -> Any:
    """``a[0], b[0], a[1], b[1], ...`` along ``axis``; ``a`` has as many entries as ``b`` or one
    more."""
    na, nb = to_aval(a).shape[axis], to_aval(b).shape[axis]
    head = slice_in_dim(a, 0, nb, axis=axis)
    pairs = concatenate([expand_dims(head, (axis + 1,)), expand_dims(b, (axis + 1,))], axis + 1)
    shape = list(to_aval(b).shape)
    shape[axis] = 2 * nb
    out = reshape(pairs, tuple(shape))
    if na > nb:
        out = concatenate([out, slice_in_dim(a, nb, na, axis=axis)], axis)
    return out


def associative_scan(fn: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan of ``elems`` along ``axis`` with the associative ``fn``, as
    ``jax.lax.associative_scan``: ``out[i] = fn(... fn(elems[0], elems[1]) ..., elems[i])``.

    ``fn(a, b)`` takes and returns pytrees of ``elems``' structure and must work elementwise on
    stacks of elements (it is called on slices).

    >>> import xform, xform.numpy as xnp
    >>> xform.lax.associative_scan(xform.lax.add, xnp.arange(5.0))
    Array([ 0.,  1.,  3.,  6., 10.], dtype=float32)
    """
    leaves, tree = tree_flatten(elems)
    if not leaves:
        return elems
    ndim = to_aval(leaves[0]).ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for elements of rank "
                         f"{ndim}.")
    axis = axis % ndim
    sizes = {to_aval(x).shape[axis] for x in leaves}
    if len(sizes) != 1:
        raise ValueError("associative_scan: array inputs to associative_scan must have the same "
                         f"size along axis {axis}, got sizes {sorted(sizes)}.")

    def combine(a, b):
        out, out_tree = tree_flatten(fn(tree_unflatten(tree, a), tree_unflatten(tree, b)))
        if out_tree != tree:
            raise TypeError(f"associative_scan: fn must return the structure of elems "
                            f"{tree}, got {out_tree}.")
        return out

    def sl(xs, start, stop, step=1):
        return [slice_in_dim(x, start, stop, step, axis) for x in xs]

    def prefix(xs):
        n = to_aval(xs[0]).shape[axis]
        if n < 2:
            return xs
        odd = prefix(combine(sl(xs, 0, n - 1, 2), sl(xs, 1, n, 2)))  # positions 1, 3, 5, ...
        if n < 3:
            return [_interleave(e, o, axis) for e, o in zip(sl(xs, 0, 1), odd)]
        prev = odd if n % 2 else sl(odd, 0, n // 2 - 1)
        even = combine(prev, sl(xs, 2, n, 2))  # positions 2, 4, ...
        even = [concatenate([h, e], axis) for h, e in zip(sl(xs, 0, 1), even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    out = prefix(leaves)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_unflatten(tree, out)


__all__ = ["associative_scan"]
