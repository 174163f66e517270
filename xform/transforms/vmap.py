"""``vmap``: argument checking and pytree handling, then one call into the batching interpreter.

The checks run before anything is traced, and every message names the argument by its pytree
path (``x``, ``params['w']``, ``xs[1]``), the axis and the sizes involved.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
from jax.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_map, tree_unflatten

from xform.core.trace import Tracer, current_trace, set_current_trace, to_aval
from xform.core.avals import sharding_state
from xform.interpreters.batching import (
    BatchTrace, mapped_axis_spec, move_bdim, moveaxis, not_mapped,
)
from xform.interpreters.tracing import (
    convert_foreign_leaves, fun_description, fun_name, leaf_paths, positional_names,
)
from xform.lax.control_flow import scan
from xform.lax.shape import reshape
from xform.lax.slicing import concatenate, index_in_dim, slice_in_dim


def _is_none(x: Any) -> bool:
    return x is None


def _check_spec(spec: Any, what: str) -> None:
    """TypeError unless every leaf of ``spec`` (None counted as a leaf) is an int or None."""
    for leaf in jax.tree_util.tree_leaves(spec, is_leaf=_is_none):
        if leaf is not None and (isinstance(leaf, bool) or not isinstance(leaf, int)):
            raise TypeError(
                f"vmap {what} must be an int, None, or (nested) container with those types as "
                f"leaves, but got {spec!r}. The entry {leaf!r} (a {type(leaf).__name__}) is "
                "not an axis: give an int to map that axis, or None to leave it unmapped.")


def _broadcast_prefix(spec: Any, value: Any, what: str, where: str) -> list:
    """One axis per leaf of ``value``, from the prefix tree ``spec`` (ValueError if not one)."""
    out: list = []

    def take(axis, sub):
        out.extend([axis] * len(jax.tree_util.tree_leaves(sub)))

    try:
        tree_map(take, spec, value, is_leaf=_is_none)
    except ValueError as e:
        detail = str(e).split("\n", 1)[0]
        raise ValueError(
            f"vmap {what} specification must be a tree prefix of the corresponding value; "
            f"{where}: the specification {spec!r} has the structure "
            f"{tree_flatten(spec, is_leaf=_is_none)[1]} but the value has the structure "
            f"{tree_flatten(value)[1]} ({detail}). Give one axis (int or None) for the whole "
            "value, or a container of the value's own structure.") from None
    return out


def _norm_axis(axis: int, ndim: int) -> int | None:
    return axis + ndim if -ndim <= axis < 0 else (axis if 0 <= axis < ndim else None)


def _flat_in_axes(fun, in_axes, args, kwargs):
    """(leaves, in_tree, axes per leaf (normalized), paths per leaf)."""
    if isinstance(in_axes, tuple):
        if len(in_axes) != len(args):
            raise ValueError(
                f"vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                f"positional arguments passed to the function, but got len(in_axes)="
                f"{len(in_axes)}, len(args)={len(args)}. {fun_name(fun)} was called with "
                f"{len(args)} positional argument(s); give one in_axes entry for each.")
        per_arg = in_axes
    else:
        per_arg = (in_axes,) * len(args)
    paths = leaf_paths(fun, args, kwargs)
    arg_names = positional_names(fun, len(args))
    axes: list = []
    for i, (spec, a) in enumerate(zip(per_arg, args)):
        axes += _broadcast_prefix(spec, a, "in_axes",
                                  f"in_axes[{i}] is for argument `{arg_names[i]}`")
    for v in kwargs.values():
        axes += [0] * len(jax.tree_util.tree_leaves(v))  # keyword arguments map on axis 0
    leaves, in_tree = tree_flatten((tuple(args), dict(kwargs)))
    norm = []
    for leaf, axis, path in zip(leaves, axes, paths):
        if axis is None:
            norm.append(not_mapped)
            continue
        shape = to_aval(leaf).shape if _is_arraylike(leaf) else None
        if shape is None:
            raise TypeError(
                f"vmap: argument `{path}` is a {type(leaf).__name__} ({leaf!r:.60}), which is "
                f"not an array, but in_axes maps it along axis {axis}. Pass an array, or give "
                "it the in_axes entry None.")
        ax = _norm_axis(axis, len(shape))
        if ax is None:
            need = axis + 1 if axis >= 0 else -axis
            what = "a scalar (rank 0)" if not shape else f"of rank {len(shape)}"
            raise ValueError(
                f"vmap was requested to map its argument along axis {axis}, which implies that "
                f"its rank should be at least {need}, but is only {len(shape)} (its shape is "
                f"{shape}): argument `{path}` is {what}. Map a different axis, or give the "
                "argument the in_axes entry None to pass it unbatched.")
        norm.append(ax)
    return leaves, in_tree, norm, paths


def _is_arraylike(x: Any) -> bool:
    try:
        to_aval(x)
    except Exception:
        return False
    return True


def _axis_size(leaves, axes, paths, axis_size) -> int:
    mapped = [(p, ax, to_aval(x)) for x, ax, p in zip(leaves, axes, paths) if ax is not None]
    sizes = {a.shape[ax] for _, ax, a in mapped}
    if axis_size is not None:
        sizes.add(axis_size)
    if not sizes:
        raise ValueError("vmap must have at least one non-None value in in_axes or axis_size "
                         "must be specified: every argument is unmapped, so the batch size is "
                         "unknown. Map an argument, or pass axis_size=n.")
    if len(sizes) > 1:
        lines = [f"  * the `axis_size` argument was {axis_size};"] if axis_size is not None else []
        lines += [f"  * one axis had size {a.shape[ax]}: axis {ax} of argument {p} of type "
                  f"{a.str_short()};" for p, ax, a in mapped]
        raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n"
                         + "\n".join(lines)[:-1]
                         + "\nEvery mapped axis must have the batch size; check in_axes.")
    return sizes.pop()


def _all_last(out_axes) -> bool:
    """Whether every output's batch axis goes last (``out_axes=-1``, as jacfwd asks)."""
    axes = [a for a in jax.tree_util.tree_leaves(out_axes, is_leaf=_is_none) if a is not None]
    return bool(axes) and all(a == -1 for a in axes)


def _batched_call(fun, in_tree, leaves, axes, size, axis_name, out_axes, description):
    """Run ``fun`` on batched leaves; returns (flat outs, out_tree, flat out axes)."""
    parent = current_trace()
    trace = BatchTrace(parent, size, axis_name, description, prefer_last=_all_last(out_axes))
    if sharding_state.seen:  # over Explicit mesh axes: how the mapped axes are split
        trace.spmd_axis = mapped_axis_spec([to_aval(x) for x in leaves], axes)
    try:
        with set_current_trace(trace):
            args, kwargs = tree_unflatten(
                in_tree, [trace.wrap(x, ax) for x, ax in zip(leaves, axes)])
            out = fun(*args, **kwargs)
        out_paths = ["out" + keystr(p) for p, _ in tree_flatten_with_path(out)[0]]
        flat, out_tree = tree_flatten(out)
        flat_axes = _broadcast_prefix(out_axes, out, "out_axes", "for the function's output")
        results = []
        for x, ax, path in zip(flat, flat_axes, out_paths):
            val, bdim = trace.unpack(x) if isinstance(x, Tracer) else (x, not_mapped)
            if ax is None:
                if bdim is not not_mapped:
                    raise ValueError(
                        f"at vmap out_axes, got axis spec None but output was batched on axis "
                        f"{bdim}: output `{path}` depends on a mapped input, so it differs "
                        "across the batch and cannot be returned unbatched. Give it an int out "
                        "axis, or reduce over the batch first.")
                results.append(val)
                continue
            ndim = to_aval(val).ndim + (bdim is not_mapped)
            dst = _norm_axis(ax, ndim)
            if dst is None:
                raise ValueError(
                    f"axis {ax} is out of bounds for array of dimension {ndim}: out_axes asks "
                    f"to put the batch axis of output `{path}` (of rank {ndim} with the batch "
                    f"axis) at position {ax}.")
            with set_current_trace(parent):
                results.append(move_bdim(val, bdim, dst, size))
        return results, out_tree, flat_axes
    finally:
        trace.finish()


def _chunked_call(fun, in_tree, leaves, axes, size, chunk_size, out_axes, description):
    """The batch ``chunk_size`` examples at a time, joined: a ``scan`` over the full chunks (the
    body is traced, and compiled, once) and one more batched call for the remainder."""
    n_chunks, rem = divmod(size, chunk_size)
    mapped = [i for i, ax in enumerate(axes) if ax is not None]
    info: dict = {}

    def chunk_leaves(chunk):
        full = list(leaves)
        for i, x in zip(mapped, chunk):
            full[i] = x
        return full

    def body(_, xs):
        outs, out_tree, flat_axes = _batched_call(
            fun, in_tree, chunk_leaves(xs), axes_front, chunk_size, None,
            out_axes, description)
        info["tree"], info["axes"] = out_tree, flat_axes
        return (), outs

    # the mapped leaves, batch axis first, split into (n_chunks, chunk_size, ...)
    axes_front = [None if ax is None else 0 for ax in axes]
    xs = []
    for i in mapped:
        x = moveaxis_front(leaves[i], axes[i])
        x = slice_in_dim(x, 0, n_chunks * chunk_size, axis=0)
        xs.append(reshape(x, (n_chunks, chunk_size, *to_aval(x).shape[1:])))
    _, stacked = scan(body, (), xs)
    out_tree, flat_axes = info["tree"], info["axes"]
    joined = []
    for y, ax in zip(stacked, flat_axes):
        if ax is None:  # unbatched: the same in every chunk
            joined.append(_index0(y))
            continue
        shape = to_aval(y).shape  # (n_chunks, *per-chunk output with the batch at ax)
        dst = ax % (len(shape) - 1)
        y = moveaxis_to(y, 0, dst)  # chunks just before the chunk's batch axis
        joined.append(reshape(y, (*shape[1:dst + 1], n_chunks * chunk_size, *shape[dst + 2:])))
    if rem:
        tail = [x if ax is None else slice_in_dim(x, n_chunks * chunk_size, size, axis=ax)
                for x, ax in zip(leaves, axes)]
        outs, _, _ = _batched_call(fun, in_tree, tail, axes, rem, None, out_axes, description)
        joined = [j if ax is None else concatenate([j, o], ax % to_aval(o).ndim)
                  for j, o, ax in zip(joined, outs, flat_axes)]
    return joined, out_tree


def moveaxis_front(x: Any, ax: int) -> Any:
    return moveaxis(x, ax, 0)


def moveaxis_to(x: Any, src: int, dst: int) -> Any:
    return moveaxis(x, src, dst)


def _index0(y: Any) -> Any:
    return index_in_dim(y, 0, 0, keepdims=False)


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
         axis_size: int | None = None, spmd_axis_name: Any = None,
         chunk_size: int | None = None) -> Callable:
    """Vectorize ``fun`` over a batch axis of its arguments, as ``jax.vmap``.

    Arguments:
        fun: the per-example function; arguments and results are pytrees of arrays.
        in_axes: an int, None, or a tuple (a list is taken as a tuple) with one entry per
            positional argument, each a pytree prefix of that argument holding ints (the
            axis to map; negative counts from the end) or None (not mapped). Keyword arguments
            are mapped on axis 0.
        out_axes: an int, None or a pytree prefix of the output: where the batch axis goes in
            each output. An unbatched output with an int axis is broadcast along the batch;
            None is only allowed for outputs that are not batched.
        axis_name: a hashable name for the batch axis, for the collectives of ``xform.lax``
            (``psum``, ``all_gather``, ``axis_index``, ...).
        axis_size: the batch size; required when no argument is mapped.
        spmd_axis_name: accepted for compatibility; xform does not shard, so it has no effect.
        chunk_size: (beyond JAX) evaluate the batch ``chunk_size`` examples at a time and join
            the results: the same values, with memory bounded by a chunk.

    Returns:
        The batched function.

    >>> import xform, xform.numpy as xnp
    >>> xform.vmap(lambda x, y: x * y, in_axes=(0, None))(xnp.arange(3.0), 2.0)
    Array([0., 2., 4.], dtype=float32)
    """
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}: vmap's first argument is the "
                        "function to vectorize.")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or type(in_axes) in (int, tuple)):
        raise TypeError(
            f"vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
            f"positional arguments passed to the function, but got {in_axes!r}. (A dict or "
            "other container goes inside the tuple, as the entry of the argument it describes.)")
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if axis_size is not None and (isinstance(axis_size, bool) or not isinstance(axis_size, int)
                                  or axis_size < 0):
        raise TypeError(f"vmap axis_size must be a non-negative int, got {axis_size!r}.")
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"vmap chunk_size must be a positive int, got {chunk_size!r}.")
        if axis_name is not None:
            raise ValueError(
                "vmap chunk_size cannot be combined with axis_name: a collective over the named "
                "axis must see the whole batch, but each chunk sees only part of it.")
    description = f"vmap of {fun_description(fun)}"

    @functools.wraps(fun, updated=())
    def vmap_f(*args, **kwargs):
        args, kwargs = convert_foreign_leaves((args, kwargs))  # JAX's typed keys
        leaves, in_tree, axes, paths = _flat_in_axes(fun, in_axes, args, kwargs)
        size = _axis_size(leaves, axes, paths, axis_size)
        if chunk_size is not None and size > chunk_size:
            outs, out_tree = _chunked_call(fun, in_tree, leaves, axes, size, chunk_size,
                                           out_axes, description)
        else:
            outs, out_tree, _ = _batched_call(fun, in_tree, leaves, axes, size, axis_name,
                                              out_axes, description)
        return tree_unflatten(out_tree, outs)

    return vmap_f
