"""Forward mode (JVP). Owns ``jvp_rules``: ``jvp_rules[p](primals, tangents, **params) ->
(primals_out, tangents_out)``, written with xform primitives so they are themselves
transformable. The interpreter arrives with the autodiff work; the table exists now so that the
rule-coverage table can report it."""

from __future__ import annotations

from typing import Any, Callable

jvp_rules: dict[Any, Callable[..., Any]] = {}
