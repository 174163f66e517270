"""Windowed reductions (``reduce_window_sum``/``max``/``min``) and the two primitives that
max-pooling's derivatives are written with (``select_and_scatter_add``,
``select_and_gather_add``; ``jax.lax`` does not export them, so ``to_jax`` uses the functions
behind ``jax.lax.reduce_window``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray
from xform.core.jax_internals import select_and_gather_add, select_and_scatter_add
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_rules, move_bdim, not_mapped
from xform.interpreters.jvp import Zero, defjvp, deflinear_jvp
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as _ew
from xform.lax._helpers import ANY, NUMBER, check_dtype, shape_str
from xform.lax._window_args import _dilate, _int_tuple, _pairs, _vjp_lhs_padding, padtype_to_pads
from xform.lax.shape import _jvp_linear_in_first
from xform.lax.slicing import pad as _pad, slice as _slice

__all__ = ["reduce_window"]


# -- windowed reductions --------------------------------------------------------------------
def _window_shape(name: str, shape: tuple, window_dimensions, window_strides, padding,
                  base_dilation=None, window_dilation=None) -> tuple:
    """The output shape of a reduction over windows of ``shape``."""
    n = len(window_dimensions)
    if len(shape) != n:
        raise TypeError(f"{name} got the wrong number of window_dimensions for operand: got "
                        f"operand shape {shape_str(shape)} with window_dimensions "
                        f"{tuple(window_dimensions)}. Give one window size per axis.")
    base_dilation = (1,) * n if base_dilation is None else base_dilation
    window_dilation = (1,) * n if window_dilation is None else window_dilation
    for what, seq, low in (("window_dimensions", window_dimensions, 1),
                           ("window_strides", window_strides, 1),
                           ("base_dilation", base_dilation, 1),
                           ("window_dilation", window_dilation, 1),
                           ("padding", padding, None)):
        if len(seq) != n:
            raise TypeError(f"{name} got inconsistent {what} and window_dimensions: got "
                            f"{what} {tuple(seq)} and window_dimensions "
                            f"{tuple(window_dimensions)}.")
        if low is not None and any(s < low for s in seq):
            raise TypeError(f"{name} requires {what} to be positive, got {tuple(seq)}.")
    out = []
    for d, w, s, (lo, hi), bd, wd in zip(shape, window_dimensions, window_strides, padding,
                                        base_dilation, window_dilation):
        padded = _dilate(d, bd) + lo + hi
        out.append(max((padded - _dilate(w, wd)) // s + 1, 0))
    return tuple(out)


def _reduce_window_primitive(name: str, accepted: Sequence[str], jax_fn) -> Primitive:
    p = Primitive(name)

    def rule(operand: ShapedArray, *, window_dimensions, window_strides, padding,
             base_dilation, window_dilation):
        check_dtype(name, operand, accepted)
        shape = _window_shape(name, operand.shape, window_dimensions, window_strides, padding,
                              base_dilation, window_dilation)
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    abstract_eval[p] = rule
    to_jax[p] = jax_fn
    return p


def _monoid_reduce_window(op: Callable, identity: Callable) -> Callable:
    """The ``to_jax`` rule of a windowed sum/max/min: public ``jax.lax.reduce_window`` with
    ``op`` and its identity, which binds JAX's own reduce_window_sum/max/min primitive."""
    def fn(x, *, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        return jlax.reduce_window(x, identity(jnp.result_type(x)), op, window_dimensions,
                                  window_strides, padding, base_dilation, window_dilation)
    return fn


def _max_identity(dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.inexact):
        return np.array(-np.inf, dtype)
    return np.array(np.iinfo(dtype).min if np.issubdtype(dtype, np.integer) else False, dtype)


def _min_identity(dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.inexact):
        return np.array(np.inf, dtype)
    return np.array(np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else True, dtype)


reduce_window_sum_p = _reduce_window_primitive(
    "reduce_window_sum", NUMBER, _monoid_reduce_window(jlax.add, lambda d: np.zeros((), d)))
reduce_window_max_p = _reduce_window_primitive(
    "reduce_window_max", ANY, _monoid_reduce_window(jlax.max, _max_identity))
reduce_window_min_p = _reduce_window_primitive(
    "reduce_window_min", ANY, _monoid_reduce_window(jlax.min, _min_identity))


# -- the windowed reductions' rules ---------------------------------------------------------
def _insert(seq: Sequence, pos: int, value: Any) -> tuple:
    return (*seq[:pos], value, *seq[pos:])


def _window_batch(p: Primitive, ndim_param: str = "window_dimensions"):
    """The batch axis gets a window of size 1 (stride 1, no padding or dilation), so the
    reduction runs on every example at once and the batch axis stays where it is. Operands
    of two-operand primitives move to the first batched one's batch axis."""
    def rule(axis_size, vals, dims, **params):
        bdim = next(d for d in dims if d is not not_mapped)
        vals = [move_bdim(v, d, bdim, axis_size) for v, d in zip(vals, dims)]
        new = dict(params, window_dimensions=_insert(params["window_dimensions"], bdim, 1),
                   window_strides=_insert(params["window_strides"], bdim, 1),
                   padding=_insert(params["padding"], bdim, (0, 0)))
        for name in ("base_dilation", "window_dilation"):
            if name in params:
                new[name] = _insert(params[name], bdim, 1)
        return p.bind(*vals, **new), bdim
    return rule


def _reduce_window_sum_transpose(ct, operand, *, window_dimensions, window_strides, padding,
                                 base_dilation, window_dilation):
    # Each input element is summed into every window that covers it. Spreading ct back: put
    # stride - 1 zeros between its elements, pad its edges so every input position sees the
    # windows that covered it, and sum windows of the same (dilated) shape over it at steps
    # of base_dilation (positions between dilated input elements are skipped). A window of
    # ones reads the same flipped, so no rev is needed.
    if isinstance(ct, Zero):
        return [None]
    shape = operand.aval.shape
    ct_shape = to_aval(ct).shape
    pads = _vjp_lhs_padding(shape, window_dimensions, window_strides, ct_shape, padding,
                            base_dilation, window_dilation)
    config = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = _pad(ct, _ew._const(ct, 0.0), config)
    out = reduce_window_sum_p.bind(
        padded, window_dimensions=window_dimensions, window_strides=tuple(base_dilation),
        padding=((0, 0),) * len(shape), base_dilation=(1,) * len(shape),
        window_dilation=window_dilation)
    return [out]


deflinear_jvp(reduce_window_sum_p)
transpose_rules[reduce_window_sum_p] = _reduce_window_sum_transpose
batch_rules[reduce_window_sum_p] = _window_batch(reduce_window_sum_p)


def _chooser_jvp(select_prim):
    # The tangent of a window max (min) is the tangent of the element that wins the window.
    def partial(t, ans, operand, **params):
        return select_and_gather_add_p.bind(t, operand, select_prim=select_prim, **params)
    return partial


defjvp(reduce_window_max_p, _chooser_jvp(_ew.ge_p))
batch_rules[reduce_window_max_p] = _window_batch(reduce_window_max_p)
defjvp(reduce_window_min_p, _chooser_jvp(_ew.le_p))
batch_rules[reduce_window_min_p] = _window_batch(reduce_window_min_p)

# max-pooling's derivatives: select_prim is ge (max) or le (min), the comparison that picks
# the winning element of a window.
_JAX_SELECT = {_ew.ge_p: jlax.ge_p, _ew.le_p: jlax.le_p}
_XFORM_SELECT = {jlax.ge_p: _ew.ge_p, jlax.le_p: _ew.le_p, _ew.ge_p: _ew.ge_p,
                 _ew.le_p: _ew.le_p}


def _check_select_prim(name: str, select_prim) -> None:
    if select_prim not in _JAX_SELECT:
        raise TypeError(f"{name} takes select_prim ge (for max) or le (for min), got "
                        f"{select_prim!r}.")


def _select_and_scatter_add_abstract_eval(source: ShapedArray, operand: ShapedArray, *,
                                          select_prim, window_dimensions, window_strides,
                                          padding):
    name = "select_and_scatter_add"
    _check_select_prim(name, select_prim)
    windows = _window_shape(name, operand.shape, window_dimensions, window_strides, padding)
    if source.shape != windows:
        raise TypeError(f"{name} source must have the shape of the windowed reduction of "
                        f"operand, {shape_str(windows)}, got source of shape "
                        f"{shape_str(source.shape)} for operand of shape "
                        f"{shape_str(operand.shape)}.")
    if source.dtype != operand.dtype:
        raise TypeError(f"{name} requires source and operand to have the same dtype, got "
                        f"{source.dtype.name} and {operand.dtype.name}.")
    return ShapedArray(operand.shape, source.dtype, source.weak_type and operand.weak_type)


def _select_and_scatter_add_to_jax(source, operand, *, select_prim, window_dimensions,
                                   window_strides, padding):
    select = _JAX_SELECT[select_prim]
    general = functools.partial(select_and_scatter_add, select_prim=select,
                                window_dimensions=window_dimensions,
                                window_strides=window_strides, padding=padding)
    size = int(np.prod(window_dimensions))
    if (tuple(window_strides) != tuple(window_dimensions) or any(p != (0, 0) for p in padding)
            or not 1 < size <= _MAX_TILED_WINDOW):
        return general(source, operand)
    # windows that tile the operand (max-pooling's usual case): XLA:CPU expands the general
    # select-and-scatter into a reduce-window over one index array per dimension and a
    # scatter, several times slower than selecting within each window elementwise
    return jlax.platform_dependent(
        source, operand, default=general,
        cpu=functools.partial(_select_and_scatter_add_tiled, select=select,
                              window=tuple(window_dimensions)))


# the elementwise form unrolls one step per window position
_MAX_TILED_WINDOW = 64


def _select_and_scatter_add_tiled(source, operand, *, select, window):
    """select_and_scatter_add for windows with strides equal to their size and no padding,
    with XLA's semantics: within each window the positions are visited in row-major order and
    the running choice is kept while ``select(chosen, next)`` holds (the first maximum for
    ``ge``); its window's source value goes there, zeros elsewhere (also where the windows do
    not reach)."""
    nd = operand.ndim
    outs = source.shape
    covered = [o * w for o, w in zip(outs, window)]
    x = jlax.slice(operand, (0,) * nd, covered)
    # (o0, w0, o1, w1, ...) -> (o0, o1, ..., w0 * w1 * ...)
    x = jlax.reshape(x, [d for o, w in zip(outs, window) for d in (o, w)])
    x = jlax.transpose(x, [*range(0, 2 * nd, 2), *range(1, 2 * nd, 2)])
    size = int(np.prod(window))
    x = jlax.reshape(x, (*outs, size))
    compare = jlax.ge if select is jlax.ge_p else jlax.le
    best = jlax.index_in_dim(x, 0, nd, keepdims=False)
    chosen = jlax.full(outs, 0, np.int32)
    for k in range(1, size):
        value = jlax.index_in_dim(x, k, nd, keepdims=False)
        keep = compare(best, value)
        best = jlax.select(keep, best, value)
        chosen = jlax.select(keep, chosen, jlax.full(outs, k, np.int32))
    zero = jlax.full(outs, 0, source.dtype)
    parts = [jlax.select(chosen == k, source, zero) for k in range(size)]
    y = jlax.concatenate([jlax.expand_dims(p, (nd,)) for p in parts], nd)
    y = jlax.reshape(y, (*outs, *window))
    perm = [i for d in range(nd) for i in (d, nd + d)]
    y = jlax.reshape(jlax.transpose(y, perm), covered)
    return jlax.pad(y, jnp.zeros((), source.dtype),
                    [(0, n - c, 0) for n, c in zip(operand.shape, covered)])


select_and_scatter_add_p = Primitive("select_and_scatter_add")
abstract_eval[select_and_scatter_add_p] = _select_and_scatter_add_abstract_eval
to_jax[select_and_scatter_add_p] = _select_and_scatter_add_to_jax


def _select_and_scatter_add_transpose(ct, source, operand, *, select_prim, window_dimensions,
                                      window_strides, padding):
    # linear in source; its transpose reads, for every window, ct at the winning position
    if is_undefined(operand):
        raise NotImplementedError("select_and_scatter_add is linear in its source only.")
    if isinstance(ct, Zero):
        return [None, None]
    ones = (1,) * len(window_dimensions)
    return [select_and_gather_add_p.bind(
        ct, operand, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding, base_dilation=ones,
        window_dilation=ones), None]


# linear in source; the choice of winners is piecewise constant in operand
_jvp_linear_in_first(select_and_scatter_add_p)
transpose_rules[select_and_scatter_add_p] = _select_and_scatter_add_transpose
batch_rules[select_and_scatter_add_p] = _window_batch(select_and_scatter_add_p)


def _select_and_gather_add_abstract_eval(tangents: ShapedArray, operand: ShapedArray, *,
                                         select_prim, window_dimensions, window_strides,
                                         padding, base_dilation, window_dilation):
    name = "select_and_gather_add"
    _check_select_prim(name, select_prim)
    if tangents.shape != operand.shape:
        raise TypeError(f"{name} tangents and operand shapes must match, got "
                        f"{shape_str(tangents.shape)} and {shape_str(operand.shape)}.")
    if tangents.dtype != operand.dtype:
        raise TypeError(f"{name} requires tangents and operand to have the same dtype, got "
                        f"{tangents.dtype.name} and {operand.dtype.name}.")
    shape = _window_shape(name, operand.shape, window_dimensions, window_strides, padding,
                          base_dilation, window_dilation)
    return ShapedArray(shape, tangents.dtype, tangents.weak_type and operand.weak_type)


def _select_and_gather_add_to_jax(tangents, operand, *, select_prim, window_dimensions,
                                  window_strides, padding, base_dilation, window_dilation):
    return select_and_gather_add(
        tangents, operand, _JAX_SELECT[select_prim], window_dimensions, window_strides,
        padding, base_dilation, window_dilation)


select_and_gather_add_p = Primitive("select_and_gather_add")
abstract_eval[select_and_gather_add_p] = _select_and_gather_add_abstract_eval
to_jax[select_and_gather_add_p] = _select_and_gather_add_to_jax


def _select_and_gather_add_transpose(ct, tangents, operand, *, select_prim, window_dimensions,
                                     window_strides, padding, base_dilation, window_dilation):
    # linear in tangents; its transpose adds each window's ct into the window's winner. With
    # base dilation the windows run over the dilated operand: dilate it with the selection's
    # losing value (so holes never win), scatter there, and keep the real positions.
    if is_undefined(operand):
        raise NotImplementedError("select_and_gather_add is linear in its tangents only.")
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(
            "Reverse-mode differentiation of a max/min window reduction (its JVP, "
            "select_and_gather_add) with window_dilation other than 1 is not implemented, "
            f"got window_dilation={tuple(window_dilation)}; as in JAX. Use forward mode "
            "(jacfwd/jvp), or dilate the operand instead of the window.")
    if isinstance(ct, Zero):
        return [None, None]
    aval = to_aval(operand)
    dilated = any(d != 1 for d in base_dilation)
    if dilated:
        loser = _identity("max" if select_prim is _ew.ge_p else "min", aval.dtype)
        operand = _pad(operand, np.array(loser, aval.dtype),
                       tuple((0, 0, d - 1) for d in base_dilation))
    out = select_and_scatter_add_p.bind(
        ct, operand, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding)
    if dilated:
        out = _slice(out, (0,) * aval.ndim, to_aval(out).shape, tuple(base_dilation))
    return [out, None]


# linear in tangents; the choice of winners is piecewise constant in operand
_jvp_linear_in_first(select_and_gather_add_p)
transpose_rules[select_and_gather_add_p] = _select_and_gather_add_transpose
batch_rules[select_and_gather_add_p] = _window_batch(select_and_gather_add_p)


def _window_params(name: str, shape: tuple, window_dimensions, window_strides, padding,
                   base_dilation, window_dilation) -> dict:
    """reduce_window's arguments as the primitives' params (string padding resolved)."""
    window_dimensions = _int_tuple(name, "window_dimensions", window_dimensions)
    n = len(window_dimensions)
    window_strides = (1,) * n if window_strides is None else _int_tuple(
        name, "window_strides", window_strides)
    base_dilation = (1,) * n if base_dilation is None else _int_tuple(
        name, "base_dilation", base_dilation)
    window_dilation = (1,) * n if window_dilation is None else _int_tuple(
        name, "window_dilation", window_dilation)
    if isinstance(padding, str):
        # as in JAX: the padding that SAME needs for the undilated operand
        windows = [_dilate(w, d) for w, d in zip(window_dimensions, window_dilation)]
        padding = tuple(padtype_to_pads(shape, windows, window_strides, padding))
    else:
        padding = _pairs(name, padding)
    return {"window_dimensions": window_dimensions, "window_strides": window_strides,
            "padding": padding, "base_dilation": base_dilation,
            "window_dilation": window_dilation}


def _reduce_window_sum(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_sum_p.bind(operand, **params)


def _reduce_window_max(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_max_p.bind(operand, **params)


def _reduce_window_min(operand: Any, window_dimensions, window_strides, padding,
                       base_dilation=None, window_dilation=None) -> Any:
    params = _window_params("reduce_window", to_aval(operand).shape, window_dimensions,
                            window_strides, padding, base_dilation, window_dilation)
    return reduce_window_min_p.bind(operand, **params)


def _select_and_scatter_add(source: Any, operand: Any, select_prim: Any,
                            window_dimensions: Sequence[int], window_strides: Sequence[int],
                            padding: Sequence[tuple[int, int]]) -> Any:
    """Adds each element of ``source`` into the position that ``select_prim`` picks in the
    matching window of ``operand`` (max-pooling's transpose). Takes xform's or jax.lax's
    ``ge_p``/``le_p``."""
    name = "select_and_scatter_add"
    return select_and_scatter_add_p.bind(
        source, operand, select_prim=_XFORM_SELECT.get(select_prim, select_prim),
        window_dimensions=_int_tuple(name, "window_dimensions", window_dimensions),
        window_strides=_int_tuple(name, "window_strides", window_strides),
        padding=_pairs(name, padding))


def _select_and_gather_add(tangents: Any, operand: Any, select_prim: Any,
                           window_dimensions: Sequence[int], window_strides: Sequence[int],
                           padding: Sequence[tuple[int, int]], base_dilation: Sequence[int],
                           window_dilation: Sequence[int]) -> Any:
    """For each window of ``operand``, the element of ``tangents`` at the position that
    ``select_prim`` picks (max-pooling's JVP). Takes xform's or jax.lax's ``ge_p``/``le_p``."""
    name = "select_and_gather_add"
    return select_and_gather_add_p.bind(
        tangents, operand, select_prim=_XFORM_SELECT.get(select_prim, select_prim),
        window_dimensions=_int_tuple(name, "window_dimensions", window_dimensions),
        window_strides=_int_tuple(name, "window_strides", window_strides),
        padding=_pairs(name, padding),
        base_dilation=_int_tuple(name, "base_dilation", base_dilation),
        window_dilation=_int_tuple(name, "window_dilation", window_dilation))


def _monoid(computation: Any) -> str | None:
    for kind, fns in (("add", (_ew.add, jlax.add)), ("max", (_ew.max, jlax.max)),
                      ("min", (_ew.min, jlax.min))):
        if any(computation is f for f in fns):
            return kind
    return None


def _identity(kind: str, dtype: np.dtype) -> Any:
    if kind == "add":
        return 0
    low = kind == "max"  # max starts from the lowest value, min from the highest
    if dtype == np.bool_:
        return not low
    if jax.dtypes.issubdtype(dtype, np.inexact):
        return -np.inf if low else np.inf
    info = jax.dtypes.iinfo(dtype)
    return info.min if low else info.max


_WINDOW_PRIMS = {"add": reduce_window_sum_p, "max": reduce_window_max_p,
                 "min": reduce_window_min_p}


def reduce_window(operand: Any, init_value: Any, computation: Any,
                  window_dimensions: Sequence[int], window_strides: Sequence[int] | None = None,
                  padding: Any = "VALID", base_dilation: Sequence[int] | None = None,
                  window_dilation: Sequence[int] | None = None) -> Any:
    """Reduce each window of ``operand``, as ``jax.lax.reduce_window``.

    ``computation`` is ``add``, ``max`` or ``min`` (xform.lax's or jax.lax's) with its identity
    as ``init_value`` (0, -inf / the dtype's minimum, +inf / the dtype's maximum): a windowed
    sum, max-pool or min-pool.

    >>> import numpy as np, xform
    >>> reduce_window(np.arange(4.0, dtype=np.float32), 0.0, xform.lax.add, (2,))
    Array([1., 3., 5.], dtype=float32)
    """
    name = "reduce_window"
    aval = to_aval(operand)
    kind = _monoid(computation)
    if kind is None:
        raise NotImplementedError(
            f"{name} supports computation xform.lax.add, max or min (or jax.lax's), got "
            f"{computation!r}. Write other window reductions with these, or with slicing.")
    if isinstance(init_value, Tracer):
        raise NotImplementedError(
            f"{name} needs a concrete init_value (the identity of {kind}), got a traced value "
            f"of type {init_value.aval.str_short()}. Pass a Python or numpy scalar.")
    init = np.asarray(init_value)
    if init.shape != ():
        raise TypeError(f"{name} init_value must be a scalar, got shape "
                        f"{shape_str(init.shape)}.")
    identity = _identity(kind, aval.dtype)
    if init.item() != identity:
        raise NotImplementedError(
            f"{name} with computation {kind} supports only its identity as init_value "
            f"({identity} for {aval.dtype.name}), got {init.item()!r}. Combine the result "
            f"with the init value afterwards instead (e.g. xform.lax.{kind}(result, init)).")
    params = _window_params(name, aval.shape, window_dimensions, window_strides, padding,
                            base_dilation, window_dilation)
    return _WINDOW_PRIMS[kind].bind(operand, **params)


