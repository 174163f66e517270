"""Reductions over axes (sum, max, min, prod, and, or), argmax/argmin, the cumulative ops
(cumsum, cumprod, cummax, cummin, cumlogsumexp) and ``reduce`` for the monoids it recognises.

Like jax.lax, these take non-negative axes only; ``xform.numpy`` normalizes negative ones.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype, float0
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import batch_rules, reducer_batcher, shift_axis
from xform.interpreters.jvp import Zero, defjvp, defjvp_zero, jvp_flat, jvp_rules, tangent_aval
from xform.core.ir import Literal
from xform.interpreters.lowering import to_jax, to_jax_peephole
from xform.interpreters.transpose import deflinear
from xform.lax import elementwise as ew
from xform.lax import shape as sh
from xform.lax import slicing as sl
from xform.lax._helpers import ANY, FLOAT, NUMBER, check_dtype, shape_str
from xform.lax.reduce_general import general_reduce

__all__ = [
    "argmax",
    "argmin",
    "cumlogsumexp",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "reduce",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_xor",
    "reduce_prod",
    "reduce_sum",
]


def _check_axes(name: str, aval: ShapedArray, axes: tuple) -> None:
    """Axes of a reduction: in [0, ndim) and without repeats."""
    bad = [a for a in axes if not 0 <= a < aval.ndim]
    if bad:
        hint = (" lax reductions take non-negative axes (use axis % ndim, or xform.numpy, "
                "which accepts negative ones)." if all(a < 0 for a in bad) else "")
        raise ValueError(f"{name}: axes {axes} are out of range for an operand of shape "
                         f"{shape_str(aval.shape)}; valid axes are 0 to {aval.ndim - 1}.{hint}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes {axes} repeat an axis (operand shape "
                         f"{shape_str(aval.shape)}); list each axis once.")


def _check_axis(name: str, aval: ShapedArray, axis: int) -> None:
    if not 0 <= axis < aval.ndim:
        hint = (" lax operations take non-negative axes (use axis % ndim)." if axis < 0 else "")
        raise ValueError(f"{name}: axis {axis} is out of range for an operand of shape "
                         f"{shape_str(aval.shape)}; valid axes are 0 to {aval.ndim - 1}.{hint}")


def _reduced_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(d for i, d in enumerate(shape) if i not in axes)


# Derivatives. Integer and bool operands have float0 tangents, which the rules pass on as
# symbolic zeros.
def _no_tangent(t: Any) -> bool:
    return isinstance(t, Zero) or to_aval(t).dtype == float0


def _zero_like(ans: Any) -> Zero:
    return Zero(tangent_aval(to_aval(ans)))


def _kept_dims(ndim: int, axes: tuple) -> tuple:
    return tuple(i for i in range(ndim) if i not in axes)


# -- reduce_sum, reduce_max, reduce_min, reduce_prod, reduce_and, reduce_or -----------------
def _reducer(name: str, accepted: Sequence[str] | None, jax_fn: Callable) -> Primitive:
    """A reduction over ``axes``; the result keeps the operand's dtype and weak type. Registers
    what every reduction shares: the shape/dtype rule, ``to_jax`` and the batching rule (the
    reduced axes shift past the batch axis, which stays in place)."""
    p = Primitive(name)

    def rule(x: ShapedArray, *, axes: tuple):
        if accepted is None:  # the logical reductions: bool or integer
            if not (x.dtype == np.bool_ or np.issubdtype(x.dtype, np.integer)):
                raise TypeError(f"{name} (a logical reduction) requires a bool or integer "
                                f"operand, got {x.dtype.name}. Compare with a value first "
                                "(e.g. xform.lax.ne(x, 0)) to get a bool array.")
        else:
            check_dtype(name, x, accepted)
        _check_axes(name, x, axes)
        return ShapedArray(_reduced_shape(x.shape, axes), x.dtype, x.weak_type)

    abstract_eval[p] = rule
    to_jax[p] = lambda x, *, axes: jax_fn(x, axes)
    batch_rules[p] = reducer_batcher(p)
    return p


# reduce_sum is linear: its transpose broadcasts the cotangent back over the reduced axes
reduce_sum_p = _reducer("reduce_sum", NUMBER, jlax.reduce_sum)


def _reduce_sum_jvp(primals, tangents, *, axes):
    (x,), (t,) = primals, tangents
    ans = reduce_sum_p.bind(x, axes=axes)
    return ans, _zero_like(ans) if _no_tangent(t) else reduce_sum_p.bind(t, axes=axes)


def _reduce_sum_transpose(ct, *, x_aval, axes):
    # laid out as the operand was (JAX's transpose does the same), over Explicit mesh axes
    return sh.broadcast_in_dim(ct, x_aval.shape, _kept_dims(x_aval.ndim, axes),
                               out_sharding=x_aval.sharding)


jvp_rules[reduce_sum_p] = _reduce_sum_jvp
deflinear(reduce_sum_p, _reduce_sum_transpose)

# A weighted sum -- reduce_sum(x * w, axes) with the weight w varying only along reduced axes
# of x, such as per-example gradients scaled per example and summed over the batch -- lowers as
# a contraction dot_general(x, w). XLA:CPU compiles the elementwise form into a reduction that
# re-reads the broadcast weight element by element, about 100 times slower than the matrix-
# vector product for an x of rank 3 or more (f32[64,512,32] summed over its first axis: 20 ms
# against 0.1 ms); every backend runs the contraction at memory speed. HIGHEST precision keeps
# float32 sums exact to float32 where a GPU would otherwise multiply in TF32.
def _weight_along(b, shape: tuple, producer) -> tuple | None:
    """(w, dims): ``b`` as the broadcast of ``w`` whose dim i lies along axis dims[i] of
    ``shape``, or None. A broadcast_in_dim is looked through; a same-rank ``b`` is its own w."""
    if isinstance(b, Literal):
        return None
    eqn = producer(b)
    if eqn is not None and eqn.primitive is sh.broadcast_in_dim_p:
        return eqn.invars[0], eqn.params["broadcast_dimensions"]
    if b.aval.ndim == len(shape):
        return b, tuple(range(len(shape)))
    return None


def _weighted_sum_to_jax(eqn, producer, read):
    (v,) = eqn.invars
    axes, out = eqn.params["axes"], eqn.outvars[0].aval
    mul = None if isinstance(v, Literal) else producer(v)
    if (mul is None or mul.primitive is not ew.mul_p or out.weak_type
            or not np.issubdtype(out.dtype, np.inexact) or out.dtype.itemsize < 4):
        return None
    if v.aval.sharding is not None or out.sharding is not None:
        return None  # laid out over Explicit mesh axes: the SPMD partitioner's, as in JAX
    shape = v.aval.shape
    for x, b in (mul.invars, mul.invars[::-1]):
        if isinstance(x, Literal) or x.aval.shape != shape or x.aval.dtype != out.dtype:
            continue
        found = _weight_along(b, shape, producer)
        if found is None or isinstance(found[0], Literal) or found[0].aval.dtype != out.dtype:
            continue
        w, dims = found
        kept = [i for i, n in enumerate(w.aval.shape) if n != 1]
        x_axes = [dims[i] for i in kept]
        # a weight along every axis of x is an inner product (no broadcast): leave it fused
        if not kept or not set(x_axes) <= set(axes) or len(x_axes) == len(shape):
            continue
        wv = read(w)
        if len(kept) < w.aval.ndim:
            wv = jlax.reshape(wv, tuple(w.aval.shape[i] for i in kept))
        # XLA wants a matrix product's contracted axes major in its right operand and minor in
        # its left one; taking x as the side that already has them so saves a transposed copy.
        # Either way the result holds x's kept axes in order, as reduce_sum's does.
        w_axes = list(range(len(kept)))
        dn = (((w_axes, x_axes), ((), ())) if 0 in x_axes else ((x_axes, w_axes), ((), ())))
        lhs, rhs = (wv, read(x)) if 0 in x_axes else (read(x), wv)
        ans = jlax.dot_general(lhs, rhs, dn, precision=jlax.Precision.HIGHEST,
                               preferred_element_type=out.dtype)
        rest = [a - sum(c < a for c in x_axes) for a in axes if a not in x_axes]
        return jlax.reduce_sum(ans, tuple(rest)) if rest else ans
    return None


to_jax_peephole[reduce_sum_p] = _weighted_sum_to_jax


reduce_prod_p = _reducer("reduce_prod", NUMBER, jlax.reduce_prod)


def _reduce_prod_jvp(t, ans, x, *, axes):
    # Multiply pairs of halves in a tree, carrying the product rule along: no division, so
    # zeros in the operand give exact (not NaN) derivatives, to any order (as in JAX).
    if _no_tangent(t):
        return _zero_like(ans)
    shape = to_aval(x).shape
    kept = _kept_dims(len(shape), axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    flat_shape = (n,) + tuple(shape[i] for i in kept)
    perm = tuple(axes) + kept
    x = sh.reshape(x, flat_shape, perm)
    t = sh.reshape(t, flat_shape, perm)
    if n == 0:
        return sh.full_like(t, 0, shape=flat_shape[1:])
    while n > 1:
        h = n // 2
        x1, x2 = sl.slice_in_dim(x, 0, h), sl.slice_in_dim(x, h, 2 * h)
        t1, t2 = sl.slice_in_dim(t, 0, h), sl.slice_in_dim(t, h, 2 * h)
        new_x, new_t = ew.mul(x1, x2), ew.add(ew.mul(t1, x2), ew.mul(x1, t2))
        if n % 2:  # the odd one out joins the next round
            new_x = sl.concatenate([new_x, sl.slice_in_dim(x, n - 1, n)], 0)
            new_t = sl.concatenate([new_t, sl.slice_in_dim(t, n - 1, n)], 0)
        x, t, n = new_x, new_t, h + n % 2
    return sh.reshape(t, flat_shape[1:])


defjvp(reduce_prod_p, _reduce_prod_jvp)


def _chooser_jvp(t, ans, x, *, axes):
    # The tangent of the chosen element; on ties, the mean of the tied elements' tangents (the
    # location-indicator rule), which is what JAX computes. The indicator is strongly typed
    # (JAX casts it to the tangent's dtype), and so is the tangent
    if _no_tangent(t):
        return _zero_like(ans)
    t_aval = to_aval(t)
    x_aval = to_aval(x)
    chosen = ew.eq(x, sh.broadcast_in_dim(ans, x_aval.shape, _kept_dims(x_aval.ndim, axes)))
    indicator = ew._convert_weak(chosen, t_aval.dtype, False)
    return ew.div(reduce_sum(ew.mul(t, indicator), axes), reduce_sum(indicator, axes))


reduce_max_p = _reducer("reduce_max", ANY, jlax.reduce_max)
defjvp(reduce_max_p, _chooser_jvp)
reduce_min_p = _reducer("reduce_min", ANY, jlax.reduce_min)
defjvp(reduce_min_p, _chooser_jvp)
reduce_and_p = _reducer("reduce_and", None, jlax.reduce_and)
defjvp_zero(reduce_and_p)
reduce_or_p = _reducer("reduce_or", None, jlax.reduce_or)
defjvp_zero(reduce_or_p)
reduce_xor_p = _reducer("reduce_xor", None, jlax.reduce_xor)
defjvp_zero(reduce_xor_p)


# -- argmax, argmin -------------------------------------------------------------------------
def _argminmax(name: str, jax_fn: Callable) -> Primitive:
    """The index of the extreme value along the single axis in ``axes``, as ``index_dtype``;
    no derivative, and batched like a reduction (the index axis shifts like a reduced axis)."""
    p = Primitive(name)

    def rule(x: ShapedArray, *, axes: tuple, index_dtype: np.dtype):
        check_dtype(name, x, ("integer", "floating", "bool"))
        if not np.issubdtype(index_dtype, np.integer):
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got "
                            f"{np.dtype(index_dtype).name}. Pass e.g. numpy.int32.")
        (axis,) = axes
        _check_axis(name, x, axis)
        if x.shape[axis] == 0:
            raise ValueError(f"{name} needs a non-empty reduced dimension: operand shape "
                             f"{shape_str(x.shape)} has size 0 along axis {axis}.")
        return ShapedArray(_reduced_shape(x.shape, axes), index_dtype)

    abstract_eval[p] = rule
    to_jax[p] = lambda x, *, axes, index_dtype: jax_fn(x, axes[0], index_dtype)
    defjvp_zero(p)
    batch_rules[p] = reducer_batcher(p)
    return p


argmax_p = _argminmax("argmax", jlax.argmax)
argmin_p = _argminmax("argmin", jlax.argmin)


# -- cumulative ops -------------------------------------------------------------------------
def _cumulative(name: str, accepted: Sequence[str], jax_fn: Callable) -> Primitive:
    """A scan along ``axis`` (from the end when ``reverse``); shape, dtype, weak type kept.
    Registers the shape/dtype rule, ``to_jax`` and the batching rule (``axis`` shifts past the
    batch axis)."""
    p = Primitive(name)

    def rule(x: ShapedArray, *, axis: int, reverse: bool):
        check_dtype(name, x, accepted)
        _check_axis(name, x, axis)
        return x

    def batch_rule(axis_size, vals, dims, *, axis, reverse):
        (x,), (bdim,) = vals, dims
        return p.bind(x, axis=shift_axis(axis, bdim), reverse=reverse), bdim

    abstract_eval[p] = rule
    to_jax[p] = lambda x, *, axis, reverse: jax_fn(x, axis=axis, reverse=reverse)
    batch_rules[p] = batch_rule
    return p


# The scans other than cumsum are differentiated through a parallel prefix scan of their
# combining function written with xform primitives (as JAX does), so every derivative is
# again made of differentiable, batchable primitives: cumprod stays exact at zeros, and
# cummax/cummin split a tie the way max and min do.
def _interleave(a: Any, b: Any, axis: int) -> Any:
    """``a[0], b[0], a[1], b[1], ...`` along ``axis``; ``a`` is as long as ``b`` or one longer.
    Each is spread out with interior zeros and the two are added, as JAX's associative scan
    does: its zeros are strongly typed, so a scan's derivative of a weakly typed array comes
    out strong, as JAX's (``cummax``, ``cumprod``... under jvp)."""
    a_aval, b_aval = to_aval(a), to_aval(b)
    same = a_aval.shape[axis] == b_aval.shape[axis]
    a_cfg = [(0, 0, 0)] * a_aval.ndim
    b_cfg = [(0, 0, 0)] * b_aval.ndim
    a_cfg[axis] = (0, 1 if same else 0, 1)
    b_cfg[axis] = (1, 0 if same else 1, 1)
    a_pad = sl.pad(a, np.zeros((), a_aval.dtype), a_cfg)
    b_pad = sl.pad(b, np.zeros((), b_aval.dtype), b_cfg)
    return ew.bitwise_or(a_pad, b_pad) if a_aval.dtype == np.bool_ else ew.add(a_pad, b_pad)


def _prefix_scan(combine: Callable, x: Any, axis: int) -> Any:
    """Inclusive scan of ``x`` along ``axis`` with an associative ``combine``, in O(log n)
    rounds: scan the combined neighbouring pairs, then fill in the positions between them."""
    n = to_aval(x).shape[axis]
    if n < 2:
        return x
    pairs = combine(sl.slice_in_dim(x, 0, n - 1, 2, axis), sl.slice_in_dim(x, 1, n, 2, axis))
    odd = _prefix_scan(combine, pairs, axis)  # results at positions 1, 3, 5, ...
    even = sl.slice_in_dim(x, 0, 1, axis=axis)
    if n > 2:  # positions 2, 4, ...: the result just before, combined with the element
        prev = odd if n % 2 else sl.slice_in_dim(odd, 0, n // 2 - 1, axis=axis)
        rest = combine(prev, sl.slice_in_dim(x, 2, n, 2, axis))
        even = sl.concatenate([even, rest], axis)
    return _interleave(even, odd, axis)


def _logaddexp(a: Any, b: Any) -> Any:
    # log(exp(a - m) + exp(b - m)) + m is the same function for every m; taking m = max(a, b)
    # without a derivative keeps it finite and its derivatives exact (exp(a - out)) even at ties
    m = ew.max(ew.stop_gradient(a), ew.stop_gradient(b))
    m = ew.select(ew.is_finite(m), m, sh.full_like(m, 0))
    return ew.add(m, ew.log(ew.add(ew.exp(ew.sub(a, m)), ew.exp(ew.sub(b, m)))))


def _scan_jvp(p: Primitive, combine: Callable):
    def rule(primals, tangents, *, axis, reverse):
        (x,), (t,) = primals, tangents
        if _no_tangent(t):
            ans = p.bind(x, axis=axis, reverse=reverse)
            return ans, _zero_like(ans)

        def scan(x):
            if reverse:
                return [sh.rev(_prefix_scan(combine, sh.rev(x, (axis,)), axis), (axis,))], None
            return [_prefix_scan(combine, x, axis)], None

        (ans,), (t_out,), _ = jvp_flat(scan, [x], [t], f"derivative of {p.name}")
        return ans, t_out
    return rule


# cumsum is linear: each input feeds every output at or after it, so the transpose sums the
# cotangents the other way
cumsum_p = _cumulative("cumsum", NUMBER, jlax.cumsum)


def _cumsum_jvp(primals, tangents, *, axis, reverse):
    (x,), (t,) = primals, tangents
    ans = cumsum_p.bind(x, axis=axis, reverse=reverse)
    return ans, _zero_like(ans) if _no_tangent(t) else cumsum_p.bind(t, axis=axis, reverse=reverse)


def _cumsum_transpose(ct, *, x_aval, axis, reverse):
    return cumsum_p.bind(ct, axis=axis, reverse=not reverse)


jvp_rules[cumsum_p] = _cumsum_jvp
deflinear(cumsum_p, _cumsum_transpose)

cumprod_p = _cumulative("cumprod", NUMBER, jlax.cumprod)
jvp_rules[cumprod_p] = _scan_jvp(cumprod_p, ew.mul)
cummax_p = _cumulative("cummax", NUMBER, jlax.cummax)
jvp_rules[cummax_p] = _scan_jvp(cummax_p, ew.max)
cummin_p = _cumulative("cummin", NUMBER, jlax.cummin)
jvp_rules[cummin_p] = _scan_jvp(cummin_p, ew.min)


def _cumlogsumexp_checked(x, *, axis: int, reverse: bool):
    # jax.lax fails on integers with an OverflowError; the eager path only consults the shape
    # rule on TypeError/ValueError, so the dtype is checked here too (once per compile).
    check_dtype("cumlogsumexp", x, FLOAT)
    return jlax.cumlogsumexp(x, axis=axis, reverse=reverse)


cumlogsumexp_p = _cumulative("cumlogsumexp", FLOAT, _cumlogsumexp_checked)
jvp_rules[cumlogsumexp_p] = _scan_jvp(cumlogsumexp_p, _logaddexp)


# -- public functions with jax.lax's signatures ---------------------------------------------
def _axes_param(name: str, axes: Sequence[int]) -> tuple:
    try:
        return tuple(operator.index(a) for a in axes)
    except TypeError:
        raise TypeError(f"{name}: axes must be a sequence of ints, got {axes!r}") from None


def _axis_param(name: str, axis: Any) -> int:
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"{name}: axis must be an int, got {axis!r}") from None


def reduce_sum(operand: Any, axes: Sequence[int]) -> Any:
    """Sum over ``axes``, as ``jax.lax.reduce_sum``.

    >>> xform.lax.reduce_sum(jnp.ones((2, 3)), (1,))   # [3., 3.]
    """
    return reduce_sum_p.bind(operand, axes=_axes_param("reduce_sum", axes))


def reduce_prod(operand: Any, axes: Sequence[int]) -> Any:
    """Product over ``axes``, as ``jax.lax.reduce_prod``."""
    return reduce_prod_p.bind(operand, axes=_axes_param("reduce_prod", axes))


def reduce_max(operand: Any, axes: Sequence[int]) -> Any:
    """Maximum over ``axes``, as ``jax.lax.reduce_max``."""
    return reduce_max_p.bind(operand, axes=_axes_param("reduce_max", axes))


def reduce_min(operand: Any, axes: Sequence[int]) -> Any:
    """Minimum over ``axes``, as ``jax.lax.reduce_min``."""
    return reduce_min_p.bind(operand, axes=_axes_param("reduce_min", axes))


def reduce_and(operand: Any, axes: Sequence[int]) -> Any:
    """Logical/bitwise and over ``axes`` of a bool or integer array, as ``jax.lax.reduce_and``."""
    return reduce_and_p.bind(operand, axes=_axes_param("reduce_and", axes))


def reduce_xor(operand: Any, axes: Sequence[int]) -> Any:
    """Logical/bitwise xor over ``axes`` of a bool or integer array, as ``jax.lax.reduce_xor``."""
    return reduce_xor_p.bind(operand, axes=_axes_param("reduce_xor", axes))


def reduce_or(operand: Any, axes: Sequence[int]) -> Any:
    """Logical/bitwise or over ``axes`` of a bool or integer array, as ``jax.lax.reduce_or``."""
    return reduce_or_p.bind(operand, axes=_axes_param("reduce_or", axes))


def argmax(operand: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the largest element along ``axis`` (first one on ties), as ``jax.lax.argmax``."""
    return argmax_p.bind(operand, axes=(_axis_param("argmax", axis),),
                         index_dtype=canonicalize_dtype(index_dtype))


def argmin(operand: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the smallest element along ``axis`` (first one on ties), as ``jax.lax.argmin``."""
    return argmin_p.bind(operand, axes=(_axis_param("argmin", axis),),
                         index_dtype=canonicalize_dtype(index_dtype))


def _cumulative_fn(p: Primitive, what: str):
    def f(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
        return p.bind(operand, axis=_axis_param(p.name, axis), reverse=bool(reverse))
    f.__name__ = f.__qualname__ = p.name
    f.__doc__ = (f"Cumulative {what} along ``axis`` (from the end when ``reverse``), as "
                 f"``jax.lax.{p.name}``.")
    return f


cumsum = _cumulative_fn(cumsum_p, "sum")
cumprod = _cumulative_fn(cumprod_p, "product")
cummax = _cumulative_fn(cummax_p, "maximum")
cummin = _cumulative_fn(cummin_p, "minimum")
cumlogsumexp = _cumulative_fn(cumlogsumexp_p, "log-sum-exp")

# -- reduce: recognised monoids -------------------------------------------------------------


def _max_identity(dtype: np.dtype):
    if dtype == np.bool_:
        return False
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return -np.inf


def _min_identity(dtype: np.dtype):
    if dtype == np.bool_:
        return True
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).max
    return np.inf


def _all_ones(dtype: np.dtype):
    if dtype == np.bool_:
        return True
    return np.iinfo(dtype).max if np.issubdtype(dtype, np.unsignedinteger) else -1


# computation -> (reducer, identity of the operand's dtype)
_MONOIDS: dict = {}
for _fns, _reducer_fn, _identity in [
        ((ew.add, jlax.add), reduce_sum, lambda dt: 0),
        ((ew.mul, jlax.mul), reduce_prod, lambda dt: 1),
        ((ew.max, jlax.max), reduce_max, _max_identity),
        ((ew.min, jlax.min), reduce_min, _min_identity),
        ((ew.bitwise_or, jlax.bitwise_or), reduce_or, lambda dt: 0),
        ((ew.bitwise_and, jlax.bitwise_and), reduce_and, _all_ones),
        ((ew.bitwise_xor, jlax.bitwise_xor), reduce_xor, lambda dt: 0)]:
    for _fn in _fns:
        _MONOIDS[_fn] = (_reducer_fn, _identity)
del _fns, _fn, _reducer_fn, _identity

_SUPPORTED = ("add with init 0, mul with 1, max with the dtype's lowest value (-inf), min with "
              "its highest (inf), bitwise_or and bitwise_xor with 0/False, bitwise_and with "
              "-1/True; the "
              "computation given as xform.lax's or jax.lax's function")


def reduce(operands: Any, init_values: Any, computation: Callable[[Any, Any], Any],
           dimensions: Sequence[int]) -> Any:
    """Reduce ``operands`` over ``dimensions`` with ``computation``, as ``jax.lax.reduce``.

    The monoids with a reduction primitive (``computation`` one of ``add``, ``mul``, ``max``,
    ``min``, ``bitwise_or``, ``bitwise_and``, xform.lax's or jax.lax's, with that operation's
    identity as the init value, on a single operand) become ``reduce_sum`` etc.; anything else
    (several operands, any computation) binds the general ``reduce`` primitive
    (xform/lax/reduce_general.py).

    >>> xform.lax.reduce(x, 0.0, xform.lax.add, (0,))   # same as reduce_sum(x, (0,))
    """
    flat_ops, _ = jax.tree_util.tree_flatten(operands)
    flat_inits, _ = jax.tree_util.tree_flatten(init_values)
    monoid = _MONOIDS.get(computation)
    if len(flat_ops) != 1 or len(flat_inits) != 1 or monoid is None:
        return general_reduce(operands, init_values, computation, dimensions)
    reducer, identity = monoid
    (operand,), (init,) = flat_ops, flat_inits
    if isinstance(init, Tracer):
        return general_reduce(operands, init_values, computation, dimensions)
    dtype = to_aval(operand).dtype
    init_arr = np.asarray(init)
    if init_arr.shape != () or init_arr.item() != identity(dtype):
        return general_reduce(operands, init_values, computation, dimensions)
    out = reducer(operand, dimensions)
    # as JAX: the result is weak only where the operand and the init value both are (a
    # reduction primitive alone keeps the operand's weak type)
    if to_aval(out).weak_type and not to_aval(init).weak_type:
        out = ew._convert_weak(out, dtype, False)
    return out
