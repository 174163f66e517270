"""Forward mode: the JVP interpreter.

A ``JVPTracer`` carries a primal value and its tangent. Tangents may be the symbolic ``Zero``,
which costs nothing: a primitive whose inputs all have zero tangents is not differentiated at
all, and rules skip the terms of zero tangents. Values not owned by this trace are constants
(zero tangent), which is what keeps nested ``jvp``s of the same function apart.

``jvp_rules[p](primals, tangents, **params) -> (primal_out, tangent_out)``; for primitives with
multiple results both are lists. Rules are written with xform primitives, so they are themselves
differentiable (higher order) and batchable.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence


from xform.core.avals import ShapedArray, float0, is_inexact
from xform.core.errors import ConcretizationTypeError
from xform.core.trace import (
    Trace, Tracer, current_trace, escaped_tracer_error, set_current_trace, to_aval,
)
from xform.interpreters.ad_util import add_any_p, tangent_type_p, zeros_like_aval

jvp_rules: dict[Any, Callable[..., Any]] = {}


class _ArrayFunctionCalls(threading.local):
    """How many ``xform.numpy`` functions are running on this thread under a transform.

    JAX's ``jax.numpy`` functions are jits, and the JVP of a jit has the types its jaxpr
    declares: tangents typed like their primals (a strongly typed tangent of a weakly typed
    Python scalar comes out weak), while a ``jax.lax`` function called directly gives the
    tangent the type it computes. xform's numpy functions trace inline, so while one runs, the
    JVP trace gives each output tangent its primal's weak type with a ``tangent_type``
    equation: a declared type, which re-interpreting the staged jaxpr recomputes and the
    backward pass leaves to the cotangent, as JAX's re-binding does (xform/interpreters/
    ad_util.py).

    A rule that writes a strongly typed constant beside a weakly typed array (``const_like``:
    ``sqrt``'s 0.5, ``square``'s 2) makes the tangent strong inside JAX's jit too, whatever the
    tangents' types: ``strong_constant`` records that while the rule runs, and the tangent
    keeps the type it computes."""

    depth = 0
    strong_constant = False


array_function_calls = _ArrayFunctionCalls()


class Zero:
    """A symbolic zero tangent of type ``aval``."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """Tangents of integer and bool values are float0, as in JAX; others keep the dtype."""
    if is_inexact(aval.dtype):  # bfloat16 too, which numpy does not count as inexact
        return ShapedArray(aval.shape, aval.dtype, aval.weak_type, aval.vma, aval.sharding)
    return ShapedArray(aval.shape, float0, False, aval.vma)


def instantiate(t: Any) -> Any:
    return zeros_like_aval(t.aval) if isinstance(t, Zero) else t


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: JVPTrace, primal: Any, tangent: Any):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        return to_aval(self.primal)

    def concrete_value(self, context: str):
        # Python control flow on concrete values keeps working under (eager) differentiation:
        # bool, int and indices are not differentiable. A float, a complex or a numpy array
        # made from the value would silently drop its derivative, so (as in JAX) they are
        # errors, and so is any use of a tracer whose differentiation has finished.
        if context in _DROPS_DERIVATIVE:  # first: JAX's error type, leaked tracer or not
            raise ConcretizationTypeError(
                f"{_DROPS_DERIVATIVE[context]} was called on a value that is being "
                f"differentiated (a traced array of type {self.aval.str_short()}, traced by "
                f"{self._trace.kind} ({self._trace.description})): its result would be the "
                "value without its derivative, so the derivative would be silently wrong. "
                "Keep the computation in xform.numpy, or, to drop the derivative on purpose, "
                "convert xform.lax.stop_gradient(x) instead.")
        if not self._trace.alive:
            raise escaped_tracer_error(self)
        p = self.primal
        return p.concrete_value(context) if isinstance(p, Tracer) else p


_DROPS_DERIVATIVE = {"float": "float()", "complex": "complex()",
                     "numpy.asarray": "numpy.asarray()", "tolist": ".tolist()"}


class JVPTrace(Trace):
    kind = "jvp"
    # JAX never invalidates a jvp's trace: its finished tracer is a constant to other traces,
    # and only computing with it outside every trace raises (see Trace.is_own)
    lifted_when_finished = True

    def unpack(self, x: Any) -> tuple[Any, Any]:
        if self.is_own(x):
            return x.primal, x.tangent
        return x, Zero(tangent_aval(to_aval(x)))

    def wrap(self, primal: Any, tangent: Any, retype: bool = True) -> Any:
        if isinstance(tangent, Zero):
            return primal
        if retype and array_function_calls.depth:
            with set_current_trace(self.parent):
                tangent = typed_like_primal(primal, tangent)
        return JVPTracer(self, primal, tangent)

    def process_primitive(self, prim, args, params):
        primals, tangents = zip(*map(self.unpack, args)) if args else ((), ())
        with set_current_trace(self.parent):
            if all(isinstance(t, Zero) for t in tangents):
                return prim.bind(*primals, **params)
            rule = jvp_rules.get(prim)
            if rule is None:
                raise NotImplementedError(
                    f"Differentiation rule for '{prim.name}' not implemented. This is a bug in "
                    "xform (every primitive should have one; see docs/primitives.md).")
            calls = array_function_calls
            if not calls.depth:
                p_out, t_out = rule(list(primals), list(tangents), **params)
                retype = False
            else:
                outer, calls.strong_constant = calls.strong_constant, False
                try:
                    p_out, t_out = rule(list(primals), list(tangents), **params)
                    retype = not calls.strong_constant
                finally:
                    calls.strong_constant = outer
        if prim.multiple_results:
            return [self.wrap(p, t, retype) for p, t in zip(p_out, t_out)]
        return self.wrap(p_out, t_out, retype)


def typed_like_primal(primal: Any, tangent: Any) -> Any:
    """``tangent`` with its primal's weak type, as JAX's jit types the tangents of its
    arguments (bound under the trace below the tangent's JVP trace)."""
    if isinstance(tangent, Zero):
        return tangent
    weak = to_aval(primal).weak_type
    t = to_aval(tangent)
    if t.weak_type == weak or t.dtype == float0:
        return tangent
    return tangent_type_p.bind(tangent, weak_type=weak)


def jvp_flat(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any],
             description: str = "") -> tuple[list, list, Any]:
    """Run ``fun(*tracers) -> (flat_outs, aux)`` under a fresh JVP trace.

    Returns ``(primal_outs, tangent_outs, aux)``; tangent outs may be ``Zero``.
    """
    trace = JVPTrace(current_trace(), description)
    try:
        # a float0 tangent (of an integer or bool primal) is a zero, as JAX's jvp takes it
        ins = [trace.wrap(p, Zero(tangent_aval(to_aval(p)))
                          if not isinstance(t, Zero) and to_aval(t).dtype == float0 else t)
               for p, t in zip(primals, tangents)]
        with set_current_trace(trace):
            outs, aux = fun(*ins)
        unpacked = [trace.unpack(o) for o in outs]
    finally:
        trace.finish()
    return [p for p, _ in unpacked], [t for _, t in unpacked], aux


# -- helpers for writing rules --------------------------------------------------------------
def add_tangents(x: Any, y: Any) -> Any:
    """Sum of two tangents (or cotangents) of one type, either of which may be ``Zero``: an
    ``add_any`` equation, as JAX's jaxprs show it."""
    if isinstance(x, Zero):
        return y
    if isinstance(y, Zero) or to_aval(x).dtype == float0:
        return x  # float0 values are all zeros
    return add_any_p.bind(x, y)


def _add_any_jvp(primals, tangents):
    return add_any_p.bind(*primals), add_tangents(*tangents)


jvp_rules[add_any_p] = _add_any_jvp


def _tangent_type_jvp(primals, tangents, *, weak_type):
    (x,), (t,) = primals, tangents
    out = tangent_type_p.bind(x, weak_type=weak_type)
    return out, typed_like_primal(out, t)


jvp_rules[tangent_type_p] = _tangent_type_jvp


def defjvp(prim, *partials: Callable | None) -> None:
    """Register a rule from one function per operand: ``partial_i(t_i, ans, *primals)`` gives that
    operand's contribution to the output tangent (linear in ``t_i``); ``None`` means the
    primitive is not differentiable in that operand. Zero tangents contribute nothing."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        out = None
        for fn, t in zip(partials, tangents):
            if fn is None or isinstance(t, Zero):
                continue
            term = fn(t, ans, *primals, **params)
            out = term if out is None else add_tangents(out, term)
        return ans, (Zero(tangent_aval(to_aval(ans))) if out is None else out)

    jvp_rules[prim] = rule


def defjvp_zero(prim) -> None:
    """The output does not depend differentiably on any input (comparisons, floor, ...)."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero(tangent_aval(to_aval(a))) for a in ans]
        return ans, Zero(tangent_aval(to_aval(ans)))

    jvp_rules[prim] = rule


def deflinear_jvp(prim) -> None:
    """A primitive linear in all its operands: the tangent is the primitive on the tangents."""

    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        ts = [instantiate(t) for t in tangents]
        return ans, prim.bind(*ts, **params)

    jvp_rules[prim] = rule
