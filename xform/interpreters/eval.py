"""Eager evaluation: no transform active, concrete ``jax.Array`` in and out.

Each (primitive, params) gets one cached ``jax.jit`` of its ``to_jax`` rule, so an eager op goes
through JAX's C++ dispatch (a few microseconds) rather than its per-op apply path.

A primitive for which that is the wrong way to run eagerly registers an implementation of its
own in ``impl_rules[p](*args, **params)`` (JAX's ``def_impl``), consulted first: call
primitives whose params hold fresh rules or jaxprs on every call (custom rules, checkpoint) run
their body op by op instead of compiling one program per params.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp

from xform.core.avals import get_aval
from xform.core.primitive import Primitive, eval_abstract, set_eager_impl
from xform.core.trace import check_no_tracers
from xform.interpreters.lowering import to_jax
from xform import config

_cache: dict = {}
# impl_rules[p](*args, **params) -> the result (a list when p.multiple_results)
impl_rules: dict[Primitive, Callable[..., Any]] = {}


def _compile(prim: Primitive, params: dict):
    rule = to_jax.get(prim)
    if rule is None:
        raise NotImplementedError(f"primitive {prim.name} has no to_jax rule")
    fn = jax.jit(partial(rule, **params)) if params else jax.jit(rule)
    fn.__name__ = prim.name  # type: ignore[attr-defined]
    return fn


def eval_primitive(prim: Primitive, args, params):
    impl = impl_rules.get(prim)
    if impl is not None:
        return impl(*args, **params)
    key = (prim, *params.items()) if params else prim
    try:
        fn = _cache.get(key)
    except TypeError:  # unhashable params: compile without caching
        fn, key = None, None
    if fn is None:
        fn = _compile(prim, params)
        if key is not None:
            _cache[key] = fn
    try:
        out = fn(*args)
    except Exception:
        # Off the fast path: explain with xform's own shape/dtype rule where it has an opinion
        check_no_tracers(args)
        eval_abstract(prim, [get_aval(a) for a in args], params)
        raise
    if config.debug_nans_enabled:
        check_nans(prim.name, out)
    return list(out) if prim.multiple_results else out


def check_nans(where: str, out) -> None:
    """Raise FloatingPointError if any inexact leaf of ``out`` holds a NaN."""
    for leaf in jax.tree_util.tree_leaves(out):
        if jnp.issubdtype(leaf.dtype, jnp.inexact) and bool(jnp.isnan(leaf).any()):
            raise FloatingPointError(
                f"invalid value (nan) encountered in {where} (xform.debug_nans is on). "
                "Turn it off with xform.config.update('xform_debug_nans', False).")


set_eager_impl(eval_primitive)
