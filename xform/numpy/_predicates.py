"""Value predicates of xform.numpy: the NaN/inf tests, signbit, isclose/allclose,
array_equal/array_equiv, the real/complex tests, isscalar and iterable; with the small dtype
helpers the other elementwise modules (_float_functions, _integer_functions) share.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xform import lax
from xform.core.avals import is_python_scalar
from xform.core.trace import to_aval
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import array, asarray
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._promote import check_arraylike, convert, promote_args
from xform.numpy._reductions import all as all_


def _dtype(x: Any) -> np.dtype:
    return to_aval(x).dtype


def _is_inexact(x: Any) -> bool:
    return bool(np.issubdtype(_dtype(x), np.inexact)) or _dtype(x) == np.dtype("bfloat16")


def _is_complex(x: Any) -> bool:
    return bool(np.issubdtype(_dtype(x), np.complexfloating))


def _const(x: Any, value: Any, weak: bool = True) -> Any:
    """``value`` as a scalar of ``x``'s dtype (a literal when staged), typed as JAX's
    ``_lax_const``: weakly beside a weakly typed scalar only (``const_like``), so a weakly typed
    array's ``deg2rad``, ``sinc``, ``hypot``... is strongly typed; strongly if ``weak`` is False
    (JAX's ``_constant_like``: a comparison with it is strongly typed)."""
    aval = to_aval(x)
    return convert(value, aval.dtype, weak and aval.weak_type and not aval.shape)


def _as_array(x: Any) -> Any:
    return uf._as_array(x)


# -- NaN / inf tests, sign bit -----------------------------------------------------------------
@eager_jit()
def signbit(x: Any, /) -> Any:
    """True where the sign bit is set (``-0.0`` included), as ``jax.numpy.signbit``."""
    check_arraylike("signbit", x)
    x = _as_array(x)
    d = _dtype(x)
    if d == np.bool_ or np.issubdtype(d, np.unsignedinteger):
        return lax.full_like(x, False, np.bool_)
    if np.issubdtype(d, np.integer):
        return lax.lt(x, _const(x, 0, False))
    if _is_complex(x):
        raise ValueError("signbit does not support complex-valued inputs.")
    x = lax.stop_gradient(x)
    # -0.0 compares equal to 0.0; its reciprocal -inf tells the sign
    neg_zero = lax.bitwise_and(lax.eq(x, _const(x, 0, False)),
                               lax.lt(lax.div(_const(x, 1), x), _const(x, 0, False)))
    return lax.bitwise_or(lax.lt(x, _const(x, 0, False)), neg_zero)


@jit_typed(inline=True)
def isnan(x: Any, /) -> Any:
    """True where ``x`` is NaN, as ``jax.numpy.isnan``."""
    check_arraylike("isnan", x)
    x = _as_array(x)
    if _dtype(x) == np.bool_:  # never weakly typed in JAX
        return lax.full_like(x, False, np.bool_)
    return lax.ne(x, x)  # False for integers too, weakly typed as theirs (JAX's)


@jit_typed
def isinf(x: Any, /) -> Any:
    """True where ``x`` is positive or negative infinity, as ``jax.numpy.isinf``."""
    check_arraylike("isinf", x)
    x = _as_array(x)
    if not _is_inexact(x):
        return lax.full_like(x, False, np.bool_)
    if _is_complex(x):
        return lax.bitwise_or(isinf(lax.real(x)), isinf(lax.imag(x)))
    return lax.eq(lax.abs(x), _const(x, np.inf, False))


@jit_typed(inline=True)
def isfinite(x: Any, /) -> Any:
    """True where ``x`` is neither infinite nor NaN, as ``jax.numpy.isfinite``."""
    check_arraylike("isfinite", x)
    x = _as_array(x)
    if not _is_inexact(x):
        return lax.full_like(x, True, np.bool_)
    if _is_complex(x):
        return lax.bitwise_and(lax.is_finite(lax.real(x)), lax.is_finite(lax.imag(x)))
    return lax.is_finite(x)


def isposinf(x: Any, /) -> Any:
    """True where ``x`` is ``+inf``, as ``jax.numpy.isposinf``."""
    x = _as_array(x)
    if not _is_inexact(x):
        return lax.full_like(x, False, np.bool_)
    return lax.eq(x, _const(x, np.inf, False))


def isneginf(x: Any, /) -> Any:
    """True where ``x`` is ``-inf``, as ``jax.numpy.isneginf``."""
    x = _as_array(x)
    if not _is_inexact(x):
        return lax.full_like(x, False, np.bool_)
    return lax.eq(x, _const(x, -np.inf, False))


# -- closeness and equality --------------------------------------------------------------------
@eager_jit(static_argnames=("equal_nan",))
def isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08,
            equal_nan: bool = False) -> Any:
    """``|a - b| <= atol + rtol * |b|`` elementwise, as ``jax.numpy.isclose``."""
    a, b = promote_args("isclose", a, b)
    if not _is_inexact(a):
        return lax.eq(a, b)
    real_dt = to_aval(lax.abs(a)).dtype
    rtol = convert(rtol, real_dt, False)  # JAX's convert_element_type: strongly typed
    atol = convert(atol, real_dt, False)
    out = lax.le(lax.abs(lax.sub(a, b)), lax.add(atol, lax.mul(rtol, lax.abs(b))))
    # infinities are close only to themselves
    inf = lax.bitwise_or(isinf(a), isinf(b))
    out = lax.select(inf, lax.eq(a, b), out)
    if equal_nan:
        out = lax.bitwise_or(out, lax.bitwise_and(isnan(a), isnan(b)))
    return out


@eager_jit(static_argnames=("equal_nan",))
def allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08,
             equal_nan: bool = False) -> Any:
    """True when every element pair is close (see ``isclose``), as ``jax.numpy.allclose``."""
    return all_(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    """True when the arrays have one shape and equal elements, as ``jax.numpy.array_equal``."""
    a1, a2 = asarray(a1), asarray(a2)
    if to_aval(a1).shape != to_aval(a2).shape:
        return array(False, dtype=np.bool_)
    eq = uf.equal(a1, a2)
    if equal_nan:
        eq = lax.bitwise_or(eq, lax.bitwise_and(isnan(a1), isnan(a2)))
    return all_(eq)


def array_equiv(a1: Any, a2: Any) -> Any:
    """True when the arrays broadcast together and are equal, as ``jax.numpy.array_equiv``."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(to_aval(a1).shape, to_aval(a2).shape)
    except ValueError:
        return array(False, dtype=np.bool_)
    return all_(uf.equal(a1, a2))


# -- real / complex and object tests -----------------------------------------------------------
def iscomplexobj(x: Any) -> bool:
    """True for arrays of a complex dtype (whatever their values)."""
    return bool(np.issubdtype(to_aval(x).dtype, np.complexfloating))


def isrealobj(x: Any) -> bool:
    """True for arrays of a non-complex dtype."""
    return not iscomplexobj(x)


@jit_typed
def iscomplex(x: Any) -> Any:
    """True where the imaginary part is nonzero, as ``jax.numpy.iscomplex``."""
    im = uf.imag(_as_array(x))
    return lax.ne(im, _const(im, 0))


@jit_typed
def isreal(x: Any) -> Any:
    """True where the imaginary part is zero, as ``jax.numpy.isreal``."""
    im = uf.imag(_as_array(x))
    return lax.eq(im, _const(im, 0))


def isscalar(element: Any) -> bool:
    """True for Python/numpy scalars and 0-d arrays, as ``jax.numpy.isscalar``."""
    if is_python_scalar(element) or isinstance(element, np.generic):
        return True
    return hasattr(element, "shape") and to_aval(element).ndim == 0


def iterable(y: Any) -> bool:
    """True when ``iter(y)`` works."""
    try:
        iter(y)
    except TypeError:
        return False
    return True
