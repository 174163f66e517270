"""The transpose of a scan sums a weight's per-iteration cotangents after the loop, as one
contraction over the stacked operands (xform/lax/control_flow/hoist.py): gradients against JAX on
the same inputs, under jit, vmap, second order and reverse scans, and the structure (the weight's
cotangent is no loop carry, and stays one where stacking would cost more than it saves)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform import lax

RNG = np.random.default_rng(0)
T, B, D, H = 6, 3, 4, 5
P = {"wx": RNG.standard_normal((D, H), dtype=np.float32) * 0.5,
     "wh": RNG.standard_normal((H, H), dtype=np.float32) * 0.5,
     "b": RNG.standard_normal(H, dtype=np.float32) * 0.1}
XS = RNG.standard_normal((T, B, D), dtype=np.float32)


def _close(got, want, tol=2e-5):
    jax.tree_util.tree_map(
        lambda g, w: np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=tol,
                                                atol=tol), got, want)


def rnn(L, N, reverse=False, tied=False):
    """A tanh RNN; ``tied`` reads ``wh`` twice (as ``h @ wh`` and ``h @ wh.T``), so its
    cotangent is a sum of two contractions, one of them transposed."""
    def loss(p, xs):
        def cell(h, x):
            z = x @ p["wx"] + h @ p["wh"] + p["b"]
            if tied:
                z = z + N.sin(h) @ p["wh"].T
            h = N.tanh(z)
            return h, h * h
        _, ys = L.scan(cell, N.zeros((xs.shape[1], H), xs.dtype), xs, reverse=reverse)
        return ys.sum()
    return loss


def _pair(**kw):
    return rnn(lax, xnp, **kw), rnn(jax.lax, jnp, **kw)


def _scans(closed):
    """Every scan equation of a jaxpr, nested ones included, in program order."""
    out = []

    def walk(eqns):
        for e in eqns:
            if e.primitive.name == "scan":
                out.append(e)
            for v in e.params.values():
                if hasattr(v, "jaxpr") and hasattr(v.jaxpr, "eqns"):
                    walk(v.jaxpr.eqns)
    walk(closed.jaxpr.eqns)
    return out


def _backward_scan(closed):
    """The transposed loop of a jaxpr of a gradient of one scan: the last scan it runs."""
    out = _scans(closed)
    assert len(out) == 2, out  # the forward loop and its transpose
    return out[-1]


def _carry_shapes(eqn):
    return [v.aval.shape for v in eqn.outvars[:eqn.params["num_carry"]]]


@pytest.mark.parametrize("kw", [{}, {"reverse": True}, {"tied": True}],
                         ids=["forward", "reverse", "tied"])
def test_grad_matches_jax_and_weights_leave_the_loop(kw):
    f, g = _pair(**kw)
    want = jax.grad(g)(P, XS)
    _close(xform.grad(f)(P, XS), want)
    _close(xform.jit(xform.grad(f))(P, XS), want)
    scan = _backward_scan(xform.make_jaxpr(xform.grad(f))(P, XS))
    # the loop carries the hidden state's cotangent only: wx, wh and b are summed after it
    assert _carry_shapes(scan) == [(B, H)]


def test_value_and_grad_of_lstm_like_stack_matches_jax():
    def make(L, N, sigmoid):
        def loss(p, xs):
            def cell(carry, x):
                h, c = carry
                z = N.concatenate([x, h], axis=-1) @ p["w"] + p["b"]
                i, f, g, o = N.split(z, 4, axis=-1)
                c = sigmoid(f) * c + sigmoid(i) * N.tanh(g)
                h = sigmoid(o) * N.tanh(c)
                return (h, c), h
            zeros = N.zeros((xs.shape[1], H), xs.dtype)
            _, hs = L.scan(cell, (zeros, zeros), xs)
            return N.mean(hs ** 2)
        return loss
    p = {"w": RNG.standard_normal((D + H, 4 * H), dtype=np.float32) * 0.3,
         "b": np.zeros(4 * H, np.float32)}
    got = xform.jit(xform.value_and_grad(make(lax, xnp, xform.nn.sigmoid)))(p, XS)
    want = jax.jit(jax.value_and_grad(make(jax.lax, jnp, jax.nn.sigmoid)))(p, XS)
    _close(got, want)


def test_per_example_grads_and_second_order_match_jax():
    f, g = _pair()
    xs = XS[:, :1]  # one batch element per example below
    per = np.stack([XS[:, i:i + 1] for i in range(B)])
    _close(xform.vmap(xform.grad(f), in_axes=(None, 0))(P, per),
           jax.vmap(jax.grad(g), in_axes=(None, 0))(P, per))
    # a Hessian-vector product differentiates through the sum taken after the loop
    v = jax.tree_util.tree_map(lambda a: np.ones_like(a) * 0.1, P)

    def hvp(grad, jvp, fun):
        return jvp(lambda p: grad(fun)(p, xs), (P,), (v,))[1]
    _close(hvp(xform.grad, xform.jvp, f), hvp(jax.grad, jax.jvp, g), tol=1e-4)
    _close(xform.grad(lambda p: xform.grad(f)(p, xs)["wh"].sum())(P),
           jax.grad(lambda p: jax.grad(g)(p, xs)["wh"].sum())(P), tol=1e-4)


def test_empty_scan_gives_zero_weight_gradient():
    f, g = _pair()
    xs = XS[:0]
    _close(xform.grad(f)(P, xs), jax.grad(g)(P, xs))


def test_accumulator_stays_in_the_loop_when_stacking_costs_more():
    # the cotangent of a 3-vector is a sum over a (64, 3) product each iteration: stacking the
    # product would cost far more than adding into a 3-vector carry
    def make(L, N):
        def loss(w, xs):
            return L.scan(lambda c, x: (c + N.sum(N.tanh(x * w)), None), 0.0, xs)[0]
        return loss
    xs = RNG.standard_normal((T, 64, 3), dtype=np.float32)
    w = np.array([0.5, -1.0, 2.0], np.float32)
    _close(xform.grad(make(lax, xnp))(w, xs), jax.grad(make(jax.lax, jnp))(w, xs))
    scan = _backward_scan(xform.make_jaxpr(xform.grad(make(lax, xnp)))(w, xs))
    assert (3,) in _carry_shapes(scan)


def test_batched_contraction_weight_matches_jax_and_leaves_the_loop():
    # per-head weights: a dot_general with a batch dimension (the head) inside the body
    def make(L, N):
        def loss(w, xs):
            def cell(h, x):
                h = N.tanh(N.einsum("bnd,nde->bne", x + h, w))
                return h, (h ** 2).sum()
            return L.scan(cell, N.zeros(xs.shape[1:], xs.dtype), xs)[1].sum()
        return loss
    w = RNG.standard_normal((2, 8, 8), dtype=np.float32) * 0.3
    xs = RNG.standard_normal((T, 4, 2, 8), dtype=np.float32)
    want = jax.grad(make(jax.lax, jnp))(w, xs)
    _close(xform.grad(make(lax, xnp))(w, xs), want)
    _close(xform.jit(xform.grad(make(lax, xnp)))(w, xs), want)
    scan = _backward_scan(xform.make_jaxpr(xform.grad(make(lax, xnp)))(w, xs))
    assert (2, 8, 8) not in _carry_shapes(scan)



def _invariant_loss(L, N, callback=None):
    def loss(w, xs):
        def body(c, x):
            if callback is not None:
                callback(w[0])
            # cos(w) and sum(tanh(w)) read only the const w; the residual c is also a ys, and
            # x (the residual of x * s) is an xs
            return c * N.cos(w) + x * N.sum(N.tanh(w)), c
        c, ys = L.scan(body, N.ones(3), xs)
        return (c ** 2).sum() + ys.sum()
    return loss


def test_loop_invariant_residuals_are_computed_once_before_the_loop():
    # as JAX's partial evaluation of a scan: what the body computes from its consts alone runs
    # once, and no residual is stacked that the loop has stacked already (an xs or a ys)
    w = np.array([0.5, -1.0, 2.0], np.float32)
    xs = RNG.standard_normal((T, 3), dtype=np.float32)
    f, g = _invariant_loss(lax, xnp), _invariant_loss(jax.lax, jnp)
    want = jax.grad(g)(w, xs)
    _close(xform.grad(f)(w, xs), want)
    _close(xform.jit(xform.grad(f))(w, xs), want)
    _close(xform.jacfwd(xform.grad(f))(w, xs), jax.jacfwd(jax.grad(g))(w, xs), tol=1e-4)
    _close(xform.jacrev(xform.grad(f))(w, xs), jax.jacrev(jax.grad(g))(w, xs), tol=1e-4)
    forward = _scans(xform.make_jaxpr(xform.grad(f))(w, xs))[0]
    names = {e.primitive.name for e in forward.params["jaxpr"].jaxpr.eqns}
    assert not names & {"cos", "sin", "tanh", "reduce_sum"}, names
    # the loop gives its carry and its ys, and stacks nothing more
    assert len(forward.outvars) == 2, forward.outvars


def test_a_side_effect_in_a_differentiated_loop_runs_at_every_iteration():
    calls = []
    f = _invariant_loss(lax, xnp, lambda v: xform.debug.callback(lambda a: calls.append(a), v))
    w = np.array([0.5, -1.0, 2.0], np.float32)
    xs = RNG.standard_normal((T, 3), dtype=np.float32)
    _close(xform.grad(f)(w, xs), jax.grad(_invariant_loss(jax.lax, jnp))(w, xs))
    assert len(calls) == T


def test_weight_sum_of_operands_the_loop_already_stacks_matches_jax():
    # Seeds 431127 and 441021: the weight's cotangent of `u @ W` over a lax.map is a sum of
    # contractions of two values the backward loop reads stacked already (each u, each
    # output's cotangent), so the loop stacks nothing new for it; that case raised NameError
    xs = RNG.standard_normal((T, 2, 3), dtype=np.float32)
    w = RNG.standard_normal((3, 4), dtype=np.float32)

    def make(L, N):
        return lambda w: N.sum(L.map(lambda u: u @ w, xs) ** 2)
    _close(xform.grad(make(lax, xnp))(w), jax.grad(make(jax.lax, jnp))(w), tol=1e-4)
    _close(xform.jit(xform.grad(make(lax, xnp)))(w), jax.grad(make(jax.lax, jnp))(w), tol=1e-4)
