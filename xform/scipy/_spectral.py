"""Spectral functions of ``jax.scipy.signal``: ``fftconvolve``, ``detrend``, ``stft``, ``istft``,
``csd`` and ``welch``, on xform.numpy.fft, with JAX's conventions (the Hann window by default,
SciPy's scalings, boundary extensions and padding), so values agree with JAX's.
"""

from __future__ import annotations

import importlib
import operator
import warnings
from typing import Any, Callable, Sequence

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.scipy._special_dist import promote_inexact

__all__ = ["csd", "detrend", "fftconvolve", "istft", "stft", "welch"]


def _complex_dtype(dtype: Any) -> np.dtype:
    return np.result_type(dtype, np.complex64)


def _axis(axis: int, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


# -- fftconvolve -----------------------------------------------------------------------------
def fftconvolve(in1: Any, in2: Any, mode: str = "full", axes: Sequence[int] | None = None) -> Any:
    """The convolution of ``in1`` and ``in2`` through FFTs (``rfftn`` for real inputs), over
    ``axes`` (all by default; the other axes must match and are paired elementwise)."""
    in1, in2 = promote_inexact(in1, in2)
    if in1.ndim != in2.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in ("same", "full", "valid"):
        raise ValueError("mode must be one of ['same', 'full', 'valid']")
    if axes is None:
        axes = tuple(range(in1.ndim))
    else:
        axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
        axes = tuple(sorted({_axis(a, in1.ndim) for a in axes}))
        mapped = [i for i in range(in1.ndim) if i not in axes]
        if any(in1.shape[i] != in2.shape[i] for i in mapped):
            raise ValueError(f"mapped axes must have same shape; got in1.shape={in1.shape} "
                             f"in2.shape={in2.shape} axes={axes}")
    s1 = [in1.shape[a] for a in axes]
    s2 = [in2.shape[a] for a in axes]
    if mode == "valid":
        no_swap = all(a >= b for a, b in zip(s1, s2))
        swap = all(a <= b for a, b in zip(s1, s2))
        if not (no_swap or swap):
            raise ValueError("For 'valid' mode, One input must be at least as large as the other "
                             "in every dimension.")
        if swap:
            in1, in2, s1, s2 = in2, in1, s2, s1
    full = [a + b - 1 for a, b in zip(s1, s2)]
    if all(a == 1 or b == 1 for a, b in zip(s1, s2)):
        conv = in1 * in2
    else:
        if np.issubdtype(in1.dtype, np.complexfloating):
            fft, ifft = xnp.fft.fftn, xnp.fft.ifftn
        else:
            fft, ifft = xnp.fft.rfftn, xnp.fft.irfftn
        conv = ifft(fft(in1, full, axes) * fft(in2, full, axes), full, axes)
    out = {"full": full, "same": s1, "valid": [a - b + 1 for a, b in zip(s1, s2)]}[mode]
    start = [0] * conv.ndim
    size = list(conv.shape)
    for a, f, o in zip(axes, full, out):
        start[a], size[a] = (f - o) // 2, o
    return lax.dynamic_slice(conv, start, size)


# -- detrend ---------------------------------------------------------------------------------
def detrend(data: Any, axis: int = -1, type: str = "linear", bp: Any = 0,  # noqa: A002
            overwrite_data: Any = None) -> Any:
    """``data`` minus its mean (``type='constant'``) or minus a least-squares line fitted on
    each piece between the breakpoints ``bp`` ('linear')."""
    if overwrite_data is not None:
        raise NotImplementedError("overwrite_data argument not implemented.")
    if type not in ("constant", "linear"):
        raise ValueError("Trend type must be 'linear' or 'constant'.")
    (x,) = promote_inexact(xnp.asarray(data))
    if type == "constant":
        return x - x.mean(axis, keepdims=True)
    n = x.shape[axis]
    breaks = np.sort(np.unique(np.r_[0, bp, n]))
    if breaks[0] < 0 or breaks[-1] > n:
        raise ValueError("Breakpoints must be non-negative and less than length of data along "
                         "given axis.")
    x = xnp.moveaxis(x, axis, 0)
    shape = x.shape
    x = x.reshape(n, -1)
    for lo, hi in zip(breaks[:-1], breaks[1:]):
        npts = hi - lo
        design = xnp.vstack([xnp.ones(npts, dtype=x.dtype),
                             xnp.arange(1, npts + 1, dtype=x.dtype)
                             / np.asarray(npts).astype(x.dtype)]).T
        coef, *_ = xnp.linalg.lstsq(design, x[lo:hi])
        x = x.at[lo:hi].add(-xnp.matmul(design, coef, precision=lax.Precision.HIGHEST))
    return xnp.moveaxis(x.reshape(shape), 0, axis)


# -- the windowed-FFT machinery --------------------------------------------------------------
def _hann(n: int) -> Any:
    if n == 1:
        return xnp.array([1.0])
    return xnp.sin(xnp.linspace(0, np.pi, n, endpoint=False)) ** 2


def _scipy_window(window: Any, n: int) -> np.ndarray:
    """A named window of SciPy's (an optional dependency, loaded only when asked for)."""
    try:
        signal = importlib.import_module("scipy.signal")
    except ImportError as err:
        raise ImportError(f"scipy must be available to use window={window!r}") from err
    return signal.get_window(window, n)


def _window(window: Any, nperseg: int | None, input_length: int, dtype: Any) -> tuple:
    """The window array and the segment length, as JAX's ``_triage_segments``."""
    if isinstance(window, (str, tuple)):
        n = input_length if nperseg is None else int(nperseg)
        if n > input_length:
            warnings.warn(f"nperseg={n} is greater than input_length={input_length}, using "
                          f"nperseg={input_length}", stacklevel=3)
            n = input_length
        if isinstance(window, str) and window == "hann":
            win = _hann(n)
        else:
            win = _scipy_window(window, n)
        return xnp.array(win, dtype=dtype), n
    win = xnp.asarray(window, dtype=dtype)
    n = win.size if nperseg is None else int(nperseg)
    if win.ndim != 1:
        raise ValueError("window must be 1-D")
    if input_length < win.size:
        raise ValueError("window is longer than input signal")
    if n != win.size:
        raise ValueError("value specified for nperseg is different from length of window")
    return win, n


def _segments_fft(x: Any, win: Any, detrend_func: Callable, nperseg: int, noverlap: int,
                  nfft: int, sides: str) -> Any:
    """The windowed FFT of each segment: ``[..., n_segments, n_freqs]``."""
    if x.dtype.kind == "i":
        x = x.astype(win.dtype)
    length = x.shape[-1]
    if nperseg == 1 and noverlap == 0:
        segs = x[..., None]
    else:
        starts = np.arange(0, length - nperseg + 1, nperseg - noverlap)
        segs = x[..., starts[:, None] + np.arange(nperseg)[None, :]]
    segs = detrend_func(segs)
    if np.issubdtype(win.dtype, np.complexfloating):
        segs = segs.astype(np.result_type(segs.dtype, np.complex64))
    segs = win.reshape((1,) * (x.ndim - 1) + (1, nperseg)) * segs
    if sides == "twosided":
        return xnp.fft.fft(segs, n=nfft)
    return xnp.fft.rfft(segs.real, n=nfft)


def _odd_ext(x: Any, n: int, axis: int = -1) -> Any:
    if n < 1:
        return x
    if n > x.shape[axis] - 1:
        raise ValueError(f"The extension length n ({n}) is too big. It must not exceed "
                         f"x.shape[axis]-1, which is {x.shape[axis] - 1}.")
    left_end = lax.slice_in_dim(x, 0, 1, axis=axis)
    left = xnp.flip(lax.slice_in_dim(x, 1, n + 1, axis=axis), axis=axis)
    right_end = lax.slice_in_dim(x, x.shape[axis] - 1, None, axis=axis)
    right = xnp.flip(lax.slice_in_dim(x, x.shape[axis] - n - 1, x.shape[axis] - 1, axis=axis),
                     axis=axis)
    return xnp.concatenate((2 * left_end - left, x, 2 * right_end - right), axis=axis)


def _pad_fn(mode: str, **kwargs: Any) -> Callable:
    def pad(x, n, axis=-1):
        width = [(0, 0)] * x.ndim
        width[axis] = (n, n)
        return xnp.pad(x, width, mode, **kwargs)
    return pad


_BOUNDARIES: dict = {
    "even": _pad_fn("reflect"), "odd": _odd_ext, "constant": _pad_fn("edge"),
    "zeros": _pad_fn("constant", constant_values=0.0), None: lambda x, *a, **k: x,
}


def _spectral(x: Any, y: Any, fs: Any = 1.0, window: Any = "hann", nperseg: int | None = None,
              noverlap: int | None = None, nfft: int | None = None,
              detrend_type: Any = "constant", return_onesided: bool = True,
              scaling: str = "density", axis: int = -1, mode: str = "psd",
              boundary: str | None = None, padded: bool = False) -> tuple:
    """SciPy's ``_spectral_helper``: frequencies, segment times and the per-segment spectra
    (the cross spectrum when ``y`` is given)."""
    if mode not in ("psd", "stft"):
        raise ValueError(f"Unknown value for mode {mode}, must be one of: ('psd', 'stft')")
    if boundary not in _BOUNDARIES:
        raise ValueError(f"Unknown boundary option '{boundary}', must be one of: "
                         f"{list(_BOUNDARIES.keys())}")
    x = xnp.asarray(x)
    axis = _axis(axis, x.ndim)
    if y is None:
        (x,) = promote_inexact(x)
        outer = x.shape[:axis] + x.shape[axis + 1:]
    else:
        if mode != "psd":
            raise ValueError("two-argument mode is available only when mode=='psd'")
        x, y = promote_inexact(x, y)
        if x.ndim != y.ndim:
            raise ValueError(f"two-arguments must have the same rank ({x.ndim} vs {y.ndim}).")
        try:
            outer = np.broadcast_shapes(x.shape[:axis] + x.shape[axis + 1:],
                                        y.shape[:axis] + y.shape[axis + 1:])
        except ValueError as err:
            raise ValueError("x and y cannot be broadcast together.") from err
    result_dtype = _complex_dtype(x.dtype)
    freq_dtype = np.finfo(result_dtype).dtype
    if nperseg is not None:
        nperseg = int(nperseg)
        if nperseg < 1:
            raise ValueError("nperseg must be a positive integer")
    win, nperseg = _window(window, nperseg, x.shape[axis], x.dtype)
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    nfft = nperseg if nfft is None else int(nfft)
    if x.size == 0 or (y is not None and y.size == 0):
        shape = x.shape if y is None else (outer[:axis] + (min(x.shape[axis], y.shape[axis]),)
                                           + outer[axis:])
        return (xnp.zeros(shape, freq_dtype), xnp.zeros(shape, freq_dtype),
                xnp.zeros(shape, result_dtype))
    x = xnp.moveaxis(x, axis, -1)
    if y is not None and y.ndim > 1:
        y = xnp.moveaxis(y, axis, -1)
    if y is not None and x.shape[-1] != y.shape[-1]:
        if x.shape[-1] < y.shape[-1]:
            x = xnp.concatenate((x, xnp.zeros(x.shape[:-1] + (y.shape[-1] - x.shape[-1],),
                                              x.dtype)), -1)
        else:
            y = xnp.concatenate((y, xnp.zeros(y.shape[:-1] + (x.shape[-1] - y.shape[-1],),
                                              x.dtype)), -1)
    if nfft < nperseg:
        raise ValueError("nfft must be greater than or equal to nperseg.")
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg - noverlap
    if boundary is not None:
        x = _BOUNDARIES[boundary](x, nperseg // 2, axis=-1)
        if y is not None:
            y = _BOUNDARIES[boundary](y, nperseg // 2, axis=-1)
    if padded:
        nadd = (-(x.shape[-1] - nperseg) % nstep) % nperseg
        x = xnp.concatenate((x, xnp.zeros(x.shape[:-1] + (nadd,), x.dtype)), axis=-1)
        if y is not None:
            y = xnp.concatenate((y, xnp.zeros(y.shape[:-1] + (nadd,), x.dtype)), axis=-1)
    if isinstance(detrend_type, str):
        def detrend_func(d):
            return detrend(d, type=detrend_type, axis=-1)
    elif callable(detrend_type):
        detrend_func = detrend_type
        if axis != -1:
            def detrend_func(d):
                return xnp.moveaxis(detrend_type(xnp.moveaxis(d, axis, -1)), -1, axis)
    elif not detrend_type:
        def detrend_func(d):
            return d
    else:
        raise ValueError(f"Unsupported detrend type: {detrend_type}")
    if scaling == "density":
        scale = 1.0 / (fs * (win * win).sum())
    elif scaling == "spectrum":
        scale = 1.0 / win.sum() ** 2
    else:
        raise ValueError(f"Unknown scaling: {scaling}")
    if mode == "stft":
        scale = xnp.sqrt(scale)
    scale = xnp.asarray(scale)
    scale = scale.astype(_complex_dtype(scale.dtype))
    sides = "onesided" if return_onesided else "twosided"
    if return_onesided and (xnp.iscomplexobj(x) or (y is not None and xnp.iscomplexobj(y))):
        sides = "twosided"
        warnings.warn("Input data is complex, switching to return_onesided=False",
                      stacklevel=3)
    if sides == "twosided":
        freqs = xnp.fft.fftfreq(nfft, 1 / fs, dtype=freq_dtype)
    else:
        freqs = xnp.fft.rfftfreq(nfft, 1 / fs, dtype=freq_dtype)
    result = _segments_fft(x, win, detrend_func, nperseg, noverlap, nfft, sides)
    if y is not None:
        result = xnp.conjugate(result) * _segments_fft(y, win, detrend_func, nperseg,
                                                       noverlap, nfft, sides)
    elif mode == "psd":
        result = xnp.conjugate(result) * result
    result = result * scale
    if sides == "onesided" and mode == "psd":
        end = None if nfft % 2 else -1
        result = result.at[..., 1:end].multiply(2)
    time = xnp.arange(nperseg / 2, x.shape[-1] - nperseg / 2 + 1, nperseg - noverlap,
                      dtype=freq_dtype) / fs
    if boundary is not None:
        time = time - (nperseg / 2) / fs
    result = result.astype(result_dtype)
    if y is None and mode != "stft":
        result = result.real
    return freqs, time, xnp.moveaxis(result, -1, axis)


def stft(x: Any, fs: Any = 1.0, window: Any = "hann", nperseg: int = 256,
         noverlap: int | None = None, nfft: int | None = None, detrend: Any = False,
         return_onesided: bool = True, boundary: str | None = "zeros", padded: bool = True,
         axis: int = -1) -> tuple:
    """The short-time Fourier transform: ``(freqs, times, Zxx)``, as ``scipy.signal.stft``."""
    return _spectral(x, None, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                     scaling="spectrum", axis=axis, mode="stft", boundary=boundary,
                     padded=padded)


def _median_bias(n: int) -> Any:
    ii_2 = xnp.arange(2.0, n, 2)
    return 1 + xnp.sum(1.0 / (ii_2 + 1) - 1.0 / ii_2)


def csd(x: Any, y: Any, fs: Any = 1.0, window: Any = "hann", nperseg: int | None = None,
        noverlap: int | None = None, nfft: int | None = None, detrend: Any = "constant",
        return_onesided: bool = True, scaling: str = "density", axis: int = -1,
        average: str = "mean") -> tuple:
    """The cross power spectral density of ``x`` and ``y`` by Welch's method (segments
    averaged by ``average``, 'mean' or 'median'): ``(freqs, Pxy)``."""
    freqs, _, pxy = _spectral(x, y, fs, window, nperseg, noverlap, nfft, detrend,
                              return_onesided, scaling, axis, mode="psd")
    if y is not None:
        pxy = pxy + 0j   # complex even when y is x
    if pxy.ndim >= 2 and pxy.size > 0:
        if pxy.shape[-1] > 1:
            if average == "median":
                bias = _median_bias(pxy.shape[-1]).astype(pxy.dtype)
                if xnp.iscomplexobj(pxy):
                    pxy = (xnp.median(xnp.real(pxy), axis=-1)
                           + 1j * xnp.median(xnp.imag(pxy), axis=-1))
                else:
                    pxy = xnp.median(pxy, axis=-1)
                pxy = pxy / bias
            elif average == "mean":
                pxy = pxy.mean(axis=-1)
            else:
                raise ValueError(f'average must be "median" or "mean", got {average}')
        else:
            pxy = xnp.reshape(pxy, pxy.shape[:-1])
    return freqs, pxy


def welch(x: Any, fs: Any = 1.0, window: Any = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, detrend: Any = "constant",
          return_onesided: bool = True, scaling: str = "density", axis: int = -1,
          average: str = "mean") -> tuple:
    """The power spectral density of ``x`` by Welch's method: ``(freqs, Pxx)``."""
    freqs, pxx = csd(x, None, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap,
                     nfft=nfft, detrend=detrend, return_onesided=return_onesided,
                     scaling=scaling, axis=axis, average=average)
    return freqs, pxx.real


def _overlap_and_add(x: Any, step: int) -> Any:
    """Sum the frames ``x[..., i, :]`` placed ``step`` apart: ``[..., frames, length]`` to
    ``[..., step * (frames - 1) + length]``, with reshapes and one sum (no scatter)."""
    if x.ndim < 2:
        raise ValueError("Input must have (..., frames, frame_length) shape.")
    *batch, nframes, seg_len = x.shape
    flat = int(np.prod(batch)) if batch else 1
    x = x.reshape((flat, nframes, seg_len))
    out_size = step * (nframes - 1) + seg_len
    per_seg = 1 + (seg_len - 1) // step
    x = xnp.pad(x, ((0, 0), (0, 0), (0, per_seg * step - seg_len)))
    x = x.reshape((flat, nframes, per_seg, step)).transpose((0, 2, 1, 3))
    x = xnp.pad(x, ((0, 0), (0, 0), (0, nframes), (0, 0)))
    shrunk = x.shape[2] - 1
    x = x.reshape((flat, -1))[:, :per_seg * shrunk * step]
    x = x.reshape((flat, per_seg, shrunk * step)).sum(axis=1)[:, :out_size]
    return x.reshape(tuple(batch) + (-1,))


def istft(Zxx: Any, fs: Any = 1.0, window: Any = "hann", nperseg: int | None = None,  # noqa: N803
          noverlap: int | None = None, nfft: int | None = None, input_onesided: bool = True,
          boundary: bool = True, time_axis: int = -1, freq_axis: int = -2) -> tuple:
    """The inverse short-time Fourier transform (overlap-add of the windowed inverse FFTs):
    ``(times, x)``."""
    z = xnp.asarray(Zxx)
    if z.ndim < 2:
        raise ValueError("Input stft must be at least 2d!")
    freq_axis, time_axis = _axis(freq_axis, z.ndim), _axis(time_axis, z.ndim)
    if freq_axis == time_axis:
        raise ValueError("Must specify differing time and frequency axes!")
    z = z.astype(_complex_dtype(z.dtype))
    n_default = 2 * (z.shape[freq_axis] - 1) if input_onesided else z.shape[freq_axis]
    nperseg = int(nperseg or n_default)
    if nperseg < 1:
        raise ValueError("nperseg must be a positive integer")
    if nfft is None:
        nfft_len = n_default + (1 if input_onesided and nperseg == n_default + 1 else 0)
    else:
        nfft_len = int(nfft)
    if nfft_len < nperseg:
        raise ValueError(f"FFT length ({nfft_len}) must be longer than nperseg ({nperseg}).")
    noverlap = int(noverlap or nperseg // 2)
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    nstep = nperseg - noverlap
    if time_axis != z.ndim - 1 or freq_axis != z.ndim - 2:
        outer = tuple(i for i in range(z.ndim) if i not in {time_axis, freq_axis})
        z = xnp.transpose(z, outer + (freq_axis, time_axis))
    ifunc = xnp.fft.irfft if input_onesided else xnp.fft.ifft
    xsubs = ifunc(z, axis=-2, n=nfft)[..., :nperseg, :]
    if isinstance(window, str) and window == "hann":
        win = _hann(nperseg).astype(xsubs.dtype)
    elif isinstance(window, (str, tuple)):
        win = xnp.array(_scipy_window(window, nperseg), dtype=xsubs.dtype)
    else:
        win = xnp.asarray(window)
        if win.ndim != 1:
            raise ValueError("window must be 1-D")
        if win.shape[0] != nperseg:
            raise ValueError(f"window must have length of {nperseg}")
    xsubs = xsubs * win.sum()   # undoes the 'spectrum' scaling
    win = lax.expand_dims(win, (*range(xsubs.ndim - 2), xsubs.ndim - 1))
    x = _overlap_and_add(xnp.swapaxes(xsubs * win, -2, -1), nstep)
    win_sq = xnp.repeat(win * win, xsubs.shape[-1], axis=-1)
    norm = _overlap_and_add(xnp.swapaxes(win_sq, -2, -1), nstep)
    if boundary:
        half = nperseg // 2
        x = x[..., half:-half]        # nperseg == 1 leaves nothing, as in JAX
        norm = norm[..., half:-half]
    x = x / xnp.where(norm > 1e-10, norm, 1.0)
    if x.ndim > 1 and time_axis != z.ndim - 1:
        if freq_axis < time_axis:
            time_axis -= 1
        x = xnp.moveaxis(x, -1, time_axis)
    time = xnp.arange(x.shape[0], dtype=np.finfo(x.dtype).dtype) / fs
    return time, x
