"""Global flags, set with ``xform.config.update(name, value)`` or context managers."""

from __future__ import annotations

debug_nans_enabled = False


def update(name: str, value) -> None:
    """Set a flag: ``xform_debug_nans`` (also accepted as ``jax_debug_nans``)."""
    global debug_nans_enabled
    if name in ("xform_debug_nans", "jax_debug_nans", "debug_nans"):
        debug_nans_enabled = bool(value)
    else:
        raise ValueError(f"unknown xform config flag {name!r}; known: 'xform_debug_nans'")


class debug_nans:
    """Raise FloatingPointError when an eager op or a jit-ted function produces a NaN.

    Use as ``xform.debug_nans(True)`` (sets the flag) or ``with xform.debug_nans():`` (sets it for
    the block, then restores it).
    """

    def __init__(self, enabled: bool = True):
        global debug_nans_enabled
        self._prev = debug_nans_enabled
        debug_nans_enabled = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global debug_nans_enabled
        debug_nans_enabled = self._prev
        return False
