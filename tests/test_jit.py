"""jit, make_jaxpr, eval_shape and the device helpers."""

import functools
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax

import xform
from xform import lax
from xform.core.trace import current_trace


def model(w, x, scale=1.0):
    return lax.mul(lax.tanh(lax.add(lax.mul(w, x), 1.0)), scale)


def test_jit_matches_jax_and_caches_traces():
    traces = []

    def f(x, y):
        traces.append(1)
        return lax.add(lax.sin(x), y)

    jf = xform.jit(f)
    x, y = jnp.arange(3.0), jnp.ones(3)
    want = jax.jit(lambda x, y: jlax.add(jlax.sin(x), y))(x, y)
    np.testing.assert_allclose(jf(x, y), want, rtol=1e-6)
    jf(x, y)
    jf(x + 1, y)
    assert len(traces) == 1  # same avals: traced once
    jf(jnp.arange(4.0), jnp.ones(4))
    assert len(traces) == 2  # new shape: traced again
    jf(1.0, 2.0)  # weak scalars are a new signature
    assert len(traces) == 3


def test_jit_decorator_forms_and_pytrees():
    @xform.jit
    def f(params, x):
        return {"out": lax.add(lax.mul(params["w"], x), params["b"]), "x": x}

    @xform.jit(static_argnums=(1,))
    def g(x, n):
        for _ in range(n):
            x = lax.sin(x)
        return x

    out = f({"w": jnp.ones(2), "b": jnp.zeros(2)}, jnp.arange(2.0))
    np.testing.assert_allclose(out["out"], [0.0, 1.0])
    np.testing.assert_allclose(g(jnp.ones(2), 3), np.sin(np.sin(np.sin(np.ones(2)))), rtol=1e-6)
    np.testing.assert_allclose(g(jnp.ones(2), n=2), np.sin(np.sin(np.ones(2))), rtol=1e-6)


def test_static_argnames_and_kwargs():
    jf = xform.jit(model, static_argnames="scale")
    w, x = jnp.ones(3), jnp.arange(3.0)
    np.testing.assert_allclose(jf(w, x, scale=2.0), 2 * np.tanh(np.arange(3.0) + 1), rtol=1e-6)
    np.testing.assert_allclose(jf(w, x=x), np.tanh(np.arange(3.0) + 1), rtol=1e-6)


def test_unhashable_static_arg_is_value_error():
    jf = xform.jit(lambda x, cfg: lax.mul(x, float(len(cfg))), static_argnums=1)
    with pytest.raises(ValueError, match="[Nn]on-hashable static arguments"):
        jf(jnp.ones(2), [1, 2])
    with pytest.raises(ValueError, match="[Nn]on-hashable static arguments"):
        xform.make_jaxpr(lambda x: jf(x, [1, 2]))(jnp.ones(2))


def _names_path(path):
    # the cached path is jax.jit's own, so the message is JAX's (it names the path and
    # static_argnums); where xform dispatches in Python it gives its own wording
    return rf"(?s)(`{path}` is a str|of type <class 'str'>.*at path {path}\.).*static_argnums"


def test_non_array_argument_names_its_path():
    jf = xform.jit(lambda params, x: lax.mul(params["w"], x))
    with pytest.raises(TypeError, match=_names_path(r"params\['act'\]")):
        jf({"w": jnp.ones(2), "act": "relu"}, jnp.ones(2))
    with pytest.raises(TypeError, match=_names_path("x")):
        xform.jit(lambda x: x)("hello")
    assert current_trace() is None


def test_non_array_output_is_type_error():
    with pytest.raises(TypeError, match=r"returned a str at output path `out\[1\]`"):
        xform.jit(lambda x: (x, "s"))(1.0)


def test_jit_not_callable():
    with pytest.raises(TypeError, match="callable"):
        xform.jit(3)


def test_lower_trace_eval_shape_clear_cache():
    jf = xform.jit(model)
    w, x = jnp.ones(3), jnp.arange(3.0)
    text = jf.lower(w, x).as_text()
    assert "stablehlo.tanh" in text and "func.func public @main" in text
    compiled = jf.lower(w, x).compile()
    np.testing.assert_allclose(compiled(w, x), jf(w, x))
    traced = jf.trace(w, x)
    assert [e.primitive.name for e in traced.jaxpr.eqns] == ["mul", "add", "tanh", "mul"]
    assert traced.out_info.shape == (3,) and traced.out_info.dtype == jnp.float32
    assert jf.eval_shape(w, x).shape == (3,)
    jf.clear_cache()
    np.testing.assert_allclose(jf(w, x), np.tanh(np.arange(3.0) + 1), rtol=1e-6)


def test_jit_under_make_jaxpr_binds_call_primitive():
    inner = xform.jit(lambda x: lax.sin(x))
    closed = xform.make_jaxpr(lambda x: lax.add(inner(x), inner(x)))(jnp.ones(3))
    assert [e.primitive.name for e in closed.eqns] == ["jit", "jit", "add"]
    assert closed.eqns[0].params["name"] == "<lambda>"
    assert [e.primitive.name for e in closed.eqns[0].params["jaxpr"].eqns] == ["sin"]


def test_nested_jit_closure_over_outer_tracer_becomes_operand():
    def outer(x, y):
        inner = xform.jit(lambda z: lax.mul(z, y))  # closes over the outer tracer y
        return inner(x)

    closed = xform.make_jaxpr(outer)(jnp.ones(3), jnp.ones(3))
    eqn = closed.eqns[0]
    assert eqn.primitive.name == "jit" and len(eqn.invars) == 2
    np.testing.assert_allclose(xform.jit(outer)(jnp.arange(3.0), jnp.full(3, 2.0)), [0, 2, 4])


def test_jit_of_jit_compiles_and_agrees():
    inner = xform.jit(lambda x: lax.exp(x))
    outer = xform.jit(lambda x: lax.add(inner(x), 1.0))
    np.testing.assert_allclose(outer(jnp.zeros(2)), [2.0, 2.0])


def test_make_jaxpr_static_argnums_and_return_shape():
    closed, shape = xform.make_jaxpr(
        lambda x, n: lax.integer_pow(x, n), static_argnums=1, return_shape=True)(jnp.ones(2), 3)
    assert "integer_pow[y=3]" in str(closed)
    assert shape.shape == (2,) and shape.dtype == jnp.float32


def test_make_jaxpr_accepts_shape_dtype_structs():
    spec = xform.ShapeDtypeStruct((2, 5), jnp.float32)
    closed = xform.make_jaxpr(lambda x: lax.cos(x))(spec)
    assert closed.in_avals[0].shape == (2, 5)


def test_eval_shape():
    out = xform.eval_shape(lambda a, b: {"y": lax.add(a, b)},
                           xform.ShapeDtypeStruct((4,), jnp.int32), jnp.ones(4, jnp.int32))
    assert out["y"].shape == (4,) and out["y"].dtype == jnp.int32


def test_device_helpers():
    assert len(xform.devices()) >= 1
    x = xform.device_put(np.ones(3, np.float32))
    assert isinstance(x, jax.Array)
    assert xform.block_until_ready({"a": x})["a"] is x


def test_constants_are_embedded():
    w = jnp.arange(4.0)
    jf = xform.jit(lambda x: lax.mul(x, w))
    np.testing.assert_allclose(jf(jnp.ones(4)), np.arange(4.0))


def test_error_names_argument_after_static_ones():
    def f(n, x, y):
        if lax.gt(y, 0.0):
            return x
        return lax.mul(x, float(n))

    with pytest.raises(TypeError, match="argument `y`"):
        xform.jit(f, static_argnums=0)(3, jnp.ones(2), 1.0)
    with pytest.raises(TypeError, match=_names_path("y")):
        xform.jit(f, static_argnums=0)(3, jnp.ones(2), "s")


# -- the cached path is jax.jit's own; under a transform, JAX's jit is off ------------------
def _jax_jit_off() -> bool:
    return bool(jax.config.jax_disable_jit)


def test_cached_call_is_the_jax_jit_object():
    jf = xform.jit(lambda x: lax.sin(x))
    # no Python wrapper between the caller and JAX's C++ dispatch
    assert type(jf) is type(jax.jit(lambda x: x))
    np.testing.assert_allclose(jf(jnp.ones(2)), np.sin(np.ones(2)), rtol=1e-6)
    # xform's own .trace (xform's jaxpr) shadows JAX's
    assert [e.primitive.name for e in jf.trace(jnp.ones(2)).jaxpr.eqns] == ["sin"]

    class Model:  # jit-ted methods bind like functions, as with jax.jit
        scale = 3.0

        @functools.partial(xform.jit, static_argnums=0)
        def apply(self, x):
            return lax.mul(x, self.scale)

    np.testing.assert_allclose(Model().apply(jnp.ones(2)), [3.0, 3.0])


def test_concrete_call_under_transform_is_staged_like_jax():
    # the jit-ted function sees only constants, yet under make_jaxpr it is a jit equation
    # (JAX stages it as a pjit equation too); its cached compiled call is not used there
    inner = xform.jit(lambda x: lax.mul(x, 2.0))
    c = jnp.arange(3.0)
    inner(c)  # fills JAX's C++ cache
    closed = xform.make_jaxpr(lambda x: lax.add(x, inner(c)))(jnp.ones(3))
    assert [e.primitive.name for e in closed.eqns] == ["jit", "add"]
    g = xform.grad(lambda x: lax.reduce_sum(lax.mul(x, inner(c)), (0,)))(jnp.ones(3))
    np.testing.assert_allclose(g, [0.0, 2.0, 4.0])
    v = xform.vmap(lambda x: lax.add(x, inner(c)))(jnp.ones((2, 3)))
    np.testing.assert_allclose(v, np.ones((2, 3)) + 2 * np.arange(3.0))


def test_jax_jit_state_restored_after_transforms_and_errors():
    assert not _jax_jit_off()
    seen = []

    def f(x):
        seen.append(_jax_jit_off())  # off while xform traces ...
        return lax.sin(x)

    xform.grad(f)(1.0)
    xform.vmap(f)(jnp.ones(2))
    assert seen == [True, True] and not _jax_jit_off()  # ... and back on after
    with pytest.raises(TypeError):
        xform.grad(lambda x: jnp.ones(2) * x)(jnp.ones(2))  # non-scalar output
    assert not _jax_jit_off() and current_trace() is None
    # JAX's own jit-ted functions called on constants inside a transform still give the
    # right values (they run un-jitted there)
    jfn = jax.jit(lambda a: jnp.cos(a) + 1.0)
    out = xform.grad(lambda x: lax.mul(x, jfn(jnp.float32(0.5))))(1.0)
    np.testing.assert_allclose(out, np.cos(0.5) + 1.0, rtol=1e-6)


def test_users_jax_disable_jit_is_respected_and_restored():
    jf = xform.jit(lambda x: lax.add(lax.sin(x), 1.0))
    with jax.disable_jit():
        np.testing.assert_allclose(jf(jnp.zeros(2)), [1.0, 1.0])
        np.testing.assert_allclose(xform.vmap(jf)(jnp.zeros((3, 2))), np.ones((3, 2)))
        assert _jax_jit_off()
    assert not _jax_jit_off()


def test_other_threads_keep_jax_jit_while_one_traces():
    import threading
    inside, other = threading.Event(), []

    def slow(x):
        inside.set()
        done.wait(10)
        return lax.sin(x)

    done = threading.Event()
    t = threading.Thread(target=lambda: xform.grad(slow)(1.0))
    t.start()
    inside.wait(10)
    other.append(_jax_jit_off())  # this thread is not tracing
    done.set()
    t.join()
    assert other == [False]


def test_inline_jit_of_a_fresh_function_lowers_and_traces():
    # jit(g).lower(x) written inline: the jit object is dropped before .lower runs, and g (made
    # inline too) has no other holder; JAX's methods keep it alive, so must xform's
    import jax
    x = np.float32(0.5)
    got = xform.jit(xform.grad(lambda v: xform.numpy.sin(v) * v)).lower(x).compile()(x)
    want = jax.jit(jax.grad(lambda v: jax.numpy.sin(v) * v)).lower(x).compile()(x)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    jaxpr = xform.jit(xform.grad(lambda v: xform.numpy.sin(v) * v)).trace(x).jaxpr
    assert jaxpr.out_avals[0].shape == ()
