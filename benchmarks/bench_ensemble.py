"""Ensemble inference of four LeNet-5s (batch 32): one jit-ted vmap over stacked parameters
against a loop over four jit-ted models (bound ≤ 0.8 for xform).

    python -m benchmarks.bench_ensemble [--quick]

The LeNet-5 is written directly with ``lax.conv_general_dilated``, ``lax.reduce_window`` and
``lax.dot`` (``_models.lenet_fn``), the same source for xform and JAX. The vmap maps the
parameters (axis 0 of every leaf) and shares the input batch, so the convolutions have batched
kernels and unbatched inputs. The same ratio is reported for JAX and for torch.func
(``stack_module_state`` + ``functional_call`` + ``vmap``, against a loop over the four modules,
no torch.compile), which have no bound.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp
from benchmarks import _models
from benchmarks._common import (
    Row, assert_close, interleaved, on_device, put, ratio_row, torch_device, torch_or_none,
)

BOUND = 0.8
MEMBERS = 4
FIG = "ensemble of 4 LeNet-5 (batch 32): jit(vmap) over stacked params / loop of 4 jit"


def run(device: str = "cpu", quick: bool = False) -> list[Row]:
    rounds, number = (1, 1) if quick else (21, 5)
    members_np = [_models.lenet_params(seed) for seed in range(MEMBERS)]
    stacked_np = {k: np.stack([m[k] for m in members_np]) for k in members_np[0]}
    x_np = _models.lenet_data(32)
    sides = {}
    with on_device(device):
        x = put(x_np, device)
        members = [put(m, device) for m in members_np]
        stacked = put(stacked_np, device)
        results = {}
        for name, np_, lax, jit, vmap in (("xform", xnp, xform.lax, xform.jit, xform.vmap),
                                          ("jax", jnp, jax.lax, jax.jit, jax.vmap)):
            apply = _models.lenet_fn(np_, lax)
            single, ensemble = jit(apply), jit(vmap(apply, in_axes=(0, None)))
            sides[f"{name} vmap"] = lambda f=ensemble: f(stacked, x)
            sides[f"{name} loop"] = lambda f=single: [f(p, x) for p in members]
            results[name] = (np.asarray(ensemble(stacked, x)),
                             np.stack([np.asarray(single(p, x)) for p in members]))
        want = results["jax"][1]
        for name, (vm, loop) in results.items():
            assert_close(vm, want, device, what=f"{name} vmap")
            assert_close(loop, want, device, what=f"{name} loop")

        torch = torch_or_none()
        if torch is not None:
            dev = torch_device(device)
            models = [_models.torch_lenet_module(torch, m, dev) for m in members_np]
            tparams, tbuffers = torch.func.stack_module_state(models)
            base = _models.torch_lenet_module(torch, members_np[0], "meta")
            tx = torch.from_numpy(x_np).to(dev)

            def one(params, buffers, data):
                return torch.func.functional_call(base, (params, buffers), (data,))

            tens = torch.func.vmap(one, in_dims=(0, 0, None))

            def t_vmap():
                with torch.no_grad():
                    return tens(tparams, tbuffers, tx)

            def t_loop():
                with torch.no_grad():
                    return [m(tx) for m in models]

            assert_close(t_vmap().cpu().numpy(), want, device)
            assert_close(np.stack([t.cpu().numpy() for t in t_loop()]), want, device)
            sides["torch vmap"], sides["torch loop"] = t_vmap, t_loop
        times = interleaved(sides, rounds, number, warmup=3)
    rows = [ratio_row(FIG, times, "xform vmap", "xform loop", "loop (xform)", BOUND,
                      device=device, subject="vmap (xform)"),
            ratio_row(FIG, times, "jax vmap", "jax loop", "loop (JAX)", None, device=device,
                      subject="vmap (JAX)")]
    if "torch vmap" in times:
        rows.append(ratio_row(FIG, times, "torch vmap", "torch loop", "loop (torch)", None,
                              device=device, subject="vmap (torch.func)"))
    return rows


if __name__ == "__main__":
    import argparse

    from benchmarks._common import ensure_hugetlb, print_rows
    ensure_hugetlb()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(quick=ap.parse_args().quick))
