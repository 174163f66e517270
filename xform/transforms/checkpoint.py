"""``checkpoint`` (``remat``): trade computation for memory in reverse mode.

``checkpoint(f)`` binds the call primitive ``checkpoint`` holding ``f``'s jaxpr. Its JVP rule is
where rematerialization happens. It traces the JVP of the body into one jaxpr, splits that
jaxpr's equations into *primal* ones (reading only primal inputs) and *tangent* ones, and:

- runs the primal equations now, to get the primal outputs and the residuals the ``policy``
  allows to be saved (by default none);
- binds a second ``checkpoint`` (``differentiated=True``) whose body takes the primal inputs,
  the saved residuals and the tangents, and holds the tangent equations together with every
  primal equation they need that was not saved.

Under ``linearize`` (so under ``vjp``/``grad``) the second call reads tangents, so partial
evaluation stages it into the linear jaxpr whole; its transpose rule runs the backward pass
over its body inline, which first recomputes the unsaved primal values (behind an
``optimization_barrier`` when ``prevent_cse``, so XLA cannot merge them with the forward pass)
and then transposes the tangent equations. That recomputation is visible in
``make_jaxpr(grad(f))``.

A policy is JAX's: ``policy(prim, *avals, **params) -> bool`` says whether the output of one
primitive application may be saved; see ``checkpoint_policies``.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable, Sequence

import jax
from jax.tree_util import tree_flatten, tree_unflatten

from xform.interpreters.tracing import fun_name
from xform.core.caches import WeakCache
from xform.core.ir import ClosedJaxpr, Jaxpr, Literal, Var
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import _state, current_trace, to_aval
from xform.interpreters.batching import batch_jaxpr, batch_rules, current_axis_name
from xform.interpreters.jvp import Zero, instantiate, jvp_flat, jvp_rules, tangent_aval
from xform.interpreters.lowering import eval_closed_jaxpr_jax, to_jax
from xform.interpreters.staging import eval_jaxpr, hoist_consts, trace_to_jaxpr
from xform.interpreters.transpose import backward_pass, is_undefined, transpose_rules

__all__ = ["checkpoint", "remat", "checkpoint_name", "checkpoint_policies"]


# -- name: an identity that tags a value for save_only_these_names ----------------------------
name_p = Primitive("name")
abstract_eval[name_p] = lambda x, *, name: x
to_jax[name_p] = lambda x, *, name: x
jvp_rules[name_p] = lambda primals, tangents, *, name: (name_p.bind(primals[0], name=name),
                                                        tangents[0])
batch_rules[name_p] = lambda size, vals, dims, *, name: (name_p.bind(vals[0], name=name),
                                                         dims[0])
transpose_rules[name_p] = lambda ct, x, *, name: [ct]


def checkpoint_name(x: Any, name: str) -> Any:
    """Tag every array in the pytree ``x`` with ``name``, for
    ``checkpoint_policies.save_only_these_names`` (the identity otherwise)."""
    return jax.tree_util.tree_map(lambda v: name_p.bind(v, name=name), x)


# -- optimization_barrier: keeps XLA from merging recomputation with the forward pass -----------
optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)
abstract_eval[optimization_barrier_p] = lambda *avals: list(avals)
to_jax[optimization_barrier_p] = lambda *xs: list(jax.lax.optimization_barrier(tuple(xs)))
jvp_rules[optimization_barrier_p] = lambda primals, tangents: (
    optimization_barrier_p.bind(*primals), list(tangents))
batch_rules[optimization_barrier_p] = lambda size, vals, dims: (
    optimization_barrier_p.bind(*vals), list(dims))
transpose_rules[optimization_barrier_p] = lambda cts, *xs: list(cts)


# -- the policies ---------------------------------------------------------------------------
def _is_dot(prim) -> bool:
    return prim.name == "dot_general"


def everything_saveable(prim, *avals, **params) -> bool:
    """Save every intermediate (no recomputation: the same as no checkpoint)."""
    return True


def nothing_saveable(prim, *avals, **params) -> bool:
    """Save nothing but the inputs: recompute everything in the backward pass (the default)."""
    return False


def dots_saveable(prim, *avals, **params) -> bool:
    """Save the results of matrix products (``dot_general``); recompute the rest."""
    return _is_dot(prim)


def dots_with_no_batch_dims_saveable(prim, *avals, **params) -> bool:
    """Save ``dot_general`` results that have no batch dimensions."""
    if not _is_dot(prim):
        return False
    (_, (lhs_batch, rhs_batch)) = params["dimension_numbers"]
    return not lhs_batch and not rhs_batch


def save_only_these_names(*names: str) -> Callable:
    """Save only the values tagged with one of ``names`` by ``checkpoint_name``."""
    wanted = frozenset(names)

    def policy(prim, *avals, **params):
        return prim is name_p and params["name"] in wanted
    return policy


def save_any_names_but_these(*names: str) -> Callable:
    """Save every value tagged by ``checkpoint_name`` except those named ``names``."""
    unwanted = frozenset(names)

    def policy(prim, *avals, **params):
        return prim is name_p and params["name"] not in unwanted
    return policy


def save_from_both_policies(policy_1: Callable, policy_2: Callable) -> Callable:
    """Save what either policy saves."""
    def policy(prim, *avals, **params):
        return policy_1(prim, *avals, **params) or policy_2(prim, *avals, **params)
    return policy


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable, nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable, checkpoint_dots=dots_saveable,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=dots_with_no_batch_dims_saveable,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_from_both_policies=save_from_both_policies,
)


# -- the checkpoint primitive ---------------------------------------------------------------
class _CheckpointPrimitive(Primitive):
    def bind(self, *args, **params):
        if _state.trace is None:  # eager: just the body, op by op
            closed = params["jaxpr"]
            return eval_jaxpr(closed.jaxpr, closed.consts, *args)
        return _state.trace.process_primitive(self, args, params)


checkpoint_p = _CheckpointPrimitive("checkpoint", multiple_results=True)
checkpoint_p.pp_params = lambda params: [
    ("jaxpr", params["jaxpr"]), ("prevent_cse", params["prevent_cse"]),
    ("differentiated", params["differentiated"]),
    ("policy", None if params["policy"] is None else fun_name(params["policy"]))]


def _checkpoint_abstract_eval(*avals, jaxpr, **_):
    return list(jaxpr.out_avals)


def _checkpoint_to_jax(*args, jaxpr, **_):
    return eval_closed_jaxpr_jax(jaxpr, args)


def _checkpoint_batch(axis_size, vals, dims, *, jaxpr, **params):
    batched, out_dims = batch_jaxpr(jaxpr, axis_size, dims, current_axis_name())
    body, consts = hoist_consts(batched)
    outs = checkpoint_p.bind(*consts, *vals, jaxpr=body, **params)
    return outs, out_dims


_split_cache = WeakCache("checkpoint: split bodies")  # weakly on the body


def _split(jaxpr: ClosedJaxpr, nonzero: tuple, policy):
    """The JVP of the body, split by ``policy``: see the module docstring.

    Returns ``(jvp_jaxpr, saved_vars, tangent_jaxpr)`` where ``tangent_jaxpr`` maps (primal
    inputs, saved residuals, nonzero tangents) to the output tangents."""
    key = (nonzero, policy)
    hit = _split_cache.get((jaxpr,), key)
    if hit is not None:
        return hit
    n = len(jaxpr.in_avals)
    t_avals = [tangent_aval(a) for a, nz in zip(jaxpr.in_avals, nonzero) if nz]

    def jvp_fun(*xs):
        primals, ts = xs[:n], iter(xs[n:])
        tangents = [next(ts) if nz else Zero(tangent_aval(a))
                    for a, nz in zip(jaxpr.in_avals, nonzero)]

        def body(*ys):
            return eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *ys), None
        p_out, t_out, _ = jvp_flat(body, primals, tangents, "checkpoint")
        return list(p_out) + [instantiate(t) for t in t_out], None

    closed, _ = trace_to_jaxpr(jvp_fun, list(jaxpr.in_avals) + t_avals,
                               description="jvp of checkpoint", kind="jit")
    j = closed.jaxpr
    primal_in = set(j.invars[:n]) | set(j.constvars)
    primal_vars = set(primal_in)
    primal_eqns, saved = [], []
    for eqn in j.eqns:
        if all(isinstance(a, Literal) or a in primal_vars for a in eqn.invars):
            primal_vars.update(eqn.outvars)
            primal_eqns.append(eqn)
            if policy is not None and policy(eqn.primitive, *[a.aval for a in eqn.invars],
                                             **eqn.params):
                saved.extend(eqn.outvars)
    # the saved values stand in for their equations in the tangent jaxpr
    saved_set = set(saved)
    tangent_eqns = [e for e in j.eqns if not any(v in saved_set for v in e.outvars)]
    n_out = len(jaxpr.out_avals)
    tangent = Jaxpr(j.constvars, j.invars[:n] + saved + j.invars[n:], tangent_eqns,
                    j.outvars[n_out:])
    out = (closed, saved, _dce(ClosedJaxpr(tangent, closed.consts)))
    return _split_cache.put((jaxpr,), key, out)


def _dce(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Drop equations whose outputs nothing reads (the primal outputs' own computation)."""
    j = closed.jaxpr
    live = {v for v in j.outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(j.eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(a for a in eqn.invars if isinstance(a, Var))
    return ClosedJaxpr(Jaxpr(j.constvars, j.invars, kept[::-1], j.outvars), closed.consts)


def _checkpoint_jvp(primals, tangents, *, jaxpr, prevent_cse, differentiated, policy):
    nonzero = tuple(not isinstance(t, Zero) for t in tangents)
    jvp_jaxpr, saved, tangent = _split(jaxpr, nonzero, policy)
    # primal equations now: the outputs and the saved residuals
    j = jvp_jaxpr.jaxpr
    env: dict = dict(zip(j.constvars, jvp_jaxpr.consts))
    env.update(zip(j.invars[:len(primals)], primals))

    def read(a):
        return a.val if isinstance(a, Literal) else env[a]

    n_out = len(jaxpr.out_avals)
    needed = {v for v in j.outvars[:n_out] if isinstance(v, Var)} | set(saved)
    for eqn in reversed(j.eqns):  # only what the outputs and residuals need
        if any(v in needed for v in eqn.outvars):
            needed.update(a for a in eqn.invars if isinstance(a, Var))
    for eqn in j.eqns:
        if not any(v in needed for v in eqn.outvars):
            continue
        if not all(isinstance(a, Literal) or a in env for a in eqn.invars):
            continue
        outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))
    primal_out = [read(v) for v in j.outvars[:n_out]]
    residuals = [env[v] for v in saved]
    body, consts = hoist_consts(tangent)
    t_out = checkpoint_p.bind(*consts, *primals, *residuals,
                              *[t for t in tangents if not isinstance(t, Zero)], jaxpr=body,
                              prevent_cse=prevent_cse, differentiated=True, policy=policy)
    return primal_out, t_out


def _checkpoint_transpose(cts, *args, jaxpr, prevent_cse, differentiated, policy):
    known = [a for a in args if not is_undefined(a)]
    if prevent_cse and known:
        known = iter(optimization_barrier_p.bind(*known))
        args = tuple(a if is_undefined(a) else next(known) for a in args)
    res = backward_pass(jaxpr.jaxpr, jaxpr.consts, list(args), [instantiate(c) for c in cts])
    return [r if is_undefined(a) else None for a, r in zip(args, res)]


abstract_eval[checkpoint_p] = _checkpoint_abstract_eval
to_jax[checkpoint_p] = _checkpoint_to_jax
jvp_rules[checkpoint_p] = _checkpoint_jvp
batch_rules[checkpoint_p] = _checkpoint_batch
transpose_rules[checkpoint_p] = _checkpoint_transpose


def checkpoint(fun: Callable, *, prevent_cse: bool = True, policy: Callable | None = None,
               static_argnums: int | Sequence[int] = ()) -> Callable:
    """Make ``fun`` recompute its intermediates in the backward pass instead of saving them
    (JAX's ``jax.checkpoint``, also called ``remat``).

    Arguments:
        fun: the function; arguments and results are pytrees of arrays.
        prevent_cse: keep XLA from merging the recomputation with the forward pass.
        policy: which intermediates may be saved after all, ``policy(prim, *avals, **params)
            -> bool``; see ``checkpoint_policies``. None saves nothing.
        static_argnums: positions of arguments that are not arrays (passed through as they
            are, like jit's static arguments).

    Returns:
        A function with ``fun``'s values and gradients.

    >>> import xform, xform.numpy as xnp
    >>> f = xform.checkpoint(lambda x: xnp.sin(xnp.sin(x)))
    >>> float(xform.grad(f)(1.0)) == float(xform.grad(lambda x: xnp.sin(xnp.sin(x)))(1.0))
    True
    """
    statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def remat_f(*args, **kwargs):
        if current_trace() is None:  # nothing is differentiated eagerly outside a transform
            return fun(*args, **kwargs)
        n = len(args)
        nums = tuple(s % n for s in statics)
        dyn = [a for i, a in enumerate(args) if i not in nums]
        leaves, in_tree = tree_flatten((dyn, kwargs))
        store: dict = {}

        def flat_fun(*xs):
            d, kw = tree_unflatten(in_tree, list(xs))
            it = iter(d)
            full = [args[i] if i in nums else next(it) for i in range(n)]
            outs, store["tree"] = tree_flatten(fun(*full, **kw))
            return outs, None

        closed, _ = trace_to_jaxpr(flat_fun, [to_aval(x) for x in leaves],
                                   description=f"checkpoint of {fun_name(fun)}", kind="jit")
        body, consts = hoist_consts(closed)
        outs = checkpoint_p.bind(*consts, *leaves, jaxpr=body, prevent_cse=prevent_cse,
                                 differentiated=False, policy=policy)
        return tree_unflatten(store["tree"], outs)

    return remat_f


remat = checkpoint
