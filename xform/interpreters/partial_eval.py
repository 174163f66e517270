"""Partial evaluation: split a computation into what is known now and what is not.

The partial-eval trace is a staging trace that stages only the equations with an *unknown*
input (one of its own tracers); an equation whose inputs are all known is handed to the parent
trace and runs now. Known values an unknown equation reads become the staged jaxpr's consts:
the residuals.

``linearize`` is JVP on top of it: the primals are known and the tangents unknown, so running a
function under a JVP trace whose parent is a partial-eval trace computes the primal outputs now
and stages exactly the tangent computation, a linear jaxpr of the tangent inputs. Transposing
that jaxpr gives the VJP.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from xform.core.avals import ShapedArray
from xform.core.ir import ClosedJaxpr, Jaxpr
from xform.core.trace import current_trace, set_current_trace, to_aval
from xform.interpreters.jvp import JVPTrace, Zero, instantiate, tangent_aval
from xform.interpreters.lowering import live_equations
from xform.interpreters.staging import StagingTrace, eval_jaxpr, hoist_consts, trace_to_jaxpr


class PartialEvalTrace(StagingTrace):
    kind = "linearize"
    lifted_when_finished = False  # a finished linearize is an error wherever met, as in JAX
    # True for the linearize with which a forward jvp splits a call's body (see
    # linearize_jaxpr): the rules it meets then act as under a forward jvp, as in JAX, where
    # that jvp differentiates the whole body forward
    forward = False

    def process_primitive(self, prim, args, params):
        if any(self.is_own(x) for x in args):
            return super().process_primitive(prim, args, params)
        with set_current_trace(self.parent):
            return prim.bind(*args, **params)


def linearize_flat(fun: Callable, primals: Sequence[Any], tangent_avals: Sequence[ShapedArray],
                   description: str = "", out_nonzero: list | None = None,
                   dce: bool = True, forward: bool = False):
    """Linearize ``fun(*xs) -> (flat_outs, aux)`` at ``primals``.

    ``tangent_avals[i]`` is None for a primal that is not differentiated. Returns
    ``(primal_outs, linear, aux)`` where ``linear`` is a ClosedJaxpr from the tangents of the
    differentiated inputs to the output tangents (consts: the residuals). Given a list
    ``out_nonzero``, it is filled with whether each output tangent is nonzero, and ``linear``
    computes only those (a symbolic zero stays one for the caller). ``dce`` drops the dead
    code of ``linear`` and the residuals only it read, as JAX's linearize does (not its
    forward jvp of a call, which keeps them: see linearize_jaxpr). ``forward``: this
    linearize is a forward jvp's (see PartialEvalTrace.forward).
    """
    pe = PartialEvalTrace(current_trace(), description, kind="linearize")
    pe.forward = forward
    jvp = JVPTrace(pe, description)
    try:
        tangents = [Zero(tangent_aval(a)) if ta is None else pe.new_arg(ta)
                    for a, ta in zip([_aval(p) for p in primals], tangent_avals)]
        ins = [jvp.wrap(p, t) for p, t in zip(primals, tangents)]
        with set_current_trace(jvp):
            outs, aux = fun(*ins)
        unpacked = [jvp.unpack(o) for o in outs]
        jvp.finish()
        primal_outs = [p for p, _ in unpacked]
        if out_nonzero is not None:
            out_nonzero[:] = [not isinstance(t, Zero) for _, t in unpacked]
            unpacked = [u for u, nz in zip(unpacked, out_nonzero) if nz]
        with set_current_trace(pe):
            tangent_outs = [instantiate(t) for _, t in unpacked]
        # JAX's tangent trace drops dead code and the residuals only it read
        linear = pe.to_closed_jaxpr(tangent_outs)
        if dce:
            linear = dce_closed_jaxpr(linear)
    finally:
        jvp.finish()
        pe.finish()
    return primal_outs, linear, aux


def under_linearize(tangents) -> bool:
    """Whether these tangents are those of a running linearize (``grad``, ``vjp``,
    ``linearize``), whose tangent computation is staged, rather than of a forward ``jvp``."""
    return any(isinstance(tr := getattr(t, "_trace", None), PartialEvalTrace) and not tr.forward
               for t in tangents)


def _aval(x):
    return to_aval(x)


def linearize_jaxpr(jaxpr: ClosedJaxpr, nonzero: Sequence[bool], dce: bool = False,
                    out_nonzero: list | None = None, forward: bool = False):
    """Split a const-free closed jaxpr into its known part and its linear part.

    The tangents are typed like their primals (a weakly typed primal's tangent is weak inside,
    as in the jvp of JAX's jit). ``dce`` drops the dead equations of both parts (see
    dce_closed_jaxpr), as JAX's linearize of a call does; its forward jvp keeps them, and
    ``forward`` says that this split is a forward jvp's (see PartialEvalTrace.forward).
    ``out_nonzero``, a list, is filled as linearize_flat's (the linear part then computes only
    the nonzero output tangents).

    Returns ``(known, linear, n_res)``: ``known`` (a closed jaxpr, possibly with consts) maps
    the primal inputs to the primal outputs followed by ``n_res`` residuals; ``linear`` (const
    free) maps the residuals followed by the tangents of the inputs marked ``nonzero`` to the
    output tangents. This is how ``jit`` inside ``grad`` keeps the primal computation compiled
    and the tangent computation linear.
    """
    holder: dict = {}

    def known_fun(*primals):
        def f(*xs):
            return eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *xs), None

        t_avals = [tangent_aval(v.aval) if nz else None
                   for v, nz in zip(jaxpr.jaxpr.invars, nonzero)]
        outs, linear, _ = linearize_flat(f, primals, t_avals, out_nonzero=out_nonzero,
                                         dce=dce, forward=forward)
        lin, residuals = hoist_consts(linear)
        holder["linear"] = lin
        return list(outs) + list(residuals), len(residuals)

    known, n_res = trace_to_jaxpr(known_fun, [v.aval for v in jaxpr.jaxpr.invars],
                                  description="linearize of a call", kind="linearize")
    return (dce_closed_jaxpr(known) if dce else known), holder["linear"], n_res


def dce_closed_jaxpr(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` without the equations whose results nothing uses (side effects kept).

    JAX drops them from the forward program of a jit it linearizes (not from one it only
    differentiates forward), so a later transform of that program never meets them:
    differentiating it again with respect to a value a dead ``custom_vjp`` closes over is then
    no error, as in JAX. The consts nothing reads then go too (a tracer that outlived its
    transform, which only dead code read, is then no constant of the program)."""
    j = closed.jaxpr
    eqns = live_equations(j)
    read = {v for e in eqns for v in e.invars} | set(j.outvars)
    kept = [(v, c) for v, c in zip(j.constvars, closed.consts) if v in read]
    if len(eqns) == len(j.eqns) and len(kept) == len(j.constvars):
        return closed
    constvars, consts = [v for v, _ in kept], [c for _, c in kept]
    return ClosedJaxpr(Jaxpr(constvars, j.invars, eqns, j.outvars), consts)
