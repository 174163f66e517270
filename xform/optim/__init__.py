"""xform.optim: optimizers as pure ``(init, update)`` pairs, with optax's names and formulas.

    >>> import xform, xform.numpy as xnp
    >>> from xform import optim
    >>> params = {"w": xnp.array([1.0, -2.0])}
    >>> opt = optim.adam(0.1)
    >>> state = opt.init(params)
    >>> grads = xform.grad(lambda p: xnp.sum(p["w"] ** 2))(params)
    >>> updates, state = opt.update(grads, state, params)
    >>> optim.apply_updates(params, updates)["w"]
    Array([ 0.9000007, -1.9000007], dtype=float32)

Everything is a pure function of arrays, so a training step ``jit``-compiles, and ``vmap`` over
a stacked ensemble (``xform.nn.stack``) trains every member in one step; pass each member's
learning rate into the vmapped step and build the optimizer there to give each its own.
"""

from xform.optim._optimizers import (
    adam as adam, adamw as adamw, rmsprop as rmsprop, sgd as sgd,
)
from xform.optim._transform import (
    EmptyState as EmptyState, GradientTransformation as GradientTransformation,
    add_decayed_weights as add_decayed_weights, apply_updates as apply_updates, chain as chain,
    clip_by_global_norm as clip_by_global_norm, global_norm as global_norm,
    identity as identity, scale as scale, scale_by_adam as scale_by_adam,
    scale_by_learning_rate as scale_by_learning_rate, scale_by_rms as scale_by_rms,
    scale_by_schedule as scale_by_schedule, scale_by_stddev as scale_by_stddev,
    trace as trace,
)
