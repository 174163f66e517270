"""The flax + optax training step through ``xform.from_jax``, xform / JAX (bound ≤ 1.05).

    python -m benchmarks.bench_interop [--quick]

A flax.linen MLP (Dense 784-256, LayerNorm, gelu, Dense 256-10) with a softmax cross-entropy loss
and optax ``adamw`` behind ``clip_by_global_norm``, batch 128: the step is
``jit(value_and_grad(loss))`` plus the optimizer update. JAX runs the source as written; xform
runs ``xform.jit`` over ``xform.value_and_grad(from_jax(loss))`` and ``from_jax(update)``.
optax and flax are test dependencies: without them the module has no rows.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import xform
from benchmarks._common import Row, assert_close, interleaved, on_device, put, ratio_row

BOUND = 1.05
SIZES = (784, 256, 10)


def _program(sizes):
    import flax.linen as nn
    import optax

    class Mlp(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.gelu(nn.LayerNorm()(nn.Dense(sizes[1])(x)))
            return nn.Dense(sizes[2])(x)

    model = Mlp()
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3))

    def loss(p, x, y):
        logits = model.apply(p, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def update(g, s, p):
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, sizes[0])))
    return loss, update, params, opt.init(params)


def flax_optax_step(device: str = "cpu", quick: bool = False) -> list[Row]:
    try:
        import flax  # noqa: F401
        import optax  # noqa: F401
    except ImportError:
        return []
    rounds, number = (1, 1) if quick else (41, 10)
    sizes, batch = ((16, 8, 4), 4) if quick else (SIZES, 128)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y_np = rng.integers(0, sizes[2], batch).astype(np.int32)
    with on_device(device):
        loss, update, params, state = _program(sizes)
        params, state = put(params, device), put(state, device)
        x, y = put(x_np, device), put(y_np, device)
        xloss, xupdate = xform.from_jax(loss), xform.from_jax(update)

        @xform.jit
        def xstep(p, s, x, y):
            lv, g = xform.value_and_grad(xloss)(p, x, y)
            p, s = xupdate(g, s, p)
            return p, s, lv

        @jax.jit
        def jstep(p, s, x, y):
            lv, g = jax.value_and_grad(loss)(p, x, y)
            p, s = update(g, s, p)
            return p, s, lv

        xo, jo = xstep(params, state, x, y), jstep(params, state, x, y)
        for a, b in zip(jax.tree_util.tree_leaves(xo), jax.tree_util.tree_leaves(jo)):
            assert_close(np.asarray(a), np.asarray(b), device, "flax+optax step")
        times = interleaved({"xform": lambda: xstep(params, state, x, y),
                             "jax": lambda: jstep(params, state, x, y)}, rounds, number,
                            warmup=3)
    return [ratio_row(f"flax+optax training step via from_jax: MLP {sizes[0]}-{sizes[1]}-"
                      f"{sizes[2]} + LayerNorm, adamw + clip_by_global_norm, batch {batch}",
                      times, "xform", "jax", "JAX", BOUND, device=device)]


def run(device: str = "cpu", quick: bool = False) -> list[Row]:
    return flax_optax_step(device, quick)


if __name__ == "__main__":
    import argparse

    from benchmarks._common import ensure_hugetlb, print_rows
    ensure_hugetlb()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(quick=ap.parse_args().quick))
