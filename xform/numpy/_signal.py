"""1-D signal functions of xform.numpy: convolve, correlate and the window functions (hanning,
hamming, blackman, bartlett).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from xform import lax
from xform.core.trace import to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import _iota, asarray, ones
from xform.numpy._dtypes import default_float
from xform.numpy._eager import eager_jit
from xform.numpy._float_functions import i0
from xform.numpy._manip import flip
from xform.numpy._promote import promote_dtypes, promote_to_inexact


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


# -- convolution -------------------------------------------------------------------------------
def _conv(name: str, a: Any, v: Any, mode: str, pet: Any) -> Any:
    a, v = asarray(a), asarray(v)
    if to_aval(a).ndim != 1 or to_aval(v).ndim != 1:
        raise ValueError(f"{name}() only support 1-dimensional inputs.")
    a, v = promote_to_inexact(a, v) if pet is None else promote_dtypes(a, v)
    if not _shape(a)[0] or not _shape(v)[0]:
        raise ValueError(f"{name}: inputs cannot be empty, got shapes {_shape(a)} and "
                         f"{_shape(v)}.")
    reverse = False
    if name == "correlate":
        v = uf.conj(v) if np.issubdtype(to_aval(v).dtype, np.complexfloating) else v
        if _shape(a)[0] < _shape(v)[0]:
            a, v, reverse = v, a, True
    else:
        if _shape(a)[0] < _shape(v)[0]:
            a, v = v, a
        v = flip(v)
    m = _shape(v)[0]
    pads = {"valid": [(0, 0)], "same": [(m // 2, m - m // 2 - 1)], "full": [(m - 1, m - 1)]}
    if mode not in pads:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    out = lax.conv_general_dilated(sh.reshape(a, (1, 1, -1)), sh.reshape(v, (1, 1, -1)), (1,),
                                   pads[mode], preferred_element_type=pet)
    out = sh.reshape(out, (_shape(out)[-1],))
    return flip(out) if reverse else out


@eager_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def convolve(a: Any, v: Any, mode: str = "full", *, precision: Any = None,
             preferred_element_type: Any = None) -> Any:
    """Discrete linear convolution of two 1-D arrays, as ``jax.numpy.convolve``."""
    return _conv("convolve", a, v, mode, preferred_element_type)


@eager_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def correlate(a: Any, v: Any, mode: str = "valid", *, precision: Any = None,
              preferred_element_type: Any = None) -> Any:
    """Cross-correlation of two 1-D arrays, as ``jax.numpy.correlate``."""
    return _conv("correlate", a, v, mode, preferred_element_type)


# -- window functions --------------------------------------------------------------------------
def _window(M: int, fn: Callable[[Any, int], Any]) -> Any:
    M = int(M)  # as JAX's: any number int() takes (a float is truncated)
    if M <= 1:
        return ones((max(M, 0),))
    return fn(_iota(default_float(), (M,), 0), M)


@eager_jit(static_argnames=("M",))
def hanning(M: int) -> Any:
    """The Hann window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(0.5, uf.multiply(
        0.5, uf.cos(uf.divide(uf.multiply(2 * np.pi, n), M - 1)))))


@eager_jit(static_argnames=("M",))
def hamming(M: int) -> Any:
    """The Hamming window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(0.54, uf.multiply(
        0.46, uf.cos(uf.divide(uf.multiply(2 * np.pi, n), M - 1)))))


@eager_jit(static_argnames=("M",))
def blackman(M: int) -> Any:
    """The Blackman window of ``M`` points."""
    def fn(n: Any, M: int) -> Any:
        t = uf.divide(uf.multiply(2 * np.pi, n), M - 1)
        return uf.add(uf.subtract(0.42, uf.multiply(0.5, uf.cos(t))),
                      uf.multiply(0.08, uf.cos(uf.multiply(2, t))))
    return _window(M, fn)


@eager_jit(static_argnames=("M",))
def bartlett(M: int) -> Any:
    """The Bartlett (triangular) window of ``M`` points."""
    return _window(M, lambda n, M: uf.subtract(1, uf.absolute(
        uf.subtract(uf.divide(uf.multiply(2, n), M - 1), 1))))


@eager_jit(static_argnames=("M",))
def kaiser(M: int, beta: Any) -> Any:
    """The Kaiser window of ``M`` points with shape parameter ``beta``, as ``jax.numpy.kaiser``
    (``beta`` may be traced)."""
    M = int(M)  # as JAX's: any number int() takes
    dt = default_float()
    if M <= 1:
        return ones((max(M, 0),), dt)
    n = _iota(dt, (M,), 0)
    alpha = 0.5 * (M - 1)
    ratio = uf.divide(uf.subtract(n, alpha), alpha)
    beta = lax.convert_element_type(asarray(beta), dt)
    return uf.divide(i0(uf.multiply(beta, uf.sqrt(uf.subtract(1, uf.square(ratio))))), i0(beta))
