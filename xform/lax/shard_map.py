"""The ``shard_map`` primitive: ``shard_map[jaxpr={...} mesh=... in_specs=... out_specs=...]``.

Its ``jaxpr`` is the per-device program: it takes and returns the *shards* (blocks) of the
operands and results, laid out over the mesh by ``in_specs`` / ``out_specs`` (one
``PartitionSpec`` per operand / result). Collectives in it name mesh axes. It lowers through
``jax.shard_map`` (the body is evaluated with the ``to_jax`` rules on JAX's per-device tracers, so
each collective becomes JAX's), and XLA's SPMD partitioner does the rest: xform writes no
communication of its own.

Transforms treat it as a call that every device makes on its own shards:

- **vmap**: the body is batched (collectives over the vmap's name are rewritten as usual) and
  the batch axis enters the specs unsharded (``P(None, *spec)``).
- **jvp**: forward mode runs one shard_map of the body's JVP (tangents share the primals'
  specs). Under ``linearize``/``grad`` the body splits into a known shard_map (primal outputs
  and residuals) and a linear one (residuals and tangents to output tangents); residuals are
  per-device values, so they leave the known call stacked along their leading axis over the
  manual mesh axes they may vary over (all of them without ``check_vma``; a scalar residual
  gets a leading axis of size 1 first), as JAX does.
- **transpose**: each device transposes its body. With ``check_vma=False`` (``psum``
  transposes to ``psum``: as a map of all devices' values it is symmetric), reading a
  replicated result on one device and a replicated operand on every device is accounted for as
  JAX does: the cotangent of a result replicated over mesh axes ``U`` is divided by their size
  before the body's transpose, and the cotangent of an operand replicated over axes ``V`` is
  ``psum``-med over ``V`` after it. With ``check_vma=True`` the body's values carry the mesh
  axes they vary over (``ShapedArray.vma``, xform/core/primitive.py inserts ``pvary`` where a
  replicated value meets a varying one): ``pvary`` transposes to ``psum`` and ``psum`` to
  ``pvary``, so the types do that accounting, and only a result typed varying but laid out
  replicated (an ``all_gather``'s) is divided. Residuals are stacked over the axes they vary
  over. Either way the derivatives are those of the global function.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from xform.core.avals import ShapedArray, explicit_sharding, float0
from xform.core.ir import ClosedJaxpr
from xform.core.primitive import Primitive, abstract_eval, vma_checking
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_jaxpr,
    batch_rules,
    current_axis_name,
    moveaxis,
    not_mapped,
)
from xform.interpreters.eval import impl_rules
from xform.interpreters.jvp import Zero, instantiate, jvp_rules, tangent_aval
from xform.interpreters.lowering import eval_closed_jaxpr_jax, to_jax
from xform.interpreters.partial_eval import linearize_jaxpr
from xform.interpreters.staging import hoist_consts
from xform.interpreters.transpose import (
    UndefinedPrimal,
    backward_pass,
    is_undefined,
    transpose_rules,
)
from xform.lax.control_flow.common import (
    JaxprCache,
    call_jaxpr,
    jvp_jaxpr,
    trace_flat,
    under_linearize,
)
from xform.lax.elementwise import div
from xform.lax.parallel import psum_p
from xform.lax.shape import reshape

__all__ = ["shard_map_p", "shard_aval", "unshard_aval", "spec_names"]

shard_map_p = Primitive("shard_map", multiple_results=True)
shard_map_p.pp_params = lambda p: [
    ("in_specs", p["in_specs"]), ("jaxpr", p["jaxpr"]), ("mesh", p["mesh"]),
    ("out_specs", p["out_specs"]), ("check_vma", p["check_vma"]),
    ("manual_axes", tuple(n for n in p["mesh"].axis_names if n in p["axis_names"]))]


# -- specs and avals ------------------------------------------------------------------------
def spec_names(spec: PartitionSpec) -> dict[int, tuple]:
    """``{array dimension: mesh axis names}`` for the dimensions ``spec`` shards."""
    out = {}
    for d, names in enumerate(spec):
        if names is None:
            continue
        names = tuple(names) if isinstance(names, (tuple, list)) else (names,)
        if names:
            out[d] = names
    return out


def spec_axes(spec: PartitionSpec) -> set:
    """Every mesh axis ``spec`` mentions."""
    return {n for names in spec_names(spec).values() for n in names}


def _mesh_sizes(mesh) -> dict:
    return dict(mesh.shape)


def _entry_names(entry: Any) -> tuple:
    return () if entry is None else entry if isinstance(entry, tuple) else (entry,)


def _entry(names: tuple) -> Any:
    return None if not names else names[0] if len(names) == 1 else names


def block_sharding(aval: ShapedArray, manual_axes: frozenset | None) -> Any:
    """The sharding type of a block, inside a shard_map that is manual over ``manual_axes``,
    of a value of type ``aval``: the layout over the mesh's other (Explicit) axes stays in the
    block's type, over the mesh whose ``manual_axes`` are Manual (as JAX types it:
    ``float32[2,16@y]`` in a body manual over ``x``). None when nothing is left split."""
    s = aval.sharding
    if s is None or not manual_axes:
        return None
    mesh = s.mesh
    if not set(mesh.explicit_axes) - set(manual_axes):
        return None
    spec = [_entry(tuple(n for n in _entry_names(e) if n not in manual_axes)) for e in s.spec]
    inner = mesh.update_axis_types({n: jax.sharding.AxisType.Manual for n in manual_axes
                                    if n in mesh.axis_names})
    return explicit_sharding(NamedSharding(inner, PartitionSpec(*spec)))


def shard_aval(mesh, spec: PartitionSpec, aval: ShapedArray,
               manual: frozenset | None = None,
               manual_axes: frozenset | None = None) -> ShapedArray:
    """The aval of one device's block of a value of type ``aval`` laid out as ``spec``; given
    the ``manual`` axes (a body with varying-axes types), the block varies over the manual axes
    ``spec`` splits along. Given the shard_map's ``manual_axes``, a block keeps its layout over
    the mesh's other Explicit axes in its type (see ``block_sharding``)."""
    sizes = _mesh_sizes(mesh)
    shape = list(aval.shape)
    for d, names in spec_names(spec).items():
        n = math.prod(sizes[a] for a in names)
        if shape[d] % n:
            raise ValueError(f"shard_map: dimension {d} of a value of type {aval.str_short()} "
                             f"(size {shape[d]}) is mapped by {spec} to mesh axes {names} of "
                             f"total size {n}, which does not divide it evenly.")
        shape[d] //= n
    vma = frozenset() if manual is None else frozenset(spec_axes(spec)) & manual
    return ShapedArray(tuple(shape), aval.dtype, aval.weak_type, vma,
                       block_sharding(aval, manual_axes))


def unshard_aval(mesh, spec: PartitionSpec, aval: ShapedArray) -> ShapedArray:
    """The aval of the global value whose blocks, laid out as ``spec``, have type ``aval``;
    over Explicit mesh axes, its sharding type is ``spec`` (as JAX types it)."""
    sizes = _mesh_sizes(mesh)
    shape = list(aval.shape)
    for d, names in spec_names(spec).items():
        shape[d] *= math.prod(sizes[a] for a in names)
    sharding = None
    if (spec_names(spec) or aval.sharding is not None) and mesh.explicit_axes:
        ctx = jax.sharding.get_abstract_mesh()
        am = ctx if not ctx.empty else getattr(mesh, "abstract_mesh", mesh)
        # the manual axes the spec names, then the block's own layout over the others
        inner = tuple(aval.sharding.spec) if aval.sharding is not None else ()
        n = max(len(spec), len(inner))
        entries = [_entry(_entry_names(spec[d] if d < len(spec) else None)
                          + _entry_names(inner[d] if d < len(inner) else None))
                   for d in range(n)]
        sharding = explicit_sharding(NamedSharding(am, PartitionSpec(*entries)))
    return ShapedArray(tuple(shape), aval.dtype, aval.weak_type, sharding=sharding)


def unmentioned(mesh, spec: PartitionSpec, manual: frozenset) -> tuple:
    """The manual mesh axes ``spec`` does not mention: a value laid out as ``spec`` is
    replicated over them."""
    used = spec_axes(spec)
    return tuple(n for n in mesh.axis_names if n in manual and n not in used)


def _stacked_spec(mesh, manual: frozenset) -> PartitionSpec:
    """The spec of a per-device value stacked along axis 0 over the axes ``manual``."""
    names = tuple(n for n in mesh.axis_names if n in manual)
    if not names:
        return PartitionSpec()
    return PartitionSpec(names if len(names) > 1 else names[0])


# -- evaluation -----------------------------------------------------------------------------
def _abstract_eval(*avals, jaxpr, mesh, in_specs, out_specs, axis_names, check_vma):
    for i, (a, s, want) in enumerate(zip(avals, in_specs, jaxpr.in_avals)):
        got = shard_aval(mesh, s, a)
        if (got.shape, got.dtype) != (want.shape, want.dtype):
            raise TypeError(f"shard_map operand {i} of type {a.str_short()} laid out as {s} "
                            f"gives blocks of type {got.str_short()}, but the body takes "
                            f"{want.str_short()}.")
    return [unshard_aval(mesh, s, a) for s, a in zip(out_specs, jaxpr.out_avals)]


def _to_jax(*args, jaxpr, mesh, in_specs, out_specs, axis_names, check_vma):
    def body(*blocks):
        return tuple(eval_closed_jaxpr_jax(jaxpr, blocks))

    # check_vma was xform's to check (at trace time); JAX's own variance typing would also
    # constrain the programs xform's transforms build, which are correct without it
    f = jax.shard_map(body, mesh=mesh, in_specs=tuple(in_specs), out_specs=tuple(out_specs),
                      axis_names=set(axis_names), check_vma=False)
    return list(f(*args))


# Eagerly: one jax.jit per (jaxpr, params), dropped with the jaxpr. The compiled function
# reaches the jaxpr through a weak reference so that the cache entry does not keep it alive.
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _impl(*args, jaxpr, **params):
    per = _compiled.setdefault(jaxpr, {})
    key = tuple(sorted(params.items(), key=lambda kv: kv[0]))
    fn = per.get(key)
    if fn is None:
        ref = weakref.ref(jaxpr)

        def run(*xs):
            return _to_jax(*xs, jaxpr=ref(), **params)

        run.__name__ = "shard_map"
        fn = per[key] = jax.jit(run)
    return list(fn(*args))


abstract_eval[shard_map_p] = _abstract_eval
to_jax[shard_map_p] = _to_jax
impl_rules[shard_map_p] = _impl


def _bind(args, jaxpr, in_specs, out_specs, **params):
    return shard_map_p.bind(*args, jaxpr=jaxpr, in_specs=tuple(in_specs),
                            out_specs=tuple(out_specs), **params)


def _with_consts(closed: ClosedJaxpr, args: Sequence[Any], in_specs: Sequence[Any]):
    """Consts of a rule-built body become replicated leading operands (the body is const
    free, so it can be cached and printed like a user's)."""
    body, consts = hoist_consts(closed)
    return body, [*consts, *args], [PartitionSpec()] * len(consts) + list(in_specs)


# -- vmap -------------------------------------------------------------------------------------
def _batch_rule(axis_size, vals, dims, *, jaxpr, mesh, in_specs, out_specs, axis_names,
                check_vma):
    vals = [v if d is not_mapped else moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    in_dims = [not_mapped if d is not_mapped else 0 for d in dims]
    new_in = [s if d is not_mapped else PartitionSpec(None, *s) for s, d in zip(in_specs, dims)]
    with vma_checking(check_vma):
        batched, out_b = batch_jaxpr(jaxpr, axis_size, in_dims, False,
                                     axis_name=current_axis_name())
    new_out = [PartitionSpec(None, *s) if b else s for s, b in zip(out_specs, out_b)]
    body, args, new_in = _with_consts(batched, vals, new_in)
    outs = _bind(args, body, new_in, new_out, mesh=mesh, axis_names=axis_names,
                 check_vma=check_vma)
    return outs, [0 if b else not_mapped for b in out_b]


batch_rules[shard_map_p] = _batch_rule


# -- jvp --------------------------------------------------------------------------------------
def _differentiable(t: Any) -> bool:
    return not isinstance(t, Zero) and to_aval(t).dtype != float0


_splits = JaxprCache("shard_map: linearized bodies")


def _linearize_body(jaxpr: ClosedJaxpr, nz: Sequence[bool], mesh, manual: frozenset,
                    check_vma: bool):
    """``(known, linear, res_specs, n_res, inexact)``: ``known`` maps the blocks of the
    operands to the blocks of the results and the residuals; ``linear`` maps those residuals
    and the nonzero tangents to the inexact results' tangents. A residual leaves ``known``
    stacked along its leading axis (a scalar given one of size 1) over the manual axes it may
    vary over: all of them without varying-axes types, those of its type with them (an
    invariant residual is then passed as it is, replicated)."""
    key = (tuple(nz), mesh, manual, check_vma)
    hit = _splits.get(jaxpr, key)
    if hit is not None:
        return hit
    n_out = len(jaxpr.out_avals)
    with vma_checking(check_vma):
        known, linear, n_res = linearize_jaxpr(jaxpr, nz)
    res_avals = known.out_avals[n_out:]
    res_axes = [a.vma if check_vma else manual for a in res_avals]
    promote = [a.ndim == 0 and bool(v) for a, v in zip(res_avals, res_axes)]
    stored = [ShapedArray((1,), a.dtype, a.weak_type, a.vma) if p else a
              for a, p in zip(res_avals, promote)]
    inexact = [np.issubdtype(a.dtype, np.inexact) for a in jaxpr.out_avals]

    def known_fun(*blocks):
        outs = call_jaxpr(known, *blocks)
        res = [reshape(r, (1,)) if p else r for r, p in zip(outs[n_out:], promote)]
        return list(outs[:n_out]) + res, None

    def linear_fun(*args):
        res = [reshape(r, ()) if p else r for r, p in zip(args[:n_res], promote)]
        t_out = call_jaxpr(linear, *res, *args[n_res:])
        return [t for t, k in zip(t_out, inexact) if k], None

    t_avals = [tangent_aval(a) for a, z in zip(jaxpr.in_avals, nz) if z]
    with vma_checking(check_vma):
        known_j = hoist_consts(trace_flat(known_fun, jaxpr.in_avals, kind="linearize")[0])
        linear_j = hoist_consts(trace_flat(linear_fun, stored + t_avals,
                                           kind="linearize")[0])
    out = (known_j, linear_j, [_stacked_spec(mesh, v) for v in res_axes], n_res, inexact)
    return _splits.put(jaxpr, key, out)


def _jvp_rule(primals, tangents, *, jaxpr, mesh, in_specs, out_specs, axis_names, check_vma):
    nz = [_differentiable(t) for t in tangents]
    nz_t = [t for t, z in zip(tangents, nz) if z]
    t_specs = [s for s, z in zip(in_specs, nz) if z]
    n_out = len(jaxpr.out_avals)
    common = dict(mesh=mesh, axis_names=axis_names, check_vma=check_vma)
    if not under_linearize():
        # forward mode: one shard_map of the body's JVP
        with vma_checking(check_vma):
            out_nz = jvp_jaxpr(jaxpr, nz, [False] * n_out)[1]
            out_nz = [z and np.issubdtype(a.dtype, np.inexact)
                      for z, a in zip(out_nz, jaxpr.out_avals)]
            body = jvp_jaxpr(jaxpr, nz, out_nz)[0]
        body, args, specs = _with_consts(body, [*primals, *nz_t], [*in_specs, *t_specs])
        outs = _bind(args, body, specs,
                     [*out_specs, *[s for s, z in zip(out_specs, out_nz) if z]], **common)
        it = iter(outs[n_out:])
        return outs[:n_out], [next(it) if z else Zero(tangent_aval(to_aval(p)))
                              for z, p in zip(out_nz, outs[:n_out])]
    # under linearize: a known shard_map now, a linear one staged
    (known, kc), (linear, lc), res_specs, n_res, inexact = _linearize_body(
        jaxpr, nz, mesh, frozenset(axis_names), bool(check_vma))
    outs = _bind([*kc, *primals], known, [PartitionSpec()] * len(kc) + list(in_specs),
                 [*out_specs, *res_specs], **common)
    primal_out, res = outs[:n_out], outs[n_out:]
    t_out = _bind([*lc, *res, *nz_t], linear,
                  [PartitionSpec()] * len(lc) + list(res_specs) + t_specs,
                  [s for s, k in zip(out_specs, inexact) if k], **common)
    it = iter(t_out)
    return primal_out, [next(it) if k else Zero(tangent_aval(to_aval(p)))
                        for k, p in zip(inexact, primal_out)]


jvp_rules[shard_map_p] = _jvp_rule


# -- transpose --------------------------------------------------------------------------------
def _scale(ct: Any, n: int) -> Any:
    if n == 1 or not np.issubdtype(to_aval(ct).dtype, np.inexact):
        return ct
    return div(ct, np.asarray(n, to_aval(ct).dtype))


def _transpose_rule(cts, *args, jaxpr, mesh, in_specs, out_specs, axis_names, check_vma):
    manual = frozenset(axis_names)
    sizes = _mesh_sizes(mesh)
    undefined = [is_undefined(a) for a in args]
    known = [a for a in args if not is_undefined(a)]
    known_specs = [s for s, a in zip(in_specs, args) if not is_undefined(a)]
    live = [not isinstance(c, Zero) for c in cts]

    def replicated_but_varying(spec, aval):
        # the manual axes a result is laid out replicated over although each device's copy
        # is its own value: without varying-axes types all of them; with them, those its
        # type varies over (e.g. an all_gather's result), the others being invariant
        over = unmentioned(mesh, spec, manual)
        return tuple(n for n in over if n in aval.vma) if check_vma else over

    # a result replicated over axes U is read on one device: each device's copy gets 1/|U|
    ct_vals = [_scale(c, math.prod(sizes[n] for n in replicated_but_varying(s, a)))
               for c, s, a, lv in zip(cts, out_specs, jaxpr.out_avals, live) if lv]
    ct_specs = [s for s, lv in zip(out_specs, live) if lv]
    k_avals = [shard_aval(mesh, s, to_aval(x), manual_axes=manual).update(
                   vma=a.vma)
               for s, x, a in zip(in_specs, args, jaxpr.in_avals) if not is_undefined(x)]
    ct_avals = [shard_aval(mesh, s, to_aval(c), manual_axes=manual).update(
                    vma=a.vma)
                for s, c, a in zip(ct_specs, ct_vals,
                                   [a for a, lv in zip(jaxpr.out_avals, live) if lv])]
    in_avals = jaxpr.in_avals

    def backward(*blocks):
        kv, cv = blocks[:len(known)], iter(blocks[len(known):])
        it = iter(kv)
        full = [UndefinedPrimal(a) if u else next(it) for a, u in zip(in_avals, undefined)]
        body_cts = [next(cv) if lv else Zero(tangent_aval(a))
                    for a, lv in zip(jaxpr.out_avals, live)]
        res = backward_pass(jaxpr.jaxpr, jaxpr.consts, full, body_cts)
        outs = []
        for r, u, s in zip(res, undefined, in_specs):
            if not u:
                continue
            r = instantiate(r)
            # an operand replicated over axes V was read on every device: sum their
            # cotangents (with varying-axes types, only where the cotangent varies over V:
            # the pvary that made the operand vary has summed it already)
            over = unmentioned(mesh, s, manual)
            if check_vma:
                over = tuple(n for n in over if n in to_aval(r).vma)
            if over and not isinstance(r, Zero) and np.issubdtype(to_aval(r).dtype, np.inexact):
                r = psum_p.bind(r, axes=over)
            outs.append(r)
        return outs, None

    with vma_checking(check_vma):
        closed, _ = trace_flat(backward, k_avals + ct_avals, kind="transpose",
                               description="transpose of shard_map")
    body, consts = hoist_consts(closed)
    outs = _bind([*consts, *known, *ct_vals], body,
                 [PartitionSpec()] * len(consts) + known_specs + ct_specs,
                 [s for s, u in zip(in_specs, undefined) if u],
                 mesh=mesh, axis_names=axis_names, check_vma=check_vma)
    it = iter(outs)
    return [next(it) if u else None for u in undefined]


transpose_rules[shard_map_p] = _transpose_rule


def bind_shard_map(args: Sequence[Any], jaxpr: ClosedJaxpr, *, mesh, in_specs, out_specs,
                   axis_names: frozenset, check_vma: bool) -> list:
    """Bind ``shard_map_p`` (for the front end in xform/transforms/shard_map.py)."""
    return _bind(list(args), jaxpr, in_specs, out_specs, mesh=mesh,
                 axis_names=frozenset(axis_names), check_vma=bool(check_vma))

