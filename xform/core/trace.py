"""Traces and tracers, dispatched by context.

The *current trace* is a per-thread variable. ``Primitive.bind`` hands every primitive to it.
Each trace has a parent (``None`` means eager evaluation) and runs its rules with the parent as
the current trace, so the operations a rule emits are handled by the enclosing transform. A
trace owns the tracers it creates; a value that is a tracer of an *ancestor* trace is an
ordinary constant to it, and a tracer of any other trace (a finished one, or an inner one that
leaked out) is an error. That ownership check is what prevents perturbation confusion.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any

import numpy as np

from xform.core import jax_internals
from xform.core.avals import ShapedArray, get_aval
from xform.core.errors import (
    ConcretizationTypeError, TracerArrayConversionError, TracerBoolConversionError,
    TracerIntegerConversionError, UnexpectedTracerError, user_frame,
)
from xform.core.jax_internals import disable_jit_state


class _TraceState(threading.local):
    def __init__(self):
        self.trace: Trace | None = None
        # JAX's thread-local disable_jit setting as it was outside xform's traces (a stack:
        # eager code inside a trace restores it, and may enter a trace again)
        self.jax_jit_outside: list = []


_state = _TraceState()


def current_trace() -> Trace | None:
    return _state.trace


# While an xform trace is current on a thread, JAX's jit is switched off on that thread. The
# compiled function behind ``xform.jit`` is a plain ``jax.jit`` object called directly by the
# user (no Python wrapper on the cached path); with JAX's jit off, a call under an xform
# transform goes straight to its Python function, which binds xform's jit primitive instead
# (xform/lax/compiled.py). Eager code inside a trace (a rule running under a ``None`` parent)
# gets JAX's setting back, so the per-primitive cached jits stay compiled.
_JAX_DISABLE_JIT = disable_jit_state
fast_jit_dispatch = _JAX_DISABLE_JIT is not None


@contextmanager
def set_current_trace(trace: Trace | None):
    prev = _state.trace
    _state.trace = trace
    if _JAX_DISABLE_JIT is None or (prev is None) is (trace is None):
        try:
            yield
        finally:
            _state.trace = prev
        return
    if prev is None:  # entering xform's first trace on this thread
        saved = _JAX_DISABLE_JIT.swap_local(True)
        _state.jax_jit_outside.append(saved)
    else:  # back to eager evaluation inside a trace
        saved = _JAX_DISABLE_JIT.swap_local(_state.jax_jit_outside[-1])
    try:
        yield
    finally:
        _state.trace = prev
        _JAX_DISABLE_JIT.set_local(saved)
        if prev is None:
            _state.jax_jit_outside.pop()


class Trace:
    """Base class of the interpreters' traces.

    Subclasses implement ``process_primitive(prim, args, params)``, which sees the arguments as
    given (own tracers, ancestors' tracers, concrete values) and uses ``self.is_own`` to tell
    them apart.
    """

    kind = "trace"  # what the transform is called in messages: "jit", "vmap", "jvp", ...
    # whether a tracer of this trace, once it has finished, is a constant to other traces
    # (staging traces) rather than an error wherever it is met (see is_own)
    lifted_when_finished = False

    def __init__(self, parent: Trace | None, description: str = ""):
        self.parent = parent
        self.alive = True
        self.description = description  # e.g. "jit of f at model.py:12"
        self.level = 0 if parent is None else parent.level + 1

    def is_own(self, x: Any) -> bool:
        """True for this trace's tracers; False for constants, tracers of live traces (an
        ancestor's, or a trace a custom rule runs below) and of finished traces that lift them
        (staging, jvp); raises for a tracer of a finished vmap or linearize."""
        if not isinstance(x, Tracer):
            return False
        t = x._trace
        if t is self:
            return True
        if t.alive:
            # an ancestor's tracer, or one of a live trace that is not an ancestor (a custom
            # rule run below the trace whose value its function closes over): a constant here,
            # as for JAX's jvp and batching traces; evaluating it outside every trace raises
            return False
        if t.lifted_when_finished:
            # a tracer that outlived a staging trace (jit, checkpoint) or a jvp is a constant
            # here, as in JAX (which never invalidates its jaxpr and jvp traces): each trace
            # lifts it, and only evaluating it raises (check_no_tracers, lowering). Code that
            # never uses it (a dead equation, a custom rule traced later) still works. A
            # finished vmap or linearize raises at once, as JAX's invalidated traces do
            return False
        tag = getattr(t, "tag", None)
        if tag is not None:  # a trace standing in for ``t`` (same tag) is an ancestor
            anc = self.parent
            while anc is not None:
                if getattr(anc, "tag", None) is tag:
                    return False
                anc = anc.parent
        raise escaped_tracer_error(x)

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def finish(self) -> None:
        self.alive = False

    def __repr__(self):
        return f"{type(self).__name__}({self.description})"


def escaped_tracer_error(x: Tracer) -> UnexpectedTracerError:
    t = x._trace
    state = "has finished" if not t.alive else "is not active here"
    return UnexpectedTracerError(
        f"Encountered an unexpected tracer: a traced value of type {x.aval.str_short()} created by "
        f"{t.kind} ({t.description}) was used, but that transform {state}. "
        "This happens when a transformed function leaks a traced value out through a side effect "
        "(a global, a list appended to, an attribute of self) and it is used later. "
        "Fix: return the value from the transformed function instead of storing it."
        + (f" The leaked value was used at {user_frame()}." if user_frame() else ""))


class _LeakedTracerAval:
    """What JAX's abstraction step gets for a leaked xform tracer: an aval that raises the leak
    error as soon as JAX uses it. Raising in the abstraction step itself would not reach the
    user: ``jax.jit`` turns every TypeError raised there (UnexpectedTracerError is one) into its
    own TypeError about an argument it cannot interpret. JAX's jit hashes the avals next (its
    trace cache's key), outside that conversion, so the user sees JAX's error type, naming where
    the tracer was created, as for JAX's own leaked tracers."""

    __slots__ = ("_tracer",)

    def __init__(self, tracer: Tracer):
        object.__setattr__(self, "_tracer", tracer)

    def _leak(self, *args, **kwargs):
        raise escaped_tracer_error(object.__getattribute__(self, "_tracer"))

    __hash__ = __eq__ = __ne__ = __getattribute__ = __setattr__ = __len__ = __iter__ = _leak

    def __repr__(self):
        tracer = object.__getattribute__(self, "_tracer")
        return f"<leaked xform tracer of type {tracer.aval.str_short()}>"


def _jax_aval_of_tracer(x: Tracer):
    """What JAX gets when it meets an xform tracer (a jit-ted call's argument, an eager op's
    operand): outside every xform transform that can only be a leaked tracer, and JAX would
    otherwise say only that the type is not valid."""
    if not x._trace.alive or _state.trace is None:
        return _LeakedTracerAval(x)
    raise TypeError(
        f"A traced value of xform ({x.aval.str_short()}, traced by {x._trace.kind}) was passed "
        "to a JAX function. Inside xform's transforms use xform's functions (xform.numpy, "
        "xform.lax, xform.jit) on traced values.")


def _register_with_jax() -> None:
    if jax_internals.pytype_aval_mappings is not None:
        jax_internals.pytype_aval_mappings[Tracer] = _jax_aval_of_tracer


def check_no_tracers(args) -> None:
    """Eager evaluation must never see a tracer: raise the leak error if it does."""
    for a in args:
        if isinstance(a, Tracer):
            raise escaped_tracer_error(a)


class Tracer:
    """A stand-in for an array inside a transform. Operators and methods are those of jax.Array;
    ``xform.numpy`` installs them (core does not import the library built on top of it)."""

    __slots__ = ("_trace", "__weakref__")
    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy defers binary operators to us instead of iterating

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def ndim(self):
        return self.aval.ndim

    @property
    def size(self):
        return self.aval.size

    @property
    def weak_type(self):
        return self.aval.weak_type

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a traced scalar)")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def concrete_value(self, context: str):
        """The concrete value behind this tracer, or a ConcretizationTypeError."""
        raise concretization_error(self, context)

    def __bool__(self):
        return bool(self.concrete_value("bool"))

    def __int__(self):
        return int(self.concrete_value("int"))

    def __float__(self):
        return float(self.concrete_value("float"))

    def __complex__(self):
        return complex(self.concrete_value("complex"))

    def __index__(self):
        return int(self.concrete_value("index").__index__())

    def __array__(self, dtype=None, copy=None):
        try:
            val = self.concrete_value("numpy.asarray")
        except ConcretizationTypeError as e:
            raise TracerArrayConversionError(
                f"numpy.asarray() was called on a traced value of type {self.aval.str_short()}. "
                "numpy cannot see inside a transform; use xform.numpy (e.g. `import xform.numpy "
                "as jnp`) for operations on traced values, or move the numpy call outside the "
                "transformed function.\n" + str(e)) from None
        return np.asarray(val, dtype=dtype)

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array of type {self.aval.str_short()}")

    def __repr__(self):
        return f"Traced<{self.aval!r}>with<{type(self._trace).__name__}>"

    def __format__(self, spec):
        return repr(self)


_SUGGESTION = (
    "Fixes: branch on data with xform.numpy.where(pred, x, y) or "
    "xform.lax.cond(pred, true_fun, false_fun, *operands); loop on data with "
    "xform.lax.while_loop / fori_loop; or, if the value is a configuration setting rather than "
    "data, pass it as a static argument (jit's static_argnums / static_argnames).")


def concretization_error(tracer: Tracer, context: str) -> ConcretizationTypeError:
    cls = {"bool": TracerBoolConversionError, "int": TracerIntegerConversionError,
           "index": TracerIntegerConversionError}.get(context, ConcretizationTypeError)
    trace = tracer._trace
    origin = ""
    describe = getattr(trace, "describe_dependence", None)
    if describe is not None:
        origin = describe(tracer)
    where = user_frame()
    msg = (f"Abstract tracer value encountered where a concrete value is expected: a traced "
           f"array of type {tracer.aval.str_short()}, used by the `{context}` function"
           + (f" at {where}" if where else "") + ".\n"
           f"It is abstract because it is traced by {trace.kind} ({trace.description})."
           + (f" {origin}" if origin else "") + "\n" + _SUGGESTION)
    return cls(msg)


def to_aval(x: Any) -> ShapedArray:
    return x.aval if isinstance(x, Tracer) else get_aval(x)


_register_with_jax()
