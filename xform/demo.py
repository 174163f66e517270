"""A short tour of xform: ``python -m xform.demo``.

It runs in seconds on a CPU. Each section is one function taking the shared ``Example``; sections
for transforms that do not exist yet in this version are skipped. To add a section, write a
function and append it to ``SECTIONS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import xform
import xform.numpy as xnp


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
    print(xform.make_jaxpr(xform.vmap(ex.model))(ex.v_batch))


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


def main() -> None:
    """Run every section whose transforms exist in this version of xform."""
    print(f"xform {xform.__version__} on {xform.devices()[0]}")
    ex = make_example()
    for section, needs in SECTIONS:
        if all(hasattr(xform, name) for name in needs):
            section(ex)


if __name__ == "__main__":
    main()
