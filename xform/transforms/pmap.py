"""``pmap``: map a function over devices, built as current JAX builds it: ``jit`` of a
``shard_map`` over a one-axis mesh of the first ``n`` devices.

Each device gets one slice of the mapped axis (squeezed away inside the function, as JAX does),
collectives over ``axis_name`` reach every device, and the results are stacked back along
``out_axes``: a ``jax.Array`` laid out over those devices.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from xform.core.trace import current_trace, to_aval
from xform.interpreters.tracing import fun_name
from xform.lax.shape import expand_dims, squeeze
from xform.transforms.jit import jit
from xform.transforms.shard_map import shard_map

_CACHE_SIZE = 64  # compiled variants kept per pmap-ed function (static args, shapes, axes)


def _index_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    return (int(x),) if isinstance(x, (int, np.integer)) else tuple(int(i) for i in x)


def _spec(axis_name: Any, axis: int | None) -> PartitionSpec:
    return PartitionSpec() if axis is None else PartitionSpec(*[None] * axis, axis_name)


def _check_axes(what: str, axes: Any) -> None:
    leaves = jax.tree_util.tree_leaves(axes)
    if not all(type(a) is int for a in leaves):
        raise TypeError(f"pmap {what} must be an int, None, or (nested) container with those "
                        f"types as leaves, but got {axes}.")


def pmap(fun: Callable, axis_name: Any = None, *, in_axes: Any = 0, out_axes: Any = 0,
         static_broadcasted_argnums: int | Sequence[int] = (),
         devices: Sequence[Any] | None = None, backend: str | None = None,
         axis_size: int | None = None, donate_argnums: int | Sequence[int] = ()) -> Callable:
    """Run ``fun`` on several devices at once, one slice of the mapped axis each, as
    ``jax.pmap``.

    Arguments:
        fun: the per-device function; collectives over ``axis_name`` (``xform.lax.psum``,
            ``pmean``, ``all_gather``, ...) communicate between the devices.
        axis_name: the name of the mapped axis, for collectives.
        in_axes: which axis of each positional argument is mapped (a pytree prefix of the
            arguments; ``None`` broadcasts an argument to every device). Keyword arguments are
            mapped over axis 0.
        out_axes: where the mapped axis goes in each result (``None``: the result is the same
            on every device and returned once).
        static_broadcasted_argnums: positional arguments that are compile-time constants.
        devices: the devices to use (default: the first ``n`` of ``xform.devices()``, ``n``
            being the size of the mapped axis).
        backend, axis_size: as in ``jax.pmap``.
        donate_argnums: positional arguments whose buffers XLA may reuse.

    Returns:
        The mapped function: ``jit`` of a ``shard_map`` over a one-axis mesh; under another
        transform (``grad``, ``vmap``) it is an ordinary xform function of its arguments.

    >>> import xform, xform.numpy as xnp
    >>> xform.pmap(lambda x: x / xform.lax.psum(x, 'i'), axis_name='i')(xnp.ones(1))
    Array([1.], dtype=float32)
    """
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r:.60}")
    axis_name = "_internal_pmap_axis_name" if axis_name is None else axis_name
    static = _index_tuple(static_broadcasted_argnums)
    donate = tuple(i - sum(1 for s in static if s < i)
                   for i in _index_tuple(donate_argnums) if i not in static)
    _check_axes("in_axes", in_axes)
    _check_axes("out_axes", out_axes)
    if devices is not None:
        devices = tuple(devices)
        if not devices:
            raise ValueError("'devices' argument to pmap must be non-empty, or None.")
    compiled: OrderedDict = OrderedDict()

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        if static and max(static) >= len(args):
            raise ValueError(
                f"pmapped function has static_broadcasted_argnums={static} but was called "
                f"with only {len(args)} positional argument{'s' if len(args) != 1 else ''}. "
                "All static broadcasted arguments must be passed positionally.")
        dyn_nums = [i for i in range(len(args)) if i not in static]
        dyn = tuple(args[i] for i in dyn_nums)
        statics = tuple((i, args[i]) for i in static)
        leaves, in_tree = tree_flatten((dyn, kwargs))
        axes = _in_axes_flat(in_axes, dyn_nums if static else None, dyn, kwargs, in_tree)
        axes = [None if a is None else a % max(to_aval(x).ndim, 1) for a, x in
                zip(axes, leaves)]
        size = _mapped_size(fun, leaves, axes, axis_size)
        devs = _devices(devices, backend, size)
        traced = current_trace() is not None
        # donate_argnums names positional arguments; the compiled function takes their leaves
        counts = [len(jax.tree_util.tree_leaves(a)) for a in dyn]
        starts = np.cumsum([0] + counts)
        flat_donate = tuple(k for j in donate if j < len(dyn)
                            for k in range(int(starts[j]), int(starts[j + 1])))
        try:
            key = (in_tree, tuple(axes), devs, statics, traced, flat_donate)
            hash(key)
        except TypeError:
            raise ValueError(f"Non-hashable static arguments are not supported: the static "
                             f"arguments of {fun_name(fun)} must be hashable.") from None
        f = compiled.get(key)
        if f is None:
            f = _build(fun, axis_name, in_tree, axes, out_axes, devs, statics, flat_donate,
                       traced)
            compiled[key] = f
            if len(compiled) > _CACHE_SIZE:
                compiled.popitem(last=False)
        else:
            compiled.move_to_end(key)
        return f(*leaves)

    return wrapped


def _in_axes_flat(in_axes, dyn_nums, dyn, kwargs, in_tree) -> list:
    if dyn_nums is not None and isinstance(in_axes, (tuple, list)):
        in_axes = tuple(in_axes[i] for i in dyn_nums)
    elif isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    try:
        nested = tree_map(lambda a, sub: [a] * len(jax.tree_util.tree_leaves(sub)),
                          (in_axes, 0), (dyn, kwargs), is_leaf=lambda a: a is None)
    except (ValueError, TypeError):
        raise ValueError(
            f"pmap in_axes specification must be a tree prefix of the corresponding value, "
            f"got specification {in_axes} for value tree {in_tree}. The 'full pytree' here is "
            "the tuple of arguments passed positionally to the pmapped function, and the value "
            "of `in_axes` must be a tree prefix of that tuple.") from None
    return tree_flatten(nested, is_leaf=lambda a: a is None)[0]


def _mapped_size(fun, leaves, axes, axis_size) -> int:
    sizes = {int(to_aval(x).shape[a]) for x, a in zip(leaves, axes) if a is not None}
    if not sizes:
        raise ValueError("pmap requires at least one argument with a mapped axis.")
    if len(sizes) > 1:
        raise ValueError(f"pmap got inconsistent sizes for array axes to be mapped: "
                         f"{sorted(sizes)} (in {fun_name(fun)}'s arguments).")
    (size,) = sizes
    if axis_size is not None and jax.process_count() == 1 and axis_size != size:
        raise ValueError(f"Specified axis_size {axis_size} doesn't match received axis_size "
                         f"{size}.")
    return size


def _devices(devices, backend, size) -> tuple:
    if devices is None:
        devices = tuple(jax.devices(backend))
    if size > len(devices):
        raise ValueError(f"compiling computation that requires {size} logical devices, but "
                         f"only {len(devices)} XLA devices are available (the mapped axis has "
                         f"size {size}; pmap puts one slice on each device).")
    return tuple(devices[:size])


def _build(fun, axis_name, in_tree, axes, out_axes, devs, statics, donate, traced):
    mesh = Mesh(np.array(devs), (axis_name,))
    in_specs = tuple(_spec(axis_name, a) for a in axes)
    out_specs = tree_map(lambda a: _spec(axis_name, a), out_axes, is_leaf=lambda a: a is None)

    def per_device(*flat):
        flat = [x if a is None else squeeze(x, (a,)) for x, a in zip(flat, axes)]
        dyn, kwargs = tree_unflatten(in_tree, flat)
        full, it, pos = [], iter(dyn), dict(statics)
        for i in range(len(dyn) + len(pos)):
            full.append(pos[i] if i in pos else next(it))
        out = fun(*full, **kwargs)
        out_flat, out_tree = tree_flatten(out)
        oaxes = tree_flatten(tree_map(lambda a, sub: [a] * len(jax.tree_util.tree_leaves(sub)),
                                      out_axes, out, is_leaf=lambda a: a is None),
                             is_leaf=lambda a: a is None)[0]
        out_flat = [x if a is None else expand_dims(x, (a % (to_aval(x).ndim + 1),))
                    for x, a in zip(out_flat, oaxes)]
        return tree_unflatten(out_tree, out_flat)

    per_device.__name__ = f"pmap({fun_name(fun)})"
    mapped = shard_map(per_device, mesh=mesh, in_specs=in_specs, out_specs=out_specs,
                       check_vma=False)
    if traced:  # under another transform: placement is the enclosing program's business
        return jit(mapped, donate_argnums=donate or None)
    return jit(mapped, donate_argnums=donate or None,
               in_shardings=tuple(NamedSharding(mesh, s) for s in in_specs),
               out_shardings=tree_map(lambda s: NamedSharding(mesh, s), out_specs))
