"""The fft primitive (xform.lax.fft) and xform.numpy.fft, against JAX on the same inputs:
values, jit, vmap, jvp and vjp (so the transposes of FFT/IFFT/RFFT/IRFFT)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.lax import FftType

import xform
import xform.numpy as xnp

RNG = np.random.RandomState(0)


def _rand(shape, complex_=False):
    x = RNG.randn(*shape)
    if complex_:
        x = x + 1j * RNG.randn(*shape)
        return x.astype(np.complex64)
    return x.astype(np.float32)


def _close(a, b, tol=2e-4):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _check_all(fx, fj, x, batch_axis=0, derivatives=True):
    """values (eager and jit), vmap, jvp and vjp of ``fx`` (xform) against ``fj`` (JAX)."""
    want = fj(x)
    _close(fx(x), want)
    _close(xform.jit(fx)(x), want)
    xs = np.stack([x, x * 0.5 + 1], axis=batch_axis)
    _close(xform.vmap(fx, in_axes=batch_axis)(xs), jax.vmap(fj, in_axes=batch_axis)(xs))
    if not derivatives:
        return
    t = _rand(x.shape, np.iscomplexobj(x))
    _close(xform.jvp(fx, (x,), (t,))[1], jax.jvp(fj, (x,), (t,))[1])
    out, vjp_j = jax.vjp(fj, x)
    ct = _rand(out.shape, np.iscomplexobj(out))
    _close(xform.vjp(fx, x)[1](ct)[0], vjp_j(ct)[0])


LAX_CASES = [
    (FftType.FFT, (2, 4, 6), (4, 6)), (FftType.FFT, (3, 2, 2, 3), (2, 2, 3)),
    (FftType.IFFT, (3, 5), (5,)),
    (FftType.RFFT, (2, 6), (6,)), (FftType.RFFT, (2, 5), (5,)), (FftType.RFFT, (3, 4, 5), (4, 5)),
    (FftType.IRFFT, (2, 4), (6,)), (FftType.IRFFT, (2, 3), (5,)),
    (FftType.IRFFT, (2, 4, 3), (4, 5)),
]


@pytest.mark.parametrize("fft_type,shape,lengths", LAX_CASES)
def test_lax_fft(fft_type, shape, lengths):
    x = _rand(shape, fft_type != FftType.RFFT)
    _check_all(lambda v: xform.lax.fft(v, fft_type, lengths),
               lambda v: jax.lax.fft(v, fft_type, lengths), x)


def test_lax_fft_string_types_and_errors():
    x = _rand((4,), True)
    _close(xform.lax.fft(x, "ifft", (4,)), jax.lax.fft(x, "ifft", (4,)))
    _close(xform.lax.fft(np.arange(4), "fft", (4,)), jax.lax.fft(np.arange(4), "fft", (4,)))
    with pytest.raises(ValueError, match="minor dimensions"):
        xform.lax.fft(x, FftType.FFT, (5,))
    with pytest.raises(ValueError, match="RFFT input must be"):
        xform.lax.fft(x, FftType.RFFT, (4,))
    jaxpr = str(xform.make_jaxpr(lambda v: xform.lax.fft(v, FftType.FFT, (4,)))(x))
    assert "fft[" in jaxpr and "fft_lengths=(4,)" in jaxpr


def test_second_order_and_composition():
    x = _rand((6,))

    def loss(lib, np_lib):
        return lambda v: np_lib.sum(np_lib.abs(np_lib.fft.rfft(np_lib.sin(v))) ** 2)
    _close(xform.grad(loss(xform, xnp))(x), jax.grad(loss(jax, jnp))(x))
    t = _rand((6,))  # second order: a Hessian-vector product
    _close(xform.jvp(xform.grad(loss(xform, xnp)), (x,), (t,))[1],
           jax.jvp(jax.grad(loss(jax, jnp)), (x,), (t,))[1], tol=1e-3)
    _close(xform.jit(xform.vmap(xform.grad(loss(xform, xnp))))(np.stack([x, 2 * x])),
           jax.vmap(jax.grad(loss(jax, jnp)))(np.stack([x, 2 * x])))


ND_CASES = [
    ("fft", dict(), (3, 4), True), ("fft", dict(n=6, axis=0), (3, 4), True),
    ("fft", dict(n=2, norm="ortho"), (3, 4), True),
    ("ifft", dict(n=3, axis=0, norm="forward"), (4, 2), True),
    ("rfft", dict(), (2, 6), False), ("rfft", dict(n=7, axis=0, norm="ortho"), (5, 3), False),
    ("irfft", dict(n=5, norm="forward"), (2, 4), True),
    ("hfft", dict(n=6, norm="ortho"), (2, 4), True), ("ihfft", dict(n=4, axis=0), (3, 2), False),
    ("fft2", dict(), (2, 3, 4), True), ("fft2", dict(s=(2, 5), axes=(0, 2)), (2, 3, 4), True),
    ("ifft2", dict(norm="ortho"), (3, 4), True),
    ("rfft2", dict(), (3, 4), False), ("irfft2", dict(s=(3, 6)), (3, 4), True),
    ("fftn", dict(axes=(0, 2)), (2, 3, 2), True), ("fftn", dict(), (2, 2, 3, 2), True),
    ("ifftn", dict(s=(3, 3)), (2, 4, 2), True), ("ifftn", dict(), (2, 2, 2, 2, 3), True),
    ("rfftn", dict(), (2, 2, 3, 4), False), ("irfftn", dict(axes=(0, 1)), (3, 4, 2), True),
    ("irfftn", dict(), (2, 2, 2, 3), True),
]


@pytest.mark.parametrize("name,kwargs,shape,complex_", ND_CASES)
def test_numpy_fft(name, kwargs, shape, complex_):
    x = _rand(shape, complex_)
    fx = lambda v: getattr(xnp.fft, name)(v, **kwargs)  # noqa: E731
    fj = lambda v: getattr(jnp.fft, name)(v, **kwargs)  # noqa: E731
    # batch along a new last axis unless the transform uses the last axes by default
    uses_axes = "axis" in kwargs or "axes" in kwargs
    _check_all(fx, fj, x, batch_axis=0 if not uses_axes else x.ndim)


@pytest.mark.parametrize("name,args", [
    ("fftfreq", (5,)), ("fftfreq", (6, 0.5)), ("rfftfreq", (5, 2.0)), ("rfftfreq", (8,)),
])
def test_freqs(name, args):
    _close(getattr(xnp.fft, name)(*args), getattr(jnp.fft, name)(*args))
    _close(getattr(xnp.fft, name)(*args, dtype=np.float32),
           getattr(jnp.fft, name)(*args, dtype=np.float32))


def test_shifts():
    x = _rand((3, 4))
    for axes in [None, 0, (0, 1), (-1,)]:
        for name in ("fftshift", "ifftshift"):
            _close(getattr(xnp.fft, name)(x, axes), getattr(jnp.fft, name)(x, axes))
    _check_all(lambda v: xnp.fft.fftshift(v, (0, 1)), lambda v: jnp.fft.fftshift(v, (0, 1)), x,
               batch_axis=2)


def test_numpy_fft_errors():
    x = _rand((3, 4), True)
    for bad, msg in [(lambda: xnp.fft.fft(x, axis=(0, 1)), "multiple axes"),
                     (lambda: xnp.fft.fft2(x, axes=(0,)), "only supports 2 axes"),
                     (lambda: xnp.fft.fftn(x, s=(2,), axes=(0, 1)), "different lengths"),
                     (lambda: xnp.fft.fftn(x, axes=(0, 0)), "repeated axes"),
                     (lambda: xnp.fft.fft(x, norm="bad"), "Invalid norm"),
                     (lambda: xnp.fft.fft(x, n=0), "positive")]:
        with pytest.raises(ValueError, match=msg):
            bad()
