"""xform.custom_batching (custom_vmap, sequential_vmap) against jax.custom_batching on the same
inputs: values, which rule calls happen with which in_batched, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

LIBS = [(jax, jnp), (xform, xnp)]


def run_both(build):
    """``build(lib, nl, log)`` returns a thunk; run it with JAX and xform and return
    ``((jax_out, jax_log), (xform_out, xform_log))``."""
    res = []
    for lib, nl in LIBS:
        log = []
        out = build(lib, nl, log)()
        res.append((jax.tree.map(np.asarray, out), log))
    return res


def check(build):
    (want, wlog), (got, glog) = run_both(build)
    assert jax.tree.structure(want) == jax.tree.structure(got)
    jax.tree.map(lambda w, g: (np.testing.assert_allclose(g, w, rtol=1e-6),
                               np.testing.assert_equal(g.dtype, w.dtype)), want, got)
    assert wlog == glog


def _f(lib, nl, log):
    @lib.custom_batching.custom_vmap
    def f(x, y):
        return nl.sin(x) + y

    @f.def_vmap
    def rule(axis_size, in_batched, xs, ys):
        log.append((axis_size, list(in_batched)))
        return nl.cos(xs) * ys, True
    return f


XS, YS = np.arange(3.0, dtype=np.float32), np.arange(1.0, 4.0, dtype=np.float32)

CASES = {
    "eager": lambda lib, f: f(XS, YS),
    "vmap": lambda lib, f: lib.vmap(f)(XS, YS),
    "vmap_unbatched_y": lambda lib, f: lib.vmap(f, (0, None))(XS, 2.0),
    "jit_vmap": lambda lib, f: lib.jit(lib.vmap(f))(XS, YS),
    "vmap_jit": lambda lib, f: lib.vmap(lib.jit(f))(XS, YS),
    "nested_vmap": lambda lib, f: lib.vmap(lib.vmap(f, (0, None)), (None, 0))(XS, YS),
    "jvp": lambda lib, f: lib.jvp(f, (XS, YS), (YS, XS)),
    "jvp_of_vmap": lambda lib, f: lib.jvp(lib.vmap(f), (XS, YS), (YS, XS)),
    "jvp_of_vmap_mixed": lambda lib, f: lib.jvp(lib.vmap(f, (0, None)), (XS, 2.0), (YS, 1.0)),
    "vmap_of_jvp": lambda lib, f: lib.vmap(lambda x, y: lib.jvp(f, (x, y), (y, x)))(XS, YS),
    "vmap_of_jvp_const_tangent": lambda lib, f: lib.vmap(
        lambda x, y: lib.jvp(f, (x, y), (1.0, 1.0)))(XS, YS),
    "grad_of_vmap": lambda lib, f: lib.grad(lambda x: lib.vmap(f)(x, YS).sum())(XS),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_custom_vmap(case):
    check(lambda lib, nl, log: lambda: CASES[case](lib, _f(lib, nl, log)))


def test_docstring_example_int():
    def build(lib, nl, log):
        @lib.custom_batching.custom_vmap
        def f(x, y):
            return x + y

        @f.def_vmap
        def rule(axis_size, in_batched, xs, ys):
            return xs * ys, True
        return lambda: lib.vmap(f)(nl.arange(3), nl.arange(1, 4))
    check(build)


def test_pytree_arguments_and_outputs():
    def build(lib, nl, log):
        @lib.custom_batching.custom_vmap
        def f(d, s):
            return {"sum": d["a"] + d["b"] * s, "s": s}

        @f.def_vmap
        def rule(axis_size, in_batched, d, s):
            log.append(jax.tree.map(bool, in_batched))
            return {"sum": d["a"] - d["b"] * s, "s": s}, {"sum": True, "s": in_batched[1]}
        return lambda: lib.vmap(f, ({"a": 0, "b": None}, None))(
            {"a": XS, "b": nl.float32(2.0)}, nl.float32(3.0))
    check(build)


def test_custom_vjp_around_custom_vmap():
    # JAX's documented way to give a custom_vmap function reverse mode
    def build(lib, nl, log):
        @lib.custom_vjp
        @lib.custom_batching.custom_vmap
        def f(x, y):
            return nl.sin(x) * y

        @f.def_vmap
        def f_vmap_rule(axis_size, in_batched, xs, ys):
            return nl.cos(xs) * ys, True

        f.defvjp(lambda x, y: (f(x, y), (nl.cos(x), nl.sin(x), y)),
                 lambda res, g: (res[0] * g * res[2], res[1] * g))
        return lambda: (lib.vmap(f)(nl.zeros(3), nl.ones(3)),
                        lib.grad(f)(nl.zeros(()), nl.ones(())))
    check(build)


def test_sequential_vmap():
    def build(lib, nl, log):
        @lib.custom_batching.sequential_vmap
        def f(x, p):
            return {"y": x * p["w"] + p["b"], "n": nl.sum(x)}
        p = {"w": nl.float32(2.0), "b": nl.arange(3.0)}
        xs = nl.arange(6.0).reshape(2, 3)
        return lambda: (lib.vmap(f, (0, None))(xs, p), lib.jit(lib.vmap(f, (1, None)))(
            xs.T, p), f(xs[0], p))
    check(build)


def test_errors_match_jax():
    for lib, _nl in LIBS:
        f = lib.custom_batching.custom_vmap(lambda x: x)
        with pytest.raises(AttributeError, match="No batching rule"):
            lib.vmap(f)(XS)
        f.def_vmap(lambda n, ib, x: ((x, x), True))
        with pytest.raises(ValueError, match="do not match"):
            lib.vmap(f)(XS)
        f.def_vmap(lambda n, ib, x: ((x, x), (True, True)))
        with pytest.raises(ValueError, match="does not match that of original"):
            lib.vmap(f)(XS)


def test_wrong_batched_shape_is_reported():
    f = xform.custom_batching.custom_vmap(lambda x: x)
    f.def_vmap(lambda n, ib, x: (x[0], True))
    with pytest.raises(ValueError, match=r"output 0 has shape \(\).*should be \(3,\)"):
        xform.vmap(f)(XS)


def _sin_times(nl):
    return lambda x, y: nl.sin(x) * y


def test_reverse_mode_error_type_matches_jax():
    for lib, nl in LIBS:
        f = lib.custom_batching.custom_vmap(_sin_times(nl))
        f.def_vmap(lambda n, ib, xs, ys: (xs * ys, True))
        with pytest.raises(ValueError):
            lib.grad(f)(1.0, 2.0)
        with pytest.raises(ValueError):
            lib.vmap(lib.grad(f))(nl.ones(2), nl.ones(2))
