"""xform.optim against hand-computed (numpy) updates, under jit and vmap, and ensemble training."""

import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import nn, optim
from xform.nn import losses

P0 = {"w": np.array([1.0, -2.0, 0.5], np.float32), "b": np.array(0.3, np.float32)}
GRADS = [{"w": np.array([0.1, -0.4, 2.0], np.float32), "b": np.array(-1.0, np.float32)},
         {"w": np.array([-0.3, 0.2, 1.0], np.float32), "b": np.array(0.5, np.float32)}]


def _np_sgd(lr, momentum=None, nesterov=False):
    def run(p, gs):
        t = {k: np.zeros_like(v) for k, v in p.items()}
        out = []
        for g in gs:
            u = {}
            for k in p:
                if momentum is None:
                    u[k] = -lr * g[k]
                else:
                    t[k] = g[k] + momentum * t[k]
                    u[k] = -lr * (g[k] + momentum * t[k] if nesterov else t[k])
            p = {k: p[k] + u[k] for k in p}
            out.append(p)
        return out
    return run


def _np_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=None):
    def run(p, gs):
        m = {k: np.zeros_like(v) for k, v in p.items()}
        v = {k: np.zeros_like(x) for k, x in p.items()}
        out = []
        for n, g in enumerate(gs, start=1):
            new = {}
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                step = (m[k] / (1 - b1 ** n)) / (np.sqrt(v[k] / (1 - b2 ** n)) + eps)
                if weight_decay is not None:
                    step = step + weight_decay * p[k]
                new[k] = p[k] - lr * step
            p = new
            out.append(p)
        return out
    return run


def _np_rmsprop(lr, decay=0.9, eps=1e-8, centered=False):
    def run(p, gs):
        m = {k: np.zeros_like(v) for k, v in p.items()}
        v = {k: np.zeros_like(x) for k, x in p.items()}
        out = []
        for g in gs:
            new = {}
            for k in p:
                v[k] = decay * v[k] + (1 - decay) * g[k] ** 2
                m[k] = decay * m[k] + (1 - decay) * g[k]
                denom = v[k] - m[k] ** 2 if centered else v[k]
                new[k] = p[k] - lr * g[k] / np.sqrt(denom + eps)
            p = new
            out.append(p)
        return out
    return run


def _np_clip_sgd(max_norm, lr):
    def run(p, gs):
        out = []
        for g in gs:
            norm = np.sqrt(sum(np.sum(x.astype(np.float64) ** 2) for x in g.values()))
            scale = 1.0 if norm < max_norm else max_norm / norm
            p = {k: p[k] - lr * g[k] * scale for k in p}
            out.append(p)
        return out
    return run


CASES = {
    "sgd": (lambda: optim.sgd(0.1), _np_sgd(0.1)),
    "sgd_momentum": (lambda: optim.sgd(0.1, momentum=0.9), _np_sgd(0.1, 0.9)),
    "sgd_nesterov": (lambda: optim.sgd(0.1, 0.9, nesterov=True), _np_sgd(0.1, 0.9, True)),
    "adam": (lambda: optim.adam(0.05), _np_adam(0.05)),
    "adamw": (lambda: optim.adamw(0.05, weight_decay=0.1), _np_adam(0.05, weight_decay=0.1)),
    "rmsprop": (lambda: optim.rmsprop(0.01), _np_rmsprop(0.01)),
    "rmsprop_centered": (lambda: optim.rmsprop(0.01, centered=True),
                         _np_rmsprop(0.01, centered=True)),
    "clip_sgd": (lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1)),
                 _np_clip_sgd(1.0, 0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("jitted", [False, True])
def test_two_steps_match_hand_computed(name, jitted):
    make, reference = CASES[name]
    opt = make()

    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    step = xform.jit(step) if jitted else step
    params, state = P0, opt.init(P0)
    expected = reference(P0, GRADS)
    for g, want in zip(GRADS, expected):
        params, state = step(params, state, g)
        for k in want:
            np.testing.assert_allclose(params[k], want[k], rtol=2e-5, atol=1e-6)
            assert params[k].dtype == np.float32


def test_clip_by_global_norm_leaves_small_updates():
    g = {"a": np.array([0.3, 0.4], np.float32)}
    out, _ = optim.clip_by_global_norm(1.0).update(g, optim.EmptyState())
    np.testing.assert_allclose(out["a"], g["a"])
    out, _ = optim.clip_by_global_norm(0.25).update(g, optim.EmptyState())
    np.testing.assert_allclose(out["a"], g["a"] * 0.5, rtol=1e-6)
    zero, _ = optim.clip_by_global_norm(1.0).update({"a": np.zeros(2, np.float32)}, ())
    assert np.all(np.isfinite(zero["a"]))


def test_adamw_needs_params():
    opt = optim.adamw(0.1)
    with pytest.raises(ValueError, match="params"):
        opt.update(GRADS[0], opt.init(P0))


def test_schedule_learning_rate():
    opt = optim.sgd(lambda count: 0.1 / (count + 1))
    params, state = P0, opt.init(P0)
    for g in GRADS:
        updates, state = opt.update(g, state)
        params = optim.apply_updates(params, updates)
    want = P0["w"] - 0.1 * GRADS[0]["w"] - 0.05 * GRADS[1]["w"]
    np.testing.assert_allclose(params["w"], want, rtol=1e-6)


def test_vmapped_step_with_per_member_learning_rates():
    lrs = np.array([0.01, 0.1, 0.5], np.float32)
    stacked = {k: np.stack([v] * 3) for k, v in P0.items()}

    def step(lr, params, state, grads):
        updates, state = optim.adam(lr).update(grads, state, params)
        return optim.apply_updates(params, updates), state

    state = xform.vmap(optim.adam(0.0).init)(stacked)
    vstep = xform.jit(xform.vmap(step, in_axes=(0, 0, 0, None)))
    params = stacked
    for g in GRADS:
        params, state = vstep(lrs, params, state, g)
    for i, lr in enumerate(lrs):
        want = _np_adam(float(lr))(P0, GRADS)[-1]
        for k in want:
            np.testing.assert_allclose(params[k][i], want[k], rtol=2e-5, atol=1e-6)


def test_ensemble_training_reduces_every_members_loss():
    rng = np.random.RandomState(0)
    x = rng.randn(64, 4).astype(np.float32)
    y = (x @ rng.randn(4, 3)).argmax(-1).astype(np.int32)
    keys = xform.random.split(xform.random.key(1), 4)
    ensemble = nn.stack([nn.MLP(4, 3, 16, 1, key=k) for k in keys])
    lrs = np.array([3e-3, 1e-2, 3e-2, 1e-1], np.float32)

    def loss_fn(model):
        return xnp.mean(losses.softmax_cross_entropy_with_integer_labels(xform.vmap(model)(x), y))

    def step(model, state, lr):
        loss, grads = xform.value_and_grad(loss_fn)(model)
        updates, state = optim.adam(lr).update(grads, state, model)
        return optim.apply_updates(model, updates), state, loss

    state = xform.vmap(optim.adam(0.0).init)(ensemble)
    vstep = xform.jit(xform.vmap(step))
    first = None
    for _ in range(30):
        ensemble, state, loss = vstep(ensemble, state, lrs)
        first = np.asarray(loss) if first is None else first
    final = np.asarray(xform.vmap(loss_fn)(ensemble))
    assert final.shape == (4,) and np.all(final < first), (first, final)
    # a trained member works alone
    alone = nn.unstack(ensemble)[2]
    np.testing.assert_allclose(loss_fn(alone), final[2], rtol=1e-5)
