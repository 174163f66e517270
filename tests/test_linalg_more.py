"""xform.numpy.linalg's array-API names and xform.scipy.linalg's added functions against JAX's on
the same inputs: values, dtypes and errors, and gradients through jit."""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.linalg as xsl

RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 3, 3)).astype(np.float32)
V = RNG.normal(size=(4, 3)).astype(np.float32)
W = RNG.normal(size=(4, 3)).astype(np.float32)
T = (RNG.normal(size=(6, 6)) + 3 * np.eye(6)).astype(np.float32).reshape(2, 3, 6)

CASES = {
    "cross": lambda m: m.linalg.cross(V, W),
    "cross_axis0": lambda m: m.linalg.cross(V.T, W.T, axis=0),
    "diagonal": lambda m: m.linalg.diagonal(A, offset=1),
    "matmul": lambda m: m.linalg.matmul(A, V.T[None, :, :2]),
    "matrix_norm": lambda m: m.linalg.matrix_norm(A),
    "matrix_norm_nuc": lambda m: m.linalg.matrix_norm(A, ord="nuc", keepdims=True),
    "matrix_norm_1": lambda m: m.linalg.matrix_norm(A, ord=1),
    "matrix_transpose": lambda m: m.linalg.matrix_transpose(A),
    "multi_dot": lambda m: m.linalg.multi_dot([V[0], A[0], A[1], W.T]),
    "multi_dot_mats": lambda m: m.linalg.multi_dot([V, A[0], W.T]),
    "outer": lambda m: m.linalg.outer(V[0], W[1]),
    "svdvals": lambda m: m.linalg.svdvals(A),
    "tensordot": lambda m: m.linalg.tensordot(A, V.T, axes=1),
    "tensorinv": lambda m: m.linalg.tensorinv(T.reshape(6, 2, 3), ind=1),
    "tensorsolve": lambda m: m.linalg.tensorsolve(T.reshape(2, 3, 2, 3), V[:2]),
    "trace": lambda m: m.linalg.trace(A, offset=-1),
    "trace_int": lambda m: m.linalg.trace(np.arange(9).reshape(3, 3), dtype=np.float32),
    "vecdot": lambda m: m.linalg.vecdot(V, W),
    "vector_norm": lambda m: m.linalg.vector_norm(A),
    "vector_norm_axis": lambda m: m.linalg.vector_norm(V, axis=1, keepdims=True),
    "vector_norm_inf": lambda m: m.linalg.vector_norm(V, ord=np.inf, axis=0),
    "vector_norm_-inf": lambda m: m.linalg.vector_norm(V, ord=-np.inf),
    "vector_norm_0": lambda m: m.linalg.vector_norm(V, ord=0),
    "vector_norm_1": lambda m: m.linalg.vector_norm(V, ord=1, axis=(0, 1)),
    "vector_norm_3": lambda m: m.linalg.vector_norm(V, ord=3, axis=0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_jax(name):
    a, b = CASES[name](xnp), CASES[name](jnp)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.linalg.vector_norm(x, ord=3),
    lambda m, x: m.linalg.matrix_norm(x.reshape(3, 4)),
    lambda m, x: m.linalg.svdvals(x.reshape(3, 4)).sum(),
    lambda m, x: m.linalg.multi_dot([x.reshape(3, 4), x.reshape(4, 3), x[:3]]).sum(),
    lambda m, x: m.linalg.tensorinv((m.eye(4) * x[:4] + 0.1 * x[4:8]).reshape(2, 2, 4),
                                    ind=2).sum(),
])
def test_grad_under_jit(fn):
    x = np.linspace(0.5, 2.0, 12).astype(np.float32)
    np.testing.assert_allclose(xform.jit(xform.grad(lambda v: fn(xnp, v)))(x),
                               jax.jit(jax.grad(lambda v: fn(jnp, v)))(x), rtol=1e-4,
                               atol=1e-5)


def test_errors_as_jax():
    for m in (xnp, jnp):
        with pytest.raises(ValueError, match="3-dimensional"):
            m.linalg.cross(V[:, :2], W[:, :2])
        with pytest.raises(ValueError, match="one-dimensional"):
            m.linalg.outer(V, W)
        with pytest.raises(ValueError, match="at least 2"):
            m.linalg.matrix_transpose(V[0])
        with pytest.raises(ValueError, match="last dimension"):
            m.linalg.multi_dot([V, V])
        with pytest.raises(ValueError, match="Invalid order"):
            m.linalg.vector_norm(V, ord="inf")
        with pytest.raises(ValueError, match="tensorinv"):
            m.linalg.tensorinv(np.ones((2, 3)), ind=1)


# -- xform.scipy.linalg ---------------------------------------------------------------------------
M = RNG.normal(size=(3, 3)).astype(np.float32)
SPD = (M @ M.T + 3 * np.eye(3)).astype(np.float32)
B = RNG.normal(size=(3, 2)).astype(np.float32)

SCIPY_CASES = {
    "det": lambda m: m.det(M),
    "inv": lambda m: m.inv(M),
    "solve": lambda m: m.solve(M, B),
    "solve_pos": lambda m: m.solve(SPD, B, assume_a="pos"),
    "solve_pos_lower_vec": lambda m: m.solve(SPD, B[:, 0], assume_a="pos", lower=True),
    "eigh_values": lambda m: m.eigh(SPD, eigvals_only=True),
    "eigh_vectors": lambda m: abs(m.eigh(SPD, lower=False)[1]),
    "qr_full": lambda m: m.qr(M[:, :2])[1],
    "qr_economic": lambda m: m.qr(M[:, :2], mode="economic")[0],
    "qr_r": lambda m: m.qr(M, mode="r")[0],
    "svd_values": lambda m: m.svd(M, compute_uv=False),
    "expm": lambda m: m.expm(M),
    "expm_small": lambda m: m.expm(0.01 * M),
    "expm_large": lambda m: m.expm(3 * M),
    "expm_batched": lambda m: m.expm(np.stack([M, 0.2 * M])),
    "expm_upper": lambda m: m.expm(np.triu(M), upper_triangular=True),
    "expm_too_many_squarings": lambda m: m.expm(100 * M, max_squarings=2),
    "block_diag": lambda m: m.block_diag(M[:2, :2], np.float32(3.0), B),
    "toeplitz": lambda m: m.toeplitz(M[0], B[:, 0]),
    "toeplitz_hermitian": lambda m: m.toeplitz(M[0] + 1j * M[1]),
    "toeplitz_batched": lambda m: m.toeplitz(M, B[:, 0]),
    "hankel": lambda m: m.hankel(M[0], B[:, 1]),
    "hankel_default": lambda m: m.hankel(M[0]),
    "circulant": lambda m: m.circulant(M[:2]),
    "hilbert": lambda m: m.hilbert(4),
    "fiedler": lambda m: m.fiedler(M),
    "hadamard": lambda m: m.hadamard(4),
    "hadamard_float": lambda m: m.hadamard(2, np.float32),
    "dft": lambda m: m.dft(3),
    "dft_sqrtn": lambda m: m.dft(4, "sqrtn"),
    "helmert": lambda m: m.helmert(4),
    "helmert_full": lambda m: m.helmert(3, full=True),
    "polar_u": lambda m: m.polar(M)[0],
    "polar_p": lambda m: m.polar(M)[1],
    "polar_left_wide": lambda m: m.polar(M[:2], side="left")[1],
    "polar_left_wide_u": lambda m: m.polar(M[:2], side="left")[0],
    "polar_tall": lambda m: m.polar(B)[0],
    "polar_svd_left_square": lambda m: m.polar(M, side="left", method="svd")[1],
    "polar_svd_wide_right": lambda m: m.polar(M[:2], method="svd")[1],
    "polar_complex": lambda m: m.polar(M + 1j * M.T)[1],
}


def test_polar_qdwh_is_qdwh():
    # method='qdwh' runs lax.linalg.qdwh (a Halley iteration: a while loop, no SVD), 'svd' the
    # SVD; both give JAX's factors, eagerly, under jit and vmap, and JAX's forward derivative
    def prims(method):
        jaxpr = xform.make_jaxpr(lambda a: xsl.polar(a, method=method))(B)
        return {e.primitive.name for e in jaxpr.jaxpr.eqns}
    assert "while" in prims("qdwh") and "svd" not in prims("qdwh")
    assert "svd" in prims("svd")
    batch = np.stack([B, 2 * B[::-1]])
    for side, x in (("right", batch), ("left", np.swapaxes(batch, 1, 2))):
        want = jsl.polar(x, side)
        for got in (xsl.polar(x, side), xform.jit(lambda a, side=side: xsl.polar(a, side))(x),
                    xform.vmap(lambda a, side=side: xsl.polar(a, side))(x)):
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
    # eps reaches qdwh (JAX's polar cannot pass it: its jit makes eps a tracer)
    for g, w in zip(xsl.polar(B, eps=1e-3), jax.lax.linalg.qdwh(B, eps=1e-3)[:2]):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
    t = np.ones_like(B)
    for g, w in zip(xform.jvp(xsl.polar, (B,), (t,))[1], jax.jvp(jsl.polar, (B,), (t,))[1]):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    # the iteration has no reverse mode in JAX, nor here; the SVD method has
    for m, grad in ((jsl, jax.grad), (xsl, xform.grad)):
        with pytest.raises(ValueError, match="Reverse-mode differentiation"):
            grad(lambda a, m=m: m.polar(a)[1].sum())(B)
    np.testing.assert_allclose(
        xform.grad(lambda a: xsl.polar(a, method="svd")[1].sum())(B),
        jax.grad(lambda a: jsl.polar(a, method="svd")[1].sum())(B), rtol=1e-4, atol=1e-5)
    # QDWH wants m >= n: the other shape for each side raises JAX's error
    for m in (xsl, jsl):
        for x, side in ((B, "left"), (B.T, "right"), (M, "left")):
            with pytest.raises(NotImplementedError, match="only supports mxn matrices"):
                m.polar(x, side)


@pytest.mark.parametrize("name", sorted(SCIPY_CASES))
def test_scipy_linalg_same_as_jax(name):
    a, b = SCIPY_CASES[name](xsl), SCIPY_CASES[name](jsl)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)


def test_scipy_linalg_grads():
    for fx, fj, x in [
        (lambda a: xsl.expm(a).sum(), lambda a: jsl.expm(a).sum(), 0.5 * M),
        (lambda a: (xsl.solve(a, B, assume_a="pos") ** 2).sum(),
         lambda a: (jsl.solve(a, B, assume_a="pos") ** 2).sum(), SPD),
        (lambda a: xsl.toeplitz(a, a[::-1]).sum(axis=0)[1],
         lambda a: jsl.toeplitz(a, a[::-1]).sum(axis=0)[1], M[0]),
    ]:
        np.testing.assert_allclose(xform.jit(xform.grad(fx))(x), jax.jit(jax.grad(fj))(x),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xform.vmap(xsl.expm)(np.stack([M, -M])),
                               jax.vmap(jsl.expm)(np.stack([M, -M])), rtol=2e-5, atol=2e-6)


def test_scipy_linalg_errors():
    for m in (xsl, jsl):
        with pytest.raises(ValueError, match="assume_a"):
            m.solve(M, B, assume_a="tri")
        with pytest.raises(ValueError, match="square"):
            m.expm(B)
        with pytest.raises(ValueError, match="QR decomposition mode"):
            m.qr(M, mode="raw")
        with pytest.raises(NotImplementedError):
            m.eigh(SPD, SPD)


# -- eig: a primitive (lax.linalg.eig) with every rule; eigenvalues differentiate ----------------
G = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0], [0.0, 1.0, 2.0]], np.float32)


def test_eig_and_eigvals():
    (w1, v1), (w2, v2) = xnp.linalg.eig(G), jnp.linalg.eig(G)
    assert type(xnp.linalg.eig(G)) is type(jnp.linalg.eig(G))
    assert w1.dtype == w2.dtype and v1.dtype == v2.dtype
    np.testing.assert_allclose(w1, w2, rtol=1e-5)
    np.testing.assert_allclose(v1, v2, rtol=1e-5, atol=1e-6)
    x = np.stack([G, 2 * G.T])
    np.testing.assert_allclose(xform.vmap(xnp.linalg.eigvals)(x),
                               jax.vmap(jnp.linalg.eigvals)(x), rtol=1e-5)
    np.testing.assert_allclose(xform.jit(xnp.linalg.eigvals)(G), jnp.linalg.eigvals(G),
                               rtol=1e-5)
    t = np.eye(3, dtype=np.float32)[::-1]
    np.testing.assert_allclose(xform.jvp(xnp.linalg.eigvals, (G,), (t,))[1],
                               jax.jvp(jnp.linalg.eigvals, (G,), (t,))[1], rtol=1e-4)
    np.testing.assert_allclose(
        xform.grad(lambda a: xnp.linalg.eigvals(a).real.sum())(G),
        jax.grad(lambda a: jnp.linalg.eigvals(a).real.sum())(G), rtol=1e-4, atol=1e-6)
    for m, j in ((xform, xnp), (jax, jnp)):
        with pytest.raises(NotImplementedError, match="eigenvectors"):
            m.jvp(lambda a: j.linalg.eig(a)[0], (G,), (t,))  # noqa: B023


def test_lu_pivots_to_permutation():
    piv = np.array([[2, 2, 3], [1, 1, 2]], np.int32)
    xf, jf = xform.lax.linalg.lu_pivots_to_permutation, jax.lax.linalg.lu_pivots_to_permutation
    for got, want in [
        (xf(piv, 5), jf(piv, 5)),
        (xform.vmap(lambda q: xf(q, 4), 1)(piv.T), jax.vmap(lambda q: jf(q, 4), 1)(piv.T)),
        (xform.jit(lambda q: xf(q, 4))(piv[0]), jf(piv[0], 4)),
    ]:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="permutation size"):
        xf(piv, 2)
