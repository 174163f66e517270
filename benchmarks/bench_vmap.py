"""vmap figures: the seed-004 neuron against its hand-batched version, and the seed-002 table.

    python -m benchmarks.bench_vmap [--quick]

- ``jit(vmap(model))`` vs ``jit(batched_model)`` in xform, for the neuron
  ``model(v) = tanh(W @ v + b).sum()`` at W 256x512, batch 1024, hand-batched with
  ``einsum("mk,nk->nm", W, v_batch)``: bound ≤ 1.05, and both jaxprs must hold the same
  operations (dot_general, add, tanh, reduce_sum). JAX's own ratio is reported beside it.
- The seed-002 table: un-jitted ``vmap(custom_dot)`` over the rows of two (n, n) matrices, and
  ``mv = vmap(vv, (0, None))`` over the rows of an (n, n) matrix with a vector, each against a
  Python loop of the same per-row function, for n = 100, 1000, 5000, 10000. Reported as the
  ratio vmap / loop (the speedup is its inverse), for xform and for JAX; no bound.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp
from benchmarks import _models
from benchmarks._common import Row, assert_close, block, interleaved, on_device, put, ratio_row

NEURON_BOUND = 1.05
SEED002_SIZES = (100, 1000, 5000, 10000)


def op_list(closed_jaxpr) -> list[str]:
    """Primitive names of a jaxpr's equations, calls flattened into their bodies."""
    names = []
    for eqn in closed_jaxpr.jaxpr.eqns:
        inner = eqn.params.get("jaxpr") or eqn.params.get("call_jaxpr")
        if inner is not None and hasattr(inner, "jaxpr"):
            names += op_list(inner)
        else:
            names.append(eqn.primitive.name)
    return names


def neuron(device: str = "cpu", quick: bool = False, verbose: bool = True) -> list[Row]:
    rounds, number = (1, 1) if quick else (21, 10)
    rng = np.random.default_rng(4)
    w_np = rng.standard_normal((256, 512), dtype=np.float32)
    with on_device(device):
        v_batch = put(rng.standard_normal((1024, 512), dtype=np.float32), device)
        x_model, x_batched = _models.neuron_fns(xnp, w_np)
        j_model, j_batched = _models.neuron_fns(jnp, w_np)
        ops_vmap = op_list(xform.make_jaxpr(xform.vmap(x_model))(v_batch))
        ops_hand = op_list(xform.make_jaxpr(x_batched)(v_batch))
        if verbose:
            print("xform jaxpr ops, vmap(model):   ", ops_vmap)
            print("xform jaxpr ops, batched_model: ", ops_hand)
        fns = {
            "xform vmap": xform.jit(xform.vmap(x_model)), "xform hand": xform.jit(x_batched),
            "jax vmap": jax.jit(jax.vmap(j_model)), "jax hand": jax.jit(j_batched),
        }
        assert_close(fns["xform vmap"](v_batch), fns["jax hand"](v_batch), device)
        times = interleaved({k: (lambda f=f: f(v_batch)) for k, f in fns.items()},
                            rounds, number, warmup=3)
    same = ops_vmap == ops_hand
    note = ("same ops: " if same else "ops DIFFER: vmap ") + ", ".join(ops_vmap)
    if not same:
        note += " vs hand " + ", ".join(ops_hand)
    fig = "jit(vmap(neuron)) / jit(einsum hand-batched), W 256x512, batch 1024"
    rows = [ratio_row(fig, times, "xform vmap", "xform hand", "hand-batched (xform)",
                      NEURON_BOUND, note, device),
            ratio_row(fig, times, "jax vmap", "jax hand", "hand-batched (JAX)", None,
                      "JAX for reference", device, subject="JAX vmap")]
    if not same:  # the op-list half of the figure failed: no ratio can make the row pass
        rows[0].ratio = float("inf") if rows[0].ratio <= NEURON_BOUND else rows[0].ratio
    return rows


def seed002(device: str = "cpu", quick: bool = False,
            sizes: tuple[int, ...] = SEED002_SIZES) -> list[Row]:
    if quick:
        sizes = sizes[:1]
    rows = []
    for n in sizes:
        # loops cost n eager calls each, so big sizes get fewer rounds
        rounds = 1 if quick else {100: 15, 1000: 7}.get(n, 3)
        rng = np.random.default_rng(n)
        with on_device(device):
            x = put(rng.standard_normal((n, n), dtype=np.float32), device)
            y = put(rng.standard_normal((n, n), dtype=np.float32), device)
            vec = put(rng.standard_normal(n, dtype=np.float32), device)
            # warm up on two rows (compiles the per-row eager ops), not on n of them
            for fn in _seed002_sides(x[:2], y[:2], vec).values():
                block(fn())
            sides = _seed002_sides(x, y, vec)
            for name, fn in sides.items():
                if "vmap" in name:
                    block(fn())
            times = interleaved(sides, rounds, 1, warmup=0)
        for fn in ("custom_dot", "mv"):
            key = "cd" if fn == "custom_dot" else "mv"
            fig = f"seed-002 {fn}, n={n}: vmap / Python loop"
            for name, label in (("xform", "xform"), ("jax", "JAX")):
                r = ratio_row(fig, times, f"{name} {key} vmap", f"{name} {key} loop",
                              f"loop ({label})", None, "", device, subject=f"vmap ({label})")
                r.note = f"speedup {1 / r.ratio:.0f}x"
                rows.append(r)
    return rows


def _seed002_sides(x, y, vec) -> dict:
    """vmap and loop versions of custom_dot and mv, for xform and JAX, as thunks."""
    sides = {}
    for name, np_, vmap in (("xform", xnp, xform.vmap), ("jax", jnp, jax.vmap)):
        custom_dot, vv = _models.seed002_fns(np_)
        batched_custom_dot = vmap(custom_dot, in_axes=[0, 0])
        mv = vmap(vv, (0, None), 0)
        stack = np_.stack
        sides[f"{name} cd vmap"] = lambda f=batched_custom_dot: f(x, y)
        sides[f"{name} cd loop"] = lambda f=custom_dot, s=stack: s([f(a, b) for a, b in zip(x, y)])
        sides[f"{name} mv vmap"] = lambda f=mv: f(x, vec)
        sides[f"{name} mv loop"] = lambda f=vv, s=stack: s([f(a, vec) for a in x])
    return sides


def run(device: str = "cpu", quick: bool = False) -> list[Row]:
    return neuron(device, quick) + seed002(device, quick)


if __name__ == "__main__":
    import argparse

    from benchmarks._common import print_rows
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(quick=ap.parse_args().quick))
