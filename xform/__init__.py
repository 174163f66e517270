"""xform: composable function transforms (vmap, grad, jit, ...) over numpy-style code.

    >>> import xform, xform.numpy as xnp
    >>> xform.jit(lambda x: xnp.sin(x) + 1.0)(xnp.zeros(2))
    Array([1., 1.], dtype=float32)
"""

from xform import config as config
from xform import interpreters as interpreters
from xform.interpreters import eval as _eval  # noqa: F401  (installs the eager evaluator)
from xform import lax as lax
from xform import numpy as numpy
from xform import random as random
from xform import nn as nn
from xform import optim as optim
from xform import tree_util as tree_util
from xform import errors as errors
from xform import debug as debug
from xform import experimental as experimental
from xform.lax.callback import (
    effects_barrier as effects_barrier, pure_callback as pure_callback,
)
from xform.transforms import (
    ShapeDtypeStruct as ShapeDtypeStruct, block_until_ready as block_until_ready,
    device_put as device_put, devices as devices, eval_shape as eval_shape, jit as jit,
    make_jaxpr as make_jaxpr, vmap as vmap,
)
from xform.transforms import (
    grad as grad, hessian as hessian, jacfwd as jacfwd, jacrev as jacrev, jvp as jvp,
    linear_transpose as linear_transpose, linearize as linearize,
    value_and_grad as value_and_grad, vjp as vjp,
)
from xform.transforms import custom_jvp as custom_jvp, custom_vjp as custom_vjp
from xform.transforms import (
    checkpoint as checkpoint, checkpoint_policies as checkpoint_policies, remat as remat,
)
from xform.transforms.jit import clear_caches as clear_caches
from xform import ad_checkpoint as ad_checkpoint
from xform.transforms.interop import from_jax as from_jax, to_jax as to_jax
from xform import custom_derivatives as custom_derivatives
from xform import custom_batching as custom_batching
from xform import dtypes as dtypes
from xform import flatten_util as flatten_util
from xform import image as image
from xform import example_libraries as example_libraries
from xform import tree as tree
from xform.transforms.autodiff import jacrev as jacobian  # noqa: F401  (JAX: jacobian = jacrev)
from xform.transforms import fwd_and_bwd as fwd_and_bwd
from xform.transforms.devices import (
    Device as Device, Shard as Shard, copy_to_host_async as copy_to_host_async,
    default_backend as default_backend, device_count as device_count, device_get as device_get,
    live_arrays as live_arrays, local_device_count as local_device_count,
    local_devices as local_devices, process_count as process_count,
    process_index as process_index,
)
from xform.transforms.scopes import (
    ensure_compile_time_eval as ensure_compile_time_eval, named_call as named_call,
    named_scope as named_scope,
)
from xform.transforms.custom_gradient import (
    closure_convert as closure_convert, custom_gradient as custom_gradient,
)
from xform.transforms.info import (
    print_environment_info as print_environment_info, typeof as typeof,
)
from xform._flags import (
    check_tracer_leaks as check_tracer_leaks, checking_leaks as checking_leaks,
    debug_infs as debug_infs, default_matmul_precision as default_matmul_precision,
    disable_jit as disable_jit, log_compiles as log_compiles,
    numpy_rank_promotion as numpy_rank_promotion,
)
from xform._flags import (
    default_device as default_device, enable_x64 as enable_x64,
    explain_cache_misses as explain_cache_misses, no_execution as no_execution,
    no_tracing as no_tracing, numpy_dtype_promotion as numpy_dtype_promotion,
    transfer_guard as transfer_guard,
    transfer_guard_device_to_device as transfer_guard_device_to_device,
    transfer_guard_device_to_host as transfer_guard_device_to_host,
    transfer_guard_host_to_device as transfer_guard_host_to_device,
)
from xform import dlpack as dlpack
from xform import profiler as profiler
from xform import typing as typing
from xform.core.avals import float0 as float0
from xform.config import debug_nans as debug_nans
from xform.core.ir import ClosedJaxpr as ClosedJaxpr, Jaxpr as Jaxpr
from xform.graphviz import jaxpr_to_dot as jaxpr_to_dot

# -- past one device: JAX's shardings, shard_map, pmap, multi-process (docs/parallelism.md) --
from xform import sharding as sharding
from xform.sharding import (
    NamedSharding as NamedSharding, P as P, make_array_from_callback as make_array_from_callback,
    make_array_from_process_local_data as make_array_from_process_local_data,
    make_array_from_single_device_arrays as make_array_from_single_device_arrays,
    make_mesh as make_mesh, reshard as reshard, set_mesh as set_mesh,
)
from xform.transforms.shard_map import shard_map as shard_map
from xform.transforms.pmap import pmap as pmap
from xform import distributed as distributed

Array = numpy.ndarray

__version__ = "0.1.0"
