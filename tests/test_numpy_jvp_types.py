"""Types of the outputs of jvp through xform.numpy functions whose jax.numpy counterparts are
jits: JAX's JVP of a jit types each output tangent like its primal (a strongly typed tangent of
a weakly typed Python scalar comes out weak) and, run eagerly, returns jax Arrays even where the
function hands back its argument (seed 230167 of the differential property test). Each case is
compared with JAX on the same input, eagerly and under jit."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp

T = np.float32(0.3)  # a strongly typed tangent of the weakly typed primal 0.74


def _types(tree):
    """What the test compares: per leaf, whether it is a jax Array, its dtype, its weak type
    (float0 tangents: only their dtype and that they are numpy arrays)."""
    out = []
    for leaf in jax.tree_util.tree_leaves(tree):
        dtype = np.asarray(leaf).dtype if not hasattr(leaf, "dtype") else leaf.dtype
        if dtype == jax.dtypes.float0:
            out.append(("float0", isinstance(leaf, np.ndarray)))
        else:
            out.append((isinstance(leaf, jax.Array), type(leaf).__name__ if not isinstance(
                leaf, jax.Array) else "Array", str(dtype), getattr(leaf, "weak_type", None)))
    return out


def _stack2(m, x):
    return m.stack([x, m.multiply(x, 0.5)])


# name -> f(numpy_module, x) with x the differentiated Python scalar
CASES = {
    "abs": lambda m, x: m.abs(x),
    "absolute": lambda m, x: m.absolute(x),
    "around": lambda m, x: m.around(x, 1),
    "round": lambda m, x: m.round(x),
    "atleast_1d": lambda m, x: m.atleast_1d(x),
    "atleast_2d": lambda m, x: m.atleast_2d(x),
    "atleast_3d": lambda m, x: m.atleast_3d(x),
    "block": lambda m, x: m.block([_stack2(m, x), _stack2(m, x)]),
    "ceil": lambda m, x: m.ceil(x),
    "floor": lambda m, x: m.floor(x),
    "clip": lambda m, x: m.clip(x),
    "clip_min_max": lambda m, x: m.clip(x, 0.1, 0.9),
    "conjugate": lambda m, x: m.conjugate(x),
    "conj": lambda m, x: m.conj(x),
    "real": lambda m, x: m.real(x),
    "imag": lambda m, x: m.imag(x),
    "positive": lambda m, x: m.positive(x),
    "negative": lambda m, x: m.negative(x),
    "square": lambda m, x: m.square(x),
    "sign": lambda m, x: m.sign(x),
    "log2": lambda m, x: m.log2(x),
    "log10": lambda m, x: m.log10(x),
    "divmod": lambda m, x: m.divmod(x, 0.3),
    "floor_divide": lambda m, x: m.floor_divide(x, 0.3),
    "remainder": lambda m, x: m.remainder(x, 0.3),
    "mod": lambda m, x: m.mod(x, 0.3),
    "power": lambda m, x: m.power(x, 1.5),
    "where": lambda m, x: m.where(x > 0, x, x),
    "dot": lambda m, x: m.dot(x, 0.5),
    "vdot": lambda m, x: m.vdot(_stack2(m, x), _stack2(m, x)),
    "inner": lambda m, x: m.inner(x, 0.5),
    "outer": lambda m, x: m.outer(_stack2(m, x), _stack2(m, x)),
    "matmul": lambda m, x: m.matmul(_stack2(m, x), _stack2(m, x)),
    "matvec": lambda m, x: m.matvec(m.outer(_stack2(m, x), _stack2(m, x)), _stack2(m, x)),
    "vecmat": lambda m, x: m.vecmat(_stack2(m, x), m.outer(_stack2(m, x), _stack2(m, x))),
    "ediff1d": lambda m, x: m.ediff1d(_stack2(m, x)),
    "gradient": lambda m, x: m.gradient(m.stack([x, x * 2.0, x * x])),
    "poly": lambda m, x: m.poly(_stack2(m, x)),
    "polyadd": lambda m, x: m.polyadd(_stack2(m, x), _stack2(m, x)),
    "polysub": lambda m, x: m.polysub(_stack2(m, x), _stack2(m, x)),
    "polyder": lambda m, x: m.polyder(_stack2(m, x)),
    "polyint": lambda m, x: m.polyint(_stack2(m, x)),
    "ravel": lambda m, x: m.ravel(x),
    "resize": lambda m, x: m.resize(_stack2(m, x), (3,)),
    "rollaxis": lambda m, x: m.rollaxis(m.atleast_2d(x), 1),
    "swapaxes": lambda m, x: m.swapaxes(m.atleast_2d(x), 0, 1),
    "sort_complex": lambda m, x: m.sort_complex(_stack2(m, x)),
    "take_along_axis": lambda m, x: m.take_along_axis(_stack2(m, x), np.array([1, 0]), 0),
    "isnan": lambda m, x: m.isnan(x),
    "isfinite": lambda m, x: m.isfinite(x),
    "iscomplex": lambda m, x: m.iscomplex(x),
    "isreal": lambda m, x: m.isreal(x),
    "logical_not": lambda m, x: m.logical_not(x),
    # functions that hand back their argument: eagerly JAX still returns jax Arrays
    "asarray": lambda m, x: m.asarray(x),
    "array": lambda m, x: m.array(x),
    "copy": lambda m, x: m.copy(x),
    "flip": lambda m, x: m.flip(x),
    "squeeze": lambda m, x: m.squeeze(x),
    "broadcast_arrays": lambda m, x: m.broadcast_arrays(x, x),
    "sin_of_where": lambda m, x: m.sin(m.where(x > 0, x, x)),  # seed 230167
}


def _jvp_types(lib, m, case, jitted):
    def g(x):
        return lib.jvp(lambda y: CASES[case](m, y), (x,), (T,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. JAX's ComplexWarning of sort_complex
        return _types(lib.jit(g)(0.74) if jitted else g(0.74))


@pytest.mark.parametrize("jitted", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_jvp_output_types_as_jax(case, jitted):
    want = _jvp_types(jax, jnp, case, jitted)
    got = _jvp_types(xform, xnp, case, jitted)
    assert got == want


def test_bitwise_functions_jvp_of_ints():
    """Integer functions: a float0 tangent, the primal typed as JAX's."""
    z = np.zeros((), jax.dtypes.float0)
    for name in ("bitwise_count", "bitwise_not", "bitwise_invert", "invert"):
        want = jax.jvp(getattr(jnp, name), (3,), (z,))
        got = xform.jvp(getattr(xnp, name), (3,), (z,))
        assert _types(got) == _types(want), name
        np.testing.assert_array_equal(got[0], want[0])


def test_seed_230167_nested_transforms():
    """``jnp.sin(jnp.where(x > 0, x, x))`` under jvp of jacfwd of grad of a Python scalar."""
    def run(lib, m):
        f = lib.grad(lambda x: m.sin(m.where(x > 0, x, x)))
        return lib.jvp(lib.jacfwd(f), (0.74,), (T,))
    want, got = run(jax, jnp), run(xform, xnp)
    assert _types(got) == _types(want)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)


def test_forwarding_functions_give_arrays_through_nested_jvp():
    """jvp of jvp of ``asarray``: every level a jax Array, typed as JAX's."""
    def run(lib, m):
        return lib.jvp(lambda x: lib.jvp(m.asarray, (x,), (T,)), (0.74,), (T,))
    assert _types(run(xform, xnp)) == _types(run(jax, jnp))


def test_jacfwd_and_grad_of_forwarding_functions():
    for name in ("asarray", "squeeze", "flip", "clip", "copy", "real", "positive"):
        for transform in ("jacfwd", "jacrev", "grad"):
            want = getattr(jax, transform)(getattr(jnp, name))(0.74)
            got = getattr(xform, transform)(getattr(xnp, name))(0.74)
            assert _types(got) == _types(want), (name, transform)


@pytest.mark.parametrize("name", ["isinf", "isposinf", "isneginf", "signbit", "isnan",
                                  "isfinite"])
def test_predicates_primal_types_as_jax(name):
    """Comparisons with JAX's strongly typed constants (``_constant_like``) are strongly
    typed; ``isnan`` of an integer is ``x != x``, weak for a Python int (seen by the sweep of
    jvp types, which compares primals too)."""
    for v in (0.74, 3, np.float32(1.0), np.array([np.inf, -0.0, np.nan, -2.0], np.float32)):
        want, got = getattr(jnp, name)(v), getattr(xnp, name)(v)
        assert _types(got) == _types(want), (name, v)
        np.testing.assert_array_equal(got, want)


def test_isclose_is_strongly_typed_as_jax():
    want, got = jnp.isclose(0.74, 0.5), xnp.isclose(0.74, 0.5)
    assert _types(got) == _types(want)


@pytest.mark.parametrize("name", ["squeeze", "real", "asarray", "array", "copy", "flip",
                                  "clip", "positive", "ravel", "broadcast_arrays", "abs"])
def test_vmap_and_jvp_of_forwarding_functions_as_jax(name):
    """vmap of a jit run eagerly gives jax Arrays even where the function returns its
    argument; ``asarray``, no jit in JAX, returns the numpy argument as it is."""
    x = np.linspace(0.5, 1.5, 3, dtype=np.float32)

    def run(lib, m):
        f = getattr(m, name)
        return (lib.vmap(f)(x), lib.jvp(lib.vmap(f), (x,), (x,)),
                lib.vmap(lambda a, t: lib.jvp(f, (a,), (t,)))(x, x))
    assert _types(run(xform, xnp)) == _types(run(jax, jnp))
