"""The exceptions xform raises (``xform.errors``, as ``jax.errors``)."""

from xform.core.errors import (
    ConcretizationTypeError as ConcretizationTypeError,
    TracerArrayConversionError as TracerArrayConversionError,
    TracerBoolConversionError as TracerBoolConversionError,
    TracerIntegerConversionError as TracerIntegerConversionError,
    UnexpectedTracerError as UnexpectedTracerError,
)
from xform.core.typecheck import JaxprTypeError as JaxprTypeError
