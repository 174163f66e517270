"""Functions that take functions: vectorize, apply_along_axis, apply_over_axes, fromfunction and
piecewise. The batched ones use the batching interpreter directly (the libraries sit below
xform.vmap).
"""

from __future__ import annotations

import functools
import operator
import re
from typing import Any, Callable, Sequence

import jax
import numpy as np

from xform.core.avals import canonicalize_dtype
from xform.core.trace import Tracer, to_aval
from xform.lax.batched import batched_call
from xform.numpy import _shape as sh
from xform.numpy import _ufuncs as uf
from xform.numpy._creation import _iota, asarray, zeros
from xform.numpy._promote import check_arraylike, convert


def _shape(x: Any) -> tuple:
    return tuple(to_aval(x).shape)


# -- vectorize ---------------------------------------------------------------------------------
_DIMS = r"\((\w*(?:,\s*\w+)*)\)"


def _parse_signature(signature: str) -> tuple:
    ins, outs = signature.replace(" ", "").split("->")
    parse = lambda s: [tuple(d for d in g.split(",") if d) for g in re.findall(_DIMS, s)]  # noqa
    return parse(ins), parse(outs)


def _batched_over_leading_axis(fn: Callable) -> Callable:
    """``vmap(fn)``, from the batching interpreter (the libraries sit below xform.vmap)."""
    return lambda *xs: batched_call(fn, xs, [0] * len(xs), description="vectorize")


def vectorize(pyfunc: Callable, *, excluded: frozenset = frozenset(),
              signature: str | None = None) -> Callable:
    """``pyfunc`` written for single elements (or for the core shapes of ``signature``, e.g.
    ``'(n),(n)->()'``) applied over broadcast leading axes by ``vmap``, as
    ``jax.numpy.vectorize``."""

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
            fn = _batched_over_leading_axis(fn)
        return fn(*arrays)

    return wrapped


# -- along and over axes -----------------------------------------------------------------------
def apply_along_axis(func1d: Callable, axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    """``func1d`` applied to the 1-D slices along ``axis`` (batched over the others, as by
    ``vmap``)."""
    arr = asarray(arr)
    nd = to_aval(arr).ndim
    axis = sh.canonicalize_axis(axis, nd)
    fn = lambda x: func1d(x, *args, **kwargs)  # noqa: E731
    for _ in range(1, nd - axis):
        fn = _batched(fn, -1)
    for _ in range(axis):
        fn = _batched(fn, 0)
    return fn(arr)


def _batched(fn: Callable, axis: int) -> Callable:
    """``vmap(fn, in_axes=axis, out_axes=axis)`` from the batching interpreter (the libraries
    sit below xform.vmap)."""
    return lambda x: batched_call(fn, [x], [axis], axis, description="apply_along_axis")


def apply_over_axes(func: Callable, a: Any, axes: Sequence[int]) -> Any:
    """``func(a, axis)`` for each axis in turn, keeping the number of dimensions."""
    a = asarray(a)
    for axis in axes:
        b = func(a, axis)
        if to_aval(b).ndim == to_aval(a).ndim - 1:
            b = sh.expand_dims(b, axis)
        elif to_aval(b).ndim != to_aval(a).ndim:
            raise ValueError("function is not returning an array of the correct shape")
        a = b
    return a


# -- arrays from functions ---------------------------------------------------------------------
def fromfunction(function: Callable, shape: Any, *, dtype: Any = float, **kwargs: Any) -> Any:
    """``function(*coordinate_arrays)`` over a grid of ``shape``."""
    shape = tuple(operator.index(d) for d in shape)
    dt = canonicalize_dtype(dtype)
    coords = [_iota(dt, shape, i) for i in range(len(shape))]
    return function(*coords, **kwargs)


def piecewise(x: Any, condlist: Any, funclist: Sequence[Any], *args: Any, **kw: Any) -> Any:
    """``funclist[i](x)`` where ``condlist[i]`` holds (the last true one wins; an extra last
    function is the default), as ``jax.numpy.piecewise``. Every function is evaluated on the
    whole array and the results are selected, so each must be safe everywhere."""
    check_arraylike("piecewise", x)
    x = asarray(x)
    if isinstance(condlist, (jax.Array, Tracer, np.ndarray)) and to_aval(condlist).ndim == \
            to_aval(x).ndim:
        condlist = [condlist]
    condlist = list(condlist)
    n = len(condlist)
    if len(funclist) not in (n, n + 1):
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are "
                         f"expected; got {len(funclist)}")
    dtype = to_aval(x).dtype

    def value(f: Any) -> Any:
        out = f(x, *args, **kw) if callable(f) else f
        return sh.broadcast_to(convert(asarray(out), dtype), to_aval(x).shape)

    out = value(funclist[n]) if len(funclist) == n + 1 else zeros(to_aval(x).shape, dtype)
    for cond, f in zip(condlist, funclist[:n]):
        out = uf.where(cond, value(f), out)
    return out
