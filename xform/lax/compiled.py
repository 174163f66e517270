"""Compiled dispatch: the object behind ``xform.jit`` and behind eager library calls.

``Jitted(f)`` hands ``jax.jit`` a function that traces ``f`` to an xform jaxpr and lowers it with
the ``to_jax`` rules. JAX's C++ dispatch therefore owns the cached path (flatten, look up the
compiled program by avals and static args, call it), and xform traces once per cache miss.
Under another xform transform JAX's jit is off on the tracing thread (xform/core/trace.py), so
calling a jit-ted function reaches its Python function, which binds ``jit_p`` with the traced
jaxpr instead: that transform sees the whole program as one primitive.

It lives at the lax level, under the libraries, because ``xform.numpy``'s eager dispatch and
``xform.random``'s samplers compile through it; ``xform.jit`` (xform/transforms/jit.py) is the
user-facing front end.

As in JAX, what ``jit`` traced and compiled belongs to the function, not to the object ``jit``
returns: :func:`compiled` keeps one ``Jitted`` per (function, options), weakly keyed on the
function, and each call of ``jit`` returns a new ``jax.jit`` object over that ``Jitted``'s one
lowerable function, so JAX's compilation cache (keyed on that function) is shared. ``jit(f)(x)``
written inline therefore compiles once, and a global ``f`` reads is captured at its first trace.
The ``Jitted`` refers to the function only weakly (its entry dies with the function); each
returned object holds the function.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from typing import Any, Callable, Sequence

import jax
from jax.tree_util import tree_unflatten

from xform import config
from xform.core.caches import LRUCache, StrongRef, WeakCache
from xform.core.ir import ClosedJaxpr
from xform.core.trace import _JAX_DISABLE_JIT, Tracer, _state, check_no_tracers, fast_jit_dispatch
from xform.interpreters.batching import trace_context
from xform.interpreters.eval import check_nans
from xform.interpreters.lowering import eval_closed_jaxpr_jax
from xform.interpreters.staging import hoist_consts
from xform.interpreters.tracing import (
    abstractify, check_leaves, convert_foreign_leaves, dynamic_names, fun_description,
    fun_name, leaf_paths, stage,
)
from xform.lax.call import jit_p
from xform.lax.sharding import with_sharding_constraint


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    return (x,) if isinstance(x, (int, str)) else tuple(x)


def _infer_static(fun, static_argnums, static_argnames):
    """Like JAX: static positions and names imply each other through the signature."""
    nums, names = _as_tuple(static_argnums), _as_tuple(static_argnames)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, names
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nums = tuple(n if n >= 0 else len(positional) + n for n in nums)
    names = names + tuple(positional[n] for n in nums if n < len(positional)
                          and positional[n] not in names)
    nums = nums + tuple(positional.index(n) for n in names
                        if n in positional and positional.index(n) not in nums)
    return nums, names


class Traced:
    """What ``jitted.trace(*args)`` returns: the jaxpr, output info, and ``lower()``."""

    def __init__(self, jitted: Jitted, jaxpr: ClosedJaxpr, out_tree, args, kwargs):
        self.jaxpr = jaxpr
        self._out_tree = out_tree
        self._jitted, self._args, self._kwargs = jitted, args, kwargs
        # ``lower`` traces again: the function must outlive ``jit(f).trace(x)`` written inline,
        # where the jit object (which may hold it weakly) is dropped at once
        self._fun = jitted._fun

    @property
    def out_info(self):
        return tree_unflatten(self._out_tree, [
            jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type, sharding=a.sharding)
            for a in self.jaxpr.out_avals])

    def lower(self, *, lowering_platforms: tuple[str, ...] | None = None):
        """JAX's ``Lowered``. ``lowering_platforms`` (as in JAX, e.g. ``('cuda',)``) lowers for
        platforms other than this machine's: the rules that choose per platform
        (``lax.platform_dependent``) then take those platforms' branches."""
        if lowering_platforms is None:
            return self._jitted.lower(*self._args, **self._kwargs)
        j = self._jitted._jax
        return type(j).trace(j, *self._args, **self._kwargs).lower(
            lowering_platforms=tuple(lowering_platforms))


class Jitted:
    """What a jit-ted function is made of: the user's function, the ``jax.jit`` object that
    compiles and calls it, the cached jaxprs for binding under transforms, and ``.lower``,
    ``.trace``, ``.eval_shape`` and ``.clear_cache``.

    ``jit`` returns the ``jax.jit`` object itself (see :meth:`function`), so the cached path is
    JAX's C++ dispatch with no Python in between. Under an xform transform JAX's jit is off
    (xform/core/trace.py), so the same call reaches the Python function given to ``jax.jit``,
    which binds xform's jit primitive instead. Where this JAX lacks what that relies on, ``jit``
    returns this object, whose ``__call__`` dispatches in Python.
    """

    def __init__(self, fun: Callable, static_argnums=None, static_argnames=None,
                 donate_argnums=None, donate_argnames=None, keep_unused=False,
                 in_shardings=None, out_shardings=None, *, weak: bool = False):
        if not callable(fun):
            raise TypeError(f"jit expected a callable as its first argument, got "
                            f"{type(fun).__name__} {fun!r:.60}.")
        # weak: this object is cached for ``fun`` (see compiled), so it must not keep it alive
        self._fun_ref = StrongRef(fun)
        if weak:
            try:
                self._fun_ref = weakref.ref(fun)
            except TypeError:  # not weakly referenceable: the bounded cache holds it
                pass
        self._static_argnums, self._static_argnames = _infer_static(
            fun, static_argnums, static_argnames)
        # shardings go to jax.jit; under another transform they become sharding constraints
        # on the body's inputs and outputs (xform/lax/sharding.py), so they key its jaxprs
        self._in_shardings, self._out_shardings = in_shardings, out_shardings
        self._shardings_key = _sharding_key(in_shardings, out_shardings)
        shardings = {k: v for k, v in (("in_shardings", in_shardings),
                                       ("out_shardings", out_shardings)) if v is not None}
        self._jit_options = dict(static_argnums=self._static_argnums or None,
                                 static_argnames=self._static_argnames or None,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames,
                                 keep_unused=keep_unused, **shardings)
        self._jaxpr_cache = LRUCache("jit: jaxprs of one function, by signature", 256)
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            try:
                setattr(self, attr, getattr(fun, attr))
            except AttributeError:
                pass
        if not weak:
            # updated=(): the __dict__ of a jax.jit object (a function jit-ted twice) holds
            # its own ``_fun``, which must not replace this one's
            functools.update_wrapper(self, fun, updated=())

        def lowerable(*args, **kwargs):
            if jit_disabled():  # xform.disable_jit: the Python function, op by op
                return self._fun(*args, **kwargs)
            if _state.trace is not None:  # called under an xform transform, JAX's jit off
                return self._bind(args, kwargs)
            return self._lowerable(*args, **kwargs)

        _wrap_like(lowerable, fun)  # JAX's messages then name the user's arguments
        self._lowerable_fun = lowerable
        self._jax = jax.jit(lowerable, **self._jit_options)

    @property
    def _fun(self) -> Callable:
        fun = self._fun_ref()
        if fun is None:  # only reachable through an object that holds the function
            raise ReferenceError("the function of this jit-ted function was garbage collected")
        return fun

    def function(self, fun: Callable | None = None):
        """A ``jax.jit`` object carrying this object's ``.lower``, ``.trace``, ``.eval_shape``
        and ``.clear_cache`` (they shadow JAX's: ``.trace`` gives xform's jaxpr).

        Without ``fun``: this object's own one. With it (the function this object was made
        for): a new one over the same lowerable function, so it shares JAX's compilation cache,
        that holds ``fun`` (this object refers to it weakly)."""
        if fun is None:
            f = self._jax
            f.lower, f.trace, f.eval_shape = self.lower, self.trace, self.eval_shape
        else:
            f = jax.jit(self._lowerable_fun, **self._jit_options)
            f._xform_fun = fun
            # each method holds ``fun`` as the object does: ``jit(f).lower(x)`` written inline
            # drops the object before the call, and ``fun`` may have no other holder
            f.lower, f.trace, f.eval_shape = (_holding(m, fun) for m in (
                self.lower, self.trace, self.eval_shape))
        f.clear_cache = self.clear_cache
        f._xform_jit = self
        return f

    # -- the cached path -------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if _state.trace is None:
            try:
                out = self._jax(*args, **kwargs)
            except TypeError as e:
                self._explain_type_error(args, kwargs, e)
                raise
            if config.debug_nans_enabled:
                check_nans(f"the jit-ted function {fun_name(self._fun)}", out)
            return out
        if jit_disabled():
            return self._fun(*args, **kwargs)
        return self._bind(args, kwargs)

    # -- what jax.jit traces, once per cache miss -------------------------------------------
    def _lowerable(self, *args, **kwargs):
        dyn_args, dyn_kwargs, statics = self._split(args, kwargs)
        # xform traces ``f`` while jax.jit traces this function; JAX operations that xform runs
        # on concrete values meanwhile (an array made from numpy data, say) must give concrete
        # arrays, not tracers of JAX's trace: xform keeps them as constants of its jaxpr (and
        # a nested jit caches them), where a JAX tracer would leak out of its trace
        with jax.ensure_compile_time_eval():
            closed, out_tree, leaves = self._stage(dyn_args, dyn_kwargs, statics)
        # A tracer among the program's constants outlived its transform: JAX's outermost jit
        # gets it as an argument and raises, whether or not the program uses it
        check_no_tracers(closed.consts)
        outs = eval_closed_jaxpr_jax(closed, leaves)
        return tree_unflatten(out_tree, outs)

    def _split(self, args, kwargs):
        dyn_args = tuple(a for i, a in enumerate(args) if i not in self._static_argnums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        statics = (tuple((i, a) for i, a in enumerate(args) if i in self._static_argnums),
                   tuple(sorted((k, v) for k, v in kwargs.items()
                                if k in self._static_argnames)))
        return dyn_args, dyn_kwargs, statics

    def _stage(self, dyn_args, dyn_kwargs, statics, constrain=False):
        if jax.config.jax_no_tracing:  # ``xform.no_tracing``: every trace here is a cache miss
            raise RuntimeError(f"re-tracing function {fun_description(self._fun)} for `jit`, "
                               "but 'no_tracing' is set")
        static_pos, static_kw = statics
        constrain = constrain and self._shardings_key is not None

        def with_statics(*dargs, **dkwargs):
            if constrain:
                dargs = _constrained(dargs, self._in_shardings)
            full, it = [], iter(dargs)
            pos = dict(static_pos)
            for i in range(len(dargs) + len(pos)):
                full.append(pos[i] if i in pos else next(it))
            out = self._fun(*full, **dkwargs, **dict(static_kw))
            return _constrained(out, self._out_shardings) if constrain else out

        functools.update_wrapper(with_statics, self._fun, updated=())
        names = dynamic_names(self._fun, len(dyn_args) + len(static_pos), dict(static_pos))
        return stage(with_statics, dyn_args, dyn_kwargs, kind="jit", names=names)

    # -- under another transform ------------------------------------------------------------
    def _bind(self, args, kwargs):
        dyn_args, dyn_kwargs, statics = self._split(args, kwargs)
        dyn_args, dyn_kwargs = convert_foreign_leaves((dyn_args, dyn_kwargs))
        _check_hashable(statics, self._fun)
        leaves, in_tree = jax.tree_util.tree_flatten((dyn_args, dyn_kwargs))
        try:
            key = (in_tree, tuple(abstractify(x) for x in leaves), statics, trace_context(),
                   self._shardings_key)
            hash(key)
        except TypeError:
            key = None
        cached = self._jaxpr_cache.get(key) if key is not None else None
        if cached is None:
            closed, out_tree, _ = self._stage(dyn_args, dyn_kwargs, statics, constrain=True)
            jaxpr, consts = hoist_consts(closed)
            cached = (jaxpr, consts, out_tree)
            if key is not None and not any(isinstance(c, Tracer) for c in consts):
                self._jaxpr_cache.put(key, cached)
        jaxpr, consts, out_tree = cached
        outs = jit_p.bind(*consts, *leaves, jaxpr=jaxpr, name=fun_name(self._fun))
        return tree_unflatten(out_tree, outs)

    # -- errors -----------------------------------------------------------------------------
    def _explain_type_error(self, args, kwargs, err: TypeError) -> None:
        dyn_args, dyn_kwargs, _ = self._split(args, kwargs)
        leaves, _ = jax.tree_util.tree_flatten((dyn_args, dyn_kwargs))
        check_no_tracers(leaves)  # a tracer that outlived its transform: JAX's error type
        names = dynamic_names(self._fun, len(args), self._static_argnums)
        paths = leaf_paths(self._fun, dyn_args, dyn_kwargs, names)
        check_leaves(leaves, paths, f"jit of {fun_name(self._fun)}",
                     "Pass arrays, or mark the argument static with static_argnums / "
                     "static_argnames if it is a configuration value.")

    # -- ahead-of-time API ------------------------------------------------------------------
    def lower(self, *args, **kwargs):
        """JAX's ``Lowered``: ``.as_text()`` gives StableHLO, ``.compile()`` the executable."""
        return type(self._jax).lower(self._jax, *args, **kwargs)  # JAX's, not the shadow

    def trace(self, *args, **kwargs) -> Traced:
        dyn_args, dyn_kwargs, statics = self._split(args, kwargs)
        _check_hashable(statics, self._fun)
        closed, out_tree, _ = self._stage(dyn_args, dyn_kwargs, statics)
        return Traced(self, closed, out_tree, args, kwargs)

    def eval_shape(self, *args, **kwargs):
        return self.trace(*args, **kwargs).out_info

    def clear_cache(self) -> None:
        type(self._jax).clear_cache(self._jax)  # JAX's, not the shadow
        self._jaxpr_cache.clear()

    def __get__(self, obj, objtype=None):  # jit-ted methods bind like functions
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        return f"<xform.jit of {fun_name(self._fun)}>"


class _SourceOf:
    """What ``inspect.unwrap`` finds behind a lowerable function: the user's function's name and
    code (which JAX's messages cite), not the function itself, which it must not keep alive."""

    def __init__(self, fun):
        self.__name__ = fun_name(fun)
        code = getattr(inspect.unwrap(fun), "__code__", None)
        if code is not None:
            self.__code__ = code


def _holding(method: Callable, fun: Callable) -> Callable:
    """``method``, made to keep ``fun`` alive as long as it is."""
    @functools.wraps(method)
    def call(*args, **kwargs):
        return method(*args, **kwargs)
    call._xform_fun = fun  # type: ignore[attr-defined]
    return call


def jit_disabled() -> bool:
    """Whether ``xform.disable_jit`` (JAX's ``jax_disable_jit`` setting, as the user left it) is
    on. Under an xform trace JAX's jit is switched off on the thread (xform/core/trace.py), so the
    user's setting is the one saved when the first trace began."""
    outside = _state.jax_jit_outside
    if _state.trace is not None and outside:
        saved = outside[-1]  # JAX's thread-local value, or its "unset" marker (then the global)
        if isinstance(saved, bool):
            return saved
        return bool(_JAX_DISABLE_JIT.get_global())
    return bool(jax.config.jax_disable_jit)


def _sharding_key(in_shardings, out_shardings):
    """A hashable summary of the shardings (None when there are none)."""
    if in_shardings is None and out_shardings is None:
        return None
    flat = [jax.tree_util.tree_flatten(s, is_leaf=lambda v: v is None)
            for s in (in_shardings, out_shardings)]
    key = tuple((tuple(leaves), tree) for leaves, tree in flat)
    try:
        hash(key)
    except TypeError:
        return ("unhashable", id(in_shardings), id(out_shardings))
    return key


def _constrained(tree, shardings):
    """``tree`` with each leaf under a sharding constraint (a pytree prefix; None: none)."""
    if shardings is None:
        return tree
    return with_sharding_constraint(tree, shardings)


def _wrap_like(wrapper, fun) -> None:
    """Give ``wrapper`` the name (it names the HLO module), docstring and signature of ``fun``
    (JAX's messages then name the user's arguments), without a reference to ``fun``."""
    wrapper.__name__ = wrapper.__qualname__ = fun_name(fun)
    wrapper.__doc__ = getattr(fun, "__doc__", None)
    wrapper.__wrapped__ = _SourceOf(fun)
    try:
        wrapper.__signature__ = inspect.signature(fun)
    except (TypeError, ValueError):
        del wrapper.__wrapped__


def _check_hashable(statics, fun) -> None:
    for i, v in statics[0] + statics[1]:
        try:
            hash(v)
        except TypeError:
            where = f"positional argument {i}" if isinstance(i, int) else f"argument `{i}`"
            raise ValueError(
                f"Non-hashable static arguments are not supported: {where} of "
                f"{fun_name(fun)} is a {type(v).__name__}, which is unhashable. Static arguments "
                "key the compilation cache; pass a tuple instead of a list, or make the argument "
                "non-static.") from None


_jitted = WeakCache("jit: traced and compiled functions")  # weakly on the function


def compiled(fun: Callable, *, static_argnums: int | Sequence[int] | None = None,
             static_argnames: str | Sequence[str] | None = None,
             donate_argnums: int | Sequence[int] | None = None,
             donate_argnames: str | Sequence[str] | None = None,
             keep_unused: bool = False, in_shardings: Any = None,
             out_shardings: Any = None) -> Any:
    """``fun`` compiled as ``xform.jit`` compiles it: a ``jax.jit`` object over the one
    :class:`Jitted` kept for ``fun`` and these options, shardings included (or, where this JAX
    lacks thread-local jit switches, a :class:`Jitted` of its own)."""
    options = dict(static_argnums=static_argnums, static_argnames=static_argnames,
                   donate_argnums=donate_argnums, donate_argnames=donate_argnames,
                   keep_unused=keep_unused, in_shardings=in_shardings,
                   out_shardings=out_shardings)
    if not fast_jit_dispatch:
        return Jitted(fun, **options)
    key = (_as_tuple(static_argnums), _as_tuple(static_argnames), _as_tuple(donate_argnums),
           _as_tuple(donate_argnames), bool(keep_unused),
           _sharding_key(in_shardings, out_shardings))
    try:
        jitted = _jitted.get((fun,), key)
    except TypeError:  # unhashable options: JAX's own error comes from jax.jit
        return Jitted(fun, **options).function()
    if jitted is None:
        jitted = _jitted.put((fun,), key, Jitted(fun, **options, weak=True))
    return jitted.function(fun)
