"""Patterns JAX users write every day, each run with JAX and with xform on the same input.

Every case is a function of a namespace ``m`` holding ``jax``, ``jnp`` and ``lax`` (JAX's, or
xform's under the same names), so the program is written once and JAX is the reference: values,
shapes, dtypes (and weak types where JAX's rules are the point) must agree, and where JAX
raises, xform raises the same exception type.
"""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

JAX = types.SimpleNamespace(jax=jax, jnp=jnp, lax=jax.lax)
XF = types.SimpleNamespace(jax=xform, jnp=xnp, lax=xform.lax)


def _compare(case, weak: bool = False, rtol: float = 1e-6, atol: float = 1e-6):
    want, got = case(JAX), case(XF)
    w_leaves, w_tree = jax.tree_util.tree_flatten(want)
    g_leaves, g_tree = jax.tree_util.tree_flatten(got)
    assert w_tree == g_tree, (w_tree, g_tree)
    for w, g in zip(w_leaves, g_leaves):
        w_arr, g_arr = np.asarray(w), np.asarray(g)
        assert g_arr.shape == w_arr.shape
        assert g_arr.dtype == w_arr.dtype, (g_arr.dtype, w_arr.dtype)
        np.testing.assert_allclose(g_arr, w_arr, rtol=rtol, atol=atol)
        if weak:
            assert getattr(g, "weak_type", False) == getattr(w, "weak_type", False), (g, w)


def _both_raise(case, exc):
    with pytest.raises(exc):
        case(JAX)
    with pytest.raises(exc):
        case(XF)


# -- a concrete (closed-over) array meeting a tracer ------------------------------------------
def _table(m):
    return m.jnp.arange(1.0, 7.0).reshape(2, 3)


def _vec(m):
    return m.jnp.arange(1.0, 6.0)


CONCRETE_CASES = {
    # indexing by a traced index, under every transform
    "fori_loop table[i]": lambda m: m.lax.fori_loop(
        0, 5, lambda i, acc: acc + _vec(m)[i], 0.0),
    "jit table[i]": lambda m: m.jax.jit(lambda i: _table(m)[i])(1),
    "jit table[i, j]": lambda m: m.jax.jit(lambda i, j: _table(m)[i, j])(1, 2),
    "jit table[:, i]": lambda m: m.jax.jit(lambda i: _table(m)[:, i])(2),
    "jit table[None, i, ...]": lambda m: m.jax.jit(lambda i: _table(m)[None, i, ...])(0),
    "jit table[array]": lambda m: m.jax.jit(lambda i: _vec(m)[i])(m.jnp.array([4, 0, 2])),
    "vmap table[i]": lambda m: m.jax.vmap(lambda i: _vec(m)[i])(m.jnp.array([3, 1, 0])),
    "grad table[i] * x": lambda m: m.jax.grad(lambda x: (_vec(m)[2] * x) ** 2)(1.5),
    "jit numpy-made table[i]": lambda m: m.jax.jit(
        lambda i: m.jnp.asarray(np.arange(5.0, dtype=np.float32))[i])(3),
    # .at[] by a traced value or a traced index, every update method
    "grad at[0].set(v)": lambda m: m.jax.grad(lambda v: (_vec(m).at[0].set(v) ** 2).sum())(3.0),
    "jit at[i].set(v)": lambda m: m.jax.jit(lambda i, v: _vec(m).at[i].set(v))(2, 9.0),
    "jit at[i].get()": lambda m: m.jax.jit(lambda i: _vec(m).at[i].get())(4),
    "jit at[1].add(v)": lambda m: m.jax.jit(lambda v: _vec(m).at[1].add(v))(3.0),
    "jit at[1:].subtract(v)": lambda m: m.jax.jit(lambda v: _vec(m).at[1:].subtract(v))(3.0),
    "jit at[::2].multiply(v)": lambda m: m.jax.jit(lambda v: _vec(m).at[::2].multiply(v))(3.0),
    "grad at[1:].mul(s)": lambda m: m.jax.grad(lambda s: _vec(m).at[1:].mul(s).sum())(2.0),
    "grad at[2].divide(v)": lambda m: m.jax.grad(lambda v: _vec(m).at[2].divide(v).sum())(2.0),
    "grad at[-1].power(v)": lambda m: m.jax.grad(lambda v: _vec(m).at[-1].power(v).sum())(2.0),
    "jit at[0].min(v)": lambda m: m.jax.jit(lambda v: _vec(m).at[:2].min(v))(1.5),
    "jit at[0].max(v)": lambda m: m.jax.jit(lambda v: _vec(m).at[:2].max(v))(1.5),
    "vmap at[i].set(v)": lambda m: m.jax.vmap(lambda i, v: _vec(m).at[i].set(v))(
        m.jnp.array([0, 4]), m.jnp.array([7.0, 8.0])),
    # methods given a tracer
    "jit table.dot(v)": lambda m: m.jax.jit(lambda v: _table(m).dot(v))(m.jnp.ones(3)),
    "jit table.clip(lo, hi)": lambda m: m.jax.jit(lambda lo: _vec(m).clip(lo, lo + 2.0))(2.0),
    "jit table.take(i)": lambda m: m.jax.jit(lambda i: _vec(m).take(i))(m.jnp.array([1, 3])),
    "jit table.searchsorted(v)": lambda m: m.jax.jit(lambda v: _vec(m).searchsorted(v))(2.5),
    "jit table.sum(where=)": lambda m: m.jax.jit(lambda w: _vec(m).sum(where=w))(
        m.jnp.array([True, False, True, True, False])),
    "jit table.choose": lambda m: m.jax.jit(
        lambda a: m.jnp.array([1, 0, 1]).choose([a, a * 2], mode="clip"))(m.jnp.ones(3)),
    "grad table.dot(x)": lambda m: m.jax.grad(lambda x: _table(m).dot(x).sum())(m.jnp.ones(3)),
    # numpy functions mixing the two
    "jit where(table > x)": lambda m: m.jax.jit(
        lambda x: m.jnp.where(_vec(m) > x, _vec(m), x))(2.5),
    "jit concatenate": lambda m: m.jax.jit(
        lambda x: m.jnp.concatenate([_vec(m), x]))(m.jnp.ones(2)),
    "jit einsum": lambda m: m.jax.jit(
        lambda x: m.jnp.einsum("ij,j->i", _table(m), x))(m.jnp.ones(3)),
    "jit take(table, i)": lambda m: m.jax.jit(lambda i: m.jnp.take(_vec(m), i))(2),
}

_OPERATORS = ["__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
              "__pow__", "__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"]
_INT_OPERATORS = ["__and__", "__or__", "__xor__", "__lshift__", "__rshift__"]


@pytest.mark.parametrize("name", sorted(CONCRETE_CASES))
def test_concrete_array_takes_tracer(name):
    _compare(CONCRETE_CASES[name])


@pytest.mark.parametrize("op", _OPERATORS + _INT_OPERATORS)
def test_concrete_array_operators_both_sides(op):
    import operator
    fn = getattr(operator, op.strip("_"), None) or getattr(operator, op.strip("_") + "_")
    is_int = op in _INT_OPERATORS

    def case(m):
        table = m.jnp.arange(1, 6) if is_int else _vec(m)
        arg = m.jnp.array(2 if is_int else 1.5)
        return m.jax.jit(lambda x: (fn(table, x), fn(x, table)))(arg)

    _compare(case)


def test_concrete_array_matmul_and_divmod():
    _compare(lambda m: m.jax.jit(lambda x: (_table(m) @ x, x @ _table(m).T,
                                            divmod(_table(m), x), divmod(x, _table(m))))(
        m.jnp.full(3, 1.5)))


def test_nested_jit_caches_no_jax_tracer():
    """A constant an inner jit makes while an outer one traces must be concrete: the inner jit
    caches its jaxpr, and a second outer function reuses it."""
    def case(m):
        inner = m.jax.jit(lambda x: x + m.jnp.asarray(np.ones(3, np.float32)))
        a = m.jax.jit(lambda x: inner(x) * 2.0)(m.jnp.ones(3))
        b = m.jax.jit(lambda x: inner(x) * 3.0)(m.jnp.ones(3))
        return a, b

    _compare(case)


# -- checkpoint around control flow -------------------------------------------------------------
def _policies(m):
    return [None, m.jax.checkpoint_policies.nothing_saveable,
            m.jax.checkpoint_policies.everything_saveable,
            m.jax.checkpoint_policies.dots_saveable]


_FLOWS = {
    "cond": lambda m, x: m.lax.cond(x.sum() > 0, lambda y: m.jnp.sin(y) * y,
                                    lambda y: m.jnp.cos(y), x),
    "switch": lambda m, x: m.lax.switch(1, [m.jnp.sin, lambda y: m.jnp.cos(y) * y], x),
    "scan": lambda m, x: m.lax.scan(lambda c, w: (m.jnp.sin(c) * w, c.sum()), x,
                                    m.jnp.arange(1.0, 4.0))[0],
    "fori_loop": lambda m, x: m.lax.fori_loop(0, 3, lambda i, c: m.jnp.sin(c) * c, x),
    "while_loop": lambda m, x: m.lax.while_loop(lambda c: c.sum() < 10.0,
                                                lambda c: c * 1.5, x),
}


@pytest.mark.parametrize("flow", sorted(_FLOWS))
@pytest.mark.parametrize("policy", range(4))
def test_checkpoint_around_control_flow(flow, policy):
    def f(m):
        return m.jax.checkpoint(lambda x: _FLOWS[flow](m, x), policy=_policies(m)[policy])

    x = np.array([0.5, 1.0], np.float32)
    _compare(lambda m: m.jax.jvp(f(m), (x,), (np.ones(2, np.float32),)), rtol=1e-5)
    if flow != "while_loop":  # reverse mode of a while_loop is an error in JAX too
        _compare(lambda m: m.jax.grad(lambda x: f(m)(x).sum())(x), rtol=1e-5)
    else:
        _both_raise(lambda m: m.jax.grad(lambda x: f(m)(x).sum())(x), ValueError)


def test_checkpoint_control_flow_second_order():
    def case(m):
        f = m.jax.checkpoint(lambda x: m.lax.cond(x > 0, m.jnp.sin, m.jnp.cos, x))
        return m.jax.grad(m.jax.grad(f))(0.7), m.jax.jit(m.jax.grad(f))(0.7)

    _compare(case, rtol=1e-5)


# -- jit(vmap(jit(f))) of lax binary operations --------------------------------------------------
_BINARY = {
    "max": lambda m: m.lax.max, "add": lambda m: m.lax.add, "pow": lambda m: m.lax.pow,
    "atan2": lambda m: m.lax.atan2,
    "select_n": lambda m: lambda a, b: m.lax.select_n(a > 1.0, a, b),
}


@pytest.mark.parametrize("op", sorted(_BINARY))
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (1, None)])
def test_jit_vmap_jit_binary(op, in_axes):
    a = np.arange(1.0, 7.0, dtype=np.float32).reshape(3, 2)
    b = np.array([1.5, 0.5], np.float32)

    def case(m):
        x = a if in_axes[0] == 0 else (a.T if in_axes[0] == 1 else b)
        y = a if in_axes[1] == 0 else b
        if in_axes[0] == 1:
            x, y = a.T, b
        return m.jax.jit(m.jax.vmap(m.jax.jit(_BINARY[op](m)), in_axes=in_axes))(x, y)

    _compare(case, rtol=1e-5)


def test_jit_of_transformed_jit_traces_the_transform():
    """A transform of a jit-ted function keeps its own identity under an outer jit."""
    def case(m):
        g = m.jax.jit(lambda x: x * x)
        return (m.jax.jit(m.jax.grad(g))(1.0),
                m.jax.jit(m.jax.vmap(m.jax.jit(lambda a: a.sum(0))))(
                    m.jnp.arange(12.0).reshape(3, 2, 2)))

    _compare(case)


# -- Python scalars as loop carries: JAX's weak-type rules ----------------------------------------
LOOP_CASES = {
    "fori int carry + 0.5": lambda m: m.lax.fori_loop(0, 4, lambda i, acc: acc + 0.5, 0),
    "fori float carry + 1": lambda m: m.lax.fori_loop(0, 4, lambda i, acc: acc + 1, 0.0),
    "fori int carry + i": lambda m: m.lax.fori_loop(0, 4, lambda i, acc: acc + i, 0),
    "fori float carry + f32": lambda m: m.lax.fori_loop(
        0, 4, lambda i, acc: acc + m.jnp.float32(1), 0.0),
    "fori int carry + f16": lambda m: m.lax.fori_loop(
        0, 4, lambda i, acc: acc + m.jnp.float16(1), 0),
    "fori tuple carry": lambda m: m.lax.fori_loop(
        0, 3, lambda i, c: (c[0] + 1.5, c[1] + 1), (0, 0.0)),
    "fori traced bound": lambda m: m.jax.jit(
        lambda n: m.lax.fori_loop(0, n, lambda i, acc: acc + 0.5, 0))(3),
    "scan from 0": lambda m: m.lax.scan(lambda c, x: (c + x, c), 0, m.jnp.arange(3.0)),
    "scan from 0.0": lambda m: m.lax.scan(lambda c, x: (c + x, c * 2), 0.0, m.jnp.arange(3.0)),
    "scan weak stays weak": lambda m: m.lax.scan(lambda c, x: (c + 1, c), 0.0, None, length=2),
    "scan int from 0": lambda m: m.lax.scan(lambda c, x: (c + x, c), 0, m.jnp.arange(3)),
    "while from 0": lambda m: m.lax.while_loop(lambda c: c < 3, lambda c: c + 1, 0),
    "while from 0 + 1.5": lambda m: m.lax.while_loop(lambda c: c < 3, lambda c: c + 1.5, 0),
    "while 0.0 + f32": lambda m: m.lax.while_loop(
        lambda c: c < 3, lambda c: c + m.jnp.float32(1.5), 0.0),
    "jit fori from 0": lambda m: m.jax.jit(
        lambda: m.lax.fori_loop(0, 4, lambda i, acc: acc + 0.5, 0))(),
    "vmap fori from 0": lambda m: m.jax.vmap(
        lambda x: m.lax.fori_loop(0, 3, lambda i, acc: acc + x, 0))(m.jnp.arange(2.0)),
    "grad fori from 1": lambda m: m.jax.grad(
        lambda x: m.lax.fori_loop(0, 3, lambda i, acc: acc * x, 1))(2.0),
}


@pytest.mark.parametrize("name", sorted(LOOP_CASES))
def test_python_scalar_loop_carry(name):
    _compare(LOOP_CASES[name], weak=not name.startswith("grad"))


# -- the user function sees arrays ---------------------------------------------------------------
def test_functions_see_arrays_not_numpy():
    f = lambda x: x.at[0].set(1.0) * x  # noqa: E731
    x = np.ones(2, np.float32)
    _compare(lambda m: m.jax.jacfwd(f)(x))
    _compare(lambda m: m.jax.jacfwd(lambda xs: f(xs[0]))([x]))
    _compare(lambda m: m.jax.jacfwd(lambda y: (f(y), y.sum()), has_aux=True)(x))
    _compare(lambda m: m.jax.checkpoint(f)(x))
    _compare(lambda m: m.jax.checkpoint(lambda s: s * 2)(3.0), weak=True)


def test_jacfwd_calls_function_once():
    for m in (JAX, XF):
        calls = []

        def f(x, m=m, calls=calls):
            calls.append(1)
            return m.jnp.sin(x)

        m.jax.jacfwd(f)(np.ones(3, np.float32))
        assert len(calls) == 1


# -- static indices and empty updates -------------------------------------------------------------
INDEX_CASES = {
    "x[2]": lambda x: x[2], "x[-3]": lambda x: x[-3], "x[5, 1]": lambda x: x[5, 1],
    "x[1, -9]": lambda x: x[1, -9], "x[2, None]": lambda x: x[2, None],
    "x[2, ::-1]": lambda x: x[2, ::-1], "x[2, [0, 1]]": lambda x: x[2, [0, 1]],
    "x[[0, 1], 5]": lambda x: x[[0, 1], 5],
    "x.at[2].get(fill)": lambda x: x.at[2].get(mode="fill", fill_value=-1.0),
    "x.at[2].set": lambda x: x.at[2].set(9.0), "x.at[1, 5].add": lambda x: x.at[1, 5].add(9.0),
    "x.at[0:0].set(ones(3))": lambda x: x.at[0:0].set(x[0] * 0 + 1),
    "x.at[0:0].set(ones(5))": lambda x: x.at[0:0].set(x.sum() + np.ones(5, np.float32)),
    "x.at[:, 0:0].set(ones(4))": lambda x: x.at[:, 0:0].set(np.ones(4, np.float32)),
    "x.at[5:].add(ones(7))": lambda x: x.at[5:].add(np.ones(7, np.float32)),
}


@pytest.mark.parametrize("name", sorted(INDEX_CASES))
def test_static_indices_under_jit(name):
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    _compare(lambda m: m.jax.jit(INDEX_CASES[name])(x))


def test_index_into_empty_axis_raises():
    _both_raise(lambda m: m.jax.jit(lambda x: x[0])(m.jnp.zeros((0, 3))), IndexError)


# -- derivatives of .at[] updates with static indices ---------------------------------------------
_UPDATES = {
    "mul": lambda r, v: r.mul(v), "min": lambda r, v: r.min(v), "max": lambda r, v: r.max(v),
    "set": lambda r, v: r.set(v), "add": lambda r, v: r.add(v),
    "divide": lambda r, v: r.divide(v), "power": lambda r, v: r.power(v),
}
_INDICES = {"1:": np.s_[1:], "1": 1, "::2": np.s_[::2], "None, 1": (None, 1), "-1": -1}


@pytest.mark.parametrize("update", sorted(_UPDATES))
@pytest.mark.parametrize("index", sorted(_INDICES))
def test_at_update_derivatives(update, index):
    upd, idx = _UPDATES[update], _INDICES[index]
    x = np.arange(1.0, 5.0, dtype=np.float32)
    _compare(lambda m: m.jax.grad(lambda s: upd(m.jnp.asarray(x).at[idx], s * 2.0).sum())(1.5),
             rtol=1e-5)
    _compare(lambda m: m.jax.grad(lambda y: upd(y.at[idx], y[0] * 3.0).sum())(x), rtol=1e-5)


def test_at_update_traced_scalar_index_is_unique():
    x = np.arange(1.0, 5.0, dtype=np.float32)
    _compare(lambda m: m.jax.grad(
        lambda s, i: m.jnp.asarray(x).at[i].mul(s * 2.0).sum())(1.5, 2))


def test_at_divide_power_repeated_indices():
    x = np.arange(1.0, 5.0, dtype=np.float32)
    idx = np.array([1, 1])
    _compare(lambda m: m.jax.jit(lambda y: (y.at[idx].divide(2.0), y.at[idx].power(2.0),
                                            y.at[idx].mul(2.0)))(x))
    _compare(lambda m: m.jax.jit(lambda y: y.at[1:].divide(2))(np.arange(1, 5)))
    _both_raise(lambda m: m.jax.grad(lambda s: m.jnp.asarray(x).at[idx].mul(s).sum())(2.0),
                NotImplementedError)


# -- custom rules --------------------------------------------------------------------------------
def _custom_fns(m):
    @m.jax.custom_jvp
    def f(x):
        return x

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        if x > 0:  # Python control flow on the (concrete) primal
            return f(x), 2 * t
        return f(x), 3 * t

    @m.jax.custom_vjp
    def g(x):
        return x

    def g_bwd(x, ct):
        return (2 * ct,) if x > 0 else (3 * ct,)

    g.defvjp(lambda x: (g(x), x), g_bwd)

    @m.jax.custom_jvp
    def h(x):  # control flow in the function itself
        if x > 0:
            return m.jnp.sin(x)
        return m.jnp.cos(x)

    @h.defjvp
    def h_jvp(p, t):
        (x,), (tx,) = p, t
        return h(x), (m.jnp.cos(x) if x > 0 else -m.jnp.sin(x)) * tx

    return {"f": f, "g": g, "h": h}


@pytest.mark.parametrize("which", ["f", "g", "h"])
def test_custom_rules_python_control_flow(which):
    def fn(m):
        return _custom_fns(m)[which]

    for x in (1.0, -1.0):
        _compare(lambda m, x=x: m.jax.grad(fn(m))(x))
    _compare(lambda m: m.jax.grad(lambda x: fn(m)(m.jnp.sin(x)) * x)(1.0), rtol=1e-5)
    _compare(lambda m: m.jax.grad(m.jax.grad(lambda x: fn(m)(x) * x))(1.0), rtol=1e-5)
    _compare(lambda m: m.jax.vjp(fn(m), 1.0)[1](1.0))
    _compare(lambda m: m.jax.value_and_grad(fn(m))(-2.0))
    _compare(lambda m: m.jax.jacrev(lambda x: fn(m)(x[0]) * x)(m.jnp.array([1.0, 2.0])),
             rtol=1e-5)
    if which != "g":  # forward mode of a custom_vjp function is an error in JAX too
        _compare(lambda m: m.jax.jvp(fn(m), (1.0,), (1.0,)))
        _compare(lambda m: m.jax.linearize(fn(m), 1.0)[1](1.0))
    else:
        _both_raise(lambda m: m.jax.jvp(fn(m), (1.0,), (1.0,)), TypeError)
    # under jit the primal is abstract: Python control flow on it is an error in both
    _both_raise(lambda m: m.jax.jit(m.jax.grad(fn(m)))(1.0), TypeError)



@pytest.mark.parametrize("which", ["f", "h"])
def test_custom_jvp_python_control_flow_forward_mode(which):
    # jacfwd pushes a batched basis through jvp: the primal stays concrete (un-batched), so
    # the rule, and the function the rule calls, branch on it in Python, as in JAX
    def fn(m):
        return _custom_fns(m)[which]

    for x in (1.0, -1.0):
        _compare(lambda m, x=x: m.jax.jacfwd(fn(m))(x), weak=True)
        _compare(lambda m, x=x: m.jax.jacrev(fn(m))(x), weak=True)
        _compare(lambda m, x=x: m.jax.hessian(fn(m))(x), rtol=1e-5)
        _compare(lambda m, x=x: m.jax.jacfwd(m.jax.grad(fn(m)))(x), rtol=1e-5)
    _compare(lambda m: m.jax.jacfwd(lambda v: fn(m)(v[0]) * v)(m.jnp.array([1.0, 2.0])))
    # a vmapped argument is batched (abstract per example): the branch is an error in both
    _both_raise(lambda m: m.jax.vmap(m.jax.grad(fn(m)))(m.jnp.array([1.0, 2.0])), TypeError)

def _closing(m, kind):
    def outer(y, x):
        if kind == "jvp":
            @m.jax.custom_jvp
            def k(x):
                return m.jnp.sin(x) * y
            k.defjvp(lambda p, t: (k(p[0]), m.jnp.cos(p[0]) * y * t[0]))
        else:
            @m.jax.custom_vjp
            def k(x):
                return m.jnp.sin(x) * y
            k.defvjp(lambda x: (k(x), x), lambda x, ct: (m.jnp.cos(x) * y * ct,))
        return k(x)
    return outer


@pytest.mark.parametrize("kind", ["jvp", "vjp"])
def test_custom_rules_close_over_outer_tracers(kind):
    ys = np.arange(3.0, dtype=np.float32)
    _compare(lambda m: m.jax.vmap(lambda y: _closing(m, kind)(y, 1.0))(ys))
    _compare(lambda m: m.jax.vmap(lambda y: m.jax.grad(_closing(m, kind), 1)(y, 1.0))(ys))
    _compare(lambda m: m.jax.jit(lambda y: m.jax.grad(_closing(m, kind), 1)(y, 1.0))(2.0))
    _compare(lambda m: m.jax.jit(m.jax.grad(_closing(m, kind), 1))(2.0, 1.0))
    if kind == "jvp":
        _compare(lambda m: m.jax.grad(
            lambda x: m.jax.vmap(lambda y: _closing(m, kind)(y, x))(ys).sum())(1.0))
    # differentiating with respect to the closed-over value is an error in both
    _both_raise(lambda m: m.jax.grad(_closing(m, kind), 0)(2.0, 1.0), Exception)


def test_custom_jvp_clip_gradient_notebook():
    def case(m):
        from functools import partial

        @partial(m.jax.custom_vjp, nondiff_argnums=(0, 1))
        def clip_gradient(lo, hi, x):
            return x

        clip_gradient.defvjp(lambda lo, hi, x: (x, None),
                             lambda lo, hi, _, g: (m.jnp.clip(g, lo, hi),))
        f = lambda x: m.jnp.sin(clip_gradient(-0.75, 0.75, x))  # noqa: E731
        return m.jax.grad(f)(0.1), m.jax.vmap(m.jax.grad(f))(m.jnp.linspace(0.0, 10.0, 5))

    _compare(case, rtol=1e-5)


# -- function-valued outputs ----------------------------------------------------------------------
def test_function_valued_outputs_through_jit():
    x = np.array([1.0, 2.0], np.float32)
    ct = np.ones(2, np.float32)

    def f(m):
        return lambda x: m.jnp.sin(x) * x

    _compare(lambda m: m.jax.jit(lambda x: m.jax.vjp(f(m), x)[1])(x)(ct), rtol=1e-5)
    _compare(lambda m: (lambda o: o[1](o[0]))(m.jax.jit(lambda x: m.jax.vjp(f(m), x))(x)),
             rtol=1e-5)
    _compare(lambda m: m.jax.jit(lambda x: m.jax.linearize(f(m), x)[1])(x)(ct), rtol=1e-5)
    _compare(lambda m: m.jax.linear_transpose(
        m.jax.jit(m.jax.linearize(f(m), x)[1]), x)(ct), rtol=1e-5)
    _compare(lambda m: m.jax.linear_transpose(
        m.jax.jit(lambda x: m.jax.linearize(f(m), x)[1])(x), x)(ct), rtol=1e-5)
    _compare(lambda m: m.jax.jit(lambda g, c: g(c))(m.jax.vjp(f(m), x)[1], ct), rtol=1e-5)
    _compare(lambda m: m.jax.vmap(lambda c, vf: vf(c), (0, None))(
        np.eye(2, dtype=np.float32), m.jax.vjp(f(m), x)[1]), rtol=1e-5)


# -- eval_shape with duck-typed shapes ------------------------------------------------------------
class _Shaped:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def test_eval_shape_duck_typed():
    for m in (JAX, XF):
        out = m.jax.eval_shape(lambda x, y: (x @ y, x.sum()), _Shaped((2, 3), np.float32),
                               _Shaped((3,), m.jnp.float32))
        assert [(o.shape, o.dtype) for o in out] == [((2,), np.float32), ((), np.float32)]


# -- jvp of vmap of a broadcasting operation with an unbatched operand -----------------------------
_BROADCASTING = {"power": lambda m: m.jnp.power, "maximum": lambda m: m.jnp.maximum,
                 "arctan2": lambda m: m.jnp.arctan2, "remainder": lambda m: m.jnp.remainder,
                 "clip": lambda m: (lambda a, b: m.jnp.clip(a, b, b + 1.0))}


@pytest.mark.parametrize("op", sorted(_BROADCASTING))
def test_jvp_vmap_unbatched_operand(op):
    y = np.array([1.0, 0.0, 3.0], np.float32)
    r = np.array([[1.0, 2.0, 0.5], [0.0, 3.0, 2.0]], np.float32)
    t = np.ones_like(r)
    _compare(lambda m: m.jax.jvp(m.jax.vmap(lambda a: _BROADCASTING[op](m)(a, y)), (r,), (t,)),
             rtol=1e-5)
    _compare(lambda m: m.jax.jvp(m.jax.vmap(lambda a: _BROADCASTING[op](m)(y + 1.0, a)),
                                 (r + 1.0,), (t,)), rtol=1e-5)
    _compare(lambda m: m.jax.grad(
        lambda rr: m.jax.vmap(lambda a: _BROADCASTING[op](m)(a, y))(rr).sum())(r), rtol=1e-5)
