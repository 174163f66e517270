"""One of the two processes of tests/multidevice/test_multiprocess.py.

Usage: python two_process_worker.py PORT PROCESS_ID. Each process has 2 CPU devices (the
parent sets XLA_FLAGS); together they form a 4-device mesh. Each process holds its half of the
batch, and both run one data-parallel training step two ways: shard_map (the gradient with
respect to the replicated parameters is summed over the devices, as in JAX), and jit with
shardings (XLA's partitioner adds the communication). Prints the updated parameters as JSON
on its last line.
"""

import json
import sys

import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P

import xform
import xform.numpy as xnp


def data():
    rng = np.random.RandomState(0)
    x = rng.randn(16, 3).astype(np.float32)
    y = rng.randn(16, 2).astype(np.float32)
    w = rng.randn(3, 2).astype(np.float32)
    return x, y, w


def loss(w, x, y):
    return ((xnp.tanh(x @ w) - y) ** 2).sum()


def main(port: int, pid: int) -> None:
    # cross-process collectives on CPU; set before the CPU backend starts
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    xform.distributed.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=pid,
                                 initialization_timeout=60)
    assert xform.process_count() == 2 and xform.process_index() == pid
    assert xform.device_count() == 4 and xform.local_device_count() == 2
    x, y, w = data()
    mesh = xform.make_mesh((4,), ("b",), axis_types=(AxisType.Auto,))
    rows = NamedSharding(mesh, P("b"))
    repl = NamedSharding(mesh, P())
    # this process's half of the batch becomes its part of one global array
    gx = xform.make_array_from_process_local_data(rows, x[pid * 8:(pid + 1) * 8])
    gy = xform.make_array_from_process_local_data(rows, y[pid * 8:(pid + 1) * 8])
    gw = xform.make_array_from_process_local_data(repl, w)

    def per_device(w, xb, yb):
        # w is replicated (P()): with check_vma its gradient is the sum over 'b' of the
        # devices' gradients, as in JAX (the pvary of w transposes to a psum)
        g = xform.grad(loss)(w, xb, yb)
        return w - 0.01 * g

    step_sm = xform.jit(xform.shard_map(per_device, mesh=mesh, in_specs=(P(), P("b"), P("b")),
                                        out_specs=P()))
    step_jit = xform.jit(lambda w, x, y: w - 0.01 * xform.grad(loss)(w, x, y),
                         in_shardings=(repl, rows, rows), out_shardings=repl)
    out = {}
    for name, step in (("shard_map", step_sm), ("jit", step_jit)):
        new = step(gw, gx, gy)
        assert new.sharding.is_fully_replicated
        out[name] = np.asarray(new.addressable_shards[0].data).tolist()
    print(json.dumps(out), flush=True)
    xform.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
