"""Primitives and ``bind``.

A primitive is a named operation; what it *does* lives in the rule tables of the interpreters
(``abstract_eval`` here, ``to_jax`` in lowering, ``jvp_rules``, ``batch_rules``,
``transpose_rules``). ``bind`` hands the primitive to the current trace, or, when no transform is
active, to the eager evaluator.
"""

from __future__ import annotations

from typing import Any, Callable

from xform.core import trace as trace_mod
from xform.core.caches import LRUCache, WeakCache, split_jaxprs


class Primitive:
    """A named operation. ``multiple_results`` primitives return a list."""

    multiple_results = False
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
        return trace.process_primitive(self, args, params)


# shape/dtype rules: abstract_eval[p](*avals, **params) -> aval, or a list of avals when
# p.multiple_results. They raise the user-facing shape and dtype errors.
abstract_eval: dict[Primitive, Callable[..., Any]] = {}


def _no_eager(prim, args, params):
    raise RuntimeError("xform.interpreters.eval was not imported")


_eager_impl: Callable = _no_eager


def set_eager_impl(fn: Callable) -> None:
    global _eager_impl
    _eager_impl = fn


_avals_by_params = LRUCache("abstract eval by params")
_avals_by_jaxpr = WeakCache("abstract eval by jaxpr")


def eval_abstract(prim: Primitive, avals, params: dict):
    """The output aval(s) of ``prim`` on ``avals``; cached per (primitive, avals, params), weakly
    on the jaxprs params hold."""
    avals = tuple(avals)
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
