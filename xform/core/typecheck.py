"""The jaxpr type checker.

Checks that every variable is bound exactly once before it is read, and that each equation's
output types equal what its primitive's abstract evaluation gives for its input types. Sub-jaxprs
found in params are checked too.
"""

from __future__ import annotations

import jax.errors as _jax_errors

from xform.core.ir import ClosedJaxpr, Jaxpr, Literal, Var
from xform.core.primitive import eval_abstract
from xform.core.printer import pp_eqn


class JaxprTypeError(_jax_errors.JaxprTypeError):
    """A jaxpr that is not well formed (a TypeError; JAX's class of the same name)."""


def check_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Raise JaxprTypeError if ``jaxpr`` is not well formed."""
    if isinstance(jaxpr, ClosedJaxpr):
        if len(jaxpr.consts) != len(jaxpr.jaxpr.constvars):
            raise JaxprTypeError(f"{len(jaxpr.consts)} consts for "
                                 f"{len(jaxpr.jaxpr.constvars)} constvars")
        jaxpr = jaxpr.jaxpr
    defined: set[int] = set()

    def bind(v: Var, where: str):
        if not isinstance(v, Var):
            raise JaxprTypeError(f"{where}: {v!r} is not a Var")
        if id(v) in defined:
            raise JaxprTypeError(f"{where}: variable {v!r} is bound more than once")
        defined.add(id(v))

    def read(a, where: str):
        if isinstance(a, Literal):
            return
        if id(a) not in defined:
            raise JaxprTypeError(f"{where}: variable {a!r} is read before it is bound")

    for v in jaxpr.constvars:
        bind(v, "constvars")
    for v in jaxpr.invars:
        bind(v, "invars")
    for i, eqn in enumerate(jaxpr.eqns):
        where = f"equation {i} ({eqn.primitive.name})"
        for a in eqn.invars:
            read(a, where)
        for p in eqn.params.values():
            for sub in (p if isinstance(p, tuple) else (p,)):
                if isinstance(sub, (Jaxpr, ClosedJaxpr)):
                    check_jaxpr(sub)
        try:
            out = eval_abstract(eqn.primitive, [a.aval for a in eqn.invars], eqn.params)
        except (TypeError, ValueError) as e:
            raise JaxprTypeError(f"{where}: abstract evaluation failed: {e}") from e
        out = out if eqn.primitive.multiple_results else [out]
        if len(out) != len(eqn.outvars):
            raise JaxprTypeError(f"{where}: {len(eqn.outvars)} outputs bound, the primitive "
                                 f"gives {len(out)}")
        for v, aval in zip(eqn.outvars, out):
            if (v.aval.shape, v.aval.dtype) != (aval.shape, aval.dtype):
                raise JaxprTypeError(
                    f"{where}: output typed {v.aval.str_short()} but the primitive gives "
                    f"{aval.str_short()} in `{pp_eqn(eqn)}`")
        for v in eqn.outvars:
            bind(v, where)
    for a in jaxpr.outvars:
        read(a, "outvars")
