"""Windowed reductions: the monoid primitives ``reduce_window_sum``/``max``/``min``, the general
``reduce_window`` primitive (any computation, several operands), and the two primitives that
max-pooling's derivatives are written with (``select_and_scatter_add``,
``select_and_gather_add``; ``jax.lax`` does not export them, so ``to_jax`` uses the functions
behind ``jax.lax.reduce_window``).

``reduce_window[jaxpr consts window_dimensions ...] *operands *init_values`` reduces every
window of the operands with ``jaxpr``, a jaxpr of scalars ``(*accs, *xs) -> *accs`` (its
constvars' values in ``consts``; XLA's variadic ReduceWindow). ``xform.lax.reduce_window`` binds
it unless the computation is add/max/min of one operand with its identity as init value (the
condition JAX uses to pick its monoid primitives).

- JVP: a ``reduce_window`` over primals and tangents whose computation is the JVP of the
  original one (init value tangents must be zero, as in JAX); the primal outputs come from
  the primitive itself, so jacfwd/hessian work (JAX's jacfwd fails here). No reverse mode:
  the tangent reduction is not linear in form, so grad raises (as JAX's does).
- vmap: the batch axis goes in front with a window of 1; batched init values are not supported
  (as in JAX).
- No transpose: a general windowed reduction is not linear.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, is_inexact
from xform.core.jax_internals import select_and_gather_add, select_and_scatter_add
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_rules, move_bdim, not_mapped
from xform.interpreters.jvp import (Zero, defjvp, deflinear_jvp, instantiate, jvp_flat,
                                    jvp_rules, tangent_aval)
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as _ew
from xform.lax._helpers import ANY, NUMBER, check_dtype, shape_str
from xform.lax._window_args import _dilate, _int_tuple, _pairs, _vjp_lhs_padding, padtype_to_pads
from xform.lax.reduce_general import _XFORM_EQUIVALENT
from xform.lax.shape import _jvp_linear_in_first
from xform.lax.slicing import pad as _pad, slice as _slice

__all__ = ["reduce_window", "reduce_window_p"]


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


# -- the general reduce_window primitive -----------------------------------------------------
reduce_window_p = Primitive("reduce_window", multiple_results=True)


def _reduce_window_abstract_eval(*avals: ShapedArray, jaxpr, consts, window_dimensions,
                                 window_strides, padding, base_dilation, window_dilation):
    name = "reduce_window"
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    if any(o.dtype != i.dtype for o, i in zip(operands, inits)):
        raise TypeError(f"{name} got inconsistent dtypes for operands and init_values: got "
                        f"operand dtypes {[o.dtype.name for o in operands]} and init_value "
                        f"dtypes {[i.dtype.name for i in inits]}. Give each init value its "
                        f"operand's dtype.")
    if any(i.shape for i in inits):
        raise TypeError(f"{name} expected init_values to be scalars but init_values have shapes "
                        f"{[shape_str(i.shape) for i in inits]}.")
    for o in operands[1:]:
        if o.shape != operands[0].shape:
            raise TypeError(f"{name} operands must have the same shape, got "
                            f"{shape_str(operands[0].shape)} and {shape_str(o.shape)}.")
    shape = _window_shape(name, operands[0].shape, window_dimensions, window_strides, padding,
                          base_dilation, window_dilation)
    return [ShapedArray(shape, o.dtype) for o in operands]


def _reduce_window_to_jax(*args, jaxpr, consts, window_dimensions, window_strides, padding,
                          base_dilation, window_dilation):
    n = len(args) // 2

    def comp(accs, xs):
        return list(eval_jaxpr_jax(jaxpr, consts, [*accs, *xs]))

    # a computation JAX cannot recognize as a monoid: JAX binds its generic reduce_window
    return list(jlax.reduce_window(list(args[:n]), list(args[n:]), comp, window_dimensions,
                                   window_strides, padding, base_dilation, window_dilation))


def _bind_general(operands: Sequence, inits: Sequence, flat_comp: Callable,
                  params: dict) -> list:
    """Trace ``flat_comp(*accs, *xs) -> list`` on scalars of the init values' dtypes and bind
    ``reduce_window`` with it."""
    avals = [ShapedArray((), to_aval(x).dtype) for x in inits]
    closed, _ = trace_to_jaxpr(lambda *v: (flat_comp(*v), None), avals + avals,
                               description="reduce_window computation")
    if any(isinstance(c, Tracer) for c in closed.consts):
        raise TypeError("reduce_window: the computation closes over traced values; window "
                        "computations must depend only on their arguments.")
    return reduce_window_p.bind(*operands, *inits, jaxpr=closed.jaxpr,
                                consts=tuple(closed.consts), **params)


def _reduce_window_jvp(primals, tangents, *, jaxpr, consts, **params):
    n = len(primals) // 2
    if not all(isinstance(t, Zero) for t in tangents[n:]):
        raise TypeError("reduce_window jvp does not support non-zero init_value_tangent.")
    operands, inits = primals[:n], primals[n:]
    # only inexact operands carry tangents (integer ones, e.g. the index of an argmax pair,
    # have float0 tangents that are always zero)
    diff = [i for i in range(n) if is_inexact(to_aval(operands[i]).dtype)]
    k = len(diff)
    scalar_zeros = [Zero(tangent_aval(ShapedArray((), to_aval(x).dtype))) for x in operands]

    def comp(*vals):
        left, right = vals[:n + k], vals[n + k:]
        t_left, t_right = list(scalar_zeros), list(scalar_zeros)
        for j, i in enumerate(diff):
            t_left[i], t_right[i] = left[n + j], right[n + j]
        p_out, t_out, _ = jvp_flat(lambda *v: (eval_jaxpr(jaxpr, consts, *v), None),
                                   [*left[:n], *right[:n]], [*t_left, *t_right])
        return [*p_out, *[instantiate(t_out[i]) for i in diff]]

    # the primal outputs are the primitive's own (not those of the joint reduction, as in
    # JAX), so they stay unbatched under jacfwd's vmap over tangents
    ans = reduce_window_p.bind(*primals, jaxpr=jaxpr, consts=consts, **params)
    t_outs = [Zero(tangent_aval(to_aval(a))) for a in ans]
    if not diff or all(isinstance(tangents[i], Zero) for i in diff):
        return ans, t_outs
    op_tangents = [instantiate(tangents[i]) for i in diff]
    init_tangents = [_ew._const(inits[i], 0) for i in diff]
    outs = _bind_general([*operands, *op_tangents], [*inits, *init_tangents], comp, params)
    for j, i in enumerate(diff):
        t_outs[i] = outs[n + j]
    return ans, t_outs


def _reduce_window_batch(axis_size, vals, dims, *, jaxpr, consts, window_dimensions,
                         window_strides, padding, base_dilation, window_dilation):
    n = len(vals) // 2
    if any(d is not not_mapped for d in dims[n:]):
        raise NotImplementedError("reduce_window batching is not implemented for initial "
                                  "values (as in JAX); pass unbatched init values.")
    operands = [move_bdim(x, d, 0, axis_size) for x, d in zip(vals[:n], dims[:n])]
    outs = reduce_window_p.bind(
        *operands, *vals[n:], jaxpr=jaxpr, consts=consts,
        window_dimensions=(1, *window_dimensions), window_strides=(1, *window_strides),
        padding=((0, 0), *padding), base_dilation=(1, *base_dilation),
        window_dilation=(1, *window_dilation))
    return outs, [0] * n


abstract_eval[reduce_window_p] = _reduce_window_abstract_eval
to_jax[reduce_window_p] = _reduce_window_to_jax
jvp_rules[reduce_window_p] = _reduce_window_jvp
batch_rules[reduce_window_p] = _reduce_window_batch


def _is_monoid_init(kind: str, init: Any, dtype: np.dtype) -> bool:
    """Whether ``init`` is concrete, a scalar and the identity of ``kind`` (JAX's condition for
    its monoid reducers)."""
    if isinstance(init, Tracer):
        return False
    value = np.asarray(init)
    return value.shape == () and bool(value == _identity(kind, dtype))


def reduce_window(operand: Any, init_value: Any, computation: Callable,
                  window_dimensions: Sequence[int], window_strides: Sequence[int] | None = None,
                  padding: Any = "VALID", base_dilation: Sequence[int] | None = None,
                  window_dilation: Sequence[int] | None = None) -> Any:
    """Reduce each window of ``operand``, as ``jax.lax.reduce_window``.

    ``operand`` and ``init_value`` are arrays or pytrees of the same structure (init values are
    scalars of their operand's dtype); ``computation(accs, xs)`` takes two such pytrees of
    scalars and returns one. ``add``, ``max`` or ``min`` of one operand with its identity as
    init value (0, -inf / the dtype's minimum, +inf / the dtype's maximum) bind the windowed
    sum/max/min primitives; any other computation or init value binds ``reduce_window``.

    >>> import numpy as np, xform
    >>> reduce_window(np.arange(4.0, dtype=np.float32), 0.0, xform.lax.add, (2,))
    Array([1., 3., 5.], dtype=float32)
    >>> reduce_window(np.arange(1.0, 5.0, dtype=np.float32), 1.0, xform.lax.mul, (2,))
    Array([ 2.,  6., 12.], dtype=float32)
    """
    name = "reduce_window"
    flat_ops, tree = jax.tree_util.tree_flatten(operand)
    flat_inits, init_tree = jax.tree_util.tree_flatten(init_value)
    if tree != init_tree:
        raise ValueError(f"{name}: operands must have the same tree structure as init_values: "
                         f"{tree} vs. {init_tree}")
    if not flat_ops:
        raise ValueError(f"{name} must have at least one operand.")
    aval = to_aval(flat_ops[0])
    params = _window_params(name, aval.shape, window_dimensions, window_strides, padding,
                            base_dilation, window_dilation)
    kind = _monoid(computation)
    if kind is not None and len(flat_ops) == 1 and _is_monoid_init(kind, flat_inits[0],
                                                                     aval.dtype):
        out = _WINDOW_PRIMS[kind].bind(flat_ops[0], **params)
        return jax.tree_util.tree_unflatten(tree, [out])
    # jax.lax's binary functions cannot run on xform's tracers: use xform's own
    computation = _XFORM_EQUIVALENT().get(computation, computation)
    n = len(flat_ops)
    out_trees = []

    def flat_comp(*scalars):
        accs = jax.tree_util.tree_unflatten(tree, scalars[:n])
        xs = jax.tree_util.tree_unflatten(tree, scalars[n:])
        leaves, out_tree = jax.tree_util.tree_flatten(computation(accs, xs))
        out_trees.append(out_tree)
        return leaves

    inits = [x if isinstance(x, Tracer) else _as_init(x, to_aval(op).dtype)
             for x, op in zip(flat_inits, flat_ops)]
    outs = _bind_general(flat_ops, inits, _checked(flat_comp, out_trees, tree), params)
    return jax.tree_util.tree_unflatten(tree, outs)


def _as_init(x: Any, dtype: np.dtype) -> Any:
    # a Python scalar takes its operand's dtype, as a weakly typed value does in JAX
    # (when it can: a float init for an integer operand stays float, and abstract eval names
    # the mismatch)
    if isinstance(x, (bool, int, float, complex)) and np.dtype(jnp.result_type(x, dtype)) == dtype:
        return np.asarray(x, dtype)
    return x


def _checked(flat_comp: Callable, out_trees: list, tree) -> Callable:
    def fn(*scalars):
        leaves = flat_comp(*scalars)
        if out_trees[-1] != tree:
            raise ValueError(f"reduce_window output must have the same tree structure as the "
                             f"operands {tree} vs. {out_trees[-1]}")
        return leaves
    return fn
