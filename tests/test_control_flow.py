"""Control flow (cond, switch, while_loop, fori_loop, scan, map, associative_scan) under every
transform, against jax.lax on the same inputs; NaN safety under a batched predicate; closures
over outer tracers; the errors; max_steps gradients against an unrolled loop; printing."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
import xform.test_util
from xform import lax
from xform.core.errors import ConcretizationTypeError

X = np.array([0.5, -1.2, 2.0], np.float32)
XB = np.stack([X, -X, 0.3 * X, X[::-1]])  # a batch of 4, with different branches/trip counts


def _close(got, want, tol=2e-5):
    jax.tree_util.tree_map(
        lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol,
                                                atol=tol), got, want)


# -- the cases: one maker per construct, written once for (xform.lax, xform.numpy) and once
# for (jax.lax, jax.numpy); each gives a scalar function of a f32[3] --------------------------
def cond_case(L, N):
    def f(x):
        w = x[0]  # closed over by a branch: an outer tracer under every transform
        return L.cond(x.sum() > 0, lambda y: N.sin(y) * w, lambda y: y ** 2 + 1.0, x).sum()
    return f


def switch_case(L, N):
    def f(x):
        i = (x > 0).astype(N.int32).sum()  # 0..3 for three branches: 3 is clamped to 2
        return L.switch(i, [lambda y: N.cos(y).sum(), lambda y: (y * x[1]).sum(),
                            lambda y: N.tanh(y).sum() * 2.0], x)
    return f


def fori_case(L, N):
    def f(x):
        return L.fori_loop(0, 3, lambda i, c: N.sin(c) * x + i, x).sum()
    return f


def scan_case(L, N):
    def f(x):
        def body(c, xi):
            c = N.sin(c) * xi + x[1]
            return c, c * xi
        c, ys = L.scan(body, x[0], x)
        return c + ys.sum()
    return f


def scan_tree_reverse_case(L, N):
    def f(x):
        def body(c, xs):
            a, b = c
            a = a * N.cos(xs["u"]) + b
            return (a, b * 0.5 + xs["v"]), {"y": a * xs["v"]}
        (a, b), ys = L.scan(body, (x, x[2]), {"u": N.stack([x, -x]), "v": x[:2]}, reverse=True)
        return a.sum() + b + ys["y"].sum()
    return f


def map_case(L, N):
    def f(x):
        rows = x[:, None] * x[None, :]
        return L.map(lambda r: N.sin(r) * x[0], rows).sum()
    return f


def map_batched_case(L, N):
    def f(x):
        rows = x[:, None] * N.ones((3, 2), x.dtype)
        return L.map(lambda r: N.exp(r).sum() * x[2], rows, batch_size=2).sum()
    return f


def associative_scan_case(L, N):
    def f(x):
        def affine(p, q):  # composition of affine maps: associative
            return p[0] * q[0], p[1] * q[0] + q[1]
        m = N.concatenate([x, N.sin(x[:2])])[None, :] * N.ones((2, 1), x.dtype)
        a, b = L.associative_scan(affine, (m, m ** 2), reverse=True, axis=1)
        return a.sum() + (b * b).sum()
    return f


def nested_case(L, N):
    # a scan inside a cond (inside whatever transforms the tests apply)
    def f(x):
        def run(y):
            return L.scan(lambda c, xi: (c * N.cos(xi) + y[0], c), 1.0, y)[0]
        return L.cond(x[0] > 0, run, lambda y: N.sin(y).sum(), x)
    return f


REVERSE_CASES = {
    "cond": cond_case, "switch": switch_case, "fori_loop": fori_case, "scan": scan_case,
    "scan_tree_reverse": scan_tree_reverse_case, "map": map_case,
    "map_batch_size": map_batched_case, "associative_scan": associative_scan_case,
    "scan_in_cond": nested_case,
}


def while_case(L, N):
    def f(x):
        def body(c):
            k, v = c
            return k + 1, v * 1.5 + 0.1 * N.sin(x)
        k, v = L.while_loop(lambda c: c[1].sum() < 4.0, body, (0, x * x * 0.1 + 0.1))
        return v.sum() + k
    return f


def fori_dynamic_case(L, N):
    def f(x):
        n = (x > 0).astype(N.int32).sum() + 1  # traced bound under jit: a while loop
        return L.fori_loop(0, n, lambda i, c: N.sin(c) * x, x).sum()
    return f


FORWARD_CASES = {"while_loop": while_case, "fori_loop_dynamic": fori_dynamic_case}


def _pair(maker):
    return maker(lax, xnp), maker(jax.lax, jnp)


# Un-jitted transforms run each primitive through its own small compiled program, which costs
# a compile per op: the primitives themselves (cond, scan, while) are checked that way; the
# constructs built on them are checked under jit (the same rules run while tracing).
EAGER_TRANSFORMS = {"cond", "scan", "while_loop"}


@functools.lru_cache(maxsize=None)
def _transformed(name, how):
    f, g, x = _transformed_raw(name, how)
    if name not in EAGER_TRANSFORMS and how in ("vmap", "grad", "vmap_grad", "jvp", "vmap_jvp"):
        return xform.jit(f), jax.jit(g), x
    return f, g, x


def _transformed_raw(name, how):
    maker = {**REVERSE_CASES, **FORWARD_CASES}[name]
    f, g = _pair(maker)
    if how == "eager":
        return f, g, X
    if how == "jit":
        return xform.jit(f), jax.jit(g), X
    if how == "vmap":
        return xform.vmap(f), jax.vmap(g), XB
    if how == "grad":
        return xform.grad(f), jax.grad(g), X
    if how == "vmap_grad":
        return xform.vmap(xform.grad(f)), jax.vmap(jax.grad(g)), XB
    if how == "jit_vmap_grad":
        return xform.jit(xform.vmap(xform.grad(f))), jax.jit(jax.vmap(jax.grad(g))), XB
    if how == "jvp":
        return (lambda x: xform.jvp(f, (x,), (x + 1,)), lambda x: jax.jvp(g, (x,), (x + 1,)), X)
    if how == "vmap_jvp":
        return (xform.vmap(lambda x: xform.jvp(f, (x,), (x + 1,))),
                jax.vmap(lambda x: jax.jvp(g, (x,), (x + 1,))), XB)
    if how == "jacfwd":
        return xform.jit(xform.jacfwd(f)), jax.jit(jax.jacfwd(g)), X
    if how == "hessian":
        return xform.jit(xform.hessian(f)), jax.jit(jax.hessian(g)), X
    raise ValueError(how)


REVERSE_HOWS = ["eager", "jit", "vmap", "grad", "vmap_grad", "jit_vmap_grad", "jvp", "hessian"]
FORWARD_HOWS = ["eager", "jit", "vmap", "jvp", "vmap_jvp", "jacfwd"]


# associative_scan and map(batch_size=) are built from other pieces (slices and elementwise
# ops; scan and vmap) that the other cases cover eagerly; un-jitted they cost seconds of
# per-op compiles, so they are checked through jit only
COMPOSITE = {"associative_scan", "map_batch_size"}
JIT_HOWS = ["jit", "jit_vmap_grad", "hessian"]


@pytest.mark.parametrize("name,how", [(n, h) for n in REVERSE_CASES for h in REVERSE_HOWS
                                      if n not in COMPOSITE or h in JIT_HOWS])
def test_against_jax(name, how):
    f, g, x = _transformed(name, how)
    _close(f(x), g(x), tol=1e-4 if how == "hessian" else 2e-5)


@pytest.mark.parametrize("how", FORWARD_HOWS)
@pytest.mark.parametrize("name", list(FORWARD_CASES))
def test_forward_only_against_jax(name, how):
    f, g, x = _transformed(name, how)
    _close(f(x), g(x))


@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_associative_scan_is_cumsum(n):
    x = np.arange(1, 2 * n + 1, dtype=np.float32).reshape(n, 2)
    _close(xform.jit(lambda x: lax.associative_scan(lax.add, x))(x), np.cumsum(x, 0))
    _close(xform.jit(lambda x: lax.associative_scan(lax.mul, x, axis=1))(x), np.cumprod(x, 1))


def test_scan_check_grads():
    f, _ = _pair(scan_tree_reverse_case)
    xform.test_util.check_grads(xform.jit(f), (X,), order=2, modes=("fwd", "rev"))


def test_cond_check_grads():
    f, _ = _pair(cond_case)
    xform.test_util.check_grads(xform.jit(f), (X,), order=2, modes=("fwd", "rev"))


# -- vmap of a batched predicate ------------------------------------------------------------
def _piecewise(L, N):
    return lambda x: L.cond(x > 0, N.sqrt, lambda y: y * 3.0, x)


@pytest.mark.parametrize("how", ["values", "grad", "jit_grad", "jvp"])
def test_batched_predicate_does_not_leak_nan(how):
    f, g = _pair(_piecewise)
    x = np.array([-1.0, 4.0, -0.5, 0.0], np.float32)  # sqrt of a negative in the untaken branch
    if how == "values":
        got, want = xform.vmap(f)(x), jax.vmap(g)(x)
    elif how == "jvp":
        got = xform.jvp(xform.vmap(f), (x,), (np.ones_like(x),))
        want = jax.jvp(jax.vmap(g), (x,), (np.ones_like(x),))
    else:
        def loss(F, v):
            return lambda x: v(F)(x).sum()
        got = xform.grad(loss(f, xform.vmap))(x)
        if how == "jit_grad":
            got = xform.jit(xform.grad(loss(f, xform.vmap)))(x)
        want = jax.grad(loss(g, jax.vmap))(x)
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree_util.tree_leaves(got))
    _close(got, want)


def test_batched_index_switch_emits_select_not_cond():
    f, _ = _pair(switch_case)
    jaxpr = xform.make_jaxpr(xform.vmap(f))(XB)
    names = [e.primitive.name for e in jaxpr.eqns]
    assert "cond" not in names and "select_n" in names


def test_unbatched_predicate_stays_a_cond():
    f = lambda p, x: lax.cond(p > 0, xnp.sin, xnp.cos, x)  # noqa: E731
    jaxpr = xform.make_jaxpr(xform.vmap(f, in_axes=(None, 0)))(1.0, XB)
    assert [e.primitive.name for e in jaxpr.eqns][-1] == "cond"


def test_batched_while_runs_lanes_in_lock_step():
    # each example stops at its own trip count; finished lanes keep their value
    f = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x)  # noqa: E731
    g = lambda x: jax.lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x)  # noqa: E731
    x = np.array([1.0, 3.0, 20.0, 0.7], np.float32)
    _close(xform.vmap(f)(x), jax.vmap(g)(x))
    _close(xform.jit(xform.vmap(f))(x), jax.vmap(g)(x))


def test_scan_carry_becomes_batched_through_closure():
    # the carry starts unbatched and is batched by a closed-over batched value (the fixpoint)
    def f(w):
        return lax.scan(lambda c, _: (c * 0.5 + w, c), 0.0, None, length=3)

    def g(w):
        return jax.lax.scan(lambda c, _: (c * 0.5 + w, c), 0.0, None, length=3)
    _close(xform.vmap(f)(X), jax.vmap(g)(X))
    _close(xform.vmap(f, out_axes=(0, 1))(X), jax.vmap(g, out_axes=(0, 1))(X))


def test_closure_over_outer_tracers():
    def f(w, x):
        return lax.scan(lambda c, xi: (c + xnp.sin(w * xi), c), 0.0, x)[0]

    def g(w, x):
        return jax.lax.scan(lambda c, xi: (c + jnp.sin(w * xi), c), 0.0, x)[0]
    ws = np.array([0.3, 1.0], np.float32)
    _close(xform.vmap(xform.grad(f), in_axes=(0, None))(ws, X),
           jax.vmap(jax.grad(g), in_axes=(0, None))(ws, X))
    _close(xform.grad(xform.grad(f))(0.7, X), jax.grad(jax.grad(g))(0.7, X), tol=1e-4)


def test_nested_scan_in_cond_in_vmap_in_grad():
    def make(L, N, vmap, grad):
        def inner(w, x):
            run = lambda y: L.scan(lambda c, xi: (c * N.cos(xi * w) + y[0], c), 1.0, y)[0]  # noqa
            return L.cond(x[0] > 0, run, lambda y: N.sin(y * w).sum(), x)
        return grad(lambda w: vmap(inner, in_axes=(None, 0))(w, XB).sum())
    got = make(lax, xnp, xform.vmap, xform.grad)(0.8)
    want = make(jax.lax, jnp, jax.vmap, jax.grad)(0.8)
    _close(got, want)
    _close(xform.jit(make(lax, xnp, xform.vmap, xform.grad))(0.8), want)


# -- while_loop reverse mode, max_steps -----------------------------------------------------
def test_reverse_mode_while_loop_raises_jax_error():
    f, _ = _pair(while_case)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for "
                                         "lax.while_loop or lax.fori_loop with dynamic"):
        xform.grad(f)(X)
    g, _ = _pair(fori_dynamic_case)
    with pytest.raises(ValueError, match="Try using lax.scan"):
        xform.jit(xform.grad(g))(X)


def _bounded(x, cond_fun, body_fun, init, steps):
    return lax.while_loop(cond_fun, body_fun, init, max_steps=steps)


def _unrolled(cond_fun, body_fun, init, steps):
    # the reference: a Python loop of `steps` steps, the value frozen once cond is False
    v = init
    for _ in range(steps):
        v = jnp.where(cond_fun(v), body_fun(v), v)
    return v


@pytest.mark.parametrize("steps", [2, 8])
def test_while_max_steps_gradient_matches_unrolled(steps):
    def make(N):
        cond_fun = lambda v: v.sum() < 6.0  # noqa: E731
        return cond_fun, lambda x: (lambda v: v * 1.3 + N.sin(v) * x)

    def f(x):
        c, b = make(xnp)
        return lax.while_loop(c, b(x), x * 0.5 + 1.0, max_steps=steps).sum()

    def ref(x):
        c, b = make(jnp)
        return _unrolled(c, b(x), x * 0.5 + 1.0, steps).sum()
    _close(xform.jit(f)(X), ref(X))
    _close(xform.jit(xform.grad(f))(X), jax.grad(ref)(X), tol=1e-4)
    _close(xform.jit(xform.vmap(xform.grad(f)))(XB), jax.vmap(jax.grad(ref))(XB), tol=1e-4)
    if steps == 8:  # enough steps: the same value as the unbounded loop, eagerly too
        g = lambda x: jax.lax.while_loop(make(jnp)[0], make(jnp)[1](x), x * 0.5 + 1.0).sum()  # noqa
        _close(f(X), g(X))
        _close(xform.grad(f)(X), jax.grad(ref)(X), tol=1e-4)


# -- errors ---------------------------------------------------------------------------------
def test_mismatched_branch_shapes_show_both_sides():
    with pytest.raises(TypeError, match=r"true_fun gives f32\[3\]") as e:
        lax.cond(True, lambda x: x, lambda x: x.sum(), X)
    assert "false_fun gives f32[]" in str(e.value)


def test_mismatched_branch_structures():
    with pytest.raises(TypeError, match="identical pytree structures"):
        lax.cond(True, lambda x: (x, x), lambda x: x, X)
    with pytest.raises(TypeError, match=r"branches\[1\]"):
        lax.switch(0, [lambda x: x, lambda x: x.astype(xnp.int32)], X)


def test_scan_carry_mismatch():
    with pytest.raises(TypeError, match=r"carry input gives f32\[\]"):
        lax.scan(lambda c, x: (c * x, x), 1.0, X[:, None])


def test_scan_length_errors():
    with pytest.raises(ValueError, match="different leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 0.0, (X, X[:2]))
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, x), 0.0, None)


def test_cond_pred_must_be_scalar():
    with pytest.raises(TypeError, match="must be a scalar"):
        lax.cond(X > 0, lambda x: x, lambda x: x, X)


def test_while_cond_must_return_bool_scalar():
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c, X)


# -- Python control flow ----------------------------------------------------------------------
def test_python_if_on_traced_value_under_jit_explains():
    def relu_python(x):
        if x > 0:  # the line the error must point at
            return x
        return -x

    with pytest.raises(ConcretizationTypeError) as e:
        xform.jit(relu_python)(1.0)
    msg = str(e.value)
    assert "relu_python" in msg and "test_control_flow.py" in msg
    assert "cond" in msg and "while_loop" in msg and "static_argnums" in msg


def test_python_while_on_traced_value_under_jit_explains():
    def loop(x):
        while x < 10:
            x = x * 2
        return x
    with pytest.raises(ConcretizationTypeError, match="while_loop"):
        xform.jit(loop)(1.0)


def test_python_control_flow_under_eager_grad_works():
    def f(x):
        y = x
        while y < 10.0:  # the trip count depends on a concrete value
            y = y * 2.0 if y > 0 else y - 1.0
        return y * x
    _close(xform.grad(f)(3.0), jax.grad(f)(3.0))
    _close(xform.jacfwd(f)(3.0), jax.jacfwd(f)(3.0))


def test_python_control_flow_inside_branch_on_traced_value_explains():
    with pytest.raises(ConcretizationTypeError, match="cond"):
        lax.cond(True, lambda x: x if x > 0 else -x, lambda x: x, 1.0)


# -- printing -------------------------------------------------------------------------------
def _jaxpr_texts(make):
    f, g = _pair(make)
    return str(xform.make_jaxpr(f)), str(jax.make_jaxpr(g))


@pytest.mark.parametrize("which", ["cond", "switch", "while", "scan"])
def test_jaxpr_text_matches_jax(which):
    c = np.ones(3, np.float32)
    makers = {
        "cond": lambda L, N: lambda p, x: L.cond(p, lambda x: N.sin(x) * 2.0, lambda x: x + 1.0,
                                                 x),
        "switch": lambda L, N: lambda i, x: L.switch(i, [N.sin, lambda x: x + 1.0], x),
        "while": lambda L, N: lambda x: L.while_loop(lambda x: x[0] < 10.0,
                                                     lambda x: x * 2.0 + c, x),
        "scan": lambda L, N: lambda x, xs: L.scan(lambda c, x: (c * x, N.sin(c)), x, xs),
    }
    args = {"cond": (True, np.float32(1)), "switch": (np.int32(1), np.float32(1)),
            "while": (c,), "scan": (np.float32(1), c)}[which]
    f, g = _pair(makers[which])
    assert str(xform.make_jaxpr(f)(*args)) == str(jax.make_jaxpr(g)(*args))


def test_scan_params_are_jax_params():
    jaxpr = xform.make_jaxpr(lambda x: lax.scan(lambda c, x: (c + x, c), 0.0, x))(X)
    want = jax.make_jaxpr(lambda x: jax.lax.scan(lambda c, x: (c + x, c), 0.0, x))(X)
    assert set(jaxpr.eqns[-1].params) == set(want.eqns[-1].params)


# -- vmap chunk_size runs as a scan over chunks ----------------------------------------------
@pytest.mark.parametrize("n", [6, 7])
def test_vmap_chunk_size_is_a_scan(n):
    x = np.linspace(-1, 1, n * 2, dtype=np.float32).reshape(n, 2)
    f = lambda v: xnp.sin(v) * v.sum()  # noqa: E731
    g = lambda v: jnp.sin(v) * v.sum()  # noqa: E731
    chunked = xform.vmap(f, chunk_size=3)
    _close(chunked(x), jax.vmap(g)(x))
    _close(xform.vmap(f, chunk_size=3, out_axes=1)(x), jax.vmap(g, out_axes=1)(x))
    names = [e.primitive.name for e in xform.make_jaxpr(chunked)(x).eqns]
    assert names.count("scan") == 1
    loss = lambda x: chunked(x).sum()  # noqa: E731
    _close(xform.jit(xform.grad(loss))(x), jax.grad(lambda x: jax.vmap(g)(x).sum())(x))


@pytest.mark.parametrize("batch_size", [2, 3, 7, 9])
def test_map_batch_size_pytrees_and_unbatched_outputs(batch_size):
    # map(batch_size=) runs f batched by the batching interpreter (lax sits below vmap): a
    # pytree in and out, an output that does not depend on the slice, a closed-over constant
    xs = {"a": np.arange(14, dtype=np.float32).reshape(7, 2), "b": np.arange(7, dtype=np.int32)}
    c = np.float32(0.5)

    def make(N):
        return lambda r: {"s": N.exp(r["a"] * c).sum() + r["b"], "k": N.ones(3), "t": r["a"][::-1]}

    got = lax.map(make(xnp), xs, batch_size=batch_size)
    want = jax.lax.map(make(jnp), xs, batch_size=batch_size)
    _close(got, want)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    assert {k: (v.shape, v.dtype) for k, v in got.items()} == \
        {k: (v.shape, v.dtype) for k, v in want.items()}
