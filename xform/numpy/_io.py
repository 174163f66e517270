"""numpy's host-side helpers in xform.numpy: printing, file and buffer I/O and dlpack. They only
move data; nothing is computed.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from xform.numpy._creation import asarray


def _to_device(x: np.ndarray) -> Any:
    return asarray(x)


def array_repr(arr: Any, max_line_width: int | None = None, precision: int | None = None,
               suppress_small: bool | None = None) -> str:
    """numpy's repr of the array's values."""
    return np.array_repr(np.asarray(arr), max_line_width, precision, suppress_small)


def array_str(a: Any, max_line_width: int | None = None, precision: int | None = None,
              suppress_small: bool | None = None) -> str:
    """numpy's str of the array's values."""
    return np.array_str(np.asarray(a), max_line_width, precision, suppress_small)


get_printoptions = np.get_printoptions
set_printoptions = np.set_printoptions
printoptions = np.printoptions


def frombuffer(buffer: Any, dtype: Any = float, count: int = -1, offset: int = 0) -> Any:
    """An array from the bytes of ``buffer``."""
    return _to_device(np.frombuffer(buffer, dtype, count, offset))


def fromstring(string: str, dtype: Any = float, count: int = -1, *, sep: str) -> Any:
    """An array from numbers written in ``string`` separated by ``sep``."""
    return _to_device(np.fromstring(string, dtype, count, sep=sep))


def _impure(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"jnp.{name}() is not implemented because it may be non-pure and thus unsafe for use "
        f"with JIT and other transformations. Consider using jnp.asarray(np.{name}(...)) "
        "instead, outside the transformed function.")


def fromiter(*args: Any, **kwargs: Any) -> Any:
    """Not implemented, as in JAX: consuming an iterator is a side effect."""
    raise _impure("fromiter")


def fromfile(*args: Any, **kwargs: Any) -> Any:
    """Not implemented, as in JAX: reading a file object is a side effect."""
    raise _impure("fromfile")


def load(file: Any, *args: Any, **kwargs: Any) -> Any:
    """numpy's ``load``; arrays come back as device arrays."""
    out = np.load(file, *args, **kwargs)
    return _to_device(out) if isinstance(out, np.ndarray) else out


def save(file: Any, arr: Any, allow_pickle: bool = True) -> None:
    """numpy's ``save`` of the array's values."""
    np.save(file, np.asarray(arr), allow_pickle=allow_pickle)


def savez(file: Any, *args: Any, **kwds: Any) -> None:
    """numpy's ``savez`` of the arrays' values."""
    np.savez(file, *[np.asarray(a) for a in args], **{k: np.asarray(v) for k, v in kwds.items()})


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Any:
    """An array sharing memory with a DLPack-exporting object."""
    return jax.dlpack.from_dlpack(x, device=device, copy=copy)
