"""Matrix decompositions: ``cholesky``, ``triangular_solve``, ``lu``, ``qr``, ``eigh``, ``svd``.

Every primitive takes ``[..., m, n]`` operands: leading dimensions are batch dimensions, as in
``jax.lax.linalg``, so a batch rule only has to move the vmapped axis to the front. ``to_jax``
is the matching ``jax.lax.linalg`` call.

The derivative rules are the standard matrix-calculus formulas (docs/linalg.md lists them),
written with xform primitives — ``triangular_solve``, ``dot_general``, masks made from
``iota`` — so that they are themselves differentiable and batchable. ``triangular_solve`` is
linear in its right-hand side and has a transpose rule; the decompositions are not linear and
reach reverse mode through their JVPs.

Usage, as ``jax.lax.linalg``::

    >>> from xform.lax import linalg
    >>> L = linalg.cholesky(a)                              # a = L @ L^H
    >>> x = linalg.triangular_solve(L, b, left_side=True, lower=True)   # L @ x = b
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from xform.core.avals import ShapedArray
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, bdim_at_front, moveaxis, not_mapped
from xform.interpreters.jvp import Zero, defjvp, defjvp_zero, jvp_rules, tangent_aval
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as ew
from xform.lax import shape as sh
from xform.lax import slicing as sl
from xform.lax._helpers import FLOAT, check_dtype, shape_str
from xform.lax.indexing import GatherDimensionNumbers, gather
from xform.lax.linear import dot_general
from xform.lax.reductions import reduce_sum

__all__ = ["cholesky", "eig", "eigh", "lu", "lu_pivots_to_permutation", "qr", "svd",
           "triangular_solve"]

_jlinalg = jax.lax.linalg


# -- shared helpers (all xform primitives, so rules stay transformable) ---------------------
def _is_complex(x: Any) -> bool:
    return np.issubdtype(to_aval(x).dtype, np.complexfloating)


def _T(x: Any) -> Any:
    """Swap the last two axes."""
    nd = to_aval(x).ndim
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x: Any) -> Any:
    """Conjugate transpose of the last two axes (a plain transpose for real arrays)."""
    return ew.conj(_T(x)) if _is_complex(x) else _T(x)


def _conj(x: Any) -> Any:
    return ew.conj(x) if _is_complex(x) else x


def _real(x: Any) -> Any:
    return ew.real(x) if _is_complex(x) else x


def _mm(a: Any, b: Any) -> Any:
    """Matrix product over the last two axes; leading axes are batch axes (equal in both)."""
    nd = to_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _tri_mask(shape: tuple, k: int, lower: bool) -> Any:
    """Boolean mask of the lower (``col - row <= k``) or upper (``col - row >= k``) part of the
    last two axes of ``shape``."""
    nd = len(shape)
    diff = ew.sub(sh.broadcasted_iota(np.int32, shape, nd - 1),
                  sh.broadcasted_iota(np.int32, shape, nd - 2))
    kk = sh.full((), k, np.int32)   # rank 0: lax broadcasts it
    return ew.le(diff, kk) if lower else ew.ge(diff, kk)


def _zeros(x: Any) -> Any:
    a = to_aval(x)
    return sh.full(a.shape, 0, a.dtype)


def _tril(x: Any, k: int = 0) -> Any:
    return ew.select(_tri_mask(to_aval(x).shape, k, True), x, _zeros(x))


def _triu(x: Any, k: int = 0) -> Any:
    return ew.select(_tri_mask(to_aval(x).shape, k, False), x, _zeros(x))


def _eye_like(shape: tuple, dtype: Any) -> Any:
    """Identity in the last two axes of ``shape`` (rectangular allowed), broadcast over the rest."""
    nd = len(shape)
    same = ew.eq(sh.broadcasted_iota(np.int32, shape, nd - 1),
                 sh.broadcasted_iota(np.int32, shape, nd - 2))
    return ew.convert_element_type(same, dtype)


def _diag(x: Any) -> Any:
    """The diagonal of square matrices ``[..., n, n] -> [..., n]``."""
    a = to_aval(x)
    return reduce_sum(ew.mul(x, _eye_like(a.shape, a.dtype)), (a.ndim - 1,))


def _across_rows(v: Any, shape: tuple) -> Any:
    """``v[..., None, :]`` broadcast to ``shape``: entry ``[..., i, j]`` is ``v[..., j]``."""
    nd = len(shape)
    return sh.broadcast_in_dim(v, shape, tuple(range(nd - 2)) + (nd - 1,))


def _across_cols(v: Any, shape: tuple) -> Any:
    """``v[..., :, None]`` broadcast to ``shape``: entry ``[..., i, j]`` is ``v[..., i]``."""
    return sh.broadcast_in_dim(v, shape, tuple(range(len(shape) - 1)))


def _slice_last2(x: Any, rows: tuple[int, int] | None = None,
                 cols: tuple[int, int] | None = None) -> Any:
    a = to_aval(x)
    start = [0] * a.ndim
    limit = list(a.shape)
    if rows is not None:
        start[-2], limit[-2] = rows
    if cols is not None:
        start[-1], limit[-1] = cols
    return sl.slice(x, start, limit)


def _pad_last2(x: Any, rows: int = 0, cols: int = 0) -> Any:
    """Zeros appended after the last two axes (``rows`` more rows, ``cols`` more columns)."""
    if rows == 0 and cols == 0:
        return x
    a = to_aval(x)
    cfg = [(0, 0, 0)] * (a.ndim - 2) + [(0, rows, 0), (0, cols, 0)]
    return sl.pad(x, sh.full((), 0, a.dtype), cfg)


def _resize_last2(x: Any, rows: int, cols: int) -> Any:
    """Slice or zero-pad the last two axes to ``rows x cols``."""
    a = to_aval(x)
    m, n = a.shape[-2:]
    x = _slice_last2(x, (0, min(m, rows)), (0, min(n, cols)))
    return _pad_last2(x, max(rows - m, 0), max(cols - n, 0))


def _check_matrix(name: str, x: ShapedArray, square: bool = False) -> None:
    check_dtype(name, x, FLOAT)
    if x.ndim < 2:
        raise ValueError(f"{name} expects an array of rank >= 2 (a batch of matrices "
                         f"[..., m, n]), got shape {shape_str(x.shape)}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name} expects square matrices (the last two dimensions equal), "
                         f"got shape {shape_str(x.shape)}.")


def _real_dtype(dtype: Any) -> np.dtype:
    return np.finfo(dtype).dtype if np.issubdtype(dtype, np.complexfloating) else np.dtype(dtype)


def _front_batcher(prim: Primitive):
    """Batch rule of a one-operand primitive that accepts leading batch dimensions: the
    vmapped axis goes to the front, every output comes out batched at 0."""
    def rule(axis_size, vals, dims, **params):
        (x,), (d,) = vals, dims
        out = prim.bind(moveaxis(x, d, 0), **params)
        return out, [0] * len(out)
    return rule


# -- cholesky -------------------------------------------------------------------------------
cholesky_p = Primitive("cholesky")


def _cholesky_abstract_eval(x: ShapedArray) -> ShapedArray:
    _check_matrix("cholesky", x, square=True)
    return ShapedArray(x.shape, x.dtype)


abstract_eval[cholesky_p] = _cholesky_abstract_eval
to_jax[cholesky_p] = lambda x: _jlinalg.cholesky(x, symmetrize_input=False)


def _cholesky_jvp(primals, tangents):
    # A = L L^H  =>  dL = L Phi(L^-1 dA L^-H), Phi = lower triangle with the diagonal halved.
    (x,), (x_dot,) = primals, tangents
    L = cholesky_p.bind(x)
    right = triangular_solve_p.bind(L, x_dot, left_side=False, lower=True, transpose_a=True,
                                    conjugate_a=True, unit_diagonal=False)
    middle = triangular_solve_p.bind(L, right, left_side=True, lower=True, transpose_a=False,
                                     conjugate_a=False, unit_diagonal=False)
    shape, dtype = to_aval(x).shape, to_aval(x).dtype
    half_diag = ew.mul(_eye_like(shape, dtype), sh.full((), 0.5, dtype))
    phi = ew.add(_tril(middle, -1), ew.mul(middle, half_diag))
    return L, _mm(L, phi)


jvp_rules[cholesky_p] = _cholesky_jvp
batch_rules[cholesky_p] = lambda axis_size, vals, dims: (
    cholesky_p.bind(moveaxis(vals[0], dims[0], 0)), 0)


# -- triangular_solve -----------------------------------------------------------------------
triangular_solve_p = Primitive("triangular_solve")


def _triangular_solve_abstract_eval(a: ShapedArray, b: ShapedArray, *, left_side, lower,
                                    transpose_a, conjugate_a, unit_diagonal) -> ShapedArray:
    _check_matrix("triangular_solve", a, square=True)
    _check_matrix("triangular_solve", b)
    if a.dtype != b.dtype:
        raise TypeError(f"triangular_solve requires a and b of one dtype, got {a.dtype.name} "
                        f"and {b.dtype.name}.")
    if a.shape[:-2] != b.shape[:-2]:
        raise ValueError(f"triangular_solve: a and b must have equal batch dimensions, got a "
                         f"of shape {shape_str(a.shape)} and b of shape {shape_str(b.shape)}.")
    m = a.shape[-1]
    k = b.shape[-2] if left_side else b.shape[-1]
    if k != m:
        side = "rows" if left_side else "columns"
        raise ValueError(f"triangular_solve: b must have as many {side} as a ({m}) with "
                         f"left_side={left_side}, got a of shape {shape_str(a.shape)} and b of "
                         f"shape {shape_str(b.shape)}.")
    return ShapedArray(b.shape, b.dtype)


abstract_eval[triangular_solve_p] = _triangular_solve_abstract_eval
to_jax[triangular_solve_p] = lambda a, b, **params: _jlinalg.triangular_solve(a, b, **params)


def _op_a(a: Any, transpose_a: bool, conjugate_a: bool) -> Any:
    a = _T(a) if transpose_a else a
    return _conj(a) if conjugate_a else a


def _triangular_solve_jvp_a(a_dot, ans, a, b, *, left_side, lower, transpose_a, conjugate_a,
                            unit_diagonal):
    # left: x = op(A)^-1 b => dx = -op(A)^-1 op(dA) x; right: x = b op(A)^-1 =>
    # dx = -x op(dA) op(A)^-1.
    # Only the referenced triangle of A is an input.
    k = (-1 if lower else 1) if unit_diagonal else 0
    a_dot = _tril(a_dot, k) if lower else _triu(a_dot, k)
    g = _op_a(a_dot, transpose_a, conjugate_a)
    rhs = _mm(g, ans) if left_side else _mm(ans, g)
    return ew.neg(triangular_solve_p.bind(a, rhs, left_side=left_side, lower=lower,
                                          transpose_a=transpose_a, conjugate_a=conjugate_a,
                                          unit_diagonal=unit_diagonal))


def _triangular_solve_jvp_b(b_dot, ans, a, b, **params):
    return triangular_solve_p.bind(a, b_dot, **params)


def _triangular_solve_transpose(ct, a, b, *, left_side, lower, transpose_a, conjugate_a,
                                unit_diagonal):
    # b -> op(A)^-1 b is linear; its transpose is b -> (op(A)^T)^-1 b: flip transpose_a.
    if is_undefined(a):
        raise NotImplementedError("triangular_solve is linear in b only, not in a")
    if isinstance(ct, Zero):
        return [None, Zero(b.aval)]
    return [None, triangular_solve_p.bind(a, ct, left_side=left_side, lower=lower,
                                          transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                          unit_diagonal=unit_diagonal)]


def _triangular_solve_batch(axis_size, vals, dims, **params):
    (a, b), (a_dim, b_dim) = vals, dims
    b_aval = to_aval(b)
    if a_dim is not_mapped and to_aval(a).ndim == 2 and b_aval.ndim == 3:
        # One matrix a for every example: fold the batch into b's free axis, one solve.
        if params["left_side"]:
            bt = moveaxis(b, b_dim, 2)                                   # [m, n, B]
            m, n, nb = to_aval(bt).shape
            out = triangular_solve_p.bind(a, sh.reshape(bt, (m, n * nb)), **params)
            return sh.reshape(out, (m, n, nb)), 2
        bt = moveaxis(b, b_dim, 0)                                       # [B, k, m]
        nb, k, m = to_aval(bt).shape
        out = triangular_solve_p.bind(a, sh.reshape(bt, (nb * k, m)), **params)
        return sh.reshape(out, (nb, k, m)), 0
    a = bdim_at_front(a, a_dim, axis_size)
    b = bdim_at_front(b, b_dim, axis_size)
    return triangular_solve_p.bind(a, b, **params), 0


defjvp(triangular_solve_p, _triangular_solve_jvp_a, _triangular_solve_jvp_b)
transpose_rules[triangular_solve_p] = _triangular_solve_transpose
batch_rules[triangular_solve_p] = _triangular_solve_batch


# -- lu -------------------------------------------------------------------------------------
lu_p = Primitive("lu", multiple_results=True)


def _lu_abstract_eval(x: ShapedArray) -> list:
    _check_matrix("lu", x)
    *batch, m, n = x.shape
    batch = tuple(batch)
    return [ShapedArray(x.shape, x.dtype), ShapedArray(batch + (min(m, n),), np.dtype(np.int32)),
            ShapedArray(batch + (m,), np.dtype(np.int32))]


abstract_eval[lu_p] = _lu_abstract_eval
to_jax[lu_p] = lambda x: list(_jlinalg.lu(x))


def _permute_rows(x: Any, perm: Any) -> Any:
    """``x[..., perm, :]`` with ``perm`` batched like ``x``'s leading axes: one gather."""
    nd = to_aval(x).ndim
    batch = tuple(range(nd - 2))
    dnums = GatherDimensionNumbers(offset_dims=(nd - 1,), collapsed_slice_dims=(nd - 2,),
                                   start_index_map=(nd - 2,), operand_batching_dims=batch,
                                   start_indices_batching_dims=batch)
    slice_sizes = (1,) * (nd - 1) + (to_aval(x).shape[-1],)
    return gather(x, sh.expand_dims(perm, (nd - 1,)), dnums, slice_sizes,
                  mode="promise_in_bounds")


def _lu_jvp(primals, tangents):
    # P A = L U  =>  L^-1 P dA U^-1 = L^-1 dL + dU U^-1: the strictly lower part gives dL, the
    # upper part dU. Rectangular A: L and U are completed to square, invertible matrices with
    # identity blocks (L~ is m x m, U~ is n x n).
    (x,), (x_dot,) = primals, tangents
    lu, pivots, perm = lu_p.bind(x)
    aval = to_aval(x)
    *_, m, n = aval.shape
    k = min(m, n)
    dtype = aval.dtype
    l_sq = _resize_last2(lu, m, m)
    l_full = ew.add(_tril(l_sq, -1), _eye_like(to_aval(l_sq).shape, dtype))
    u_sq = _triu(_resize_last2(lu, n, n))
    if n > m:  # identity in the rows that U does not fill
        shape = to_aval(u_sq).shape
        extra = ew.select(_tri_mask(shape, 0, True), _eye_like(shape, dtype), _zeros(u_sq))
        rows = sh.broadcasted_iota(np.int32, shape, len(shape) - 2)
        extra = ew.select(ew.ge(rows, sh.full((), m, np.int32)), extra, _zeros(u_sq))
        u_sq = ew.add(u_sq, extra)
    px_dot = _permute_rows(x_dot, perm)
    la = triangular_solve_p.bind(l_full, px_dot, left_side=True, lower=True, transpose_a=False,
                                 conjugate_a=False, unit_diagonal=True)
    lau = triangular_solve_p.bind(u_sq, la, left_side=False, lower=False, transpose_a=False,
                                  conjugate_a=False, unit_diagonal=False)
    l_dot = _mm(l_full, _slice_last2(_tril(lau, -1), cols=(0, k)))          # m x k
    u_dot = _mm(_slice_last2(_triu(lau), rows=(0, k)), u_sq)                 # k x n
    lu_dot = ew.add(_pad_last2(l_dot, cols=n - k), _pad_last2(u_dot, rows=m - k))
    return [lu, pivots, perm], [lu_dot, Zero(tangent_aval(to_aval(pivots))),
                                Zero(tangent_aval(to_aval(perm)))]


jvp_rules[lu_p] = _lu_jvp
batch_rules[lu_p] = _front_batcher(lu_p)


# -- qr -------------------------------------------------------------------------------------
qr_p = Primitive("qr", multiple_results=True)


def _qr_abstract_eval(x: ShapedArray, *, pivoting: bool, full_matrices: bool) -> list:
    _check_matrix("qr", x)
    *batch, m, n = x.shape
    batch = tuple(batch)
    k = m if full_matrices else min(m, n)
    out = [ShapedArray(batch + (m, k), x.dtype), ShapedArray(batch + (k, n), x.dtype)]
    if pivoting:  # the column permutation: x[..., p] = q @ r
        out.append(ShapedArray(batch + (n,), np.dtype(np.int32)))
    return out


abstract_eval[qr_p] = _qr_abstract_eval
to_jax[qr_p] = lambda x, *, pivoting, full_matrices: list(
    _jlinalg.qr(x, pivoting=pivoting, full_matrices=full_matrices))


def _permute_cols(x: Any, perm: Any) -> Any:
    """``x[..., :, perm]`` with ``perm`` batched like ``x``'s leading axes."""
    return _T(_permute_rows(_T(x), perm))


def _thin_qr_jvp(q, r, x_dot):
    # X = Q R with m >= n, R square: with C = Q^H dX R^-1, dQ = Q (dO - C) + dX R^-1 and
    # dR = (C - dO) R, where dO = tril(C, -1) - tril(C, -1)^H is skew-Hermitian.
    dx_rinv = triangular_solve_p.bind(r, x_dot, left_side=False, lower=False,
                                      transpose_a=False, conjugate_a=False,
                                      unit_diagonal=False)
    c = _mm(_H(q), dx_rinv)
    c_lower = _tril(c, -1)
    d_omega = ew.sub(c_lower, _H(c_lower))
    if _is_complex(c):  # the imaginary part of C's diagonal belongs to dO
        eye = _eye_like(to_aval(c).shape, to_aval(c).dtype)
        d_omega = ew.add(d_omega, ew.mul(eye, ew.sub(c, ew.convert_element_type(
            ew.real(c), to_aval(c).dtype))))
    q_dot = ew.add(_mm(q, ew.sub(d_omega, c)), dx_rinv)
    r_dot = _mm(ew.sub(c, d_omega), r)
    return q_dot, r_dot


def _qr_jvp(primals, tangents, *, pivoting, full_matrices):
    (x,), (x_dot,) = primals, tangents
    q, r, *p = qr_p.bind(x, pivoting=pivoting, full_matrices=full_matrices)
    if pivoting:
        # x[..., p] = q r with p piecewise constant: the unpivoted rule on the permuted columns
        x, x_dot = _permute_cols(x, p[0]), _permute_cols(x_dot, p[0])
    return _qr_jvp_unpivoted(x, x_dot, q, r, full_matrices, p)


def _qr_jvp_unpivoted(x, x_dot, q, r, full_matrices, p):
    p_dot = [Zero(tangent_aval(to_aval(v))) for v in p]
    *_, m, n = to_aval(x).shape
    if m < n:
        # X = [X1 X2] with X1 square: X1 = Q R1 is a square QR, and R2 = Q^H X2.
        x2 = _slice_last2(x, cols=(m, n))
        q_dot, r1_dot = _thin_qr_jvp(q, _slice_last2(r, cols=(0, m)),
                                     _slice_last2(x_dot, cols=(0, m)))
        r2_dot = ew.add(_mm(_H(q_dot), x2), _mm(_H(q), _slice_last2(x_dot, cols=(m, n))))
        return [q, r, *p], [q_dot, sl.concatenate([r1_dot, r2_dot], to_aval(x).ndim - 1),
                            *p_dot]
    if full_matrices and m > n:
        return [q, r, *p], [*_full_qr_jvp(q, r, x_dot, m, n), *p_dot]
    q_dot, r_dot = _thin_qr_jvp(q, r, x_dot)
    return [q, r, *p], [q_dot, r_dot, *p_dot]


def _full_qr_jvp(q, r, x_dot, m: int, n: int):
    # A tall X (m > n) with square Q = [Q1 Q2] (Q1: m x n) and R = [R1; 0]. X = Q1 R1 is the
    # thin QR, which gives dQ1 and dR1; dR's bottom rows stay zero. Q2 spans the orthogonal
    # complement, which X does not determine: its derivative is that of the Householder
    # construction LAPACK (and so JAX) uses, in which Q's leading n x n block A = Q1[:n] and the
    # rest B = Q1[n:] fix Q2 through Z = B (A - I)^-1 (Householder QR's structure,
    # arXiv:2409.13374 eqs. 32-33):  dQ2 = dQ1 Z^H - (Q1 + Q2 Z) (dB - Z dA)^H.
    nd = to_aval(q).ndim
    q1, q2 = _slice_last2(q, cols=(0, n)), _slice_last2(q, cols=(n, m))
    q1_dot, r1_dot = _thin_qr_jvp(q1, _slice_last2(r, rows=(0, n)), x_dot)
    a, b = _slice_last2(q1, rows=(0, n)), _slice_last2(q1, rows=(n, m))
    a_dot, b_dot = _slice_last2(q1_dot, rows=(0, n)), _slice_last2(q1_dot, rows=(n, m))
    eye = _eye_like(to_aval(a).shape, to_aval(a).dtype)
    z_h = _solve(_H(ew.sub(a, eye)), _H(b))  # Z^H = (A - I)^-H B^H
    z = _H(z_h)
    q2_dot = ew.sub(_mm(q1_dot, z_h),
                    _mm(ew.add(q1, _mm(q2, z)), _H(ew.sub(b_dot, _mm(z, a_dot)))))
    r_dot = sl.concatenate([r1_dot, _zeros(_slice_last2(r, rows=(n, m)))], nd - 2)
    return sl.concatenate([q1_dot, q2_dot], nd - 1), r_dot


jvp_rules[qr_p] = _qr_jvp
batch_rules[qr_p] = _front_batcher(qr_p)


# -- eigh -----------------------------------------------------------------------------------
eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_abstract_eval(x: ShapedArray, *, lower: bool, sort_eigenvalues: bool) -> list:
    _check_matrix("eigh", x, square=True)
    return [ShapedArray(x.shape, x.dtype),
            ShapedArray(x.shape[:-1], _real_dtype(x.dtype))]


abstract_eval[eigh_p] = _eigh_abstract_eval
to_jax[eigh_p] = lambda x, *, lower, sort_eigenvalues: list(_jlinalg.eigh(
    x, lower=lower, symmetrize_input=False, sort_eigenvalues=sort_eigenvalues))


def _inv_gaps(w: Any, dtype: Any) -> Any:
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it (eigenvalues distinct)."""
    shape = to_aval(w).shape + to_aval(w).shape[-1:]
    gaps = ew.sub(_across_rows(w, shape), _across_cols(w, shape))
    eye = _eye_like(shape, to_aval(w).dtype)
    f = ew.sub(ew.div(sh.full((), 1, to_aval(w).dtype), ew.add(gaps, eye)), eye)
    return ew.convert_element_type(f, dtype)


def _eigh_jvp(primals, tangents, *, lower, sort_eigenvalues):
    # A = V diag(w) V^H  =>  dw = diag(V^H dA V) (real part), dV = V (F * (V^H dA V)) with
    # F[i, j] = 1 / (w_j - w_i) off the diagonal.
    (x,), (x_dot,) = primals, tangents
    v, w = eigh_p.bind(x, lower=lower, sort_eigenvalues=sort_eigenvalues)
    vh_xdot_v = _mm(_mm(_H(v), x_dot), v)
    w_dot = _real(_diag(vh_xdot_v))
    v_dot = _mm(v, ew.mul(_inv_gaps(w, to_aval(x).dtype), vh_xdot_v))
    return [v, w], [v_dot, w_dot]


jvp_rules[eigh_p] = _eigh_jvp
batch_rules[eigh_p] = _front_batcher(eigh_p)


# -- svd ------------------------------------------------------------------------------------
svd_p = Primitive("svd", multiple_results=True)


def _svd_abstract_eval(x: ShapedArray, *, full_matrices: bool, compute_uv: bool) -> list:
    _check_matrix("svd", x)
    *batch, m, n = x.shape
    batch = tuple(batch)
    k = min(m, n)
    s = ShapedArray(batch + (k,), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray(batch + (m, ku), x.dtype), ShapedArray(batch + (kv, n), x.dtype)]


def _svd_to_jax(x, *, full_matrices, compute_uv):
    if compute_uv:
        u, s, vh = _jlinalg.svd(x, full_matrices=full_matrices, compute_uv=True)
        return [s, u, vh]
    return [_jlinalg.svd(x, full_matrices=full_matrices, compute_uv=False)]


abstract_eval[svd_p] = _svd_abstract_eval
to_jax[svd_p] = _svd_to_jax


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    # A = U S V^H (thin). With dP = U^H dA V: ds = real(diag(dP)),
    # dU = U (F * (dP S + S dP^H)) [+ (I - U U^H) dA V S^-1 when m > n],
    # dV = V (F * (S dP + dP^H S)) [+ (I - V V^H) dA^H U S^-1 when n > m],
    # F[i, j] = 1 / (s_j^2 - s_i^2) off the diagonal (singular values distinct and nonzero).
    (x,), (x_dot,) = primals, tangents
    aval = to_aval(x)
    *_, m, n = aval.shape
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "The derivative of svd with full_matrices=True is not implemented for non-square "
            f"matrices (got shape {shape_str(aval.shape)}); pass full_matrices=False.")
    s, u, vh = svd_p.bind(x, full_matrices=False, compute_uv=True)
    dtype = aval.dtype
    v = _H(vh)
    dp = _mm(_mm(_H(u), x_dot), v)
    s_dot = _real(_diag(dp))
    if not compute_uv:
        return [s], [s_dot]
    k = min(m, n)
    sq_shape = to_aval(s).shape + (k,)
    s_cast = ew.convert_element_type(s, dtype)
    s_row = _across_rows(s_cast, sq_shape)   # s[j]
    s_col = _across_cols(s_cast, sq_shape)   # s[i]
    f = _inv_gaps(ew.mul(s, s), dtype)
    dps = ew.mul(dp, s_row)            # dP S
    sdp = ew.mul(s_col, dp)            # S dP
    u_dot = _mm(u, ew.mul(f, ew.add(dps, _H(dps))))
    v_dot = _mm(v, ew.mul(f, ew.add(sdp, _H(sdp))))
    if _is_complex(x):  # the phase freedom of each singular pair, fixed as JAX fixes it
        s_inv = ew.div(sh.full((), 1, dtype), s_row)
        eye = _eye_like(sq_shape, dtype)
        half = sh.full((), 0.5, dtype)
        u_dot = ew.add(u_dot, _mm(u, ew.mul(ew.mul(half, ew.sub(dp, _H(dp))),
                                            ew.mul(eye, s_inv))))
    if m > n:
        dav = _mm(x_dot, v)
        rest = ew.sub(dav, _mm(u, _mm(_H(u), dav)))
        u_dot = ew.add(u_dot, ew.div(rest, _across_rows(s_cast, to_aval(rest).shape)))
    if n > m:
        dahu = _mm(_H(x_dot), u)
        rest = ew.sub(dahu, _mm(v, _mm(vh, dahu)))
        v_dot = ew.add(v_dot, ew.div(rest, _across_rows(s_cast, to_aval(rest).shape)))
    return [s, u, vh], [s_dot, u_dot, _H(v_dot)]


jvp_rules[svd_p] = _svd_jvp
batch_rules[svd_p] = _front_batcher(svd_p)


# -- the public functions, as jax.lax.linalg ------------------------------------------------
def cholesky(x: Any, *, symmetrize_input: bool = True) -> Any:
    """Lower-triangular ``L`` with ``x = L @ L^H`` for positive-definite ``x`` ``[..., n, n]``.

    With ``symmetrize_input`` the factorization is of ``(x + x^H) / 2``, which also makes the
    derivative symmetric in the input.
    """
    x = sh._asarray(x)
    if symmetrize_input:
        x = _symmetrize(x)
    return cholesky_p.bind(x)


def _symmetrize(x: Any) -> Any:
    aval = to_aval(x)
    _check_matrix("symmetrize", aval, square=True)
    return ew.div(ew.add(x, _H(x)), sh.full((), 2, aval.dtype))


def triangular_solve(a: Any, b: Any, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False) -> Any:
    """Solve ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b`` for triangular ``a``.

    ``op`` transposes when ``transpose_a`` and conjugates when ``conjugate_a``; only the
    ``lower`` (or upper) triangle of ``a`` is read, its diagonal taken as ones with
    ``unit_diagonal``. Batch dimensions of ``a`` and ``b`` lead and must match.
    """
    a, b = sh._asarray(a), sh._asarray(b)
    conjugate_a = bool(conjugate_a) and _is_complex(a)
    return triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                   transpose_a=bool(transpose_a), conjugate_a=conjugate_a,
                                   unit_diagonal=bool(unit_diagonal))


def lu(x: Any) -> list:
    """LU decomposition with partial pivoting: ``(lu, pivots, permutation)`` with
    ``x[..., permutation, :] == L @ U``; ``L`` (unit diagonal) and ``U`` packed in ``lu``."""
    return list(lu_p.bind(sh._asarray(x)))


def qr(x: Any, *, pivoting: bool = False, full_matrices: bool = True,
       use_magma: bool | None = None) -> tuple:
    """QR decomposition ``x = q @ r``: ``q`` with orthonormal columns, ``r`` upper triangular
    (``full_matrices`` gives square ``q``). With ``pivoting`` it is LAPACK's column-pivoted,
    rank-revealing QR (``geqp3``), returned as ``(q, r, p)`` with ``x[..., p] = q @ r`` (``p``
    int32); its derivative is the unpivoted one at the permuted columns, as in JAX.
    ``use_magma`` (a GPU library choice) is ignored."""
    del use_magma
    return tuple(qr_p.bind(sh._asarray(x), pivoting=bool(pivoting),
                           full_matrices=bool(full_matrices)))


def eigh(x: Any, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index: Any = None) -> tuple[Any, Any]:
    """Eigenvectors ``v`` and eigenvalues ``w`` (ascending) of Hermitian ``x``:
    ``x = v @ diag(w) @ v^H``. Returns ``(v, w)`` as ``jax.lax.linalg.eigh`` does."""
    if subset_by_index is not None:
        raise NotImplementedError("xform.lax.linalg.eigh does not support subset_by_index.")
    x = sh._asarray(x)
    if symmetrize_input:
        x = _symmetrize(x)
    return tuple(eigh_p.bind(x, lower=bool(lower), sort_eigenvalues=bool(sort_eigenvalues)))


def svd(x: Any, *, full_matrices: bool = True, compute_uv: bool = True,
        subset_by_index: Any = None, algorithm: Any = None) -> Any:
    """Singular value decomposition ``x = u @ diag(s) @ vh``: ``(u, s, vh)``, or only ``s``
    (descending) when not ``compute_uv``."""
    if subset_by_index is not None:
        raise NotImplementedError("xform.lax.linalg.svd does not support subset_by_index.")
    out = svd_p.bind(sh._asarray(x), full_matrices=bool(full_matrices),
                     compute_uv=bool(compute_uv))
    if compute_uv:
        s, u, vh = out
        return u, s, vh
    return out[0]


# -- eig (general square matrices; JAX computes it on CPU) -----------------------------------
eig_p = Primitive("eig", multiple_results=True)


def _complex_dtype(dtype: Any) -> np.dtype:
    return np.result_type(dtype, np.complex64)


def _eig_abstract_eval(x: ShapedArray, *, compute_left_eigenvectors: bool,
                       compute_right_eigenvectors: bool) -> list:
    _check_matrix("eig", x, square=True)
    cdt = _complex_dtype(x.dtype)
    vecs = [ShapedArray(x.shape, cdt)] * (int(compute_left_eigenvectors)
                                         + int(compute_right_eigenvectors))
    return [ShapedArray(x.shape[:-1], cdt), *vecs]


abstract_eval[eig_p] = _eig_abstract_eval
to_jax[eig_p] = lambda x, **params: list(_jlinalg.eig(x, **params))


def _eig_jvp(primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors):
    if compute_left_eigenvectors or compute_right_eigenvectors:
        raise NotImplementedError(
            "The derivatives of eigenvectors are not implemented, only eigenvalues (as in JAX): "
            "differentiate xform.numpy.linalg.eigvals, or eig with both compute_* False.")
    # A = V diag(w) V^-1  =>  dw = diag(V^-1 dA V)
    (x,), (x_dot,) = primals, tangents
    w, v = eig_p.bind(x, compute_left_eigenvectors=False, compute_right_eigenvectors=True)
    x_dot = ew.convert_element_type(x_dot, to_aval(v).dtype)
    return [w], [_diag(_mm(_solve(v, x_dot), v))]


def _solve(a: Any, b: Any) -> Any:
    """``a^-1 b`` for square ``a`` (leading axes batch), through its pivoted LU."""
    lu_, _, perm = lu_p.bind(a)
    y = triangular_solve(lu_, _permute_rows(b, perm), left_side=True, lower=True,
                         unit_diagonal=True)
    return triangular_solve(lu_, y, left_side=True, lower=False)


jvp_rules[eig_p] = _eig_jvp
batch_rules[eig_p] = _front_batcher(eig_p)


def eig(x: Any, *, compute_left_eigenvectors: bool = True,
        compute_right_eigenvectors: bool = True, use_magma: bool | None = None) -> list:
    """Eigenvalues (complex) of a general square ``x``, then its left and right eigenvectors
    as requested: ``[w, vl, vr]``, as ``jax.lax.linalg.eig`` (CPU only, like JAX's)."""
    return list(eig_p.bind(sh._asarray(x),
                           compute_left_eigenvectors=bool(compute_left_eigenvectors),
                           compute_right_eigenvectors=bool(compute_right_eigenvectors)))


# -- lu_pivots_to_permutation ---------------------------------------------------------------
lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")


def _lu_pivots_abstract_eval(pivots: ShapedArray, *, permutation_size: int) -> ShapedArray:
    if pivots.dtype != np.int32 or pivots.ndim < 1:
        raise TypeError(f"lu_pivots_to_permutation expects int32 pivots of rank >= 1, got "
                        f"{pivots.str_short()}.")
    if permutation_size < pivots.shape[-1]:
        raise ValueError(f"Output permutation size {permutation_size} has to exceed the "
                         f"trailing dimension of the pivots. Got pivots size "
                         f"{pivots.shape[-1]}")
    return ShapedArray((*pivots.shape[:-1], permutation_size), np.dtype(np.int32))


abstract_eval[lu_pivots_to_permutation_p] = _lu_pivots_abstract_eval
to_jax[lu_pivots_to_permutation_p] = (
    lambda pivots, *, permutation_size: _jlinalg.lu_pivots_to_permutation(pivots,
                                                                          permutation_size))
defjvp_zero(lu_pivots_to_permutation_p)


def _lu_pivots_batch(axis_size, vals, dims, **params):
    (x,), (d,) = vals, dims
    return lu_pivots_to_permutation_p.bind(moveaxis(x, d, 0), **params), 0


batch_rules[lu_pivots_to_permutation_p] = _lu_pivots_batch


def lu_pivots_to_permutation(pivots: Any, permutation_size: int) -> Any:
    """The permutation (int32) that LAPACK-style row-swap ``pivots`` apply to
    ``arange(permutation_size)``, as ``jax.lax.linalg.lu_pivots_to_permutation``."""
    return lu_pivots_to_permutation_p.bind(sh._asarray(pivots),
                                           permutation_size=int(permutation_size))


# The rest of jax.lax.linalg lives in linalg_more.py (it builds on the helpers above); its names
# are this module's too. Imported last: linalg_more imports from this module.
from xform.lax.linalg_more import (  # noqa: E402
    EigImplementation as EigImplementation, EighImplementation as EighImplementation,
    SvdAlgorithm as SvdAlgorithm, cholesky_update as cholesky_update,
    cholesky_update_p as cholesky_update_p, hessenberg as hessenberg, hessenberg_p as hessenberg_p,
    householder_product as householder_product, householder_product_p as householder_product_p,
    ormqr as ormqr, ormqr_p as ormqr_p, qdwh as qdwh, schur as schur, schur_p as schur_p,
    symmetric_product as symmetric_product, symmetric_product_p as symmetric_product_p,
    tridiagonal as tridiagonal, tridiagonal_p as tridiagonal_p,
    tridiagonal_solve as tridiagonal_solve, tridiagonal_solve_p as tridiagonal_solve_p,
)

__all__ += ["EigImplementation", "EighImplementation", "SvdAlgorithm", "cholesky_update",
            "cholesky_update_p", "hessenberg", "hessenberg_p", "householder_product",
            "householder_product_p", "ormqr", "ormqr_p", "qdwh", "schur", "schur_p",
            "symmetric_product", "symmetric_product_p", "tridiagonal", "tridiagonal_p",
            "tridiagonal_solve", "tridiagonal_solve_p"]
