"""JAX's configuration flags as xform reads them.

One storage: JAX's own config. xform's compiled path is a ``jax.jit`` and its dtypes
canonicalize through JAX's config, so a flag about dtypes, compilation or the runtime means for
xform what it means for JAX once it is set there; the flags about tracing are read by xform's own
code (``jax_disable_jit`` by ``xform.jit``, ``jax_numpy_rank_promotion`` by ``xform.numpy``'s
broadcasting, ``jax_debug_nans`` by the eager and compiled NaN checks). A flag that JAX knows but
xform does not honor is refused, rather than accepted and ignored.
"""

from __future__ import annotations

from typing import Any

import jax

# name -> what it means in xform
FLAGS: dict[str, str] = {
    "jax_enable_x64": "64-bit dtypes (float64, int64, complex128) under every transform",
    "jax_debug_nans": "raise FloatingPointError when an eager op or jit-ted call makes a NaN",
    "jax_debug_infs": "raise FloatingPointError when an eager op or jit-ted call makes an inf",
    "jax_disable_jit": "xform.jit runs the Python function op by op on concrete values",
    "jax_explain_cache_misses": "log why a jit-ted function is traced again",
    "jax_log_compiles": "log each compilation (xform.jit compiles through jax.jit)",
    "jax_numpy_rank_promotion": "'allow', 'warn' or 'raise' on implicit rank promotion in "
                                "xform.numpy's broadcasting",
    "jax_numpy_dtype_promotion": "'standard' or 'strict' (no implicit promotion between "
                                 "dtypes) in xform.numpy's promotion",
    "jax_no_tracing": "raise RuntimeError when a jit-ted function would be traced (again)",
    "jax_no_execution": "raise RuntimeError when a computation would run (xform's eager ops "
                        "and compiled calls both run through jax.jit)",
    "jax_default_matmul_precision": "the precision of dot_general/conv with precision=None",
    "jax_check_tracer_leaks": "JAX's leak checks for the JAX traces xform lowers through; "
                              "xform's own traces always raise UnexpectedTracerError on a "
                              "leaked tracer's first use",
    "jax_traceback_filtering": "how JAX filters tracebacks",
    # compilation and runtime: JAX's, which xform's compiled calls use as they are
    "jax_platforms": "which backends to initialize",
    "jax_platform_name": "the default backend",
    "jax_default_device": "where computations run by default",
    "jax_num_cpu_devices": "the number of CPU devices",
    "jax_compilation_cache_dir": "the persistent compilation cache directory",
    "jax_enable_compilation_cache": "use the persistent compilation cache",
    "jax_persistent_cache_min_compile_time_secs": "persistent cache admission threshold",
    "jax_persistent_cache_min_entry_size_bytes": "persistent cache admission threshold",
    "jax_dump_ir_to": "dump lowered programs to a directory",
    "jax_optimization_level": "XLA's optimization effort",
    "jax_cpu_enable_async_dispatch": "asynchronous dispatch on CPU",
    "jax_transfer_guard": "guard against implicit transfers",
    "jax_logging_level": "JAX's logging level",
}

# the flags JAX's debug_nans shares (xform.config keeps its own copy of this one)
_ALIASES = {"debug_nans": "jax_debug_nans", "xform_debug_nans": "jax_debug_nans"}


def _check(name: str) -> str:
    name = _ALIASES.get(name, name)
    if name in FLAGS:
        return name
    if name in jax.config.values:
        raise NotImplementedError(
            f"xform does not implement JAX's config flag {name!r}; the flags xform honors are "
            f"{', '.join(sorted(FLAGS))}.")
    raise AttributeError(f"Unrecognized config option: {name}")


def update(name: str, value: Any) -> None:
    """Set JAX's flag ``name`` (one xform honors) to ``value``."""
    jax.config.update(_check(name), value)  # xform.config.update handles jax_debug_nans


def read(name: str) -> Any:
    """The current value of flag ``name`` (on this thread, context managers included)."""
    return getattr(jax.config, _check(name))


# Context managers with JAX's names; the setting they make is JAX's, which xform reads
disable_jit = jax.disable_jit
log_compiles = jax.log_compiles
default_matmul_precision = jax.default_matmul_precision
numpy_rank_promotion = jax.numpy_rank_promotion
debug_infs = jax.debug_infs
checking_leaks = jax.checking_leaks
check_tracer_leaks = jax.check_tracer_leaks
enable_x64 = jax.enable_x64
explain_cache_misses = jax.explain_cache_misses
numpy_dtype_promotion = jax.numpy_dtype_promotion
no_tracing = jax.no_tracing
no_execution = jax.no_execution
default_device = jax.default_device
transfer_guard = jax.transfer_guard
transfer_guard_host_to_device = jax.transfer_guard_host_to_device
transfer_guard_device_to_host = jax.transfer_guard_device_to_host
transfer_guard_device_to_device = jax.transfer_guard_device_to_device
