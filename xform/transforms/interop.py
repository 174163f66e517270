"""Both ways across the bridge to JAX: ``from_jax`` and ``to_jax``.

``from_jax(fun)`` traces a JAX function with ``jax.make_jaxpr`` at the argument avals and replays
JAX's jaxpr equation by equation, binding xform's primitives (same names, mostly the same params),
so every xform transform sees ordinary xform primitives. Sub-jaxprs (``jit``, ``cond``, ``while``,
``scan``, ``checkpoint``, ``custom_jvp_call``, ``custom_vjp_call``) are replayed recursively, and
custom derivative rules keep their rules.

``to_jax(fun)`` stages an xform function to an xform jaxpr and evaluates it with the ``to_jax``
rules on JAX's values or tracers, so ``jax.jit``, ``jax.grad`` and ``jax.vmap`` handle it; custom
rules at the top level of the jaxpr come across as ``jax.custom_jvp``/``jax.custom_vjp``.
"""

from __future__ import annotations

import collections
import functools
from typing import Callable

import jax
import jax.extend.core as jex
import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from xform.core.avals import ShapedArray
from xform.core.caches import WeakCache
from xform.core.errors import UnmappedPrimitiveError
from xform.core.ir import ClosedJaxpr
from xform.core.jax_internals import no_constant_folding
from xform.core.trace import Tracer, current_trace
from xform.interpreters import lowering
from xform.interpreters.batching import trace_context
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr
from xform.interpreters.tracing import fun_name
from xform.lax import parallel as par
from xform.random import KeyArray
from xform.transforms.interop_keys import _is_typed_key, _is_xform_key, _key_impl, _raw_key
from xform.transforms.interop_replay import (
    _TRANSLATIONS_PER_PROGRAM, _aval, _jax_aval_key, _replay_closed,
)

__all__ = ["from_jax", "to_jax", "UnmappedPrimitiveError"]

_CACHE_SIZE = 64  # traced programs kept per wrapped function (bounded, per wrapper)

# -- from_jax -----------------------------------------------------------------------------------
class _Program:
    """A JAX function traced at one input signature: JAX's jaxpr, the output structure, which
    outputs are typed keys, and (made when first needed) the jaxpr compiled by JAX for eager
    calls and the jaxpr's xform translations, one per :func:`trace_context`."""

    __slots__ = ("closed", "out_tree", "out_keys", "eager", "translations")

    def __init__(self, closed, out_tree, out_keys):
        self.closed, self.out_tree, self.out_keys = closed, out_tree, out_keys
        self.eager = None
        self.translations: collections.OrderedDict = collections.OrderedDict()

    def translated(self, leaves, description: str) -> ClosedJaxpr:
        """JAX's jaxpr replayed once onto xform's primitives, as an xform jaxpr (a program per
        named-axis context and promotion mode; at most a few kept)."""
        context = _jax_trace_context()
        program = self.translations.get(context)
        if program is None:
            program, _ = trace_to_jaxpr(lambda *xs: (_replay_closed(self.closed, xs), None),
                                        [_aval(x) for x in leaves], kind="jit",
                                        description=description)
            if any(isinstance(c, Tracer) for c in program.consts):
                return program  # closed over an enclosing transform's value: not kept
            self.translations[context] = program
            if len(self.translations) > _TRANSLATIONS_PER_PROGRAM:
                self.translations.popitem(last=False)
        return program



# JAX's traces of the functions given to from_jax, keyed weakly on the function (a bound
# method on its function and instance, so that ``from_jax(model.apply)`` written inline
# reuses them) and on the input signature. As with jax.jit, a global the function reads is
# captured at its first trace. Bounded: a program may hold functions that refer to the owner
# (a custom_vjp's backward rule, say), which would otherwise keep it alive.
_programs = WeakCache("from_jax: JAX programs and their xform translations", maxsize=256)


def _owners(fun: Callable) -> tuple:
    func, obj = getattr(fun, "__func__", None), getattr(fun, "__self__", None)
    if func is not None and obj is not None:
        return (func, obj)
    return (fun,)


def _jax_trace_context() -> tuple:
    # what, besides the function and its input types, changes JAX's trace of it: the named
    # axes in scope (of enclosing xform vmaps and shard_map bodies, with their sizes) among them
    return (trace_context(), tuple(par.bound_axis_sizes().items()),
            jax.config.jax_default_matmul_precision)


def _trace_program(fun, in_tree, signature, impls, axis_env) -> _Program:
    sds = [jax.ShapeDtypeStruct(s, d, weak_type=w) for s, d, w in signature]
    out_keys: list = []  # which outputs are typed keys

    def flat(*xs):
        xs = [jax.random.wrap_key_data(x, impl=i) if i is not None else x
              for x, i in zip(xs, impls)]
        a, k = tree_unflatten(in_tree, xs)
        out_leaves, tree = tree_flatten(fun(*a, **k))
        out_keys[:] = [_is_typed_key(o) for o in out_leaves]
        return tree_unflatten(tree, [jax.random.key_data(o) if t else o
                                     for o, t in zip(out_leaves, out_keys)])

    # JAX traces ``fun`` without the compile-time evaluation xform.jit switches on, which
    # would evaluate a shard_map body's axis_index outside any mesh. The named axes of the
    # enclosing xform vmaps and shard_map bodies are bound in JAX's trace too (as
    # ``jax.make_jaxpr(..., axis_env=...)`` binds them), so ``fun``'s collectives over them
    # trace, and replay as xform's collectives over the same names.
    with no_constant_folding():
        closed, out_shape = jax.make_jaxpr(flat, return_shape=True, axis_env=axis_env)(*sds)
    return _Program(closed, jax.tree_util.tree_structure(out_shape), out_keys)


def from_jax(fun: Callable) -> Callable:
    """A JAX function as an xform function that every xform transform handles.

    ``fun`` may be anything ``jax.make_jaxpr`` can trace (optax, flax and equinox code included).
    It is traced by JAX once per input signature (shapes, dtypes, pytree structure), as
    ``jax.jit`` traces (so a global it reads is captured at that first trace), and its jaxpr is
    replayed onto xform's primitives once per signature too: under an xform transform the
    translated xform program is what runs; called with no xform transform active, JAX's jaxpr
    runs as one compiled JAX call instead. Both are cached weakly on ``fun``, so
    ``xform.from_jax(f)(x)`` written inline traces ``f`` once. Typed PRNG keys among the
    arguments (``jax.random.key``'s, or ``xform.random.key``'s ``KeyArray``) cross as their
    raw data and are typed keys again inside ``fun``; typed keys ``fun`` returns come back as
    ``xform.random.KeyArray`` (over the same data).

    >>> import jax.numpy as jnp, xform
    >>> f = xform.from_jax(lambda x: jnp.sum(jnp.sin(x)))
    >>> float(xform.grad(f)(0.0))
    1.0
    """
    owners = _owners(fun)
    description = f"from_jax({fun_name(fun)})"

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        # typed PRNG keys (JAX's, or xform.random's KeyArray) cross as their raw data, xform's
        # key representation, and are typed keys again inside ``fun``
        leaves, in_tree = tree_flatten((args, kwargs), is_leaf=_is_xform_key)
        impls = tuple(_key_impl(x) for x in leaves)
        leaves = [_raw_key(x) if i is not None else x for x, i in zip(leaves, impls)]
        signature = tuple(_jax_aval_key(x) for x in leaves)
        key = (in_tree, signature, impls, _jax_trace_context())
        try:
            program = _programs.get(owners, key)
        except TypeError:  # an unhashable pytree node: traced every time
            key, program = None, None
        if program is None:
            program = _trace_program(fun, in_tree, signature, impls,
                                     list(par.bound_axis_sizes().items()))
            if key is not None:
                _programs.put(owners, key, program)
        if current_trace() is None:
            # No xform transform is active: the arguments are concrete, so the program runs as
            # one compiled JAX call instead of op by op through xform's eager dispatch.
            if program.eager is None:
                program.eager = jax.jit(jex.jaxpr_as_fun(program.closed))
            outs = program.eager(*leaves)
        else:
            translated = program.translated(leaves, description)
            outs = eval_jaxpr(translated.jaxpr, translated.consts, *leaves)
        # keys come back typed, as xform.random's KeyArray (over the same data)
        return tree_unflatten(program.out_tree,
                              [KeyArray(o) if t else o for o, t in zip(outs, program.out_keys)])

    wrapper.__wrapped_jax__ = fun
    return wrapper


# -- to_jax -------------------------------------------------------------------------------------
def _eval_to_jax(closed, args) -> list:
    # custom_jvp_call/custom_vjp_call lower to jax.custom_jvp/custom_vjp (xform/lax/
    # custom_to_jax.py), at any depth: JAX's transforms see the rules
    return lowering.eval_closed_jaxpr_jax(closed, args)


def _x_aval(x) -> ShapedArray:
    a = jax.typeof(x)
    return ShapedArray(tuple(a.shape), np.dtype(a.dtype), bool(getattr(a, "weak_type", False)))


def to_jax(fun: Callable) -> Callable:
    """An xform function as a JAX function: ``jax.jit``, ``jax.grad``, ``jax.vmap`` handle it.

    ``fun`` is staged to an xform jaxpr at the arguments' shapes and dtypes (cached per avals and
    pytree structure), which is then evaluated with xform's ``to_jax`` rules on JAX's values or
    tracers. Control flow comes across as ``jax.lax``'s; ``custom_jvp``/``custom_vjp`` rules (at
    the top level of the function) as ``jax.custom_jvp``/``jax.custom_vjp``.

    >>> import jax, xform, xform.numpy as xnp
    >>> float(jax.grad(xform.to_jax(lambda x: xnp.sin(x)))(0.0))
    1.0
    """
    cache: collections.OrderedDict = collections.OrderedDict()

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        leaves, in_tree = tree_flatten((args, kwargs))
        avals = tuple(_x_aval(x) for x in leaves)
        key = (in_tree, avals)
        entry = cache.get(key)
        if entry is None:
            def flat(*xs):
                a, k = tree_unflatten(in_tree, list(xs))
                out_leaves, out_tree = tree_flatten(fun(*a, **k))
                return out_leaves, out_tree

            entry = trace_to_jaxpr(flat, list(avals), kind="to_jax")
            cache[key] = entry
            if len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        closed, out_tree = entry
        return tree_unflatten(out_tree, _eval_to_jax(closed, leaves))

    return wrapper
