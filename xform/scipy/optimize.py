"""``xform.scipy.optimize``: ``minimize`` with BFGS (JAX's ``jax.scipy.optimize``).

BFGS keeps an inverse-Hessian estimate ``H``; each iteration searches along ``-H g`` for a
step satisfying the strong Wolfe conditions (the bracketing line search of Nocedal & Wright,
algorithms 3.5 and 3.6, with cubic, quadratic and bisection zooming), then updates ``H`` from
the step and the change of gradient. The whole solver is one ``lax.while_loop``, so it runs
under ``jit`` and ``vmap``; the search's constants are JAX's, so iteration and evaluation
counts agree with JAX's.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

import xform.numpy as xnp
from xform.core.trace import to_aval
from xform.interpreters.partial_eval import linearize_flat
from xform.interpreters.transpose import UndefinedPrimal, backward_pass
from xform.lax.control_flow import while_loop

__all__ = ["OptimizeResults", "minimize"]


class OptimizeResults(NamedTuple):
    """The result of ``minimize`` (JAX's fields): ``x``, ``success``, ``status`` (0 converged,
    1 maximum iterations, 3 line search failed, ...), ``fun``, ``jac``, ``hess_inv``,
    ``nfev``, ``njev``, ``nit``."""

    x: Any
    success: Any
    status: Any
    fun: Any
    jac: Any
    hess_inv: Any
    nfev: Any
    njev: Any
    nit: Any


def _value_and_grad(f: Callable, x: Any):
    """``(f(x), grad f(x))`` for a scalar ``f`` of one array, by linearize and transpose (the
    interpreters, so the library needs no user-level transform)."""
    (out,), linear, _ = linearize_flat(lambda v: ([f(v)], None), [x], [to_aval(x)],
                                      "minimize")
    (g,) = backward_pass(linear.jaxpr, linear.consts, [UndefinedPrimal(to_aval(x))],
                         [xnp.ones_like(out)])
    return out, g


def _select(pred, new: dict, old: dict) -> dict:
    return {k: xnp.where(pred, new[k], old[k]) if k in new else v for k, v in old.items()}


def _cubic_min(a, fa, fpa, b, fb, c, fc):
    """The minimiser of the cubic through (a, fa) with slope fpa, (b, fb) and (c, fc)."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    # the 2x2 solve as one matrix product, rounded as JAX's is (the bracket is often tiny)
    m = xnp.stack([xnp.stack([dc ** 2, -db ** 2]), xnp.stack([-dc ** 3, db ** 3])])
    A, B = xnp.dot(m, xnp.stack([fb - fa - fpa * db, fc - fa - fpa * dc])) / denom
    return a + (-B + xnp.sqrt(B * B - 3.0 * A * fpa)) / (3.0 * A)


def _quad_min(a, fa, fpa, b, fb):
    """The minimiser of the parabola through (a, fa) with slope fpa and (b, fb)."""
    db = b - a
    return a - fpa / (2.0 * ((fb - fa - fpa * db) / db ** 2))


def _line_search(f, xk, pk, f0, old_f, g0, c1=1e-4, c2=0.9, maxiter=10):
    """A step ``a`` along ``pk`` with f(xk + a pk) <= f0 + c1 a f'(0) and
    |f'(a)| <= c2 |f'(0)|: ``(failed, nfev, a, f(xk + a pk), grad there, status)``."""
    dtype = to_aval(pk).dtype

    def phi(a):
        v, g = _value_and_grad(f, xk + a.astype(dtype) * pk)
        return v, xnp.real(xnp.dot(g, pk)), g

    dphi0 = xnp.real(xnp.dot(g0, pk))
    guess = 1.01 * 2 * (f0 - old_f) / dphi0
    start = xnp.where(guess > 1, 1.0, guess).astype(dtype)

    def sufficient_decrease_fails(a, v):
        return v > f0 + c1 * a * dphi0

    def curvature_holds(d):
        return xnp.abs(d) <= -c2 * dphi0

    small = 1e-5 if np.finfo(dtype).bits < 64 else 1e-10

    def zoom(lo, hi, skip):
        """Shrink the bracket [lo, hi] (each ``(a, phi, dphi)``) until a Wolfe point."""
        z = dict(done=xnp.array(False), failed=xnp.array(False), j=xnp.array(0),
                 a_lo=lo[0], f_lo=lo[1], d_lo=lo[2], a_hi=hi[0], f_hi=hi[1], d_hi=hi[2],
                 a_rec=(lo[0] + hi[0]) / 2.0, f_rec=(lo[1] + hi[1]) / 2.0,
                 a_star=xnp.asarray(1.0, dtype), f_star=lo[1], d_star=lo[2], g_star=g0,
                 nfev=xnp.array(0))

        def body(z):
            width = z["a_hi"] - z["a_lo"]
            left, right = xnp.minimum(z["a_hi"], z["a_lo"]), xnp.maximum(z["a_hi"], z["a_lo"])
            z = dict(z, failed=z["failed"] | (width <= small))
            cub = _cubic_min(z["a_lo"], z["f_lo"], z["d_lo"], z["a_hi"], z["f_hi"],
                             z["a_rec"], z["f_rec"])
            use_cub = (z["j"] > 0) & (cub > left + 0.2 * width) & (cub < right - 0.2 * width)
            quad = _quad_min(z["a_lo"], z["f_lo"], z["d_lo"], z["a_hi"], z["f_hi"])
            use_quad = ~use_cub & (quad > left + 0.1 * width) & (quad < right - 0.1 * width)
            a = xnp.where(use_cub, cub, xnp.where(use_quad, quad, (z["a_lo"] + z["a_hi"]) / 2))
            v, d, g = phi(a)
            z = dict(z, nfev=z["nfev"] + 1)
            to_hi = sufficient_decrease_fails(a, v) | (v >= z["f_lo"])
            found = curvature_holds(d) & ~to_hi
            flip = (d * (z["a_hi"] - z["a_lo"]) >= 0.0) & ~to_hi & ~found
            to_lo = ~to_hi & ~found
            z = _select(to_hi, dict(a_hi=a, f_hi=v, d_hi=d, a_rec=z["a_hi"],
                                    f_rec=z["f_hi"]), z)
            z = _select(found, dict(a_star=a, f_star=v, d_star=d, g_star=g), z)
            z = dict(z, done=z["done"] | found)
            z = _select(flip, dict(a_hi=z["a_lo"], f_hi=z["f_lo"], d_hi=z["d_lo"],
                                   a_rec=z["a_hi"], f_rec=z["f_hi"]), z)
            z = _select(to_lo & ~flip, dict(a_rec=z["a_lo"], f_rec=z["f_lo"]), z)
            z = _select(to_lo, dict(a_lo=a, f_lo=v, d_lo=d), z)
            j = z["j"] + 1
            return dict(z, j=j, failed=z["failed"] | (j >= 30))

        return while_loop(lambda z: ~z["done"] & ~skip & ~z["failed"], body, z)

    s = dict(done=xnp.array(False), failed=xnp.array(False), i=xnp.array(1),
             a_prev=xnp.asarray(0.0, dtype), f_prev=f0, d_prev=dphi0, nfev=xnp.array(0),
             a_star=xnp.asarray(0.0, dtype), f_star=f0, d_star=dphi0, g_star=g0)

    def body(s):
        a = xnp.where(s["i"] == 1, start, s["a_prev"] * 2.0).astype(dtype)
        v, d, g = phi(a)
        too_far = sufficient_decrease_fails(a, v) | ((v >= s["f_prev"]) & (s["i"] > 1))
        good = curvature_holds(d) & ~too_far
        uphill = (d >= 0.0) & ~too_far & ~good
        prev = (s["a_prev"], s["f_prev"], s["d_prev"])
        z1 = zoom(prev, (a, v, d), ~too_far)
        z2 = zoom((a, v, d), prev, ~uphill)
        s = dict(s, nfev=s["nfev"] + 1 + z1["nfev"] + z2["nfev"])
        for pick, z in ((too_far, z1), (None, None), (uphill, z2)):
            if pick is None:  # the point itself is a Wolfe point
                s = _select(good, dict(a_star=a, f_star=v, d_star=d, g_star=g), s)
                s = dict(s, done=s["done"] | good)
                continue
            s = _select(pick, {k: z[k] for k in ("a_star", "f_star", "d_star", "g_star")}, s)
            s = dict(s, done=s["done"] | pick, failed=s["failed"] | (pick & z["failed"]))
        return dict(s, i=s["i"] + 1, a_prev=a, f_prev=v, d_prev=d)

    s = while_loop(lambda s: ~s["done"] & (s["i"] <= maxiter) & ~s["failed"], body, s)
    status = xnp.where(s["failed"], 1, xnp.where(s["i"] > maxiter, 3, 0))
    a = s["a_star"]
    if np.finfo(dtype).bits != 64:  # never a step too small to move a float32 point
        a = xnp.where(xnp.abs(a) < 1e-8, xnp.sign(a) * 1e-8, a)
    return s["failed"] | ~s["done"], s["nfev"], a, s["f_star"], s["g_star"], status


def _bfgs(f, x0, maxiter=None, norm=np.inf, gtol=1e-5, line_search_maxiter=10):
    maxiter = int(np.size(x0)) * 200 if maxiter is None else maxiter
    n = to_aval(x0).shape[0]
    f0, g0 = _value_and_grad(f, x0)
    s = dict(converged=xnp.linalg.norm(g0, ord=norm) < gtol, failed=xnp.array(False),
             k=xnp.array(0), nfev=xnp.array(1), x=x0, f=f0, g=g0,
             H=xnp.eye(n, dtype=to_aval(x0).dtype), f_old=f0 + xnp.linalg.norm(g0) / 2,
             ls_status=xnp.array(0))

    def body(s):
        p = -xnp.dot(s["H"], s["g"])
        failed, nfev, a, f1, g1, ls_status = _line_search(
            f, s["x"], p, s["f"], s["f_old"], s["g"], maxiter=line_search_maxiter)
        step = a * p
        y = g1 - s["g"]
        rho = 1.0 / xnp.dot(y, step)
        w = xnp.eye(n, dtype=to_aval(rho).dtype) - rho * step[:, None] * y[None, :]
        H1 = xnp.einsum("ij,jk,lk", w, s["H"], w) + rho * step[:, None] * step[None, :]
        H1 = xnp.where(xnp.isfinite(rho), H1, s["H"])
        return dict(converged=xnp.linalg.norm(g1, ord=norm) < gtol, failed=failed,
                    k=s["k"] + 1, nfev=s["nfev"] + nfev, x=s["x"] + step, f=f1, g=g1, H=H1,
                    f_old=s["f"], ls_status=ls_status)

    s = while_loop(lambda s: ~s["converged"] & ~s["failed"] & (s["k"] < maxiter), body, s)
    status = xnp.where(s["converged"], 0, xnp.where(s["k"] == maxiter, 1, xnp.where(
        s["failed"], 2 + s["ls_status"], -1)))
    return OptimizeResults(x=s["x"], success=s["converged"] & ~s["failed"], status=status,
                           fun=s["f"], jac=s["g"], hess_inv=s["H"], nfev=s["nfev"],
                           njev=s["nfev"], nit=s["k"])


def minimize(fun: Callable, x0: Any, args: tuple = (), *, method: str,
             tol: float | None = None, options: Mapping[str, Any] | None = None
             ) -> OptimizeResults:
    """Minimise ``fun(x, *args)`` over a 1-D ``x`` from ``x0`` (JAX's
    ``jax.scipy.optimize.minimize``): ``method="BFGS"``; ``options``: ``maxiter``
    (default ``200 * x0.size``), ``norm`` (of the gradient, default inf), ``gtol`` (default
    1e-5), ``line_search_maxiter`` (default 10). Gradients come from xform's autodiff."""
    options = dict(options or {})
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to xform.scipy.optimize.minimize must be a tuple, "
                        f"got {args}")
    if method.lower() != "bfgs":
        raise ValueError(f"Method {method} not recognized")
    x0 = xnp.asarray(x0)
    if not xnp.issubdtype(x0.dtype, xnp.inexact):
        x0 = x0.astype(xnp.result_type(x0, 1.0))
    return _bfgs(lambda x: fun(x, *args), x0, **options)
