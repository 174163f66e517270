"""``xform.nn.initializers``: jax.nn.initializers' functions, built on xform.random, so that the
same key gives the same (bit-identical) weights as JAX.

An initializer is a function ``init(key, shape, dtype=...) -> array``; the builders (``normal``,
``variance_scaling``, ``glorot_uniform``, ...) return one.

    >>> import xform
    >>> from xform.nn import initializers
    >>> initializers.glorot_uniform()(xform.random.key(0), (2, 3)).shape
    (2, 3)
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, Protocol, Sequence

import numpy as np

import xform.numpy as xnp
from xform import random
from xform.core.avals import canonicalize_dtype

__all__ = [
    "Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal",
    "lecun_uniform", "normal", "ones", "orthogonal", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
]


class Initializer(Protocol):
    """``init(key, shape, dtype=...) -> array``."""

    def __call__(self, key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
        ...


def _dtype(dtype: Any) -> np.dtype:
    # JAX's default_float_dtype: float32, or float64 with jax_enable_x64
    return canonicalize_dtype(np.float64 if dtype is None else dtype)


def _shape(shape: Any) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def zeros(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
    """An array of zeros (``key`` is ignored)."""
    return xnp.zeros(shape, _dtype(dtype))


def ones(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
    """An array of ones (``key`` is ignored)."""
    return xnp.ones(shape, _dtype(dtype))


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer of arrays full of ``value``."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        return xnp.full(shape, value, dtype=_dtype(dtype))

    return init


def uniform(scale: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer of values uniform in ``[0, scale)``."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        return random.uniform(key, shape, dtype) * xnp.array(scale, dtype)

    return init


def normal(stddev: Any = 1e-2, dtype: Any = None) -> Initializer:
    """An initializer of normal values with mean 0 and standard deviation ``stddev``."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        return random.normal(key, shape, dtype) * xnp.array(stddev, dtype)

    return init


def truncated_normal(stddev: Any = 1e-2, dtype: Any = None, lower: Any = -2.0,
                     upper: Any = 2.0) -> Initializer:
    """An initializer of normal values truncated to ``(lower, upper)`` before scaling by
    ``stddev`` (no variance correction, as JAX's)."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * xnp.array(stddev,
                                                                                    dtype)

    return init


def _axes_size(shape: tuple, axes: int | Sequence[int]) -> int:
    if isinstance(axes, (int, np.integer)):
        return shape[axes]
    return math.prod(shape[i] for i in axes)


def _compute_fans(shape: tuple, in_axis: int | Sequence[int] = -2,
                  out_axis: int | Sequence[int] = -1,
                  batch_axis: int | Sequence[int] = ()) -> tuple[float, float]:
    """Fan-in and fan-out of a weight shape: the in/out axes' sizes times the receptive field
    (the axes that are neither in, out nor batch)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         "weights tensor with default in_axis. Must be at least 2D or specify "
                         "in_axis explicitly.")
    in_size, out_size = _axes_size(shape, in_axis), _axes_size(shape, out_axis)
    batch_size = _axes_size(shape, batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.array(0, dtype).real.dtype


def _complex_uniform(key: Any, shape: tuple, dtype: np.dtype) -> Any:
    """Uniform on the unit-variance disk of the complex plane."""
    key_r, key_theta = random.split(key)
    real = _real_dtype(dtype)
    r = xnp.sqrt(2 * random.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * xnp.exp(1j * theta)


def _complex_truncated_normal(key: Any, upper: Any, shape: tuple, dtype: np.dtype) -> Any:
    """A centred complex normal of variance one, its modulus truncated to ``upper``."""
    key_r, key_theta = random.split(key)
    real = _real_dtype(dtype)
    t = ((1 - xnp.exp(xnp.array(-(upper ** 2), dtype)))
         * random.uniform(key_r, shape, real).astype(dtype))
    r = xnp.sqrt(-xnp.log(1 - t))
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * xnp.exp(1j * theta)


def variance_scaling(scale: Any,
                     mode: Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"],
                     distribution: Literal["truncated_normal", "normal", "uniform"],
                     in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                     batch_axis: int | Sequence[int] = (), dtype: Any = None) -> Initializer:
    """An initializer whose standard deviation is ``sqrt(scale / n)``, ``n`` the fan-in,
    fan-out, or their arithmetic or geometric mean (``mode``), drawn from ``distribution``
    (``"truncated_normal"``: truncated at 2 standard deviations, then corrected; ``"normal"``;
    ``"uniform"``: a uniform interval, or a disk for complex dtypes). Axes other than
    ``in_axis``, ``out_axis`` and ``batch_axis`` form the receptive field."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = _shape(shape)
        dtype = _dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        elif mode == "fan_geo_avg":
            denominator = (fan_in * fan_out) ** 0.5
        else:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        variance = xnp.array(scale / denominator, dtype=dtype)
        floating = np.issubdtype(dtype, np.floating)
        if distribution == "truncated_normal":
            if floating:  # 0.8796...: the standard deviation of a unit normal cut at +-2
                stddev = xnp.sqrt(variance) / xnp.array(.87962566103423978, dtype)
                return random.truncated_normal(key, -2, 2, shape, dtype) * stddev
            stddev = xnp.sqrt(variance) / xnp.array(.95311164380491208, dtype)
            return _complex_truncated_normal(key, 2, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * xnp.sqrt(variance)
        if distribution == "uniform":
            if floating:
                return random.uniform(key, shape, dtype, -1) * xnp.sqrt(3 * variance)
            return _complex_uniform(key, shape, dtype) * xnp.sqrt(variance)
        raise ValueError(f"invalid distribution for variance scaling initializer: "
                         f"{distribution}")

    return init


def _variance_scaling_family(scale: float, mode: str, distribution: str, name: str,
                             doc: str) -> Callable[..., Initializer]:
    def builder(in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                batch_axis: Sequence[int] = (), dtype: Any = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = doc
    return builder


glorot_uniform = _variance_scaling_family(
    1.0, "fan_avg", "uniform", "glorot_uniform",
    "Glorot (Xavier) uniform: ``variance_scaling(1.0, 'fan_avg', 'uniform')``.")
glorot_normal = _variance_scaling_family(
    1.0, "fan_avg", "truncated_normal", "glorot_normal",
    "Glorot (Xavier) normal: ``variance_scaling(1.0, 'fan_avg', 'truncated_normal')``.")
lecun_uniform = _variance_scaling_family(
    1.0, "fan_in", "uniform", "lecun_uniform",
    "LeCun uniform: ``variance_scaling(1.0, 'fan_in', 'uniform')``.")
lecun_normal = _variance_scaling_family(
    1.0, "fan_in", "truncated_normal", "lecun_normal",
    "LeCun normal: ``variance_scaling(1.0, 'fan_in', 'truncated_normal')``.")
he_uniform = _variance_scaling_family(
    2.0, "fan_in", "uniform", "he_uniform",
    "He (Kaiming) uniform: ``variance_scaling(2.0, 'fan_in', 'uniform')``.")
he_normal = _variance_scaling_family(
    2.0, "fan_in", "truncated_normal", "he_normal",
    "He (Kaiming) normal: ``variance_scaling(2.0, 'fan_in', 'truncated_normal')``.")
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def _orthogonal_matrix(key: Any, n: int, m: int, dtype: np.dtype) -> Any:
    """An ``n x m`` matrix with orthonormal rows or columns, uniform over them (QR of a normal
    matrix with the signs of R's diagonal folded in), drawn as ``jax.random.orthogonal``."""
    z = random.normal(key, (max(n, m), min(n, m)), dtype)
    q, r = xnp.linalg.qr(z)
    q = q * xnp.expand_dims(xnp.sign(xnp.diagonal(r, 0, -2, -1)), -2)
    return q.T if n < m else q


def orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """An initializer of (scaled) matrices with orthonormal rows or columns, whichever side is
    smaller; ``column_axis`` holds the columns, the other axes are flattened into rows."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = _shape(shape)
        dtype = _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return xnp.zeros(shape, dtype=dtype)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = _orthogonal_matrix(key, n_rows, n_cols, dtype)
        q = xnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        q = xnp.moveaxis(q, -1, column_axis)
        return xnp.array(scale, dtype) * q

    return init


def delta_orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """An initializer of delta-orthogonal convolution kernels (3D, 4D or 5D shapes): zero
    everywhere except an orthogonal matrix at the spatial centre."""

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = _shape(shape)
        dtype = _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return xnp.zeros(shape, dtype=dtype).at[centre].set(ortho)

    return init
