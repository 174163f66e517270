"""More of ``jax.lax.linalg``: ``schur``, ``hessenberg``, ``tridiagonal``, ``householder_product``,
``ormqr``, ``cholesky_update``, ``symmetric_product``, ``tridiagonal_solve`` (primitives), the
polar decomposition ``qdwh`` (written with lax operations) and JAX's algorithm enums.

Each primitive lowers to the matching ``jax.lax.linalg`` call and takes leading batch
dimensions, so its batch rule moves (or broadcasts) the vmapped axis to the front of every
operand. Derivatives follow JAX: ``tridiagonal_solve`` is differentiable in every operand and
linear in its right-hand side (a transpose rule); ``symmetric_product`` is a polynomial and gets
its JVP; the factorizations ``schur``, ``hessenberg``, ``tridiagonal``, ``householder_product``,
``ormqr`` and ``cholesky_update`` have no derivative in JAX, and their JVP rules raise JAX's
``NotImplementedError`` (docs/primitives.md lists them as documented exceptions).

``schur``, ``hessenberg`` and ``tridiagonal`` are LAPACK calls that JAX implements on CPU (and
GPU for ``tridiagonal``) only, as in JAX.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from xform.core.avals import ShapedArray
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, bdim_at_front, moveaxis, not_mapped
from xform.interpreters.jvp import Zero, add_tangents, instantiate, jvp_rules
from xform.interpreters.lowering import to_jax
from xform.interpreters.transpose import is_undefined, transpose_rules
from xform.lax import elementwise as ew
from xform.lax import shape as sh
from xform.lax import slicing as sl
from xform.lax._helpers import FLOAT, check_dtype, shape_str
from xform.lax.control_flow import while_loop
from xform.lax.linalg import (
    _H, _check_matrix, _eye_like, _front_batcher, _mm, _real_dtype, _tril, cholesky, qr,
    triangular_solve,
)
from xform.lax.reductions import reduce_max, reduce_sum

__all__ = ["EigImplementation", "EighImplementation", "SvdAlgorithm", "cholesky_update",
           "cholesky_update_p", "hessenberg", "hessenberg_p", "householder_product",
           "householder_product_p", "ormqr", "ormqr_p", "qdwh", "schur", "schur_p",
           "symmetric_product", "symmetric_product_p", "tridiagonal", "tridiagonal_p",
           "tridiagonal_solve", "tridiagonal_solve_p"]

_jlinalg = jax.lax.linalg

# JAX's algorithm choices, the same enum objects, so a value passes straight through to JAX
EigImplementation = _jlinalg.EigImplementation
EighImplementation = _jlinalg.EighImplementation
SvdAlgorithm = _jlinalg.SvdAlgorithm


def _no_derivative(name: str):
    """The JVP rule of a factorization JAX does not differentiate: JAX's error, with the fix."""
    def rule(primals, tangents, **params):
        raise NotImplementedError(
            f"Differentiation rule for '{name}' not implemented (JAX has none either): wrap the "
            "computation in xform.custom_jvp / custom_vjp to give it a derivative.")
    return rule


def _all_front_batcher(prim: Primitive, multiple_results: bool = False):
    """Batch rule of a primitive whose operands all take leading batch dimensions: every
    operand gets the vmapped axis first (unbatched ones broadcast to it)."""
    def rule(axis_size, vals, dims, **params):
        vals = [bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
        out = prim.bind(*vals, **params)
        return (out, [0] * len(out)) if multiple_results else (out, 0)
    return rule


def _same_batch(name: str, *avals: ShapedArray, ranks: tuple) -> tuple:
    batch = avals[0].shape[:avals[0].ndim - ranks[0]]
    for a, r in zip(avals, ranks):
        if a.ndim < r or a.shape[:a.ndim - r] != batch:
            shapes = ", ".join(shape_str(b.shape) for b in avals)
            raise ValueError(f"{name}: the operands must share their leading (batch) dimensions "
                             f"and have ranks {ranks} after them; got shapes {shapes}.")
    return batch


def _same_dtype(name: str, *avals: ShapedArray) -> None:
    if len({np.dtype(a.dtype) for a in avals}) != 1:
        raise TypeError(f"{name} requires arguments of one dtype; got "
                        f"{', '.join(str(a.dtype) for a in avals)}.")


# -- schur ------------------------------------------------------------------------------------
schur_p = Primitive("schur", multiple_results=True)


def _schur_abstract_eval(x: ShapedArray, *, compute_schur_vectors, sort_eig_vals,
                         select_callable) -> list:
    _check_matrix("schur", x, square=True)
    return [x.update(weak_type=False)] * (2 if compute_schur_vectors else 1)


abstract_eval[schur_p] = _schur_abstract_eval
to_jax[schur_p] = lambda x, **params: list(_as_tuple(_jlinalg.schur(x, **params)))
jvp_rules[schur_p] = _no_derivative("schur")
batch_rules[schur_p] = _front_batcher(schur_p)


def _as_tuple(out: Any) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def schur(x: Any, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable: Any = None) -> Any:
    """The Schur decomposition ``x = Q T Q^H`` of square matrices (CPU only, as JAX): returns
    ``(T, Q)``, or only ``T`` when ``compute_schur_vectors`` is False."""
    out = schur_p.bind(sh._asarray(x), compute_schur_vectors=bool(compute_schur_vectors),
                       sort_eig_vals=bool(sort_eig_vals), select_callable=select_callable)
    return tuple(out) if compute_schur_vectors else out[0]


# -- hessenberg -------------------------------------------------------------------------------
hessenberg_p = Primitive("hessenberg", multiple_results=True)


def _hessenberg_abstract_eval(a: ShapedArray) -> list:
    _check_matrix("hessenberg", a, square=True)
    taus = ShapedArray(a.shape[:-2] + (a.shape[-1] - 1,), a.dtype)
    return [a.update(weak_type=False), taus]


abstract_eval[hessenberg_p] = _hessenberg_abstract_eval
to_jax[hessenberg_p] = lambda a: list(_jlinalg.hessenberg(a))
jvp_rules[hessenberg_p] = _no_derivative("hessenberg")
batch_rules[hessenberg_p] = _front_batcher(hessenberg_p)


def hessenberg(a: Any) -> tuple:
    """Reduction of square matrices to upper Hessenberg form (CPU only, as JAX): ``(h, taus)``,
    the Hessenberg matrix in the upper triangle and first subdiagonal of ``h``, the Householder
    reflectors below it with their scalar factors ``taus``."""
    return tuple(hessenberg_p.bind(sh._asarray(a)))


# -- tridiagonal ------------------------------------------------------------------------------
tridiagonal_p = Primitive("tridiagonal", multiple_results=True)


def _tridiagonal_abstract_eval(a: ShapedArray, *, lower: bool) -> list:
    _check_matrix("tridiagonal", a, square=True)
    n = a.shape[-1]
    if n == 0:
        raise ValueError(f"The input to tridiagonal must be a square matrix. Got shape "
                         f"{shape_str(a.shape)}.")
    batch = a.shape[:-2]
    real = _real_dtype(a.dtype)
    return [a.update(weak_type=False), ShapedArray(batch + (n,), real),
            ShapedArray(batch + (n - 1,), real), ShapedArray(batch + (n - 1,), a.dtype)]


abstract_eval[tridiagonal_p] = _tridiagonal_abstract_eval
to_jax[tridiagonal_p] = lambda a, *, lower: list(_jlinalg.tridiagonal(a, lower=lower))
jvp_rules[tridiagonal_p] = _no_derivative("tridiagonal")
batch_rules[tridiagonal_p] = _front_batcher(tridiagonal_p)


def tridiagonal(a: Any, *, lower: bool = True) -> tuple:
    """Reduction of symmetric/Hermitian matrices to tridiagonal form (CPU and GPU, as JAX):
    ``(a, d, e, taus)`` with the diagonal ``d``, the off-diagonal ``e`` and the Householder
    reflectors in ``a`` and ``taus``; ``lower`` picks the triangle that is read."""
    return tuple(tridiagonal_p.bind(sh._asarray(a), lower=bool(lower)))


# -- householder_product ----------------------------------------------------------------------
householder_product_p = Primitive("householder_product")


def _householder_product_abstract_eval(a: ShapedArray, taus: ShapedArray) -> ShapedArray:
    _check_matrix("householder_product", a)
    _same_dtype("householder_product", a, taus)
    _same_batch("householder_product", a, taus, ranks=(2, 1))
    m, n = a.shape[-2:]
    if m < n:
        raise ValueError("The first argument to householder_product must have at least as many "
                         f"rows as columns, got shape {shape_str(a.shape)}")
    if taus.shape[-1] > min(m, n):
        raise ValueError("The second argument to householder_product must not have more rows "
                         "than the minimum of the first argument's rows and columns.")
    return a.update(weak_type=False)


abstract_eval[householder_product_p] = _householder_product_abstract_eval
to_jax[householder_product_p] = _jlinalg.householder_product
jvp_rules[householder_product_p] = _no_derivative("householder_product")
batch_rules[householder_product_p] = _all_front_batcher(householder_product_p)


def householder_product(a: Any, taus: Any) -> Any:
    """The product of the elementary Householder reflectors stored in the lower triangle of
    ``a`` (shape ``[..., m, n]``) with scalar factors ``taus`` (``[..., k]``): the orthogonal
    (unitary) matrix ``Q`` of ``a``'s shape."""
    return householder_product_p.bind(sh._asarray(a), sh._asarray(taus))


# -- ormqr ------------------------------------------------------------------------------------
ormqr_p = Primitive("ormqr")


def _ormqr_abstract_eval(a: ShapedArray, taus: ShapedArray, c: ShapedArray, *, left: bool,
                         transpose: bool) -> ShapedArray:
    _check_matrix("ormqr", a)
    _check_matrix("ormqr", c)
    _same_dtype("ormqr", a, taus, c)
    _same_batch("ormqr", a, taus, c, ranks=(2, 1, 2))
    m = a.shape[-2]
    if left and c.shape[-2] != m:
        raise ValueError("ormqr with left=True expects c to have the same number of rows as the "
                         f"Householder matrix a. Got a shape {shape_str(a.shape)} and c shape "
                         f"{shape_str(c.shape)}.")
    if not left and c.shape[-1] != m:
        raise ValueError("ormqr with left=False expects c to have the same number of columns as "
                         f"the Householder matrix a has rows. Got a shape {shape_str(a.shape)} "
                         f"and c shape {shape_str(c.shape)}.")
    return c.update(weak_type=False)


abstract_eval[ormqr_p] = _ormqr_abstract_eval
to_jax[ormqr_p] = lambda a, taus, c, *, left, transpose: _jlinalg.ormqr(
    a, taus, c, left=left, transpose=transpose)
jvp_rules[ormqr_p] = _no_derivative("ormqr")
batch_rules[ormqr_p] = _all_front_batcher(ormqr_p)


def ormqr(a: Any, taus: Any, c: Any, *, left: bool = True, transpose: bool = False) -> Any:
    """``Q @ c`` (``left``) or ``c @ Q`` with ``Q = householder_product(a, taus)`` (``Q^H``
    when ``transpose``), without forming ``Q``."""
    return ormqr_p.bind(sh._asarray(a), sh._asarray(taus), sh._asarray(c), left=bool(left),
                        transpose=bool(transpose))


# -- cholesky_update --------------------------------------------------------------------------
cholesky_update_p = Primitive("cholesky_update")


def _cholesky_update_abstract_eval(r: ShapedArray, w: ShapedArray) -> ShapedArray:
    _check_matrix("cholesky_update", r, square=True)
    _same_dtype("cholesky_update", r, w)
    _same_batch("cholesky_update", r, w, ranks=(2, 1))
    if w.shape[-1] != r.shape[-1]:
        raise ValueError("Rank-1 update to Cholesky decomposition takes a square matrix and a "
                         f"vector of the same size as input. Got shapes {shape_str(r.shape)} "
                         f"and {shape_str(w.shape)} instead")
    return r.update(weak_type=False)


abstract_eval[cholesky_update_p] = _cholesky_update_abstract_eval
to_jax[cholesky_update_p] = _jlinalg.cholesky_update
jvp_rules[cholesky_update_p] = _no_derivative("cholesky_update")


def _cholesky_update_batch(axis_size, vals, dims):
    # JAX's lowering handles one matrix at a time: a batch is a loop over its matrices
    r, w = (bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims))
    rows = [cholesky_update_p.bind(sl.index_in_dim(r, i, 0, False),
                                   sl.index_in_dim(w, i, 0, False)) for i in range(axis_size)]
    return sl.concatenate([sh.expand_dims(x, (0,)) for x in rows], 0), 0


batch_rules[cholesky_update_p] = _cholesky_update_batch


def cholesky_update(r_matrix: Any, w_vector: Any) -> Any:
    """The upper Cholesky factor of ``R^T R + w w^T`` from the upper factor ``R`` of ``A``, in
    O(n^2) (Givens rotations)."""
    return cholesky_update_p.bind(sh._asarray(r_matrix), sh._asarray(w_vector))


# -- symmetric_product ------------------------------------------------------------------------
symmetric_product_p = Primitive("symmetric_product")


def _symmetric_product_abstract_eval(a: ShapedArray, c: ShapedArray, *, alpha,
                                     beta) -> ShapedArray:
    check_dtype("symmetric_product", a, FLOAT)
    _same_dtype("symmetric_product", a, c)
    _same_batch("symmetric_product", a, c, ranks=(2, 2))
    if a.shape[-2] != c.shape[-1] or c.shape[-2] != c.shape[-1]:
        raise ValueError("symmetric_update expects a rectangular matrix of shape (m, n) and a "
                         f"square matrix of shape (n, n). Got shapes {shape_str(a.shape)} and "
                         f"{shape_str(c.shape)}.")
    return c.update(weak_type=False)


def _symmetric_product_jvp(primals, tangents, *, alpha, beta):
    a, c = primals
    a_dot, c_dot = tangents
    out = symmetric_product_p.bind(a, c, alpha=alpha, beta=beta)
    dtype = to_aval(out).dtype
    t = Zero(to_aval(out))
    if not isinstance(a_dot, Zero):
        prod = _mm(a_dot, _transpose_last2(a))
        t = add_tangents(t, ew.mul(sh.full((), alpha, dtype),
                                   ew.add(prod, _transpose_last2(prod))))
    if not isinstance(c_dot, Zero):
        t = add_tangents(t, ew.mul(sh.full((), beta, dtype), c_dot))
    return out, t


def _transpose_last2(x: Any) -> Any:
    nd = to_aval(x).ndim
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


abstract_eval[symmetric_product_p] = _symmetric_product_abstract_eval
to_jax[symmetric_product_p] = lambda a, c, *, alpha, beta: _jlinalg.symmetric_product(
    a, c, alpha=alpha, beta=beta)
jvp_rules[symmetric_product_p] = _symmetric_product_jvp
batch_rules[symmetric_product_p] = _all_front_batcher(symmetric_product_p)


def symmetric_product(a_matrix: Any, c_matrix: Any, *, alpha: float = 1.0, beta: float = 0.0,
                      symmetrize_output: bool = False) -> Any:
    """``alpha * A @ A^T + beta * C`` for symmetric ``C``. Only the lower triangle is certain on
    every platform; ``symmetrize_output`` mirrors it into the upper one."""
    out = symmetric_product_p.bind(sh._asarray(a_matrix), sh._asarray(c_matrix),
                                   alpha=float(alpha), beta=float(beta))
    if symmetrize_output:
        out = ew.add(_tril(out), _transpose_last2(_tril(out, -1)))
    return out


# -- tridiagonal_solve ------------------------------------------------------------------------
tridiagonal_solve_p = Primitive("tridiagonal_solve")


def _tridiagonal_solve_abstract_eval(dl, d, du, b, *, perturb_singular) -> ShapedArray:
    for name, x in (("dl", dl), ("d", d), ("du", du), ("b", b)):
        check_dtype(f"tridiagonal_solve argument {name}", x, FLOAT)
    _same_dtype("tridiagonal_solve", dl, d, du, b)
    if dl.shape != d.shape or dl.shape != du.shape:
        raise TypeError("tridiagonal_solve requires that all diagonal arguments have the same "
                        f"shape; got dl {shape_str(dl.shape)}, d {shape_str(d.shape)}, du "
                        f"{shape_str(du.shape)}.")
    if b.ndim < 2 or dl.shape != b.shape[:-1]:
        raise TypeError("tridiagonal_solve requires that the leading ndim-1 dimensions of b "
                        f"equal the dimensions of the diagonal arguments; got b "
                        f"{shape_str(b.shape)} and diagonals {shape_str(d.shape)}.")
    return b.update(weak_type=False)


def _tridiagonal_matmul(dl, d, du, x):
    """``A @ x`` for the tridiagonal ``A`` given by its three diagonals."""
    nd = to_aval(x).ndim
    m = to_aval(x).shape[-2]
    cols = tuple(range(nd - 1))

    def col(v):
        return sh.broadcast_in_dim(v, to_aval(x).shape, cols)

    y = ew.mul(col(d), x)
    if m > 1:
        lower = ew.mul(col(dl), _shift_rows(x, 1))     # dl[i] * x[i-1]
        upper = ew.mul(col(du), _shift_rows(x, -1))    # du[i] * x[i+1]
        y = ew.add(ew.add(y, lower), upper)
    return y


def _shift_rows(x, k):
    """``x`` shifted by ``k`` rows along axis -2, zeros filling in (``k > 0``: down)."""
    a = to_aval(x)
    m = a.shape[-2]
    cfg = [(0, 0, 0)] * a.ndim
    start, limit = [0] * a.ndim, list(a.shape)
    if k > 0:
        limit[-2] = m - k
        cfg[-2] = (k, 0, 0)
    else:
        start[-2] = -k
        cfg[-2] = (0, -k, 0)
    return sl.pad(sl.slice(x, start, limit), sh.full((), 0, a.dtype), cfg)


def _tridiagonal_solve_jvp(primals, tangents, *, perturb_singular):
    dl, d, du, b = primals
    *diag_dots, b_dot = tangents
    ans = tridiagonal_solve_p.bind(dl, d, du, b, perturb_singular=perturb_singular)
    if all(isinstance(t, Zero) for t in diag_dots):
        rhs = b_dot
    else:
        dots = [instantiate(t) for t in diag_dots]
        rhs = add_tangents(b_dot, ew.neg(_tridiagonal_matmul(*dots, ans)))
    if isinstance(rhs, Zero):
        return ans, Zero(to_aval(ans))
    return ans, tridiagonal_solve_p.bind(dl, d, du, rhs, perturb_singular=perturb_singular)


def _tridiagonal_solve_transpose(ct, dl, d, du, b, *, perturb_singular):
    # linear in b only; A^T has the sub- and super-diagonals swapped (and shifted by one)
    if is_undefined(dl) or is_undefined(d) or is_undefined(du):
        raise NotImplementedError("tridiagonal_solve is linear in b only, not in its diagonals")
    if isinstance(ct, Zero):
        return [None, None, None, Zero(b.aval)]
    n = to_aval(d).shape[-1]
    dl_t = _shift_last(du, 1, n)      # A^T[i, i-1] = A[i-1, i] = du[i-1]
    du_t = _shift_last(dl, -1, n)     # A^T[i, i+1] = A[i+1, i] = dl[i+1]
    return [None, None, None, tridiagonal_solve_p.bind(dl_t, d, du_t, ct,
                                                       perturb_singular=perturb_singular)]


def _shift_last(v, k, n):
    a = to_aval(v)
    start, limit = [0] * a.ndim, list(a.shape)
    cfg = [(0, 0, 0)] * a.ndim
    if k > 0:
        limit[-1] = n - k
        cfg[-1] = (k, 0, 0)
    else:
        start[-1] = -k
        cfg[-1] = (0, -k, 0)
    return sl.pad(sl.slice(v, start, limit), sh.full((), 0, a.dtype), cfg)


def _tridiagonal_solve_batch(axis_size, vals, dims, *, perturb_singular):
    dl, d, du, b = vals
    ddl, dd, ddu, db = dims
    if ddl is not_mapped and dd is not_mapped and ddu is not_mapped:
        # one system for every example: the batch joins b's columns, one solve
        b = moveaxis(b, db, -2)
        shape = to_aval(b).shape
        flat = sh.reshape(b, shape[:-2] + (shape[-2] * shape[-1],))
        out = tridiagonal_solve_p.bind(dl, d, du, flat, perturb_singular=perturb_singular)
        return sh.reshape(out, shape), len(shape) - 2
    vals = [bdim_at_front(v, k, axis_size) for v, k in zip(vals, dims)]
    return tridiagonal_solve_p.bind(*vals, perturb_singular=perturb_singular), 0


abstract_eval[tridiagonal_solve_p] = _tridiagonal_solve_abstract_eval
to_jax[tridiagonal_solve_p] = lambda dl, d, du, b, *, perturb_singular: (
    _jlinalg.tridiagonal_solve(dl, d, du, b, perturb_singular=perturb_singular))
jvp_rules[tridiagonal_solve_p] = _tridiagonal_solve_jvp
transpose_rules[tridiagonal_solve_p] = _tridiagonal_solve_transpose
batch_rules[tridiagonal_solve_p] = _tridiagonal_solve_batch


def tridiagonal_solve(dl: Any, d: Any, du: Any, b: Any, *,
                      perturb_singular: bool = False) -> Any:
    """The solution ``X`` of ``A X = B`` for the tridiagonal ``A`` with sub-diagonal ``dl``
    (``dl[0] = 0``), diagonal ``d`` and super-diagonal ``du`` (``du[-1] = 0``), all
    ``[..., m]``, and ``b`` of shape ``[..., m, k]``."""
    return tridiagonal_solve_p.bind(sh._asarray(dl), sh._asarray(d), sh._asarray(du),
                                    sh._asarray(b), perturb_singular=bool(perturb_singular))


# -- qdwh -------------------------------------------------------------------------------------
def _norm_1_inf(x):
    ax = ew.abs(x)
    return reduce_max(reduce_sum(ax, (0,)), (0,)), reduce_max(reduce_sum(ax, (1,)), (0,))


def _frobenius(x):
    ax = ew.abs(x)
    return ew.sqrt(reduce_sum(ew.mul(ax, ax), (0, 1)))


def _scalar(v, dtype):
    return sh.full((), v, dtype)


def _halley_cholesky_step(u, a_minus_e, c, e):
    """``e u + (a - e) u (c u^H u + I)^-1``, through a Cholesky factor of the Gram matrix."""
    dtype = to_aval(u).dtype
    n = to_aval(u).shape[1]
    gram = ew.add(ew.mul(c, _mm(_H(u), u)), _eye_like((n, n), dtype))
    y = cholesky(gram, symmetrize_input=False)
    z = triangular_solve(y, _transpose_last2(u), left_side=True, lower=True, conjugate_a=True)
    z = _conj(z)
    z = _H(triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                            conjugate_a=True))
    return ew.add(ew.mul(e, u), ew.mul(a_minus_e, z))


def _halley_qr_step(u, a_minus_e_by_sqrt_c, sqrt_c, e):
    """The same step through a QR factorization of ``[sqrt(c) u; I]`` (better conditioned
    while ``c`` is large)."""
    dtype = to_aval(u).dtype
    m, n = to_aval(u).shape
    y = sl.concatenate([ew.mul(sqrt_c, u), _eye_like((n, n), dtype)], 0)
    q, _ = qr(y, full_matrices=False)
    q1 = sl.slice(q, (0, 0), (m, n))
    q2 = _H(sl.slice(q, (m, 0), (m + n, n)))
    return ew.add(ew.mul(e, u), ew.mul(a_minus_e_by_sqrt_c, _mm(q1, q2)))


def _conj(x):
    return ew.conj(x) if np.issubdtype(to_aval(x).dtype, np.complexfloating) else x


def qdwh(x: Any, *, is_hermitian: bool = False, max_iterations: int | None = None,
         eps: float | None = None, dynamic_shape: tuple[int, int] | None = None) -> tuple:
    """The polar decomposition ``x = u h`` of a full-rank ``M x N`` matrix (``M >= N``) by the
    QR-based dynamically weighted Halley iteration: returns ``(u, h, num_iters,
    is_converged)``. The weights of the first iterations are computed ahead (they depend only
    on ``eps``); the rest iterate until ``|u_k - u_{k-1}| < (5 eps)^(1/3)`` or
    ``max_iterations``."""
    x = sh._asarray(x)
    if dynamic_shape is not None:
        raise NotImplementedError("qdwh: dynamic_shape (padded inputs) is not supported by "
                                  "xform; slice the matrix to its true shape first.")
    max_iterations = 10 if max_iterations is None else int(max_iterations)
    aval = to_aval(x)
    if aval.ndim != 2:
        raise ValueError(f"qdwh expects one matrix, got shape {shape_str(aval.shape)}.")
    big_m, big_n = aval.shape
    if big_m < big_n:
        raise ValueError("The input matrix of shape M x N must have M >= N.")
    dtype = aval.dtype
    real = _real_dtype(dtype)
    eps = float(np.finfo(dtype).eps) if eps is None else float(eps)

    one_norm, inf_norm = _norm_1_inf(x)
    alpha_inv = ew.mul(ew.rsqrt(one_norm), ew.rsqrt(inf_norm))
    alpha_inv = ew.select(ew.eq(one_norm, _scalar(0, real)), _scalar(1, real), alpha_inv)
    u = ew.mul(x, ew.convert_element_type(alpha_inv, dtype))

    # the weights (a, b, c) follow from the lower bound l of the singular values alone
    lower, tol_l = eps, 10.0 * eps / 2.0
    tol_norm = float(np.cbrt(tol_l))
    steps, k = [], 0
    while lower + tol_l < 1 and k < max_iterations:
        k += 1
        l2 = lower * lower
        dd = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + dd) ** 0.5
        a = sqd + (2 - dd + 2 * (2 - l2) / (l2 * sqd)) ** 0.5
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        lower = lower * (a + b * l2) / (1 + c * l2)
        steps.append((a, b, c))

    not_converged = _scalar(True, np.bool_)
    for a, b, c in steps:
        e = b / c
        prev = u
        if c > 100:
            u = _halley_qr_step(u, *(_scalar(v, dtype) for v in
                                     ((a - e) / c ** 0.5, c ** 0.5, e)))
        else:
            u = _halley_cholesky_step(u, *(_scalar(v, dtype) for v in (a - e, c, e)))
            not_converged = ew.gt(_frobenius(ew.sub(u, prev)), _scalar(tol_norm, real))

    def cond(state):
        i, _, nc = state
        return ew.bitwise_and(nc, ew.lt(i, sh.full((), max_iterations)))

    def body(state):
        i, u, _ = state
        new = _halley_cholesky_step(u, *(_scalar(v, dtype) for v in (8.0 / 3, 3.0, 1.0 / 3)))
        nc = ew.gt(_frobenius(ew.sub(new, u)), _scalar(tol_norm, real))
        return ew.add(i, sh.full((), 1)), new, nc

    num_iters, u, not_converged = while_loop(cond, body,
                                             (sh.full((), len(steps)), u, not_converged))
    # one Newton-Schulz step to clean up, then the Hermitian factor
    u = ew.sub(ew.mul(_scalar(1.5, dtype), u),
               ew.mul(_scalar(0.5, dtype), _mm(u, _mm(_H(u), u))))
    h = _mm(_H(u), x)
    h = ew.div(ew.add(h, _H(h)), _scalar(2, dtype))
    return u, h, num_iters, ew.bitwise_not(not_converged)
