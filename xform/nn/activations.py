"""The rest of jax.nn's activation functions: ``mish``, ``hard_tanh``, ``squareplus``,
``log1mexp``, ``logmeanexp``, ``identity``, ``soft_sign``, ``sparse_plus``, ``sparse_sigmoid``,
``hard_silu`` / ``hard_swish``, with JAX's formulas (so JAX's values, dtypes and derivatives at the
kinks) and JAX's custom derivative where it has one (``log1mexp``).

    >>> import xform.numpy as xnp
    >>> from xform import nn
    >>> nn.hard_tanh(xnp.array([-2.0, 0.5, 3.0]))
    Array([-1. ,  0.5,  1. ], dtype=float32)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform.lax.custom import custom_jvp
from xform.numpy._eager import eager_jit
from xform.nn.functions import _inexact, hard_sigmoid, softplus
from xform.scipy.special import _reduction_axes, logsumexp

__all__ = ["hard_silu", "hard_swish", "hard_tanh", "identity", "log1mexp", "logmeanexp",
           "mish", "soft_sign", "sparse_plus", "sparse_sigmoid", "squareplus"]


@eager_jit()
def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))``."""
    x = _inexact(x)
    return x * xnp.tanh(softplus(x))


@eager_jit()
def hard_tanh(x: Any) -> Any:
    """``x`` clipped to ``[-1, 1]`` (the gradient is 1 at the edges, as JAX's)."""
    x = xnp.asarray(x)
    return xnp.where(x > 1, 1, xnp.where(x < -1, -1, x))


@eager_jit()
def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU."""
    x, b = xnp.asarray(x), xnp.asarray(b)
    return (x + xnp.sqrt(xnp.square(x) + b)) / 2


@custom_jvp
def _log1mexp(x: Any) -> Any:
    # two formulas, each accurate on its side of log(2) (Maechler's note on log1mexp)
    return xnp.where(x < np.log(2.0), xnp.log(-xnp.expm1(-x)), xnp.log1p(-xnp.exp(-x)))


_log1mexp.defjvps(lambda g, ans, x: g / xnp.expm1(x))


@eager_jit()
def log1mexp(x: Any) -> Any:
    """``log(1 - exp(-x))``, accurate for small and large ``x`` (``x > 0``)."""
    return _log1mexp(_inexact(x))


def logmeanexp(x: Any, axis: Any = None, where: Any = None, keepdims: bool = False) -> Any:
    """``log(mean(exp(x)))`` over ``axis``, computed stably (``logsumexp - log(count)``);
    ``where`` masks the entries that count."""
    x = xnp.asarray(x)
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    if where is None:
        dims = _reduction_axes(x.ndim, axis)
        count = xnp.asarray(math.prod(x.shape[d] for d in dims), dtype=lse.dtype)
    else:
        count = xnp.sum(xnp.broadcast_to(where, x.shape), axis=axis, dtype=lse.dtype,
                        keepdims=keepdims)
    return lse - xnp.log(count)


@eager_jit()
def identity(x: Any) -> Any:
    """``x`` itself, as an array."""
    return xnp.asarray(x)


@eager_jit()
def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``."""
    x = xnp.asarray(x)
    return x / (xnp.abs(x) + 1)


@eager_jit()
def sparse_plus(x: Any) -> Any:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` between: a piecewise-quadratic softplus."""
    x = xnp.asarray(x)
    return xnp.where(x <= -1.0, 0.0, xnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


@eager_jit()
def sparse_sigmoid(x: Any) -> Any:
    """``clip((x + 1) / 2, 0, 1)``, the derivative of ``sparse_plus``."""
    return 0.5 * xnp.clip(xnp.asarray(x) + 1.0, 0.0, 2.0)


@eager_jit()
def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    x = xnp.asarray(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu
