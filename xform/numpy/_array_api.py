"""The array API standard's names in xform.numpy: aliases of existing functions (acos, pow,
bitwise_invert, ...), concat, permute_dims, astype and isdtype.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._promote import check_arraylike, convert


def concat(arrays: Sequence[Any], /, *, axis: int | None = 0) -> Any:
    """The array API's ``concatenate``."""
    return sh.concatenate(arrays, axis=axis)


def permute_dims(a: Any, /, axes: tuple) -> Any:
    """The array API's ``transpose``."""
    return sh.transpose(a, axes)


def astype(x: Any, dtype: Any, /, *, copy: bool = False, device: Any = None) -> Any:
    """``x`` converted to ``dtype``, as ``jax.numpy.astype``."""
    check_arraylike("astype", x)
    return convert(uf._as_array(x), dtype)


def isdtype(dtype: Any, kind: Any) -> bool:
    """The array API's dtype-kind test (``'bool'``, ``'signed integer'``, ``'real floating'``,
    ``'numeric'``, ... or dtypes)."""
    dtype = np.dtype(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"bool": lambda d: d == np.bool_,
             "signed integer": lambda d: np.issubdtype(d, np.signedinteger),
             "unsigned integer": lambda d: np.issubdtype(d, np.unsignedinteger),
             "integral": lambda d: np.issubdtype(d, np.integer),
             "real floating": lambda d: np.issubdtype(d, np.floating)
             or d == np.dtype("bfloat16"),
             "complex floating": lambda d: np.issubdtype(d, np.complexfloating),
             "numeric": lambda d: d != np.bool_ and (np.issubdtype(d, np.number)
                                                     or d == np.dtype("bfloat16"))}
    for k in kinds:
        if isinstance(k, str):
            if k not in names:
                raise ValueError(f"Unrecognized {k=!r}")
            if names[k](dtype):
                return True
        elif dtype == np.dtype(k):
            return True
    return False


# the array API's names for existing functions
acos, acosh, asin, asinh = uf.arccos, uf.arccosh, uf.arcsin, uf.arcsinh
atan, atanh, atan2 = uf.arctan, uf.arctanh, uf.arctan2
pow = uf.power  # noqa: A001
bitwise_invert = uf.bitwise_not
bitwise_left_shift = uf.left_shift
bitwise_right_shift = uf.right_shift
