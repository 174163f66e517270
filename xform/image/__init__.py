"""``xform.image``: image resampling (JAX's ``jax.image``: ``resize``, ``scale_and_translate``,
``ResizeMethod``), built on ``xform.numpy``.

Every method but ``nearest`` is a separable linear map: for each resized axis a weight matrix
(input size x output size) is built from the method's kernel, normalised so each output
pixel's weights sum to one, and contracted with the image along that axis. Pixels are
half-centred (pixel ``i`` sits at ``i + 0.5``); with ``antialias`` the kernel is widened by the
downscaling factor, so shrinking an image averages instead of skipping pixels.
"""

from __future__ import annotations

import enum
import math
from typing import Any, Callable, Sequence

import numpy as np

import xform.numpy as xnp
from xform.core.trace import to_aval

__all__ = ["ResizeMethod", "resize", "scale_and_translate"]


class ResizeMethod(enum.Enum):
    """The resampling methods, as JAX's ``jax.image.ResizeMethod``."""

    NEAREST = 0
    LINEAR = 1
    LANCZOS3 = 2
    LANCZOS5 = 3
    CUBIC = 4
    CUBIC_PYTORCH = 5
    AREA = 6

    @staticmethod
    def from_string(s: str) -> "ResizeMethod":
        """The method a string names (JAX's spellings: ``"bilinear"``, ``"tricubic"``, ...)."""
        for method, names in _NAMES.items():
            if s in names:
                return method
        raise ValueError(f'Unknown resize method "{s}"')


_NAMES = {
    ResizeMethod.NEAREST: ("nearest",),
    ResizeMethod.LINEAR: ("linear", "bilinear", "trilinear", "triangle"),
    ResizeMethod.LANCZOS3: ("lanczos3",),
    ResizeMethod.LANCZOS5: ("lanczos5",),
    ResizeMethod.CUBIC: ("cubic", "bicubic", "tricubic"),
    ResizeMethod.CUBIC_PYTORCH: ("cubic-pytorch", "bicubic-pytorch"),
    ResizeMethod.AREA: ("area",),
}


# -- kernels: weight of a sample at distance x (in input pixels, x >= 0) ------------------------
def _triangle(x):
    return xnp.maximum(0, 1 - xnp.abs(x))


def _keys_cubic(x):  # Keys' cubic convolution, a = -0.5
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return xnp.where(x >= 2.0, 0.0, xnp.where(x >= 1.0, far, near))


def _opencv_cubic(x):  # a = -0.75, what PyTorch's bicubic uses
    a = -0.75
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    return xnp.where(x >= 2.0, 0.0, xnp.where(x >= 1.0, far, near))


def _lanczos(radius: float) -> Callable:
    def kernel(x):
        y = radius * xnp.sin(np.pi * x) * xnp.sin(np.pi * x / radius)
        # sinc(x) sinc(x / r) with its limit 1 near 0
        safe = xnp.where(x != 0, np.pi ** 2 * x ** 2, 1)
        out = xnp.where(x > 1e-3, y / safe, 1)
        return xnp.where(x > radius, 0.0, out)
    return kernel


_AREA = object()  # box overlap, computed from intervals rather than a kernel

_KERNELS = {
    ResizeMethod.LINEAR: (1, _triangle),
    ResizeMethod.LANCZOS3: (3, _lanczos(3.0)),
    ResizeMethod.LANCZOS5: (5, _lanczos(5.0)),
    ResizeMethod.CUBIC: (2, _keys_cubic),
    ResizeMethod.CUBIC_PYTORCH: (2, _opencv_cubic),
    ResizeMethod.AREA: (1, _AREA),
}

_TINY = 1000.0 * float(np.finfo(np.float32).eps)  # a weight sum below this counts as zero


def _normalise(w):
    total = xnp.sum(w, axis=0, keepdims=True)
    return xnp.where(xnp.abs(total) > _TINY, w / xnp.where(total != 0, total, 1), 0)


def _weights(in_size: int, out_size: int, scale, translation, kernel, antialias: bool,
             edge_padding: bool, radius: int, dtype) -> Any:
    """The (in_size, out_size) matrix mapping one axis of the input to the output."""
    inv_scale = 1.0 / scale
    # where output pixel j samples the input, in input pixel coordinates
    sample = (xnp.arange(out_size, dtype=dtype) + 0.5) * inv_scale - translation * inv_scale - 0.5
    kernel_scale = xnp.maximum(inv_scale, 1.0) if antialias else 1.0
    if not edge_padding:
        src = xnp.arange(in_size, dtype=dtype)
        if kernel is _AREA:  # the overlap of output pixel j's box with input pixel i
            left = xnp.arange(out_size, dtype=dtype) * inv_scale - translation * inv_scale
            w = xnp.maximum(0.0, xnp.minimum(left[None, :] + inv_scale, src[:, None] + 1.0)
                            - xnp.maximum(left[None, :], src[:, None]))
        else:
            w = kernel(xnp.abs(sample[None, :] - src[:, None]) / kernel_scale)
        w = _normalise(w)
        # output pixels that sample outside the input get nothing
        inside = (sample >= -0.5) & (sample <= in_size - 0.5)
        return xnp.where(inside[None, :], w, 0)
    # edge padding (PyTorch's cubic without antialias): taps beyond the border reuse the edge
    k = math.ceil(radius * max(1.0 / float(scale), 1.0)) if antialias else radius
    src = xnp.arange(-k, in_size + k, dtype=dtype)
    taps = kernel(xnp.abs(sample[None, :] - src[:, None]) / kernel_scale)
    rows = np.clip(np.arange(-k, in_size + k), 0, in_size - 1)
    w = xnp.zeros((in_size, out_size), dtype).at[rows].add(taps)
    return _normalise(w)


def _inexact(x):
    x = xnp.asarray(x)
    return x if xnp.issubdtype(x.dtype, xnp.inexact) else x.astype(xnp.result_type(x, 1.0))


def _method(method) -> ResizeMethod:
    return ResizeMethod.from_string(method) if isinstance(method, str) else method


def _check_shape(image, shape) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    if len(shape) != to_aval(image).ndim:
        raise ValueError("shape must have length equal to the number of dimensions of x; "
                         f" {shape} vs {tuple(to_aval(image).shape)}")
    return shape


def _apply(x, shape, spatial_dims, scales, translations, method, antialias, precision):
    if method == ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC
    radius, kernel = _KERNELS[method]
    edge_padding = method == ResizeMethod.CUBIC_PYTORCH and not antialias
    ndim = to_aval(x).ndim
    for d, s, t in zip(spatial_dims, scales, translations):
        d = d % ndim
        w = _weights(to_aval(x).shape[d], shape[d], s, t, kernel, antialias, edge_padding,
                     radius, to_aval(x).dtype).astype(to_aval(x).dtype)
        x = xnp.moveaxis(xnp.tensordot(x, w, axes=([d], [0]), precision=precision), -1, d)
    return x


def scale_and_translate(image: Any, shape: Sequence[int], spatial_dims: Sequence[int],
                        scale: Any, translation: Any, method: str | ResizeMethod,
                        antialias: bool = True, precision: Any = "highest") -> Any:
    """Resample ``image`` to ``shape``, mapping input location ``x`` of each axis in
    ``spatial_dims`` to ``x * scale + translation`` (as JAX's): output pixels whose sample
    falls outside the input are zero. ``method``: ``linear``, ``cubic``, ``cubic-pytorch``,
    ``lanczos3``, ``lanczos5``, ``area`` (not ``nearest``)."""
    shape = _check_shape(image, shape)
    method = _method(method)
    if method == ResizeMethod.NEAREST:
        raise ValueError("Nearest neighbor resampling is not currently supported for "
                         "scale_and_translate.")
    if len(spatial_dims) == 0:
        return image
    image = _inexact(image)
    scale, translation = _inexact(scale), _inexact(translation)
    dtype = xnp.result_type(scale, translation)
    scale, translation = scale.astype(dtype), translation.astype(dtype)
    return _apply(image, shape, spatial_dims, [scale[i] for i in range(len(spatial_dims))],
                  [translation[i] for i in range(len(spatial_dims))], method, antialias,
                  precision)


def _resize_nearest(x, shape):
    for d, (m, n) in enumerate(zip(to_aval(x).shape, shape)):
        if m == n:
            continue
        # JAX's rule: output pixel j takes input pixel floor((j + 0.5) * m / n)
        idx = np.floor(((np.arange(n, dtype=np.float32) + 0.5) * np.float32(m / n))
                       .astype(np.float32)).astype(np.int32)
        x = xnp.take(x, idx, axis=d)
    return x


def resize(image: Any, shape: Sequence[int], method: str | ResizeMethod,
           antialias: bool = True, precision: Any = "highest") -> Any:
    """``image`` resampled to ``shape`` (every axis; leave batch and channel sizes unchanged),
    as JAX's ``jax.image.resize``. ``method``: ``nearest`` (keeps the dtype), ``linear``,
    ``cubic``, ``cubic-pytorch``, ``lanczos3``, ``lanczos5``, ``area`` (these return a floating
    dtype). ``antialias`` widens the kernel when downsampling.

    >>> import xform.numpy as xnp
    >>> resize(xnp.array([0., 1.]), (4,), "linear")
    Array([0.  , 0.25, 0.75, 1.  ], dtype=float32)
    """
    shape = _check_shape(image, shape)
    method = _method(method)
    if method == ResizeMethod.NEAREST:
        return _resize_nearest(xnp.asarray(image), shape)
    image = _inexact(image)
    in_shape = to_aval(image).shape
    dims = [d for d in range(len(shape)) if in_shape[d] != shape[d]]
    scales = [1.0 if shape[d] == 0 else shape[d] / in_shape[d] for d in dims]
    return _apply(image, shape, dims, scales, [0.0] * len(dims), method, antialias, precision)
