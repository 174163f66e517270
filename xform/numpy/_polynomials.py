"""Polynomials on coefficient arrays (highest power first, as numpy's poly1d): vander, polyval,
polyadd, polysub, polymul, polydiv, polyder, polyint, poly, roots, polyfit and trim_zeros.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from xform import lax
from xform.core.errors import ConcretizationTypeError
from xform.core.trace import Tracer, to_aval
from xform.numpy import _reductions as red
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy import linalg
from xform.numpy._eager import eager_jit, jit_typed
from xform.numpy._linalg_ops import dot, outer
from xform.numpy._promote import check_arraylike, promote_dtypes, promote_to_inexact
from xform.numpy._signal import convolve


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


@eager_jit(static_argnames=("N", "increasing"))
def vander(x: Any, N: int | None = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix of the 1-D ``x``, as ``jax.numpy.vander``."""
    x = asarray(x)
    if to_aval(x).ndim != 1:
        raise ValueError("x must be a one-dimensional array")
    n = _shape(x)[0] if N is None else operator.index(N)
    if n < 0:
        raise ValueError("N must be nonnegative")
    dtype = to_aval(x).dtype
    powers = np.arange(n, dtype=dtype) if increasing else np.arange(n - 1, -1, -1, dtype=dtype)
    # as JAX's: x to the power of a (strongly typed) array of float exponents, lax.pow's values
    return uf.power(sh.expand_dims(x, 1), sh.expand_dims(asarray(powers), 0))


@eager_jit(static_argnames=("unroll",))
def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """The polynomial with coefficients ``p`` (highest power first) at ``x`` (Horner)."""
    p, x = promote_dtypes(asarray(p), asarray(x))
    shape = sh.broadcast_shapes(_shape(p)[1:], _shape(x))
    out = lax.full(shape, 0, to_aval(x).dtype)  # strongly typed, as JAX's
    for k in range(_shape(p)[0]):
        out = uf.add(uf.multiply(out, x), lax.index_in_dim(p, k, 0, False))
    return out


def _pad_front(p: Any, n: int) -> Any:
    k = _shape(p)[0]
    zero = lax.full((), 0, to_aval(p).dtype)
    return lax.pad(p, zero, [(n - k, 0, 0)]) if k < n else p


@jit_typed
def polyadd(a1: Any, a2: Any) -> Any:
    """Sum of two polynomials, as ``jax.numpy.polyadd``."""
    a1, a2 = promote_dtypes(sh.ravel(asarray(a1)), sh.ravel(asarray(a2)))
    n = max(_shape(a1)[0], _shape(a2)[0])
    return uf.add(_pad_front(a1, n), _pad_front(a2, n))


@jit_typed
def polysub(a1: Any, a2: Any) -> Any:
    """Difference of two polynomials, as ``jax.numpy.polysub``."""
    return polyadd(a1, uf.negative(asarray(a2)))


def polymul(a1: Any, a2: Any, *, trim_leading_zeros: bool = False) -> Any:
    """Product of two polynomials (a full convolution), as ``jax.numpy.polymul``."""
    a1, a2 = promote_to_inexact(sh.ravel(asarray(a1)), sh.ravel(asarray(a2)))
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if not _shape(a1)[0]:
        a1 = asarray([0.0], dtype=to_aval(a1).dtype)
    if not _shape(a2)[0]:
        a2 = asarray([0.0], dtype=to_aval(a2).dtype)
    return convolve(a1, a2, mode="full")


@jit_typed
def polyder(p: Any, m: int = 1) -> Any:
    """The ``m``-th derivative of the polynomial ``p``, as ``jax.numpy.polyder``."""
    (p,) = promote_to_inexact(sh.ravel(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    for _ in range(m):
        n = _shape(p)[0]
        if n <= 1:
            return lax.full((0,), 0, to_aval(p).dtype)
        powers = np.arange(n - 1, 0, -1).astype(to_aval(p).dtype)
        p = uf.multiply(lax.slice(p, (0,), (n - 1,)), powers)
    return p


@jit_typed
def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """The ``m``-th antiderivative with integration constants ``k``, as
    ``jax.numpy.polyint``."""
    (p,) = promote_to_inexact(sh.ravel(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    ks = np.zeros(m) if k is None else np.broadcast_to(np.asarray(k), (m,))
    for i in range(m):
        n = _shape(p)[0]
        powers = np.arange(n, 0, -1).astype(to_aval(p).dtype)
        p = sh.concatenate([uf.divide(p, powers), asarray([ks[i]], dtype=to_aval(p).dtype)], 0)
    return p


@jit_typed
def poly(seq_of_zeros: Any) -> Any:
    """Coefficients of the monic polynomial with the given roots, as ``jax.numpy.poly``: a
    scalar counts as one root, and a non-empty square 2-D array gives its characteristic
    polynomial (the roots are its eigenvalues, so the coefficients are complex, as in JAX)."""
    check_arraylike("poly", seq_of_zeros)
    (z,) = promote_to_inexact(asarray(seq_of_zeros))
    if to_aval(z).ndim == 0:
        z = lax.reshape(z, (1,))
    shape = _shape(z)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        z = linalg.eigvals(z)
    if to_aval(z).ndim != 1:
        raise ValueError(f"poly: input must be 1d or non-empty square 2d array, got shape "
                         f"{tuple(shape)}.")
    dtype = to_aval(z).dtype
    if _shape(z)[0] == 0:
        return asarray(1.0, dtype=dtype)
    out = asarray([1.0], dtype=dtype)
    for i in range(_shape(z)[0]):
        root = lax.index_in_dim(z, i, 0, True)
        out = polymul(out, sh.concatenate([asarray([1.0], dtype=dtype), uf.negative(root)], 0))
    return out


def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """``filt`` without its leading (``'f'``) and/or trailing (``'b'``) zeros along each axis
    of ``axis`` (every axis when None), as ``jax.numpy.trim_zeros``: along an axis, the slices
    all of whose entries are zero are trimmed. The values must be concrete (the output shape
    depends on them), as in JAX."""
    check_arraylike("trim_zeros", filt)
    filt = asarray(filt)
    value = np.asarray(filt.concrete_value("trim_zeros") if isinstance(filt, Tracer) else filt)
    nd = value.ndim
    axes = range(nd) if axis is None else [sh.canonicalize_axis(a, nd) for a in (
        axis if isinstance(axis, (tuple, list)) else (axis,))]
    trim = trim.lower()
    if not axes or ("f" not in trim and "b" not in trim):
        return filt
    start, stop = [0] * nd, list(value.shape)
    for ax in sorted(set(axes)):
        mask = value.any(axis=tuple(i for i in range(nd) if i != ax))
        nz = np.flatnonzero(mask)
        if not nz.size:
            start[ax] = stop[ax] = 0
            continue
        if "f" in trim:
            start[ax] = int(nz[0])
        if "b" in trim:
            stop[ax] = int(nz[-1]) + 1
    return lax.slice(filt, tuple(start), tuple(stop))


# -- division, roots and least-squares fits ----------------------------------------------------
def polydiv(u: Any, v: Any, *, trim_leading_zeros: bool = False) -> tuple:
    """Quotient and remainder of polynomial long division of ``u`` by ``v``, as
    ``jax.numpy.polydiv``; the remainder keeps ``u``'s length unless ``trim_leading_zeros``
    (which needs concrete values) drops its leading near-zeros."""
    check_arraylike("polydiv", u, v)
    u, v = promote_to_inexact(asarray(u), asarray(v))
    m, n = _shape(u)[0] - 1, _shape(v)[0] - 1
    dt = to_aval(u).dtype
    scale = uf.divide(1.0, lax.index_in_dim(v, 0, 0, False))
    rem = [lax.index_in_dim(u, i, 0, False) for i in range(m + 1)]
    vs = [lax.index_in_dim(v, j, 0, False) for j in range(n + 1)]
    q = [lax.full((), 0, dt)] * max(m - n + 1, 1)
    for k in range(m - n + 1):  # static sizes: the schoolbook algorithm, unrolled
        d = uf.multiply(scale, rem[k])
        q[k] = d
        for j in range(n + 1):
            rem[k + j] = uf.subtract(rem[k + j], uf.multiply(d, vs[j]))
    r = sh.stack(rem) if rem else lax.full((0,), 0, dt)
    if trim_leading_zeros:
        r = _trim_leading_small(r, float(np.sqrt(np.finfo(dt).eps)))
    return sh.stack(q), r


def _trim_leading_small(filt: Any, tol: float) -> Any:
    """``filt`` without its leading entries of magnitude below ``tol`` (concrete values)."""
    value = filt.concrete_value("polydiv(trim_leading_zeros=True)") \
        if isinstance(filt, Tracer) else filt
    big = np.flatnonzero(np.abs(np.asarray(value)) >= tol)
    if not big.size:
        return lax.full((0,), 0, to_aval(filt).dtype)
    return lax.slice(filt, (int(big[0]),), (_shape(filt)[0],))


def _complex_dtype(dt: Any) -> np.dtype:
    return np.result_type(dt, np.complex64)


def _companion_roots(p: Any) -> Any:
    """The eigenvalues of the companion matrix of ``p`` (``p[0]`` nonzero): its roots."""
    n = _shape(p)[0]
    if n < 2:
        return lax.full((0,), 0, _complex_dtype(to_aval(p).dtype))
    first = uf.negative(uf.divide(lax.slice(p, (1,), (n,)), lax.index_in_dim(p, 0, 0, True)))
    below = np.eye(n - 1, k=-1, dtype=to_aval(p).dtype)[1:]
    a = sh.concatenate([sh.reshape(first, (1, n - 1)), asarray(below)], 0)
    return linalg.eigvals(a)


@eager_jit()
def _roots_keep_length(p: Any, num_leading_zeros: Any) -> Any:
    """Roots of ``p`` with ``num_leading_zeros`` (traced) of them set to NaN, as JAX's
    ``roots(strip_zeros=False)``: the leading zeros are rotated to the end."""
    n = _shape(p)[0]
    p = uf.where(uf.equal(num_leading_zeros, n), lax.full_like(p, 1), p)
    rolled = lax.dynamic_slice(sh.concatenate([p, p], 0), (num_leading_zeros,), (n,))
    r = _companion_roots(rolled)
    is_zero = uf.equal(r, lax.full_like(r, 0))
    r = lax.sort_key_val(is_zero, r)[1]  # zero roots (from the rotated zeros) last
    keep = lax.lt(lax.iota(np.int32, n - 1), lax.sub(np.int32(n - 1), num_leading_zeros))
    nan = lax.full_like(r, complex(np.nan, np.nan))
    return uf.where(keep, r, nan)


def roots(p: Any, *, strip_zeros: bool = True) -> Any:
    """The roots of the polynomial ``p`` (highest power first) as the eigenvalues of its
    companion matrix, as ``jax.numpy.roots``. ``strip_zeros=True`` drops leading zeros (needs
    concrete values); ``strip_zeros=False`` works under jit and returns NaN for each."""
    check_arraylike("roots", p)
    (p,) = promote_to_inexact(asarray(p))
    if to_aval(p).ndim == 0:
        p = sh.reshape(p, (1,))
    if to_aval(p).ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    n = _shape(p)[0]
    if n < 2:
        return lax.full((0,), 0, _complex_dtype(to_aval(p).dtype))
    is_zero = uf.equal(p, lax.full_like(p, 0))
    all_zero = lax.reduce_and(is_zero, (0,))
    lead = uf.where(all_zero, np.int32(n), lax.convert_element_type(
        lax.argmin(is_zero, 0, np.int32), np.int32))
    if strip_zeros:
        if isinstance(lead, Tracer):
            try:
                lead = lead.concrete_value("roots")
            except ConcretizationTypeError as err:
                raise ConcretizationTypeError(
                    "The error occurred in the jnp.roots() function. To use this within a "
                    "JIT-compiled context, pass strip_zeros=False, but be aware that leading "
                    f"zeros will result in some returned roots being set to NaN.\n{err}"
                ) from None
        lead = int(np.asarray(lead))
        return _companion_roots(lax.slice(p, (lead,), (n,)))
    return _roots_keep_length(p, lead)


@eager_jit(static_argnames=("deg", "rcond", "full", "cov"))
def polyfit(x: Any, y: Any, deg: int, rcond: float | None = None, full: bool = False,
            w: Any = None, cov: bool | str = False) -> Any:
    """The least-squares polynomial of degree ``deg`` through ``(x, y)`` (``y`` 1-D or one
    column per fit), as ``jax.numpy.polyfit``: optional weights ``w``; ``full=True`` returns
    ``(coef, residuals, rank, singular_values, rcond)``, ``cov=True`` (or ``'unscaled'``)
    ``(coef, covariance)``."""
    check_arraylike("polyfit", x, y, *(() if w is None else (w,)))
    x, y = asarray(x), asarray(y)
    deg = operator.index(deg)
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if to_aval(x).ndim != 1:
        raise TypeError("expected 1D vector for x")
    if _shape(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if to_aval(y).ndim not in (1, 2):
        raise TypeError("expected 1D or 2D array for y")
    if _shape(x)[0] != _shape(y)[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = _shape(x)[0] * float(np.finfo(to_aval(x).dtype).eps)
    rcond = float(rcond)
    lhs, rhs = vander(x, order), y
    if w is not None:
        (w,) = promote_to_inexact(asarray(w))
        if to_aval(w).ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if _shape(w)[0] != _shape(y)[0]:
            raise TypeError("expected w and y to have the same length")
        w_col = sh.reshape(w, (-1, 1))
        lhs = uf.multiply(lhs, w_col)
        rhs = uf.multiply(rhs, w_col if to_aval(rhs).ndim == 2 else w)
    # columns scaled to unit norm first: a better-conditioned least-squares problem
    scale = uf.sqrt(red.sum(uf.multiply(lhs, lhs), axis=0))
    lhs = uf.divide(lhs, scale)
    c, resids, rank, s = linalg.lstsq(lhs, rhs, rcond)
    c = uf.divide(c, sh.reshape(scale, (-1, 1)) if to_aval(c).ndim > 1 else scale)
    if full:
        return c, resids, rank, s, asarray(rcond, dtype=to_aval(s).dtype)
    if not cov:
        return c
    base = uf.divide(linalg.inv(dot(sh.transpose(lhs), lhs)), outer(scale, scale))
    if cov == "unscaled":
        fac = asarray(1.0, dtype=to_aval(base).dtype)
    else:
        if _shape(x)[0] <= order:
            raise ValueError("the number of data points must exceed order to scale the "
                             "covariance matrix")
        fac = uf.divide(resids, _shape(x)[0] - order)
    fac = sh.ravel(fac)
    if to_aval(y).ndim == 1:
        return c, uf.multiply(base, sh.reshape(fac, (1, -1)))
    return c, uf.multiply(sh.expand_dims(base, 2), sh.reshape(fac, (1, 1, -1)))
