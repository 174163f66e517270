"""Global flags, set with ``xform.config.update(name, value)`` or context managers."""

from __future__ import annotations

debug_nans_enabled = False
_debug_nans_listeners: list = []


def on_debug_nans_change(listener) -> None:
    """Call ``listener(enabled)`` whenever the debug_nans flag changes (jit uses it to switch
    its compiled functions to the checking call path and back)."""
    _debug_nans_listeners.append(listener)


def _set_debug_nans(value) -> None:
    global debug_nans_enabled
    changed = bool(value) != debug_nans_enabled
    debug_nans_enabled = bool(value)
    if changed:
        for listener in _debug_nans_listeners:
            listener(debug_nans_enabled)


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
