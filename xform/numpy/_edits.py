"""Functions returning an array with entries inserted, deleted, written or picked: insert,
delete, put, place and choose (JAX's arrays are immutable, so each returns a new array).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xform import lax
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit
from xform.numpy._index_tricks import _concrete_for_raise
from xform.numpy._indexing import scatter_update, take
from xform.numpy._manip import tile
from xform.numpy._promote import convert, promote_dtypes
from xform.numpy._setops import concrete_size, nonzero


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


# -- insert, delete ----------------------------------------------------------------------------
def _static_index_list(name: str, obj: Any, n: int) -> np.ndarray:
    if isinstance(obj, slice):
        return np.arange(n)[obj]
    if isinstance(obj, Tracer):
        obj = obj.concrete_value(f"{name} argument `obj`")
    return np.asarray(obj)


def delete(arr: Any, obj: Any, axis: int | None = None, *,
           assume_unique_indices: bool = False) -> Any:
    """``arr`` without the entries at ``obj`` (static indices or slice) along ``axis``."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = sh.ravel(arr), 0
    axis = sh.canonicalize_axis(axis, to_aval(arr).ndim)
    n = _shape(arr)[axis]
    drop = _static_index_list("delete", obj, n)
    if drop.dtype == np.bool_:
        keep = np.flatnonzero(~drop)
    else:
        keep = np.setdiff1d(np.arange(n), np.where(drop < 0, drop + n, drop))
    return take(arr, keep.astype(np.int32), axis=axis)


def insert(arr: Any, obj: Any, values: Any, axis: int | None = None) -> Any:
    """``arr`` with ``values`` inserted before the (static) indices ``obj`` along ``axis``."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = sh.ravel(arr), 0
    axis = sh.canonicalize_axis(axis, to_aval(arr).ndim)
    n = _shape(arr)[axis]
    where = _static_index_list("insert", obj, n)
    scalar_obj = where.ndim == 0
    where = np.atleast_1d(where)
    where = np.where(where < 0, where + n, where)
    # the result is typed like arr, weak type included (JAX's fills zeros_like(arr))
    values = convert(asarray(values), to_aval(arr).dtype, to_aval(arr).weak_type)
    shape = list(_shape(arr))
    vshape = _shape(values)
    if scalar_obj and len(vshape) == len(shape):
        count = vshape[axis]
        where = np.repeat(where, count)
    else:
        count = len(where)
    shape[axis] = count
    if scalar_obj and len(vshape) < len(shape):
        values = sh.expand_dims(values, axis) if len(vshape) == len(shape) - 1 else values
    values = sh.broadcast_to(values, tuple(shape))
    # the inserted entries first, so a stable sort puts each before the entry it precedes
    order = np.argsort(np.concatenate([where, np.arange(n)]), kind="stable")
    joined = sh.concatenate([values, arr], axis=axis)
    return take(joined, order.astype(np.int32), axis=axis)


# -- put, place, choose ------------------------------------------------------------------------
@eager_jit(static_argnames=("mode", "inplace"))
def put(a: Any, ind: Any, v: Any, mode: str | None = None, *, inplace: bool = True) -> Any:
    """``a`` with the flat positions ``ind`` set to ``v`` (repeated as needed); needs
    ``inplace=False``, as ``jax.numpy.put``."""
    if inplace:
        raise ValueError("jax.numpy.put cannot modify arrays in-place, because JAX arrays are "
                         "immutable. Pass inplace=False to instead return an updated array.")
    a = asarray(a)
    shape = _shape(a)
    flat = sh.ravel(a)
    ind = sh.ravel(asarray(ind))
    v = sh.ravel(convert(asarray(v), to_aval(a).dtype))
    n_ind, n_v = _shape(ind)[0], _shape(v)[0]
    if n_ind == 0 or n_v == 0:
        return a
    if n_v != n_ind:
        v = lax.slice(tile(v, -(-n_ind // n_v)), (0,), (n_ind,))
    size = _shape(flat)[0]
    if mode == "wrap":
        ind = uf.remainder(ind, size)
    elif mode == "clip":
        ind = uf.clip(ind, 0, size - 1)
    elif mode not in (None, "raise", "fill", "drop"):
        raise ValueError(f"put: invalid mode={mode!r}")
    out = scatter_update(flat, ind, v, lax.scatter, mode="drop")
    return sh.reshape(out, shape)


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """``arr`` with the positions where ``mask`` holds set to ``vals`` in turn (cycled);
    needs ``inplace=False`` and a concrete mask."""
    if inplace:
        raise ValueError("jax.numpy.place cannot modify arrays in-place, because JAX arrays "
                         "are immutable. Pass inplace=False to instead return an updated array.")
    arr = asarray(arr)
    mask = sh.ravel(asarray(mask))
    count = concrete_size("place", "mask", mask, np.count_nonzero)
    idx = nonzero(mask, size=count)[0]
    vals = sh.ravel(asarray(vals))
    if not count:
        return arr
    if _shape(vals)[0] != count:
        vals = lax.slice(tile(vals, -(-count // _shape(vals)[0])), (0,), (count,))
    out = scatter_update(sh.ravel(arr), idx, vals, lax.scatter)
    return sh.reshape(out, _shape(arr))


@eager_jit(static_argnames=("mode",))
def choose(a: Any, choices: Any, out: None = None, mode: str = "raise") -> Any:
    """``choices[a[i]][i]`` elementwise, as ``jax.numpy.choose`` (``mode`` clip or wrap;
    ``raise`` checks concrete indices only)."""
    a = asarray(a)
    choices = [asarray(c) for c in choices]
    n = len(choices)
    if mode == "raise":
        concrete = _concrete_for_raise("choose", a)
        if np.any(concrete < 0) or np.any(concrete >= n):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = uf.remainder(a, n)
    elif mode == "clip":
        a = uf.clip(a, 0, n - 1)
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    vals = promote_dtypes(*choices)
    out_v = vals[0]
    for k in range(1, n):
        out_v = uf.where(uf.equal(a, k), vals[k], out_v)
    return uf.where(uf.equal(a, 0), vals[0], out_v)
