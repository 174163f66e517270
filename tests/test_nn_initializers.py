"""xform.nn.initializers against jax.nn.initializers: the same key gives the same bits."""

import jax
import jax.nn.initializers as ji
import numpy as np
import pytest

import xform
from xform.nn import initializers as xi

KEY = jax.random.key(0)

BUILDERS = [
    ("glorot_uniform", (), (4, 3)), ("glorot_normal", (), (4, 3)),
    ("xavier_uniform", (), (4, 3)), ("xavier_normal", (), (4, 3)),
    ("lecun_uniform", (), (4, 3)), ("lecun_normal", (), (4, 3)),
    ("he_uniform", (), (4, 3)), ("he_normal", (), (4, 3)),
    ("kaiming_uniform", (), (4, 3)), ("kaiming_normal", (), (4, 3)),
    ("uniform", (0.5,), (4, 3)), ("normal", (2.0,), (4, 3)),
    ("truncated_normal", (1.0, None, -1.0, 0.5), (7,)),
    ("constant", (-7.0,), (4, 3)), ("orthogonal", (), (4, 3)), ("orthogonal", (2.0, 0), (2, 5)),
    ("orthogonal", (), (3, 2, 4)), ("delta_orthogonal", (), (3, 3, 4)),
    ("delta_orthogonal", (), (3, 3, 2, 2)), ("delta_orthogonal", (), (3, 1, 3, 2, 3)),
]


@pytest.mark.parametrize("name,args,shape", BUILDERS)
def test_builders_bit_identical(name, args, shape):
    got = getattr(xi, name)(*args)(KEY, shape)
    want = getattr(ji, name)(*args)(KEY, shape)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode,distribution,dtype", [
    ("fan_in", "truncated_normal", np.float32), ("fan_out", "normal", np.float32),
    ("fan_avg", "uniform", np.float32), ("fan_geo_avg", "truncated_normal", np.complex64),
    ("fan_in", "uniform", np.complex64)])
def test_variance_scaling(mode, distribution, dtype):
    kw = dict(in_axis=(0, 1), out_axis=-1, batch_axis=2)
    got = xi.variance_scaling(0.7, mode, distribution, **kw)(KEY, (2, 3, 2, 4), dtype)
    want = ji.variance_scaling(0.7, mode, distribution, **kw)(KEY, (2, 3, 2, 4), dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn", ["zeros", "ones"])
def test_zeros_ones(fn):
    got, want = getattr(xi, fn)(KEY, (2, 3)), getattr(ji, fn)(KEY, (2, 3))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert getattr(xi, fn)(KEY, (2,), np.int32).dtype == np.int32


def test_under_jit_and_vmap():
    init, key = xi.he_normal(), jax.random.PRNGKey(0)
    got = xform.jit(lambda k: init(k, (3, 4)))(key)
    np.testing.assert_array_equal(got, ji.he_normal()(key, (3, 4)))
    keys = jax.random.split(key, 3)
    got = xform.vmap(lambda k: init(k, (3, 4)))(keys)
    want = jax.vmap(lambda k: ji.he_normal()(k, (3, 4)))(keys)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_errors_match_jax():
    with pytest.raises(ValueError, match="at least a 2D shape"):
        xi.orthogonal()(KEY, (3,))
    with pytest.raises(ValueError, match="Must be at least 2D"):
        xi.glorot_uniform()(KEY, (3,))
    with pytest.raises(ValueError, match="3D, 4D or 5D"):
        xi.delta_orthogonal()(KEY, (3, 3))
    with pytest.raises(ValueError, match="invalid mode"):
        xi.variance_scaling(1.0, "fan_sideways", "normal")(KEY, (2, 2))
