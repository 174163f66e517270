"""Staging: trace a Python function into a jaxpr.

The staging trace records every primitive bound while it is current as an equation. Its own
tracers become variables; constants become literals (scalars) or constvars (arrays, and tracers of
enclosing transforms, which is how closed-over outer values become explicit operands).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Sequence

import jax
import numpy as np

from xform.core import name_stack, region_mesh
from xform.core.avals import ShapedArray, get_aval
from xform.core.errors import user_frame
from xform.core.ir import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, literalable
from xform.core.primitive import eval_abstract
from xform.core.trace import Trace, Tracer, current_trace, set_current_trace
from xform.interpreters.ad_util import tangent_type_p
from xform.interpreters.lowering import literal_value
from xform.interpreters import sharding_types  # noqa: F401  (sets the sharding-type rule)


class _CompileTimeEval(threading.local):
    on = False  # set by xform.ensure_compile_time_eval


compile_time_eval = _CompileTimeEval()


class _FrameLog(threading.local):
    # when a dict, each staged equation's first output var maps to the user's source line
    # (file:line (function)); set only while xform.ad_checkpoint.saved_residuals traces
    log: dict | None = None
    replay: str | None = None  # the line of the equation being re-bound, while it is


def replaying(eqn) -> Any:
    """While ``saved_residuals`` traces: the equations staged from re-binding ``eqn`` keep its
    source line (else a null context)."""
    log = frame_log.log
    if log is None or not eqn.outvars or eqn.outvars[0] not in log:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def ctx():
        saved, frame_log.replay = frame_log.replay, log[eqn.outvars[0]]
        try:
            yield
        finally:
            frame_log.replay = saved
    return ctx()


frame_log = _FrameLog()


class StagingTracer(Tracer):
    __slots__ = ("_aval", "ir_var")

    def __init__(self, trace: StagingTrace, aval: ShapedArray, var: Var):
        self._trace = trace
        self._aval = aval
        self.ir_var = var

    @property
    def aval(self):
        return self._aval


class StagingTrace(Trace):
    lifted_when_finished = True  # see Trace.is_own

    def __init__(self, parent: Trace | None, description: str = "", kind: str = "jit"):
        super().__init__(parent, description)
        self.kind = kind
        self.invars: list[Var] = []
        self.eqns: list[Eqn] = []
        self.constvars: list[Var] = []
        self.const_vals: list[Any] = []
        self._const_index: dict[int, Var] = {}
        self.arg_names: dict[Var, str] = {}
        self.name_base = name_stack.current()  # scopes entered from here on name equations

    def new_arg(self, aval: ShapedArray, name: str | None = None) -> StagingTracer:
        v = Var(aval)
        self.invars.append(v)
        if name is not None:
            self.arg_names[v] = name
        return StagingTracer(self, aval, v)

    def getvar(self, x: Any):
        if self.is_own(x):
            return x.ir_var
        if not isinstance(x, Tracer):
            if literalable(x):
                return Literal(x, get_aval(x))
            if isinstance(x, jax.Array) and x.ndim == 0 and not isinstance(x, jax.core.Tracer):
                return Literal(np.asarray(x), get_aval(x))
        v = self._const_index.get(id(x))
        if v is None:
            aval = x.aval if isinstance(x, Tracer) else get_aval(x)
            v = self._const_index[id(x)] = Var(aval)
            self.constvars.append(v)
            self.const_vals.append(x)
        return v

    def process_primitive(self, prim, args, params):
        if compile_time_eval.on and not any(isinstance(x, Tracer) for x in args):
            # xform.ensure_compile_time_eval: an operation of known values is computed now
            with set_current_trace(None):
                return prim.bind(*args, **params)
        invars = [self.getvar(x) for x in args]
        out = eval_abstract(prim, [v.aval for v in invars], params)
        out_avals = out if prim.multiple_results else [out]
        outvars = [Var(a) for a in out_avals]
        self.eqns.append(Eqn(prim, invars, params, outvars,
                             name_stack.relative(self.name_base), region_mesh.current()))
        if frame_log.log is not None:
            frame_log.log[outvars[0]] = frame_log.replay or user_frame(column=True)
        tracers = [StagingTracer(self, v.aval, v) for v in outvars]
        return tracers if prim.multiple_results else tracers[0]

    def to_closed_jaxpr(self, outs: Sequence[Any]) -> ClosedJaxpr:
        outvars = [self.getvar(x) for x in outs]
        jaxpr = Jaxpr(self.constvars, self.invars, self.eqns, outvars)
        return ClosedJaxpr(jaxpr, self.const_vals)

    def describe_dependence(self, tracer: StagingTracer) -> str:
        """Which arguments of the traced function a value depends on (for error messages)."""
        needed = {tracer.ir_var}
        for eqn in reversed(self.eqns):
            if any(o in needed for o in eqn.outvars):
                needed.update(v for v in eqn.invars if isinstance(v, Var))
        names = [self.arg_names.get(v, "?") for v in self.invars if v in needed]
        if not names:
            return "It does not depend on any argument."
        return ("It depends on the argument" + ("s " if len(names) > 1 else " ")
                + ", ".join(f"`{n}`" for n in names) + ".")


def trace_to_jaxpr(fun: Callable, in_avals: Sequence[ShapedArray], *, description: str = "",
                   kind: str = "jit", arg_names: Sequence[str] | None = None):
    """Trace the flat function ``fun(*args) -> list`` on ``in_avals``.

    Returns ``(closed_jaxpr, outs_tree_aux)`` where ``outs_tree_aux`` is whatever ``fun``
    returned besides its flat list (``fun`` returns ``(flat_outs, aux)``).
    """
    trace = StagingTrace(current_trace(), description, kind)
    try:
        names = arg_names if arg_names is not None else [None] * len(in_avals)
        args = [trace.new_arg(a, n) for a, n in zip(in_avals, names)]
        with set_current_trace(trace):
            flat_outs, aux = fun(*args)
        closed = trace.to_closed_jaxpr(flat_outs)
    finally:
        trace.finish()
    return closed, aux


def hoist_consts(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list]:
    """Turn constvars into leading invars: returns (const-free closed jaxpr, the consts)."""
    j = closed.jaxpr
    if not j.constvars:
        return closed, []
    return ClosedJaxpr(Jaxpr([], j.constvars + j.invars, j.eqns, j.outvars), []), closed.consts


def hoist_consts_but_leaked(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list]:
    """hoist_consts, except that tracers of finished traces stay consts of the jaxpr.

    A call's body a transform derives (a jit's linearized forward program, say) can capture a
    tracer that outlived its trace: a custom rule run late closes over its function's old
    values. JAX keeps such a constant inside the derived program, where it is an error only
    if lowering reaches it (dead code is dropped first); as an operand of the call it would
    become a constant of the enclosing jit, which JAX's outermost jit refuses outright."""
    j = closed.jaxpr
    if not any(isinstance(c, Tracer) and not c._trace.alive for c in closed.consts):
        return hoist_consts(closed)
    stale = [isinstance(c, Tracer) and not c._trace.alive for c in closed.consts]
    kept = [v for v, s in zip(j.constvars, stale) if s]
    moved = [v for v, s in zip(j.constvars, stale) if not s]
    body = ClosedJaxpr(Jaxpr(kept, moved + j.invars, j.eqns, j.outvars),
                       [c for c, s in zip(closed.consts, stale) if s])
    return body, [c for c, s in zip(closed.consts, stale) if not s]


def eval_jaxpr(jaxpr: Jaxpr, consts, *args) -> list:
    """Re-bind each equation of ``jaxpr`` under the current trace (the generic interpreter)."""
    env: dict = {}

    def read(a):  # a literal keeps its weak type (a Python scalar), as when it was traced
        return literal_value(a) if isinstance(a, Literal) else env[a]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        if eqn.primitive is tangent_type_p:  # a declared type, recomputed on re-binding
            env[eqn.outvars[0]] = read(eqn.invars[0])
            continue
        if frame_log.log is not None:
            with replaying(eqn), name_stack.reentered(eqn.source_info), \
                    region_mesh.reentered(eqn.mesh):
                outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        elif eqn.source_info or eqn.mesh is not None:
            with name_stack.reentered(eqn.source_info), region_mesh.reentered(eqn.mesh):
                outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        else:
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        if not eqn.primitive.multiple_results:
            outs = (outs,)
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]
