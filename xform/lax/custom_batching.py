"""Custom batching rules: ``custom_vmap`` and ``sequential_vmap`` (JAX's ``jax.custom_batching``).

``custom_vmap_call`` is a call primitive: its body (the user's function, staged to a const-free
jaxpr whose leading operands are the values it closes over) is what eager evaluation, ``jit``
and the JVP differentiate, and its ``rule`` is what ``vmap`` calls instead of batching the body.
``rule`` is flat: ``rule(axis_size, in_batched, *operands) -> (outs, out_batched)`` with one
bool per operand and per output, batched values carrying their batch axis first.

- batching calls the rule (under the enclosing trace, so the rule is itself transformable);
- JVP (as JAX's) binds a new ``custom_vmap_call`` whose body is the JVP of the body and whose
  rule is the JVP of the rule, so ``vmap(jvp(f))`` and ``jvp(vmap(f))`` both use the rule;
- reverse mode is not supported, as in JAX: combine with ``custom_vjp`` (on the outside).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import set_current_trace, to_aval
from xform.interpreters.batching import batch_fun, batch_rules, moveaxis, not_mapped
from xform.interpreters.eval import impl_rules
from xform.interpreters.jvp import instantiate, jvp_flat, jvp_rules
from xform.interpreters.lowering import eval_closed_jaxpr_jax, to_jax
from xform.interpreters.staging import eval_jaxpr, hoist_consts, trace_to_jaxpr
from xform.interpreters.tracing import fun_name
from xform.interpreters.transpose import transpose_rules
from xform.lax.control_flow.loops import map as lax_map
from xform.lax.custom import _WrapsFunction, _resolve_args, _trace_for_call

__all__ = ["custom_vmap", "sequential_vmap"]

custom_vmap_p = Primitive("custom_vmap_call", multiple_results=True)
custom_vmap_p.pp_params = lambda params: [("name", params["name"]), ("call", params["call"]),
                                          ("rule", fun_name(params["rule"]))]


def _abstract_eval(*avals, call, **_):
    return list(call.out_avals)


def _impl(*args, call, **_):
    # op by op, as custom_jvp_call's impl: the params hold a rule made fresh on every call
    return eval_jaxpr(call.jaxpr, call.consts, *args)


def _to_jax(*args, call, **_):
    return eval_closed_jaxpr_jax(call, args)


def _batch(axis_size, vals, dims, *, call, rule, name):
    vals = [v if d is not_mapped else moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    outs, out_batched = rule(axis_size, [d is not not_mapped for d in dims], *vals)
    for i, (o, b, a) in enumerate(zip(outs, out_batched, call.out_avals)):
        want = ((axis_size,) if b else ()) + tuple(a.shape)
        if tuple(to_aval(o).shape) != want:
            raise ValueError(
                f"custom vmap rule of {name}: output {i} has shape {tuple(to_aval(o).shape)}, "
                f"but the function's output has shape {tuple(a.shape)} and the rule says it is "
                f"{'batched' if b else 'unbatched'}, so its shape should be {want}.")
    return list(outs), [0 if b else not_mapped for b in out_batched]


def _jvp(primals, tangents, *, call, rule, name):
    tangents = [instantiate(t) for t in tangents]
    n = len(primals)

    def jvp_body(*pt):
        def body(*xs):
            return eval_jaxpr(call.jaxpr, call.consts, *xs), None
        po, to, _ = jvp_flat(body, pt[:n], pt[n:])
        return po + [instantiate(t) for t in to], None

    jvp_call, _ = trace_to_jaxpr(jvp_body, [to_aval(x) for x in (*primals, *tangents)],
                                 description=f"jvp of custom_vmap function {name}", kind="jit")
    outs = custom_vmap_p.bind(*primals, *tangents, call=jvp_call, rule=_jvp_of_rule(rule, n),
                              name=name)
    k = len(outs) // 2
    return outs[:k], outs[k:]


def _jvp_of_rule(rule: Callable, n: int) -> Callable:
    """The vmap rule of the JVP of a custom_vmap function, as JAX's: the user's rule sees the
    operands batched in both primal and tangent as batched; those batched in only one of the
    two get an ordinary vmap around the JVP of the rule."""
    def jvp_rule(axis_size, in_batched, *vals):
        pb, tb = in_batched[:n], in_batched[n:]
        mutual = [a and b for a, b in zip(pb, tb)]
        extra = ([0 if a and not b else not_mapped for a, b in zip(pb, tb)]
                 + [0 if b and not a else not_mapped for a, b in zip(pb, tb)])
        store: dict = {}

        def rule_of_primals(*ps):
            outs, out_batched = rule(axis_size, mutual, *ps)
            store["out_batched"] = list(out_batched)
            return list(outs), None

        def jvp_of_rule(*pt):
            po, to, _ = jvp_flat(rule_of_primals, pt[:n], pt[n:])
            return po + [instantiate(t) for t in to]

        outs, extra_out = batch_fun(jvp_of_rule, axis_size, extra, axis_name=object(),
                                    description="vmap of a custom vmap rule's jvp")(*vals)
        k = len(outs) // 2
        ob = store["out_batched"]
        return outs, ([a or b for a, b in zip(ob, extra_out[:k])]
                      + [a or b for a, b in zip(ob, extra_out[k:])])

    jvp_rule.__name__ = f"jvp({fun_name(rule)})"
    return jvp_rule


def _transpose(cts, *args, name, **_):
    # JAX's linearization raises ValueError here (its primal outputs stay unknown)
    raise ValueError(
        f"reverse-mode differentiation of custom_vmap function {name} is not supported, as in "
        "JAX: to customize both vmap and reverse-mode autodiff, wrap the custom_vmap function "
        "in a custom_vjp (custom_vjp on the outside).")


abstract_eval[custom_vmap_p] = _abstract_eval
impl_rules[custom_vmap_p] = _impl
to_jax[custom_vmap_p] = _to_jax
jvp_rules[custom_vmap_p] = _jvp
batch_rules[custom_vmap_p] = _batch
transpose_rules[custom_vmap_p] = _transpose


def _check_trees(name: str, rule: Callable, out_tree, tree, batched_tree) -> None:
    if tree != batched_tree:
        raise ValueError(
            f"structure of output value and output batching specification returned by custom "
            f"vmap rule ({fun_name(rule)}) do not match.\nOutput values: {tree}\n"
            f"Batching spec: {batched_tree}")
    if tree != out_tree:
        raise ValueError(
            f"structure of output returned by custom vmap rule ({fun_name(rule)}) does not "
            f"match that of original custom-vmapped function {name}.\n"
            f"Original output: {out_tree}\nRule output: {tree}")


class custom_vmap(_WrapsFunction):
    """Give a function a custom batching rule (JAX's ``jax.custom_batching.custom_vmap``).

    ``def_vmap(rule)``: ``rule(axis_size, in_batched, *args) -> (out, out_batched)``, where
    ``in_batched`` is a list with one pytree of bools per argument, batched arguments carry
    the batch axis first, and ``out_batched`` is a pytree of bools with ``out``'s structure.
    Outside ``vmap`` the function itself runs; ``jvp`` differentiates it and its rule (so
    ``vmap(grad)``-style forward compositions use the rule); reverse mode needs a
    ``custom_vjp`` on the outside, as in JAX.

    >>> import xform, xform.numpy as xnp
    >>> @xform.custom_batching.custom_vmap
    ... def f(x, y):
    ...     return x + y
    >>> @f.def_vmap
    ... def f_vmap_rule(axis_size, in_batched, xs, ys):
    ...     return xs * ys, True
    >>> xform.vmap(f)(xnp.arange(3), xnp.arange(1, 4))
    Array([0, 2, 6], dtype=int32)
    """

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self.vmap_rule: Callable | None = None

    def def_vmap(self, vmap_rule: Callable) -> Callable:
        """Set the batching rule; returns it unchanged (usable as a decorator)."""
        self.vmap_rule = vmap_rule
        return vmap_rule

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = fun_name(self.fun)
        try:
            args = _resolve_args(self.fun, args, kwargs)
        except TypeError as e:
            raise TypeError(f"The input arguments to the custom_vmap-decorated function {name} "
                            f"could not be resolved to positional-only arguments: {e}") from None
        if self.vmap_rule is None:
            raise AttributeError(f"No batching rule defined for custom_vmap function {name} "
                                 "using def_vmap.")
        if _trace_for_call(args) is None:  # no transform: the function itself
            with set_current_trace(None):
                return self.fun(*args)
        leaves, in_tree = tree_flatten(args)

        def flat_fun(*xs):
            return tree_flatten(self.fun(*tree_unflatten(in_tree, list(xs))))

        closed, out_tree = trace_to_jaxpr(flat_fun, [to_aval(x) for x in leaves],
                                          description=f"custom_vmap function {name}",
                                          kind="jit")
        body, consts = hoist_consts(closed)
        user_rule, n_consts = self.vmap_rule, len(consts)

        def flat_rule(axis_size, in_batched, *vals):
            if any(in_batched[:n_consts]):
                raise ValueError(
                    f"custom_vmap function {name} closes over a value that vmap batches; pass "
                    "it to the function as an argument so its rule sees it batched.")
            arg_vals = tree_unflatten(in_tree, list(vals[n_consts:]))
            arg_batched = tree_unflatten(in_tree, list(in_batched[n_consts:]))
            out, out_batched = user_rule(axis_size, list(arg_batched), *arg_vals)
            flat_out, tree1 = tree_flatten(out)
            flat_batched, tree2 = tree_flatten(out_batched)
            _check_trees(name, user_rule, out_tree, tree1, tree2)
            return flat_out, [bool(b) for b in flat_batched]

        flat_rule.__name__ = fun_name(user_rule)
        outs = custom_vmap_p.bind(*consts, *leaves, call=body, rule=flat_rule, name=name)
        return tree_unflatten(out_tree, outs)


def sequential_vmap(f: Callable) -> custom_vmap:
    """``f`` as a ``custom_vmap`` function whose batching rule loops over the batch with
    ``lax.map`` (JAX's ``jax.custom_batching.sequential_vmap``): for functions that do not
    batch natively, e.g. ones that call out to the host."""

    f = custom_vmap(f)

    @f.def_vmap
    def rule(axis_size, in_batched, *args):
        mapped = tree_map(lambda b, x: x if b else None, in_batched, list(args))
        unmapped = tree_map(lambda b, x: None if b else x, in_batched, list(args))

        def one(mapped_args):
            return f(*tree_map(lambda b, m, u: m if b else u, in_batched, mapped_args,
                               unmapped))

        out = lax_map(one, mapped)
        return out, tree_map(lambda _: True, out)

    return f
