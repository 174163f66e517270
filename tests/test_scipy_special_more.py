"""xform.scipy.special's added functions (gamma relatives, Bessel i0/i1, zeta, polygamma,
entropies, Box-Cox, softmax) against jax.scipy.special on the same inputs: values, dtypes and
weak types eagerly, and values under jit and vmap of grad."""

import jax
import jax.scipy.special as js
import numpy as np
import pytest

import xform
import xform.scipy.special as xs

X = np.array([-2.5, -1.0, -0.3, 0.5, 1.0, 3.7], np.float32)
P = np.array([0.0, 0.2, 1.0, 3.0, -1.0, 2.0], np.float32)
POS = np.abs(X) + 0.1

CASES = {
    "gammasgn": lambda m: m.gammasgn(X),
    "gamma": lambda m: m.gamma(X),
    "gamma_int": lambda m: m.gamma(3),
    "loggamma": lambda m: m.loggamma(X),
    "beta": lambda m: m.beta(POS, 2.0),
    "factorial": lambda m: m.factorial(X),
    "comb": lambda m: m.comb(5.0, P),
    "comb_repetition": lambda m: m.comb(5.0, P, repetition=True),
    "poch": lambda m: m.poch(POS, 1.5),
    "multigammaln": lambda m: m.multigammaln(POS + 2, 3),
    "polygamma": lambda m: m.polygamma(np.array([0, 1, 2, 1, 0, 3]), POS),
    "zeta": lambda m: m.zeta(POS + 1.5, 2.0),
    "i0e": lambda m: m.i0e(X),
    "i0": lambda m: m.i0(X),
    "i1e": lambda m: m.i1e(X),
    "i1": lambda m: m.i1(X),
    "i0_scalar": lambda m: m.i0(1.5),
    "rel_entr": lambda m: m.rel_entr(P, X),
    "kl_div": lambda m: m.kl_div(P, X),
    "boxcox": lambda m: m.boxcox(np.abs(X), P),
    "boxcox1p": lambda m: m.boxcox1p(np.abs(X), P),
    "softmax": lambda m: m.softmax(X.reshape(2, 3)),
    "softmax_axis": lambda m: m.softmax(X.reshape(2, 3), axis=0),
    "log_softmax": lambda m: m.log_softmax(X.reshape(2, 3)),
    "log_softmax_axis": lambda m: m.log_softmax(X.reshape(2, 3), axis=1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_dtypes_weak_types(name):
    a, b = CASES[name](xs), CASES[name](js)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.weak_type == b.weak_type
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-6, equal_nan=True)


GRADS = {
    "gamma": lambda m, v: m.gamma(v),
    "poch": lambda m, v: m.poch(v, 1.5),
    "i0": lambda m, v: m.i0(v),
    "i1e": lambda m, v: m.i1e(v),
    "rel_entr": lambda m, v: m.rel_entr(v, 0.7),
    "kl_div": lambda m, v: m.kl_div(0.3, v),
    "zeta_q": lambda m, v: m.zeta(3.0, v),
    "zeta_x": lambda m, v: m.zeta(v + 1.5, 0.7),  # JAX differentiates its series in x too
    "beta": lambda m, v: m.beta(v, 2.0),
    "softmax": lambda m, v: m.softmax(v * np.arange(3.0))[1],
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_jit_and_vmapped_grad(name):
    f = GRADS[name]
    v = np.array([0.5, 1.2, 2.5], np.float32)
    np.testing.assert_allclose(xform.vmap(xform.grad(lambda t, f=f: f(xs, t)))(v),
                               jax.vmap(jax.grad(lambda t, f=f: f(js, t)))(v), rtol=1e-5)
    np.testing.assert_allclose(xform.jit(lambda t, f=f: f(xs, t))(v[0]),
                               jax.jit(lambda t, f=f: f(js, t))(v[0]), rtol=1e-6)


def test_zeta_derivatives_through_the_series_as_jax():
    # jax.scipy.special.zeta is a custom_jvp whose rule is the jvp of an Euler-Maclaurin
    # expansion (its value is the primal under jvp, continuing zeta below x = 1)
    for f, x in ((lambda m, s: m.zeta(s, 0.7), 0.3), (lambda m, s: m.zeta(s, 0.7), 2.3),
                 (lambda m, q: m.zeta(2.5, q), 1.3)):
        want = jax.jvp(lambda t, f=f: f(js, t), (x,), (1.0,))
        got = xform.jvp(lambda t, f=f: f(xs, t), (x,), (1.0,))
        for a, b in zip(got, want):
            assert a.weak_type == b.weak_type
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-6)
        want, got = jax.grad(lambda t, f=f: f(js, t))(x), xform.grad(lambda t, f=f: f(xs, t))(x)
        assert got.weak_type == want.weak_type
        np.testing.assert_allclose(got, want, rtol=2e-6)
    np.testing.assert_allclose(xform.hessian(lambda s: xs.zeta(s, 0.7))(2.3),
                               jax.hessian(lambda s: js.zeta(s, 0.7))(2.3), rtol=1e-5)


def test_errors_as_jax():
    with pytest.raises(ValueError, match="integer type"):
        xs.polygamma(1.0, 2.0)
    with pytest.raises(NotImplementedError):
        xs.zeta(2.0)
    with pytest.raises(NotImplementedError):
        xs.factorial(3, exact=True)
    with pytest.raises(ValueError, match="complex"):
        xs.beta(np.complex64(1 + 1j), 1.0)
