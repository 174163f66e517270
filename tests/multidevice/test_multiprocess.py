"""Two processes on 127.0.0.1, 2 CPU devices each (gloo collectives), run one data-parallel
training step with shard_map + psum and with jit + shardings; both agree with the step one
process computes on the whole batch."""

import json
import os
import socket
import subprocess
import sys

import numpy as np

import xform
from two_process_worker import data, loss

HERE = os.path.dirname(os.path.abspath(__file__))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_data_parallel_step():
    port = _free_port()
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(HERE)) + os.pathsep + \
        env.get("PYTHONPATH", "")
    worker = os.path.join(HERE, "two_process_worker.py")
    procs = [subprocess.Popen([sys.executable, worker, str(port), str(pid)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for pid in range(2)]
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=150)
            assert p.returncode == 0, stderr[-4000:]
            outs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    x, y, w = data()
    want = np.asarray(w - 0.01 * xform.grad(loss)(w, x, y))  # one process, whole batch
    for out in outs:
        for name in ("shard_map", "jit"):
            np.testing.assert_allclose(np.asarray(out[name]), want, rtol=1e-5, atol=1e-6)
