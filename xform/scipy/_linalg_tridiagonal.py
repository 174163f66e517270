"""``eigh_tridiagonal``: eigenvalues of a symmetric (Hermitian) tridiagonal matrix by bisection
on Sturm sequence counts, and eigenvectors by inverse iteration (``tridiagonal_solve`` with
perturbed singular pivots) with the vectors of clustered eigenvalues re-orthogonalized by QR,
as JAX (and LAPACK's xSTEBZ/xSTEIN) do; the starting vectors are JAX's normal draws."""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax, random
from xform.lax import linalg as lax_linalg
from xform.numpy import linalg as np_linalg

__all__ = ["eigh_tridiagonal"]


def _sturm_counts(alpha, beta_sq, pivmin, alpha0_perturbation, x):
    """For each shift in ``x``: the number of eigenvalues below it (the sign changes of the
    Sturm sequence, pivots clamped at ``pivmin``)."""
    n = alpha.shape[0]
    q = alpha[0] - x
    count = xnp.where(q < 0, 1, 0).astype(np.int32)
    q = xnp.where(alpha[0] == x, alpha0_perturbation, q)

    def step(i, state):
        q, count = state
        q = alpha[i] - beta_sq[i - 1] / q - x
        count = xnp.where(q <= pivmin, count + 1, count)
        return xnp.where(q <= pivmin, xnp.minimum(q, -pivmin), q), count

    return lax.fori_loop(1, n, step, (q, count))[1]


def _eigenvectors(alpha, beta, eigvals, key):
    n, k = alpha.shape[0], eigvals.shape[0]
    dl = xnp.pad(xnp.conj(beta), (1, 0))
    du = xnp.pad(beta, (0, 1))
    eps = np.finfo(eigvals.dtype).eps
    t_norm = xnp.maximum(xnp.abs(eigvals[0]), xnp.abs(eigvals[-1]))
    close = (eigvals[1:] - eigvals[:-1]) < np.sqrt(eps) * t_norm
    left_close = xnp.pad(close, (1, 0), constant_values=False)
    right_close = xnp.pad(close, (0, 1), constant_values=False)
    max_clusters = k // 2 + 1
    starts = xnp.nonzero(~left_close & right_close, size=max_clusters)[0]
    ends = xnp.nonzero(left_close & ~right_close, size=max_clusters)[0] + 1
    num_clusters = xnp.sum(~left_close & right_close)
    idx = xnp.arange(k)
    solve_dtype = np.result_type(alpha.dtype, beta.dtype)
    base_dtype = np.finfo(solve_dtype).dtype
    v = random.normal(key, (k, n), dtype=base_dtype).astype(solve_dtype)
    v = v / np_linalg.norm(v, axis=-1, keepdims=True).astype(solve_dtype)

    def orthogonalize(ev):
        def cluster(i, ev):
            start, end = starts[i], ends[i]
            mask = (idx < end - start).astype(ev.dtype)
            block = lax.dynamic_slice(xnp.pad(ev, ((0, k), (0, 0))), (start, 0), (k, n))
            q, _ = np_linalg.qr((block * mask[:, None]).T)
            update = lax.dynamic_update_slice(xnp.zeros((2 * k, n), ev.dtype),
                                              q.T * mask[:, None], (start, 0))[:k, :]
            return xnp.where(((idx >= start) & (idx < end))[:, None], update, ev)
        return lax.fori_loop(0, num_clusters, cluster, ev)

    shifted = alpha[None, :] - eigvals[:, None]
    dl_k = xnp.broadcast_to(dl[None, :], (k, n)).astype(solve_dtype)
    du_k = xnp.broadcast_to(du[None, :], (k, n)).astype(solve_dtype)

    def step(state):
        i, v, norm_v, _ = state
        new = lax_linalg.tridiagonal_solve(dl_k, shifted.astype(solve_dtype), du_k,
                                           v[:, :, None].astype(solve_dtype),
                                           perturb_singular=True)[..., 0]
        norm_new = np_linalg.norm(new, axis=-1, keepdims=True)
        new = orthogonalize(new / norm_new.astype(new.dtype))
        return i + 1, new, norm_new[..., 0], norm_v

    def keep_going(state):
        i, _, norm_v, norm_old = state
        # at most 5 steps (LAPACK's xSTEIN), while some norm still grows by 10%
        return (i < 5) & xnp.any(norm_v >= 1.1 * norm_old)

    init = (0, v, xnp.ones(k, eigvals.dtype), xnp.zeros(k, eigvals.dtype))
    return lax.while_loop(keep_going, step, init)[1]


def eigh_tridiagonal(d: Any, e: Any, *, eigvals_only: bool = False, select: str = "a",
                     select_range: tuple[float, float] | None = None, tol: float | None = None,
                     key: Any = None) -> Any:
    """The eigenvalues (ascending) of the symmetric/Hermitian tridiagonal matrix with diagonal
    ``d`` and off-diagonal ``e``, and unless ``eigvals_only`` its eigenvectors (columns).
    ``select='i'`` with ``select_range=(lo, hi)`` picks eigenvalues ``lo..hi`` by index; ``key``
    seeds the inverse iteration's starting vectors (JAX's default key 42)."""
    if not eigvals_only and key is None:
        key = random.key(42)
    alpha, beta = xnp.asarray(d), xnp.asarray(e)
    supported = (np.float32, np.float64, np.complex64, np.complex128)
    if alpha.dtype != beta.dtype:
        raise TypeError("diagonal and off-diagonal values must have same dtype, got "
                        f"{alpha.dtype} and {beta.dtype}")
    if alpha.dtype not in supported:
        raise TypeError("Only float32 and float64 inputs are supported as inputs to "
                        f"xform.scipy.linalg.eigh_tridiagonal, got {alpha.dtype} and "
                        f"{beta.dtype}")
    n = alpha.shape[0]
    if n <= 1:
        return xnp.real(alpha) if eigvals_only else (xnp.real(alpha), xnp.eye(n, dtype=alpha.dtype))
    if np.issubdtype(alpha.dtype, np.complexfloating):
        alpha = xnp.real(alpha)
        beta_sq = xnp.real(beta * xnp.conj(beta))
        beta_abs = xnp.sqrt(beta_sq)
    else:
        beta_abs, beta_sq = xnp.abs(beta), xnp.square(beta)
    # Gershgorin bounds of the spectrum
    row_sums = xnp.concatenate([beta_abs[:1], beta_abs[:-1] + beta_abs[1:], beta_abs[-1:]])
    est_max = xnp.max(alpha + row_sums)
    est_min = xnp.min(alpha - row_sums)
    t_norm = xnp.maximum(xnp.abs(est_min), xnp.abs(est_max))
    finfo = np.finfo(alpha.dtype)
    one = np.ones([], dtype=alpha.dtype)
    safemin = np.maximum(one / finfo.max, (one + finfo.eps) * finfo.tiny)
    pivmin = safemin * xnp.maximum(1, xnp.max(beta_sq))
    alpha0_perturbation = xnp.square(finfo.eps * beta_abs[0])
    abs_tol = finfo.eps * t_norm
    if tol is not None:
        abs_tol = xnp.maximum(tol, abs_tol)
    max_it = finfo.nmant + 1
    if select == "a":
        targets = xnp.arange(n, dtype=np.int32)
    elif select == "i":
        if select_range is None:
            raise ValueError("for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("Got empty index range in select_range.")
        targets = xnp.arange(select_range[0], select_range[1] + 1, dtype=np.int32)
    elif select == "v":
        raise NotImplementedError("eigh_tridiagonal(..., select='v') is not implemented")
    else:
        raise ValueError("'select must have a value in {'a', 'i', 'v'}.")
    fudge = 2.1   # the Gershgorin interval, widened a little
    slack = xnp.array(n, alpha.dtype) * fudge * finfo.eps * t_norm
    shape = targets.shape
    lower = xnp.broadcast_to(est_min - slack - 2 * fudge * pivmin, shape)
    upper = xnp.broadcast_to(est_max + slack + fudge * pivmin, shape)
    mid = 0.5 * (upper + lower)
    pivmin = xnp.broadcast_to(pivmin, shape)
    alpha0_perturbation = xnp.broadcast_to(alpha0_perturbation, shape)

    def cond(state):
        i, lower, _, upper = state
        return (i < max_it) & (abs_tol < xnp.max(upper - lower))

    def body(state):
        i, lower, mid, upper = state
        counts = _sturm_counts(alpha, beta_sq, pivmin, alpha0_perturbation, mid)
        lower = xnp.where(counts <= targets, mid, lower)
        upper = xnp.where(counts > targets, mid, upper)
        return i + 1, lower, 0.5 * (lower + upper), upper

    _, _, mid, _ = lax.while_loop(cond, body, (0, lower, mid, upper))
    if eigvals_only:
        return mid
    return mid, _eigenvectors(alpha, beta, mid, key).T
