"""xform.scipy.linalg: ``jax.scipy.linalg``'s LU and Cholesky functions and
``solve_triangular``, built on ``xform.lax.linalg`` (so they differentiate and batch); and, from
``_linalg_more.py``, ``det``, ``inv``, ``solve``, ``eigh``, ``qr``, ``svd``, ``expm`` and the
structured matrices.

    >>> import xform.numpy as xnp, xform.scipy.linalg as sla
    >>> lu_and_piv = sla.lu_factor(xnp.array([[4., 3.], [6., 3.]]))
    >>> x = sla.lu_solve(lu_and_piv, xnp.array([1., 2.]))     # about [0.5, -0.333]
"""

from __future__ import annotations

from typing import Any


from xform.core.trace import to_aval
from xform.lax import elementwise as ew
from xform.lax import linalg as lax_linalg
from xform.lax import shape as sh
from xform.lax import slicing as sl
from xform.lax.linalg import _H, _eye_like, _resize_last2, _tril, _triu
from xform.lax.reductions import reduce_sum
from xform.numpy.linalg import _inexact, lu_solve_matrix
from xform.scipy._linalg_tridiagonal import eigh_tridiagonal as eigh_tridiagonal
from xform.scipy._linalg_schur import (  # noqa: F401 - re-exported
    companion, convolution_matrix, expm_frechet, fiedler_companion, funm, hessenberg,
    invhilbert, invpascal, leslie, pascal, qr_multiply, rsf2csf, schur, solve_sylvester, sqrtm,
)
from xform.scipy._linalg_more import (  # noqa: F401 - re-exported
    block_diag, circulant, det, dft, eigh, expm, fiedler, hadamard, hankel, helmert, hilbert, inv,
    polar, qr, solve, svd, toeplitz,
)

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion",
           "convolution_matrix", "det", "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet",
           "fiedler", "fiedler_companion", "funm", "hadamard", "hankel", "helmert", "hessenberg",
           "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu", "lu_factor", "lu_solve",
           "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve", "solve_sylvester",
           "solve_triangular", "sqrtm", "svd", "toeplitz"]


def _check_square(name: str, a: Any) -> tuple:
    shape = to_aval(a).shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name} expects square matrices ([..., N, N]), got shape {shape}.")
    return shape


def _as_matrix(b: Any, a_ndim: int) -> tuple[Any, bool]:
    """``b`` as a batch of matrices: a vector right-hand side (one dim fewer than ``a``) gets
    a trailing axis of size 1."""
    if to_aval(b).ndim == a_ndim - 1:
        return sh.expand_dims(b, (a_ndim - 1,)), True
    return b, False


def _unmatrix(x: Any, was_vector: bool) -> Any:
    return sh.squeeze(x, (to_aval(x).ndim - 1,)) if was_vector else x


# -- LU -------------------------------------------------------------------------------------
def lu(a: Any, permute_l: bool = False, overwrite_a: bool = False,
       check_finite: bool = True) -> tuple:
    """``(p, l, u)`` with ``a = p @ l @ u`` (``p`` a permutation matrix, ``l`` unit lower,
    ``u`` upper); ``(p @ l, u)`` when ``permute_l``."""
    (a,) = _inexact("jax.scipy.linalg.lu", a)
    packed, _, perm = lax_linalg.lu(a)
    shape, dtype = to_aval(a).shape, to_aval(a).dtype
    m, n = shape[-2:]
    k = min(m, n)
    l_part = ew.add(_tril(_resize_last2(packed, m, k), -1), _eye_like(shape[:-2] + (m, k), dtype))
    u_part = _triu(_resize_last2(packed, k, n))
    # p[i, j] = (perm[j] == i)
    p_shape = shape[:-2] + (m, m)
    nd = len(p_shape)
    perm_b = sh.broadcast_in_dim(perm, p_shape, tuple(range(nd - 2)) + (nd - 1,))
    rows = sh.broadcasted_iota(to_aval(perm).dtype, p_shape, nd - 2)
    p = ew.convert_element_type(ew.eq(perm_b, rows), dtype)
    if permute_l:
        return lax_linalg._mm(p, l_part), u_part
    return p, l_part, u_part


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    """``(lu, piv)``: ``l`` (unit diagonal, not stored) and ``u`` packed in ``lu``; row ``i`` was
    swapped with row ``piv[i]``, as LAPACK's getrf reports."""
    (a,) = _inexact("jax.scipy.linalg.lu_factor", a)
    packed, pivots, _ = lax_linalg.lu(a)
    return packed, pivots


def _pivots_to_permutation(pivots: Any, m: int) -> Any:
    """The row permutation that applies the swaps ``i <-> pivots[i]`` in order (vectorized
    over leading axes: one compare-and-select per swap)."""
    p_aval = to_aval(pivots)
    shape = p_aval.shape[:-1] + (m,)
    nd = len(shape)
    iota = sh.broadcasted_iota(p_aval.dtype, shape, nd - 1)
    perm = iota
    for i in range(p_aval.shape[-1]):
        j = sh.squeeze(sl.slice_in_dim(pivots, i, i + 1, axis=nd - 1), (nd - 1,))
        j_b = sh.broadcast_in_dim(j, shape, tuple(range(nd - 1)))
        at_j = ew.eq(iota, j_b)
        zeros = sh.full(shape, 0, p_aval.dtype)
        perm_j = reduce_sum(ew.select(at_j, perm, zeros), (nd - 1,))      # perm[j]
        perm_i = sh.squeeze(sl.slice_in_dim(perm, i, i + 1, axis=nd - 1), (nd - 1,))
        at_i = ew.eq(iota, sh.full((), i, p_aval.dtype))
        perm = ew.select(at_i, sh.broadcast_in_dim(perm_j, shape, tuple(range(nd - 1))),
                         ew.select(at_j, sh.broadcast_in_dim(perm_i, shape,
                                                             tuple(range(nd - 1))), perm))
    return perm


_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def _trans(trans: Any) -> int:
    if trans not in _TRANS:
        raise ValueError(f"trans must be 0/'N', 1/'T' or 2/'C', got {trans!r}.")
    return _TRANS[trans]


def lu_solve(lu_and_piv: tuple, b: Any, trans: Any = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Any:
    """Solve ``a x = b`` (``trans`` 0), ``a^T x = b`` (1) or ``a^H x = b`` (2) given
    ``lu_factor(a)``."""
    packed, pivots = lu_and_piv
    packed, b = _inexact("jax.scipy.linalg.lu_solve", packed, b)
    shape = _check_square("jax.scipy.linalg.lu_solve", packed)
    perm = _pivots_to_permutation(pivots, shape[-1])
    b2, vec = _as_matrix(b, len(shape))
    return _unmatrix(lu_solve_matrix(packed, perm, b2, _trans(trans)), vec)


# -- triangular and Cholesky ----------------------------------------------------------------
def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False, debug: Any = None,
                     check_finite: bool = True) -> Any:
    """Solve ``op(a) x = b`` for triangular ``a`` (``op`` by ``trans``: none, transpose,
    conjugate transpose); ``b`` is ``(..., N)`` or ``(..., N, K)``."""
    a, b = _inexact("jax.scipy.linalg.solve_triangular", a, b)
    shape = _check_square("jax.scipy.linalg.solve_triangular", a)
    t = _trans(trans)
    b2, vec = _as_matrix(b, len(shape))
    x = lax_linalg.triangular_solve(a, b2, left_side=True, lower=lower, transpose_a=t > 0,
                                    conjugate_a=t == 2, unit_diagonal=unit_diagonal)
    return _unmatrix(x, vec)


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False,
             check_finite: bool = True) -> Any:
    """Cholesky factor of positive-definite ``a``: upper ``U`` with ``a = U^H U`` by default,
    lower ``L`` with ``a = L L^H`` when ``lower``."""
    (a,) = _inexact("jax.scipy.linalg.cholesky", a)
    _check_square("jax.scipy.linalg.cholesky", a)
    L = lax_linalg.cholesky(a)
    return L if lower else _H(L)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple:
    """``(c, lower)`` for :func:`cho_solve`; ``c`` is :func:`cholesky`'s factor."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple, b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """Solve ``a x = b`` given ``cho_factor(a)``: two triangular solves."""
    c, lower = c_and_lower
    c, b = _inexact("jax.scipy.linalg.cho_solve", c, b)
    shape = _check_square("jax.scipy.linalg.cho_solve", c)
    b2, vec = _as_matrix(b, len(shape))
    ts = lax_linalg.triangular_solve
    if lower:   # L L^H x = b
        y = ts(c, b2, left_side=True, lower=True)
        x = ts(c, y, left_side=True, lower=True, transpose_a=True, conjugate_a=True)
    else:       # U^H U x = b
        y = ts(c, b2, left_side=True, lower=False, transpose_a=True, conjugate_a=True)
        x = ts(c, y, left_side=True, lower=False)
    return _unmatrix(x, vec)


