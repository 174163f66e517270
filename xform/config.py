"""Global flags, set with ``xform.config.update(name, value)`` or context managers."""

from __future__ import annotations

import jax

debug_nans_enabled = False


def _set_debug_nans(value) -> None:
    # JAX's own flag too: a jit-ted function's cached call is JAX's C++ dispatch, which checks
    # outputs only under jax_debug_nans (and then re-runs the function op by op to name the
    # operation that made the NaN)
    global debug_nans_enabled
    debug_nans_enabled = bool(value)
    jax.config.update("jax_debug_nans", debug_nans_enabled)


def update(name: str, value) -> None:
    """Set a flag: ``xform_debug_nans`` (also accepted as ``jax_debug_nans``)."""
    if name in ("xform_debug_nans", "jax_debug_nans", "debug_nans"):
        _set_debug_nans(value)
    else:
        raise ValueError(f"unknown xform config flag {name!r}; known: 'xform_debug_nans'")


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
