"""Multi-device tests: 8 CPU devices, set before JAX starts (this directory runs in its own
process: `python -m pytest tests/multidevice`, which tests/test_multidevice.py does)."""

import os
import sys

if "jax" not in sys.modules:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_force_host_platform_device_count=8").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))


def pytest_collection_modifyitems(config, items):
    if jax.device_count() >= 8:
        return
    skip = pytest.mark.skip(reason=f"needs 8 devices, JAX started with {jax.device_count()} "
                            "(run this directory in its own process)")
    for item in items:
        item.add_marker(skip)


@pytest.fixture
def mesh():
    """The Explicit (4, 2) mesh of explicit_mesh.py, set for the test."""
    from explicit_mesh import MESH
    with jax.set_mesh(MESH):
        yield MESH
