"""``xform.flatten_util``: ``ravel_pytree``, as JAX's ``jax.flatten_util``."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from xform import lax
from xform.core import avals as _avals
from xform.core.trace import to_aval

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Ravel (flatten) a pytree of arrays down to one 1-D array.

    Returns ``(flat, unravel)``: ``flat`` concatenates the raveled leaves in ``tree_leaves``
    order, with the dtype that promoting all the leaves' dtypes gives; ``unravel(flat)`` splits
    a vector of that length and dtype back into the pytree (each leaf in its own shape and
    dtype). An empty pytree gives an empty float32 vector, as in JAX.

    >>> import xform.numpy as xnp
    >>> flat, unravel = ravel_pytree({"a": xnp.ones(2), "b": xnp.zeros((1, 2))})
    >>> flat
    Array([1., 1., 0., 0.], dtype=float32)
    >>> unravel(flat)["b"].shape
    (1, 2)
    """
    leaves, treedef = tree_flatten(pytree)
    if not leaves:
        return lax.full((0,), 0, np.float32), lambda _: tree_unflatten(treedef, [])
    avals = [to_aval(x) for x in leaves]
    from_dtypes = [a.dtype for a in avals]
    to_dtype = _avals.result_type(*from_dtypes)
    sizes = [int(np.prod(a.shape, dtype=int)) for a in avals]
    shapes = [tuple(a.shape) for a in avals]
    single = all(dt == to_dtype for dt in from_dtypes)
    flat = lax.concatenate(
        [lax.reshape(x if single else lax.convert_element_type(x, to_dtype), (n,))
         for x, n in zip(leaves, sizes)], 0)

    def unravel(arr: Any) -> Any:
        aval = to_aval(arr)
        if tuple(aval.shape) != (sum(sizes),):
            raise ValueError("The unravel function expected an array of shape "
                             f"{(sum(sizes),)}, got shape {tuple(aval.shape)}.")
        if not single and aval.dtype != to_dtype:
            raise TypeError(f"unravel function given array of dtype {aval.dtype}, but expected "
                            f"dtype {to_dtype}")
        chunks = lax.split(arr, sizes) if len(sizes) > 1 else [arr]
        out = []
        for chunk, shape, dtype in zip(chunks, shapes, from_dtypes):
            chunk = lax.reshape(chunk, shape)
            if not single:
                with warnings.catch_warnings():  # complex-to-real is what ravel did: no warning
                    warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
                    chunk = lax.convert_element_type(chunk, dtype)
            out.append(chunk)
        return tree_unflatten(treedef, out)

    return flat, unravel
