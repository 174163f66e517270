"""dot_general, convolutions and windowed reductions against jax.lax, eager and under jit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from jax._src.lax import windowed_reductions as jax_windowed

import xform
from xform import lax
from xform.test_util import check_grads
from xform.lax import linear, windowed
from xform.lax.elementwise import add_p, ge_p, le_p
from op_records import OpRecord, check_eager, check_grads_record, check_jit, check_vmap


def _arr(*shape, dtype=np.float32, lo=-2.0, hi=2.0):
    if np.issubdtype(dtype, np.integer):
        return lambda rng: rng.integers(int(lo), int(hi) + 1, shape).astype(dtype)
    return lambda rng: rng.uniform(lo, hi, shape).astype(dtype)


def _args(*makers):
    return lambda rng: [m(rng) for m in makers]


def _distinct(*shape):
    # a permutation, so that max/min windows have one winner and gradients are unambiguous
    return lambda rng: rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float32)


def _both(name, fn, *, tol=1e-5, **kw):
    """A record whose xform and jax functions are ``fn(xform.lax)`` and ``fn(jax.lax)``."""
    return OpRecord(name, fn(lax), fn(jlax), tol=tol, **kw)


CONTRACT = (((1,), (1,)), ((), ()))
# The records below are bilinear, so central differences are exact for any step: float16
# inputs take a large one (a small step drowns in float16 rounding), and Python floats, which
# the checker sees as float64 but which compute in float32, take float32's.
F16_GRAD_TOLS = {"grad_tols": dict(eps=0.25)}
PY_SCALAR_GRAD_TOLS = {"grad_tols": dict(eps=1e-2, atol=2e-2, rtol=2e-2)}
BATCHED = (((2,), (1,)), ((0,), (0,)))
BATCH_IN_MIDDLE = (((2,), (0,)), ((1,), (1,)))

DOT_RECORDS = [
    _both("dot_general_contract", lambda m: lambda a, b: m.dot_general(a, b, CONTRACT),
          args_maker=_args(_arr(3, 4), _arr(5, 4))),
    _both("dot_general_batch", lambda m: lambda a, b: m.dot_general(a, b, BATCHED),
          args_maker=_args(_arr(2, 3, 4), _arr(2, 4, 5))),
    _both("dot_general_batch_in_middle",
          lambda m: lambda a, b: m.dot_general(a, b, BATCH_IN_MIDDLE),
          args_maker=_args(_arr(3, 2, 4), _arr(4, 2, 5))),
    _both("dot_general_two_contractions",
          lambda m: lambda a, b: m.dot_general(a, b, (((0, 2), (2, 0)), ((), ()))),
          args_maker=_args(_arr(2, 3, 4), _arr(4, 5, 2))),
    _both("dot_general_outer", lambda m: lambda a, b: m.dot_general(a, b, (((), ()), ((), ()))),
          args_maker=_args(_arr(3), _arr(2))),
    _both("dot_general_i32", lambda m: lambda a, b: m.dot_general(a, b, CONTRACT),
          args_maker=_args(_arr(3, 4, dtype=np.int32, lo=-5, hi=5),
                           _arr(2, 4, dtype=np.int32, lo=-5, hi=5))),
    _both("dot_general_i32_to_f32",
          lambda m: lambda a, b: m.dot_general(a, b, CONTRACT,
                                               preferred_element_type=np.float32),
          args_maker=_args(_arr(3, 4, dtype=np.int32, lo=-5, hi=5),
                           _arr(2, 4, dtype=np.int32, lo=-5, hi=5))),
    _both("dot_general_f16_to_f32",
          lambda m: lambda a, b: m.dot_general(a, b, CONTRACT,
                                               preferred_element_type=jnp.float32),
          args_maker=_args(_arr(3, 4, dtype=np.float16), _arr(2, 4, dtype=np.float16)),
          tol=1e-3, extra=F16_GRAD_TOLS),
    _both("dot_general_i8_i32", lambda m: lambda a, b: m.dot_general(a, b, CONTRACT),
          args_maker=_args(_arr(3, 4, dtype=np.int8, lo=-5, hi=5),
                           _arr(2, 4, dtype=np.int32, lo=-5, hi=5))),
    _both("dot_general_i32_f32", lambda m: lambda a, b: m.dot_general(a, b, CONTRACT),
          args_maker=_args(_arr(3, 4, dtype=np.int32, lo=-5, hi=5), _arr(2, 4))),
    _both("dot_general_highest",
          lambda m: lambda a, b: m.dot_general(a, b, CONTRACT, precision=jlax.Precision.HIGHEST),
          args_maker=_args(_arr(3, 4), _arr(2, 4))),
    _both("dot_general_python_scalars",
          lambda m: lambda a, b: m.dot_general(a, b, (((), ()), ((), ()))),
          args_maker=lambda rng: [1.5, -2.0], extra=PY_SCALAR_GRAD_TOLS),
    _both("dot_vv", lambda m: m.dot, args_maker=_args(_arr(4), _arr(4))),
    _both("dot_mv", lambda m: m.dot, args_maker=_args(_arr(3, 4), _arr(4))),
    _both("dot_vm", lambda m: m.dot, args_maker=_args(_arr(3), _arr(3, 4))),
    _both("dot_mm", lambda m: m.dot, args_maker=_args(_arr(3, 4), _arr(4, 2))),
    _both("dot_i32_to_f32",
          lambda m: lambda a, b: m.dot(a, b, preferred_element_type=np.float32),
          args_maker=_args(_arr(3, 4, dtype=np.int32), _arr(4, 2, dtype=np.int32))),
    _both("batch_matmul", lambda m: m.batch_matmul,
          args_maker=_args(_arr(2, 3, 4), _arr(2, 4, 5))),
]

NCHW_2D = _args(_arr(2, 2, 5, 6), _arr(3, 2, 3, 2))
CONV_RECORDS = [
    _both("conv_1d_valid_stride",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (2,), "VALID"),
          args_maker=_args(_arr(2, 3, 7), _arr(4, 3, 3))),
    _both("conv_1d_same_lower",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (2,), "SAME_LOWER"),
          args_maker=_args(_arr(1, 2, 8), _arr(3, 2, 4))),
    _both("conv_2d_same", lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "SAME"),
          args_maker=NCHW_2D),
    _both("conv_2d_strides_padding",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (2, 1), ((1, 0), (2, 2))),
          args_maker=NCHW_2D),
    _both("conv_2d_dilations",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 2), ((1, 1), (0, 1)),
                                                        lhs_dilation=(2, 1),
                                                        rhs_dilation=(1, 2)),
          args_maker=NCHW_2D),
    _both("conv_2d_rhs_dilation_same",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "SAME",
                                                        rhs_dilation=(2, 2)),
          args_maker=NCHW_2D),
    _both("conv_feature_groups",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "SAME",
                                                        feature_group_count=2),
          args_maker=_args(_arr(2, 4, 4, 4), _arr(6, 2, 3, 3))),
    _both("conv_batch_groups",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "VALID",
                                                        batch_group_count=2),
          args_maker=_args(_arr(4, 3, 4, 4), _arr(6, 3, 2, 2))),
    _both("conv_nhwc",
          lambda m: lambda x, w: m.conv_general_dilated(
              x, w, (2, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
          args_maker=_args(_arr(2, 5, 4, 3), _arr(3, 2, 3, 4))),
    _both("conv_dimension_numbers_object",
          lambda m: lambda x, w: m.conv_general_dilated(
              x, w, (1, 1), "VALID",
              dimension_numbers=jlax.conv_dimension_numbers(x.shape, w.shape,
                                                           ("NCHW", "HWIO", "NHWC"))),
          args_maker=_args(_arr(1, 3, 4, 4), _arr(2, 2, 3, 2))),
    _both("conv_f16_to_f32",
          lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "VALID",
                                                        preferred_element_type=np.float32),
          args_maker=_args(_arr(1, 2, 4, 4, dtype=np.float16),
                           _arr(2, 2, 2, 2, dtype=np.float16)), tol=1e-3, extra=F16_GRAD_TOLS),
    _both("conv", lambda m: lambda x, w: m.conv(x, w, (1, 2), "SAME"), args_maker=NCHW_2D),
    _both("conv_with_general_padding",
          lambda m: lambda x, w: m.conv_with_general_padding(x, w, (1, 1), ((0, 1), (1, 0)),
                                                             (1, 2), None),
          args_maker=NCHW_2D),
]

WINDOW_RECORDS = [
    _both("reduce_window_sum_valid",
          lambda m: lambda x: m.reduce_window(x, 0.0, m.add, (2, 2)),
          args_maker=_args(_arr(4, 5))),
    _both("reduce_window_sum_strides_padding",
          lambda m: lambda x: m.reduce_window(x, 0.0, m.add, (2, 3), (2, 1), ((1, 0), (1, 2))),
          args_maker=_args(_arr(4, 5))),
    _both("reduce_window_sum_i32_same",
          lambda m: lambda x: m.reduce_window(x, 0, m.add, (3, 2), (2, 2), "SAME"),
          args_maker=_args(_arr(5, 4, dtype=np.int32))),
    _both("reduce_window_max_same",
          lambda m: lambda x: m.reduce_window(x, -jnp.inf, m.max, (1, 2, 2), (1, 2, 2), "SAME"),
          args_maker=_args(_arr(2, 5, 5))),
    _both("reduce_window_max_dilations",
          lambda m: lambda x: m.reduce_window(x, -np.inf, m.max, (2, 2), (1, 1),
                                              ((0, 1), (1, 0)), (1, 2), (2, 1)),
          args_maker=_args(_arr(4, 4))),
    _both("reduce_window_max_i32",
          lambda m: lambda x: m.reduce_window(x, np.iinfo(np.int32).min, m.max, (2,), (2,)),
          args_maker=_args(_arr(7, dtype=np.int32, lo=-9, hi=9))),
    _both("reduce_window_min_strides_padding",
          lambda m: lambda x: m.reduce_window(x, np.inf, m.min, (3, 2), (2, 1),
                                              ((1, 1), (0, 1))),
          args_maker=_args(_arr(5, 4))),
    _both("reduce_window_min_bool",
          lambda m: lambda x: m.reduce_window(x, True, m.min, (2,)),
          args_maker=lambda rng: [rng.integers(0, 2, (5,)).astype(bool)]),
]

# max-pooling's derivatives, against the functions jax's own rules call
GE_POOL = dict(window_dimensions=(2, 2), window_strides=(2, 1), padding=((0, 1), (1, 0)))
DILATED = dict(base_dilation=(1, 2), window_dilation=(2, 1))


def _scatter_ref(select_prim):
    return lambda s, o: jax_windowed._select_and_scatter_add(s, o, select_prim, **GE_POOL)


def _gather_ref(select_prim, dil):
    return lambda t, o: jax_windowed._select_and_gather_add(t, o, select_prim, **GE_POOL,
                                                            **dil)


SELECT_RECORDS = [
    OpRecord("select_and_scatter_add_ge",
             lambda s, o: windowed._select_and_scatter_add(s, o, ge_p, **GE_POOL),
             _scatter_ref(jlax.ge_p), _args(_arr(2, 4), _distinct(4, 4)), tol=1e-6),
    OpRecord("select_and_scatter_add_le",
             lambda s, o: windowed._select_and_scatter_add(s, o, jlax.le_p, **GE_POOL),
             _scatter_ref(jlax.le_p), _args(_arr(2, 4), _distinct(4, 4)), tol=1e-6),
    OpRecord("select_and_gather_add_ge",
             lambda t, o: windowed._select_and_gather_add(t, o, ge_p, **GE_POOL,
                                                        base_dilation=(1, 1),
                                                        window_dilation=(1, 1)),
             _gather_ref(jlax.ge_p, dict(base_dilation=(1, 1), window_dilation=(1, 1))),
             _args(_arr(4, 4), _distinct(4, 4)), tol=1e-6),
    OpRecord("select_and_gather_add_le_dilated",
             lambda t, o: windowed._select_and_gather_add(t, o, jlax.le_p, **GE_POOL, **DILATED),
             _gather_ref(jlax.le_p, DILATED), _args(_arr(4, 4), _distinct(4, 4)), tol=1e-6),
]

RECORDS = DOT_RECORDS + CONV_RECORDS + WINDOW_RECORDS + SELECT_RECORDS


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_eager(rec):
    check_eager(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_jit(rec):
    check_jit(rec)


# -- derivatives and vmap over the records --------------------------------------------------
# Reverse mode of a max/min window reduction with window dilation is not implemented (as in
# JAX: the transpose of select_and_gather_add needs select_and_scatter_add over a dilated
# window, which XLA does not have); those records are checked in forward mode only.
FWD_ONLY = {"reduce_window_max_dilations", "select_and_gather_add_le_dilated"}


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_grads(rec):
    if rec.name in FWD_ONLY:
        args = rec.make_args(2)
        check_grads(rec.fun, args, order=2, modes=("fwd",))
        with pytest.raises(NotImplementedError, match="window_dilation"):
            xform.vjp(rec.fun, *args)[1](rec.fun(*args))
    else:
        check_grads_record(rec, order=2)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_vmap(rec):
    check_vmap(rec)


# -- what the rules emit --------------------------------------------------------------------
def _ops(closed):
    return [eqn.primitive.name for eqn in closed.jaxpr.eqns]


def _eqns(closed, name):
    return [eqn for eqn in closed.jaxpr.eqns if eqn.primitive.name == name]


def test_vmap_matrix_vector_is_one_dot_general_without_transpose():
    w = np.arange(15, dtype=np.float32).reshape(3, 5)
    xs = np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5)
    f = xform.vmap(lambda x: lax.dot(w, x))
    assert _ops(xform.make_jaxpr(f)(xs)) == ["dot_general"]
    np.testing.assert_allclose(f(xs), xs @ w.T, rtol=1e-6)
    # batched over axis 1 of the input
    g = xform.vmap(lambda x: lax.dot(w, x), in_axes=1)
    assert _ops(xform.make_jaxpr(g)(xs.T)) == ["dot_general"]
    np.testing.assert_allclose(g(xs.T), xs @ w.T, rtol=1e-6)


def test_vmap_neuron_matches_hand_batched_einsum():
    # the jakevdp seed: vmap(model) emits the operations of the hand-batched model
    w = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    vs = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)

    def model(v):
        return xform.numpy.tanh(lax.dot(w, v) + 1.0).sum()

    def batched(vs):
        return xform.numpy.tanh(lax.dot_general(vs, w, CONTRACT) + 1.0).sum(1)

    got, want = xform.make_jaxpr(xform.vmap(model))(vs), xform.make_jaxpr(batched)(vs)
    assert _ops(got) == ["dot_general", "add", "tanh", "reduce_sum"]
    assert str(got) == str(want)


def _dense(w, x):
    return xform.numpy.tanh(lax.dot(x, w)).sum()


def test_weight_gradient_of_x_at_w_needs_no_transpose():
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    x = np.random.default_rng(1).standard_normal(6).astype(np.float32)
    closed = xform.make_jaxpr(xform.grad(_dense))(w, x)
    assert "transpose" not in _ops(closed)
    np.testing.assert_allclose(xform.grad(_dense)(w, x),
                               jax.grad(lambda w, x: jnp.tanh(x @ w).sum())(w, x), rtol=1e-5)


def test_per_example_weight_gradients_come_out_in_layout():
    # the per-example weight gradient is a batched outer product emitted directly as
    # (batch, in, out): JAX emits (batch, out, in) and then transposes the whole result
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    xs = np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32)
    f = xform.vmap(xform.grad(_dense), in_axes=(None, 0))
    closed = xform.make_jaxpr(f)(w, xs)
    assert "transpose" not in _ops(closed)
    outer = [e for e in _eqns(closed, "dot_general") if e.outvars[0].aval.shape == (5, 6, 4)]
    assert len(outer) == 1
    want = jax.vmap(jax.grad(lambda w, x: jnp.tanh(x @ w).sum()), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(f(w, xs), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dims,lhs_shape,rhs_shape", [
    ((((1,), (0,)), ((), ())), (3, 4), (4, 5)),         # matmul
    ((((1,), (1,)), ((), ())), (3, 4), (5, 4)),         # x @ w.T
    ((((0,), (0,)), ((), ())), (4, 3), (4, 5)),         # x.T @ w
    ((((2,), (1,)), ((0,), (0,))), (2, 3, 4), (2, 4, 5)),
])
def test_dot_general_transposes_emit_no_transpose(dims, lhs_shape, rhs_shape):
    a, b = np.ones(lhs_shape, np.float32), np.ones(rhs_shape, np.float32)
    f = lambda a, b: lax.dot_general(a, b, dims).sum()  # noqa: E731
    closed = xform.make_jaxpr(xform.grad(f, argnums=(0, 1)))(a, b)
    assert "transpose" not in _ops(closed)


def test_dot_general_transpose_with_permuted_contraction_is_correct():
    # contracting axes listed out of order, batch axis in the middle: the layouts that do
    # need a transpose
    dims = (((2, 0), (0, 3)), ((1,), (2,)))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 2, 4, 5)).astype(np.float32)
    b = rng.standard_normal((4, 6, 2, 3)).astype(np.float32)
    check_grads(lambda a, b: lax.dot_general(a, b, dims), [a, b], order=2)


def test_dot_general_per_operand_precision_follows_its_operand():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4,)).astype(
        np.float32)
    prec = (jlax.Precision.HIGHEST, jlax.Precision.DEFAULT)
    f = xform.vmap(lambda b: lax.dot(a, b, precision=prec))
    (eqn,) = _eqns(xform.make_jaxpr(f)(np.stack([b, b])), "dot_general")
    assert eqn.params["precision"] == prec[::-1]  # operands swapped, precisions with them
    check_grads(lambda a, b: lax.dot(a, b, precision=prec), [a, b], order=1)


CONV_DN = ("NCHW", "OIHW", "NCHW")


def _conv(x, k, **kw):
    return lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=CONV_DN, **kw)


def _conv_loop(xs, ks, **kw):
    return np.stack([np.asarray(_conv(x, k, **kw)) for x, k in zip(xs, ks)])


def test_vmap_conv_batched_kernel_is_one_conv():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    ks = rng.standard_normal((4, 6, 3, 3, 3)).astype(np.float32)
    f = xform.vmap(_conv, in_axes=(None, 0))
    closed = xform.make_jaxpr(f)(x, ks)
    (eqn,) = _eqns(closed, "conv_general_dilated")
    assert eqn.invars[1].aval.shape == (24, 3, 3, 3)  # the kernels fold into output features
    np.testing.assert_allclose(f(x, ks), _conv_loop([x] * 4, ks), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("groups", [1, 3])
def test_vmap_conv_batched_input_and_kernel_uses_feature_groups(groups):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 2, 3, 5, 5)).astype(np.float32)
    ks = rng.standard_normal((4, 6, 3 // groups, 3, 3)).astype(np.float32)
    f = xform.vmap(lambda x, k: _conv(x, k, feature_group_count=groups))
    closed = xform.make_jaxpr(f)(xs, ks)
    (eqn,) = _eqns(closed, "conv_general_dilated")
    assert eqn.params["feature_group_count"] == 4 * groups
    np.testing.assert_allclose(f(xs, ks), _conv_loop(xs, ks, feature_group_count=groups),
                               rtol=1e-5, atol=1e-5)


def test_vmap_conv_batched_input_folds_into_batch_dim():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 2, 3, 5, 5)).astype(np.float32)
    k = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    closed = xform.make_jaxpr(xform.vmap(_conv, in_axes=(0, None)))(xs, k)
    assert _ops(closed) == ["reshape", "conv_general_dilated", "reshape"]
    (eqn,) = _eqns(closed, "conv_general_dilated")
    assert eqn.invars[0].aval.shape == (8, 3, 5, 5)


def test_vmap_of_conv_gradients_matches_jax():
    # per-example kernel gradients: the rhs transpose (a conv with batch groups) under vmap
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 2, 2, 5, 5)).astype(np.float32)
    k = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)

    def loss(m):
        return lambda k, x: m.numpy.tanh(m.lax.conv_general_dilated(
            x, k, (2, 1), ((1, 0), (0, 1)), rhs_dilation=(1, 2))).sum()

    got = xform.vmap(xform.grad(loss(xform), argnums=(0, 1)), in_axes=(None, 0))(k, xs)
    want = jax.vmap(jax.grad(loss(jax), argnums=(0, 1)), in_axes=(None, 0))(k, xs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


# grouped convs on CPU: per-group convs when groups have >= 2 input features (and there are at
# most _MAX_SPLIT_GROUPS of them), one feature-group conv otherwise (batch groups rewritten)
@pytest.mark.parametrize("kind,groups,batch,cin,cout,dn", [
    ("feature", 4, 3, 2, 5, ("NCHW", "OIHW", "NCHW")),     # split
    ("feature", 4, 3, 1, 2, ("NHWC", "HWIO", "NHWC")),     # depthwise-like: stays grouped
    ("feature", 40, 2, 2, 1, ("NCHW", "OIHW", "NCHW")),    # too many groups to split
    ("feature", 2, 2, 3, 2, ("HWCN", "HWIO", "CHWN")),
    ("batch", 4, 8, 2, 3, ("NCHW", "OIHW", "NCHW")),       # split along the batch
    ("batch", 3, 6, 1, 2, ("NHWC", "HWIO", "NHWC")),       # rewritten as feature groups
    ("batch", 2, 4, 3, 2, ("CHWN", "IOHW", "HNWC")),
    ("batch", 40, 40, 2, 1, ("NHWC", "OIHW", "CNHW")),     # rewritten as feature groups
])
def test_grouped_conv_lowering_matches_jax(kind, groups, batch, cin, cout, dn):
    rng = np.random.default_rng(0)
    dnums = jlax.conv_dimension_numbers((1,) * 4, (1,) * 4, dn)
    lhs_shape, rhs_shape = [0] * 4, [0] * 4
    for d, v in zip(dnums.lhs_spec, (batch, groups * cin if kind == "feature" else cin, 7, 6)):
        lhs_shape[d] = v
    for d, v in zip(dnums.rhs_spec, (groups * cout, cin, 3, 2)):
        rhs_shape[d] = v
    x = rng.standard_normal(lhs_shape).astype(np.float32)
    k = rng.standard_normal(rhs_shape).astype(np.float32)
    kw = dict(window_strides=(1, 2), padding=[(1, 0), (1, 1)], rhs_dilation=(2, 1),
              dimension_numbers=dn, **{f"{kind}_group_count": groups})
    want = jlax.conv_general_dilated(x, k, **kw)
    f = xform.jit(lambda x, k: lax.conv_general_dilated(x, k, **kw))
    np.testing.assert_allclose(lax.conv_general_dilated(x, k, **kw), want, rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(f(x, k), want, rtol=1e-5, atol=1e-4)
    hlo = f.lower(x, k).compile().as_text()
    convs = [ln for ln in hlo.splitlines() if " convolution(" in ln]
    if xform.devices()[0].platform == "cpu":
        split = cin >= 2 and groups <= 32
        assert len(convs) == (groups if split else 1)
        assert not any("batch_group_count" in ln for ln in convs)


def test_vmap_of_ensemble_conv_training_step_matches_loop():
    # vmap over members of grad of a batched conv model: grouped convs forward and backward
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 8, 8)).astype(np.float32)
    k1s = (0.2 * rng.standard_normal((4, 6, 3, 3, 3))).astype(np.float32)
    k2s = (0.2 * rng.standard_normal((4, 4, 6, 3, 3))).astype(np.float32)

    def loss(k1, k2, x):
        h = xform.numpy.tanh(_conv(x, k1))
        return (_conv(h, k2) ** 2).sum()

    step = xform.grad(loss, argnums=(0, 1))
    for f in (xform.vmap(step, in_axes=(0, 0, None)),
              xform.jit(xform.vmap(step, in_axes=(0, 0, None)))):
        got = f(k1s, k2s, x)
        for i in range(4):
            for g, w in zip(got, step(k1s[i], k2s[i], x)):
                np.testing.assert_allclose(g[i], w, rtol=2e-4, atol=2e-4)
    # and grad of the vmapped model (batch-group convs in the kernel gradients)
    ens = xform.jit(xform.grad(lambda a, b: xform.vmap(loss, in_axes=(0, 0, None))(a, b, x)
                               .sum(), argnums=(0, 1)))
    got = ens(k1s, k2s)
    for i in range(4):
        for g, w in zip(got, step(k1s[i], k2s[i], x)):
            np.testing.assert_allclose(g[i], w, rtol=2e-4, atol=2e-4)


def test_max_pool_gradients_match_jax_under_vmap():
    rng = np.random.default_rng(0)
    xs = rng.permutation(3 * 2 * 6 * 6).reshape(3, 2, 6, 6).astype(np.float32)

    def pool_loss(m):
        return lambda x: (m.lax.reduce_window(x, -jnp.inf, m.lax.max, (1, 2, 2), (1, 2, 2),
                                              "SAME") ** 2).sum()

    got = xform.vmap(xform.grad(pool_loss(xform)))(xs)
    want = jax.vmap(jax.grad(pool_loss(jax)))(xs)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_reduce_window_vmap_adds_a_unit_window():
    xs = np.ones((3, 4, 5), np.float32)
    # the batch axis stays where it is: with out_axes=1 nothing but the reduction is emitted
    f = xform.vmap(lambda x: lax.reduce_window(x, 0.0, lax.add, (2, 2)), in_axes=1,
                   out_axes=1)
    (eqn,) = xform.make_jaxpr(f)(xs).jaxpr.eqns
    assert eqn.params["window_dimensions"] == (2, 1, 2)
    np.testing.assert_array_equal(f(xs), np.full((2, 4, 4), 4.0, np.float32))


# -- printed jaxprs match JAX's -------------------------------------------------------------
def _texts(fn, *args):
    def strip(text):  # JAX prints sharding params that xform leaves out
        return "\n".join(ln for ln in text.splitlines() if "out_sharding=" not in ln)
    return str(xform.make_jaxpr(fn(lax))(*args)), strip(str(jax.make_jaxpr(fn(jlax))(*args)))


def test_dot_general_jaxpr_text_matches_jax():
    a = np.ones((3, 4), np.float32)
    got = str(xform.make_jaxpr(lambda a, b: lax.dot_general(a, b, CONTRACT))(a, a))
    want = str(jax.make_jaxpr(lambda a, b: jlax.dot_general(a, b, CONTRACT))(a, a))
    assert got == want


@pytest.mark.parametrize("fn,shapes", [
    (lambda m: lambda a, b: m.dot_general(a, b, BATCHED, preferred_element_type=np.float32),
     [((2, 3, 4), np.int32), ((2, 4, 5), np.int32)]),
    (lambda m: lambda a, b: m.dot(a, b, precision="highest"),
     [((3, 4), np.float32), ((4,), np.float32)]),
    (lambda m: lambda x, w: m.conv_general_dilated(x, w, (2, 1), "SAME", rhs_dilation=(1, 2),
                                                   dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                                   feature_group_count=3),
     [((1, 5, 5, 3), np.float32), ((2, 2, 1, 6), np.float32)]),
    (lambda m: lambda x: m.reduce_window(x, -jnp.inf, m.max, (2, 2), (1, 1), "SAME"),
     [((4, 4), np.float32)]),
    (lambda m: lambda x: m.reduce_window(x, jnp.inf, m.min, (2, 2), (1, 1), ((0, 1), (1, 0)),
                                         (1, 2), (2, 1)),
     [((4, 4), np.float32)]),
    (lambda m: lambda x: m.reduce_window(x, 0, m.add, (3,), (2,), "SAME"),
     [((7,), np.int32)]),
], ids=["dot_general_preferred", "dot_precision", "conv_nhwc", "reduce_window_max",
        "reduce_window_min", "reduce_window_sum"])
def test_jaxpr_text_matches_jax(fn, shapes):
    args = [np.zeros(s, d) for s, d in shapes]
    got, want = _texts(fn, *args)
    assert got == want


def test_max_pool_derivative_primitives_print_as_jax():
    x = np.zeros((4, 4), np.float32)
    got = str(xform.make_jaxpr(
        lambda c, a: windowed._select_and_scatter_add(c, a, ge_p, (2, 2), (1, 1),
                                                    ((0, 1), (0, 1))))(x, x))
    assert "select_and_scatter_add[\n      padding=((0, 1), (0, 1))\n      select_prim=ge" in got
    want = str(jax.make_jaxpr(jax.grad(
        lambda x: jlax.reduce_window(x, -jnp.inf, jlax.max, (2, 2), (1, 1), "SAME").sum()))(x))
    body = got.split("select_and_scatter_add")[1].split("]")[0]
    assert body in want


def test_reduce_window_accepts_jax_and_xform_computations():
    x = np.arange(6.0, dtype=np.float32)
    for add in (lax.add, jlax.add):
        np.testing.assert_array_equal(lax.reduce_window(x, 0.0, add, (2,)),
                                      jlax.reduce_window(x, 0.0, jlax.add, (2,)))


def test_padtype_to_pads_matches_jax():
    for pad in ("SAME", "SAME_LOWER", "VALID", "same"):
        for shape, window, stride in (((5, 6), (2, 3), (1, 2)), ((7,), (4,), (3,))):
            assert linear.padtype_to_pads(shape, window, stride, pad) == \
                jlax.padtype_to_pads(shape, window, stride, pad)


# -- errors ---------------------------------------------------------------------------------
def test_dot_general_contracting_mismatch_names_shapes_and_dims():
    a, b = np.ones((3, 4), np.float32), np.ones((5, 6), np.float32)
    msg = (r"dot_general requires contracting dimensions to have the same shape, got \(4,\) "
           r"and \(5,\): lhs of shape \(3, 4\) has contracting dimensions \[1\], rhs of shape "
           r"\(5, 6\) has contracting dimensions \[0\]")
    with pytest.raises(TypeError, match=msg):
        lax.dot_general(a, b, (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match=msg):
        xform.jit(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))))(a, b)


@pytest.mark.parametrize("dims,match", [
    ((((2,), (0,)), ((), ())), r"lhs dimension numbers to be nonnegative and less than .* "
                               r"lhs of shape \(3, 4\) \(rank 2\)"),
    ((((1,), (0,)), ((0,), ())), r"equal numbers of lhs_batch and rhs_batch"),
    ((((1,), (1,)), ((0,), (0,))), r"batch dimensions to have the same shape, got \(3,\) and "
                                   r"\(4,\)"),
    ((((1, 1), (0, 1)), ((), ())), r"lhs contracting dimensions to be distinct"),
    ((((1,), (1,)), ((1,), (0,))), r"lhs batch dimensions to be disjoint"),
])
def test_dot_general_dimension_errors(dims, match):
    with pytest.raises(TypeError, match=match):
        lax.dot_general(np.ones((3, 4), np.float32), np.ones((4, 4), np.float32), dims)


def test_dot_general_malformed_dimension_numbers():
    with pytest.raises(TypeError, match="dimension_numbers must be"):
        lax.dot_general(np.ones((3, 4)), np.ones((4, 4)), ((1,), (0,)))


def test_dot_general_preferred_narrower_int():
    a = np.ones((2, 2), np.int32)
    with pytest.raises(TypeError, match="must not be narrower.*int8 for result type of int32"):
        lax.dot_general(a, a, CONTRACT, preferred_element_type=np.int8)


def test_dot_errors():
    with pytest.raises(ValueError, match=r"1-D or 2-D operands, got shapes \(2, 3, 4\)"):
        lax.dot(np.ones((2, 3, 4)), np.ones((4,)))
    with pytest.raises(ValueError, match=r"last axis of lhs \(4\) must equal the first axis "
                                         r"of rhs \(5\)"):
        lax.dot(np.ones((3, 4)), np.ones((5, 6)))
    with pytest.raises(ValueError, match="at least 2D"):
        lax.batch_matmul(np.ones((3,)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="same ndim"):
        lax.batch_matmul(np.ones((2, 3, 3)), np.ones((3, 3)))


def test_conv_errors():
    x, w = np.ones((2, 4, 5, 5), np.float32), np.ones((6, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"4 // 1 != 3 \(lhs of shape \(2, 4, 5, 5\), rhs of "
                                         r"shape \(6, 3, 3, 3\)"):
        lax.conv_general_dilated(x, w, (1, 1), "VALID")
    with pytest.raises(ValueError, match="feature_group_count must divide lhs feature"):
        lax.conv_general_dilated(x, w, (1, 1), "VALID", feature_group_count=3)
    with pytest.raises(ValueError, match="batch_group_count must divide lhs batch"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3, 3), np.float32), (1, 1), "VALID",
                                 batch_group_count=3)
    with pytest.raises(ValueError, match="At most one of batch_group_count"):
        lax.conv_general_dilated(np.ones((4, 4, 5, 5), np.float32),
                                 np.ones((4, 2, 3, 3), np.float32), (1, 1), "VALID",
                                 feature_group_count=2, batch_group_count=2)
    with pytest.raises(TypeError, match="same dtypes, got float32, int32"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3, 3), np.int32), (1, 1), "VALID")
    with pytest.raises(ValueError, match="String padding is not implemented"):
        lax.conv_general_dilated(x, w, (1, 1), "SAME", lhs_dilation=(2, 2))
    with pytest.raises(ValueError, match="window_strides must have one entry per spatial"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3, 3), np.float32), (1,), "VALID")
    with pytest.raises(ValueError, match="same number of dimensions"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3), np.float32), (1, 1), "VALID")
    with pytest.raises(ValueError, match="sequence of \\(low, high\\) pairs"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3, 3), np.float32), (1, 1), (1, 1))
    with pytest.raises(RuntimeError, match="Unrecognized padding type"):
        lax.conv_general_dilated(x, np.ones((6, 4, 3, 3), np.float32), (1, 1), "FULL")


def test_reduce_window_errors():
    x = np.ones((4, 4), np.float32)
    # any computation and init value are accepted (the general reduce_window primitive, see
    # tests/test_reduce_window_general.py); its errors: mismatched dtypes, non-scalar inits
    with pytest.raises(TypeError, match="inconsistent dtypes"):
        lax.reduce_window(x, np.int32(1), lax.mul, (2, 2))
    with pytest.raises(TypeError, match=r"wrong number of window_dimensions .* operand shape "
                                        r"\(4, 4\) with window_dimensions \(2,\)"):
        lax.reduce_window(x, 0.0, lax.add, (2,))
    with pytest.raises(TypeError, match="inconsistent window_strides"):
        lax.reduce_window(x, 0.0, lax.add, (2, 2), (1,))
    with pytest.raises(TypeError, match="window_dimensions to be positive"):
        lax.reduce_window(x, 0.0, lax.add, (0, 2))
    with pytest.raises(TypeError, match="reduce_window_sum does not accept dtype bool"):
        lax.reduce_window(x > 0, 0, lax.add, (2, 2))
    with pytest.raises(TypeError, match="expected init_values to be scalars"):
        lax.reduce_window(x, np.zeros(2, np.float32), lax.add, (2, 2))


def test_select_and_window_errors():
    x = np.ones((4, 4), np.float32)
    with pytest.raises(TypeError, match=r"tangents and operand shapes must match, got "
                                        r"\(3, 4\) and \(4, 4\)"):
        windowed._select_and_gather_add(np.ones((3, 4), np.float32), x, ge_p, (2, 2), (1, 1),
                                      ((0, 0), (0, 0)), (1, 1), (1, 1))
    with pytest.raises(TypeError, match="select_prim ge .* or le"):
        windowed._select_and_gather_add(x, x, add_p, (2, 2), (1, 1), ((0, 0), (0, 0)),
                                      (1, 1), (1, 1))
    with pytest.raises(TypeError, match=r"source must have the shape of the windowed reduction "
                                        r"of operand, \(3, 3\)"):
        windowed._select_and_scatter_add(x, x, ge_p, (2, 2), (1, 1), ((0, 0), (0, 0)))


@pytest.mark.parametrize("shape,window", [((3, 4, 6, 6), (1, 1, 2, 2)), ((2, 7, 9), (1, 2, 3)),
                                          ((5, 8), (2, 2))])
@pytest.mark.parametrize("values", ["ties", "nan"])
def test_select_and_scatter_add_tiled_windows_match_jax(shape, window, values):
    # windows that tile the operand are lowered elementwise on CPU: same winners as XLA's
    # select-and-scatter (first maximum / minimum, NaN handling), zeros past the last window
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, shape).astype(np.float32)
    if values == "nan":
        x[tuple(int(rng.integers(0, n)) for n in shape)] = np.nan
    outs = tuple(n // w for n, w in zip(shape, window))
    src = rng.standard_normal(outs).astype(np.float32)
    pads = ((0, 0),) * len(shape)
    for select, jselect in ((ge_p, jlax.ge_p), (le_p, jlax.le_p)):
        want = jax_windowed._select_and_scatter_add(src, x, jselect, window, window, pads)

        def f(s, v, select=select):
            return windowed.select_and_scatter_add_p.bind(
                s, v, select_prim=select, window_dimensions=window, window_strides=window,
                padding=pads)

        np.testing.assert_array_equal(f(src, x), want)
        np.testing.assert_array_equal(xform.jit(f)(src, x), want)


def test_weight_gradient_keeps_a_large_operand_where_its_contracted_axes_lie():
    # h (time, batch, in) @ w (in, 1): w's gradient contracts h over (time, batch). As
    # dot_general(h, ct) XLA would copy all of h to put those axes last; dot_general(ct, h)
    # reads h as it lies and yields (1, in), whose transpose only moves an axis of size 1
    rng = np.random.default_rng(0)
    h = rng.standard_normal((5, 4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 1)).astype(np.float32)
    f = lambda w, h: xform.numpy.sin(lax.dot_general(h, w, (((2,), (0,)), ((), ())))).sum()  # noqa: E731
    closed = xform.make_jaxpr(xform.grad(f))(w, h)
    (dot,) = [e for e in _eqns(closed, "dot_general") if e.outvars[0].aval.size == 3]
    assert dot.invars[1] is closed.jaxpr.invars[1]  # h is the right operand, unmoved
    want = jax.grad(lambda w, h: jnp.sin(h @ w).sum())(w, h)
    np.testing.assert_allclose(xform.grad(f)(w, h), want, rtol=1e-5)
    np.testing.assert_allclose(xform.jit(xform.grad(f))(w, h), want, rtol=1e-5)
