"""The IR: variables, literals, equations, jaxprs.

A ``Jaxpr`` is a straight-line program in A-normal form: each equation applies one primitive to
variables or literals and binds fresh variables. Control flow and calls appear as primitives whose
params hold sub-jaxprs. A ``ClosedJaxpr`` pairs a jaxpr with the values of its constvars.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from xform.core.avals import ShapedArray


class Var:
    """A variable of the IR. It has no name: names are given when a jaxpr is printed."""

    __slots__ = ("aval", "count")
    _counter = 0

    def __init__(self, aval: ShapedArray):
        self.aval = aval
        Var._counter += 1
        self.count = Var._counter

    def __repr__(self):
        return f"Var(id={self.count}):{self.aval.str_short()}"


class DropVar(Var):
    """An output nobody reads; printed as ``_``."""

    __slots__ = ()


class Literal:
    """A scalar constant written inline in an equation, e.g. ``2.0:f32[]``."""

    __slots__ = ("val", "aval")

    def __init__(self, val: Any, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"Literal({self.val!r}:{self.aval.str_short()})"


Atom = Var | Literal


class Eqn(NamedTuple):
    """``outvars = primitive[params] invars``."""

    primitive: Any  # xform.core.primitive.Primitive
    invars: list[Atom]
    params: dict[str, Any]
    outvars: list[Var]
    source_info: str | None = None
    mesh: Any = None  # the abstract mesh of the auto_axes/explicit_axes region it was traced in


class Jaxpr:
    """constvars, invars, eqns, outvars."""

    __slots__ = ("constvars", "invars", "eqns", "outvars")

    def __init__(self, constvars, invars, eqns, outvars):
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.eqns = list(eqns)
        self.outvars = list(outvars)

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def __str__(self):
        # cycle: printer.py imports ir for the classes it prints
        from xform.core.printer import pp_jaxpr
        return pp_jaxpr(self)

    __repr__ = __str__

    def pretty_print(self, **_kw) -> str:
        return str(self)


class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    __slots__ = ("jaxpr", "consts", "__weakref__")

    def __init__(self, jaxpr: Jaxpr, consts):
        assert len(jaxpr.constvars) == len(consts), (len(jaxpr.constvars), len(consts))
        self.jaxpr = jaxpr
        self.consts = list(consts)

    @property
    def eqns(self):
        return self.jaxpr.eqns

    @property
    def in_avals(self):
        return self.jaxpr.in_avals

    @property
    def out_avals(self):
        return self.jaxpr.out_avals

    @property
    def literals(self):
        return self.consts

    def __str__(self):
        return str(self.jaxpr)

    __repr__ = __str__

    def pretty_print(self, **_kw) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        # cycle: printer.py imports ir for the classes it prints
        from xform.core.printer import jaxpr_to_html
        return jaxpr_to_html(self.jaxpr)

    # identity semantics: jaxprs are compared and hashed by object, as in JAX
    __hash__ = object.__hash__


def literalable(x: Any) -> bool:
    """Python scalars and 0-d numpy values are written inline; bigger constants become constvars."""
    return type(x) in (bool, int, float, complex) or (
        isinstance(x, (np.ndarray, np.generic)) and np.shape(x) == ())
