"""``xform.profiler``: JAX's profiler, which sees xform's programs as they run.

xform's compiled functions and eager operations run through ``jax.jit``, so JAX's trace
collection (``trace``, ``start_trace``/``stop_trace``, TensorBoard/Perfetto output), its
annotations and its device memory profiles cover xform code unchanged.
"""

from jax.profiler import (
    ProfileData as ProfileData, ProfileEvent as ProfileEvent, ProfileOptions as ProfileOptions,
    ProfilePlane as ProfilePlane, StepTraceAnnotation as StepTraceAnnotation,
    TraceAnnotation as TraceAnnotation, annotate_function as annotate_function,
    device_memory_profile as device_memory_profile,
    register_subprocess as register_subprocess,
    save_device_memory_profile as save_device_memory_profile, start_server as start_server,
    start_trace as start_trace, stop_server as stop_server, stop_trace as stop_trace,
    trace as trace,
)

__all__ = ["ProfileData", "ProfileEvent", "ProfileOptions", "ProfilePlane",
           "StepTraceAnnotation", "TraceAnnotation", "annotate_function",
           "device_memory_profile", "register_subprocess", "save_device_memory_profile",
           "start_server", "start_trace", "stop_server", "stop_trace", "trace"]
