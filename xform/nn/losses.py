"""Losses with optax's names and formulas, finite (and with finite gradients) at extreme logits.

Each loss is elementwise over leading axes (per example), so it composes with ``xform.vmap`` and
leaves the reduction (usually a mean) to the caller:

    >>> import xform.numpy as xnp
    >>> from xform.nn import losses
    >>> logits = xnp.array([[2.0, 0.0, -1e4], [0.0, 1e4, 0.0]])
    >>> losses.softmax_cross_entropy_with_integer_labels(logits, xnp.array([0, 0]))
    Array([1.2692805e-01, 1.0000000e+04], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import xform.numpy as xnp
from xform.core.avals import is_inexact
from xform.nn.functions import log_sigmoid, log_softmax

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels",
           "sigmoid_binary_cross_entropy", "squared_error", "mean_squared_error", "mse", "l2_loss"]

Array = Any


def _float(x: Any, name: str) -> Array:
    x = xnp.asarray(x)
    if not is_inexact(x.dtype):
        x = x.astype(xnp.float32)
    return x


def softmax_cross_entropy(logits: Array, labels: Array, axis: int = -1) -> Array:
    """Cross-entropy between ``softmax(logits)`` and a distribution ``labels`` (e.g. one-hot).

    ``-sum(labels * log_softmax(logits), axis)``; the result drops ``axis``.
    """
    logits = _float(logits, "logits")
    labels = xnp.asarray(labels)
    if not is_inexact(labels.dtype) or labels.shape != logits.shape:
        raise ValueError(
            f"softmax_cross_entropy wants labels as probabilities with the logits' shape "
            f"{tuple(logits.shape)}, got {labels.dtype} labels of shape {tuple(labels.shape)}. "
            f"For class indices use softmax_cross_entropy_with_integer_labels, or "
            f"xform.nn.one_hot(labels, num_classes).")
    # log_softmax is finite for finite logits, so 0 * log p stays 0 (no 0 * -inf NaN).
    return -xnp.sum(labels * log_softmax(logits, axis=axis), axis=axis)


def softmax_cross_entropy_with_integer_labels(logits: Array, labels: Array,
                                              axis: int = -1) -> Array:
    """Cross-entropy of ``softmax(logits)`` against integer class ``labels``.

    ``labels`` has the logits' shape without ``axis``; the result has the labels' shape.
    """
    logits = _float(logits, "logits")
    labels = xnp.asarray(labels)
    if is_inexact(labels.dtype):
        raise TypeError(f"softmax_cross_entropy_with_integer_labels wants integer labels, got "
                        f"{labels.dtype}. For probabilities use softmax_cross_entropy.")
    axis = axis % logits.ndim
    expected = logits.shape[:axis] + logits.shape[axis + 1:]
    if tuple(labels.shape) != tuple(expected):
        raise ValueError(f"labels of shape {tuple(labels.shape)} do not match logits of shape "
                         f"{tuple(logits.shape)}: expected {tuple(expected)} (the logits' shape "
                         f"without axis {axis}).")
    picked = xnp.take_along_axis(log_softmax(logits, axis=axis),
                                 xnp.expand_dims(labels, axis), axis=axis)
    return -xnp.squeeze(picked, axis)


def sigmoid_binary_cross_entropy(logits: Array, labels: Array) -> Array:
    """Binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1], elementwise.

    Written with ``log_sigmoid`` (a stable softplus), so logits of ±1e4 give finite values and
    gradients.
    """
    logits = _float(logits, "logits")
    labels = xnp.asarray(labels).astype(logits.dtype)
    return -labels * log_sigmoid(logits) - (1.0 - labels) * log_sigmoid(-logits)


def squared_error(predictions: Array, targets: Array | None = None) -> Array:
    """``(predictions - targets) ** 2`` elementwise (targets default to 0)."""
    predictions = _float(predictions, "predictions")
    diff = predictions if targets is None else predictions - targets
    return diff * diff


def l2_loss(predictions: Array, targets: Array | None = None) -> Array:
    """Half the squared error, elementwise, as ``optax.l2_loss``."""
    return 0.5 * squared_error(predictions, targets)


def mean_squared_error(predictions: Array, targets: Array | None = None,
                       axis: Any = None) -> Array:
    """The mean of ``squared_error`` over ``axis`` (all axes by default)."""
    return xnp.mean(squared_error(predictions, targets), axis=axis)


mse = mean_squared_error
