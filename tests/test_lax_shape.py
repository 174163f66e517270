"""Shape primitives: values against jax.lax (eager and under jit), jaxprs against JAX's, the
no-op cases that hand the operand back, and the errors of the shape rules."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
from xform import lax
from xform.core import check_jaxpr
from op_records import OpRecord, check_eager, check_jit


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
