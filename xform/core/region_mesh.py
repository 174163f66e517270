"""The mesh of an ``auto_axes`` / ``explicit_axes`` region, kept with the equations traced in it.

Inside such a region JAX switches some mesh axes to another type (``use_abstract_mesh``) and
records the mesh in each equation's context, so that its transpose and its lowering run under
the same mesh. xform does the same: the staging trace records the region's mesh in the
equation's ``mesh`` (None outside any region), and the interpreters that re-emit an equation
(the backward pass, replays) and lowering re-enter it with ``reentered``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator

import jax


class _Region(threading.local):
    def __init__(self):
        self.mesh: Any = None


_region = _Region()


def current() -> Any:
    """The abstract mesh of the region being traced, or None outside any region."""
    return _region.mesh


@contextmanager
def region(mesh: Any) -> Iterator[None]:
    """Trace under ``mesh`` (an abstract mesh with some axes switched): JAX's
    ``use_abstract_mesh``, and the mesh recorded in the equations staged meanwhile."""
    prev, _region.mesh = _region.mesh, mesh
    try:
        with jax.sharding.use_abstract_mesh(mesh):
            yield
    finally:
        _region.mesh = prev


def reentered(mesh: Any):
    """Re-enter an equation's recorded region mesh (a null context when it has none, or when
    it is the mesh in context already)."""
    if mesh is None or mesh == jax.sharding.get_abstract_mesh():
        return nullcontext()
    return region(mesh)
