"""The ``fft`` primitive: XLA's fast Fourier transforms over the trailing axes.

``fft[fft_type fft_lengths] x`` with ``fft_type`` one of (``jax.lax.FftType``):

- ``FFT`` / ``IFFT``: complex to complex over the last ``len(fft_lengths)`` axes (IFFT divides by
  the number of points, as numpy's ``ifftn``);
- ``RFFT``: real to complex; the last axis of length ``n`` becomes ``n // 2 + 1`` (the rest of
  the spectrum is the conjugate mirror of it);
- ``IRFFT``: complex to real, the inverse of RFFT; its last axis ``n // 2 + 1`` gives ``n``.

The transform is linear, so the JVP is the transform of the tangent. Transposes (JAX's complex
convention: the plain transpose of the real-linear map, with ``conj`` where the cotangent of a
complex value is involved):

- the DFT matrix is symmetric, so FFT transposes to FFT and IFFT to IFFT;
- RFFT keeps half the spectrum of a real signal. Its transpose sends a cotangent ``t`` to
  ``sum_j Re(t_j exp(-2 pi i j k / n))`` over the kept ``j``, which is ``n * IRFFT(conj(t) / m)``
  with ``m`` = 1 at the DC (and, for even ``n``, Nyquist) entry and 2 elsewhere: IRFFT counts the
  mirrored half of every other entry once more;
- IRFFT reads each kept entry once and, through the mirror, a second time (except DC/Nyquist),
  so its transpose is ``conj(m * RFFT(t) / N)`` with ``N`` the total number of points.

Batching moves the batch axis to the front, away from the transformed trailing axes.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from jax import lax as jlax
from jax.lax import FftType

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, moveaxis
from xform.interpreters.jvp import deflinear_jvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import deflinear
from xform.lax.elementwise import conj, convert_element_type, div, mul
from xform.lax.shape import broadcast_in_dim, full

__all__ = ["FftType", "fft", "fft_p"]

fft_p = Primitive("fft")


def _complex_dtype(dtype) -> np.dtype:
    return np.result_type(dtype, np.complex64)


def _real_dtype(dtype) -> np.dtype:
    return np.finfo(dtype).dtype


def _fft_abstract_eval(x: ShapedArray, *, fft_type, fft_lengths):
    lengths = tuple(fft_lengths)
    k = len(lengths)
    if k > x.ndim:
        raise ValueError(f"FFT input shape {x.shape} must have at least as many input "
                         f"dimensions as fft_lengths {lengths}.")
    if not 1 <= k <= 3:
        raise ValueError(f"fft_lengths must name 1 to 3 trailing axes (XLA's FFT), got "
                         f"{lengths}; transform more axes in several calls.")
    if fft_type == FftType.RFFT:
        if x.dtype not in (np.float32, np.float64):
            raise ValueError(f"RFFT input must be float32 or float64, got {x.dtype}")
        if x.shape[-k:] != lengths:
            raise ValueError(f"RFFT input shape {x.shape} minor dimensions must be equal to "
                             f"fft_lengths {lengths}")
        shape = x.shape[:-1] + (lengths[-1] // 2 + 1,)
        return ShapedArray(shape, _complex_dtype(x.dtype))
    if not np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{FftType(fft_type).name} input must be complex64 or complex128, got "
                         f"{x.dtype}")
    if fft_type == FftType.IRFFT:
        if x.shape[-k:-1] != lengths[:-1] or x.shape[-1] != lengths[-1] // 2 + 1:
            raise ValueError(f"IRFFT input shape {x.shape} minor dimensions must be equal to "
                             f"all except the last fft_length, and the last must be "
                             f"fft_lengths[-1] // 2 + 1, got fft_lengths={lengths}")
        return ShapedArray(x.shape[:-1] + (lengths[-1],), _real_dtype(x.dtype))
    if x.shape[-k:] != lengths:
        raise ValueError(f"FFT input shape {x.shape} minor dimensions must be equal to "
                         f"fft_lengths {lengths}")
    return ShapedArray(x.shape, x.dtype)


def _hermitian_mask(n: int, size: int, ndim: int, dtype) -> Any:
    """1 at the DC entry (and the Nyquist entry for even ``n``), 2 elsewhere, along the last
    of ``ndim`` axes: how often IRFFT counts each kept entry of the half spectrum."""
    m = np.full((size,), 2.0, dtype=_real_dtype(dtype))
    m[0] = 1.0
    if n % 2 == 0:
        m[-1] = 1.0
    return broadcast_in_dim(convert_element_type(m, dtype), (1,) * (ndim - 1) + (size,),
                            (ndim - 1,))


def _fft_transpose(ct, *, x_aval, fft_type, fft_lengths):
    n, total = fft_lengths[-1], math.prod(fft_lengths)
    if fft_type == FftType.RFFT:
        ct_aval = to_aval(ct)
        mask = _hermitian_mask(n, ct_aval.shape[-1], ct_aval.ndim, ct_aval.dtype)
        out = fft_p.bind(div(conj(ct), mask), fft_type=FftType.IRFFT, fft_lengths=fft_lengths)
        return mul(out, full((), total, to_aval(out).dtype))
    if fft_type == FftType.IRFFT:
        spectrum = fft_p.bind(ct, fft_type=FftType.RFFT, fft_lengths=fft_lengths)
        s_aval = to_aval(spectrum)
        mask = _hermitian_mask(n, s_aval.shape[-1], s_aval.ndim, s_aval.dtype)
        return conj(div(mul(spectrum, mask), full((), total, s_aval.dtype)))
    return fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths)


def _fft_batch(axis_size, vals, dims, *, fft_type, fft_lengths):
    (x,), (d,) = vals, dims
    return fft_p.bind(moveaxis(x, d, 0), fft_type=fft_type, fft_lengths=fft_lengths), 0


abstract_eval[fft_p] = _fft_abstract_eval
to_jax[fft_p] = lambda x, *, fft_type, fft_lengths: jlax.fft(x, fft_type, fft_lengths)
deflinear_jvp(fft_p)
deflinear(fft_p, _fft_transpose)
batch_rules[fft_p] = _fft_batch

_FFT_TYPES = {"fft": FftType.FFT, "ifft": FftType.IFFT, "rfft": FftType.RFFT,
              "irfft": FftType.IRFFT}


def fft(x: Any, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Any:
    """The FFT of ``x`` over its last ``len(fft_lengths)`` (1 to 3) axes, as ``jax.lax.fft``.

    ``fft_type`` is a ``FftType`` or one of ``"fft"``, ``"ifft"``, ``"rfft"``, ``"irfft"``.
    ``x`` is converted to a complex dtype (a real one for RFFT) first.
    """
    if isinstance(fft_type, str):
        if fft_type.lower() not in _FFT_TYPES:
            raise ValueError(f"Unknown FFT type {fft_type!r}; expected one of "
                             f"{sorted(_FFT_TYPES)} or a jax.lax.FftType.")
        fft_type = _FFT_TYPES[fft_type.lower()]
    else:
        fft_type = FftType(fft_type)
    lengths = tuple(int(n) for n in fft_lengths)
    dtype = to_aval(x).dtype
    if fft_type == FftType.RFFT:
        target = canonicalize_dtype(dtype if np.issubdtype(dtype, np.inexact) else np.float64)
    else:
        target = canonicalize_dtype(_complex_dtype(dtype if np.issubdtype(dtype, np.inexact)
                                                   else np.float64))
    x = convert_element_type(x, target)
    if not lengths:
        return x  # XLA has no rank-0 FFT
    return fft_p.bind(x, fft_type=fft_type, fft_lengths=lengths)
