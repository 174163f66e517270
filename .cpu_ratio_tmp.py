import sys, time, statistics
import jax, jax.numpy as jnp, numpy as np
import xform, xform.numpy as xnp
from benchmarks import _models
from benchmarks._common import block, put
which = sys.argv[1]
if which == 'lstm':
    p = put(_models.lstm_params(), 'cpu'); a, b = put(_models.lstm_data(), 'cpu')
    xf = xform.jit(xform.value_and_grad(_models.lstm_loss_fn(xnp, xform.lax, xform.nn.sigmoid)))
    jf = jax.jit(jax.value_and_grad(_models.lstm_loss_fn(jnp, jax.lax, jax.nn.sigmoid)))
    n, rounds = 2, 31
else:
    p = put(_models.dpsgd_params(), 'cpu'); a, b = put(_models.mlp_data(64, _models.DPSGD_SIZES), 'cpu')
    xf = xform.jit(_models.dpsgd_fn(xform, xnp)); jf = jax.jit(_models.dpsgd_fn(jax, jnp))
    n, rounds = 20, 41
sides = {'x': lambda: xf(p, a, b), 'j': lambda: jf(p, a, b)}
for f in sides.values():
    for _ in range(3): block(f())
ts = {k: [] for k in sides}; ws = {k: [] for k in sides}
for r in range(rounds):
    for k in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
        t0, w0 = time.process_time(), time.perf_counter()
        for _ in range(n): out = sides[k]()
        block(out)
        ts[k].append((time.process_time() - t0) / n); ws[k].append((time.perf_counter() - w0) / n)
m = {k: statistics.median(v) for k, v in ts.items()}; mw = {k: statistics.median(v) for k, v in ws.items()}
print(which, 'cpu-time ms', {k: round(v * 1e3, 3) for k, v in m.items()}, 'ratio %.3f' % (m['x'] / m['j']),
      '| wall ms', {k: round(v * 1e3, 3) for k, v in mw.items()}, 'ratio %.3f' % (mw['x'] / mw['j']))
