"""The top-level names added to match JAX's public API, against JAX on the same inputs."""

import os
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp


# -- xform.tree ------------------------------------------------------------------------------
TREE = {"a": [1.0, 2.0], "b": (3.0, {"c": 4.0})}


@pytest.mark.parametrize("name,call", [
    ("map", lambda t: t.map(lambda x: x * 2, TREE)),
    ("leaves", lambda t: t.leaves(TREE)),
    ("structure", lambda t: str(t.structure(TREE))),
    ("flatten", lambda t: t.flatten(TREE)[0]),
    ("reduce", lambda t: t.reduce(lambda a, b: a + b, TREE, 0.0)),
    ("all", lambda t: t.all(t.map(lambda x: x > 0, TREE))),
    ("leaves_with_path", lambda t: [(jax.tree_util.keystr(k), v)
                                    for k, v in t.leaves_with_path(TREE)]),
    ("map_with_path", lambda t: t.map_with_path(lambda p, x: len(p) * x, TREE)),
    ("broadcast", lambda t: t.broadcast({"a": 0.0, "b": 1.0}, TREE)),
    ("transpose", lambda t: t.transpose(t.structure([0, 0]), t.structure((0, 0)),
                                        [(1, 2), (3, 4)])),
])
def test_tree_is_jax_tree(name, call):
    assert call(xform.tree) == call(jax.tree)


def test_tree_map_under_transforms():
    def f(p):
        return xnp.sum(xform.tree.leaves(xform.tree.map(xnp.sin, p))[0])
    p = {"w": xnp.ones(3)}
    np.testing.assert_allclose(xform.jit(xform.grad(f))(p)["w"], np.cos(np.ones(3)), rtol=1e-6)


# -- small top-level names -------------------------------------------------------------------
def test_device_helpers_and_jacobian():
    assert xform.device_count() == jax.device_count()
    assert xform.local_device_count() == jax.local_device_count()
    assert xform.local_devices() == jax.local_devices()
    assert xform.default_backend() == jax.default_backend()
    assert (xform.process_index(), xform.process_count()) == (0, 1)
    x = xnp.arange(3.0)
    assert isinstance(xform.device_get(x), np.ndarray)
    assert any(a is x for a in xform.live_arrays())
    np.testing.assert_allclose(xform.jacobian(xnp.sin)(x), jax.jacobian(jnp.sin)(x))
    assert xform.float0 == jax.dtypes.float0


def test_typeof():
    assert xform.typeof(xnp.ones((2, 3))) == jax.typeof(jnp.ones((2, 3)))
    seen = []
    xform.jit(lambda x: seen.append(xform.typeof(x)) or x)(1.0)
    xform.vmap(lambda x: seen.append(xform.typeof(x)) or x)(xnp.ones((4, 2)))
    assert [str(s) for s in seen] == ["~float32[]", "float32[2]"]


def test_print_environment_info():
    text = xform.print_environment_info(return_string=True)
    assert f"jax:      {jax.__version__}" in text and "xform:" in text


# -- named_scope / named_call ----------------------------------------------------------------
def _layered(x):
    with xform.named_scope("outer"):
        with xform.named_scope("inner"):
            y = xnp.sin(x)
        z = xform.jit(lambda a: a * 3.0)(y)  # an inner jit keeps its names relative
    return z + 1.0


def _jax_layered(x):
    with jax.named_scope("outer"):
        with jax.named_scope("inner"):
            y = jnp.sin(x)
        z = jax.jit(lambda a: a * 3.0)(y)
    return z + 1.0


def _scoped_ops(text):
    return sorted({line.split('"')[1].split("/", 1)[1] for line in text.splitlines()
                   if "loc(\"" in line and "outer" in line})


def test_named_scope_reaches_the_lowered_program():
    x = np.ones(2, np.float32)
    got = xform.jit(_layered).lower(x).as_text(debug_info=True)
    want = jax.jit(_jax_layered).lower(x).as_text(debug_info=True)
    assert "outer/inner/sin" in " ".join(_scoped_ops(got))
    assert "outer/inner/sin" in " ".join(_scoped_ops(want))
    # the backward ops of grad keep the scope of their forward op
    text = xform.jit(xform.grad(lambda x: _layered(x).sum())).lower(x).as_text(debug_info=True)
    assert any(op.startswith("outer/inner/cos") for op in _scoped_ops(text))
    np.testing.assert_allclose(xform.jit(_layered)(x), _jax_layered(x), rtol=1e-6)


def test_named_call():
    f = xform.named_call(lambda x: xnp.cos(x) * 2.0, name="my_layer")
    text = xform.jit(f).lower(1.0).as_text(debug_info=True)
    assert "my_layer/cos" in text
    np.testing.assert_allclose(f(1.0), 2 * np.cos(1.0), rtol=1e-6)
    with pytest.raises(TypeError, match="string"):
        with xform.named_scope(3):
            pass


# -- ensure_compile_time_eval ----------------------------------------------------------------
def test_ensure_compile_time_eval():
    @xform.jit
    def f(x):
        with xform.ensure_compile_time_eval():
            n = int(xnp.sum(xnp.arange(4)))  # concrete inside jit
            c = xnp.cos(xnp.zeros(()))
        assert not isinstance(c, xform.core.trace.Tracer)
        return x * n + c

    np.testing.assert_allclose(f(1.0), 7.0)
    with pytest.raises(TypeError, match="concrete"):  # outside the block: staged, as usual
        xform.jit(lambda x: int(x))(1.0)


# -- custom_gradient / closure_convert -------------------------------------------------------
def test_custom_gradient_matches_jax():
    @xform.custom_gradient
    def f(x, y):
        return x * y, lambda g: (g * 10.0 * y, g * x)

    @jax.custom_gradient
    def jf(x, y):
        return x * y, lambda g: (g * 10.0 * y, g * x)

    for gx, gj in zip(xform.grad(f, (0, 1))(2.0, 3.0), jax.grad(jf, (0, 1))(2.0, 3.0)):
        np.testing.assert_allclose(gx, gj)
    xs = np.arange(3.0, dtype=np.float32)
    np.testing.assert_allclose(xform.jit(xform.vmap(xform.grad(f), (0, None)))(xs, 3.0),
                               jax.vmap(jax.grad(jf), (0, None))(xs, 3.0))

    @xform.custom_gradient
    def clip(x):  # one argument: the rule may return the bare cotangent
        return x, lambda g: xnp.clip(g, -1.0, 1.0)

    assert float(xform.grad(lambda x: 5.0 * clip(x))(2.0)) == 1.0


def test_closure_convert_hoists_traced_floats():
    def outer(x, w):
        def fn(y):
            return xnp.sin(y * w)
        converted, consts = xform.closure_convert(fn, x)
        return converted(x, *consts), len(consts)

    out, n = outer(1.0, 2.0)  # w concrete: nothing to hoist, as in JAX
    assert n == 0
    np.testing.assert_allclose(out, np.sin(2.0), rtol=1e-6)
    counts = []

    def traced(x, w):
        y, n = outer(x, w)
        counts.append(n)
        return y

    np.testing.assert_allclose(xform.grad(traced, 1)(1.0, 2.0), np.cos(2.0), rtol=1e-6)
    assert counts == [1]


# -- config flags ----------------------------------------------------------------------------
def test_config_reads_and_rejects():
    assert xform.config.jax_enable_x64 is jax.config.jax_enable_x64
    assert xform.config.jax_disable_jit is False
    with pytest.raises(AttributeError, match="Unrecognized config option"):
        xform.config.update("jax_no_such_flag", True)
    with pytest.raises(NotImplementedError, match="does not implement"):
        xform.config.update("jax_enable_checks", True)


def test_disable_jit_runs_python_op_by_op():
    seen = []

    @xform.jit
    def f(x):
        seen.append(type(x).__name__)
        return xnp.sin(x) * 2.0

    x = xnp.ones(3)
    f(x)
    assert seen == ["StagingTracer"]
    with xform.disable_jit():
        f(x)  # concrete values
        xform.vmap(f)(xnp.ones((2, 3)))
        g = xform.jit(lambda x: x if float(x.sum()) > 0 else -x)  # Python control flow
        np.testing.assert_allclose(g(-x), x)
    assert seen[1:] == ["ArrayImpl", "BatchTracer"]
    f(x)  # compiled again, from the cache: no trace
    xform.vmap(f)(xnp.ones((2, 3)))
    assert seen[3:] == ["StagingTracer"]
    xform.config.update("jax_disable_jit", True)
    try:
        f(x)
    finally:
        xform.config.update("jax_disable_jit", False)
    assert seen[-1] == "ArrayImpl"


def test_rank_promotion_flag():
    a, b = xnp.ones((2, 3)), xnp.ones(3)
    with xform.numpy_rank_promotion("raise"):
        with pytest.raises(ValueError, match="jax_numpy_rank_promotion='raise'"):
            xnp.add(a, b)
        with pytest.raises(ValueError):
            xform.jit(lambda a, b: xnp.multiply(a, b))(a, b)
        assert xnp.add(a, 1.0).shape == (2, 3)  # scalars are fine
    xform.config.update("jax_numpy_rank_promotion", "warn")
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            xnp.subtract(a, b)
        assert any("rank promotion" in str(m.message) for m in w)
    finally:
        xform.config.update("jax_numpy_rank_promotion", "allow")


def test_debug_infs_and_matmul_precision():
    xform.config.update("jax_debug_infs", True)
    try:
        with pytest.raises(FloatingPointError, match="inf"):
            xform.jit(lambda x: 1.0 / x)(xnp.zeros(2))
    finally:
        xform.config.update("jax_debug_infs", False)
    def f(a, b):
        return a @ b
    a = np.ones((2, 2), np.float32)
    assert "HIGHEST" not in xform.jit(f).lower(a, a).as_text()
    with xform.default_matmul_precision("highest"):
        assert "HIGHEST" in xform.jit(f).lower(a, a).as_text()


def test_enable_x64_end_to_end():
    # a fresh process, so the rest of the suite keeps 32-bit defaults
    code = textwrap.dedent("""
        import xform
        xform.config.update("jax_enable_x64", True)
        import jax, jax.numpy as jnp, numpy as np, xform.numpy as xnp
        assert xform.config.jax_enable_x64
        x = xnp.arange(3.0)
        f = lambda x: xnp.sum(xnp.sin(x) * 2.0)
        outs = [x, xnp.arange(3), xform.jit(f)(x), xform.vmap(xnp.sin)(x),
                xform.grad(f)(x), xform.jit(xform.vmap(xform.grad(f)))(x[None])]
        print([str(o.dtype) for o in outs])
        np.testing.assert_allclose(xform.grad(f)(x), jax.grad(lambda x: jnp.sum(jnp.sin(x) * 2.0))(
            jnp.arange(3.0)), rtol=1e-15)
        print(str(xform.make_jaxpr(lambda x: x * 2.0)(1.0)))
        # int32 indices and loop counters (a Python 0 or 1 beside them is int64 here)
        for api, N in ((jax, jnp), (xform, xnp)):
            y = N.arange(4.0)
            i0, i3 = np.int32(0), np.int32(3)
            got = [api.jit(lambda y: y[N.argmax(y) % 2])(y),
                   api.jit(lambda y, i: y[i])(y, np.int32(-1)),
                   api.jit(lambda n: api.lax.fori_loop(i0, n, lambda i, c: c + i, 0))(i3),
                   api.grad(lambda y: api.lax.fori_loop(i0, i3, lambda i, c: c * y, y))(2.0)]
            print([float(g) for g in got])
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == str(["float64", "int64", "float64", "float64", "float64", "float64"])
    assert "f64[]" in lines[1]
    assert lines[2] == lines[3]  # JAX's and xform's int32 indices and loops
