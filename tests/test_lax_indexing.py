"""Gather and the scatter family against jax.lax on the same inputs: eager, jit, derivatives
(finite differences and jax.grad), and vmap (a Python loop, and the batched program's ops)."""


import jax
import numpy as np
import pytest
from jax import lax as jlax
from op_records import OpRecord, check_eager, check_grads_record, check_jit, check_vmap

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


# Records whose derivatives are checked against finite differences, and why the others are not:
# - gather_fill_default: its out-of-bounds slices read NaN, so finite differences are NaN;
# - scatter_mul with repeated indices: JAX differentiates scatter_mul in its updates only for
#   unique indices (test_scatter_mul_* below cover the operand and the error).
NOT_DIFFERENTIATED = {"gather_fill_default", "scatter_mul_duplicates",
                      "scatter_mul_rows_duplicates"}
GRAD_RECORDS = [r for r in RECORDS if r.name not in NOT_DIFFERENTIATED]


@pytest.mark.parametrize("rec", GRAD_RECORDS, ids=lambda r: r.name)
def test_grads(rec):
    check_grads_record(rec, order=2)


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: r.name)
def test_vmap(rec):
    check_vmap(rec)


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


# -- vmap of indexing patterns, with different indices per example ----------------------------
B = 3
RNG = np.random.default_rng(7)
XB = RNG.uniform(-2, 2, (B, 5, 4)).astype(np.float32)        # B examples of f32[5, 4]
IB = RNG.integers(0, 5, (B, 6, 1)).astype(np.int32)          # B examples of 6 row indices
PB = np.stack([RNG.integers(0, 5, (B, 2)), RNG.integers(0, 4, (B, 2))], -1).astype(np.int32)
UB = RNG.uniform(-2, 2, (B, 6, 4)).astype(np.float32)        # B examples of 6 rows


def _take_rows(x, i):  # x[i[:, 0]]
    return lax.gather(x, i, TAKE_ROW, (1, x.shape[1]))


def _take_points(x, i):  # x[i[:, 0], i[:, 1]]
    return lax.gather(x, i, POINT_2D, (1, 1), mode="clip")


def _add_rows(x, i, u):  # x.at[i[:, 0]].add(u)
    return lax.scatter_add(x, i, u, SCATTER_ROWS)


def _max_rows(x, i, u):  # x.at[i[:, 0]].max(u)
    return lax.scatter_max(x, i, u, SCATTER_ROWS)


def _set_rows(x, i, u):  # x.at[i[:, 0]].set(u), with i unique per example
    return lax.scatter(x, i, u, SCATTER_ROWS, unique_indices=True)


UNIQUE_IB = np.stack([RNG.permutation(5)[:2, None] for _ in range(B)]).astype(np.int32)
CASES = [
    ("take_rows", _take_rows, [XB, IB]),
    ("take_points", _take_points, [XB, PB]),
    ("add_rows", _add_rows, [XB, IB, UB]),
    ("max_rows", _max_rows, [XB, IB, UB]),
    ("set_rows", _set_rows, [XB, UNIQUE_IB, UB[:, :2]]),
]


def _in_axes_cases(nargs):
    """Every non-empty subset of batched arguments, with batch axis 0 or last."""
    out = []
    for mask in range(1, 2 ** nargs):
        for axis in (0, -1):
            out.append(tuple(axis if mask >> k & 1 else None for k in range(nargs)))
    return out


@pytest.mark.parametrize("name,fn,stacked", CASES, ids=[c[0] for c in CASES])
def test_vmap_indexing_against_loop(name, fn, stacked):
    for in_axes in _in_axes_cases(len(stacked)):
        args = [a[0] if ax is None else np.moveaxis(a, 0, ax) for a, ax in zip(stacked, in_axes)]
        want = np.stack([np.asarray(fn(*[a[0] if ax is None else a[b]
                                         for a, ax in zip(stacked, in_axes)]))
                         for b in range(B)])
        got = xform.vmap(fn, in_axes=in_axes)(*args)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6,
                                   err_msg=f"{name} in_axes={in_axes}")


@pytest.mark.parametrize("name,fn,stacked", CASES, ids=[c[0] for c in CASES])
def test_vmap_indexing_nested(name, fn, stacked):
    # vmap over vmap: the inner batch axis already uses the batching dims
    args = [np.stack([a, a[::-1]]) for a in stacked]
    got = xform.vmap(xform.vmap(fn))(*args)
    want = jax.vmap(jax.vmap(_jax_twin(fn)))(*args)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)


def _jax_twin(fn):
    """The same function on jax.lax (the module-level name ``lax`` swapped)."""
    import types
    return types.FunctionType(fn.__code__, dict(fn.__globals__, lax=jlax), fn.__name__)


def _ops(jaxpr):
    return [e.primitive.name for e in jaxpr.eqns]


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)],
                         ids=["operand", "indices", "both"])
def test_vmap_gather_is_one_gather(in_axes):
    args = [XB if in_axes[0] == 0 else XB[0], IB if in_axes[1] == 0 else IB[0]]
    got = xform.make_jaxpr(xform.vmap(_take_rows, in_axes=in_axes))(*args)
    want = jax.make_jaxpr(jax.vmap(_jax_twin(_take_rows), in_axes=in_axes))(*args)
    assert _ops(got) == ["gather"] == _ops(want)
    assert got.eqns[0].params["dimension_numbers"] == want.eqns[0].params["dimension_numbers"]


@pytest.mark.parametrize("in_axes", [(0, None, 0), (None, 0, 0), (0, 0, 0), (0, None, None)],
                         ids=["operand_updates", "indices_updates", "all", "operand"])
def test_vmap_scatter_add_is_one_scatter(in_axes):
    args = [a if ax == 0 else a[0] for a, ax in zip([XB, IB, UB], in_axes)]
    got = _ops(xform.make_jaxpr(xform.vmap(_add_rows, in_axes=in_axes))(*args))
    want = _ops(jax.make_jaxpr(jax.vmap(_jax_twin(_add_rows), in_axes=in_axes))(*args))
    assert got.count("scatter-add") == 1 and "transpose" not in got
    assert got == want


def test_vmap_batch_axis_stays_put():
    # batch axis last in the operand: it becomes an offset dim where it is, no transpose
    x = np.moveaxis(XB, 0, -1)
    jaxpr = xform.make_jaxpr(xform.vmap(_take_rows, in_axes=(2, None), out_axes=2))(x, IB[0])
    assert _ops(jaxpr) == ["gather"]
    np.testing.assert_allclose(
        np.asarray(xform.vmap(_take_rows, in_axes=(2, None), out_axes=2)(x, IB[0])),
        np.stack([np.asarray(_take_rows(XB[b], IB[0])) for b in range(B)], -1))
    # updates batched in their last axis, indices unbatched: the batch is a window dim there
    u = np.moveaxis(UB, 0, -1)
    f = xform.vmap(_add_rows, in_axes=(2, None, 2), out_axes=2)
    assert _ops(xform.make_jaxpr(f)(x, IB[0], u)) == ["scatter-add"]
    np.testing.assert_allclose(
        np.asarray(f(x, IB[0], u)),
        np.stack([np.asarray(_add_rows(XB[b], IB[0], UB[b])) for b in range(B)], -1),
        rtol=1e-6)


# -- gradients against jax.grad ----------------------------------------------------------------
def _loss(mod):
    def f(x, u):
        y = mod.scatter_add(x, IB[0], u, SCATTER_ROWS)
        z = mod.gather(mod.sin(y), PB[0], POINT_2D, (1, 1))
        w = mod.gather(y, IB[1], TAKE_ROW, (1, 4), mode="fill", fill_value=0.0)
        return (z * z).sum() + (w * mod.cos(w)).sum()
    return f


def test_grad_against_jax():
    x, u = XB[0], UB[0]
    got = xform.grad(_loss(lax), argnums=(0, 1))(x, u)
    want = jax.grad(_loss(jlax), argnums=(0, 1))(x, u)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_hessian_vector_against_jax():
    x, u = XB[0], UB[0]

    def hvp(mod, grad, jvp):
        return jvp(lambda x: grad(_loss(mod))(x, u), (x,), (XB[1],))[1]

    got = hvp(lax, xform.grad, xform.jvp)
    want = hvp(jlax, jax.grad, jax.jvp)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("public", ["scatter", "scatter_max", "scatter_min"])
def test_scatter_grad_duplicates_against_jax(public):
    # repeated indices (rows 2 and 0 twice): the derivative goes to the update that lands, or
    # is shared among tied values, as JAX defines it
    idx = np.array([[2], [0], [2], [0]], np.int32)
    u = UB[0, :4].copy()
    u[2] = u[0]  # plain scatter: the winner among repeats is unspecified, so make them equal

    def loss(mod):
        return lambda x, u: (mod.sin(getattr(mod, public)(x, idx, u, SCATTER_ROWS)) ** 2).sum()
    got = xform.grad(loss(lax), argnums=(0, 1))(XB[0], u)
    want = jax.grad(loss(jlax), argnums=(0, 1))(XB[0], u)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def test_vmap_of_grad_per_example():
    g = xform.vmap(xform.grad(_loss(lax), argnums=(0, 1)))(XB, UB)
    want = jax.vmap(jax.grad(_loss(jlax), argnums=(0, 1)))(XB, UB)
    for a, b in zip(g, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_scatter_mul_grad_operand_with_duplicates():
    f = SCATTER_RECORDS[1].fun  # scatter_mul_duplicates
    args = SCATTER_RECORDS[1].make_args(2)
    from xform.test_util import check_grads
    check_grads(lambda x: f(x, args[1], args[2]), [args[0]], order=2)


def test_scatter_mul_grad_updates_needs_unique():
    x, u = np.ones(5, np.float32), np.ones(3, np.float32)
    with pytest.raises(NotImplementedError, match="unique_indices=True"):
        xform.grad(lambda u: lax.scatter_mul(x, DUP(None), u, SCATTER_1D).sum())(u)


def test_scatter_transpose_needs_unique():
    x, u = np.ones(5, np.float32), np.ones(3, np.float32)

    def f(x, u):
        return lax.scatter(x, DUP(None), u, SCATTER_1D)
    # differentiating works (through the update that lands) ...
    xform.grad(lambda x, u: f(x, u).sum(), argnums=(0, 1))(x, u)
    # ... but transposing the scatter itself needs the promise, as in JAX
    t = xform.linear_transpose(f, x, u)
    with pytest.raises(NotImplementedError, match="unique_indices=True"):
        t(np.ones(5, np.float32))


def test_scatter_linear_transpose_unique():
    x, u = XB[0], UB[0, :2]

    def f(mod):
        return lambda x, u: mod.scatter(x, UNIQUE_IB[0], u, SCATTER_ROWS, unique_indices=True)
    ct = XB[1]
    got = xform.linear_transpose(f(lax), x, u)(ct)
    want = jax.linear_transpose(f(jlax), x, u)(ct)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w))


def test_vmap_scatter_indices_batch_last_moves_once():
    # the batch axis of the indices sits where the index vectors must be: it moves once,
    # straight to the position matching the updates' batch axis
    i, u = np.moveaxis(IB, 0, -1), np.moveaxis(UB, 0, -1)
    f = xform.vmap(_add_rows, in_axes=(None, 2, 2))
    assert _ops(xform.make_jaxpr(f)(XB[0], i, u)).count("transpose") == 1
    want = np.stack([np.asarray(_add_rows(XB[0], IB[b], UB[b])) for b in range(B)])
    np.testing.assert_allclose(np.asarray(f(XB[0], i, u)), want, rtol=1e-6)
