"""vmap: the batching interpreter.

A batched value is a ``BatchTracer`` holding the per-batch array ``val`` and the axis ``bdim`` of
``val`` that is the batch. Values that are not batched are never wrapped: a rule sees them as
they are, with ``not_mapped`` as their dim. Rules move batch axes lazily: they keep a batch axis
where it is when the operation allows and move it only when they must.

``batch_rules[p](axis_size, vals, dims, **params) -> (out, out_dim)`` (lists for primitives with
multiple results). Rules are written with xform primitives, so they run under the enclosing
transform like any other code.
"""

from __future__ import annotations

from typing import Any, Callable

from xform.core.avals import ShapedArray
from xform.core.trace import Trace, Tracer, set_current_trace

not_mapped = None
batch_rules: dict[Any, Callable[..., Any]] = {}


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace: BatchTrace, val: Any, bdim: int):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self) -> ShapedArray:
        from xform.core.trace import to_aval
        a = to_aval(self.val)
        return ShapedArray(a.shape[:self.bdim] + a.shape[self.bdim + 1:], a.dtype, a.weak_type)


class BatchTrace(Trace):
    kind = "vmap"

    def __init__(self, parent: Trace | None, axis_size: int, axis_name: Any = None,
                 description: str = ""):
        super().__init__(parent, description)
        self.axis_size = axis_size
        self.axis_name = axis_name

    def unpack(self, x: Any) -> tuple[Any, int | None]:
        if self.is_own(x):
            return x.val, x.bdim
        return x, not_mapped

    def wrap(self, val: Any, dim: int | None) -> Any:
        return val if dim is not_mapped else BatchTracer(self, val, dim)

    def process_primitive(self, prim, args, params):
        vals, dims = zip(*map(self.unpack, args)) if args else ((), ())
        with set_current_trace(self.parent):
            if all(d is not_mapped for d in dims):
                return prim.bind(*vals, **params)
            rule = batch_rules.get(prim)
            if rule is None:
                raise NotImplementedError(
                    f"vmap: primitive {prim.name} has no batching rule. This is a bug in xform "
                    "(every primitive should have one; see docs/primitives.md).")
            out, out_dim = rule(self.axis_size, list(vals), list(dims), **params)
        if prim.multiple_results:
            return [self.wrap(v, d) for v, d in zip(out, out_dim)]
        return self.wrap(out, out_dim)
