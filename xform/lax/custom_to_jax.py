"""The ``to_jax`` rules of ``custom_jvp_call`` and ``custom_vjp_call``: the custom rule comes
across as JAX's own (``jax.custom_jvp`` / ``jax.custom_vjp``), so that a JAX transform applied to
the lowered program (``jax.grad`` of ``xform.to_jax(f)``) differentiates with the rule, as xform
does. Under ``xform.jit`` no JAX transform runs and the program lowers to the body, as before.

The rules are xform functions; JAX calls them on its tracers, so each is staged to an xform
jaxpr at those types and evaluated with the ``to_jax`` rules.
"""

from __future__ import annotations

import jax
import numpy as np

from xform.core.avals import ShapedArray
from xform.interpreters.lowering import eval_closed_jaxpr_jax
from xform.interpreters.staging import trace_to_jaxpr


def _aval(x) -> ShapedArray:
    a = jax.typeof(x)
    return ShapedArray(tuple(a.shape), np.dtype(a.dtype), bool(getattr(a, "weak_type", False)))


def _is_zero(c) -> bool:
    return c is None or type(c).__name__ == "Zero"


def custom_jvp_to_jax(*ins, call_jaxpr, jvp, num_consts, **_):
    consts, args = ins[:num_consts], ins[num_consts:]
    n_out = len(call_jaxpr.out_avals)

    @jax.custom_jvp
    def f(*xs):
        return eval_closed_jaxpr_jax(call_jaxpr, [*consts, *xs])

    @f.defjvp
    def f_jvp(primals, tangents):
        vals = [*primals, *tangents]
        closed, _ = trace_to_jaxpr(lambda *a: (list(jvp(*a)), None), [_aval(v) for v in vals],
                                   kind="custom_jvp")
        outs = eval_closed_jaxpr_jax(closed, vals)
        return outs[:n_out], outs[n_out:]

    return f(*args)


def custom_vjp_to_jax(*ins, call_jaxpr, fwd, bwd, num_consts, **_):
    consts, args = ins[:num_consts], ins[num_consts:]

    @jax.custom_vjp
    def f(*xs):
        return eval_closed_jaxpr_jax(call_jaxpr, [*consts, *xs])

    def f_fwd(*xs):
        n_res: list = []

        def run(*a):
            res, outs = fwd(*a)
            n_res[:] = [len(res)]
            return [*res, *outs], None

        closed, _ = trace_to_jaxpr(run, [_aval(x) for x in xs], kind="custom_vjp")
        outs = eval_closed_jaxpr_jax(closed, xs)
        return outs[n_res[0]:], (outs[:n_res[0]], xs)

    def f_bwd(saved, cts):
        res, xs = saved
        zeros: list = []

        def run(*a):
            out = bwd(list(a[:len(res)]), list(a[len(res):]))
            zeros[:] = [_is_zero(c) for c in out]
            return [c for c, z in zip(out, zeros) if not z], None

        vals = [*res, *cts]
        closed, _ = trace_to_jaxpr(run, [_aval(v) for v in vals], kind="custom_vjp")
        outs = iter(eval_closed_jaxpr_jax(closed, vals))
        return tuple(jax.numpy.zeros_like(x) if z else next(outs) for x, z in zip(xs, zeros))

    f.defvjp(f_fwd, f_bwd)
    return f(*args)
