"""Transposition (the backward pass). Owns ``transpose_rules``: ``transpose_rules[p](cts, *args,
**params) -> cotangents of the linear inputs``. The interpreter arrives with the autodiff work;
the table exists now so that the rule-coverage table can report it."""

from __future__ import annotations

from typing import Any, Callable

transpose_rules: dict[Any, Callable[..., Any]] = {}
