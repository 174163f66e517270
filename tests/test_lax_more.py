"""The jax.lax functions added in elementwise_more.py, shape_more.py, reduce_general.py and
composite_ops.py, against jax.lax on the same inputs: eager, jit, vmap, grad and jvp."""

import jax
import numpy as np
import pytest
from jax import lax

import xform

RNG = np.random.RandomState(0)


def _close(a, b, tol=1e-4):
    jax.tree.map(lambda p, q: np.testing.assert_allclose(p, q, rtol=tol, atol=tol), a, b)


def _check(fx, fj, *args, grad_args=(), batch=True, tol=1e-4):
    want = fj(*args)
    _close(fx(*args), want, tol)
    _close(xform.jit(fx)(*args), want, tol)
    if batch:
        stacked = [np.stack([a, a * 2 if a.dtype.kind == "f" else a]) for a in args]
        _close(xform.vmap(fx)(*stacked), jax.vmap(fj)(*stacked), tol)
    for i in grad_args:
        def loss(f):
            return lambda *v: sum(jax.tree.leaves(jax.tree.map(lambda o: (o * o).sum().real,
                                                               f(*v))))
        _close(xform.grad(loss(fx), argnums=i)(*args), jax.grad(loss(fj), argnums=i)(*args),
               10 * tol)
        def only(f, i=i):
            return lambda v: f(*args[:i], v, *args[i + 1:])
        _close(xform.jvp(only(fx), (args[i],), (args[i],))[1],
               jax.jvp(only(fj), (args[i],), (args[i],))[1], 10 * tol)


A = RNG.uniform(0.5, 3, (4,)).astype(np.float32)
X = RNG.uniform(0.1, 2, (4,)).astype(np.float32)
U = RNG.uniform(0.1, 0.9, (4,)).astype(np.float32)
INTS = np.array([1, 7, 255, -3], np.int32)

SPECIAL = [
    ("bessel_i0e", (X - 1,), (0,)),
    ("bessel_i1e", (np.array([0.0, 1e-9, -2.0, 3.0], np.float32),), (0,)),
    ("igamma", (A, X), (0, 1)), ("igammac", (A, X), (1,)), ("betainc", (A, A + 1, U), (2,)),
    ("zeta", (A + 1.5, X), ()),
    ("clz", (INTS,), ()), ("population_count", (INTS,), ()), ("mulhi", (INTS, INTS * 1000), ()),
    ("complex", (A, X), (0, 1)), ("reciprocal", (X,), (0,)),
]


@pytest.mark.parametrize("name,args,grad_args", SPECIAL)
def test_elementwise(name, args, grad_args):
    _check(getattr(xform.lax, name), getattr(lax, name), *args, grad_args=grad_args)


@pytest.mark.parametrize("name", ["igamma_grad_a", "random_gamma_grad"])
def test_gamma_grads(name):  # heavy XLA programs: values and vmap only
    fx, fj = getattr(xform.lax, name), getattr(lax, name)
    _close(xform.jit(xform.vmap(fx))(np.stack([A, A + 1]), np.stack([X, X])),
           jax.vmap(fj)(np.stack([A, A + 1]), np.stack([X, X])))


def test_derivatives_jax_lacks():
    # zeta in q and in x: central differences of scipy's zeta in float64 (JAX's lax.zeta has
    # no rule; in x xform differentiates the Euler-Maclaurin expansion); the unsupported ones
    # raise JAX's errors
    from scipy.special import zeta as sp_zeta
    h = 1e-5
    a64, x64 = np.float64(A) + 1.5, np.float64(X)
    fd_q = (sp_zeta(a64, x64 + h) - sp_zeta(a64, x64 - h)) / (2 * h)
    fd_x = (sp_zeta(a64 + h, x64) - sp_zeta(a64 - h, x64)) / (2 * h)
    _close(xform.grad(lambda q: xform.lax.zeta(A + 1.5, q).sum())(X), fd_q, 1e-4)
    _close(xform.grad(lambda x: xform.lax.zeta(x, X).sum())(A + 1.5), fd_x, 1e-4)
    with pytest.raises(ValueError, match="Betainc gradient"):
        xform.grad(lambda a: xform.lax.betainc(a, A, U).sum())(A)


def test_reduce_precision_bitcast_mul_out_dtype():
    v = X * 1.2345
    _check(lambda x: xform.lax.reduce_precision(x, 5, 10),
           lambda x: lax.reduce_precision(x, 5, 10), v, grad_args=(0,))
    _check(lambda x: xform.lax.bitcast_convert_type(x, np.int32),
           lambda x: lax.bitcast_convert_type(x, np.int32), v)
    _check(lambda x: xform.lax.bitcast_convert_type(x, np.uint8),
           lambda x: lax.bitcast_convert_type(x, np.uint8), v)
    as_bytes = np.asarray(lax.bitcast_convert_type(v, np.uint8))
    _check(lambda x: xform.lax.bitcast_convert_type(x, np.float32),
           lambda x: lax.bitcast_convert_type(x, np.float32), as_bytes)
    with pytest.raises(TypeError, match="last dimension"):
        xform.lax.bitcast_convert_type(np.zeros((3,), np.uint8), np.float32)
    half = v.astype(np.float16)
    _check(lambda x, y: xform.lax.mul(x, y, out_dtype=np.float32),
           lambda x, y: lax.mul(x, y, out_dtype=np.float32), half, half)


SHAPE_X = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
STRUCTURAL = [
    ("split", lambda L, v: L.split(v, (1, 3), 2)), ("split0", lambda L, v: L.split(v, (2, 0), 0)),
    ("tile", lambda L, v: L.tile(v, (2, 1, 3))),
    ("stack", lambda L, v: L.stack([v, 2 * v], axis=1)),
    ("unstack", lambda L, v: L.unstack(v, 1)),
    ("optimization_barrier", lambda L, v: L.optimization_barrier((v, 2 * v))),
    ("collapse", lambda L, v: L.collapse(v, 1)),
    ("broadcast_like", lambda L, v: L.broadcast_like(v[:, :1, :], v)),
]


@pytest.mark.parametrize("name,f", STRUCTURAL)
def test_structural(name, f):
    _check(lambda v: f(xform.lax, v), lambda v: f(lax, v), SHAPE_X, grad_args=(0,))
    moved = np.stack([SHAPE_X, SHAPE_X + 1], 2)  # batch axis in the middle
    _close(xform.vmap(lambda v: f(xform.lax, v), in_axes=2)(moved),
           jax.vmap(lambda v: f(lax, v), in_axes=2)(moved))


def test_split_jaxpr_and_errors():
    text = str(xform.make_jaxpr(lambda v: xform.lax.split(v, (1, 3), 2))(SHAPE_X))
    assert "split[axis=2 sizes=(1, 3)]" in text
    with pytest.raises(ValueError, match="(?i)sum of sizes"):  # JAX: "Sum of sizes 2 must be"
        xform.lax.split(SHAPE_X, (1, 1), 2)
    _close(xform.lax.empty((2, 3), np.float32).shape, (2, 3))


IDX = np.tile(np.arange(5, dtype=np.int32), (3, 1))
MAT = RNG.randn(3, 5).astype(np.float32)


def _argmax(L):
    def comp(a, b):
        pick = L.gt(b[0], a[0])
        return L.select(pick, b[0], a[0]), L.select(pick, b[1], a[1])
    return lambda v: L.reduce((v, IDX), (np.float32(-np.inf), np.int32(0)), comp, (1,))


def _prod_and_sum(L):
    def f(v):
        p, s = L.reduce((v, v * v), (np.float32(1), np.float32(0)),
                        lambda a, b: (a[0] * b[0], a[1] + b[1]), (1,))
        return p * s
    return f


@pytest.mark.parametrize("make,grad_args", [
    (_argmax, ()), (_prod_and_sum, (0,)),
    (lambda L: lambda v: L.reduce(v, np.float32(-np.inf), lambda a, b: L.max(a, b), (0,)),
     (0,)),
    (lambda L: lambda v: L.reduce(v, np.float32(1), lambda a, b: a * b + 0 * a, (0, 1)), (0,)),
])
def test_general_reduce(make, grad_args):
    _check(make(xform.lax), make(lax), MAT, grad_args=grad_args)


def test_general_reduce_jaxpr():
    text = str(xform.make_jaxpr(_prod_and_sum(xform.lax))(MAT))
    assert "reduce[" in text and "dimensions=(1,)" in text
    # the monoids still become their own primitives
    assert "reduce_sum" in str(xform.make_jaxpr(
        lambda v: xform.lax.reduce(v, 0.0, xform.lax.add, (0,)))(MAT))


CONV_X = RNG.randn(2, 5, 6, 3).astype(np.float32)


@pytest.mark.parametrize("padding", ["SAME", "VALID", [(1, 2), (0, 1)]])
@pytest.mark.parametrize("transpose_kernel", [False, True])
def test_conv_transpose(padding, transpose_kernel):
    k = RNG.randn(3, 3, 4, 3).astype(np.float32)
    if not transpose_kernel:
        k = k.transpose(0, 1, 3, 2)
    _check(lambda a, b: xform.lax.conv_transpose(a, b, (2, 1), padding,
                                                 transpose_kernel=transpose_kernel),
           lambda a, b: lax.conv_transpose(a, b, (2, 1), padding,
                                           transpose_kernel=transpose_kernel),
           CONV_X, k, grad_args=(0, 1), tol=1e-3)


@pytest.mark.parametrize("dn", [None, ("NHWC", "HWIO", "NHWC")])
def test_conv_general_dilated_patches(dn):
    x = CONV_X if dn else CONV_X.transpose(0, 3, 1, 2)
    _check(lambda a: xform.lax.conv_general_dilated_patches(a, (2, 3), (1, 2), "SAME",
                                                            dimension_numbers=dn),
           lambda a: lax.conv_general_dilated_patches(a, (2, 3), (1, 2), "SAME",
                                                      dimension_numbers=dn), x, grad_args=(0,))


def test_index_take_scatter_sub_reduce_xor_platform():
    src = RNG.randn(4, 5, 3).astype(np.float32)
    idx = (np.array([0, 3, -1], np.int32), np.array([1, 4, 2], np.int32))
    _check(lambda a: xform.lax.index_take(a, idx, (0, 1)),
           lambda a: lax.index_take(a, idx, (0, 1)), src, grad_args=(0,))
    dn = lax.ScatterDimensionNumbers((1,), (0,), (0,))
    si = np.array([[1], [3]], np.int32)
    _check(lambda a, u: xform.lax.scatter_sub(a, si, u, dn),
           lambda a, u: lax.scatter_sub(a, si, u, dn),
           RNG.randn(5, 3).astype(np.float32), RNG.randn(2, 3).astype(np.float32),
           grad_args=(0, 1))
    ints = RNG.randint(0, 1000, (3, 4)).astype(np.int32)
    _check(lambda a: xform.lax.reduce_xor(a, (1,)), lambda a: lax.reduce_xor(a, (1,)), ints)
    branches = dict(cpu=lambda v: v + 1, cuda=lambda v: v - 1, default=lambda v: v * 10)
    _close(xform.jit(lambda v: xform.lax.platform_dependent(v, **branches))(2.0),
           jax.jit(lambda v: lax.platform_dependent(v, **branches))(2.0))


def test_types_reexported():
    for name in ["Precision", "DotAlgorithmPreset", "ConvDimensionNumbers", "FftType",
                 "RoundingMethod", "GatherScatterMode", "RandomAlgorithm",
                 "ConvGeneralDilatedDimensionNumbers", "DotDimensionNumbers"]:
        assert getattr(xform.lax, name) is getattr(lax, name)


def test_underivable_arguments_raise_jaxs_errors():
    # igamma_grad_a has no derivative (NotImplementedError, as JAX); polygamma's integer order
    # has none either (ValueError, as JAX, rather than a silent zero)
    for api in (jax, xform):
        with pytest.raises(NotImplementedError, match="igamma_grad_a"):
            api.grad(lambda a, api=api: api.lax.igamma_grad_a(a, 0.7))(1.3)
        with pytest.raises(ValueError, match="polygamma gradient with respect to m"):
            api.grad(lambda m, api=api: api.lax.polygamma(m, 0.5))(1.0)
    np.testing.assert_allclose(xform.grad(lambda x: xform.lax.polygamma(1.0, x))(0.5),
                               jax.grad(lambda x: jax.lax.polygamma(1.0, x))(0.5), rtol=1e-6)
