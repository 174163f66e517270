"""The exceptions xform raises (``xform.errors``, as ``jax.errors``)."""

from xform.core.errors import (
    ConcretizationTypeError as ConcretizationTypeError,
    NonConcreteBooleanIndexError as NonConcreteBooleanIndexError,
    TracerArrayConversionError as TracerArrayConversionError,
    TracerBoolConversionError as TracerBoolConversionError,
    TracerIntegerConversionError as TracerIntegerConversionError,
    UnexpectedTracerError as UnexpectedTracerError,
)
from xform.core.typecheck import JaxprTypeError as JaxprTypeError

# JAX's own classes, for the errors xform raises through JAX or not at all (so that
# ``except xform.errors.X`` is valid wherever ``except jax.errors.X`` is)
from jax.errors import (  # noqa: E402
    InconclusiveDimensionOperation as InconclusiveDimensionOperation,
    JAXIndexError as JAXIndexError,
    JAXTypeError as JAXTypeError,
    JaxRuntimeError as JaxRuntimeError,
    KeyReuseError as KeyReuseError,
)
