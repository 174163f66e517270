"""The exceptions xform raises, named as JAX names them."""

from __future__ import annotations

import os
import traceback

import jax.errors as _jax_errors

_XFORM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _WholeMessage:
    """xform builds each message whole (naming the argument, shapes and the fix), where JAX's
    constructors take a tracer and write their own: keep the message as given."""

    def __init__(self, message: str = ""):
        Exception.__init__(self, message)


# Each class is a subclass of JAX's class of the same name, so that code written for JAX
# (``except jax.errors.ConcretizationTypeError``) catches what xform raises.
class ConcretizationTypeError(_WholeMessage, _jax_errors.ConcretizationTypeError):
    """A traced (abstract) value was used where Python needs a concrete one (``if``, ``int()``)."""


class TracerBoolConversionError(ConcretizationTypeError, _jax_errors.TracerBoolConversionError):
    """``bool()`` of a traced value."""


class TracerIntegerConversionError(ConcretizationTypeError,
                                   _jax_errors.TracerIntegerConversionError):
    """``int()``/``__index__`` of a traced value."""


class TracerArrayConversionError(_WholeMessage, _jax_errors.TracerArrayConversionError):
    """``numpy.asarray`` of a traced value."""


class UnexpectedTracerError(_WholeMessage, _jax_errors.UnexpectedTracerError):
    """A traced value escaped the transform that created it (a TypeError, as JAX's)."""


class NonConcreteBooleanIndexError(_WholeMessage, _jax_errors.NonConcreteBooleanIndexError):
    """Indexing with a traced boolean mask (the result's shape would depend on its values)."""


def user_frame() -> str:
    """``file:line (function)`` of the innermost stack frame outside xform, or ''."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith(_XFORM_DIR):
            return f"{frame.filename}:{frame.lineno} ({frame.name})"
    return ""
