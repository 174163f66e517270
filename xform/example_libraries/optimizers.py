"""Optimizers as ``(init_fun, update_fun, get_params)`` triples (JAX's
``jax.example_libraries.optimizers``), built on ``xform.numpy``.

    opt_init, opt_update, get_params = optimizers.adam(1e-3)
    opt_state = opt_init(params)
    opt_state = opt_update(step, grads, opt_state)
    params = get_params(opt_state)

Each optimizer is written for one array (``init(x0) -> state``, ``update(i, g, state)``,
``get_params(state)``) and lifted to pytrees of parameters by ``optimizer``. The state,
``OptimizerState``, is a pytree (so it passes through ``jit`` and can be saved).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax.tree_util as tu

import xform.numpy as xnp

Schedule = Callable[[Any], Any]


class Optimizer(NamedTuple):
    init_fn: Callable
    update_fn: Callable
    params_fn: Callable


class OptimizerState(NamedTuple):
    """Per-parameter states, flattened: ``packed_state`` (one list of leaves per parameter
    leaf), the parameters' ``tree_def`` and each state's ``subtree_defs``."""

    packed_state: Any
    tree_def: Any
    subtree_defs: Any


# the structures are static (aux data); only the packed leaves are children
tu.register_pytree_node(
    OptimizerState,
    lambda s: ((s.packed_state,), (s.tree_def, s.subtree_defs)),
    lambda aux, children: OptimizerState(children[0], *aux))


def optimizer(opt_maker: Callable) -> Callable[..., Optimizer]:
    """Lift an optimizer written for single arrays to pytrees of parameters."""
    @functools.wraps(opt_maker)
    def tree_opt_maker(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        @functools.wraps(init)
        def tree_init(x0_tree):
            leaves, tree = tu.tree_flatten(x0_tree)
            flat_states = [tu.tree_flatten(init(x0)) for x0 in leaves]
            return OptimizerState([s for s, _ in flat_states], tree,
                                  [d for _, d in flat_states])

        @functools.wraps(update)
        def tree_update(i, grad_tree, opt_state):
            states_flat, tree, subtrees = opt_state
            grads, tree2 = tu.tree_flatten(grad_tree)
            if tree2 != tree:
                raise TypeError("optimizer update function was passed a gradient tree that did "
                                "not match the parameter tree structure with which it was "
                                f"initialized: parameter tree {tree} and grad tree {tree2}.")
            new_flat, new_defs = [], []
            for g, sub, flat in zip(grads, subtrees, states_flat):
                leaves, sub2 = tu.tree_flatten(update(i, g, tu.tree_unflatten(sub, flat)))
                if sub2 != sub:
                    raise TypeError("optimizer update function produced an output structure "
                                    "that did not match its input structure: input "
                                    f"{sub} and output {sub2}.")
                new_flat.append(leaves)
                new_defs.append(sub2)
            return OptimizerState(new_flat, tree, new_defs)

        @functools.wraps(get_params)
        def tree_get_params(opt_state):
            states_flat, tree, subtrees = opt_state
            return tu.tree_unflatten(tree, [get_params(tu.tree_unflatten(s, f))
                                            for s, f in zip(subtrees, states_flat)])

        return Optimizer(tree_init, tree_update, tree_get_params)
    return tree_opt_maker


def _first(state):
    return state[0]


@optimizer
def sgd(step_size):
    """Stochastic gradient descent: ``x - step_size(i) * g``."""
    step_size = make_schedule(step_size)
    return (lambda x0: x0), (lambda i, g, x: x - step_size(i) * g), (lambda x: x)


@optimizer
def momentum(step_size: Schedule, mass: float):
    """SGD with momentum ``mass``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * velocity, velocity
    return (lambda x0: (x0, xnp.zeros_like(x0))), update, _first


@optimizer
def nesterov(step_size: Schedule, mass: float):
    """SGD with Nesterov momentum ``mass``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * (mass * velocity + g), velocity
    return (lambda x0: (x0, xnp.zeros_like(x0))), update, _first


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad (with momentum on the normalised gradient, as JAX's)."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + xnp.square(g)
        inv = xnp.where(g_sq > 0, 1.0 / xnp.sqrt(g_sq), 0.0)
        m = (1.0 - momentum) * (g * inv) + momentum * m
        return x - step_size(i) * m, g_sq, m
    return (lambda x0: (x0, xnp.zeros_like(x0), xnp.zeros_like(x0))), update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSProp: a running average of squared gradients scales each step."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, avg_sq = state
        avg_sq = avg_sq * gamma + xnp.square(g) * (1.0 - gamma)
        return x - step_size(i) * g / xnp.sqrt(avg_sq + eps), avg_sq
    return (lambda x0: (x0, xnp.zeros_like(x0))), update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSProp with momentum."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, avg_sq, mom = state
        avg_sq = avg_sq * gamma + xnp.square(g) * (1.0 - gamma)
        mom = momentum * mom + step_size(i) * g / xnp.sqrt(avg_sq + eps)
        return x - mom, avg_sq, mom
    return (lambda x0: (x0, xnp.zeros_like(x0), xnp.zeros_like(x0))), update, _first


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam, with bias-corrected moment estimates."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * xnp.square(g) + b2 * v
        mhat = m / (1 - xnp.asarray(b1, m.dtype) ** (i + 1))
        vhat = v / (1 - xnp.asarray(b2, m.dtype) ** (i + 1))
        return x - step_size(i) * mhat / (xnp.sqrt(vhat) + eps), m, v
    return (lambda x0: (x0, xnp.zeros_like(x0), xnp.zeros_like(x0))), update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax: Adam with an infinity-norm second moment."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = xnp.maximum(b2 * u, xnp.abs(g))
        x = x - (step_size(i) / (1 - xnp.asarray(b1, m.dtype) ** (i + 1))) * m / (u + eps)
        return x, m, u
    return (lambda x0: (x0, xnp.zeros_like(x0), xnp.zeros_like(x0))), update, _first


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3: one accumulator per row/column/... of each parameter (memory-efficient Adagrad)."""
    step_size = make_schedule(step_size)

    def along(ndim, v, axis):  # v (a 1-D accumulator) broadcastable along ``axis``
        idx = [None] * ndim
        idx[axis:axis + 1] = [slice(None)]  # (a scalar's gradient: v itself, as in JAX)
        return v[tuple(idx)]

    def init(x0):
        shape = x0.shape
        x0 = xnp.atleast_1d(x0)
        return x0, xnp.zeros_like(x0), [xnp.zeros(n, dtype=x0.dtype) for n in x0.shape], shape

    def update(i, g, state):
        x, m, vs, shape = state
        vs = [along(g.ndim, v, k) for k, v in enumerate(vs)]
        accum = functools.reduce(xnp.minimum, vs) + xnp.square(g)
        inv = xnp.where(accum > 0, 1.0 / xnp.sqrt(accum), 0)
        m = (1.0 - momentum) * (g * inv) + momentum * m
        x = x - step_size(i) * m
        vs = [accum.max(tuple(a for a in range(x.ndim) if a != k)) for k in range(x.ndim)]
        return x, m, vs, shape

    def get_params(state):
        x, _, _, shape = state
        return x.reshape(shape)
    return init, update, get_params


# -- learning-rate schedules ------------------------------------------------------------------
def constant(step_size) -> Schedule:
    """The schedule that is always ``step_size``."""
    return lambda i: step_size


def exponential_decay(step_size, decay_steps, decay_rate) -> Schedule:
    """``step_size * decay_rate ** (i / decay_steps)``."""
    return lambda i: step_size * decay_rate ** (i / decay_steps)


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False) -> Schedule:
    """``step_size / (1 + decay_rate * i / decay_steps)`` (floored ratio with ``staircase``)."""
    if staircase:
        return lambda i: step_size / (1 + decay_rate * xnp.floor(i / decay_steps))
    return lambda i: step_size / (1 + decay_rate * i / decay_steps)


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0) -> Schedule:
    """From ``step_size`` to ``final_step_size`` over ``decay_steps`` along ``(1 - t) **
    power``, then constant."""
    def schedule(step_num):
        step_num = xnp.minimum(step_num, decay_steps)
        mult = (1 - step_num / decay_steps) ** power
        return mult * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries: Any, values: Any) -> Schedule:
    """``values[k]`` while ``i`` has passed ``k`` of the ``boundaries``."""
    boundaries, values = xnp.array(boundaries), xnp.array(values)
    if not boundaries.ndim == values.ndim == 1:
        raise ValueError("boundaries and values must be sequences")
    if not boundaries.shape[0] == values.shape[0] - 1:
        raise ValueError("boundaries length must be one shorter than values length")
    return lambda i: values[xnp.sum(i > boundaries)]


def make_schedule(scalar_or_schedule: float | Schedule) -> Schedule:
    """A schedule from a schedule (itself) or a scalar (constant)."""
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if xnp.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise TypeError(type(scalar_or_schedule))


# -- utilities --------------------------------------------------------------------------------
def l2_norm(tree: Any) -> Any:
    """The l2 norm of all the leaves of ``tree`` together."""
    return xnp.sqrt(sum(xnp.vdot(x, x) for x in tu.tree_leaves(tree)))


def clip_grads(grad_tree: Any, max_norm: Any) -> Any:
    """``grad_tree`` scaled down to l2 norm ``max_norm`` when its norm exceeds it."""
    norm = l2_norm(grad_tree)
    return tu.tree_map(lambda g: xnp.where(norm < max_norm, g, g * (max_norm / norm)),
                       grad_tree)


class JoinPoint:
    """Marks where an optimizer state's pytree joins the parameters' pytree."""

    def __init__(self, subtree):
        self.subtree = subtree

    def __iter__(self):  # containers of arrays look iterable to serializers
        yield self.subtree


def unpack_optimizer_state(opt_state: OptimizerState) -> Any:
    """The state as the parameters' pytree with a ``JoinPoint`` (holding that parameter's
    state) at each leaf, for serialization."""
    states_flat, tree_def, subtree_defs = opt_state
    return tu.tree_unflatten(tree_def, [JoinPoint(tu.tree_unflatten(d, s))
                                        for d, s in zip(subtree_defs, states_flat)])


def pack_optimizer_state(marked_pytree: Any) -> OptimizerState:
    """The inverse of ``unpack_optimizer_state``."""
    sentinels, tree_def = tu.tree_flatten(marked_pytree)
    if not all(isinstance(s, JoinPoint) for s in sentinels):
        raise TypeError("pack_optimizer_state expects a pytree whose leaves are JoinPoints.")
    flat = [tu.tree_flatten(s.subtree) for s in sentinels]
    return OptimizerState([s for s, _ in flat], tree_def, [d for _, d in flat])
