"""Reductions, argmax/argmin, cumulative ops, reduce, sort and top_k against jax.lax on the same
inputs, eager and under jit; their shape and dtype errors."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from op_records import OpRecord, check_eager, check_grads_record, check_jit, check_vmap

import xform
from xform import lax


def _f32(*shape):
    return lambda rng: rng.uniform(-2.0, 2.0, shape).astype(np.float32)


def _i32(*shape, lo=-5, hi=6):
    return lambda rng: rng.integers(lo, hi, shape).astype(np.int32)


def _bool(*shape):
    return lambda rng: rng.integers(0, 2, shape).astype(np.bool_)


def _args(*makers):
    return lambda rng: [m(rng) for m in makers]


def _same_call(name, *args, **kwargs):
    """``(xform.lax.name, jax.lax.name)`` applied to the array arguments, with fixed extras."""
    return (lambda *xs: getattr(lax, name)(*xs, *args, **kwargs),
            lambda *xs: getattr(jlax, name)(*xs, *args, **kwargs))


def _rec(label, name, maker, *args, tol=1e-6, **kwargs):
    fun, ref = _same_call(name, *args, **kwargs)
    return OpRecord(label, fun, ref, _args(maker), tol=tol)


REDUCE_AXES = [(0,), (1,), (0, 1), (), (2, 0)]
CUMULATIVE = ["cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"]

RECORDS = (
    [_rec(f"{n}_f32_{axes}", n, _f32(2, 3, 4), axes, tol=1e-5)
     for n in ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod"] for axes in REDUCE_AXES]
    + [_rec(f"{n}_i32_{axes}", n, _i32(2, 3, 4, lo=-2, hi=3), axes)
       for n in ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and",
                 "reduce_or"] for axes in [(1,), (0, 2)]]
    + [_rec(f"{n}_bool_{axes}", n, _bool(3, 4), axes)
       for n in ["reduce_and", "reduce_or", "reduce_max", "reduce_min"] for axes in [(0,), (0, 1)]]
    + [_rec(f"{n}_{dt}_axis{axis}", n, mk(3, 4), axis, idt)
       for n in ["argmax", "argmin"] for dt, mk in [("f32", _f32), ("i32", _i32), ("bool", _bool)]
       for axis in [0, 1] for idt in [np.int32]]
    + [_rec("argmax_uint8_index", "argmax", _f32(5), 0, np.uint8)]
    + [_rec(f"{n}_f32_axis{axis}_rev{rev}", n, _f32(3, 4), axis, rev, tol=1e-5)
       for n in CUMULATIVE for axis in [0, 1] for rev in [False, True]]
    + [_rec(f"{n}_i32_rev{rev}", n, _i32(5, lo=-3, hi=4), 0, rev)
       for n in ["cumsum", "cumprod", "cummax", "cummin"] for rev in [False, True]]
    + [_rec(f"sort_f32_dim{d}", "sort", _f32(3, 4), dimension=d) for d in [0, 1, -1, -2]]
    + [_rec("sort_i32", "sort", _i32(6)), _rec("sort_bool", "sort", _bool(6)),
       _rec("sort_unstable", "sort", _f32(6), is_stable=False)]
    + [OpRecord(f"sort_two_operands_keys{nk}_dim{d}",
                lambda a, b, nk=nk, d=d: lax.sort((a, b), dimension=d, num_keys=nk),
                lambda a, b, nk=nk, d=d: jlax.sort((a, b), dimension=d, num_keys=nk),
                # few distinct keys so that ties exercise the second key
                _args(_i32(3, 4, lo=0, hi=2), _f32(3, 4)))
       for nk in [1, 2] for d in [0, 1]]
    + [OpRecord("sort_list_of_one", lambda a: lax.sort([a]), lambda a: jlax.sort([a]),
                _args(_f32(5))),
       OpRecord("sort_key_val", lax.sort_key_val, jlax.sort_key_val,
                _args(_f32(3, 4), _i32(3, 4))),
       OpRecord("sort_key_val_dim0", lambda k, v: lax.sort_key_val(k, v, 0),
                lambda k, v: jlax.sort_key_val(k, v, 0), _args(_i32(3, 4, lo=0, hi=2),
                                                              _f32(3, 4)))]
    + [_rec(f"top_k_{dt}_k{k}", "top_k", mk(3, 5), k)
       for dt, mk in [("f32", _f32), ("i32", _i32)] for k in [0, 1, 3, 5]]
    + [_rec("top_k_axis0", "top_k", _f32(4, 3), 2, axis=0),
       _rec("top_k_1d", "top_k", _f32(6), 4)]
    + [OpRecord(f"reduce_{c}_{dt}", lambda x, c=c, i=i: lax.reduce(x, i, getattr(lax, c), (0,)),
                lambda x, c=c, i=i: jlax.reduce(x, i, getattr(jlax, c), (0,)), _args(mk(3, 2)))
       for c, i, dt, mk in [("add", 0.0, "f32", _f32), ("mul", 1.0, "f32", _f32),
                            ("max", -np.inf, "f32", _f32), ("min", np.inf, "f32", _f32),
                            ("add", 0, "i32", _i32),
                            ("max", np.iinfo(np.int32).min, "i32", _i32),
                            ("bitwise_and", True, "bool", _bool),
                            ("bitwise_or", False, "bool", _bool),
                            ("bitwise_and", -1, "i32", _i32), ("max", False, "bool", _bool)]]
    + [OpRecord("reduce_jax_lax_computation", lambda x: lax.reduce(x, 0.0, jlax.add, (0, 1)),
                lambda x: jlax.reduce(x, 0.0, jlax.add, (0, 1)), _args(_f32(2, 3)))]
)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_eager(rec):
    check_eager(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_jit(rec):
    check_jit(rec)


# -- derivatives --------------------------------------------------------------------------------
def _inexact_outputs(rec: OpRecord) -> OpRecord:
    """``rec`` with its integer outputs (top_k's indices, sorted integer keys) dropped: their
    tangents are float0, which finite differences have nothing to compare with."""
    def fun(*args):
        out = rec.fun(*args)
        if not isinstance(out, (tuple, list)):
            return out
        return [o for o in out if jnp.issubdtype(o.dtype, jnp.inexact)]
    return dataclasses.replace(rec, fun=fun)


GRAD_RECORDS = [_inexact_outputs(r) for r in RECORDS if r.differentiable and not r.name.startswith(
    # integer outputs only: nothing to differentiate
    ("argmax", "argmin"))]


@pytest.mark.parametrize("rec", GRAD_RECORDS, ids=lambda r: r.name)
def test_grads(rec):
    check_grads_record(rec, order=2)


def _jax_and_xform_grads(f, x):
    """Gradients of ``sum(f(lax)(x) * w)`` by xform and by JAX, for a fixed weighting ``w``."""
    w = np.linspace(0.5, 1.5, np.size(f(jlax)(x))).reshape(np.shape(f(jlax)(x)))
    w = w.astype(np.float32)
    # under jit: eager higher-order derivatives compile one program per primitive, in both
    got = xform.jit(xform.grad(lambda x: lax.reduce_sum(lax.mul(f(lax)(x), w),
                                                        tuple(range(np.ndim(w))))))(x)
    want = jax.jit(jax.grad(lambda x: jnp.sum(f(jlax)(x) * w)))(x)
    return np.asarray(got), np.asarray(want)


TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [0.0, 0.0, 1.0, 1.0]], np.float32)
ZEROS = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.0], [1.5, -2.0, 0.5]], np.float32)


@pytest.mark.parametrize("f", [
    lambda L: lambda x: L.reduce_max(x, (1,)),
    lambda L: lambda x: L.reduce_min(x, (0, 1)),
    lambda L: lambda x: L.cummax(x, 1),
    lambda L: lambda x: L.cummin(x, 0, reverse=True),
    lambda L: lambda x: L.sort(x, 1),
    lambda L: lambda x: L.top_k(x, 3)[0],
], ids=["reduce_max", "reduce_min", "cummax", "cummin_rev", "sort", "top_k"])
def test_ties_get_jaxs_derivative(f):
    got, want = _jax_and_xform_grads(f, TIES)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("f", [
    lambda L: lambda x: L.reduce_prod(x, (1,)),
    lambda L: lambda x: L.reduce_prod(x, (0, 1)),
    lambda L: lambda x: L.cumprod(x, 1),
    lambda L: lambda x: L.cumprod(x, 0, reverse=True),
], ids=["reduce_prod", "reduce_prod_all", "cumprod", "cumprod_rev"])
def test_products_are_exact_at_zeros(f):
    got, want = _jax_and_xform_grads(f, ZEROS)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # and to second order: the hessian of the product at zeros is finite and JAX's
    axes = tuple(range(np.ndim(f(jlax)(ZEROS))))
    h = xform.jit(xform.hessian(lambda x: lax.reduce_sum(f(lax)(x), axes)))(ZEROS)
    h_want = jax.jit(jax.hessian(lambda x: jnp.sum(f(jlax)(x))))(ZEROS)
    np.testing.assert_allclose(np.asarray(h), np.asarray(h_want), rtol=1e-6)


def test_cumlogsumexp_derivative_is_finite_with_infinities():
    x = np.array([-np.inf, 0.0, 1.0, 100.0], np.float32)
    got, want = _jax_and_xform_grads(lambda L: lambda x: L.cumlogsumexp(x), x)
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-5)


def test_sort_tangents_follow_every_operand():
    keys = np.array([[2, 0, 1], [1, 1, 0]], np.int32)
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    b = a * 10
    f = lambda L: lambda a, b: L.sort((keys, a, b), dimension=1, num_keys=1)  # noqa: E731
    t = (np.ones_like(a), 2 * np.ones_like(a) + a)
    _, got = xform.jvp(f(lax), (a, b), t)
    _, want = jax.jvp(f(jlax), (a, b), t)
    for g, w in zip(got[1:], want[1:]):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w))
    assert got[0].dtype == jax.dtypes.float0


def test_zero_tangents_stay_symbolic():
    # argmax and the logical reductions do not depend differentiably on anything
    jaxpr = xform.make_jaxpr(lambda x: xform.jvp(
        lambda x: lax.convert_element_type(lax.argmax(x, 0, np.int32), np.float32),
        (x,), (x,)))(np.ones(3, np.float32))
    assert "mul" not in str(jaxpr) and "gather" not in str(jaxpr)


def test_transposes_of_the_linear_ones():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for f in [lambda L: lambda x: L.reduce_sum(x, (1,)),
              lambda L: lambda x: L.reduce_sum(x, (0, 1)),
              lambda L: lambda x: L.cumsum(x, 1),
              lambda L: lambda x: L.cumsum(x, 0, reverse=True)]:
        ct = np.asarray(f(jlax)(x)) + 1.0
        got = xform.linear_transpose(f(lax), x)(ct)
        want = jax.linear_transpose(f(jlax), x)(ct)
        np.testing.assert_allclose(np.asarray(got[0]), np.asarray(want[0]))


# -- batching -----------------------------------------------------------------------------------
@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_vmap(rec):
    check_vmap(rec)


def _ops(jaxpr) -> list:
    return [e.primitive.name for e in jaxpr.jaxpr.eqns]


# (function, in_axes, out_axes): where the batch axis lands without moving it
@pytest.mark.parametrize("f,in_axes,out_axes", [
    (lambda L: lambda x: L.reduce_sum(x, (0,)), 1, 0),
    (lambda L: lambda x: L.reduce_max(x, (1,)), 0, 0),
    (lambda L: lambda x: L.reduce_prod(x, (0,)), 2, 1),
    (lambda L: lambda x: L.argmin(x, 1, np.int32), 2, 1),
    (lambda L: lambda x: L.cumsum(x, 0), 1, 1),
    (lambda L: lambda x: L.cumlogsumexp(x, 1, reverse=True), 0, 0),
    (lambda L: lambda x: L.sort(x, 0), 1, 1),
    (lambda L: lambda x: L.top_k(x, 2), 2, 2),
], ids=["reduce_sum", "reduce_max", "reduce_prod", "argmin", "cumsum", "cumlogsumexp", "sort",
        "top_k"])
def test_vmap_shifts_axes_and_leaves_the_batch_axis_in_place(f, in_axes, out_axes):
    x = np.ones((3, 4, 5), np.float32)
    got = xform.make_jaxpr(xform.vmap(f(lax), in_axes=in_axes, out_axes=out_axes))(x)
    want = jax.make_jaxpr(jax.vmap(f(jlax), in_axes=in_axes, out_axes=out_axes))(x)
    assert _ops(got) == [e.primitive.name for e in want.jaxpr.eqns]
    assert len(_ops(got)) == 1


def test_vmap_sort_broadcasts_only_the_unbatched_operand():
    k, v = np.ones((3, 4), np.float32), np.ones(3, np.int32)
    f = lambda L: lambda k, v: L.sort_key_val(k, v)  # noqa: E731
    got = xform.make_jaxpr(xform.vmap(f(lax), in_axes=(1, None), out_axes=1))(k, v)
    want = jax.make_jaxpr(jax.vmap(f(jlax), in_axes=(1, None), out_axes=1))(k, v)
    assert _ops(got) == [e.primitive.name for e in want.jaxpr.eqns] == ["broadcast_in_dim",
                                                                          "sort"]


def test_per_example_gradients_through_sort_and_reductions():
    x = np.random.default_rng(0).uniform(-1, 1, (4, 5)).astype(np.float32)

    def loss(L, S):
        return lambda x: S(L.top_k(L.sort(x), 3)[0] * L.cumprod(x)[:3]) + L.reduce_max(x, (0,))
    got = xform.jit(xform.vmap(xform.grad(loss(lax, lambda y: lax.reduce_sum(y, (0,))))))(x)
    want = jax.jit(jax.vmap(jax.grad(loss(jlax, jnp.sum))))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5)


def test_weak_type_is_kept_as_in_jax():
    w = jlax.broadcast(1.0, (3, 4))  # a weakly typed f32 array
    for f in [lambda L: L.reduce_sum(w, (0,)), lambda L: L.cumsum(w, 1),
              lambda L: L.argmax(w, 0, np.int32), lambda L: L.sort(w), lambda L: L.top_k(w, 2)]:
        got, want = f(lax), f(jlax)
        for g, e in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            assert (g.dtype, g.weak_type) == (e.dtype, e.weak_type)


def test_sort_returns_the_structure_it_was_given():
    x = jnp.array([3.0, 1.0, 2.0])
    assert isinstance(lax.sort(x), jax.Array)
    assert isinstance(lax.sort([x, x]), tuple) and len(lax.sort([x, x])) == 2
    assert isinstance(lax.sort((x,)), tuple)


@pytest.mark.parametrize("f", [
    lambda L: lambda x: L.reduce_sum(x, (0, 1)),
    lambda L: lambda x: L.reduce_max(x, (1,)),
    lambda L: lambda x: L.reduce_and(L.gt(x, 0.0), (1,)),
    lambda L: lambda x: L.argmax(x, 1, np.int32),
    lambda L: lambda x: L.argmin(x, 0, np.int32),
    lambda L: lambda x: L.cumsum(x, 1, reverse=True),
    lambda L: lambda x: L.cumlogsumexp(x),
    lambda L: lambda x: L.sort((x, x), dimension=0, num_keys=2),
    lambda L: lambda x: L.sort(x),
    lambda L: lambda x: L.sort_key_val(x, x),
    lambda L: lambda x: L.top_k(x, 2),
    lambda L: lambda x: L.reduce(x, 1.0, L.mul, (0,)),
])
def test_jaxpr_text_matches_jax(f):
    x = jnp.ones((3, 4))
    want = str(jax.make_jaxpr(f(jlax))(x)).replace(" out_sharding=None", "")
    got = str(xform.make_jaxpr(f(lax))(x))
    if "reduce_sum" in want:  # the omitted param changes where JAX breaks the line
        got, want = " ".join(got.split()), " ".join(want.split())
    assert got == want


# -- errors -----------------------------------------------------------------------------------
X = np.ones((3, 4), np.float32)


def test_reduction_axes_errors():
    with pytest.raises(ValueError, match=r"reduce_sum: axes \(2,\) are out of range for an "
                                         r"operand of shape \(3, 4\)"):
        lax.reduce_sum(X, (2,))
    with pytest.raises(ValueError, match=r"axes \(-1,\).*non-negative"):
        lax.reduce_max(X, (-1,))
    with pytest.raises(ValueError, match=r"reduce_min: axes \(0, 0\) repeat an axis.*\(3, 4\)"):
        lax.reduce_min(X, (0, 0))
    with pytest.raises(TypeError, match="axes must be a sequence of ints"):
        lax.reduce_sum(X, (0.5,))
    with pytest.raises(ValueError, match="out of range"):
        xform.make_jaxpr(lambda x: lax.reduce_prod(x, (5,)))(X)


def test_reduction_dtype_errors():
    with pytest.raises(TypeError, match="reduce_and .*requires a bool or integer operand, "
                                        "got float32"):
        lax.reduce_and(X, (0,))
    with pytest.raises(TypeError, match="reduce_or .*got complex64"):
        lax.reduce_or(X.astype(np.complex64), (0,))
    with pytest.raises(TypeError, match="reduce_sum does not accept dtype bool"):
        lax.reduce_sum(X > 0, (0,))
    with pytest.raises(TypeError, match="reduce_prod does not accept dtype bool"):
        lax.reduce_prod(X > 0, (0,))


def test_argmax_errors():
    with pytest.raises(TypeError, match="argmax: index_dtype must be an integer dtype, got "
                                        "float32"):
        lax.argmax(X, 0, np.float32)
    with pytest.raises(ValueError, match=r"argmin: axis 2 is out of range.*\(3, 4\)"):
        lax.argmin(X, 2, np.int32)
    with pytest.raises(ValueError, match=r"argmax: axis -1 .*non-negative"):
        lax.argmax(X, -1, np.int32)
    with pytest.raises(ValueError, match=r"non-empty reduced dimension.*\(0, 3\)"):
        lax.argmax(np.ones((0, 3), np.float32), 0, np.int32)
    with pytest.raises(TypeError, match="argmax does not accept dtype complex64"):
        lax.argmax(X.astype(np.complex64), 0, np.int32)


def test_cumulative_errors():
    with pytest.raises(ValueError, match=r"cumsum: axis 2 is out of range.*\(3, 4\)"):
        lax.cumsum(X, 2)
    with pytest.raises(ValueError, match="cummax: axis -1 .*non-negative"):
        lax.cummax(X, -1)
    with pytest.raises(TypeError, match="cumprod does not accept dtype bool"):
        lax.cumprod(X > 0)
    with pytest.raises(TypeError, match="cumlogsumexp does not accept dtype int32"):
        lax.cumlogsumexp(X.astype(np.int32))


def test_sort_errors():
    with pytest.raises(TypeError, match=r"sort operands must have equal shapes.*operand 0 of "
                                        r"shape \(3, 4\) and operand 1 of shape \(4, 3\)"):
        lax.sort((X, X.T))
    with pytest.raises(ValueError, match=r"num_keys=3 must be between 1 and the number of "
                                         r"operands \(2\)"):
        lax.sort((X, X), num_keys=3)
    with pytest.raises(ValueError, match=r"sort: dimension 2 is out of range.*\(3, 4\)"):
        lax.sort(X, dimension=2)
    with pytest.raises(ValueError, match="dimension -3 is out of range"):
        xform.make_jaxpr(lambda x: lax.sort(x, dimension=-3))(X)
    with pytest.raises(TypeError, match="empty sequence"):
        lax.sort([])


def test_top_k_errors():
    with pytest.raises(ValueError, match=r"top_k: k=5 is larger than the size 4 of axis 1 .*"
                                         r"\(3, 4\); pass k <= 4"):
        lax.top_k(X, 5)
    with pytest.raises(ValueError, match="k must be non-negative, got k=-1"):
        lax.top_k(X, -1)
    with pytest.raises(ValueError, match="rank >= 1"):
        lax.top_k(np.float32(1.0), 1)
    with pytest.raises(ValueError, match="top_k does not accept complex"):
        lax.top_k(X.astype(np.complex64), 1)


def test_reduce_beyond_the_monoids_matches_jax():
    # a non-identity init, several operands or a traced init bind the general reduce primitive
    for args in [(X, np.float32(1.0), lax.add), (X, np.float32(0.0), jlax.max)]:
        np.testing.assert_allclose(lax.reduce(*args, (0,)), jlax.reduce(*args, (0,)),
                                   rtol=1e-6)
    pair = lax.reduce((X, X), (np.float32(0), np.float32(0)),
                      lambda a, b: (a[0] + b[0], a[1] + b[1]), (0,))
    np.testing.assert_allclose(pair[1], np.sum(X, 0), rtol=1e-5)
    traced = xform.jit(lambda x, i: lax.reduce(x, i, lax.add, (0,)))(X, np.float32(0))
    np.testing.assert_allclose(traced, np.sum(X, 0), rtol=1e-5)


# A weighted sum, reduce_sum(x * w) with w varying only along reduced axes, lowers as a
# contraction (XLA:CPU runs the fused elementwise form ~100x slower at rank >= 3); anything
# else keeps the reduction. Values are JAX's on the same program either way.
_X = np.random.default_rng(0).standard_normal((6, 5, 4)).astype(np.float32)


@pytest.mark.parametrize("weight,axes,contracts", [
    (lambda np_, x: x * np_.arange(6.0, dtype=np_.float32)[:, None, None], (0,), True),
    (lambda np_, x: np_.arange(6.0, dtype=np_.float32)[:, None, None] * x, (0, 2), True),
    (lambda np_, x: x * np_.cos(np_.arange(4.0, dtype=np_.float32)), (2,), True),
    (lambda np_, x: x * np_.cos(np_.arange(4.0, dtype=np_.float32)), (1, 2), True),
    (lambda np_, x: x * np_.arange(5.0, dtype=np_.float32)[:, None], (1,), True),
    (lambda np_, x: x * np_.ones((6, 1, 4), np_.float32) * 2.0, (0, 2), False),  # mul of a mul
    (lambda np_, x: x * np_.linspace(0, 1, 24, dtype=np_.float32).reshape(6, 1, 4), (0, 2),
     True),
    (lambda np_, x: x * np_.arange(5.0, dtype=np_.float32)[:, None], (0,), False),  # kept axis
    (lambda np_, x: x * np_.sin(x), (0, 1, 2), False),                              # no broadcast
    (lambda np_, x: x * 3.0, (0,), False),                                          # a scalar
])
def test_weighted_sums_lower_as_contractions(weight, axes, contracts):
    w = jnp.asarray(np.linspace(0.5, 1.5, 6, dtype=np.float32))
    f = lambda x, s: weight(xform.numpy, x * s[0]).sum(axes)  # noqa: E731
    g = lambda x, s: weight(jnp, x * s[0]).sum(axes)  # noqa: E731
    got = xform.jit(f)(_X, w)
    np.testing.assert_allclose(got, jax.jit(g)(_X, w), rtol=1e-5, atol=1e-5)
    assert ("dot_general" in xform.jit(f).lower(_X, w).as_text()) == contracts


def test_weighted_sum_of_per_example_gradients_matches_jax():
    # the DP-SGD pattern: per-example gradients (batch, in, out) scaled per example, summed
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 3)).astype(np.float32)
    xs = rng.standard_normal((5, 8)).astype(np.float32)

    def clipped_sum(np_, t, w, xs):
        g = t.vmap(t.grad(lambda w, x: np_.tanh(x @ w).sum()), in_axes=(None, 0))(w, xs)
        scale = np_.minimum(1.0, 0.5 / np_.sqrt(np_.sum(g ** 2, axis=(1, 2))))
        return np_.sum(g * scale[:, None, None], axis=0), np_.sum(g * g, axis=0)

    got = xform.jit(lambda w, xs: clipped_sum(xform.numpy, xform, w, xs))(w, xs)
    want = jax.jit(lambda w, xs: clipped_sum(jnp, jax, w, xs))(w, xs)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_integer_weighted_sums_stay_reductions():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    f = lambda x: (x * np.arange(2, dtype=np.int32)[:, None, None]).sum(0)  # noqa: E731
    np.testing.assert_array_equal(xform.jit(f)(x), jax.jit(f)(x))
    assert "dot_general" not in xform.jit(f).lower(x).as_text()
