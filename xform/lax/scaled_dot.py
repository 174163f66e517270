"""``scaled_dot``: a ``dot_general`` of block-scaled operands (micro-scaling formats such as
``float8_e4m3fn`` values with ``float8_e8m0fnu`` scales).

``scaled_dot[dimension_numbers preferred_element_type] lhs rhs lhs_scale rhs_scale`` computes
``(lhs * lhs_scale) @ (rhs * rhs_scale)`` where each scale has its operand's shape except along
the contracting dimensions, which it divides (each scale entry covers a block of that many
elements). It lowers to JAX's ``scaled_dot``. As in JAX it has no derivative (its operands are
quantized formats); under ``vmap`` every operand's batch axis becomes a new leading batch
dimension of the product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import batch_rules, bdim_at_front
from xform.interpreters.jvp import jvp_rules
from xform.interpreters.lowering import to_jax
from xform.lax._helpers import shape_str
from xform.lax.shape import full

__all__ = ["scaled_dot"]

scaled_dot_p = Primitive("scaled_dot")


def _check_scale(side: str, x: ShapedArray, scale: ShapedArray, contracting) -> None:
    for i, size in enumerate(x.shape):
        if i in contracting:
            if size % scale.shape[i] or size // scale.shape[i] < 2:
                raise TypeError(f"scaled_dot: {side} contracting dim {i} of size {size} must be "
                                f"a multiple (at least 2 times) of its scale's size "
                                f"{scale.shape[i]}.")
        elif scale.shape[i] != size:
            raise TypeError(f"scaled_dot: {side} dim {i} of size {size} does not match scale "
                            f"dim size {scale.shape[i]}.")


def _abstract_eval(lhs, rhs, lhs_scale, rhs_scale, *, dimension_numbers,
                   preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    if len({lhs.ndim, rhs.ndim, lhs_scale.ndim, rhs_scale.ndim}) != 1:
        raise TypeError(f"scaled_dot: all operands must have the same rank, got lhs "
                        f"{shape_str(lhs.shape)}, rhs {shape_str(rhs.shape)}, lhs_scale "
                        f"{shape_str(lhs_scale.shape)}, rhs_scale {shape_str(rhs_scale.shape)}")
    if len(lb) != len(rb) or len(lc) != len(rc):
        raise TypeError(f"scaled_dot: lhs and rhs need as many batch and contracting "
                        f"dimensions, got {dimension_numbers}")
    for i, j in zip(list(lb) + list(lc), list(rb) + list(rc)):
        if lhs.shape[i] != rhs.shape[j]:
            raise TypeError(f"scaled_dot: lhs dim {i} of size {lhs.shape[i]} does not match "
                            f"rhs dim {j} of size {rhs.shape[j]}")
    _check_scale("lhs", lhs, lhs_scale, lc)
    _check_scale("rhs", rhs, rhs_scale, rc)
    free_l = [d for i, d in enumerate(lhs.shape) if i not in lc and i not in lb]
    free_r = [d for i, d in enumerate(rhs.shape) if i not in rc and i not in rb]
    shape = tuple(lhs.shape[i] for i in lb) + tuple(free_l) + tuple(free_r)
    return ShapedArray(shape, preferred_element_type)


def _to_jax(lhs, rhs, lhs_scale, rhs_scale, *, dimension_numbers, preferred_element_type):
    return jlax.scaled_dot(lhs, rhs, lhs_scale=lhs_scale, rhs_scale=rhs_scale,
                           dimension_numbers=dimension_numbers,
                           preferred_element_type=preferred_element_type)


def _jvp(primals, tangents, **params):
    raise NotImplementedError("scaled_dot is not differentiable (as in JAX): its operands are "
                              "block-quantized. Differentiate a dot_general of the dequantized "
                              "operands instead.")


def _batch(axis_size, vals, dims, *, dimension_numbers, preferred_element_type):
    vals = [bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    (lc, rc), (lb, rb) = dimension_numbers
    inc = lambda ds: tuple(d + 1 for d in ds)  # noqa: E731
    dn = ((inc(lc), inc(rc)), ((0,) + inc(lb), (0,) + inc(rb)))
    return scaled_dot_p.bind(*vals, dimension_numbers=dn,
                             preferred_element_type=preferred_element_type), 0


abstract_eval[scaled_dot_p] = _abstract_eval
to_jax[scaled_dot_p] = _to_jax
jvp_rules[scaled_dot_p] = _jvp
batch_rules[scaled_dot_p] = _batch


def _unit_scale(x: Any, contracting) -> Any:
    # one scale entry of 1 for each whole contracting dimension (JAX's default)
    shape = tuple(1 if i in contracting else d for i, d in enumerate(to_aval(x).shape))
    return full(shape, 1, np.dtype("float8_e8m0fnu"))


def scaled_dot(lhs: Any, rhs: Any, *, lhs_scale: Any = None, rhs_scale: Any = None,
               dimension_numbers: Any = None, preferred_element_type: Any = None) -> Any:
    """``(lhs * lhs_scale) @ (rhs * rhs_scale)`` with block scales, as ``jax.lax.scaled_dot``;
    ``dimension_numbers`` defaults to a batched matmul over the leading dimensions and the
    result is ``preferred_element_type`` (default ``bfloat16``). Not differentiable."""
    ndim = to_aval(lhs).ndim
    if dimension_numbers is None:
        if ndim < 2:
            raise TypeError("scaled_dot does not support 0-rank and 1-rank operands.")
        batch = tuple(range(ndim - 2))
        dimension_numbers = (((ndim - 1,), (ndim - 2,)), (batch, batch))
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(map(int, lc)), tuple(map(int, rc))), (tuple(map(int, lb)), tuple(map(int, rb))))
    if lhs_scale is None:
        lhs_scale = _unit_scale(lhs, dn[0][0])
    if rhs_scale is None:
        rhs_scale = _unit_scale(rhs, dn[0][1])
    out_dtype = canonicalize_dtype("bfloat16" if preferred_element_type is None
                                   else preferred_element_type)
    return scaled_dot_p.bind(lhs, rhs, lhs_scale, rhs_scale, dimension_numbers=dn,
                             preferred_element_type=out_dtype)
