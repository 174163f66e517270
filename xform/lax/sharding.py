"""``with_sharding_constraint``: the ``sharding_constraint[sharding=...]`` primitive.

It asks XLA's SPMD partitioner (behind ``jax.jit``) to lay a value out as ``sharding``; the value
itself is unchanged. xform only carries the request to ``jax.lax.with_sharding_constraint``
when it lowers, and keeps it through its transforms: under ``vmap`` the batch axis is inserted
into the spec unsharded, and the tangent (JVP) and the cotangent (transpose) of a constrained
value get the same constraint.

A bare ``PartitionSpec`` is resolved against the mesh in context (``xform.set_mesh``) when the
primitive is bound, as JAX does.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
from jax.sharding import AxisType, NamedSharding, PartitionSpec, Sharding
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from xform.core import region_mesh
from xform.core.avals import ShapedArray, out_sharding_param
from xform.core.jax_internals import get_concrete_mesh
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_rules, batched_sharding
from xform.interpreters.jvp import deflinear_jvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear

__all__ = ["with_sharding_constraint", "sharding_constraint_p", "reshard", "reshard_p",
           "auto_axes", "explicit_axes", "auto_region"]

sharding_constraint_p = Primitive("sharding_constraint")


def _spec_len(sharding: Any) -> int:
    return len(sharding.spec) if isinstance(sharding, NamedSharding) else 0


def _abstract_eval(x: ShapedArray, *, sharding) -> ShapedArray:
    n = _spec_len(sharding)
    if n > x.ndim:
        raise ValueError(
            f"One of with_sharding_constraint arguments is incompatible with its sharding "
            f"annotation {sharding}: it is only valid for values of rank at least {n}, but was "
            f"applied to a value of rank {x.ndim} ({x.str_short()}). Use a shorter "
            "PartitionSpec (trailing dimensions are replicated).")
    return x


def _to_jax(x, *, sharding):
    return jax.lax.with_sharding_constraint(x, sharding)


def insert_unsharded(sharding: Any, ndim: int, dim: int) -> Any:
    """``sharding`` (of a rank-``ndim`` value) for the value with a new, unsharded axis at
    ``dim``: how batching keeps a sharding request."""
    if not isinstance(sharding, NamedSharding):
        return sharding  # a rank-free sharding (one device, say) holds for any rank
    spec = list(sharding.spec.partitions)
    if dim >= len(spec):
        return sharding  # axes past the spec's end are unsharded already
    spec.insert(dim, None)
    return NamedSharding(sharding.mesh, sharding.spec.update(partitions=tuple(spec)),
                         memory_kind=sharding.memory_kind)


def _batch_rule(axis_size, vals, dims, *, sharding):
    (x,), (d,) = vals, dims
    ndim = to_aval(x).ndim - 1
    return sharding_constraint_p.bind(x, sharding=insert_unsharded(sharding, ndim, d)), d


abstract_eval[sharding_constraint_p] = _abstract_eval
to_jax[sharding_constraint_p] = _to_jax
batch_rules[sharding_constraint_p] = _batch_rule
deflinear_jvp(sharding_constraint_p)
deflinear(sharding_constraint_p,
          lambda ct, *, x_aval, sharding: sharding_constraint_p.bind(ct, sharding=sharding))


# -- reshard: a value moved to another layout over Explicit mesh axes -------------------------
reshard_p = Primitive("reshard")
reshard_p.layout_param = "dst_sharding"


def _reshard_abstract_eval(x: ShapedArray, *, dst_sharding, src_sharding=None) -> ShapedArray:
    if len(getattr(dst_sharding, "spec", dst_sharding)) > x.ndim:
        raise ValueError(f"reshard: the layout {dst_sharding} has more entries than the rank "
                         f"of the value, {x.str_short()}.")
    return x  # its sharding type is JAX's (xform/interpreters/sharding_types.py)


def _reshard_batch(axis_size, vals, dims, *, dst_sharding, src_sharding=None):
    (x,), (d,) = vals, dims
    ndim = to_aval(x).ndim - 1
    src = {} if src_sharding is None else {
        "src_sharding": batched_sharding(src_sharding, ndim, d)}
    return reshard_p.bind(x, dst_sharding=batched_sharding(dst_sharding, ndim, d), **src), d


def _reshard_transpose(ct, *, x_aval, dst_sharding, src_sharding=None):
    # the cotangent goes back to the operand's layout, as JAX's transpose does: the one
    # recorded where the operand's type does not say it (a value of an Auto mesh, leaving
    # ``auto_axes``), else the operand's sharding type (replicated when it has none)
    if src_sharding is not None:
        back = src_sharding
    else:
        # (over its own mesh: the cotangent may be computed in an auto_axes region)
        back = x_aval.sharding if x_aval.sharding is not None else PartitionSpec()
    return reshard_p.bind(ct, dst_sharding=back)


abstract_eval[reshard_p] = _reshard_abstract_eval
to_jax[reshard_p] = (lambda x, *, dst_sharding, src_sharding=None:
                     jax.sharding.reshard(x, dst_sharding))
batch_rules[reshard_p] = _reshard_batch
deflinear_jvp(reshard_p)
deflinear(reshard_p, _reshard_transpose)


def reshard(xs: Any, out_shardings: Any, _src: Any = None) -> Any:
    """``xs`` (a pytree) laid out as ``out_shardings`` (a pytree prefix of ``PartitionSpec``s
    or ``NamedSharding``s over Explicit mesh axes), as ``jax.sharding.reshard``: the values are
    unchanged, their sharding types become the given ones. Works on traced values (under
    ``jit``, ``grad``, ``vmap``) and on concrete arrays."""
    leaves, tree = tree_flatten(xs)
    is_spec = lambda s: s is None or isinstance(s, (Sharding, PartitionSpec))  # noqa: E731
    per_leaf = tree_flatten(
        tree_map(lambda s, sub: [s] * len(jax.tree_util.tree_leaves(sub)), out_shardings, xs,
                 is_leaf=is_spec), is_leaf=lambda v: v is None)[0]
    srcs = [None] * len(leaves) if _src is None else tree_flatten(_src)[0]
    out = []
    for leaf, s, src in zip(leaves, per_leaf, srcs):
        if not isinstance(leaf, Tracer):
            out.append(jax.sharding.reshard(leaf, s))
            continue
        extra = {} if src is None else {"src_sharding": src}
        out.append(reshard_p.bind(leaf, **_as_layout_param(s), **extra))
    return tree_unflatten(tree, out)


# -- auto_axes / explicit_axes: a function run with some mesh axes switched to another type ----

def _spec_of(x: Any) -> PartitionSpec:
    aval = x.aval if isinstance(x, Tracer) else jax.typeof(x)
    sharding = getattr(aval, "sharding", None)
    return sharding.spec if sharding is not None else PartitionSpec()


def _explicit_only(spec: PartitionSpec, mesh: Any) -> PartitionSpec:
    """``spec`` with the mesh axes that are not Explicit in ``mesh`` dropped (a sharding type
    names Explicit axes only)."""
    explicit = lambda a: mesh._name_to_type[a] == AxisType.Explicit  # noqa: E731
    parts = [p if p is None else
             tuple(a for a in p if explicit(a)) if isinstance(p, tuple) else
             (p if explicit(p) else None) for p in spec.partitions]
    return PartitionSpec(*parts, unreduced={a for a in spec.unreduced if explicit(a)},
                         reduced={a for a in spec.reduced if explicit(a)})


def _switched_mesh(axes: Any, axis_type: Any, name: str, shardings: Any = None) -> Any:
    """(mesh in use, that mesh with ``axes`` (default: all) switched to ``axis_type``, the
    axes), or None without any mesh; the mesh is the context's or the shardings' own."""
    current = jax.sharding.get_abstract_mesh()
    given = None
    for s in jax.tree_util.tree_leaves(shardings):
        if isinstance(s, NamedSharding):
            m = s.mesh.abstract_mesh
            if given is not None and given != m:
                raise ValueError(f"Shardings passed to {name} should have the same mesh. Got "
                                 f"one mesh {given} and another {s.mesh}")
            given = m
    if given is not None and not current.empty and given != current:
        raise ValueError(f"Context mesh {current} must match the mesh passed to shardings "
                         f"{given}. Recommended approach is to use `xform.set_mesh` context "
                         "manager.")
    mesh = current if not current.empty else given
    if mesh is None:
        return None
    axes = mesh.axis_names if axes is None else axes
    axes = axes if isinstance(axes, tuple) else (axes,)
    for a in axes:
        if mesh._name_to_type[a] == AxisType.Manual:
            raise NotImplementedError(
                f"{name}: going from a Manual mesh axis ({a!r}) to an Auto or Explicit one "
                "is not allowed (as in JAX).")
    return mesh, mesh.update_axis_types({a: axis_type for a in axes}), axes


def _given_or_keyword(given: Any, kwargs: dict, name: str) -> Any:
    """The sharding given to ``auto_axes``/``explicit_axes`` itself, else the one passed as the
    keyword ``name`` of the call (taken out of ``kwargs``), as JAX's take it."""
    if given is not None:
        return given
    if name not in kwargs:
        raise TypeError(f"Missing required keyword argument: '{name}'")
    return kwargs.pop(name)


def auto_axes(f: Any = None, /, *, axes: Any = None, out_sharding: Any = None) -> Any:
    """``f`` run with the mesh axes ``axes`` (default: all) of the mesh in context switched to
    Auto (the compiler picks the layout there), its results resharded to ``out_sharding``
    (here or as a keyword of the call), as ``jax.sharding.auto_axes``; works on xform's
    traced values."""
    if f is None:
        return lambda g: auto_axes(g, axes=axes, out_sharding=out_sharding)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        out_s = _given_or_keyword(out_sharding, kwargs, "out_sharding")
        info = _switched_mesh(axes, AxisType.Auto, "auto_axes", out_s)
        if info is None or set(info[0].auto_axes) == set(info[2]):
            return f(*args, **kwargs)
        with region_mesh.region(info[1]):
            args = reshard(args, tree_map(lambda a: _explicit_only(_spec_of(a), info[1]), args))
            out = f(*args, **kwargs)
            # where the results come from (their types name no Auto mesh): the way back for
            # their cotangents
            src = tree_map(lambda o: NamedSharding(info[1], _explicit_only(_spec_of(o), info[1])),
                           out)
        return reshard(out, out_s, _src=src)
    return wrapper


def auto_region(f: Any, out_sharding: Any, what: str, *args: Any) -> Any:
    """``f(*args)`` computed as JAX computes a region whose result layout it cannot derive
    (einsum chains, gathers, ``repeat``, samplers, given an ``out_sharding``): in
    ``auto_axes`` over the Explicit axes of ``out_sharding``'s mesh (the compiler lays out
    the insides, no operand is gathered first), the result laid out as ``out_sharding``.
    ``what`` names the caller in errors."""
    s = resolve_sharding(out_sharding, what)
    if not isinstance(s, NamedSharding):
        raise NotImplementedError(f"`out_sharding` argument of `{what}` only supports "
                                  f"NamedSharding instances, got {s!r}.")
    return auto_axes(f, axes=s.mesh.explicit_axes, out_sharding=s)(*args)


def explicit_axes(f: Any = None, /, *, axes: Any = None, in_sharding: Any = None) -> Any:
    """``f`` run with the mesh axes ``axes`` (default: all) of the mesh in context switched to
    Explicit, its arguments resharded to ``in_sharding`` (here or as a keyword of the call),
    as ``jax.sharding.explicit_axes``; works on xform's traced values."""
    if f is None:
        return lambda g: explicit_axes(g, axes=axes, in_sharding=in_sharding)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        in_s = _given_or_keyword(in_sharding, kwargs, "in_sharding")
        info = _switched_mesh(axes, AxisType.Explicit, "explicit_axes")
        if info is None:
            raise ValueError("Context mesh cannot be empty. Please use `xform.set_mesh` to "
                             "enter into a mesh context when using `explicit_axes`.")
        with region_mesh.region(info[1]):
            args = reshard(args, in_s)
            out = f(*args, **kwargs)
        mesh = jax.sharding.get_abstract_mesh()
        return reshard(out, tree_map(lambda o: _explicit_only(_spec_of(o), mesh), out))
    return wrapper


def _as_layout_param(s: Any) -> dict:
    if isinstance(s, PartitionSpec):
        # under ``use_abstract_mesh`` the spec names that mesh's axes (not the concrete mesh's,
        # if one is set); bound to it now, as JAX binds it, since the context is gone by the
        # time the program is lowered
        mesh, concrete = jax.sharding.get_abstract_mesh(), get_concrete_mesh()
        if not mesh.empty and (concrete.empty or concrete.abstract_mesh != mesh):
            s = NamedSharding(mesh, s)
    return {"dst_sharding": out_sharding_param(s)["out_sharding"]}


def context_mesh():
    """The mesh set with ``set_mesh``: the concrete one where JAX gives it (outside
    ``jax.jit``'s tracing), else the abstract one (possibly empty)."""
    try:
        mesh = jax.sharding.get_mesh()
    except ValueError:  # inside jax.jit's tracing: only the abstract mesh is known
        mesh = None
    return mesh if mesh is not None and not mesh.empty else jax.sharding.get_abstract_mesh()


def resolve_sharding(s: Any, what: str = "with_sharding_constraint") -> Any:
    """A ``Sharding`` for ``s``: itself, or a ``PartitionSpec`` bound to the mesh in context."""
    if isinstance(s, Sharding):
        return s
    if isinstance(s, PartitionSpec):
        mesh = context_mesh()
        if mesh.empty:
            raise RuntimeError(
                f"{what} requires a non-empty mesh in context if you are passing "
                "`PartitionSpec`s to shardings. You can define a context mesh via "
                "`xform.set_mesh(mesh)`. Alternatively, provide `Sharding`s to shardings and "
                "then the mesh context manager is not required.")
        return NamedSharding(mesh, s)
    raise TypeError(f"{what} expects a jax.sharding.Sharding or a PartitionSpec for each "
                    f"leaf, got {type(s).__name__}: {s!r:.80}")


def with_sharding_constraint(x: Any, shardings: Any) -> Any:
    """Ask the compiler to lay ``x`` (a pytree) out as ``shardings`` (a pytree prefix of
    ``x`` of ``Sharding``s or ``PartitionSpec``s), as ``jax.lax.with_sharding_constraint``.

    The values are unchanged. Under ``jit`` the request reaches XLA's SPMD partitioner;
    eagerly the result is placed with that sharding.
    """
    leaves, tree = tree_flatten(x)
    is_spec = lambda s: s is None or isinstance(s, (Sharding, PartitionSpec))  # noqa: E731
    try:
        per_leaf = tree_flatten(
            tree_map(lambda s, sub: [s] * len(jax.tree_util.tree_leaves(sub)), shardings, x,
                     is_leaf=is_spec), is_leaf=lambda v: v is None)[0]
    except ValueError as e:
        raise ValueError(f"with_sharding_constraint: `shardings` must be a pytree prefix of "
                         f"the value's structure {tree}; {e}") from None
    out = []
    for leaf, s in zip(leaves, per_leaf):
        if s is None:
            out.append(leaf)
            continue
        if not isinstance(leaf, Tracer):
            leaf = jax.numpy.asarray(leaf)
        out.append(sharding_constraint_p.bind(leaf, sharding=resolve_sharding(s)))
    return tree_unflatten(tree, out)
