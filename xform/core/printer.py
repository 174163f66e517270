"""Printing jaxprs in JAX's format.

    { lambda ; a:f32[3] b:f32[3]. let
        c:f32[3] = sin a
        d:f32[] = reduce_sum[axes=(0,)] c
      in (d,) }

Variables are named a..z, ba, bb, ... in order of first appearance, sub-jaxprs continuing the same
sequence. A jaxpr or an equation is written on one line when that fits in 80 columns, otherwise
broken the way JAX breaks it.
"""

from __future__ import annotations

import enum
import html
from typing import Any

import numpy as np

from xform.core.avals import is_float
from xform.core.ir import ClosedJaxpr, DropVar, Jaxpr, Literal, Var
import re

WIDTH = 80


def _encode(n: int) -> str:
    # base 26 with 'a' as the zero digit: 0 -> a, 25 -> z, 26 -> ba, 27 -> bb
    s = ""
    while True:
        n, r = divmod(n, 26)
        s = chr(ord("a") + r) + s
        if n == 0:
            return s


class _Names:
    def __init__(self):
        self.names: dict[int, str] = {}

    def __call__(self, v: Var) -> str:
        if isinstance(v, DropVar):
            return "_"
        name = self.names.get(id(v))
        if name is None:
            name = self.names[id(v)] = _encode(len(self.names))
        return name


def _literal_str(lit: Literal) -> str:
    val = lit.val
    if isinstance(val, (np.ndarray, np.generic)):
        val = val.item()
    if lit.aval.dtype == np.bool_:
        val = bool(val)
    elif is_float(lit.aval.dtype):
        val = float(val)
    elif np.issubdtype(lit.aval.dtype, np.integer):
        val = int(val)
    return f"{val}:{lit.aval.str_short()}"


def _atom(a, names) -> str:
    return _literal_str(a) if isinstance(a, Literal) else names(a)


def _binder(v: Var, names) -> str:
    return f"{names(v)}:{v.aval.str_short()}"


def _param_str(v: Any, names, indent: int) -> str:
    if isinstance(v, ClosedJaxpr):
        v = v.jaxpr
    if isinstance(v, Jaxpr):
        return _pp(v, names, indent)
    if isinstance(v, tuple) and any(isinstance(x, (Jaxpr, ClosedJaxpr)) for x in v) and all(
            x is None or isinstance(x, (Jaxpr, ClosedJaxpr)) for x in v):
        # (custom_linear_solve's jaxprs hold None where no transpose solve was given)
        inner = [_param_str(x, names, indent + 2) for x in v]
        pad = " " * (indent + 2)
        return "(\n" + "".join(f"{pad}{s}\n" for s in inner) + " " * indent + ")"
    if isinstance(v, np.dtype) or isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v).name
    if isinstance(v, str):
        return v
    if isinstance(v, enum.IntEnum):  # e.g. round's rounding_method prints as 0
        return str(int(v))
    if isinstance(v, enum.Enum):  # e.g. mode=GatherScatterMode.CLIP
        return str(v)
    if callable(v) and hasattr(v, "__name__"):
        return v.__name__
    return repr(v)


def _pp_eqn(eqn, names, indent: int) -> str:
    pad = " " * indent
    outs = " ".join(_binder(v, names) for v in eqn.outvars)
    # name the outputs before the sub-jaxprs, as JAX does: outputs come first in reading order
    args = " ".join(_atom(a, names) for a in eqn.invars)
    custom = eqn.primitive.pp_params
    items = custom(eqn.params) if custom else sorted(eqn.params.items())
    # a call's jaxpr is printed with names of its own (JAX does so for jit); other sub-jaxprs,
    # like control-flow branches, continue the enclosing sequence
    sub_names = _Names() if getattr(eqn.primitive, "pp_fresh_names", False) else names
    one = [f"{k}={_param_str(v, sub_names, indent + 2)}" for k, v in items]
    head = f"{pad}{outs} = {eqn.primitive.name}"
    if not one:
        return f"{head} {args}".rstrip()
    # the params stay on one line when they fit up to their closing bracket
    if len(head) + sum(len(o) + 1 for o in one) + 1 <= WIDTH and not any("\n" in o for o in one):
        return f"{head}[{' '.join(one)}] {args}".rstrip()
    inner = "".join(f"{pad}  {p}\n" for p in one)
    return f"{head}[\n{inner}{pad}] {args}".rstrip()


def _pp(jaxpr: Jaxpr, names, indent: int) -> str:
    consts = " ".join(_binder(v, names) for v in jaxpr.constvars)
    ins = " ".join(_binder(v, names) for v in jaxpr.invars)
    header = f"{{ lambda {consts}; {ins}. let" if consts else f"{{ lambda ; {ins}. let"
    # the body's names depend on the order things are printed in; print eqns in the multi-line
    # layout first to fix names, then try to fit the whole thing on one line
    body = [_pp_eqn(e, names, indent + 4) for e in jaxpr.eqns]
    outs = ", ".join(_atom(v, names) for v in jaxpr.outvars)
    tail = f"in ({outs},) }}" if len(jaxpr.outvars) == 1 else f"in ({outs}) }}"
    if len(jaxpr.outvars) == 0:
        tail = "in () }"
    flat = [b.strip() for b in body]
    if all("\n" not in b for b in flat):
        one = f"{header} {' '.join(flat)} {tail}"
        if indent + len(one) <= WIDTH:
            return one
    pad = " " * indent
    return header + "\n" + "\n".join(body) + f"\n{pad}  {tail}"


def pp_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> str:
    """The jaxpr in JAX's text format."""
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    return _pp(jaxpr, _Names(), 0)


def pp_eqn(eqn) -> str:
    return _pp_eqn(eqn, _Names(), 0)


_KEYWORDS = ("lambda", "let", "in")


def jaxpr_to_html(jaxpr: Jaxpr | ClosedJaxpr) -> str:
    """The printed jaxpr as highlighted HTML (used by notebooks)."""
    text = html.escape(pp_jaxpr(jaxpr))
    text = re.sub(r"\b(lambda|let|in)\b", r'<b style="color:#7c3aed">\1</b>', text)
    text = re.sub(r"(:)([a-z]+\d*\[[\d,]*\])", r'\1<span style="color:#0369a1">\2</span>', text)
    text = re.sub(r"= ([a-z_]+)", r'= <span style="color:#b45309;font-weight:bold">\1</span>', text)
    return f'<pre style="font-family:monospace;line-height:1.3">{text}</pre>'
