"""Collectives over named axes: ``psum pmean pmax pmin all_gather axis_index axis_size
ppermute psum_scatter all_to_all pbroadcast pcast``, with jax.lax's signatures.

A collective only has a meaning inside a transform that binds its axis name: ``vmap`` with
``axis_name=``, or ``shard_map`` (and ``pmap``) over mesh axes. Each primitive's ``axes`` param
names the axes it works over. One definition serves both:

- under ``vmap``, the vmap whose name is among the axes applies the primitive's
  ``collective_rules`` entry, which rewrites it into ordinary operations on the batched value
  (``psum`` becomes ``reduce_sum`` over the batch axis); any other vmap batches it with its
  ``batch_rules`` entry, as an ordinary operation, and hands it on;
- inside a ``shard_map`` body nothing rewrites it: the body is lowered inside ``jax.shard_map``
  and the ``to_jax`` rule emits JAX's collective over the mesh axis (xform writes no
  communication of its own).

The public functions look their axis up first (the names of the enclosing named vmaps, then
the manual mesh axes of the enclosing shard_map bodies) and raise
``NameError: unbound axis name: i`` outside any transform that binds it, as JAX does.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Sequence

import jax
import numpy as np

from xform.core.avals import ShapedArray, canonicalize_dtype, is_inexact
from xform.core.primitive import Primitive, abstract_eval, vma_operands, vma_rules, vma_state
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    axis_names_in_scope, batch_rules, bdim_at_front, broadcast_batch, collective_rules, moveaxis,
    not_mapped,
)
from xform.interpreters.ad_util import pvary_p, pvary_to
from xform.interpreters.jvp import Zero, defjvp_zero, deflinear_jvp, jvp_rules
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import transpose_rules
from xform.lax import elementwise
from xform.lax import reductions
from xform.lax import shape
from xform.lax import slicing
from xform.lax._helpers import shape_str, weak_scalar

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "axis_size", "ppermute",
           "pshuffle", "pswapaxes", "psum_scatter", "all_to_all", "pbroadcast", "pcast"]


def _names(axis_name: Any) -> tuple:
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


class _MeshAxes(threading.local):
    def __init__(self):
        self.stack: list[dict] = []  # {mesh axis name: size}, one per shard_map body traced


_mesh_axes = _MeshAxes()


@contextmanager
def mesh_axes_bound(sizes: dict):
    """Bind the manual mesh axes ``{name: size}`` of a ``shard_map`` body while it is traced,
    so that the collectives in it can look their axes up."""
    _mesh_axes.stack.append(dict(sizes))
    try:
        yield
    finally:
        _mesh_axes.stack.pop()


def manual_axis_sizes() -> dict:
    """``{mesh axis: size}`` of the manual axes of the enclosing shard_map bodies, in mesh
    order."""
    out: dict = {}
    for env in _mesh_axes.stack:
        out.update(env)
    return out


def bound_axis_sizes() -> dict:
    """``{axis_name: size}`` of every named axis in scope: the manual mesh axes of enclosing
    shard_map bodies, shadowed by the names of enclosing named vmaps."""
    out: dict = {}
    for env in _mesh_axes.stack:
        out.update(env)
    out.update(axis_names_in_scope())
    return out


def _sizes(axis_name: Any) -> list[int]:
    """The sizes of the named axes; NameError for a name nothing encloses binds."""
    scope = bound_axis_sizes()
    out = []
    for n in _names(axis_name):
        if n not in scope:
            raise NameError(f"unbound axis name: {n}. A collective needs an enclosing "
                            f"transform that binds the name, e.g. xform.vmap(f, axis_name={n!r}) "
                            "or xform.shard_map over a mesh with that axis"
                            + (f"; the names bound here are {sorted(map(str, scope))}."
                               if scope else "; no named vmap or shard_map encloses this call."))
        out.append(scope[n])
    return out


def _single(name: str, axis_name: Any) -> None:
    if len(_names(axis_name)) != 1:
        raise NotImplementedError(f"{name} over several axis names {axis_name!r} is not "
                                  "supported; nest one call per name.")


def _no_groups(name: str, axis_index_groups: Any) -> None:
    if axis_index_groups is not None:
        raise NotImplementedError(f"{name}: axis_index_groups is not supported under vmap "
                                  "(as in JAX).")


def _collective(name: str, lowering) -> Primitive:
    # ``lowering(x, *, axes, **params)`` is JAX's collective. It is reached inside a shard_map
    # body (lowered inside ``jax.shard_map``), where the axes are mesh axes; under vmap the
    # collective rules have rewritten every collective over a vmap's name before lowering.
    p = Primitive(name)
    to_jax[p] = lowering
    return p


# -- psum / pmax / pmin: reductions over the axis -----------------------------------------------
def _same_aval(x: ShapedArray, **params) -> ShapedArray:
    return x


def _reduce_collective(reducer_name: str, unmapped):
    def rule(axis_size, vals, dims, *, axes, **params):
        (x,), (d,) = vals, dims
        if d is not_mapped:
            return unmapped(x, axis_size), not_mapped
        return getattr(reductions, reducer_name + "_p").bind(x, axes=(d,)), not_mapped
    return rule


def _elementwise_batch(prim: Primitive):
    # under a vmap of another name: an elementwise op on the batched value, axis kept
    def rule(axis_size, vals, dims, **params):
        return prim.bind(vals[0], **params), dims[0]
    return rule


def _times(x: Any, n: int) -> Any:
    aval = to_aval(x)
    if aval.dtype == np.bool_:
        x = elementwise._convert_weak(x, np.dtype(np.int32), aval.weak_type)
        aval = to_aval(x)
    return elementwise.mul_p.bind(x, weak_scalar(n, aval.dtype))


psum_p = _collective("psum", lambda x, *, axes: jax.lax.psum(x, axes))
abstract_eval[psum_p] = _same_aval
collective_rules[psum_p] = _reduce_collective("reduce_sum", _times)
batch_rules[psum_p] = _elementwise_batch(psum_p)

pmax_p = _collective("pmax", lambda x, *, axes: jax.lax.pmax(x, axes))
abstract_eval[pmax_p] = _same_aval
collective_rules[pmax_p] = _reduce_collective("reduce_max", lambda x, n: x)
batch_rules[pmax_p] = _elementwise_batch(pmax_p)

pmin_p = _collective("pmin", lambda x, *, axes: jax.lax.pmin(x, axes))
abstract_eval[pmin_p] = _same_aval
collective_rules[pmin_p] = _reduce_collective("reduce_min", lambda x, n: x)
batch_rules[pmin_p] = _elementwise_batch(pmin_p)


# -- axis_index -------------------------------------------------------------------------------
axis_index_p = _collective("axis_index", lambda *, axes: jax.lax.axis_index(axes[0]))
abstract_eval[axis_index_p] = lambda *, axes: ShapedArray((), np.dtype(np.int32))


def _axis_index_collective(axis_size, vals, dims, *, axes):
    return shape.iota_p.bind(dtype=np.dtype(np.int32), shape=(axis_size,), dimension=0), 0


collective_rules[axis_index_p] = _axis_index_collective
# no batch rule: it has no operands, so another vmap never sees it batched


# -- all_gather -------------------------------------------------------------------------------
all_gather_p = _collective(
    "all_gather", lambda x, *, axes, axis, axis_size, tiled, axis_index_groups:
    jax.lax.all_gather(x, axes[0], axis=axis, tiled=tiled))


def _all_gather_abstract_eval(x: ShapedArray, *, axes, axis, axis_size, tiled,
                              axis_index_groups):
    if tiled:
        if not 0 <= axis < x.ndim:
            raise ValueError(f"all_gather axis {axis} is out of bounds for an operand of shape "
                             f"{shape_str(x.shape)} (tiled=True concatenates along an existing "
                             "axis).")
        shape = x.shape[:axis] + (x.shape[axis] * axis_size,) + x.shape[axis + 1:]
    else:
        if not 0 <= axis <= x.ndim:
            raise ValueError(f"all_gather axis {axis} is out of bounds for the result of rank "
                             f"{x.ndim + 1} (operand shape {shape_str(x.shape)}).")
        shape = x.shape[:axis] + (axis_size,) + x.shape[axis:]
    return ShapedArray(shape, x.dtype, x.weak_type)


def _merge_axes(x: Any, axis: int) -> Any:
    """``x`` with axes ``axis`` and ``axis + 1`` merged into one (row-major)."""
    s = to_aval(x).shape
    new = s[:axis] + (s[axis] * s[axis + 1],) + s[axis + 2:]
    return shape.reshape_p.bind(x, new_sizes=new, dimensions=None)


def _split_axis(x: Any, axis: int, n: int) -> Any:
    """``x`` with axis ``axis`` split into ``(n, size // n)``."""
    s = to_aval(x).shape
    new = s[:axis] + (n, s[axis] // n) + s[axis + 1:]
    return shape.reshape_p.bind(x, new_sizes=new, dimensions=None)


def _all_gather_collective(n, vals, dims, *, axes, axis, axis_size, tiled, **_):
    (x,), (d,) = vals, dims
    out = broadcast_batch(x, n, axis) if d is not_mapped else moveaxis(x, d, axis)
    return (_merge_axes(out, axis) if tiled else out), not_mapped


def _front_batch(prim: Primitive, *axis_params: str):
    """Under a vmap of another name: the batch axis goes first and every per-example axis
    param named in ``axis_params`` shifts by one."""
    def rule(n, vals, dims, **params):
        x = bdim_at_front(vals[0], dims[0], n)
        shifted = {k: v + 1 if k in axis_params else v for k, v in params.items()}
        return prim.bind(x, **shifted), 0
    return rule


abstract_eval[all_gather_p] = _all_gather_abstract_eval
collective_rules[all_gather_p] = _all_gather_collective
batch_rules[all_gather_p] = _front_batch(all_gather_p, "axis")


# -- ppermute ---------------------------------------------------------------------------------
ppermute_p = _collective(
    "ppermute", lambda x, *, axes, perm: jax.lax.ppermute(x, axes[0], perm))
abstract_eval[ppermute_p] = _same_aval


def _ppermute_collective(axis_size, vals, dims, *, axes, perm):
    # example dst receives example src's value for (src, dst) in perm, zeros if no one sends
    x = bdim_at_front(vals[0], dims[0], axis_size)
    aval = to_aval(x)
    src_of = {dst: src for src, dst in perm}
    if sorted(src_of.items()) == [(i, i) for i in range(axis_size)]:
        return x, 0
    pieces = []
    for dst in range(axis_size):
        if dst in src_of:
            s = src_of[dst]
            pieces.append(slicing.slice_p.bind(
                x, start_indices=(s,) + (0,) * (aval.ndim - 1),
                limit_indices=(s + 1,) + aval.shape[1:], strides=None))
        else:
            pieces.append(shape.full((1,) + aval.shape[1:], 0, aval.dtype))
    return slicing.concatenate_p.bind(*pieces, dimension=0), 0


collective_rules[ppermute_p] = _ppermute_collective
batch_rules[ppermute_p] = _elementwise_batch(ppermute_p)


# -- psum_scatter -----------------------------------------------------------------------------
psum_scatter_p = _collective(
    "reduce_scatter", lambda x, *, axes, scatter_dimension, axis_size, tiled, axis_index_groups:
    jax.lax.psum_scatter(x, axes[0], scatter_dimension=scatter_dimension, tiled=tiled))


def _psum_scatter_abstract_eval(x: ShapedArray, *, axes, scatter_dimension, axis_size, tiled,
                                axis_index_groups):
    sd = scatter_dimension
    if not 0 <= sd < x.ndim:
        raise ValueError(f"psum_scatter scatter_dimension {sd} is out of bounds for an operand "
                         f"of shape {shape_str(x.shape)}.")
    if tiled:
        if x.shape[sd] % axis_size:
            raise ValueError(f"psum_scatter with tiled=True requires the size of dimension {sd} "
                             f"({x.shape[sd]}) to be a multiple of the axis size {axis_size}.")
        shape = x.shape[:sd] + (x.shape[sd] // axis_size,) + x.shape[sd + 1:]
    else:
        if x.shape[sd] != axis_size:
            raise ValueError(f"psum_scatter requires the size of scatter_dimension {sd} "
                             f"({x.shape[sd]}) to equal the axis size {axis_size} (or pass "
                             "tiled=True to split it into equal blocks).")
        shape = x.shape[:sd] + x.shape[sd + 1:]
    return ShapedArray(shape, x.dtype, x.weak_type)


def _psum_scatter_collective(n, vals, dims, *, axes, scatter_dimension, tiled, **_):
    (x,), (d,) = vals, dims
    total = _times(x, n) if d is not_mapped else reductions.reduce_sum_p.bind(
        x, axes=(d,))
    # example i keeps block i of the sum: the scattered dimension becomes the batch axis
    if tiled:
        total = _split_axis(total, scatter_dimension, n)
    return total, scatter_dimension


abstract_eval[psum_scatter_p] = _psum_scatter_abstract_eval
collective_rules[psum_scatter_p] = _psum_scatter_collective
batch_rules[psum_scatter_p] = _front_batch(psum_scatter_p, "scatter_dimension")


# -- all_to_all -------------------------------------------------------------------------------
all_to_all_p = _collective(
    "all_to_all", lambda x, *, axes, split_axis, concat_axis, axis_size, tiled,
    axis_index_groups: jax.lax.all_to_all(x, axes[0], split_axis, concat_axis, tiled=tiled))


def _all_to_all_abstract_eval(x: ShapedArray, *, axes, split_axis, concat_axis, axis_size,
                              tiled, axis_index_groups):
    for what, a in (("split_axis", split_axis), ("concat_axis", concat_axis)):
        if not 0 <= a < x.ndim:
            raise ValueError(f"all_to_all {what} {a} is out of bounds for an operand of shape "
                             f"{shape_str(x.shape)}.")
    if tiled:
        if x.shape[split_axis] % axis_size:
            raise ValueError(f"all_to_all with tiled=True requires the size of split_axis "
                             f"{split_axis} ({x.shape[split_axis]}) to be a multiple of the axis "
                             f"size {axis_size}.")
        shape = list(x.shape)
        shape[split_axis] //= axis_size
        shape[concat_axis] *= axis_size
        return ShapedArray(tuple(shape), x.dtype, x.weak_type)
    if x.shape[split_axis] != axis_size:
        raise ValueError(f"all_to_all requires the size of the mapped axis to equal "
                         f"x.shape[split_axis], but they are {axis_size} and "
                         f"{x.shape[split_axis]} respectively.")
    shape = list(x.shape[:split_axis] + x.shape[split_axis + 1:])
    shape.insert(concat_axis, axis_size)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _all_to_all_collective(n, vals, dims, *, axes, split_axis, concat_axis, tiled, **_):
    # X[i] is example i's value. Example j receives block j of every X[i] (along split_axis),
    # stacked (or, tiled, concatenated) along concat_axis in order of i.
    x = bdim_at_front(vals[0], dims[0], n)                   # (i, *per-example)
    if not tiled:
        x = moveaxis(x, split_axis + 1, 0)                     # (j, i, rest)
        return moveaxis(x, 1, concat_axis + 1), 0
    x = _split_axis(x, split_axis + 1, n)                      # split into (j, block)
    x = moveaxis(x, split_axis + 1, 0)                         # (j, i, ..block..)
    x = moveaxis(x, 1, concat_axis + 1)                        # i just before concat_axis
    return _merge_axes(x, concat_axis + 1), 0


abstract_eval[all_to_all_p] = _all_to_all_abstract_eval
collective_rules[all_to_all_p] = _all_to_all_collective
batch_rules[all_to_all_p] = _front_batch(all_to_all_p, "split_axis", "concat_axis")


# -- public functions with jax.lax's signatures -----------------------------------------------
def _axis(name: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for an operand of rank {ndim}.")
    return axis % ndim


def psum(x: Any, axis_name: Any, *, axis_index_groups: Any = None) -> Any:
    """Sum ``x`` (a pytree) over the named axis (or tuple of axes): every example gets the
    total. ``psum(1, 'i')`` is the axis size.

    >>> import xform, xform.numpy as xnp
    >>> xform.vmap(lambda v: psum(v, 'i'), axis_name='i')(xnp.arange(3.0))
    Array([3., 3., 3.], dtype=float32)
    """
    _no_groups("psum", axis_index_groups)
    _sizes(axis_name)
    names = _names(axis_name)
    return jax.tree_util.tree_map(lambda v: psum_p.bind(v, axes=names), x)


def pmax(x: Any, axis_name: Any, *, axis_index_groups: Any = None) -> Any:
    """The maximum of ``x`` (a pytree) over the named axis, given to every example."""
    _no_groups("pmax", axis_index_groups)
    _sizes(axis_name)
    names = _names(axis_name)
    return jax.tree_util.tree_map(lambda v: pmax_p.bind(v, axes=names), x)


def pmin(x: Any, axis_name: Any, *, axis_index_groups: Any = None) -> Any:
    """The minimum of ``x`` (a pytree) over the named axis, given to every example."""
    _no_groups("pmin", axis_index_groups)
    _sizes(axis_name)
    names = _names(axis_name)
    return jax.tree_util.tree_map(lambda v: pmin_p.bind(v, axes=names), x)


def pmean(x: Any, axis_name: Any, *, axis_index_groups: Any = None) -> Any:
    """The mean of ``x`` (a pytree) over the named axis; integers give floats, as in JAX."""
    n = int(np.prod(_sizes(axis_name)))

    def mean(v):
        total = psum(v, axis_name, axis_index_groups=axis_index_groups)
        aval = to_aval(total)
        if not is_inexact(aval.dtype):
            total = elementwise._convert_weak(total, canonicalize_dtype(np.float64),
                                              aval.weak_type)
            aval = to_aval(total)
        return elementwise.div_p.bind(total, weak_scalar(float(n), aval.dtype))

    return jax.tree_util.tree_map(mean, x)


def axis_index(axis_name: Any) -> Any:
    """This example's index along the named axis (int32); for a tuple of names, the index in
    their flattened product, the first name major."""
    sizes = _sizes(axis_name)
    names = _names(axis_name)
    out = None
    for name, size in zip(names, sizes):
        i = axis_index_p.bind(axes=(name,))
        out = i if out is None else elementwise.add_p.bind(
            elementwise.mul_p.bind(out, np.int32(size)), i)
    return out


def all_gather(x: Any, axis_name: Any, *, axis_index_groups: Any = None, axis: int = 0,
               tiled: bool = False) -> Any:
    """Every example's ``x`` (a pytree), stacked along a new axis ``axis`` (or, ``tiled``,
    concatenated along the existing axis ``axis``), given to every example."""
    _no_groups("all_gather", axis_index_groups)
    _single("all_gather", axis_name)
    (size,) = _sizes(axis_name)

    def gather(v):
        ndim = to_aval(v).ndim
        ax = _axis("all_gather", axis, ndim if tiled else ndim + 1)
        return all_gather_p.bind(v, axes=_names(axis_name), axis=ax, axis_size=size,
                                 tiled=bool(tiled), axis_index_groups=None)

    return jax.tree_util.tree_map(gather, x)


def ppermute(x: Any, axis_name: Any, perm: Sequence[tuple[int, int]]) -> Any:
    """Send example ``src``'s ``x`` (a pytree) to example ``dst`` for each ``(src, dst)`` in
    ``perm``; an example no one sends to gets zeros."""
    _single("ppermute", axis_name)
    (size,) = _sizes(axis_name)
    perm = tuple((int(s), int(d)) for s, d in perm)
    srcs, dsts = [s for s, _ in perm], [d for _, d in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute perm must not repeat a source or a destination, got {perm}.")
    if any(not 0 <= i < size for i in srcs + dsts):
        raise ValueError(f"ppermute perm {perm} names an index outside the axis "
                         f"{axis_name!r} of size {size}.")
    return jax.tree_util.tree_map(
        lambda v: ppermute_p.bind(v, axes=_names(axis_name), perm=perm), x)


def psum_scatter(x: Any, axis_name: Any, *, scatter_dimension: int = 0,
                 axis_index_groups: Any = None, tiled: bool = False) -> Any:
    """``psum`` followed by a scatter: example ``i`` gets block ``i`` of the total along
    ``scatter_dimension`` (which must have the axis size, or with ``tiled`` a multiple)."""
    _no_groups("psum_scatter", axis_index_groups)
    _single("psum_scatter", axis_name)
    (size,) = _sizes(axis_name)

    def scatter(v):
        sd = _axis("psum_scatter", scatter_dimension, to_aval(v).ndim)
        return psum_scatter_p.bind(v, axes=_names(axis_name), scatter_dimension=sd,
                                   axis_size=size, tiled=bool(tiled), axis_index_groups=None)

    return jax.tree_util.tree_map(scatter, x)


def pshuffle(x: Any, axis_name: Any, perm: Sequence[int]) -> Any:
    """Example ``i`` gets example ``perm[i]``'s ``x``, as ``jax.lax.pshuffle`` (a ``ppermute``
    whose ``perm`` is a whole permutation of the axis)."""
    perm = [int(i) for i in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"`perm` does not represent a permutation: {perm}")
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)))))


def pswapaxes(x: Any, axis_name: Any, axis: int, *, axis_index_groups: Any = None) -> Any:
    """Swap the named axis with positional ``axis`` of ``x``, as ``jax.lax.pswapaxes`` (an
    ``all_to_all`` that splits and concatenates along ``axis``, whose size must equal the
    named axis's)."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


def all_to_all(x: Any, axis_name: Any, split_axis: int, concat_axis: int, *,
               axis_index_groups: Any = None, tiled: bool = False) -> Any:
    """Example ``j`` gets block ``j`` (along ``split_axis``) of every example's ``x``, stacked
    along ``concat_axis`` (concatenated when ``tiled``) in example order."""
    _no_groups("all_to_all", axis_index_groups)
    _single("all_to_all", axis_name)
    (size,) = _sizes(axis_name)

    def exchange(v):
        ndim = to_aval(v).ndim
        sa = _axis("all_to_all", split_axis, ndim)
        ca = _axis("all_to_all", concat_axis, ndim)
        return all_to_all_p.bind(v, axes=_names(axis_name), split_axis=sa, concat_axis=ca,
                                 axis_size=size, tiled=bool(tiled), axis_index_groups=None)

    return jax.tree_util.tree_map(exchange, x)



# -- derivative rules -------------------------------------------------------------------------
# The collectives that move or sum values across the named axis are linear: their JVP applies
# them to the tangent, and each transposes to its mirror image (psum to psum, all_gather to
# psum_scatter and back, ppermute to the inverse permutation, all_to_all with the split and
# concat axes exchanged). pmax/pmin pass the tangent of the winning examples, averaged over ties.

for _p in (psum_p, all_gather_p, ppermute_p, psum_scatter_p, all_to_all_p):
    deflinear_jvp(_p)
defjvp_zero(axis_index_p)


def _extremum_jvp(prim: Primitive):
    def rule(primals, tangents, *, axes):
        (x,), (t,) = primals, tangents
        ans = prim.bind(x, axes=axes)
        winner = elementwise.convert_element_type(elementwise.eq(x, ans), to_aval(x).dtype)
        share = elementwise.div(psum_p.bind(elementwise.mul(t, winner), axes=axes),
                                psum_p.bind(winner, axes=axes))
        return ans, share
    return rule


jvp_rules[pmax_p] = _extremum_jvp(pmax_p)
jvp_rules[pmin_p] = _extremum_jvp(pmin_p)


def _linear_transpose(fn):
    def rule(ct, x, **params):
        return [None if isinstance(ct, Zero) else fn(ct, **params)]
    return rule


def _psum_transpose(ct, x, *, axes):
    if isinstance(ct, Zero):
        return [None]
    if set(axes) <= x.aval.vma:
        # with varying-axes types (check_vma=True) psum maps varying values to an invariant
        # one: its transpose hands the invariant cotangent to every device, a pvary (JAX's
        # psum_invariant); without them each device's program is transposed on its own and
        # psum, symmetric as a map of all devices' values, transposes to psum
        return [pvary_to(ct, x.aval.vma)]
    return [psum_p.bind(ct, axes=axes)]


transpose_rules[psum_p] = _psum_transpose
transpose_rules[ppermute_p] = _linear_transpose(
    lambda ct, *, axes, perm: ppermute_p.bind(ct, axes=axes,
                                              perm=tuple((d, s) for s, d in perm)))
transpose_rules[all_gather_p] = _linear_transpose(
    lambda ct, *, axes, axis, axis_size, tiled, axis_index_groups: psum_scatter_p.bind(
        ct, axes=axes, scatter_dimension=axis, axis_size=axis_size, tiled=tiled,
        axis_index_groups=axis_index_groups))
transpose_rules[psum_scatter_p] = _linear_transpose(
    lambda ct, *, axes, scatter_dimension, axis_size, tiled, axis_index_groups: all_gather_p.bind(
        ct, axes=axes, axis=scatter_dimension, axis_size=axis_size, tiled=tiled,
        axis_index_groups=axis_index_groups))
transpose_rules[all_to_all_p] = _linear_transpose(
    lambda ct, *, axes, split_axis, concat_axis, axis_size, tiled, axis_index_groups:
    all_to_all_p.bind(ct, axes=axes, split_axis=concat_axis, concat_axis=split_axis,
                      axis_size=axis_size, tiled=tiled, axis_index_groups=axis_index_groups))
# axis_index has no operands: a vmap of another name never sees it batched
batch_rules[axis_index_p] = lambda axis_size, vals, dims, **params: (
    axis_index_p.bind(**params), not_mapped)


# -- pbroadcast: every example gets example ``source``'s value ------------------------------
def _pbroadcast_to_jax(x, *, axes, source):
    # JAX's collective-broadcast has no lowering on every platform (not on CPU); the masked
    # psum it is defined as works everywhere
    here = jax.lax.axis_index(axes[0]) == source
    return jax.lax.psum(jax.numpy.where(here, x, jax.numpy.zeros_like(x)), axes[0])


pbroadcast_p = _collective("pbroadcast", _pbroadcast_to_jax)
abstract_eval[pbroadcast_p] = _same_aval


def _pbroadcast_collective(n, vals, dims, *, axes, source):
    (x,), (d,) = vals, dims
    if d is not_mapped:
        return x, not_mapped
    aval = to_aval(x)
    start = [0] * aval.ndim
    limit = list(aval.shape)
    start[d], limit[d] = source, source + 1
    piece = slicing.slice_p.bind(x, start_indices=tuple(start), limit_indices=tuple(limit),
                                 strides=None)
    return shape.reshape_p.bind(piece, new_sizes=aval.shape[:d] + aval.shape[d + 1:],
                                dimensions=None), not_mapped


def _pbroadcast_transpose(ct, *, axes, source):
    # y_d = x_source for every d, so only the source gets a cotangent: the sum of all of them
    total = psum_p.bind(ct, axes=axes)
    aval = to_aval(total)
    here = elementwise.eq(axis_index_p.bind(axes=axes), np.int32(source))
    here = shape.broadcast_in_dim_p.bind(here, shape=aval.shape, broadcast_dimensions=())
    return elementwise.select_n(here, shape.full(aval.shape, 0, aval.dtype), total)


collective_rules[pbroadcast_p] = _pbroadcast_collective
batch_rules[pbroadcast_p] = _elementwise_batch(pbroadcast_p)
deflinear_jvp(pbroadcast_p)
transpose_rules[pbroadcast_p] = _linear_transpose(_pbroadcast_transpose)


# -- pvary (pcast to "varying") and the varying-axes types of the collectives ----------------
# pvary_p is defined with the interpreters (xform/interpreters/ad_util.py), which insert it.
# With varying-axes types (a shard_map body with check_vma=True), as in JAX: every collective
# first casts its operand to vary over its axes; psum/pmax/pmin give a value invariant over them,
# axis_index one varying over them; the others keep the operand's (varying) type.
collective_rules[pvary_p] = lambda n, vals, dims, **params: (vals[0], dims[0])
batch_rules[pvary_p] = _elementwise_batch(pvary_p)
deflinear_jvp(pvary_p)
transpose_rules[pvary_p] = _linear_transpose(lambda ct, *, axes: psum_p.bind(ct, axes=axes))

for _p in (psum_p, pmax_p, pmin_p):
    vma_rules[_p] = lambda vmas, *, axes, **_: vmas[0] - frozenset(axes)
for _p in (psum_p, pmax_p, pmin_p, all_gather_p, ppermute_p, psum_scatter_p, all_to_all_p,
           pbroadcast_p):
    vma_operands[_p] = lambda vmas, *, axes, **_: [vmas[0] | frozenset(axes)]
vma_rules[axis_index_p] = lambda vmas, *, axes: (
    frozenset(axes) if vma_state.checking else frozenset())


def axis_size(axis_name: Any) -> int:
    """The size of the named axis (the product of the sizes, for a tuple of names).

    >>> import xform, xform.numpy as xnp
    >>> xform.vmap(lambda v: v * axis_size('i'), axis_name='i')(xnp.ones(3))
    Array([3., 3., 3.], dtype=float32)
    """
    return int(np.prod(_sizes(axis_name)))


def pbroadcast(x: Any, axis_name: Any, source: int) -> Any:
    """Every example gets example ``source``'s ``x`` (a pytree) along the named axis
    (a collective broadcast, as ``jax.lax.pbroadcast``)."""
    _single("pbroadcast", axis_name)
    (size,) = _sizes(axis_name)
    source = int(source)
    if not 0 <= source < size:
        raise ValueError(f"pbroadcast source {source} is outside the axis {axis_name!r} of "
                         f"size {size}.")
    return jax.tree_util.tree_map(
        lambda v: pbroadcast_p.bind(v, axes=_names(axis_name), source=source), x)


def pcast(x: Any, axis_name: Any, *, to: str) -> Any:
    """Mark ``x`` (a pytree) as varying over the named mesh axes (``to="varying"``), as
    ``jax.lax.pcast``: the values do not change. Inside a shard_map body with
    ``check_vma=True`` it is a ``pvary`` (its transpose sums the cotangent over the axes);
    elsewhere nothing is tracked and it returns ``x``."""
    if isinstance(axis_name, (set, frozenset)):
        raise TypeError(f"axis_name={axis_name!r} must be a tuple or a str.")
    if not axis_name:
        return x
    if to != "varying":
        raise NotImplementedError(f"pcast to={to!r} is not supported by xform (only "
                                  "to='varying'; reduced and unreduced types are not tracked).")
    _sizes(axis_name)
    if not vma_state.checking:
        return x
    return jax.tree_util.tree_map(lambda v: pvary_to(v, frozenset(_names(axis_name))), x)
