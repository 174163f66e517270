"""xform.numpy.fft: ``jax.numpy.fft``'s functions, built on the ``fft`` primitive
(``xform.lax.fft``), so they differentiate, batch and compile with its rules.

    >>> import xform.numpy as xnp
    >>> xnp.fft.fft(xnp.array([1.0, 0.0, 0.0, 0.0]))
    Array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=complex64)

``n``/``s`` crop or zero-pad the input along the transformed axes first; ``norm`` is
``"backward"`` (the default: the inverse transforms divide by the number of points),
``"ortho"`` (both directions scale by ``1/sqrt(n)``) or ``"forward"`` (the forward transforms
divide). XLA transforms at most three trailing axes at once; more axes are done in passes.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import numpy as np
from jax.lax import FftType

from xform.core.avals import canonicalize_dtype
from xform.core.trace import to_aval
from xform.lax.fft import fft as _lax_fft

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _np():
    import xform.numpy as xnp  # cycle: xform.numpy (the package) imports this module
    return xnp


def _norm_factor(func_name: str, s: Sequence[int], norm: str | None) -> float | None:
    """The number the result is multiplied by for ``norm`` (None: nothing to do)."""
    if norm is None or norm == "backward":
        return None
    n = float(np.prod(s)) if len(s) else 1.0
    inverse = func_name.startswith("i")
    if norm == "ortho":
        return float(np.sqrt(n)) if inverse else 1.0 / float(np.sqrt(n))
    if norm == "forward":
        return n if inverse else 1.0 / n
    raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')


def _fft_nd(x: Any, fft_type: FftType, s: Sequence[int]) -> Any:
    """The transform over the last ``len(s)`` axes, in passes of at most three axes."""
    xnp = _np()
    if len(s) <= 3:
        return _lax_fft(x, fft_type, tuple(s))
    k = 2 if len(s) == 4 else 3  # two 2-D passes rather than 3-D + 1-D
    nd = to_aval(x).ndim
    head = tuple(range(nd - len(s), nd - k))
    tail = tuple(range(nd - len(s) + k, nd))
    if fft_type in (FftType.FFT, FftType.RFFT):
        x = _lax_fft(x, fft_type, tuple(s)[-k:])
        x = xnp.moveaxis(x, head, tail)
        x = _fft_nd(x, FftType.FFT, s[:-k])
        return xnp.moveaxis(x, tail, head)
    x = xnp.moveaxis(x, head, tail)
    x = _fft_nd(x, FftType.IFFT, s[:-k])
    x = xnp.moveaxis(x, tail, head)
    return _lax_fft(x, fft_type, tuple(s)[-k:])


def _fft_core(func_name: str, fft_type: FftType, a: Any, s: Sequence[int] | None,
              axes: Sequence[int] | None, norm: str | None) -> Any:
    xnp = _np()
    full = f"xform.numpy.fft.{func_name}"
    arr = xnp.asarray(a)
    ndim = to_aval(arr).ndim
    if s is not None:
        s = tuple(operator.index(n) for n in s)
        if any(n <= 0 for n in s):
            raise ValueError("Shape should be positive.")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    given_axes = axes
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(ndim - len(s), ndim))
    else:
        axes = tuple(operator.index(ax) for ax in axes)
    if len(axes) != len({ax % max(ndim, 1) for ax in axes}):
        raise ValueError(f"{full} does not support repeated axes. Got axes {axes}.")
    # XLA transforms the innermost axes: move the requested ones there
    if given_axes is not None:
        inner = tuple(range(ndim - len(axes), ndim))
        arr = xnp.moveaxis(arr, axes, inner)
        axes = inner
    if s is not None:
        shape = list(to_aval(arr).shape)
        for ax, n in zip(axes, s):
            shape[ax] = n
        if fft_type == FftType.IRFFT:
            shape[-1] = shape[-1] // 2 + 1
        arr = arr[tuple(slice(n) for n in shape)]
        have = to_aval(arr).shape
        if tuple(have) != tuple(shape):
            arr = xnp.pad(arr, [(0, n - h) for n, h in zip(shape, have)])
    else:
        shape = to_aval(arr).shape
        s = [shape[ax] for ax in axes]
        if fft_type == FftType.IRFFT and axes:
            s[-1] = max(0, 2 * (shape[axes[-1]] - 1))
    out = _fft_nd(arr, fft_type, s)
    factor = _norm_factor(func_name, s, norm)
    if factor is not None:
        out = out * xnp.asarray(factor, dtype=np.finfo(to_aval(out).dtype).dtype)
    if given_axes is not None:
        out = xnp.moveaxis(out, axes, given_axes)
    return out


def _check_1d(func_name: str, axis: Any) -> None:
    if isinstance(axis, (list, tuple)):
        raise ValueError(f"xform.numpy.fft.{func_name} does not support multiple axes. Please "
                         f"use xform.numpy.fft.{func_name}n. Got axis = {axis!r}.")


def _fft_1d(func_name: str, fft_type: FftType, a: Any, n: int | None, axis: int | None,
            norm: str | None) -> Any:
    _check_1d(func_name, axis)
    return _fft_core(func_name, fft_type, a, None if n is None else [n],
                     None if axis is None else [axis], norm)


def _fft_2d(func_name: str, fft_type: FftType, a: Any, s: Sequence[int] | None,
            axes: Sequence[int], norm: str | None) -> Any:
    if len(axes) != 2:
        raise ValueError(f"xform.numpy.fft.{func_name} only supports 2 axes. Got axes = "
                         f"{axes!r}.")
    return _fft_core(func_name, fft_type, a, s, axes, norm)


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """1-D discrete Fourier transform along ``axis``, as ``jax.numpy.fft.fft``."""
    return _fft_1d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """1-D inverse discrete Fourier transform, as ``jax.numpy.fft.ifft``."""
    return _fft_1d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """1-D transform of a real signal (``n // 2 + 1`` outputs), as ``jax.numpy.fft.rfft``."""
    return _fft_1d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``rfft``: ``n`` (default ``2 * (m - 1)``) real outputs, as
    ``jax.numpy.fft.irfft``."""
    return _fft_1d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Transform of a signal with a Hermitian-symmetric spectrum (real output), as
    ``jax.numpy.fft.hfft``."""
    conj_a = _np().conj(a)
    _check_1d("hfft", axis)
    nn = (to_aval(conj_a).shape[axis] - 1) * 2 if n is None else n
    return _fft_1d("hfft", FftType.IRFFT, conj_a, n, axis, norm) * nn


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``hfft``, as ``jax.numpy.fft.ihfft``."""
    _check_1d("ihfft", axis)
    arr = _np().asarray(a)
    nn = to_aval(arr).shape[axis] if n is None else n
    out = _fft_1d("ihfft", FftType.RFFT, arr, n, axis, norm)
    return _np().conj(out) * (1 / nn)


def fftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Any:
    """N-D discrete Fourier transform over ``axes`` (default all), as
    ``jax.numpy.fft.fftn``."""
    return _fft_core("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """N-D inverse transform, as ``jax.numpy.fft.ifftn``."""
    return _fft_core("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """N-D transform of a real signal (the last axis halved), as ``jax.numpy.fft.rfftn``."""
    return _fft_core("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None) -> Any:
    """Inverse of ``rfftn``, as ``jax.numpy.fft.irfftn``."""
    return _fft_core("irfftn", FftType.IRFFT, a, s, axes, norm)


def fft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Any:
    """2-D transform over ``axes``, as ``jax.numpy.fft.fft2``."""
    return _fft_2d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Any:
    """2-D inverse transform, as ``jax.numpy.fft.ifft2``."""
    return _fft_2d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Any:
    """2-D transform of a real signal, as ``jax.numpy.fft.rfft2``."""
    return _fft_2d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Any:
    """Inverse of ``rfft2``, as ``jax.numpy.fft.irfft2``."""
    return _fft_2d("irfft2", FftType.IRFFT, a, s, axes, norm)


def _freq_args(name: str, n: Any, d: Any) -> None:
    if isinstance(n, (list, tuple)):
        raise ValueError(f"The n argument of xform.numpy.fft.{name} only takes an int. "
                         f"Got n = {list(n)}.")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"The d argument of xform.numpy.fft.{name} only takes a single "
                         f"value. Got d = {list(d)}.")


def fftfreq(n: int, d: Any = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of an ``n``-point ``fft`` with sample spacing ``d``, as
    ``jax.numpy.fft.fftfreq``."""
    _freq_args("fftfreq", n, d)
    xnp = _np()
    out_dtype = canonicalize_dtype(dtype if dtype is not None else np.float64)
    inexact = out_dtype if np.issubdtype(out_dtype, np.inexact) else canonicalize_dtype(np.float64)
    real = np.finfo(inexact).dtype
    i = xnp.arange(n, dtype=real)
    k = (i + n // 2) % n - n // 2
    return (k / xnp.asarray(d * n, dtype=real)).astype(out_dtype)


def rfftfreq(n: int, d: Any = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of an ``n``-point ``rfft`` (``n // 2 + 1`` of them), as
    ``jax.numpy.fft.rfftfreq``."""
    _freq_args("rfftfreq", n, d)
    xnp = _np()
    dtype = canonicalize_dtype(dtype if dtype is not None else np.float64)
    k = xnp.arange(0, n // 2 + 1, dtype=dtype)
    return k / xnp.asarray(d * n, dtype=dtype)


def _shift(x: Any, axes: Any, sign: int) -> Any:
    xnp = _np()
    x = xnp.asarray(x)
    shape = to_aval(x).shape
    if axes is None:
        axes = tuple(range(len(shape)))
        shift = [sign * (dim // 2) for dim in shape]
    elif isinstance(axes, int):
        shift = sign * (shape[axes] // 2)
    else:
        shift = [sign * (shape[ax] // 2) for ax in axes]
    return xnp.roll(x, shift, axes)


def fftshift(x: Any, axes: None | int | Sequence[int] = None) -> Any:
    """Move the zero-frequency entry to the middle, as ``jax.numpy.fft.fftshift``."""
    return _shift(x, axes, 1)


def ifftshift(x: Any, axes: None | int | Sequence[int] = None) -> Any:
    """The inverse of ``fftshift``, as ``jax.numpy.fft.ifftshift``."""
    return _shift(x, axes, -1)
