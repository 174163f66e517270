"""Run one page's code cells, as a notebook would, and print what each cell printed as JSON.

    python tests/jax_docs/run_cells.py PAGE.cells {jax,xform} [SKIP_CELL ...]

With ``xform`` the cells' imports of ``jax`` and its submodules are rewritten to xform's
(``import jax`` -> ``import xform as jax``, ``from jax.tree_util import`` -> ``from xform.tree_util
import``, ...), nothing else. Cells share one namespace; a cell's last expression is shown with
``repr`` unless the line ends in ``;`` (as Jupyter does); an exception is recorded by its type
name and the page goes on. IPython magics (``%timeit``, ``%xmode``) are dropped.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import logging
import re
import sys
import traceback
import types

_IMPORT_JAX = re.compile(r"^(\s*)import jax\s*$", re.M)
_IMPORT_SUB = re.compile(r"^(\s*)import jax\.([\w.]+)(\s+as\s+\w+)", re.M)
# ``jax._src`` is JAX's internals, which a page reaches for its own test helpers: left as is
_FROM_JAX = re.compile(r"^(\s*)from jax((?:\.(?!_src\b)[\w]+)*) import", re.M)


def swap_imports(src: str) -> str:
    """The cell with its imports of JAX pointed at xform."""
    src = _IMPORT_JAX.sub(r"\1import xform as jax", src)
    src = _IMPORT_SUB.sub(r"\1import xform.\2\3", src)
    return _FROM_JAX.sub(r"\1from xform\2 import", src)


def read_cells(path: str) -> list[str]:
    text = open(path, encoding="utf-8").read()
    return [c.strip("\n") for c in re.split(r"^# %% cell \d+\n", text, flags=re.M)[1:]]


def run_cell(src: str, ns: dict) -> None:
    src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
    tree = ast.parse(src)
    show = (tree.body and isinstance(tree.body[-1], ast.Expr)
            and not src.rstrip().endswith(";"))
    last = tree.body.pop() if show else None
    exec(compile(tree, "<cell>", "exec", dont_inherit=True), ns)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval", dont_inherit=True), ns)
        if value is not None:
            print(repr(value))


class _CurrentStderr:
    """A stream that writes to whatever ``sys.stderr`` is now (each cell's capture)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def main(path: str, variant: str, skip: set[int]) -> None:
    import numpy as np

    import jax  # the flush of asynchronous callbacks (xform's debug callbacks run on JAX's)
    logging.basicConfig(stream=_CurrentStderr())  # a page's log lines land in its cell's output
    np.random.seed(0)  # pages draw unseeded data from numpy's global generator
    results = []
    ns: dict = {"__name__": "__main__"}
    real_stdout = sys.stdout
    for n, src in enumerate(read_cells(path)):
        if n in skip:
            results.append({"out": "", "exc": None, "skipped": True})
            continue
        if variant == "xform":
            src = swap_imports(src)
        buf, exc = io.StringIO(), None
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                run_cell(src, ns)
                jax.effects_barrier()
            except BaseException as e:  # noqa: BLE001 - a cell's error is a result
                exc = type(e).__name__
                if "--trace" in sys.argv:
                    traceback.print_exc(file=real_stdout)
        results.append({"out": buf.getvalue(), "exc": exc})
    # the modules the page's names ended up bound to (the test checks that the xform run
    # reached no JAX module by an import the rewrite missed)
    modules = {k: v.__name__ for k, v in ns.items() if isinstance(v, types.ModuleType)}
    results.append({"modules": modules})
    real_stdout.write("\n@@RESULTS@@\n" + json.dumps(results) + "\n")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0], args[1], {int(a) for a in args[2:]})
