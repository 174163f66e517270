"""Shape primitives: values against jax.lax (eager and under jit), jaxprs against JAX's, the
no-op cases that hand the operand back, the errors of the shape rules; derivatives (jvp,
transpose) and batching of every primitive, with the programs vmap emits."""

from __future__ import annotations

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
from xform import lax
from xform.core import check_jaxpr
from op_records import OpRecord, check_eager, check_grads_record, check_jit, check_vmap


def f32(rng, *shape):
    return jnp.asarray(rng.standard_normal(shape), jnp.float32)


def i32(rng, *shape):
    return jnp.asarray(rng.integers(-5, 5, shape), jnp.int32)


def rec(name, fun, ref, args_maker, **kw) -> OpRecord:
    return OpRecord(name, fun, ref, args_maker, **kw)


def same(name, make, args_maker, **kw) -> OpRecord:
    """A record whose xform function and jax reference are the same code on either module."""
    return rec(name, make(lax), make(jlax), args_maker, **kw)


RECORDS = [
    same("broadcast_in_dim", lambda m: lambda x: m.broadcast_in_dim(x, (4, 2, 3), (1, 2)),
         lambda r: [f32(r, 2, 3)]),
    same("broadcast_in_dim_size1", lambda m: lambda x: m.broadcast_in_dim(x, (2, 3), (0, 1)),
         lambda r: [f32(r, 1, 3)]),
    same("broadcast_in_dim_scalar", lambda m: lambda x: m.broadcast_in_dim(x, (2,), ()),
         lambda r: [1.5]),
    same("broadcast", lambda m: lambda x: m.broadcast(x, (2,)), lambda r: [i32(r, 3)]),
    same("broadcast_to_rank", lambda m: lambda x: m.broadcast_to_rank(x, 3),
         lambda r: [f32(r, 3)]),
    same("reshape", lambda m: lambda x: m.reshape(x, (3, 2)), lambda r: [f32(r, 2, 3)]),
    same("reshape_dimensions", lambda m: lambda x: m.reshape(x, (6,), (1, 0)),
         lambda r: [f32(r, 2, 3)]),
    same("reshape_weak_scalar", lambda m: lambda x: m.reshape(x, (1, 1)), lambda r: [2.0]),
    same("squeeze", lambda m: lambda x: m.squeeze(x, (0, -1)), lambda r: [f32(r, 1, 3, 1)]),
    same("expand_dims", lambda m: lambda x: m.expand_dims(x, (0, -1)), lambda r: [i32(r, 2)]),
    same("transpose", lambda m: lambda x: m.transpose(x, (2, 0, 1)),
         lambda r: [f32(r, 2, 3, 1)]),
    same("rev", lambda m: lambda x: m.rev(x, (0, 1)), lambda r: [f32(r, 2, 3)]),
    same("pad", lambda m: lambda x: m.pad(x, np.float32(-1), ((1, 2, 1), (0, -1, 0))),
         lambda r: [f32(r, 2, 3)]),
    same("pad_traced_value", lambda m: lambda x, v: m.pad(x, v, ((-1, 1, 2),)),
         lambda r: [i32(r, 3), jnp.int32(7)]),
    same("pad_weak", lambda m: lambda v: m.pad(m.full((2,), 1.0), v, ((1, 1, 0),)),
         lambda r: [0.5]),
    same("concatenate", lambda m: lambda x, y, z: m.concatenate([x, y, z], 1),
         lambda r: [f32(r, 2, 1), f32(r, 2, 3), f32(r, 2, 2)]),
    same("split", lambda m: lambda x: m.split(x, (1, 0, 3), 1), lambda r: [f32(r, 2, 4)]),
    same("split_negative_axis", lambda m: lambda x: m.split(x, [2, 1], -2),
         lambda r: [i32(r, 3, 2)]),
    same("slice", lambda m: lambda x: m.slice(x, (0, 1), (2, 3)), lambda r: [f32(r, 2, 4)]),
    same("slice_strides", lambda m: lambda x: m.slice(x, (1, 0), (5, 3), (3, 2)),
         lambda r: [i32(r, 5, 3)]),
    same("slice_in_dim", lambda m: lambda x: m.slice_in_dim(x, -3, None, 2, axis=1),
         lambda r: [f32(r, 2, 4)]),
    same("index_in_dim", lambda m: lambda x: m.index_in_dim(x, -1, axis=0, keepdims=False),
         lambda r: [f32(r, 3, 2)]),
    same("dynamic_slice", lambda m: lambda x, i, j: m.dynamic_slice(x, (i, j), (2, 2)),
         lambda r: [f32(r, 3, 4), 1, jnp.int32(-1)]),
    same("dynamic_slice_clamped", lambda m: lambda x, i: m.dynamic_slice(x, (i, 5), (2, 2)),
         lambda r: [f32(r, 3, 4), -7]),
    same("dynamic_slice_array_indices",
         lambda m: lambda x, idx: m.dynamic_slice(x, idx, (1, 2)),
         lambda r: [f32(r, 3, 4), jnp.array([2, -2], jnp.int32)]),
    same("dynamic_slice_unsigned", lambda m: lambda x, i: m.dynamic_slice(x, (i,), (2,)),
         lambda r: [f32(r, 4), jnp.uint8(1)]),
    same("dynamic_slice_in_dim", lambda m: lambda x, i: m.dynamic_slice_in_dim(x, i, 2, 1),
         lambda r: [f32(r, 2, 4), -1]),
    same("dynamic_index_in_dim",
         lambda m: lambda x, i: m.dynamic_index_in_dim(x, i, 1, keepdims=False),
         lambda r: [f32(r, 2, 4), 3]),
    same("dynamic_update_slice",
         lambda m: lambda x, u, i: m.dynamic_update_slice(x, u, (i, 1)),
         lambda r: [f32(r, 3, 4), f32(r, 2, 2), -1]),
    same("dynamic_update_slice_in_dim",
         lambda m: lambda x, u, i: m.dynamic_update_slice_in_dim(x, u, i, axis=0),
         lambda r: [i32(r, 3, 2), i32(r, 1, 2), 9]),
    same("dynamic_update_index_in_dim",
         lambda m: lambda x, u, i: m.dynamic_update_index_in_dim(x, u, i, 1),
         lambda r: [f32(r, 2, 3), f32(r, 2), 1]),
    same("iota", lambda m: lambda: m.iota(np.float32, 4), lambda r: []),
    same("broadcasted_iota", lambda m: lambda: m.broadcasted_iota(np.int32, (2, 3), 1),
         lambda r: []),
    same("full", lambda m: lambda v: m.full((2, 3), v), lambda r: [1.5]),
    same("full_dtype", lambda m: lambda v: m.full((2,), v, np.int32), lambda r: [2.7]),
    same("full_strong", lambda m: lambda v: m.full((3,), v), lambda r: [jnp.int32(4)]),
    same("full_scalar_shape", lambda m: lambda: m.full((), 3), lambda r: []),
    same("full_like", lambda m: lambda x: m.full_like(x, 2), lambda r: [f32(r, 2, 3)]),
    same("full_like_weak", lambda m: lambda x: m.full_like(x, 2), lambda r: [1.0]),
    same("full_like_dtype_shape",
         lambda m: lambda x: m.full_like(x, 3, np.int32, (4,)), lambda r: [f32(r, 2)]),
    rec("zeros_like_array", lax.zeros_like_array, lambda x: jlax.full_like(x, 0),
        lambda r: [i32(r, 2, 2)]),
    # for the derivative and batching rules: size-1 and new dimensions broadcast at once,
    # padding differentiated in both operands, start indices that differ between examples
    same("broadcast_in_dim_grown_and_new",
         lambda m: lambda x: m.broadcast_in_dim(x, (2, 4, 3, 5), (0, 2, 3)),
         lambda r: [f32(r, 1, 3, 1)]),
    same("pad_both_operands", lambda m: lambda x, v: m.pad(x, v, ((-1, 2, 1), (1, -2, 0))),
         lambda r: [f32(r, 3, 4), jnp.float32(r.standard_normal())]),
    same("dynamic_slice_varying_index",
         lambda m: lambda x, i, j: m.dynamic_slice(x, (i, j), (2, 3)),
         lambda r: [f32(r, 4, 5), jnp.int32(r.integers(-5, 5)), jnp.int32(r.integers(-5, 5))]),
    same("dynamic_update_slice_varying_index",
         lambda m: lambda x, u, i: m.dynamic_update_slice(x, u, (1, i)),
         lambda r: [f32(r, 3, 5), f32(r, 2, 2), jnp.int32(r.integers(-6, 6))]),
]


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_eager(rec):
    check_eager(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_jit(rec):
    check_jit(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_jaxpr_typechecks(rec):
    check_jaxpr(xform.make_jaxpr(rec.fun)(*rec.make_args()))


# -- derivatives and batching of every record ------------------------------------------------
def _as_arrays(rec: OpRecord) -> OpRecord:
    """``rec`` with its scalar and jax.Array arguments as numpy arrays: check_vmap batches numpy
    arrays only (so Python int start indices become int32 arrays, batched too), and
    check_grads picks its tolerances from the arguments' dtype (a Python float reads as
    float64, far tighter than the float32 computation it feeds)."""
    def convert(a):
        if isinstance(a, (jax.Array, np.generic)):
            return np.asarray(a)
        if isinstance(a, float):
            return np.asarray(a, np.float32)
        if isinstance(a, int):
            return np.asarray(a, np.int32)
        return a
    make = rec.args_maker
    return dataclasses.replace(rec, args_maker=lambda r: [convert(a) for a in make(r)])


# Integer results have float0 tangents only: nothing to compare with finite differences.
_INTEGER_OUTPUT = {"full_dtype", "full_like_dtype_shape"}
GRAD_RECORDS = [r for r in RECORDS if r.name not in _INTEGER_OUTPUT]


@pytest.mark.parametrize("rec", GRAD_RECORDS, ids=lambda r: r.name)
def test_grads(rec):
    check_grads_record(_as_arrays(rec), order=2)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_vmap(rec):
    check_vmap(_as_arrays(rec))


# reverse mode against JAX's on the same inputs (the transpose rules, value for value)
VJP_CASES = [
    ("broadcast_in_dim", lambda m: lambda x: m.broadcast_in_dim(x, (2, 4, 3, 5), (0, 2, 3)),
     [(1, 3, 1)]),
    ("reshape_dimensions", lambda m: lambda x: m.reshape(x, (3, 4), (2, 0, 1)), [(2, 3, 2)]),
    ("squeeze", lambda m: lambda x: m.squeeze(x, (0, 2)), [(1, 3, 1)]),
    ("transpose", lambda m: lambda x: m.transpose(x, (2, 0, 1)), [(2, 3, 4)]),
    ("rev", lambda m: lambda x: m.rev(x, (1,)), [(2, 3)]),
    ("pad_negative", lambda m: lambda x, v: m.pad(x, v, ((-2, 1, 2), (3, -1, 0))),
     [(4, 3), ()]),
    ("pad_cut_to_nothing", lambda m: lambda x, v: m.pad(x, v, ((-2, -1, 0),)), [(3,), ()]),
    ("concatenate", lambda m: lambda x, y: m.concatenate([x, y, x], 0), [(1, 2), (3, 2)]),
    ("split_a_piece_unused",
     lambda m: lambda x: m.concatenate(m.split(x, (2, 1, 3), 0)[::2], 0) * 2.0, [(6, 2)]),
    ("slice_strides", lambda m: lambda x: m.slice(x, (1, 0), (6, 3), (3, 2)), [(7, 3)]),
    ("slice_empty", lambda m: lambda x: m.slice(x, (2,), (2,)), [(4,)]),
    ("dynamic_slice_clamped", lambda m: lambda x: m.dynamic_slice(x, (3, -9), (2, 2)),
     [(4, 3)]),
    ("dynamic_update_slice", lambda m: lambda x, u: m.dynamic_update_slice(x, u, (5, 1)),
     [(4, 3), (2, 2)]),
]


@pytest.mark.parametrize("make,shapes", [c[1:] for c in VJP_CASES],
                         ids=[c[0] for c in VJP_CASES])
def test_vjp_matches_jax(make, shapes):
    rng = np.random.default_rng(0)
    args = [f32(rng, *s) for s in shapes]
    out, pullback = xform.vjp(make(lax), *args)
    want_out, want_pullback = jax.vjp(make(jlax), *args)
    ct = f32(rng, *want_out.shape)
    for got, want in zip(pullback(ct), want_pullback(ct)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)


def test_jvp_index_operands_get_no_tangent():
    f = lambda x, i: lax.dynamic_slice(x, (i,), (2,))  # noqa: E731
    no_tangent = np.zeros((), jax.dtypes.float0)
    x, i = jnp.arange(5.0), jnp.int32(2)
    _, t = xform.jvp(f, (x, i), (jnp.ones(5), no_tangent))
    np.testing.assert_array_equal(np.asarray(t), [1.0, 1.0])
    jaxpr = xform.make_jaxpr(lambda x, i, t: xform.jvp(f, (x, i), (t, no_tangent))[1])(x, i, x)
    # the primal's slice and the tangent's, at the same (primal) index
    assert _ops(jaxpr).count("dynamic_slice") == 2


def test_grad_of_pad_value_counts_padded_places():
    f = lambda x, v: lax.reduce_sum(lax.pad(x, v, ((1, -1, 2),)), (0,))  # noqa: E731
    gx, gv = xform.grad(f, argnums=(0, 1))(jnp.ones(3), jnp.float32(0.0))
    # output: [v, x0, v, v, x1, v, v] (x2 cut off): x0 and x1 counted once, v five times
    np.testing.assert_array_equal(np.asarray(gx), [1.0, 1.0, 0.0])
    assert float(gv) == 5.0


def test_higher_order_through_dynamic_update_slice():
    def f(x):
        y = lax.dynamic_update_slice(x, lax.mul(x[:2], x[:2]), (1,))
        return lax.reduce_sum(lax.mul(y, y), (0,))
    jf = lambda x: jnp.sum(jlax.dynamic_update_slice(x, x[:2] ** 2, (1,)) ** 2)  # noqa: E731
    x = jnp.array([0.5, -1.0, 2.0, 3.0])
    np.testing.assert_allclose(xform.hessian(f)(x), jax.hessian(jf)(x), rtol=1e-5)


# -- the programs vmap emits ----------------------------------------------------------------
def _ops(jaxpr) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


def _rule_ops(f, in_axes, *args) -> list[str]:
    """The operations of ``vmap(f)`` without the final move of the batch axis to out_axes=0
    (vmap's, not the rules')."""
    jaxpr = xform.make_jaxpr(xform.vmap(f, in_axes=in_axes))(*args)
    eqns = list(jaxpr.eqns)
    if eqns and eqns[-1].primitive.name == "transpose" and eqns[-1].outvars[0] in \
            jaxpr.jaxpr.outvars:
        eqns.pop()
    return [e.primitive.name for e in eqns]


def _vmap_ops(make, in_axes, *args):
    got = xform.make_jaxpr(xform.vmap(make(lax), in_axes=in_axes))(*args)
    want = jax.make_jaxpr(jax.vmap(make(jlax), in_axes=in_axes))(*args)
    return _ops(got), [e.primitive.name for e in want.jaxpr.eqns]


X3 = jnp.zeros((5, 3, 4), jnp.float32)
IDX = jnp.arange(5, dtype=jnp.int32)
VMAP_AS_JAX = [
    ("broadcast_in_dim", lambda m: lambda x: m.broadcast_in_dim(x, (2, 3, 4), (1, 2)), 0, [X3]),
    ("reshape", lambda m: lambda x: m.reshape(x, (12,)), 0, [X3]),
    ("pad", lambda m: lambda x: m.pad(x, 0.0, ((1, 1, 1), (0, -1, 0))), 0, [X3]),
    ("pad_batched_value", lambda m: lambda x, v: m.pad(x, v, ((1, 1, 1), (0, -1, 0))), 0,
     [X3, jnp.ones(5)]),
    ("concatenate_unbatched_operand", lambda m: lambda x, y: m.concatenate([x, y], 1),
     (0, None), [X3, X3[0]]),
    ("slice", lambda m: lambda x: m.slice(x, (1, 0), (3, 4), (1, 2)), 0, [X3]),
    ("split", lambda m: lambda x: m.split(x, (1, 3), 1), 0, [X3]),
    ("dynamic_slice_batched_indices",
     lambda m: lambda x, i: m.dynamic_slice(x, (i, 1), (2, 2)), 0, [X3, IDX]),
    ("dynamic_slice_only_indices_batched",
     lambda m: lambda x, i: m.dynamic_slice(x, (i, 1), (2, 2)), (None, 0), [X3[0], IDX]),
    ("dynamic_update_slice_batched_indices",
     lambda m: lambda x, u, i: m.dynamic_update_slice(x, u, (i, 1)), 0,
     [X3, jnp.ones((5, 2, 2)), IDX]),
]


@pytest.mark.parametrize("make,in_axes,args", [c[1:] for c in VMAP_AS_JAX],
                         ids=[c[0] for c in VMAP_AS_JAX])
def test_vmap_emits_what_jax_emits(make, in_axes, args):
    got, want = _vmap_ops(make, in_axes, *args)
    assert got == want


def test_vmap_batched_indices_become_one_gather_or_scatter():
    got, _ = _vmap_ops(lambda m: lambda x, i: m.dynamic_slice(x, (i, 1), (2, 2)), 0, X3, IDX)
    assert got.count("gather") == 1 and "dynamic_slice" not in got and "transpose" not in got
    # operand batched on its last axis: the scatter's batching dimension, left in place
    f = xform.vmap(lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 1)),
                   in_axes=(2, None, 0), out_axes=2)
    got = _ops(xform.make_jaxpr(f)(jnp.zeros((3, 4, 5)), jnp.ones((2, 2)), IDX))
    assert got.count("scatter") == 1 and "transpose" not in got


def test_vmap_unbatched_indices_stay_dynamic_slice():
    # one start position for the whole batch: slice all of the batch axis, no gather
    for make in (lambda x: lax.dynamic_slice(x, (1, 2), (2, 2)),
                 lambda x: lax.dynamic_update_slice(x, jnp.ones((2, 2)), (1, 2))):
        for axis in (0, 1, 2):
            ops = _rule_ops(make, axis, X3)
            assert "gather" not in ops and "scatter" not in ops and "transpose" not in ops


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vmap_moves_no_batch_axis_where_not_needed(axis):
    shape = [3, 4]
    shape.insert(axis, 6)
    x = jnp.zeros(shape, jnp.float32)
    for f in (lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1, 2)),
              lambda x: lax.squeeze(lax.expand_dims(x, (0,)), (0,)),
              lambda x: lax.rev(x, (1,)),
              lambda x: lax.pad(x, 0.0, ((1, 0, 1), (0, 0, 0))),
              lambda x: lax.slice(x, (0, 1), (3, 4)),
              lambda x: lax.concatenate([x, x], 1)):
        assert "transpose" not in _rule_ops(f, axis, x)
    # a leading or trailing batch axis keeps its place through a reshape
    if axis != 1:
        assert _rule_ops(lambda x: lax.reshape(x, (12,)), axis, x) == ["reshape"]


def test_vmap_transpose_keeps_batch_axis_in_place():
    x = jnp.zeros((2, 6, 3), jnp.float32)
    jaxpr = xform.make_jaxpr(xform.vmap(lambda x: lax.transpose(x, (1, 0)), in_axes=1,
                                        out_axes=1))(x)
    assert _ops(jaxpr) == ["transpose"]


def test_vmap_of_grad_and_grad_of_vmap_with_dynamic_indices():
    def f(x, i):
        y = lax.dynamic_slice(x, (i,), (2,))
        return lax.reduce_sum(lax.mul(y, y), (0,))

    def jf(x, i):
        return jnp.sum(jlax.dynamic_slice(x, (i,), (2,)) ** 2)

    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 5)), jnp.float32)
    i = jnp.array([0, 3, -1, 9], jnp.int32)
    np.testing.assert_allclose(xform.vmap(xform.grad(f))(x, i), jax.vmap(jax.grad(jf))(x, i),
                               rtol=1e-6)
    g = xform.grad(lambda x: lax.reduce_sum(xform.vmap(f)(x, i), (0,)))(x)
    want = jax.grad(lambda x: jnp.sum(jax.vmap(jf)(x, i)))(x)
    np.testing.assert_allclose(g, want, rtol=1e-6)


# -- jaxprs as JAX prints them --------------------------------------------------------------
def _text(jaxpr) -> str:
    # layout (where lines break) is the printer's business; compare the tokens. JAX prints the
    # sharding params xform leaves out.
    return " ".join(str(jaxpr).replace(" sharding=None", "").split())


JAXPR_CASES = [
    ("reshape", lambda m: lambda x: m.reshape(x, (3, 2))),
    ("reshape_dimensions", lambda m: lambda x: m.reshape(x, (3, 2), (1, 0))),
    ("broadcast_in_dim", lambda m: lambda x: m.broadcast_in_dim(x, (4, 2, 3), (1, 2))),
    ("expand_dims", lambda m: lambda x: m.expand_dims(x, (0, 2))),
    ("squeeze", lambda m: lambda x: m.squeeze(m.broadcast(x, (1,)), (0,))),
    ("transpose", lambda m: lambda x: m.transpose(x, (1, 0))),
    ("rev", lambda m: lambda x: m.rev(x, (0,))),
    ("slice", lambda m: lambda x: m.slice(x, (0, 1), (2, 3))),
    ("pad", lambda m: lambda x: m.pad(x, 0.0, ((1, -1, 1), (0, 0, 0)))),
    ("concatenate", lambda m: lambda x: m.concatenate([x, x], 0)),
    ("split", lambda m: lambda x: m.split(x, (1, 2), 1)),
    ("dynamic_slice", lambda m: lambda x: m.dynamic_slice(x, (x.shape[0] - 3, 0), (1, 2))),
    ("dynamic_update_slice",
     lambda m: lambda x: m.dynamic_update_slice(x, m.slice(x, (0, 0), (1, 3)), (1, 0))),
    ("iota", lambda m: lambda x: m.broadcasted_iota(np.float32, (2, 3), 1)),
    # no-ops hand the operand back: no equation
    ("reshape_same", lambda m: lambda x: m.reshape(x, (2, 3))),
    ("transpose_identity", lambda m: lambda x: m.transpose(x, (0, 1))),
    ("broadcast_in_dim_identity", lambda m: lambda x: m.broadcast_in_dim(x, (2, 3), (0, 1))),
    ("squeeze_nothing", lambda m: lambda x: m.squeeze(x, ())),
    ("concatenate_one", lambda m: lambda x: m.concatenate([x], 1)),
    ("full_scalar", lambda m: lambda x: m.full((), 3)),
]


@pytest.mark.parametrize("make", [c[1] for c in JAXPR_CASES], ids=[c[0] for c in JAXPR_CASES])
def test_jaxpr_matches_jax(make):
    x = jnp.zeros((2, 3), jnp.float32)
    got = _text(xform.make_jaxpr(make(lax))(x))
    want = _text(jax.make_jaxpr(make(jlax))(x))
    # an empty let prints as "let  in" in JAX; the whitespace is normalized above
    assert got == want


def test_dynamic_slice_traced_index_jaxpr_matches_jax():
    def make(m):
        return lambda x, i: m.dynamic_slice(x, (i, 0), (1, 2))
    x = jnp.zeros((2, 3), jnp.float32)
    for i in (1, jnp.int32(1)):  # weak (a Python int traced) and strong indices
        assert _text(xform.make_jaxpr(make(lax))(x, i)) == _text(jax.make_jaxpr(make(jlax))(x, i))


def test_noops_return_operand():
    x = jnp.zeros((2, 3))
    assert lax.reshape(x, (2, 3)) is x
    assert lax.transpose(x, (0, 1)) is x
    assert lax.squeeze(x, ()) is x
    assert lax.expand_dims(x, ()) is x
    assert lax.concatenate([x], 0) is x
    assert lax.broadcast_in_dim(x, (2, 3), (0, 1)) is x


def test_expand_dims_binds_broadcast_in_dim():
    jaxpr = xform.make_jaxpr(lambda x: lax.expand_dims(x, (1,)))(jnp.zeros(3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["broadcast_in_dim"]


def test_broadcast_in_dim_hides_shape_param():
    text = str(xform.make_jaxpr(lambda x: lax.broadcast_in_dim(x, (2, 3), (1,)))(jnp.zeros(3)))
    assert "shape=" not in text and "broadcast_dimensions=(1,)" in text


# -- errors ---------------------------------------------------------------------------------
X = jnp.zeros((2, 3), jnp.float32)


def _raises(exc, pattern, fun, *args):
    """The error is raised eagerly and while tracing."""
    with pytest.raises(exc, match=pattern):
        fun(*args)
    with pytest.raises(exc, match=pattern):
        xform.make_jaxpr(fun)(*args)


def test_reshape_incompatible_size():
    _raises(TypeError, re.escape("shape (2, 3) (size 6) into new_sizes (4, 2) (size 8)"),
            lambda x: lax.reshape(x, (4, 2)), X)


def test_reshape_bad_dimensions():
    _raises(TypeError, "reshape dimensions must be a permutation",
            lambda x: lax.reshape(x, (3, 2), (0, 0)), X)


def test_reshape_negative_size():
    _raises(TypeError, "nonnegative", lambda x: lax.reshape(x, (-1, 6)), X)


def test_broadcast_in_dim_wrong_length():
    _raises(TypeError, re.escape("broadcast_dimensions (1,) for operand of shape (2, 3)"),
            lambda x: lax.broadcast_in_dim(x, (4, 2, 3), (1,)), X)


def test_broadcast_in_dim_size_mismatch():
    _raises(TypeError, re.escape("operand dimension 0 (size 2) maps to output dimension 0 "
                                 "(size 4)"),
            lambda x: lax.broadcast_in_dim(x, (4, 2, 3), (0, 2)), X)


def test_broadcast_in_dim_out_of_range_and_duplicates():
    _raises(TypeError, "subset of output dimensions",
            lambda x: lax.broadcast_in_dim(x, (4, 2, 3), (1, 3)), X)
    _raises(TypeError, "must not contain duplicates",
            lambda x: lax.broadcast_in_dim(x, (2, 2, 3), (1, 1)), X)


def test_concatenate_mismatched_shapes():
    y = jnp.zeros((2, 4), jnp.float32)
    _raises(TypeError, re.escape("operand 1 has size 4 in dimension 1 where operand 0 has "
                                 "size 3"),
            lambda x, y: lax.concatenate([x, y, x], 0), X, y)


def test_concatenate_other_errors():
    _raises(TypeError, "same dtypes, got float32, int32",
            lambda x: lax.concatenate([x, jnp.zeros((2, 3), jnp.int32)], 0), X)
    _raises(TypeError, "different numbers of dimensions",
            lambda x: lax.concatenate([x, jnp.zeros(3)], 0), X)
    _raises(TypeError, "dimension out of bounds: dimension 2",
            lambda x: lax.concatenate([x, x], 2), X)
    with pytest.raises(ValueError, match="non-empty"):
        lax.concatenate([], 0)


def test_slice_out_of_bounds():
    _raises(TypeError, re.escape("dimension 0 has size 2 but the limit is 3"),
            lambda x: lax.slice(x, (0, 0), (3, 3)), X)
    _raises(TypeError, "start_indices must have every element be nonnegative",
            lambda x: lax.slice(x, (-1, 0), (2, 3)), X)
    _raises(TypeError, "greater than or equal to start_indices",
            lambda x: lax.slice(x, (2, 0), (1, 3)), X)
    _raises(TypeError, "strides must be positive",
            lambda x: lax.slice(x, (0, 0), (2, 3), (0, 1)), X)
    _raises(TypeError, "start_indices must have length equal",
            lambda x: lax.slice(x, (0,), (2,)), X)


def test_index_in_dim_out_of_bounds():
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 2"):
        lax.index_in_dim(X, 3)


def test_transpose_bad_permutation():
    for perm in ((0, 0), (0,), (0, 2), (-1, 0)):
        _raises(TypeError, re.escape(f"got permutation {perm} for operand shape (2, 3)"),
                lambda x, perm=perm: lax.transpose(x, perm), X)


def test_dynamic_slice_sizes_too_large():
    _raises(TypeError, re.escape("slice_sizes (3, 3) for operand shape (2, 3): dimension 0 has "
                                 "size 2 but the slice asks for 3"),
            lambda x: lax.dynamic_slice(x, (0, 0), (3, 3)), X)
    _raises(TypeError, "greater than or equal to zero",
            lambda x: lax.dynamic_slice(x, (0, 0), (-1, 3)), X)


def test_dynamic_slice_index_errors():
    _raises(ValueError, "got 1 start indices for an operand of shape",
            lambda x: lax.dynamic_slice(x, (0,), (1, 1)), X)
    _raises(TypeError, "integers of the same type, got: float32, int32",
            lambda x: lax.dynamic_slice(x, (jnp.float32(0), 0), (1, 1)), X)
    _raises(TypeError, "integers of the same type, got: uint8, int32",
            lambda x: lax.dynamic_slice(x, (jnp.uint8(0), 0), (1, 1)), X)
    with pytest.raises(ValueError, match="allow_negative_indices=False"):
        lax.dynamic_slice(X, (-1, 0), (1, 1), allow_negative_indices=False)


def test_dynamic_update_slice_errors():
    _raises(TypeError, "update shape must be smaller than operand shape",
            lambda x: lax.dynamic_update_slice(x, jnp.zeros((3, 3)), (0, 0)), X)
    _raises(TypeError, "same rank",
            lambda x: lax.dynamic_update_slice(x, jnp.zeros(3), (0, 0)), X)
    _raises(TypeError, "same dtypes, got float32, int32",
            lambda x: lax.dynamic_update_slice(x, jnp.zeros((1, 3), jnp.int32), (0, 0)), X)


def test_squeeze_and_expand_dims_errors():
    _raises(ValueError, "axis 0 has size 2", lambda x: lax.squeeze(x, (0,)), X)
    _raises(ValueError, "axis 5 is out of bounds", lambda x: lax.squeeze(x, (5,)), X)
    _raises(ValueError, "repeated axis", lambda x: lax.expand_dims(x, (0, 0)), X)
    _raises(ValueError, "axis 4 is out of bounds", lambda x: lax.expand_dims(x, (4,)), X)


def test_rev_errors():
    _raises(TypeError, "rev dimensions must be unique", lambda x: lax.rev(x, (0, 0)), X)
    _raises(TypeError, re.escape("got dimensions (2,)"), lambda x: lax.rev(x, (2,)), X)


def test_pad_errors():
    config = ((0, 0, 0), (0, 0, 0))
    _raises(TypeError, "same dtype: got float32 and int32",
            lambda x: lax.pad(x, 0, config), X)
    _raises(ValueError, "padding_value must be a scalar",
            lambda x: lax.pad(x, jnp.zeros(2), config), X)
    _raises(ValueError, "length of padding_config",
            lambda x: lax.pad(x, 0.0, ((0, 0, 0),)), X)
    _raises(ValueError, "interior padding",
            lambda x: lax.pad(x, 0.0, ((0, 0, -1), (0, 0, 0))), X)
    _raises(ValueError, re.escape("result shape (-1, 3)"),
            lambda x: lax.pad(x, 0.0, ((-3, 0, 0), (0, 0, 0))), X)


def test_iota_and_full_errors():
    with pytest.raises(ValueError, match="iota dimension must be between"):
        lax.broadcasted_iota(np.int32, (2, 3), 2)
    with pytest.raises(TypeError, match="iota does not accept dtype bool"):
        lax.iota(np.bool_, 3)
    with pytest.raises(TypeError, match=re.escape("scalar fill_value, got fill_value.shape (2,)")):
        lax.full((2, 3), jnp.zeros(2))


def test_traced_static_argument_is_a_concretization_error():
    with pytest.raises(xform.core.ConcretizationTypeError):
        xform.make_jaxpr(lambda x, n: lax.reshape(x, (n, 3)))(X, 2)
