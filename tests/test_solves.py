"""``custom_linear_solve`` and ``custom_root`` against JAX's on the same inputs (values, grad,
jacfwd/jacrev, second derivatives, vmap, jit), their errors, and both bridge directions
(``from_jax`` of JAX's solves, ``to_jax`` of xform's)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

M = np.array([[3.0, 1.0, 0.5], [0.2, 2.0, 1.0], [0.1, 0.3, 4.0]], np.float32)
S = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], np.float32)  # SPD
B = np.array([1.0, 2.0, 3.0], np.float32)
A = np.float32(1.3)


def _close(got, want, tol=1e-4):
    jax.tree_util.tree_map(
        lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol,
                                                atol=tol), got, want)


# -- the cases, written once for (lax, numpy) of each library --------------------------------
def dense_case(L, N):
    """A non-symmetric solve with a transpose solve; matvec closes over ``a``."""
    def f(a, b):
        mat = a * M + 2.0 * N.eye(3)
        x = L.custom_linear_solve(lambda v: mat @ v, b, lambda _, v: N.linalg.solve(mat, v),
                                  lambda _, v: N.linalg.solve(mat.T, v))
        return N.sum(N.sin(x) * x) * a
    return f


def _cg(L, N, matvec, b, iters=12):
    """Plain conjugate gradients in a while_loop (not differentiable through itself)."""
    def cond(s):
        return s[4] < iters

    def body(s):
        x, r, p, rs, i = s
        ap = matvec(p)
        alpha = rs / N.maximum(N.vdot(p, ap), 1e-30)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = N.vdot(r, r)
        p = r + (rs_new / N.maximum(rs, 1e-30)) * p
        return x, r, p, rs_new, i + 1

    x0 = N.zeros_like(b)
    return L.while_loop(cond, body, (x0, b, b, N.vdot(b, b), 0))[0]


def cg_case(L, N):
    """A CG solve with symmetric=True (transpose_solve defaults to solve)."""
    def f(a, b):
        mat = S + a * N.diag(N.arange(1.0, 4.0))
        x = L.custom_linear_solve(lambda v: mat @ v, b, lambda mv, v: _cg(L, N, mv, v),
                                  symmetric=True)
        return N.sum(x ** 2) * N.cos(a)
    return f


def tree_aux_case(L, N):
    """b a dict of two leaves, solve with auxiliary output."""
    def f(a, b):
        d = {"u": b, "v": b[:2] * a}

        def matvec(t):
            return {"u": (a * M) @ t["u"] + t["u"], "v": 3.0 * t["v"] + a * t["v"]}

        def solve(_, t):
            x = {"u": N.linalg.solve(a * M + N.eye(3), t["u"]), "v": t["v"] / (3.0 + a)}
            return x, N.float32(7.0)

        def tsolve(_, t):
            x = {"u": N.linalg.solve((a * M + N.eye(3)).T, t["u"]), "v": t["v"] / (3.0 + a)}
            return x, N.float32(8.0)

        x, aux = L.custom_linear_solve(matvec, d, solve, tsolve, has_aux=True)
        return N.sum(x["u"] ** 3) + N.sum(N.exp(x["v"])) * a + 0.0 * aux
    return f


CASES = [dense_case, cg_case, tree_aux_case]
X_CASES = {c.__name__: c(xform.lax, xnp) for c in CASES}
J_CASES = {c.__name__: c(jax.lax, jnp) for c in CASES}
NAMES = list(X_CASES)


@pytest.mark.parametrize("name", NAMES)
def test_values_and_first_derivatives(name):
    fx, fj = X_CASES[name], J_CASES[name]
    _close(fx(A, B), fj(A, B))
    _close(xform.grad(fx, (0, 1))(A, B), jax.grad(fj, (0, 1))(A, B))
    # (JAX's jacfwd of the has_aux case fails: its batching rule batches aux outputs always)
    _close(xform.jacfwd(fx, 1)(A, B), jax.jacrev(fj, 1)(A, B))
    _close(xform.jit(xform.grad(fx, (0, 1)))(A, B), jax.grad(fj, (0, 1))(A, B))


@pytest.mark.parametrize("name", NAMES)
def test_second_derivatives(name):
    fx, fj = X_CASES[name], J_CASES[name]
    XJ, JJ = xform.jit, jax.jit  # compiled on both sides: op-by-op hessians are slow
    _close(XJ(xform.hessian(fx, (0, 1)))(A, B), JJ(jax.hessian(fj, (0, 1)))(A, B), 2e-4)
    # (JAX's jacfwd of the has_aux case fails, as above: jacrev on its side)
    _close(XJ(xform.jacfwd(xform.jacrev(fx, 1), 1))(A, B),
           JJ(jax.jacrev(jax.jacrev(fj, 1), 1))(A, B), 2e-4)
    gg_x = xform.grad(lambda a, b: xform.grad(fx)(a, b) * a)(A, B)
    gg_j = jax.grad(lambda a, b: jax.grad(fj)(a, b) * a)(A, B)
    _close(gg_x, gg_j, 2e-4)


@pytest.mark.parametrize("name", NAMES)
def test_vmap(name):
    fx, fj = X_CASES[name], J_CASES[name]
    As = np.array([0.7, 1.3, 2.0], np.float32)
    Bs = np.stack([B, -B, 0.5 * B + 1.0])
    # a batched closed-over value in matvec, a batched b, both
    _close(xform.vmap(fx, (0, None))(As, B), jax.vmap(fj, (0, None))(As, B))
    _close(xform.vmap(fx, (None, 0))(A, Bs), jax.vmap(fj, (None, 0))(A, Bs))
    _close(xform.jit(xform.vmap(xform.grad(fx, (0, 1))))(As, Bs),
           jax.jit(jax.vmap(jax.grad(fj, (0, 1))))(As, Bs))
    _close(xform.jit(xform.vmap(xform.hessian(fx), (0, None)))(As, B),
           jax.jit(jax.vmap(jax.hessian(fj), (0, None)))(As, B), 2e-4)


def test_jaxpr_has_one_primitive():
    text = str(xform.make_jaxpr(X_CASES["dense_case"])(A, B))
    assert text.count("custom_linear_solve[") == 1
    assert xform.lax.linear_solve_p.name == "custom_linear_solve"


def test_reverse_mode_needs_transpose_solve():
    def f(b):
        return xnp.sum(xform.lax.custom_linear_solve(lambda v: M @ v, b,
                                                     lambda _, v: xnp.linalg.solve(M, v)))
    _close(xform.jacfwd(f)(B), jax.jacfwd(
        lambda b: jnp.sum(jax.lax.custom_linear_solve(lambda v: M @ v, b,
                                                      lambda _, v: jnp.linalg.solve(M, v))))(B))
    with pytest.raises(TypeError, match="transpose_solve required"):
        xform.grad(f)(B)


def test_errors():
    with pytest.raises(ValueError, match="matvec\\(\\) output shapes must match b"):
        xform.lax.custom_linear_solve(lambda v: v[:2], B, lambda _, v: v)
    with pytest.raises(TypeError, match="solve\\(\\) output pytree structure must match b"):
        xform.lax.custom_linear_solve(lambda v: v, B, lambda _, v: (v, v))
    with pytest.raises(ValueError, match="auxiliary output was expected"):
        xform.lax.custom_linear_solve(lambda v: v, B, lambda _, v: v, has_aux=True)


# -- custom_root -------------------------------------------------------------------------------
def newton_sqrt(L, N):
    def sqrt(a):
        f = lambda x: x ** 2 - a  # noqa: E731

        def newton(f, x0):
            return L.fori_loop(0, 25, lambda i, x: x - f(x) / (2.0 * x), x0)

        return L.custom_root(f, 1.0, newton, lambda g, y: y / g(1.0))
    return sqrt


def vector_root(L, N, jacobian):
    """Roots of x^3 + c x - p, elementwise, for a vector x (tangent_solve by a dense solve)."""
    def fun(p, c):
        f = lambda x: x ** 3 + c * x - p  # noqa: E731

        def solve(f, x0):
            def step(i, x):
                return x - f(x) / (3.0 * x ** 2 + c)
            return L.fori_loop(0, 30, step, x0)

        def tangent_solve(g, y):
            return N.linalg.solve(jacobian(g)(y), y)

        return N.sum(N.sin(L.custom_root(f, N.ones_like(p), solve, tangent_solve)))
    return fun


P = np.array([1.0, 2.5, 4.0], np.float32)
C = np.float32(0.7)


def test_custom_root_newton_sqrt():
    sx, sj = newton_sqrt(xform.lax, xnp), newton_sqrt(jax.lax, jnp)
    a = np.float32(3.0)
    _close(sx(a), sj(a))
    _close(xform.grad(sx)(a), jax.grad(sj)(a))
    _close(xform.grad(xform.grad(sx))(a), jax.grad(jax.grad(sj))(a))
    _close(xform.jacfwd(xform.jacrev(sx))(a), jax.jacfwd(jax.jacrev(sj))(a))
    As = np.array([2.0, 3.0, 9.0], np.float32)
    _close(xform.jit(xform.vmap(xform.grad(sx)))(As), jax.vmap(jax.grad(sj))(As))
    _close(xform.grad(sx)(a), 0.5 / np.sqrt(a))  # and the closed form


def test_custom_root_vector():
    fx, fj = vector_root(xform.lax, xnp, xform.jacobian), vector_root(jax.lax, jnp, jax.jacobian)
    _close(fx(P, C), fj(P, C))
    _close(xform.grad(fx, (0, 1))(P, C), jax.grad(fj, (0, 1))(P, C))
    _close(xform.hessian(fx, (0, 1))(P, C), jax.hessian(fj, (0, 1))(P, C), 2e-4)
    Cs = np.array([0.5, 1.0], np.float32)
    _close(xform.vmap(xform.grad(fx), (None, 0))(P, Cs), jax.vmap(jax.grad(fj), (None, 0))(P, Cs))


def test_custom_root_has_aux_and_errors():
    def fx(a):
        f = lambda x: x ** 2 - a  # noqa: E731
        def solve(f, x0):
            x = xform.lax.fori_loop(0, 25, lambda i, x: x - f(x) / (2.0 * x), x0)
            return x, xnp.int32(25)
        x, n = xform.lax.custom_root(f, 1.0, solve, lambda g, y: y / g(1.0), has_aux=True)
        return x, n
    x, n = fx(4.0)
    assert int(n) == 25
    _close(x, 2.0)
    _close(xform.grad(lambda a: fx(a)[0])(4.0), 0.25)
    with pytest.raises(TypeError, match="f\\(\\) output pytree structure must match"):
        xform.lax.custom_root(lambda x: (x, x), 1.0, lambda f, x: x, lambda g, y: y)


# -- across the bridge -------------------------------------------------------------------------
def _jax_cg_fun(a, b):
    mat = S + a * jnp.diag(jnp.arange(1.0, 4.0))
    x, _ = jax.scipy.sparse.linalg.cg(lambda v: mat @ v, b, tol=1e-10, maxiter=50)
    return jnp.sum(jnp.sin(x) * x) * a


@pytest.mark.parametrize("fj", [J_CASES["dense_case"], J_CASES["tree_aux_case"], _jax_cg_fun],
                         ids=["dense", "tree_aux", "scipy_cg"])
def test_from_jax_all_orders(fj):
    fx = xform.from_jax(fj)
    _close(xform.jit(fx)(A, B), fj(A, B))
    _close(xform.grad(fx, (0, 1))(A, B), jax.grad(fj, (0, 1))(A, B))
    _close(xform.hessian(fx, (0, 1))(A, B), jax.hessian(fj, (0, 1))(A, B), 2e-4)
    _close(xform.jacfwd(xform.jacrev(fx, 1), 1)(A, B),
           jax.jacfwd(jax.jacrev(fj, 1), 1)(A, B), 2e-4)
    As = np.array([0.7, 1.3], np.float32)
    _close(xform.vmap(xform.grad(fx), (0, None))(As, B), jax.vmap(jax.grad(fj), (0, None))(As, B))


def test_from_jax_binds_the_native_primitive():
    text = str(xform.make_jaxpr(xform.from_jax(J_CASES["dense_case"]))(A, B))
    assert "custom_linear_solve[" in text


@pytest.mark.parametrize("name", ["dense_case", "cg_case"])
def test_to_jax(name):
    fx, fj = X_CASES[name], J_CASES[name]
    tj = xform.to_jax(fx)
    _close(jax.grad(tj, (0, 1))(A, B), jax.grad(fj, (0, 1))(A, B))
    _close(jax.jit(jax.hessian(tj, (0, 1)))(A, B), jax.hessian(fj, (0, 1))(A, B), 2e-4)
    jaxpr = str(jax.make_jaxpr(tj)(A, B))
    assert "custom_linear_solve" in jaxpr  # JAX's own primitive: its rules, not the solver's


def test_scipy_solve_pos_second_derivatives():
    # xform.scipy.linalg.solve(assume_a="pos") is a custom_linear_solve, as JAX's: its
    # second derivatives follow the dependence of the factorization on `a` too
    import jax.scipy.linalg as jsl
    import xform.scipy.linalg as xsl

    def mk(sl, N):
        def f(a, b):
            m = S + a * N.diag(N.arange(1.0, 4.0))
            return N.sum(N.sin(sl.solve(m, b * a, assume_a="pos")))
        return f
    fx, fj = mk(xsl, xnp), mk(jsl, jnp)
    _close(xform.hessian(fx, (0, 1))(A, B), jax.hessian(fj, (0, 1))(A, B), 2e-4)
    Bm = np.stack([B, 2.0 * B], 1)
    _close(xform.jacrev(xform.grad(fx))(A, Bm), jax.jacrev(jax.grad(fj))(A, Bm), 2e-4)
