"""Eager dispatch for xform.numpy functions.

A numpy-API function is several primitives (promotion, broadcasting, the operation). Called
eagerly, it runs as one cached compiled call, as jax.numpy's functions do: ``eager_jit`` routes a
call made outside any transform through ``xform.jit``'s compiled dispatch (xform/lax/compiled.py,
static arguments by name), and a call made under a transform straight to the function, so it is
traced inline like any other code.

Under a transform both ``eager_jit`` and the lighter ``jit_typed`` (for functions that need no
compiled eager dispatch) make the function's derivatives typed as a jit's are in JAX: the JVP
trace types the tangents of what it computes like their primals (``array_function_calls`` in
xform/interpreters/jvp.py), and outputs returned unchanged from the arguments become a jit's
outputs (``_as_jit_output``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
from jax.tree_util import tree_map

from xform import config
from xform.core.avals import float0
from xform.core.trace import Tracer, _state, set_current_trace, to_aval
from xform.interpreters.batching import BatchTracer
from xform.interpreters.eval import check_nans
from xform.interpreters.jvp import JVPTracer, Zero, typed_like_primal
from xform.interpreters.jvp import array_function_calls as calls
from xform.interpreters.partial_eval import under_linearize
from xform.lax.compiled import Jitted
from xform.lax.elementwise import _convert_weak


def _bottom(x: Any) -> tuple[Any, bool]:
    """The value under the JVP and vmap tracers ``x`` is made of, and whether a vmap is among
    them."""
    batched = False
    while isinstance(x, (JVPTracer, BatchTracer)) and x._trace.alive:
        batched |= isinstance(x, BatchTracer)
        x = x.primal if isinstance(x, JVPTracer) else x.val
    return x, batched


def promote_one(x: Any) -> Any:
    """``x`` as jax.numpy's dtype promotion of a single argument leaves it: unchanged, except
    that JAX binds the (no-op) conversion on a concrete tracer, an eagerly differentiated
    value, whose rule types the tangent like the primal. Staged, batched or linearized
    (grad), it binds nothing, so a strong tangent of a weakly typed value stays strong there."""
    if not isinstance(x, JVPTracer) or calls.depth:
        return x
    bottom, batched = _bottom(x)
    if batched or isinstance(bottom, Tracer) or isinstance(x.tangent, Zero) \
            or under_linearize([x.tangent]):
        return x  # (JAX's linearize tracers are not concrete either)
    aval = to_aval(x)
    return _convert_weak(x, aval.dtype, aval.weak_type)


def _retyped(x: Any, eager: bool, retype: bool) -> Any:
    """``x`` with, if ``retype``, each JVP tangent typed like its primal and, run ``eager``,
    every value a jax Array (a Python scalar stays weakly typed): the outputs of a jit."""
    if isinstance(x, JVPTracer) and x._trace.alive:
        primal, tangent = _retyped(x.primal, eager, retype), x.tangent
        if not isinstance(tangent, Zero):
            tangent = _retyped(tangent, eager, retype)
            if retype:
                with set_current_trace(x._trace.parent):
                    tangent = typed_like_primal(primal, tangent)
        if primal is x.primal and tangent is x.tangent:
            return x
        return JVPTracer(x._trace, primal, tangent)
    if isinstance(x, BatchTracer) and x._trace.alive:
        val = _retyped(x.val, eager, retype)
        return x if val is x.val else BatchTracer(x._trace, val, x.bdim)
    if eager and not isinstance(x, (Tracer, jax.Array)) and to_aval(x).dtype != float0:
        return jax.device_put(x)  # a float0 tangent stays numpy, as in JAX
    return x


def _as_jit_output(x: Any, inline: bool, jit: bool, arguments: set, copy: bool) -> Any:
    """``x`` as the output of a jit it is returned from, under JVP and vmap. A numpy function
    that returns its argument (``asarray``, ``squeeze`` of a scalar ...) hands back the
    argument's tracer unchanged, where JAX's JVP of a jit gives that output the types its jaxpr
    declares (the tangent typed like its primal, see ``array_function_calls`` in jvp.py), and
    JAX run eagerly computes a jit's outputs as jax Arrays, never a Python scalar or a numpy
    array. Under a staging trace, a jit with ``inline=True`` is inlined into the outer jaxpr,
    which forwards the argument as it is, and another jit retypes it. ``jit=False``: no jit in
    JAX, but a conversion of a concrete argument (``asarray`` of a JVP tracer); ``copy``: and
    the result a new array even where the value is batched (``array``)."""
    if not isinstance(x, (JVPTracer, BatchTracer)):
        return x
    bottom, batched = _bottom(x)
    staged = isinstance(bottom, Tracer)
    if staged and inline:
        return x
    if batched and not jit:
        return _retyped(x, eager=not staged, retype=False) if copy else x
    # an argument's tangents are retyped here; the tangents the function computed have their
    # types already (JVPTrace.wrap)
    return _retyped(x, eager=not staged, retype=id(x) in arguments)


def _run_as_jit(fun: Callable, args: tuple, kwargs: dict, inline: bool = True,
                jit: bool = True, copy: bool = False) -> Any:
    """``fun(*args, **kwargs)`` under a transform, typed as the JVP of a jit is in JAX (of
    one with ``inline=True`` or not: see ``_as_jit_output``)."""
    calls.depth += 1  # the JVP trace types tangents like primals meanwhile (jvp.py)
    try:
        out = fun(*args, **kwargs)
    finally:
        calls.depth -= 1
    arguments = {id(a) for a in jax.tree_util.tree_leaves((args, kwargs))
                 if isinstance(a, (JVPTracer, BatchTracer))}
    if isinstance(out, (tuple, list, dict)):
        return tree_map(lambda o: _as_jit_output(o, inline, jit, arguments, copy), out)
    return _as_jit_output(out, inline, jit, arguments, copy)


def jit_typed(fun: Callable | None = None, *, inline: bool = False, jit: bool = True,
              copy: bool = False) -> Any:
    """Mark ``fun``, a numpy function whose JAX counterpart is a jit (``inline`` as that jit's:
    ``jax.jit(..., inline=True)``), so that under a transform its derivatives are typed as that
    jit's (see the module docstring). ``jit=False`` marks a function that is no jit in JAX but
    converts a concrete traced argument with a primitive (``asarray``): its eager JVP gives
    arrays typed so too, while under vmap it returns its argument as it is (``copy``: as a new
    jax Array, for a function that copies, ``array``). Eager calls go
    straight to ``fun``: it binds its primitives one by one (for functions that are a single
    primitive or return their argument, where a compiled dispatch would buy nothing)."""
    if fun is None:
        return functools.partial(jit_typed, inline=inline, jit=jit, copy=copy)

    @functools.wraps(fun)
    def run(*args: Any, **kwargs: Any) -> Any:
        if _state.trace is None:
            return fun(*args, **kwargs)
        return _run_as_jit(fun, args, kwargs, inline, jit, copy)

    run.__jit_typed__ = fun  # type: ignore[attr-defined]
    return run


def eager_jit(static_argnames: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    def decorate(fun: Callable) -> Callable:
        compiled: list = []  # [xform.jit(fun), its jax.jit callable], made on first use

        @functools.wraps(fun)
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if _state.trace is not None:
                return _run_as_jit(fun, args, kwargs)
            if not compiled:
                jitted = Jitted(fun, static_argnames=tuple(static_argnames))
                compiled[:] = [jitted, jitted._jax]
            try:
                out = compiled[1](*args, **kwargs)  # JAX's C++ dispatch, no Python in between
            except ValueError as e:
                if "hashable" not in str(e):  # e.g. axis=[0, 1]: run op by op instead
                    raise
                return fun(*args, **kwargs)
            except TypeError:
                return compiled[0](*args, **kwargs)  # the slow path explains bad arguments
            if config.debug_nans_enabled:
                check_nans(f"xform.numpy.{fun.__name__}", out)
            return out

        dispatch.__wrapped_eager__ = fun  # type: ignore[attr-defined]
        return dispatch

    return decorate
