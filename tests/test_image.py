"""xform.image.resize / scale_and_translate against jax.image on the same inputs (values,
dtypes, errors) under eager, jit, vmap and grad."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.image
import xform.numpy as xnp

RNG = np.random.RandomState(0)
IMG = RNG.randn(2, 7, 9, 3).astype(np.float32)
METHODS = ["nearest", "linear", "cubic", "cubic-pytorch", "lanczos3", "lanczos5", "area"]


def close(a, b, tol=2e-5):
    assert np.asarray(a).dtype == np.asarray(b).dtype
    assert np.shape(a) == np.shape(b)
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=tol, atol=tol)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("antialias", [True, False])
def test_resize(method, antialias):
    # one axis up, one down; batch and channel axes kept
    shape = (2, 12, 5, 3)
    close(jax.image.resize(IMG, shape, method, antialias=antialias),
          xform.image.resize(IMG, shape, method, antialias=antialias))


def test_resize_every_axis():
    close(jax.image.resize(IMG, (1, 3, 20, 2), "linear"),
          xform.image.resize(IMG, (1, 3, 20, 2), "linear"))


def test_resize_int_nearest_keeps_dtype_and_int_linear_promotes():
    img = np.arange(12, dtype=np.int32).reshape(3, 4)
    close(jax.image.resize(img, (5, 2), "nearest"), xform.image.resize(img, (5, 2), "nearest"))
    close(jax.image.resize(img, (5, 2), "linear"), xform.image.resize(img, (5, 2), "linear"))


@pytest.mark.parametrize("method", ["linear", "cubic", "lanczos3", "area", "cubic-pytorch"])
@pytest.mark.parametrize("antialias", [True, False])
def test_scale_and_translate(method, antialias):
    s, t = np.array([1.7, 0.6], np.float32), np.array([0.3, -1.2], np.float32)
    close(jax.image.scale_and_translate(IMG, (2, 10, 6, 3), (1, 2), s, t, method,
                                        antialias=antialias),
          xform.image.scale_and_translate(IMG, (2, 10, 6, 3), (1, 2), s, t, method,
                                          antialias=antialias))


def test_transforms():
    img = IMG[0, :, :, 0]

    def fns(lib, nl):
        r = lambda x: lib.image.resize(x, (4, 13), "cubic")  # noqa: E731
        return (lib.jit(r)(img), lib.vmap(r)(IMG[..., 0]),
                lib.grad(lambda x: (r(x) ** 2).sum())(img),
                lib.grad(lambda s: lib.image.scale_and_translate(
                    img, (5, 5), (0, 1), nl.stack([s, s]), nl.zeros(2), "linear").sum())(0.8))
    for a, b in zip(fns(jax, jnp), fns(xform, xnp)):
        close(a, b, tol=1e-4)


def test_errors_match_jax():
    for lib in (jax, xform):
        with pytest.raises(ValueError, match="shape must have length"):
            lib.image.resize(IMG, (3, 3), "linear")
        with pytest.raises(ValueError, match="Unknown resize method"):
            lib.image.resize(IMG, IMG.shape, "bogus")
        with pytest.raises(ValueError, match="Nearest neighbor"):
            lib.image.scale_and_translate(IMG, IMG.shape, (1,), np.ones(1), np.zeros(1),
                                          "nearest")
    assert [m.name for m in xform.image.ResizeMethod] == [m.name for m in jax.image.ResizeMethod]
