"""Everything a session with a GPU should check, in one go, printing ratios as it goes.

    python -m benchmarks.gpu_check                       # on the GPU: programs, shardings, figures
    python -m benchmarks.gpu_check --quick               # tiny shapes, one round each (a dry run)
    python -m benchmarks.gpu_check --device cpu --quick  # the same checks on CPU, no GPU needed
    python -m benchmarks.gpu_check --skip-figures        # programs and shardings only

1. The per-sample-gradient program (``jit(vmap(grad(loss)))``, MLP 784-512-512-10, batch 128)
   as compiled for the device: its StableHLO contractions and transposes against JAX's. On a
   GPU they must be JAX's (docs/autodiff.md, "Layout per platform"); on CPU xform keeps its own
   operand order, so there they differ by design.
2. ``jit`` with ``in_shardings``/``out_shardings`` over the device alone: a
   ``SingleDeviceSharding`` and a one-device ``Mesh`` (``NamedSharding``, replicated and split
   along the batch), on the per-sample gradients and on an SGD step, same source for xform and
   JAX: values against JAX's, the results' shardings, and xform / JAX time.
3. The whole benchmark set on the device (``run_all --devices DEVICE``); the rows go to
   ``--json`` (default ``benchmarks/results_gpu_check.json``) for ``run_all --include``.

Exits non-zero when a check of 1 or 2 fails; ratios over their bound are printed, not fatal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P, SingleDeviceSharding  # noqa: E402

import xform  # noqa: E402
import xform.numpy as xnp  # noqa: E402
from benchmarks import _models  # noqa: E402
from benchmarks._common import (  # noqa: E402
    assert_close, ensure_hugetlb, gpu_available, interleaved, markdown_table, ratio_row,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DOT = re.compile(r"stablehlo\.dot_general [^,]+, [^,]+, (.*?)(?:\s+loc\(.*)?$")
_TRANSPOSE = re.compile(r"stablehlo\.transpose [^,]+, (.*?)(?:\s+loc\(.*)?$")


def contractions(text: str) -> list[tuple[str, str]]:
    """The dot_generals (dimension numbers, types) and transposes of StableHLO, in order."""
    out = []
    for line in text.splitlines():
        for kind, pat in (("dot_general", _DOT), ("transpose", _TRANSPOSE)):
            m = pat.search(line)
            if m:
                out.append((kind, m.group(1).strip()))
    return out


def _sizes(quick: bool):
    return ((64, 32, 32, 10), 8) if quick else (_models.MLP_SIZES, 128)


def _per_sample(lib, np_, **jit_kw):
    return lib.jit(lib.vmap(lib.grad(_models.mlp_loss_fn(np_)), in_axes=(None, 0, 0)), **jit_kw)


def _sgd_step(lib, np_, **jit_kw):
    loss = _models.mlp_loss_fn(np_)

    def step(params, x, y):
        g = lib.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, d: p - 0.1 * d, params, g)

    return lib.jit(step, **jit_kw)


def check_program(device: str, quick: bool) -> bool:
    sizes, batch = _sizes(quick)
    params = _models.mlp_params(sizes)
    x, y = _models.mlp_data(batch, sizes)
    platform = jax.devices(device)[0].platform
    texts = {name: f.trace(params, x, y).lower(lowering_platforms=(platform,)).as_text()
             for name, f in (("xform", _per_sample(xform, xnp)), ("jax", _per_sample(jax, jnp)))}
    got, want = contractions(texts["xform"]), contractions(texts["jax"])
    same = got == want
    print(f"\n## 1. per-sample-gradient program for {platform!r}: contractions "
          f"{'are' if same else 'are NOT'} JAX's ({len(got)} against {len(want)} ops)")
    if not same:
        for kind, d in got:
            print("   xform", kind, d[:150])
        for kind, d in want:
            print("   jax  ", kind, d[:150])
    # on CPU xform's own operand order is kept on purpose
    return same if platform != "cpu" else not same


def _shardings(dev, batch_split: bool):
    """(name, in_shardings, out_shardings) for the per-sample function's (params, x, y)."""
    single = SingleDeviceSharding(dev)
    mesh = Mesh(np.array([dev]), ("x",))
    rep = NamedSharding(mesh, P())
    split = NamedSharding(mesh, P("x")) if batch_split else rep
    return [("SingleDeviceSharding", (single, single, single), single),
            ("1-device mesh, replicated", (rep, rep, rep), rep),
            ("1-device mesh, batch split over 'x'", (rep, split, split), rep)]


def check_shardings(device: str, quick: bool):
    dev = jax.devices(device)[0]
    sizes, batch = _sizes(quick)
    params_np = _models.mlp_params(sizes)
    x_np, y_np = _models.mlp_data(batch, sizes)
    rounds, number = (1, 1) if quick else (15, 3)
    rows, ok = [], True
    print(f"\n## 2. jit with shardings over {dev}")
    for fn_name, make in (("per-sample grads", _per_sample), ("SGD step", _sgd_step)):
        for name, ins, out in _shardings(dev, batch_split=True):
            xf = make(xform, xnp, in_shardings=ins, out_shardings=out)
            jf = make(jax, jnp, in_shardings=ins, out_shardings=out)
            args = (jax.device_put(params_np, ins[0]), jax.device_put(x_np, ins[1]),
                    jax.device_put(y_np, ins[2]))
            got, want = xf(*args), jf(*args)
            try:
                for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
                    assert_close(np.asarray(g), np.asarray(w), device, f"{fn_name}, {name}")
                    if not g.sharding.is_equivalent_to(w.sharding, g.ndim):
                        raise AssertionError(f"{fn_name}, {name}: result sharding {g.sharding} "
                                             f"where JAX's is {w.sharding}")
            except AssertionError as e:
                print("   FAILED:", e)
                ok = False
                continue
            times = interleaved({"xform": lambda f=xf, a=args: f(*a),
                                 "jax": lambda f=jf, a=args: f(*a)}, rounds, number, warmup=2)
            rows.append(ratio_row(f"jit({fn_name}) with {name}, MLP {sizes}, batch {batch}",
                                  times, "xform", "jax", "JAX", 1.0, device=device))
            print(f"   {fn_name}, {name}: values and shardings as JAX's; xform / JAX "
                  f"{rows[-1].ratio:.3f}", flush=True)
    return ok, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="gpu", help="gpu (default) or cpu, for a dry run")
    ap.add_argument("--quick", action="store_true", help="tiny shapes, one round each")
    ap.add_argument("--skip-figures", action="store_true", help="checks 1 and 2 only")
    ap.add_argument("--only", help="run_all's --only (comma-separated modules)")
    ap.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results_gpu_check.json"))
    args = ap.parse_args(argv)
    if args.device == "gpu" and not gpu_available():
        print("gpu_check: JAX sees no GPU here (jax.devices('gpu') failed); use --device cpu "
              "for a dry run", file=sys.stderr)
        return 2
    ensure_hugetlb()
    print(json.dumps({"jax": jax.__version__, "xform": xform.__version__,
                      "device": str(jax.devices(args.device)[0].device_kind)}), flush=True)
    program_ok = check_program(args.device, args.quick)
    shardings_ok, rows = check_shardings(args.device, args.quick)
    if rows:
        print(markdown_table(rows), flush=True)
    if not args.skip_figures:
        from benchmarks import run_all
        print(f"\n## 3. the benchmark set on {args.device}", flush=True)
        run_argv = ["--devices", args.device, "--no-write", "--json", args.json]
        run_argv += ["--quick"] if args.quick else []
        run_argv += ["--only", args.only] if args.only else []
        run_all.main(run_argv)
        print(f"rows written to {args.json} (add them to docs/benchmarks.md with "
              f"`python -m benchmarks.run_all --include {os.path.relpath(args.json, ROOT)}`)")
    print(f"\nprogram check: {'ok' if program_ok else 'FAILED'}; "
          f"sharding check: {'ok' if shardings_ok else 'FAILED'}")
    return 0 if program_ok and shardings_ok else 1


if __name__ == "__main__":
    sys.exit(main())
