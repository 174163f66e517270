"""The layers of DESIGN.md §2, kept by walking every import of xform/ with ``ast``.

    core -> interpreters -> lax -> (numpy, scipy, random) -> transforms -> nn, optim

A module may import modules of its own layer or below, never above. The top-level modules sit:

- with core: ``config.py`` and ``_flags.py`` (settings), ``errors.py`` (public aliases of core's
  exceptions), ``tree_util.py`` and ``tree.py`` (JAX's pytrees), ``graphviz.py`` (a renderer of
  the IR), ``distributed.py`` and ``_sharding_debug.py`` (JAX's distributed runtime and
  sharding pictures);
- with lax: ``sharding.py`` (JAX's sharding types, and ``reshard``, which works on traced
  values through xform/lax/sharding.py);
- with core: ``dtypes.py`` (JAX's dtype names and rules);
- with the libraries: ``debug.py`` (``xform.debug``) and ``experimental/`` (``io_callback``),
  built on the callback primitives of xform/lax/callback.py; ``flatten_util.py``, ``image.py``;
- with the transforms: ``custom_derivatives.py``, ``custom_batching.py`` (public aliases);
- with model code: ``example_libraries/`` (JAX's ``optimizers`` and ``stax``);
- with the transforms: ``ad_checkpoint.py`` (the public alias of transforms/checkpoint.py);
- above everything (they may import anything, model code included): ``__init__.py``,
  ``test_util.py``, ``demo.py``, ``_coverage.py``.

Also checked: JAX internals (``jax._src``) are reached only through xform/core/jax_internals.py,
and a function-local import exists only to break a real import cycle, said in a ``# cycle:``
comment on its line or the line above (a local import whose target does not import its module
back, directly or through other top-level imports, fails: it belongs at the top).
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "xform"

LAYERS = {"core": 0, "interpreters": 1, "lax": 2, "numpy": 3, "scipy": 3, "random": 3,
          "transforms": 4, "nn": 5, "optim": 5}
LAYER_NAMES = {0: "core", 1: "interpreters", 2: "lax", 3: "libraries (numpy, scipy, random)",
               4: "transforms", 5: "model code (nn, optim)", 6: "top-level"}
TOP_LEVEL_MODULES = {"config": 0, "_flags": 0, "errors": 0, "tree_util": 0, "tree": 0,
                     "graphviz": 0, "sharding": 2, "distributed": 0, "_sharding_debug": 0,
                     "dtypes": 0, "debug": 3, "flatten_util": 3, "image": 3,
                     "custom_derivatives": 4, "custom_batching": 4, "example_libraries": 5,
                     "_api_coverage": 6, "experimental": 3, "ad_checkpoint": 4,
                     "test_util": 6, "demo": 6, "_coverage": 6,
                     "dlpack": 0, "typing": 0, "profiler": 0}
JAX_INTERNALS = "xform.core.jax_internals"


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ["xform", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def layer(module: str) -> int:
    """The layer of an xform module (``xform`` itself, the package, is top-level)."""
    parts = module.split(".")
    if len(parts) == 1:
        return 6
    if parts[1] in LAYERS:
        return LAYERS[parts[1]]
    if parts[1] in TOP_LEVEL_MODULES:
        return TOP_LEVEL_MODULES[parts[1]]
    raise AssertionError(f"{module} sits in no layer: add it to tests/test_architecture.py")


def _targets(node: ast.AST) -> list[str]:
    """The xform modules an import statement loads (a name imported from a package is the
    package's ``__init__``; a submodule imported from a package is that submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    assert isinstance(node, ast.ImportFrom)
    if node.level or not (node.module or "").startswith("xform"):
        return []
    out = set()
    for a in node.names:
        sub = f"{node.module}.{a.name}"
        out.add(sub if sub in MODULES else node.module)
    return sorted(out)


class _Import:
    """One import statement: where it is, whether it is inside a function, and whether a
    ``# cycle:`` comment (its line or the line above) gives the reason it is there."""

    def __init__(self, module: str, where: str, node: ast.AST, local: bool, lines: list[str]):
        self.module, self.node, self.local = module, node, local
        self.where = f"{where}:{node.lineno}: {lines[node.lineno - 1].strip()}"
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        self.cycle_reason = "# cycle:" in lines[node.lineno - 1] or above.startswith("# cycle:")


def _imports_of(module: str, where: str, src: str) -> list[_Import]:
    out: list[_Import] = []
    lines = src.splitlines()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append(_Import(module, where, child, in_function, lines))
            visit(child, local)

    visit(ast.parse(src), False)
    return out


SOURCES = {m: p.read_text(encoding="utf-8") for m, p in MODULES.items()}
IMPORTS = [imp for m, p in sorted(MODULES.items())
           for imp in _imports_of(m, str(p.relative_to(ROOT.parent)), SOURCES[m])]


# -- the checks: each returns its violations, one line per import, naming file and line ------
def layer_violations(imports: list[_Import]) -> list[str]:
    bad = []
    for imp in imports:
        here = layer(imp.module)
        for target in _targets(imp.node):
            there = layer(target)
            if there > here:
                bad.append(f"{imp.where}  ({LAYER_NAMES[here]} imports {target}, which is "
                           f"{LAYER_NAMES[there]})")
    return bad


def _uses_jax_src(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name == "jax._src" or a.name.startswith("jax._src.") for a in node.names)
    mod = node.module or ""
    return (mod == "jax._src" or mod.startswith("jax._src.")
            or (mod == "jax" and any(a.name == "_src" for a in node.names)))


def jax_internals_violations(imports: list[_Import], sources: dict[str, str]) -> list[str]:
    bad = [imp.where for imp in imports
           if _uses_jax_src(imp.node) and imp.module != JAX_INTERNALS]
    for module, src in sources.items():  # attribute access (jax._src.x) counts too
        if module == JAX_INTERNALS:
            continue
        for node in ast.walk(ast.parse(src)):
            if (isinstance(node, ast.Attribute) and node.attr == "_src"
                    and isinstance(node.value, ast.Name) and node.value.id == "jax"):
                bad.append(f"{module}:{node.lineno}: jax._src")
    return bad


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        m = stack.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            stack.extend(graph.get(m, ()))
    return False


def local_import_violations(imports: list[_Import]) -> tuple[list[str], list[str]]:
    """(local imports without a ``# cycle:`` reason, those with one but no cycle to break)."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.local:
            graph.setdefault(imp.module, set()).update(_targets(imp.node))
    missing, needless = [], []
    for imp in imports:
        if not imp.local:
            continue
        if not imp.cycle_reason:
            missing.append(imp.where)
            continue
        targets = _targets(imp.node)
        if targets and not any(_reaches(graph, t, imp.module) for t in targets):
            needless.append(imp.where)
    return missing, needless


# -- the tests --------------------------------------------------------------------------------
def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_imports_point_down_the_layers():
    bad = layer_violations(IMPORTS)
    assert not bad, ("imports against the layer direction core -> interpreters -> lax -> "
                     "libraries -> transforms -> nn/optim (DESIGN.md §2):\n" + "\n".join(bad))


def test_jax_internals_only_through_one_module():
    bad = jax_internals_violations(IMPORTS, SOURCES)
    assert not bad, ("JAX internals used outside xform/core/jax_internals.py (add what is "
                     "needed there, with a test in tests/test_jax_internals.py):\n"
                     + "\n".join(bad))


def test_function_local_imports_break_real_cycles():
    missing, needless = local_import_violations(IMPORTS)
    assert not missing, ("function-local imports without a `# cycle: <reason>` comment (move "
                         "them to the top of the module, or say which cycle they break):\n"
                         + "\n".join(missing))
    assert not needless, ("function-local imports marked `# cycle:` whose target does not "
                          "import the module back (move them to the top):\n"
                          + "\n".join(needless))


PLANTED = "xform.interpreters._planted"


@pytest.mark.parametrize("source, check", [
    ("from xform.lax.shape import full\n", "layers"),
    ("def f():\n    from xform.interpreters import batching\n", "missing"),
    ("def f():\n    from xform.core.ir import Jaxpr  # cycle: none really\n", "needless"),
    ("from jax._src import core\n", "jax"),
    ("import jax\nx = jax._src.core\n", "jax"),
])
def test_the_checks_name_a_planted_violation(source, check):
    # a module planted in the interpreters layer, checked by the same functions as xform/
    planted = _imports_of(PLANTED, "xform/interpreters/_planted.py", source)
    imports = IMPORTS + planted
    found = {"layers": layer_violations(imports),
             "jax": jax_internals_violations(imports, {**SOURCES, PLANTED: source}),
             **dict(zip(("missing", "needless"), local_import_violations(imports)))}[check]
    assert any(("_planted" in v) for v in found), found
