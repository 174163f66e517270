"""Gather and the scatter family against jax.lax on the same inputs, eager and under jit."""


import jax
import numpy as np
import pytest
from jax import lax as jlax
from op_records import OpRecord, check_eager, check_jit

import xform
from xform import lax

GDN = jlax.GatherDimensionNumbers
SDN = jlax.ScatterDimensionNumbers


def _f32(*shape):
    return lambda rng: rng.uniform(-2.0, 2.0, shape).astype(np.float32)


def _i32(*shape, lo=-5, hi=6):
    return lambda rng: rng.integers(lo, hi, shape).astype(np.int32)


def _const(value, dtype=np.int32):
    return lambda rng: np.asarray(value, dtype)


def _args(*makers):
    return lambda rng: [m(rng) for m in makers]


def _gather(dn, slice_sizes, **kw):
    """(xform, jax) pair of ``gather(x, idx)`` closures with the static arguments bound."""
    return (lambda x, i: lax.gather(x, i, dn, slice_sizes, **kw),
            lambda x, i: jlax.gather(x, i, dn, slice_sizes, **kw))


def _gather_record(name, dn, slice_sizes, makers, **kw):
    fun, ref = _gather(dn, slice_sizes, **kw)
    return OpRecord(name, fun, ref, _args(*makers))


def _scatter_record(name, public, dn, makers, **kw):
    fun, ref = getattr(lax, public), getattr(jlax, public)
    return OpRecord(name, lambda x, i, u: fun(x, i, u, dn, **kw),
                    lambda x, i, u: ref(x, i, u, dn, **kw), _args(*makers))


# numpy-style indexing written as gathers
TAKE_ROW = GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))   # x[idx]
POINT = GDN(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))         # x[i]
POINT_2D = GDN(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(0, 1))  # x[i, j]
ROWS_SLICE = GDN(offset_dims=(0, 1), collapsed_slice_dims=(), start_index_map=(0,))  # x[a:a+n]
COLS_SLICE = GDN(offset_dims=(0, 1), collapsed_slice_dims=(), start_index_map=(1,))  # x[:, a:]
TAKE_2D = GDN(offset_dims=(2,), collapsed_slice_dims=(0,), start_index_map=(0,))     # x[idx2d]
# per-row take: out[b, k] = x[b, idx[b, k]], with batching dims (as vmap produces)
PER_ROW = GDN(offset_dims=(), collapsed_slice_dims=(1,), start_index_map=(1,),
              operand_batching_dims=(0,), start_indices_batching_dims=(0,))

GATHER_RECORDS = [
    _gather_record("gather_int_index", POINT, (1,), [_f32(5), _const([3])]),
    _gather_record("gather_index_array", TAKE_ROW, (1, 3),
                   [_f32(5, 3), _const([[4], [0], [2], [0]])]),
    _gather_record("gather_2d_indices", TAKE_2D, (1, 3),
                   [_f32(5, 3), _const([[[1], [4], [1]], [[0], [3], [2]]])]),
    _gather_record("gather_point_2d", POINT_2D, (1, 1), [_f32(4, 5), _const([[0, 1], [3, 4]])]),
    _gather_record("gather_slice_rows", ROWS_SLICE, (2, 3), [_f32(5, 3), _const([1])]),
    _gather_record("gather_slice_cols", COLS_SLICE, (5, 2), [_f32(5, 3), _const([1])]),
    _gather_record("gather_i32_operand", TAKE_ROW, (1, 2), [_i32(3, 2), _const([[2], [1]])]),
    _gather_record("gather_batching_dims", PER_ROW, (1, 1),
                   [_f32(2, 4), _const([[[3], [0], [3]], [[1], [2], [0]]])]),
    _gather_record("gather_clip", TAKE_ROW, (1, 3), [_f32(4, 3), _const([[-2], [1], [9]])],
                   mode="clip"),
    _gather_record("gather_fill_default", TAKE_ROW, (1, 3),
                   [_f32(4, 3), _const([[-2], [1], [4]])], mode="fill"),
    _gather_record("gather_fill_i32", TAKE_ROW, (1, 2), [_i32(4, 2), _const([[7], [1]])],
                   mode=jlax.GatherScatterMode.FILL_OR_DROP),
    _gather_record("gather_fill_value", TAKE_ROW, (1, 3),
                   [_f32(4, 3), _const([[5], [0]])], mode="fill", fill_value=-1.0),
    _gather_record("gather_promise_in_bounds", TAKE_ROW, (1, 3),
                   [_f32(4, 3), _const([[3], [0]])], mode="promise_in_bounds",
                   indices_are_sorted=False, unique_indices=True),
    _gather_record("gather_sorted_unique", POINT, (1,), [_f32(6), _const([[0], [2], [5]])],
                   indices_are_sorted=True, unique_indices=True),
]

# scatter into a vector at positions 1, 3, 1 (a duplicate): x.at[idx].op(u)
SCATTER_1D = SDN(update_window_dims=(), inserted_window_dims=(0,),
                 scatter_dims_to_operand_dims=(0,))
# scatter rows of a matrix: x.at[idx, :].op(u)
SCATTER_ROWS = SDN(update_window_dims=(1,), inserted_window_dims=(0,),
                   scatter_dims_to_operand_dims=(0,))
# per-row scatter with batching dims: x[b, idx[b, k]] op= u[b, k]
SCATTER_PER_ROW = SDN(update_window_dims=(), inserted_window_dims=(1,),
                      scatter_dims_to_operand_dims=(1,), operand_batching_dims=(0,),
                      scatter_indices_batching_dims=(0,))
DUP = _const([[1], [3], [1]])
DUP_ROWS = _const([[2], [0], [2]])


def _same_at_duplicates(rng):
    # plain scatter leaves the winner among repeated indices unspecified: give them one value
    u = rng.uniform(-2.0, 2.0, 3).astype(np.float32)
    u[2] = u[0]
    return u


SCATTER_RECORDS = (
    [_scatter_record(f"{p}_duplicates", p, SCATTER_1D, [_f32(5), DUP, _f32(3)])
     for p in ("scatter_add", "scatter_mul", "scatter_min", "scatter_max")]
    + [_scatter_record(f"{p}_rows_duplicates", p, SCATTER_ROWS, [_f32(4, 2), DUP_ROWS, _f32(3, 2)])
       for p in ("scatter_add", "scatter_mul", "scatter_min", "scatter_max")]
    + [_scatter_record(f"{p}_i32_duplicates", p, SCATTER_1D, [_i32(5), DUP, _i32(3)])
       for p in ("scatter_add", "scatter_mul", "scatter_min", "scatter_max")]
    + [
        _scatter_record("scatter_duplicates", "scatter", SCATTER_1D,
                        [_f32(5), DUP, _same_at_duplicates]),
        _scatter_record("scatter_rows", "scatter", SCATTER_ROWS,
                        [_f32(4, 2), _const([[3], [0]]), _f32(2, 2)]),
        _scatter_record("scatter_add_batching_dims", "scatter_add", SCATTER_PER_ROW,
                        [_f32(2, 4), _const([[[3], [0], [3]], [[1], [1], [0]]]), _f32(2, 3)]),
        _scatter_record("scatter_add_window_smaller", "scatter_add", SCATTER_ROWS,
                        [_f32(4, 3), _const([[1], [1]]), _f32(2, 2)]),
        _scatter_record("scatter_add_clip", "scatter_add", SCATTER_1D,
                        [_f32(5), _const([[-3], [7], [2]]), _f32(3)], mode="clip"),
        _scatter_record("scatter_add_fill", "scatter_add", SCATTER_1D,
                        [_f32(5), _const([[-3], [7], [2]]), _f32(3)], mode="fill"),
        _scatter_record("scatter_drop", "scatter", SCATTER_1D,
                        [_f32(5), _const([[9], [2]]), _f32(2)], mode="drop"),
        _scatter_record("scatter_max_promise_in_bounds", "scatter_max", SCATTER_1D,
                        [_f32(5), DUP, _f32(3)], mode="promise_in_bounds"),
        _scatter_record("scatter_mul_sorted_unique", "scatter_mul", SCATTER_1D,
                        [_f32(5), _const([[0], [2], [4]]), _f32(3)],
                        indices_are_sorted=True, unique_indices=True),
        OpRecord("scatter_add_weak_scalar_update",
                 lambda x, i: lax.scatter_add(x, i, 2.0, SCATTER_1D),
                 lambda x, i: jlax.scatter_add(x, i, 2.0, SCATTER_1D),
                 _args(_f32(3), _const([1]))),
    ]
)

RECORDS = GATHER_RECORDS + SCATTER_RECORDS


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_eager(rec):
    check_eager(rec)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_jit(rec):
    check_jit(rec)


# -- printed jaxprs ----------------------------------------------------------------------------
X34 = np.zeros((3, 4), np.float32)
IDX = np.array([[0], [2]], np.int32)


def _jaxpr_texts(make):
    got = str(xform.make_jaxpr(make(lax))(*ARGS[make]))
    want = str(jax.make_jaxpr(make(jlax))(*ARGS[make]))
    return got, want


def _gather_fn(mod):
    return lambda x, i: mod.gather(x, i, TAKE_ROW, (1, 4), mode="clip")


def _scatter_add_fn(mod):
    return lambda x, i, u: mod.scatter_add(x, i, u, SCATTER_ROWS)


ARGS = {_gather_fn: (X34, IDX), _scatter_add_fn: (X34, IDX, np.ones((2, 4), np.float32))}


@pytest.mark.parametrize("make", [_gather_fn, _scatter_add_fn], ids=["gather", "scatter_add"])
def test_jaxpr_matches_jax(make):
    got, want = _jaxpr_texts(make)
    assert got == want


def test_default_modes_match_jax():
    gj = xform.make_jaxpr(lambda x, i: lax.gather(x, i, TAKE_ROW, (1, 4)))(X34, IDX)
    assert gj.eqns[0].params["mode"] == jlax.GatherScatterMode.PROMISE_IN_BOUNDS
    assert gj.eqns[0].params["fill_value"] is None
    fj = xform.make_jaxpr(lambda x, i: lax.gather(x, i, TAKE_ROW, (1, 4), mode="fill"))(X34, IDX)
    assert np.isnan(fj.eqns[0].params["fill_value"])
    sj = xform.make_jaxpr(lambda x, i, u: lax.scatter(x, i, u, SCATTER_ROWS))(
        X34, IDX, np.ones((2, 4), np.float32))
    params = sj.eqns[0].params
    assert params["mode"] == jlax.GatherScatterMode.FILL_OR_DROP
    assert params["update_jaxpr"] is None and params["update_consts"] == ()


def test_update_jaxpr_is_shared():
    # one update jaxpr per (primitive, dtype), so eager calls hit the compile cache
    def mk():
        return xform.make_jaxpr(lambda x, i, u: lax.scatter_mul(x, i, u, SCATTER_ROWS))(
            X34, IDX, np.ones((2, 4), np.float32)).eqns[0].params["update_jaxpr"]
    assert mk() is mk()
    assert "mul" in str(mk())


# -- errors ------------------------------------------------------------------------------------
X = np.zeros((3, 4), np.float32)


def _both(fn, *args):
    """Run ``fn`` eagerly and under make_jaxpr: both must raise the same error."""
    return [lambda: fn(*args), lambda: xform.make_jaxpr(fn)(*args)]


@pytest.mark.parametrize("how", [0, 1], ids=["eager", "make_jaxpr"])
def test_gather_slice_sizes_rank(how):
    f = _both(lambda x, i: lax.gather(x, i, TAKE_ROW, (1,)), X, IDX)[how]
    with pytest.raises(TypeError, match=r"slice_sizes=\(1,\) has 1 entries but the operand of "
                                        r"shape \(3, 4\) has rank 2"):
        f()


@pytest.mark.parametrize("how", [0, 1], ids=["eager", "make_jaxpr"])
def test_gather_slice_size_too_large(how):
    f = _both(lambda x, i: lax.gather(x, i, TAKE_ROW, (1, 5)), X, IDX)[how]
    with pytest.raises(TypeError, match=r"slice_sizes\[1\]=5 is out of range for operand "
                                        r"dimension 1 of size 4"):
        f()


@pytest.mark.parametrize("how", [0, 1], ids=["eager", "make_jaxpr"])
def test_gather_float_indices(how):
    f = _both(lambda x, i: lax.gather(x, i, TAKE_ROW, (1, 4)), X,
              IDX.astype(np.float32))[how]
    with pytest.raises(ValueError, match="start_indices must have an integer dtype, got float32"):
        f()


def test_gather_collapsed_dim_size():
    with pytest.raises(TypeError, match=r"collapsed_slice_dims includes dimension 0, whose "
                                        r"slice size is 2"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, TAKE_ROW, (2, 4)))(X, IDX)


def test_gather_index_vector_length():
    with pytest.raises(TypeError, match=r"start_index_map=\(0,\) has 1 entries but the index "
                                        r"vectors .* have length 2"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, TAKE_ROW, (1, 4)))(
            X, np.zeros((2, 2), np.int32))


def test_gather_unsorted_offset_dims():
    dn = GDN(offset_dims=(1, 0), collapsed_slice_dims=(), start_index_map=(0,))
    with pytest.raises(TypeError, match=r"offset_dims=\(1, 0\) must be sorted"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, dn, (1, 4)))(X, np.zeros((1,), np.int32))


def test_gather_dims_not_accounted():
    dn = GDN(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    with pytest.raises(TypeError, match="every operand dimension must be either an offset"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, dn, (1, 4)))(X, IDX)


def test_gather_batching_size_mismatch():
    with pytest.raises(TypeError, match=r"operand batching dimensions \(0,\) have sizes \(3,\) "
                                        r"but the indices batching dimensions \(0,\) have "
                                        r"sizes \(2,\)"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, PER_ROW, (1, 1)))(
            X, np.zeros((2, 3, 1), np.int32))


def test_gather_batching_overlaps_collapsed():
    dn = GDN(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(1,),
             operand_batching_dims=(0,), start_indices_batching_dims=(0,))
    with pytest.raises(TypeError, match="share operand dimension"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, dn, (1, 1)))(
            X, np.zeros((3, 1), np.int32))


def test_gather_scalar_indices():
    with pytest.raises(TypeError, match="start_indices must have rank >= 1"):
        xform.make_jaxpr(lambda x, i: lax.gather(x, i, POINT, (1,)))(
            np.zeros(3, np.float32), np.int32(0))


def test_gather_wrong_dimension_numbers_type():
    with pytest.raises(TypeError, match="must be a jax.lax.GatherDimensionNumbers, got tuple"):
        lax.gather(X, IDX, ((1,), (0,), (0,)), (1, 4))


def test_gather_unknown_mode():
    with pytest.raises(ValueError, match="Unknown gather mode"):
        lax.gather(X, IDX, TAKE_ROW, (1, 4), mode="wrap")


@pytest.mark.parametrize("how", [0, 1], ids=["eager", "make_jaxpr"])
def test_scatter_updates_shape(how):
    f = _both(lambda x, i, u: lax.scatter_add(x, i, u, SCATTER_ROWS), X, IDX,
              np.ones((3, 4), np.float32))[how]
    with pytest.raises(TypeError, match=r"scatter_add: updates must have shape \(2, 4\) \(the "
                                        r"window dimensions \(1,\) may be smaller\) for an "
                                        r"operand of shape \(3, 4\), scatter_indices of shape "
                                        r"\(2, 1\) .* got updates of shape \(3, 4\)"):
        f()


def test_scatter_updates_window_too_large():
    with pytest.raises(TypeError, match=r"updates must have shape \(2, 4\).* got updates of "
                                        r"shape \(2, 5\)"):
        xform.make_jaxpr(lambda x, i, u: lax.scatter(x, i, u, SCATTER_ROWS))(
            X, IDX, np.ones((2, 5), np.float32))


def test_scatter_updates_rank():
    with pytest.raises(TypeError, match=r"scatter_max: updates must have shape \(2,\) .* got "
                                        r"updates of shape \(2, 4\)"):
        xform.make_jaxpr(lambda x, i, u: lax.scatter_max(x, i, u, SCATTER_1D))(
            np.zeros(5, np.float32), IDX, np.ones((2, 4), np.float32))


@pytest.mark.parametrize("how", [0, 1], ids=["eager", "make_jaxpr"])
def test_scatter_dtype_mismatch(how):
    f = _both(lambda x, i, u: lax.scatter_mul(x, i, u, SCATTER_ROWS), X, IDX,
              np.ones((2, 4), np.int32))[how]
    with pytest.raises(TypeError, match="scatter_mul requires operand and updates to have the "
                                        "same dtype, got float32 and int32"):
        f()


def test_scatter_float_indices():
    with pytest.raises(ValueError, match="scatter_indices must have an integer dtype"):
        xform.make_jaxpr(lambda x, i, u: lax.scatter_min(x, i, u, SCATTER_ROWS))(
            X, IDX.astype(np.float32), np.ones((2, 4), np.float32))


def test_scatter_index_map_out_of_range():
    dn = SDN(update_window_dims=(1,), inserted_window_dims=(0,),
             scatter_dims_to_operand_dims=(2,))
    with pytest.raises(TypeError, match=r"scatter_dims_to_operand_dims=\(2,\) has dimension 2, "
                                        r"out of range for an operand of shape \(3, 4\)"):
        xform.make_jaxpr(lambda x, i, u: lax.scatter(x, i, u, dn))(
            X, IDX, np.ones((2, 4), np.float32))


def test_scatter_window_size():
    with pytest.raises(TypeError, match="every operand dimension must be either a window"):
        xform.make_jaxpr(lambda x, i, u: lax.scatter(x, i, u, SCATTER_1D))(
            X, IDX, np.ones((2,), np.float32))


def test_scatter_wrong_dimension_numbers_type():
    with pytest.raises(TypeError, match="scatter_add: dimension_numbers must be a "
                                        "jax.lax.ScatterDimensionNumbers"):
        lax.scatter_add(X, IDX, np.ones((2, 4), np.float32), TAKE_ROW)
