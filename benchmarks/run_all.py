"""Run every figure of DESIGN.md §6 and write the results table and plot to docs/benchmarks.md.

    python -m benchmarks.run_all                 # from the repository root
    python benchmarks/run_all.py --quick         # one tiny round of each: checks, no figures
    python -m benchmarks.run_all --only vmap,ensemble --no-write

CPU always; GPU too when JAX sees one (``--devices cpu`` to skip it). The process re-executes
itself with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` unless that is already set, so xform, JAX
and torch all allocate from huge pages. ``--json FILE`` also writes the rows as JSON;
``--include FILE`` adds the rows of such a file (say, a GPU run taken on another machine).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import (  # noqa: E402
    Row, ensure_hugetlb, gpu_available, markdown_table, torch_or_none,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = ("dispatch", "compiled", "vmap", "autodiff", "ensemble", "training", "data_parallel",
           "interop")


def _runner(name: str):
    """The ``(device, quick) -> rows`` function of a benchmark module."""
    import importlib

    mod = importlib.import_module(f"benchmarks.bench_{name}")
    return mod.rows if name == "dispatch" else mod.run


def machine_info() -> dict:
    import jax

    import xform
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    torch = torch_or_none()
    info = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "nproc": os.cpu_count(),
            "cpu": cpu, "python": platform.python_version(), "xform": xform.__version__,
            "jax": jax.__version__, "torch": torch.__version__ if torch else "not installed",
            "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES", "")}
    if gpu_available():
        info["gpu"] = str(jax.devices("gpu")[0].device_kind)
    return info


def plot(rows: list[Row], path: str) -> None:
    """Horizontal bars of every bounded ratio, each with its bound as a tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bounded = [r for r in rows if r.bound is not None]
    if not bounded:
        return
    labels = [f"{r.figure[:60]}{'…' if len(r.figure) > 60 else ''} / {r.peer} [{r.device}]"
              for r in bounded]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(bounded) + 1.2))
    ys = range(len(bounded))
    colors = ["tab:green" if r.ok else "tab:red" for r in bounded]
    ax.barh(ys, [r.ratio for r in bounded], color=colors)
    ax.scatter([r.bound for r in bounded], ys, marker="|", s=300, color="black", label="bound",
               zorder=3)
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("ratio (xform / peer, lower is better; log scale)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_doc(path: str, info: dict, rows: list[Row], included: list[dict], plot_name: str,
              elapsed: float, note: str = "") -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks.run_all` (see benchmarks/README.md for what each figure",
        "means and how it is measured). Every figure is a ratio of medians of interleaved A/B",
        "rounds taken in one run; bounds come from DESIGN.md §6.",
        "",
        f"- date: {info['date']}; machine: {info['nproc']} CPUs, {info['cpu']}"
        + (f", GPU {info['gpu']}" if "gpu" in info else ", no GPU"),
        f"- versions: xform {info['xform']}, jax {info['jax']}, torch {info['torch']}, "
        f"Python {info['python']}",
        f"- environment: GLIBC_TUNABLES={info['GLIBC_TUNABLES']}; run time {elapsed:.0f} s",
        "",
    ]
    if note:
        lines += [f"> {note}", ""]
    lines += [markdown_table(rows), ""]
    over = [r for r in rows if r.ok is False]
    if over:
        lines += ["Over their bound in this run:", ""]
        lines += [f"- {r.figure} [{r.device}]: {r.ratio:.3f} against ≤ {r.bound} ({r.peer})"
                  for r in over]
        lines.append("")
    for inc in included:
        i = inc["info"]
        lines += [f"## Included run: {i.get('date')}, {i.get('nproc')} CPUs {i.get('cpu')}"
                  + (f", GPU {i['gpu']}" if "gpu" in i else ""),
                  "", f"jax {i.get('jax')}, torch {i.get('torch')}, xform {i.get('xform')}", "",
                  markdown_table([Row(**{k: v for k, v in r.items() if k != "ok"})
                                  for r in inc["rows"]]), ""]
    lines += [f"![ratios against their bounds]({plot_name})", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv: list[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one tiny round per figure")
    ap.add_argument("--only", default=",".join(MODULES), help="comma-separated: " +
                    ", ".join(MODULES))
    ap.add_argument("--devices", default="auto", help="cpu, gpu, cpu,gpu or auto")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    ap.add_argument("--json", help="also write the rows and machine info to this file")
    ap.add_argument("--include", action="append", default=[],
                    help="a --json file of another run to add to the document")
    ap.add_argument("--from-json", help="write the document from this --json file, run nothing")
    ap.add_argument("--note", default="", help="a remark printed above the table")
    args = ap.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        rows = [Row(**{k: v for k, v in r.items() if k != "ok"}) for r in saved["rows"]]
        _write(args, saved["info"], rows, saved.get("elapsed", 0.0))
        return rows
    ensure_hugetlb()

    runners = {name: _runner(name) for name in args.only.split(",")}  # import all up front
    devices = (["cpu", "gpu"] if gpu_available() else ["cpu"]) if args.devices == "auto" \
        else args.devices.split(",")
    info = machine_info()
    print(json.dumps(info), flush=True)
    rows: list[Row] = []
    t0 = time.perf_counter()
    for device in devices:
        for name, runner in runners.items():
            t1 = time.perf_counter()
            new = runner(device, args.quick)
            print(f"\n## {name} on {device} ({time.perf_counter() - t1:.0f} s)")
            print(markdown_table(new), flush=True)
            rows += new
    elapsed = time.perf_counter() - t0
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "elapsed": elapsed, "rows": [r.as_dict() for r in rows]},
                      f, indent=1)
    if not args.no_write:
        _write(args, info, rows, elapsed)
    return rows


def _write(args, info: dict, rows: list[Row], elapsed: float) -> None:
    """docs/benchmarks.md and its plot, with the runs named by --include."""
    included = []
    for p in args.include:
        with open(p) as f:
            included.append(json.load(f))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    plot_name = os.path.splitext(os.path.basename(args.out))[0] + ".png"
    plot(rows + [Row(**{k: v for k, v in r.items() if k != "ok"})
                 for inc in included for r in inc["rows"]],
         os.path.join(out_dir, plot_name))
    write_doc(args.out, info, rows, included, plot_name, elapsed, args.note)
    print(f"\nwrote {args.out} and {plot_name}")

if __name__ == "__main__":
    main()
