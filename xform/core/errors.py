"""The exceptions xform raises, named as JAX names them."""

from __future__ import annotations

import os
import sys
import traceback

import jax.errors as _jax_errors

_XFORM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_JAX_DIR = os.path.dirname(os.path.abspath(_jax_errors.__file__))


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


def user_frame(column: bool = False) -> str:
    """``file:line (function)`` of the innermost stack frame outside xform, or ''; with
    ``column``, ``file:line:column (function)`` (JAX's source summaries)."""
    if column:
        f = sys._getframe(1)
        while f is not None and os.path.abspath(f.f_code.co_filename).startswith(
                (_XFORM_DIR, _JAX_DIR)):  # JAX's internals (tree_map, ...) are not the user's
            f = f.f_back
        if f is None:
            return ""
        col = ""
        positions = getattr(f.f_code, "co_positions", None)  # Python >= 3.11
        if positions is not None:
            pos = list(positions())[f.f_lasti // 2]
            col = f":{pos[2]}" if pos[2] is not None else ""
        # the qualified name, as JAX's summaries print it (``outer.<locals>.f``)
        name = getattr(f.f_code, "co_qualname", f.f_code.co_name)  # Python >= 3.11
        return f"{f.f_code.co_filename}:{f.f_lineno}{col} ({name})"
    # the frames of JAX's dispatch, between xform and the user, are not the user's either
    for frame in reversed(traceback.extract_stack()[:-1]):
        if not os.path.abspath(frame.filename).startswith((_XFORM_DIR, _JAX_DIR)):
            return f"{frame.filename}:{frame.lineno} ({frame.name})"
    return ""


class UnmappedPrimitiveError(NotImplementedError):
    """A JAX primitive that ``xform.from_jax`` has no xform counterpart for."""
