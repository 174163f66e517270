"""vmap: the batching interpreter.

A batched value is a ``BatchTracer`` holding the per-batch array ``val`` and the axis ``bdim`` of
``val`` that is the batch. Values that are not batched are never wrapped: a rule sees them as
they are, with ``not_mapped`` as their dim. Rules move batch axes lazily: they keep a batch axis
where it is when the operation allows and move it only when they must.

``batch_rules[p](axis_size, vals, dims, **params) -> (out, out_dim)`` (lists for primitives with
multiple results). Rules are written with xform primitives, so they run under the enclosing
transform like any other code.

Named axes: a ``BatchTrace`` carries the ``axis_name`` of its vmap. A collective primitive (one
registered in ``collective_rules``) names the axes it reduces over in its ``axes`` param. The
trace whose name is among them applies ``collective_rules[p]`` (even when the operand is not
batched: ``psum`` of an unbatched value is still a sum over the axis); any other trace batches it
with its ordinary ``batch_rules[p]``, like any other operation, and hands it on to its parent.

Helpers for rule writers (every one binds xform primitives only, so rules stay transformable):

- :func:`moveaxis`, :func:`bdim_at_front`, :func:`move_bdim` -- put a batch axis where a rule
  needs it (a transpose only when it actually moves; a broadcast for an unbatched operand).
- :func:`shift_axis`, :func:`bdim_after_removing` -- translate per-example axis numbers into
  axis numbers of the batched value, and find the batch axis after some axes are removed.
- :func:`vectorized_batcher` (unary elementwise), :func:`broadcast_batcher` (n-ary elementwise
  with lax's broadcasting), :func:`full_broadcast_batcher` (operands that must have the full
  shape, like ``select_n``'s cases), :func:`reducer_batcher` (reductions with an ``axes``
  param).
- :func:`batch_jaxpr` -- batch a sub-jaxpr (jit, cond, scan, while, custom rules, checkpoint
  all batch their bodies with it); :func:`batch_fun` -- the same for a Python callable on flat
  values (a custom rule's ``jvp``, ``fwd`` or ``bwd``).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

import jax

from xform.core.avals import (
    ShapedArray, explicit_sharding, sharding_state, sharding_without_axis,
)
from xform.core.caches import WeakCache
from xform.core.ir import ClosedJaxpr
from xform.core.primitive import Primitive, eval_abstract, vma_state
from xform.core.trace import (
    Trace, Tracer, concretization_error, current_trace, set_current_trace, to_aval,
)
from xform.interpreters.ad_util import add_any_p, shape_primitives, tangent_type_p
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr

not_mapped = None
batch_rules: dict[Any, Callable[..., Any]] = {}
# Collectives: collective_rules[p](axis_size, vals, dims, **params) -> (out, out_dim), applied
# by the BatchTrace whose axis_name is in params["axes"], with params["axes"] holding only that
# name. The collective modules register them; see xform/lax/parallel.py.
collective_rules: dict[Any, Callable[..., Any]] = {}


class _RuleState(threading.local):
    def __init__(self):
        self.traces: list[BatchTrace] = []


_rule_state = _RuleState()


def prefer_last() -> bool:
    """Whether the running rule's vmap wants its batch axes last (its out_axes are all -1).

    A rule with a free choice of where a batch axis lands (dot_general with one batched
    operand; an elementwise op joining operands batched at different axes) picks the front
    normally and the last axis when this says so, so the vmap's final move to its out_axes
    costs no transpose.
    """
    return bool(_rule_state.traces) and _rule_state.traces[-1].prefer_last


def batched_sharding(sharding: Any, ndim: int, at: int) -> Any:
    """An ``out_sharding`` (``PartitionSpec`` or ``NamedSharding``) of a rank-``ndim``
    per-example result, for the batched result with the batch axis at ``at``: that axis split
    over the mesh axes the running vmap's batch is split over (none unless its inputs were
    split along their mapped axes over Explicit mesh axes), as JAX's vmap does."""
    old = getattr(sharding, "spec", sharding)
    spec = list(old.partitions)  # (its unreduced / reduced axes are kept)
    spec = (spec + [None] * ndim)[:ndim]
    entry = _rule_state.traces[-1].spmd_axis if _rule_state.traces else None
    mesh = getattr(sharding, "mesh", None) or jax.sharding.get_abstract_mesh()
    if entry is not None and not mesh.empty:
        # only Explicit axes name a layout (inside auto_axes the batch's axes may be Auto)
        kept = tuple(a for a in (entry if isinstance(entry, tuple) else (entry,))
                     if mesh._name_to_type.get(a) == jax.sharding.AxisType.Explicit)
        entry = None if not kept else kept if isinstance(entry, tuple) else kept[0]
    spec.insert(at, entry)
    new = old.update(partitions=tuple(spec))
    if isinstance(sharding, jax.sharding.NamedSharding):
        return jax.sharding.NamedSharding(sharding.mesh, new)
    return new


def mapped_axis_spec(avals: Sequence[ShapedArray], dims: Sequence[Any]) -> Any:
    """The mesh axes the mapped axes of ``avals`` (at ``dims``) are split over, as a spec
    entry (None: not split). They must agree, as in JAX."""
    out, seen = None, False
    for a, d in zip(avals, dims):
        if d is not_mapped or d is None:
            continue
        spec = tuple(a.sharding.spec) if a.sharding is not None else ()
        e = spec[d] if d < len(spec) else None
        if seen and e != out:
            raise ValueError("Mapped away dimension of inputs passed to vmap should be sharded "
                             f"the same. Got inconsistent axis specs: {out} vs {e}")
        out, seen = e, True
    return out


def current_batch_tag() -> Any:
    """The tag of the vmap whose rule is running (see ``BatchTrace.tag``), or None."""
    return _rule_state.traces[-1].tag if _rule_state.traces else None


def current_axis_name() -> Any:
    """The ``axis_name`` of the vmap whose rule is running (for rules that batch sub-jaxprs)."""
    return _rule_state.traces[-1].axis_name if _rule_state.traces else None


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace: BatchTrace, val: Any, bdim: int):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self) -> ShapedArray:
        a = to_aval(self.val)
        return ShapedArray(a.shape[:self.bdim] + a.shape[self.bdim + 1:], a.dtype, a.weak_type,
                           a.vma, sharding_without_axis(a.sharding, self.bdim))

    def concrete_value(self, context: str):
        # A batched value has one value per example, so Python cannot branch on it.
        raise concretization_error(self, context)


class BatchTrace(Trace):
    kind = "vmap"

    def __init__(self, parent: Trace | None, axis_size: int, axis_name: Any = None,
                 description: str = "", prefer_last: bool = False, tag: Any = None):
        super().__init__(parent, description)
        self.axis_size = axis_size
        self.axis_name = axis_name
        # The batch this trace maps over. A trace that a rule opens to batch a Python callable
        # (a custom derivative rule) shares the tag of the vmap it batches for: the callable's
        # closed-over values batched by that vmap are then its own too (as JAX's tags do).
        self.tag = self if tag is None else tag
        # Where rules that may choose put a new batch axis: last when the vmap's out_axes are
        # all -1 (jacfwd), so the final move to out_axes is no transpose; else the front.
        self.prefer_last = prefer_last
        # over Explicit mesh axes: the mesh axes the batch axis is split over (a spec entry),
        # which rules give the batch axis of the layouts they request (``batched_sharding``)
        self.spmd_axis = None

    def is_own(self, x: Any) -> bool:
        if (isinstance(x, BatchTracer) and x._trace is not self and x._trace.tag is self.tag
                and x._trace.alive):  # a finished vmap's tracer is an error, as in JAX
            return True
        return super().is_own(x)

    def unpack(self, x: Any) -> tuple[Any, int | None]:
        if self.is_own(x):
            return x.val, x.bdim
        return x, not_mapped

    def wrap(self, val: Any, dim: int | None) -> Any:
        return val if dim is not_mapped else BatchTracer(self, val, dim)

    def process_primitive(self, prim, args, params):
        vals, dims = zip(*map(self.unpack, args)) if args else ((), ())
        if prim in collective_rules and self.axis_name is not None \
                and self.axis_name in params["axes"]:
            return self._process_collective(prim, list(vals), list(dims), params)
        with set_current_trace(self.parent):
            if all(d is not_mapped for d in dims):
                return prim.bind(*vals, **params)
            out, out_dim = self._apply(batch_rules.get(prim), prim, vals, dims, params)
        return self._wrap_out(prim, out, out_dim)

    def _apply(self, rule, prim, vals, dims, params):
        if rule is None:
            raise NotImplementedError(
                f"vmap: primitive {prim.name} has no batching rule. This is a bug in xform "
                "(every primitive should have one; see docs/primitives.md).")
        _rule_state.traces.append(self)
        try:
            return rule(self.axis_size, list(vals), list(dims), **params)
        finally:
            _rule_state.traces.pop()

    def _wrap_out(self, prim, out, out_dim):
        if prim.multiple_results:
            return [self.wrap(v, d) for v, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)

    def _process_collective(self, prim, vals, dims, params):
        # This vmap's own part of the collective; the rest (other names) goes to the parent.
        rest = tuple(a for a in params["axes"] if a != self.axis_name)
        own = dict(params, axes=(self.axis_name,))
        with set_current_trace(self.parent):
            out, out_dim = self._apply(collective_rules[prim], prim, vals, dims, own)
            if rest:
                vals2, dims2 = (out, out_dim) if prim.multiple_results else ([out], [out_dim])
                if all(d is not_mapped for d in dims2):
                    out = prim.bind(*vals2, **dict(params, axes=rest))
                else:
                    out, out_dim = self._apply(batch_rules.get(prim), prim, vals2, dims2,
                                               dict(params, axes=rest))
        return self._wrap_out(prim, out, out_dim)

    def describe_dependence(self, tracer: BatchTracer) -> str:
        name = "" if self.axis_name is None else f" named {self.axis_name!r}"
        return (f"The value is batched: it has one value for each of the {self.axis_size} "
                f"examples of the vmap{name} (batch axis {tracer.bdim} of an array of shape "
                f"{to_aval(tracer.val).shape}), so Python cannot branch on it or turn it into "
                "one number. Python control flow inside vmap works only on unbatched values.")


def axis_names_in_scope() -> dict:
    """``{axis_name: axis_size}`` of the named vmaps enclosing the current trace."""
    out: dict = {}
    t = current_trace()
    while t is not None:
        if isinstance(t, BatchTrace) and t.axis_name is not None:
            out.setdefault(t.axis_name, t.axis_size)
        t = t.parent
    return out


def trace_context() -> tuple:
    """What, besides a function and its input types, can change how it traces: the named vmap
    axes in scope, whether a shard_map body's varying-axes types are on (``check_vma``: the
    collectives and the casts to varying trace differently), JAX's x64 flag and xform.numpy's
    promotion modes. Caches of traces key on it, as JAX's do."""
    return (tuple(axis_names_in_scope().items()), vma_state.checking,
            bool(jax.config.jax_enable_x64), jax.config.jax_numpy_dtype_promotion,
            jax.config.jax_numpy_rank_promotion)


# -- helpers for rule writers -----------------------------------------------------------------
def _shape_prims():
    # transpose_p and broadcast_in_dim_p are lax primitives (above the interpreters), which
    # xform/lax/shape.py registers in ad_util.shape_primitives when it defines them.
    return shape_primitives


def moveaxis(x: Any, src: int, dst: int) -> Any:
    """``x`` with axis ``src`` moved to position ``dst`` (negative values count from the end);
    ``x`` itself when the axis is already there (no transpose is emitted)."""
    ndim = to_aval(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return _shape_prims().transpose_p.bind(x, permutation=tuple(perm))


def broadcast_batch(x: Any, size: int, dst: int) -> Any:
    """An unbatched ``x`` broadcast along a new batch axis of ``size`` at position ``dst``."""
    aval = to_aval(x)
    shape = list(aval.shape)
    shape.insert(dst, size)
    dims = tuple(i for i in range(aval.ndim + 1) if i != dst)
    return _shape_prims().broadcast_in_dim_p.bind(x, shape=tuple(shape), broadcast_dimensions=dims)


def move_bdim(x: Any, bdim: int | None, dst: int, size: int) -> Any:
    """``x`` with its batch axis at ``dst``: moved if batched, broadcast (to ``size``) if not."""
    if bdim is not_mapped:
        return broadcast_batch(x, size, dst)
    return moveaxis(x, bdim, dst)


def bdim_at_front(x: Any, bdim: int | None, size: int) -> Any:
    """``x`` with its batch axis first (broadcast to ``size`` when ``bdim`` is ``not_mapped``)."""
    return move_bdim(x, bdim, 0, size)


def shift_axis(axis: int, bdim: int | None) -> int:
    """The axis of the batched value that is per-example axis ``axis`` (non-negative)."""
    return axis if bdim is not_mapped or axis < bdim else axis + 1


def bdim_after_removing(bdim: int, removed: Sequence[int]) -> int:
    """Where batch axis ``bdim`` ends up once the batched value's axes ``removed`` are gone."""
    return bdim - sum(1 for a in removed if a < bdim)


def _unit_batch(x: Any, bdim: int | None, dst: int, out_ndim: int) -> Any:
    """``x`` (per-example rank 0 or ``out_ndim - 1``) reshaped to rank ``out_ndim`` with its batch
    axis (or a size-1 axis when unbatched) at ``dst``, ready for lax's size-1 broadcasting."""
    aval = to_aval(x)
    if bdim is not_mapped:
        shape = list(aval.shape)
        shape.insert(dst, 1)
        dims = tuple(i for i in range(out_ndim) if i != dst)
    elif aval.ndim == 1 and out_ndim > 1:  # a batched per-example scalar
        shape = [1] * out_ndim
        shape[dst] = aval.shape[0]
        dims = (dst,)
    else:
        return moveaxis(x, bdim, dst)
    return _shape_prims().broadcast_in_dim_p.bind(x, shape=tuple(shape), broadcast_dimensions=dims)


def vectorized_batcher(prim: Primitive) -> Callable:
    """The rule of a unary elementwise primitive: bind on the batched value, keep its axis."""
    def rule(axis_size, vals, dims, **params):
        return prim.bind(*vals, **params), dims[0]
    return rule


def broadcast_batcher(prim: Primitive) -> Callable:
    """The rule of an n-ary elementwise primitive under lax's broadcasting (equal ranks with
    size-1 dims, or rank-0 operands next to arrays).

    Batched operands of the output's rank with one batch axis bind as they are, next to
    unbatched scalars. Otherwise every batch axis moves to the first full-rank batched operand's
    axis, batched scalars become ``[1, .., n, .., 1]`` and unbatched arrays get a size-1 batch
    axis, which lax broadcasts (as JAX emits: ``broadcast_in_dim`` to ``f32[1,3]``, then ``add``).
    """
    def rule(axis_size, vals, dims, **params):
        avals = [to_aval(v) for v in vals]
        ranks = [a.ndim - (d is not not_mapped) for a, d in zip(avals, dims)]
        out_rank = max(ranks)
        batched = [(a.ndim, d) for a, d, r in zip(avals, dims, ranks)
                   if d is not not_mapped and r == out_rank]
        if (len(set(batched)) == 1 and len(batched) == sum(d is not not_mapped for d in dims)
                and all(a.ndim == 0 for a, d in zip(avals, dims) if d is not_mapped)):
            return prim.bind(*vals, **params), batched[0][1]
        # the per-example shape rule raises the error an unbatched call would raise
        eval_abstract(prim, [_unbatched_aval(a, d) for a, d in zip(avals, dims)], params)
        # one batch axis for all, one that an operand has already (that operand needs no
        # transpose): the last axis if the vmap wants its batch axes last (jacfwd), else the
        # front (out_axes=0 is the common case), else the first full-rank batched operand's
        have = {d for _, d in batched}
        order = (out_rank, 0) if prefer_last() else (0,)
        dst = next((a for a in order if a in have), batched[0][1] if batched else 0)
        args = [v if d is not_mapped and r == 0 else _unit_batch(v, d, dst, out_rank + 1)
                for v, d, r in zip(vals, dims, ranks)]
        return prim.bind(*args, **params), dst
    return rule


def _unbatched_aval(a: ShapedArray, d: int | None) -> ShapedArray:
    if d is not_mapped:
        return a
    return ShapedArray(a.shape[:d] + a.shape[d + 1:], a.dtype, a.weak_type, a.vma,
                       sharding_without_axis(a.sharding, d))


def full_broadcast_batcher(prim: Primitive, scalar_ok: Sequence[int] = ()) -> Callable:
    """The rule of an elementwise primitive whose operands must have the output's full shape,
    except those at positions ``scalar_ok``, which may also be rank 0 (``select_n``'s
    predicate, ``clamp``'s bounds). Batched operands move to one batch axis; an operand that
    is not batched (or a batched scalar) is broadcast to the full batched shape when needed."""
    def rule(axis_size, vals, dims, **params):
        avals = [to_aval(v) for v in vals]
        ex = [_unbatched_aval(a, d) for a, d in zip(avals, dims)]
        out = eval_abstract(prim, ex, params)
        rank = len(out.shape)
        full = [i for i, a in enumerate(ex) if a.ndim == rank and dims[i] is not not_mapped]
        dst = dims[full[0]] if full else 0
        shape = list(out.shape)
        shape.insert(dst, axis_size)
        args = []
        for i, (v, d, a) in enumerate(zip(vals, dims, ex)):
            if d is not_mapped and a.ndim == 0 and i in scalar_ok:
                args.append(v)
            elif d is not_mapped or a.ndim != rank:
                if d is not_mapped:
                    bdims = tuple(j + (j >= dst) for j in range(rank)) if a.ndim else ()
                else:
                    bdims = (dst,)
                args.append(_shape_prims().broadcast_in_dim_p.bind(
                    v, shape=tuple(shape), broadcast_dimensions=bdims))
            else:
                args.append(moveaxis(v, d, dst))
        return prim.bind(*args, **params), dst
    return rule


def reducer_batcher(prim: Primitive) -> Callable:
    """The rule of a one-operand reduction with an ``axes`` param (per-example axes): the axes
    shift past the batch axis, which stays where it is among the remaining axes."""
    def rule(axis_size, vals, dims, *, axes, **params):
        (x,), (bdim,) = vals, dims
        new_axes = tuple(shift_axis(a, bdim) for a in axes)
        out = prim.bind(x, axes=new_axes, **params)
        return out, bdim_after_removing(bdim, new_axes)
    return rule


def _add_any_batch(axis_size, vals, dims):
    # both operands at one batch axis: the batched one's, the first's if both are
    (x, y), (dx, dy) = vals, dims
    dst = dx if dx is not not_mapped else dy
    return add_any_p.bind(move_bdim(x, dx, dst, axis_size), move_bdim(y, dy, dst, axis_size)), dst


batch_rules[add_any_p] = _add_any_batch
batch_rules[tangent_type_p] = lambda axis_size, vals, dims, **params: (
    tangent_type_p.bind(vals[0], **params), dims[0])


# -- sub-jaxprs and callables ----------------------------------------------------------------
def batch_fun(fun: Callable, axis_size: int, in_dims: Sequence[int | None], *, axis_name: Any,
              instantiate: bool | Sequence[bool] = False,
              description: str = "vmap of a sub-jaxpr", tag: Any = None) -> Callable:
    """``fun`` (flat values in, a flat list out) made to run on batched values.

    ``in_dims[i]`` is the batch axis of argument ``i`` (``not_mapped`` for one passed
    unbatched); the batch is ``axis_size`` long and named ``axis_name``. The result returns
    ``(outs, out_batched)``: batched outputs have their batch axis at 0, unbatched ones stay
    unbatched unless ``instantiate`` (one bool, or one per output) asks for them to be
    broadcast; a ``None`` output (a rule's zero cotangent) stays ``None``. ``tag`` is the
    enclosing vmap's (``current_batch_tag()``) when ``fun`` may close over values that vmap
    batches: they are then batched inside ``fun`` too.
    """
    def batched(*vals):
        trace = BatchTrace(current_trace(), axis_size, axis_name, description, tag=tag)
        if sharding_state.seen:
            trace.spmd_axis = mapped_axis_spec([to_aval(v) for v in vals], in_dims)
        try:
            with set_current_trace(trace):
                outs = fun(*[trace.wrap(v, d) for v, d in zip(vals, in_dims)])
            unpacked = [None if o is None else trace.unpack(o) for o in outs]
        finally:
            trace.finish()
        force = ([instantiate] * len(unpacked) if isinstance(instantiate, bool)
                 else list(instantiate))
        flat, out_batched = [], []
        for u, inst in zip(unpacked, force):
            if u is None or (u[1] is not_mapped and not inst):
                flat.append(None if u is None else u[0])
                out_batched.append(False)
            else:
                flat.append(move_bdim(u[0], u[1], 0, axis_size))
                out_batched.append(True)
        return flat, out_batched

    return batched


# Per jaxpr object, dropped with it: eager code (a cond or a custom_jvp function under an eager
# vmap) stages new sub-jaxprs on every call.
_batched_jaxprs = WeakCache("batching: batched jaxprs")


def batch_jaxpr(closed: ClosedJaxpr, axis_size: int, in_dims: Sequence[int | None],
                instantiate: bool | Sequence[bool] = False, *,
                axis_name: Any) -> tuple[ClosedJaxpr, list[bool]]:
    """Batch ``closed`` (a jaxpr of per-example values) into a jaxpr of batched values.

    The one way every rule batches a sub-jaxpr (jit's body, cond's branches, scan's and
    while's bodies, a custom rule's or a checkpoint's body). ``in_dims[i]`` is the batch axis
    of operand ``i`` in the new jaxpr (``not_mapped`` for one passed unbatched); ``axis_name``
    is the running vmap's (``current_axis_name()`` in a batching rule). Batched outputs come
    out with their batch axis at 0; unbatched outputs stay unbatched unless ``instantiate``
    (one bool, or one per output) forces them batched (broadcast). Returns the batched jaxpr
    (its consts are concrete) and which outputs are batched. Results are cached per (jaxpr,
    axis_size, in_dims, instantiate, axis_name), so eager ``vmap(jit(f))`` compiles once.
    """
    if not isinstance(instantiate, bool):
        instantiate = tuple(instantiate)
    key = (axis_size, tuple(in_dims), instantiate, axis_name,
           _rule_state.traces[-1].spmd_axis if _rule_state.traces else None)
    try:
        hit = _batched_jaxprs.get((closed,), key)
    except TypeError:
        key, hit = None, None
    if hit is not None:
        return hit
    in_avals = []
    for a, d in zip(closed.in_avals, in_dims):
        if d is not_mapped:
            in_avals.append(a)
        else:
            shape = list(a.shape)
            shape.insert(d, axis_size)
            sharding = a.sharding
            if sharding is not None or (_rule_state.traces and _rule_state.traces[-1].spmd_axis):
                mesh = (sharding.mesh if sharding is not None
                        else jax.sharding.get_abstract_mesh())
                sharding = explicit_sharding(jax.sharding.NamedSharding(
                    mesh, batched_sharding(sharding.spec if sharding is not None
                                           else jax.sharding.PartitionSpec(), a.ndim, d)))
            in_avals.append(ShapedArray(tuple(shape), a.dtype, a.weak_type, a.vma, sharding))
    fun = batch_fun(lambda *xs: eval_jaxpr(closed.jaxpr, closed.consts, *xs), axis_size,
                    in_dims, axis_name=axis_name, instantiate=instantiate)
    out = trace_to_jaxpr(fun, in_avals, description="vmap of a sub-jaxpr", kind="jit")
    if key is not None:
        _batched_jaxprs.put((closed,), key, out)
    return out
