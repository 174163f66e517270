"""``xform.lax.reduce_window`` with any computation (the general ``reduce_window`` primitive),
against ``jax.lax.reduce_window`` on the same inputs: non-monoid computations, a variadic
(value, index) pair, padding strings and explicit pads, strides and dilations; under jit, vmap,
jvp/jacfwd and from_jax."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import xform
import xform.numpy as xnp

RNG = np.random.RandomState(0)
X = RNG.randn(3, 7).astype(np.float32)


def _close(a, b, tol=1e-5):
    jax.tree.map(lambda p, q: np.testing.assert_allclose(np.asarray(p), np.asarray(q),
                                                         rtol=tol, atol=tol), a, b)


def _argmax_pair(lax_mod):
    # (value, index): the larger value wins, the lower index on ties (JAX's argmax reducer)
    def comp(acc, x):
        (av, ai), (xv, xi) = acc, x
        pick = lax_mod.gt(xv, av) | (lax_mod.eq(xv, av) & lax_mod.lt(xi, ai))
        return lax_mod.select(pick, xv, av), lax_mod.select(pick, xi, ai)
    return comp


# (name, xform computation, JAX computation, init value)
COMPUTATIONS = [
    ("mul", xform.lax.mul, lax.mul, 1.0),
    ("logaddexp", xnp.logaddexp, jnp.logaddexp, -np.inf),
    ("max_non_identity", xform.lax.max, lax.max, 0.25),
    ("add_non_identity", lax.add, lax.add, 2.0),
    ("softplus_sum", lambda a, b: a + xnp.log1p(xnp.exp(b)),
     lambda a, b: a + jnp.log1p(jnp.exp(b)), 0.0),
]

# (window_dimensions, window_strides, padding, base_dilation, window_dilation)
WINDOWS = [
    ((2, 3), None, "VALID", None, None),
    ((2, 3), (1, 2), "SAME", None, None),
    ((3, 2), (2, 1), "SAME_LOWER", None, (1, 2)),
    ((2, 2), (1, 3), ((1, 0), (2, 1)), (2, 1), None),
    ((1, 3), (1, 1), ((0, 0), (1, 1)), (1, 2), (1, 2)),
]


def _pair(name, fx, fj, init, window):
    """The xform and JAX functions of x for one computation and window, jitted."""
    def make(reduce_window, comp):
        return lambda x: reduce_window(x, init, comp, *window)
    return (xform.jit(make(xform.lax.reduce_window, fx)),
            jax.jit(make(lax.reduce_window, fj)))


@pytest.mark.parametrize("window", WINDOWS, ids=[str(i) for i in range(len(WINDOWS))])
@pytest.mark.parametrize("case", COMPUTATIONS, ids=[c[0] for c in COMPUTATIONS])
def test_values_match_jax(case, window):
    fx, fj = _pair(*case, window)
    _close(fx(X), fj(X))


def test_general_computation_binds_reduce_window_and_monoid_keeps_its_primitive():
    general = xform.make_jaxpr(lambda x: xform.lax.reduce_window(x, 1.0, xform.lax.mul,
                                                                 (2, 2)))(X)
    assert [e.primitive.name for e in general.jaxpr.eqns] == ["reduce_window"]
    # add with its identity: the monoid fast path, as JAX picks reduce_window_sum
    monoid = xform.make_jaxpr(lambda x: xform.lax.reduce_window(x, 0.0, lax.add, (2, 2)))(X)
    assert [e.primitive.name for e in monoid.jaxpr.eqns] == ["reduce_window_sum"]
    # max with a non-identity init: general, as in JAX
    jaxpr_j = jax.make_jaxpr(lambda x: lax.reduce_window(x, 0.25, lax.max, (2, 2)))(X)
    jaxpr_x = xform.make_jaxpr(lambda x: xform.lax.reduce_window(x, 0.25, lax.max, (2, 2)))(X)
    assert ([e.primitive.name for e in jaxpr_x.jaxpr.eqns]
            == [e.primitive.name for e in jaxpr_j.eqns] == ["reduce_window"])
    assert xform.lax.reduce_window_p.name == "reduce_window"


def _index_of(x):
    return np.broadcast_to(np.arange(x.shape[-1], dtype=np.int32), x.shape)


def test_variadic_argmax_pair():
    idx = _index_of(X)
    window = ((2, 3), (1, 2), "SAME")

    def run(reduce_window, lax_mod, x, i):
        return reduce_window((x, i), (-np.inf, np.int32(2 ** 30)), _argmax_pair(lax_mod),
                             *window)

    got = xform.jit(functools.partial(run, xform.lax.reduce_window, xform.lax))(X, idx)
    want = jax.jit(functools.partial(run, lax.reduce_window, lax))(X, idx)
    assert isinstance(got, tuple) and got[1].dtype == np.int32
    _close(got, want)
    # vmap over the operands, init values unbatched
    xs = np.stack([X, -X])
    ids = np.stack([idx, idx])
    _close(xform.vmap(functools.partial(run, xform.lax.reduce_window, xform.lax))(xs, ids),
           jax.vmap(functools.partial(run, lax.reduce_window, lax))(xs, ids))
    # the value's tangent follows the winning element (the index has none). JAX's jvp fails on
    # the integer operand's float0 tangent; the values are distinct, so JAX's windowed max
    # (whose tangent is the winner's) is the reference
    fx = functools.partial(run, xform.lax.reduce_window, xform.lax)
    t = RNG.randn(*X.shape).astype(np.float32)
    tx = xform.jvp(lambda x: fx(x, idx)[0], (X,), (t,))
    tj = jax.jvp(lambda x: lax.reduce_window(x, -np.inf, lax.max, *window), (X,), (t,))
    _close(tx, tj)


@pytest.mark.parametrize("case", COMPUTATIONS[:2], ids=[c[0] for c in COMPUTATIONS[:2]])
def test_vmap_matches_jax(case):
    window = WINDOWS[3]
    fx, fj = _pair(*case, window)
    xs = np.stack([X, 0.5 * X, X + 1])
    _close(xform.vmap(fx)(xs), jax.vmap(fj)(xs))
    # batch axis not in front
    _close(xform.vmap(fx, in_axes=1, out_axes=1)(xs.transpose(1, 0, 2)),
           jax.vmap(fj, in_axes=1, out_axes=1)(xs.transpose(1, 0, 2)))


def test_vmap_of_init_value_is_not_implemented_as_in_jax():
    inits = np.array([1.0, 2.0], np.float32)
    with pytest.raises(NotImplementedError, match="init"):
        xform.vmap(lambda i: xform.lax.reduce_window(X, i, xform.lax.mul, (2, 2)))(inits)
    with pytest.raises(NotImplementedError):
        jax.vmap(lambda i: lax.reduce_window(X, i, lax.mul, (2, 2)))(inits)


@pytest.mark.parametrize("case", COMPUTATIONS[:2], ids=[c[0] for c in COMPUTATIONS[:2]])
def test_jvp_and_jacfwd_match_jax(case):
    window = WINDOWS[2]
    fx, fj = _pair(*case, window)
    x = X[:2, :5]
    t = RNG.randn(*x.shape).astype(np.float32)
    _close(xform.jvp(fx, (x,), (t,)), jax.jvp(fj, (x,), (t,)), 1e-4)
    _close(xform.jit(lambda x, t: xform.jvp(fx, (x,), (t,)))(x, t), jax.jvp(fj, (x,), (t,)),
           1e-4)
    # the gradient of a sum by forward mode (JAX's own jacfwd and grad fail on the generic
    # reduce_window): every basis tangent pushed through jax.jvp
    def loss_x(v):
        return (fx(v) ** 2).sum()

    def loss_j(v):
        return (fj(v) ** 2).sum()

    basis = np.eye(x.size, dtype=np.float32).reshape(x.size, *x.shape)
    want = jax.vmap(lambda b: jax.jvp(loss_j, (x,), (b,))[1])(basis).reshape(x.shape)
    _close(xform.jit(xform.jacfwd(loss_x))(x), want, 1e-4)


def test_reverse_mode_is_not_supported_as_in_jax():
    def f(reduce_window, mul):
        return lambda x: reduce_window(x, 1.0, mul, (2, 2)).sum()

    with pytest.raises(NotImplementedError, match="reduce_window"):
        xform.grad(f(xform.lax.reduce_window, xform.lax.mul))(X)
    with pytest.raises(ValueError):
        jax.grad(f(lax.reduce_window, lax.mul))(X)


def test_nonzero_init_tangent_is_a_type_error_as_in_jax():
    def f(reduce_window, mul):
        return lambda init: reduce_window(X, init, mul, (2, 2))

    one = np.float32(1.0)
    with pytest.raises(TypeError, match="init_value_tangent"):
        xform.jvp(f(xform.lax.reduce_window, xform.lax.mul), (one,), (one,))
    with pytest.raises(TypeError, match="init_value_tangent"):
        jax.jvp(f(lax.reduce_window, lax.mul), (one,), (one,))


def test_errors_match_jax():
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    with pytest.raises(TypeError, match="dtypes"):
        xform.lax.reduce_window(ints, 1.5, xform.lax.mul, (1, 2))
    with pytest.raises(TypeError):
        lax.reduce_window(ints, 1.5, lax.mul, (1, 2))
    with pytest.raises(ValueError, match="tree structure"):
        xform.lax.reduce_window((X, X), 1.0, xform.lax.mul, (2, 2))


def test_from_jax_replays_the_generic_reduce_window():
    idx = _index_of(X)

    def smooth(x):
        prod = lax.reduce_window(x, 1.0, lax.mul, (2, 2), (1, 2), "SAME")
        lse = lax.reduce_window(x, -np.inf, jnp.logaddexp, (1, 3), None, ((0, 1), (1, 1)),
                                (1, 2), None)
        return prod, lse

    def g(x, i):
        best = lax.reduce_window((x, i), (-np.inf, np.int32(2 ** 30)), _argmax_pair(lax),
                                 (2, 3))
        return (*smooth(x), best)

    fx = xform.from_jax(g)
    jaxpr = xform.make_jaxpr(fx)(X, idx)
    assert sum(e.primitive.name == "reduce_window" for e in jaxpr.jaxpr.eqns) == 3
    _close(xform.jit(fx)(X, idx), jax.jit(g)(X, idx), 1e-5)
    xs, ids = np.stack([X, 2 * X]), np.stack([idx, idx])
    _close(xform.vmap(fx)(xs, ids), jax.vmap(g)(xs, ids), 1e-5)
    t = RNG.randn(*X.shape).astype(np.float32)
    _close(xform.jvp(lambda x: fx(x, idx)[:2], (X,), (t,)),
           jax.jvp(smooth, (X,), (t,)), 1e-4)
    _close(xform.jvp(lambda x: fx(x, idx)[2][0], (X,), (t,)),
           jax.jvp(lambda x: lax.reduce_window(x, -np.inf, lax.max, (2, 3)), (X,), (t,)), 1e-5)


def test_traced_init_value_takes_the_general_path():
    # a traced init (not concrete) is not known to be the identity: JAX binds the generic
    # reduce_window, and so does xform
    def f(reduce_window, mx):
        return lambda x, i: reduce_window(x, i, mx, (2, 2), (1, 2), "SAME")

    init = np.float32(-np.inf)
    _close(xform.jit(f(xform.lax.reduce_window, xform.lax.max))(X, init),
           jax.jit(f(lax.reduce_window, lax.max))(X, init))
    jaxpr = xform.make_jaxpr(f(xform.lax.reduce_window, xform.lax.max))(X, init)
    assert [e.primitive.name for e in jaxpr.jaxpr.eqns] == ["reduce_window"]


def _general_reduce_jax(x):
    # a lambda (not jax.lax.mul) makes JAX bind its generic `reduce`, with a jaxpr of scalars;
    # the pair carries a product and a logaddexp, both associative
    pair = lax.reduce((x, x), (jnp.float32(1.0), jnp.float32(-jnp.inf)),
                      lambda a, b: (a[0] * b[0], jnp.logaddexp(a[1], b[1])), (0,))
    return pair[0] + pair[1]


def test_from_jax_of_a_general_reduce():
    # JAX's generic reduce equation (a Python computation and a jaxpr, no consts) replays onto
    # xform's general reduce: values under jit and vmap, forward derivatives, as JAX's
    x = np.array([[0.5, 1.5], [2.0, -1.0], [1.2, 0.3]], np.float32)
    f = xform.from_jax(_general_reduce_jax)
    _close(xform.jit(f)(x), jax.jit(_general_reduce_jax)(x))
    xb = np.stack([x, x * 0.5])
    _close(xform.vmap(f)(xb), jax.vmap(_general_reduce_jax)(xb))
    _close(xform.jit(xform.jacfwd(f))(x), jax.jit(jax.jacfwd(_general_reduce_jax))(x), 1e-4)
