"""The jit call primitive: ``jit[name=f jaxpr={...}]``.

Bound when a jit-ted function is called under another transform (or while staging), so that the
transform sees one primitive holding the whole traced program. Its params are the const-free
closed jaxpr and the function's name; closed-over values arrive as leading operands.

The rules cache what they derive from a body (its batched, linearized and transposed forms)
weakly on the body, so that the same body transformed again is the same jaxpr (and the eager
compile cache hits), and a dead body frees all of it.
"""

from __future__ import annotations

from xform.core.avals import float0
from xform.core.caches import WeakCache
from xform.core.ir import ClosedJaxpr, Jaxpr, Var
from xform.core.jax_internals import convert_element_type
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer
from xform.interpreters.batching import batch_jaxpr, batch_rules, current_axis_name, not_mapped
from xform.interpreters.ad_util import zeros_like_aval
from xform.interpreters.lowering import (
    eval_closed_jaxpr_jax, live_equations, passes_leaked_tracers, to_jax,
)
from xform.core.trace import to_aval
from xform.interpreters.jvp import Zero, jvp_rules, tangent_aval
from xform.interpreters.partial_eval import linearize_jaxpr, under_linearize
from xform.interpreters.staging import hoist_consts, hoist_consts_but_leaked, trace_to_jaxpr
from xform.interpreters.transpose import (
    UndefinedPrimal, backward_pass, is_undefined, transpose_rules,
)

jit_p = Primitive("jit", multiple_results=True)
jit_p.pp_params = lambda params: [("name", params["name"]), ("jaxpr", params["jaxpr"])]
jit_p.pp_fresh_names = True  # type: ignore[attr-defined]


def _jit_abstract_eval(*avals, jaxpr, name):
    return list(jaxpr.out_avals)


def _jit_to_jax(*args, jaxpr, name):
    # Inlined into the enclosing program under jax.jit; when run eagerly, the eval interpreter
    # wraps this in one cached jax.jit per jaxpr, so the whole body is one compiled call.
    outs = eval_closed_jaxpr_jax(jaxpr, args)
    # The outputs have the types the body declares, as a JAX jit's do: a body traced with a
    # weakly typed tangent input (see _jit_jvp_rule) and called with a strong one still gives
    # the weak results its jaxpr says.
    return [_declared(o, a) for o, a in zip(outs, jaxpr.out_avals)]


def _declared(x, aval):
    have = to_aval(x)
    if have.weak_type == aval.weak_type or have.dtype != aval.dtype:
        return x
    return convert_element_type(x, aval.dtype, weak_type=aval.weak_type)


_hoisted = WeakCache("jit: batched bodies, consts hoisted")


def _jit_batch_rule(axis_size, vals, dims, *, jaxpr, name):
    # Batch the body into a new jaxpr (batched outputs at axis 0) and call that: one program.
    batched, out_batched = batch_jaxpr(jaxpr, axis_size, dims, axis_name=current_axis_name())
    hoisted = _hoisted.get((batched,))
    if hoisted is None:  # one body object per batched jaxpr keeps the eager jit cache warm
        hoisted = hoist_consts(batched)
        if hoisted[0] is not batched:  # (it is when there is nothing to hoist)
            _hoisted.put((batched,), None, hoisted)
    body, consts = hoisted
    outs = jit_p.bind(*consts, *vals, jaxpr=body, name=name)
    return outs, [0 if b else not_mapped for b in out_batched]


abstract_eval[jit_p] = _jit_abstract_eval
to_jax[jit_p] = _jit_to_jax
passes_leaked_tracers.add(jit_p)
batch_rules[jit_p] = _jit_batch_rule


_linearized = WeakCache("jit: linearized bodies")


def _jit_jvp_rule(primals, tangents, *, jaxpr, name):
    # Linearize the body once per (body, which tangents are nonzero): a known call computes the
    # primal outputs and the residuals, a linear call maps residuals and tangents to the output
    # tangents. Under linearize, the first runs now and only the second is staged; transposing
    # it is transposing a call.
    nonzero = tuple(not isinstance(t, Zero) for t in tangents)
    # As JAX's, the linear body is traced with each tangent typed like its primal (a strongly
    # typed tangent of a weakly typed Python scalar is weak inside) and its outputs have the
    # types it computes from there (_jit_to_jax), whatever the tangents it is called with.
    # Under grad, JAX's forward program of the call has no dead equations; under a forward
    # jvp it keeps them (a dead custom_vjp differentiated through a closure raises there), and
    # the rules in the body act as under a forward jvp.
    dce = under_linearize(tangents)
    hit = _linearized.get((jaxpr,), (nonzero, dce))
    if hit is None:
        # an output tangent the body gives a symbolic zero (a constant output, one that does
        # not depend on the differentiated inputs) stays a symbolic zero, as in JAX: a rule
        # downstream then knows it need not differentiate there
        out_nonzero: list = []
        known, linear, _ = linearize_jaxpr(jaxpr, nonzero, dce=dce, out_nonzero=out_nonzero,
                                           forward=not dce)
        known, known_consts = hoist_consts_but_leaked(known)
        hit = _linearized.put((jaxpr,), (nonzero, dce),
                              (*_residual_sources(known, len(jaxpr.out_avals), linear),
                               known_consts, linear, tuple(out_nonzero)))
    known, sources, known_consts, linear, out_nonzero = hit
    ins = (*known_consts, *primals)
    outs = jit_p.bind(*ins, jaxpr=known, name=name)
    n_out = len(jaxpr.out_avals)
    primal_out, computed = outs[:n_out], iter(outs[n_out:])
    residuals = [next(computed) if s is None else ins[s] if isinstance(s, int)
                 else zeros_like_aval(s) for s in sources]
    # (a forward jvp binds the linear call even when no output tangent is nonzero, if its body
    # has dead code: JAX's keeps it, and a transform of the call meets it, vmap of a custom_vjp
    # function's tangent raising)
    tangent_nz = iter(jit_p.bind(*residuals, *[t for t in tangents if not isinstance(t, Zero)],
                                 jaxpr=linear, name=f"jvp({name})")
                      if any(out_nonzero) or (not dce and linear.jaxpr.eqns) else ())
    return primal_out, [next(tangent_nz) if nz
                        else Zero(tangent_aval(to_aval(p)))
                        for p, nz in zip(primal_out, out_nonzero)]


def _residual_sources(known: ClosedJaxpr, n_out: int,
                      linear: ClosedJaxpr) -> tuple[ClosedJaxpr, tuple]:
    """``known`` computing only the residuals the caller cannot have otherwise, and where each
    residual comes from: an int, the input of ``known`` it is, passed on as the caller has it
    (as JAX's partial evaluation of a jit does: with the caller's type, where the body declares
    the type it was traced with, a tangent typed like its primal, say); an aval, a residual
    only the linear body's dead code reads (a forward jvp keeps dead code, which JAX's compiled
    jit then drops unrun: zeros stand in, and the dead code computing it, say with a tracer
    that leaked from the body's trace, is not run either); None, an output of ``known``."""
    j = known.jaxpr
    where = {v: i for i, v in enumerate(j.invars)}
    lj = linear.jaxpr
    read = {v for e in live_equations(lj) for v in e.invars} | set(lj.outvars)
    sources = tuple(where[v] if isinstance(v, Var) and v in where
                    else None if r in read else r.aval
                    for v, r in zip(j.outvars[n_out:], lj.invars))
    if all(s is None for s in sources):
        return known, sources
    outvars = j.outvars[:n_out] + [v for v, s in zip(j.outvars[n_out:], sources) if s is None]
    return ClosedJaxpr(Jaxpr(j.constvars, j.invars, j.eqns, outvars), known.consts), sources


_transposed = WeakCache("jit: transposed bodies")


def _jit_transpose_rule(cts, *args, jaxpr, name):
    undefined = [is_undefined(a) for a in args]
    known_vals = [a for a in args if not is_undefined(a)]
    # Symbolic zero cotangents stay symbolic inside the body, as in JAX: only the nonzero ones
    # become inputs of the staged backward pass. An output nobody differentiates (a loop
    # whose value is unused, a float0 cotangent of an integer output) then puts no equation
    # of the body on the backward path: a `while` there would refuse to transpose, and two
    # float0 zeros would be added (an `add` of dtype void).
    zero = tuple(isinstance(c, Zero) or to_aval(c).dtype == float0 for c in cts)
    ct_avals = tuple(c.aval if isinstance(c, Zero) else to_aval(c) for c in cts)
    cts = [c for c, z in zip(cts, zero) if not z]
    avals = [to_aval(x) for x in known_vals] + [to_aval(c) for c in cts]
    key = (tuple(a.aval if u else None for a, u in zip(args, undefined)), tuple(avals),
           ct_avals, zero)
    hit = _transposed.get((jaxpr,), key)
    if hit is None:
        hit = _transpose_body(jaxpr, name, key[0], known_vals, avals, ct_avals, zero)
        if not any(isinstance(c, Tracer) for c in hit[1]):
            _transposed.put((jaxpr,), key, hit)
    body, consts, nonzero = hit
    outs = iter(jit_p.bind(*consts, *known_vals, *cts, jaxpr=body, name=f"transpose({name})"))
    nz = iter(nonzero)
    return [(next(outs) if next(nz) else None) if u else None for u in undefined]


def _transpose_body(jaxpr, name, undefined_avals, known_vals, avals, ct_avals, zero):
    """The backward pass of ``jaxpr`` as a const-free jaxpr of (known inputs, the nonzero
    cotangents) to the cotangents of the inputs whose aval ``undefined_avals`` gives (None for
    known ones), its consts, and which of those cotangents it computes: an input the body's
    backward pass gives a symbolic zero is no output of the body (its cotangent stays a
    symbolic zero for the caller, as in JAX, so it reaches no further equation). The
    cotangents marked in ``zero`` are symbolic zeros."""
    n_known = len(known_vals)
    nonzero: list = []

    def backward(*known_and_cts):
        known, ct_vals = iter(known_and_cts[:n_known]), iter(known_and_cts[n_known:])
        full = [next(known) if a is None else UndefinedPrimal(a) for a in undefined_avals]
        all_cts = [Zero(a) if z else next(ct_vals) for a, z in zip(ct_avals, zero)]
        res = [r for r, a in zip(backward_pass(jaxpr.jaxpr, jaxpr.consts, full, all_cts),
                                 undefined_avals) if a is not None]
        nonzero[:] = [not isinstance(r, Zero) for r in res]
        return [r for r in res if not isinstance(r, Zero)], None

    closed, _ = trace_to_jaxpr(backward, avals, description=f"transpose of {name}",
                               kind="transpose")
    return (*hoist_consts(closed), tuple(nonzero))


jvp_rules[jit_p] = _jit_jvp_rule
transpose_rules[jit_p] = _jit_transpose_rule
