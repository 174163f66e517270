"""``checkpoint`` (``remat``): trade computation for memory in reverse mode.

``checkpoint(f)`` binds the call primitive ``checkpoint`` holding ``f``'s jaxpr. Its JVP rule is
where rematerialization happens. It linearizes the body with partial evaluation (the machinery
of ``linearize``, whose rules also split ``cond``, ``scan`` and ``while`` into a known and a
linear part) into a *known* jaxpr, from the primal inputs to the primal outputs and the
residuals, and a *linear* one, from the residuals and the tangents to the output tangents; then:

- runs the known equations now, to get the primal outputs and the intermediates the ``policy``
  allows to be saved (by default none);
- binds a second ``checkpoint`` (``differentiated=True``) whose body takes the primal inputs,
  the saved values and the tangents, recomputes every residual that was not saved, and
  applies the linear jaxpr.

Under ``linearize`` (so under ``vjp``/``grad``) the second call reads tangents, so partial
evaluation stages it into the linear jaxpr whole; its transpose rule runs the backward pass
over its body inline, which first recomputes the unsaved primal values (behind an
``optimization_barrier`` when ``prevent_cse``, so XLA cannot merge them with the forward pass)
and then transposes the tangent equations. That recomputation is visible in
``make_jaxpr(grad(f))``.

A policy is JAX's: ``policy(prim, *avals, **params)`` says whether the output of one
primitive application may be saved: a bool, or JAX's ``Saveable``, ``Recompute`` or
``Offloadable(src, dst)`` (``xform.ad_checkpoint``); see ``checkpoint_policies``. xform has no
host-offload path: an offloadable value is saved where it is, in device memory.
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.ad_checkpoint import Offloadable, Recompute, Saveable
from jax.tree_util import tree_flatten, tree_unflatten

from xform.interpreters.tracing import fun_name
from xform.core import region_mesh
from xform.core.caches import WeakCache
from xform.core.ir import ClosedJaxpr, Literal, Var
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_jaxpr, batch_rules, current_axis_name, not_mapped,
)
from xform.interpreters.eval import arrays_out, impl_rules
from xform.interpreters.jvp import Zero, instantiate, jvp_rules
from xform.interpreters.lowering import (
    eval_closed_jaxpr_jax, literal_value, passes_leaked_tracers, to_jax,
)
from xform.interpreters.partial_eval import linearize_jaxpr, under_linearize
from xform.interpreters.staging import eval_jaxpr, hoist_consts, replaying, trace_to_jaxpr
from xform.interpreters.transpose import backward_pass, is_undefined, transpose_rules
from xform.lax.shape_more import optimization_barrier_p

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


def saves(decision: Any) -> bool:
    """Whether a policy's answer keeps the value for the backward pass: a bool as it is,
    ``Saveable`` and ``Offloadable(...)`` yes (an offloaded value stays in device memory in
    xform), ``Recompute`` no."""
    if isinstance(decision, (bool, np.bool_)):
        return bool(decision)
    if decision is Saveable or isinstance(decision, Offloadable):
        return True
    if decision is Recompute:
        return False
    raise TypeError(f"A remat policy must return a bool, Saveable, Recompute or "
                    f"Offloadable (xform.ad_checkpoint), got {decision!r}.")


def save_from_both_policies(policy_1: Callable, policy_2: Callable) -> Callable:
    """Save what either policy saves."""
    def policy(prim, *avals, **params):
        out1, out2 = policy_1(prim, *avals, **params), policy_2(prim, *avals, **params)
        if not (isinstance(out1, (bool, np.bool_)) and isinstance(out2, (bool, np.bool_))):
            raise ValueError(  # as JAX's: Saveable/Offloadable answers do not combine by "or"
                f"The return value of the policies should be a boolean. Got: {out1} and {out2}. "
                "Please write a custom policy function directly, rather than using this helper "
                "function.")
        return bool(out1 or out2)
    return policy


def save_anything_except_these_names(*names: str) -> Callable:
    """Save every value (named or not) except those ``checkpoint_name`` tagged with ``names``.
    (JAX's own policy of this name saves everything, the names too.)"""
    unwanted = frozenset(names)

    def policy(prim, *avals, **params):
        return not (prim is name_p and params["name"] in unwanted)
    return policy


def save_and_offload_only_these_names(*, names_which_can_be_saved: Sequence[str],
                                      names_which_can_be_offloaded: Sequence[str],
                                      offload_src: str, offload_dst: str) -> Callable:
    """Save the values named ``names_which_can_be_saved``, offload (in xform: save) those
    named ``names_which_can_be_offloaded``, recompute the rest."""
    saved, offloaded = frozenset(names_which_can_be_saved), frozenset(names_which_can_be_offloaded)
    if saved & offloaded:
        raise ValueError(
            "The names should be exclusive and should not intersect in "
            "`names_which_can_be_saved` and `names_which_can_be_offloaded`. Got "
            f"names_which_can_be_saved={set(saved)}, names_which_can_be_offloaded="
            f"{set(offloaded)} and the intersection={set(saved & offloaded)}")

    def policy(prim, *avals, **params):
        if prim is name_p and params["name"] in saved:
            return Saveable
        if prim is name_p and params["name"] in offloaded:
            return Offloadable(src=offload_src, dst=offload_dst)
        return Recompute
    return policy


def offload_dot_with_no_batch_dims(offload_src: str, offload_dst: str) -> Callable:
    """``dots_with_no_batch_dims_saveable``, offloading (in xform: saving) those products."""
    def policy(prim, *avals, **params):
        if dots_with_no_batch_dims_saveable(prim, *avals, **params):
            return Offloadable(src=offload_src, dst=offload_dst)
        return Recompute
    return policy


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable, nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable, checkpoint_dots=dots_saveable,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=dots_with_no_batch_dims_saveable,
    save_only_these_names=save_only_these_names,
    save_any_names_but_these=save_any_names_but_these,
    save_from_both_policies=save_from_both_policies,
    save_anything_except_these_names=save_anything_except_these_names,
    save_and_offload_only_these_names=save_and_offload_only_these_names,
    offload_dot_with_no_batch_dims=offload_dot_with_no_batch_dims,
)


# -- the checkpoint primitive ---------------------------------------------------------------
checkpoint_p = Primitive("checkpoint", multiple_results=True)
checkpoint_p.pp_params = lambda params: [
    ("jaxpr", params["jaxpr"]), ("prevent_cse", params["prevent_cse"]),
    ("differentiated", params["differentiated"]),
    ("policy", None if params["policy"] is None else fun_name(params["policy"]))]


def _checkpoint_abstract_eval(*avals, jaxpr, **_):
    return list(jaxpr.out_avals)


def _checkpoint_impl(*args, jaxpr, **_):
    # eager: just the body, op by op (the params hold a fresh jaxpr on every call)
    return arrays_out(eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *args))


def _checkpoint_to_jax(*args, jaxpr, **_):
    return eval_closed_jaxpr_jax(jaxpr, args)


def _checkpoint_batch(axis_size, vals, dims, *, jaxpr, **params):
    batched, out_batched = batch_jaxpr(jaxpr, axis_size, dims, axis_name=current_axis_name())
    body, consts = hoist_consts(batched)
    outs = checkpoint_p.bind(*consts, *vals, jaxpr=body, **params)
    return outs, [0 if b else not_mapped for b in out_batched]


_splits = WeakCache("checkpoint: split bodies")  # weakly on the body jaxpr


def _needed_eqns(eqns, wanted, available) -> list:
    """The equations (in order) that compute the vars ``wanted`` from ``available`` ones."""
    live = {v for v in wanted if isinstance(v, Var) and v not in available}
    kept = []
    for eqn in reversed(eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(a for a in eqn.invars if isinstance(a, Var) and a not in available)
    return kept[::-1]


def _eval_eqns(eqns, env: dict) -> None:
    """Bind ``eqns`` under the current trace, reading and writing ``env``."""
    def read(a):
        # a literal keeps its weak type (a Python scalar), as when it was traced
        return literal_value(a) if isinstance(a, Literal) else env[a]
    for eqn in eqns:
        # saved_residuals: keep the line the equation came from; and the auto_axes region's mesh
        with replaying(eqn), region_mesh.reentered(eqn.mesh):
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        env.update(zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]))


def _split(jaxpr: ClosedJaxpr, nonzero: tuple, policy, dce: bool = False):
    """The linearization of the body, split by ``policy``: see the module docstring.

    Partial evaluation (the machinery of ``linearize``, whose rules split control flow into a
    known and a linear part) gives ``known``, from the primal inputs to the primal outputs and
    the residuals, and ``linear``, from the residuals and the nonzero tangents to the output
    tangents. The policy picks which intermediates of ``known`` are saved; everything else the
    residuals need is recomputed inside the tangent call.

    Returns ``(known, saved_vars, tangent_jaxpr)`` where ``tangent_jaxpr`` maps (primal
    inputs, saved values, nonzero tangents) to the output tangents. ``dce``: see
    linearize_jaxpr (JAX's partial evaluation of a checkpoint under grad drops dead code)."""
    key = (nonzero, policy, dce)
    hit = _splits.get((jaxpr,), key)
    if hit is not None:
        return hit
    known, linear, _ = linearize_jaxpr(jaxpr, nonzero, dce=dce, forward=not dce)
    k = known.jaxpr
    n_out = len(jaxpr.out_avals)
    residuals = k.outvars[n_out:]
    inputs = set(k.invars) | set(k.constvars)
    # walk back from the residuals; a saveable equation's outputs are saved, not recomputed
    saved: list = []
    live = {v for v in residuals if isinstance(v, Var) and v not in inputs}
    for eqn in reversed(k.eqns):
        if not any(v in live for v in eqn.outvars):
            continue
        if policy is not None and saves(policy(eqn.primitive, *[to_aval(a) for a in eqn.invars],
                                               **eqn.params)):
            saved.extend(v for v in eqn.outvars if v in live)
            continue
        live.update(a for a in eqn.invars if isinstance(a, Var) and a not in inputs)
    saved = saved[::-1]
    recompute = _needed_eqns(k.eqns, residuals, inputs | set(saved))
    # only the primal inputs the tangent reads go in (as JAX's DCE leaves them): an input
    # everything of which is saved is no residual of the tangent call
    read = {a for e in recompute for a in e.invars if isinstance(a, Var)} | set(residuals)
    used = tuple(i for i, v in enumerate(k.invars) if v in read)
    used_vars = [k.invars[i] for i in used]
    n_in = len(used)
    t_avals = [v.aval for v in linear.jaxpr.invars[len(residuals):]]

    def tangent_fun(*args):
        env = dict(zip(k.constvars, known.consts))
        env.update(zip(used_vars, args[:n_in]))
        env.update(zip(saved, args[n_in:n_in + len(saved)]))
        _eval_eqns(recompute, env)
        res = [literal_value(r) if isinstance(r, Literal) else env[r] for r in residuals]
        ts = args[n_in + len(saved):]
        return eval_jaxpr(linear.jaxpr, linear.consts, *res, *ts), None

    tangent, _ = trace_to_jaxpr(tangent_fun, [v.aval for v in used_vars]
                                + [v.aval for v in saved] + t_avals,
                                description="tangent of checkpoint", kind="jit")
    return _splits.put((jaxpr,), key, (known, saved, tangent, used))


def _checkpoint_jvp(primals, tangents, *, jaxpr, prevent_cse, differentiated, policy):
    nonzero = tuple(not isinstance(t, Zero) for t in tangents)
    known, saved, tangent, used = _split(jaxpr, nonzero, policy, under_linearize(tangents))
    # the primal computation now: the outputs and the values the policy saves
    k = known.jaxpr
    n_out = len(jaxpr.out_avals)
    env: dict = dict(zip(k.constvars, known.consts))
    env.update(zip(k.invars, primals))
    wanted = list(k.outvars[:n_out]) + saved
    _eval_eqns(_needed_eqns(k.eqns, wanted, set(env)), env)
    primal_out = [literal_value(v) if isinstance(v, Literal) else env[v]
                  for v in k.outvars[:n_out]]
    body, consts = hoist_consts(tangent)
    t_out = checkpoint_p.bind(*consts, *[primals[i] for i in used], *[env[v] for v in saved],
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
impl_rules[checkpoint_p] = _checkpoint_impl
to_jax[checkpoint_p] = _checkpoint_to_jax
passes_leaked_tracers.add(checkpoint_p)
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

    @functools.wraps(fun, updated=())
    def remat_f(*args, **kwargs):
        # traced even eagerly, as in JAX: ``fun`` sees arrays (never raw numpy or Python
        # scalars) and runs with the same semantics under every transform
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
