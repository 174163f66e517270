"""xform.example_libraries (optimizers, stax) against jax.example_libraries on the same inputs:
parameters, optimizer trajectories, layer outputs and shapes, under eager, jit and grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.example_libraries import optimizers as jopt
from jax.example_libraries import stax as jstax

import xform
import xform.numpy as xnp
from xform.example_libraries import optimizers as xopt
from xform.example_libraries import stax as xstax

PARAMS = {"w": np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
          "b": (np.float32(0.5), np.arange(3, dtype=np.float32))}


def grads_at(step, params):
    # a deterministic gradient field, the same for both libraries
    return jax.tree.map(lambda p: np.sin(np.asarray(p) * (step + 1)).astype(np.float32) + 0.1,
                        params)


def close(a, b, tol=1e-5):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype, (x, y)
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=tol, atol=tol)


OPTS = {
    "sgd": lambda o: o.sgd(0.1),
    "momentum": lambda o: o.momentum(0.1, 0.9),
    "nesterov": lambda o: o.nesterov(0.1, 0.9),
    "adagrad": lambda o: o.adagrad(0.1),
    "rmsprop": lambda o: o.rmsprop(0.1),
    "rmsprop_momentum": lambda o: o.rmsprop_momentum(0.1),
    "adam": lambda o: o.adam(o.exponential_decay(0.1, 2, 0.5)),
    "adamax": lambda o: o.adamax(0.1),
    "sm3": lambda o: o.sm3(0.1),
}


@pytest.mark.parametrize("name", sorted(OPTS))
@pytest.mark.parametrize("jit", [False, True])
def test_optimizer_trajectory(name, jit):
    results = []
    for lib, o in [(jax, jopt), (xform, xopt)]:
        init, update, get_params = OPTS[name](o)
        update = lib.jit(update) if jit else update
        state = init(PARAMS)
        for i in range(3):
            state = update(i, grads_at(i, get_params(state)), state)
        results.append(get_params(state))
    close(*results)


SCHEDULES = {
    "constant": lambda o: o.constant(0.3),
    "exponential_decay": lambda o: o.exponential_decay(0.3, 4, 0.5),
    "inverse_time_decay": lambda o: o.inverse_time_decay(0.3, 4, 0.5),
    "inverse_time_staircase": lambda o: o.inverse_time_decay(0.3, 4, 0.5, staircase=True),
    "polynomial_decay": lambda o: o.polynomial_decay(0.3, 5, 0.01, power=2.0),
    "piecewise_constant": lambda o: o.piecewise_constant([2, 5], [0.3, 0.1, 0.01]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules(name):
    for i in [0, 1, 3, 6, 9]:
        close(jnp.asarray(SCHEDULES[name](jopt)(i)), xnp.asarray(SCHEDULES[name](xopt)(i)))


def test_utilities():
    g = grads_at(0, PARAMS)
    close(jopt.l2_norm(g), xopt.l2_norm(g))
    close(jopt.clip_grads(g, 0.5), xopt.clip_grads(g, 0.5))
    init, update, get_params = xopt.adam(0.1)
    state = update(0, g, init(PARAMS))
    packed = xopt.pack_optimizer_state(xopt.unpack_optimizer_state(state))
    close(get_params(packed), get_params(state))
    assert jax.tree.structure(packed) == jax.tree.structure(state)
    with pytest.raises(TypeError, match="did not match the parameter tree"):
        update(1, {"w": g["w"]}, state)


def _nets(s):
    return {
        "mlp": (s.serial(s.Flatten, s.Dense(16), s.Relu, s.Dense(10), s.LogSoftmax),
                (3, 2, 4)),
        "conv": (s.serial(s.Conv(4, (3, 3), padding="SAME"), s.BatchNorm(), s.Relu,
                          s.MaxPool((2, 2), strides=(2, 2)), s.Conv(3, (2, 2), strides=(2, 1)),
                          s.AvgPool((2, 2), padding="SAME"), s.SumPool((1, 2)), s.Flatten,
                          s.Dense(5), s.Softmax), (2, 8, 8, 3)),
        "branches": (s.serial(s.Dense(6), s.FanOut(2),
                              s.parallel(s.serial(s.Dense(6), s.Tanh), s.Identity),
                              s.FanInSum, s.FanOut(2), s.parallel(s.Gelu, s.Elu),
                              s.FanInConcat(), s.Selu, s.Sigmoid, s.Softplus, s.LeakyRelu,
                              s.Exp), (4, 5)),
        "general_conv": (s.serial(s.GeneralConv(("NCHW", "OIHW", "NCHW"), 2, (2, 2)),
                                  s.AvgPool((2, 1), spec="NCHW"), s.Flatten), (1, 3, 5, 4)),
    }


@pytest.mark.parametrize("net", ["mlp", "conv", "branches", "general_conv"])
def test_stax_networks(net):
    x = np.random.RandomState(0).randn(*_nets(jstax)[net][1]).astype(np.float32)
    outs = []
    for lib, s in [(jax, jstax), (xform, xstax)]:
        (init, apply), shape = _nets(s)[net]
        out_shape, params = init(lib.random.PRNGKey(1), shape)
        y = apply(params, x)
        assert tuple(out_shape) == y.shape
        loss = lambda p, apply=apply: (apply(p, x) ** 2).sum()  # noqa: E731
        outs.append((tuple(out_shape), params, y, lib.jit(apply)(params, x),
                     lib.grad(loss)(params)))
    assert outs[0][0] == outs[1][0]
    for a, b in zip(outs[0][1:], outs[1][1:]):
        close(a, b, tol=1e-4)


def test_dropout():
    x = np.ones((4, 6), np.float32)
    outs = []
    for lib, s in [(jax, jstax), (xform, xstax)]:
        init, apply = s.serial(s.Dense(6), s.Dropout(0.7))
        _, params = init(lib.random.PRNGKey(0), (4, 6))
        outs.append((apply(params, x, rng=lib.random.PRNGKey(3)),
                     s.Dropout(0.5, mode="test")[1]((), x, rng=lib.random.PRNGKey(0))))
        with pytest.raises(ValueError, match="requires apply_fun to be called with a PRNG"):
            apply(params, x)
    close(*outs)
