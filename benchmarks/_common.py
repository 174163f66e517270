"""What every benchmark module shares: the result row, interleaved timing, blocking, devices.

Every figure is a ratio of two medians taken in one run: the sides run in interleaved rounds
(round r starts with side r mod n), so drifts in clock speed or background load hit them alike.
A round times ``number`` back-to-back calls of one side and waits for the last result.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import jax


@dataclass
class Row:
    """One figure: xform's median time, the peer's, their ratio and the bound it must meet.

    ``bound`` is None for figures that are reported, not judged (a peer's own ratio, a speedup
    table). ``ratio`` is ``xform_s / peer_s`` unless the module says otherwise in ``note``.
    """

    figure: str
    xform_s: float
    peer: str
    peer_s: float
    ratio: float
    bound: float | None = None
    note: str = ""
    device: str = "cpu"
    subject: str = "xform"  # what ``xform_s`` timed, when a row reports a peer's own ratio

    @property
    def ok(self) -> bool | None:
        return None if self.bound is None else self.ratio <= self.bound

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def block(out: Any) -> Any:
    """Wait for every array in ``out``: JAX arrays by ``block_until_ready``, torch by a sync."""
    for leaf in jax.tree_util.tree_leaves(out):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
        elif type(leaf).__module__.startswith("torch") and getattr(leaf, "is_cuda", False):
            import torch  # only ever reached when torch made the value

            torch.cuda.synchronize()
    return out


def time_calls(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` back-to-back calls of ``fn``, up to the last result."""
    out = None
    t0 = time.perf_counter()
    for _ in range(number):
        out = fn()
    block(out)
    return (time.perf_counter() - t0) / number


def interleaved(sides: dict[str, Callable[[], Any]], rounds: int, number: int = 1,
                warmup: int = 2) -> dict[str, float]:
    """Median seconds per call of each side, measured in interleaved rounds.

    Arguments:
        sides: name -> a function of no arguments running one call of that side.
        rounds: how many rounds; the median is taken over them.
        number: calls per round and side.
        warmup: calls of each side before timing (compiles, fills caches).

    Returns:
        name -> median seconds per call.
    """
    for fn in sides.values():
        for _ in range(warmup):
            block(fn())
    names = list(sides)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            times[name].append(time_calls(sides[name], number))
    return {n: statistics.median(ts) for n, ts in times.items()}


def interleaved_fresh(makers: dict[str, Callable[[], Callable[[], Any]]],
                      rounds: int) -> dict[str, float]:
    """Median seconds of a first call, each round with freshly made functions and cleared caches.

    ``makers[name]()`` builds a new function (new closures, so no cache can hit) and returns a
    thunk that makes its first call; only that call is timed.
    """
    names = list(makers)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            jax.clear_caches()
            thunk = makers[name]()
            t0 = time.perf_counter()
            block(thunk())
            times[name].append(time.perf_counter() - t0)
    return {n: statistics.median(ts) for n, ts in times.items()}


def ratio_row(figure: str, times: dict[str, float], xform_key: str, peer_key: str,
              peer: str, bound: float | None, note: str = "", device: str = "cpu",
              subject: str = "xform") -> Row:
    """A Row from two entries of an ``interleaved`` result."""
    xs, ps = times[xform_key], times[peer_key]
    return Row(figure, xs, peer, ps, xs / ps, bound, note, device, subject)


def fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def markdown_table(rows: list[Row]) -> str:
    """The rows as a markdown table; a ratio over its bound is marked **over**."""
    lines = ["| figure | device | measured | time | peer | time | ratio | bound | |",
             "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        bound = "—" if r.bound is None else f"≤ {r.bound}"
        verdict = {None: "", True: "ok", False: "**over**"}[r.ok]
        figure = r.figure + (f" ({r.note})" if r.note else "")
        lines.append(f"| {figure} | {r.device} | {r.subject} | {fmt_time(r.xform_s)} | {r.peer} "
                     f"| {fmt_time(r.peer_s)} | {r.ratio:.3f} | {bound} | {verdict} |")
    return "\n".join(lines)


def print_rows(rows: list[Row]) -> None:
    print(markdown_table(rows))


@contextlib.contextmanager
def on_device(device: str) -> Iterator[None]:
    """Make ``device`` ("cpu" or "gpu") JAX's default device for arrays created inside."""
    with jax.default_device(jax.devices(device)[0]):
        yield


def gpu_available() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


def torch_or_none():
    """The torch module, or None when it is not installed (its rows are then skipped)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def torch_device(device: str) -> str:
    return "cuda" if device == "gpu" else "cpu"


def put(x: Any, device: str) -> Any:
    """A numpy array (or pytree) placed on ``device`` as JAX arrays."""
    dev = jax.devices(device)[0]
    return jax.tree_util.tree_map(lambda a: jax.device_put(a, dev), x)


HUGETLB = "glibc.malloc.hugetlb=1"


def ensure_hugetlb() -> None:
    """Re-execute this process with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` unless it is set.

    glibc reads the tunable once, at start-up, so it has to be in the environment before the
    interpreter starts; without it, page faults on large fresh outputs dominate some figures.
    """
    import os
    import sys

    if HUGETLB in os.environ.get("GLIBC_TUNABLES", ""):
        return
    tunables = ":".join(t for t in (os.environ.get("GLIBC_TUNABLES"), HUGETLB) if t)
    os.execve(sys.executable, sys.orig_argv, {**os.environ, "GLIBC_TUNABLES": tunables})


def assert_close(actual: Any, desired: Any, device: str = "cpu", what: str = "") -> None:
    """Relative error in the 2-norm below 1e-4 (CPU) or 5e-2 (GPU, where f32 matmuls may run
    in TF32 and flip a few relu masks): a check that the programs compute the same thing."""
    import numpy as np

    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    assert a.shape == d.shape, (what, a.shape, d.shape)
    err = np.linalg.norm(a - d) / max(np.linalg.norm(d), 1e-30)
    tol = 5e-2 if device == "gpu" else 1e-4
    assert err <= tol, f"{what}: relative error {err:.2e} > {tol:.0e}"
