"""Regressions found by the differential property test (tests/test_differential.py) in the
weak types (and array types) of values and derivatives, each shrunk to a few lines and
compared against JAX on the same input (the other finds are in test_regressions_fuzz.py)."""

import jax
import jax.numpy as jnp
import numpy as np

import xform
import xform.numpy as xnp


def _leaf_types(tree):
    return [(str(x.dtype), bool(x.weak_type)) for x in jax.tree_util.tree_leaves(tree)]


def test_weak_types_of_derivatives_through_reductions_slices_and_rule_constants():
    # Seeds 232969 and 241628: the cotangent of a Python scalar through jnp.max came back
    # strongly typed. jax.numpy's reductions cast their input to a strong type (so the cast's
    # transpose types a weak input's cotangent weak again), where xform cast the output. Its
    # siblings, checked here against JAX on a weakly typed array: the transposes of slicing
    # pad and update strongly typed zeros (a weak cotangent of a slice comes back strong), and
    # the constants JAX's rules write with ``_const`` (sqrt, square, erf, tan ...) are weak only
    # beside a weakly typed scalar.
    def weak_array(lax_mod):
        return lax_mod.broadcast_in_dim(0.3, (2,), ())

    reductions = {
        "max": lambda m, x: m.max(x), "min_axis": lambda m, x: m.min(m.expand_dims(x, 0), 0),
        "max_keepdims": lambda m, x: m.max(m.expand_dims(x, 0), axis=0, keepdims=True),
        "ptp": lambda m, x: m.ptp(x), "nanmax": lambda m, x: m.nanmax(x),
        "prod": lambda m, x: m.prod(x), "cumprod": lambda m, x: m.cumprod(m.stack([x, x])),
    }
    for name, fn in reductions.items():
        want = _leaf_types(jax.grad(lambda x, fn=fn: jnp.sum(fn(jnp, x)))(0.09))
        got = _leaf_types(xform.grad(lambda x, fn=fn: xnp.sum(fn(xnp, x)))(0.09))
        assert got == want, (name, want, got)

    lax_fns = {
        "slice": lambda lx, a: lx.slice(a, (0,), (1,)),
        "strided_slice": lambda lx, a: lx.slice(a, (0,), (2,), (2,)),
        "pad": lambda lx, a: lx.pad(a, 0.0, ((1, -1, 1),)),
        "dynamic_slice": lambda lx, a: lx.dynamic_slice(a, (1,), (1,)),
        "getitem": lambda lx, a: a[1:],
        "sqrt": lambda lx, a: lx.sqrt(a), "square": lambda lx, a: lx.square(a),
        "integer_pow": lambda lx, a: lx.integer_pow(a, 3), "rsqrt": lambda lx, a: lx.rsqrt(a),
        "erf": lambda lx, a: lx.erf(a), "tan": lambda lx, a: lx.tan(a),
        "atan": lambda lx, a: lx.atan(a), "exp2": lambda lx, a: lx.exp2(a),
        "tanh": lambda lx, a: lx.tanh(a), "logistic": lambda lx, a: lx.logistic(a),
    }
    for name, fn in lax_fns.items():
        for arg in ("array", "scalar"):
            def types(api, lax_mod, fn=fn, arg=arg):
                x = weak_array(lax_mod) if arg == "array" else 0.3
                f = lambda a: fn(lax_mod, a)  # noqa: E731
                out, pullback = api.vjp(f, x)
                ct = lax_mod.broadcast_in_dim(1.0, out.shape, ())  # weakly typed
                tangent = api.jvp(f, (x,), (lax_mod.broadcast_in_dim(1.0, np.shape(x), ()),))[1]
                return _leaf_types((out, tangent, pullback(ct)))
            if name in ("pad", "strided_slice", "slice", "dynamic_slice", "getitem") \
                    and arg == "scalar":
                continue
            assert types(xform, xform.lax) == types(jax, jax.lax), (name, arg)


def test_weak_types_of_numpy_and_scipy_functions_of_weak_values():
    # The constants of jax.numpy's and jax.scipy's formulas are weak only beside a weakly typed
    # scalar, so these functions of a weakly typed array are strongly typed in JAX; nan_to_num's
    # replacements are strong; float_power of Python scalars, full_like of one, and the
    # entropies of Python scalars stay weak. Each against JAX on the same input.
    import jax.scipy.special as jsp

    import xform.scipy.special as xsp

    cases = {
        "deg2rad": lambda m, s, x: m.deg2rad(x), "rad2deg": lambda m, s, x: m.rad2deg(x),
        "hypot": lambda m, s, x: m.hypot(x, 0.7), "sinc": lambda m, s, x: m.sinc(x),
        "logaddexp": lambda m, s, x: m.logaddexp(x, 0.7),
        "logaddexp2": lambda m, s, x: m.logaddexp2(x, 0.7),
        "heaviside": lambda m, s, x: m.heaviside(x, 0.5),
        "nan_to_num": lambda m, s, x: m.nan_to_num(x),
        "float_power": lambda m, s, x: m.float_power(x, 0.7),
        "full_like": lambda m, s, x: m.full_like(x, 0.7),
        "logit": lambda m, s, x: s.logit(x), "rel_entr": lambda m, s, x: s.rel_entr(x, 0.7),
        "kl_div": lambda m, s, x: s.kl_div(x, 0.7),
        "angle": lambda m, s, x: m.angle(x),  # a real scalar: default float, strong
        "angle_f16": lambda m, s, x: m.angle(np.asarray(x, np.float16)),
    }
    for name, fn in cases.items():
        for x_of in (lambda lx: 0.3, lambda lx: lx.broadcast_in_dim(0.3, (2,), ()),
                     lambda lx: np.full(2, 0.3, np.float32)):
            want = fn(jnp, jsp, x_of(jax.lax))
            got = fn(xnp, xsp, x_of(xform.lax))
            assert _leaf_types(got) == _leaf_types(want), (name, want, got)
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_relu_tangent_keeps_its_weak_type():
    # relu's and relu6's rules select between the tangent and zeros typed like it (JAX's
    # full_like); xform's zeros were strongly typed, so a weak tangent came out strong
    for name in ("relu", "relu6"):
        for x, t in ((0.3, 1.0), (-0.3, 1.0), (0.3, np.float32(1.0))):
            want = jax.jvp(getattr(jax.nn, name), (x,), (t,))
            got = xform.jvp(getattr(xform.nn, name), (x,), (t,))
            assert _leaf_types(got) == _leaf_types(want), (name, x, t)
            np.testing.assert_allclose(np.asarray(got[1]), np.asarray(want[1]))


def test_norm_of_a_weak_value_is_strongly_typed():
    # Seed 270674: jit(jacfwd(lambda x: jnp.linalg.norm(x * x)))(-0.71) was weakly typed. JAX's
    # norms reduce with jax.numpy's reductions, which cast their input to a strong type
    def cases(api):
        m = api.numpy
        w = api.lax.broadcast_in_dim(0.3, (2,), ())
        return [m.linalg.norm(0.3), m.linalg.norm(w), m.linalg.norm(w, 1),
                m.linalg.norm(w, np.inf), m.linalg.norm(w, 3), api.grad(m.linalg.norm)(0.3),
                api.jit(api.jacfwd(lambda x: m.linalg.norm(x * x)))(-0.71),
                api.grad(lambda x: m.linalg.norm(w * x, 3))(0.3)]

    want, got = cases(jax), cases(xform)
    assert _leaf_types(got) == _leaf_types(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_cumulative_scans_of_weak_arrays_under_jvp_are_strongly_typed():
    # JAX differentiates cummax/cummin/cumprod/cumlogsumexp through an associative scan that
    # interleaves with strongly typed zero padding, so under jvp a weakly typed array's scan
    # (longer than 1) and its tangent are strongly typed; pad's jvp instantiates the padding
    # value's zero tangent with that value's type. Against JAX, lengths 1 to 3.
    def types(api):
        lx, out = api.lax, []
        for n in (1, 2, 3):
            w = lx.broadcast_in_dim(0.3, (n,), ())
            for f in (lx.cummax, lx.cumprod, lx.cumlogsumexp, lx.cummin, lx.cumsum,
                      lambda v: lx.pad(v, np.float32(0), ((1, 1, 1),))):
                p, t = api.jvp(f, (w,), (lx.broadcast_in_dim(1.0, (n,), ()),))
                g = api.grad(lambda v, f=f: api.numpy.sum(f(v)))(w)
                out.append((bool(p.weak_type), bool(t.weak_type), bool(g.weak_type)))
        return out

    assert types(xform) == types(jax)
    x = np.array([[0.3, 2.0, -1.0, 4.0, 0.5]], np.float32)
    for name in ("cummax", "cumprod", "cumlogsumexp"):
        want = jax.jacrev(lambda w, n=name: getattr(jax.lax, n)(w, axis=1))(x)
        got = xform.jacrev(lambda w, n=name: getattr(xform.lax, n)(w, axis=1))(x)
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_stack_and_concatenate_of_one_array_reshape_it_as_jax():
    # jnp.stack(arr) and jnp.concatenate(arr) of a single array take its rows by a reshape in
    # JAX; xform indexed the rows one by one, whose transposes pad strongly typed zeros, so a
    # weak array's cotangent came back strong
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for name, kw in (("stack", {}), ("stack", {"axis": -1}), ("concatenate", {}),
                     ("concatenate", {"axis": 1}), ("concatenate", {"axis": None}),
                     ("hstack", {}), ("vstack", {}), ("dstack", {})):
        want = getattr(jnp, name)(a, **kw)
        got = getattr(xnp, name)(a, **kw)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))

        def types(api, name=name, kw=kw):
            w = api.lax.broadcast_in_dim(0.3, (2, 2, 2), ())
            out, pullback = api.vjp(lambda v: getattr(api.numpy, name)(v, **kw), w)
            return _leaf_types((out, pullback(api.lax.broadcast_in_dim(1.0, out.shape, ()))))
        assert types(xform) == types(jax), (name, kw)


def test_jacobian_blocks_cut_by_split_keep_weak_cotangents():
    # Seed 281657: grad with respect to a Python scalar of sin of the blocks of a jacfwd (or
    # hessian) taken over several arguments came back strongly typed. JAX cuts the Jacobian
    # into per-argument blocks with lax.split (transposed by a concatenation), xform sliced it
    # (transposed by padding strongly typed zeros). Likewise jax.nn.glu's halves.
    x0 = np.array([1.2, -0.9], np.float32)

    def cases(api):
        m = api.numpy
        scal = lambda out: sum(m.sum(m.sin(v)) for v in jax.tree_util.tree_leaves(out))  # noqa: E731
        f = lambda a, b: m.cos(b) * m.sum(a * a)  # noqa: E731
        out = []
        for jac in (api.jacfwd, api.jacrev, api.hessian):
            out.append(api.grad(lambda a, b, jac=jac: scal(jac(f, argnums=(0, 1))(a, b)),
                                argnums=1)(x0, -1.9))
        w = api.lax.broadcast_in_dim(0.3, (4,), ())
        p, pullback = api.vjp(api.nn.glu, w)
        return out + [p, pullback(api.lax.broadcast_in_dim(1.0, (2,), ()))]

    want, got = cases(jax), cases(xform)
    assert _leaf_types(got) == _leaf_types(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5)


def test_xlogy_tangent_is_cast_to_the_result_dtype():
    # JAX's xlogy/xlog1py rules cast the tangent to the result's dtype (`.astype`), so the
    # tangent of a Python scalar is strongly typed; xform's stayed weak
    import jax.scipy.special as jsp

    import xform.scipy.special as xsp

    for name in ("xlogy", "xlog1py"):
        def cases(api, sp, name=name):
            f = getattr(sp, name)
            return [api.jvp(lambda x: f(x, 0.7), (0.3,), (1.0,)),
                    api.jvp(lambda y: f(0.3, y), (0.7,), (1.0,)),
                    api.grad(lambda x: f(x, 0.7))(0.3), api.grad(lambda y: f(0.0, y))(0.7)]
        want, got = cases(jax, jsp), cases(xform, xsp)
        assert _leaf_types(got) == _leaf_types(want), name
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_weak_types_of_a_jits_tangents_and_forwarded_residuals():
    # Seed 312692: the gradient of a jvp (a strongly typed tangent of a Python scalar) through
    # jit(lambda x: sin(x * 1.71)) came back strong, JAX's weak. JAX's jit traces its jvp with
    # each tangent typed like its primal, gives its outputs the types its jaxpr declares, and
    # passes a residual that is one of its inputs on with the caller's own type. The same
    # three together decide: jit(lax.sqrt) of a weakly typed array (its rule's strong 0.5
    # makes the tangent strong), grad of jvp of jit(sin) (the forwarded strong tangent makes
    # the gradient strong), and the jax.numpy functions, which are jits in JAX.
    t, ones = np.float32(1.0), np.ones(2, np.float32)

    def cases(api, jnp):
        def weak():
            return api.lax.broadcast(0.3, (2,))
        out = []
        bodies = [api.lax.sin, jnp.sin, lambda x: jnp.sin(x * 1.71), jnp.sqrt, api.lax.sqrt,
                  lambda x: x, lambda x: x * x, jnp.exp2]
        for body in bodies:
            f = api.jit(body)
            out += [api.jvp(f, (0.3,), (t,)), api.jvp(f, (weak(),), (ones,)),
                    api.jit(lambda x, f=f: api.jvp(f, (x,), (t,)))(0.3),
                    api.grad(lambda x, f=f: api.jvp(f, (x,), (t,))[1].sum())(0.3),
                    api.grad(lambda x, f=f: api.jvp(f, (x,), (ones,))[1].sum())(weak()),
                    api.jvp(api.grad(lambda x, f=f: f(x).sum()), (0.3,), (t,)),
                    api.vmap(lambda x, f=f: api.jvp(f, (x,), (t,)))(weak()),
                    api.jvp(api.vmap(f), (weak(),), (ones,))]
        for name in ("sqrt", "square", "arctan", "cbrt", "arcsin", "reciprocal", "exp2", "sin",
                     "squeeze", "asarray", "ravel"):
            f = getattr(jnp, name)
            out += [api.jvp(f, (weak(),), (ones,)), api.jvp(f, (0.3,), (t,)),
                    api.jit(lambda f=f: api.jvp(f, (weak(),), (ones,)))(),
                    api.jit(lambda x, f=f: api.jvp(f, (x,), (t,)))(0.3),
                    api.grad(lambda x, f=f: api.jvp(f, (x,), (t,))[1].sum())(0.3)]
        return out

    want, got = cases(jax, jax.numpy), cases(xform, xform.numpy)
    assert _leaf_types(got) == _leaf_types(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_weak_types_of_power_with_a_static_int_exponent_and_array():
    # Seed 380404: jvp of `x ** 2` at a Python scalar with a strongly typed tangent gave a
    # strong tangent, JAX's is weak. jnp.power of a concrete int exponent is no jit in JAX: it
    # promotes its base (a conversion JAX binds only on a concrete tracer, an eagerly
    # differentiated value, whose rule types the tangent like the primal) and calls
    # integer_pow, whose rule returns the tangent itself for y == 1. Staged, batched or
    # under grad, nothing is retyped. jnp.array is no jit either (a copy and that conversion).
    t = np.float32(-0.08)

    def cases(api, np_mod):
        w = api.lax.broadcast(0.3, (2,))
        fs = [lambda a: a ** 2, lambda a: a ** 1, lambda a: a ** 0, lambda a: a ** -1,
              lambda a: a ** 2.0, lambda a: np_mod.power(a, 3), lambda a: 2 ** a,
              np_mod.asarray, np_mod.array, np_mod.squeeze,
              lambda a: np_mod.full_like(a, 2.0) * a]
        out = []
        for f in fs:
            for x, tt in ((0.3, t), (w, np.ones(2, np.float32)), (np.float32(0.3), t)):
                out += [api.jvp(f, (x,), (tt,)), api.grad(lambda x, f=f: f(x).sum())(x),
                        api.jit(lambda x, f=f, tt=tt: api.jvp(f, (x,), (tt,)))(x),
                        api.vmap(lambda x, f=f: api.jvp(f, (x,), (t,)))(w)]
        return out

    want, got = cases(jax, jnp), cases(xform, xnp)
    assert _leaf_types(got) == _leaf_types(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)



def test_eager_checkpoint_gives_jax_arrays_for_a_constant_zero_tangent():
    # Seed 382078: jvp of checkpoint(f) where f's scalar output does not depend on the
    # differentiated input: the zero tangent the body writes as a constant came back a numpy
    # array from the eager checkpoint, where JAX gives a jax Array
    def run(api):
        def f(x0, x1):
            return api.numpy.linalg.norm(api.lax.cumsum(x1 * x1 * 0.5, axis=0, reverse=True))
        g = api.checkpoint(f, policy=api.checkpoint_policies.dots_saveable)
        x0, x1 = np.ones((1,), np.float32), np.ones((3, 1), np.float32)
        return api.jvp(lambda a: g(a, x1), (x0,), (x0,))

    want, got = run(jax), run(xform)
    assert [type(t).__name__ for t in got] == [type(t).__name__ for t in want]
    assert _leaf_types(got) == _leaf_types(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)


def test_add_any_is_typed_like_its_first_operand_when_staged():
    # Seed 420848: JAX's add_any (the sum of two tangents or cotangents) is typed like its
    # first operand, weak type included, wherever it is traced; run eagerly it gives the type
    # of x + y. xform typed it weak only where both operands were, so the jvp of
    # `.at[0].mul(jnp.maximum(...))` of a weak value gave a strong tangent under jit. Its
    # sibling: eager add_any keeps the promotion (grad of a jvp of a grad, with a strongly
    # typed tangent of a weak value, runs the last backward pass op by op).
    t = np.float32(-1.49)

    def at_mul(api, N):
        def f(x):
            v = N.reshape(2.0 - x, (-1,))
            return v.at[0].mul(N.maximum(v[0], 0.1))
        return api.jit(lambda x: api.jvp(api.jit(f), (x,), (t,)))

    def grad_jvp_grad(api, N):
        f = lambda x: N.logaddexp(x, 1.62) * np.float32(2)  # noqa: E731
        return api.grad(lambda x: api.jvp(api.grad(f), (x,), (np.float32(0.64),))[1])

    def vjp_jvp(api, N):  # the same through a vjp pullback
        f = lambda x: N.logaddexp(x, 1.62) * np.float32(2)  # noqa: E731
        g = lambda x: api.vjp(f, x)[1](1.55)[0]  # noqa: E731
        return api.grad(lambda x: api.jvp(g, (x,), (np.float32(0.64),))[1])

    for build in (at_mul, grad_jvp_grad, vjp_jvp):
        want, got = build(jax, jnp)(-1.9), build(xform, xnp)(-1.9)
        assert _leaf_types(got) == _leaf_types(want), (build.__name__, want, got)
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
