"""Transposition: the backward pass over a linear jaxpr.

The inputs a jaxpr is linear in are marked ``UndefinedPrimal``; the others are known values.
Equations with no linear input are evaluated forward first; then the linear equations are
walked in reverse, each primitive's transpose rule turning the cotangents of its outputs into
cotangents of its linear inputs, which are summed where a variable is read more than once.

``transpose_rules[p](ct, *args, **params) -> [ct_in or None per arg]`` where ``ct`` is the output
cotangent (a list for primitives with multiple results, entries possibly ``Zero``) and ``args``
holds ``UndefinedPrimal`` for the linear operands and values for the rest. Rules bind xform
primitives, so the backward pass itself runs under any enclosing transform.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from xform.core import name_stack, region_mesh
from xform.core.avals import ShapedArray, float0
from xform.core.ir import Jaxpr, Literal, Var
from xform.interpreters.ad_util import add_any_p, pvary_to, tangent_type_p
from xform.interpreters.jvp import Zero, add_tangents
from xform.interpreters.lowering import literal_value

transpose_rules: dict[Any, Callable[..., Any]] = {}


class UndefinedPrimal:
    """A linear input of a transposed primitive: only its type is known."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x: Any) -> bool:
    return isinstance(x, UndefinedPrimal)


def backward_pass(jaxpr: Jaxpr, consts: Sequence[Any], args: Sequence[Any],
                  cts_out: Sequence[Any]) -> list:
    """Cotangents of ``jaxpr``'s invars (``Zero`` for known ones and unreached ones)."""
    env: dict = {}
    linear: set = set()

    def read(a):  # a literal with its aval's dtype and weak type (its .val may be numpy's)
        return literal_value(a) if isinstance(a, Literal) else env[a]

    for v, c in zip(jaxpr.constvars, consts):
        env[v] = c
    for v, a in zip(jaxpr.invars, args):
        if is_undefined(a):
            linear.add(v)
        else:
            env[v] = a
    linear_eqns = []
    for eqn in jaxpr.eqns:
        if any(isinstance(a, Var) and a in linear for a in eqn.invars):
            linear.update(eqn.outvars)
            linear_eqns.append(eqn)
            continue
        with region_mesh.reentered(eqn.mesh):
            outs = eqn.primitive.bind(*map(read, eqn.invars), **eqn.params)
        for v, x in zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]):
            env[v] = x

    cts: dict = {}

    def accumulate(v, ct):
        if isinstance(v, Var) and v in linear and ct is not None and not isinstance(ct, Zero):
            cts[v] = add_tangents(cts[v], ct) if v in cts else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        accumulate(v, ct)
    for eqn in reversed(linear_eqns):
        ct_outs = [cts.pop(v, None) for v in eqn.outvars]
        if all(c is None for c in ct_outs):
            continue
        ct_outs = [Zero(v.aval) if c is None else _typed_ct(c, v.aval)
                   for v, c in zip(eqn.outvars, ct_outs)]
        rule = transpose_rules.get(eqn.primitive)
        if rule is None:
            raise NotImplementedError(
                f"Transpose rule (for reverse-mode differentiation) for '{eqn.primitive.name}' "
                "not implemented. This is a bug in xform if the primitive is linear in the "
                "differentiated input; see docs/primitives.md.")
        invals = [UndefinedPrimal(a.aval) if isinstance(a, Var) and a in linear else read(a)
                  for a in eqn.invars]
        # the backward ops keep the scope, and the region's mesh
        with name_stack.reentered(eqn.source_info), region_mesh.reentered(eqn.mesh):
            ct_in = rule(ct_outs if eqn.primitive.multiple_results else ct_outs[0], *invals,
                         **eqn.params)
        for a, ct in zip(eqn.invars, ct_in):
            accumulate(a, ct)
    return [cts.get(v, Zero(v.aval)) if v in linear else Zero(v.aval) for v in jaxpr.invars]


def _typed_ct(ct: Any, aval: ShapedArray) -> Any:
    # inside a shard_map body with varying-axes types, a cotangent varies over the axes of its
    # primal: a seed or a zero made without them (an invariant constant) is cast with pvary
    if aval.vma and not isinstance(ct, Zero) and aval.dtype != float0:
        return pvary_to(ct, aval.vma)
    return ct


# -- helpers for writing rules --------------------------------------------------------------
def deflinear(prim, transpose_fn: Callable[..., Any]) -> None:
    """A primitive linear in its single operand: ``transpose_fn(ct, **params)`` gives the
    operand's cotangent. Zero cotangents stay Zero."""

    def rule(ct, x, **params):
        if isinstance(ct, Zero):
            return [Zero(x.aval)]
        return [transpose_fn(ct, x_aval=x.aval, **params)]

    transpose_rules[prim] = rule


def _add_any_transpose(ct, x, y):
    # linear in both operands: each linear one gets the whole cotangent
    return [ct if is_undefined(a) else None for a in (x, y)]


transpose_rules[add_any_p] = _add_any_transpose
# a declared type only (ad_util.py): the backward pass keeps the cotangent's own type, as JAX's
# re-binding of the equations does
transpose_rules[tangent_type_p] = lambda ct, x, **_: [ct]
