"""docs/api-coverage.md is what ``python -m xform._api_coverage`` generates, and its reasons
table only speaks of names JAX has."""

import importlib

from xform import _api_coverage


def test_page_is_current():
    current = (_api_coverage.DOC_PATH.read_text(encoding="utf-8")
               if _api_coverage.DOC_PATH.exists() else "")
    assert current == _api_coverage.render_markdown(), (
        "docs/api-coverage.md is stale: run `python -m xform._api_coverage` and commit it "
        "(after a merge, other branches' names change the page).")


def test_reasons_name_real_jax_names():
    for (module, name) in _api_coverage.REASONS:
        if name == "*":
            continue
        mod = importlib.import_module(module)
        assert name in _api_coverage.public_names(mod), (module, name)


def test_present_names_are_counted_and_helpers_are_not():
    rows = {r.jax_module: r for r in _api_coverage.coverage_rows()}
    assert {"custom_vmap", "sequential_vmap"} <= set(rows["jax.custom_batching"].present)
    assert not rows["jax.flatten_util"].missing and not rows["jax.dtypes"].missing
    # imported helpers (``jnp``, ``partial``, typing aliases) are not API names
    opt = rows["jax.example_libraries.optimizers"]
    assert not {"jnp", "partial", "namedtuple", "InitFn"} & set(opt.present + [
        m for m, _ in opt.missing])
    assert "Conv" in rows["jax.example_libraries.stax"].present
