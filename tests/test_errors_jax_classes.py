"""What xform raises is caught by ``except jax.errors.X`` (xform's classes subclass JAX's), and
the same misuse raises the same class in both."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

NAMES = ["ConcretizationTypeError", "TracerBoolConversionError",
         "TracerIntegerConversionError", "TracerArrayConversionError", "UnexpectedTracerError",
         "NonConcreteBooleanIndexError", "JAXTypeError", "JAXIndexError", "KeyReuseError",
         "JaxRuntimeError", "JaxprTypeError", "InconclusiveDimensionOperation"]


@pytest.mark.parametrize("name", NAMES)
def test_subclass_of_jax_class(name):
    assert issubclass(getattr(xform.errors, name), getattr(jax.errors, name))


def _misuse(lib, nl):
    leaked = []
    return {
        "bool": lambda: lib.jit(lambda x: 1 if x > 0 else 2)(1.0),
        "int": lambda: lib.jit(lambda x: nl.zeros(int(x)))(3.0),
        "array": lambda: lib.jit(lambda x: np.asarray(x))(1.0),
        "bool_index": lambda: lib.jit(lambda x: x[x > 0])(nl.arange(3.0)),
        "leak": lambda: (lib.jit(lambda x: leaked.append(x) or x)(1.0), leaked[0] + 1),
    }


@pytest.mark.parametrize("case,name", [
    ("bool", "TracerBoolConversionError"), ("int", "ConcretizationTypeError"),
    ("array", "TracerArrayConversionError"), ("bool_index", "NonConcreteBooleanIndexError"),
    ("leak", "UnexpectedTracerError")])
def test_same_class_caught_by_jax_errors(case, name):
    for lib, nl in [(jax, jnp), (xform, xnp)]:
        with pytest.raises(getattr(jax.errors, name)):
            _misuse(lib, nl)[case]()
