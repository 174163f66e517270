"""A jaxpr as a Graphviz picture of its dataflow.

    >>> import xform, xform.numpy as xnp
    >>> dot = xform.jaxpr_to_dot(xform.make_jaxpr(lambda x: xnp.sin(x) * 2.0)(xnp.ones(3)))
    >>> dot.splitlines()[0]
    'digraph jaxpr {'

One node per input (ellipse), per equation (box, the primitive's name and its short params) and
per output (ellipse, doubled); one edge per use of a variable, labelled with the variable's name
and type as the printer writes them. Literals are written inside the equation that uses them.
Sub-jaxprs (a ``jit``'s body, ``cond``'s branches, a loop's body) are drawn as clusters of their
own, joined to their equation by a dashed edge. Render the text with ``dot -Tsvg`` or any
Graphviz viewer; nothing here needs Graphviz installed.
"""

from __future__ import annotations

from typing import Any

from xform.core.ir import ClosedJaxpr, DropVar, Jaxpr, Literal, Var
from xform.core.printer import _literal_str, _Names, _param_str

__all__ = ["jaxpr_to_dot"]

# params longer than this are left out of an equation's label
_PARAM_WIDTH = 40


def _quote(text: str) -> str:
    # a DOT double-quoted string: escape backslashes and quotes; "\n" stays a centred line break
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _sub_jaxprs(params: dict[str, Any]) -> list[tuple[str, Jaxpr]]:
    subs = []
    for name, value in sorted(params.items()):
        items = value if isinstance(value, (tuple, list)) else (value,)
        for i, item in enumerate(items):
            if isinstance(item, ClosedJaxpr):
                item = item.jaxpr
            if isinstance(item, Jaxpr):
                subs.append((f"{name}[{i}]" if len(items) > 1 else name, item))
    return subs


def _short_params(params: dict[str, Any]) -> list[str]:
    lines = []
    for name, value in sorted(params.items()):
        if _sub_jaxprs({name: value}):
            continue
        text = f"{name}={_param_str(value, None, 0)}"
        if len(text) <= _PARAM_WIDTH:
            lines.append(text)
    return lines


class _Graph:
    def __init__(self, names: _Names):
        self.names = names
        self.lines: list[str] = []

    def var_label(self, v: Var) -> str:
        return f"{self.names(v)}:{v.aval.str_short()}"

    def draw(self, jaxpr: Jaxpr, prefix: str, indent: str) -> str:
        """Draw ``jaxpr``'s nodes and edges; returns the id of its first node."""
        producer: dict[int, str] = {}   # id(Var) -> node id that defines it
        first = None
        for kind, variables in (("c", jaxpr.constvars), ("i", jaxpr.invars)):
            for i, v in enumerate(variables):
                node = f"{prefix}{kind}{i}"
                first = first or node
                style = ', style="dashed"' if kind == "c" else ""
                self.lines.append(f"{indent}{node} [shape=ellipse{style}, "
                                  f"label={_quote(self.var_label(v))}];")
                producer[id(v)] = node
        for n, eqn in enumerate(jaxpr.eqns):
            node = f"{prefix}e{n}"
            first = first or node
            literals = [_literal_str(a) for a in eqn.invars if isinstance(a, Literal)]
            label = "\n".join([eqn.primitive.name, *_short_params(eqn.params), *literals])
            self.lines.append(f"{indent}{node} [shape=box, style=\"rounded,filled\", "
                              f"fillcolor=\"#fef3c7\", label={_quote(label)}];")
            for a in eqn.invars:
                if isinstance(a, Var) and id(a) in producer:
                    self.lines.append(f"{indent}{producer[id(a)]} -> {node} "
                                      f"[label={_quote(self.var_label(a))}];")
            for v in eqn.outvars:
                if not isinstance(v, DropVar):
                    self.names(v)               # name outputs in order of definition
                    producer[id(v)] = node
            for k, (name, sub) in enumerate(_sub_jaxprs(eqn.params)):
                cluster = f"{prefix}e{n}s{k}_"
                self.lines.append(f"{indent}subgraph cluster_{cluster} {{")
                self.lines.append(f"{indent}  label={_quote(f'{eqn.primitive.name}: {name}')};")
                self.lines.append(f"{indent}  style=dashed;")
                # a call's body has names of its own, as in the printed jaxpr
                outer = self.names
                if getattr(eqn.primitive, "pp_fresh_names", False):
                    self.names = _Names()
                sub_first = self.draw(sub, cluster, indent + "  ")
                self.names = outer
                self.lines.append(f"{indent}}}")
                if sub_first is not None:
                    self.lines.append(f"{indent}{node} -> {sub_first} "
                                      f"[style=dashed, arrowhead=none];")
        for i, a in enumerate(jaxpr.outvars):
            node = f"{prefix}o{i}"
            first = first or node
            label = _literal_str(a) if isinstance(a, Literal) else self.var_label(a)
            self.lines.append(f"{indent}{node} [shape=doublecircle, "
                              f"label={_quote(f'out {i}')}];")
            if isinstance(a, Var) and id(a) in producer:
                self.lines.append(f"{indent}{producer[id(a)]} -> {node} [label={_quote(label)}];")
            elif isinstance(a, Literal):
                self.lines[-1] = (f"{indent}{node} [shape=doublecircle, "
                                  f"label={_quote(f'out {i}: {label}')}];")
        return first


def jaxpr_to_dot(jaxpr: Jaxpr | ClosedJaxpr, *, name: str = "jaxpr") -> str:
    """The dataflow of ``jaxpr`` as Graphviz DOT text.

    Arguments:
        jaxpr: a ``Jaxpr`` or ``ClosedJaxpr``, for example from ``xform.make_jaxpr(f)(*args)``.
        name: the graph's name in the DOT text.

    Returns:
        A ``digraph`` with a node for every input (constants dashed), every equation and every
        output of the top-level jaxpr, and edges labelled ``name:type`` for every use of a
        variable. Variable names match ``print(jaxpr)``. Sub-jaxprs are clusters.

    Example:
        >>> import xform, xform.numpy as xnp
        >>> text = xform.jaxpr_to_dot(xform.make_jaxpr(xnp.sin)(1.0))
        >>> "label=\\"sin\\"" in text
        True
    """
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    names = _Names()
    for v in [*jaxpr.constvars, *jaxpr.invars]:
        names(v)                                # inputs first, as the printer names them
    graph = _Graph(names)
    graph.draw(jaxpr, "n", "  ")
    head = [f"digraph {name} {{", "  rankdir=TB;",
            '  node [fontname="monospace", fontsize=11];',
            '  edge [fontname="monospace", fontsize=9];']
    return "\n".join(head + graph.lines + ["}"]) + "\n"
