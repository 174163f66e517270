"""custom_jvp / custom_vjp options (symbolic_zeros, nondiff_argnames, optimize_remat, defjvps)
and xform.custom_derivatives, each run with JAX and xform on the same inputs."""

from functools import partial

import jax
import jax.custom_derivatives
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.custom_derivatives
import xform.numpy as xnp

LIBS = [(jax, jnp), (xform, xnp)]


def both(build, *args):
    """``build(lib, np_lib)(*args)`` with JAX and with xform: the two results, as numpy."""
    outs = [build(lib, nl)(*args) for lib, nl in LIBS]
    return [jax.tree.map(np.asarray, o) for o in outs]


def assert_same(build, *args):
    want, got = both(build, *args)
    jax.tree.map(lambda w, g: np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6),
                 want, got)
    assert jax.tree.structure(want) == jax.tree.structure(got)


# -- custom_jvp(symbolic_zeros=True) ---------------------------------------------------------
def _sz_jvp(lib, nl, log):
    SZ = lib.custom_derivatives.SymbolicZero

    @lib.custom_jvp
    def f(x, y):
        return nl.sin(x) * y

    @partial(f.defjvp, symbolic_zeros=True)
    def f_jvp(primals, tangents):
        x, y = primals
        xd, yd = tangents
        log.append((type(xd) is SZ or isinstance(xd, SZ), isinstance(yd, SZ)))
        out = f(x, y)
        t = 0.
        if not isinstance(xd, SZ):
            t = t + nl.cos(x) * xd * y
        if not isinstance(yd, SZ):
            t = t + nl.sin(x) * yd
        return out, t
    return f


@pytest.mark.parametrize("transform", ["grad0", "grad1", "grad01", "jit_grad0", "jvp1",
                                       "vmap_grad0"])
def test_custom_jvp_symbolic_zeros(transform):
    logs = {}

    def build(lib, nl):
        log = logs.setdefault(lib.__name__, [])
        f = _sz_jvp(lib, nl, log)
        return {
            "grad0": lambda x, y: lib.grad(f)(x, y),
            "grad1": lambda x, y: lib.grad(f, 1)(x, y),
            "grad01": lambda x, y: lib.grad(f, (0, 1))(x, y),
            "jit_grad0": lambda x, y: lib.jit(lib.grad(f))(x, y),
            "jvp1": lambda x, y: lib.jvp(lambda b: f(x, b), (y,), (2.,)),
            "vmap_grad0": lambda x, y: lib.vmap(lib.grad(f))(nl.stack([x, y]),
                                                            nl.stack([y, x])),
        }[transform]
    assert_same(build, 0.7, 1.3)
    # the rule saw the same symbolic zeros in both
    assert logs["jax"] == logs["xform"], logs


def test_symbolic_zero_attributes_and_output():
    seen = {}
    for lib, nl in LIBS:
        @lib.custom_jvp
        def f(x, n):
            return x * n

        @partial(f.defjvp, symbolic_zeros=True)
        def f_jvp(primals, tangents, name=lib.__name__):
            x, n = primals
            xd, nd = tangents
            seen[name] = (type(nd).__name__, tuple(nd.shape), str(nd.dtype))
            return f(x, n), xd * n
        lib.grad(lambda x, n: f(x, n).sum())(nl.ones(3).sum(), nl.arange(3))
    assert seen["jax"] == seen["xform"] == ("SymbolicZero", (3,), str(jax.dtypes.float0))


def test_custom_jvp_symbolic_zero_output():
    def build(lib, nl):
        SZ = lib.custom_derivatives.SymbolicZero

        @lib.custom_jvp
        def f(x, y):
            return x * 2., y * 3.

        @partial(f.defjvp, symbolic_zeros=True)
        def f_jvp(primals, tangents):
            (x, y), (xd, yd) = primals, tangents
            t0 = SZ.from_primal_value(x) if isinstance(xd, SZ) else xd * 2.
            t1 = SZ.from_primal_value(y) if isinstance(yd, SZ) else yd * 3.
            return f(x, y), (t0, t1)
        return lambda x, y: (lib.jvp(lambda a: f(a, y), (x,), (1.,)),
                             lib.grad(lambda a: f(a, y)[0] + f(a, y)[1])(x))
    assert_same(build, 1.5, 2.5)


def test_zero_from_primal():
    tree = {"a": np.float32(1.), "b": np.arange(3, dtype=np.int32)}
    want = jax.custom_derivatives.zero_from_primal(tree)
    got = xform.custom_derivatives.zero_from_primal(tree)
    assert np.asarray(got["a"]).dtype == np.asarray(want["a"]).dtype
    assert np.asarray(got["b"]).dtype == np.asarray(want["b"]).dtype == jax.dtypes.float0
    np.testing.assert_array_equal(np.asarray(got["a"]), np.asarray(want["a"]))
    sz = xform.custom_derivatives.zero_from_primal(tree, symbolic_zeros=True)
    jz = jax.custom_derivatives.zero_from_primal(tree, symbolic_zeros=True)
    assert isinstance(sz["b"], jax.custom_derivatives.SymbolicZero)  # subclass of JAX's
    assert (sz["b"].shape, sz["b"].dtype) == (jz["b"].shape, jz["b"].dtype)
    assert repr(sz["a"]) == repr(jz["a"]) == "SymbolicZero"


# -- custom_vjp(symbolic_zeros=True) ---------------------------------------------------------
def _sz_vjp(lib, nl, log):
    SZ = lib.custom_derivatives.SymbolicZero

    @lib.custom_vjp
    def f(x, y):
        return x * y, nl.sin(x)

    def fwd(x, y):
        log.append(("fwd", type(x).__name__, x.perturbed, y.perturbed))
        x, y = x.value, y.value
        return f(x, y), (x, y)

    def bwd(res, cts):
        x, y = res
        c0, c1 = cts
        log.append(("bwd", isinstance(c0, SZ), isinstance(c1, SZ)))
        c0 = 0. if isinstance(c0, SZ) else c0
        c1 = 0. if isinstance(c1, SZ) else c1
        return c0 * y + c1 * nl.cos(x), c0 * x
    f.defvjp(fwd, bwd, symbolic_zeros=True)
    return f


@pytest.mark.parametrize("transform", ["grad_out0", "grad_out1_x", "jit", "vmap"])
def test_custom_vjp_symbolic_zeros(transform):
    logs = {}

    def build(lib, nl):
        log = logs.setdefault(lib.__name__, [])
        f = _sz_vjp(lib, nl, log)
        return {
            "grad_out0": lambda x, y: lib.grad(lambda a, b: f(a, b)[0], (0, 1))(x, y),
            "grad_out1_x": lambda x, y: lib.grad(lambda a: f(a, y)[1])(x),
            "jit": lambda x, y: lib.jit(lib.grad(lambda a: f(a, y)[0]))(x),
            "vmap": lambda x, y: lib.vmap(lib.grad(lambda a, b: f(a, b)[1]))(
                nl.stack([x, y]), nl.stack([y, x])),
        }[transform]
    assert_same(build, 0.4, 1.7)
    assert logs["jax"] == logs["xform"], logs


def test_custom_vjp_primal_tree_values():
    recs = [jax.custom_derivatives.CustomVJPPrimal(1., True),
            xform.custom_derivatives.CustomVJPPrimal(2., False)]
    assert xform.custom_derivatives.custom_vjp_primal_tree_values(recs) == [1., 2.]
    with pytest.raises(TypeError, match="unexpected leaf type"):
        xform.custom_derivatives.custom_vjp_primal_tree_values([1.])


def test_bwd_may_return_symbolic_zero():
    def build(lib, nl):
        @lib.custom_vjp
        def f(x, y):
            return x * y

        f.defvjp(lambda x, y: (f(x, y), (x, y)),
                 lambda res, g: (g * res[1], lib.custom_derivatives.SymbolicZero.
                                 from_primal_value(res[1])))
        return lambda x, y: lib.grad(f, (0, 1))(x, y)
    assert_same(build, 2., 3.)


# -- nondiff_argnames, optimize_remat, defjvps -----------------------------------------------
def test_nondiff_argnames_jvp():
    def build(lib, nl):
        @partial(lib.custom_jvp, nondiff_argnames=("power",))
        def f(x, power):
            return x ** power

        @f.defjvp
        def f_jvp(power, primals, tangents):
            (x,), (xd,) = primals, tangents
            return f(x, power), 10. * power * x ** (power - 1) * xd
        return lambda x: (lib.grad(f)(x, 3), lib.grad(lambda a: f(a, power=2))(x),
                          lib.jit(lib.grad(f), static_argnums=1)(x, 3))
    assert_same(build, 1.5)


def test_nondiff_argnames_vjp():
    def build(lib, nl):
        @partial(lib.custom_vjp, nondiff_argnames=("scale",))
        def f(scale, x):
            return x * scale

        f.defvjp(lambda scale, x: (f(scale, x), x),
                 lambda scale, x, g: (g * scale * 100.,))
        return lambda x: (lib.grad(lambda a: f(2., a))(x),
                          lib.vmap(lib.grad(lambda a: f(3., a)))(nl.stack([x, x])))
    assert_same(build, 0.5)


def test_nondiff_argnames_bad_name():
    def g(x, y):
        return x
    with pytest.raises(ValueError, match="'z' is not a parameter"):
        xform.custom_jvp(g, nondiff_argnames=("z",))
    assert xform.custom_vjp(g, nondiff_argnums=(1,), nondiff_argnames=("x",)).nondiff_argnums \
        == jax.custom_vjp(g, nondiff_argnums=(1,), nondiff_argnames=("x",)).nondiff_argnums


def test_optimize_remat():
    def build(lib, nl):
        @lib.custom_vjp
        def f(x):
            return nl.sin(x) * 2.

        f.defvjp(lambda x: (f(x), nl.cos(x)), lambda c, g: (c * g * 2.,),
                 optimize_remat=True)
        return lambda x: (lib.grad(lib.checkpoint(lambda a: f(f(a))))(x),
                          lib.grad(f)(x))
    assert_same(build, 0.3)
    for lib in (jax, xform):
        h = lib.custom_vjp(lambda x: x)
        with pytest.raises(NotImplementedError, match="symbolic zeros"):
            h.defvjp(lambda x: (x, None), lambda r, g: (g,), symbolic_zeros=True,
                     optimize_remat=True)


def test_defjvps():
    def build(lib, nl):
        @lib.custom_jvp
        def f(x, y):
            return nl.sin(x) * y
        f.defjvps(lambda x_dot, primal_out, x, y: nl.cos(x) * x_dot * y,
                  lambda y_dot, primal_out, x, y: nl.sin(x) * y_dot)
        return lambda x, y: (lib.grad(f, (0, 1))(x, y),
                             lib.jvp(f, (x, y), (1., 2.)),
                             lib.vmap(lib.grad(f))(nl.stack([x, y]), nl.stack([y, x])))
    assert_same(build, 0.5, 2.)
