"""The benchmark programs run and agree with JAX: one tiny round of each, nothing timed.

Every benchmark module checks its xform results against JAX's (and torch's, when installed)
before timing; ``quick=True`` shrinks the sizes and takes one round, so this only exercises
the programs. The figures themselves come from ``python -m benchmarks.run_all``.
"""

import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import (  # noqa: E402
    bench_autodiff, bench_compiled, bench_dispatch, bench_ensemble, bench_interop, bench_training,
    bench_vmap,
)
from benchmarks._common import markdown_table  # noqa: E402

RUNNERS = {
    "dispatch": bench_dispatch.rows,
    "compiled": bench_compiled.run,
    "seed002": bench_vmap.seed002,
    "per_sample": bench_autodiff.per_sample,
    "first_call": bench_autodiff.first_call,
    "eager_vmap_grad": bench_autodiff.eager_vmap_grad,
    "jacobians": bench_autodiff.jacobians,
    "ensemble": bench_ensemble.run,
    "dpsgd": bench_training.dpsgd,
    "lstm": bench_training.lstm,
}
try:  # optax and flax are test dependencies; without them the interop module has no rows
    import flax  # noqa: F401
    import optax  # noqa: F401
    RUNNERS["flax_optax_step"] = bench_interop.flax_optax_step
except ImportError:
    pass


@pytest.mark.parametrize("name", list(RUNNERS))
def test_benchmark_runs(name):
    rows = RUNNERS[name]("cpu", quick=True)
    assert rows
    for r in rows:
        assert r.xform_s > 0 and r.peer_s > 0 and math.isfinite(r.ratio), r
    assert markdown_table(rows).count("\n") == len(rows) + 1


def test_neuron_jaxprs_hold_the_same_ops():
    (row, _) = bench_vmap.neuron("cpu", quick=True, verbose=False)
    assert row.xform_s > 0 and math.isfinite(row.ratio)
    assert row.note.startswith("same ops: dot_general, add, tanh, reduce_sum"), row.note


def test_gpu_check_dry_run_on_cpu():
    # benchmarks/gpu_check.py is run by hand on a GPU; its checks run here on CPU so that it
    # does not rot: the CPU program keeps xform's operand order, shardings agree with JAX's
    from benchmarks import gpu_check
    assert gpu_check.check_program("cpu", quick=True)
    ok, rows = gpu_check.check_shardings("cpu", quick=True)
    assert ok and len(rows) == 6
