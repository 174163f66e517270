"""Polynomials on coefficient arrays (highest power first, as numpy's poly1d): vander, polyval,
polyadd, polysub, polymul, polyder, polyint, poly and trim_zeros.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from xform import lax
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._eager import eager_jit
from xform.numpy._promote import promote_dtypes, promote_to_inexact
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
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    cols = [uf.power(x, int(p)) if p else lax.full_like(x, 1) for p in powers]
    return sh.stack(cols, axis=1) if cols else lax.full((_shape(x)[0], 0), 0, to_aval(x).dtype)


@eager_jit(static_argnames=("unroll",))
def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """The polynomial with coefficients ``p`` (highest power first) at ``x`` (Horner)."""
    p, x = promote_dtypes(asarray(p), asarray(x))
    out = lax.full_like(x, 0)
    for k in range(_shape(p)[0]):
        out = uf.add(uf.multiply(out, x), lax.index_in_dim(p, k, 0, False))
    return out


def _pad_front(p: Any, n: int) -> Any:
    k = _shape(p)[0]
    zero = lax.full((), 0, to_aval(p).dtype)
    return lax.pad(p, zero, [(n - k, 0, 0)]) if k < n else p


def polyadd(a1: Any, a2: Any) -> Any:
    """Sum of two polynomials, as ``jax.numpy.polyadd``."""
    a1, a2 = promote_dtypes(sh.ravel(asarray(a1)), sh.ravel(asarray(a2)))
    n = max(_shape(a1)[0], _shape(a2)[0])
    return uf.add(_pad_front(a1, n), _pad_front(a2, n))


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


def poly(seq_of_zeros: Any) -> Any:
    """Coefficients of the monic polynomial with the given roots (1-D input), as
    ``jax.numpy.poly``."""
    (z,) = promote_to_inexact(asarray(seq_of_zeros))
    if to_aval(z).ndim != 1:
        raise NotImplementedError("poly: only 1-D arrays of roots are implemented here")
    out = asarray([1.0], dtype=to_aval(z).dtype)
    for i in range(_shape(z)[0]):
        root = lax.index_in_dim(z, i, 0, True)
        out = polymul(out, sh.concatenate([asarray([1.0], dtype=to_aval(z).dtype),
                                           uf.negative(root)], 0))
    return out


def trim_zeros(filt: Any, trim: str = "fb") -> Any:
    """``filt`` without leading (``'f'``) and/or trailing (``'b'``) zeros; the values must be
    concrete (the output size depends on them), as in JAX."""
    filt = asarray(filt)
    value = filt.concrete_value("trim_zeros") if isinstance(filt, Tracer) else filt
    nz = np.flatnonzero(np.asarray(value))
    n = _shape(filt)[0]
    if not nz.size:
        return lax.slice(filt, (0,), (0,))
    start = int(nz[0]) if "f" in trim.lower() else 0
    stop = int(nz[-1]) + 1 if "b" in trim.lower() else n
    return lax.slice(filt, (start,), (stop,))
