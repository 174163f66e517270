"""Lowering: evaluate a jaxpr with each primitive's ``to_jax`` rule.

``to_jax[p](*vals, **params)`` is a ``jax.lax`` call. The same function serves eager execution
(wrapped, once per primitive and params, in a cached ``jax.jit``) and compilation (called on
JAX's tracers inside the function handed to ``jax.jit``), so eager and compiled results agree.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import jax
import numpy as np

from xform.core.avals import dtype_of_scalar, sharding_state
from xform.core.ir import ClosedJaxpr, Jaxpr, Literal
from xform.core.name_stack import lowering_scope
from xform.core.jax_internals import convert_element_type
from xform.core.trace import Tracer, escaped_tracer_error

to_jax: dict[Any, Callable[..., Any]] = {}

# Lowerings that look at how an operand was made, for patterns of several primitives that XLA
# compiles far better as one other jax.lax operation (a weighted sum as a contraction):
# ``rule(eqn, producer, read)`` returns what ``to_jax`` would (or None to use ``to_jax``);
# ``producer(var)`` is the eqn of the same jaxpr that defines ``var`` (None for inputs) and
# ``read`` gives the JAX value of any earlier var. The eqns read from are still lowered as
# usual; XLA drops them when nothing else uses them. Only compiled jaxprs go through these.
to_jax_peephole: dict[Any, Callable[..., Any]] = {}

# Primitives with side effects (callbacks that print or do I/O): lowered even when nothing uses
# their outputs. Every other equation whose outputs are dead is skipped, as JAX's jit drops dead
# code before lowering; a dead equation may have no lowering at all (the ``custom_lin`` a
# ``custom_vjp`` leaves for a forward tangent nobody asked for).
effectful_primitives: set = set()

# Call primitives whose ``to_jax`` rule lowers the body with ``eval_jaxpr_jax`` on the operands
# as given: a leaked tracer among them is checked where the body uses it (see eval_jaxpr_jax).
passes_leaked_tracers: set = set()

# Multi-result primitives whose i-th output is their i-th operand (``optimization_barrier``):
# lowering keeps only the operands whose outputs are live, as JAX's DCE rule for the barrier
# does, so a dead value (a leaked tracer a custom rule closed over) is not computed through it.
per_operand_outputs: set = set()


def _sub_jaxprs(params: dict):
    for v in params.values():
        for x in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(x, ClosedJaxpr):
                yield x.jaxpr
            elif isinstance(x, Jaxpr):
                yield x


def _has_effects(eqn, memo: dict) -> bool:
    if eqn.primitive in effectful_primitives:
        return True
    for sub in _sub_jaxprs(eqn.params):
        key = id(sub)
        if key not in memo:
            memo[key] = False  # a recursive reference counts as effect-free
            memo[key] = any(_has_effects(e, memo) for e in sub.eqns)
        if memo[key]:
            return True
    return False


def has_effects(eqn) -> bool:
    """Whether ``eqn`` has a side effect, itself or in a sub-jaxpr."""
    return _has_effects(eqn, {})


def live_equations(jaxpr: Jaxpr) -> list:
    """The equations of ``jaxpr`` that lowering must run: those whose outputs reach the jaxpr's
    outputs, and those with side effects (checked through sub-jaxprs)."""
    live = {v for v in jaxpr.outvars if not isinstance(v, Literal)}
    memo: dict = {}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.primitive in per_operand_outputs:
            pairs = [(i, o) for i, o in zip(eqn.invars, eqn.outvars) if o in live]
            if pairs:
                eqn = eqn._replace(invars=[i for i, _ in pairs], outvars=[o for _, o in pairs])
                kept.append(eqn)
                live.update(v for v in eqn.invars if not isinstance(v, Literal))
            continue
        if any(v in live for v in eqn.outvars) or _has_effects(eqn, memo):
            kept.append(eqn)
            live.update(v for v in eqn.invars if not isinstance(v, Literal))
    kept.reverse()
    return kept


def literal_value(lit: Literal):
    val = lit.val.item() if isinstance(lit.val, (np.ndarray, np.generic)) else lit.val
    if not lit.aval.weak_type:
        return np.asarray(val, dtype=lit.aval.dtype)
    if dtype_of_scalar(val) == lit.aval.dtype:
        return val  # a Python scalar is weakly typed in its default dtype already
    # a weak scalar of another dtype (e.g. float16): JAX's weak conversion keeps it weak
    return convert_element_type(np.asarray(val, lit.aval.dtype), lit.aval.dtype, weak_type=True)


def _other_mesh(eqn, args) -> Any:
    """The abstract mesh ``eqn`` was traced under when it is not the one in context, else
    None: that of the layout it asks for, else that of the region it was traced in, else that
    of its results' sharding types, else that of its operands' JAX types (an Auto
    mesh, which xform's types leave out, inside ``auto_axes``)."""
    mesh = None
    layout = getattr(eqn.primitive, "layout_param", None)
    if layout is not None and eqn.params.get(layout) is not None:
        # a layout asked for (a reshard's target, say): its mesh, else the context's
        mesh = getattr(eqn.params[layout], "mesh", None)
        mesh = getattr(mesh, "abstract_mesh", mesh)
        return None if mesh is None or mesh == jax.sharding.get_abstract_mesh() else mesh
    if eqn.mesh is not None:  # the mesh of the auto_axes/explicit_axes region it was traced in
        return None if eqn.mesh == jax.sharding.get_abstract_mesh() else eqn.mesh
    for v in eqn.outvars:
        sharding = getattr(getattr(v, "aval", None), "sharding", None)
        if sharding is not None:
            mesh = sharding.mesh
            break
    else:
        for x in args:
            sharding = getattr(getattr(x, "aval", None), "sharding", None)
            if sharding is not None and not sharding.mesh.empty:
                mesh = sharding.mesh
                break
    return None if mesh is None or mesh == jax.sharding.get_abstract_mesh() else mesh


def eval_jaxpr_jax(jaxpr: Jaxpr, consts, args) -> list:
    """Run ``jaxpr`` on JAX values (concrete arrays, or JAX tracers inside ``jax.jit``)."""
    env: dict = {}

    def read(a):
        return literal_value(a) if isinstance(a, Literal) else env[a]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    # An xform tracer among the values outlived its transform (the traces lift such a tracer as
    # a constant, as JAX's do): an error only where a live equation computes with it. A call
    # that lowers its body here passes it on (its own dead code may be all that reads it), as
    # JAX's jit prunes a nested jit's unused inputs with its dead code.
    leaked = {v: x for v, x in zip((*jaxpr.constvars, *jaxpr.invars), (*consts, *args))
              if isinstance(x, Tracer)}
    producers = None
    for eqn in live_equations(jaxpr):
        if leaked and eqn.primitive not in passes_leaked_tracers:
            _check_not_leaked(eqn.invars, leaked)
        outs = None
        peephole = to_jax_peephole.get(eqn.primitive)
        if peephole is not None:
            if producers is None:
                producers = {v: e for e in jaxpr.eqns for v in e.outvars}
            outs = peephole(eqn, producers.get, read)
        if outs is None:
            rule = to_jax.get(eqn.primitive)
            if rule is None:
                raise NotImplementedError(f"primitive {eqn.primitive.name} has no to_jax rule")
            args = list(map(read, eqn.invars))
            mesh = _other_mesh(eqn, args) if sharding_state.seen else None
            if eqn.source_info or mesh is not None:
                # a named scope: JAX's, around the jax.lax call; a value typed over another
                # mesh than the one in context (``use_abstract_mesh`` was on where it was
                # traced, and is gone now): that mesh, which JAX checks its operands against
                with contextlib.ExitStack() as stack:
                    if eqn.source_info:
                        stack.enter_context(lowering_scope(eqn.source_info))
                    if mesh is not None:
                        stack.enter_context(jax.sharding.use_abstract_mesh(mesh))
                    outs = rule(*args, **eqn.params)
            else:
                outs = rule(*args, **eqn.params)
        if not eqn.primitive.multiple_results:
            outs = (outs,)
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    if leaked:
        _check_not_leaked(jaxpr.outvars, leaked)
    return [read(v) for v in jaxpr.outvars]


def _check_not_leaked(atoms, leaked: dict) -> None:
    for a in atoms:
        if not isinstance(a, Literal) and a in leaked:
            raise escaped_tracer_error(leaked[a])


def eval_closed_jaxpr_jax(closed: ClosedJaxpr, args) -> list:
    return eval_jaxpr_jax(closed.jaxpr, closed.consts, args)
