"""The core: avals and promotion, the printer, the type checker, trace state and its errors."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
from xform import lax
from xform.core import (
    ClosedJaxpr, ConcretizationTypeError, Eqn, Jaxpr, JaxprTypeError, Literal, ShapedArray,
    UnexpectedTracerError, Var, check_jaxpr,
)
from xform.core.avals import get_aval, result_type
from xform.core.trace import current_trace
from xform.lax.elementwise import add_p, sin_p


# -- avals and promotion --------------------------------------------------------------------
def test_shaped_array_basics():
    a = ShapedArray((3, 4), np.float32)
    assert a.str_short() == "f32[3,4]" and a.ndim == 2 and a.size == 12
    assert a == ShapedArray([3, 4], "float32") and a != a.update(weak_type=True)
    assert hash(a) == hash(ShapedArray((3, 4), np.float32))
    assert ShapedArray((), np.int32).str_short() == "i32[]"
    assert ShapedArray((2,), np.bool_).str_short() == "bool[2]"


@pytest.mark.parametrize("value, expected", [
    (2.0, ShapedArray((), np.float32, True)),
    (3, ShapedArray((), np.int32, True)),
    (True, ShapedArray((), np.bool_, True)),
    (np.float64(1.0), ShapedArray((), np.float32, False)),  # 32-bit default, as in JAX
    (np.ones((2, 2), np.int64), ShapedArray((2, 2), np.int32, False)),
])
def test_get_aval_matches_jax(value, expected):
    assert get_aval(value) == expected
    ref = jnp.asarray(value)
    assert (expected.shape, expected.dtype) == (ref.shape, ref.dtype)


@pytest.mark.parametrize("args", [
    (np.float32, np.int32), (np.int8, 1), (np.float16, 1.0), (np.int32, 1.5), (np.bool_, 1),
    (np.uint8, np.int8), (np.float16, jnp.bfloat16), (1, 2.0), (np.complex64, np.float32),
])
def test_result_type_is_jax_lattice(args):
    jargs = [a if isinstance(a, (int, float)) else np.dtype(a) for a in args]
    assert result_type(*jargs) == jnp.result_type(*jargs)


def test_weak_type_flag():
    dtype, weak = result_type(ShapedArray((3,), np.float32, True), 2.0,
                              return_weak_type_flag=True)
    assert dtype == np.float32 and weak
    dtype, weak = result_type(ShapedArray((3,), np.int32), 2.0, return_weak_type_flag=True)
    assert dtype == np.float32 and weak is True  # as jnp: int32 array + Python float


# -- printer --------------------------------------------------------------------------------
def test_printer_matches_jax_simple():
    def f(x, y):
        return lax.add(lax.mul(lax.sin(x), y), 2.0)

    def g(x, y):
        return jlax.add(jlax.mul(jlax.sin(x), y), 2.0)

    x = jnp.ones(3)
    assert str(xform.make_jaxpr(f)(x, x)) == str(jax.make_jaxpr(g)(x, x))


def test_printer_one_line_form():
    text = "{ lambda ; a:f32[]. let b:f32[] = sin a in (b,) }"
    assert str(xform.make_jaxpr(lax.sin)(1.0)) == text


def test_printer_names_past_z():
    def chain(x):
        for _ in range(30):
            x = lax.sin(x)
        return x

    text = str(xform.make_jaxpr(chain)(1.0))
    assert text == str(jax.make_jaxpr(lambda x: [x := jlax.sin(x) for _ in range(30)][-1])(1.0))
    assert "ba:f32[] = sin z" in text and "be:f32[]" in text


def test_printer_constvars_literals_and_int_types():
    w = jnp.arange(3.0)
    closed = xform.make_jaxpr(lambda x: lax.add(lax.mul(x, w), 1.0))(jnp.ones(3))
    assert str(closed) == str(jax.make_jaxpr(lambda x: jlax.add(jlax.mul(x, w), 1.0))(jnp.ones(3)))
    assert str(closed).startswith("{ lambda a:f32[3]; b:f32[3]. let")
    assert len(closed.consts) == 1
    assert closed.jaxpr.constvars[0].aval == ShapedArray((3,), np.float32)
    ints = xform.make_jaxpr(lambda i: lax.add(i, 1))(jnp.int32(3))
    assert "add a 1:i32[]" in str(ints)


def test_printer_multiple_outputs_and_unused():
    closed = xform.make_jaxpr(lambda x: (lax.sin(x), lax.cos(x)))(1.0)
    assert str(closed).endswith("in (b, c) }")
    j = closed.jaxpr
    from xform.core.ir import DropVar
    eqn = j.eqns[0]
    j.eqns[0] = Eqn(eqn.primitive, eqn.invars, eqn.params, [DropVar(eqn.outvars[0].aval)])
    j.outvars = [j.outvars[1]]
    assert "_:f32[] = sin a" in str(j)


def test_printer_sub_jaxpr_matches_jax():
    f = xform.jit(lambda x: lax.mul(lax.sin(x), 2.0))
    g = jax.jit(lambda x: jlax.mul(jlax.sin(x), 2.0))
    x = jnp.ones(3)
    # JAX's names inside a call jump around (its printer shares one name table between the call
    # and its caller); xform names the call's body afresh. Everything else is JAX's layout.
    shared_names = str(jax.make_jaxpr(lambda x: jlax.add(g(x), 1.0))(x))
    assert shared_names.startswith("{ lambda ; a:f32[3]. let\n    b:f32[3] = jit[\n")
    assert str(xform.make_jaxpr(lambda x: lax.add(f(x), 1.0))(x)) == (
        "{ lambda ; a:f32[3]. let\n"
        "    b:f32[3] = jit[\n"
        "      name=<lambda>\n"
        "      jaxpr={ lambda ; a:f32[3]. let\n"
        "          b:f32[3] = sin a\n"
        "          c:f32[3] = mul b 2.0:f32[]\n"
        "        in (c,) }\n"
        "    ] a\n"
        "    c:f32[3] = add b 1.0:f32[]\n"
        "  in (c,) }")


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_printer_breaks_long_params_as_jax(rank):
    x = jnp.ones((4,) * rank)

    def f(lx):
        return lambda x: lx.slice(x, (0,) * rank, (2,) * rank, (1,) * rank)

    assert str(xform.make_jaxpr(f(lax))(x)) == str(jax.make_jaxpr(f(jlax))(x))


def test_printer_empty_body():
    assert str(xform.make_jaxpr(lambda x: x)(1.0)) == str(jax.make_jaxpr(lambda x: x)(1.0))


def test_closed_jaxpr_api_and_html():
    closed = xform.make_jaxpr(lambda x: lax.exp(x))(jnp.ones(2))
    assert isinstance(closed, ClosedJaxpr) and isinstance(closed.jaxpr, Jaxpr)
    assert [e.primitive.name for e in closed.eqns] == ["exp"] and closed.consts == []
    assert closed.in_avals == [ShapedArray((2,), np.float32)]
    assert "<pre" in closed._repr_html_() and "exp" in closed._repr_html_()


# -- type checker ---------------------------------------------------------------------------
def _jaxpr():
    return xform.make_jaxpr(lambda x, y: lax.add(lax.sin(x), y))(jnp.ones(3), jnp.ones(3)).jaxpr


def test_check_jaxpr_accepts_traced():
    check_jaxpr(_jaxpr())
    check_jaxpr(xform.make_jaxpr(lambda x: xform.jit(lax.cos)(x))(1.0))


def test_check_jaxpr_use_before_definition():
    j = _jaxpr()
    j.eqns.reverse()
    with pytest.raises(JaxprTypeError, match="read before it is bound"):
        check_jaxpr(j)


def test_check_jaxpr_double_binding():
    j = _jaxpr()
    e0, e1 = j.eqns
    j.eqns[1] = Eqn(e1.primitive, e1.invars, e1.params, e0.outvars)
    with pytest.raises(JaxprTypeError, match="bound more than once"):
        check_jaxpr(j)


def test_check_jaxpr_wrong_output_type():
    x = Var(ShapedArray((3,), np.float32))
    out = Var(ShapedArray((4,), np.float32))
    j = Jaxpr([], [x], [Eqn(sin_p, [x], {}, [out])], [out])
    with pytest.raises(JaxprTypeError, match=r"typed f32\[4\] but the primitive gives f32\[3\]"):
        check_jaxpr(j)


def test_check_jaxpr_bad_operands():
    x = Var(ShapedArray((3,), np.float32))
    y = Var(ShapedArray((3,), np.int32))
    out = Var(ShapedArray((3,), np.float32))
    j = Jaxpr([], [x, y], [Eqn(add_p, [x, y], {}, [out])], [out])
    with pytest.raises(JaxprTypeError, match="same dtypes"):
        check_jaxpr(j)
    lit = Literal(1.0, ShapedArray((), np.float32, True))
    check_jaxpr(Jaxpr([], [x], [Eqn(add_p, [x, lit], {}, [out])], [out]))


def test_check_jaxpr_unbound_output():
    x = Var(ShapedArray((), np.float32))
    with pytest.raises(JaxprTypeError, match="outvars"):
        check_jaxpr(Jaxpr([], [], [], [x]))


# -- concretization and leaks ---------------------------------------------------------------
def test_bool_of_traced_value_names_function_argument_and_fixes():
    def f(x, y):
        if lax.gt(y, 0.0):
            return x
        return lax.neg(x)

    with pytest.raises(ConcretizationTypeError) as info:
        xform.jit(f)(jnp.ones(3), 1.0)
    msg = str(info.value)
    assert isinstance(info.value, TypeError)
    assert "`bool`" in msg and "`y`" in msg and "jit of f" in msg
    assert "xform.numpy.where" in msg and "xform.lax.cond" in msg and "static_argnums" in msg
    assert "test_core.py" in msg  # the user's line
    assert current_trace() is None


@pytest.mark.parametrize("conv", [int, float, bool, complex, lambda t: [0, 1][t]])
def test_other_conversions_raise(conv):
    with pytest.raises(ConcretizationTypeError):
        xform.make_jaxpr(lambda x: conv(x))(jnp.int32(1))


def test_numpy_asarray_of_tracer():
    with pytest.raises(TypeError, match=r"numpy.asarray\(\) was called on a traced value"):
        xform.make_jaxpr(lambda x: np.asarray(x))(1.0)
    assert current_trace() is None


def test_leaked_tracer_is_unexpected_tracer_error():
    leaked = []

    def f(x):
        leaked.append(x)
        return lax.sin(x)

    xform.jit(f)(1.0)
    with pytest.raises(UnexpectedTracerError, match="created by jit.*has finished"):
        lax.cos(leaked[0])
    # as in JAX, tracing lifts it as a constant (make_jaxpr shows it); running it raises
    closed = xform.make_jaxpr(lambda y: lax.add(y, leaked[0]))(1.0)
    assert len(closed.consts) == 1 and closed.consts[0] is leaked[0]
    with pytest.raises(UnexpectedTracerError, match="created by jit.*has finished"):
        xform.jit(lambda y: lax.add(y, leaked[0]))(1.0)
    assert current_trace() is None


def test_no_trace_state_after_error():
    def bad(x):
        return lax.add(x, jnp.ones(4))

    for _ in range(3):
        with pytest.raises(TypeError):
            xform.jit(bad)(jnp.ones(3))
        with pytest.raises(TypeError):
            xform.make_jaxpr(bad)(jnp.ones(3))
        assert current_trace() is None
    np.testing.assert_allclose(xform.jit(lax.sin)(1.0), np.sin(1.0), rtol=1e-6)


def test_four_threads_trace_at_once():
    barrier = threading.Barrier(4)
    results, errors = {}, []

    def work(k):
        try:
            def f(x):
                barrier.wait(timeout=30)
                for _ in range(50):
                    x = lax.add(lax.sin(x), float(k))
                return x

            results[k] = (str(xform.make_jaxpr(f)(1.0)), np.asarray(xform.jit(f)(jnp.ones(2))))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in range(4):
        x = np.ones(2, np.float32)
        for _ in range(50):
            x = np.sin(x) + np.float32(k)
        np.testing.assert_allclose(results[k][1], x, rtol=1e-5)
        assert f"{float(k)}:f32[]" in results[k][0]


# -- debug_nans -----------------------------------------------------------------------------
def test_debug_nans_eager_and_jit():
    x = jnp.array([-1.0, 1.0])
    assert np.isnan(np.asarray(lax.log(x))[0])  # off by default
    with xform.debug_nans():
        with pytest.raises(FloatingPointError, match="log"):
            lax.log(x)
        jf = xform.jit(lambda v: lax.sqrt(v))
        with pytest.raises(FloatingPointError, match="sqrt"):  # names the operation
            jf(x)
        with pytest.raises(FloatingPointError, match="sqrt"):  # on the cached path too
            jf(x)
        lax.log(jnp.ones(2))  # no NaN, no error
    assert np.isnan(np.asarray(lax.log(x))[0])
    xform.config.update("xform_debug_nans", True)
    try:
        with pytest.raises(FloatingPointError):
            lax.log(x)
    finally:
        xform.config.update("xform_debug_nans", False)
    xform.debug_nans(True)
    try:
        with pytest.raises(FloatingPointError):
            lax.sqrt(x)
    finally:
        xform.debug_nans(False)
