"""``auto_axes`` / ``explicit_axes`` on xform's traced values, ``device_put`` under ``jit``,
reduced weights' gradients, and ``reshard`` inside ``use_abstract_mesh``, on 8 CPU devices: each
program runs under JAX and under xform on the same inputs; values, the results'
``.sharding.spec`` and the types seen inside agree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import xform
import xform.numpy as xnp
import xform.sharding as xsh
from explicit_mesh import same_values_and_layouts


def _same(got, want):
    same_values_and_layouts(got, want, atol=1e-6)

EXPLICIT = jax.make_mesh((4, 2), ("X", "Y"), axis_types=(AxisType.Explicit,) * 2)
AUTO = jax.make_mesh((4, 2), ("X", "Y"), axis_types=(AxisType.Auto,) * 2)
A = np.arange(16, dtype=np.float32).reshape(4, 4) / 7
B = np.arange(32, dtype=np.float32).reshape(8, 4) / 9




def _both(build):
    """``build(lib, np_like, sharding_module, seen)`` under JAX and under xform: their results
    and what each printed inside (``seen``)."""
    out = []
    for lib, xp, sh in ((jax, jnp, jax.sharding), (xform, xnp, xsh)):
        seen = []
        out.append((build(lib, xp, sh, seen), seen))
    return out


def test_explicit_axes_inside_jit_on_auto_mesh():
    def build(lib, xp, sh, seen):
        @sh.explicit_axes
        def g(y):
            seen.append(str(sh.get_abstract_mesh().axis_types))
            seen.append(str(lib.typeof(y)))
            z = y * 2
            seen.append(str(lib.typeof(z)))
            return z

        @lib.jit
        def f(a):
            return g(xp.sin(a), in_sharding=P("X", "Y")) + 1

        a = jax.device_put(A, P("X", "Y"))
        return f(a), lib.jit(lib.grad(lambda a: (f(a) ** 2).sum()))(a)

    with jax.set_mesh(AUTO):
        (want, want_seen), (got, got_seen) = _both(build)
    # (what the first trace printed: JAX's grad reuses that trace of ``f``, xform traces again)
    assert got_seen[:3] == want_seen[:3] and "4@X,4@Y" in want_seen[1], (got_seen, want_seen)
    _same(got, want)


def test_auto_axes_inside_jit_and_grad_on_explicit_mesh():
    def build(lib, xp, sh, seen):
        @sh.auto_axes
        def g(y):
            seen.append(str(sh.get_abstract_mesh().axis_types))
            seen.append(str(lib.typeof(y)))
            return xp.cos(y) * y

        def loss(a):
            return (g(a * 3, out_sharding=P("X", None)) ** 2).sum()

        a = jax.device_put(B, P("X", "Y"))
        # (the cotangent leaves the Auto region the way the value came in)
        return lib.jit(loss)(a), lib.jit(lib.grad(loss))(a), g(a, out_sharding=P(None, "Y"))

    with jax.set_mesh(EXPLICIT):
        (want, want_seen), (got, got_seen) = _both(build)
    assert got_seen == want_seen
    _same(got, want)


def test_auto_axes_needs_out_sharding_and_explicit_axes_needs_a_mesh():
    for sh in (jax.sharding, xsh):
        with jax.set_mesh(EXPLICIT), pytest.raises(TypeError, match="out_sharding"):
            sh.auto_axes(lambda y: y)(jax.device_put(B, P("X")))
        with pytest.raises(ValueError, match="mesh"):
            sh.explicit_axes(lambda y: y)(B, in_sharding=P("X"))


def test_reshard_under_use_abstract_mesh_inside_jit():
    # the page's example: a concrete mesh is set, the function reshards over another abstract
    # mesh of the same devices; the spec names that mesh's axes and a Python constant meets it
    def build(lib, xp, sh, seen):
        @lib.jit
        def f(x):
            am = sh.AbstractMesh((8,), ("A",), (AxisType.Explicit,))
            with sh.use_abstract_mesh(am):
                y = lib.reshard(x, P("A", None))
                seen.append(str(lib.typeof(y)))
                return y * 2 + 1

        z = f(jax.device_put(B, P("X", "Y")))
        seen.append(str(lib.typeof(z)))
        return z

    with jax.set_mesh(EXPLICIT):
        (want, want_seen), (got, got_seen) = _both(build)
    assert got_seen == want_seen == ["float32[8@A,4]"] * 2
    _same(got, want)


def test_reduced_weight_gets_unreduced_gradient():
    # a weight resharded to reduced over X (full copies, X-summed cotangent left unreduced):
    # its gradient's type, value and the jaxpr's types print as JAX's
    mesh = jax.make_mesh((2,), ("X",), axis_types=(AxisType.Explicit,))
    x = np.arange(32, dtype=np.float32).reshape(8, 4) / 5
    w = np.arange(8, dtype=np.float32).reshape(4, 2) / 10

    def build(lib, xp, sh, seen):
        def loss(w, x):
            w = lib.reshard(w, P(None, None, reduced={"X"}))
            seen.append(str(lib.typeof(w)))
            return xp.sum((x @ w) ** 2)

        xs, ws = jax.device_put(x, P("X", None)), jax.device_put(w, P())
        inner = lib.jit(lib.grad(lambda w, x: loss(w, x) * 1.0))
        return lib.grad(loss)(ws, xs), inner(ws, xs)

    with jax.set_mesh(mesh):
        (want, want_seen), (got, got_seen) = _both(build)
    assert got_seen == want_seen and want_seen[0] == "float32[4,2]{R:X}"
    _same(got, want)


def test_from_jax_auto_axes_value_and_grad():
    # JAX's own auto_axes inside a JAX function replayed by from_jax: the reshard out of the
    # Auto region keeps the layout its operand had there, so the gradient goes back through it
    @jax.sharding.auto_axes
    def g(y):
        return jnp.cos(y) * y

    def f(a):
        return g(a * 3, out_sharding=P("X", None)).sum(0)

    with jax.set_mesh(EXPLICIT):
        a = jax.device_put(B, P("X", "Y"))
        xf = xform.from_jax(f)
        _same(xform.jit(xf)(a), jax.jit(f)(a))
        _same(xform.jit(xform.grad(lambda a: xf(a).sum()))(a),
              jax.jit(jax.grad(lambda a: f(a).sum()))(a))


def test_device_put_inside_jit_over_explicit_axes_changes_the_type():
    # JAX types the result of a device_put under jit with the target sharding (a reshard),
    # where a sharding constraint would assert the old layout
    def build(lib, xp, sh, seen):
        def f(a):
            y = lib.device_put(a * 2, P("X", None))
            seen.append(str(lib.typeof(y)))
            return xp.sin(y)

        a = jax.device_put(B, P("X", "Y"))
        return lib.jit(f)(a), lib.jit(lib.grad(lambda a: f(a).sum()))(a)

    with jax.set_mesh(EXPLICIT):
        (want, want_seen), (got, got_seen) = _both(build)
    assert got_seen[0] == want_seen[0] == "float32[8@X,4]"
    _same(got, want)
