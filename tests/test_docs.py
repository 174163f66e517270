"""The generated docs stay in step with the code, and the project's set-up stays as documented."""

import pathlib
import re
import tomllib

from xform import _coverage

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_primitives_md_is_current():
    current = _coverage.DOC_PATH.read_text(encoding="utf-8") if _coverage.DOC_PATH.exists() else ""
    assert current == _coverage.render_markdown(), (
        "docs/primitives.md is stale: the rule tables changed. Regenerate it with "
        "`python -m xform._coverage` and commit the result.")


def test_every_primitive_has_abstract_eval_and_to_jax():
    lacking = {name: cols for name, cols in _coverage.missing_rules().items()
               if {"abstract_eval", "to_jax"} & set(cols)}
    assert not lacking, f"primitives without abstract_eval or to_jax: {lacking}"


def test_coverage_rows_are_sorted_and_complete():
    rows = _coverage.coverage_rows()
    names = [r.name for r in rows]
    assert names == sorted(names)
    assert {"sin", "add", "jit"} <= set(names)
    assert all(len(r.cells) == len(_coverage.RULE_COLUMNS) for r in rows)
    # a primitive that is not linear in any input is never asked for a transpose rule
    sin_row = next(r for r in rows if r.name == "sin")
    assert sin_row.cells[_coverage.RULE_COLUMNS.index("transpose")] == _coverage.NOT_APPLICABLE


def _first_bash_block(text: str) -> list[str]:
    match = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert match, "README.md has no ```bash block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_readme_setup_commands_and_ci_agree():
    commands = _first_bash_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) == 2, commands
    assert "python -m xform.demo" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines(), ".ci/run must run the README's test command"


def test_pyproject_runtime_dependencies():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in meta["dependencies"]}
    assert names == {"jax", "jaxlib", "numpy"}
    assert "test" in meta["optional-dependencies"]
