"""xform.scipy.signal (convolve, correlate, convolve2d, correlate2d) against jax.scipy.signal
on the same inputs: values, dtypes, errors, and under jit, vmap and grad."""

import jax
import jax.scipy.signal as jsig
import numpy as np
import pytest

import xform
import xform.scipy.signal as xsig

R = np.random.RandomState(0)
PAIRS = {
    "1d": (R.randn(7).astype(np.float32), R.randn(3).astype(np.float32)),
    "1d_swapped": (R.randn(3).astype(np.float32), R.randn(6).astype(np.float32)),
    "1d_equal": (R.randn(4).astype(np.float32), R.randn(4).astype(np.float32)),
    "2d": (R.randn(5, 6).astype(np.float32), R.randn(2, 3).astype(np.float32)),
    "2d_swapped": (R.randn(2, 3).astype(np.float32), R.randn(4, 4).astype(np.float32)),
    "3d_int": (np.arange(24, dtype=np.int32).reshape(2, 3, 4), np.ones((1, 2, 2), np.int32)),
}


def close(a, b, tol=1e-4):
    assert np.asarray(a).dtype == np.asarray(b).dtype and np.shape(a) == np.shape(b)
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=tol, atol=tol)


@pytest.mark.parametrize("pair", sorted(PAIRS))
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("fn", ["convolve", "correlate", "convolve2d", "correlate2d"])
def test_matches_jax(pair, mode, fn):
    a, b = PAIRS[pair]
    if fn.endswith("2d") and a.ndim != 2:
        pytest.skip("2-D functions take 2-D inputs")
    close(getattr(jsig, fn)(a, b, mode=mode), getattr(xsig, fn)(a, b, mode=mode))


def test_transforms():
    a, b = PAIRS["2d"]
    outs = []
    for lib, sig in [(jax, jsig), (xform, xsig)]:
        f = lambda x, y, sig=sig: sig.correlate2d(x, y, mode="same")  # noqa: E731
        outs.append((lib.jit(f)(a, b), lib.vmap(f, (0, None))(np.stack([a, 2 * a]), b),
                     lib.grad(lambda x, y, f=f: (f(x, y) ** 2).sum(), (0, 1))(a, b)))
    for x, y in zip(jax.tree.leaves(outs[0]), jax.tree.leaves(outs[1])):
        close(x, y)


def test_errors_match_jax():
    a, b = PAIRS["2d"]
    for sig in (jsig, xsig):
        with pytest.raises(ValueError, match="mode must be one of"):
            sig.convolve(a, b, mode="bogus")
        with pytest.raises(ValueError, match="same number of dimensions"):
            sig.convolve(a, b[0])
        with pytest.raises(ValueError, match="smaller than the other in every dimension"):
            sig.convolve(a, np.ones((6, 2), np.float32))
        with pytest.raises(ValueError, match="expected 'auto', 'fft', or 'direct'"):
            sig.convolve(a, b, method="bogus")
        with pytest.raises(NotImplementedError, match="boundary='fill'"):
            sig.convolve2d(a, b, boundary="wrap")
        with pytest.raises(ValueError, match="2-dimensional"):
            sig.correlate2d(a[0], b[0])
