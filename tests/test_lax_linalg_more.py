"""The rest of xform.lax.linalg (schur, hessenberg, tridiagonal, householder_product, ormqr,
cholesky_update, symmetric_product, tridiagonal_solve, qdwh) and of xform.scipy.linalg (schur,
hessenberg, rsf2csf, sqrtm, funm, solve_sylvester, expm_frechet, qr_multiply, eigh_tridiagonal
and the special matrices) against JAX's on the same inputs: values and dtypes eagerly and under
jit, vmap against JAX's vmap (or a loop where JAX has no batching rule), derivatives against
jax.grad or finite differences, and JAX's errors."""

import jax
import jax.lax.linalg as jll
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest

import xform
import xform.lax.linalg as xll
import xform.numpy as xnp
import xform.scipy.linalg as xsl

R = np.random.RandomState(0)
A = R.randn(4, 4).astype(np.float32)
SYM = (A + A.T).astype(np.float32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)
BATCH = R.randn(2, 4, 4).astype(np.float32)
RECT = R.randn(5, 3).astype(np.float32)
B3 = R.randn(3, 3).astype(np.float32)
C43 = R.randn(4, 3).astype(np.float32)
UPPER = (np.triu(A) + 5 * np.eye(4)).astype(np.float32)
DL = np.r_[0, A[0, 1:]].astype(np.float32)
D = (A[1] + 4).astype(np.float32)
DU = np.r_[A[2, :3], 0].astype(np.float32)
H, TAUS = (np.asarray(v) for v in jll.hessenberg(A))
AC = (A + 1j * BATCH[0]).astype(np.complex64)
LOWRANK = (C43[:, :2] @ B3[:2] * np.array([1.0, 3.0, 0.5], np.float32)).astype(np.float32)

LAX = {
    "schur": lambda m: m.schur(A),
    "schur_batch_no_vectors": lambda m: m.schur(BATCH, compute_schur_vectors=False),
    "schur_complex": lambda m: m.schur(AC),
    "hessenberg": lambda m: m.hessenberg(BATCH),
    "tridiagonal": lambda m: m.tridiagonal(SYM),
    "tridiagonal_upper": lambda m: m.tridiagonal(SYM, lower=False),
    "householder_product": lambda m: m.householder_product(H, TAUS),
    "ormqr": lambda m: m.ormqr(H, TAUS, C43),
    "ormqr_right_transpose": lambda m: m.ormqr(H, TAUS, BATCH[0], left=False, transpose=True),
    "cholesky_update": lambda m: m.cholesky_update(UPPER, A[0]),
    "symmetric_product": lambda m: m.symmetric_product(C43, SYM, alpha=2.0, beta=0.5),
    "symmetric_product_sym": lambda m: m.symmetric_product(C43, SYM, alpha=2.0, beta=0.5,
                                                           symmetrize_output=True),
    "tridiagonal_solve": lambda m: m.tridiagonal_solve(DL, D, DU, BATCH[0]),
    "qdwh": lambda m: m.qdwh(RECT),
    "qdwh_square": lambda m: m.qdwh(SPD, max_iterations=3),
    "qr_pivoting": lambda m: m.qr(RECT, pivoting=True),
    "qr_pivoting_thin_wide": lambda m: m.qr(RECT.T, pivoting=True, full_matrices=False),
    "qr_pivoting_batch_complex": lambda m: m.qr(np.stack([AC, AC.T]), pivoting=True),
}
SCIPY = {
    "schur": lambda m: m.schur(A),
    "schur_complex": lambda m: m.schur(A, output="complex"),
    "hessenberg": lambda m: m.hessenberg(A),
    "hessenberg_q": lambda m: m.hessenberg(BATCH, calc_q=True),
    "rsf2csf": lambda m: m.rsf2csf(*jsl.schur(A)),
    "sqrtm": lambda m: m.sqrtm(SPD),
    "funm": lambda m: m.funm(A, (xnp if m is xsl else jnp).sin),
    "funm_err": lambda m: m.funm(A, (xnp if m is xsl else jnp).exp, disp=False),
    "solve_sylvester": lambda m: m.solve_sylvester(A, B3, C43),
    "solve_sylvester_eigen": lambda m: m.solve_sylvester(A, B3, C43, method="eigen"),
    "expm_frechet": lambda m: m.expm_frechet(0.3 * A, BATCH[0]),
    "expm_frechet_only": lambda m: m.expm_frechet(0.3 * BATCH, BATCH[::-1],
                                                  compute_expm=False),
    "qr_multiply": lambda m: m.qr_multiply(RECT, BATCH[:, 0, :3].repeat(2, 1)[:, :5]),
    "qr_multiply_left": lambda m: m.qr_multiply(C43, B3, "left"),
    "qr_multiply_conj": lambda m: m.qr_multiply(AC[:, :3], AC[:2], conjugate=True),
    "qr_multiply_1d": lambda m: m.qr_multiply(C43, A[0]),
    "qr_multiply_pivoting": lambda m: m.qr_multiply(RECT, BATCH[:, 0, :3].repeat(2, 1)[:, :5],
                                                    pivoting=True),
    "qr_multiply_pivoting_left": lambda m: m.qr_multiply(LOWRANK, C43[:3], "left",
                                                         pivoting=True),
    "qr_multiply_pivoting_wide_1d": lambda m: m.qr_multiply(RECT.T, RECT[:3, 0], "right",
                                                            pivoting=True),
    "qr_multiply_pivoting_conj_batch": lambda m: m.qr_multiply(
        np.stack([AC[:, :3], AC[::-1, :3]]), AC[:2], pivoting=True, conjugate=True),
    **{f"qr_pivoting_{mode}": (lambda m, mode=mode: m.qr(LOWRANK, mode=mode, pivoting=True))
       for mode in ("full", "economic", "r")},
    "eigh_tridiagonal": lambda m: m.eigh_tridiagonal(A[0], A[1, :3]),
    "eigh_tridiagonal_values": lambda m: m.eigh_tridiagonal(A[0], A[1, :3], eigvals_only=True),
    "eigh_tridiagonal_select": lambda m: m.eigh_tridiagonal(A[0], A[1, :3], eigvals_only=True,
                                                            select="i", select_range=(1, 2)),
    "eigh_tridiagonal_cluster": lambda m: m.eigh_tridiagonal(np.ones(5, np.float32),
                                                             np.full(4, 1e-8, np.float32)),
    "eigh_tridiagonal_complex": lambda m: m.eigh_tridiagonal(AC[0], AC[1, :3]),
    "companion": lambda m: m.companion(np.array([1.0, 2.0, 3.0, 4.0])),
    "companion_batch": lambda m: m.companion(BATCH[0, :2]),
    "fiedler_companion": lambda m: m.fiedler_companion(np.array([1.0, 2.0, 3.0, 4.0, 5.0])),
    "fiedler_companion_2": lambda m: m.fiedler_companion(np.array([2.0, 3.0])),
    "leslie": lambda m: m.leslie(np.array([0.1, 2.0, 1.0]), np.array([0.2, 0.8])),
    "pascal": lambda m: m.pascal(5),
    "pascal_lower": lambda m: m.pascal(4, "lower"),
    "invpascal": lambda m: m.invpascal(4),
    "invpascal_upper": lambda m: m.invpascal(4, "upper"),
    "invhilbert": lambda m: m.invhilbert(4),
    **{f"convolution_matrix_{mode}": (lambda m, mode=mode: m.convolution_matrix(
        np.array([1.0, 2.0, 3.0, 4.0]), 3, mode)) for mode in ("full", "same", "valid")},
    "convolution_matrix_long": lambda m: m.convolution_matrix(np.array([1.0, 2.0]), 5, "same"),
}
CASES = {f"lax.{k}": (v, 0) for k, v in LAX.items()} | {f"scipy.{k}": (v, 1)
                                                       for k, v in SCIPY.items()}
MODULES = ((xll, jll), (xsl, jsl))


def _close(a, b, tol=1e-4):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.shape == v.shape and u.dtype == v.dtype, (u.shape, v.shape, u.dtype, v.dtype)
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_eager_and_jit_against_jax(name):
    f, i = CASES[name]
    xmod, jmod = MODULES[i]
    want = f(jmod)
    _close(f(xmod), want)
    _close(xform.jit(lambda: f(xmod))(), want)


# vmap over the first operand: xform's batch rules against JAX's vmap
VMAP = {
    "schur": (lambda m, x: m.schur(x), BATCH),
    "hessenberg": (lambda m, x: m.hessenberg(x), BATCH),
    "tridiagonal": (lambda m, x: m.tridiagonal(x + x.T), BATCH),
    "householder_product": (lambda m, x: m.householder_product(x, TAUS), BATCH),
    "ormqr": (lambda m, c: m.ormqr(H, TAUS, c), BATCH),
    "symmetric_product": (lambda m, a: m.symmetric_product(a, SYM, beta=2.0), BATCH),
    "tridiagonal_solve_b": (lambda m, b: m.tridiagonal_solve(DL, D, DU, b), BATCH),
    "tridiagonal_solve_d": (lambda m, d: m.tridiagonal_solve(DL, d + 4, DU, BATCH[0]),
                            BATCH[:, 0]),
    "qdwh": (lambda m, x: m.qdwh(x)[0], np.stack([RECT, RECT[::-1]])),
    "qr_pivoting": (lambda m, x: m.qr(x, pivoting=True, full_matrices=False), BATCH),
}
SCIPY_VMAP = {
    "sqrtm": (lambda m, x: m.sqrtm(x), np.stack([SPD, SPD.T + np.eye(4, dtype=np.float32)])),
    "rsf2csf": (lambda m, x: m.rsf2csf(*jsl.schur(A), check_finite=True)[0] * x, BATCH[:, 0, 0]),
    "solve_sylvester": (lambda m, c: m.solve_sylvester(A, B3, c), np.stack([C43, 2 * C43])),
    "expm_frechet": (lambda m, e: m.expm_frechet(0.3 * A, e), BATCH),
    "companion": (lambda m, a: m.companion(a), BATCH[:, 0]),
    "eigh_tridiagonal": (lambda m, d: m.eigh_tridiagonal(d, A[1, :3]), BATCH[:, 0]),
    "convolution_matrix": (lambda m, a: m.convolution_matrix(a, 3, "same"), BATCH[:, 0]),
    "qr_multiply_pivoting": (lambda m, c: m.qr_multiply(C43, c, "left", pivoting=True),
                             BATCH[:, :3]),
}


@pytest.mark.parametrize("name", sorted(VMAP) + [f"scipy.{k}" for k in sorted(SCIPY_VMAP)])
def test_vmap_against_jax(name):
    if name.startswith("scipy."):
        (f, v), (xmod, jmod) = SCIPY_VMAP[name[6:]], MODULES[1]
    else:
        (f, v), (xmod, jmod) = VMAP[name], MODULES[0]
    _close(xform.vmap(lambda t: f(xmod, t))(v), jax.vmap(lambda t: f(jmod, t))(v))


def test_cholesky_update_vmap_against_a_loop():
    # JAX has no batching rule for cholesky_update: compare with one call per example
    got = xform.vmap(xll.cholesky_update, (None, 0))(UPPER, BATCH[:, 0])
    want = np.stack([jll.cholesky_update(UPPER, w) for w in BATCH[:, 0]])
    _close(got, want)


def _loss(m):
    return lambda dl, d, du, b: (m.tridiagonal_solve(dl, d, du, b) ** 2).sum()


def test_tridiagonal_solve_grad_against_jax():
    args = (DL, D, DU, BATCH[0])
    _close(xform.grad(_loss(xll), (0, 1, 2, 3))(*args),
           jax.grad(_loss(jll), (0, 1, 2, 3))(*args))
    _close(xform.jit(xform.vmap(xform.grad(_loss(xll), 3), (None, None, None, 0)))(
        DL, D, DU, BATCH), jax.vmap(jax.grad(_loss(jll), 3), (None, None, None, 0))(
        DL, D, DU, BATCH))


def test_tridiagonal_solve_linear_transpose_is_the_transposed_solve():
    f = xform.linear_transpose(lambda b: xll.tridiagonal_solve(DL, D, DU, b), BATCH[0])
    dense = np.diag(D) + np.diag(DL[1:], -1) + np.diag(DU[:-1], 1)
    (got,) = f(BATCH[1])
    np.testing.assert_allclose(got, np.linalg.solve(dense.T, BATCH[1]), rtol=1e-4, atol=1e-4)


def test_symmetric_product_jvp_against_finite_differences():
    # JAX has no derivative rule here; central differences in float64 are the reference
    def f(a, c):
        return xll.symmetric_product(a, c, alpha=2.0, beta=0.5)
    ta, tc = R.randn(4, 3).astype(np.float32), SYM[::-1].copy()
    _, got = xform.jvp(f, (C43, SYM), (ta, tc))
    eps = 1e-3
    a64, c64 = C43.astype(np.float64), SYM.astype(np.float64)

    def ref(a, c):
        return 2.0 * a @ a.T + 0.5 * c
    want = (ref(a64 + eps * ta, c64 + eps * tc) - ref(a64 - eps * ta, c64 - eps * tc)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(5, 3), (4, 4), (3, 5)])
def test_pivoted_qr_derivative(shape):
    # the unpivoted derivative at the permuted columns (the permutation is piecewise constant);
    # float64 central differences as the reference, and JAX's jvp for tall and square shapes
    # (JAX's rule for wide ones pairs the permuted tangent with the unpermuted X2 block)
    x = R.randn(*shape)
    t = R.randn(*shape)

    def f(m):
        return lambda a: m.qr(a, pivoting=True, full_matrices=False)[:2]
    with jax.enable_x64(True):
        (q, r), (dq, dr) = xform.jvp(f(xll), (x,), (t,))
        eps = 1e-6
        plus, minus = f(jll)(x + eps * t), f(jll)(x - eps * t)
        for got, a, b in zip((dq, dr), plus, minus):
            np.testing.assert_allclose(got, (np.asarray(a) - np.asarray(b)) / (2 * eps),
                                       rtol=1e-6, atol=1e-6)
        if shape[0] >= shape[1]:
            _close(xform.jvp(f(xll), (x,), (t,)), jax.jvp(f(jll), (x,), (t,)), tol=1e-8)
        # grad under vmap: against JAX's grad per example (JAX's rule does not batch here),
        # and for wide shapes the directional derivative <grad, t> against central differences
        loss = lambda m: lambda a: (f(m)(a)[1] ** 2 * np.arange(shape[1])).sum()  # noqa: E731
        xs = np.stack([x, 2 * x])
        got = np.asarray(xform.vmap(xform.grad(loss(xll)))(xs))
        if shape[0] >= shape[1]:
            _close(got, np.stack([jax.grad(loss(jll))(v) for v in xs]), tol=1e-8)
        for g, v in zip(got, xs):
            fd = (loss(jll)(v + eps * t) - loss(jll)(v - eps * t)) / (2 * eps)
            np.testing.assert_allclose((g * t).sum(), fd, rtol=1e-6)


def test_pivoted_qr_from_jax():
    # JAX's qr equation with pivoting=True replays onto xform's (three outputs)
    def f(a):
        q, r, p = jll.qr(a, pivoting=True, full_matrices=False)
        return (q @ r).sum() + p.sum()
    _close(xform.jit(xform.from_jax(f))(LOWRANK), jax.jit(f)(LOWRANK))
    _close(xform.grad(xform.from_jax(f))(RECT), jax.grad(f)(RECT))


def test_expm_frechet_matches_jvp_of_expm():
    e, d = xsl.expm_frechet(0.3 * A, BATCH[0])
    _, want = jax.jvp(jsl.expm, (0.3 * A,), (BATCH[0],))
    _close(d, want)


@pytest.mark.parametrize("name", ["schur", "hessenberg", "tridiagonal", "householder_product",
                                  "ormqr", "cholesky_update"])
def test_factorizations_without_derivative_raise_as_jax(name):
    args = {"schur": (A,), "hessenberg": (A,), "tridiagonal": (SYM,),
            "householder_product": (H, TAUS), "ormqr": (H, TAUS, C43),
            "cholesky_update": (UPPER, A[0])}[name]

    def f(m):
        return lambda x: jax.tree.leaves(getattr(m, name)(x, *args[1:]))[0].sum()
    with pytest.raises(NotImplementedError, match="Differentiation rule"):
        jax.grad(f(jll))(args[0])
    with pytest.raises(NotImplementedError, match="Differentiation rule"):
        xform.grad(f(xll))(args[0])


def test_errors_as_jax():
    with pytest.raises(ValueError, match="square"):
        xll.schur(RECT)
    with pytest.raises(ValueError, match="at least as many rows"):
        xll.householder_product(RECT.T, TAUS[:2])
    with pytest.raises(TypeError, match="same shape"):
        xll.tridiagonal_solve(DL[:3], D, DU, BATCH[0])
    with pytest.raises(ValueError, match="M >= N"):
        xll.qdwh(RECT.T)
    with pytest.raises(ValueError, match="'real' or 'complex'"):
        xsl.schur(A, output="quaternion")
    with pytest.raises(ValueError, match="Incompatible shapes"):
        xsl.solve_sylvester(A, B3, C43.T)
    with pytest.raises(ValueError, match="kind"):
        xsl.pascal(3, "diagonal")
    with pytest.raises(ValueError, match="positive"):
        xsl.convolution_matrix(np.ones(3), 0)
    with pytest.raises(NotImplementedError):
        xsl.sqrtm(SPD, blocksize=2)


def test_enums_are_jaxs():
    assert xll.SvdAlgorithm is jll.SvdAlgorithm
    assert xll.EigImplementation is jll.EigImplementation
    assert xll.EighImplementation is jll.EighImplementation
