"""``xform.custom_derivatives``: JAX's ``jax.custom_derivatives`` names."""

from xform.lax.custom import (
    CustomVJPException as CustomVJPException,
    CustomVJPPrimal as CustomVJPPrimal,
    SymbolicZero as SymbolicZero,
    custom_jvp as custom_jvp,
    custom_jvp_call_p as custom_jvp_call_p,
    custom_vjp as custom_vjp,
    custom_vjp_call_p as custom_vjp_call_p,
    custom_vjp_primal_tree_values as custom_vjp_primal_tree_values,
    zero_from_primal as zero_from_primal,
)
from xform.transforms.custom_gradient import (
    closure_convert as closure_convert, custom_gradient as custom_gradient,
)
from xform.lax.linear_call import linear_call as linear_call
