"""Varying manual axes (JAX's check_vma=True types) inside shard_map bodies on 8 CPU devices:
``grad`` taken inside the body with respect to a value replicated over a mesh axis sums the
devices' gradients (the pvary that makes it meet varying values transposes to a psum), and
psum transposes to a pvary, as in JAX. Every case runs the same program under xform and JAX,
with check_vma=True and False."""

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import xform

N = 8
MESH = xform.make_mesh((4, 2), ("i", "j"), axis_types=(AxisType.Auto,) * 2)
MESH1 = xform.make_mesh((N,), ("i",), axis_types=(AxisType.Auto,))
RNG = np.random.RandomState(0)
W = RNG.randn(3, 2).astype(np.float32)
X = RNG.randn(16, 3).astype(np.float32)
Y = RNG.randn(16, 2).astype(np.float32)


def _loss(lib, w, xb):
    return ((lib.numpy.tanh(xb @ w) - 1.0) ** 2).sum()


# name -> body(lib, w, xb) with w replicated (P()) and xb split over 'i'; out_specs
def _bodies():
    def grad_then_pmean(L, w, xb):
        return L.lax.pmean(L.grad(lambda w: _loss(L, w, xb))(w), "i")

    def grad_then_plain(L, w, xb):
        return L.grad(lambda w: _loss(L, w, xb))(w)      # already summed: invariant

    def grad_of_psum(L, w, xb):
        return L.grad(lambda w: L.lax.psum(_loss(L, w, xb), "i"))(w)

    def grad_of_pmean(L, w, xb):
        return L.grad(lambda w: L.lax.pmean(_loss(L, w, xb), "i"))(w)

    def grad_through_all_gather(L, w, xb):
        def f(w):
            h = L.lax.all_gather(xb @ w, "i", tiled=True)  # (16, 2) on every device
            return (h ** 2).sum() / 7.0
        return L.grad(f)(w)

    def grad_through_ppermute(L, w, xb):
        def f(w):
            h = L.lax.ppermute(xb @ w, "i", [(d, (d + 1) % N) for d in range(N)])
            return L.lax.psum((L.numpy.sin(h) * xb[:, :2]).sum(), "i")
        return L.grad(f)(w)

    def value_and_grad_invariant(L, w, xb):
        v, g = L.value_and_grad(lambda w: L.lax.psum(_loss(L, w, xb), "i") + (w ** 2).sum())(w)
        return v * g

    def grad_wrt_both(L, w, xb):
        gw, gx = L.grad(lambda w, xb: _loss(L, w, xb), argnums=(0, 1))(w, xb)
        return gw + L.lax.psum(gx.sum(), "i")

    def jit_inside(L, w, xb):
        return L.jit(L.grad(lambda w: _loss(L, w, xb)))(w)

    def scan_accumulate(L, w, xb):
        # gradient accumulation over two micro-batches: the carry starts invariant (zeros)
        def step(acc, mb):
            return acc + L.grad(lambda w: _loss(L, w, mb))(w), None
        acc, _ = L.lax.scan(step, L.numpy.zeros_like(w), xb.reshape(2, -1, 3))
        return acc

    def cond_inside(L, w, xb):
        def f(w):
            return L.lax.cond(w.sum() > 0, lambda w: _loss(L, w, xb),
                              lambda w: (w ** 2).sum() * xb[0, 0], w)
        return L.grad(f)(w)

    return {f.__name__: f for f in (scan_accumulate, cond_inside, grad_then_pmean,
                                     grad_then_plain, grad_of_psum, grad_of_pmean,
                                     grad_through_all_gather,
                                     grad_through_ppermute, value_and_grad_invariant,
                                     grad_wrt_both, jit_inside)}


BODIES = _bodies()


def smap(lib, name, check_vma, mesh=MESH1):
    body = BODIES[name]
    return lib.shard_map(lambda w, xb: body(lib, w, xb), mesh=mesh, in_specs=(P(), P("i")),
                         out_specs=P(), check_vma=check_vma)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-4)


# with check_vma=False these bodies' results differ per device (out_specs=P() then gives one
# device's block, in JAX too): only the check_vma=True run is compared for them
_PER_DEVICE_WITHOUT_VMA = ("grad_then_plain", "value_and_grad_invariant", "grad_wrt_both",
                           "jit_inside", "scan_accumulate", "cond_inside")


@pytest.mark.parametrize("name,check_vma", [(n, c) for n in sorted(BODIES)
                                            for c in (True, False)
                                            if c or n not in _PER_DEVICE_WITHOUT_VMA])
def test_grad_inside_body_matches_jax(name, check_vma):
    want = smap(jax, name, check_vma)(W, X)
    _close(smap(xform, name, check_vma)(W, X), want)
    _close(xform.jit(smap(xform, name, check_vma))(W, X), want)


@pytest.mark.parametrize("name", ["grad_then_pmean", "grad_of_psum", "grad_through_ppermute"])
def test_vmap_of_body_with_inner_grad(name):
    ws = np.stack([W, 2 * W, -W])
    got = xform.jit(xform.vmap(smap(xform, name, True), in_axes=(0, None)))(ws, X)
    want = jax.jit(jax.vmap(smap(jax, name, True), in_axes=(0, None)))(ws, X)
    _close(got, want)


@pytest.mark.parametrize("check_vma", [True, False])
def test_grad_of_shard_mapped_loss_from_outside(check_vma):
    # replicated params meeting split data, a psum-ed loss and a replicated result
    def f(lib):
        def body(w, xb, yb):
            r = lib.numpy.tanh(xb @ w) - yb
            return lib.lax.pmean((r ** 2).mean(), "i") * (w ** 2).sum()
        sm = lib.shard_map(body, mesh=MESH1, in_specs=(P(), P("i"), P("i")), out_specs=P(),
                           check_vma=check_vma)
        return lambda w, x, y: sm(w, x, y)

    for lib_grad in ("grad", "jit_grad", "hessian_diag"):
        def run(lib, lib_grad=lib_grad):
            g = lib.grad(f(lib), argnums=(0, 1))
            if lib_grad == "jit_grad":
                g = lib.jit(g)
            if lib_grad == "hessian_diag":
                return lib.jacfwd(lambda w: lib.grad(f(lib))(w, X, Y))(W)
            return g(W, X, Y)
        for a, b in zip(jax.tree_util.tree_leaves(run(xform)),
                        jax.tree_util.tree_leaves(run(jax))):
            _close(a, b)


def test_two_axes_grad_inside_body():
    # params split over 'j', replicated over 'i'; data split over 'i': the gradient is summed
    # over 'i' only
    def f(lib):
        def body(w, xb):
            g = lib.grad(lambda w: (lib.numpy.sin(xb @ w) ** 2).sum())(w)
            return g, lib.lax.psum(g.sum(), "j")
        return lib.shard_map(body, mesh=MESH, in_specs=(P(None, "j"), P("i")),
                             out_specs=(P(None, "j"), P()))

    w = RNG.randn(3, 4).astype(np.float32)
    for a, b in zip(f(xform)(w, X), f(jax)(w, X)):
        _close(a, b)
    gx = xform.grad(lambda w: f(xform)(w, X)[1].sum())(w)
    gj = jax.grad(lambda w: f(jax)(w, X)[1].sum())(w)
    _close(gx, gj)


def test_jaxpr_holds_pvary_and_its_transpose_a_psum():
    text = str(xform.make_jaxpr(smap(xform, "grad_then_plain", True))(W, X))
    assert "pvary[axes=('i',)]" in text and "psum[axes=('i',)]" in text
    off = str(xform.make_jaxpr(smap(xform, "grad_then_pmean", False))(W, X))
    assert "pvary" not in off


def test_carry_and_branches_made_varying_are_cast():
    # JAX asks for a pcast of the initial carry and rejects branches of different variance;
    # xform casts them itself, and the gradient is the global one (the sum over devices)
    def body(w, xb):
        def f(w):
            c, _ = xform.lax.scan(lambda c, x: (c + (x * w).sum(), None), 0.0, xb)
            return xform.lax.cond(w.sum() > 0, lambda c: c, lambda c: 2.0, c)
        return xform.grad(f)(w)

    w = np.ones(3, np.float32)
    got = xform.shard_map(body, mesh=MESH1, in_specs=(P(), P("i")), out_specs=P())(w, X)
    _close(got, X.sum(0))


def _more_bodies():
    def loss(L, w, xb):
        return (L.numpy.tanh(xb @ w) ** 2).sum()

    return {
        "jvp": lambda L: lambda w, xb: L.lax.psum(
            L.jvp(lambda w: loss(L, w, xb), (w,), (L.numpy.ones_like(w),))[1], "i"),
        "jacfwd": lambda L: lambda w, xb: L.jacfwd(
            lambda w: L.lax.psum(loss(L, w, xb), "i"))(w),
        "checkpoint": lambda L: lambda w, xb: L.grad(L.checkpoint(lambda w: loss(L, w, xb)))(w),
        "hessian": lambda L: lambda w, xb: L.hessian(
            lambda w: L.lax.psum(loss(L, w[:, 0:1] + w, xb), "i"))(w).sum((2, 3)),
        "vmap_of_grad": lambda L: lambda w, xb: L.vmap(
            L.grad(lambda w, r: loss(L, w, r[None])), in_axes=(None, 0))(w, xb).sum(0),
    }


MORE = _more_bodies()


@pytest.mark.parametrize("name", sorted(MORE))
def test_other_transforms_inside_body_match_jax(name):
    def run(lib):
        return lib.shard_map(MORE[name](lib), mesh=MESH1, in_specs=(P(), P("i")),
                             out_specs=P())(W, X)
    _close(run(xform), run(jax))


def test_typeof_shows_varying_axes_as_jax():
    def run(lib):
        seen = []

        def body(w, xb):
            y = lib.lax.psum(xb, "j")
            seen.extend(str(lib.typeof(v)) for v in (w, xb, y, xb * w[0, 0]))
            assert lib.typeof(y).manual_axis_type.varying == {"i"}
            return y
        lib.shard_map(body, mesh=MESH, in_specs=(P(), P("i", "j")), out_specs=P("i"))(W, X[:, :2])
        return seen

    assert run(xform) == run(jax)
