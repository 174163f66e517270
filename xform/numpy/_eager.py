"""Eager dispatch for xform.numpy functions.

A numpy-API function is several primitives (promotion, broadcasting, the operation). Called
eagerly, it runs as one cached compiled call, as jax.numpy's functions do: ``eager_jit`` routes a
call made outside any transform through ``xform.jit``'s compiled dispatch (xform/lax/compiled.py,
static arguments by name), and a call made under a transform straight to the function, so it is
traced inline like any other code.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

from xform import config
from xform.core.trace import _state
from xform.interpreters.eval import check_nans
from xform.interpreters.jvp import array_function_calls as calls
from xform.lax.compiled import Jitted


def eager_jit(static_argnames: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    def decorate(fun: Callable) -> Callable:
        compiled: list = []  # [xform.jit(fun), its jax.jit callable], made on first use

        @functools.wraps(fun)
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if _state.trace is not None:
                # a jit in JAX: the JVP trace types tangents like primals meanwhile (jvp.py)
                calls.depth += 1
                try:
                    return fun(*args, **kwargs)
                finally:
                    calls.depth -= 1
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
