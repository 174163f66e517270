"""The jit call primitive: ``jit[name=f jaxpr={...}]``.

Bound when a jit-ted function is called under another transform (or while staging), so that the
transform sees one primitive holding the whole traced program. Its params are the const-free
closed jaxpr and the function's name; closed-over values arrive as leading operands.
"""

from __future__ import annotations

from xform.core.primitive import Primitive, abstract_eval
from xform.interpreters.lowering import eval_closed_jaxpr_jax, to_jax

jit_p = Primitive("jit", multiple_results=True)
jit_p.pp_params = lambda params: [("name", params["name"]), ("jaxpr", params["jaxpr"])]
jit_p.pp_fresh_names = True  # type: ignore[attr-defined]


def _jit_abstract_eval(*avals, jaxpr, name):
    return list(jaxpr.out_avals)


def _jit_to_jax(*args, jaxpr, name):
    # Inlined into the enclosing program under jax.jit; when run eagerly, the eval interpreter
    # wraps this in one cached jax.jit per jaxpr, so the whole body is one compiled call.
    return eval_closed_jaxpr_jax(jaxpr, args)


abstract_eval[jit_p] = _jit_abstract_eval
to_jax[jit_p] = _jit_to_jax
