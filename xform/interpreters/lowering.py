"""Lowering: evaluate a jaxpr with each primitive's ``to_jax`` rule.

``to_jax[p](*vals, **params)`` is a ``jax.lax`` call. The same function serves eager execution
(wrapped, once per primitive and params, in a cached ``jax.jit``) and compilation (called on
JAX's tracers inside the function handed to ``jax.jit``), so eager and compiled results agree.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from xform.core.avals import dtype_of_scalar
from xform.core.ir import ClosedJaxpr, Jaxpr, Literal
from xform.core.jax_internals import convert_element_type

to_jax: dict[Any, Callable[..., Any]] = {}


def literal_value(lit: Literal):
    val = lit.val.item() if isinstance(lit.val, (np.ndarray, np.generic)) else lit.val
    if not lit.aval.weak_type:
        return np.asarray(val, dtype=lit.aval.dtype)
    if dtype_of_scalar(val) == lit.aval.dtype:
        return val  # a Python scalar is weakly typed in its default dtype already
    # a weak scalar of another dtype (e.g. float16): JAX's weak conversion keeps it weak
    return convert_element_type(np.asarray(val, lit.aval.dtype), lit.aval.dtype, weak_type=True)


def eval_jaxpr_jax(jaxpr: Jaxpr, consts, args) -> list:
    """Run ``jaxpr`` on JAX values (concrete arrays, or JAX tracers inside ``jax.jit``)."""
    env: dict = {}

    def read(a):
        return literal_value(a) if isinstance(a, Literal) else env[a]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        rule = to_jax.get(eqn.primitive)
        if rule is None:
            raise NotImplementedError(f"primitive {eqn.primitive.name} has no to_jax rule")
        outs = rule(*map(read, eqn.invars), **eqn.params)
        if not eqn.primitive.multiple_results:
            outs = (outs,)
        for v, x in zip(eqn.outvars, outs):
            env[v] = x
    return [read(v) for v in jaxpr.outvars]


def eval_closed_jaxpr_jax(closed: ClosedJaxpr, args) -> list:
    return eval_jaxpr_jax(closed.jaxpr, closed.consts, args)
