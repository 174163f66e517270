"""Primitives and ``bind``.

A primitive is a named operation; what it *does* lives in the rule tables of the interpreters
(``abstract_eval`` here, ``to_jax`` in lowering, ``jvp_rules``, ``batch_rules``,
``transpose_rules``). ``bind`` hands the primitive to the current trace, or, when no transform is
active, to the eager evaluator.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from xform.core import trace as trace_mod
from xform.core.avals import sharding_state
from xform.core.caches import LRUCache, WeakCache, split_jaxprs
from xform.core.ir import ClosedJaxpr, Jaxpr


class Primitive:
    """A named operation. ``multiple_results`` primitives return a list."""

    multiple_results = False
    # The param (if any) that asks for the result's layout over Explicit mesh axes
    # (``out_sharding``, ``sharding``): the results' sharding types are then JAX's even when
    # no operand carries one (see ``sharding_rule``)
    layout_param: str | None = None
    # How the printer shows params: ``pp_params(params) -> [(name, value), ...]``. The default
    # is every param, sorted by name; a primitive sets its own where JAX prints it differently.
    pp_params: Callable[[dict], list] | None = None

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        trace = trace_mod._state.trace
        if trace is None:
            return _eager_impl(self, args, params)
        if vma_state.checking:
            args = _cast_to_varying(self, args, params)
        return trace.process_primitive(self, args, params)


# -- varying manual axes (JAX's "vma"), inside shard_map bodies with check_vma=True -----------
# While such a body is traced (or a shard_map rule retraces it), every aval carries the manual
# mesh axes its value may vary over. An operation on operands that vary over different axes
# first casts the less varying ones with ``pvary`` (its transpose is a ``psum``), so reverse
# mode sums the cotangent of a replicated value over the devices that read it, as JAX does.
class _VmaState(threading.local):
    def __init__(self):
        self.stack: list[bool] = []  # one entry per body traced: its check_vma
        self.checking = False


vma_state = _VmaState()


class vma_checking:
    """Context manager: trace with (``on``) or without varying-axes types."""

    def __init__(self, on: bool):
        self.on = bool(on)

    def __enter__(self):
        vma_state.stack.append(self.on)
        vma_state.checking = self.on

    def __exit__(self, *exc):
        vma_state.stack.pop()
        vma_state.checking = vma_state.stack[-1] if vma_state.stack else False


# vma_rules[p](in_vmas, **params) -> the output's vma (a list for multiple results); the
# default is the union of the operands'. ``vma_operands[p](in_vmas, **params)`` -> the vma each
# operand must have before ``p`` runs (default: the union, for every operand); ``None`` there
# means the primitive takes its operands as they are (calls with a jaxpr typed for them).
vma_rules: dict[Primitive, Callable[..., Any]] = {}
vma_operands: dict[Primitive, Callable[..., Any]] = {}


class _Pvary:
    bind: Callable[..., Any] | None = None  # set where pvary_p is defined (ad_util)


pvary = _Pvary()


def _has_jaxpr(params: dict) -> bool:
    """Whether a primitive's params hold a (closed) jaxpr: a call, a loop, a cond."""
    for v in params.values():
        if isinstance(v, (ClosedJaxpr, Jaxpr)):
            return True
        if isinstance(v, (tuple, list)) and any(isinstance(e, (ClosedJaxpr, Jaxpr)) for e in v):
            return True
    return False


def _cast_to_varying(prim: Primitive, args: tuple, params: dict) -> tuple:
    rule = vma_operands.get(prim)
    if rule is None and (len(args) < 2 or _has_jaxpr(params)):
        return args
    vmas = [getattr(trace_mod.to_aval(a), "vma", frozenset()) for a in args]
    if rule is not None:
        want = rule(vmas, **params)
        if want is None:
            return args
    else:
        u = frozenset().union(*vmas)
        want = [u] * len(args)
    if all(w <= v for v, w in zip(vmas, want)):
        return args
    return tuple(a if w <= v else pvary.bind(a, tuple(sorted(w - v, key=str)))
                 for a, v, w in zip(args, vmas, want))


def _out_vma(prim: Primitive, avals, params: dict, out):
    rule = vma_rules.get(prim)
    if rule is None:
        if _has_jaxpr(params):
            return out  # a call: its rule types the results from the called jaxpr
        u = frozenset().union(*(a.vma for a in avals))
        new = [u] * (len(out) if prim.multiple_results else 1)
    else:
        new = rule([a.vma for a in avals], **params)
        if not prim.multiple_results:
            new = [new]
    if prim.multiple_results:
        return [a if a.vma == v else a.update(vma=v) for a, v in zip(out, new)]
    return out if out.vma == new[0] else out.update(vma=new[0])


# shape/dtype rules: abstract_eval[p](*avals, **params) -> aval, or a list of avals when
# p.multiple_results. They raise the user-facing shape and dtype errors.
abstract_eval: dict[Primitive, Callable[..., Any]] = {}


def _no_eager(prim, args, params):
    raise RuntimeError("xform.interpreters.eval was not imported")


_eager_impl: Callable = _no_eager


def set_eager_impl(fn: Callable) -> None:
    global _eager_impl
    _eager_impl = fn


# The sharding types of a primitive's results, when an operand carries one or the primitive is
# bound with an ``out_sharding``: ``rule(prim, avals, params, out) -> out`` with the shardings
# set. Set where it is defined (xform/interpreters/sharding_types.py), which asks JAX.
class _ShardingRule:
    rule: Callable | None = None


sharding_rule = _ShardingRule()


def _wants_sharding(prim: Primitive, avals: tuple, params: dict) -> bool:
    for a in avals:
        if a.sharding is not None:
            return True
    return prim.layout_param is not None and params.get(prim.layout_param) is not None


_avals_by_params = LRUCache("abstract eval by params")
_avals_by_jaxpr = WeakCache("abstract eval by jaxpr")


def eval_abstract(prim: Primitive, avals, params: dict):
    """The output aval(s) of ``prim`` on ``avals``; cached per (primitive, avals, params), weakly
    on the jaxprs params hold. Inside a body with varying-axes types, the results' ``vma``."""
    avals = tuple(avals)
    out = _eval_abstract(prim, avals, params)
    if vma_state.checking or any(a.vma for a in avals):
        out = _out_vma(prim, avals, params, out)
    if (sharding_state.seen and sharding_rule.rule is not None
            and _wants_sharding(prim, avals, params)):
        out = sharding_rule.rule(prim, avals, params, out)
    return out


def _eval_abstract(prim: Primitive, avals: tuple, params: dict):
    try:
        out = _avals_by_params.get((prim, avals, tuple(params.items())))
    except TypeError:  # unhashable params: no caching
        out, jaxprs, key = None, (), None
    else:
        if out is not None:
            return out
        jaxprs, rest = split_jaxprs(params.items())
        key = (prim, avals, rest)
        if jaxprs:
            out = _avals_by_jaxpr.get(jaxprs, key)
            if out is not None:
                return out
    rule = abstract_eval.get(prim)
    if rule is None:
        raise NotImplementedError(f"primitive {prim.name} has no abstract evaluation rule")
    out = rule(*avals, **params)
    if key is not None:
        if jaxprs:
            _avals_by_jaxpr.put(jaxprs, key, out)
        else:
            _avals_by_params.put(key, out)
    return out
