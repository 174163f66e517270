"""jax.Array's operators, properties and methods on xform tracers.

``install()`` runs at import of xform.numpy (core does not import the library built on it):
a traced value then behaves like the jax.Array it stands for, ``x + 1``, ``x @ w``,
``x.sum(axis=0)``, ``x[1:, None]``, ``x.at[i].add(v)`` included.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from xform.core.avals import is_python_scalar
from xform.core.trace import Tracer
from xform.numpy import (
    _indexing, _linalg_ops, _manip, _matrices, _reductions, _setops, _shape, _sorting, _stats,
    _ufuncs,
)
from xform.numpy._promote import convert


def _operand_ok(x: Any) -> bool:
    return (is_python_scalar(x) or isinstance(x, (Tracer, jax.Array, np.ndarray, np.generic)))


def _binop(fn: Callable, reverse: bool = False) -> Callable:
    def op(self, other):
        if not _operand_ok(other):
            return NotImplemented
        return fn(other, self) if reverse else fn(self, other)
    return op


def _defer_eq(fn: Callable) -> Callable:
    def op(self, other):
        if not _operand_ok(other):
            return NotImplemented
        return fn(self, other)
    return op


def _reshape(self, *args: Any, order: str = "C") -> Any:
    """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
    shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    return _shape.reshape(self, shape, order)


def _transpose(self, *axes: Any) -> Any:
    if not axes or axes == (None,):
        return _shape.transpose(self)
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = axes[0]
    return _shape.transpose(self, axes)


def _astype(self, dtype: Any, copy: bool = False, device: Any = None) -> Any:
    return convert(self, dtype)


def _setitem(self, idx: Any, value: Any) -> None:
    raise TypeError(
        f"'{type(self).__name__}' object does not support item assignment. JAX arrays are "
        "immutable. Instead of ``x[idx] = y``, use ``x = x.at[idx].set(y)`` or another .at[] "
        "method: https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html")


def _divmod(self, other):
    if not _operand_ok(other):
        return NotImplemented
    return _ufuncs.floor_divide(self, other), _ufuncs.remainder(self, other)


def _rdivmod(self, other):
    if not _operand_ok(other):
        return NotImplemented
    return _ufuncs.floor_divide(other, self), _ufuncs.remainder(other, self)


def _pow(self, other):
    if not _operand_ok(other):
        return NotImplemented
    return _ufuncs.power(self, other)


def _matrix_t(self):
    return _shape.matrix_transpose(self)


def _flatten(self, order: str = "C") -> Any:
    return _shape.ravel(self, order)


def _item(self, *args):
    # like int() and bool(), not like numpy.asarray: JAX allows it while differentiating
    val = np.asarray(self.concrete_value("item"))
    return val.item(*args)


_OPERATORS = {
    "__add__": _binop(_ufuncs.add), "__radd__": _binop(_ufuncs.add, True),
    "__sub__": _binop(_ufuncs.subtract), "__rsub__": _binop(_ufuncs.subtract, True),
    "__mul__": _binop(_ufuncs.multiply), "__rmul__": _binop(_ufuncs.multiply, True),
    "__truediv__": _binop(_ufuncs.true_divide),
    "__rtruediv__": _binop(_ufuncs.true_divide, True),
    "__floordiv__": _binop(_ufuncs.floor_divide),
    "__rfloordiv__": _binop(_ufuncs.floor_divide, True),
    "__mod__": _binop(_ufuncs.remainder), "__rmod__": _binop(_ufuncs.remainder, True),
    "__divmod__": _divmod, "__rdivmod__": _rdivmod,
    "__pow__": _pow, "__rpow__": _binop(_ufuncs.power, True),
    "__matmul__": _binop(_linalg_ops.matmul), "__rmatmul__": _binop(_linalg_ops.matmul, True),
    "__and__": _binop(_ufuncs.bitwise_and), "__rand__": _binop(_ufuncs.bitwise_and, True),
    "__or__": _binop(_ufuncs.bitwise_or), "__ror__": _binop(_ufuncs.bitwise_or, True),
    "__xor__": _binop(_ufuncs.bitwise_xor), "__rxor__": _binop(_ufuncs.bitwise_xor, True),
    "__lshift__": _binop(_ufuncs.left_shift), "__rlshift__": _binop(_ufuncs.left_shift, True),
    "__rshift__": _binop(_ufuncs.right_shift),
    "__rrshift__": _binop(_ufuncs.right_shift, True),
    "__eq__": _defer_eq(_ufuncs.equal), "__ne__": _defer_eq(_ufuncs.not_equal),
    "__lt__": _defer_eq(_ufuncs.less), "__le__": _defer_eq(_ufuncs.less_equal),
    "__gt__": _defer_eq(_ufuncs.greater), "__ge__": _defer_eq(_ufuncs.greater_equal),
    "__neg__": _ufuncs.negative, "__pos__": _ufuncs.positive, "__abs__": _ufuncs.absolute,
    "__invert__": _ufuncs.invert,
    "__getitem__": _indexing.rewriting_take, "__setitem__": _setitem,
}

_METHODS = {
    "sum": _reductions.sum, "mean": _reductions.mean, "max": _reductions.max,
    "min": _reductions.min, "prod": _reductions.prod, "any": _reductions.any,
    "all": _reductions.all, "std": _reductions.std, "var": _reductions.var,
    "argmax": _reductions.argmax, "argmin": _reductions.argmin,
    "cumsum": _reductions.cumsum, "cumprod": _reductions.cumprod,
    "reshape": _reshape, "transpose": _transpose, "astype": _astype,
    "squeeze": _shape.squeeze, "ravel": _shape.ravel, "flatten": _flatten,
    "swapaxes": _shape.swapaxes, "clip": _ufuncs.clip, "dot": _linalg_ops.dot,
    "round": _ufuncs.round, "conj": _ufuncs.conjugate, "conjugate": _ufuncs.conjugate,
    "take": _indexing.take, "item": _item,
    "sort": _sorting.sort, "argsort": _sorting.argsort, "searchsorted": _sorting.searchsorted,
    "nonzero": _setops.nonzero, "diagonal": _matrices.diagonal, "trace": _matrices.trace,
    "repeat": _manip.repeat, "ptp": _stats.ptp,
}

_PROPERTIES = {
    "T": property(lambda self: _shape.transpose(self)),
    "mT": property(_matrix_t),
    "real": property(_ufuncs.real),
    "imag": property(_ufuncs.imag),
    "at": property(_indexing._IndexUpdateHelper),
}


def install(cls: type = Tracer) -> None:
    """Give ``cls`` (xform's Tracer) jax.Array's operators, methods and properties."""
    for name, fn in {**_OPERATORS, **_METHODS}.items():
        setattr(cls, name, fn)
    for name, prop in _PROPERTIES.items():
        setattr(cls, name, prop)
    # __eq__ without __hash__ would make the class unhashable by default; keep core's message
    cls.__hash__ = Tracer.__dict__.get("__hash__", cls.__hash__)
