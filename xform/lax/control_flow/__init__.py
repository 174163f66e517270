"""Structured control flow: ``cond``/``switch``, ``while_loop``/``fori_loop``, ``scan``/``map``,
``associative_scan``, with every transform's rule next to each primitive.
See docs/control-flow.md for what each transform does to each construct.
"""

from xform.lax.control_flow.associative import associative_scan as associative_scan
from xform.lax.control_flow.cond import cond as cond, cond_p as cond_p, switch as switch
from xform.lax.control_flow.loops import (
    fori_loop as fori_loop, map as map, scan as scan, scan_p as scan_p, while_loop as while_loop,
    while_p as while_p,
)

from xform.lax.control_flow.solves import (
    custom_linear_solve as custom_linear_solve, custom_root as custom_root,
    linear_solve_p as linear_solve_p,
)

__all__ = ["custom_linear_solve", "custom_root", "linear_solve_p",
           "associative_scan", "cond", "cond_p", "switch", "fori_loop", "map", "scan", "scan_p",
           "while_loop", "while_p"]
