"""Global flags, set with ``xform.config.update(name, value)`` or context managers.

JAX's flag names are accepted with JAX's meaning (``jax_enable_x64``, ``jax_debug_nans``,
``jax_disable_jit``, ...), and read back as attributes: ``xform.config.jax_enable_x64``. The flags
whose meaning lives in JAX's compiler and runtime (x64 dtypes, matmul precision, compile logs,
cache-miss explanations, platforms) are JAX's own settings, because xform's compiled path is a
``jax.jit`` and its dtypes canonicalize through JAX's config; the others are read by xform's own
code (the NaN checks, ``xform.jit``'s switch-off, ``xform.numpy``'s rank promotion).
"""

from __future__ import annotations

import jax

from xform import _flags

debug_nans_enabled = False


def _set_debug_nans(value) -> None:
    # JAX's own flag too: a jit-ted function's cached call is JAX's C++ dispatch, which checks
    # outputs only under jax_debug_nans (and then re-runs the function op by op to name the
    # operation that made the NaN)
    global debug_nans_enabled
    debug_nans_enabled = bool(value)
    jax.config.update("jax_debug_nans", debug_nans_enabled)


_NAN_FLAGS = ("xform_debug_nans", "jax_debug_nans", "debug_nans")


def update(name: str, value) -> None:
    """Set a flag by JAX's name (``jax_enable_x64``, ``jax_disable_jit``, ...) or xform's
    (``xform_debug_nans``); see :data:`xform._flags.FLAGS` for the list and what each means.

    >>> import xform
    >>> xform.config.update("jax_numpy_rank_promotion", "allow")
    >>> xform.config.jax_numpy_rank_promotion
    'allow'
    """
    if name in _NAN_FLAGS:
        _set_debug_nans(value)
    else:
        _flags.update(name, value)


def __getattr__(name: str):
    # ``xform.config.jax_enable_x64`` reads a flag, as ``jax.config.jax_enable_x64`` does
    if name in _NAN_FLAGS:
        return debug_nans_enabled
    if name.startswith("__"):
        raise AttributeError(name)
    return _flags.read(name)


class debug_nans:
    """Raise FloatingPointError when an eager op or a jit-ted function produces a NaN.

    Use as ``xform.debug_nans(True)`` (sets the flag) or ``with xform.debug_nans():`` (sets it for
    the block, then restores it).
    """

    def __init__(self, enabled: bool = True):
        self._prev = debug_nans_enabled
        _set_debug_nans(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set_debug_nans(self._prev)
        return False
