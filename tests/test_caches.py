"""Caches: nothing grows without bound, and traces are reused as JAX reuses them.

- Dead functions free what was traced and compiled for them (against JAX's same loop, in a
  process of its own: tests/cache_loop.py), every cache stays within its bound, and
  ``xform.clear_caches()`` empties them all.
- ``jit(f)`` on the same ``f`` reuses what was traced and compiled (JAX's Common Gotchas rely on
  it), as do loop and branch bodies and nested jits: each function is traced as many times as
  JAX traces it, counted with a side effect on the same program.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xform
import xform.numpy as xnp
from xform.core.caches import LRUCache, WeakCache, cache_info

HERE = os.path.dirname(os.path.abspath(__file__))
# 2,000 functions take minutes even with compilations read back from disk: the default keeps
# this test short; XFORM_CACHE_TEST_FUNCTIONS=2000 runs the full sweep
N_FUNCTIONS = int(os.environ.get("XFORM_CACHE_TEST_FUNCTIONS", "100"))


# -- memory: fresh jit-ted functions under vmap(grad) ------------------------------------------
@pytest.fixture(scope="module")
def loop_results(tmp_path_factory):
    env = dict(os.environ)
    env.update(JAX_COMPILATION_CACHE_DIR=str(tmp_path_factory.mktemp("jax_cache")),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), env.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "cache_loop.py"),
                           str(N_FUNCTIONS), "5"], env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_dead_functions_are_freed(loop_results):
    x = loop_results["xform"]
    assert loop_results["jax"]["alive"] == 0
    assert x["alive"] == 0, f"{x['alive']} of {N_FUNCTIONS} dead functions are still referenced"
    assert x["jaxprs_after"] <= x["jaxprs_before"], (
        f"{x['jaxprs_after'] - x['jaxprs_before']} jaxprs outlived their functions")


def test_every_cache_stays_within_its_bound(loop_results):
    for name, (before, after, bound) in loop_results["xform"]["caches"].items():
        assert after <= bound, f"cache {name!r} holds {after} entries, over its bound {bound}"
        # entries keyed on the dead functions or their jaxprs are gone
        assert after <= before + 4, f"cache {name!r} grew from {before} to {after}"


def test_memory_per_dead_function_within_jax(loop_results):
    ours = loop_results["xform"]["bytes_per_function"]
    theirs = loop_results["jax"]["bytes_per_function"]
    # JAX's figure is a few hundred bytes to 2 KB; 256 B of slack keeps allocator noise from
    # deciding, while a single jaxpr or compiled program held per function is tens of KB
    assert ours <= 1.5 * theirs + 256, (
        f"xform holds {ours:.0f} B per dead function, JAX {theirs:.0f} B")


# -- the cache classes -------------------------------------------------------------------------
class _Owner:
    pass


class _Slotted:
    __slots__ = ("v",)  # no __weakref__: cannot be weakly referenced


def test_lru_cache_drops_least_recently_used():
    c = LRUCache("test lru", maxsize=3)
    for k in "abc":
        c.put(k, k.upper())
    assert c.get("a") == "A"  # now b is the least recently used
    c.put("d", "D")
    assert c.get("b") is None and [c.get(k) for k in "acd"] == ["A", "C", "D"]
    assert len(c) == 3
    with pytest.raises(TypeError):
        c.get([1])


def test_weak_cache_entry_dies_with_any_owner():
    c = WeakCache("test weak", maxsize=10)
    a, b = _Owner(), _Owner()
    c.put((a, b), "k", 1)
    c.put((a,), "k", 2)
    assert c.get((a, b), "k") == 1 and c.get((b, a), "k") is None
    del b
    gc.collect()
    assert len(c) == 1 and c.get((a,), "k") == 2
    del a
    gc.collect()
    assert len(c) == 0


def test_weak_cache_is_bounded_and_holds_what_it_cannot_weakly_reference():
    c = WeakCache("test bound", maxsize=4)
    owners = [_Owner() for _ in range(6)]
    for i, o in enumerate(owners):
        c.put((o,), None, i)
    assert len(c) == 4 and c.get((owners[0],)) is None and c.get((owners[5],)) == 5
    s = _Slotted()
    c.put((s,), None, "slotted")
    r = weakref.ref(c)
    assert c.get((s,)) == "slotted" and r() is c


def test_weak_cache_refuses_a_value_that_is_its_owner():
    c = WeakCache("test self", maxsize=4)
    o = _Owner()
    with pytest.raises(ValueError, match="own owner"):
        c.put((o,), None, (o, 1))


def test_clear_caches_empties_every_cache():
    f = jax.jit(lambda v: v * 3)  # JAX's own caches are cleared too
    f(jnp.ones(2))
    assert f._cache_size() == 1
    xform.vmap(xform.grad(xform.jit(lambda v: xnp.sin(v) * 2)))(xnp.ones(3))
    assert sum(n for n, _ in cache_info().values()) > 0
    xform.clear_caches()
    assert {name: n for name, (n, _) in cache_info().items() if n} == {}
    assert f._cache_size() == 0
    # and everything still works after
    out = xform.vmap(xform.grad(xform.jit(lambda v: xnp.sin(v) * 2)))(xnp.ones(3))
    np.testing.assert_allclose(out, 2 * np.cos(np.ones(3)), rtol=1e-6)


def test_unhashable_params_raise_a_clear_error():
    from xform.lax.reductions import reduce_sum_p
    with pytest.raises(TypeError, match="unhashable params"):
        reduce_sum_p.bind(xnp.ones(3), axes=[0])


# -- jit caches by function, as JAX does ----------------------------------------------------
def _count_traces(api, program) -> int:
    """How many times ``program(api, counted)`` traces ``counted``'s body."""
    n = [0]

    def counted(*xs):
        n[0] += 1
        return xs[0] * 2.0 if len(xs) == 1 else xs

    program(api, counted)
    return n[0]


def _jit_inline(api, f):
    for _ in range(3):
        api.jit(f)(np.float32(1.0))


def _jit_inline_static(api, f):
    for _ in range(3):
        api.jit(lambda x, k: f(x) * k, static_argnums=1)(np.float32(1.0), 2)


def _nested_jit(api, f):
    outer = api.jit(lambda x: api.jit(f)(x) + api.jit(f)(x + 1.0))
    outer(np.float32(1.0))
    outer(np.float32(2.0))


def _fori(api, f):
    for _ in range(3):
        api.lax.fori_loop(0, 3, lambda i, x: x, np.float32(0.0))  # a new lambda: traced anew
        api.lax.fori_loop(0, 3, lambda i, x, f=f: f(x), np.float32(0.0))


def _fori_same_body(api, f):
    def body(i, x):
        return f(x)
    for _ in range(3):
        api.lax.fori_loop(0, 3, body, np.float32(0.0))


def _scan(api, f):
    def body(c, x):
        return f(c), x
    for _ in range(3):
        api.lax.scan(body, np.float32(0.0), np.arange(3, dtype=np.float32))


def _while(api, f):
    for _ in range(3):
        api.lax.while_loop(lambda x: x < 10.0, f, np.float32(1.0))


def _cond(api, f):
    for _ in range(3):
        api.lax.cond(True, f, f, np.float32(1.0))
        api.lax.switch(1, [f, f], np.float32(1.0))


def _under_vmap_and_grad(api, f):
    def body(c, x):
        return f(c), x

    def loss(c0):
        return api.lax.scan(body, c0, np.arange(3, dtype=np.float32))[0]
    for _ in range(3):
        api.vmap(api.grad(loss))(np.ones(2, np.float32))


PROGRAMS = [_jit_inline, _jit_inline_static, _nested_jit, _fori, _fori_same_body, _scan,
            _while, _cond, _under_vmap_and_grad]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.__name__[1:] for p in PROGRAMS])
def test_traces_as_often_as_jax(program):
    assert _count_traces(xform, program) == _count_traces(jax, program)


def test_inline_jit_keeps_the_global_captured_at_first_trace():
    # JAX's Common Gotchas: a jit-ted function's global is read at its first trace only
    def run(api):
        scope = {"api": api}
        exec("g = 1.0\ndef f(x):\n    return x + g\n", scope)
        first = api.jit(scope["f"])(1.0)
        scope["g"] = 10.0
        return float(first), float(api.jit(scope["f"])(1.0))

    assert run(xform) == run(jax) == (2.0, 2.0)


def test_jit_object_keeps_its_function_alive_and_the_cache_does_not():
    g = xform.jit(lambda v: v + 1.0)
    gc.collect()
    assert float(g(1.0)) == 2.0
    f = lambda v: v * 2.0  # noqa: E731
    r = weakref.ref(f)
    xform.jit(f)(1.0)
    del f
    gc.collect()
    assert r() is None


def test_jit_options_key_the_cache():
    def f(x, k):
        return x * k
    a = xform.jit(f, static_argnums=1)
    b = xform.jit(f, static_argnames="k")
    c = xform.jit(f, static_argnums=1)
    assert a._xform_jit is c._xform_jit
    assert float(a(2.0, 3)) == float(b(2.0, k=3)) == 6.0


def test_jit_of_a_callable_that_cannot_be_weakly_referenced():
    class Scale:
        __slots__ = ("k",)

        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k

    s = Scale(3.0)
    assert float(xform.jit(s)(2.0)) == float(xform.jit(s)(2.0)) == 6.0
