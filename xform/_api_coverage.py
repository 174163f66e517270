"""The API coverage table: xform's public modules against the installed JAX's.

For each pair of modules (``xform.numpy`` / ``jax.numpy``, ...) it lists the names JAX's module
exports, which of them xform's has, and for each missing name a one-line reason from
``REASONS`` (or "not yet in xform", the honest default). The page is generated:

    python -m xform._api_coverage        # rewrites docs/api-coverage.md

``tests/test_api_coverage.py`` fails when the page differs from what this module generates.
Other work adds names all the time, so regenerate the page after merging.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import types
import typing
from typing import Any, NamedTuple

import jax

DOC_PATH = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api-coverage.md"

# (xform module, JAX module). A module xform lacks counts every JAX name as missing.
MODULES = [
    ("xform", "jax"),
    ("xform.numpy", "jax.numpy"),
    ("xform.numpy.linalg", "jax.numpy.linalg"),
    ("xform.numpy.fft", "jax.numpy.fft"),
    ("xform.lax", "jax.lax"),
    ("xform.lax.linalg", "jax.lax.linalg"),
    ("xform.random", "jax.random"),
    ("xform.nn", "jax.nn"),
    ("xform.nn.initializers", "jax.nn.initializers"),
    ("xform.tree", "jax.tree"),
    ("xform.tree_util", "jax.tree_util"),
    ("xform.scipy.special", "jax.scipy.special"),
    ("xform.scipy.stats", "jax.scipy.stats"),
    ("xform.scipy.linalg", "jax.scipy.linalg"),
    ("xform.scipy.optimize", "jax.scipy.optimize"),
    ("xform.scipy.signal", "jax.scipy.signal"),
    ("xform.custom_derivatives", "jax.custom_derivatives"),
    ("xform.custom_batching", "jax.custom_batching"),
    ("xform.ad_checkpoint", "jax.ad_checkpoint"),
    ("xform.debug", "jax.debug"),
    ("xform.dtypes", "jax.dtypes"),
    ("xform.errors", "jax.errors"),
    ("xform.flatten_util", "jax.flatten_util"),
    ("xform.image", "jax.image"),
    ("xform.example_libraries.optimizers", "jax.example_libraries.optimizers"),
    ("xform.example_libraries.stax", "jax.example_libraries.stax"),
    ("xform.sharding", "jax.sharding"),
]

_MULTI_DEVICE = "multi-device and sharding: the multi-device issue owns it"
_INTERNAL = "JAX-internal or deprecated; not part of the API user code calls"
_BACKEND = "runtime/backend plumbing of JAX's own (xform runs through jax.jit and uses it as is)"
_OTHER_AREA = "added by a concurrent branch (this table is regenerated at merge)"

# Reasons for missing names: (JAX module, name) first, then (JAX module, "*") for the rest
# of a module. Everything else missing reads "not yet in xform".
REASONS: dict[tuple[str, str], str] = {
    **{("jax", n): _MULTI_DEVICE for n in [
        "NamedSharding", "P", "Shard", "make_mesh", "set_mesh", "shard_map", "smap", "pmap",
        "reshard", "make_array_from_callback", "make_array_from_process_local_data",
        "make_array_from_single_device_arrays", "process_indices", "auto_pcast",
        "remove_size_one_mesh_axis_from_type", "sharding", "distributed", "host_count",
        "host_id", "host_ids", "threefry_partitionable"]},
    **{("jax", n): _INTERNAL for n in [
        "ad", "api_util", "core", "interpreters", "lib", "version", "softmax_custom_jvp",
        "jax2tf_associative_scan_reductions", "legacy_prng_key", "enable_custom_prng",
        "default_prng_impl", "ds", "effects_barrier", "make_user_context", "thread_guard",
        "array_garbage_collection_guard", "allow_f16_reductions", "enable_checks"]},
    **{("jax", n): _BACKEND for n in [
        "Device", "dlpack", "ffi", "memory", "monitoring", "profiler", "stages", "export",
        "transfer_guard", "transfer_guard_device_to_device", "transfer_guard_device_to_host",
        "transfer_guard_host_to_device", "copy_to_host_async", "default_device", "experimental",
        "typing", "ops"]},
    **{("jax", n): "mutable array references (`jax.new_ref`), an experimental JAX feature "
       "xform's pure IR does not model" for n in ["Ref", "empty_ref", "free_ref", "freeze",
                                                   "new_ref", "ref"]},
    **{("jax.lax", n): _OTHER_AREA for n in ["custom_linear_solve", "custom_root",
                                             "linear_solve_p"]},
    **{("jax.lax", n): _MULTI_DEVICE for n in ["device_put_p", "psend", "precv",
                                               "ragged_all_to_all", "ragged_all_to_all_p"]},
    **{("jax.lax", n): "XLA tokens order side effects (infeed/outfeed) in JAX's lowering; "
       "xform has no token type: it orders its effects with `ordered=True` callbacks"
       for n in ["create_token", "create_token_p", "after_all", "after_all_p"]},
    **{("jax.lax", n): "lifts a constant into JAX's current trace; xform lifts a constant when "
       "an operation first uses it (`xform.numpy.asarray` makes an array)"
       for n in ["stage", "stage_p"]},
    ("jax.lax", "select_and_scatter_p"): "the general form JAX keeps for its own lowering; "
                                         "xform's max-pooling gradient is "
                                         "`select_and_scatter_add_p` as in JAX's programs",
    ("jax", "debug"): _OTHER_AREA,
    ("jax.numpy.fft", "*"): _OTHER_AREA,
    ("jax.debug", "*"): _OTHER_AREA,
    ("jax.sharding", "*"): _MULTI_DEVICE,
    ("jax", "debug_key_reuse"): "JAX's key-reuse checker analyses JAX's typed keys in JAX's "
                                "jaxprs; xform.random's keys are xform's own type, which it "
                                "does not check",
    **{("jax.debug", n): "JAX's effect types of its jaxprs; xform's debug_callback primitive "
       "carries its ordering as a parameter (xform's IR has no effect objects)"
       for n in ["DebugEffect", "OrderedDebugEffect"]},
    **{("jax.nn", n): "cuDNN block-scaled (MXFP8/NVFP4) matmul: GPU-only in JAX too (no CPU "
       "lowering), not in xform" for n in ["scaled_matmul", "scaled_dot_general",
                                            "get_scaled_dot_general_config"]},
    ("jax.custom_derivatives", "remat_opt_p"): _INTERNAL,
}

# jax's submodules that count as names of ``jax``: a submodule becomes an attribute of its
# package only once imported, so the set is fixed here (what ``import jax`` gives, plus the
# modules of MODULES) for the page not to depend on what else the process imported
_JAX_SUBMODULES = frozenset({
    "ad", "api_util", "config", "core", "custom_batching", "custom_derivatives", "debug",
    "distributed", "dlpack", "dtypes", "errors", "experimental", "export", "ffi", "image",
    "interpreters", "lax", "lib", "memory", "monitoring", "nn", "numpy", "ops", "profiler",
    "random", "ref", "scipy", "sharding", "stages", "tree", "tree_util", "typing",
    "ad_checkpoint", "flatten_util", "example_libraries", "version"})

_NOT_API_MODULES = ("typing", "collections", "collections.abc", "functools", "builtins",
                    "__future__", "abc", "enum", "dataclasses", "numbers")


class Row(NamedTuple):
    xform_module: str
    jax_module: str
    present: list[str]
    missing: list[tuple[str, str]]


def public_names(module: types.ModuleType) -> list[str]:
    """The names a module offers its users: ``__all__`` if it has one, else every name not
    starting with ``_`` except imported helper modules and typing aliases."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(module, n, None)
        if isinstance(obj, types.ModuleType):
            if obj.__name__ != f"{module.__name__}.{n}":
                continue  # a module imported for the module's own use (``jnp``, ``functools``)
            if module.__name__ == "jax" and n not in _JAX_SUBMODULES:
                continue  # appears on ``jax`` only once something imported it
        elif isinstance(obj, (types.GenericAlias, typing._GenericAlias)) or n == "annotations":
            continue  # type aliases and ``from __future__ import annotations``
        elif isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)) and (
                getattr(obj, "__module__", "") in _NOT_API_MODULES
                or str(getattr(obj, "__module__", "")).startswith(("jax._src.util",
                                                                    "jaxlib.utils"))):
            continue  # helpers the module imported (``partial``, ``namedtuple``, ``safe_map``)
        out.append(n)
    return sorted(set(out))


_XFORM_DIR = pathlib.Path(__file__).resolve().parent


def _import(name: str) -> Any:
    try:
        mod = importlib.import_module(name)
    except ImportError:
        return None
    if name.split(".")[0] == "xform":
        # only this checkout's modules: an editable install elsewhere could otherwise lend
        # a submodule this tree does not have
        path = getattr(mod, "__file__", None)
        if path is None or _XFORM_DIR not in pathlib.Path(path).resolve().parents:
            return None
    return mod


def reason(jax_module: str, name: str) -> str:
    return REASONS.get((jax_module, name)) or REASONS.get((jax_module, "*")) or \
        "not yet in xform"


def coverage_rows() -> list[Row]:
    for pair in MODULES:
        for name in pair:
            _import(name)
    rows = []
    for xname, jname in MODULES:
        jmod = _import(jname)
        if jmod is None:
            continue
        xmod = _import(xname)
        present, missing = [], []
        for n in public_names(jmod):
            if xmod is not None and hasattr(xmod, n) and (
                    not isinstance(getattr(xmod, n), types.ModuleType)
                    or _import(getattr(xmod, n).__name__) is not None):
                present.append(n)
            else:
                missing.append((n, reason(jname, n)))
        rows.append(Row(xname, jname, present, missing))
    return rows


HEADER = """\
# API coverage: xform against JAX {version}

Generated by `python -m xform._api_coverage` from the installed JAX's public modules (their
`__all__`, or their public names less imported helpers); `tests/test_api_coverage.py` fails
while this page is stale. A name counts as present when xform's module of the same path has
it; each missing name has its reason.
"""


def render_markdown() -> str:
    rows = coverage_rows()
    total_p = sum(len(r.present) for r in rows)
    total = total_p + sum(len(r.missing) for r in rows)
    lines = [HEADER.format(version=jax.__version__),
             f"In all: {total_p} of {total} names.\n",
             "| xform module | JAX module | present | missing |",
             "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| `{r.xform_module}` | `{r.jax_module}` | {len(r.present)} | "
                     f"{len(r.missing)} |")
    lines.append("")
    for r in rows:
        n = len(r.present) + len(r.missing)
        lines.append(f"## `{r.xform_module}` ({len(r.present)} of {n})\n")
        if r.present:
            lines.append("Present: " + ", ".join(f"`{p}`" for p in r.present) + ".\n")
        if r.missing:
            lines.append("| missing | reason |")
            lines.append("| --- | --- |")
            lines += [f"| `{m}` | {why} |" for m, why in r.missing]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if the page is stale instead of writing it")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        raise SystemExit(0 if current == text else 1)
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")


if __name__ == "__main__":
    main()
