"""The transforms users call, one module each: pytree handling and argument checking, then one
call into an interpreter.

- ``jit.py``: ``jit``, ``make_jaxpr``, ``eval_shape`` (compiled dispatch: xform/lax/compiled.py)
- ``vmap.py``: ``vmap`` (the batching interpreter: xform/interpreters/batching.py)
- ``autodiff.py``: ``grad``, ``value_and_grad``, ``jvp``, ``vjp``, ``linearize``,
  ``linear_transpose``, ``jacfwd``, ``jacrev``, ``hessian``
- ``custom.py``: ``custom_jvp``, ``custom_vjp`` (machinery: xform/lax/custom.py)
- ``checkpoint.py``: ``checkpoint``/``remat`` and its policies
- ``devices.py``: ``devices``, ``device_put``, ``block_until_ready``
"""

from xform.transforms.jit import Jitted as Jitted, Traced as Traced, eval_shape as eval_shape
from xform.transforms.jit import jit as jit, make_jaxpr as make_jaxpr
from xform.transforms.vmap import vmap as vmap
from xform.transforms.autodiff import (
    fwd_and_bwd as fwd_and_bwd, grad as grad, hessian as hessian, jacfwd as jacfwd,
    jacrev as jacrev, jvp as jvp,
    linear_transpose as linear_transpose, linearize as linearize,
    value_and_grad as value_and_grad, vjp as vjp,
)
from xform.transforms.custom import custom_jvp as custom_jvp, custom_vjp as custom_vjp
from xform.transforms.checkpoint import (
    checkpoint as checkpoint, checkpoint_policies as checkpoint_policies, remat as remat,
)
from xform.transforms.devices import (
    ShapeDtypeStruct as ShapeDtypeStruct, block_until_ready as block_until_ready,
    device_put as device_put, devices as devices,
)
