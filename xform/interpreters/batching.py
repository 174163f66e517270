"""vmap (batching). Owns ``batch_rules``: ``batch_rules[p](axis_size, vals, dims, **params) ->
(vals_out, dims_out)``, where a dim is an int batch axis or ``not_mapped``. The interpreter
arrives with the vmap work; the table exists now so that the rule-coverage table can report it."""

from __future__ import annotations

from typing import Any, Callable

not_mapped = None
batch_rules: dict[Any, Callable[..., Any]] = {}
