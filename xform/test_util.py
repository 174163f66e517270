"""Testing helpers: ``check_grads`` compares xform's derivatives with finite differences.

The JVP is checked against central differences, ``(f(x + eps t) - f(x - eps t)) / 2 eps``; the
VJP by the inner-product identity ``<J^T c, t> = <c, J t>``, with ``J t`` again from finite
differences, so neither check trusts the other mode. Higher orders recurse on the JVP and VJP
functions themselves.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jax.tree_util import tree_flatten, tree_map
from xform.transforms.autodiff import jvp, vjp

_DEFAULT_EPS = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-3,
                np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-3,
                np.dtype(np.complex128): 1e-5}
_DEFAULT_TOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 2e-2,
                np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 2e-2,
                np.dtype(np.complex128): 1e-5}


def _dtype(tree) -> np.dtype:
    # Python scalars compute in the default 32-bit dtypes, as everywhere in xform
    leaves = [np.asarray(x, np.float32) if isinstance(x, float) else np.asarray(x)
              for x in tree_flatten(tree)[0]]
    inexact = [x.dtype for x in leaves if np.issubdtype(x.dtype, np.inexact)]
    return np.dtype(np.float32) if not inexact else max(inexact, key=lambda d: d.itemsize)


def _random_like(tree, rng: np.random.Generator):
    def one(x):
        x = np.asarray(x)
        out = rng.standard_normal(x.shape)
        if np.issubdtype(x.dtype, np.complexfloating):
            out = out + 1j * rng.standard_normal(x.shape)
        return out.astype(x.dtype)
    return tree_map(one, tree)


def _axpy(a: float, xs, ys):
    return tree_map(lambda x, y: (np.asarray(x) + a * np.asarray(y)).astype(np.asarray(x).dtype),
                    xs, ys)


def _inner(xs, ys) -> float:
    """The real inner product Re(sum(conj(x) * y)) over all leaves."""
    xl, yl = tree_flatten(xs)[0], tree_flatten(ys)[0]
    return float(sum(np.real(np.vdot(np.asarray(x, np.complex128).ravel(),
                                     np.asarray(y, np.complex128).ravel()))
                     for x, y in zip(xl, yl)))


def _close(got, want, atol: float, rtol: float, what: str) -> None:
    gl, wl = tree_flatten(got)[0], tree_flatten(want)[0]
    assert len(gl) == len(wl), f"{what}: {len(gl)} outputs vs {len(wl)}"
    for g, w in zip(gl, wl):
        np.testing.assert_allclose(np.asarray(g, np.complex128), np.asarray(w, np.complex128),
                                   atol=atol, rtol=rtol, err_msg=what)


def numerical_jvp(f: Callable, primals: Sequence[Any], tangents: Sequence[Any], eps: float):
    f_pos = f(*_axpy(eps, primals, tangents))
    f_neg = f(*_axpy(-eps, primals, tangents))

    def difference(a, b):
        wide = np.complex128 if np.iscomplexobj(a) else np.float64
        return (np.asarray(a, wide) - np.asarray(b, wide)) / (2 * eps)

    return tree_map(difference, f_pos, f_neg)


def check_jvp(f: Callable, primals: Sequence[Any], *, eps: float, atol: float, rtol: float,
              rng: np.random.Generator) -> None:
    tangents = _random_like(tuple(primals), rng)
    _, t_out = jvp(f, tuple(primals), tangents)
    _close(t_out, numerical_jvp(f, primals, tangents, eps), atol, rtol,
           "JVP against central finite differences")


def check_vjp(f: Callable, primals: Sequence[Any], *, eps: float, atol: float, rtol: float,
              rng: np.random.Generator) -> None:
    out, f_vjp = vjp(f, *primals)
    tangents = _random_like(tuple(primals), rng)
    cotangent = _random_like(out, rng)
    # with complex values, cotangents pair with tangents through conjugation (JAX's convention)
    ct_in = tree_map(np.conj, f_vjp(tree_map(np.conj, cotangent)))
    lhs = _inner(tangents, ct_in)                       # <t, J^T c>
    rhs = _inner(numerical_jvp(f, primals, tangents, eps), cotangent)  # <J t, c>
    scale = max(1.0, abs(rhs))
    assert abs(lhs - rhs) <= atol * scale + rtol * abs(rhs), (
        f"VJP fails the inner-product test: <vjp(c), t> = {lhs} but <c, jvp(t)> = {rhs}")


def check_grads(f: Callable, args: Sequence[Any], order: int,
                modes: Sequence[str] = ("fwd", "rev"), atol: float | None = None,
                rtol: float | None = None, eps: float | None = None, seed: int = 0) -> None:
    """Check ``f``'s derivatives at ``args`` up to ``order`` against finite differences.

    Arguments:
        f: a function of the positional ``args`` (pytrees of float or complex arrays).
        order: 1 checks the first derivatives; 2 also differentiates the JVP and VJP functions,
            and so on.
        modes: ``"fwd"`` (JVP), ``"rev"`` (VJP), or both.
        atol, rtol, eps: tolerances and the finite-difference step (defaults by dtype).

    Raises AssertionError naming the failing check.
    """
    args = tuple(args)
    dtype = _dtype(args)
    eps = _DEFAULT_EPS.get(dtype, 1e-3) if eps is None else eps
    atol = _DEFAULT_TOL.get(dtype, 2e-2) if atol is None else atol
    rtol = _DEFAULT_TOL.get(dtype, 2e-2) if rtol is None else rtol
    rng = np.random.default_rng(seed)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'.")
    if "fwd" in modes:
        check_jvp(f, args, eps=eps, atol=atol, rtol=rtol, rng=rng)
    if "rev" in modes:
        check_vjp(f, args, eps=eps, atol=atol, rtol=rtol, rng=rng)
    if order > 1:
        if "fwd" in modes:
            tangents = _random_like(args, rng)

            def f_jvp(*primals):
                return jvp(f, primals, tangents)[1]

            check_grads(f_jvp, args, order - 1, ("fwd",), atol, rtol, eps, seed + 1)
        if "rev" in modes:
            cotangent = _random_like(f(*args), rng)

            def f_vjp(*primals):
                return vjp(f, *primals)[1](cotangent)

            check_grads(f_vjp, args, order - 1, ("rev",), atol, rtol, eps, seed + 1)


__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]
