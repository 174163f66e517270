"""More of ``jax.scipy.linalg``: ``det``, ``inv``, ``solve``, ``eigh``, ``qr``, ``svd`` (SciPy's
signatures over xform.numpy.linalg), ``expm`` (JAX's Pade approximation with scaling and
squaring, differentiable through its operations), ``block_diag``, ``toeplitz``, ``hankel`` and
``circulant``."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.lax.compiled import compiled as _jit
from xform.numpy import linalg as np_linalg
from xform.scipy._special_dist import promote_inexact

__all__ = ["block_diag", "circulant", "det", "dft", "eigh", "expm", "fiedler", "hadamard",
           "hankel", "helmert", "hilbert", "inv", "polar", "qr", "solve", "svd", "toeplitz"]


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant, as ``xform.numpy.linalg.det``."""
    return np_linalg.det(a)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse, as ``xform.numpy.linalg.inv``."""
    return np_linalg.inv(a)


def solve(a: Any, b: Any, lower: bool = False, overwrite_a: bool = False,
          overwrite_b: bool = False, debug: bool = False, check_finite: bool = True,
          assume_a: str = "gen") -> Any:
    """``x`` with ``a @ x == b``; ``assume_a='pos'`` solves by Cholesky."""
    valid = ["gen", "sym", "her", "pos"]
    if assume_a not in valid:
        raise ValueError(f"Expected assume_a to be one of {valid}; got {assume_a!r}")
    if assume_a != "pos":
        return np_linalg.solve(a, b)
    a, b = promote_inexact(a, b)
    return _pos_solve(a, b, bool(lower))


def _cholesky_low(a: Any, lower: bool) -> Any:
    """The lower Cholesky factor of ``a`` from the triangle ``lower`` selects."""
    chol = np_linalg.cholesky(a, upper=not lower)
    return chol if lower else xnp.conj(xnp.swapaxes(chol, -1, -2))


def _solve_with_factor(low: Any, b: Any) -> Any:
    y = lax.linalg.triangular_solve(low, b, left_side=True, lower=True)
    return lax.linalg.triangular_solve(low, y, left_side=True, lower=True, transpose_a=True,
                                       conjugate_a=True)


def _pos_solve(a: Any, b: Any, lower: bool) -> Any:
    """``a^-1 b`` for a positive definite ``a``, differentiated as JAX does: as the linear map
    ``x -> a @ x`` (``custom_linear_solve``, symmetric), so every derivative order is the
    implicit one; the factorization (of ``stop_gradient(a)``) is computed once and reused by
    the tangent and cotangent solves."""
    vector = b.ndim == a.ndim - 1
    tail = b.shape[-1:] if vector else b.shape[-2:]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:b.ndim - len(tail)])
    b = xnp.broadcast_to(b, (*batch, *tail))
    low = _cholesky_low(lax.stop_gradient(a), lower)

    def as_matrix(fn):
        def apply(x):
            return fn(x[..., None])[..., 0] if vector else fn(x)
        return apply

    return lax.custom_linear_solve(as_matrix(lambda x: xnp.matmul(a, x)), b,
                                   lambda _, x: as_matrix(lambda y: _solve_with_factor(low, y))(x),
                                   symmetric=True)


def eigh(a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, turbo: bool = True,
         eigvals: Any = None, type: int = 1, check_finite: bool = True) -> Any:  # noqa: A002
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix; ``b=None`` only, as
    in JAX."""
    if b is not None:
        raise NotImplementedError("Only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    (a,) = promote_inexact(a)
    w, v = np_linalg.eigh(a, UPLO="L" if lower else "U", symmetrize_input=False)
    return w if eigvals_only else (w, v)


def qr(a: Any, overwrite_a: bool = False, lwork: Any = None, mode: str = "full",
       pivoting: bool = False, check_finite: bool = True) -> Any:
    """The QR decomposition: ``mode`` 'full', 'economic' or 'r' (a 1-tuple, as SciPy).

    With ``pivoting`` it is the column-pivoted (rank-revealing) QR: the column permutation
    ``p`` (int32, ``a[:, p] = q @ r``) comes last, ``(q, r, p)`` or ``(r, p)`` for 'r'."""
    if mode in ("full", "r"):
        np_mode = "complete"
    elif mode == "economic":
        np_mode = "reduced"
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    (a,) = promote_inexact(a)
    if pivoting:
        q, r, p = lax.linalg.qr(a, pivoting=True, full_matrices=np_mode == "complete")
        return (r, p) if mode == "r" else (q, r, p)
    q, r = np_linalg.qr(a, mode=np_mode)
    return (r,) if mode == "r" else (q, r)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Any:
    """The singular value decomposition, as ``xform.numpy.linalg.svd``."""
    return np_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


# -- expm: Pade approximants of degree 3..13 with scaling and squaring (JAX's choices) ----------
_PADE = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0,
        110880.0, 3960.0, 90.0, 1.0),
    13: (6.476475253248e+16, 3.238237626624e+16, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0),
}


def _dot(a, b):
    return xnp.dot(a, b, precision=lax.Precision.HIGHEST)


def _pade(degree: int):
    b = _PADE[degree]

    def uv(a):
        ident = xnp.eye(*a.shape, dtype=a.dtype)
        a2 = _dot(a, a)
        if degree == 13:
            a4 = _dot(a2, a2)
            a6 = _dot(a4, a2)
            u = _dot(a, _dot(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
                     + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
            v = (_dot(a6, b[12] * a6 + b[10] * a4 + b[8] * a2)
                 + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident)
            return u, v
        powers = [ident, a2]
        for _ in range(degree // 2 - 1):
            powers.append(_dot(powers[-1], a2))
        top = degree // 2
        # summed from the highest power down, in JAX's order (the same rounding)
        odd, even = b[2 * top + 1] * powers[top], b[2 * top] * powers[top]
        for k in range(top - 1, -1, -1):
            odd = odd + b[2 * k + 1] * powers[k]
            even = even + b[2 * k] * powers[k]
        return _dot(a, odd), even

    return uv


def _calc_p_q(a):
    a_l1 = np_linalg.norm(a, 1)
    if a.dtype in (np.float64, np.complex128):
        maxnorm = 5.371920351148152
        conds = [0.01495585217958292, 0.253939833006323, 0.9504178996162932, 2.097847961257068]
        degrees = [3, 5, 7, 9, 13]
    elif a.dtype in (np.float32, np.complex64):
        maxnorm = 3.92572478313866
        conds = [0.4258730016922831, 1.880152677804762]
        degrees = [3, 5, 7]
    else:
        raise TypeError(f"A.dtype={a.dtype} is not supported.")
    n_squarings = xnp.maximum(0, xnp.floor(xnp.log2(a_l1 / maxnorm)))
    a = a / 2 ** n_squarings.astype(a.dtype)
    idx = xnp.digitize(a_l1, xnp.array(conds, dtype=a_l1.dtype))
    u, v = lax.switch(idx, [_pade(d) for d in degrees], a)
    return u + v, -u + v, n_squarings


def _expm2(a, *, upper_triangular, max_squarings):
    p, q, n_squarings = _calc_p_q(a)

    def nan(args):
        return xnp.full_like(args[0], np.nan)

    def compute(args):
        _, p, q = args
        if upper_triangular:
            r = lax.linalg.triangular_solve(q, p, left_side=True, lower=False)
        else:
            r = np_linalg.solve(q, p)

        def step(c, i):
            return lax.cond(i < n_squarings, lambda x: _dot(x, x), lambda x: x, c), None

        r, _ = lax.scan(step, r, xnp.arange(max_squarings, dtype=n_squarings.dtype))
        return r

    return lax.cond(n_squarings > max_squarings, nan, compute, (a, p, q))


_expm_jit = _jit(lambda a, *, upper_triangular, max_squarings:
                 _expm2(a, upper_triangular=upper_triangular, max_squarings=max_squarings)
                 if a.ndim == 2 else
                 xnp.vectorize(lambda m: _expm2(m, upper_triangular=upper_triangular,
                                                max_squarings=max_squarings),
                               signature="(n,n)->(n,n)")(a),
                 static_argnames=("upper_triangular", "max_squarings"))


def expm(A: Any, *, upper_triangular: bool = False, max_squarings: int = 16) -> Any:  # noqa: N803
    """The matrix exponential (batched over leading axes), by JAX's scaling-and-squaring
    Pade method; NaN where more than ``max_squarings`` squarings would be needed."""
    (a,) = promote_inexact(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape={a.shape}.")
    return _expm_jit(a, upper_triangular=bool(upper_triangular),
                     max_squarings=int(max_squarings))


# -- structured matrices --------------------------------------------------------------------------
def block_diag(*arrs: Any) -> Any:
    """The block-diagonal matrix of the (at most 2-D) arguments."""
    if len(arrs) == 0:
        arrs = (xnp.zeros((1, 0)),)
    arrs = [xnp.asarray(a) for a in arrs]
    dtype = xnp.result_type(*arrs)
    bad = [i for i, a in enumerate(arrs) if a.ndim > 2]
    if bad:
        raise ValueError("Arguments to xform.scipy.linalg.block_diag must have at most 2 "
                         f"dimensions, got {arrs[bad[0]]} at argument {bad[0]}.")
    arrs = [xnp.atleast_2d(a.astype(dtype)) for a in arrs]
    total = sum(a.shape[1] for a in arrs)
    rows, col = [], 0
    for a in arrs:
        rows.append(xnp.pad(a, ((0, 0), (col, total - a.shape[1] - col))))
        col += a.shape[1]
    return xnp.concatenate(rows, axis=0)


def toeplitz(c: Any, r: Any = None) -> Any:
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``conj(c)`` by
    default); leading axes batch."""
    c = xnp.atleast_1d(xnp.asarray(c))
    r = xnp.conjugate(c) if r is None else xnp.atleast_1d(xnp.asarray(r))
    dtype = xnp.result_type(c, r)
    c, r = c.astype(dtype), r.astype(dtype)
    batch = np.broadcast_shapes(c.shape[:-1], r.shape[:-1])
    c = xnp.broadcast_to(c, batch + c.shape[-1:])
    r = xnp.broadcast_to(r, batch + r.shape[-1:])
    n, m = c.shape[-1], r.shape[-1]
    # elems = [c reversed, r[1:]]; entry (i, j) is elems[n - 1 - i + j]
    elems = xnp.concatenate([xnp.flip(c, -1), r[..., 1:]], axis=-1)
    idx = (n - 1) - np.arange(n)[:, None] + np.arange(m)[None, :]
    return elems[..., idx]


def hankel(c: Any, r: Any = None) -> Any:
    """The Hankel matrix with first column ``c`` and last row ``r`` (zeros by default)."""
    c = xnp.asarray(c)
    r = xnp.zeros_like(c) if r is None else xnp.asarray(r)
    if c.ndim == 0:
        raise ValueError("hankel: c must be at least 1-dimensional, got a scalar.")
    if r.ndim == 0:
        raise ValueError("hankel: r must be at least 1-dimensional, got a scalar.")
    dtype = xnp.result_type(c, r)
    batch = np.broadcast_shapes(c.shape[:-1], r.shape[:-1])
    c = xnp.broadcast_to(c.astype(dtype), batch + c.shape[-1:])
    r = xnp.broadcast_to(r.astype(dtype), batch + r.shape[-1:])
    n, m = c.shape[-1], r.shape[-1]
    elems = xnp.concatenate([c, r[..., 1:]], axis=-1)
    return elems[..., np.arange(n)[:, None] + np.arange(m)[None, :]]


def circulant(c: Any) -> Any:
    """The circulant matrix whose first column is ``c``; leading axes batch."""
    c = xnp.atleast_1d(xnp.asarray(c))
    n = c.shape[-1]
    return c[..., (np.arange(n)[:, None] - np.arange(n)[None, :]) % n]


def hilbert(n: int) -> Any:
    """The ``n x n`` Hilbert matrix ``1 / (i + j + 1)``."""
    a = lax.broadcasted_iota(xnp.result_type(float), (int(n), 1), 0)
    return 1 / (a + a.T + 1)


def fiedler(a: Any) -> Any:
    """The Fiedler matrix ``|a_i - a_j|``; leading axes batch."""
    a = xnp.atleast_1d(xnp.asarray(a))
    return xnp.abs(a[..., None] - a[..., None, :])


def hadamard(n: int, dtype: Any = int) -> Any:
    """The ``n x n`` Sylvester-Hadamard matrix (``n`` a power of 2)."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"n must be a positive power of 2; got {n}.")
    h = xnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        h = xnp.block([[h, h], [h, -h]])
    return h


def dft(n: int, scale: str | None = None, *, dtype: Any = None) -> Any:
    """The ``n x n`` discrete Fourier transform matrix (``scale`` None, 'sqrtn' or 'n')."""
    if scale is not None and scale not in ("sqrtn", "n"):
        raise ValueError(f"scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    dtype = xnp.result_type(complex) if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dtype, np.complexfloating):
        raise ValueError(f"dtype must be a complex floating-point type; got {dtype}.")
    a = xnp.arange(n, dtype=dtype)
    omegas = xnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        return omegas / xnp.sqrt(n)
    return omegas / n if scale == "n" else omegas


def helmert(n: int, full: bool = False) -> Any:
    """The Helmert matrix of order ``n`` (without its first row unless ``full``)."""
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    i = xnp.arange(n - 1)[:, None]
    j = xnp.arange(n)[None, :]
    k = i + 1
    k_f = k.astype(xnp.result_type(float))
    denom = xnp.sqrt(k_f * (k_f + 1))
    h = xnp.where(j <= i, 1.0 / denom, xnp.where(j == k, -k_f / denom, xnp.zeros_like(denom)))
    if full:
        h = xnp.concatenate([xnp.full((1, n), 1.0 / xnp.sqrt(n), dtype=h.dtype), h], axis=0)
    return h


def _polar_2d(a: Any, side: str, method: str, eps: Any) -> tuple:
    m, n = a.shape
    if method == "qdwh":
        # JAX's choice: QDWH on a (or on a^H for a wide matrix's left decomposition); it asks
        # for M >= N, so the other two combinations are not supported, as in JAX
        if m >= n and side == "right":
            unitary, posdef, _, _ = lax.linalg.qdwh(a, is_hermitian=False, eps=eps)
        elif m < n and side == "left":
            unitary, posdef, _, _ = lax.linalg.qdwh(xnp.conj(a.T), is_hermitian=False, eps=eps)
            unitary, posdef = xnp.conj(unitary.T), xnp.conj(posdef.T)
        else:
            raise NotImplementedError(
                "method='qdwh' only supports mxn matrices where m < n where side='right' and "
                f"m >= n side='left', got {tuple(a.shape)} with side={side!r}")
        return unitary, posdef
    u_svd, s, vh = np_linalg.svd(a, full_matrices=False)
    s = s.astype(u_svd.dtype)
    unitary = xnp.matmul(u_svd, vh)
    if side == "right":
        posdef = xnp.matmul(xnp.conj(vh.T) * s[None, :], vh)
    else:
        posdef = xnp.matmul(u_svd * s[None, :], xnp.conj(u_svd.T))
    return unitary, posdef


def polar(a: Any, side: str = "right", *, method: str = "qdwh", eps: Any = None,
          max_iterations: Any = None) -> tuple:
    """The polar decomposition ``a = u p`` (``side='right'``) or ``p u`` ('left'), as
    ``jax.scipy.linalg.polar``: ``method='qdwh'`` runs ``xform.lax.linalg.qdwh`` (the QR-based
    dynamically weighted Halley iteration; for ``m >= n`` with 'right' and ``m < n`` with
    'left', as in JAX), ``'svd'`` builds the factors from the SVD. ``max_iterations`` is not
    used, as in JAX (QDWH picks its iteration count from ``eps``). Leading batch dimensions
    are mapped over."""
    del max_iterations  # JAX ignores it too
    a = xnp.asarray(a)
    if a.ndim < 2:
        raise ValueError("The input `a` must be at least a 2-D array.")
    if side not in ["right", "left"]:
        raise ValueError("The argument `side` must be either 'right' or 'left'.")
    if method not in ("qdwh", "svd"):
        raise ValueError(f"Unknown polar decomposition method {method}.")
    (a,) = promote_inexact(a)
    sig = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"
    fun = functools.partial(_polar_2d, side=side, method=method, eps=eps)
    return xnp.vectorize(fun, signature=sig)(a)
