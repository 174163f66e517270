"""Polynomials on coefficient arrays, ``vectorize``, einsum_path, and numpy's host-side
helpers (printing, file and buffer I/O, dlpack) that only move data.
"""

from __future__ import annotations

import functools
import operator
import re
from typing import Any, Callable

import jax
import numpy as np

from xform import lax
from xform.core.trace import Tracer, to_aval
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import asarray
from xform.numpy._promote import promote_dtypes, promote_to_inexact


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


# -- polynomials (highest power first, as numpy's poly1d coefficient arrays) -------------------
def _pad_front(p: Any, n: int) -> Any:
    k = _shape(p)[0]
    zero = lax.full((), 0, to_aval(p).dtype)
    return lax.pad(p, zero, [(n - k, 0, 0)]) if k < n else p


def polyadd(a1: Any, a2: Any) -> Any:
    """Sum of two polynomials, as ``jax.numpy.polyadd``."""
    a1, a2 = promote_dtypes(sh.ravel(asarray(a1)), sh.ravel(asarray(a2)))
    n = max(_shape(a1)[0], _shape(a2)[0])
    return uf.add(_pad_front(a1, n), _pad_front(a2, n))


def polysub(a1: Any, a2: Any) -> Any:
    """Difference of two polynomials, as ``jax.numpy.polysub``."""
    return polyadd(a1, uf.negative(asarray(a2)))


def polymul(a1: Any, a2: Any, *, trim_leading_zeros: bool = False) -> Any:
    """Product of two polynomials (a full convolution), as ``jax.numpy.polymul``."""
    from xform.numpy._extras import convolve
    a1, a2 = promote_to_inexact(sh.ravel(asarray(a1)), sh.ravel(asarray(a2)))
    if trim_leading_zeros:
        a1, a2 = trim_zeros(a1, "f"), trim_zeros(a2, "f")
    if not _shape(a1)[0]:
        a1 = asarray([0.0], dtype=to_aval(a1).dtype)
    if not _shape(a2)[0]:
        a2 = asarray([0.0], dtype=to_aval(a2).dtype)
    return convolve(a1, a2, mode="full")


def polyder(p: Any, m: int = 1) -> Any:
    """The ``m``-th derivative of the polynomial ``p``, as ``jax.numpy.polyder``."""
    (p,) = promote_to_inexact(sh.ravel(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    for _ in range(m):
        n = _shape(p)[0]
        if n <= 1:
            return lax.full((0,), 0, to_aval(p).dtype)
        powers = np.arange(n - 1, 0, -1).astype(to_aval(p).dtype)
        p = uf.multiply(lax.slice(p, (0,), (n - 1,)), powers)
    return p


def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """The ``m``-th antiderivative with integration constants ``k``, as
    ``jax.numpy.polyint``."""
    (p,) = promote_to_inexact(sh.ravel(asarray(p)))
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    ks = np.zeros(m) if k is None else np.broadcast_to(np.asarray(k), (m,))
    for i in range(m):
        n = _shape(p)[0]
        powers = np.arange(n, 0, -1).astype(to_aval(p).dtype)
        p = sh.concatenate([uf.divide(p, powers), asarray([ks[i]], dtype=to_aval(p).dtype)], 0)
    return p


def poly(seq_of_zeros: Any) -> Any:
    """Coefficients of the monic polynomial with the given roots (1-D input), as
    ``jax.numpy.poly``."""
    (z,) = promote_to_inexact(asarray(seq_of_zeros))
    if to_aval(z).ndim != 1:
        raise NotImplementedError("poly: only 1-D arrays of roots are implemented here")
    out = asarray([1.0], dtype=to_aval(z).dtype)
    for i in range(_shape(z)[0]):
        root = lax.index_in_dim(z, i, 0, True)
        out = polymul(out, sh.concatenate([asarray([1.0], dtype=to_aval(z).dtype),
                                           uf.negative(root)], 0))
    return out


def trim_zeros(filt: Any, trim: str = "fb") -> Any:
    """``filt`` without leading (``'f'``) and/or trailing (``'b'``) zeros; the values must be
    concrete (the output size depends on them), as in JAX."""
    filt = asarray(filt)
    value = filt.concrete_value("trim_zeros") if isinstance(filt, Tracer) else filt
    nz = np.flatnonzero(np.asarray(value))
    n = _shape(filt)[0]
    if not nz.size:
        return lax.slice(filt, (0,), (0,))
    start = int(nz[0]) if "f" in trim.lower() else 0
    stop = int(nz[-1]) + 1 if "b" in trim.lower() else n
    return lax.slice(filt, (start,), (stop,))


# -- vectorize --------------------------------------------------------------------------------
_DIMS = r"\((\w*(?:,\s*\w+)*)\)"


def _parse_signature(signature: str) -> tuple:
    ins, outs = signature.replace(" ", "").split("->")
    parse = lambda s: [tuple(d for d in g.split(",") if d) for g in re.findall(_DIMS, s)]  # noqa
    return parse(ins), parse(outs)


def vectorize(pyfunc: Callable, *, excluded: frozenset = frozenset(),
              signature: str | None = None) -> Callable:
    """``pyfunc`` written for single elements (or for the core shapes of ``signature``, e.g.
    ``'(n),(n)->()'``) applied over broadcast leading axes by ``vmap``, as
    ``jax.numpy.vectorize``."""
    from xform import vmap

    @functools.wraps(pyfunc, updated=())
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        pos = [i for i in range(len(args)) if i not in excluded]
        arrays = [asarray(args[i]) for i in pos]
        core_in = [()] * len(arrays)
        if signature is not None:
            core_in, _ = _parse_signature(signature)
            if len(core_in) != len(arrays):
                raise TypeError(f"wrong number of positional arguments: expected "
                                f"{len(core_in)}, got {len(arrays)}")
        loops = [_shape(a)[:len(_shape(a)) - len(c)] for a, c in zip(arrays, core_in)]
        loop = tuple(np.broadcast_shapes(*loops)) if loops else ()
        arrays = [sh.broadcast_to(a, loop + _shape(a)[len(lp):])
                  for a, lp in zip(arrays, loops)]

        def call(*arrs: Any) -> Any:
            full = list(args)
            for i, a in zip(pos, arrs):
                full[i] = a
            return pyfunc(*full, **kwargs)

        fn = call
        for _ in loop:
            fn = vmap(fn)
        return fn(*arrays)

    return wrapped


def einsum_path(subscripts: str, /, *operands: Any, optimize: Any = "auto") -> tuple:
    """opt_einsum's contraction path for ``einsum(subscripts, *operands)``."""
    import opt_einsum
    if optimize is True:
        optimize = "optimal"
    elif optimize in (False, None):
        optimize = "greedy"
    shapes = [_shape(asarray(o)) for o in operands]
    return opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize)


def mask_indices(n: int, mask_func: Callable, k: int = 0, *, size: int | None = None) -> tuple:
    """Indices where ``mask_func(ones((n, n)), k)`` is nonzero (e.g. ``triu``)."""
    from xform.numpy._creation import ones
    from xform.numpy._setops import nonzero
    return nonzero(mask_func(ones((n, n)), k), size=size)


def bitwise_count(x: Any, /) -> Any:
    """The number of set bits of ``|x|`` per element (uint8), as ``jax.numpy.bitwise_count``."""
    x = asarray(x)
    dt = to_aval(x).dtype
    if not (np.issubdtype(dt, np.integer) or dt == np.bool_):
        raise TypeError(f"bitwise_count requires integer or bool input, got {dt}")
    if dt == np.bool_:
        return lax.convert_element_type(x, np.uint8)
    bits = np.iinfo(dt).bits
    udt = np.dtype(f"uint{bits}")
    v = lax.convert_element_type(uf.absolute(x), udt)
    count = lax.full_like(v, 0)
    one = np.array(1, udt)
    for i in range(bits):  # shift-and-mask: a handful of elementwise ops per bit
        count = lax.add(count, lax.bitwise_and(lax.shift_right_logical(v, np.array(i, udt)),
                                               one))
    return lax.convert_element_type(count, np.uint8)


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """``arr`` with the positions where ``mask`` holds set to ``vals`` in turn (cycled);
    needs ``inplace=False`` and a concrete mask."""
    from xform.numpy._indexing import scatter_update
    from xform.numpy._setops import concrete_size, nonzero
    if inplace:
        raise ValueError("jax.numpy.place cannot modify arrays in-place, because JAX arrays "
                         "are immutable. Pass inplace=False to instead return an updated array.")
    arr = asarray(arr)
    mask = sh.ravel(asarray(mask))
    count = concrete_size("place", "mask", mask, np.count_nonzero)
    idx = nonzero(mask, size=count)[0]
    vals = sh.ravel(asarray(vals))
    if not count:
        return arr
    if _shape(vals)[0] != count:
        from xform.numpy._manip import tile
        vals = lax.slice(tile(vals, -(-count // _shape(vals)[0])), (0,), (count,))
    out = scatter_update(sh.ravel(arr), idx, vals, lax.scatter)
    return sh.reshape(out, _shape(arr))


# -- host-side helpers: data moves, nothing is computed ------------------------------------------
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
