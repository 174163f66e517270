"""xform.debug (print, callback, breakpoint), xform.pure_callback and
xform.experimental.io_callback: the same programs run under JAX and xform, their printed output
compared line for line."""

import contextlib
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import io_callback as jax_io_callback

import xform
import xform.numpy as xnp
from xform.experimental import io_callback as x_io_callback

LIBS = {"jax": (jax, jnp), "xform": (xform, xnp)}


def _printed(program) -> dict:
    """What ``program(lib, np_lib)`` prints under JAX and under xform."""
    out = {}
    for name, (lib, np_lib) in LIBS.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            program(lib, np_lib)
            jax.effects_barrier()
        out[name] = buf.getvalue()
    return out


def _same(program):
    out = _printed(program)
    assert out["xform"] == out["jax"]
    assert out["jax"]  # the program printed something
    return out["jax"]


def _f(lib, np_lib):
    def f(x):
        lib.debug.print("x={} s={s}", x, s=x.sum())
        return np_lib.sin(x).sum()
    return f


@pytest.mark.parametrize("transform", [
    "eager", "jit", "vmap", "grad", "jit_grad", "grad_jit", "jvp", "vmap_grad", "jit_vmap",
])
def test_print_under_transforms(transform):
    def program(lib, np_lib):
        f = _f(lib, np_lib)
        x, xs = np_lib.arange(3.0), np_lib.ones((2, 3))
        {"eager": lambda: f(x), "jit": lambda: lib.jit(f)(x),
         "vmap": lambda: lib.vmap(f)(xs), "grad": lambda: lib.grad(f)(x),
         "jit_grad": lambda: lib.jit(lib.grad(f))(x),
         "grad_jit": lambda: lib.grad(lib.jit(f))(x),
         "jvp": lambda: lib.jvp(f, (x,), (x,)),
         "vmap_grad": lambda: lib.vmap(lib.grad(f))(xs),
         "jit_vmap": lambda: lib.jit(lib.vmap(f, in_axes=1))(xs)}[transform]()
    text = _same(program)
    expected_lines = 3 if transform == "jit_vmap" else 2 if "vmap" in transform else 1
    assert text.count("\n") == expected_lines


def test_print_in_control_flow_ordered():
    def program(lib, np_lib):
        def step(c, x):
            lib.debug.print("c={c} x={x}", c=c, x=x, ordered=True)
            return c + x, c

        def body(i):
            lib.debug.print("i={}", i, ordered=True)
            return i + 1

        def branch(tag):
            return lambda v: (lib.debug.print(tag + " {}", v), v)[1]

        xs = np_lib.arange(3.0)
        lib.jit(lambda xs: lib.lax.scan(step, 0.0, xs))(xs)
        lib.grad(lambda xs: lib.lax.scan(step, 0.0, xs)[0])(xs)
        lib.jit(lambda: lib.lax.while_loop(lambda i: i < 3, body, 0))()
        cond = lib.jit(lambda p, v: lib.lax.cond(p, branch("T"), branch("F"), v))
        cond(True, 1.0)
        cond(False, 2.0)
    assert _same(program).count("\n") == 11


def test_print_formats_and_errors():
    def program(lib, np_lib):
        x = np_lib.arange(3.0)
        lib.debug.print("no placeholders", x, 7, skip_format_check=True)
        lib.debug.print("{a} and {b[0]:.2f}", a={"k": 1}, b=[np_lib.float32(2.5)])
        lib.debug.print(ordered=True)("two-call {}", x)
        with np.printoptions(precision=2):
            lib.jit(lambda v: lib.debug.print("p {}", v / 3))(x)
        for bad in [lambda: lib.debug.print("{}", 1, 2), lambda: lib.debug.print("{x}", y=1)]:
            try:
                bad()
            except (ValueError, KeyError) as e:
                print(type(e).__name__, str(e).replace("jax.", "").replace("xform.", ""))
    _same(program)


def test_debug_callback():
    def program(lib, np_lib):
        def show(a, tree):
            print("cb", a, tree["k"])

        x = np_lib.arange(2.0)
        f = lambda v: lib.debug.callback(show, v, {"k": 2 * v})  # noqa: E731
        f(x)
        lib.jit(f)(x)
        lib.vmap(f)(x)
        lib.debug.callback(ordered=True)(show, x, {"k": x})
    _same(program)
    with pytest.raises(TypeError, match="must be callable"):
        xform.debug.callback(3, 1.0)


@pytest.mark.filterwarnings("ignore:Python iterable type")  # JAX's own frame flattening
def test_breakpoint_cli_non_interactive():
    script = "p y\np x + 1\npp y.shape\nnosuch\nw\nc\n"

    def program(lib, np_lib):
        def f(x):
            y = np_lib.sin(x)
            lib.debug.breakpoint(stdin=io.StringIO(script), stdout=__import__("sys").stdout,
                                 backend="cli")
            return y
        f(np_lib.arange(3.0))
        lib.jit(f)(np_lib.arange(3.0))
    out = _printed(program)
    # the frame listing names each library's own file lines; everything else is the same
    strip = [line for line in out["xform"].splitlines() if "File" not in line]
    assert strip == [line for line in out["jax"].splitlines() if "File" not in line]
    assert "Array([1., 2., 3.], dtype=float32)" in out["xform"]


def test_breakpoint_custom_backend_under_vmap():
    seen = []
    xform.debug.register_debugger("record", lambda frames, tid, **kw: seen.append(
        float(frames[0].locals["y"])), priority=0)

    def f(x):
        y = x * 2
        xform.debug.breakpoint(backend="record")
        return y
    xform.vmap(f)(xnp.arange(3.0))
    xform.jit(f)(4.0)
    jax.effects_barrier()
    assert seen == [0.0, 2.0, 4.0, 8.0]


def _pc(lib, np_lib, method, calls):
    def cb(x, y):
        calls.append(np.shape(x))
        return np.sin(x) + y

    def f(x, y):
        return lib.pure_callback(cb, lib.ShapeDtypeStruct(np.broadcast_shapes(x.shape, y.shape),
                                                          x.dtype), x, y, vmap_method=method)
    return f


@pytest.mark.parametrize("method", ["sequential", "sequential_unrolled", "expand_dims",
                                    "broadcast_all", "legacy_vectorized"])
def test_pure_callback_vmap_methods(method):
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    y = np.ones(3, np.float32)
    results = {}
    for name, (lib, np_lib) in LIBS.items():
        calls = []
        f = _pc(lib, np_lib, method, calls)
        eager = f(x[0], y)
        batched = lib.vmap(f, in_axes=(0, None))(x, y)
        compiled = lib.jit(lib.vmap(f, in_axes=(1, None)))(x, y[:2])
        results[name] = (eager, batched, compiled, calls)
    for a, b in zip(results["xform"][:3], results["jax"][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert results["xform"][3] == results["jax"][3]  # the callback saw the same shapes


def test_pure_callback_errors():
    f = _pc(xform, xnp, None, [])
    x = xnp.ones((2, 3))
    with pytest.raises(NotImplementedError, match="vmap_method"):
        xform.vmap(f, in_axes=(0, None))(x, x[0])
    with pytest.raises(ValueError, match="do not support JVP"):
        xform.grad(lambda v: f(v, v).sum())(x[0])
    with pytest.raises(ValueError, match="vmap_method must be"):
        xform.pure_callback(np.sin, jax.ShapeDtypeStruct((), np.float32), 1.0,
                            vmap_method="nope")
    # a custom_jvp around the callback differentiates, as JAX recommends
    sin = xform.custom_jvp(lambda v: xform.pure_callback(
        np.sin, jax.ShapeDtypeStruct(v.shape, v.dtype), v, vmap_method="sequential"))
    sin.defjvp(lambda p, t: (sin(p[0]), xnp.cos(p[0]) * t[0]))
    np.testing.assert_allclose(xform.grad(lambda v: sin(v).sum())(x[0]), np.cos(1.0) * np.ones(3),
                               rtol=1e-6)


def test_io_callback():
    def program(lib, np_lib):
        io_cb = x_io_callback if lib is xform else jax_io_callback

        def host(v):
            print("io", v)
            return v * 2

        g = lambda v, ordered=False: io_cb(  # noqa: E731
            host, lib.ShapeDtypeStruct((3,), np.float32), v, ordered=ordered)
        print(lib.jit(g)(np_lib.ones(3)))
        print(lib.vmap(g)(np_lib.arange(6.0).reshape(2, 3)))
        print(lib.jit(lambda v: g(v, True))(np_lib.ones(3)))
        for bad in [lambda: lib.vmap(lambda v: g(v, True))(np_lib.ones((2, 3))),
                    lambda: lib.grad(lambda v: g(v).sum())(np_lib.ones(3))]:
            try:
                bad()
            except ValueError as e:
                print("ValueError", e)
    _same(program)
