"""The rest of xform.scipy against JAX's on the same inputs. special: erfcx, wofz, dawsn, expi,
exp1, expn, spence, bernoulli, bessel_jn, hyp1f1, hyp2f1, sici, owens_t, fresnel, sph_harm_y;
stats: betabinom, nbinom, multinomial, gennorm, gumbel_l/r, pareto, wrapcauchy, mode, rankdata,
sem, gaussian_kde; signal: fftconvolve, detrend, stft, istft, csd, welch. Checked: values and
dtypes under jit (and eagerly for a sample), weak types, jit of vmap against JAX's, and
jit(vmap(grad)) against JAX's."""

import jax
import jax.scipy.signal as jsig
import jax.scipy.special as jsp
import jax.scipy.stats as jst
import numpy as np
import pytest

import xform
import xform.scipy.signal as xsig
import xform.scipy.special as xsp
import xform.scipy.stats as xst

R = np.random.RandomState(0)
X = np.array([-3.0, -0.7, -0.2, 0.0, 0.4, 1.5, 3.0, 7.0, 12.0], np.float32)
POS = np.array([0.05, 0.3, 0.9, 1.5, 3.0, 7.0, 20.0, 40.0, 70.0], np.float32)
K = np.array([0.0, 1.0, 2.0, 5.0, 7.0, -1.0, 3.5], np.float32)
Q = np.array([0.0, 0.1, 0.5, 0.9, 1.0, 1.2], np.float32)
SIG = R.randn(2, 64).astype(np.float32)
SIG2 = R.randn(2, 64).astype(np.float32)
DATA = R.randn(2, 7).astype(np.float32)
PTS = R.randn(2, 4).astype(np.float32)
ZXX = np.asarray(jsig.stft(SIG, nperseg=16)[2])
ZXX_T = np.asarray(jsig.stft(SIG.T, nperseg=15, return_onesided=False, axis=0)[2])
TIES = np.array([[1, 2, 2, 3], [3, 3, 1, 1], [0, 2, 2, 0]], np.float32)


def _gumbel(name):
    return {f"{name}.{m}": (lambda mod, m=m: getattr(getattr(mod, name), m)(X, 0.2, 1.3))
            for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")} | {
        f"{name}.ppf": lambda mod: getattr(mod, name).ppf(Q, 0.2, 1.3)}


def _pareto():
    x = np.array([0.5, 1.2, 2.0, 5.0], np.float32)
    return {f"pareto.{m}": (lambda mod, m=m: getattr(mod.pareto, m)(x, 2.5, 0.1, 1.0))
            for m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")} | {
        "pareto.ppf": lambda mod: mod.pareto.ppf(Q, 2.5)}


# name -> (function of the module, (special, stats, signal) module triple index)
SPECIAL = {
    "erfcx": lambda m: m.erfcx(X),
    "erfcx_complex": lambda m: m.erfcx(np.array([1 + 1j, -0.5 + 2j], np.complex64)),
    "wofz": lambda m: m.wofz(np.array([1 + 1j, -1 - 0.5j, 0.3j, 2 - 3j], np.complex64)),
    "dawsn": lambda m: m.dawsn(np.array([-7.0, -4.0, -0.3, 0.0, 0.5, 3.0, 5.0, 8.0],
                                        np.float32)),
    "expi": lambda m: m.expi(X[X != 0]),
    "exp1": lambda m: m.exp1(POS),
    "expn": lambda m: m.expn(np.array([0, 1, 2, 3, 5], np.float32)[:, None], POS),
    "expn_edges": lambda m: m.expn(np.array([-1.0, 0.0, 1.0, 3.0]), np.array([1.0, 0.0, 0.0, 0.0])),
    "spence": lambda m: m.spence(np.array([0.0, 0.2, 0.7, 1.0, 1.7, 3.0, -1.0], np.float32)),
    "bernoulli": lambda m: m.bernoulli(10),
    "bernoulli_small": lambda m: m.bernoulli(1),
    "bessel_jn": lambda m: m.bessel_jn(np.array([2.0, 5.0, 9.5], np.float32), v=3, n_iter=20),
    "hyp1f1": lambda m: m.hyp1f1(0.5, 1.5, POS),
    "sici": lambda m: m.sici(np.array([-np.inf, -20.0, -3.0, -0.5, 0.0, 0.3, 2.0, 4.5, 9.0,
                                       30.0, 2e9, np.inf], np.float32)),
    "owens_t": lambda m: m.owens_t(np.array([0.0, 0.3, 1.0, 2.5, -1.0], np.float32),
                                   np.array([[0.5], [1.0], [3.0], [-2.0]], np.float32)),
    "fresnel": lambda m: m.fresnel(np.array([-np.inf, -3.0, -0.5, 0.0, 0.7, 1.7, 5.0, 40.0, 5e4],
                                            np.float32)),
    "hyp2f1": lambda m: m.hyp2f1(np.array([0.5, 1.0, -2.0, 1.5, 0.3, 1.0, 2.0, 0.0])[:, None],
                                 np.array([1.5, 2.0, 1.5, -3.0, 0.7, 1.0, 3.0, 1.0])[:, None],
                                 np.array([2.5, 3.0, 2.0, 2.5, 1.0, 0.0, 2.0, 1.0])[:, None],
                                 np.array([0.0, 0.2, 0.5, 0.95, 0.99, 1.0, 1.5, -0.5],
                                          np.float32)),
    "sph_harm_y": lambda m: m.sph_harm_y(np.array([0, 1, 2, 3, 4, 4, 2]),
                                         np.array([0, -1, 2, 1, -3, 4, 0]),
                                         np.linspace(0.1, 3.0, 7).astype(np.float32),
                                         np.linspace(0.2, 6.0, 7).astype(np.float32), n_max=5),
    "hyp1f1_conventions": lambda m: m.hyp1f1(np.array([0.0, 2.0, 1.0]), np.array([0.0, 2.0, 0.0]),
                                             np.array([1.5, 1.5, 1.5], np.float32)),
}
STATS = {
    "betabinom.logpmf": lambda m: m.betabinom.logpmf(K, 6.0, 2.0, 3.0),
    "betabinom.pmf": lambda m: m.betabinom.pmf(K, 6.0, 2.0, 3.0, 1.0),
    "nbinom.logpmf": lambda m: m.nbinom.logpmf(K, 3.0, 0.4),
    "nbinom.pmf": lambda m: m.nbinom.pmf(K, 3.0, 0.4, 1.0),
    "multinomial.logpmf": lambda m: m.multinomial.logpmf(np.array([1, 2, 3]), 6,
                                                         np.array([0.2, 0.3, 0.5], np.float32)),
    "multinomial.pmf": lambda m: m.multinomial.pmf(np.array([1, 2, 2]), 6,
                                                   np.array([0.2, 0.3, 0.5], np.float32)),
    "gennorm.logpdf": lambda m: m.gennorm.logpdf(X, 1.5),
    "gennorm.pdf": lambda m: m.gennorm.pdf(X, 0.8),
    "gennorm.cdf": lambda m: m.gennorm.cdf(X, 1.5),
    **_gumbel("gumbel_l"), **_gumbel("gumbel_r"), **_pareto(),
    "wrapcauchy.logpdf": lambda m: m.wrapcauchy.logpdf(np.array([-1.0, 0.5, 3.0, 7.0],
                                                                 np.float32), 0.3),
    "wrapcauchy.pdf": lambda m: m.wrapcauchy.pdf(np.array([0.5, 3.0], np.float32),
                                                 np.array([0.3, 1.2], np.float32)),
    **{f"mode_{ax}": (lambda m, ax=ax: tuple(m.mode(TIES, axis=ax))) for ax in (0, 1, None)},
    "mode_keepdims": lambda m: tuple(m.mode(TIES, axis=1, keepdims=True)),
    **{f"rankdata_{k}": (lambda m, k=k: m.rankdata(TIES, k)) for k in
       ("average", "min", "max", "dense", "ordinal")},
    "rankdata_axis": lambda m: m.rankdata(TIES, "average", axis=1),
    "rankdata_nan": lambda m: m.rankdata(np.array([1.0, np.nan, 2.0])),
    "sem": lambda m: m.sem(TIES),
    "sem_axis_none": lambda m: m.sem(TIES, axis=None, ddof=0),
    "sem_omit": lambda m: m.sem(np.array([1.0, np.nan, 3.0, 4.0]), nan_policy="omit"),
    "kde.evaluate": lambda m: m.gaussian_kde(DATA).evaluate(PTS),
    "kde.logpdf": lambda m: m.gaussian_kde(DATA, bw_method="silverman").logpdf(PTS),
    "kde.weights": lambda m: m.gaussian_kde(DATA[0], weights=np.arange(1.0, 8.0))(PTS[0]),
    "kde.integrate_gaussian": lambda m: m.gaussian_kde(DATA, bw_method=0.5).integrate_gaussian(
        np.zeros(2), np.eye(2)),
    "kde.integrate_kde": lambda m: m.gaussian_kde(DATA).integrate_kde(
        m.gaussian_kde(DATA[:, :5])),
    "kde.integrate_box_1d": lambda m: m.gaussian_kde(DATA[0]).integrate_box_1d(-0.5, 1.0),
    "kde.resample": lambda m: m.gaussian_kde(DATA).resample(jax.random.key(0), (3,)),
}
SIGNAL = {
    "fftconvolve": lambda m: m.fftconvolve(SIG, SIG2[:, :9]),
    "fftconvolve_same": lambda m: m.fftconvolve(SIG, SIG2[:, :9], "same"),
    "fftconvolve_valid": lambda m: m.fftconvolve(SIG2[0, :9], SIG[0], "valid"),
    "fftconvolve_axes": lambda m: m.fftconvolve(SIG, SIG2[:, :9], axes=1),
    "fftconvolve_complex": lambda m: m.fftconvolve(SIG.astype(np.complex64), SIG2[:, :5]),
    "convolve_fft": lambda m: m.convolve(SIG[0], SIG2[0, :5], method="fft"),
    "correlate_fft": lambda m: m.correlate(SIG[0], SIG2[0, :5], "same", method="fft"),
    "detrend": lambda m: m.detrend(SIG),
    "detrend_constant": lambda m: m.detrend(SIG, type="constant"),
    "detrend_bp": lambda m: m.detrend(SIG.T, axis=0, bp=[20, 40]),
    "stft": lambda m: m.stft(SIG, nperseg=16),
    "stft_even": lambda m: m.stft(SIG, nperseg=16, noverlap=4, boundary="even", padded=False),
    "stft_twosided": lambda m: m.stft(SIG, nperseg=15, return_onesided=False, boundary="odd"),
    "istft": lambda m: m.istft(ZXX, nperseg=16),
    "istft_axes": lambda m: m.istft(ZXX_T, nperseg=15, input_onesided=False, freq_axis=0),
    "welch": lambda m: m.welch(SIG, nperseg=16),
    "welch_median": lambda m: m.welch(SIG, nperseg=16, average="median", scaling="spectrum"),
    "welch_linear": lambda m: m.welch(SIG, nperseg=16, detrend="linear", nfft=20),
    "csd": lambda m: m.csd(SIG, SIG2, nperseg=16),
    "csd_median": lambda m: m.csd(SIG, SIG2[:1], nperseg=16, average="median"),
}
CASES = ({k: (v, 0) for k, v in SPECIAL.items()} | {k: (v, 1) for k, v in STATS.items()}
         | {k: (v, 2) for k, v in SIGNAL.items()})
MODULES = ((xsp, jsp), (xst, jst), (xsig, jsig))


def _close(a, b, rtol):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for u, v in zip(la, lb):
        assert u.shape == v.shape and u.dtype == v.dtype, (u.shape, v.shape, u.dtype, v.dtype)
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=rtol, atol=1e-6,
                                   equal_nan=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_dtypes_against_jax(name):
    # under one xform.jit (eagerly every operation would compile on its own: slow to test)
    f, i = CASES[name]
    xmod, jmod = MODULES[i]
    _close(xform.jit(lambda: f(xmod))(), f(jmod), rtol=2e-5)


EAGER = ["erfcx", "spence", "bernoulli", "gennorm.cdf", "pareto.logsf", "gumbel_l.ppf",
         "rankdata_min", "mode_0", "fftconvolve_same", "welch"]


@pytest.mark.parametrize("name", EAGER)
def test_eager_values_against_jax(name):
    f, i = CASES[name]
    _close(f(MODULES[i][0]), f(MODULES[i][1]), rtol=2e-5)


@pytest.mark.parametrize("name", ["erfcx", "dawsn", "expi", "expn", "spence", "hyp1f1",
                                  "bessel_jn", "nbinom.pmf", "gennorm.cdf", "gumbel_r.logsf",
                                  "pareto.ppf", "wrapcauchy.pdf", "sem", "mode_0", "rankdata_max",
                                  "kde.evaluate", "fftconvolve", "welch", "stft", "istft"])
def test_weak_types_match(name):
    f, i = CASES[name]
    got = jax.tree.leaves(xform.eval_shape(lambda: f(MODULES[i][0])))
    want = jax.tree.leaves(jax.eval_shape(lambda: f(MODULES[i][1])))
    assert [g.weak_type for g in got] == [w.weak_type for w in want]


# one batched argument each: xform.jit(xform.vmap(f)) against jax.jit(jax.vmap(f))
VMAP = {
    "erfcx": (lambda m, v: m.erfcx(v), X[:4]),
    "dawsn": (lambda m, v: m.dawsn(v), X[:4]),
    "expi": (lambda m, v: m.expi(v), POS[:4]),
    "expn": (lambda m, v: m.expn(2, v), POS[:4]),
    "spence": (lambda m, v: m.spence(v), POS[:4]),
    "bessel_jn": (lambda m, v: m.bessel_jn(v, v=2, n_iter=20), POS[3:6] + 1),
    "hyp1f1": (lambda m, v: m.hyp1f1(0.5, v, 1.2), POS[:4] + 0.5),
    "hyp2f1": (lambda m, v: m.hyp2f1(0.5, 1.5, 2.5, v), Q[:4] * 0.9),
    "wofz": (lambda m, v: m.wofz(v * (1 + 1j)), X[:4]),
    "sici": (lambda m, v: m.sici(v), X[:4]),
    "fresnel": (lambda m, v: m.fresnel(v), X[:4]),
    "sph_harm_y": (lambda m, v: m.sph_harm_y(np.array([2, 3]), np.array([1, -2]), v,
                                             v + 1.0, n_max=3), np.stack([POS[:2], POS[1:3]])),
    "owens_t": (lambda m, v: m.owens_t(v, 0.7), X[:4]),
    "betabinom": (lambda m, v: m.betabinom.logpmf(2.0, 6.0, v, 3.0), POS[:4]),
    "nbinom": (lambda m, v: m.nbinom.logpmf(3.0, v, 0.4), POS[:4] + 1),
    "gumbel_l": (lambda m, v: m.gumbel_l.logcdf(v), X[:4]),
    "pareto": (lambda m, v: m.pareto.logpdf(2.0, v), POS[:4]),
    "multinomial": (lambda m, v: m.multinomial.logpmf(np.array([1, 2, 3]), 6, v),
                    np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], np.float32)),
    "rankdata": (lambda m, v: m.rankdata(v), TIES),
    "mode": (lambda m, v: m.mode(v).mode, TIES),
    "kde": (lambda m, v: m.gaussian_kde(DATA).logpdf(v), PTS.T[:, :, None]),
    "fftconvolve": (lambda m, v: m.fftconvolve(v, SIG2[0, :7]), SIG),
    "welch": (lambda m, v: m.welch(v, nperseg=16)[1], SIG),
    "stft": (lambda m, v: m.stft(v, nperseg=16)[2], SIG),
    "detrend": (lambda m, v: m.detrend(v), SIG),
}


def _module_of(name):
    if name in SPECIAL:
        return 0
    return 2 if name in ("fftconvolve", "welch", "stft", "detrend") else 1


@pytest.mark.parametrize("name", sorted(VMAP))
def test_jit_of_vmap_against_jax(name):
    f, v = VMAP[name]
    xmod, jmod = MODULES[_module_of(name)]
    got = xform.jit(xform.vmap(lambda t: f(xmod, t)))(v)
    want = jax.jit(jax.vmap(lambda t: f(jmod, t)))(v)
    _close(got, want, rtol=5e-5)


# gradients: xform.vmap(xform.grad(f)) against jax.vmap(jax.grad(f))
GRADS = {
    "erfcx": (lambda m, v: m.erfcx(v), X[:4], 0),
    "dawsn": (lambda m, v: m.dawsn(v), X[:4], 0),
    "expi": (lambda m, v: m.expi(v), POS[1:5], 0),
    "exp1": (lambda m, v: m.exp1(v), POS[1:5], 0),
    "expn": (lambda m, v: m.expn(3, v), POS[1:5], 0),
    "spence": (lambda m, v: m.spence(v), POS[1:5], 0),
    "hyp1f1_a": (lambda m, v: m.hyp1f1(v, 1.5, 0.7), POS[1:5], 0),
    "hyp1f1_b": (lambda m, v: m.hyp1f1(0.5, v, 0.7), POS[1:5] + 0.5, 0),
    "bessel_jn": (lambda m, v: m.bessel_jn(v, v=2, n_iter=20)[1], POS[3:6] + 1, 0),
    "hyp2f1_a": (lambda m, v: m.hyp2f1(v, 1.5, 2.5, 0.3), POS[1:4], 0),
    "hyp2f1_c": (lambda m, v: m.hyp2f1(0.5, 1.5, v + 2, 0.3), POS[1:4], 0),
    "hyp2f1_x": (lambda m, v: m.hyp2f1(0.5, 1.5, 2.5, v), Q[1:4] * 0.9, 0),
    "hyp1f1_x": (lambda m, v: m.hyp1f1(0.5, 1.5, v), POS[1:5], 0),
    "wofz": (lambda m, v: m.wofz(v * (1 + 0.5j)).real, X[:4], 0),
    "fresnel_s": (lambda m, v: m.fresnel(v)[0], X[:6], 0),
    "fresnel_c": (lambda m, v: m.fresnel(v)[1], X[:6], 0),
    "sici_si": (lambda m, v: m.sici(v)[0], X[4:8], 0),
    "sici_ci": (lambda m, v: m.sici(v)[1], POS[1:5], 0),
    "owens_t_h": (lambda m, v: m.owens_t(v, 1.7), X[:4], 0),
    "owens_t_a": (lambda m, v: m.owens_t(0.6, v), X[:4], 0),
    "betabinom": (lambda m, v: m.betabinom.logpmf(2.0, 6.0, v, 3.0), POS[1:5], 1),
    "nbinom": (lambda m, v: m.nbinom.logpmf(3.0, 2.0, v), Q[1:4], 1),
    "gennorm": (lambda m, v: m.gennorm.logpdf(0.7, v), POS[1:5], 1),
    "gumbel_r": (lambda m, v: m.gumbel_r.logsf(v, 0.1, 1.2), X[:4], 1),
    "gumbel_l": (lambda m, v: m.gumbel_l.ppf(0.3, v, 1.2), X[:4], 1),
    "pareto": (lambda m, v: m.pareto.logcdf(3.0, v), POS[1:5], 1),
    "wrapcauchy": (lambda m, v: m.wrapcauchy.logpdf(1.0, v), Q[1:4], 1),
    "kde": (lambda m, v: m.gaussian_kde(DATA * v).logpdf(PTS)[0], POS[2:5], 1),
    "sem": (lambda m, v: m.sem(TIES * v)[1], POS[2:5], 1),
    "welch": (lambda m, v: m.welch(SIG[0] * v, nperseg=16)[1][3], POS[2:5], 2),
    "fftconvolve": (lambda m, v: m.fftconvolve(SIG[0] * v, SIG2[0, :5])[7], POS[2:5], 2),
}


@pytest.mark.parametrize("name", sorted(GRADS))
def test_vmapped_grad_against_jax(name):
    f, v, i = GRADS[name]
    xmod, jmod = MODULES[i]
    got = xform.jit(xform.vmap(xform.grad(lambda t: f(xmod, t))))(v)
    want = jax.jit(jax.vmap(jax.grad(lambda t: f(jmod, t))))(v)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=1e-6)


def test_kde_is_a_pytree_through_jit():
    kde = xst.gaussian_kde(DATA)
    got = xform.jit(lambda k, p: k.evaluate(p))(kde, PTS)
    np.testing.assert_allclose(got, jst.gaussian_kde(DATA).evaluate(PTS), rtol=2e-5)


def test_errors_as_jax():
    with pytest.raises(ValueError, match="complex"):
        xsp.dawsn(np.complex64(1j))
    with pytest.raises(TypeError, match="not supported"):
        xsp.spence(np.array([1, 2]))
    with pytest.raises(ValueError, match="non-negative"):
        xsp.bernoulli(-1)
    with pytest.raises(ValueError, match="integer type"):
        xst.multinomial.logpmf(np.array([1.0, 2.0]), 3.0, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="unknown method"):
        xst.rankdata(TIES, "middle")
    with pytest.raises(NotImplementedError):
        xst.mode(TIES, nan_policy="omit")
    with pytest.raises(ValueError, match="bw_method"):
        xst.gaussian_kde(DATA, bw_method="nope")
    with pytest.raises(ValueError, match="noverlap"):
        xsig.stft(SIG, nperseg=16, noverlap=16)
    with pytest.raises(ValueError, match="Trend type"):
        xsig.detrend(SIG, type="quadratic")
    with pytest.raises(ValueError, match="mode"):
        xsig.fftconvolve(SIG, SIG2, mode="middle")
