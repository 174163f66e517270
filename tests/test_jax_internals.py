"""Each JAX internal xform uses (xform/core/jax_internals.py), exercised against JAX's public API
or a numpy loop: a JAX upgrade that moves or changes one fails here, by name."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xform.core import jax_internals as ji


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int32])
@pytest.mark.parametrize("weak_type", [True, False])
def test_convert_element_type(dtype, weak_type):
    out = ji.convert_element_type(np.float32(2.5), dtype, weak_type)
    assert out.dtype == dtype and out.weak_type == weak_type
    np.testing.assert_array_equal(out, jax.lax.convert_element_type(np.float32(2.5), dtype))
    # under jax.jit too (the lowering calls it on JAX's tracers)
    jitted = jax.jit(lambda v: ji.convert_element_type(v, dtype, weak_type))(np.float32(2.5))
    assert jitted.dtype == dtype and jitted.weak_type == weak_type


@pytest.mark.parametrize("precision", [None, "highest", jax.lax.Precision.HIGH,
                                       ("bfloat16", "float32")])
def test_canonicalize_precision_is_what_dot_general_records(precision):
    a = np.ones((2, 3), np.float32)
    dims = (((1,), (1,)), ((), ()))
    eqn = jax.make_jaxpr(lambda x: jax.lax.dot_general(x, x, dims, precision=precision))(a)
    eqn = eqn.eqns[0]
    assert ji.canonicalize_precision(precision) == eqn.params["precision"]


def _windows(n, size, stride):
    return [range(s, s + size) for s in range(0, n - size + 1, stride)]


@pytest.mark.parametrize("select_prim, pick", [(jax.lax.ge_p, np.argmax),
                                               (jax.lax.le_p, np.argmin)])
def test_select_and_scatter_add(select_prim, pick):
    operand = np.array([3., 1., 4., 1., 5., 9., 2., 6.], np.float32)
    source = np.array([10., 20., 30.], np.float32)
    out = ji.select_and_scatter_add(source, operand, select_prim=select_prim,
                                    window_dimensions=(3,), window_strides=(2,),
                                    padding=((0, 0),))
    want = np.zeros_like(operand)
    for s, w in zip(source, _windows(8, 3, 2)):
        want[w[pick(operand[list(w)])]] += s
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("select_prim, pick", [(jax.lax.ge_p, np.argmax),
                                               (jax.lax.le_p, np.argmin)])
def test_select_and_gather_add(select_prim, pick):
    operand = np.array([3., 1., 4., 1., 5., 9., 2., 6.], np.float32)
    tangents = np.arange(8, dtype=np.float32) * 10
    out = ji.select_and_gather_add(tangents, operand, select_prim, (3,), (2,), ((0, 0),),
                                   (1,), (1,))
    want = [tangents[w[pick(operand[list(w)])]] for w in _windows(8, 3, 2)]
    np.testing.assert_array_equal(out, want)


def test_random_gamma_p_batched_keys_match_public_gamma():
    keys = jax.random.split(jax.random.key(0), 3)
    alpha = np.array([[0.5, 1.0], [2.0, 3.0], [4.0, 0.1]], np.float32)
    out = ji.random_gamma_p.bind(keys, jnp.asarray(alpha), log_space=False)
    for i in range(3):
        np.testing.assert_allclose(out[i], jax.random.gamma(keys[i], alpha[i]), rtol=1e-6)


def test_disable_jit_state_switches_jax_jit_on_this_thread():
    state = ji.disable_jit_state
    assert state is not None, "JAX no longer exposes jax_disable_jit's thread-local setters"
    calls = []

    @jax.jit
    def f(x):
        calls.append(1)  # runs when traced, and on every call while jit is disabled
        return x + 1

    f(1.0)
    f(1.0)
    assert len(calls) == 1
    prev = state.swap_local(True)
    try:
        f(1.0)
        f(1.0)
    finally:
        state.set_local(prev)
    assert len(calls) == 3
    f(1.0)
    assert len(calls) == 3


def test_linalg_result_classes_are_what_jax_numpy_linalg_returns():
    a = np.eye(3, dtype=np.float32) * 2
    assert type(jnp.linalg.eigh(a)) is ji.EighResult
    assert type(jnp.linalg.qr(a)) is ji.QRResult
    assert type(jnp.linalg.slogdet(a)) is ji.SlogdetResult
    assert type(jnp.linalg.svd(a)) is ji.SVDResult


def test_pytype_aval_mappings_knows_xform_tracers():
    # a leaked xform tracer given to a JAX function reaches xform's leak error by way of the table
    import xform
    from xform.core.trace import Tracer
    assert Tracer in ji.pytype_aval_mappings
    leaked = []
    xform.jit(lambda x: leaked.append(x) or x)(np.float32(1.0))
    # JAX turns every TypeError of its abstraction step into its own TypeError, so the table
    # gives JAX an aval that raises the leak error when JAX's jit hashes it, outside that step
    with pytest.raises(xform.errors.UnexpectedTracerError, match="created by jit"):
        jnp.sin(leaked[0])
    with pytest.raises(jax.errors.UnexpectedTracerError, match="created by jit"):
        jax.jit(lambda y: y * 2)(leaked[0])


def test_array_impl_is_the_class_of_concrete_arrays():
    assert type(jnp.zeros(2)) is ji.ArrayImpl


def test_import_xform_starts_no_backend():
    # a multi-process run calls jax.distributed.initialize after `import xform`
    import subprocess
    import sys
    code = ("import xform, jax; from jax._src import xla_bridge as xb; "
            "print(bool(xb._backends))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", out.stdout
