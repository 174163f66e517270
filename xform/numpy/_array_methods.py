"""jax.Array's operators, properties and methods on xform tracers, and xform tracers as
arguments of a concrete jax.Array's methods.

``install()`` runs at import of xform.numpy (core does not import the library built on it):
a traced value then behaves like the jax.Array it stands for, ``x + 1``, ``x @ w``,
``x.sum(axis=0)``, ``x[1:, None]``, ``x.at[i].add(v)`` included.

Concrete arrays are ``jax.Array``s, and a closed-over one meets xform tracers inside every
transform: ``table[i]``, ``table.at[0].set(v)``, ``table.dot(v)``. JAX's own methods do not know
xform's tracers (indexing raises, ``.at[]`` would read a tracer's primal value and drop its
derivative), so ``install_on_jax_arrays()`` wraps the methods of JAX's array class: a call with
an xform tracer among its arguments goes to xform's implementation below, any other call to
JAX's method unchanged. Binary operators need nothing: JAX's return ``NotImplemented`` for an
xform tracer, and Python then calls the tracer's reflected operator.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from xform.core.avals import is_python_scalar
from xform.core import jax_internals
from xform.core.trace import Tracer, current_trace
from xform.numpy import (
    _edits, _indexing, _linalg_ops, _manip, _matrices, _reductions, _setops, _shape, _sorting,
    _stats, _ufuncs,
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


def _compress(self, condition: Any, axis: Any = None, *, size: Any = None,
              fill_value: Any = 0, out: None = None) -> Any:
    return _setops.compress(condition, self, axis, size=size, fill_value=fill_value, out=out)


def _choose(self, choices: Any, out: None = None, mode: str = "raise") -> Any:
    return _edits.choose(self, choices, out=out, mode=mode)


def _copy(self) -> Any:
    return self


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
    "compress": _compress, "choose": _choose, "copy": _copy,
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


# -- xform tracers as arguments of a concrete jax.Array's methods -------------------------------
def _has_tracer(x: Any) -> bool:
    """Whether an argument (an index: a tuple of ints, slices, arrays...) holds an xform tracer."""
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (tuple, list)):
        return any(_has_tracer(e) for e in x)
    if isinstance(x, slice):
        return any(isinstance(p, Tracer) for p in (x.start, x.stop, x.step))
    if isinstance(x, dict):
        return any(_has_tracer(e) for e in x.values())
    return False


def _args_have_tracer(args: tuple, kwargs: dict) -> bool:
    return any(_has_tracer(a) for a in args) or any(_has_tracer(v) for v in kwargs.values())


def _dispatching_method(name: str, jax_method: Callable, xform_method: Callable) -> Callable:
    def method(self, *args, **kwargs):
        if _args_have_tracer(args, kwargs):
            return xform_method(self, *args, **kwargs)
        return jax_method(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = jax_method.__doc__
    method.__wrapped_jax__ = jax_method  # type: ignore[attr-defined]
    return method


def _dispatching_getitem(jax_getitem: Callable) -> Callable:
    def __getitem__(self, idx):
        if _has_tracer(idx):
            return _indexing.rewriting_take(self, idx)
        return jax_getitem(self, idx)
    __getitem__.__wrapped_jax__ = jax_getitem  # type: ignore[attr-defined]
    return __getitem__


_AT_METHODS = ("get", "set", "add", "subtract", "multiply", "mul", "divide", "power", "min",
               "max", "apply")


class _ConcreteIndexUpdateRef:
    """``table.at[idx]`` of a concrete jax.Array: xform's update when ``idx`` or the values hold
    an xform tracer, JAX's otherwise."""

    __slots__ = ("_jax_ref", "_array", "_index")

    def __init__(self, jax_ref: Any, array: Any, index: Any):
        self._jax_ref, self._array, self._index = jax_ref, array, index

    def __getattr__(self, name: str) -> Any:
        jax_fn = getattr(self._jax_ref, name)
        if name not in _AT_METHODS:
            return jax_fn

        def update(*args, **kwargs):
            # apply traces its function: under an xform transform that function may close over
            # xform tracers, so xform's path takes it; outside one, JAX's (a JAX function such
            # as jnp.sin needs JAX's tracer, and xform.numpy's functions take JAX's tracers too)
            traced_apply = name == "apply" and current_trace() is not None
            if traced_apply or _has_tracer(self._index) or _args_have_tracer(args, kwargs):
                ref = _indexing._IndexUpdateRef(self._array, self._index)
                return getattr(ref, name)(*args, **kwargs)
            return jax_fn(*args, **kwargs)
        update.__name__ = name
        return update

    def __repr__(self):
        return repr(self._jax_ref)


class _ConcreteIndexUpdateHelper:
    """What ``table.at`` is for a concrete jax.Array (see :class:`_ConcreteIndexUpdateRef`)."""

    __slots__ = ("_jax_helper", "_array")

    def __init__(self, jax_helper: Any, array: Any):
        self._jax_helper, self._array = jax_helper, array

    def __getitem__(self, index: Any) -> _ConcreteIndexUpdateRef:
        return _ConcreteIndexUpdateRef(self._jax_helper[index], self._array, index)

    def __repr__(self):
        return repr(self._jax_helper)


def _jax_array_type() -> type:
    """JAX's concrete array class (``ArrayImpl``, not exported), whose methods
    ``install_on_jax_arrays`` wraps: every concrete array's type is that one class."""
    return jax_internals.ArrayImpl


def install_on_jax_arrays() -> None:
    """Let a concrete jax.Array's indexing, ``.at[]`` and methods take xform tracers (see the
    module docstring). Idempotent; JAX's behaviour is unchanged for every call without one."""
    cls = _jax_array_type()
    getitem = cls.__dict__.get("__getitem__")
    if getitem is not None and not hasattr(getitem, "__wrapped_jax__"):
        cls.__getitem__ = _dispatching_getitem(getitem)
    for name, xform_method in _METHODS.items():
        jax_method = cls.__dict__.get(name)
        if callable(jax_method) and not hasattr(jax_method, "__wrapped_jax__"):
            setattr(cls, name, _dispatching_method(name, jax_method, xform_method))
    at = cls.__dict__.get("at")
    if isinstance(at, property) and not hasattr(at.fget, "__wrapped_jax__"):
        jax_at = at.fget

        def at_helper(self):
            return _ConcreteIndexUpdateHelper(jax_at(self), self)
        at_helper.__wrapped_jax__ = jax_at  # type: ignore[attr-defined]
        cls.at = property(at_helper, doc=at.__doc__)
