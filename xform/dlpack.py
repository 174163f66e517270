"""``xform.dlpack``: arrays to and from other frameworks through DLPack, as ``jax.dlpack``.

xform's arrays are ``jax.Array``s, so JAX's DLPack bridge is xform's as it is: ``from_dlpack``
gives an array every xform function takes, and an xform array goes to torch or numpy by their
own ``from_dlpack``.

    >>> import numpy as np, xform
    >>> xform.dlpack.from_dlpack(np.arange(3.0))
    Array([0., 1., 2.], dtype=float32)
"""

from jax.dlpack import from_dlpack as from_dlpack, is_supported_dtype as is_supported_dtype

__all__ = ["from_dlpack", "is_supported_dtype"]
