"""The exceptions xform raises, named as JAX names them."""

from __future__ import annotations

import os
import traceback

import jax

_XFORM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _jax_dir() -> str:
    # the frames of JAX's dispatch, between xform and the user, are not the user's
    return os.path.dirname(os.path.abspath(jax.__file__))


class ConcretizationTypeError(TypeError):
    """A traced (abstract) value was used where Python needs a concrete one (``if``, ``int()``)."""


class TracerBoolConversionError(ConcretizationTypeError):
    """``bool()`` of a traced value."""


class TracerIntegerConversionError(ConcretizationTypeError):
    """``int()``/``__index__`` of a traced value."""


class TracerArrayConversionError(TypeError):
    """``numpy.asarray`` of a traced value."""


class UnexpectedTracerError(Exception):
    """A traced value escaped the transform that created it."""


def user_frame() -> str:
    """``file:line (function)`` of the innermost stack frame outside xform, or ''."""
    skip = (_XFORM_DIR, _jax_dir())
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith(skip):
            return f"{frame.filename}:{frame.lineno} ({frame.name})"
    return ""
