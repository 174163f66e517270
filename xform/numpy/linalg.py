"""xform.numpy.linalg: ``jax.numpy.linalg``'s functions, built on ``xform.lax.linalg``.

The decompositions (``cholesky``, ``qr``, ``eigh``, ``svd``, and ``lu`` inside ``solve``,
``inv``, ``det``) are primitives with their own derivative and batching rules; everything here
composes them, so it differentiates and batches with no rules of its own, except ``det``,
``slogdet`` and ``pinv``, whose derivatives are given directly (as JAX gives them):
``d det = det * tr(A^-1 dA)`` through a solve, which needs no distinct singular values.

    >>> import xform.numpy as xnp
    >>> a = xnp.array([[2., 1.], [1., 3.]])
    >>> x = xnp.linalg.solve(a, xnp.array([1., 2.]))     # about [0.2, 0.6]
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np


from xform.core.jax_internals import EigResult, EighResult, QRResult, SlogdetResult, SVDResult
from xform.core.trace import to_aval
from xform.lax import elementwise as ew
from xform.lax import linalg as lax_linalg
from xform.lax import shape as sh
from xform.lax import slicing as sl
from xform.lax.custom import custom_jvp
from xform.lax.linalg import _H, _diag, _eye_like, _is_complex, _mm, _permute_rows
from xform.lax.reductions import reduce_max, reduce_min, reduce_or, reduce_prod, reduce_sum
from xform.lax.sorting import sort_key_val
from xform.numpy import _matrices, _reductions, _ufuncs
from xform.numpy._creation import asarray
from xform.numpy._linalg_ops import einsum
from xform.numpy._linalg_ops import matmul as _np_matmul
from xform.numpy._linalg_ops import tensordot as _np_tensordot
from xform.numpy._promote import check_arraylike, promote_to_inexact
from xform.numpy._linalg_ops import vecdot as _np_vecdot
from xform.numpy._shape import moveaxis

__all__ = [
    "EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cond", "det", "eigh",
    "eigvalsh", "inv", "lstsq", "matrix_power", "matrix_rank", "norm", "pinv", "qr", "slogdet",
    "solve", "svd", "eig", "eigvals",
    # the array-API names (compositions, as in JAX)
    "cross", "diagonal", "matmul", "matrix_norm", "matrix_transpose", "multi_dot", "outer",
    "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
]


# -- helpers --------------------------------------------------------------------------------
def _inexact(name: str, *args: Any) -> list:
    check_arraylike(name, *args)
    return [sh._asarray(a) for a in promote_to_inexact(*[sh._asarray(a) for a in args])]


def _check_matrix(name: str, a: Any, square: bool = False) -> tuple:
    shape = to_aval(a).shape
    if len(shape) < 2:
        raise ValueError(f"{name} expects an array of rank >= 2 ([..., M, N] matrices), got "
                         f"shape {shape}.")
    if square and shape[-1] != shape[-2]:
        raise ValueError(f"{name} expects square matrices ([..., N, N]), got shape {shape}.")
    return shape


def _const(value: Any, like: Any) -> Any:
    a = to_aval(like)
    return sh.full(a.shape, value, a.dtype)


def _broadcast_batch(a: Any, b: Any, b_core: int) -> tuple:
    """``a`` ([..., m, m]) and ``b`` (``b_core`` core dims) broadcast to one batch shape."""
    sa, sb = to_aval(a).shape, to_aval(b).shape
    batch = tuple(np.broadcast_shapes(sa[:-2], sb[:len(sb) - b_core]))

    def to(x, shape, core):
        full = batch + shape[len(shape) - core:]
        if shape == full:
            return x
        nd = len(shape)
        return sh.broadcast_in_dim(x, full, tuple(range(len(full) - nd, len(full))))
    return to(a, sa, 2), to(b, sb, b_core)


def _inverse_permutation(perm: Any) -> Any:
    aval = to_aval(perm)
    iota = sh.broadcasted_iota(aval.dtype, aval.shape, aval.ndim - 1)
    return sort_key_val(perm, iota, dimension=aval.ndim - 1)[1]


def lu_solve_matrix(lu: Any, perm: Any, b: Any, trans: int = 0) -> Any:
    """Solve with an LU factorization (``a[perm] = L U``) for matrix ``b`` ([..., m, k]):
    ``a x = b`` (trans 0), ``a^T x = b`` (1) or ``a^H x = b`` (2). Linear in ``b``."""
    ts = lax_linalg.triangular_solve
    if trans == 0:
        y = ts(lu, _permute_rows(b, perm), left_side=True, lower=True, unit_diagonal=True)
        return ts(lu, y, left_side=True, lower=False)
    conj = trans == 2
    y = ts(lu, b, left_side=True, lower=False, transpose_a=True, conjugate_a=conj)
    z = ts(lu, y, left_side=True, lower=True, transpose_a=True, conjugate_a=conj,
           unit_diagonal=True)
    return _permute_rows(z, _inverse_permutation(perm))


def _solve_lu(a: Any, b: Any) -> Any:
    lu, _, perm = lax_linalg.lu(a)
    return lu_solve_matrix(lu, perm, b)


def _swap_last(x: Any, axis: tuple) -> Any:
    """``x`` with the two ``axis`` moved to the end (rows, then columns)."""
    nd = to_aval(x).ndim
    r, c = (operator.index(axis[0]) % nd, operator.index(axis[1]) % nd)
    rest = [i for i in range(nd) if i not in (r, c)]
    perm = tuple(rest + [r, c])
    return x if perm == tuple(range(nd)) else sh.transpose(x, perm)


# -- decompositions -------------------------------------------------------------------------
def cholesky(a: Any, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """Cholesky factor of positive-definite ``a``: lower ``L`` with ``a = L @ L^H`` (or upper
    ``U = L^H`` with ``upper=True``), as ``jax.numpy.linalg.cholesky``."""
    (a,) = _inexact("jnp.linalg.cholesky", a)
    _check_matrix("jnp.linalg.cholesky", a, square=True)
    L = lax_linalg.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def qr(a: Any, mode: str = "reduced") -> Any:
    """QR decomposition: ``QRResult(Q, R)`` for ``mode`` ``"reduced"``/``"complete"``, ``R``
    alone for ``"r"``."""
    (a,) = _inexact("jnp.linalg.qr", a)
    _check_matrix("jnp.linalg.qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unsupported QR decomposition mode {mode!r}; use 'reduced', "
                         "'complete' or 'r'.")
    q, r = lax_linalg.qr(a, full_matrices=(mode == "complete"))
    return r if mode == "r" else QRResult(q, r)


def eigh(a: Any, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:  # noqa: N803
    """Eigenvalues (ascending) and eigenvectors of Hermitian ``a``:
    ``EighResult(eigenvalues, eigenvectors)``."""
    (a,) = _inexact("jnp.linalg.eigh", a)
    _check_matrix("jnp.linalg.eigh", a, square=True)
    uplo = "L" if UPLO is None else UPLO
    if uplo not in ("L", "U"):
        raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}.")
    v, w = lax_linalg.eigh(a, lower=(uplo == "L"), symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a: Any, UPLO: str | None = "L", *, symmetrize_input: bool = True) -> Any:  # noqa: N803
    """Eigenvalues (ascending) of Hermitian ``a``."""
    return eigh(a, UPLO, symmetrize_input).eigenvalues


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index: Any = None) -> Any:
    """``SVDResult(U, S, Vh)`` with ``a = U @ diag(S) @ Vh`` (``S`` descending), or ``S``
    alone when not ``compute_uv``. ``hermitian`` is accepted; the general algorithm runs."""
    (a,) = _inexact("jnp.linalg.svd", a)
    _check_matrix("jnp.linalg.svd", a)
    out = lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                         subset_by_index=subset_by_index)
    return SVDResult(*out) if compute_uv else out


# -- solves and inverses --------------------------------------------------------------------
def solve(a: Any, b: Any) -> Any:
    """Solve ``a @ x = b`` for square ``a`` ([..., N, N]); ``b`` is ``(N,)`` or
    ``(..., N, M)``. Uses the LU decomposition with partial pivoting."""
    a, b = _inexact("jnp.linalg.solve", a, b)
    _check_matrix("jnp.linalg.solve", a, square=True)
    sa, sb = to_aval(a).shape, to_aval(b).shape
    if len(sb) == 1:
        if sb[0] != sa[-1]:
            raise ValueError(f"solve: b of shape {sb} does not match a of shape {sa}.")
        a2, b2 = _broadcast_batch(a, sh.expand_dims(b, (1,)), 2)
        x = _solve_lu(a2, b2)
        return sh.squeeze(x, (to_aval(x).ndim - 1,))
    if sb[-2] != sa[-1]:
        raise ValueError(f"solve: b of shape {sb} does not match a of shape {sa}; b must be "
                         "(N,) or (..., N, M). For a batch of vectors use "
                         "solve(a, b[..., None])[..., 0].")
    a2, b2 = _broadcast_batch(a, b, 2)
    return _solve_lu(a2, b2)


def inv(a: Any) -> Any:
    """Inverse of square ``a`` ([..., N, N]), by an LU solve against the identity."""
    (a,) = _inexact("jnp.linalg.inv", a)
    shape = _check_matrix("jnp.linalg.inv", a, square=True)
    return _solve_lu(a, _eye_like(shape, to_aval(a).dtype))


def matrix_power(a: Any, n: int) -> Any:
    """``a`` multiplied by itself ``n`` times (by squaring); negative ``n`` uses ``inv(a)``."""
    check_arraylike("jnp.linalg.matrix_power", a)
    a = sh._asarray(a)
    shape = _check_matrix("jnp.linalg.matrix_power", a, square=True)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: exponent must be an integer, got {n!r}.") from None
    if n == 0:
        return _eye_like(shape, to_aval(a).dtype)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else _mm(result, a)
        n >>= 1
        if n:
            a = _mm(a, a)
    return result


# -- determinants ---------------------------------------------------------------------------
def _lu_parts(a: Any) -> tuple:
    """``(diag(U), parity)`` of ``a``'s LU decomposition; parity is the number of row swaps
    mod 2, as ``a``'s real dtype (0 or 1)."""
    lu, pivots, _ = lax_linalg.lu(a)
    p_aval = to_aval(pivots)
    iota = sh.broadcasted_iota(p_aval.dtype, p_aval.shape, p_aval.ndim - 1)
    swaps = reduce_sum(ew.convert_element_type(ew.ne(pivots, iota), np.int32),
                       (p_aval.ndim - 1,))
    parity = ew.rem(swaps, sh.full((), 2, np.int32))
    return _diag(lu), parity


def _trace(x: Any) -> Any:
    return reduce_sum(_diag(x), (to_aval(x).ndim - 2,))


def _parity_sign(parity: Any, dtype: Any) -> Any:
    # (-1) ** parity = 1 - 2 * parity
    p = ew.convert_element_type(parity, dtype)
    return ew.sub(sh.full((), 1, dtype), ew.add(p, p))


@custom_jvp
def _det(a: Any) -> Any:
    d, parity = _lu_parts(a)
    dtype = to_aval(a).dtype
    return ew.mul(_parity_sign(parity, dtype), _prod_last(d))


def _prod_last(d: Any) -> Any:
    return reduce_prod(d, (to_aval(d).ndim - 1,))


@_det.defjvp
def _det_jvp(primals, tangents):
    # d det(A) = det(A) tr(A^-1 dA), the solve done with A's LU factors.
    (a,), (a_dot,) = primals, tangents
    y = _det(a)
    return y, ew.mul(y, _trace(_solve_lu(a, a_dot)))


def det(a: Any) -> Any:
    """Determinant of square ``a`` ([..., N, N]), from its LU decomposition."""
    (a,) = _inexact("jnp.linalg.det", a)
    _check_matrix("jnp.linalg.det", a, square=True)
    return _det(a)


@custom_jvp
def _slogdet(a: Any) -> tuple:
    d, parity = _lu_parts(a)
    dtype = to_aval(a).dtype
    nd = to_aval(d).ndim
    absd = ew.abs(d)
    if _is_complex(a):
        phase = ew.div(d, ew.convert_element_type(absd, dtype))
        sign = _prod_last(phase)
    else:
        sign = _prod_last(ew.sign(d))
    sign = ew.mul(_parity_sign(parity, dtype), sign)
    return sign, reduce_sum(ew.log(absd), (nd - 1,))


@_slogdet.defjvp
def _slogdet_jvp(primals, tangents):
    # d log|det A| = Re tr(A^-1 dA); the sign moves only for complex A (by i Im tr(A^-1 dA)).
    (a,), (a_dot,) = primals, tangents
    sign, logdet = _slogdet(a)
    tr = _trace(_solve_lu(a, a_dot))
    if _is_complex(a):
        dtype = to_aval(a).dtype
        i_im = ew.mul(ew.convert_element_type(ew.imag(tr), dtype),
                      sh.full((), 1j, dtype))
        return (sign, logdet), (ew.mul(sign, i_im), ew.real(tr))
    return (sign, logdet), (_const(0, sign), tr)


def slogdet(a: Any, *, method: str | None = None) -> SlogdetResult:
    """``SlogdetResult(sign, logabsdet)`` with ``det(a) = sign * exp(logabsdet)``."""
    (a,) = _inexact("jnp.linalg.slogdet", a)
    _check_matrix("jnp.linalg.slogdet", a, square=True)
    if method not in (None, "lu"):
        raise ValueError(f"slogdet: unsupported method {method!r}; xform supports 'lu'.")
    return SlogdetResult(*_slogdet(a))


# -- built on the SVD -----------------------------------------------------------------------
def _default_rtol(shape: tuple, dtype: Any, factor: float) -> float:
    return factor * max(shape[-2:]) * float(np.finfo(dtype).eps)


@custom_jvp
def _pinv(a: Any, rtol: Any) -> Any:
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    s_aval = to_aval(s)
    cutoff = ew.mul(_bcast_last(ew.convert_element_type(rtol, s_aval.dtype), s_aval.shape),
                    _bcast_last(reduce_max(s, (s_aval.ndim - 1,)), s_aval.shape))
    inf = sh.full(s_aval.shape, np.inf, s_aval.dtype)
    s = ew.convert_element_type(ew.select(ew.gt(s, cutoff), s, inf), to_aval(u).dtype)
    u_over_s = ew.div(_H(u), _bcast_last(s, to_aval(_H(u)).shape))
    return _mm(_H(vh), u_over_s)


def _bcast_last(x: Any, shape: tuple, axis: int = -1) -> Any:
    """``x``, whose shape is ``shape`` without ``axis`` (or ``shape`` itself), broadcast into
    ``shape`` along ``axis``."""
    nd = len(shape)
    axis %= nd
    xa = to_aval(x)
    if xa.shape == tuple(shape):
        return x
    dims = tuple(i for i in range(nd) if i != axis) if xa.ndim == nd - 1 else tuple(range(nd))
    return sh.broadcast_in_dim(x, shape, dims)


@_pinv.defjvp
def _pinv_jvp(primals, tangents):
    # Golub-Pereyra, for constant rank: dP = -P dA P + P P^H dA^H (I - A P)
    #                                        + (I - P A) dA^H P^H P.
    a, rtol = primals
    a_dot, _ = tangents
    p = _pinv(a, rtol)
    sa, sp = to_aval(a), to_aval(p)
    i_m = _eye_like(sa.shape[:-1] + sa.shape[-2:-1], sa.dtype)
    i_n = _eye_like(sp.shape[:-1] + sp.shape[-2:-1], sa.dtype)
    ph, adh = _H(p), _H(a_dot)
    t1 = ew.neg(_mm(_mm(p, a_dot), p))
    t2 = _mm(_mm(_mm(p, ph), adh), ew.sub(i_m, _mm(a, p)))
    t3 = _mm(_mm(_mm(ew.sub(i_n, _mm(p, a)), adh), ph), p)
    return p, ew.add(ew.add(t1, t2), t3)


def pinv(a: Any, rtol: Any = None, hermitian: bool = False, *, rcond: Any = None) -> Any:
    """Moore-Penrose pseudo-inverse from the SVD: singular values at most ``rtol * max(s)``
    are treated as zero (default ``rtol = 10 * max(M, N) * eps``)."""
    (a,) = _inexact("jnp.linalg.pinv", a)
    shape = _check_matrix("jnp.linalg.pinv", a)
    if rcond is not None:
        rtol = rcond
    real = np.finfo(to_aval(a).dtype).dtype
    if rtol is None:
        rtol = _default_rtol(shape, real, 10.0)
    rtol = sh._asarray(rtol)
    rtol = ew.convert_element_type(sh.broadcast_in_dim(rtol, shape[:-2], tuple(
        range(len(shape) - 2 - to_aval(rtol).ndim, len(shape) - 2))), real)
    return _pinv(a, rtol)


def matrix_rank(M: Any, rtol: Any = None, *, tol: Any = None) -> Any:  # noqa: N803
    """Number of singular values above ``rtol * max(s)`` (default ``rtol = max(M, N) * eps``);
    ``tol`` (deprecated in JAX) is taken as ``rtol``."""
    (M,) = _inexact("jnp.linalg.matrix_rank", M)
    if rtol is None:
        rtol = tol
    shape = to_aval(M).shape
    if len(shape) < 2:
        nz = ew.ne(M, _const(0, M))
        return ew.convert_element_type(reduce_or(nz, tuple(range(len(shape)))), np.int32)
    s = svd(M, compute_uv=False)
    s_aval = to_aval(s)
    if rtol is None:
        rtol = _default_rtol(shape, s_aval.dtype, 1.0)
    rtol = sh._asarray(rtol)
    smax = reduce_max(s, (s_aval.ndim - 1,))
    cutoff = ew.mul(smax, ew.convert_element_type(
        sh.broadcast_in_dim(rtol, to_aval(smax).shape, tuple(
            range(to_aval(smax).ndim - to_aval(rtol).ndim, to_aval(smax).ndim))), s_aval.dtype))
    above = ew.gt(s, _bcast_last(cutoff, s_aval.shape))
    return reduce_sum(ew.convert_element_type(above, np.int32), (s_aval.ndim - 1,))


def lstsq(a: Any, b: Any, rcond: Any = None, *, numpy_resid: bool = False) -> tuple:
    """Least-squares solution of ``a @ x = b`` from the SVD of ``a`` (2-D): returns
    ``(x, residuals, rank, s)`` as ``jax.numpy.linalg.lstsq``."""
    a, b = _inexact("jnp.linalg.lstsq", a, b)
    sa, sb = to_aval(a).shape, to_aval(b).shape
    if len(sa) != 2:
        raise TypeError(f"lstsq only supports 2-D a (got shape {sa}); use vmap for batches.")
    if len(sb) not in (1, 2) or sb[0] != sa[0]:
        raise ValueError(f"lstsq: b must be 1-D or 2-D with as many rows as a; got a of shape "
                         f"{sa} and b of shape {sb}.")
    m, n = sa
    b2 = sh.expand_dims(b, (1,)) if len(sb) == 1 else b
    dtype = to_aval(a).dtype
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    s_aval = to_aval(s)
    eps = float(np.finfo(s_aval.dtype).eps)
    if rcond is None:
        rcond = eps * max(n, m)
    elif not isinstance(rcond, (int, float)) or rcond >= 0:
        rcond = sh._asarray(rcond)
    else:
        rcond = eps
    thresh = ew.mul(ew.convert_element_type(sh._asarray(rcond), s_aval.dtype),
                    sl.slice(s, (0,), (1,)))
    mask = ew.ge(s, sh.broadcast_in_dim(thresh, s_aval.shape, (0,)))
    rank = reduce_sum(ew.convert_element_type(mask, np.int32), (0,))
    one = sh.full(s_aval.shape, 1, s_aval.dtype)
    s_inv = ew.select(mask, ew.div(one, ew.select(mask, s, one)), _const(0, s))
    s_inv = sh.broadcast_in_dim(ew.convert_element_type(s_inv, dtype),
                                (s_aval.shape[0], to_aval(b2).shape[1]), (0,))
    x = _mm(_H(vh), ew.mul(s_inv, _mm(_H(u), b2)))
    if numpy_resid:
        raise NotImplementedError("lstsq(numpy_resid=True) is not supported by xform; the "
                                  "residuals returned by default are those JAX returns.")
    r = ew.sub(b2, _mm(a, x))
    resid = reduce_sum(_abs2(r), (0,))
    if len(sb) == 1:
        x = sh.reshape(x, (n,))
    return x, resid, rank, s


def _abs2(x: Any) -> Any:
    if _is_complex(x):
        return ew.add(ew.mul(ew.real(x), ew.real(x)), ew.mul(ew.imag(x), ew.imag(x)))
    return ew.mul(x, x)


# -- norms ----------------------------------------------------------------------------------
def _vector_norm(x: Any, ord: Any, axes: tuple) -> Any:  # noqa: A002
    ax = ew.abs(x)
    real = to_aval(ax).dtype
    if ord is None or ord == 2:
        return ew.sqrt(reduce_sum(_abs2(x), axes))
    if ord == np.inf:
        return reduce_max(ax, axes)
    if ord == -np.inf:
        return reduce_min(ax, axes)
    if ord == 0:
        return reduce_sum(ew.convert_element_type(ew.ne(ax, _const(0, ax)), real), axes)
    if ord == 1:
        return reduce_sum(ax, axes)
    p = float(ord)
    powered = reduce_sum(ew.pow(ax, _const(p, ax)), axes)
    return ew.pow(powered, _const(1.0 / p, powered))


def _matrix_norm(x: Any, ord: Any, axis: tuple) -> Any:  # noqa: A002
    nd = to_aval(x).ndim
    r, c = axis[0] % nd, axis[1] % nd
    if r == c:
        raise ValueError(f"norm: duplicate axes given: {axis}.")
    if ord is None or ord == "fro":
        return ew.sqrt(reduce_sum(_abs2(x), (r, c)))
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (r, c) if ord in (1, -1) else (c, r)
        sums = reduce_sum(ew.abs(x), (inner,))
        outer -= outer > inner
        pick = reduce_max if ord in (1, np.inf) else reduce_min
        return pick(sums, (outer,))
    if ord in (2, -2, "nuc"):
        s = lax_linalg.svd(_swap_last(x, (r, c)), compute_uv=False)
        last = (to_aval(s).ndim - 1,)
        if ord == "nuc":
            return reduce_sum(s, last)
        return (reduce_max if ord == 2 else reduce_min)(s, last)
    raise ValueError(f"Invalid order {ord!r} for matrix norm; use None, 'fro', 'nuc', 1, -1, "
                     "2, -2, inf or -inf.")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector or matrix norm, as ``jax.numpy.linalg.norm``.

    With ``axis=None`` a 1-D ``x`` gets a vector norm, a 2-D one a matrix norm, and (for
    ``ord=None``) any other the 2-norm of all its elements. An int ``axis`` asks for vector
    norms along it, a pair for matrix norms over those two axes.
    """
    (x,) = _inexact("jnp.linalg.norm", x)
    # strongly typed, as JAX's norms reduce with jax.numpy's reductions (which cast their
    # input): a weakly typed x has a strong norm and a weak cotangent
    x = _reductions._strong(x)
    nd = to_aval(x).ndim
    if axis is None:
        if ord is None:
            out = ew.sqrt(reduce_sum(_abs2(x), tuple(range(nd))))
            axes = tuple(range(nd))
            return _keep(out, nd, axes) if keepdims else out
        if nd == 1:
            axis = (0,)
        elif nd == 2:
            axis = (0, 1)
        else:
            raise ValueError("Improper number of axes for norm: with ord given and axis=None, "
                             f"x must be 1-D or 2-D, got shape {to_aval(x).shape}.")
    elif isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axes = tuple(operator.index(a) % nd for a in axis)
    if len(axes) == 1:
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order {ord!r} for vectors.")
        out = _vector_norm(x, ord, axes)
    elif len(axes) == 2:
        out = _matrix_norm(x, ord, axes)
    else:
        raise ValueError(f"Improper number of axes for norm: {axis!r} (one or two).")
    return _keep(out, nd, axes) if keepdims else out


def _keep(out: Any, nd: int, axes: tuple) -> Any:
    return sh.expand_dims(out, tuple(sorted(axes)))


def cond(x: Any, p: Any = None) -> Any:
    """Condition number of ``x`` in the ``p`` norm (None and 2: ratio of the largest to the
    smallest singular value). Singular matrices give inf."""
    (x,) = _inexact("jnp.linalg.cond", x)
    _check_matrix("jnp.linalg.cond", x)
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        nd = to_aval(s).ndim
        k = to_aval(s).shape[-1]
        first = sh.squeeze(sl.slice_in_dim(s, 0, 1, axis=nd - 1), (nd - 1,))
        last = sh.squeeze(sl.slice_in_dim(s, k - 1, k, axis=nd - 1), (nd - 1,))
        r = ew.div(first, last) if p != -2 else ew.div(last, first)
    else:
        _check_matrix("jnp.linalg.cond", x, square=True)
        r = ew.mul(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))
    # singular input (a nan from inf/inf or 0 * inf) without nans of its own: inf, as numpy
    nan_in = reduce_max(ew.convert_element_type(ew.ne(x, x), np.int32),
                        (to_aval(x).ndim - 2, to_aval(x).ndim - 1))
    nan_out = ew.ne(r, r)
    fix = ew.bitwise_and(nan_out, ew.eq(nan_in, _const(0, nan_in)))
    if to_aval(r).ndim == 0:
        # select on rank-1 values: a rank-0 constant next to a vmapped scalar is not
        # broadcast by select_n's batch rule
        one = sh.expand_dims(r, (0,))
        out = ew.select(sh.expand_dims(fix, (0,)), _const(np.inf, one), one)
        return sh.squeeze(out, (0,))
    return ew.select(fix, _const(np.inf, r), r)



# -- the array-API names: compositions of xform.numpy, with JAX's checks -------------------------
def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The cross product of 3-vectors along ``axis``."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they "
                         f"have x1.shape[axis]={x1.shape[axis]} and "
                         f"x2.shape[axis]={x2.shape[axis]}")
    return _matrices.cross(x1, x2, axis=axis)


def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two 1-D arrays."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim={x1.ndim} "
                         f"x2.ndim={x2.ndim}")
    return x1[:, None] * x2[None, :]


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    """The norm of the matrices in the last two axes."""
    return norm(asarray(x), ord=ord, keepdims=keepdims, axis=(-2, -1))


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    x = asarray(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose requires at least 2 dimensions; got ndim={x.ndim}")
    return sh.transpose(x, (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2))


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False,
                ord: Any = 2) -> Any:  # noqa: A002
    """The vector ``ord``-norm over ``axis`` (all axes by default)."""
    x = asarray(x)
    kw = dict(axis=axis, keepdims=keepdims)
    if ord is None or ord == 2:
        return _ufuncs.sqrt(_reductions.sum(_ufuncs.real(x * _ufuncs.conj(x)), **kw))
    if ord == np.inf:
        return _reductions.amax(_ufuncs.abs(x), initial=0, **kw)
    if ord == -np.inf:
        return _reductions.amin(_ufuncs.abs(x), **kw)
    if ord == 0:
        return _reductions.sum(x != 0, dtype=np.finfo(x.dtype).dtype, **kw)
    if ord == 1:
        return _reductions.sum(_ufuncs.abs(x), **kw)
    if isinstance(ord, str):
        hint = {"inf": " Use 'xform.numpy.inf' instead.",
                "-inf": " Use '-xform.numpy.inf' instead."}.get(ord, "")
        raise ValueError(f"Invalid order '{ord}' for vector norm.{hint}")
    abs_x = _ufuncs.abs(x)
    dt = abs_x.dtype
    out = _reductions.sum(abs_x ** np.array(ord, dt), **kw)
    return _ufuncs.power(out, np.array(1.0 / np.array(ord, dt), dt))


def matmul(x1: Any, x2: Any, /, *, precision: Any = None,
           preferred_element_type: Any = None) -> Any:
    """The matrix product, as ``xform.numpy.matmul``."""
    return _np_matmul(x1, x2, precision=precision,
                      preferred_element_type=preferred_element_type)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2, precision: Any = None,
              preferred_element_type: Any = None) -> Any:
    """The tensor contraction over ``axes``, as ``xform.numpy.tensordot``."""
    return _np_tensordot(x1, x2, axes=axes, precision=precision,
                         preferred_element_type=preferred_element_type)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, precision: Any = None,
           preferred_element_type: Any = None) -> Any:
    """The (conjugating) dot product of vectors along ``axis``."""
    return _np_vecdot(x1, x2, axis=axis, precision=precision,
                      preferred_element_type=preferred_element_type)


def svdvals(x: Any, /) -> Any:
    """The singular values, descending."""
    return svd(asarray(x), compute_uv=False, hermitian=False)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The diagonals of the matrices in the last two axes."""
    return _matrices.diagonal(asarray(x), offset=offset, axis1=-2, axis2=-1)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The traces of the matrices in the last two axes."""
    return _matrices.trace(asarray(x), offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def tensorinv(a: Any, ind: int = 2) -> Any:
    """The inverse of ``a`` as a linear map from its first ``ind`` axes to the rest."""
    a = asarray(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got ind={ind}")
    contracting, batch = a.shape[:ind], a.shape[ind:]
    rows, cols = int(np.prod(contracting)), int(np.prod(batch))
    if rows != cols:
        raise ValueError("tensorinv is only possible when the product of the first `ind` "
                         "dimensions equals that of the remaining dimensions. got "
                         f"arr.shape={a.shape} with ind={ind}.")
    return inv(a.reshape(rows, cols)).reshape(*batch, *contracting)


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """``x`` with ``tensordot(a, x, x.ndim) == b``."""
    a, b = asarray(a), asarray(b)
    if axes is not None:
        a = moveaxis(a, axes, len(axes) * (a.ndim - 1,))
    out_shape = a.shape[b.ndim:]
    if a.shape[:b.ndim] != b.shape:
        raise ValueError("After moving axes to end, leading shape of a must match shape of b. "
                         f"got a.shape={a.shape}, b.shape={b.shape}")
    if b.size != int(np.prod(out_shape)):
        raise ValueError("Input arrays must have prod(a.shape[:b.ndim]) == "
                         f"prod(a.shape[b.ndim:]); got a.shape={a.shape}, b.ndim={b.ndim}.")
    return solve(a.reshape(b.size, int(np.prod(out_shape))), b.ravel()).reshape(out_shape)


def multi_dot(arrays: Any, *, precision: Any = None) -> Any:
    """The product of a chain of matrices (the first and last may be vectors), in the order
    einsum's optimizer picks."""
    arrs = [asarray(a) for a in arrays]
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    if not (arrs[0].ndim in (1, 2) and arrs[-1].ndim in (1, 2)
            and all(a.ndim == 2 for a in arrs[1:-1])):
        raise ValueError("multi_dot: input arrays must all be two-dimensional, except for the "
                         "first and last array which may be 1 or 2 dimensional. Got array "
                         f"shapes {[a.shape for a in arrs]}")
    if any(a.shape[-1] != b.shape[0] for a, b in zip(arrs[:-1], arrs[1:])):
        raise ValueError("multi_dot: last dimension of each array must match first dimension "
                         f"of following array. Got array shapes {[a.shape for a in arrs]}")
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    subs = [letters[i] + letters[i + 1] for i in range(len(arrs))]
    if arrs[0].ndim == 1:
        subs[0] = subs[0][1:]
    if arrs[-1].ndim == 1:
        subs[-1] = subs[-1][:1]
    out = (subs[0][0] if arrs[0].ndim == 2 else "") + (subs[-1][-1] if arrs[-1].ndim == 2
                                                         else "")
    return einsum(",".join(subs) + "->" + out, *arrs, optimize="auto", precision=precision)


def eig(a: Any) -> tuple:
    """Eigenvalues and right eigenvectors (complex) of general square matrices, as
    ``jax.numpy.linalg.eig`` (eigenvalues are differentiable, eigenvectors are not)."""
    (a,) = _inexact("eig", a)
    _check_matrix("eig", a, square=True)
    w, v = lax_linalg.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a: Any) -> Any:
    """The (complex) eigenvalues of general square matrices, differentiable."""
    (a,) = _inexact("eigvals", a)
    _check_matrix("eigvals", a, square=True)
    return lax_linalg.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]
