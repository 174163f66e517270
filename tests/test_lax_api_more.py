"""The rest of jax.lax's public names, against jax.lax on the same inputs: the ``*_p`` exports,
rng_bit_generator / rng_uniform, approx_max_k / approx_min_k, scatter_apply and ``.at[].apply``,
scatter_sub / reduce_xor / copy as primitives, ragged_dot(_general), scaled_dot, the shape
helpers, ``accuracy=``, pshuffle / pswapaxes, conv_general_dilated_local and composite."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import xform
import xform.numpy as xnp
from xform import lax as xl

RNG = np.random.RandomState(0)


def _close(a, b, tol=1e-5):
    jax.tree.map(lambda p, q: np.testing.assert_allclose(np.asarray(p, np.float64),
                                                         np.asarray(q, np.float64),
                                                         rtol=tol, atol=tol), a, b)


def _equal(a, b):
    def check(p, q):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
        assert np.asarray(p).dtype == np.asarray(q).dtype
    jax.tree.map(check, a, b)


# -- the *_p exports ---------------------------------------------------------------------------
def test_primitive_exports_are_xforms_and_named_as_jaxs():
    from xform.core.primitive import abstract_eval
    from xform.lax._primitive_table import PRIMITIVE_NAMES
    jax_names = {n for n in dir(lax) if n.endswith("_p")}
    for name in PRIMITIVE_NAMES:
        p = getattr(xl, f"{name}_p")
        assert f"{name}_p" in jax_names
        assert p in abstract_eval  # the object the interpreters dispatch on
        assert p.name == getattr(lax, f"{name}_p").name
    # a bound export is the same operation as the function
    x = np.float32(0.5)
    _close(xl.sin_p.bind(x), np.sin(x))
    assert "sin" in str(xform.make_jaxpr(lambda v: xl.sin_p.bind(v))(x))


def test_each_primitive_name_is_registered_once():
    from xform.core.primitive import abstract_eval
    names = [p.name for p in abstract_eval]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


# -- rng_bit_generator, rng_uniform ----------------------------------------------------------
KEY = np.array([1, 2, 3, 4], np.uint32)
KEYS = np.arange(12, dtype=np.uint32).reshape(3, 4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_rng_bit_generator_bits_equal_jax(dtype):
    want = lax.rng_bit_generator(KEY, (3, 2), dtype)
    _equal(xl.rng_bit_generator(KEY, (3, 2), dtype), want)
    _equal(xform.jit(lambda k: xl.rng_bit_generator(k, (3, 2), dtype))(KEY), want)
    _equal(xform.vmap(lambda k: xl.rng_bit_generator(k, (2,), dtype))(KEYS),
           jax.vmap(lambda k: lax.rng_bit_generator(k, (2,), dtype))(KEYS))


def test_rng_bit_generator_algorithms_and_errors():
    for alg in (lax.RandomAlgorithm.RNG_THREE_FRY, lax.RandomAlgorithm.RNG_PHILOX):
        _equal(xl.rng_bit_generator(KEY, (4,), algorithm=alg),
               lax.rng_bit_generator(KEY, (4,), algorithm=alg))
    with pytest.raises(TypeError, match="unsupported dtype"):
        xl.rng_bit_generator(KEY, (2,), np.int32)
    with pytest.raises(TypeError, match="uint32\\[4\\]"):
        xl.rng_bit_generator(np.zeros(3, np.uint32), (2,))


def test_rng_uniform():
    out = xl.rng_uniform(np.float32(2), np.float32(3), (50,))
    assert out.shape == (50,) and out.dtype == np.float32
    assert ((out >= 2) & (out < 3)).all()
    lanes = xform.vmap(lambda a: xl.rng_uniform(a, a + 1, (20,)))(np.array([0., 10.], np.float32))
    assert lanes.shape == (2, 20) and (lanes[1] >= 10).all() and (lanes[0] < 1).all()
    # the derivative in the bounds: x = a + (b - a) u
    a, b = np.float32(1), np.float32(3)
    x, t = xform.jvp(lambda lo: xl.rng_uniform(lo, b, (5,)), (a,), (np.float32(1),))
    _close(t, (b - x) / (b - a), 1e-5)
    with pytest.raises(ValueError, match="identical dtypes"):
        xl.rng_uniform(np.float32(0), np.int32(1), (2,))


# -- approx_max_k, approx_min_k (exact on CPU) ------------------------------------------------
X = RNG.randn(3, 7).astype(np.float32)


@pytest.mark.parametrize("fname", ["approx_max_k", "approx_min_k"])
def test_approx_top_k(fname):
    fx, fj = getattr(xl, fname), getattr(lax, fname)
    _equal(fx(X, 2), fj(X, 2))
    _equal(xform.jit(lambda v: fx(v, 3, reduction_dimension=0))(X),
           fj(X, 3, reduction_dimension=0))
    _equal(xform.vmap(lambda v: fx(v, 2))(X), jax.vmap(lambda v: fj(v, 2))(X))
    loss_x = lambda v: (fx(v, 2)[0] ** 2).sum()  # noqa: E731
    loss_j = lambda v: (fj(v, 2)[0] ** 2).sum()  # noqa: E731
    _close(xform.grad(loss_x)(X), jax.grad(loss_j)(X))
    assert fx(X, 2, aggregate_to_topk=False)[0].shape == fj(X, 2, aggregate_to_topk=False)[0].shape
    with pytest.raises(ValueError, match="k must be smaller"):
        fx(X, 9)


# -- scatter_apply, .at[].apply, scatter_sub, reduce_xor, copy -------------------------------
DN = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                 scatter_dims_to_operand_dims=(0,))
IDX = np.array([[1], [3], [1]], np.int32)  # index 1 twice: the function applies twice
OP = np.arange(5.0, dtype=np.float32)


def test_scatter_apply():
    def fx(o):
        return xl.scatter_apply(o, IDX, lambda v: xnp.sin(v) + 1, DN, update_shape=(3,))

    def fj(o):
        return lax.scatter_apply(o, IDX, lambda v: jnp.sin(v) + 1, DN, update_shape=(3,))

    _close(fx(OP), fj(OP))
    _close(xform.jit(fx)(OP), fj(OP))
    ops = np.stack([OP, OP * 2])
    _close(xform.vmap(fx)(ops), np.stack([fj(o) for o in ops]))
    with pytest.raises(NotImplementedError, match="scatter_apply is not differentiable"):
        xform.grad(lambda o: fx(o).sum())(OP)


def test_at_apply():
    idx = np.array([0, 2, 2])
    want = jnp.asarray(OP).at[idx].apply(lambda v: v * 3)
    _close(xnp.asarray(OP).at[idx].apply(lambda v: v * 3), want)
    _close(xform.jit(lambda o: o.at[idx].apply(lambda v: v * 3))(OP), want)
    ops = np.stack([OP, -OP])
    _close(xform.vmap(lambda o: o.at[1:3].apply(xnp.exp))(ops),
           jax.vmap(lambda o: o.at[1:3].apply(jnp.exp))(ops))
    # outside xform's transforms a concrete array's .at[].apply is JAX's, so a JAX function
    # works (xform.numpy's too); numpy loop as the reference
    ref = OP.copy()
    for i in idx:
        ref[i] = np.sin(ref[i])
    _close(jnp.asarray(OP).at[idx].apply(jnp.sin), ref)
    _close(jnp.asarray(OP).at[idx].apply(xnp.sin), ref)
    # as in JAX, the function may not close over a traced value
    with pytest.raises(NotImplementedError, match="closes over traced values"):
        xform.vmap(lambda s: xnp.asarray(OP).at[1:3].apply(lambda v: v * s))(
            np.array([2., 3.], np.float32))


def test_scatter_sub_is_a_linear_primitive():
    upd = np.array([1., 2., 4.], np.float32)

    def fx(o, u):
        return xl.scatter_sub(o, IDX, u, DN)

    def fj(o, u):
        return lax.scatter_sub(o, IDX, u, DN)

    _close(fx(OP, upd), fj(OP, upd))
    _close(xform.vmap(fx)(np.stack([OP, OP]), np.stack([upd, -upd])),
           jax.vmap(fj)(np.stack([OP, OP]), np.stack([upd, -upd])))
    loss = lambda f: lambda o, u: (f(o, u) ** 2).sum()  # noqa: E731
    _close(xform.grad(loss(fx), (0, 1))(OP, upd), jax.grad(loss(fj), (0, 1))(OP, upd))
    assert "scatter-sub" in str(xform.make_jaxpr(fx)(OP, upd))


def test_reduce_xor_and_copy_primitives():
    ints = RNG.randint(0, 1000, (3, 4)).astype(np.int32)
    _equal(xl.reduce_xor(ints, (1,)), lax.reduce_xor(ints, (1,)))
    _equal(xform.vmap(lambda v: xl.reduce_xor(v, (0,)))(ints), lax.reduce_xor(ints, (1,)))
    _equal(xl.reduce(ints, np.int32(0), lax.bitwise_xor, (0,)), lax.reduce_xor(ints, (0,)))
    assert "reduce_xor" in str(xform.make_jaxpr(lambda v: xl.reduce_xor(v, (1,)))(ints))
    x = X[0]
    _close(xl.copy_p.bind(x), x)
    _close(xform.grad(lambda v: (xl.copy_p.bind(v) ** 2).sum())(x), 2 * x)
    _close(xform.vmap(xl.copy_p.bind)(X), X)


def test_stack_unstack_primitives():
    a, b = X[0], X[1]
    _close(xl.stack([a, b], 1), lax.stack([a, b], 1))
    _close(xl.unstack(X, 1), lax.unstack(X, 1))
    assert "stack[axis=1]" in str(xform.make_jaxpr(lambda u, v: xl.stack([u, v], 1))(a, b))
    loss_x = lambda u, v: (xl.stack([u, v * u], 1) ** 2).sum()  # noqa: E731
    loss_j = lambda u, v: (lax.stack([u, v * u], 1) ** 2).sum()  # noqa: E731
    _close(xform.grad(loss_x, (0, 1))(a, b), jax.grad(loss_j, (0, 1))(a, b))
    _close(xform.grad(lambda m: sum((p ** 3).sum() for p in xl.unstack(m, 0)))(X), 3 * X ** 2)
    _close(xform.vmap(lambda u: xl.stack([u, 2 * u], 0), 1, 2)(X), jax.vmap(
        lambda u: lax.stack([u, 2 * u], 0), 1, 2)(X))
    _close(xform.vmap(lambda m: xl.unstack(m, 0), 1)(np.stack([X, X], 2)),
           jax.vmap(lambda m: lax.unstack(m, 0), 1)(np.stack([X, X], 2)))
    # a JAX function whose jaxpr has stack/unstack replays through from_jax
    _close(xform.from_jax(lambda m: jnp.stack(jnp.unstack(m)[::-1]))(X), X[::-1])


# -- ragged_dot, ragged_dot_general -------------------------------------------------------------
LHS = RNG.randn(6, 3).astype(np.float32)
RHS = RNG.randn(3, 3, 4).astype(np.float32)
GS = np.array([2, 0, 3], np.int32)  # an empty group, and a row past the groups' total


def _dense_ragged_dot(lhs, rhs, gs):
    ends = np.cumsum(gs)
    rows = [jnp.where(((np.arange(len(lhs)) >= e - g) & (np.arange(len(lhs)) < e))[:, None],
                      lhs @ rhs[i], 0) for i, (g, e) in enumerate(zip(gs, ends))]
    return sum(rows)


def test_ragged_dot():
    want = lax.ragged_dot(LHS, RHS, GS)
    _close(want, _dense_ragged_dot(LHS, RHS, GS), 1e-5)
    _close(xl.ragged_dot(LHS, RHS, GS), want)
    _close(xform.jit(xl.ragged_dot)(LHS, RHS, GS), want)
    loss_x = lambda a, b: (xl.ragged_dot(a, b, GS) ** 2).sum()  # noqa: E731
    loss_j = lambda a, b: (lax.ragged_dot(a, b, GS) ** 2).sum()  # noqa: E731
    _close(xform.grad(loss_x, (0, 1))(LHS, RHS), jax.grad(loss_j, (0, 1))(LHS, RHS), 1e-4)
    # vmap over each argument (JAX itself batches only some of these): a loop of JAX's
    lhs_b, rhs_b = np.stack([LHS, 2 * LHS]), np.stack([RHS, -RHS])
    gs_b = np.array([[2, 0, 3], [1, 4, 1]], np.int32)
    _close(xform.vmap(xl.ragged_dot, (0, None, None))(lhs_b, RHS, GS),
           np.stack([lax.ragged_dot(a, RHS, GS) for a in lhs_b]))
    _close(xform.vmap(xl.ragged_dot, (None, 0, None))(LHS, rhs_b, GS),
           np.stack([lax.ragged_dot(LHS, b, GS) for b in rhs_b]))
    _close(xform.vmap(xl.ragged_dot, (None, None, 0))(LHS, RHS, gs_b),
           np.stack([lax.ragged_dot(LHS, RHS, g) for g in gs_b]))
    _close(xform.vmap(xform.grad(loss_x))(lhs_b, rhs_b),
           np.stack([jax.grad(loss_j)(a, b) for a, b in zip(lhs_b, rhs_b)]), 1e-4)


def test_ragged_dot_general_contracting():
    rdn = lax.RaggedDotDimensionNumbers(dot_dimension_numbers=(([1], [0]), ([], [])),
                                        lhs_ragged_dimensions=[1], rhs_group_dimensions=[])
    a, b, gs = RNG.randn(2, 5).astype(np.float32), RNG.randn(5, 3).astype(np.float32), \
        np.array([2, 3], np.int32)
    want = lax.ragged_dot_general(a, b, gs, rdn)
    assert want.shape == (2, 2, 3)
    _close(xl.ragged_dot_general(a, b, gs, rdn), want)
    _close(xform.vmap(lambda x: xl.ragged_dot_general(x, b, gs, rdn))(np.stack([a, -a])),
           np.stack([want, -want]))

    # JAX has no derivative in this mode: a dense reference, one masked product per group
    def dense(a, b):
        k = np.arange(5)
        return jnp.stack([(a * ((k >= e - g) & (k < e))) @ b
                          for g, e in zip(gs, np.cumsum(gs))])
    _close(dense(a, b), want, 1e-5)
    loss_x = lambda a, b: (xl.ragged_dot_general(a, b, gs, rdn) ** 2).sum()  # noqa: E731
    _close(xform.grad(loss_x, (0, 1))(a, b),
           jax.grad(lambda a, b: (dense(a, b) ** 2).sum(), (0, 1))(a, b), 1e-4)


# group sizes of rank > 1 ([*the lhs's axes before the ragged one, g], JAX's rule), per mode:
# (lhs, rhs, group_sizes, dimension numbers)
_R = lax.RaggedDotDimensionNumbers
GS2 = np.array([[2, 3, 0], [1, 1, 2]], np.int32)
RAGGED_RANK2 = {
    # [b, m, k] x [b, g, k, n], ragged m, groups per batch row
    "noncontracting_batch": (RNG.randn(2, 5, 3), RNG.randn(2, 3, 3, 4), GS2,
                             _R((([2], [2]), ([0], [0])), [1], [1])),
    # [p, m, k] x [g, k, n], ragged m after a free axis p
    "noncontracting_free": (RNG.randn(2, 5, 3), RNG.randn(3, 3, 4), GS2,
                            _R((([2], [1]), ([], [])), [1], [0])),
    # [b, m, k] x [b, k, n], ragged k: [g, b, m, n]
    "contracting": (RNG.randn(2, 3, 5), RNG.randn(2, 5, 4), GS2[:, :2] + [[0], [2]],
                    _R((([2], [1]), ([0], [0])), [2], [])),
    # [b1, b2, m, k] x [b1, b2, k, n], ragged b2
    "batch": (RNG.randn(2, 5, 3, 2), RNG.randn(2, 5, 2, 4), GS2[:, :2] + [[0], [2]],
              _R((([3], [2]), ([0, 1], [0, 1])), [1], [])),
}


@pytest.mark.parametrize("mode", sorted(RAGGED_RANK2))
def test_ragged_dot_general_group_sizes_of_rank_2(mode):
    lhs, rhs, gs, rdn = RAGGED_RANK2[mode]
    lhs, rhs = lhs.astype(np.float32), rhs.astype(np.float32)

    def fx(a, b, g=gs):
        return xl.ragged_dot_general(a, b, g, rdn)

    def fj(a, b, g=gs):
        return lax.ragged_dot_general(a, b, g, rdn)
    want = fj(lhs, rhs)
    _close(fx(lhs, rhs), want)
    _close(xform.jit(fx)(lhs, rhs), want)
    # forward mode, as JAX's
    ta, tb = np.ones_like(lhs), np.cos(rhs)
    _close(xform.jvp(fx, (lhs, rhs), (ta, tb)), jax.jvp(fj, (lhs, rhs), (ta, tb)), 1e-4)

    def loss(f):
        return lambda a, b: (f(a, b) ** 2).sum()
    got = xform.grad(loss(fx), (0, 1))(lhs, rhs)
    if mode.startswith("noncontracting"):
        _close(got, jax.grad(loss(fj), (0, 1))(lhs, rhs), 1e-4)
    else:  # JAX has no reverse mode here: <grad, t> against JAX's directional derivative
        _, d = jax.jvp(loss(fj), (lhs, rhs), (ta, tb))
        np.testing.assert_allclose((got[0] * ta).sum() + (got[1] * tb).sum(), d, rtol=1e-4)
    # vmap over each operand and all three (JAX batches few of these): a loop of JAX's
    lhs_b, rhs_b, gs_b = np.stack([lhs, -lhs]), np.stack([rhs, 2 * rhs]), \
        np.stack([gs, gs[..., ::-1]])
    for axes in [(0, None, None), (None, 0, None), (None, None, 0), (0, 0, 0)]:
        args = [b if ax == 0 else u for b, u, ax in zip((lhs_b, rhs_b, gs_b), (lhs, rhs, gs),
                                                        axes)]
        loop = [fj(*[a[i] if ax == 0 else a for a, ax in zip(args, axes)]) for i in range(2)]
        _close(xform.vmap(fx, axes)(*args), np.stack(loop))
    # derivatives under vmap and jit, against a loop of JAX's
    _close(xform.jit(xform.vmap(lambda a, b: xform.jvp(fx, (a, b), (ta, tb))[1]))(lhs_b, rhs_b),
           np.stack([jax.jvp(fj, (a, b), (ta, tb))[1] for a, b in zip(lhs_b, rhs_b)]), 1e-4)
    if mode.startswith("noncontracting"):
        _close(xform.jit(xform.vmap(xform.grad(loss(fx))))(lhs_b, rhs_b),
               np.stack([jax.grad(loss(fj))(a, b) for a, b in zip(lhs_b, rhs_b)]), 1e-4)
    # a wrong group_sizes shape: JAX's TypeError
    for f in (fx, fj):
        with pytest.raises(TypeError, match="expected group_sizes to have shape"):
            f(lhs, rhs, np.ones((3, gs.shape[-1]), np.int32))


# -- scaled_dot (runs on CPU in JAX 0.10.2) -----------------------------------------------------
def test_scaled_dot():
    lhs = RNG.randn(2, 3, 8).astype(jnp.float8_e4m3fn)
    rhs = RNG.randn(2, 8, 4).astype(jnp.float8_e4m3fn)
    ls = (2.0 ** RNG.randint(-2, 3, (2, 3, 2))).astype(jnp.float8_e8m0fnu)
    rs = (2.0 ** RNG.randint(-2, 3, (2, 2, 4))).astype(jnp.float8_e8m0fnu)
    want = lax.scaled_dot(lhs, rhs, lhs_scale=ls, rhs_scale=rs)
    got = xl.scaled_dot(lhs, rhs, lhs_scale=ls, rhs_scale=rs)
    assert got.dtype == want.dtype == jnp.bfloat16
    _close(got, want)
    _close(xform.jit(lambda a, b: xl.scaled_dot(a, b, preferred_element_type=jnp.float32))(
        lhs, rhs), lax.scaled_dot(lhs, rhs, preferred_element_type=jnp.float32))
    _close(xform.vmap(lambda a, s: xl.scaled_dot(a, rhs[0], lhs_scale=s, rhs_scale=rs[0]))(
        lhs, ls), np.stack([np.asarray(lax.scaled_dot(a, rhs[0], lhs_scale=s,
                                                      rhs_scale=rs[0]), np.float32)
                            for a, s in zip(lhs, ls)]))


# -- shape helpers, dtype, shape_as_value ------------------------------------------------------
SHAPE_CASES = [
    ("broadcast_shapes", ((1, 3), (2, 1))), ("broadcast_shapes", ((3,), (4, 1, 3), ())),
    ("conv_shape_tuple", ((2, 3, 9, 8), (4, 3, 3, 2), (2, 1), "SAME")),
    ("conv_shape_tuple", ((2, 3, 9, 8), (4, 3, 3, 2), (1, 2), [(1, 0), (2, 2)])),
    ("conv_shape_tuple", ((4, 3, 9), (4, 3, 3), (1,), "VALID", 2)),
    ("conv_general_permutations", (("NHWC", "HWIO", "NHWC"),)),
    ("conv_general_permutations", (("NCWH", "IOHW", "NHCW"),)),
    ("conv_general_shape_tuple", ((2, 9, 8, 3), (3, 2, 3, 4), (2, 1), "SAME",
                                  ("NHWC", "HWIO", "NHWC"))),
    ("conv_transpose_shape_tuple", ((2, 9, 8, 3), (3, 2, 3, 4), (2, 2), "SAME",
                                    ("NHWC", "HWIO", "NHWC"))),
    ("conv_transpose_shape_tuple", ((2, 3, 5, 4), (4, 3, 3, 3), (2, 1), "VALID",
                                    ("NCHW", "OIHW", "NCHW"))),
    ("reduce_window_shape_tuple", ((7, 8), (2, 3), (2, 1), ((0, 1), (1, 1)))),
    ("reduce_window_shape_tuple", ((7, 8), (2, 3), (1, 2), ((0, 0), (0, 0)), (2, 1), (1, 2))),
]


@pytest.mark.parametrize("name,args", SHAPE_CASES)
def test_shape_helpers(name, args):
    def ints(r):
        return tuple(ints(v) for v in r) if isinstance(r, (tuple, list, np.ndarray)) else int(r)
    assert ints(getattr(xl, name)(*args)) == ints(getattr(lax, name)(*args))


def test_shape_helper_errors_and_dtype():
    with pytest.raises(ValueError, match="Incompatible shapes"):
        xl.broadcast_shapes((2,), (3,))
    with pytest.raises(TypeError):
        xl.conv_general_permutations(("NHWC", "HWIO", "NHW"))
    _equal(xl.shape_as_value((3, 4)), lax.shape_as_value((3, 4)))
    assert xl.shape_as_value(()).shape == lax.shape_as_value(()).shape
    for v in (1, 1.0, True, 1j, np.float16(1), np.arange(3), np.int16, "bfloat16", jnp.int8,
              jnp.zeros(2, jnp.bfloat16), int):
        assert xl.dtype(v) == lax.dtype(v), v
    assert xform.jit(lambda v: np.zeros((), xl.dtype(v)))(X) == 0  # a tracer's dtype


# -- accuracy= ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["exp", "sin", "tanh", "log1p"])
def test_accuracy(name):
    fx, fj = getattr(xl, name), getattr(lax, name)
    x = np.abs(X[0]) + 0.1
    for acc in (xl.Tolerance(atol=1e-3, rtol=0.0, ulps=0), xl.AccuracyMode.HIGHEST):
        assert xl.Tolerance is lax.Tolerance and xl.AccuracyMode is lax.AccuracyMode
        _close(fx(x, accuracy=acc), fj(x, accuracy=acc))
        _close(xform.jit(lambda v, a=acc: fx(v, accuracy=a))(x), fj(x, accuracy=acc))
        _close(xform.grad(lambda v, a=acc: fx(v, accuracy=a).sum())(x),
               jax.grad(lambda v, a=acc: fj(v, accuracy=a).sum())(x))
        _close(xform.vmap(lambda v, a=acc: fx(v, accuracy=a))(X + 2), fj(X + 2, accuracy=acc))
    assert "accuracy" not in str(xform.make_jaxpr(fx)(x))


# -- pshuffle, pswapaxes -----------------------------------------------------------------------
def test_pshuffle_pswapaxes_under_vmap():
    xs = RNG.randn(4, 3).astype(np.float32)
    perm = [2, 0, 3, 1]
    _close(xform.vmap(lambda v: xl.pshuffle(v, "i", perm), axis_name="i")(xs),
           jax.vmap(lambda v: lax.pshuffle(v, "i", perm), axis_name="i")(xs))
    ys = RNG.randn(4, 2, 4).astype(np.float32)
    _close(xform.vmap(lambda v: xl.pswapaxes(v, "i", 1), axis_name="i")(ys),
           jax.vmap(lambda v: lax.pswapaxes(v, "i", 1), axis_name="i")(ys))
    _close(xform.grad(lambda v: (xform.vmap(lambda r: xl.pshuffle(r, "i", perm) * r,
                                            axis_name="i")(v)).sum())(xs),
           jax.grad(lambda v: (jax.vmap(lambda r: lax.pshuffle(r, "i", perm) * r,
                                        axis_name="i")(v)).sum())(xs))
    with pytest.raises(ValueError, match="permutation"):
        xform.vmap(lambda v: xl.pshuffle(v, "i", [0, 0, 1, 2]), axis_name="i")(xs)


# -- conv_general_dilated_local, composite -----------------------------------------------------
def test_conv_general_dilated_local():
    lhs = RNG.randn(2, 3, 6, 5).astype(np.float32)  # NCHW
    filt = (3, 2)
    out_sp = lax.conv_general_shape_tuple(lhs.shape, (4, 3, *filt), (1, 2), "SAME",
                                          ("NCHW", "OIHW", "NCHW"))[2:]
    rhs = RNG.randn(3 * 6, *out_sp, 4).astype(np.float32)  # (I*prod(filter), H', W', O)
    dn = ("NCHW", "IHWO", "NCHW")

    def fx(a, b):
        return xl.conv_general_dilated_local(a, b, (1, 2), "SAME", filt, dimension_numbers=dn)

    def fj(a, b):
        return lax.conv_general_dilated_local(a, b, (1, 2), "SAME", filt, dimension_numbers=dn)

    _close(fx(lhs, rhs), fj(lhs, rhs), 1e-4)
    _close(xform.vmap(fx, (0, None))(lhs[:, None], rhs), jax.vmap(fj, (0, None))(lhs[:, None],
                                                                                  rhs), 1e-4)
    loss = lambda f: lambda a, b: (f(a, b) ** 2).sum()  # noqa: E731
    _close(xform.grad(loss(fx), (0, 1))(lhs, rhs), jax.grad(loss(fj), (0, 1))(lhs, rhs), 1e-3)


def test_composite():
    def my_softplus(x, *, beta):
        return xnp.log1p(xnp.exp(beta * x)) / beta

    f = xl.composite(my_softplus, name="my.softplus")
    fj = lax.composite(lambda x, *, beta: jnp.log1p(jnp.exp(beta * x)) / beta,
                       name="my.softplus")
    x = X[0]
    _close(f(x, beta=2.0), fj(x, beta=2.0))
    _close(xform.jit(lambda v: f(v, beta=2.0))(x), fj(x, beta=2.0))
    # JAX neither differentiates nor batches a composite: the reference is its decomposition
    _close(xform.grad(lambda v: f(v, beta=2.0).sum())(x),
           jax.grad(lambda v: (jnp.log1p(jnp.exp(2 * v)) / 2).sum())(x))
    _close(xform.vmap(lambda v: f(v, beta=2.0))(X), np.stack([fj(v, beta=2.0) for v in X]))


def test_dce_sink_keeps_dead_values_in_the_program_as_jax():
    x = np.arange(3.0, dtype=np.float32)

    def prog(lib, sink):
        def f(x):
            s = lib.numpy.sin(x)
            if sink:
                assert lib.lax.dce_sink(s) is None
            return x * 2

        return f

    for sink in (True, False):
        want = jax.jit(prog(jax, sink)).lower(x).as_text()
        got = xform.jit(prog(xform, sink)).lower(x).as_text()
        assert ("sine" in got) == ("sine" in want) == sink
        np.testing.assert_allclose(xform.jit(prog(xform, sink))(x), x * 2)
        g = xform.grad(lambda x, s=sink: prog(xform, s)(x).sum())(x)
        np.testing.assert_allclose(g, jax.grad(lambda x, s=sink: prog(jax, s)(x).sum())(x))
        np.testing.assert_allclose(xform.vmap(prog(xform, sink))(x), x * 2)
