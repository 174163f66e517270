"""Regressions found by the differential property test (tests/test_differential.py), each
shrunk to a few lines and compared against JAX on the same input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp



def test_dtype_queries_return_python_bools_under_jit():
    # xform.numpy's module-level `bool` (the dtype) shadowed the builtin: issubdtype and
    # can_cast returned arrays, so `if jnp.issubdtype(...)` failed under jit
    def probe(np_mod):
        def f(x):
            flags = (np_mod.issubdtype(x.dtype, np_mod.floating),
                     np_mod.issubdtype(np_mod.result_type(x), np_mod.integer),
                     np_mod.can_cast(np.int32, np.float32))
            assert all(type(b) is bool for b in flags), flags
            return x * 2 if flags[0] else x
        return f

    x = np.float32(1.5)
    pairs = [(lambda f: f, lambda f: f), (xform.jit, jax.jit), (xform.grad, jax.grad),
             (lambda f: xform.jit(xform.grad(f)), lambda f: jax.jit(jax.grad(f)))]
    for xform_t, jax_t in pairs:
        np.testing.assert_allclose(xform_t(probe(xnp))(x), jax_t(probe(jnp))(x))


def test_fourth_order_reverse_through_integer_outputs():
    # the transpose of a staged call got float0 cotangents of integer outputs as real inputs and
    # added two of them (`add does not accept dtype void`) at the fourth reverse level
    x = np.array([0.79, 1.9, -1.41], np.float32)

    def build(jax_mod, np_mod, lax_mod):
        def f(x):
            i = np_mod.argmin(x)
            return np_mod.sin(lax_mod.dynamic_index_in_dim(x, i, keepdims=False)) + np_mod.sin(
                lax_mod.dynamic_index_in_dim(x, 2, keepdims=False))

        def total(g):
            return lambda x: np_mod.sum(g(x))

        return jax_mod.grad(total(jax_mod.jacrev(jax_mod.jacrev(jax_mod.jacrev(f)))))

    np.testing.assert_allclose(build(xform, xnp, xform.lax)(x), build(jax, jnp, jax.lax)(x),
                               rtol=1e-5, atol=1e-6)


def test_unused_while_loop_under_hessian_of_jit_grad_jit():
    # A while loop whose value nothing uses is on no backward path. The transposed body of a
    # staged call gave zero cotangents as real arrays: through a residual of the loop's
    # derivative they reached the loop's transpose, which refuses reverse mode. As in JAX, they
    # stay symbolic zeros (only nonzero cotangents enter or leave a transposed call).
    x0 = np.ones((2,), np.float32)
    x1 = np.full((2,), 0.5, np.float32)

    def build(jax_mod, np_mod, lax_mod):
        def f(a, b):
            v0 = lax_mod.while_loop(lambda s: s[0] < 2, lambda s: (
                s[0] + 1, np_mod.sin(s[1]) + np_mod.sum(a) * 0.25), (0, b))[1]
            lax_mod.while_loop(lambda s: s[0] < 0, lambda s: (s[0] + 1, s[1] * s[1] * 0.5),
                               (np_mod.int32(0), v0[0]))
            return np_mod.sum(2.0 - b) + np_mod.sum(a * b)

        g = jax_mod.jit(jax_mod.grad(jax_mod.jit(f), argnums=(1,)))
        return jax_mod.jit(jax_mod.hessian(lambda a, b: np_mod.sum(g(a, b)[0] ** 2),
                                           argnums=(0, 1)))

    got = build(xform, xnp, xform.lax)(x0, x1)
    want = build(jax, jnp, jax.lax)(x0, x1)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _weak_types(build, *args):
    """(dtype, weak_type) of every output leaf of ``build(jax, jnp)`` and of
    ``build(xform, xnp)``, and their values."""
    out = []
    for api, np_mod in ((jax, jnp), (xform, xnp)):
        leaves = jax.tree_util.tree_leaves(build(api, np_mod)(*args))
        out.append(([(str(x.dtype), bool(getattr(x, "weak_type", False))) for x in leaves],
                    [np.asarray(x) for x in leaves]))
    return out


def test_weak_type_of_derivatives_with_respect_to_python_scalars():
    # The weak type of a derivative with respect to a Python-scalar argument, against JAX's,
    # in the compositions a long differential run found differing: a cond's output types are
    # branch 0's and its linearized residuals keep their weak types; jacfwd's and jacrev's
    # basis is weak like its leaf; a constant jvp tangent under an enclosing grad keeps its
    # own type (JAX's backward pass uses it as given)
    x0 = np.array([[-0.28]], np.float32)
    t = np.float32(0.64)

    def branches(np_mod):
        return (lambda u: u + 1.0, lambda u: np_mod.maximum(u, 0.1))

    def on_vjp(api, np_mod):  # f0 of the long run's case: vjp, then jvp of that
        f = lambda x: np_mod.maximum(np_mod.logaddexp(x, 1.62), np.float32(-1.37))  # noqa: E731
        g = lambda x: api.vjp(f, x)[1](np.float32(1.55))[0]  # noqa: E731
        return lambda x: api.jvp(g, (x,), (t,))[1]

    cases = {
        "cond": lambda api, np_mod: api.grad(
            lambda b: api.lax.cond(b > 0, *branches(np_mod), b)),
        "cond_times_array": lambda api, np_mod: api.grad(
            lambda b: np_mod.sum(api.lax.cond(b > 0, *branches(np_mod), b) * x0)),
        "jit_cond": lambda api, np_mod: api.jit(api.grad(
            lambda b: np_mod.sum(api.lax.cond(b > 0, *branches(np_mod), b) * x0))),
        "grad_jacrev": lambda api, np_mod: api.grad(api.jacrev(np_mod.sin)),
        "jacrev_grad": lambda api, np_mod: api.jacrev(api.grad(np_mod.sin)),
        "jacfwd": lambda api, np_mod: api.jacfwd(lambda x: np_mod.sin(x) * np.float32(2)),
        "jvp": lambda api, np_mod: lambda x: api.jvp(np_mod.sin, (x,), (t,)),
        "jvp_of_jvp": lambda api, np_mod: lambda x: api.jvp(
            lambda y: api.jvp(np_mod.sin, (y,), (t,))[1], (x,), (t,)),
        "grad_of_jvp": lambda api, np_mod: api.grad(
            lambda x: api.jvp(np_mod.sin, (x,), (t,))[1]),
        "jit_grad_of_jvp": lambda api, np_mod: api.jit(api.grad(
            lambda x: api.jvp(np_mod.sin, (x,), (t,))[1])),
        "grad_jacrev_jvp_vjp": lambda api, np_mod: api.grad(
            lambda x: np_mod.sum(np_mod.sin(api.jacrev(on_vjp(api, np_mod))(x)))),
    }
    for name, build in cases.items():
        (want, w_vals), (got, g_vals) = _weak_types(build, -1.57 if "cond" in name else 0.57)
        assert got == want, (name, want, got)
        for w, g in zip(w_vals, g_vals):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)


def _forward_over_reverse_custom_vjp(lib, lnp):
    @lib.custom_vjp
    def f(x):
        return lnp.sin(x) * x

    def fwd(x):
        return f(x), x  # fwd calls the custom function itself: its forward tangent is dead

    def bwd(x, g):
        return (g * (lnp.cos(x) * x + lnp.sin(x)),)

    f.defvjp(fwd, bwd)

    def g(x):
        y, f_vjp = lib.vjp(f, x)
        return f_vjp(lnp.ones_like(y))[0]

    return lib.jit(lambda x, t: lib.jvp(g, (x,), (t,)))


def test_jit_of_forward_over_reverse_through_custom_vjp():
    # seed 70241 of `_fuzz_programs.py --seed 70000`: the forward tangent of a custom_vjp call
    # inside its own fwd leaves a dead `custom_lin` (which has no forward evaluation) in the
    # jit's program; lowering now drops dead, effect-free equations as JAX's jit does
    x = np.array([0.3, 1.2], np.float32)
    t = np.array([1.0, -0.5], np.float32)
    want = _forward_over_reverse_custom_vjp(jax, jnp)(x, t)
    got = _forward_over_reverse_custom_vjp(xform, xnp)(x, t)
    for w, g in zip(want, got):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_dead_debug_print_under_jit_still_prints(capfd):
    # the other side of dropping dead equations: effects stay, even inside a dead inner jit
    @xform.jit
    def f(x):
        xform.jit(lambda y: xform.debug.print("seen {}", y) or y)(x)
        return x + 1.0

    np.testing.assert_allclose(np.asarray(f(np.float32(2.0))), 3.0)
    xform.effects_barrier()
    assert "seen 2.0" in capfd.readouterr().out


def _dead_custom_vjp_over_jit_value(lib, lnp, live, outer_jit):
    def f(x, z):
        c = lnp.sin(z)  # a value of the jit's trace, which the custom function closes over
        h = lambda u: lnp.cos(u) + lnp.sum(c)  # noqa: E731
        g = lib.custom_vjp(h)
        g.defvjp(lambda u: (g(u), u), lambda u, ct: lib.vjp(h, u)[1](ct))
        y = g(x)
        return x * 2.0 + z + (y if live else 0.0)

    d = lib.jacrev(lib.jit(f))
    return lib.jit(d) if outer_jit else d


def test_dead_custom_vjp_closing_over_a_jit_value_under_jacrev():
    # seed 40071 of `_fuzz_programs.py --seed 40000`: linearizing the jit runs the custom
    # function's fwd after the jit's trace has finished, and fwd meets the closed-over value as
    # a tracer of that finished trace. JAX's traces lift such a tracer as a constant; only
    # computing with it raises, so with the custom function's output dead (its code dropped
    # before running) JAX returns, and with the output used both raise
    x = np.array([0.3, -1.2], np.float32)
    z = np.float32(0.5)
    for outer_jit in (False, True):
        want = _dead_custom_vjp_over_jit_value(jax, jnp, False, outer_jit)(x, z)
        got = _dead_custom_vjp_over_jit_value(xform, xnp, False, outer_jit)(x, z)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want))
        with pytest.raises(TypeError):  # JAX: a TypeError (no constant handler for a tracer)
            _dead_custom_vjp_over_jit_value(jax, jnp, True, outer_jit)(x, z)
        with pytest.raises(jax.errors.UnexpectedTracerError, match="created by jit"):
            _dead_custom_vjp_over_jit_value(xform, xnp, True, outer_jit)(x, z)


def test_leaked_tracer_as_a_jit_argument_is_unexpected_tracer_error():
    # JAX raises UnexpectedTracerError for its own leaked tracer given to a jit-ted function;
    # for xform's, JAX's argument check used to turn xform's error into a plain TypeError
    leaks = {}
    for lib in (jax, xform):
        leaked = []
        lib.jit(lambda x, leaked=leaked: leaked.append(x) or x * 2)(np.float32(1.0))
        leaks[lib.__name__] = leaked[0]
        with pytest.raises(jax.errors.UnexpectedTracerError):
            lib.jit(lambda y: y + 1.0)(leaked[0])
    with pytest.raises(jax.errors.UnexpectedTracerError,
                       match=r"created by jit \(jit of <lambda> at .*test_regressions_fuzz"):
        xform.jit(lambda y: y + 1.0)(leaks["xform"])
    # nested: the inner jit's argument inside an outer jit, and an eager vmap over it
    with pytest.raises(jax.errors.UnexpectedTracerError, match="created by jit"):
        xform.jit(lambda z: xform.jit(lambda y: y * 2)(leaks["xform"]) + z)(1.0)
    with pytest.raises(jax.errors.UnexpectedTracerError, match="created by jit"):
        xform.vmap(xform.jit(lambda a, y: a * y), in_axes=(0, None))(
            np.ones(2, np.float32), leaks["xform"])


def test_weak_type_of_jvp_tangents_lax_direct_and_through_jits():
    # seeds 1501 (of --seed 101) and 70417 / 90140 (of --seed 70000 / 90000): a strongly typed
    # tangent of a Python-scalar primal. JAX's jvp keeps the tangent's type; a jax.lax function
    # called directly computes with it (a strong output tangent), while a jit, and every
    # jax.numpy function is one, types its tangents like its primals (weak). That declared type
    # lives on the staged equation only: batching a jit's body re-binds it and recomputes the
    # type (vmap of jit of jvp gives a strong tangent), and a backward pass keeps the
    # cotangent's own type (grad of a jvp's tangent is strong)
    t = np.float32(0.64)
    a = np.ones(2, np.float32)

    def cases(api, np_mod):
        lax = api.lax
        inner = lambda y: api.jvp(np_mod.sin, (y,), (t,))[1]  # noqa: E731
        return {
            "lax_sin": lambda x: api.jvp(lax.sin, (x,), (t,)),
            "lax_erf_mul": lambda x: api.jvp(lambda y: lax.mul(lax.erf(y), y), (x,), (t,)),
            "jnp_sin": lambda x: api.jvp(np_mod.sin, (x,), (t,)),
            "jnp_then_lax": lambda x: api.jvp(lambda y: lax.sin(np_mod.tanh(y)), (x,), (t,)),
            "lax_then_jnp": lambda x: api.jvp(lambda y: np_mod.tanh(lax.sin(y)), (x,), (t,)),
            "operator": lambda x: api.jvp(lambda y: y * 2 + 1.5, (x,), (t,)),
            "jit_of_jvp_lax": lambda x: api.jit(lambda y: api.jvp(lax.sin, (y,), (t,)))(x),
            "jvp_of_jit_lax": lambda x: api.jvp(api.jit(lax.sin), (x,), (t,)),
            "jvp_jvp_jit_lax": lambda x: api.jvp(
                lambda y: api.jvp(api.jit(lax.sin), (y,), (t,))[1], (x,), (t,)),
            "value_and_grad_of_jvp": lambda x: api.value_and_grad(inner)(x),
            "vmap_jit_jvp": lambda x: api.vmap(api.jit(
                lambda _, y: api.jvp(np_mod.sin, (y,), (t,))), in_axes=(0, None))(a, x),
            "vmap_jvp": lambda x: api.vmap(
                lambda _, y: api.jvp(np_mod.sin, (y,), (t,)), in_axes=(0, None))(a, x),
            "jvp_vmap": lambda x: api.jvp(api.vmap(lambda _, y: lax.sin(y), in_axes=(0, None)),
                                          (a, x), (a, t)),
            "nn_softplus": lambda x: api.jvp(api.nn.softplus, (x,), (t,)),
            "nn_hard_tanh": lambda x: api.jvp(api.nn.hard_tanh, (x,), (t,)),
            "cond": lambda x: api.jvp(lambda y: lax.cond(True, lax.sin, lax.cos, y), (x,), (t,)),
            "fori": lambda x: api.jvp(
                lambda y: lax.fori_loop(0, 2, lambda i, c: lax.sin(c), y), (x,), (t,)),
        }

    want_cases, got_cases = cases(jax, jnp), cases(xform, xnp)
    for name in want_cases:
        (want, w_vals), (got, g_vals) = _weak_types(
            lambda api, np_mod, name=name: (want_cases if api is jax else got_cases)[name], 0.57)
        assert got == want, (name, want, got)
        for w, g in zip(w_vals, g_vals):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)


def _custom_jvp_with_control_flow(api, np_mod):
    @api.custom_jvp
    def f(x):
        return np_mod.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        if x > 0:  # Python control flow on the concrete primal, as in JAX's notebook
            return f(x), np_mod.cos(x) * t
        return f(x), -t

    return f


def test_nested_forward_derivatives_of_custom_jvp_with_python_control_flow():
    # jacfwd(jacfwd(f)) and deeper, where f's rule branches on its concrete primal: JAX runs the
    # rule on concrete values at every level; under jit or vmap the primal is abstract and both
    # raise TracerBoolConversionError
    fx, fj = _custom_jvp_with_control_flow(xform, xnp), _custom_jvp_with_control_flow(jax, jnp)
    stacks = {
        "jacfwd2": lambda api, f: api.jacfwd(api.jacfwd(f)),
        "jacfwd3": lambda api, f: api.jacfwd(api.jacfwd(api.jacfwd(f))),
        "jacfwd_jacrev": lambda api, f: api.jacfwd(api.jacrev(f)),
        "jacrev_jacfwd": lambda api, f: api.jacrev(api.jacfwd(f)),
        "hessian": lambda api, f: api.hessian(f),
    }
    for x in (1.0, -1.0, np.array([0.5], np.float32)):
        for name, stack in stacks.items():
            np.testing.assert_allclose(np.asarray(stack(xform, fx)(x)),
                                       np.asarray(stack(jax, fj)(x)), rtol=1e-6, err_msg=name)
    for lib, f in ((jax, fj), (xform, fx)):
        with pytest.raises(jax.errors.TracerBoolConversionError):
            lib.jit(lib.jacfwd(lib.jacfwd(f)))(1.0)
        with pytest.raises(jax.errors.TracerBoolConversionError):
            lib.jacfwd(lib.jacfwd(lib.vmap(f)))(np.array([0.5, -1.0], np.float32))


def _custom_jvp_closing_over(api, np_mod, live):
    def f(x):
        c = np_mod.sin(x)  # differentiated, and closed over by the custom function
        h = lambda u: u * u + np_mod.sum(c)  # noqa: E731
        g = api.custom_jvp(h)
        g.defjvp(lambda p, t: api.jvp(h, p, t))
        y = g(x)
        return np_mod.sum(c * 2.0) + (np_mod.sum(y) if live else 0.0)
    return f


def test_custom_jvp_closing_over_a_differentiated_value():
    # seed 110024 of `_fuzz_programs.py --seed 110000`: as JAX's custom_jvp_call, the rule sees
    # the explicit arguments' tangents only (a closed-over value's tangent takes no part; xform
    # raised CustomVJPException, which JAX raises for custom_vjp alone). Dead under grad of a
    # checkpoint or a jit, JAX returns; used, the rule meets the function's finished tracer
    # and both raise UnexpectedTracerError (JAX's jit: a TypeError about the tracer constant)
    x = np.array([0.3, 1.2], np.float32)
    stacks = {"grad_checkpoint": lambda api, f: api.grad(api.checkpoint(f)),
              "grad_jit": lambda api, f: api.grad(api.jit(f)),
              "grad_vmap_checkpoint": lambda api, f: api.grad(
                  lambda x: api.numpy.sum(api.vmap(api.checkpoint(f))(x[None])))}
    for name, stack in stacks.items():
        want = stack(jax, _custom_jvp_closing_over(jax, jnp, False))(x)
        got = stack(xform, _custom_jvp_closing_over(xform, xnp, False))(x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, err_msg=name)
        for api, np_mod in ((jax, jnp), (xform, xnp)):
            with pytest.raises(TypeError):  # UnexpectedTracerError is one
                stack(api, _custom_jvp_closing_over(api, np_mod, True))(x)
    with pytest.raises(jax.errors.UnexpectedTracerError):
        xform.grad(xform.checkpoint(_custom_jvp_closing_over(xform, xnp, True)))(x)


def test_weak_type_of_gradient_through_checkpoint_of_a_custom_jvp():
    # seed 90242 of `_fuzz_programs.py --seed 90000`: checkpoint's linearization re-ran the
    # body's known equations reading each literal's raw value, so a Python-scalar literal (the
    # 0.5 of logaddexp(b, 0.5), a custom_jvp) became strongly typed there and the gradient
    # with respect to a Python scalar lost its weak type; a literal keeps it, as when traced
    ones = np.ones(3, np.float32)

    def build(api, np_mod, policy):
        f = api.checkpoint(lambda a, b: np_mod.logaddexp(b, 0.5) + a, policy=policy)
        g = api.grad(lambda a, b: np_mod.sum(np_mod.sin(f(a, b))), argnums=(0, 1))
        return lambda b: (g(np.float32(1.0), b), api.vmap(g, in_axes=(0, None))(ones, b))

    for policy in (None, "everything_saveable"):
        def builder(api, np_mod, policy=policy):
            pol = None if policy is None else getattr(api.checkpoint_policies, policy)
            return build(api, np_mod, pol)
        (want, w_vals), (got, g_vals) = _weak_types(builder, -0.3)
        assert got == want, (policy, want, got)
        for w, g in zip(w_vals, g_vals):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_custom_jvp_closing_over_a_finished_vmaps_value():
    # seed 120058 of `_fuzz_programs.py --seed 120000`: a tracer that outlived a jit or a
    # checkpoint is a constant to the traces that meet it (JAX never invalidates its jaxpr
    # traces), but one that outlived a vmap, jvp or linearize is an error wherever it is met,
    # as JAX's invalidated traces are: here the custom rule, run when grad differentiates the
    # checkpoint, closes over the finished vmap's value, and both raise though it is dead
    x = np.array([0.3, -1.2], np.float32)

    def build(api, np_mod):
        def f(x):
            c = np_mod.sin(x) * 2.0
            h = lambda u: u * u + np_mod.sum(c)  # noqa: E731
            g = api.custom_jvp(h)
            g.defjvp(lambda p, t: api.jvp(h, p, t))
            g(c)  # dead
            return np_mod.cos(x)
        return api.grad(lambda x: np_mod.sum(api.checkpoint(api.vmap(f))(x)))

    for api, np_mod in ((jax, jnp), (xform, xnp)):
        with pytest.raises(jax.errors.UnexpectedTracerError):
            build(api, np_mod)(x[:, None])


def test_eager_checkpoint_returns_arrays_for_literal_outputs():
    # seed 140134 of `_fuzz_programs.py --seed 140000`: the eager checkpoint (and custom-rule
    # call) runs its body op by op; an output the body wrote as a literal (the zero gradient
    # with respect to an unused Python scalar) came back as a Python float. JAX gives a weakly
    # typed array there
    x = np.ones(3, np.float32)

    def build(api, np_mod):
        return api.checkpoint(api.grad(lambda a, b: np_mod.sum(b * 2.0), argnums=0))

    want = build(jax, jnp)(0.53, x)
    got = build(xform, xnp)(0.53, x)
    assert isinstance(got, jax.Array) and got.weak_type == want.weak_type
    assert got.dtype == want.dtype and got.shape == np.shape(want)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001  (the exception type is what is compared)
        return "raise", type(e).__name__


def test_dead_custom_vjp_closing_over_a_value_in_a_jit_under_grad():
    # Seed 180126: a custom_vjp whose result nothing uses closes over a value that an outer jvp
    # differentiates. JAX drops dead equations from the forward program of a jit it linearizes
    # (grad), so the outer jvp never meets the custom_vjp; under a forward jvp of the jit it
    # keeps them and raises. xform kept them under grad too and raised CustomVJPException.
    x0, x1 = np.ones(3, np.float32), np.full(3, 0.5, np.float32)

    def build(jax_mod, np_mod, used, outer):
        def cvjp(f):
            g = jax_mod.custom_vjp(f)
            g.defvjp(lambda x: (g(x), x), lambda x, ct: jax_mod.vjp(f, x)[1](ct))
            return g

        def f0(a, b):
            v1 = np_mod.sin(b)
            v2 = cvjp(lambda u: np_mod.cos(u) + np_mod.sum(v1))(v1)
            return a * b + (v2 if used else 0.0)

        if outer == "grad":
            inner = lambda b: jax_mod.grad(lambda a: jax_mod.jit(f0)(a, b).sum())(x0)  # noqa: E731
        else:
            inner = lambda b: jax_mod.jvp(lambda a: jax_mod.jit(f0)(a, b), (x0,), (x0,))  # noqa: E731,E501
        return lambda: jax_mod.jvp(inner, (x1,), (x1,))

    for used in (False, True):
        for outer in ("grad", "jvp"):
            want = _outcome(build(jax, jnp, used, outer))
            got = _outcome(build(xform, xnp, used, outer))
            assert want[0] == got[0], (used, outer, want, got)
            if want[0] == "ok":
                for w, g in zip(jax.tree_util.tree_leaves(want[1]),
                                jax.tree_util.tree_leaves(got[1])):
                    np.testing.assert_allclose(g, w, rtol=1e-6)
            else:
                assert want[1] == got[1], (used, outer, want, got)


def test_gradient_through_a_jits_constant_output_stays_a_symbolic_zero():
    # Seed 180549: `.at[].multiply` by a constant inside grad-of-jit, differentiated again.
    # A jit's jvp gave every output tangent as an array, so the constant updates of the
    # scatter's derivative came back from the jit with a (zero) tangent and the scatter_mul
    # rule refused to differentiate them (NotImplementedError). As in JAX, an output tangent
    # the body gives a symbolic zero stays one.
    x = np.array([[-0.91], [0.41]], np.float32)
    t = np.array([[-0.98], [1.82]], np.float32)

    def build(jax_mod, np_mod):
        def f0(x0):
            v6 = np_mod.std(x0.T, axis=1)
            v7 = v6.at[np.array([0], np.int32)].mul(np.float32(-0.52))
            return np_mod.sin(v7).sum() + np_mod.sum(x0 ** 2)

        f2 = jax_mod.jit(jax_mod.value_and_grad(f0))
        f3 = lambda x0: jax_mod.jvp(f2, (x0,), (t,))  # noqa: E731
        return jax_mod.jit(jax_mod.jacrev(f3))

    for w, g in zip(jax.tree_util.tree_leaves(build(jax, jnp)(x)),
                    jax.tree_util.tree_leaves(build(xform, xnp)(x))):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def _custom_jvp_over_jacfwd_value(api, np_mod):
    def f(x):
        v = np_mod.sin(x)  # a value of jacfwd's jvp, closed over by the custom function
        h = lambda u: u + np_mod.sum(v)  # noqa: E731
        g = api.custom_jvp(h)
        g.defjvp(lambda p, t: api.jvp(h, p, t))
        return g(v)
    return f


def test_custom_jvp_closing_over_a_jacfwd_value_inside_checkpoint_under_jacrev():
    # Seed 120012 of `_fuzz_programs.py --seed 120000`: the rule runs below jacfwd's trace and
    # its function meets jacfwd's tracer there. As in JAX, a trace takes a tracer of a live
    # trace that is not its own as a constant, and a finished jvp's tracer is one too; the
    # checkpoint's jaxpr keeps it as a constant that only a dead equation reads (the primal
    # output: jacfwd returns tangents), and jacrev drops that dead code with its constants.
    # Without the checkpoint, the constant reaches eager evaluation and both raise.
    x = np.array([0.5, 1.0], np.float32)
    for outer in (lambda api, f: f, lambda api, f: api.jit(f)):
        want = outer(jax, jax.jacrev(jax.checkpoint(jax.jacfwd(
            _custom_jvp_over_jacfwd_value(jax, jnp)))))(x)
        got = outer(xform, xform.jacrev(xform.checkpoint(xform.jacfwd(
            _custom_jvp_over_jacfwd_value(xform, xnp)))))(x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    for api, np_mod in ((jax, jnp), (xform, xnp)):
        with pytest.raises(jax.errors.UnexpectedTracerError):
            api.jacfwd(_custom_jvp_over_jacfwd_value(api, np_mod))(x)


def test_leaked_tracer_constants_raise_at_the_outermost_jit_as_in_jax():
    # Seeds 120097, 180119, 180306, 181494: a dead custom_vjp/custom_jvp closing over a value
    # of a jvp inside a jit. JAX's outermost jit gets the leaked tracer as an argument and
    # raises though nothing uses it; under grad of a jit, and under vmap, the dead code (and its
    # constant) is dropped first and both return. Each combination raises in xform exactly
    # where it raises in JAX.
    x = np.ones(3, np.float32)

    def build(api, np_mod, kind, stack):
        def wrap(f):
            if kind == "vjp":
                g = api.custom_vjp(f)
                g.defvjp(lambda u: (g(u), u), lambda u, ct: api.vjp(f, u)[1](ct))
            else:
                g = api.custom_jvp(f)
                g.defjvp(lambda p, t: api.jvp(f, p, t))
            return g

        def f(x):
            v = np_mod.sin(x)
            wrap(lambda u: u + np_mod.sum(v))(x)  # dead
            return x * 2

        return {
            "jit(jvp)": lambda: api.jit(lambda x: api.jvp(f, (x,), (x,)))(x),
            "jvp": lambda: api.jvp(f, (x,), (x,)),
            "jit(grad)": lambda: api.jit(api.grad(lambda x: f(x).sum()))(x),
            "jit(vmap)": lambda: api.jit(api.vmap(f))(x),
            "jvp(jit)": lambda: api.jvp(api.jit(f), (x,), (x,)),
        }[stack]

    for kind in ("vjp", "jvp"):
        for stack in ("jit(jvp)", "jvp", "jit(grad)", "jit(vmap)", "jvp(jit)"):
            want = _outcome(build(jax, jnp, kind, stack))
            got = _outcome(build(xform, xnp, kind, stack))
            assert want[0] == got[0], (kind, stack, want, got)
            if want[0] == "raise":
                assert want[1] == got[1], (kind, stack, want, got)
def _check_weak_types(cases: dict, args: dict) -> None:
    for name, build in cases.items():
        (want, w_vals), (got, g_vals) = _weak_types(build, *args.get(name, (0.57,)))
        assert got == want, (name, want, got)
        for w, g in zip(w_vals, g_vals):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=name)


def test_weak_type_of_gradients_through_products():
    # Seed 180425: grad of `reshape(x, (1,)) @ M` for a Python scalar x was weak in xform,
    # strong in JAX. JAX's products do not promote their operands: dot_general takes them as
    # they are and only its result is cast, so nothing casts the weak operand's cotangent back
    # to a weak type (xform cast the operands, and the casts' transposes made it weak). When
    # the dtypes differ, dot_general's transpose casts to the operand's dtype and weak type.
    m = np.array([[0.67, -0.84]], np.float32)
    v = np.array([0.5, -1.5, 2.0], np.float32)

    def grad_of(f, argnums=0):
        return lambda api, np_mod: api.grad(
            lambda *a: np_mod.sum(np_mod.sin(f(np_mod, *a))), argnums=argnums)

    weak3 = lambda np_mod, x: np_mod.broadcast_to(x, (3,))  # noqa: E731
    cases = {
        "matmul": grad_of(lambda np_mod, x: np_mod.reshape(x, (1,)) @ m),
        "jit_matmul": lambda api, np_mod: api.jit(grad_of(
            lambda np_mod, x: np_mod.reshape(x, (1,)) @ m)(api, np_mod)),
        "dot_scalar": grad_of(lambda np_mod, x: np_mod.dot(x, v)),
        "dot_scalar_f16": grad_of(lambda np_mod, x: np_mod.dot(x, v.astype(np.float16))),
        "tensordot": grad_of(lambda np_mod, x: np_mod.tensordot(weak3(np_mod, x), v, 1)),
        "inner": grad_of(lambda np_mod, x: np_mod.inner(weak3(np_mod, x), v)),
        "vdot": grad_of(lambda np_mod, x: np_mod.vdot(weak3(np_mod, x), v)),
        "vecdot": grad_of(lambda np_mod, x: np_mod.vecdot(weak3(np_mod, x), v)),
        "einsum": grad_of(lambda np_mod, x: np_mod.einsum("i,i->", weak3(np_mod, x), v)),
        "einsum_sum": grad_of(lambda np_mod, x: np_mod.einsum(
            "ij,j->", np_mod.broadcast_to(x, (3, 3)), v)),
        "lax_reduce_typed_init": lambda api, np_mod: lambda x: api.lax.reduce(
            weak3(np_mod, x), np.float32(0), api.lax.add, (0,)),
    }
    _check_weak_types(cases, {})


def test_weak_type_of_gradients_through_scatter_and_pow():
    # Seed 181118: grad of `reshape(x, (1,)).at[0].max(np.float32(-1.7))` for a Python scalar x
    # was strong in xform, weak in JAX. JAX's indexed updates promote the array with the
    # values (a weak array next to strong values is cast to a strong type), scatter, and cast
    # the result back to the array's type; the casts' transposes make the cotangent weak.
    # Rules JAX writes with casts or numpy operators give these types too: pow's (strong
    # copies of base and exponent), the reductions' location indicator, igamma's, and
    # scatter-min/max's coefficients (typed by the operands).
    def grad_of(f, argnums=0):
        return lambda api, np_mod: api.grad(
            lambda *a: np_mod.sum(np_mod.sin(f(api, np_mod, *a))), argnums=argnums)

    weak3 = lambda np_mod, x: np_mod.broadcast_to(x, (3,))  # noqa: E731
    cases = {
        "at_max": grad_of(lambda api, np_mod, x: np_mod.reshape(x, (1,)).at[0].max(
            np.float32(-1.7))),
        "jit_at_max": lambda api, np_mod: api.jit(grad_of(
            lambda api, np_mod, x: np_mod.reshape(x, (1,)).at[0].max(np.float32(-1.7)))(
                api, np_mod)),
        "at_min": grad_of(lambda api, np_mod, x: weak3(np_mod, x).at[1:].min(np.float32(0.3))),
        "at_min_weak_updates": grad_of(lambda api, np_mod, x, y: weak3(np_mod, x).at[1:].min(
            np_mod.broadcast_to(y, (2,))), argnums=1),
        "at_power": grad_of(lambda api, np_mod, x: weak3(np_mod, x).at[1:].power(
            np.float32(0.3))),
        "lax_pow": grad_of(lambda api, np_mod, x, y: api.lax.pow(x, y), argnums=(0, 1)),
        "jvp_lax_pow": lambda api, np_mod: lambda x, y: api.jvp(
            api.lax.pow, (x, y), (1.0, 1.0)),
        "reduce_max": grad_of(lambda api, np_mod, x: api.lax.reduce_max(
            weak3(np_mod, x), (0,))),
        "igamma": grad_of(lambda api, np_mod, a, x: api.lax.igamma(a, x), argnums=(0, 1)),
    }
    args = {"at_min_weak_updates": (0.5, 0.3), "lax_pow": (0.5, 0.3),
            "jvp_lax_pow": (0.5, 0.3), "igamma": (0.5, np.float32(0.3))}
    _check_weak_types(cases, args)


def test_forward_jvp_of_a_jit_keeps_its_dead_custom_vjp():
    # Seeds 211571, 220204: a dead custom_vjp inside a jit, under jacfwd and then jvp (or
    # jacrev). JAX's forward jvp of a jit keeps the body's dead code, so the second forward
    # derivative meets the custom_vjp's linear rule and raises; only its linearize (grad)
    # drops dead code. xform dropped it under every derivative and returned.
    x = np.array([0.3, -0.7], np.float32)

    def build(api, np_mod, outer):
        def f(x):
            g = api.custom_vjp(lambda u: np_mod.maximum(u, 0.1))
            g.defvjp(lambda u: (np_mod.maximum(u, 0.1), u), lambda u, ct: (ct,))
            g(x)  # dead
            return np_mod.sin(x)

        j = api.jacfwd(api.jit(f))
        return {"jvp": lambda: api.jvp(j, (x,), (x,)),
                "jit(jvp)": lambda: api.jit(lambda x: api.jvp(j, (x,), (x,)))(x),
                "jacrev": lambda: api.jacrev(j)(x),
                "grad": lambda: api.grad(lambda x: np_mod.sum(api.jit(f)(x)))(x)}[outer]

    for outer in ("jvp", "jit(jvp)", "jacrev", "grad"):
        want = _outcome(build(jax, jnp, outer))
        got = _outcome(build(xform, xnp, outer))
        assert want[0] == got[0], (outer, want, got)
        if want[0] == "ok":
            np.testing.assert_allclose(np.asarray(got[1]), np.asarray(want[1]), rtol=1e-6)


def test_stale_constant_of_a_derived_program_raises_only_where_it_is_computed():
    # Seed 220313: a custom_jvp closes over an argument of the jit it is traced in; its rule,
    # run when the jit is differentiated, meets that finished jit's tracer. JAX keeps it as a
    # constant inside the jit's derived program: an error only where lowering computes with it
    # (a jvp's primal), none where the derivative is all that is used (a gather's zero
    # gradient). xform handed it up as an operand, and the outer jit refused it.
    c = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x, z = np.ones(3, np.float32), np.float32(0.5)

    def build(api, np_mod, stack):
        def f0(x, z):
            g = api.custom_jvp(lambda u: u + np_mod.sum(z))
            g.defjvp(lambda p, t: api.jvp(lambda u: u + np_mod.sum(z), p, t))
            return np_mod.asarray(c)[np_mod.argmax(g(x * 2)) % 2] * 1.0

        jf = api.jacfwd(api.jit(f0), argnums=(0, 1))
        return {
            "jit(jacfwd(jit))": lambda: api.jit(jf)(x, z),
            "jit(grad(jit))": lambda: api.jit(api.grad(
                lambda x, z: np_mod.sum(api.jit(f0)(x, z))))(x, z),
            "jit(jvp(jit))": lambda: api.jit(
                lambda x, z: api.jvp(api.jit(f0), (x, z), (x, z)))(x, z),
            "jacfwd(jit)": lambda: jf(x, z),
        }[stack]

    for stack in ("jit(jacfwd(jit))", "jit(grad(jit))", "jit(jvp(jit))", "jacfwd(jit)"):
        want = _outcome(build(jax, jnp, stack))
        got = _outcome(build(xform, xnp, stack))
        assert want[0] == got[0], (stack, want, got)
        if want[0] == "ok":
            for w, g in zip(jax.tree_util.tree_leaves(want[1]),
                            jax.tree_util.tree_leaves(got[1])):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w))


def _same_outcomes(cases: dict, build) -> None:
    """Each case, run on ``build(api, numpy module)`` with JAX and with xform, raises the
    same TypeError in both or returns the same values."""
    for name, case in cases.items():
        want = _outcome(lambda case=case: case(jax, build(jax, jnp)))
        got = _outcome(lambda case=case: case(xform, build(xform, xnp)))
        assert got[0] == want[0], (name, got, want)
        if want[0] == "raise":
            assert got[1] == want[1] == "TypeError", name
        else:
            for g, w in zip(jax.tree_util.tree_leaves(got[1]), jax.tree_util.tree_leaves(want[1])):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_dead_custom_vjp_in_a_checkpoint_under_a_forward_jvp_of_a_jit():
    # Seed 344411: jacfwd of jit(checkpoint(f)), where f applies a custom_vjp function whose
    # result nothing uses. JAX's forward jvp of the jit differentiates the whole body forward,
    # the checkpoint's dead code too, and jacfwd's vmap of that dead custom_vjp tangent raises
    # TypeError. xform's forward jvp of a jit splits the body with a linearize, under which the
    # checkpoint dropped its dead code as under grad, and returned. The siblings: where JAX
    # compiles the dead code away (jvp of a jit) it returns, where it runs it op by op or
    # batches it, it raises.
    def build(api, np_mod):
        @api.custom_vjp
        def g(u):
            return np_mod.exp(-u * u)
        g.defvjp(lambda u: (g(u), u), lambda u, ct: (-2.0 * u * g(u) * ct,))

        def f(x):
            v = -x
            g(v) @ np.ones((1, 3), np.float32)  # dead
            return api.checkpoint(lambda u: -u)(v)
        return f

    x = np.full((2, 1), 0.5, np.float32)
    eye = np.eye(2, dtype=np.float32).reshape(2, 2, 1)
    cases = {
        "jacfwd_jit_ckpt": lambda api, f: api.jacfwd(api.jit(api.checkpoint(f)))(x),
        "jacrev_jit_ckpt": lambda api, f: api.jacrev(api.jit(api.checkpoint(f)))(x),
        "jvp_jit": lambda api, f: api.jvp(api.jit(f), (x,), (x,)),
        "jvp_jit_ckpt": lambda api, f: api.jvp(api.jit(api.checkpoint(f)), (x,), (x,)),
        "jacfwd_jit": lambda api, f: api.jacfwd(api.jit(f))(x),
        "vmap_jvp_jit": lambda api, f: api.vmap(
            lambda t: api.jvp(api.jit(f), (x,), (t,)))(eye),
        "jvp_vmap_jit": lambda api, f: api.jvp(api.vmap(api.jit(f)), (x,), (x,)),
        "jvp_ckpt": lambda api, f: api.jvp(api.checkpoint(f), (x,), (x,)),
        "jvp": lambda api, f: api.jvp(f, (x,), (x,)),
        "jit_jvp": lambda api, f: api.jit(lambda x: api.jvp(f, (x,), (x,)))(x),
        "jvp_jit_jit": lambda api, f: api.jvp(api.jit(api.jit(f)), (x,), (x,)),
        "grad_jit": lambda api, f: api.grad(lambda x: api.jit(f)(x).sum())(x),
    }
    _same_outcomes(cases, build)


def test_leaked_tracer_read_only_by_dead_code_under_a_forward_jvp_of_a_jit():
    # Seed 331378: a custom_jvp function closes over an intermediate of the jit it is called in
    # and its result feeds only dead code (a cond whose output nothing uses). Its rule runs
    # when the jit is differentiated, after the jit's trace has finished: the intermediate is a
    # leaked tracer there. JAX's forward jvp of the jit keeps that dead code and its compiled
    # program drops it unrun, so JAX returns; xform's forward jvp computed the residuals of
    # the dead tangent code with the leaked tracer and raised UnexpectedTracerError.
    def build(api, np_mod):
        def cjvp(f):
            g = api.custom_jvp(f)
            g.defjvp(lambda p, t: api.jvp(f, p, t))
            return g

        def f0(x0, x2):
            v0 = np_mod.sum(x2, axis=-2)
            v1 = cjvp(lambda u: (u * u * 0.5) + np_mod.sum(v0) * 0.25)(v0)
            api.lax.cond(np_mod.sum(v1) > 0, np_mod.sin, lambda u: u + 1.0, x0)  # dead
            return np_mod.sin(x0) * np_mod.sum(x2)
        f1 = api.jit(f0)
        return lambda x0, x2: api.jvp(f1, (x0, x2), (x0, x2))

    x0 = np.linspace(0.1, 0.4, 2, dtype=np.float32)
    x2 = np.linspace(-1.0, 1.0, 18, dtype=np.float32).reshape(3, 3, 2)
    for name, wrap in [("jvp", lambda api, f: f), ("checkpoint", lambda api, f: api.checkpoint(f)),
                       ("vmap", lambda api, f: api.vmap(f)),
                       ("vmap_checkpoint", lambda api, f: api.vmap(api.checkpoint(f)))]:
        args = (np.stack([x0, x0 * 2]), np.stack([x2, -x2])) if "vmap" in name else (x0, x2)
        want = wrap(jax, build(jax, jnp))(*args)
        got = wrap(xform, build(xform, xnp))(*args)
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, err_msg=name)


def test_dead_custom_vjp_when_no_output_depends_on_the_differentiated_input():
    # Seed 371237: jacfwd of a jit whose outputs do not depend on the differentiated input,
    # with a dead custom_vjp call that does. JAX's forward jvp of the jit keeps the dead
    # tangent code, and jacfwd's vmap of the custom_vjp tangent raises TypeError; xform made no
    # linear call at all when no output tangent was nonzero, so nothing raised.
    def build(api, np_mod):
        def cvjp(f):
            g = api.custom_vjp(f)
            g.defvjp(lambda x: (g(x), x), lambda x, ct: api.vjp(f, x)[1](ct))
            return g

        def f0(x0, x1):
            cvjp(lambda u: (np_mod.cos(u) + u) + np_mod.sum(x1) * 0.25)(x0)  # dead
            return api.nn.softmax(x1, axis=1)
        return f0

    x0, x1 = np.ones((2,), np.float32), np.linspace(0, 1, 4, dtype=np.float32).reshape(2, 2)
    cases = {"jacfwd_jit": lambda api, f: api.jacfwd(api.jit(f), argnums=(0,))(x0, x1),
             "jit_jacfwd_jit": lambda api, f: api.jit(api.jacfwd(api.jit(f)))(x0, x1),
             "jvp_jit": lambda api, f: api.jvp(lambda a: api.jit(f)(a, x1), (x0,), (x0,)),
             "jacrev_jit": lambda api, f: api.jacrev(api.jit(f))(x0, x1)}
    _same_outcomes(cases, build)


def test_reshape_of_a_numpy_value_stays_numpy_as_in_jax():
    # Seed 401483: jnp.reshape of a numpy value (a value computed only from arguments that are
    # not differentiated) forwards to numpy's own reshape in JAX, so an out-of-bounds static
    # index after it raises numpy's IndexError; xform made a jax Array, whose index clamps
    def cases(api, np_mod):
        x2 = np.float32(1.59)
        return {
            "type": lambda: type(np_mod.reshape(np.float32(-1.23) * x2, (1,))).__name__,
            "type_array": lambda: type(np_mod.reshape(np.ones(6, np.float32), (2, 3))).__name__,
            "value": lambda: np.asarray(np_mod.reshape(np.arange(6.0), (3, -1))),
            "oob": lambda: np_mod.reshape(np.float32(-1.23) * x2, (1,))[1],
            "jacrev": lambda: api.jacrev(
                lambda x1: np_mod.reshape(np.float32(-1.23) * x2, (1,))[1] + x1)(
                np.ones(3, np.float32)),
            "traced": lambda: api.grad(lambda x: np_mod.reshape(x * x, (1, 1)).sum())(0.5),
        }

    want, got = cases(jax, jnp), cases(xform, xnp)
    for name in want:
        w, g = _outcome(want[name]), _outcome(got[name])
        assert g[0] == w[0], (name, g, w)
        if w[0] == "raise" or name.startswith("type"):
            assert g[1] == w[1], name
        else:
            np.testing.assert_allclose(np.asarray(g[1]), np.asarray(w[1]), err_msg=name)


def test_eager_jvp_of_a_no_op_reshaping_function_gives_jax_arrays():
    # Seed 491344: jnp.moveaxis(x, -3, 0) of a 3-d x moves nothing; JAX's is a jit, so its
    # eager jvp gives jax Arrays for a numpy primal and tangent, where xform handed the
    # tangent back as numpy (and jnp.expand_dims(x, ()) likewise)
    x = np.ones((3, 1, 1), np.float32)
    for name, f in {"moveaxis": lambda N, v: N.moveaxis(v, -3, 0),
                    "expand_dims": lambda N, v: N.expand_dims(v, ())}.items():
        want = jax.jvp(lambda v, f=f: f(jnp, v), (x,), (x,))
        got = xform.jvp(lambda v, f=f: f(xnp, v), (x,), (x,))
        assert [type(v).__name__ for v in got] == [type(v).__name__ for v in want], name
