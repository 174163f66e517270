"""The programs the benchmarks time, written once against a numpy-API module and a lax module.

Each builder takes ``np_`` (``xform.numpy`` or ``jax.numpy``) and ``lax`` (``xform.lax`` or
``jax.lax``) so that xform and JAX run the very same source. torch versions sit at the end and
import nothing from torch at module level.
"""

from __future__ import annotations

import functools

import numpy as np

MLP_SIZES = (784, 512, 512, 10)


# -- MLP ----------------------------------------------------------------------------------------
def mlp_params(sizes=MLP_SIZES, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(w, b), ...] with w of shape (in, out), float32, scaled like a usual initialiser."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((m, n), dtype=np.float32) / np.float32(np.sqrt(m)),
             np.zeros(n, np.float32)) for m, n in zip(sizes[:-1], sizes[1:])]


def mlp_data(batch: int, sizes=MLP_SIZES, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (batch, in) and one-hot labels (batch, out)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return x, y


def mlp_loss_fn(np_):
    """loss(params, x, y): mean cross-entropy of a relu MLP; x (..., in), y one-hot (..., out).

    With x of shape (in,) it is the loss of one example, the function per-example gradients
    differentiate.
    """
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = np_.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        logits = h @ w + b
        shifted = logits - np_.max(logits, axis=-1, keepdims=True)
        logp = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
        return -np_.mean(np_.sum(logp * y, axis=-1))

    return loss


# -- neuron (seed 004) and custom_dot / vv (seed 002) -----------------------------------------
def neuron_fns(np_, w: np.ndarray, b: float = 1.0):
    """(model, batched_model): the seed's neuron and its einsum hand-batched version."""
    w = np_.asarray(w)

    def model(v):
        return np_.tanh(w @ v + b).sum()

    def batched_model(v_batch):
        return np_.tanh(np_.einsum("mk,nk->nm", w, v_batch) + b).sum(1)

    return model, batched_model


def seed002_fns(np_):
    """(custom_dot, vv) of the seed: ``dot(x, y) ** 2`` and the plain vector-vector dot."""
    def custom_dot(x, y):
        return np_.dot(x, y) ** 2

    def vv(x, y):
        return np_.dot(x, y)

    return custom_dot, vv


# -- a small function R^16 -> R^16 for jacobians ----------------------------------------------
def jac_fn(np_, n: int = 16, seed: int = 2):
    """f(x) = tanh(W x + b) * sin(x) + x**3 / 3 with fixed W, b."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n), dtype=np.float32) / np.float32(4.0)
    w, b = np_.asarray(w), np_.asarray(rng.standard_normal(n, dtype=np.float32))

    def f(x):
        return np_.tanh(w @ x + b) * np_.sin(x) + x ** 3 / 3.0

    return f


# -- LeNet-5 ------------------------------------------------------------------------------------
# NCHW input (N, 1, 28, 28), OIHW kernels: conv 5x5 (pad 2) -> 6, relu, max-pool 2 -> 14x14,
# conv 5x5 -> 16 (10x10), relu, max-pool 2 -> 5x5, then dense 400 -> 120 -> 84 -> 10.
LENET_SHAPES = {
    "c1": (6, 1, 5, 5), "b1": (6,), "c2": (16, 6, 5, 5), "b2": (16,),
    "f1": (400, 120), "g1": (120,), "f2": (120, 84), "g2": (84,), "f3": (84, 10), "g3": (10,),
}


def lenet_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in LENET_SHAPES.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        scale = np.float32(1.0 / np.sqrt(fan_in)) if len(shape) > 1 else np.float32(0.1)
        params[name] = rng.standard_normal(shape, dtype=np.float32) * scale
    return params


def lenet_data(batch: int = 32, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 1, 28, 28), dtype=np.float32)


def lenet_fn(np_, lax):
    """apply(params, x) -> logits (N, 10), written with conv_general_dilated, reduce_window, dot."""
    dn = ("NCHW", "OIHW", "NCHW")

    def pool(h):
        return lax.reduce_window(h, -np.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def apply(p, x):
        h = lax.conv_general_dilated(x, p["c1"], (1, 1), [(2, 2), (2, 2)],
                                     dimension_numbers=dn)
        h = pool(np_.maximum(h + p["b1"][None, :, None, None], 0.0))
        h = lax.conv_general_dilated(h, p["c2"], (1, 1), "VALID", dimension_numbers=dn)
        h = pool(np_.maximum(h + p["b2"][None, :, None, None], 0.0))
        h = h.reshape(h.shape[0], 400)
        h = np_.maximum(lax.dot(h, p["f1"]) + p["g1"], 0.0)
        h = np_.maximum(lax.dot(h, p["f2"]) + p["g2"], 0.0)
        return lax.dot(h, p["f3"]) + p["g3"]

    return apply


# -- DP-SGD core: per-example gradients, clipped, summed ------------------------------------
DPSGD_SIZES = (512, 32)  # W: (in, classes)


def dpsgd_params(sizes=DPSGD_SIZES, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(w, b) of a softmax regression: w (in, classes), b (classes,)."""
    rng = np.random.default_rng(seed)
    m, n = sizes
    return (rng.standard_normal((m, n), dtype=np.float32) / np.float32(np.sqrt(m)),
            np.zeros(n, np.float32))


def dpsgd_fn(J, np_, clip: float = 1.0):
    """dpsgd(params, x, y): the sum over the batch of per-example gradients, each scaled down to
    a global 2-norm of at most ``clip`` (DP-SGD without its noise). ``J`` is ``xform`` or
    ``jax`` (for vmap, grad, tree_util), ``np_`` the matching numpy module."""
    def loss(params, x, y):  # one example: x (in,), y one-hot (classes,)
        w, b = params
        logits = x @ w + b
        shifted = logits - np_.max(logits, axis=-1, keepdims=True)
        logp = shifted - np_.log(np_.sum(np_.exp(shifted), axis=-1, keepdims=True))
        return -np_.sum(logp * y)

    def dpsgd(params, x, y):
        grads = J.vmap(J.grad(loss), in_axes=(None, 0, 0))(params, x, y)
        leaves = J.tree_util.tree_leaves(grads)
        sq = sum(np_.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in leaves)
        scale = np_.minimum(1.0, clip / (np_.sqrt(sq) + 1e-6))
        return J.tree_util.tree_map(
            lambda g: np_.sum(g * scale.reshape((-1,) + (1,) * (g.ndim - 1)), axis=0), grads)

    return dpsgd


# -- 2-layer LSTM written with lax.scan ---------------------------------------------------------
LSTM_SIZES = (128, 128, 50, 32)  # input, hidden, sequence length, batch


def lstm_params(sizes=LSTM_SIZES, layers: int = 2, seed: int = 5) -> dict:
    """{"layers": [(w, b), ...], "out": (hidden, 1)}; w (in + hidden, 4 hidden) per layer."""
    rng = np.random.default_rng(seed)
    d, h = sizes[:2]
    ws = []
    for i in range(layers):
        m = (d if i == 0 else h) + h
        ws.append((rng.standard_normal((m, 4 * h), dtype=np.float32) / np.float32(np.sqrt(m)),
                   np.zeros(4 * h, np.float32)))
    return {"layers": ws,
            "out": rng.standard_normal((h, 1), dtype=np.float32) / np.float32(np.sqrt(h))}


def lstm_data(sizes=LSTM_SIZES, seed: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (time, batch, in) and regression targets (time, batch, 1)."""
    rng = np.random.default_rng(seed)
    d, _, t, b = sizes
    return (rng.standard_normal((t, b, d), dtype=np.float32),
            rng.standard_normal((t, b, 1), dtype=np.float32))


def lstm_loss_fn(np_, lax, sigmoid):
    """loss(params, xs, ys): mean squared error of a linear readout of the top layer of an LSTM
    stack, each layer one ``lax.scan`` over time; ``sigmoid`` is ``xform.nn.sigmoid`` or
    ``jax.nn.sigmoid``."""
    def cell(p, carry, x):
        h, c = carry
        z = np_.concatenate([x, h], axis=-1) @ p[0] + p[1]
        i, f, g, o = np_.split(z, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np_.tanh(g)
        h = sigmoid(o) * np_.tanh(c)
        return (h, c), h

    def loss(params, xs, ys):
        hs = xs
        for p in params["layers"]:
            zeros = np_.zeros((xs.shape[1], p[0].shape[1] // 4), xs.dtype)
            _, hs = lax.scan(lambda carry, x, p=p: cell(p, carry, x), (zeros, zeros), hs)
        return np_.mean((hs @ params["out"] - ys) ** 2)

    return loss


# -- torch versions (torch imported by the caller) ---------------------------------------------
def torch_mlp_loss_fn(torch):
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = torch.relu(h @ w + b)
        w, b = params[-1]
        logp = torch.log_softmax(h @ w + b, dim=-1)
        return -(logp * y).sum(-1).mean()

    return loss


@functools.cache
def _torch_lenet_class(torch):
    nn = torch.nn
    F = torch.nn.functional

    class LeNet5(nn.Module):
        def __init__(self, params: dict[str, np.ndarray], device: str):
            super().__init__()
            self.p = nn.ParameterDict({
                k: nn.Parameter(torch.from_numpy(v.copy()).to(device), requires_grad=False)
                for k, v in params.items()})

        def forward(self, x):
            p = self.p
            h = F.max_pool2d(F.relu(F.conv2d(x, p["c1"], p["b1"], padding=2)), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, p["c2"], p["b2"])), 2)
            h = h.reshape(h.shape[0], 400)
            h = F.relu(h @ p["f1"] + p["g1"])
            h = F.relu(h @ p["f2"] + p["g2"])
            return h @ p["f3"] + p["g3"]

    return LeNet5


def torch_lenet_module(torch, params: dict[str, np.ndarray], device: str):
    """A torch.nn.Module LeNet-5 holding ``params`` (same layout as ``lenet_fn``)."""
    return _torch_lenet_class(torch)(params, device)
