"""Naming and evaluation scopes: ``named_scope``, ``named_call``, ``ensure_compile_time_eval``.

Names travel without primitive parameters: see xform/core/name_stack.py.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import jax

from xform.core import name_stack
from xform.interpreters.staging import compile_time_eval


@contextmanager
def named_scope(name: str) -> Iterator[None]:
    """Name the operations traced in the block: ``jit(f)/name/sin`` in the lowered program's
    locations (``.lower(...).as_text(debug_info=True)``) and in profiles, as ``jax.named_scope``.

    >>> import xform, xform.numpy as xnp
    >>> def f(x):
    ...     with xform.named_scope("layer1"):
    ...         return xnp.sin(x)
    >>> "layer1/sin" in xform.jit(f).lower(xnp.ones(2)).as_text(debug_info=True)
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"named_scope name must be a string, got {type(name).__name__} "
                        f"{name!r:.60}.")
    # JAX's scope too: operations that reach JAX directly (an xform.jit entered inside the
    # block, traced by jax.jit) get it from there
    with jax.named_scope(name), name_stack.extend(name):
        yield


def named_call(fun: Callable, *, name: str | None = None) -> Callable:
    """``fun`` with its operations under the scope ``name`` (default: ``fun``'s name), as
    ``jax.named_call``."""
    scope = name if name is not None else getattr(fun, "__name__", "named_call")

    @functools.wraps(fun)
    def named(*args: Any, **kwargs: Any) -> Any:
        with named_scope(scope):
            return fun(*args, **kwargs)

    return named


@contextmanager
def ensure_compile_time_eval() -> Iterator[None]:
    """Inside ``jit`` (or any staging transform), compute operations whose inputs are all known
    values now, at trace time, instead of staging them into the program, as
    ``jax.ensure_compile_time_eval``: their results are concrete, so Python control flow and
    ``int()`` work on them.

    >>> import xform, xform.numpy as xnp
    >>> @xform.jit
    ... def f(x):
    ...     with xform.ensure_compile_time_eval():
    ...         n = int(xnp.sum(xnp.arange(4)))  # concrete: 6
    ...     return x * n
    >>> f(1.0)
    Array(6., dtype=float32, weak_type=True)
    """
    prev = compile_time_eval.on
    compile_time_eval.on = True
    try:
        # JAX's too: xform.jit traces inside jax.jit's trace, where an eager JAX call on known
        # values would otherwise give a JAX tracer
        with jax.ensure_compile_time_eval():
            yield
    finally:
        compile_time_eval.on = prev
