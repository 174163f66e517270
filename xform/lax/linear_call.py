"""``linear_call``: call a linear function with a transpose of one's own (JAX's ``linear_call``).

``linear_call(fun, fun_transpose, residual_args, linear_args)`` is ``fun(residual_args,
linear_args)``, a function linear in ``linear_args``, bound as the primitive
``linear_call[callee=... transpose_thunk=...]``. Its tangent is the same call on the tangents
of the linear arguments; its transpose is a ``linear_call`` of ``fun_transpose``, whose own
transpose is ``fun`` again. Under ``vmap`` both callees are batched (every linear input and
output batched, so that the transposed call's outputs line up with the linear inputs).

The callee is a const-free closed jaxpr; its consts come first among the operands
(``num_callee_consts``), then the ``num_res`` residuals, then the linear operands.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
from jax.tree_util import tree_flatten, tree_unflatten

from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_jaxpr, batch_rules, bdim_at_front, current_axis_name, not_mapped,
)
from xform.interpreters.jvp import Zero, instantiate, jvp_rules
from xform.interpreters.lowering import eval_closed_jaxpr_jax, to_jax
from xform.interpreters.staging import hoist_consts, trace_to_jaxpr
from xform.interpreters.tracing import fun_name
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.interpreters.ad_util import zeros_like_aval

linear_call_p = Primitive("linear_call", multiple_results=True)
linear_call_p.pp_params = lambda params: [("callee", params["callee"])]


def linear_call(fun: Callable, fun_transpose: Callable, residual_args: Any,
                linear_args: Any) -> Any:
    """``fun(residual_args, linear_args)``, where ``fun`` is linear in ``linear_args`` and
    ``fun_transpose(residual_args, cotangent)`` is its transpose, as
    ``jax.custom_derivatives.linear_call``: reverse mode (``vjp``, ``grad``,
    ``linear_transpose``) uses ``fun_transpose`` instead of transposing ``fun``.

    >>> import xform
    >>> f = lambda r, x: x / r
    >>> t = lambda r, ct: ct / r
    >>> div_add = lambda x, denom: x + linear_call(f, t, denom, x)
    >>> xform.linear_transpose(lambda x: div_add(x, 3.0), 1.0)(18.0)
    (Array(24., dtype=float32, weak_type=True),)
    """
    res_flat, res_tree = tree_flatten(residual_args)
    lin_flat, lin_tree = tree_flatten(linear_args)
    res_avals = [to_aval(x) for x in res_flat]
    lin_avals = [to_aval(x) for x in lin_flat]

    def flat_fun(*xs):
        r = tree_unflatten(res_tree, list(xs[:len(res_flat)]))
        a = tree_unflatten(lin_tree, list(xs[len(res_flat):]))
        return tree_flatten(fun(r, a))

    closed, out_tree = trace_to_jaxpr(flat_fun, res_avals + lin_avals, kind="linear_call",
                                      description=f"linear_call of {fun_name(fun)}")
    callee, consts = hoist_consts(closed)
    out_avals = list(closed.out_avals)
    transposed: list = []

    def transpose_thunk():
        # traced the first time reverse mode meets the call, and kept
        if not transposed:
            def flat_transpose(*xs):
                r = tree_unflatten(res_tree, list(xs[:len(res_flat)]))
                ct = tree_unflatten(out_tree, list(xs[len(res_flat):]))
                out, tree = tree_flatten(fun_transpose(r, ct))
                if tree != lin_tree:
                    raise TypeError(
                        "transpose output pytree structure must match that of linear inputs, "
                        f"got output structure {tree} and input structure {lin_tree}.")
                return out, None

            t_closed, _ = trace_to_jaxpr(
                flat_transpose, res_avals + out_avals, kind="linear_call",
                description=f"linear_call transpose {fun_name(fun_transpose)}")
            transposed.append(hoist_consts(t_closed))
        return transposed[0]

    outs = linear_call_p.bind(*consts, *res_flat, *lin_flat, callee=callee,
                              transpose_thunk=transpose_thunk, num_callee_consts=len(consts),
                              num_res=len(res_flat))
    return tree_unflatten(out_tree, outs)


def _abstract_eval(*avals, callee, **_):
    return list(callee.out_avals)


def _to_jax(*args, callee, transpose_thunk, num_callee_consts, num_res):
    # JAX's own linear_call, so that JAX's transforms of the lowered program (through
    # xform.to_jax) use the custom transpose too
    consts, res, lin = (args[:num_callee_consts], args[num_callee_consts:][:num_res],
                        args[num_callee_consts + num_res:])

    def fun(r, a):
        return eval_closed_jaxpr_jax(callee, [*consts, *r, *a])

    def fun_transpose(r, ct):
        t_callee, t_consts = transpose_thunk()
        return eval_closed_jaxpr_jax(t_callee, [*t_consts, *r, *ct])

    return jax.custom_derivatives.linear_call(fun, fun_transpose, list(res), list(lin))


def _jvp(primals, tangents, *, callee, transpose_thunk, num_callee_consts, num_res):
    n_fixed = num_callee_consts + num_res
    if not all(isinstance(t, Zero) for t in tangents[:n_fixed]):
        raise TypeError("linear_call is not differentiable in its residual arguments (nor "
                        "in values its function closes over): pass what varies as a linear "
                        "argument, or differentiate outside the call.")
    params = dict(callee=callee, transpose_thunk=transpose_thunk,
                  num_callee_consts=num_callee_consts, num_res=num_res)
    primal_out = linear_call_p.bind(*primals, **params)
    lin_tangents = tangents[n_fixed:]
    if all(isinstance(t, Zero) for t in lin_tangents):
        return primal_out, [Zero(to_aval(p)) for p in primal_out]
    # the call is linear in these operands: its tangent is the call on their tangents
    tangent_out = linear_call_p.bind(*primals[:n_fixed],
                                     *[instantiate(t) for t in lin_tangents], **params)
    return primal_out, tangent_out


def _transpose(cts, *args, callee, transpose_thunk, num_callee_consts, num_res):
    t_callee, t_consts = transpose_thunk()
    consts, res, lin = (args[:num_callee_consts], args[num_callee_consts:][:num_res],
                        args[num_callee_consts + num_res:])
    if any(is_undefined(x) for x in (*consts, *res)) or not all(is_undefined(x) for x in lin):
        raise TypeError("linear_call transposes only in its linear arguments: a residual "
                        "argument depends on the value being differentiated.")
    cts = [zeros_like_aval(c.aval) if isinstance(c, Zero) else c for c in cts]

    def back_thunk():  # the transpose of the transpose is the original call
        return callee, list(consts)

    lin_cts = linear_call_p.bind(*t_consts, *res, *cts, callee=t_callee,
                                 transpose_thunk=back_thunk, num_callee_consts=len(t_consts),
                                 num_res=num_res)
    return [None] * (num_callee_consts + num_res) + list(lin_cts)


def _batch(axis_size, vals, dims, *, callee, transpose_thunk, num_callee_consts, num_res):
    # Every linear operand and every output batched at axis 0: then the batched callee and the
    # batched transpose are transposes of one another (the transpose's outputs, the linear
    # operands' cotangents, come out batched just as the linear operands went in).
    n_fixed = num_callee_consts + num_res
    vals = list(vals)
    dims = list(dims)
    for i in range(n_fixed, len(vals)):
        vals[i] = bdim_at_front(vals[i], dims[i], axis_size)
        dims[i] = 0
    axis_name = current_axis_name()
    fixed_dims = dims[:n_fixed]
    b_callee, _ = batch_jaxpr(callee, axis_size, dims, instantiate=True, axis_name=axis_name)
    b_callee, b_consts = hoist_consts(b_callee)
    batched_t: list = []

    def b_transpose_thunk():
        if not batched_t:
            t_callee, t_consts = transpose_thunk()
            t_dims = [not_mapped] * len(t_consts) + fixed_dims[num_callee_consts:] + \
                [0] * len(callee.out_avals)
            b_t, _ = batch_jaxpr(t_callee, axis_size, t_dims, instantiate=True,
                                 axis_name=axis_name)
            b_t, b_t_consts = hoist_consts(b_t)
            batched_t.append((b_t, [*b_t_consts, *t_consts]))
        return batched_t[0]

    # the batched callee's own consts (hoisted) come first, then the original consts
    outs = linear_call_p.bind(*b_consts, *vals, callee=b_callee,
                              transpose_thunk=b_transpose_thunk,
                              num_callee_consts=len(b_consts) + num_callee_consts,
                              num_res=num_res)
    return outs, [0] * len(outs)


abstract_eval[linear_call_p] = _abstract_eval
to_jax[linear_call_p] = _to_jax
jvp_rules[linear_call_p] = _jvp
transpose_rules[linear_call_p] = _transpose
batch_rules[linear_call_p] = _batch
