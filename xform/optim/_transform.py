"""Gradient transformations: pure ``(init, update)`` pairs, and the pieces optimizers are built of.

Every transformation has optax's shape: ``init(params) -> state`` and
``update(updates, state, params=None) -> (updates, state)``. States are tuples of arrays
(pytrees), so a whole training step is one pure function that ``jit`` compiles and ``vmap``
maps over an ensemble. Hyperparameters may be traced arrays: build the optimizer inside a
vmapped step from a per-member learning rate to give every member its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

import xform.numpy as xnp
from xform import lax

__all__ = ["GradientTransformation", "EmptyState", "identity", "chain", "apply_updates",
           "global_norm", "clip_by_global_norm", "scale", "scale_by_learning_rate",
           "scale_by_schedule", "trace", "scale_by_adam", "scale_by_rms", "scale_by_stddev",
           "add_decayed_weights"]

Params = Any
Updates = Any
State = Any
ScalarOrSchedule = Any  # a float, a (traced) scalar array, or a function count -> scalar

_map = jax.tree_util.tree_map


class GradientTransformation(NamedTuple):
    """An optimizer or one stage of one: ``init(params)`` and ``update(updates, state,
    params=None) -> (updates, state)``."""

    init: Callable[[Params], State]
    update: Callable[..., tuple[Updates, State]]


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


class TraceState(NamedTuple):
    trace: Any


class ScaleByScheduleState(NamedTuple):
    count: Any


class ScaleByAdamState(NamedTuple):
    count: Any
    mu: Any
    nu: Any


class ScaleByRmsState(NamedTuple):
    nu: Any


class ScaleByRStdDevState(NamedTuple):
    mu: Any
    nu: Any


def _zeros_like(tree: Any) -> Any:
    return _map(xnp.zeros_like, tree)


def _count() -> Any:
    return xnp.zeros((), xnp.int32)


def _moment(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    """``decay * m + (1 - decay) * g**order``, leaf by leaf."""
    def one(g: Any, m: Any) -> Any:
        return (1 - decay) * (g if order == 1 else g * g) + decay * m
    return _map(one, updates, moments)


def identity() -> GradientTransformation:
    """Leaves updates unchanged."""
    return GradientTransformation(lambda params: EmptyState(),
                                  lambda updates, state, params=None: (updates, state))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` in order; the state is the tuple of their states.

    >>> from xform import optim
    >>> opt = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1))
    """
    def init(params: Params) -> State:
        return tuple(t.init(params) for t in transforms)

    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        if len(state) != len(transforms):
            raise ValueError(f"chain of {len(transforms)} transformations got a state with "
                             f"{len(state)} entries; use the state its init returned.")
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params: Params, updates: Updates) -> Params:
    """``params + updates`` leaf by leaf, keeping each parameter's dtype."""
    return _map(lambda p, u: (xnp.asarray(p) + u).astype(xnp.result_type(p)), params, updates)


def global_norm(updates: Updates) -> Any:
    """The l2 norm of all leaves taken together."""
    leaves = jax.tree_util.tree_leaves(updates)
    if not leaves:
        return xnp.zeros((), xnp.float32)
    return xnp.sqrt(sum(xnp.sum(x * x) for x in leaves))


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scale updates by ``max_norm / global_norm`` when their global norm exceeds ``max_norm``."""
    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        g_norm = global_norm(updates)
        small = g_norm < max_norm
        # Divide by a safe norm so the branch not taken cannot produce NaNs (or NaN gradients).
        safe = xnp.where(small, 1.0, g_norm)
        clipped = _map(lambda t: xnp.where(small, t, (t / safe.astype(t.dtype)) * max_norm),
                       updates)
        return clipped, state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale(step_size: Any) -> GradientTransformation:
    """Multiply updates by ``step_size``."""
    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        return _map(lambda g: step_size * g, updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale_by_schedule(step_size_fn: Callable[[Any], Any]) -> GradientTransformation:
    """Multiply updates by ``step_size_fn(count)``, where count is the number of steps taken."""
    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        step_size = step_size_fn(state.count)
        updates = _map(lambda g: (step_size * g).astype(g.dtype), updates)
        return updates, ScaleByScheduleState(state.count + 1)

    return GradientTransformation(lambda params: ScaleByScheduleState(_count()), update)


def scale_by_learning_rate(learning_rate: ScalarOrSchedule, *,
                           flip_sign: bool = True) -> GradientTransformation:
    """Multiply by ``-learning_rate`` (or ``+`` with ``flip_sign=False``); a callable is a
    schedule of the step count."""
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def trace(decay: Any, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``t = g + decay * t``; the update is ``t`` (or ``g + decay * t``, Nesterov)."""
    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        new_trace = _map(lambda g, t: g + decay * t, updates, state.trace)
        out = _map(lambda g, t: g + decay * t, updates, new_trace) if nesterov else new_trace
        return out, TraceState(new_trace)

    return GradientTransformation(lambda params: TraceState(_zeros_like(params)), update)


def _bias_corrected(moments: Any, decay: Any, count: Any) -> Any:
    def one(m: Any) -> Any:
        return m / (1 - decay ** count.astype(m.dtype))
    return _map(one, moments)


def scale_by_adam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
                  eps_root: Any = 0.0) -> GradientTransformation:
    """Adam's scaling: ``m̂ / (sqrt(v̂ + eps_root) + eps)`` with bias-corrected moments."""
    def init(params: Params) -> State:
        return ScaleByAdamState(_count(), _zeros_like(params), _zeros_like(params))

    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        mu = _moment(updates, state.mu, b1, 1)
        nu = _moment(updates, state.nu, b2, 2)
        count = state.count + 1
        mu_hat = _bias_corrected(mu, b1, count)
        nu_hat = _bias_corrected(nu, b2, count)
        out = _map(lambda m, v: m / (xnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_rms(decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0,
                 eps_in_sqrt: bool = True) -> GradientTransformation:
    """RMSProp's scaling: ``g / sqrt(v + eps)`` (or ``g / (sqrt(v) + eps)``)."""
    def init(params: Params) -> State:
        return ScaleByRmsState(_map(lambda p: xnp.full_like(p, initial_scale), params))

    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        nu = _moment(updates, state.nu, decay, 2)
        if eps_in_sqrt:
            out = _map(lambda g, v: g * lax.rsqrt(v + eps), updates, nu)
        else:
            out = _map(lambda g, v: g / (xnp.sqrt(v) + eps), updates, nu)
        return out, ScaleByRmsState(nu)

    return GradientTransformation(init, update)


def scale_by_stddev(decay: Any = 0.9, eps: Any = 1e-8,
                    initial_scale: Any = 0.0) -> GradientTransformation:
    """Centred RMSProp's scaling: ``g / sqrt(v - m**2 + eps)``."""
    def init(params: Params) -> State:
        return ScaleByRStdDevState(_zeros_like(params),
                                   _map(lambda p: xnp.full_like(p, initial_scale), params))

    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        mu = _moment(updates, state.mu, decay, 1)
        nu = _moment(updates, state.nu, decay, 2)
        out = _map(lambda g, m, v: g * lax.rsqrt(v - m * m + eps), updates, mu, nu)
        return out, ScaleByRStdDevState(mu, nu)

    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay: Any = 0.0) -> GradientTransformation:
    """Add ``weight_decay * params`` to the updates (decoupled weight decay)."""
    def update(updates: Updates, state: State, params: Params = None) -> tuple[Updates, State]:
        if params is None:
            raise ValueError("add_decayed_weights (and adamw) needs the parameters: call "
                             "update(grads, state, params).")
        return _map(lambda g, p: g + weight_decay * p, updates, params), state

    return GradientTransformation(lambda params: EmptyState(), update)
