"""``xform.scipy.signal``: direct convolution and correlation (JAX's ``jax.scipy.signal``
``convolve``, ``correlate``, ``convolve2d``, ``correlate2d``), as one
``lax.conv_general_dilated`` each, so they differentiate and batch like any convolution.

``method="fft"`` and the spectral functions (``fftconvolve``, ``detrend``, ``stft``,
``istft``, ``csd``, ``welch``) are in ``_spectral.py``, on ``xform.numpy.fft``.
"""

from __future__ import annotations

from typing import Any

import xform.numpy as xnp
from xform import lax
from xform.core.trace import to_aval
from xform.scipy._spectral import (  # noqa: F401 - re-exported
    csd, detrend, fftconvolve, istft, stft, welch,
)

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "csd", "detrend", "fftconvolve",
           "istft", "stft", "welch"]

_MODES = ["full", "same", "valid"]


def _convolve_nd(in1: Any, in2: Any, mode: str, precision: Any) -> Any:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}")
    in1, in2 = xnp.asarray(in1), xnp.asarray(in2)
    s1, s2 = tuple(to_aval(in1).shape), tuple(to_aval(in2).shape)
    if len(s1) != len(s2):
        raise ValueError("in1 and in2 must have the same number of dimensions")
    if 0 in s1 or 0 in s2:
        raise ValueError(f"zero-size arrays not supported in convolutions, got shapes {s1} "
                         f"and {s2}.")
    dtype = xnp.result_type(in1, in2, 1.0)  # integers convolve as floats, as in JAX
    if xnp.issubdtype(xnp.result_type(in1, in2), xnp.inexact):
        dtype = xnp.result_type(in1, in2)
    in1, in2 = in1.astype(dtype), in2.astype(dtype)
    swap = all(a <= b for a, b in zip(s1, s2))  # (equal shapes swap too, as JAX's)
    if not (swap or all(a >= b for a, b in zip(s1, s2))):
        raise ValueError("One input must be smaller than the other in every dimension.")
    out_ref = s2  # "same" centres the output on the first input as given
    if swap:
        in1, in2 = in2, in1
    kernel = tuple(to_aval(in2).shape)
    if mode == "valid":
        padding = [(0, 0)] * len(kernel)
    elif mode == "same":
        padding = [(k - 1 - (r - 1) // 2, k - r + (r - 1) // 2) for k, r in zip(kernel, out_ref)]
    else:
        padding = [(k - 1, k - 1) for k in kernel]
    # lax convolutions correlate: flipping the kernel makes it a convolution
    out = lax.conv_general_dilated(in1[None, None], xnp.flip(in2)[None, None],
                                   (1,) * len(kernel), padding, precision=precision)
    return out[0, 0]


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto",
             precision: Any = None) -> Any:
    """The N-dimensional convolution of ``in1`` and ``in2`` (``mode``: ``"full"``,
    ``"same"`` (the size of ``in1``) or ``"valid"``), as ``jax.scipy.signal.convolve``."""
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method not in ("auto", "direct"):
        raise ValueError(f"Got {method=}; expected 'auto', 'fft', or 'direct'.")
    return _convolve_nd(in1, in2, mode, precision)


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto",
              precision: Any = None) -> Any:
    """The N-dimensional cross-correlation of ``in1`` and ``in2``, as
    ``jax.scipy.signal.correlate``."""
    return convolve(in1, xnp.flip(xnp.conj(in2)), mode, method=method, precision=precision)


def _check_2d(name: str, in1: Any, in2: Any, boundary: str, fillvalue: Any) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}() only supports boundary='fill', fillvalue=0")
    if xnp.ndim(in1) != 2 or xnp.ndim(in2) != 2:
        raise ValueError(f"{name}() only supports 2-dimensional inputs.")


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
               fillvalue: Any = 0, precision: Any = None) -> Any:
    """The 2-D convolution (``boundary="fill"``, ``fillvalue=0`` only, as JAX's)."""
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _convolve_nd(in1, in2, mode, precision)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
                fillvalue: Any = 0, precision: Any = None) -> Any:
    """The 2-D cross-correlation (``boundary="fill"``, ``fillvalue=0`` only, as JAX's)."""
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    s1, s2 = xnp.shape(in1), xnp.shape(in2)
    swap = all(a <= b for a, b in zip(s1, s2))
    # convolving with the flipped conjugate; where the pair would be swapped, the flip moves
    # to the other operand (scipy's result orientation, which JAX's keeps)
    if mode == "full" and swap:
        return xnp.conj(_convolve_nd(xnp.flip(in2), xnp.conj(in1), mode, precision))
    if mode == "valid" and swap and s1 != s2:
        return _convolve_nd(xnp.flip(in2), xnp.conj(in1), mode, precision)
    return xnp.flip(_convolve_nd(xnp.flip(in1), xnp.conj(in2), mode, precision))
