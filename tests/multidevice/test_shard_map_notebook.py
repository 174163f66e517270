"""JAX's shard_map notebook (docs/notebooks/shard_map.md, its code cells in
data/shard_map_notebook_cells.json) runs with `import xform as jax` on 8 CPU devices and
prints JAX's numbers: every cell runs under JAX and under xform, each in its own namespace,
and their printed numbers, results and exceptions are compared. The cells left out, and why,
are listed in LEFT_OUT and in docs/parallelism.md."""

import re

import jax
import numpy as np
import pytest

from shard_map_notebook import load_cells, run_cells

# cell index -> why xform does not print JAX's output there (docs/parallelism.md lists them)
LEFT_OUT: dict[int, str] = {}
# cells whose body prints its per-device values: JAX runs an un-jitted shard_map body eagerly
# device by device, xform traces it (the prints show tracers); their results are compared
BODY_PRINTS = {14, 15, 16, 26, 27, 28, 29, 30, 31, 32, 34, 35}

_NUM = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?")
_TYPE = re.compile(r"float\d+\[[\d,]*\](?:\{[^}]*\})?")   # jax.typeof's text, {V:...} included


def _numbers(text):
    return [float(t) for t in _NUM.findall(text or "")]


def _types(text):
    return _TYPE.findall(text or "")


@pytest.fixture(scope="module")
def records():
    # the cells set the global mesh (jax.set_mesh(mesh) as a statement): put it back after
    prev = jax.sharding.get_mesh()
    cells = load_cells()
    try:
        return run_cells(cells, "jax"), run_cells(cells, "xform")
    finally:
        jax.set_mesh(prev)


def _compared_text(rec, i):
    out = rec["stdout"]
    if i in BODY_PRINTS:
        out = out.split("FINAL RESULT:")[-1] if "FINAL RESULT:" in out else ""
    if rec["error"] is None and out.startswith("shard_map applied to"):
        out = out.split("\n")[0]      # an error message printed by the cell: its first line
    return out + " " + (rec["value"] or "")


def test_notebook_cells_print_jax_numbers(records):
    rj, rx = records
    assert len(rj) == len(rx) == 69
    bad = []
    for i, (a, b) in enumerate(zip(rj, rx)):
        if i in LEFT_OUT:
            continue
        assert a["error"] is None or i in (19, 22), (i, a["error"])  # JAX runs every cell
        if (a["error"] or [None])[0] != (b["error"] or [None])[0]:
            bad.append((i, "error", a["error"], b["error"]))
            continue
        ta, tb = _compared_text(a, i), _compared_text(b, i)
        na, nb = _numbers(ta), _numbers(tb)
        if (len(na) != len(nb) or not np.allclose(na, nb, rtol=1e-4, atol=1e-5)
                or _types(ta) != _types(tb)):
            bad.append((i, ta[:300], tb[:300]))
    assert not bad, bad


def test_left_out_cells_still_differ(records):
    # keeps LEFT_OUT (and the list in docs/parallelism.md) honest: a cell that starts to agree
    # belongs in the comparison
    rj, rx = records
    for i in LEFT_OUT:
        a, b = rj[i], rx[i]
        ta, tb = _compared_text(a, i), _compared_text(b, i)
        same = ((a["error"] or [None])[0] == (b["error"] or [None])[0]
                and _numbers(ta) == _numbers(tb) and _types(ta) == _types(tb))
        assert not same, f"cell {i} now agrees with JAX: remove it from LEFT_OUT and the docs"
