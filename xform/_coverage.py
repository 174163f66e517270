"""The rule-coverage table: which rules each primitive has.

Every primitive is one row; every rule table one column. A missing rule is a bug to fix, so the
table is generated from the tables themselves (never written by hand) and kept in the docs:

    python -m xform._coverage        # rewrites docs/primitives.md

``tests/test_docs.py`` fails when docs/primitives.md differs from what this module generates.
"""

from __future__ import annotations

import argparse
import pathlib
from typing import Any, NamedTuple

import xform  # noqa: F401  (importing the package registers every primitive family)
from xform.core.primitive import abstract_eval
from xform.interpreters.batching import batch_rules
from xform.interpreters.jvp import jvp_rules
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import transpose_rules

# Primitives that are linear in at least one input, so that reverse mode needs a transpose rule
# for them. For every other primitive the transpose column reads "n/a": the backward pass never
# meets them, because linearization leaves only linear primitives in the tangent program.
LINEAR_PRIMITIVES = frozenset({
    "add", "add_any", "sub", "neg", "mul", "div", "convert_element_type", "copy", "real", "imag",
    "conj", "reshape", "squeeze", "broadcast_in_dim", "transpose", "rev", "reduce_sum", "cumsum",
    "slice", "pad", "concatenate", "dynamic_slice", "dynamic_update_slice", "gather",
    "scatter-add", "scatter-sub", "select_n", "dot_general", "conv_general_dilated",
    "reduce_window_sum",
    "select_and_scatter_add", "select_and_gather_add", "jit", "cond", "scan",
    "triangular_solve", "scatter", "scatter-mul", "tridiagonal_solve",
    "fft", "split", "tile", "stack", "unstack", "complex", "reduce_precision",
    "optimization_barrier",
    "linear_call",
})

RULE_COLUMNS = ("abstract_eval", "to_jax", "jvp", "transpose", "batch")

YES, NO, NOT_APPLICABLE = "✓", "✗", "n/a"

DOC_PATH = pathlib.Path(__file__).resolve().parent.parent / "docs" / "primitives.md"

HEADER = """\
# Primitive rule coverage

One row per primitive registered in xform, one column per rule table. Every primitive must
have every rule that applies to it (see DESIGN.md, "One primitive, one place"); a ✗ is a bug to
fix, never a silent fallback.

| column | rule table, in `xform.` | what the rule does |
| --- | --- | --- |
| abstract_eval | `core.primitive.abstract_eval` | output shape and dtype; shape/dtype errors |
| to_jax | `interpreters.lowering.to_jax` | the `jax.lax` call, eager and inside `jax.jit` |
| jvp | `interpreters.jvp.jvp_rules` | forward-mode derivative, in xform primitives |
| transpose | `interpreters.transpose.transpose_rules` | backward pass of a linear primitive |
| batch | `interpreters.batching.batch_rules` | how `vmap` moves the batch axis through it |

"n/a" in the transpose column marks primitives that are not linear in any input: reverse mode
never transposes them. This page is generated; after adding a primitive or a rule, run
`python -m xform._coverage` to rewrite it (the test suite fails while it is stale).
"""


# Rules that exist but answer with an error by design, as in JAX: the short documented list of
# exceptions (each a ✓ in the table, explained under it).
DOCUMENTED_EXCEPTIONS = {
    "while": "transpose raises JAX's reverse-mode error: an unbounded loop keeps no tape. Use "
             "`scan`, `fori_loop` with static bounds, or `while_loop(..., max_steps=N)`.",
    "custom_vmap_call": "transpose raises ValueError, as JAX's linearization does: reverse "
                        "mode of a custom_vmap function needs a custom_vjp around it.",
    "custom_lin": "evaluating it directly raises JAX's forward-mode-of-custom_vjp TypeError; "
                  "under `grad` it is transposed into the user's `bwd`.",
    "pure_callback": "jvp raises JAX's ValueError: a Python callback has no derivative; wrap it "
                     "in `custom_jvp`/`custom_vjp`.",
    "io_callback": "jvp raises JAX's ValueError: an impure callback has no derivative.",
    "igamma_grad_a": "jvp raises, as JAX has no second derivative of igamma in `a`.",
    "random_gamma_grad": "jvp raises: it is itself a derivative (of gamma samples).",
    "regularized_incomplete_beta": "jvp in `x` only; in `a` and `b` it raises JAX's ValueError.",
    "zeta": "jvp in `q` only; in `x` it raises (JAX has no derivative at all).",
    "scaled_dot": "jvp raises, as JAX has no derivative of block-quantized products.",
    "scatter": "jvp raises for `scatter_apply` (a user function as update computation), as "
               "in JAX; plain scatters differentiate.",
    **{name: "jvp raises JAX's NotImplementedError: JAX has no derivative of this "
             "factorization either (wrap it in `custom_jvp`/`custom_vjp` to give it one)."
       for name in ("schur", "hessenberg", "tridiagonal", "householder_product", "ormqr",
                    "cholesky_update")},
}


class Row(NamedTuple):
    name: str
    cells: tuple[str, ...]


def _all_primitives() -> list[Any]:
    # Union of the two tables every primitive needs, so a primitive that has a to_jax rule but
    # no abstract evaluation still shows up (as a ✗).
    prims = {id(p): p for p in list(abstract_eval) + list(to_jax)}
    return sorted(prims.values(), key=lambda p: p.name)


def _cell(prim: Any, table: dict) -> str:
    return YES if prim in table else NO


def coverage_rows() -> list[Row]:
    """One ``Row`` per registered primitive, sorted by name, cells in ``RULE_COLUMNS`` order."""
    rows = []
    for prim in _all_primitives():
        if prim.name in LINEAR_PRIMITIVES or prim in transpose_rules:
            transpose = _cell(prim, transpose_rules)
        else:
            transpose = NOT_APPLICABLE
        rows.append(Row(prim.name, (_cell(prim, abstract_eval), _cell(prim, to_jax),
                                    _cell(prim, jvp_rules), transpose,
                                    _cell(prim, batch_rules))))
    return rows


def missing_rules() -> dict[str, list[str]]:
    """Map primitive name -> the rule columns it lacks (only primitives lacking some)."""
    missing = {}
    for row in coverage_rows():
        lacking = [col for col, cell in zip(RULE_COLUMNS, row.cells, strict=True) if cell == NO]
        if lacking:
            missing[row.name] = lacking
    return missing


def render_markdown() -> str:
    """The whole text of docs/primitives.md."""
    rows = coverage_rows()
    totals = []
    for i, col in enumerate(RULE_COLUMNS):
        applicable = [r for r in rows if r.cells[i] != NOT_APPLICABLE]
        have = sum(r.cells[i] == YES for r in applicable)
        totals.append(f"{col} {have}/{len(applicable)}")
    lines = [HEADER,
             f"{len(rows)} primitives. Rules present: {', '.join(totals)}.",
             "",
             "| primitive | " + " | ".join(RULE_COLUMNS) + " |",
             "| --- |" + " :---: |" * len(RULE_COLUMNS)]
    for row in rows:
        lines.append(f"| `{row.name}` | " + " | ".join(row.cells) + " |")
    lines += ["", "Rules that answer with an error by design:", ""]
    lines += [f"- `{name}`: {why}" for name, why in sorted(DOCUMENTED_EXCEPTIONS.items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write (or, with ``--check``, verify) docs/primitives.md."""
    parser = argparse.ArgumentParser(prog="python -m xform._coverage", description=__doc__)
    parser.add_argument("--out", type=pathlib.Path, default=DOC_PATH,
                        help="where to write the table (default: docs/primitives.md)")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if the file is stale instead of writing it")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            raise SystemExit(f"{args.out} is stale; run `python -m xform._coverage`")
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(coverage_rows())} primitives)")


if __name__ == "__main__":
    main()
