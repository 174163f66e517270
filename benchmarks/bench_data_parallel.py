"""Data-parallel training step on 8 CPU devices, xform / JAX (bound ≤ 1.0), and its scaling
from 1 to 8 devices next to JAX's.

The step is one SGD update of the MLP 784-512-512-10 (``_models.mlp_loss_fn``) on a global
batch of 1024 split over a one-axis mesh, written two ways with the same source for both
systems: ``jit`` with ``in_shardings``/``out_shardings`` (XLA's partitioner inserts the gradient
all-reduce) and ``shard_map`` with a ``pmean`` of the gradients. XLA fixes the number of CPU
devices when JAX starts, so ``run`` measures in a child process started with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``. On a machine with fewer cores than
devices the "devices" share the cores, so the scaling rows show the cost of partitioning
rather than a speed-up.

    python -m benchmarks.bench_data_parallel [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax

from benchmarks._common import Row

BOUND = 1.0
DEVICES = 8


def _step_fns(lib, np_, mesh, kind: str):
    from jax.sharding import NamedSharding, PartitionSpec as P

    from benchmarks import _models
    loss = _models.mlp_loss_fn(np_)

    def update(params, g):
        return jax.tree_util.tree_map(lambda p, d: p - 0.1 * d, params, g)

    if kind == "jit":
        rows, repl = NamedSharding(mesh, P("b")), NamedSharding(mesh, P())
        return lib.jit(lambda p, x, y: update(p, lib.grad(loss)(p, x, y)),
                       in_shardings=(repl, rows, rows), out_shardings=repl)

    def per_device(p, x, y):
        return update(p, lib.lax.pmean(lib.grad(loss)(p, x, y), "b"))
    # check_vma=False: grad inside the body is each device's own and pmean averages them (with
    # the default check_vma=True the gradient of the replicated params is already summed over
    # the devices, in JAX and in xform alike)
    return lib.jit(lib.shard_map(per_device, mesh=mesh, in_specs=(P(), P("b"), P("b")),
                                 out_specs=P(), check_vma=False))


def _measure(quick: bool) -> list[Row]:
    import jax.numpy as jnp
    from jax.sharding import AxisType

    import xform
    import xform.numpy as xnp
    from benchmarks import _models
    from benchmarks._common import assert_close, interleaved, ratio_row

    # 41 rounds: the two programs compile alike, and 15 rounds scattered the ratio by about ±2 %
    rounds, number = (1, 1) if quick else (41, 5)
    sizes, batch = ((64, 32, 32, 10), 64) if quick else (_models.MLP_SIZES, 1024)
    params = _models.mlp_params(sizes)
    x, y = _models.mlp_data(batch, sizes)
    out: list[Row] = []
    per_kind: dict = {}
    for n in (1, 2, 4, DEVICES):
        mesh = jax.make_mesh((n,), ("b",), axis_types=(AxisType.Auto,),
                             devices=jax.devices()[:n])
        for kind in ("jit", "shard_map"):
            if kind == "shard_map" and n != DEVICES:
                continue
            xf, jf = _step_fns(xform, xnp, mesh, kind), _step_fns(jax, jnp, mesh, kind)
            for a, b in zip(jax.tree_util.tree_leaves(xf(params, x, y)),
                            jax.tree_util.tree_leaves(jf(params, x, y))):
                assert_close(a, b, what=f"{kind} step, {n} devices")
            times = interleaved({"xform": lambda xf=xf: xf(params, x, y),
                                 "jax": lambda jf=jf: jf(params, x, y)}, rounds, number,
                                warmup=2)
            per_kind[(kind, n)] = times
            if n == DEVICES:
                out.append(ratio_row(
                    f"data-parallel MLP step on {n} CPU devices ({kind}"
                    f"{' + shardings' if kind == 'jit' else ' + pmean'}), batch {batch}",
                    times, "xform", "jax", "JAX", BOUND))
    for lib in ("xform", "jax"):
        t1 = per_kind[("jit", 1)][lib]
        for n in (2, 4, DEVICES):
            tn = per_kind[("jit", n)][lib]
            out.append(Row(f"scaling of the jit step, 1 -> {n} devices ({lib})", tn,
                           f"{lib} on 1 device", t1, tn / t1, None,
                           f"speed-up {t1 / tn:.2f}x on {os.cpu_count()} cores", "cpu", lib))
    return out


def run(device: str = "cpu", quick: bool = False) -> list[Row]:
    """The rows, measured in a child process that has 8 CPU devices."""
    if device != "cpu":
        return []
    if jax.device_count() >= DEVICES and jax.default_backend() == "cpu":
        return _measure(quick)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") +
                          f" --xla_force_host_platform_device_count={DEVICES}").strip(),
               PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "benchmarks.bench_data_parallel", "--json-rows"]
    proc = subprocess.run(cmd + (["--quick"] if quick else []), cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode:
        raise RuntimeError(f"bench_data_parallel failed:\n{proc.stderr[-3000:]}")
    fields = Row.__dataclass_fields__
    return [Row(**{k: v for k, v in d.items() if k in fields})
            for d in json.loads(proc.stdout.strip().splitlines()[-1])]


if __name__ == "__main__":
    import argparse

    from benchmarks._common import print_rows
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json-rows", action="store_true", help="print the rows as JSON (child)")
    args = ap.parse_args()
    rows = run(quick=args.quick)
    if args.json_rows:
        print(json.dumps([r.as_dict() for r in rows]))
    else:
        print_rows(rows)
