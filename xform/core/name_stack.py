"""The name stack: the scopes (``xform.named_scope``, ``xform.named_call``) a value is computed
under, so that they reach the lowered program as JAX's do (``jit(f)/outer/inner/sin`` in its
locations, which profilers and HLO dumps show).

No primitive carries a name parameter: the staging trace records the stack current when an
equation is traced, relative to the stack when that trace began, in the equation's
``source_info`` (``"outer/inner"``); interpreters that re-emit an equation (the generic
evaluator, the backward pass) re-enter its scope, and lowering enters ``jax.named_scope`` for each
part around the equation's ``jax.lax`` call. A jaxpr traced once and reused elsewhere (a cached
inner ``jit``) thus keeps names relative to its own function.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from typing import Iterator

import jax


class _Stack(threading.local):
    def __init__(self):
        self.names: tuple[str, ...] = ()


_stack = _Stack()


def current() -> tuple[str, ...]:
    """The scopes entered on this thread, outermost first."""
    return _stack.names


@contextmanager
def extend(*names: str) -> Iterator[None]:
    """Push ``names`` (already split at ``/``) for the duration of the block."""
    prev = _stack.names
    _stack.names = prev + names
    try:
        yield
    finally:
        _stack.names = prev


def relative(base: tuple[str, ...]) -> str | None:
    """The current stack below ``base``, as ``"a/b"`` (None when nothing was entered); the form
    an equation's ``source_info`` holds."""
    names = _stack.names
    if len(names) <= len(base):
        return None
    return "/".join(names[len(base):])


def reentered(source_info: str | None):
    """Re-enter an equation's recorded scope (a null context when it has none)."""
    return nullcontext() if not source_info else extend(*source_info.split("/"))


@contextmanager
def lowering_scope(source_info: str) -> Iterator[None]:
    """Enter ``jax.named_scope`` for each part of ``source_info`` (inside ``jax.jit``'s trace)."""
    parts = source_info.split("/")
    managers = [jax.named_scope(p) for p in parts]
    for m in managers:
        m.__enter__()
    try:
        yield
    finally:
        for m in reversed(managers):
            m.__exit__(None, None, None)
