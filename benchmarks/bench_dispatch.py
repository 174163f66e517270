"""Dispatch overhead of xform against JAX on tiny inputs, where overhead is all there is.

    python benchmarks/bench_dispatch.py [--rounds 30] [--calls 2000] [--json]

Three figures (DESIGN.md §6), each a ratio xform / JAX of the median per-call time:

- eager: ``xform.numpy.sin`` vs ``jax.numpy.sin`` on float32[8] (bound ≤ 1.2);
- cached jit: ``xform.jit(lambda v: v + 1)`` vs ``jax.jit(lambda v: v + 1)`` on float32[8],
  after the first (compiling) call (bound ≤ 1.5);
- inline jit: ``xform.jit(f)(x)`` vs ``jax.jit(f)(x)`` written inline, a new ``jit`` of the same
  module-level ``f`` on every call, as in notebooks and loops: both reuse the program compiled
  for ``f`` at the first call, so this times making the jit object plus a cached call
  (bound ≤ 1.5).

A and B run in interleaved rounds, alternating which goes first, so drifts in clock speed or
background load hit both alike. Each round times ``--calls`` back-to-back calls, then waits for
the last result; the figure is the median over rounds of the time per call.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp

BOUNDS = {"eager sin": 1.2, "cached jit": 1.5, "inline jit": 1.5}


def _add_one(v):
    """The function the inline-jit figure jits afresh on every call (same object each time)."""
    return v + 1


def _inline_xform(v):
    return xform.jit(_add_one)(v)


def _inline_jax(v):
    return jax.jit(_add_one)(v)


def _time_round(fn: Callable[[Any], Any], x: Any, calls: int) -> float:
    """Seconds per call over ``calls`` back-to-back calls."""
    out = None
    t0 = time.perf_counter()
    for _ in range(calls):
        out = fn(x)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / calls


def compare(xform_fn: Callable, jax_fn: Callable, x: Any, rounds: int, calls: int) -> dict:
    """Median seconds per call of each, measured in interleaved rounds."""
    # warm up: compile, fill caches
    for _ in range(50):
        jax.block_until_ready(xform_fn(x))
        jax.block_until_ready(jax_fn(x))
    times: dict[str, list[float]] = {"xform": [], "jax": []}
    for r in range(rounds):
        order = [("xform", xform_fn), ("jax", jax_fn)]
        if r % 2:
            order.reverse()
        for name, fn in order:
            times[name].append(_time_round(fn, x, calls))
    xs, js = statistics.median(times["xform"]), statistics.median(times["jax"])
    return {"xform_us": xs * 1e6, "jax_us": js * 1e6, "ratio": xs / js}


def run(rounds: int, calls: int) -> dict[str, dict]:
    """The figures, keyed by name."""
    x = jnp.asarray(np.linspace(0.0, 1.0, 8, dtype=np.float32))
    results = {
        "eager sin": compare(xnp.sin, jnp.sin, x, rounds, calls),
        "cached jit": compare(xform.jit(lambda v: v + 1), jax.jit(lambda v: v + 1), x,
                              rounds, calls),
        # a new jit object per call costs tens of microseconds in both: fewer calls a round
        "inline jit": compare(_inline_xform, _inline_jax, x, rounds, max(calls // 10, 1)),
    }
    for name, res in results.items():
        res["bound"] = BOUNDS[name]
        res["ok"] = res["ratio"] <= BOUNDS[name]
    return results


def rows(device: str = "cpu", quick: bool = False) -> list:
    """The figures as ``_common.Row`` s, for run_all."""
    from benchmarks._common import Row, on_device

    rounds, calls = (1, 20) if quick else (21, 1000)
    with on_device(device):
        results = run(rounds, calls)
    names = {"eager sin": "eager numpy-API op: xform.numpy.sin(float32[8])",
             "cached jit": "cached jit call of a tiny function: jit(lambda v: v + 1)(float32[8])",
             "inline jit": "jit(f)(x) written inline (a new jit of the same f each call), "
                           "float32[8]"}
    return [Row(names[name], r["xform_us"] * 1e-6, "JAX", r["jax_us"] * 1e-6, r["ratio"],
                r["bound"], device=device) for name, r in results.items()]


def markdown_table(results: dict[str, dict]) -> str:
    lines = ["| figure | xform (µs/call) | JAX (µs/call) | xform / JAX | bound |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        mark = "" if r["ok"] else " (over)"
        lines.append(f"| {name} | {r['xform_us']:.2f} | {r['jax_us']:.2f} | "
                     f"{r['ratio']:.2f}{mark} | ≤ {r['bound']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(args.rounds, args.calls)
    if args.json:
        print(json.dumps({"jax": jax.__version__, "xform": xform.__version__,
                          "machine": platform.processor() or platform.machine(),
                          "rounds": args.rounds, "calls": args.calls, "results": results},
                         indent=2))
    else:
        print(f"xform {xform.__version__}, jax {jax.__version__}, {jax.devices()[0]}, "
              f"{args.rounds} rounds x {args.calls} calls, medians")
        print(markdown_table(results))


if __name__ == "__main__":
    main()
