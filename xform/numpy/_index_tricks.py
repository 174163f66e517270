"""Index helpers of xform.numpy: ix_, unravel_index, ravel_multi_index, mask_indices and the
static index builders s_, index_exp, mgrid and ogrid.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np

from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray, ones
from xform.numpy._eager import eager_jit
from xform.numpy._promote import check_arraylike, convert
from xform.numpy._setops import nonzero


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


def _concrete_for_raise(name: str, x: Any) -> np.ndarray:
    """The value of ``x``, needed to check it for ``mode='raise'``; JAX's error when traced."""
    if isinstance(x, Tracer):
        try:
            x = x.concrete_value(f"{name} (mode='raise')")
        except ConcretizationTypeError as err:
            raise ConcretizationTypeError(
                f"jnp.{name} with mode='raise' needs concrete indices to check them, but they "
                f"are traced. Use mode='wrap' or mode='clip' instead.\n{err}") from None
    return np.asarray(x)


# -- index arrays ------------------------------------------------------------------------------
def ix_(*args: Any) -> tuple:
    """Open-mesh index arrays from 1-D sequences, as ``jax.numpy.ix_``."""
    n = len(args)
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if to_aval(a).ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape "
                             f"{_shape(a)}")
        shape = tuple(_shape(a)[0] if j == i else 1 for j in range(n))
        out.append(sh.reshape(a, shape))
    return tuple(out)


@eager_jit(static_argnames=("shape",))
def _unravel(indices: Any, shape: tuple) -> tuple:
    total = int(np.prod(shape, dtype=np.int64))
    idx = uf.clip(indices, -total, total - 1)
    idx = uf.where(uf.less(idx, 0), uf.add(idx, total), idx)
    out, rest = [], idx
    for n in shape[::-1]:
        out.append(uf.remainder(rest, n))
        rest = uf.floor_divide(rest, n)
    return tuple(out[::-1])


def unravel_index(indices: Any, shape: Sequence[int]) -> tuple:
    """Flat indices to coordinate arrays for ``shape``, as ``jax.numpy.unravel_index``
    (out-of-range indices are clipped)."""
    check_arraylike("unravel_index", indices)
    return _unravel(asarray(indices), tuple(operator.index(d) for d in shape))


def ravel_multi_index(multi_index: Sequence[Any], dims: Sequence[int], mode: str = "raise",
                      order: str = "C", *, dtype: Any = None) -> Any:
    """Coordinate arrays to flat indices, as ``jax.numpy.ravel_multi_index``; ``mode`` is
    ``'clip'`` or ``'wrap'`` (``'raise'`` checks concrete indices only)."""
    dims = tuple(operator.index(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    idx = [asarray(i) for i in multi_index]
    if mode == "raise":
        for i, n in zip(idx, dims):
            i = _concrete_for_raise("ravel_multi_index", i)
            if np.any(i < 0) or np.any(i >= n):
                raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        idx = [uf.clip(i, 0, n - 1) for i, n in zip(idx, dims)]
    elif mode == "wrap":
        idx = [uf.remainder(i, n) for i, n in zip(idx, dims)]
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    order_dims = dims if order == "C" else dims[::-1]
    order_idx = idx if order == "C" else idx[::-1]
    strides = np.cumprod((1,) + order_dims[::-1][:-1])[::-1]
    out = None
    for i, s in zip(order_idx, strides):
        term = uf.multiply(i, int(s))
        out = term if out is None else uf.add(out, term)
    return out if dtype is None else convert(out, dtype)


def mask_indices(n: int, mask_func: Callable, k: int = 0, *, size: int | None = None) -> tuple:
    """Indices where ``mask_func(ones((n, n)), k)`` is nonzero (e.g. ``triu``)."""
    return nonzero(mask_func(ones((n, n)), k), size=size)


# -- static index builders ---------------------------------------------------------------------
s_ = np.s_
index_exp = np.index_exp


class _Grid:
    """``mgrid[...]`` / ``ogrid[...]``: numpy's grids of static slices, as device arrays."""

    def __init__(self, sparse: bool):
        self.sparse = sparse

    def __getitem__(self, key: Any) -> Any:
        grid = (np.ogrid if self.sparse else np.mgrid)[key]
        if isinstance(grid, (list, tuple)):
            return [asarray(g) for g in grid]
        return asarray(grid)


mgrid = _Grid(False)
ogrid = _Grid(True)
