"""``xform.ad_checkpoint``: JAX's ``jax.ad_checkpoint`` names (``checkpoint``, ``checkpoint_name``,
``checkpoint_policies``, ``remat``, ``saved_residuals``, ``print_saved_residuals``)."""

from __future__ import annotations

from typing import Any, Callable

from jax.ad_checkpoint import (  # a policy's answers, JAX's objects (xform's policies use them)
    Offloadable as Offloadable, Recompute as Recompute, Saveable as Saveable,
)
from jax.tree_util import tree_flatten, tree_leaves, tree_unflatten

from xform.core.ir import Literal
from xform.interpreters import staging
from xform.interpreters.tracing import abstractify, leaf_paths
from xform.transforms.autodiff import vjp
from xform.transforms.checkpoint import (
    checkpoint as checkpoint, checkpoint_name as checkpoint_name,
    checkpoint_policies as checkpoint_policies, name_p, remat as remat,
)


def saved_residuals(f: Callable, *args: Any, **kwargs: Any) -> list[tuple[Any, str]]:
    """What reverse mode of ``f`` at ``args`` keeps from the forward pass for the backward
    pass: one ``(aval, description)`` per residual of ``xform.vjp``, in JAX's order and words
    (literals, constants, arguments, then outputs of operations with their source line and
    the name ``checkpoint_name`` gave them). Every argument leaf is differentiated, as in JAX."""
    leaves, in_tree = tree_flatten((args, kwargs))
    names = leaf_paths(f, args, kwargs)

    def f_flat(*xs):
        a, k = tree_unflatten(in_tree, list(xs))
        return f(*a, **k)

    def residuals(*xs):
        _, vjp_fn = vjp(f_flat, *xs)
        return tree_leaves(vjp_fn), None

    staging.frame_log.log, saved = {}, staging.frame_log.log
    try:
        closed, _ = staging.trace_to_jaxpr(residuals, [abstractify(x) for x in leaves],
                                           description="saved_residuals", kind="jit")
        frames = staging.frame_log.log
    finally:
        staging.frame_log.log = saved
    jaxpr = closed.jaxpr
    res_vars = {v for v in jaxpr.outvars if not isinstance(v, Literal)}
    out = [(v.aval, "from a literal") for v in jaxpr.outvars if isinstance(v, Literal)]
    out += [(v.aval, "from a constant") for v in jaxpr.constvars if v in res_vars]
    out += [(v.aval, f"from the argument {names[i]}" if names[i]
             else f"from the argument at flattened index {i}")
            for i, v in enumerate(jaxpr.invars) if v in res_vars]
    for eqn in jaxpr.eqns:
        src = frames.get(eqn.outvars[0], "") if eqn.outvars else ""
        for v in eqn.outvars:
            if v not in res_vars:
                continue
            if eqn.primitive is name_p:
                out.append((v.aval, f"named '{eqn.params['name']}' from {src}"))
            elif eqn.primitive.name == "jit":
                out.append((v.aval, f"output of jitted function '{eqn.params.get('name')}' "
                                    f"from {src}"))
            else:
                out.append((v.aval, f"output of {eqn.primitive.name} from {src}"))
    return out


def print_saved_residuals(f: Callable, *args: Any, **kwargs: Any) -> None:
    """Print ``saved_residuals(f, *args, **kwargs)``, one residual a line, as JAX's:
    ``f32[5,4] output of sin from file.py:12 (f)``."""
    for aval, src in saved_residuals(f, *args, **kwargs):
        print(f"{aval.str_short()} {src}")
