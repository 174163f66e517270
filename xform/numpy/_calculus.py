"""Numerical calculus on sampled values: trapezoid, gradient, interp and unwrap."""

from __future__ import annotations

from typing import Any

import numpy as np

from xform import lax
from xform.core.trace import to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._indexing import take
from xform.numpy._manip import diff
from xform.numpy._promote import convert, promote_to_inexact
from xform.numpy._reductions import cumsum, sum as sum_
from xform.numpy._sorting import searchsorted


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


@eager_jit(static_argnames=("axis",))
def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """Integral of ``y`` by the trapezoidal rule along ``axis``."""
    (y,) = promote_to_inexact(asarray(y))
    y = sh.moveaxis(y, axis, -1)
    n = _shape(y)[-1]
    if x is None:
        d = dx
    else:
        x = asarray(x)
        d = diff(sh.moveaxis(x, axis, -1) if to_aval(x).ndim > 1 else x, axis=-1)
    mid = uf.add(lax.slice_in_dim(y, 1, n, axis=to_aval(y).ndim - 1),
                 lax.slice_in_dim(y, 0, n - 1, axis=to_aval(y).ndim - 1))
    return uf.multiply(0.5, sum_(uf.multiply(d, mid), axis=-1))


@jit_typed
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int | None = None) -> Any:
    """Central differences inside, one-sided at the edges, as ``jax.numpy.gradient``: each
    spacing is a scalar or the 1-D coordinates along its axis (non-uniform spacing)."""
    if edge_order is not None:
        raise NotImplementedError("The 'edge_order' argument to jnp.gradient is not supported.")
    a, *spacing = promote_to_inexact(*[asarray(v) for v in (f, *varargs)])
    nd = to_aval(a).ndim
    axes = tuple(range(nd)) if axis is None else tuple(
        sh.canonicalize_axis(ax, nd) for ax in (axis if isinstance(axis, (tuple, list))
                                                else (axis,)))
    if not axes:
        return []
    if min(_shape(a)[ax] for ax in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                         "least 2 elements are required.")
    if len(spacing) == 0:
        dx = [1.0] * len(axes)
    elif len(spacing) == 1:
        dx = list(spacing) * len(axes)
    elif len(spacing) == len(axes):
        dx = list(spacing)
    else:
        raise TypeError(f"Invalid number of spacing arguments {len(spacing)} for axis={axis}")
    out = [_gradient_along(a, h, ax) for ax, h in zip(axes, dx)]
    return out[0] if len(out) == 1 else out


def _gradient_along(a: Any, h: Any, axis: int) -> Any:
    # JAX's formulas, in its order of operations (so the values match to the bit)
    n = _shape(a)[axis]

    def sl(x: Any, lo: int, hi: int) -> Any:
        return lax.slice_in_dim(x, lo, hi, axis=axis)
    upper = uf.subtract(sl(a, 1, 2), sl(a, 0, 1))
    lower = uf.subtract(sl(a, n - 1, n), sl(a, n - 2, n - 1))
    hd = np.ndim(h) if not hasattr(h, "aval") and not hasattr(h, "ndim") else to_aval(h).ndim
    if hd == 0:
        inner = uf.divide(uf.multiply(uf.subtract(sl(a, 2, n), sl(a, 0, n - 2)), 0.5), h)
        return sh.concatenate([uf.divide(upper, h), inner, uf.divide(lower, h)], axis=axis)
    if hd != 1:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    if _shape(h)[0] != n:
        raise ValueError("Spacing arrays must have the same length as the dimension along "
                         "which the gradient is calculated.")
    shape = [1] * to_aval(a).ndim
    shape[axis] = n
    h = sh.reshape(h, tuple(shape))
    upper = uf.divide(upper, uf.subtract(sl(h, 1, 2), sl(h, 0, 1)))
    lower = uf.divide(lower, uf.subtract(sl(h, n - 1, n), sl(h, n - 2, n - 1)))
    dx1 = uf.subtract(sl(h, 1, n - 1), sl(h, 0, n - 2))
    dx2 = uf.subtract(sl(h, 2, n), sl(h, 1, n - 1))
    ca = uf.divide(uf.negative(dx2), uf.multiply(dx1, uf.add(dx1, dx2)))
    cb = uf.divide(uf.subtract(dx2, dx1), uf.multiply(dx1, dx2))
    cc = uf.divide(dx1, uf.multiply(dx2, uf.add(dx1, dx2)))
    inner = uf.add(uf.add(uf.multiply(ca, sl(a, 0, n - 2)), uf.multiply(cb, sl(a, 1, n - 1))),
                   uf.multiply(cc, sl(a, 2, n)))
    return sh.concatenate([upper, inner, lower], axis=axis)


@eager_jit()
def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x``, as ``jax.numpy.interp``."""
    if period is not None:
        raise NotImplementedError("interp: the 'period' argument is not implemented")
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if to_aval(xp).ndim != 1 or to_aval(fp).ndim != 1:
        raise ValueError("xp and fp must be one-dimensional")
    if _shape(xp) != _shape(fp):
        raise ValueError("xp and fp must be of the same length")
    x, xp = promote_to_inexact(x, xp)
    (fp,) = promote_to_inexact(fp)
    n = _shape(xp)[0]
    i = uf.clip(searchsorted(xp, x, side="right"), 1, n - 1)
    x0, x1 = take(xp, uf.subtract(i, 1)), take(xp, i)
    f0, f1 = take(fp, uf.subtract(i, 1)), take(fp, i)
    dx = uf.subtract(x1, x0)
    safe = uf.where(uf.equal(dx, 0), 1.0, dx)
    f = uf.add(f0, uf.multiply(uf.divide(uf.subtract(x, x0), safe), uf.subtract(f1, f0)))
    f = uf.where(uf.equal(dx, 0), f1, f)
    lo = lax.index_in_dim(fp, 0, 0, False) if left is None else left
    hi = lax.index_in_dim(fp, n - 1, 0, False) if right is None else right
    f = uf.where(uf.less(x, lax.index_in_dim(xp, 0, 0, False)), lo, f)
    return uf.where(uf.greater(x, lax.index_in_dim(xp, n - 1, 0, False)), hi, f)


@eager_jit(static_argnames=("axis",))
def unwrap(p: Any, discont: Any = None, axis: int = -1, period: Any = 2 * np.pi) -> Any:
    """``p`` with jumps larger than ``discont`` along ``axis`` undone modulo ``period``."""
    (p,) = promote_to_inexact(asarray(p))
    dt = to_aval(p).dtype
    period = convert(period, dt)
    discont = uf.divide(period, 2) if discont is None else convert(discont, dt)
    axis = sh.canonicalize_axis(axis, to_aval(p).ndim)
    dd = diff(p, axis=axis)
    half = uf.divide(period, 2)
    ddmod = uf.subtract(uf.remainder(uf.add(dd, half), period), half)
    ddmod = uf.where(uf.logical_and(uf.equal(ddmod, uf.negative(half)), uf.greater(dd, 0)),
                     half, ddmod)
    correct = uf.where(uf.less(uf.absolute(dd), discont), 0, uf.subtract(ddmod, dd))
    n = _shape(p)[axis]
    cfg = [(0, 0, 0)] * to_aval(p).ndim
    cfg[axis] = (1, 0, 0)
    correct = lax.pad(cumsum(correct, axis=axis), convert(0, dt), cfg)
    return uf.add(p, correct) if n else p
