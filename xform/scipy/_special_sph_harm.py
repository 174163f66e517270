"""``sph_harm_y``: spherical harmonics ``Y_n^m(theta, phi)`` from the fully normalized
associated Legendre functions, computed by JAX's recurrences (the diagonal and first
off-diagonal in closed form, then the three-term recurrence in the degree as one update per
step of the distance from the diagonal)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax

__all__ = ["sph_harm_y"]


def _recurrence_coefficients(l_max: int, dtype: Any) -> tuple:
    """``d0``, ``d1`` of ``P_l^m = d0 x P_{l-1}^m - d1 P_{l-2}^m`` (normalized), indexed
    ``[step, m, l]`` and nonzero only where ``l = m + step`` (and ``l > m``, ``l > m + 1``)."""
    m, deg = np.meshgrid(np.arange(l_max + 1, dtype=dtype), np.arange(l_max + 1, dtype=dtype),
                         indexing="ij")
    with np.errstate(divide="ignore", invalid="ignore"):
        c0, c1, c2, c3 = deg * deg, m * m, 2.0 * deg, (deg - 1.0) * (deg - 1.0)
        d0 = np.sqrt((4.0 * c0 - 1.0) / (c0 - c1))
        d1 = np.sqrt(((c2 + 1.0) * (c3 - c1)) / ((c2 - 3.0) * (c0 - c1)))
    d0 = np.where(deg - m >= 1, d0, 0.0).astype(dtype)
    d1 = np.where(deg - m >= 2, d1, 0.0).astype(dtype)
    i, j, k = np.ogrid[:l_max + 1, :l_max + 1, :l_max + 1]
    on_step = (i + j - k == 0).astype(dtype)
    return xnp.asarray(d0[None] * on_step), xnp.asarray(d1[None] * on_step)


def _normalized_legendre(l_max: int, x: Any) -> Any:
    """``P[m, l, :]``: the normalized associated Legendre functions at each entry of ``x``."""
    nx = x.shape[0]
    dtype = x.dtype
    init = 0.5 / np.sqrt(np.pi)
    a_idx = xnp.arange(1, l_max + 1, dtype=dtype)
    b_idx = xnp.arange(l_max, dtype=dtype)
    f_a = xnp.cumprod(-1 * xnp.sqrt(1.0 + 0.5 / a_idx))
    f_b = xnp.sqrt(2.0 * b_idx + 3.0)
    p = xnp.zeros((l_max + 1, l_max + 1, nx), dtype).at[0, 0].set(init)
    y = xnp.cumprod(xnp.broadcast_to(xnp.sqrt(1.0 - x * x), (l_max, nx)), axis=0)
    diag = np.arange(l_max + 1)
    p = p.at[diag[1:], diag[1:]].set(init * f_a[:, None] * y)
    p = p.at[diag[:l_max], diag[:l_max] + 1].set(f_b[:, None] * x[None, :]
                                                 * p[diag[:l_max], diag[:l_max]])
    d0, d1 = _recurrence_coefficients(l_max, np.dtype(dtype))

    def step(i, p):
        h = (d0[i][:, :, None] * (xnp.roll(p, 1, axis=1) * x)
             - d1[i][:, :, None] * xnp.roll(p, 2, axis=1))
        return p + h

    if l_max > 1:
        p = lax.fori_loop(2, l_max + 1, step, p)
    return p


def sph_harm_y(n: Any, m: Any, theta: Any, phi: Any, diff_n: int | None = None,
               n_max: int | None = None) -> Any:
    """The spherical harmonic of degree ``n`` and order ``m`` (``|m| <= n``) at colatitude
    ``theta`` and longitude ``phi`` (1-D arrays of one length). ``n_max``, the largest degree,
    must be static under transformations (by default ``max(n)`` of a concrete ``n``)."""
    if diff_n is not None:
        raise NotImplementedError("The 'diff_n' argument to xform.scipy.special.sph_harm_y is "
                                  "not supported.")
    if np.isscalar(theta):
        theta = xnp.array([theta])
    if n_max is None:
        n_max = np.max(np.asarray(n))
    n_max = operator.index(int(n_max))
    n, m, theta, phi = (xnp.asarray(v) for v in (n, m, theta, phi))
    legendre = _normalized_legendre(n_max, xnp.cos(theta))
    # out-of-range indices clip, as JAX's gather(mode="clip")
    size = legendre.shape[-1]
    mi = xnp.clip(abs(m), 0, n_max)
    ni = xnp.clip(n, 0, n_max)
    value = legendre[mi, ni, xnp.clip(xnp.arange(len(n)), 0, size - 1)]
    angle = abs(m) * phi
    harmonics = lax.complex(value * xnp.cos(angle), value * xnp.sin(angle))
    return xnp.where(m < 0, (-1.0) ** abs(m) * xnp.conjugate(harmonics), harmonics)
