"""xform's demo: ``python -m xform.demo``.

A short tour of the transforms on one neuron layer, then the main act: an ensemble of four LeNet-5
nets trained on synthetic 32x32 images with ONE jit-ted, vmapped training step (each member with
its own learning rate), a live progress line, and the measured speed-up over looping over the
four models. It runs in well under a minute on two CPU cores.

    python -m xform.demo                 # tour + ensemble
    python -m xform.demo --steps 50      # a shorter training run
    python -m xform.demo --no-tour       # the ensemble only

Each tour section is one function taking the shared ``Example``; sections for transforms that do
not exist in this version are skipped. To add a section, write a function and append it to
``SECTIONS``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import xform
import xform.numpy as xnp
from xform import nn, optim
from xform.nn import losses


@dataclass
class Example:
    """The model of the tour: one neuron layer, ``tanh(W @ v + b).sum()``, and its data."""

    model: Callable[[Any], Any]
    W: Any
    v: Any
    v_batch: Any


def make_example() -> Example:
    # The draws reproduce a published vmap tutorial, so the printed numbers can be checked
    # against it: model(v) = 2.0699806, and per-row values [-2.263083 -1.4514356 0.9401485
    # 2.9187164] on v_batch.
    rng = np.random.RandomState(8675309)
    W = xnp.asarray(rng.randn(3, 5), dtype=xnp.float32)
    rng.randn(5)  # the tutorial's random stream is offset by one draw
    v = xnp.asarray(rng.randn(5), dtype=xnp.float32)
    v_batch = xnp.asarray(rng.randn(4, 5), dtype=xnp.float32)
    b = 1.0

    def model(v):
        return xnp.sum(xnp.tanh(W @ v + b))

    return Example(model, W, v, v_batch)


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def show_eager(ex: Example) -> None:
    _section("eager: xform.numpy runs op by op on jax.Arrays")
    print("model(v) =", ex.model(ex.v))


def show_jaxpr(ex: Example) -> None:
    _section("make_jaxpr: the program xform traced")
    print(xform.make_jaxpr(ex.model)(ex.v))


def show_jit(ex: Example) -> None:
    _section("jit: trace once, compile with XLA, then call the cached executable")
    fast = xform.jit(ex.model)
    t0 = time.perf_counter()
    out = xform.block_until_ready(fast(ex.v))
    first = time.perf_counter() - t0
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        xform.block_until_ready(fast(ex.v))
    cached = (time.perf_counter() - t0) / n
    print("jit(model)(v) =", out)
    print(f"first call (trace + lower + compile): {first * 1e3:8.1f} ms")
    print(f"cached call:                          {cached * 1e6:8.1f} us")
    hlo = fast.lower(ex.v).as_text()
    print(f"StableHLO: {len(hlo.splitlines())} lines (fast.lower(v).as_text())")


def show_vmap(ex: Example) -> None:
    _section("vmap: the same model over a batch of inputs")
    print("vmap(model)(v_batch) =", xform.vmap(ex.model)(ex.v_batch))


def show_grad(ex: Example) -> None:
    _section("grad: derivative of the model with respect to its input")
    print("grad(model)(v) =", xform.grad(ex.model)(ex.v))


def show_composed(ex: Example) -> None:
    _section("composed: jit(vmap(grad(model))), one gradient per row")
    print(xform.jit(xform.vmap(xform.grad(ex.model)))(ex.v_batch))


# (section, the xform attributes it needs)
SECTIONS: list[tuple[Callable[[Example], None], tuple[str, ...]]] = [
    (show_eager, ()),
    (show_jaxpr, ()),
    (show_jit, ()),
    (show_vmap, ("vmap",)),
    (show_grad, ("grad",)),
    (show_composed, ("vmap", "grad")),
]


# -- the main act: an ensemble of four LeNet-5s ---------------------------------------------

def lenet5(key: Any) -> nn.Sequential:
    """LeNet-5 for one (1, 32, 32) image: two conv/pool stages, then three linear layers."""
    k = xform.random.split(key, 5)
    return nn.Sequential([
        nn.Conv2d(1, 6, 5, key=k[0]), nn.Lambda(nn.relu), nn.MaxPool2d(2),    # 6x28x28 -> 14x14
        nn.Conv2d(6, 16, 5, key=k[1]), nn.Lambda(nn.relu), nn.MaxPool2d(2),   # 16x10x10 -> 5x5
        nn.Lambda(xnp.ravel),                                                 # 400
        nn.Linear(400, 120, key=k[2]), nn.Lambda(nn.relu),
        nn.Linear(120, 84, key=k[3]), nn.Lambda(nn.relu),
        nn.Linear(84, 10, key=k[4]),
    ])


class SyntheticImages:
    """Ten classes of 32x32 images: a class-specific pattern of blobs plus noise."""

    def __init__(self, seed: int = 0, num_classes: int = 10, noise: float = 1.0) -> None:
        self.rng = np.random.RandomState(seed)
        yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
        templates = np.zeros((num_classes, 1, 32, 32), np.float32)
        for c in range(num_classes):
            for cy, cx in self.rng.uniform(4, 28, size=(3, 2)):
                templates[c, 0] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18.0)
        self.templates, self.num_classes, self.noise = templates, num_classes, noise

    def batch(self, batch_size: int) -> tuple[Any, Any]:
        labels = self.rng.randint(0, self.num_classes, batch_size).astype(np.int32)
        images = self.templates[labels] + self.noise * self.rng.randn(
            batch_size, 1, 32, 32).astype(np.float32)
        return xnp.asarray(images), xnp.asarray(labels)


def loss_fn(model: nn.Module, images: Any, labels: Any) -> Any:
    """Mean cross-entropy of one model on a batch: the model sees one image, vmap the batch."""
    logits = xform.vmap(model)(images)
    return xnp.mean(losses.softmax_cross_entropy_with_integer_labels(logits, labels))


def train_step(model: nn.Module, opt_state: Any, learning_rate: Any, images: Any,
               labels: Any) -> tuple[nn.Module, Any, Any]:
    """One Adam step of ONE model. vmap makes it a step of the whole ensemble."""
    loss, grads = xform.value_and_grad(loss_fn)(model, images, labels)
    updates, opt_state = optim.adam(learning_rate).update(grads, opt_state, model)
    return optim.apply_updates(model, updates), opt_state, loss


def _median_time(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        xform.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def train_ensemble(steps: int = 100, batch_size: int = 32, members: int = 4, seed: int = 0,
                   timing_reps: int = 10, out: Any = None) -> dict[str, Any]:
    """Train ``members`` LeNet-5s at once and compare with looping over them.

    Returns:
        A dict with the per-member ``learning_rates``, ``initial_losses`` and ``final_losses``
        (on one held-out batch), the training ``steps_per_s``, the median time of one
        ``ensemble_step_s`` and of a ``loop_step_s`` (four jit-ted single-model steps), and
        their ratio ``speedup``.
    """
    out = out or sys.stdout
    _section("ensemble: four LeNet-5s trained with one jit(vmap(train_step))")
    keys = xform.random.split(xform.random.key(seed), members)
    models = [lenet5(k) for k in keys]
    ensemble = nn.stack(models)                               # every array gains a leading axis 4
    learning_rates = xnp.asarray(np.geomspace(3e-4, 3e-3, members), dtype=xnp.float32)
    opt_state = xform.vmap(optim.adam(0.0).init)(ensemble)
    data = SyntheticImages(seed)
    test_images, test_labels = data.batch(256)

    # Members, their optimizer states and learning rates are mapped; the batch is shared.
    ensemble_step = xform.jit(xform.vmap(train_step, in_axes=(0, 0, 0, None, None)))
    ensemble_loss = xform.jit(xform.vmap(loss_fn, in_axes=(0, None, None)))
    initial = np.asarray(ensemble_loss(ensemble, test_images, test_labels))
    print(f"{members} members, parameters stacked to shape "
          f"{tuple(ensemble.layers[0].weight.shape)} (conv1); learning rates "
          + " ".join(f"{lr:.1e}" for lr in np.asarray(learning_rates)), file=out)

    every = max(1, steps // 40)
    t_start = time.perf_counter()
    for step in range(1, steps + 1):
        images, labels = data.batch(batch_size)
        ensemble, opt_state, loss = ensemble_step(ensemble, opt_state, learning_rates, images,
                                                  labels)
        if step == 1:
            xform.block_until_ready(loss)   # the first step compiles; rate the others
            t_start, first_step = time.perf_counter(), step
        if step % every == 0 or step == steps:
            loss_text = " ".join(f"{v:.3f}" for v in np.asarray(loss))
            rate = (step - first_step) / max(time.perf_counter() - t_start, 1e-9)
            print(f"\rstep {step:4d}/{steps} | loss {loss_text} | {rate:6.1f} steps/s",
                  end="", flush=True, file=out)
    xform.block_until_ready(ensemble)
    steps_per_s = (steps - 1) / max(time.perf_counter() - t_start, 1e-9)
    print(file=out)
    final = np.asarray(ensemble_loss(ensemble, test_images, test_labels))
    for i in range(members):
        print(f"  member {i}: lr {float(learning_rates[i]):.1e}  held-out loss "
              f"{initial[i]:.3f} -> {final[i]:.3f}", file=out)

    # The comparison: the same step for each model separately, jit-ted, called in a loop.
    single_step = xform.jit(train_step)
    trained = nn.unstack(ensemble)                            # each member usable on its own
    states = nn.unstack(opt_state)
    images, labels = data.batch(batch_size)

    def run_ensemble() -> Any:
        return ensemble_step(ensemble, opt_state, learning_rates, images, labels)

    def run_loop() -> Any:
        return [single_step(m, s, learning_rates[i], images, labels)
                for i, (m, s) in enumerate(zip(trained, states))]

    xform.block_until_ready(run_loop())                       # compile the single-model step
    ens_times, loop_times = [], []
    for _ in range(timing_reps):                              # interleaved, A/B
        ens_times.append(_median_time(run_ensemble, 1))
        loop_times.append(_median_time(run_loop, 1))
    ens_s, loop_s = float(np.median(ens_times)), float(np.median(loop_times))
    print(f"one vmapped step of all {members}: {ens_s * 1e3:7.2f} ms | loop over {members} "
          f"jit-ted steps: {loop_s * 1e3:7.2f} ms | speed-up {loop_s / ens_s:.2f}x", file=out)
    return dict(learning_rates=np.asarray(learning_rates), initial_losses=initial,
                final_losses=final, steps_per_s=steps_per_s, ensemble_step_s=ens_s,
                loop_step_s=loop_s, speedup=loop_s / ens_s)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the tour (sections whose transforms exist in this version), then the ensemble."""
    parser = argparse.ArgumentParser(prog="python -m xform.demo", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps (100)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step (32)")
    parser.add_argument("--no-tour", action="store_true", help="skip the tour")
    args = parser.parse_args(argv)
    print(f"xform {xform.__version__} on {xform.devices()[0]}")
    if not args.no_tour:
        ex = make_example()
        for section, needs in SECTIONS:
            if all(hasattr(xform, name) for name in needs):
                section(ex)
    return train_ensemble(steps=args.steps, batch_size=args.batch_size)


if __name__ == "__main__":
    main()
