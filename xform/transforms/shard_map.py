"""``shard_map``: write the per-device program of an SPMD computation, as ``jax.shard_map``.

``shard_map(f, mesh=, in_specs=, out_specs=)(*args)`` lays every argument out over the mesh as
its ``in_specs`` entry says, runs ``f`` on each device's blocks (collectives in ``f`` name mesh
axes), and assembles the results from the blocks as ``out_specs`` says. ``f`` is traced once to
an xform jaxpr of the blocks and bound as the ``shard_map`` primitive
(xform/lax/shard_map.py), which every xform transform handles and which lowers through
``jax.shard_map``.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

import jax
from jax.sharding import AxisType, PartitionSpec
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from xform.core.primitive import vma_checking
from xform.core.trace import Tracer, to_aval
from xform.interpreters.staging import hoist_consts, trace_to_jaxpr
from xform.interpreters.tracing import flatten_outputs, fun_name
from xform.lax._vma import jaxpr_vma
from xform.lax.parallel import bound_axis_sizes, mesh_axes_bound
from xform.lax.sharding import context_mesh
from xform.lax.shard_map import bind_shard_map, shard_aval, spec_axes, spec_names, unmentioned


class _InferFromArgs:
    """The default ``in_specs``: take each argument's spec from its sharding (only where every
    manual mesh axis is ``Explicit``, as in JAX)."""

    def __repr__(self):
        return "xform.shard_map.Infer"


Infer = _InferFromArgs()


def _is_infer(x: Any) -> bool:
    return x is Infer or type(x).__name__ == "InferFromArgs"  # xform's or JAX's sentinel


def shard_map(f: Callable | None = None, /, *, out_specs: Any, in_specs: Any = Infer,
              mesh: Any = None, axis_names: Any = frozenset(), check_vma: bool = True) -> Any:
    """Map ``f`` over the blocks of its arguments on the devices of ``mesh``.

    Arguments:
        f: the per-device function; inside it, collectives (``xform.lax.psum``, ``all_gather``,
            ``ppermute``, ...) work over the mesh axes named in ``axis_names``.
        mesh: a ``jax.sharding.Mesh`` (default: the mesh set with ``xform.set_mesh``).
        in_specs: a pytree prefix of the arguments of ``PartitionSpec``s: which mesh axes split
            which array dimensions (an axis left out means the argument is replicated over it);
            ``None`` passes an argument through unsplit, as a constant of ``f``.
        out_specs: a pytree prefix of ``f``'s results of ``PartitionSpec``s: how the devices'
            blocks are assembled (a mesh axis left out means every device along it holds the
            same block, which ``check_vma`` verifies).
        axis_names: the mesh axes ``f`` is manual over (default: all); the others stay
            automatic (XLA partitions them).
        check_vma: check, when ``f`` is traced, that every result is replicated over the mesh
            axes its ``out_specs`` entry leaves out.

    Returns:
        The mapped function, usable eagerly, under ``jit`` and under every transform.

    >>> import xform, xform.numpy as xnp
    >>> from xform.sharding import PartitionSpec as P
    >>> mesh = xform.make_mesh((1,), ('i',))
    >>> f = xform.shard_map(lambda x: xform.lax.psum(x, 'i'), mesh=mesh, in_specs=P('i'),
    ...                     out_specs=P())
    >>> f(xnp.arange(3.0))
    Array([0., 1., 2.], dtype=float32)
    """
    kw = dict(out_specs=out_specs, in_specs=in_specs, mesh=mesh, axis_names=axis_names,
              check_vma=check_vma)
    if f is None:
        return lambda g: shard_map(g, **kw)
    if not callable(f):
        raise TypeError("shard_map requires a callable for its first argument, but got "
                        f"{f!r:.60} of type {type(f).__name__}.")

    @functools.wraps(f)
    def wrapped(*args):
        m, manual = _checked_mesh(mesh, axis_names)
        if not _is_infer(in_specs):
            _check_specs("in", in_specs, manual)
        _check_specs("out", out_specs, manual)
        leaves, in_tree = tree_flatten(args)
        specs = (_infer_specs(leaves, m, manual) if _is_infer(in_specs)
                 else _prefix_leaves(in_specs, args, "in_specs"))
        _check_args(f, m, leaves, specs)
        body, consts, out_tree, out_flat = _trace(f, m, manual, leaves, in_tree, specs,
                                                  out_specs, check_vma)
        dyn = [x for x, s in zip(leaves, specs) if s is not None]
        dyn_specs = [s for s in specs if s is not None]
        outs = bind_shard_map([*consts, *dyn], body, mesh=m,
                              in_specs=[PartitionSpec()] * len(consts) + dyn_specs,
                              out_specs=out_flat, axis_names=manual, check_vma=check_vma)
        return tree_unflatten(out_tree, outs)

    return wrapped


# -- checks ----------------------------------------------------------------------------------
def _checked_mesh(mesh: Any, axis_names: Any):
    ctx = jax.sharding.get_abstract_mesh()
    if mesh is None:
        mesh = context_mesh()
        if mesh.empty:
            raise ValueError("shard_map: the context mesh cannot be empty. Pass mesh=, or use "
                             "`xform.set_mesh(mesh)` to enter into a mesh context.")
    elif not ctx.empty and getattr(mesh, "abstract_mesh", mesh) != ctx:
        raise ValueError(f"The context mesh {ctx} should match the mesh passed to shard_map "
                         f"{mesh}")
    if not isinstance(mesh, (jax.sharding.Mesh, jax.sharding.AbstractMesh)):
        raise TypeError("shard_map requires a `jax.sharding.Mesh` or a "
                        f"`jax.sharding.AbstractMesh` instance for its mesh argument, but got "
                        f"{mesh!r:.60} of type {type(mesh).__name__}.")
    if mesh.empty:
        raise ValueError(f"shard_map requires a non-empty mesh. Got {mesh}")
    if not isinstance(axis_names, (set, frozenset)):
        raise TypeError("`axis_names` argument of shard_map should be of type `frozenset` or "
                        f"`set`. Got type: {type(axis_names).__name__}")
    manual = frozenset(axis_names) or frozenset(mesh.axis_names)
    if not manual <= set(mesh.axis_names):
        raise ValueError(f"shard_map requires axis_names={set(manual)} to be a subset of "
                         f"mesh.axis_names={mesh.axis_names}")
    return mesh, manual


def _is_spec_leaf(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _check_specs(prefix: str, specs: Any, manual: frozenset) -> None:
    if prefix == "in" and specs is None:
        raise TypeError("shard_map in_specs argument must be a pytree of "
                        "`jax.sharding.PartitionSpec` instances, but it was None.\n"
                        "Instead of `in_specs=None`, did you mean `in_specs=P()`, "
                        "where `P = jax.sharding.PartitionSpec`?")
    flat = jax.tree_util.tree_flatten_with_path(specs, is_leaf=_is_spec_leaf)[0]
    bad_type = [f"  {prefix}_specs{jax.tree_util.keystr(k)} is {x!r} of type "
                f"{type(x).__name__}" for k, x in flat
                if not isinstance(x, PartitionSpec) and x is not None]
    if bad_type:
        raise TypeError(f"shard_map {prefix}_specs argument must be a pytree of "
                        "`jax.sharding.PartitionSpec` instances, but:\n\n"
                        + "\n\n".join(bad_type)
                        + f"\n\nCheck the {prefix}_specs values passed to shard_map.")
    bad = [f"  {prefix}_specs{jax.tree_util.keystr(k)} refers to {n!r}" for k, x in flat
           if x is not None for n in sorted(spec_axes(x) - manual, key=str)]
    if bad:
        raise ValueError(f"shard_map {prefix}_specs argument must refer to an axis marked as "
                         f"manual ({set(manual)}), but:\n\n" + "\n\n".join(bad)
                         + f"\n\nCheck the {prefix}_specs values passed to shard_map.")


def _prefix_leaves(specs: Any, tree: Any, what: str) -> list:
    """One spec per leaf of ``tree``, ``specs`` being a pytree prefix of it."""
    try:
        nested = tree_map(lambda s, sub: [s] * len(jax.tree_util.tree_leaves(sub)), specs,
                          tree, is_leaf=_is_spec_leaf)
    except (ValueError, TypeError) as e:
        raise ValueError(f"shard_map {what} must be a pytree prefix of the "
                         f"{'arguments' if what == 'in_specs' else 'results'} "
                         f"(structure {jax.tree_util.tree_structure(tree)}), but: {e}") from None
    return tree_flatten(nested, is_leaf=lambda v: v is None)[0]


def _infer_specs(leaves, mesh, manual) -> list:
    types = dict(zip(mesh.axis_names, mesh.axis_types))
    if not all(types[a] == AxisType.Explicit for a in manual):
        raise TypeError("shard_map in_specs argument must be a pytree of "
                        "`jax.sharding.PartitionSpec` instances, but it was not given when "
                        f"axis_names={set(manual)} are of type "
                        f"{', '.join(str(types[a]) for a in manual)} (only Explicit mesh axes "
                        "let shard_map infer in_specs from the arguments).")
    out = []
    for x in leaves:
        # a traced value's sharding type (None: replicated), or a concrete array's sharding
        sharding = to_aval(x).sharding if isinstance(x, Tracer) else getattr(x, "sharding", None)
        spec = (sharding.spec.partitions if isinstance(sharding, jax.sharding.NamedSharding)
                else ())
        out.append(PartitionSpec(*[n if n is None or (set(n if isinstance(n, tuple) else (n,))
                                                      <= manual) else None
                                   for n in spec]))
    return out


def _check_args(f, mesh, leaves, specs) -> None:
    sizes = dict(mesh.shape)
    for i, (x, s) in enumerate(zip(leaves, specs)):
        if s is None:
            continue
        aval = to_aval(x)
        if len(s) > aval.ndim:
            raise ValueError(
                f"shard_map applied to the function '{fun_name(f)}' was given an in_specs "
                f"entry which is too long to be compatible with the corresponding input value: "
                f"in_specs entry {s} (for argument leaf {i}) has length {len(s)}, but the "
                f"argument has shape {aval.str_short()}, which has rank {aval.ndim}. Entries "
                "in in_specs must be of length no greater than the number of axes in the "
                "corresponding input value"
                + (" (for a scalar, use P())." if aval.ndim == 0 else "."))
        for d, names in spec_names(s).items():
            n = 1
            for a in names:
                n *= sizes[a]
            if aval.shape[d] % n:
                raise ValueError(
                    f"shard_map applied to the function '{fun_name(f)}' was given argument "
                    f"arrays with axis sizes that are not evenly divisible by the "
                    f"corresponding mesh axis sizes: argument leaf {i} of shape "
                    f"{aval.str_short()} corresponds to in_specs entry {s}, which maps array "
                    f"axis {d} (of size {aval.shape[d]}) to mesh axes {names} (of total size "
                    f"{n}), but {n} does not evenly divide {aval.shape[d]}. The mesh has shape "
                    f"{tuple(sizes.values())} with axis names {mesh.axis_names}.")


# -- tracing the body, cached weakly per function ---------------------------------------------
_traced: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _trace(f, mesh, manual, leaves, in_tree, specs, out_specs, check_vma):
    # with check_vma, a block's type says which manual axes it varies over: those its spec
    # splits it along (JAX's varying manual axes)
    dyn_avals = [shard_aval(mesh, s, to_aval(x), manual if check_vma else None, manual)
                 for x, s in zip(leaves, specs) if s is not None]
    statics = tuple(x if s is None else None for x, s in zip(leaves, specs))
    out_leaves, out_specs_tree = tree_flatten(out_specs, is_leaf=_is_spec_leaf)
    key = None
    try:
        key = (in_tree, tuple(dyn_avals), tuple(specs), statics, tuple(out_leaves),
               out_specs_tree, mesh, manual, bool(check_vma),
               tuple(sorted(bound_axis_sizes().items(), key=lambda kv: str(kv[0]))))
        hash(key)
        if any(isinstance(x, Tracer) for x in statics):
            key = None
    except TypeError:
        key = None
    per = None
    if key is not None:
        try:
            per = _traced.setdefault(f, {})
        except TypeError:  # not weakly referenceable: trace every call
            per = None
        hit = per.get(key) if per is not None else None
        if hit is not None:
            return hit
    out = _trace_body(f, mesh, manual, leaves, in_tree, specs, out_specs, check_vma,
                      dyn_avals)
    if per is not None and not any(isinstance(c, Tracer) for c in out[1]):
        per[key] = out
    return out


def _trace_body(f, mesh, manual, leaves, in_tree, specs, out_specs, check_vma, dyn_avals):
    sizes = {n: k for n, k in dict(mesh.shape).items() if n in manual}  # in mesh order
    name = fun_name(f)

    def flat_body(*blocks):
        it = iter(blocks)
        full = [next(it) if s is not None else x for x, s in zip(leaves, specs)]
        with mesh_axes_bound(sizes):
            out = f(*tree_unflatten(in_tree, full))
        outs, out_tree = flatten_outputs(out, f"shard_map of {name}",
                                         "A shard_map-ped function must return arrays (or "
                                         "pytrees of arrays).")
        return outs, (out_tree, _prefix_leaves(out_specs, tree_unflatten(out_tree, outs),
                                               "out_specs"))

    with vma_checking(check_vma):
        closed, (out_tree, out_flat) = trace_to_jaxpr(
            flat_body, dyn_avals, description=f"shard_map of {name}", kind="shard_map")
    body, consts = hoist_consts(closed)
    for c in consts:
        aval = to_aval(c)
        if aval.sharding is not None:  # as JAX: its blocks' types would need a reshard
            raise NotImplementedError(
                f"shard_map of {name}: closing over inputs to shard_map where the input is "
                "sharded on `Explicit` axes is not implemented. As a workaround, please pass "
                f"those inputs as an argument to shard_map. Got input with shape "
                f"{aval.str_short()}")
    for i, (a, s) in enumerate(zip(body.out_avals, out_flat)):
        if s is None:  # a None entry of out_specs stands for results that are None
            raise ValueError(
                f"shard_map applied to the function '{name}' was given an out_specs entry "
                f"None for result leaf {i} of type {a.str_short()}: None is the spec of an "
                "empty result (a function returning None); use a PartitionSpec, e.g. P() "
                "for a value the same on every device.")
        if len(s) > a.ndim:
            raise ValueError(
                f"shard_map applied to the function '{name}' was given an out_specs entry "
                f"which is too long to be compatible with the corresponding output value: "
                f"out_specs entry {s} (for result leaf {i}) has length {len(s)}, but "
                f"{name}(*args) gives {a.str_short()}, which has rank {a.ndim}. Either revise "
                "the spec to be shorter, or give the output more axes"
                + (" (for a scalar, use P() if it is the same on every device, or add a "
                   "singleton axis to it)." if a.ndim == 0 else "."))
    if check_vma:
        dyn_specs = [s for s in specs if s is not None]
        inferred = jaxpr_vma(body.jaxpr, [frozenset()] * len(consts)
                             + [frozenset(spec_axes(s)) for s in dyn_specs])
        # a result may vary over an axis only if both its type (JAX's rule) and the
        # inference from the jaxpr (which knows that an all_gather's result is the same on
        # every device) say so
        vma = [v & a.vma for v, a in zip(inferred, body.out_avals)]
        _check_out_vma(name, mesh, manual, out_flat, vma)
    return body, list(consts), out_tree, out_flat


def _check_out_vma(name, mesh, manual, out_specs, vma) -> None:
    msgs = []
    for i, (s, v) in enumerate(zip(out_specs, vma)):
        bad = [n for n in unmentioned(mesh, s, manual) if n in v]
        if bad:
            msgs.append(f"* out_specs entry {s} (result leaf {i}) implies that the output is "
                        f"replicated across mesh axes {bad}, but it may vary over "
                        f"{[n for n in mesh.axis_names if n in v]}")
    if msgs:
        raise ValueError(
            f"shard_map applied to the function '{name}' was given out_specs which require "
            f"replication which can't be statically inferred given the mesh:\n\nThe mesh "
            f"given has shape {tuple(dict(mesh.shape).values())} with corresponding axis "
            f"names {mesh.axis_names}.\n\n" + "\n\n".join(msgs) + "\n\nCheck if these output "
            "values are meant to be replicated over those mesh axes (reduce them with psum / "
            "pmean / all_gather). If not, revise the corresponding out_specs entries. If so, "
            "disable the check by passing check_vma=False to `xform.shard_map`.")
