"""``xform.typing``: the annotation types of ``jax.typing`` (``ArrayLike``, ``DTypeLike``).

xform's arrays are ``jax.Array``s and its dtypes numpy's, so JAX's annotations describe
xform's values as they are.
"""

from jax.typing import ArrayLike as ArrayLike, DTypeLike as DTypeLike

__all__ = ["ArrayLike", "DTypeLike"]
