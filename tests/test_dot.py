"""xform.jaxpr_to_dot: the DOT text is well formed and draws every input, equation and output."""

import re

import xform
import xform.numpy as xnp

NODE = re.compile(r"^\s*(\w+) \[(?:shape|label)")
EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[")


def _parse(text):
    """(node ids, edges) of DOT text, checking braces and quotes balance on the way."""
    assert text.startswith("digraph jaxpr {")
    assert text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    nodes, edges = [], []
    for line in text.splitlines():
        # every quote is closed on its line (escaped quotes excepted)
        assert line.replace('\\"', "").count('"') % 2 == 0, line
        if m := EDGE.match(line):
            edges.append(m.groups())
        elif m := NODE.match(line):
            nodes.append(m.group(1))
    assert len(nodes) == len(set(nodes)), "node ids are unique"
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges


def test_flat_jaxpr_node_and_edge_count():
    def f(x, y):
        return xnp.sum(xnp.sin(x) * y) + 2.0, x

    closed = xform.make_jaxpr(f)(xnp.ones(3), xnp.ones(3))
    jaxpr = closed.jaxpr
    nodes, edges = _parse(xform.jaxpr_to_dot(closed))
    assert len(nodes) == len(jaxpr.eqns) + len(jaxpr.invars) + len(jaxpr.outvars)
    uses = sum(isinstance(a, xform.core.ir.Var) for e in jaxpr.eqns for a in e.invars)
    assert len(edges) == uses + len(jaxpr.outvars)


def test_edges_are_labelled_like_the_printed_jaxpr():
    closed = xform.make_jaxpr(lambda x: xnp.cos(x) * 3.0)(xnp.ones((2, 3)))
    text = xform.jaxpr_to_dot(closed)
    printed = str(closed)
    for label in re.findall(r'-> \w+ \[label="([^"]+)"\]', text):
        assert label in printed, label
    assert '"mul\\n3.0:f32[]"' in text            # literals go into the equation's label
    assert 'label="a:f32[2,3]"' in text


def test_constants_and_params():
    big = xnp.arange(6.0).reshape(2, 3)
    closed = xform.make_jaxpr(lambda x: xnp.sum(x + big, axis=1))(xnp.ones((2, 3)))
    text = xform.jaxpr_to_dot(closed)
    nodes, _ = _parse(text)
    j = closed.jaxpr
    assert len(nodes) == len(j.constvars) + len(j.invars) + len(j.eqns) + len(j.outvars)
    if j.constvars:
        assert "style=\"dashed\"" in text
    assert "axes=(1,)" in text


def test_sub_jaxprs_are_clusters():
    inner = xform.jit(lambda x: xnp.cos(x) + 1.0)

    def f(x):
        return xform.lax.cond(x.sum() > 0, lambda x: x * 2.0, lambda x: -x, inner(x))

    closed = xform.make_jaxpr(f)(xnp.ones(3))
    text = xform.jaxpr_to_dot(closed)
    nodes, edges = _parse(text)
    assert text.count("subgraph cluster_") == 3     # the jit body and two branches
    top = [n for n in nodes if re.fullmatch(r"n[cieo]\d+", n)]
    j = closed.jaxpr
    assert len(top) == len(j.eqns) + len(j.invars) + len(j.outvars)


def test_literal_output_and_name():
    closed = xform.make_jaxpr(lambda x: (x, 1.0))(xnp.ones(2))
    text = xform.jaxpr_to_dot(closed, name="g")
    assert text.startswith("digraph g {")
    assert "out 1: 1.0" in text
