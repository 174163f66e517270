"""Layers: Linear, Conv2d, pooling, Dropout, LayerNorm, Embedding, Sequential, Lambda, MLP.

Each layer is a ``Module`` working on ONE example (a vector, or a (C, H, W) image); batches and
ensembles come from ``xform.vmap``. Parameters are initialised from a keyword-only ``key``
(an ``xform.random`` key), so a model is reproducible from one seed.

    >>> import xform
    >>> from xform import nn
    >>> key1, key2 = xform.random.split(xform.random.key(0))
    >>> model = nn.Sequential([nn.Linear(3, 8, key=key1), nn.Lambda(nn.relu),
    ...                        nn.Linear(8, 2, key=key2)])
    >>> model(xform.numpy.ones(3)).shape
    (2,)
    >>> xform.vmap(model)(xform.numpy.ones((5, 3))).shape   # a batch of five
    (5, 2)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform import random
from xform.nn._module import Module, static_field
from xform.nn.functions import relu

__all__ = ["Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Dropout", "LayerNorm", "Embedding",
           "Sequential", "Lambda", "MLP", "Identity"]

Array = Any


def _pair(name: str, value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}.")
    return value


def _padding(padding: Any) -> Any:
    """"VALID"/"SAME", an int, a pair of ints, or two (low, high) pairs -> lax's padding."""
    if isinstance(padding, str):
        return padding.upper()
    if isinstance(padding, (int, np.integer)):
        return ((int(padding),) * 2,) * 2
    padding = tuple(padding)
    if all(isinstance(p, (int, np.integer)) for p in padding):
        return tuple((int(p), int(p)) for p in _pair("padding", padding))
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def _uniform_init(key: Any, shape: tuple, bound: float, dtype: Any) -> Array:
    return random.uniform(key, shape, dtype, minval=-bound, maxval=bound)


def _check_example(name: str, x: Any, ndim: int, what: str) -> None:
    if xnp.ndim(x) != ndim:
        raise ValueError(
            f"{name} works on one example, a {what} ({ndim}-d), but got an input of shape "
            f"{tuple(xnp.shape(x))}. For a batch, map it over the leading axis: "
            f"xform.vmap(layer)(x).")


class Identity(Module):
    """Returns its input unchanged."""

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        return x


class Linear(Module):
    """``weight @ x + bias`` on one vector ``x`` of shape ``(in_features,)``.

    Parameters start uniform in ``±1/sqrt(in_features)`` (PyTorch's and Equinox's choice).
    """

    weight: Array
    bias: Array | None
    in_features: int = static_field()
    out_features: int = static_field()
    use_bias: bool = static_field()

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True,
                 dtype: Any = None, key: Any) -> None:
        wkey, bkey = random.split(key)
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        dtype = dtype or xnp.float32
        self.weight = _uniform_init(wkey, (out_features, in_features), bound, dtype)
        self.bias = _uniform_init(bkey, (out_features,), bound, dtype) if use_bias else None
        self.in_features, self.out_features, self.use_bias = in_features, out_features, use_bias

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        _check_example("Linear", x, 1, "vector")
        y = self.weight @ x
        return y + self.bias if self.bias is not None else y


class Conv2d(Module):
    """2-d convolution of one image ``(in_channels, H, W)`` -> ``(out_channels, H', W')``.

    ``padding`` is ``"VALID"``, ``"SAME"``, an int, a pair of ints or two (low, high) pairs.
    """

    weight: Array
    bias: Array | None
    in_channels: int = static_field()
    out_channels: int = static_field()
    kernel_size: tuple[int, int] = static_field()
    stride: tuple[int, int] = static_field()
    padding: Any = static_field()
    use_bias: bool = static_field()

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: Any = "VALID", *,
                 use_bias: bool = True, dtype: Any = None, key: Any) -> None:
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = _pair("stride", stride)
        self.padding = _padding(padding)
        wkey, bkey = random.split(key)
        bound = 1.0 / math.sqrt(in_channels * math.prod(self.kernel_size))
        dtype = dtype or xnp.float32
        self.weight = _uniform_init(wkey, (out_channels, in_channels, *self.kernel_size), bound,
                                    dtype)
        self.bias = (_uniform_init(bkey, (out_channels, 1, 1), bound, dtype) if use_bias
                     else None)
        self.in_channels, self.out_channels, self.use_bias = in_channels, out_channels, use_bias

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        _check_example("Conv2d", x, 3, "(C, H, W) image")
        # lax wants a batch axis; under vmap the batching rule folds the real batch into it.
        y = lax.conv_general_dilated(lax.expand_dims(x, (0,)), self.weight, self.stride,
                                     self.padding)
        y = lax.squeeze(y, (0,))
        return y + self.bias if self.bias is not None else y


class _Pool2d(Module):
    kernel_size: tuple[int, int] = static_field()
    stride: tuple[int, int] = static_field()
    padding: Any = static_field()

    def __init__(self, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: Any = "VALID") -> None:
        self.kernel_size = _pair("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _pair("stride", stride)
        padding = _padding(padding)
        self.padding = padding if isinstance(padding, str) else ((0, 0),) + padding

    def _window(self, x: Array, init: Any, computation: Any) -> Array:
        _check_example(type(self).__name__, x, 3, "(C, H, W) image")
        return lax.reduce_window(x, init, computation, (1, *self.kernel_size),
                                 (1, *self.stride), self.padding)


class MaxPool2d(_Pool2d):
    """Max over each ``kernel_size`` window of one ``(C, H, W)`` image; ``stride`` defaults to
    ``kernel_size``."""

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        return self._window(x, -np.inf, lax.max)


class AvgPool2d(_Pool2d):
    """Mean over each ``kernel_size`` window of one ``(C, H, W)`` image (padding counts as
    zeros); ``stride`` defaults to ``kernel_size``."""

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        return self._window(x, 0.0, lax.add) / math.prod(self.kernel_size)


class Dropout(Module):
    """Zero each entry with probability ``p`` and scale the rest by ``1/(1-p)``.

    Random, so it takes a ``key`` when called. It is the identity when ``inference=True``
    (set at construction or per call) or ``p == 0``.
    """

    p: float = static_field(default=0.5)
    inference: bool = static_field(default=False)

    def __post_check__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"Dropout p must be in [0, 1], got {self.p}.")

    def __call__(self, x: Array, *, key: Any = None, inference: bool | None = None) -> Array:
        inference = self.inference if inference is None else inference
        if inference or self.p == 0.0:
            return x
        if key is None:
            raise ValueError("Dropout needs a key when it is not in inference mode: call it as "
                             "layer(x, key=key), or build it with Dropout(p, inference=True).")
        if self.p == 1.0:
            return xnp.zeros_like(x)
        keep = random.bernoulli(key, 1.0 - self.p, xnp.shape(x))
        return xnp.where(keep, x / (1.0 - self.p), 0)


class LayerNorm(Module):
    """Normalise the trailing ``shape`` axes to mean 0 and variance 1, then scale and shift."""

    weight: Array | None
    bias: Array | None
    shape: tuple[int, ...] = static_field()
    eps: float = static_field()

    def __init__(self, shape: int | Sequence[int], eps: float = 1e-5, *,
                 use_weight: bool = True, use_bias: bool = True, dtype: Any = None) -> None:
        self.shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self.eps = eps
        dtype = dtype or xnp.float32
        self.weight = xnp.ones(self.shape, dtype) if use_weight else None
        self.bias = xnp.zeros(self.shape, dtype) if use_bias else None

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        if tuple(xnp.shape(x)[xnp.ndim(x) - len(self.shape):]) != self.shape:
            raise ValueError(f"LayerNorm over trailing shape {self.shape} got an input of shape "
                             f"{tuple(xnp.shape(x))}.")
        axes = tuple(range(xnp.ndim(x) - len(self.shape), xnp.ndim(x)))
        mean = xnp.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = xnp.mean(centred * centred, axis=axes, keepdims=True)
        y = centred * lax.rsqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class Embedding(Module):
    """A table of ``num_embeddings`` vectors; ``layer(i)`` is row ``i`` (``i`` may be an array
    of indices). Rows start standard normal."""

    weight: Array
    num_embeddings: int = static_field()
    embedding_size: int = static_field()

    def __init__(self, num_embeddings: int, embedding_size: int, *, dtype: Any = None,
                 key: Any) -> None:
        self.weight = random.normal(key, (num_embeddings, embedding_size),
                                    dtype or xnp.float32)
        self.num_embeddings, self.embedding_size = num_embeddings, embedding_size

    def __call__(self, index: Array, *, key: Any = None) -> Array:
        return xnp.take(self.weight, index, axis=0)


class Lambda(Module):
    """Wrap a parameter-free function (an activation, a reshape) as a layer."""

    fn: Callable[..., Array] = static_field()

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        return self.fn(x)


def _accepts_key(layer: Any) -> bool:
    try:
        return "key" in inspect.signature(layer).parameters
    except (TypeError, ValueError):
        return False


class Sequential(Module):
    """Apply ``layers`` in order. A ``key`` given to the call is split among the layers (for
    Dropout)."""

    layers: tuple

    def __init__(self, layers: Sequence[Callable]) -> None:
        self.layers = tuple(layers)

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        keys = ([None] * len(self.layers) if key is None
                else list(random.split(key, len(self.layers))))
        for layer, k in zip(self.layers, keys):
            x = layer(x, key=k) if k is not None and _accepts_key(layer) else layer(x)
        return x

    def __getitem__(self, i: int | slice) -> Any:
        return Sequential(self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


def _identity(x: Array) -> Array:
    return x


class MLP(Module):
    """A multi-layer perceptron: ``depth`` hidden layers of ``width_size``, as Equinox's.

    ``depth=0`` is a single Linear layer. ``activation`` follows every hidden layer,
    ``final_activation`` the output layer.
    """

    layers: tuple
    activation: Callable = static_field()
    final_activation: Callable = static_field()
    in_size: int = static_field()
    out_size: int = static_field()
    width_size: int = static_field()
    depth: int = static_field()

    def __init__(self, in_size: int, out_size: int, width_size: int, depth: int,
                 activation: Callable | None = None, final_activation: Callable = _identity, *,
                 use_bias: bool = True, dtype: Any = None, key: Any) -> None:
        keys = random.split(key, depth + 1)
        sizes = [in_size] + [width_size] * depth + [out_size]
        self.layers = tuple(Linear(i, o, use_bias=use_bias, dtype=dtype, key=k)
                            for i, o, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = relu if activation is None else activation
        self.final_activation = final_activation
        self.in_size, self.out_size, self.width_size, self.depth = (in_size, out_size,
                                                                   width_size, depth)

    def __call__(self, x: Array, *, key: Any = None) -> Array:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.final_activation(self.layers[-1](x))
