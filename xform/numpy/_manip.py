"""Array manipulation: atleast_*d, the *stack family, block, split/array_split/unstack, tile,
repeat, resize, flip, roll, rot90, rollaxis, pad, append, diff, broadcast_shapes.

Everything with a static layout is slices, reversals, broadcasts and concatenations; index maps
known at trace time (pad's wrap/reflect modes, repeat with concrete counts) are one gather of
constant positions.
"""

from __future__ import annotations

import operator
from typing import Any, Sequence

import jax
import numpy as np

from xform import lax
from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.lax.sharding import auto_region
from xform.numpy import _shape as sh
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._indexing import take
from xform.numpy._promote import broadcast_shapes as bs, check_arraylike, convert
from xform.numpy._reductions import cumsum
from xform.numpy._sorting import searchsorted
from xform.numpy._ufuncs import not_equal, subtract


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


def _atleast(name: str, nd: int, arys: tuple) -> Any:
    check_arraylike(name, *arys)
    out = []
    for a in arys:
        a = asarray(a)
        s = _shape(a)
        if len(s) < nd:
            if nd == 3 and len(s) == 1:
                s = (1, s[0], 1)
            elif nd == 3 and len(s) == 2:
                s = s + (1,)
            else:
                s = (1,) * (nd - len(s)) + s
            a = sh.reshape(a, s)
        out.append(a)
    return out[0] if len(out) == 1 else out


@jit_typed
def atleast_1d(*arys: Any) -> Any:
    """Each input as an array of at least one dimension, as ``jax.numpy.atleast_1d`` (a list
    when given several)."""
    return _atleast("atleast_1d", 1, arys)


@jit_typed
def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two dimensions (1-D ``(n,)`` becomes ``(1, n)``)."""
    return _atleast("atleast_2d", 2, arys)


@jit_typed
def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three dimensions (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``)."""
    return _atleast("atleast_3d", 3, arys)


def _as_list(name: str, tup: Any) -> list:
    if isinstance(tup, (jax.Array, Tracer, np.ndarray)):
        return [tup[i] for i in range(_shape(tup)[0])] if _shape(tup) else [tup]
    tup = list(tup)
    if not tup:
        raise ValueError(f"{name}: need at least one array to concatenate")
    return tup


def _rows_at_least(arr: Any, n: int) -> Any:
    """The rows of one array each made ``atleast_{n}d`` at once (JAX's ``vmap`` of it): the
    stacking functions then concatenate that array by a reshape, as JAX's fast path."""
    shape = tuple(to_aval(arr).shape)
    rows = shape[1:]
    if len(rows) >= n:
        return arr
    if n == 3:  # atleast_3d: (k,) -> (1, k, 1), (a, b) -> (a, b, 1)
        rows = {0: (1, 1, 1), 1: (1,) + rows + (1,), 2: rows + (1,)}[len(rows)]
    else:
        rows = (1,) * (n - len(rows)) + rows
    return sh.reshape(arr, shape[:1] + rows)


def _is_one_array(tup: Any) -> bool:
    return isinstance(tup, (np.ndarray, jax.Array, Tracer))


@eager_jit(static_argnames=("dtype",))
def hstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Concatenate along the second axis (the first for 1-D inputs), as
    ``jax.numpy.hstack``."""
    if _is_one_array(tup):
        arrs = _rows_at_least(asarray(tup), 1)
        return sh.concatenate(arrs, axis=0 if to_aval(arrs).ndim == 2 else 1, dtype=dtype)
    arrs = [atleast_1d(a) for a in _as_list("hstack", tup)]
    axis = 0 if to_aval(arrs[0]).ndim == 1 else 1
    return sh.concatenate(arrs, axis=axis, dtype=dtype)


@eager_jit(static_argnames=("dtype",))
def vstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Concatenate along the first axis after ``atleast_2d``, as ``jax.numpy.vstack``."""
    if _is_one_array(tup):
        return sh.concatenate(_rows_at_least(asarray(tup), 2), axis=0, dtype=dtype)
    return sh.concatenate([atleast_2d(a) for a in _as_list("vstack", tup)], axis=0, dtype=dtype)


@eager_jit(static_argnames=("dtype",))
def dstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Concatenate along the third axis after ``atleast_3d``, as ``jax.numpy.dstack``."""
    if _is_one_array(tup):
        return sh.concatenate(_rows_at_least(asarray(tup), 3), axis=2, dtype=dtype)
    return sh.concatenate([atleast_3d(a) for a in _as_list("dstack", tup)], axis=2, dtype=dtype)


@eager_jit()
def column_stack(tup: Sequence[Any]) -> Any:
    """1-D inputs as columns, 2-D ones as they are, side by side, as
    ``jax.numpy.column_stack``."""
    arrs = []
    for a in _as_list("column_stack", tup):
        a = asarray(a)
        arrs.append(sh.reshape(a, (_shape(a)[0], 1)) if to_aval(a).ndim == 1 else atleast_2d(a))
    return sh.concatenate(arrs, axis=1)


def _split_points(name: str, n: int, indices_or_sections: Any, exact: bool) -> list:
    if isinstance(indices_or_sections, Tracer):
        indices_or_sections = indices_or_sections.concrete_value(
            f"{name} argument `indices_or_sections`")
    if np.ndim(indices_or_sections) == 0:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{name}: number of sections must be larger than 0.")
        if exact and n % sections:
            raise ValueError("array split does not result in an equal division: an axis of "
                             f"size {n} cannot be split into {sections} sections; use "
                             "array_split for unequal pieces.")
        size, extra = divmod(n, sections)
        sizes = [size + 1] * extra + [size] * (sections - extra)
        return list(np.cumsum([0] + sizes))
    pts = [operator.index(i) for i in np.asarray(indices_or_sections).tolist()]
    pts = [max(0, min(n, p + n if p < 0 else p)) for p in pts]
    return [0] + pts + [n]


def _split(name: str, ary: Any, indices_or_sections: Any, axis: int, exact: bool) -> list:
    check_arraylike(name, ary)
    ary = asarray(ary)
    shape = _shape(ary)
    axis = sh.canonicalize_axis(axis, len(shape))
    pts = _split_points(name, shape[axis], indices_or_sections, exact)
    if all(a <= b for a, b in zip(pts[:-1], pts[1:])):  # consecutive pieces: one primitive
        return list(lax.split(ary, [int(b - a) for a, b in zip(pts[:-1], pts[1:])], axis))
    out = []
    for start, stop in zip(pts[:-1], pts[1:]):
        stop = max(start, stop)
        out.append(lax.slice_in_dim(ary, int(start), int(stop), axis=axis))
    return out


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into equal sections or at the given indices, as ``jax.numpy.split``."""
    return _split("split", ary, indices_or_sections, axis, True)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """``split`` allowing sections of unequal size (the first ones one larger)."""
    return _split("array_split", ary, indices_or_sections, axis, False)


def hsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the second axis (the first for 1-D arrays)."""
    return _split("hsplit", ary, indices_or_sections, 0 if to_aval(ary).ndim == 1 else 1, True)


def vsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the first axis."""
    return _split("vsplit", ary, indices_or_sections, 0, True)


def dsplit(ary: Any, indices_or_sections: Any) -> list:
    """Split along the third axis."""
    return _split("dsplit", ary, indices_or_sections, 2, True)


@eager_jit(static_argnames=("axis",))
def unstack(x: Any, /, *, axis: int = 0) -> tuple:
    """The slices of ``x`` along ``axis``, as a tuple, as ``jax.numpy.unstack``."""
    check_arraylike("unstack", x)
    x = asarray(x)
    if to_aval(x).ndim == 0:
        raise ValueError("Unstack requires arrays with rank > 0, however a scalar array was "
                         "passed.")
    axis = sh.canonicalize_axis(axis, to_aval(x).ndim)
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in range(_shape(x)[axis]))


@eager_jit(static_argnames=("reps",))
def tile(A: Any, reps: Any) -> Any:
    """``A`` repeated ``reps`` times along each axis, as ``jax.numpy.tile``."""
    check_arraylike("tile", A)
    A = asarray(A)
    reps = (operator.index(reps),) if np.ndim(reps) == 0 else tuple(operator.index(r)
                                                                    for r in reps)
    shape = _shape(A)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    A = sh.reshape(A, shape)
    wide = tuple(x for r, s in zip(reps, shape) for x in (r, s))
    out = lax.broadcast_in_dim(A, wide, tuple(range(1, 2 * nd, 2)))
    return sh.reshape(out, tuple(r * s for r, s in zip(reps, shape)))


def _concrete_or_none(x: Any) -> Any:
    if isinstance(x, Tracer):
        try:
            return np.asarray(x.concrete_value("repeat"))
        except TypeError:
            return None
    return np.asarray(x)


def repeat(a: Any, repeats: Any, axis: int | None = None, *,
           total_repeat_length: int | None = None, out_sharding: Any = None) -> Any:
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened array by
    default), as ``jax.numpy.repeat``. Traced ``repeats`` need ``total_repeat_length``.
    ``out_sharding`` lays the result out over Explicit mesh axes; without it, an operand split
    over them keeps its layout, and one split along ``axis`` needs it (as in JAX)."""
    check_arraylike("repeat", a)
    a = asarray(a)
    if axis is None:
        a, axis = sh.ravel(a), 0
    axis = sh.canonicalize_axis(axis, to_aval(a).ndim)
    layout = out_sharding
    sharding = to_aval(a).sharding
    if layout is None and sharding is not None:
        spec = tuple(sharding.spec)
        if axis < len(spec) and spec[axis] is not None:
            raise ValueError("Please pass sharding to `jnp.repeat` via `out_sharding` "
                             f"parameter: the operand, of type {to_aval(a).str_short()}, is "
                             f"split along the repeated axis {axis}.")
        layout = sharding
    if layout is None:
        return _repeat(a, repeats, axis, total_repeat_length)
    # as JAX: repeated in an auto_axes region, the result laid out as asked; the repeats are
    # an operand of the region only with a total_repeat_length (else they are closed over)
    if total_repeat_length is None:
        return auto_region(lambda x: _repeat(x, repeats, axis, None), layout, "repeat", a)
    return auto_region(lambda r, x: _repeat(x, r, axis, total_repeat_length), layout,
                       "repeat", repeats, a)


def _repeat(a: Any, repeats: Any, axis: int, total_repeat_length: int | None) -> Any:
    n = _shape(a)[axis]
    reps = _concrete_or_none(repeats)
    if reps is not None and reps.ndim == 0:
        r = int(reps)
        shape = _shape(a)
        wide = shape[:axis + 1] + (r,) + shape[axis + 1:]
        dims = tuple(d if d <= axis else d + 1 for d in range(len(shape)))
        out = sh.reshape(lax.broadcast_in_dim(a, wide, dims),
                         shape[:axis] + (n * r,) + shape[axis + 1:])
        if total_repeat_length is not None and total_repeat_length != n * r:
            reps = np.full(n, r)
        else:
            return out
    if reps is not None:
        idx = np.repeat(np.arange(n, dtype=np.int32), np.broadcast_to(reps, (n,)))
        if total_repeat_length is not None:
            idx = np.concatenate([idx, np.full(max(0, total_repeat_length - len(idx)),
                                               n - 1, np.int32)])[:total_repeat_length]
        return take(a, idx, axis=axis)
    if total_repeat_length is None:
        raise ConcretizationTypeError(
            "jnp.repeat with a traced `repeats` array needs total_repeat_length: the output "
            "size depends on the values of `repeats`, unknown under a transform. Pass "
            "total_repeat_length=<static int> (the sum of repeats), or make `repeats` static.")
    ends = cumsum(sh.broadcast_to(asarray(repeats), (n,)))
    pos = lax.iota(np.int32, total_repeat_length)
    idx = lax.min(searchsorted(ends, pos, side="right"), convert(n - 1, np.int32, True))
    return take(a, idx, axis=axis)


@jit_typed
def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of elements along ``axis`` (all axes by default), as
    ``jax.numpy.flip``."""
    check_arraylike("flip", m)
    m = asarray(m)
    nd = to_aval(m).ndim
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(sh.canonicalize_axis(ax, nd) for ax in (axis if isinstance(axis, (
            tuple, list)) else (axis,)))
    return lax.rev(m, axes) if axes else m


def fliplr(m: Any) -> Any:
    """Reverse the second axis, as ``jax.numpy.fliplr``."""
    if to_aval(m).ndim < 2:
        raise ValueError("fliplr requires an array of at least two dimensions")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """Reverse the first axis, as ``jax.numpy.flipud``."""
    if to_aval(m).ndim < 1:
        raise ValueError("flipud requires an array of at least one dimension")
    return flip(m, 0)


def _roll_one(a: Any, shift: Any, axis: int) -> Any:
    n = _shape(a)[axis]
    if n == 0:
        return a
    if isinstance(shift, Tracer):
        shift = convert(shift, np.int32)
        start = lax.rem(lax.sub(np.int32(n), lax.rem(shift, np.int32(n))), np.int32(n))
        start = lax.rem(lax.add(start, np.int32(n)), np.int32(n))
        doubled = lax.concatenate([a, a], axis)
        return lax.dynamic_slice_in_dim(doubled, start, n, axis)
    s = operator.index(shift) % n
    if s == 0:
        return a
    return lax.concatenate([lax.slice_in_dim(a, n - s, n, axis=axis),
                            lax.slice_in_dim(a, 0, n - s, axis=axis)], axis)


@eager_jit(static_argnames=("shift", "axis"))
def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Elements shifted cyclically by ``shift`` along ``axis`` (of the flattened array by
    default), as ``jax.numpy.roll``."""
    check_arraylike("roll", a)
    a = asarray(a)
    if axis is None:
        shape = _shape(a)
        return sh.reshape(roll(sh.ravel(a), shift, 0), shape)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    if isinstance(shift, (tuple, list)):
        shifts = list(shift)
    elif isinstance(shift, (jax.Array, Tracer, np.ndarray)) and to_aval(shift).ndim == 1:
        shifts = [shift[i] for i in range(_shape(shift)[0])]
    else:
        shifts = [shift]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1 and len(shifts) > 1:
        axes = tuple(axes) * len(shifts)
    if len(axes) != len(shifts):
        raise ValueError("roll: shift and axis must have the same number of entries, got "
                         f"{len(shifts)} and {len(axes)}")
    nd = to_aval(a).ndim
    for s, ax in zip(shifts, axes):
        if isinstance(s, jax.Array) and not isinstance(s, Tracer):
            s = int(s)
        a = _roll_one(a, s, sh.canonicalize_axis(ax, nd))
    return a


@eager_jit(static_argnames=("k", "axes"))
def rot90(m: Any, k: int = 1, axes: tuple = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, as ``jax.numpy.rot90``."""
    check_arraylike("rot90", m)
    m = asarray(m)
    nd = to_aval(m).ndim
    if nd < 2:
        raise ValueError(f"rot90 requires its first argument to have ndim at least two, but "
                         f"got first argument of shape {_shape(m)}")
    ax1, ax2 = (sh.canonicalize_axis(ax, nd) for ax in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, ax1), ax2)
    perm = list(range(nd))
    perm[ax1], perm[ax2] = perm[ax2], perm[ax1]
    if k == 1:
        return sh.transpose(flip(m, ax2), perm)
    return flip(sh.transpose(m, perm), ax2)


def _pad_widths(pad_width: Any, nd: int) -> list:
    pw = np.asarray(pad_width)
    if not np.issubdtype(pw.dtype, np.integer):
        raise TypeError(f"pad_width must be of integral type, got {pw.dtype}")
    pw = np.broadcast_to(pw, (nd, 2)) if pw.ndim <= 2 else pw
    if pw.shape != (nd, 2):
        raise ValueError(f"pad_width {pad_width!r} does not fit an array of {nd} dimensions")
    if (pw < 0).any():
        raise ValueError("index can't contain negative values")
    return [(int(b), int(e)) for b, e in pw]


def _pad_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    j = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(j, 0, n - 1)
    if mode == "wrap":
        return j % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(j)
        j = j % (2 * n - 2)
        return np.where(j < n, j, 2 * n - 2 - j)
    j = j % (2 * n)  # symmetric
    return np.where(j < n, j, 2 * n - 1 - j)


@eager_jit(static_argnames=("pad_width", "mode"))
def _pad_static(array: Any, pad_width: tuple, mode: str, constant_values: Any) -> Any:
    nd = to_aval(array).ndim
    dtype, weak = to_aval(array).dtype, to_aval(array).weak_type
    if mode == "constant":
        # the padding value takes the array's type, weak type included (as JAX's)
        cv = convert(asarray(constant_values), dtype, weak)
        if to_aval(cv).ndim == 0:
            return lax.pad(array, cv, [(b, e, 0) for b, e in pad_width])
        cv = sh.broadcast_to(cv, (nd, 2))
        for ax, (b, e) in enumerate(pad_width):
            for side, width in ((0, b), (1, e)):
                if width:
                    cfg = [(0, 0, 0)] * nd
                    cfg[ax] = (width, 0, 0) if side == 0 else (0, width, 0)
                    array = lax.pad(array, cv[ax, side], cfg)
        return array
    for ax, (b, e) in enumerate(pad_width):
        n = _shape(array)[ax]
        if b or e:
            if n == 0:
                raise ValueError(f"can't extend empty axis {ax} using modes other than "
                                 "'constant' or 'empty'")
            array = take(array, _pad_index(mode, n, b, e).astype(np.int32), axis=ax)
    return array


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """Pad ``array`` by ``pad_width`` (int, ``(before, after)`` or one pair per axis), as
    ``jax.numpy.pad``. Modes: ``constant`` (``constant_values``), ``empty``, ``edge``,
    ``wrap``, ``reflect`` and ``symmetric`` (``reflect_type='even'``)."""
    check_arraylike("pad", array)
    array = asarray(array)
    widths = tuple(_pad_widths(pad_width, to_aval(array).ndim))
    if callable(mode):
        raise NotImplementedError("pad with a callable mode is not implemented")
    if mode == "empty":
        mode = "constant"
    if mode not in ("constant", "edge", "wrap", "reflect", "symmetric"):
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented; supported are "
                                  "constant, empty, edge, wrap, reflect, symmetric")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: reflect_type='odd' is not implemented")
    unknown = set(kwargs) - {"constant_values", "reflect_type"}
    if unknown:
        raise ValueError(f"pad: unsupported keyword arguments {sorted(unknown)} for mode "
                         f"{mode!r}")
    return _pad_static(array, widths, mode, kwargs.get("constant_values", 0))


@eager_jit(static_argnames=("axis",))
def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` appended to ``arr`` (both flattened when ``axis`` is None), as
    ``jax.numpy.append``."""
    if axis is None:
        return sh.concatenate([sh.ravel(asarray(arr)), sh.ravel(asarray(values))], 0)
    return sh.concatenate([arr, values], axis=axis)


@eager_jit(static_argnames=("n", "axis"))
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis``, as ``jax.numpy.diff``."""
    check_arraylike("diff", a)
    a = asarray(a)
    nd = to_aval(a).ndim
    if nd == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = sh.canonicalize_axis(axis, nd)
    def edge(extra: Any) -> Any:
        extra = asarray(extra)
        if to_aval(extra).ndim == 0:
            shape = list(_shape(a))
            shape[axis] = 1
            extra = sh.broadcast_to(extra, tuple(shape))
        return extra

    parts = ([] if prepend is None else [edge(prepend)]) + [a] + (
        [] if append is None else [edge(append)])
    if len(parts) > 1:
        a = sh.concatenate(parts, axis)
    op = not_equal if to_aval(a).dtype == np.bool_ else subtract
    for _ in range(n):
        m = _shape(a)[axis]
        a = op(lax.slice_in_dim(a, 1, m, axis=axis), lax.slice_in_dim(a, 0, m - 1, axis=axis))
    return a


@jit_typed
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """Differences of the flattened array, with optional values before and after."""
    out = diff(sh.ravel(asarray(ary)))
    parts = [out]
    if to_begin is not None:
        parts.insert(0, sh.ravel(asarray(to_begin)))
    if to_end is not None:
        parts.append(sh.ravel(asarray(to_end)))
    return sh.concatenate(parts, 0) if len(parts) > 1 else out


# -- broadcast_shapes, rollaxis, resize, block -------------------------------------------------
def broadcast_shapes(*shapes: Sequence[int]) -> tuple:
    """The shape numpy's broadcasting gives ``shapes``."""
    return bs("broadcast_shapes", *[(s,) if isinstance(s, int) else tuple(s) for s in shapes])


@jit_typed
def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Move ``axis`` to before position ``start``, as ``jax.numpy.rollaxis``."""
    nd = to_aval(a).ndim
    axis = sh.canonicalize_axis(axis, nd)
    start = start + nd if start < 0 else start
    if not 0 <= start <= nd:
        raise ValueError(f"rollaxis: start={start} out of range for {nd} dimensions")
    if axis < start:
        start -= 1
    return sh.moveaxis(a, axis, start)


@jit_typed
def resize(a: Any, new_shape: Any) -> Any:
    """``a`` flattened, repeated as needed and reshaped to ``new_shape``."""
    a = sh.ravel(asarray(a))
    new_shape = (operator.index(new_shape),) if np.ndim(new_shape) == 0 else tuple(new_shape)
    total = int(np.prod(new_shape, dtype=np.int64))
    n = _shape(a)[0]
    if n == 0 or total == 0:
        return lax.full(new_shape, 0, to_aval(a).dtype)
    reps = -(-total // n)
    return sh.reshape(lax.slice(tile(a, reps), (0,), (total,)), new_shape)


@jit_typed
def block(arrays: Any) -> Any:
    """Assemble an array from nested lists of blocks, as ``jax.numpy.block``."""

    def depth(x: Any) -> int:
        return 1 + depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list)
                                                                  else 0)

    list_depth = depth(arrays)
    leaves = []

    def collect(x: Any) -> None:
        if isinstance(x, list):
            for y in x:
                collect(y)
        else:
            leaves.append(asarray(x))

    collect(arrays)
    result_ndim = max([list_depth] + [to_aval(x).ndim for x in leaves])

    def build(x: Any, level: int) -> Any:
        if not isinstance(x, list):
            x = atleast_1d(asarray(x))
            nd = to_aval(x).ndim
            return sh.reshape(x, (1,) * (result_ndim - nd) + _shape(x)) if nd < result_ndim \
                else x
        parts = [build(y, level + 1) for y in x]
        return sh.concatenate(parts, axis=result_ndim - list_depth + level)

    return build(arrays, 0)
