"""Index helpers of xform.numpy: ix_, unravel_index, ravel_multi_index, mask_indices and the
static index builders s_, index_exp, mgrid, ogrid, r_ and c_.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np

from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import arange, asarray, linspace, ones
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


# -- r_ and c_ ---------------------------------------------------------------------------------
def _grid_from_slice(s: slice, op_name: str) -> Any:
    """``start:stop:step`` as ``arange``; an imaginary step ``nj`` as ``linspace`` of n points."""
    for part in ("start", "stop", "step"):
        if isinstance(getattr(s, part), Tracer):
            raise ConcretizationTypeError(
                f"slice {part} of jnp.{op_name} must be a concrete value, not a traced one.")
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if np.iscomplex(step):
        return linspace(start, s.stop, int(abs(step)))
    return arange(start, s.stop, step)


class _AxisConcat:
    """``r_[...]`` / ``c_[...]``: slices, scalars and arrays concatenated along an axis, with
    numpy's leading string directives (``'r'``, ``'c'`` or ``'axis,ndmin,trans1d'``)."""

    def __init__(self, axis: int, ndmin: int, trans1d: int, op_name: str):
        self.axis, self.ndmin, self.trans1d, self.op_name = axis, ndmin, trans1d, op_name

    def __getitem__(self, key: Any) -> Any:
        items = key if isinstance(key, tuple) else (key,)
        params = [self.axis, self.ndmin, self.trans1d, -1]  # the last: 'r'/'c' matrix axis
        if items and isinstance(items[0], str):
            directive, items = items[0], items[1:]
            if directive == "r":
                params[-1] = 0
            elif directive == "c":
                params[-1] = 1
            else:
                vec: list = directive.split(",")
                vec = vec + params[len(vec):] if len(vec) < 4 else vec[:3] + [params[-1]]
                try:
                    params = [int(v) for v in vec]
                except ValueError as err:
                    raise ValueError(f"could not understand directive {directive!r}") from err
        axis, ndmin, trans1d, matrix = params
        parts = []
        for item in items:
            if isinstance(item, slice):
                part, item_ndim = _grid_from_slice(item, self.op_name), 0
            elif isinstance(item, str):
                raise ValueError("string directive must be placed at the beginning")
            else:
                part = asarray(item)
                item_ndim = to_aval(part).ndim
            part = _at_least_nd(part, ndmin)
            if trans1d != -1 and ndmin - item_ndim > 0:
                # numpy's rule: rotate the axes so the original ones land at trans1d
                order = tuple(range(ndmin))
                shift = ndmin - abs(ndmin + trans1d + 1) % ndmin
                part = sh.transpose(part, order[shift:] + order[:shift])
            parts.append(part)
        out = sh.concatenate(parts, axis=axis)
        if matrix != -1 and to_aval(out).ndim == 1:
            out = sh.expand_dims(out, matrix)
        return out

    def __len__(self) -> int:
        return 0


def _at_least_nd(x: Any, ndmin: int) -> Any:
    """``x`` with leading unit axes up to ``ndmin`` dimensions (numpy's ``array(ndmin=)``)."""
    nd = to_aval(x).ndim
    return sh.reshape(x, (1,) * (ndmin - nd) + _shape(x)) if nd < ndmin else x


r_ = _AxisConcat(0, 1, -1, "r_")
r_.__doc__ = "Concatenation along the first axis, as ``jax.numpy.r_``: ``r_[1:3, 0, [5, 6]]``."
c_ = _AxisConcat(-1, 2, 0, "c_")
c_.__doc__ = "Concatenation along the last axis, as ``jax.numpy.c_``: ``c_[[1, 2], [3, 4]]``."
