"""What the control-flow primitives share: tracing user functions into sub-jaxprs, checking their
output types, and transforming a sub-jaxpr (differentiating it, rearranging it). Batching one is
``xform.interpreters.batching.batch_jaxpr``, shared with jit, custom rules and checkpoint.

Sub-jaxprs live in the primitives' params as ``ClosedJaxpr``s. Those traced from user functions
have no consts: every closed-over value (a concrete array, or a tracer of an enclosing transform)
is hoisted into an explicit leading operand, so the enclosing transforms see it. Sub-jaxprs that
rules build may keep concrete consts (zeros of a dtype, say), never tracers.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from jax.tree_util import keystr, tree_flatten_with_path, tree_unflatten

from xform.core.avals import ShapedArray
from xform.core.caches import StrongRef, WeakCache
from xform.core.ir import ClosedJaxpr, Jaxpr, Var
from xform.core.trace import Tracer, current_trace, to_aval
from xform.interpreters.batching import moveaxis, not_mapped, trace_context
from xform.interpreters.jvp import Zero, instantiate, jvp_flat, tangent_aval
from xform.interpreters.partial_eval import PartialEvalTrace
from xform.interpreters.staging import eval_jaxpr, hoist_consts, trace_to_jaxpr
from xform.interpreters.tracing import flatten_outputs


# -- tracing user functions -----------------------------------------------------------------
def trace_fun(fun: Callable, in_tree, in_avals: Sequence[ShapedArray], *, kind: str,
              what: str):
    """Trace ``fun(*unflatten(in_tree, leaves))`` on ``in_avals``.

    Returns ``(closed, consts, out_tree)``: ``closed`` takes the hoisted consts first, then the
    leaves; ``consts`` are the closed-over values (concrete arrays or outer tracers)."""

    def flat_fun(*leaves):
        return flatten_outputs(fun(*tree_unflatten(in_tree, leaves)), what,
                               "Functions given to control-flow primitives must return arrays "
                               "(or pytrees of arrays).")

    closed, out_tree = trace_to_jaxpr(flat_fun, list(in_avals),
                                      description=f"{kind} of {what}", kind=kind)
    closed, consts = hoist_consts(closed)
    return closed, list(consts), out_tree


# -- tracing once per (function, input types), as JAX does --------------------------------
# A loop or branch written with the same function traces it once, and binds the same jaxpr
# object every time, so that every cache keyed on that jaxpr (its batched and differentiated
# forms, the program compiled for it) hits too. Like JAX, a global the function reads is then
# captured at its first trace.
_traces = WeakCache("control flow: traces of user functions")  # weakly on the functions
_wrappers = WeakCache("control flow: wrappers of user functions")


def cached_trace(funs: tuple, key: Any, trace: Callable[[], tuple]) -> tuple:
    """``trace()``, a tuple whose second item lists the consts, once per (``funs``, ``key``,
    :func:`trace_context`); ``funs`` (the user's functions the trace depends on) are held
    weakly. A trace that closed over a tracer of an enclosing transform is not kept: it belongs
    to that transform."""
    full_key = (key, trace_context())
    try:
        hit = _traces.get(funs, full_key)
    except TypeError:  # unhashable key parts: trace every time
        return trace()
    if hit is not None:
        return hit
    out = trace()
    if not any(isinstance(c, Tracer) for c in out[1]):
        _traces.put(funs, full_key, out)
    return out


def wrapper_for(kind: str, funs: tuple, make: Callable[..., Callable]) -> Callable:
    """``make(*refs)``: a function built around the user's ``funs`` (a loop step, say), made
    once per (``kind``, ``funs``) so that traces keyed on it are reused. ``make`` gets weak
    references to ``funs`` (call one to get its function): the wrapper is cached for ``funs``
    and must not keep them alive."""
    w = _wrappers.get(funs, kind)
    if w is None:
        refs = []
        for f in funs:
            try:
                refs.append(weakref.ref(f))
            except TypeError:  # not weakly referenceable: the bounded cache holds it
                refs.append(StrongRef(f))
        w = _wrappers.put(funs, kind, make(*refs))
    return w


def aval_str(a: ShapedArray) -> str:
    return a.str_short() + (" (weak type)" if a.weak_type else "")


def leaf_names(tree, prefix: str) -> list[str]:
    dummy = tree_unflatten(tree, [0] * tree.num_leaves)
    return [prefix + keystr(p) for p, _ in tree_flatten_with_path(dummy)[0]]


def check_same_types(what: str, left: str, left_tree, left_avals, right: str, right_tree,
                     right_avals, prefix: str = "out") -> None:
    """TypeError unless two outputs agree in pytree structure, shapes and dtypes; the message
    shows both sides."""
    if left_tree != right_tree:
        raise TypeError(
            f"{what}: {left} and {right} must have identical pytree structures, but {left} has "
            f"structure {left_tree} and {right} has structure {right_tree}.")
    diffs = [f"  * `{name}`: {left} gives {aval_str(a)} but {right} gives {aval_str(b)}"
             for name, a, b in zip(leaf_names(left_tree, prefix), left_avals, right_avals)
             if (a.shape, a.dtype) != (b.shape, b.dtype)]
    if diffs:
        raise TypeError(f"{what}: {left} and {right} must have identical types (shapes and "
                        "dtypes), but they differ:\n" + "\n".join(diffs))


def strong(avals: Sequence[ShapedArray]) -> list[ShapedArray]:
    return [ShapedArray(a.shape, a.dtype, False, a.vma, a.sharding) for a in avals]


def join_weak(*avals: ShapedArray) -> ShapedArray:
    return ShapedArray(avals[0].shape, avals[0].dtype, all(a.weak_type for a in avals),
                       frozenset().union(*(a.vma for a in avals)), avals[0].sharding)


# -- rearranging sub-jaxprs -----------------------------------------------------------------
def join_consts(closeds: Sequence[ClosedJaxpr], consts_per: Sequence[Sequence[Any]]):
    """Branches that each took their own hoisted consts first now all take the same list (one
    entry per distinct value); returns ``(branches, consts)``."""
    consts: list = []
    index: dict = {}
    for cs in consts_per:
        for c in cs:
            if id(c) not in index:
                index[id(c)] = len(consts)
                consts.append(c)
    out = []
    for closed, cs in zip(closeds, consts_per):
        j = closed.jaxpr
        mine = {index[id(c)]: v for c, v in zip(cs, j.invars[:len(cs)])}
        lead = [mine.get(k) or Var(to_aval(c)) for k, c in enumerate(consts)]
        out.append(ClosedJaxpr(Jaxpr(j.constvars, lead + j.invars[len(cs):], j.eqns,
                                     j.outvars), closed.consts))
    return out, consts


def rearrange(closed: ClosedJaxpr, in_order: Sequence[int] | None = None,
              out_order: Sequence[int] | None = None,
              extra_in: Sequence[tuple[int, ShapedArray]] = ()) -> ClosedJaxpr:
    """The same program with invars/outvars picked in another order (outputs may be dropped);
    ``extra_in`` inserts unused invars ``(position, aval)`` (applied after ``in_order``)."""
    j = closed.jaxpr
    ins = list(j.invars) if in_order is None else [j.invars[i] for i in in_order]
    for pos, aval in extra_in:
        ins.insert(pos, Var(aval))
    outs = list(j.outvars) if out_order is None else [j.outvars[i] for i in out_order]
    return ClosedJaxpr(Jaxpr(j.constvars, ins, j.eqns, outs), closed.consts)


def call_jaxpr(closed: ClosedJaxpr, *args) -> list:
    """Inline ``closed`` under the current trace."""
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def trace_flat(fun: Callable, in_avals: Sequence[ShapedArray], kind: str = "jit",
               description: str = "control flow rule") -> tuple[ClosedJaxpr, Any]:
    """Trace ``fun(*xs) -> (flat_outs, aux)`` (rule-built sub-jaxprs)."""
    closed, aux = trace_to_jaxpr(fun, list(in_avals), description=description, kind=kind)
    for c in closed.consts:
        assert not isinstance(c, Tracer), "a rule-built sub-jaxpr closed over a tracer"
    return closed, aux


# -- caches of transformed sub-jaxprs, per jaxpr object (dropped with it) --------------------
class JaxprCache(WeakCache):
    """``cache.get(closed, key)`` / ``cache.put(closed, key, value)``: entries live as long as the
    jaxpr ``closed`` does (eager code traces new jaxprs on every call)."""

    def get(self, closed: ClosedJaxpr, key: Any) -> Any:  # type: ignore[override]
        return super().get((closed,), key)

    def put(self, closed: ClosedJaxpr, key: Any, value: Any) -> Any:  # type: ignore[override]
        return super().put((closed,), key, value)


# -- batching sub-jaxprs: interpreters.batching.batch_jaxpr ---------------------------------
def batched_at(x: Any, d: int | None, dst: int) -> Any:
    return x if d is not_mapped else moveaxis(x, d, dst)


# -- differentiating sub-jaxprs -------------------------------------------------------------
_jvps = JaxprCache("control flow: jvp sub-jaxprs")


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros: Sequence[bool],
              instantiate_out: Sequence[bool]) -> tuple[ClosedJaxpr, list[bool]]:
    """The JVP of ``closed``: inputs ``primals + tangents of the nonzero inputs``, outputs
    ``primal outs + tangents of the nonzero outputs``. An output marked in ``instantiate_out``
    always gets a tangent (zeros when symbolic). Returns the jaxpr and which outputs have
    tangents."""
    key = (tuple(nonzeros), tuple(instantiate_out))
    hit = _jvps.get(closed, key)
    if hit is not None:
        return hit
    avals = closed.in_avals
    n = len(avals)
    t_avals = [tangent_aval(a) for a, nz in zip(avals, nonzeros) if nz]

    def fun(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else Zero(tangent_aval(a)) for a, nz in zip(avals, nonzeros)]
        p_out, t_out, _ = jvp_flat(lambda *xs: (call_jaxpr(closed, *xs), None),
                                   args[:n], tangents, "jvp of control flow")
        out_nz = [not isinstance(t, Zero) or inst for t, inst in zip(t_out, instantiate_out)]
        kept = [instantiate(t) for t, nz in zip(t_out, out_nz) if nz]
        return list(p_out) + kept, out_nz

    return _jvps.put(closed, key, trace_flat(fun, list(avals) + t_avals,
                                             description="jvp of control flow"))


def under_linearize() -> bool:
    """True when a JVP rule runs with partial evaluation as the parent: then the rule splits
    into a known computation (runs now) and a linear one (staged, later transposed)."""
    return isinstance(current_trace(), PartialEvalTrace)


def nonzero(ts: Sequence[Any]) -> list[bool]:
    return [not isinstance(t, Zero) for t in ts]


def zeros_for(avals: Sequence[ShapedArray]) -> list[Zero]:
    return [Zero(tangent_aval(a)) for a in avals]
