"""Eager evaluation: no transform active, concrete ``jax.Array`` in and out.

Each (primitive, params) gets one cached ``jax.jit`` of its ``to_jax`` rule, so an eager op goes
through JAX's C++ dispatch (a few microseconds) rather than its per-op apply path. Params without
jaxprs key a bounded LRU cache; params holding jaxprs (a ``jit`` or control-flow call) key a cache
that holds those jaxprs weakly, and the compiled function refers to them only weakly, so the
program compiled for a jaxpr is freed with it.

A primitive for which that is the wrong way to run eagerly registers an implementation of its
own in ``impl_rules[p](*args, **params)`` (JAX's ``def_impl``), consulted first: call
primitives whose params hold fresh rules or jaxprs on every call (custom rules, checkpoint) run
their body op by op instead of compiling one program per params.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from xform.core.avals import float0, get_aval
from xform.core.caches import LRUCache, WeakCache, join_jaxprs, split_jaxprs
from xform.core.primitive import Primitive, eval_abstract, set_eager_impl
from xform.core.trace import Tracer, check_no_tracers
from xform.interpreters.lowering import passes_leaked_tracers, to_jax
from xform import config

_compiled = LRUCache("eval: compiled primitives by params")
_compiled_calls = WeakCache("eval: compiled calls by jaxpr")
# impl_rules[p](*args, **params) -> the result (a list when p.multiple_results)
impl_rules: dict[Primitive, Callable[..., Any]] = {}


def _rule(prim: Primitive):
    rule = to_jax.get(prim)
    if rule is None:
        raise NotImplementedError(f"primitive {prim.name} has no to_jax rule")
    return rule


def _compile(prim: Primitive, params: dict):
    rule = _rule(prim)
    fn = jax.jit(partial(rule, **params)) if params else jax.jit(rule)
    fn.__name__ = prim.name  # type: ignore[attr-defined]
    return fn


def _compile_call(prim: Primitive, rest: tuple, jaxprs: tuple):
    # The jaxprs key the cache weakly, so the compiled function must not hold them: it finds
    # them through weak references (alive whenever it is called, since the caller holds them)
    rule = _rule(prim)
    refs = [weakref.ref(j) for j in jaxprs]

    def call(*args):
        return rule(*args, **join_jaxprs(rest, [r() for r in refs]))

    call.__name__ = call.__qualname__ = prim.name
    return jax.jit(call)


def _lookup(prim: Primitive, params: dict):
    """The compiled function for ``prim`` and ``params``, off the fast path of one lookup."""
    jaxprs, rest = split_jaxprs(params.items())
    try:
        if not jaxprs:
            key = (prim, *params.items()) if params else prim
            fn = _compiled.get(key)
            return fn if fn is not None else _compiled.put(key, _compile(prim, params))
        fn = _compiled_calls.get(jaxprs, (prim, rest))
        if fn is None:
            fn = _compiled_calls.put(jaxprs, (prim, rest), _compile_call(prim, rest, jaxprs))
        return fn
    except TypeError:
        raise TypeError(unhashable_params_message(prim, params)) from None


def unhashable_params_message(prim: Primitive, params: dict) -> str:
    bad = []
    for k, v in params.items():
        try:
            hash(v)
        except TypeError:
            bad.append(f"{k}={type(v).__name__}")
    return (f"primitive {prim.name} was bound with unhashable params ({', '.join(bad)}): params "
            "key the compile cache, so they must be hashable. Pass tuples instead of lists and "
            "frozen structures instead of dicts where the primitive is bound.")


def eval_primitive(prim: Primitive, args, params):
    impl = impl_rules.get(prim)
    if impl is not None:
        return impl(*args, **params)
    try:
        fn = _compiled.get((prim, *params.items()) if params else prim)
    except TypeError:
        fn = None  # unhashable params: _lookup raises the error that says so
    if fn is None:
        fn = _lookup(prim, params)
    try:
        out = fn(*args)
    except Exception:
        # Off the fast path: explain with xform's own shape/dtype rule where it has an opinion
        if prim in passes_leaked_tracers and any(isinstance(a, Tracer) for a in args):
            return _eval_with_leaked_tracers(prim, args, params)
        check_no_tracers(args)
        eval_abstract(prim, [get_aval(a) for a in args], params)
        raise
    if config.debug_nans_enabled:
        check_nans(prim.name, out)
    return list(out) if prim.multiple_results else out


def _eval_with_leaked_tracers(prim: Primitive, args, params):
    """A call given tracers that outlived their transform (the traces lift them as constants,
    as JAX's do: a custom rule traced late closes over its function's old values). They cannot
    be arguments of a compiled program; compiled in place instead, they raise only where the
    body computes with them (xform/interpreters/lowering.py), and not where only its dead
    code reads them, which JAX's jit drops. Uncached: this is never the common path."""
    leaked = {i: a for i, a in enumerate(args) if isinstance(a, Tracer)}
    rule = _rule(prim)

    def call(*vals):
        it = iter(vals)
        return rule(*[leaked[i] if i in leaked else next(it) for i in range(len(args))],
                    **params)

    call.__name__ = prim.name
    out = jax.jit(call)(*[a for a in args if not isinstance(a, Tracer)])
    return list(out) if prim.multiple_results else out


def arrays_out(outs: list) -> list:
    """Eager results of a body run op by op (an impl rule): an output the body wrote as a
    literal comes back as a Python scalar, which becomes a (weakly typed) array, and one it
    wrote as a constant (an instantiated zero tangent) as a numpy array, which becomes a jax
    Array, as every eager result is. float0 zeros stay numpy, as JAX's."""
    return [jnp.asarray(o) if isinstance(o, (bool, int, float, complex))
            else jax.device_put(o) if isinstance(o, (np.ndarray, np.generic))
            and o.dtype != float0 else o for o in outs]


def check_nans(where: str, out) -> None:
    """Raise FloatingPointError if any inexact leaf of ``out`` holds a NaN."""
    for leaf in jax.tree_util.tree_leaves(out):
        if jnp.issubdtype(leaf.dtype, jnp.inexact) and bool(jnp.isnan(leaf).any()):
            raise FloatingPointError(
                f"invalid value (nan) encountered in {where} (xform.debug_nans is on). "
                "Turn it off with xform.config.update('xform_debug_nans', False).")


set_eager_impl(eval_primitive)
