"""xform.scipy.optimize.minimize(method="BFGS") against jax.scipy.optimize.minimize on the same
problems: every field of the result (iterates, counts, status), under eager, jit and vmap."""

import jax
import jax.numpy as jnp
import jax.scipy.optimize
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.optimize

LIBS = [(jax, jnp, jax.scipy.optimize), (xform, xnp, xform.scipy.optimize)]


def rosen(nl):
    return lambda x: nl.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def quad(nl):
    A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]], np.float32)
    return lambda x, b: 0.5 * x @ (A @ x) - b @ x + nl.sum(nl.cos(x)) * 0.1


PROBLEMS = {
    "rosen": (rosen, np.array([-1.2, 1.0, 0.5], np.float32), (), {}),
    "rosen_near": (rosen, np.array([0.9, 0.8], np.float32), (), {}),
    "quad_args": (quad, np.zeros(3, np.float32), (np.array([1.0, -2.0, 0.5], np.float32),),
                  {}),
    "quad_maxiter": (quad, np.ones(3, np.float32), (np.array([1.0, 2.0, 3.0], np.float32),),
                     {"maxiter": 2}),
}


def same(a, b, tol=1e-4, fields=None):
    assert type(a).__name__ == type(b).__name__ == "OptimizeResults"
    for field in fields or a._fields:
        x, y = np.asarray(getattr(a, field)), np.asarray(getattr(b, field))
        assert x.shape == y.shape, field
        np.testing.assert_allclose(y, x, rtol=tol, atol=tol, err_msg=field)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_minimize_bfgs(name):
    make, x0, args, options = PROBLEMS[name]
    out = [opt.minimize(make(nl), x0, args, method="BFGS", options=options)
           for _, nl, opt in LIBS]
    if name == "rosen_near":
        # converging to gtol in float32: the last step's rounding (gradients computed by two
        # autodiff systems) can decide one iteration more or less; the answer is the same
        same(*out, tol=1e-4, fields=("x", "success", "status", "fun"))
    else:
        same(*out)


def test_minimize_under_jit_and_vmap():
    x0s = np.array([[0.5, 0.5, 0.5], [0.2, -1.0, 1.0]], np.float32)
    b = np.array([1.0, -2.0, 0.5], np.float32)
    outs = []
    for lib, nl, opt in LIBS:
        solve = lambda x0, opt=opt, nl=nl: opt.minimize(quad(nl), x0, (b,), method="bfgs")  # noqa: E731
        outs.append((lib.jit(solve)(x0s[0]), lib.vmap(solve)(x0s)))
    same(outs[0][0], outs[1][0])
    same(outs[0][1], outs[1][1])


def test_errors_match_jax():
    for _, nl, opt in LIBS:
        with pytest.raises(ValueError, match="Method Nelder-Mead not recognized"):
            opt.minimize(rosen(nl), np.ones(2, np.float32), method="Nelder-Mead")
        with pytest.raises(TypeError, match="must be a tuple"):
            opt.minimize(rosen(nl), np.ones(2, np.float32), [1.0], method="BFGS")
