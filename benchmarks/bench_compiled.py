"""Compiled runtime of the same program, xform / JAX (bound ≤ 1.05).

The program is the forward pass and mean cross-entropy loss of an MLP 784-512-512-10 on a
batch of 128, under jit. Both systems run the same source (``_models.mlp_loss_fn``) on the same
device arrays; only the compiled program's run time differs, plus the cached-call overhead.

    python -m benchmarks.bench_compiled [--quick]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import xform
import xform.numpy as xnp
from benchmarks import _models
from benchmarks._common import Row, interleaved, on_device, put, ratio_row

BOUND = 1.05


def run(device: str = "cpu", quick: bool = False) -> list[Row]:
    rounds, number = (1, 1) if quick else (41, 10)
    with on_device(device):
        sizes, batch = ((64, 32, 32, 10), 8) if quick else (_models.MLP_SIZES, 128)
        params = put(_models.mlp_params(sizes), device)
        x, y = put(_models.mlp_data(batch, sizes), device)
        xf = xform.jit(_models.mlp_loss_fn(xnp))
        jf = jax.jit(_models.mlp_loss_fn(jnp))
        times = interleaved({"xform": lambda: xf(params, x, y), "jax": lambda: jf(params, x, y)},
                            rounds, number, warmup=3)
    return [ratio_row("compiled runtime: jit(MLP 784-512-512-10 forward+loss), batch 128",
                      times, "xform", "jax", "JAX", BOUND, device=device)]


if __name__ == "__main__":
    import argparse

    from benchmarks._common import print_rows
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(quick=ap.parse_args().quick))
