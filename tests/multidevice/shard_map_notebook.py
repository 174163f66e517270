"""Runs the code cells of JAX's shard_map notebook (data/shard_map_notebook_cells.json, taken
from jax-ml/jax docs/notebooks/shard_map.md) in one namespace, with JAX or, imports swapped,
with xform (`import xform as jax`), and prints one JSON record per cell: its stdout, the repr
of its last expression, and the exception it raised (type and message), if any.

Usage: python shard_map_notebook.py {jax,xform} OUT.json  (8 CPU devices are asked for here,
before JAX starts, as the notebook's first cell does).
"""

import ast
import contextlib
import io
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# `import xform as jax`: the notebook's imports, swapped line by line
SWAPS = [
    (r"^import jax$", "import xform as jax"),
    (r"^import jax\.numpy as jnp$", "import xform.numpy as jnp"),
    (r"^from jax\.sharding import", "from xform.sharding import"),
    (r"^from jax\.tree_util import", "from xform.tree_util import"),
    (r"^from jax import lax$", "from xform import lax"),
]


def swap_imports(src: str) -> str:
    out = []
    for line in src.split("\n"):
        for pat, rep in SWAPS:
            line = re.sub(pat, rep, line)
        out.append(line)
    return "\n".join(out)


def run_cell(src: str, ns: dict) -> dict:
    tree = ast.parse(src)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    buf = io.StringIO()
    rec = {"stdout": "", "value": None, "error": None}
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(tree, "<cell>", "exec"), ns)
            if last is not None:
                v = eval(compile(last, "<cell>", "eval"), ns)
                rec["value"] = None if v is None else repr(v)
    except Exception as e:  # noqa: BLE001 -- recorded and compared with JAX's
        rec["error"] = [type(e).__name__, str(e).split("\n")[0][:300]]
    rec["stdout"] = buf.getvalue()
    return rec


def load_cells() -> list:
    with open(os.path.join(HERE, "data", "shard_map_notebook_cells.json")) as f:
        return json.load(f)["cells"]


def run_cells(cells: list, lib: str) -> list:
    """Run the cells in order in a fresh namespace, with JAX (``lib="jax"``) or with xform."""
    ns: dict = {"__name__": "__notebook__"}
    records = []
    for cell in cells:
        src = cell["source"]
        if lib == "xform":
            src = swap_imports(src)
        records.append(run_cell(src, ns))
    return records


def main(lib: str, out_path: str) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_force_host_platform_device_count=8").strip()
    with open(out_path, "w") as f:
        json.dump(run_cells(load_cells(), lib), f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
