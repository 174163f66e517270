"""vmap: every elementwise primitive against a Python loop, in_axes/out_axes semantics, the
validation errors, named axes and collectives against jax.vmap, chunk_size, jit composition."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
from xform import lax
from xform.core.errors import ConcretizationTypeError, TracerBoolConversionError
from xform.interpreters import batching
from op_records import OpRecord, check_vmap
from test_lax_elementwise import RECORDS as ELEMENTWISE


def _f32(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _close(got, want, tol=1e-6):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)
    assert np.asarray(got).dtype == np.asarray(want).dtype


# -- elementwise primitives against a loop --------------------------------------------------
EXTRA = [
    OpRecord("select_n_batched_scalar_pred",
             lambda p, x, y: lax.select_n(p, x, y), None,
             lambda rng: [np.asarray(rng.integers(0, 2), bool),
                          rng.normal(size=3).astype(np.float32),
                          rng.normal(size=3).astype(np.float32)]),
    OpRecord("clamp_array_bounds", lax.clamp, None,
             lambda rng: [np.full(3, -0.5, np.float32) + rng.normal(size=3).astype(np.float32),
                          rng.normal(size=3).astype(np.float32),
                          np.full(3, 0.5, np.float32)]),
    OpRecord("add_rank0_next_to_vector", lax.add, None,
             lambda rng: [np.asarray(rng.normal(), np.float32),
                          rng.normal(size=(2, 3)).astype(np.float32)]),
    OpRecord("add_size1_broadcast", lax.add, None,
             lambda rng: [rng.normal(size=(1, 3)).astype(np.float32),
                          rng.normal(size=(2, 3)).astype(np.float32)]),
    OpRecord("three_ops_nested", lambda x, y: lax.mul(lax.sin(x), lax.add(y, 1.0)), None,
             lambda rng: [rng.normal(size=(2, 3)).astype(np.float32),
                          rng.normal(size=(2, 3)).astype(np.float32)]),
]


@pytest.mark.parametrize("rec", ELEMENTWISE + EXTRA, ids=lambda r: r.name)
def test_vmap_elementwise_against_loop(rec):
    check_vmap(rec)


def test_unbatched_operand_broadcast_as_jax_does():
    # a size-1 batch axis that lax broadcasts, as jax emits (no full-size broadcast)
    jaxpr = xform.make_jaxpr(xform.vmap(lax.add, in_axes=(0, None)))(_f32(2, 3), _f32(3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["broadcast_in_dim", "add"]
    assert "f32[1,3]" in str(jaxpr)
    # same axes, scalar unbatched: nothing but the add
    jaxpr = xform.make_jaxpr(xform.vmap(lambda x: lax.add(x, 1.0)))(_f32(2, 3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["add"]


def test_mismatched_batch_axes_need_one_transpose():
    f = xform.vmap(lax.add, in_axes=(1, 0))
    jaxpr = xform.make_jaxpr(f)(_f32(3, 2), _f32(2, 3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["transpose", "add"]
    _close(f(_f32(3, 2), _f32(2, 3)), _f32(3, 2).T + _f32(2, 3))


def test_mismatched_batch_axes_meet_where_out_axes_wants_them():
    # out_axes=-1: the operands meet on the last axis, so the result needs no second transpose
    f = xform.vmap(lax.add, in_axes=(1, 0), out_axes=-1)
    jaxpr = xform.make_jaxpr(f)(_f32(3, 2), _f32(2, 3))
    assert [e.primitive.name for e in jaxpr.eqns] == ["transpose", "add"]
    _close(f(_f32(3, 2), _f32(2, 3)), _f32(3, 2) + _f32(2, 3).T)


def test_lax_add_accepts_size1_broadcasting_like_jax():
    a, b = _f32(2, 1), _f32(1, 3)
    _close(lax.add(a, b), jlax.add(a, b))
    with pytest.raises(TypeError, match="same number of dimensions"):
        lax.add(_f32(2, 3), _f32(3))


# -- nested vmap ----------------------------------------------------------------------------
def test_nested_vmap_mixed_axes():
    x, y = _f32(4, 3), _f32(5, 3)
    outer = xform.vmap(xform.vmap(lambda a, b: lax.mul(a, b), in_axes=(None, 0)),
                       in_axes=(0, None))
    _close(outer(x, y), x[:, None, :] * y[None, :, :])
    z = _f32(3, 4, 2)
    f = xform.vmap(xform.vmap(lax.sin, in_axes=1, out_axes=1), in_axes=2, out_axes=0)
    _close(f(z), np.sin(z).transpose(2, 0, 1))


# -- in_axes / out_axes ---------------------------------------------------------------------
class Pair(NamedTuple):
    a: object
    b: object


def test_in_axes_pytrees():
    x, y = _f32(2, 3), _f32(3, 2)
    # dict prefix, list at top level, negative axis, custom pytree (NamedTuple)
    f = xform.vmap(lambda d, p: lax.add(d["u"], lax.mul(p.a, p.b)),
                   in_axes=[{"u": 0}, Pair(-1, None)])
    want = x + (y.T * np.float32(2.0))
    _close(f({"u": x}, Pair(y, np.float32(2.0))), want)
    # a single int for a whole tuple argument
    g = xform.vmap(lambda t: lax.sub(t[0], t[1]), in_axes=(0,))
    _close(g((x, x)), np.zeros((2, 3), np.float32))


def test_kwargs_are_mapped_on_axis_0():
    x = _f32(2, 3)
    f = xform.vmap(lambda a, *, b: lax.add(a, b), in_axes=(None,))
    _close(f(x[0], b=x), x + x[0])


def test_axis_size_with_nothing_mapped():
    out = xform.vmap(lambda x: lax.mul(x, 2.0), in_axes=None, axis_size=3)(np.float32(1.5))
    _close(out, np.full(3, 3.0, np.float32))


def test_out_axes():
    x = _f32(2, 3)
    f = xform.vmap(lambda a: (lax.sin(a), {"c": lax.cos(a)}), out_axes=(1, {"c": -1}))
    s, d = f(x)
    _close(s, np.sin(x).T)
    _close(d["c"], np.cos(x).T)
    # an unbatched output: None keeps it as is, an int broadcasts it along the batch
    g = xform.vmap(lambda a, c: (lax.add(a, c), c), in_axes=(0, None), out_axes=(0, None))
    _, c = g(x, np.float32(3.0))
    assert np.shape(c) == ()
    h = xform.vmap(lambda a, c: c, in_axes=(0, None), out_axes=1)
    _close(h(x, _f32(4)), np.stack([_f32(4)] * 2, axis=1))


def test_out_axes_match_jax():
    x = _f32(2, 3, 4)
    for out_axes in (0, 1, 2, -1, -2):
        got = xform.vmap(lax.exp, in_axes=1, out_axes=out_axes)(x)
        want = jax.vmap(jlax.exp, in_axes=1, out_axes=out_axes)(x)
        _close(got, want, 1e-6)


# -- validation errors (the types jax.vmap raises) -------------------------------------------
def _jax_and_xform_raise(exc, match, make):
    """The same mistake raises ``exc`` in jax.vmap and in xform.vmap (with ``match``)."""
    with pytest.raises(exc):
        make(jax.vmap, jnp)
    with pytest.raises(exc, match=match):
        make(xform.vmap, xform.numpy)


def test_error_inconsistent_sizes_lists_every_mapped_argument():
    def make(vmap, np_):
        return vmap(lambda a, b, c: a, in_axes=(0, 1, None))(np_.ones(2), np_.ones((2, 3)),
                                                            np_.ones(4))
    _jax_and_xform_raise(ValueError, r"(?s)inconsistent sizes.*axis 0 of argument a.*"
                         r"size 3: axis 1 of argument b", make)


def test_error_axis_size_disagrees():
    _jax_and_xform_raise(ValueError, r"(?s)`axis_size` argument was 3.*size 2",
                         lambda vmap, np_: vmap(lambda x: x, axis_size=3)(np_.ones(2)))


def test_error_axis_out_of_range_names_argument():
    _jax_and_xform_raise(
        ValueError, r"axis 2, which implies.*at least 3.*argument `d\['w'\]`",
        lambda vmap, np_: vmap(lambda d: d["w"], in_axes=({"w": 2},))({"w": np_.ones((2, 3))}))
    _jax_and_xform_raise(ValueError, "axis -3",
                         lambda vmap, np_: vmap(lambda x: x, in_axes=-3)(np_.ones((2, 3))))


def test_error_batched_scalar():
    _jax_and_xform_raise(ValueError, r"rank should be at least 1.*`x` is a scalar",
                         lambda vmap, np_: vmap(lambda x, y: y)(1.0, np_.ones(2)))


def test_error_structure_mismatch():
    _jax_and_xform_raise(
        ValueError, r"in_axes specification must be a tree prefix.*argument `d`",
        lambda vmap, np_: vmap(lambda d: d["a"], in_axes=({"b": 0},))({"a": np_.ones(2)}))
    _jax_and_xform_raise(
        ValueError, r"len\(in_axes\)=1, len\(args\)=2",
        lambda vmap, np_: vmap(lambda x, y: x, in_axes=(0,))(np_.ones(2), np_.ones(2)))
    _jax_and_xform_raise(
        ValueError, "out_axes specification must be a tree prefix",
        lambda vmap, np_: vmap(lambda x: (x, x), out_axes=(0,))(np_.ones(2)))


def test_error_all_none_without_axis_size():
    _jax_and_xform_raise(ValueError, "at least one non-None value in in_axes",
                         lambda vmap, np_: vmap(lambda x: x, in_axes=None)(np_.ones(2)))


def test_error_axis_spec_not_int_or_none():
    _jax_and_xform_raise(TypeError, "in_axes must be an int, None, or \\(nested\\)",
                         lambda vmap, np_: vmap(lambda x: x, in_axes=(1.0,))(np_.ones(2)))
    _jax_and_xform_raise(TypeError, "in_axes must be an int, None, or a tuple",
                         lambda vmap, np_: vmap(lambda x: x, in_axes={"x": 0})(np_.ones(2)))
    _jax_and_xform_raise(TypeError, "out_axes must be an int, None",
                         lambda vmap, np_: vmap(lambda x: x, out_axes="a")(np_.ones(2)))


def test_error_out_axes_none_on_batched_output():
    _jax_and_xform_raise(ValueError, r"got axis spec None but output was batched.*`out`",
                         lambda vmap, np_: vmap(lambda x: x, out_axes=None)(np_.ones(2)))
    _jax_and_xform_raise(ValueError, "axis 2 is out of bounds for array of dimension 1",
                         lambda vmap, np_: vmap(lambda x: x, out_axes=2)(np_.ones(2)))


def test_error_not_callable():
    _jax_and_xform_raise(TypeError, "Expected a callable value", lambda vmap, np_: vmap(3))


def test_per_example_shape_error_is_the_unbatched_one():
    with pytest.raises(TypeError, match="add got incompatible shapes"):
        xform.vmap(lax.add, in_axes=(0, None))(_f32(2, 3), _f32(4))


# -- Python control flow --------------------------------------------------------------------
def test_if_on_unbatched_value_works():
    def f(x, flag):
        return lax.sin(x) if flag > 0 else lax.cos(x)
    _close(xform.vmap(f, in_axes=(0, None))(_f32(3), np.float32(1.0)), np.sin(_f32(3)))


def test_if_on_batched_value_raises_concretization_error():
    def f(x):
        return lax.sin(x) if lax.gt(x, 0.0) else x
    with pytest.raises(TracerBoolConversionError,
                       match=r"(?s)bool\[\].*batched.*xform.numpy.where.*xform.lax.cond"):
        xform.vmap(f)(_f32(3))
    assert issubclass(TracerBoolConversionError, ConcretizationTypeError)


# -- named axes and collectives against jax.vmap ---------------------------------------------
COLLECTIVES = {
    "psum": (lambda L: lambda v: L.psum(v, "i"), (3, 2)),
    "psum_const": (lambda L: lambda v: L.add(v, L.psum(1.0, "i")), (3,)),
    "pmean": (lambda L: lambda v: L.pmean(v, "i"), (3, 2)),
    "pmax": (lambda L: lambda v: L.pmax(v, "i"), (3, 2)),
    "pmin": (lambda L: lambda v: L.pmin(v, "i"), (3, 2)),
    "axis_index": (lambda L: lambda v: L.add(v, L.convert_element_type(
        L.axis_index("i"), np.float32)), (3,)),
    "all_gather": (lambda L: lambda v: L.all_gather(v, "i"), (3, 2)),
    "all_gather_axis1": (lambda L: lambda v: L.all_gather(v, "i", axis=1), (3, 2)),
    "all_gather_tiled": (lambda L: lambda v: L.all_gather(v, "i", tiled=True), (3, 2)),
    "ppermute": (lambda L: lambda v: L.ppermute(v, "i", [(0, 1), (1, 2), (2, 0)]), (3, 2)),
    "psum_scatter": (lambda L: lambda v: L.psum_scatter(v, "i"), (3, 3, 2)),
    "psum_scatter_dim1_tiled": (lambda L: lambda v: L.psum_scatter(
        v, "i", scatter_dimension=1, tiled=True), (3, 2, 6)),
    "all_to_all": (lambda L: lambda v: L.all_to_all(v, "i", 0, 1), (3, 3, 2)),
    "all_to_all_00": (lambda L: lambda v: L.all_to_all(v, "i", 0, 0), (3, 3, 2)),
    "all_to_all_tiled": (lambda L: lambda v: L.all_to_all(v, "i", 0, 1, tiled=True),
                         (3, 6, 2)),
}


@pytest.mark.parametrize("name", list(COLLECTIVES))
@pytest.mark.parametrize("in_axis", [0, 1])
def test_collective_matches_jax(name, in_axis):
    make, shape = COLLECTIVES[name]
    x = _f32(*shape)
    if in_axis == 1 and len(shape) > 1:
        x = np.moveaxis(x, 0, 1).copy()
    elif in_axis == 1:
        return
    got = xform.vmap(make(lax), in_axes=in_axis, axis_name="i")(x)
    want = jax.vmap(make(jlax), in_axes=in_axis, axis_name="i")(x)
    _close(got, want, 1e-5)


def test_collectives_in_nested_vmaps_over_different_names():
    x = _f32(2, 3, 4)

    def f(L):
        def inner(v):
            s_i = L.psum(v, "i")
            s_j = L.pmax(v, "j")
            s_ij = L.psum(v, ("i", "j"))
            g = L.all_gather(v, "i")
            idx = L.axis_index(("i", "j"))
            return s_i, s_j, s_ij, g, idx
        return jax.vmap if L is jlax else xform.vmap, inner

    for L in (lax, jlax):
        vmap, inner = f(L)
        out = vmap(vmap(inner, axis_name="j"), axis_name="i")(x)
        if L is lax:
            got = out
        else:
            want = out
    for g, w in zip(got, want):
        _close(g, w, 1e-5)


def test_collective_under_jit_inside_vmap():
    x = _f32(3, 2)
    f = xform.vmap(xform.jit(lambda v: lax.sub(v, lax.pmean(v, "i"))), axis_name="i")
    _close(f(x), x - x.mean(0), 1e-6)
    g = xform.jit(xform.vmap(lambda v: lax.sub(v, lax.pmean(v, "i")), axis_name="i"))
    _close(g(x), x - x.mean(0), 1e-6)


def test_unbound_axis_name_is_a_name_error():
    with pytest.raises(NameError, match="unbound axis name: i"):
        lax.psum(1.0, "i")
    with pytest.raises(NameError, match="unbound axis name: i"):
        xform.vmap(lambda v: lax.psum(v, "i"), axis_name="j")(_f32(2))
    with pytest.raises(NameError, match="unbound axis name: i"):
        xform.make_jaxpr(lambda v: lax.axis_index("i"))(_f32(2))


# -- chunk_size -----------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8])
def test_chunk_size_equals_unchunked(chunk):
    x, y = _f32(5, 3), _f32(3, 5)

    def f(a, b, c):
        return {"s": lax.mul(lax.sin(a), b), "c": c}

    kw = dict(in_axes=(0, 1, None), out_axes={"s": 1, "c": None})
    want = xform.vmap(f, **kw)(x, y, np.float32(2.0))
    got = xform.vmap(f, chunk_size=chunk, **kw)(x, y, np.float32(2.0))
    _close(got["s"], want["s"])
    _close(got["c"], want["c"])
    got_jit = xform.jit(xform.vmap(f, chunk_size=chunk, **kw))(x, y, np.float32(2.0))
    _close(got_jit["s"], want["s"])


def test_chunk_size_errors():
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        xform.vmap(lax.sin, chunk_size=0)
    with pytest.raises(ValueError, match="cannot be combined with axis_name"):
        xform.vmap(lax.sin, chunk_size=2, axis_name="i")


# -- jit composition ------------------------------------------------------------------------
def test_vmap_of_jit_is_one_program():
    x, y = _f32(4, 3), _f32(3)
    f = xform.jit(lambda a, b: lax.mul(lax.sin(a), b))
    g = xform.vmap(f, in_axes=(0, None))
    jaxpr = xform.make_jaxpr(g)(x, y)
    assert [e.primitive.name for e in jaxpr.eqns] == ["jit"]
    _close(g(x, y), np.sin(x) * y)
    n = len(batching._batched_jaxprs)  # one entry per (jaxpr, batching signature)
    g(x, y)
    assert len(batching._batched_jaxprs) == n  # the batched body is reused, not re-traced


def test_jit_of_vmap_and_vmap_of_jit_agree():
    x = _f32(2, 4, 3)

    def f(a):
        return lax.exp(lax.neg(lax.square(a)))

    want = np.exp(-np.square(x))
    _close(xform.jit(xform.vmap(f, in_axes=2, out_axes=2))(x), want)
    _close(xform.vmap(xform.jit(f), in_axes=2, out_axes=2)(x), want)
    _close(xform.vmap(xform.vmap(xform.jit(f)), in_axes=1, out_axes=1)(x), want)
    _close(xform.jit(xform.vmap(xform.jit(f)))(x), want)


def test_jit_inside_vmap_with_unbatched_outputs():
    x = _f32(3, 2)
    f = xform.jit(lambda a, b: (lax.add(a, b), lax.mul(b, 2.0)))
    s, t = xform.vmap(f, in_axes=(0, None), out_axes=(0, None))(x, _f32(2))
    _close(s, x + _f32(2))
    _close(t, _f32(2) * 2)


# -- where a dot_general puts a new batch axis -----------------------------------------------
def _prims(jaxpr):
    return [e.primitive.name for e in jaxpr.eqns]


def test_matvec_batch_axis_lands_where_out_axes_wants_it():
    w, xs = _f32(4, 3), _f32(5, 3)
    matvec = lambda x: lax.dot_general(w, x, (((1,), (0,)), ((), ())))  # noqa: E731
    # out_axes=0: the operands trade places, the batch axis comes out in front (x @ w.T)
    front = xform.vmap(matvec)
    assert _prims(xform.make_jaxpr(front)(xs)) == ["dot_general"]
    _close(front(xs), xs @ w.T, 1e-5)
    # out_axes=-1: the natural order already leaves it last (w @ x.T); no transpose either way
    last = xform.vmap(matvec, out_axes=-1)
    assert _prims(xform.make_jaxpr(last)(xs)) == ["dot_general"]
    _close(last(xs), w @ xs.T, 1e-5)


def test_jacfwd_of_matvec_has_no_transpose():
    # jacfwd pushes the basis with its batch axis last (in_axes=out_axes=-1): the tangent w @ t
    # keeps its batch axis last, and so does everything it meets, so no transpose is needed
    # anywhere (before, the batch axis came out in front of the dot and the whole Jacobian
    # was transposed at the end)
    w, b, x = _f32(6, 6), _f32(6, seed=1), _f32(6, seed=2)
    np_f = lambda np_: lambda x: np_.tanh(w @ x + b) * np_.sin(x) + x ** 3 / 3  # noqa: E731
    f = np_f(xform.numpy)
    assert "transpose" not in _prims(xform.make_jaxpr(xform.jacfwd(f))(x))
    _close(xform.jacfwd(f)(x), jax.jacfwd(np_f(jnp))(x), 1e-5)
    # several leaves of several shapes: the same Jacobian as JAX's
    g = lambda np_: lambda p: np_.sin(p["a"] @ p["v"]) * p["s"]  # noqa: E731
    p = {"a": _f32(3, 4), "v": _f32(4, seed=3), "s": np.float32(1.5)}
    got, want = xform.jacfwd(g(xform.numpy))(p), jax.jacfwd(g(jnp))(p)
    for k in p:
        _close(got[k], want[k], 1e-5)
