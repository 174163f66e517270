"""xform.scipy.stats (and the special functions it needs) against jax.scipy.stats on the same
inputs: values under eager and jit, vmap against JAX's vmap, grad where differentiable."""

import jax
import jax.scipy.special as jsp
import jax.scipy.stats as jst
import numpy as np
import pytest

import xform
import xform.scipy.special as xsp
import xform.scipy.stats as xst

F = np.float32
X = np.array([-2.5, -0.3, 0.0, 0.4, 1.0, 2.2, 7.0], F)
POS = np.array([0.05, 0.3, 1.0, 2.0, 4.5, 9.0, 30.0], F)
UNIT = np.array([0.01, 0.1, 0.3, 0.5, 0.7, 0.95, 0.999], F)
K = np.array([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0], F)

# (distribution, method, args, differentiable in the first argument)
CASES = []
for m in ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]:
    CASES.append(("norm", m, (X, F(0.5), F(1.5)), True))
CASES += [("norm", "ppf", (UNIT, F(0.5), F(2.0)), True),
          ("norm", "isf", (UNIT,), True)]
for m in ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]:
    CASES.append(("expon", m, (UNIT if m == "ppf" else POS, F(0.01), F(2.0)), True))
for m in ["logpdf", "pdf", "cdf"]:
    CASES.append(("laplace", m, (X, F(0.2), F(1.3)), True))
for m in ["logpdf", "pdf", "cdf", "sf", "ppf", "isf"]:
    CASES.append(("logistic", m, (UNIT if m in ("ppf", "isf") else X, F(0.1), F(0.7)), True))
for m in ["logpdf", "pdf", "cdf", "ppf"]:
    CASES.append(("uniform", m, (UNIT if m == "ppf" else X, F(-1.0), F(3.0)), m != "cdf"))
for m in ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]:
    # (tan is ill-conditioned next to q = 1: leave 0.999 out)
    CASES.append(("cauchy", m, (UNIT[:-1] if m in ("ppf", "isf") else X, F(0.3), F(2.0)), True))
for m in ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]:
    CASES.append(("gamma", m, (POS, F(2.5), F(0.0), F(1.5)), True))
    CASES.append(("chi2", m, (POS, F(3.0), F(0.0), F(1.2)), True))
    CASES.append(("beta", m, (UNIT, F(2.0), F(3.5)), True))
    CASES.append(("truncnorm", m, (X, F(-1.0), F(2.0), F(0.2), F(1.1)), True))
CASES += [("t", "logpdf", (X, F(3.0), F(0.5), F(2.0)), True),
          ("t", "pdf", (X, F(4.5)), True),
          ("vonmises", "logpdf", (X, F(2.0)), True),
          ("vonmises", "pdf", (X, F(0.5)), True),
          ("poisson", "logpmf", (K, F(3.5)), False),
          ("poisson", "pmf", (K, F(3.5), F(1.0)), False),
          ("poisson", "cdf", (K, F(3.5)), False),
          ("bernoulli", "logpmf", (np.array([0, 1, 2, -1], F), F(0.3)), False),
          ("bernoulli", "pmf", (np.array([0, 1, 1, 0], F), F(0.8)), False),
          ("bernoulli", "cdf", (np.array([-1, 0, 0.5, 1, 3], F), F(0.3)), False),
          ("bernoulli", "ppf", (UNIT, F(0.3)), False),
          ("binom", "logpmf", (K, F(10.0), F(0.3)), False),
          ("binom", "pmf", (K, F(12.0), F(0.6)), False),
          ("geom", "logpmf", (K, F(0.3)), False),
          ("geom", "pmf", (K, F(0.6)), False)]

# A method that is exp() of another (pdf of logpdf, truncnorm's cdf of logcdf, ...) is checked
# for its values only: its transforms are those of the method it exponentiates
_DERIVED = {"pdf", "pmf"}
CASES = [(d, m, a, diff and m not in _DERIVED and not (d == "truncnorm" and m in ("cdf", "sf")))
         for d, m, a, diff in CASES]
IDS = [f"{d}.{m}-{i}" for i, (d, m, _, _) in enumerate(CASES)]


def _fns(dist, method):
    return getattr(getattr(xst, dist), method), getattr(getattr(jst, dist), method)


def _all_at_once(fn, grad, vmap, jit, args, diff):
    """One compiled program per case: the values, the values under vmap over the first
    argument, and (if differentiable) the vmapped gradient in it."""
    in_axes = (0,) + (None,) * (len(args) - 1)

    def run(*a):
        if not diff:
            return [fn(*a)]
        return [fn(*a), vmap(fn, in_axes)(*a), vmap(grad(fn), in_axes)(*a)]

    return jit(run)(*args)


EAGER_CHECKED: set = set()


@pytest.mark.parametrize("dist,method,args,diff", CASES, ids=IDS)
def test_against_jax(dist, method, args, diff):
    f, g = _fns(dist, method)
    got = _all_at_once(f, xform.grad, xform.vmap, xform.jit, args, diff)
    want = _all_at_once(g, jax.grad, jax.vmap, jax.jit, args, diff)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4 if a is got[-1] and diff else 2e-5,
                                   atol=1e-6)
    if dist not in EAGER_CHECKED:  # eagerly too, once per distribution (op by op is slow)
        EAGER_CHECKED.add(dist)
        np.testing.assert_allclose(f(*args), want[0], rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("dist,args", [
    ("norm", (X[:3], F(0.5), F(1.5))), ("gamma", (POS[:3], F(2.5))),
    ("beta", (UNIT[:3], F(2.0), F(3.5))), ("t", (X[:3], F(3.0)))])
def test_grad_in_parameters(dist, args):
    f, g = _fns(dist, "logpdf")

    def wrt_params(fn):
        return lambda *p: fn(args[0], *p).sum()

    for a, b in zip(xform.grad(wrt_params(f), tuple(range(len(args) - 1)))(*args[1:]),
                    jax.grad(wrt_params(g), tuple(range(len(args) - 1)))(*args[1:])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dist,method,args", [
    ("norm", "logpdf", (0.3,)), ("gamma", "logpdf", (0.3, 2.0)), ("poisson", "logpmf", (2.0, 3.0)),
    ("logistic", "ppf", (0.3,)), ("uniform", "cdf", (0.3,)), ("beta", "logpdf", (0.3, 2.0, 3.0))])
def test_python_scalars_give_jax_weak_types(dist, method, args):
    f, g = _fns(dist, method)
    got, want = xform.jit(f)(*args), g(*args)
    assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type)
    np.testing.assert_allclose(got, want, rtol=2e-5)


def test_poisson_entropy():
    mu = np.array([0.0, 0.5, 4.0, 30.0, 150.0], F)
    np.testing.assert_allclose(xst.poisson.entropy(mu), jst.poisson.entropy(mu), rtol=1e-5)


def test_multivariate_normal():
    rng = np.random.RandomState(0)
    a = rng.randn(3, 3).astype(F)
    cov = (a @ a.T + 3 * np.eye(3)).astype(F)
    mean = rng.randn(3).astype(F)
    x = rng.randn(5, 3).astype(F)
    logpdf = xform.jit(xst.multivariate_normal.logpdf)
    for args in [(x, mean, cov), (x, mean, F(2.0)), (x[:, 0], F(0.3), F(1.7))]:
        np.testing.assert_allclose(logpdf(*args), jst.multivariate_normal.logpdf(*args),
                                   rtol=1e-5)
    gx = xform.grad(lambda m, c: xst.multivariate_normal.logpdf(x, m, c).sum(), (0, 1))
    gj = jax.grad(lambda m, c: jst.multivariate_normal.logpdf(x, m, c).sum(), (0, 1))
    for a_, b_ in zip(gx(mean, cov), gj(mean, cov)):
        np.testing.assert_allclose(a_, b_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(xform.vmap(xst.multivariate_normal.logpdf, (0, None, None))(
        x, mean, cov), jst.multivariate_normal.logpdf(x, mean, cov), rtol=1e-5)


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.0], F)
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]], F)
    for xx in [x, x[:2], x[:, 0]]:
        np.testing.assert_allclose(xst.dirichlet.logpdf(xx, alpha),
                                   jst.dirichlet.logpdf(xx, alpha), rtol=1e-5)
    ga = xform.grad(lambda a: xst.dirichlet.logpdf(x, a).sum())(alpha)
    np.testing.assert_allclose(ga, jax.grad(lambda a: jst.dirichlet.logpdf(x, a).sum())(alpha),
                               rtol=1e-4)
    with pytest.raises(ValueError, match="one-dimensional"):
        xst.dirichlet.logpdf(x, alpha[None])


# -- the special functions the distributions are built from -------------------------------
WIDE = np.array([-30.0, -12.0, -3.0, -0.5, 0.0, 0.7, 4.0, 6.0, 9.0], F)
PROBS = np.array([0.0, 1e-30, 1e-10, 0.01, 0.2, 0.5, 0.9, 0.999, 1.0], F)


@pytest.mark.parametrize("name,x", [("ndtr", WIDE), ("log_ndtr", WIDE), ("ndtri", PROBS)])
def test_normal_special_functions(name, x):
    f, g = getattr(xsp, name), getattr(jsp, name)
    np.testing.assert_allclose(f(x), g(x), rtol=1e-6)
    gx, gj = xform.vmap(xform.grad(f))(x), jax.vmap(jax.grad(g))(x)
    np.testing.assert_allclose(gx, gj, rtol=1e-5)


@pytest.mark.parametrize("name,args", [
    ("gammainc", (np.array([0.5, 2.0, 5.0], F), np.array([0.3, 1.0, 7.0], F))),
    ("gammaincc", (np.array([0.5, 2.0, 5.0], F), np.array([0.3, 1.0, 7.0], F))),
    ("betaln", (np.array([0.5, 3.0, 10.0, 50.0], F), np.array([2.0, 9.0, 20.0, 100.0], F))),
])
def test_gamma_family(name, args):
    f, g = getattr(xsp, name), getattr(jsp, name)
    np.testing.assert_allclose(f(*args), g(*args), rtol=1e-6)
    for i in range(2):
        gx = xform.grad(lambda *a: f(*a).sum(), i)(*args)
        gj = jax.grad(lambda *a: g(*a).sum(), i)(*args)
        np.testing.assert_allclose(gx, gj, rtol=1e-5)


def test_betainc_and_its_derivative_rule():
    a, b, x = F(2.0), F(3.0), np.array([0.1, 0.4, 0.9], F)
    np.testing.assert_allclose(xsp.betainc(a, b, x), jsp.betainc(a, b, x), rtol=1e-6)
    np.testing.assert_allclose(xform.vmap(xform.grad(lambda x: xsp.betainc(a, b, x)))(x),
                               jax.vmap(jax.grad(lambda x: jsp.betainc(a, b, x)))(x), rtol=1e-5)
    with pytest.raises(ValueError, match="with respect to a and b"):
        xform.grad(lambda a: xsp.betainc(a, b, x[0]))(a)


def test_bessel_i0e_i1e_primitives():
    x = np.array([-3.0, -1e-9, 0.0, 0.5, 4.0], F)
    for f, g in [(xform.lax.bessel_i0e, jax.lax.bessel_i0e),
                 (xform.lax.bessel_i1e, jax.lax.bessel_i1e)]:
        np.testing.assert_allclose(f(x), g(x), rtol=1e-6)
        np.testing.assert_allclose(xform.vmap(xform.grad(xform.grad(f)))(x),
                                   jax.vmap(jax.grad(jax.grad(g)))(x), rtol=1e-5, atol=1e-7)
