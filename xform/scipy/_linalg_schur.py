"""More of ``jax.scipy.linalg``: the Schur and Hessenberg forms (``schur``, ``hessenberg``,
``rsf2csf``) and what is built on them (``sqrtm``, ``funm``, ``solve_sylvester``), the Fréchet
derivative of the exponential (``expm_frechet``), ``qr_multiply``, and more special matrices
(``companion``, ``fiedler_companion``, ``leslie``, ``pascal``, ``invpascal``, ``invhilbert``,
``convolution_matrix``).

The algorithms are JAX's (Higham's recurrence for the triangular square root, Parlett's for
``funm``, Bartels-Stewart for ``solve_sylvester``, Givens rotations for ``rsf2csf``), written
with xform.numpy and xform.lax so jit and vmap apply; ``schur``/``hessenberg`` run on CPU only,
as in JAX.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import is_complex
from xform.interpreters.jvp import instantiate, jvp_flat
from xform.lax import linalg as lax_linalg
from xform.numpy import linalg as np_linalg
from xform.scipy._linalg_more import expm, solve, toeplitz
from xform.scipy._special_dist import promote_inexact
from xform.scipy._special_more import comb

__all__ = ["companion", "convolution_matrix", "expm_frechet", "fiedler_companion", "funm",
           "hessenberg", "invhilbert", "invpascal", "leslie", "pascal", "qr_multiply",
           "rsf2csf", "schur", "solve_sylvester", "sqrtm"]


def _complex_dtype(dtype: Any) -> np.dtype:
    return np.result_type(dtype, np.complex64)


def _mH(x: Any) -> Any:
    return xnp.conj(xnp.swapaxes(x, -1, -2))


# -- Schur and Hessenberg forms --------------------------------------------------------------
def schur(a: Any, output: str = "real") -> tuple:
    """The Schur decomposition ``a = Z T Z^H``: ``(T, Z)``, ``T`` quasi upper triangular for
    ``output='real'`` (real input), upper triangular for 'complex' (CPU only, as JAX)."""
    if output not in ("real", "complex"):
        raise ValueError(f"Expected 'output' to be either 'real' or 'complex', got {output=}.")
    a = xnp.asarray(a)
    if output == "complex":
        a = a.astype(_complex_dtype(a.dtype))
    return lax_linalg.schur(a)


def hessenberg(a: Any, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Any:
    """The upper Hessenberg form ``h`` of square ``a`` (``a = q h q^H``); with ``calc_q`` also
    the unitary ``q`` (CPU only, as JAX)."""
    a = xnp.asarray(a)
    n = a.shape[-1]
    if n == 0:
        return (xnp.zeros_like(a), xnp.zeros_like(a)) if calc_q else xnp.zeros_like(a)
    a_out, taus = lax_linalg.hessenberg(a)
    h = xnp.triu(a_out, -1)
    if not calc_q:
        return h
    # the reflectors act on rows/columns 1..n-1: Q = diag(1, householder_product(...))
    q = lax_linalg.householder_product(a_out[..., 1:, :-1], taus)
    batch = a_out.shape[:-2]
    dt = a_out.dtype
    q = xnp.block([[xnp.ones(batch + (1, 1), dt), xnp.zeros(batch + (1, n - 1), dt)],
                   [xnp.zeros(batch + (n - 1, 1), dt), q]])
    return h, q


def _rsf2csf_2d(t: Any, z: Any) -> tuple:
    dtype = np.result_type(t.dtype, z.dtype, np.complex64)
    t, z = t.astype(dtype), z.astype(dtype)
    eps = float(np.finfo(dtype).eps)
    n = t.shape[0]
    if n == 1:
        return t, z
    idx = xnp.arange(n)

    def rotate(m, t, z):
        # a Givens rotation that zeroes t[m, m-1] using an eigenvalue of the 2x2 block
        mu = np_linalg.eigvals(lax.dynamic_slice(t, (m - 1, m - 1), (2, 2))) - t[m, m]
        r = np_linalg.norm(xnp.stack([mu[0], t[m, m - 1]])).astype(dtype)
        c, s = mu[0] / r, t[m, m - 1] / r
        g = xnp.stack([xnp.stack([xnp.conj(c), s]), xnp.stack([-s, c])])
        rows = lax.dynamic_slice_in_dim(t, m - 1, 2, axis=0)
        cols_after = idx >= m - 1
        rows = xnp.where(cols_after, g @ xnp.where(cols_after, rows, 0), rows)
        t = lax.dynamic_update_slice_in_dim(t, rows, m - 1, axis=0)
        cols = lax.dynamic_slice_in_dim(t, m - 1, 2, axis=1)
        rows_before = idx[:, None] < m + 1
        cols = xnp.where(rows_before, xnp.where(rows_before, cols, 0) @ _mH(g), cols)
        t = lax.dynamic_update_slice_in_dim(t, cols, m - 1, axis=1)
        zc = lax.dynamic_slice_in_dim(z, m - 1, 2, axis=1)
        z = lax.dynamic_update_slice_in_dim(z, zc @ _mH(g), m - 1, axis=1)
        return t, z

    def step(i, tz):
        t, z = tz
        m = n - i
        big = xnp.abs(t[m, m - 1]) > eps * (xnp.abs(t[m - 1, m - 1]) + xnp.abs(t[m, m]))
        t, z = lax.cond(big, rotate, lambda m, t, z: (t, z), m, t, z)
        return t.at[m, m - 1].set(0.0), z

    return lax.fori_loop(1, n, step, (t, z))


def rsf2csf(T: Any, Z: Any, check_finite: bool = True) -> tuple:  # noqa: N803 - SciPy's names
    """The complex Schur form ``(T, Z)`` from the real one (``T`` quasi upper triangular): each
    2x2 block of a complex pair of eigenvalues is rotated to upper triangular."""
    t, z = xnp.asarray(T), xnp.asarray(Z)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError("Input 'T' must be square.")
    if z.ndim < 2 or z.shape[-1] != z.shape[-2]:
        raise ValueError("Input 'Z' must be square.")
    if t.shape[-1] != z.shape[-1]:
        raise ValueError(f"Input array shapes must match: Z: {z.shape} vs. T: {t.shape}")
    return xnp.vectorize(_rsf2csf_2d, signature="(n,n),(n,n)->(n,n),(n,n)")(t, z)


# -- functions of a matrix -------------------------------------------------------------------
def _sqrtm_upper_triangular(t: Any) -> Any:
    """Higham's column-by-column recurrence: ``U^2 = T`` for upper triangular ``T``."""
    diag = xnp.sqrt(xnp.diag(t))
    n = diag.size

    def entry(step, state):
        j, u = state
        i = j - 1 - step
        s = lax.fori_loop(i + 1, j, lambda k, acc: acc + u[i, k] * u[k, j], 0.0)
        val = xnp.where(t[i, j] == s, 0.0, (t[i, j] - s) / (diag[i] + diag[j]))
        return j, u.at[i, j].set(val)

    def column(j, u):
        return lax.fori_loop(0, j, entry, (j, u))[1]

    return lax.fori_loop(0, n, column, xnp.diag(diag))


def sqrtm(A: Any, blocksize: int = 1) -> Any:  # noqa: N803 - SciPy's name
    """The principal square root of a square matrix, through its complex Schur form (CPU only,
    as JAX); the result is complex."""
    if blocksize > 1:
        raise NotImplementedError("Blocked version is not implemented yet.")
    t, z = schur(xnp.asarray(A), output="complex")
    root = _sqrtm_upper_triangular(t)
    return xnp.matmul(xnp.matmul(z, root, precision=lax.Precision.HIGHEST), xnp.conj(z.T),
                      precision=lax.Precision.HIGHEST)


def _parlett(f: Any, t: Any) -> tuple:
    """Parlett's recurrence (Golub and Van Loan 11.1.1) for the off-diagonal of ``F = f(T)``,
    and the smallest gap between the diagonal entries it divided by."""
    n = t.shape[0]
    idx = xnp.arange(n)

    def inner(i, state):
        p, f, minden = state
        j = i + p
        s = t[i - 1, j - 1] * (f[j - 1, j - 1] - f[i - 1, i - 1])
        between = (idx >= i) & (idx < j - 1)
        s = s + (xnp.where(between, t[i - 1], 0) @ xnp.where(between, f[:, j - 1], 0)
                 - xnp.where(between, f[i - 1], 0) @ xnp.where(between, t[:, j - 1], 0))
        den = t[j - 1, j - 1] - t[i - 1, i - 1]
        s = xnp.where(den != 0, s / den, s)
        return p, f.at[i - 1, j - 1].set(s), xnp.minimum(minden, xnp.abs(den))

    def outer(p, state):
        _, f, minden = lax.fori_loop(1, n - p + 1, inner, (p, *state))
        return f, minden

    return lax.fori_loop(1, n, outer, (f, xnp.abs(t[0, 0])))


def funm(A: Any, func: Callable, disp: bool = True) -> Any:  # noqa: N803 - SciPy's name
    """``func`` of a square matrix, applied to the eigenvalues of its complex Schur form and
    extended by Parlett's recurrence (CPU only, as JAX). With ``disp=False`` also an estimate
    of the relative error."""
    a = xnp.asarray(A)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError("expected square array_like input")
    t, z = schur(a)
    t, z = rsf2csf(t, z)
    f = xnp.diag(func(xnp.diag(t))).astype(t.dtype)
    f, minden = _parlett(f, t)
    f = z @ f @ _mH(z)
    if disp:
        return f
    tol = float(np.finfo(np.float32 if f.dtype.char.lower() == "f" else np.float64).eps)
    minden = xnp.where(minden == 0.0, tol, minden)
    err = xnp.where(xnp.any(xnp.isinf(f)), np.inf,
                    xnp.minimum(1, xnp.maximum(tol, (tol / minden)
                                               * np_linalg.norm(xnp.triu(t, 1), 1))))
    return f, err


# -- Sylvester equations ---------------------------------------------------------------------
def _sylvester_triangular(r: Any, s: Any, f: Any) -> Any:
    """Bartels-Stewart back substitution for ``R Y + Y S^T = F`` with ``R``, ``S`` upper
    triangular, entry by entry from the bottom right."""
    m, n = f.shape
    rows, cols = xnp.arange(m), xnp.arange(n)

    def step(y, idx):
        i, j = idx // n, idx % n
        y2 = y.reshape((m, n))
        row_term = xnp.sum(xnp.where(rows > i, r[i, :] * y2[:, j], 0.0))
        col_term = xnp.sum(xnp.where(cols > j, y2[i, :] * s[:, j], 0.0))
        val = (f[i, j] - (row_term + col_term)) / (r[i, i] + s[j, j])
        return y.at[i * n + j].set(val), None

    y, _ = lax.scan(step, xnp.zeros((m * n,), f.dtype), xnp.arange(m * n - 1, -1, -1))
    return y.reshape((m, n))


def _solve_sylvester_2d(a: Any, b: Any, c: Any, *, method: str, tol: float) -> Any:
    m, n = c.shape[-2:]
    if method == "schur":
        r, u = schur(a, output="complex")
        s, v = schur(_mH(b), output="complex")
        f = _mH(u) @ c.astype(r.dtype) @ v
        x = u @ _sylvester_triangular(r, _mH(s), f) @ _mH(v)
    elif method == "eigen":
        ra, ua = np_linalg.eig(a)
        rb, ub = np_linalg.eig(b)
        f = solve(ua, c.astype(ra.dtype) @ ub)
        y = f / (ra[:, None] + rb[None, :])
        x = ua[:m, :m] @ y[:m, :n] @ np_linalg.inv(ub)[:n, :n]
    else:
        raise ValueError(f'Unrecognized method {method}. The two valid methods are either '
                         '"schur" or "eigen".')
    if not is_complex(c.dtype):
        x = x.real
    # a (near) common eigenvalue of A and -B makes the equation singular: NaN, as JAX
    singular = xnp.any(xnp.abs(np_linalg.eigvals(a)[:, None]
                               + np_linalg.eigvals(b)[None, :]) < tol)
    return xnp.where(singular, xnp.full_like(x, np.nan), x)


def solve_sylvester(A: Any, B: Any, C: Any, *, method: str = "schur",  # noqa: N803
                    tol: float = 1e-8) -> Any:
    """The solution ``X`` of ``A X + X B = C`` (Bartels-Stewart on the Schur forms, or
    ``method='eigen'`` through eigendecompositions); NaN when ``A`` and ``-B`` share an
    eigenvalue to within ``tol``. CPU only (it needs ``schur``/``eig``), as JAX."""
    a, b, c = promote_inexact(A, B, C)
    m, n = c.shape[-2:]
    if a.shape[-2:] != (m, m) or b.shape[-2:] != (n, n):
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {a.shape}\n"
                         f"B: {b.shape}\nC: {c.shape}")

    def two_d(a, b, c):
        return _solve_sylvester_2d(a, b, c, method=method, tol=tol)

    return xnp.vectorize(two_d, signature="(m,m),(n,n),(m,n)->(m,n)")(a, b, c)


# -- expm_frechet ----------------------------------------------------------------------------
def expm_frechet(A: Any, E: Any, *, method: str | None = None,  # noqa: N803 - SciPy's names
                 compute_expm: bool = True) -> Any:
    """The Fréchet derivative of ``expm`` at ``A`` in the direction ``E`` (the JVP of
    ``expm``), with ``expm(A)`` first when ``compute_expm``."""
    a, e = xnp.asarray(A), xnp.asarray(E)
    if a.ndim < 2 or a.shape[-2] != a.shape[-1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got A.shape={a.shape}")
    if e.ndim < 2 or e.shape[-2] != e.shape[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got E.shape={e.shape}")
    if a.shape != e.shape:
        raise ValueError(f"expected A and E to be the same shape, got A.shape={a.shape} "
                         f"E.shape={e.shape}")
    (out,), (tangent,), _ = jvp_flat(
        lambda x: ([expm(x, upper_triangular=False, max_squarings=16)], None), [a], [e],
        "expm_frechet")
    tangent = instantiate(tangent)
    return (out, tangent) if compute_expm else tangent


# -- qr_multiply -----------------------------------------------------------------------------
def qr_multiply(a: Any, c: Any, mode: str = "right", pivoting: bool = False,
                conjugate: bool = False, overwrite_a: bool = False,
                overwrite_c: bool = False) -> tuple:
    """``Q @ c`` (``mode='left'``) or ``c @ Q`` ('right') for the economic ``Q`` of ``a``'s QR
    decomposition, and ``R``; ``conjugate`` uses ``conj(Q)``. With ``pivoting`` the QR is
    column-pivoted (LAPACK's ``geqp3``, ``a[..., p] = Q @ R``) and the column permutation
    ``p`` (int32) is returned third: ``(result, R, p)``."""
    a, c = promote_inexact(a, c)
    if mode not in ("right", "left"):
        raise ValueError(f"mode must be 'right' or 'left', got {mode!r}")
    onedim = c.ndim == 1
    if onedim:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = a.shape[-2:]
    k = min(m, n)
    if mode == "left" and c.shape[-2] != k:
        raise ValueError(f"Array shapes are not compatible for Q @ c operation: a has shape "
                         f"{tuple(a.shape)} so Q has {k} columns, but c has {c.shape[-2]} rows "
                         f"(expected {k}).")
    if mode == "right" and c.shape[-1] != m:
        raise ValueError(f"Array shapes are not compatible for c @ Q operation: a has shape "
                         f"{tuple(a.shape)} so Q has {m} rows, but c has {c.shape[-1]} columns "
                         f"(expected {m}).")
    batch = np.broadcast_shapes(a.shape[:-2], c.shape[:-2])
    a = xnp.broadcast_to(a, batch + a.shape[-2:])
    c = xnp.broadcast_to(c, batch + c.shape[-2:])
    q, r, *p = lax_linalg.qr(a, pivoting=bool(pivoting), full_matrices=False)
    if conjugate:
        q = xnp.conj(q)
    out = q @ c if mode == "left" else c @ q
    if onedim:
        out = out.ravel()
    return (out, xnp.triu(r[..., :k, :]), *p)


# -- special matrices ------------------------------------------------------------------------
def _companion_1d(a: Any) -> Any:
    first_row = -a[1:] / a[0]
    m = a.shape[0] - 1
    return xnp.eye(m, m, k=-1, dtype=first_row.dtype).at[0].set(first_row)


def companion(a: Any) -> Any:
    """The companion matrix of the polynomial with coefficients ``a`` (highest first)."""
    (a,) = promote_inexact(a)
    a = xnp.atleast_1d(a)
    if a.shape[-1] < 2:
        raise ValueError("The length of `a` along the last axis must be at least 2; got "
                         f"shape {a.shape}.")
    return xnp.vectorize(_companion_1d, signature="(n)->(m,m)")(a)


def _fiedler_companion_1d(a: Any) -> Any:
    n = a.shape[0] - 1
    if n == 0:
        return xnp.zeros((0, 0), a.dtype)
    a = a / a[0]
    if n == 1:
        return -a[1:].reshape(1, 1)
    i = xnp.arange(n)[:, None]
    j = xnp.arange(n)[None, :]
    even, odd = i % 2 == 0, i % 2 == 1
    one, zero = xnp.array(1, a.dtype), xnp.array(0, a.dtype)
    conds = [(i == 0) & (j == 0), (i == 1) & (j == 0), (j == i + 1) & even,
             (j == i + 2) & even, (j == i - 1) & even & (i >= 2), (j == i - 2) & odd & (i >= 3)]
    vals = [-a[1], one, -a[xnp.minimum(i + 2, n)], one, -a[xnp.minimum(i + 1, n)], one]
    return xnp.select(conds, vals, default=zero)


def fiedler_companion(a: Any) -> Any:
    """Fiedler's pentadiagonal companion matrix of the polynomial with coefficients ``a``."""
    (a,) = promote_inexact(a)
    a = xnp.atleast_1d(a)
    if a.shape[-1] == 0:
        raise ValueError("fiedler_companion requires the last axis of 'a' to have nonzero "
                         f"length, but got an array of shape {a.shape}.")
    return xnp.vectorize(_fiedler_companion_1d, signature="(n)->(m,m)")(a)


def leslie(f: Any, s: Any) -> Any:
    """The Leslie matrix: fecundities ``f`` in the first row, survival rates ``s`` below the
    diagonal."""
    f, s = xnp.atleast_1d(f), xnp.atleast_1d(s)
    if f.shape[-1] < 2:
        raise ValueError("The length of f along the last axis must be at least 2; got shape "
                         f"{f.shape}.")
    if s.shape[-1] != f.shape[-1] - 1:
        raise ValueError("Incorrect lengths for f and s. The length of s along the last axis "
                         f"must be one less than the length of f; got f shape {f.shape} and "
                         f"s shape {s.shape}.")
    dtype = xnp.result_type(f, s)

    def one(f, s):
        return xnp.diag(s.astype(dtype), k=-1).at[0].set(f.astype(dtype))

    return xnp.vectorize(one, signature="(n),(m)->(n,n)")(f, s)


def _binom(n: Any, k: Any) -> Any:
    return xnp.exp(lax.lgamma(n + 1.0) - lax.lgamma(n - k + 1.0) - lax.lgamma(k + 1.0))


def _check_kind(kind: str | None) -> str:
    kind = "symmetric" if kind is None else kind
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError(f"Expected kind to be one of: ['symmetric', 'lower', 'upper']; got "
                         f"{kind}")
    return kind


def pascal(n: int, kind: str | None = None) -> Any:
    """The ``n x n`` Pascal matrix ('symmetric', 'lower' or 'upper'), float32 as JAX."""
    kind = _check_kind(kind)
    a = xnp.arange(operator.index(n), dtype=np.float32)
    low = _binom(a[:, None], a[None, :])
    if kind == "lower":
        return low
    if kind == "upper":
        return low.T
    return xnp.dot(low, low.T)


def invpascal(n: int, kind: str | None = None) -> Any:
    """The inverse of ``pascal(n, kind)``."""
    kind = _check_kind(kind)
    a = xnp.arange(operator.index(n), dtype=xnp.result_type(float))
    i, j = a[:, None], a[None, :]
    low_inv = ((-1.0) ** (i - j)) * _binom(i, j)
    if kind == "lower":
        return low_inv
    if kind == "upper":
        return low_inv.T
    return xnp.dot(low_inv.T, low_inv)


def invhilbert(n: int) -> Any:
    """The inverse of the ``n x n`` Hilbert matrix, from its closed form."""
    n = operator.index(n)
    a = xnp.arange(n, dtype=xnp.result_type(float))
    i, j = a[:, None], a[None, :]
    s = i + j
    return ((-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
            * comb(s, i) ** 2)


def convolution_matrix(a: Any, n: int, mode: str = "full") -> Any:
    """The Toeplitz matrix ``A`` with ``A @ v == convolve(a, v, mode)`` for ``v`` of length
    ``n``."""
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive integer; got {n}.")
    a = xnp.asarray(a)
    if a.ndim == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a scalar.")
    m = a.shape[-1]
    if m < 1:
        raise ValueError(f"len(a) must be at least 1; got shape {a.shape}.")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    pads = [(0, 0)] * (a.ndim - 1) + [(0, n - 1)]
    az = xnp.pad(a, pads)
    raz = xnp.pad(xnp.flip(a, axis=-1), pads)
    length = m + n - 1
    if mode == "same":
        trim = min(n, m) - 1
        head, tail = trim // 2, trim - trim // 2
    elif mode == "valid":
        head = tail = min(n, m) - 1
    else:
        head = tail = 0
    col0 = lax.slice_in_dim(az, head, length - tail, axis=-1)
    row0 = lax.slice_in_dim(raz, length - n - head, length - head, axis=-1)
    return toeplitz(col0, row0)
