"""Activation functions, softmax and friends, with jax.nn's names, signatures and numerics.

    >>> import xform, xform.numpy as xnp
    >>> from xform import nn
    >>> xform.grad(nn.relu)(0.0)   # JAX's choice at the kink
    Array(0., dtype=float32, weak_type=True)

Built from xform.numpy and xform.lax, so every function transforms. Where JAX gives a function
a custom derivative (``relu``, ``relu6``, ``softmax``), xform does too, so gradients at the kinks
(and of softmax's masked entries) equal JAX's.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_inexact, result_type
from xform.lax.custom import custom_jvp
from xform.numpy._eager import eager_jit
from xform.scipy.special import _masked_max, _masked_sum, logsumexp as logsumexp

__all__ = ["celu", "elu", "gelu", "glu", "hard_sigmoid", "leaky_relu", "log_sigmoid",
           "log_softmax", "logsumexp", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu",
           "softmax", "softplus", "standardize", "swish", "tanh"]


def _inexact(x: Any) -> Any:
    x = xnp.asarray(x)
    if not is_inexact(x.dtype):
        x = x.astype(result_type(x.dtype, 1.0))
    return x


def _zeros_like(x: Any) -> Any:
    # JAX's full_like: the tangent's shape, dtype, weak type and layout
    return lax.full_like(x, 0)


@custom_jvp
def relu(x: Any) -> Any:
    """``max(x, 0)``; its derivative at 0 is 0, as in JAX."""
    return xnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: lax.select(x > 0, g, _zeros_like(g)))


@custom_jvp
def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``; derivative 0 at both kinks, as in JAX."""
    return xnp.minimum(xnp.maximum(x, 0), 6.0)


relu6.defjvps(lambda g, ans, x: lax.select((x > 0) & (x < 6), g, _zeros_like(g)))


@eager_jit()
def sigmoid(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    return lax.logistic(_inexact(x))


@eager_jit()
def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``."""
    return relu6(x + 3.0) / 6.0


@custom_jvp
def _softplus(x: Any) -> Any:
    # logaddexp(x, 0) = max(x, 0) + log1p(exp(-|x|)), finite for every finite x
    return xnp.maximum(x, 0) + lax.log1p(lax.exp(lax.neg(lax.abs(x))))


_softplus.defjvps(lambda g, ans, x: g * lax.logistic(x))


@eager_jit()
def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed stably (``logaddexp(x, 0)``)."""
    return _softplus(_inexact(x))


@eager_jit()
def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-_inexact(x))


@eager_jit()
def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (also called swish)."""
    x = _inexact(x)
    return x * sigmoid(x)


swish = silu


tanh = xnp.tanh  # jax.nn.tanh is jax.numpy.tanh


def gelu(x: Any, approximate: bool = True) -> Any:
    """The Gaussian error linear unit; the tanh approximation unless ``approximate=False``."""
    x = _inexact(x)
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)
        cdf = 0.5 * (1.0 + xnp.tanh(c * (x + 0.044715 * (x ** 3))))
        return x * cdf
    sqrt_half = np.sqrt(0.5).astype(x.dtype)
    return (0.5 * x * lax.erfc(-x * sqrt_half)).astype(x.dtype)


@eager_jit()
def elu(x: Any, alpha: Any = 1.0) -> Any:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)`` (no NaN gradients for large x)."""
    x = xnp.asarray(x)
    return xnp.where(x > 0, x, alpha * xnp.expm1(xnp.where(x > 0, 0.0, x)))


@eager_jit()
def celu(x: Any, alpha: Any = 1.0) -> Any:
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    return xnp.maximum(x, 0.0) + alpha * xnp.expm1(xnp.minimum(x, 0.0) / alpha)


@eager_jit()
def selu(x: Any) -> Any:
    """The scaled exponential linear unit."""
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


@eager_jit()
def leaky_relu(x: Any, negative_slope: Any = 1e-2) -> Any:
    """``x`` for ``x >= 0``, else ``negative_slope * x``."""
    x = xnp.asarray(x)
    return xnp.where(x >= 0, x, negative_slope * x)


@eager_jit(static_argnames=("axis",))
def glu(x: Any, axis: int = -1) -> Any:
    """The gated linear unit: the first half of ``x`` along ``axis`` times the sigmoid of the
    second half."""
    x = xnp.asarray(x)
    axis = operator.index(axis) % x.ndim
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: axis {axis} of size {size} must be divisible by 2")
    x1, x2 = lax.split(x, (size // 2, size // 2), axis)  # as JAX's (jnp.split)
    return x1 * sigmoid(x2)


def _axes(ndim: int, axis: Any) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted({operator.index(a) % max(ndim, 1) for a in axes}))


def _softmax_impl(x: Any, axis: tuple, where: Any) -> Any:
    x_max = _masked_max(x, axis, where)
    x_safe = x if where is None else xnp.where(where, x, -np.inf)
    unnormalized = xnp.exp(x_safe - x_max)
    result = unnormalized / _masked_sum(unnormalized, axis, where)
    if where is not None:
        result = xnp.where(where, result, 0)
    return result


def _make_softmax(axis: tuple, masked: bool):
    # One custom_jvp per (axis, masked): JAX's rule y * (t - sum(y * t)), which keeps the
    # gradient NaN-free where the unnormalized exp underflows or is masked out.
    def fn(x, where):
        return _softmax_impl(x, axis, where if masked else None)

    f = custom_jvp(fn)

    def rule(primals, tangents):
        (x, where), (x_dot, _) = primals, tangents
        y = f(x, where)
        w = where if masked else None
        return y, y * (x_dot - _masked_sum(y * x_dot, axis, w))

    f.defjvp(rule)
    return f


_softmax_cache: dict = {}


def softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably; entries where ``where`` is
    False get 0 and take no part in the sum."""
    x = _inexact(x)
    axes = _axes(x.ndim, axis)
    key = (axes, where is not None)
    f = _softmax_cache.get(key)
    if f is None:
        f = _softmax_cache[key] = _make_softmax(*key)
    if where is None:
        return f(x, xnp.zeros((), bool))
    return f(x, xnp.broadcast_to(xnp.asarray(where), x.shape))


def log_softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """``x - logsumexp(x)`` along ``axis``, computed stably; masked entries give ``-inf``."""
    x = _inexact(x)
    axes = _axes(x.ndim, axis)
    x_max = _masked_max(x, axes, where)
    x_safe = x if where is None else xnp.where(where, x, -np.inf)
    shifted = x_safe - lax.stop_gradient(x_max)
    shifted_lse = xnp.log(_masked_sum(xnp.exp(shifted), axes, where))
    result = shifted - shifted_lse
    if where is not None:
        return xnp.where(where, result, -np.inf)
    return result


def one_hot(x: Any, num_classes: int, *, dtype: Any = None, axis: int = -1) -> Any:
    """A one-hot encoding of the integers ``x`` with ``num_classes`` classes, along a new
    ``axis``."""
    num_classes = operator.index(num_classes)
    x = xnp.asarray(x)
    dtype = xnp.float32 if dtype is None else dtype
    out_axis = operator.index(axis) % (x.ndim + 1)
    lhs = lax.expand_dims(x, (out_axis,))
    rhs_shape = [1] * x.ndim
    rhs_shape.insert(out_axis, num_classes)
    rhs = lax.broadcasted_iota(x.dtype, rhs_shape, out_axis)
    return (lhs == rhs).astype(dtype)


def standardize(x: Any, axis: Any = -1, mean: Any = None, variance: Any = None,
                epsilon: Any = 1e-5, where: Any = None, *, algorithm: str = "fast") -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` with the statistics over ``axis``."""
    x = xnp.asarray(x)
    axes = _axes(x.ndim, axis)

    def mean_of(v):
        if where is None:
            return xnp.mean(v, axes, keepdims=True)
        w = xnp.broadcast_to(xnp.asarray(where), v.shape)
        return _masked_sum(v, axes, w) / _masked_sum(w.astype(v.dtype), axes)

    if mean is None:
        mean = mean_of(x)
    if variance is None:
        if algorithm == "stable":
            variance = mean_of(xnp.square(x - mean))
        elif algorithm == "fast":
            # E[x^2] - E[x]^2 may round below 0: clip, as JAX does, before the rsqrt
            variance = mean_of(xnp.square(x)) - xnp.square(mean)
            variance = xnp.clip(variance, 0)
        else:
            raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return (x - mean) * lax.rsqrt(xnp.asarray(variance + epsilon))
