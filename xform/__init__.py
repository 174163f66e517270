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
from xform import ad_checkpoint as ad_checkpoint
from xform.config import debug_nans as debug_nans
from xform.core.ir import ClosedJaxpr as ClosedJaxpr, Jaxpr as Jaxpr
from xform.graphviz import jaxpr_to_dot as jaxpr_to_dot

# -- past one device: JAX's shardings, shard_map, pmap, multi-process (docs/parallelism.md) --
from xform import sharding as sharding
from xform.sharding import (
    NamedSharding as NamedSharding, P as P, make_array_from_callback as make_array_from_callback,
    make_array_from_process_local_data as make_array_from_process_local_data,
    make_array_from_single_device_arrays as make_array_from_single_device_arrays,
    make_mesh as make_mesh, set_mesh as set_mesh,
)
from xform.transforms.devices import (
    device_count as device_count, local_device_count as local_device_count,
    local_devices as local_devices, process_count as process_count,
    process_index as process_index,
)
from xform.transforms.shard_map import shard_map as shard_map
from xform.transforms.pmap import pmap as pmap
from xform import distributed as distributed

Array = numpy.ndarray

__version__ = "0.1.0"
