"""Linear algebra: xform.lax.linalg primitives, xform.numpy.linalg and xform.scipy.linalg.

Values against jax.numpy.linalg / jax.scipy.linalg on the same inputs (eager and under jit),
vmap against a Python loop, and first-order gradients against finite differences. Inputs are
tiny and well conditioned: SPD matrices for cholesky/eigh, distinct eigen/singular values
where eigenvectors are differentiated, and gauge-invariant functions of eigen/singular vectors
(each vector times its own first entry, so a sign flip cancels).
"""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.scipy.linalg as sla
from xform.lax import linalg as lax_linalg
from xform.test_util import check_grads
from op_records import OpRecord, assert_same, check_eager, check_jit, check_vmap

XL, JL = xnp.linalg, jnp.linalg


# -- inputs ---------------------------------------------------------------------------------
def _mat(m, n):
    return lambda rng: rng.uniform(-1, 1, (m, n)).astype(np.float32)


def _wellcond(n):
    # a random matrix plus a large diagonal: far from singular, pivoting still varies
    return lambda rng: (rng.uniform(-1, 1, (n, n)) + 3 * np.eye(n)).astype(np.float32)


def _spd(n):
    def make(rng):
        a = rng.uniform(-1, 1, (n, n))
        return (a @ a.T + n * np.eye(n)).astype(np.float32)
    return make


def _distinct_spd(n):
    # eigenvalues 1, 2, ..., n in a random basis: well separated, so eigenvectors are smooth
    def make(rng):
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        return (q @ np.diag(np.arange(1.0, n + 1)) @ q.T).astype(np.float32)
    return make


def _tri(n, lower):
    def make(rng):
        a = rng.uniform(-1, 1, (n, n)) + 3 * np.eye(n)
        return (np.tril(a) if lower else np.triu(a)).astype(np.float32)
    return make


def _args(*makers):
    return lambda rng: [m(rng) for m in makers]


def _sign_fixed(vectors, axis):
    """Each eigen/singular vector times its own first entry: invariant to its sign."""
    first = vectors[..., :1, :] if axis == -2 else vectors[..., :, :1]
    return vectors * first


def _rec(name, fun, ref, args, *, tol=2e-4, grad=True, grad_fun=None):
    """``grad_fun`` replaces ``fun`` in the gradient check (gauge-invariant or float outputs
    only); ``grad=False`` when the function is not differentiable (integer results)."""
    return OpRecord(name, fun, ref, args, tol=tol, differentiable=grad,
                    extra={"grad_fun": grad_fun})


def _svd_gauge(f):
    def g(x):
        u, s, vh = f(x)
        return _sign_fixed(u, -2), s, _sign_fixed(vh, -1)
    return g


RECORDS = [
    # xform.numpy.linalg
    _rec("cholesky", XL.cholesky, JL.cholesky, _args(_spd(3))),
    _rec("cholesky_upper", lambda x: XL.cholesky(x, upper=True),
         lambda x: JL.cholesky(x, upper=True), _args(_spd(3))),
    _rec("qr_tall", XL.qr, JL.qr, _args(_mat(4, 3))),
    _rec("qr_complete_wide", lambda x: XL.qr(x, "complete"), lambda x: JL.qr(x, "complete"),
         _args(_mat(3, 4))),
    _rec("qr_r_square", lambda x: XL.qr(x, "r"), lambda x: JL.qr(x, "r"), _args(_mat(3, 3))),
    _rec("eigh", XL.eigh, JL.eigh, _args(_distinct_spd(3)),
         grad_fun=lambda x: (XL.eigh(x)[0], _sign_fixed(XL.eigh(x)[1], -2))),
    _rec("eigvalsh", XL.eigvalsh, JL.eigvalsh, _args(_distinct_spd(3))),
    _rec("svd_tall", lambda x: XL.svd(x, full_matrices=False),
         lambda x: JL.svd(x, full_matrices=False), _args(_mat(4, 3)),
         grad_fun=_svd_gauge(lambda x: XL.svd(x, full_matrices=False))),
    _rec("svd_wide", lambda x: XL.svd(x, full_matrices=False),
         lambda x: JL.svd(x, full_matrices=False), _args(_mat(3, 4)),
         grad_fun=_svd_gauge(lambda x: XL.svd(x, full_matrices=False))),
    _rec("svd_full_values", XL.svd, JL.svd, _args(_mat(4, 3)), grad=False),
    _rec("svd_s", lambda x: XL.svd(x, compute_uv=False), lambda x: JL.svd(x, compute_uv=False),
         _args(_mat(4, 3))),
    _rec("inv", XL.inv, JL.inv, _args(_wellcond(3))),
    _rec("solve", XL.solve, JL.solve, _args(_wellcond(3), _mat(3, 2))),
    _rec("solve_vector", XL.solve, JL.solve,
         _args(_wellcond(3), lambda rng: rng.uniform(-1, 1, 3).astype(np.float32))),
    _rec("det", XL.det, JL.det, _args(_wellcond(3))),
    _rec("slogdet", XL.slogdet, JL.slogdet, _args(_wellcond(3)),
         grad_fun=lambda x: XL.slogdet(x)[1]),
    _rec("pinv", XL.pinv, JL.pinv, _args(_mat(4, 3))),
    _rec("matrix_power_3", lambda x: XL.matrix_power(x, 3), lambda x: JL.matrix_power(x, 3),
         _args(_mat(3, 3))),
    _rec("matrix_power_-2", lambda x: XL.matrix_power(x, -2),
         lambda x: JL.matrix_power(x, -2), _args(_wellcond(3))),
    _rec("matrix_rank", XL.matrix_rank, JL.matrix_rank,
         _args(lambda rng: np.outer(*rng.uniform(-1, 1, (2, 3))).astype(np.float32)),
         grad=False),
    _rec("lstsq", XL.lstsq, JL.lstsq, _args(_mat(4, 3), _mat(4, 2)),
         grad_fun=lambda a, b: XL.lstsq(a, b)[0]),
    _rec("cond", XL.cond, JL.cond, _args(_wellcond(3))),
    _rec("cond_1", lambda x: XL.cond(x, 1), lambda x: JL.cond(x, 1), _args(_wellcond(3)),
         grad=False),   # max/min of abs sums: kinks
    # norms: orders with a kink (inf, 1, ...) are checked for values and vmap only
    *[_rec(f"norm_vector_{o}", lambda x, o=o: XL.norm(x, o), lambda x, o=o: JL.norm(x, o),
           _args(lambda rng: rng.uniform(0.5, 1.5, 4).astype(np.float32)),
           grad=o in (None, 2, 3, 1))
      for o in (None, 1, 2, np.inf, -np.inf, 0, 3)],
    *[_rec(f"norm_matrix_{o}", lambda x, o=o: XL.norm(x, o), lambda x, o=o: JL.norm(x, o),
           _args(_mat(4, 3)), grad=o in (None, "fro", "nuc", 2, -2))
      for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)],
    _rec("norm_axes_keepdims", lambda x: XL.norm(x, "fro", axis=(2, 0), keepdims=True),
         lambda x: JL.norm(x, "fro", axis=(2, 0), keepdims=True),
         _args(lambda rng: rng.uniform(-1, 1, (4, 3, 2)).astype(np.float32))),
    _rec("norm_axis_1", lambda x: XL.norm(x, axis=1), lambda x: JL.norm(x, axis=1),
         _args(_mat(4, 3))),
    # xform.scipy.linalg
    _rec("sp_lu", sla.lu, jsl.lu, _args(_mat(3, 3))),
    _rec("sp_lu_tall", sla.lu, jsl.lu, _args(_mat(4, 3))),
    _rec("sp_lu_wide_permute_l", lambda x: sla.lu(x, permute_l=True),
         lambda x: jsl.lu(x, permute_l=True), _args(_mat(3, 4))),
    _rec("sp_lu_factor", sla.lu_factor, jsl.lu_factor, _args(_mat(3, 3)),
         grad_fun=lambda x: sla.lu_factor(x)[0]),
    *[_rec(f"sp_lu_solve_{t}", lambda a, b, t=t: sla.lu_solve(sla.lu_factor(a), b, t),
           lambda a, b, t=t: jsl.lu_solve(jsl.lu_factor(a), b, t),
           _args(_wellcond(3), _mat(3, 2))) for t in (0, 1)],
    *[_rec(f"sp_solve_triangular_{t}_{lower}",
           lambda a, b, t=t, lower=lower: sla.solve_triangular(a, b, t, lower),
           lambda a, b, t=t, lower=lower: jsl.solve_triangular(a, b, t, lower),
           _args(_tri(3, lower), _mat(3, 2))) for t in (0, 1) for lower in (True, False)],
    _rec("sp_cholesky", sla.cholesky, jsl.cholesky, _args(_spd(3))),
    *[_rec(f"sp_cho_solve_{lower}",
           lambda a, b, lower=lower: sla.cho_solve(sla.cho_factor(a, lower=lower), b),
           lambda a, b, lower=lower: jsl.cho_solve(jsl.cho_factor(a, lower=lower), b),
           _args(_spd(3), _mat(3, 2))) for lower in (True, False)],
]
# the primitives themselves, against jax.lax.linalg
# (left_side, lower, transpose_a, unit_diagonal): each flag both ways, not all 16 combinations
_TS_CASES = [(True, True, False, False), (True, False, True, False), (False, True, True, True),
             (False, False, False, True), (True, True, True, True), (False, False, True, False)]
RECORDS += [
    _rec(f"triangular_solve_{left}_{lower}_{trans}_{unit}",
         lambda a, b, k=(left, lower, trans, unit): lax_linalg.triangular_solve(
             a, b, left_side=k[0], lower=k[1], transpose_a=k[2], unit_diagonal=k[3]),
         lambda a, b, k=(left, lower, trans, unit): jax.lax.linalg.triangular_solve(
             a, b, left_side=k[0], lower=k[1], transpose_a=k[2], unit_diagonal=k[3]),
         _args(_tri(3, lower), _mat(3, 2) if left else _mat(2, 3)))
    for left, lower, trans, unit in _TS_CASES
]
RECORDS += [
    _rec(f"lax_lu_{m}x{n}", lax_linalg.lu, jax.lax.linalg.lu, _args(_mat(m, n)),
         grad_fun=lambda x: lax_linalg.lu(x)[0]) for m, n in ((3, 3), (4, 3), (3, 4))
]
_BY_NAME = {r.name: r for r in RECORDS}
# a smaller set for the (slower) vmap sweep over batched/unbatched arguments and axes
VMAP_NAMES = ["cholesky", "qr_tall", "eigh", "svd_tall", "solve", "solve_vector", "det",
              "slogdet", "pinv", "lstsq", "matrix_rank", "norm_matrix_nuc", "cond", "sp_lu_solve_1",
              "triangular_solve_True_True_False_False", "triangular_solve_False_False_True_False",
              "lax_lu_4x3"]


# compiling is what costs here, so jit is checked on one record per function family
JIT_NAMES = {"cholesky", "qr_tall", "eigh", "svd_tall", "solve", "inv", "det", "slogdet",
             "pinv", "lstsq", "cond", "matrix_power_-2", "matrix_rank", "norm_matrix_nuc",
             "norm_vector_3", "sp_lu", "sp_lu_solve_1", "sp_cho_solve_True",
             "sp_solve_triangular_1_False", "triangular_solve_False_True_True_True",
             "lax_lu_4x3"}


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_values(rec):
    check_eager(rec)
    if rec.name in JIT_NAMES:
        check_jit(rec)


@pytest.mark.parametrize("name", VMAP_NAMES)
def test_vmap(name):
    check_vmap(_BY_NAME[name], n=2)


@pytest.mark.parametrize("rec", [r for r in RECORDS if r.differentiable], ids=lambda r: r.name)
def test_grads(rec):
    fun = rec.extra["grad_fun"] or rec.fun
    args = rec.make_args(2)
    check_grads(fun, args, order=1)


def test_vmap_batches_of_matrices_match_jax():
    rng = np.random.default_rng(0)
    a = np.stack([_spd(3)(rng) for _ in range(4)])
    b = rng.uniform(-1, 1, (4, 3, 2)).astype(np.float32)
    got = xform.vmap(lambda a, b: XL.solve(XL.cholesky(a), b))(a, b)
    want = jax.vmap(lambda a, b: JL.solve(JL.cholesky(a), b))(a, b)
    assert_same(got, want, 1e-4)
    # leading batch dimensions directly, no vmap
    assert_same(XL.det(a), JL.det(a), 1e-3)
    assert_same(XL.eigh(a), JL.eigh(a), 1e-4)


def test_vmap_unbatched_triangular_factor_is_one_solve():
    # one matrix for every example: the batch folds into b's columns, a is not broadcast
    a = _tri(3, True)(np.random.default_rng(0))
    b = np.ones((5, 3, 2), np.float32)
    f = lambda b: lax_linalg.triangular_solve(a, b, left_side=True, lower=True)  # noqa: E731
    jaxpr = xform.make_jaxpr(xform.vmap(f))(b)
    names = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert names.count("triangular_solve") == 1 and "broadcast_in_dim" not in names, names
    np.testing.assert_allclose(xform.vmap(f)(b), jax.vmap(
        lambda b: jax.lax.linalg.triangular_solve(a, b, left_side=True, lower=True))(b),
        rtol=1e-5)


def test_grad_compositions():
    rng = np.random.default_rng(1)
    a = _wellcond(3)(rng)
    batch = np.stack([_wellcond(3)(rng) for _ in range(3)])
    # vmap of grad and grad of vmap of det (the solve-based rule under both transforms)
    want = jax.vmap(jax.grad(JL.det))(batch)
    assert_same(xform.vmap(xform.grad(XL.det))(batch), want, 1e-3)
    assert_same(xform.grad(lambda b: xnp.sum(xform.vmap(XL.det)(b)))(batch), want, 1e-3)
    # jit of grad through the decompositions, against jax
    for xf, jf in ((XL.inv, JL.inv), (lambda x: XL.cholesky(x @ x.T), lambda x: JL.cholesky(
            x @ x.T))):
        got = xform.jit(xform.grad(lambda x, xf=xf: xnp.sum(xf(x) ** 2)))(a)
        wnt = jax.jit(jax.grad(lambda x, jf=jf: jnp.sum(jf(x) ** 2)))(a)
        assert_same(got, wnt, 2e-3)


def test_second_order_cholesky_and_det():
    a = _spd(3)(np.random.default_rng(3))
    check_grads(lambda x: XL.cholesky(x), [a], order=2)
    check_grads(XL.det, [_wellcond(3)(np.random.default_rng(4))], order=2)


def test_errors():
    with pytest.raises(ValueError, match="square"):
        XL.cholesky(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="rank >= 2"):
        XL.inv(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="as many rows"):
        lax_linalg.triangular_solve(np.eye(3, dtype=np.float32), np.ones((2, 2), np.float32),
                                    left_side=True)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        xform.jvp(lambda x: XL.svd(x), (np.ones((4, 3), np.float32),),
                  (np.ones((4, 3), np.float32),))


def _complex(rng, *shape):
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)


def test_complex_derivatives_match_jax():
    rng = np.random.default_rng(5)
    c = _complex(rng, 3, 3)
    hpd = (c @ c.conj().T + 3 * np.eye(3)).astype(np.complex64)
    tall, t_tall, t_sq = _complex(rng, 4, 3), _complex(rng, 4, 3), _complex(rng, 3, 3)
    cases = [(XL.cholesky, JL.cholesky, hpd, t_sq), (XL.eigvalsh, JL.eigvalsh, hpd, t_sq),
             (XL.qr, JL.qr, tall, t_tall), (XL.slogdet, JL.slogdet, c, t_sq),
             (lambda x: XL.svd(x, full_matrices=False),
              lambda x: JL.svd(x, full_matrices=False), tall, t_tall)]
    for xf, jf, x, t in cases:
        assert_same(xform.jvp(xf, (x,), (t,))[1], jax.jvp(jf, (x,), (t,))[1], 1e-4)
    kw = dict(left_side=True, lower=True, transpose_a=True, conjugate_a=True)
    b, ct = _complex(rng, 3, 2), _complex(rng, 3, 2)
    got = xform.vjp(lambda a, b: lax_linalg.triangular_solve(a, b, **kw), c, b)[1](ct)
    want = jax.vjp(lambda a, b: jax.lax.linalg.triangular_solve(a, b, **kw), c, b)[1](ct)
    assert_same(got, want, 1e-4)


def test_qr_complete_tall_derivative_matches_jax():
    # full_matrices=True on a tall matrix: Q's trailing columns are Householder QR's, whose
    # derivative JAX computes; xform's agrees (real, complex, pivoted), and with finite
    # differences of orders 1 and 2
    rng = np.random.default_rng(7)
    real, t_real = _mat(5, 3)(rng), _mat(5, 3)(rng)
    cplx, t_cplx = _complex(rng, 5, 3), _complex(rng, 5, 3)
    for x, t in ((real, t_real), (cplx, t_cplx)):
        for piv in (False, True):
            def xf(a, piv=piv):
                return lax_linalg.qr(a, full_matrices=True, pivoting=piv)[:2]

            def jf(a, piv=piv):
                return jax.lax.linalg.qr(a, full_matrices=True, pivoting=piv)[:2]

            assert_same(xform.jvp(xf, (x,), (t,)), jax.jvp(jf, (x,), (t,)), 1e-4)

    def loss(qr, np_):
        return lambda a: np_.sum(np_.sin(qr(a, "complete")[0])) + np_.sum(qr(a, "complete")[1])

    assert_same(xform.jit(xform.grad(loss(XL.qr, xnp)))(real),
                jax.jit(jax.grad(loss(JL.qr, jnp)))(real), 1e-4)
    with xform.enable_x64(True):
        check_grads(lambda a: XL.qr(a, "complete")[0], [real.astype(np.float64)], order=2)
    # batched (JAX's rule raises a TypeError for leading batch axes): a loop over the batch
    xs, ts = np.stack([real, 2 * real]), np.stack([t_real, -t_real])
    got = xform.jvp(lambda a: XL.qr(a, "complete"), (xs,), (ts,))[1]
    for i in range(2):
        assert_same([g[i] for g in got], list(
                    jax.jvp(lambda a: JL.qr(a, "complete"), (xs[i],), (ts[i],))[1]), 1e-4)
