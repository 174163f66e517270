"""The common optimizers, each a chain of transformations with optax's formulas and defaults."""

from __future__ import annotations

from typing import Any

from xform.optim._transform import (
    GradientTransformation, ScalarOrSchedule, add_decayed_weights, chain, identity,
    scale_by_adam, scale_by_learning_rate, scale_by_rms, scale_by_stddev, trace,
)

__all__ = ["sgd", "adam", "adamw", "rmsprop"]


def sgd(learning_rate: ScalarOrSchedule, momentum: Any = None,
        nesterov: bool = False) -> GradientTransformation:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    ``t = g + momentum * t``; ``update = -learning_rate * t`` (Nesterov:
    ``-learning_rate * (g + momentum * t)``).

    >>> import xform.numpy as xnp
    >>> from xform import optim
    >>> opt = optim.sgd(0.1)
    >>> params = {"w": xnp.ones(2)}
    >>> updates, state = opt.update({"w": xnp.ones(2)}, opt.init(params))
    >>> optim.apply_updates(params, updates)["w"]
    Array([0.9, 0.9], dtype=float32)
    """
    return chain(trace(momentum, nesterov) if momentum is not None else identity(),
                 scale_by_learning_rate(learning_rate))


def adam(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
         eps_root: Any = 0.0) -> GradientTransformation:
    """Adam: ``-learning_rate * m̂ / (sqrt(v̂ + eps_root) + eps)``, with ``m̂``, ``v̂`` the
    bias-corrected first and second moments of the gradients."""
    return chain(scale_by_adam(b1, b2, eps, eps_root), scale_by_learning_rate(learning_rate))


def adamw(learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
          eps_root: Any = 0.0, weight_decay: Any = 1e-4) -> GradientTransformation:
    """Adam with decoupled weight decay:
    ``-learning_rate * (m̂ / (sqrt(v̂ + eps_root) + eps) + weight_decay * params)``.
    Its ``update`` needs ``params``."""
    return chain(scale_by_adam(b1, b2, eps, eps_root), add_decayed_weights(weight_decay),
                 scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate: ScalarOrSchedule, decay: Any = 0.9, eps: Any = 1e-8,
            initial_scale: Any = 0.0, eps_in_sqrt: bool = True, centered: bool = False,
            momentum: Any = None, nesterov: bool = False) -> GradientTransformation:
    """RMSProp: ``-learning_rate * g / sqrt(v + eps)`` with ``v`` a running mean of ``g**2``
    (``centered=True`` subtracts the squared running mean of ``g``); optional momentum."""
    if centered:
        scaling = scale_by_stddev(decay, eps, initial_scale)
    else:
        scaling = scale_by_rms(decay, eps, initial_scale, eps_in_sqrt)
    return chain(scaling,
                 trace(momentum, nesterov) if momentum is not None else identity(),
                 scale_by_learning_rate(learning_rate))
