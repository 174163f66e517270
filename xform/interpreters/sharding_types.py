"""Sharding types: how the results of an equation on values laid out over Explicit mesh axes are
laid out (JAX's "sharding in types").

Under a mesh with Explicit axes (``xform.make_mesh`` gives them by default, as in JAX), the type
of an array says how it is split over the mesh: ``float32[8@x,4]``. xform's avals carry that in
``ShapedArray.sharding`` (None for a replicated value and for every program without Explicit
axes, which never reaches this module). When an operand of an equation carries one, or the
primitive is bound with an ``out_sharding``, the results' sharding types are JAX's by
construction: the primitive's ``to_jax`` lowering is abstract-evaluated by JAX
(``jax.eval_shape``) on ``ShapeDtypeStruct`` operands carrying the operands' shardings, under
the abstract mesh, and the results' shardings are read off. So there is no sharding rule per
primitive to keep in step with JAX, and the errors JAX raises for an ambiguous layout (a
contraction over a split dimension without ``out_sharding``) are JAX's, raised when the program
is traced. The answers are cached per (primitive, operand avals, params, abstract mesh).

Primitives that carry a jaxpr (calls, control flow, ``shard_map``) type their results from that
jaxpr in their own abstract evaluation rules, so they are left as their rules made them.
"""

from __future__ import annotations

from typing import Any

import jax

from xform.core.avals import ShapedArray, explicit_sharding
from xform.core.caches import LRUCache
from xform.core.primitive import Primitive, _has_jaxpr, sharding_rule
from xform.core.trace import set_current_trace
from xform.interpreters.lowering import to_jax

__all__ = ["out_shardings", "spec_of"]

_by_equation = LRUCache("sharding types by (primitive, avals, params, mesh)", 1024)


def _mesh_of(avals) -> Any:
    """The abstract mesh the equation runs on: the context's, else its operands'; inside a
    shard_map manual over some axes, the operands' (whose mesh has those axes Manual)."""
    mesh = jax.sharding.get_abstract_mesh()
    for a in avals:
        if a.sharding is not None and (mesh.empty or a.sharding.mesh.manual_axes):
            return a.sharding.mesh
    return mesh


def _ask_jax(prim: Primitive, avals: tuple, params: dict, mesh: Any) -> list:
    rule = to_jax.get(prim)
    if rule is None:
        return None
    args = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type, sharding=a.sharding)
            for a in avals]

    def run(*xs):
        return rule(*xs, **params)

    # JAX's own jit is switched off on this thread while an xform trace is current; the
    # evaluation is JAX's, outside xform's traces
    with set_current_trace(None), jax.sharding.use_abstract_mesh(mesh):
        try:
            res = jax.eval_shape(run, *args)
        except Exception as e:  # noqa: BLE001 -- JAX's sharding errors pass; others: no type
            if type(e).__name__ == "ShardingTypeError":
                raise
            return None
    res = res if prim.multiple_results else [res]
    return [explicit_sharding(getattr(r, "sharding", None)) for r in res]


def out_shardings(prim: Primitive, avals: tuple, params: dict, out: Any) -> Any:
    """``out`` (the aval, or list of avals, xform's rule gave) with the sharding types JAX gives
    the results of ``prim`` on operands of types ``avals``."""
    if _has_jaxpr(params):
        return out
    mesh = _mesh_of(avals)
    key = None
    try:
        key = (prim, avals, tuple(params.items()), mesh)
        shardings = _by_equation.get(key)
    except TypeError:  # unhashable params: not cached
        shardings = None
    if shardings is None:
        shardings = _ask_jax(prim, avals, params, mesh)
        if shardings is None:
            shardings = [None] * (len(out) if prim.multiple_results else 1)
        shardings = tuple(shardings)
        if key is not None:
            _by_equation.put(key, shardings)
    outs = out if prim.multiple_results else [out]
    new = [a if not isinstance(a, ShapedArray) or a.sharding == s
           or (s is not None and len(s.spec) > a.ndim) else a.update(sharding=s)
           for a, s in zip(outs, shardings)]
    return new if prim.multiple_results else new[0]


sharding_rule.rule = out_shardings


def spec_of(aval: ShapedArray) -> Any:
    """The PartitionSpec of a value of type ``aval`` (``P()`` when it is replicated)."""
    return aval.sharding.spec if aval.sharding is not None else jax.sharding.PartitionSpec()

