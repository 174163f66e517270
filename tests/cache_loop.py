"""The loop tests/test_caches.py measures, run in a process of its own.

    python tests/cache_loop.py N WARMUP

Makes N fresh functions, each jit-ted and called under ``vmap(grad(...))`` once, first with
JAX, then with xform, after WARMUP such calls of each (first compilations, lazily built
tables). Prints JSON: per framework, the Python memory still held per dead function
(tracemalloc, after ``gc.collect()``), the seconds taken, and how many of the functions are
still alive; for xform also the live ``ClosedJaxpr`` count and every cache's (entries, bound)
before and after the loop.

A process of its own, because the test sets JAX's persistent compilation cache (the functions
all compile to the same program, so each compilation after the first is a disk read, which
keeps the loop short) and because memory is best measured away from other tests' leftovers.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
import weakref


def _loop(jax, jnp, n: int, alive: list) -> None:
    x = jnp.ones((2,))
    for _ in range(n):
        def f(v):  # a new function object on every iteration, as in a sweep or a notebook
            return jnp.sin(v * 1.5) ** 2
        alive.append(weakref.ref(f))
        jax.block_until_ready(jax.vmap(jax.grad(jax.jit(f)))(x))


def measure(jax, jnp, n: int, warmup: int) -> dict:
    _loop(jax, jnp, warmup, [])
    gc.collect()
    alive: list = []
    tracemalloc.start()
    t0 = time.perf_counter()
    before = tracemalloc.take_snapshot()
    _loop(jax, jnp, n, alive)
    gc.collect()
    after = tracemalloc.take_snapshot()
    secs = time.perf_counter() - t0
    tracemalloc.stop()
    held = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {"bytes_per_function": held / n, "seconds": secs,
            "alive": sum(r() is not None for r in alive)}


def main(n: int, warmup: int) -> dict:
    import jax
    import jax.numpy as jnp

    out = {"jax": measure(jax, jnp, n, warmup)}

    import xform
    import xform.numpy as xnp
    from xform.core.caches import cache_info
    from xform.core.ir import ClosedJaxpr

    def jaxprs() -> int:
        return sum(isinstance(o, ClosedJaxpr) for o in gc.get_objects())

    _loop(xform, xnp, warmup, [])
    gc.collect()
    caches_before, jaxprs_before = cache_info(), jaxprs()
    out["xform"] = measure(xform, xnp, n, 0)
    caches_after = cache_info()
    out["xform"].update(
        jaxprs_before=jaxprs_before, jaxprs_after=jaxprs(),
        caches={name: [caches_before.get(name, (0, 0))[0], size, bound]
                for name, (size, bound) in caches_after.items()})
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
