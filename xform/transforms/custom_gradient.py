"""``custom_gradient`` and ``closure_convert``, built on xform's ``custom_vjp`` machinery and its
staging interpreter (JAX's names and conventions)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
from jax.tree_util import register_pytree_node, tree_flatten, tree_unflatten

from xform.core.ir import Jaxpr
from xform.core.trace import Tracer
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr
from xform.interpreters.tracing import abstractify, fun_name
from xform.lax.custom import custom_vjp


def _trace_flat(fun: Callable, example_leaves: list, in_tree, description: str):
    """Trace ``fun(*unflatten(in_tree, leaves))`` on the leaves' avals; returns the closed
    jaxpr (its consts are the values ``fun`` closes over) and the output tree."""
    store: dict = {}

    def flat(*leaves):
        args = tree_unflatten(in_tree, list(leaves))
        out = fun(*args)
        out_leaves, store["out_tree"] = tree_flatten(out)
        return out_leaves, None

    closed, _ = trace_to_jaxpr(flat, [abstractify(x) for x in example_leaves],
                               description=description, kind="closure_convert")
    return closed, store["out_tree"]


class _Rule:
    """The backward rule of a ``custom_gradient`` function as a residual: the values it closes
    over are its leaves (they flow through ``custom_vjp`` as residuals), its jaxpr is static."""

    def __init__(self, consts: list, jaxpr: Jaxpr, out_tree):
        self.consts, self.jaxpr, self.out_tree = consts, jaxpr, out_tree


register_pytree_node(_Rule, lambda r: (r.consts, (r.jaxpr, r.out_tree)),
                     lambda aux, consts: _Rule(list(consts), *aux))


def custom_gradient(fun: Callable) -> Callable:
    """Define a function and its gradient together, as ``jax.custom_gradient``.

    ``fun(*args)`` returns ``(out, vjp)`` where ``vjp(out_cotangent)`` returns the cotangents
    of the arguments (a tuple, one per argument; a single value for one argument is accepted).
    The result computes ``out`` and differentiates through ``vjp`` in reverse mode.

    >>> import xform, xform.numpy as xnp
    >>> @xform.custom_gradient
    ... def f(x):
    ...     return x ** 2, lambda g: (g * x,)
    >>> float(xform.grad(f)(3.0))
    3.0
    """

    def primal(*args: Any) -> Any:
        out, _ = fun(*args)
        return out

    functools.update_wrapper(primal, fun)
    wrapped = custom_vjp(primal)

    def fwd(*args: Any):
        out, rule = fun(*args)
        leaves, tree = tree_flatten((out,))  # the rule takes one argument, the cotangent
        closed, out_tree = _trace_flat(rule, leaves, tree, f"custom_gradient of {fun_name(fun)}")
        return out, _Rule(list(closed.consts), closed.jaxpr, out_tree)

    def bwd(rule: _Rule, ct: Any):
        ct_leaves, _ = tree_flatten(ct)
        outs = eval_jaxpr(rule.jaxpr, rule.consts, *ct_leaves)
        cts = tree_unflatten(rule.out_tree, outs)
        return tuple(cts) if isinstance(cts, (tuple, list)) else (cts,)

    wrapped.defvjp(fwd, bwd)
    return wrapped


def _maybe_perturbed(x: Any) -> bool:
    # a traced value of a float dtype may carry a tangent; integers never do
    return isinstance(x, Tracer) and np.issubdtype(x.aval.dtype, np.inexact)


def closure_convert(fun: Callable, *example_args: Any) -> tuple[Callable, list]:
    """Make the traced values ``fun`` closes over explicit, as ``jax.closure_convert``.

    Returns ``(converted, consts)``: ``converted(*args, *consts)`` computes ``fun(*args)``,
    with the floating-point tracers ``fun`` closed over passed in as ``consts`` (what a
    ``custom_vjp`` rule needs to differentiate with respect to them). ``example_args`` give the
    argument structure, shapes and dtypes.
    """
    leaves, in_tree = tree_flatten(example_args)
    closed, out_tree = _trace_flat(fun, leaves, in_tree,
                                   f"closure_convert of {fun_name(fun)}")
    jaxpr, consts = closed.jaxpr, list(closed.consts)
    hoist = [_maybe_perturbed(c) for c in consts]
    hoisted = [c for c, h in zip(consts, hoist) if h]
    kept = [c for c, h in zip(consts, hoist) if not h]
    n_hoisted = len(hoisted)

    def converted(*args_and_consts: Any) -> Any:
        n_args = len(args_and_consts) - n_hoisted
        args, given = args_and_consts[:n_args], list(args_and_consts[n_args:])
        kept_it, given_it = iter(kept), iter(given)
        all_consts = [next(given_it) if h else next(kept_it) for h in hoist]
        flat, tree = tree_flatten(tuple(args))
        if tree != in_tree:
            raise TypeError(f"closure_convert of {fun_name(fun)}: the converted function was "
                            f"called with argument structure {tree}, but the example "
                            f"arguments had {in_tree}.")
        return tree_unflatten(out_tree, eval_jaxpr(jaxpr, all_consts, *flat))

    functools.update_wrapper(converted, fun)
    return converted, hoisted
