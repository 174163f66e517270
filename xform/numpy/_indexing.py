"""numpy indexing on xform arrays: ``x[idx]``, ``x.at[idx].set/add/...``, take,
take_along_axis.

Lowered as JAX lowers it. An index made only of static ints, slices, ``None`` and ``...``
becomes ``slice`` (+ ``rev`` for negative steps) and ``squeeze``; a traced scalar index
becomes ``dynamic_slice``; integer arrays (and concrete boolean masks, turned into the integer
arrays of their nonzero positions) become one ``gather``. ``.at[...]`` builds the same index
plan as a ``scatter``.

The index plan describes the indexed result ``x[idx]`` axis by axis: the broadcast block of the
advanced (array) indices, step-1 slices (windows of the operand), strided slices (one index
per element, from an iota) and new axes from ``None``.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any, NamedTuple

import jax
import numpy as np
from jax.lax import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers

from xform import lax
from xform.core.avals import is_python_scalar, result_type
from xform.core.trace import Tracer, to_aval
from xform.lax import elementwise as lax_ew
from xform.lax.sharding import auto_region
from xform.numpy._creation import _iota as iota, asarray, ones_like
from xform.numpy._eager import jit_typed
from xform.numpy._promote import convert, promote_dtypes
from xform.numpy._shape import broadcast_to, canonicalize_axis, ravel
from xform.numpy._ufuncs import divide, negative, power


from xform.core.errors import NonConcreteBooleanIndexError  # noqa: E402  (JAX's subclass)


_INDEX_DTYPE = np.dtype(np.int32)


def _is_int_scalar(i: Any) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _is_array(i: Any) -> bool:
    return isinstance(i, (Tracer, jax.Array, np.ndarray))


def _index_error_type(i: Any) -> IndexError:
    return IndexError(
        f"Indexing with {type(i).__name__} {i!r:.60} is not supported. Valid indices are ints, "
        "slices, None (newaxis), Ellipsis (...), integer arrays and boolean arrays.")


def _normalize_entries(shape: tuple, idx: Any) -> list:
    """The index as a list of entries: ints, slices, None, and int arrays (masks expanded),
    with Ellipsis expanded and trailing full slices added."""
    if isinstance(idx, list):
        raise TypeError("Using a non-tuple sequence for multidimensional indexing is not "
                        "allowed; use `arr[array(seq)]` instead of `arr[seq]` (or "
                        "`arr[tuple(seq)]` if the list holds one index per axis).")
    if not isinstance(idx, tuple):
        idx = (idx,)
    entries = []
    for i in idx:
        if isinstance(i, (list,)):
            i = np.asarray(i)
            if i.dtype == object:
                raise _index_error_type(i)
            if i.size == 0:
                i = i.astype(np.int32)
        if isinstance(i, (bool, np.bool_)):
            raise IndexError("Indexing with a Python bool is not supported; use a boolean "
                             "array mask or xform.numpy.where.")
        if i is None or i is Ellipsis or isinstance(i, slice) or _is_int_scalar(i):
            entries.append(i)
        elif _is_array(i):
            aval = to_aval(i)
            if aval.dtype == np.bool_:
                entries.append(("mask", i))
            elif np.issubdtype(aval.dtype, np.integer):
                entries.append(i)
            else:
                raise IndexError(f"Indexer must have integer or boolean type, got indexer "
                                 f"with type {aval.dtype.name}. Convert it with "
                                 "`.astype(int)` first.")
        else:
            raise _index_error_type(i)
    for e in entries:
        if isinstance(e, slice):
            for part in (e.start, e.stop, e.step):
                if isinstance(part, Tracer):
                    raise IndexError(
                        "Array slice indices must have static start/stop/step to be used "
                        "with xform.numpy indexing: a slice bound is a traced value. Use "
                        "xform.lax.dynamic_slice (the size must be static) instead.")
    if sum(e is Ellipsis for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(to_aval(e[1]).ndim if isinstance(e, tuple) else 1
                   for e in entries if e is not None and e is not Ellipsis)
    if consumed > len(shape):
        raise IndexError(f"Too many indices: array is {len(shape)}-dimensional, but "
                         f"{consumed} were indexed")
    out = []
    for e in entries:
        if e is Ellipsis:
            out += [slice(None)] * (len(shape) - consumed)
        else:
            out.append(e)
    if not any(e is Ellipsis for e in entries):
        out += [slice(None)] * (len(shape) - consumed)
    # boolean masks: concrete ones become the integer arrays of their nonzero positions
    final, dim = [], 0
    for e in out:
        if isinstance(e, tuple):
            mask = e[1]
            if isinstance(mask, Tracer):
                try:
                    mask = mask.concrete_value("boolean index")
                except TypeError:
                    raise NonConcreteBooleanIndexError(
                        f"Array boolean indices must be concrete; got a traced mask of type "
                        f"{mask.aval.str_short()}. The shape of x[mask] depends on the mask's "
                        "values, which are unknown under a transform. Fixes: "
                        "xform.numpy.where(mask, x, fill) keeps the shape; or compute the "
                        "mask outside the transformed function and pass it as a static "
                        "argument.") from None
            mask = np.asarray(mask)
            mshape = shape[dim:dim + mask.ndim]
            if mask.shape != tuple(mshape):
                raise IndexError(f"boolean index of shape {mask.shape} does not match the "
                                 f"indexed dimensions {tuple(mshape)} of the array (shape "
                                 f"{shape}) starting at axis {dim}")
            final += [np.asarray(nz, dtype=_INDEX_DTYPE) for nz in np.nonzero(mask)]
            dim += mask.ndim
        else:
            final.append(e)
            if e is not None:
                dim += 1
    return final


class _Axis(NamedTuple):
    kind: str        # "adv" (the advanced block), "window", "strided", "new"
    dim: int         # operand dim (-1 for adv and new)
    start: int
    step: int
    size: int


def _slice_params(s: slice, n: int) -> tuple:
    start, stop, step = (operator.index(p) if p is not None else None
                         for p in (s.start, s.stop, s.step))
    if step == 0:
        raise ValueError("slice step cannot be zero")
    start, stop, step = slice(start, stop, step).indices(n)
    length = len(range(start, stop, step))
    return start, step, length


def _check_int(i: int, n: int, axis: int) -> int:
    """A static integer index, negative ones counted from the end, clamped into the axis as
    JAX clamps out-of-bounds reads; only an axis of size 0 has no element to clamp to."""
    i = operator.index(i)
    if n == 0:
        raise IndexError(f"index {i} is out of bounds for axis {axis} with size 0")
    if i < 0:
        i += n
    return min(max(i, 0), n - 1)


def _normalize_index_array(i: Any, n: int) -> Any:
    """Negative indices count from the end (as jax: select_n(i < 0, i, i + n))."""
    if is_python_scalar(i) or isinstance(i, np.integer):
        i = int(i)
        return np.asarray(i + n if i < 0 else i, _INDEX_DTYPE)
    if isinstance(i, np.ndarray):
        i = i.astype(_INDEX_DTYPE)
        return np.where(i < 0, i + n, i).astype(_INDEX_DTYPE)
    aval = to_aval(i)
    if aval.dtype != _INDEX_DTYPE:
        i = convert(i, _INDEX_DTYPE)
    if np.issubdtype(aval.dtype, np.unsignedinteger):
        return i
    neg = lax_ew.lt(i, np.zeros((), _INDEX_DTYPE))  # typed: a Python 0 is int64 under x64
    return lax_ew.select_n(neg, i, lax_ew.add(i, np.asarray(n, _INDEX_DTYPE)))


def _as_index_dtype(i: Any) -> Any:
    if isinstance(i, np.ndarray):
        return i.astype(_INDEX_DTYPE)
    return convert(i, _INDEX_DTYPE)


def _is_static_index(entries: list) -> bool:
    return all(e is None or isinstance(e, slice) or _is_int_scalar(e)
               or (_is_array(e) and to_aval(e).ndim == 0) for e in entries)


# -- the static path: slice / rev / dynamic_slice / squeeze ---------------------------------
def _static_take(x: Any, entries: list) -> Any:
    shape = to_aval(x).shape
    starts, limits, strides, rev_dims, int_dims, dyn = [], [], [], [], [], {}
    d = 0
    for e in entries:
        if e is None:
            continue
        n = shape[d]
        if isinstance(e, slice):
            start, step, length = _slice_params(e, n)
            if step > 0:
                lo = start
            else:
                lo = start + (length - 1) * step if length else 0
                rev_dims.append(d)
            st = builtins_abs(step)
            starts.append(lo)
            limits.append(lo + (length - 1) * st + 1 if length else lo)
            strides.append(st)
        elif _is_int_scalar(e):
            i = _check_int(e, n, d)
            starts.append(i)
            limits.append(i + 1)
            strides.append(1)
            int_dims.append(d)
        else:  # a traced (or concrete array) 0-d integer: dynamic_slice
            starts.append(0)
            limits.append(n)
            strides.append(1)
            dyn[d] = e
            int_dims.append(d)
        d += 1
    if tuple(starts) != (0,) * len(shape) or tuple(limits) != tuple(shape) or \
            any(s != 1 for s in strides):
        x = lax.slice(x, tuple(starts), tuple(limits),
                      None if all(s == 1 for s in strides) else tuple(strides))
    if rev_dims:
        x = lax.rev(x, tuple(rev_dims))
    if dyn:
        cur = to_aval(x).shape
        # lax.dynamic_slice counts negative indices from the end itself
        idx = [_as_index_dtype(dyn[k]) if k in dyn else np.int32(0) for k in range(len(cur))]
        sizes = tuple(1 if k in dyn else cur[k] for k in range(len(cur)))
        x = lax.dynamic_slice(x, idx, sizes)
    if int_dims:
        x = lax.squeeze(x, tuple(int_dims))
    if any(e is None for e in entries):
        x = _insert_new_axes(x, entries)
    return x


builtins_abs = abs


def _insert_new_axes(x: Any, entries: list) -> Any:
    """Insert size-1 axes where the (int-free) index had None."""
    cur = list(to_aval(x).shape)
    out_shape, dims, pos = [], [], 0
    for e in entries:
        if e is None:
            out_shape.append(1)
        elif _is_int_scalar(e) or (_is_array(e) and to_aval(e).ndim == 0):
            continue
        else:
            dims.append(len(out_shape))
            out_shape.append(cur[pos])
            pos += 1
    return lax.broadcast_in_dim(x, tuple(out_shape), tuple(dims))


# -- the general plan: gather / scatter ------------------------------------------------------
class _Plan(NamedTuple):
    axes: list            # _Axis per axis of the indexed result
    adv_shape: tuple      # broadcast shape of the advanced indices
    adv: list             # (operand dim, normalized index array) in operand-dim order


def _plan(shape: tuple, entries: list, check_bounds: bool = True) -> _Plan:
    adv, slices = [], []
    adv_positions = []  # positions in entries (for contiguity)
    d = 0
    for k, e in enumerate(entries):
        if e is None:
            slices.append((k, None))
            continue
        if isinstance(e, slice):
            slices.append((k, (d,) + _slice_params(e, shape[d])))
        else:
            if _is_int_scalar(e) and check_bounds and shape[d] == 0:
                _check_int(e, shape[d], d)  # raises; other out-of-bounds reads clamp
            adv.append((d, e))
            adv_positions.append(k)
        d += 1
    adv_shapes = [to_aval(e).shape if not _is_int_scalar(e) else () for _, e in adv]
    try:
        bshape = tuple(np.broadcast_shapes(*adv_shapes)) if adv else ()
    except ValueError:
        raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {' '.join(str(tuple(s)) for s in adv_shapes)}") from None
    adv = [(dim, broadcast_to(_normalize_index_array(e, shape[dim]), bshape)
            if bshape else _normalize_index_array(e, shape[dim])) for dim, e in adv]
    contiguous = bool(adv_positions) and \
        adv_positions == list(range(adv_positions[0], adv_positions[-1] + 1))
    adv_block = [_Axis("adv", -1, 0, 0, n) for n in bshape]
    axes: list = [] if contiguous else list(adv_block)
    for k in range(len(entries)):
        if contiguous and adv_positions and k == adv_positions[0]:
            axes += adv_block
        for kk, s in slices:
            if kk == k:
                if s is None:
                    axes.append(_Axis("new", -1, 0, 1, 1))
                else:
                    dim, start, step, length = s
                    kind = "window" if step == 1 else "strided"
                    axes.append(_Axis(kind, dim, start, step, length))
    return _Plan(axes, bshape, adv)


def _iota(shape: tuple, axis: int) -> Any:
    return iota(_INDEX_DTYPE, shape, axis)


def _plan_indices(plan: _Plan, axes: list, for_scatter: bool) -> tuple:
    """(indices array, index_map, inserted dims, window positions) for ``axes`` (no "new")."""
    batch_pos = [p for p, a in enumerate(axes) if a.kind != "window"]
    ishape = tuple(axes[p].size for p in batch_pos)
    comps, index_map = [], []
    adv_start = next((j for j, p in enumerate(batch_pos) if axes[p].kind == "adv"), 0)
    nadv = len(plan.adv_shape)
    for dim, arr in plan.adv:
        if ishape == plan.adv_shape:
            c = arr
        else:
            c = lax.broadcast_in_dim(arr, ishape, tuple(range(adv_start, adv_start + nadv)))
        comps.append(c)
        index_map.append(dim)
    for j, p in enumerate(batch_pos):
        a = axes[p]
        if a.kind == "strided":
            c = lax_ew.add(lax_ew.mul(_iota(ishape, j), np.int32(a.step)), np.int32(a.start))
            comps.append(c)
            index_map.append(a.dim)
    for a in axes:
        if a.kind == "window" and a.start != 0:
            comps.append(_const_index(a.start, ishape))
            index_map.append(a.dim)
    if not comps and for_scatter:
        first = next(a for a in axes if a.kind == "window")
        comps.append(_const_index(0, ishape))
        index_map.append(first.dim)
    inserted = tuple(sorted([d for d, _ in plan.adv]
                            + [a.dim for a in axes if a.kind == "strided"]))
    windows = tuple(p for p, a in enumerate(axes) if a.kind == "window")
    if not comps:
        return None, (), inserted, windows
    cols = [c if isinstance(c, Tracer) or isinstance(c, jax.Array) or np.ndim(c)
            else np.asarray(c, _INDEX_DTYPE) for c in comps]
    cols = [lax.broadcast_in_dim(c, ishape + (1,), tuple(range(len(ishape)))) for c in cols]
    indices = cols[0] if len(cols) == 1 else lax.concatenate(cols, len(ishape))
    return indices, tuple(index_map), inserted, windows


def _const_index(value: int, shape: tuple) -> Any:
    return np.full(shape, value, _INDEX_DTYPE)


def rewriting_take(arr: Any, idx: Any, *, indices_are_sorted: bool = False,
                   unique_indices: bool = False, mode: Any = None,
                   fill_value: Any = None) -> Any:
    """``arr[idx]`` with numpy's semantics, lowered as JAX lowers it."""
    if is_python_scalar(arr):
        arr = asarray(arr)
    shape = to_aval(arr).shape
    entries = _normalize_entries(shape, idx)
    if _is_static_index(entries) and mode is None:
        return _static_take(arr, entries)
    plan = _plan(shape, entries)
    real_axes = [a for a in plan.axes if a.kind != "new"]
    indices, index_map, inserted, windows = _plan_indices(plan, real_axes, False)
    if indices is None:  # only full slices and None
        out = arr
    else:
        sizes = [1 if d in inserted else shape[d] for d in range(len(shape))]
        for a in real_axes:
            if a.kind == "window":
                sizes[a.dim] = a.size
        dnums = GatherDimensionNumbers(offset_dims=windows, collapsed_slice_dims=inserted,
                                       start_index_map=index_map)
        out = lax.gather(arr, indices, dnums, tuple(sizes),
                            indices_are_sorted=indices_are_sorted,
                            unique_indices=unique_indices,
                            mode=GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode,
                            fill_value=fill_value)
    if len(real_axes) != len(plan.axes):
        dims = tuple(p for p, a in enumerate(plan.axes) if a.kind != "new")
        out = lax.broadcast_in_dim(out, tuple(a.size for a in plan.axes), dims)
    return out


def scatter_update(arr: Any, idx: Any, values: Any, scatter_fn: Any, *,
                   indices_are_sorted: bool = False, unique_indices: bool = False,
                   mode: Any = None) -> Any:
    """``arr`` with ``values`` combined in at ``arr[idx]`` by ``scatter_fn`` (functional)."""
    arr = asarray(arr)
    aval = to_aval(arr)
    shape = aval.shape
    entries = _normalize_entries(shape, idx)
    # ints, slices and scalar indices never select an element twice (as JAX's indexer says):
    # the scatter's derivative rules need to know (scatter_mul's does)
    unique_indices = unique_indices or _is_static_index(entries)
    plan = _plan(shape, entries, check_bounds=False)  # out-of-bounds updates are dropped
    out_shape = tuple(a.size for a in plan.axes)
    if 0 in out_shape:  # nothing is updated, whatever the values (as JAX: no broadcast check)
        return arr
    if _is_array(values) or is_python_scalar(values):
        if result_type(aval.dtype, values) != aval.dtype:
            warnings.warn(
                f"scatter inputs have incompatible types: cannot safely cast value from "
                f"dtype={to_aval(values).dtype} to dtype={aval.dtype}. In future releases this "
                "will be an error; convert the values with .astype first.", FutureWarning,
                stacklevel=3)
    # As JAX: a Python int fitting an integer ``arr`` takes its dtype (strongly typed), other
    # values are arrays; the scatter runs on ``arr`` and the values promoted together, and its
    # result is cast back to ``arr``'s dtype and weak type. The casts are part of the program:
    # a weakly typed ``arr`` updated with strongly typed values is strong inside the scatter,
    # so its cotangent comes back weak through the cast's transpose (fuzz seed 181118).
    if (_is_int_scalar(values) and np.issubdtype(aval.dtype, np.integer)
            and np.iinfo(aval.dtype).min <= values <= np.iinfo(aval.dtype).max):
        values = asarray(values, dtype=aval.dtype)
    else:
        values = asarray(values)
    arr, values = promote_dtypes(arr, values)
    values = broadcast_to(values, out_shape)
    real_axes = [a for a in plan.axes if a.kind != "new"]
    if len(real_axes) != len(plan.axes):
        values = lax.reshape(values, tuple(a.size for a in real_axes))
    if not shape:
        out = _scalar_update(arr, values, scatter_fn)
    else:
        indices, index_map, inserted, windows = _plan_indices(plan, real_axes, True)
        dnums = ScatterDimensionNumbers(update_window_dims=windows,
                                        inserted_window_dims=inserted,
                                        scatter_dims_to_operand_dims=index_map)
        out = scatter_fn(arr, indices, values, dnums, indices_are_sorted=indices_are_sorted,
                         unique_indices=unique_indices, mode=mode)
    return convert(out, aval.dtype, aval.weak_type)


def _scalar_update(arr: Any, values: Any, scatter_fn: Any) -> Any:
    combine = {lax.scatter: lambda a, v: v, lax.scatter_add: lax_ew.add,
               lax.scatter_mul: lax_ew.mul, lax.scatter_min: lax_ew.min,
               lax.scatter_max: lax_ew.max}[scatter_fn]
    return combine(arr, values)


def _gathers_with_layout(arr: Any, idx: Any) -> bool:
    """Whether JAX's ``arr.at[idx].get(out_sharding=...)`` gathers (and so lays the result out
    as asked) rather than slicing statically: an index with arrays in it, or a concrete array
    over several devices that a static index takes a part of."""
    entries = _normalize_entries(to_aval(arr).shape, idx)
    if not _is_static_index(entries):
        return True
    if isinstance(arr, Tracer) or not isinstance(arr, jax.Array) or \
            arr.sharding.num_devices == 1:
        return False
    return _static_take(arr, entries).shape != arr.shape


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates ``set``, ``add``, ``multiply``, ... and ``get``."""

    __slots__ = ("array", "index")

    def __init__(self, array: Any, index: Any):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted: bool = False, unique_indices: bool = False,
            mode: Any = None, fill_value: Any = None, out_sharding: Any = None) -> Any:
        """``x[idx]``; ``out_sharding`` lays the result out over Explicit mesh axes (JAX's
        way to index a split array where the result's layout would be ambiguous)."""
        if out_sharding is None or (mode is None and not _gathers_with_layout(self.array,
                                                                             self.index)):
            # (JAX slices statically where it can, and a slice ignores ``out_sharding``)
            return rewriting_take(self.array, self.index, indices_are_sorted=indices_are_sorted,
                                  unique_indices=unique_indices, mode=mode,
                                  fill_value=fill_value)
        # as JAX: gathered in an auto_axes region, the result laid out as asked
        # (only the index's arrays are operands of the region; slices, ints, None and
        # Ellipsis stay static, closed over)
        parts = list(self.index) if isinstance(self.index, tuple) else [self.index]
        where = [i for i, p in enumerate(parts) if isinstance(p, (Tracer, jax.Array))]

        def take(arr: Any, *arrays: Any) -> Any:
            idx = list(parts)
            for i, a in zip(where, arrays):
                idx[i] = a
            idx = tuple(idx) if isinstance(self.index, tuple) else idx[0]
            return rewriting_take(arr, idx, indices_are_sorted=indices_are_sorted,
                                  unique_indices=unique_indices, mode=mode,
                                  fill_value=fill_value)
        return auto_region(take, out_sharding, "take", self.array,
                           *(parts[i] for i in where))

    def _scatter(self, values: Any, fn_name: str, **kw: Any) -> Any:
        return scatter_update(self.array, self.index, values, getattr(lax, fn_name), **kw)

    def set(self, values: Any, *, indices_are_sorted: bool = False,
            unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] = values``, returning the new array."""
        return self._scatter(values, "scatter", indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)

    def add(self, values: Any, *, indices_are_sorted: bool = False,
            unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] += values`` (repeated indices accumulate)."""
        return self._scatter(values, "scatter_add", indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)

    def subtract(self, values: Any, *, indices_are_sorted: bool = False,
                 unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] -= values``."""
        return self.add(negative(values), indices_are_sorted=indices_are_sorted,
                        unique_indices=unique_indices, mode=mode)

    def multiply(self, values: Any, *, indices_are_sorted: bool = False,
                 unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] *= values``."""
        return self._scatter(values, "scatter_mul", indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)

    mul = multiply

    def min(self, values: Any, *, indices_are_sorted: bool = False,  # noqa: A003
            unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] = minimum(x[idx], values)``."""
        return self._scatter(values, "scatter_min", indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)

    def max(self, values: Any, *, indices_are_sorted: bool = False,  # noqa: A003
            unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] = maximum(x[idx], values)``."""
        return self._scatter(values, "scatter_max", indices_are_sorted=indices_are_sorted,
                             unique_indices=unique_indices, mode=mode)

    def apply(self, func: Any, *, indices_are_sorted: bool = False,
              unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] = func(x[idx])`` elementwise, as ``lax.scatter_apply`` (a repeated index
        applies ``func`` repeatedly, as in JAX); not differentiable, as in JAX."""
        def scatter_fn(op, indices, updates, dnums, **kw):
            return lax.scatter_apply(op, indices, func, dnums,
                                     update_shape=to_aval(updates).shape, **kw)

        if not to_aval(self.array).shape:  # a 0-d array: the update is func itself
            return func(asarray(self.array))
        return scatter_update(self.array, self.index, 0, scatter_fn,
                              indices_are_sorted=indices_are_sorted,
                              unique_indices=unique_indices, mode=mode)

    def _scattered_factor(self, values: Any, **kw: Any) -> Any:
        """Ones with ``values`` multiplied in at the index: a repeated index multiplies
        twice, as JAX's ``divide`` and ``power`` do."""
        return scatter_update(ones_like(self.array), self.index, values, lax.scatter_mul,
                              **kw)

    def divide(self, values: Any, *, indices_are_sorted: bool = False,
               unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] /= values`` (as JAX: ``x`` divided by the values scattered into ones)."""
        return divide(self.array, self._scattered_factor(
            values, indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
            mode=mode))

    def power(self, values: Any, *, indices_are_sorted: bool = False,
              unique_indices: bool = False, mode: Any = None) -> Any:
        """``x[idx] **= values`` (as JAX: ``x`` to the power of the values scattered into
        ones)."""
        return power(self.array, self._scattered_factor(
            values, indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
            mode=mode))


class _IndexUpdateHelper:
    """What ``x.at`` is: index it to get an ``_IndexUpdateRef``."""

    __slots__ = ("array",)

    def __init__(self, array: Any):
        self.array = array

    def __getitem__(self, index: Any) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


# -- take, take_along_axis -----------------------------------------------------------------
def take(a: Any, indices: Any, axis: int | None = None, out: None = None, mode: Any = None,
         unique_indices: bool = False, indices_are_sorted: bool = False,
         fill_value: Any = None) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array by default),
    as ``jax.numpy.take``; out-of-bounds indices give ``fill_value`` (NaN for floats)."""
    a = asarray(a)
    indices = asarray(indices)
    if not np.issubdtype(to_aval(indices).dtype, np.integer):
        raise TypeError(f"take: indices must be integers, got {to_aval(indices).dtype.name}")
    if axis is None:
        a, axis = ravel(a), 0
    shape = to_aval(a).shape
    axis = canonicalize_axis(axis, len(shape))
    idx = _normalize_index_array(indices, shape[axis])
    ishape = to_aval(idx).shape
    idx = lax.broadcast_in_dim(idx, ishape + (1,), tuple(range(len(ishape))))
    offset = tuple(range(axis)) + tuple(range(axis + len(ishape), len(shape) - 1 + len(ishape)))
    dnums = GatherDimensionNumbers(offset_dims=offset, collapsed_slice_dims=(axis,),
                                   start_index_map=(axis,))
    sizes = tuple(1 if d == axis else n for d, n in enumerate(shape))
    return lax.gather(a, idx, dnums, sizes, unique_indices=unique_indices,
                         indices_are_sorted=indices_are_sorted,
                         mode="fill" if mode is None else mode, fill_value=fill_value)


@jit_typed
def take_along_axis(arr: Any, indices: Any, axis: int | None, mode: Any = None,
                    fill_value: Any = None) -> Any:
    """``arr`` indexed by ``indices`` along ``axis``, matching positions elsewhere, as
    ``jax.numpy.take_along_axis``."""
    arr = asarray(arr)
    indices = asarray(indices)
    if axis is None:
        arr, indices, axis = ravel(arr), ravel(indices), 0
    ashape, ishape = to_aval(arr).shape, to_aval(indices).shape
    if len(ashape) != len(ishape):
        raise ValueError(f"take_along_axis: indices and arr must have the same number of "
                         f"dimensions; {len(ishape)} vs {len(ashape)}")
    axis = canonicalize_axis(axis, len(ashape))
    out_shape = []
    for d, (n, m) in enumerate(zip(ashape, ishape)):
        if d == axis:
            out_shape.append(m)
        else:
            try:
                out_shape.append(np.broadcast_shapes((n,), (m,))[0])
            except ValueError:
                raise ValueError(f"take_along_axis: indices shape {ishape} and arr shape "
                                 f"{ashape} are not broadcast-compatible at axis {d}") from None
    out_shape = tuple(out_shape)
    idx = broadcast_to(_normalize_index_array(indices, ashape[axis]), out_shape)
    cols, index_map = [], []
    for d, n in enumerate(ashape):
        if d == axis:
            c = idx
        elif n == 1:
            continue
        else:
            c = _iota(out_shape, d)
        cols.append(lax.broadcast_in_dim(c, out_shape + (1,), tuple(range(len(out_shape)))))
        index_map.append(d)
    gidx = cols[0] if len(cols) == 1 else lax.concatenate(cols, len(out_shape))
    dnums = GatherDimensionNumbers(offset_dims=(),
                                   collapsed_slice_dims=tuple(range(len(ashape))),
                                   start_index_map=tuple(index_map))
    sizes = (1,) * len(ashape)
    out = lax.gather(arr, gidx, dnums, sizes, mode="fill" if mode is None else mode,
                        fill_value=fill_value)
    return out
