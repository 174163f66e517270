"""``from_jax`` on JAX's PRNG keys: the ``random_*`` equations and the structural ops on typed key
arrays, replayed on xform's keys (inside xform a key is its raw threefry data
``uint32[..., 2]``, as xform.random's), and the typed-key tests and conversions of the bridge's
inputs and outputs."""

from __future__ import annotations

from typing import Callable

import jax
import numpy as np

from xform.core.avals import get_aval as _aval
from xform.core.errors import UnmappedPrimitiveError
from xform.lax import random_bits as rb
from xform.lax import shape as sh
from xform.random import KeyArray
from xform.transforms.vmap import vmap


# PRNG keys: inside xform a key is its raw threefry data uint32[..., 2] (as xform.random's).
def _check_impl(params):
    impl = params.get("impl")
    name = getattr(impl, "name", str(impl))
    if impl is not None and "fry" not in name:
        raise UnmappedPrimitiveError(f"xform.from_jax: PRNG implementation {name} (only "
                                     "threefry keys are supported)")


def _per_key(fn, keys, n_key_dims):
    """Apply ``fn`` (one key ``uint32[2]`` -> array) over the leading key dimensions."""
    for _ in range(n_key_dims):
        fn = vmap(fn)
    return fn(keys)


def _key_dims(x) -> int:
    return len(_aval(x).shape) - 1


def _random_wrap(ins, params):
    _check_impl(params)
    return ins[0]


def _random_bits(ins, params):
    k = ins[0]
    return _per_key(lambda d: rb.threefry_random_bits(d, params["bit_width"], params["shape"]),
                    k, _key_dims(k))


def _random_split(ins, params):
    k = ins[0]
    return _per_key(lambda d: rb.threefry_split(d, params["shape"]), k, _key_dims(k))


def _random_fold_in(ins, params):
    k, msg = ins
    nd = _key_dims(k)
    if nd == 0:
        return rb.threefry_fold_in(k, msg)
    fn = rb.threefry_fold_in
    for _ in range(nd):
        fn = vmap(fn)
    return fn(k, sh.broadcast_in_dim(msg, _aval(k).shape[:-1], ()))


def _random_seed(ins, params):
    _check_impl(params)
    s = ins[0]
    return _per_key(rb.threefry_seed, s, len(_aval(s).shape))


# Structural ops on key arrays: the raw data has one more (trailing) axis than the key array,
# which each op's params are extended to cover. ``fn(params, ins, is_key) -> (name, params, ins)``
def _key_slice(params, ins, is_key):
    strides = params["strides"]
    return "slice", dict(params, start_indices=(*params["start_indices"], 0),
                         limit_indices=(*params["limit_indices"], _key_width(ins[0])),
                         strides=None if strides is None else (*strides, 1)), ins


def _key_width(data) -> int:
    return _aval(data).shape[-1]


def _key_reshape(params, ins, is_key):
    if params.get("dimensions") is not None:
        raise UnmappedPrimitiveError("xform.from_jax: reshape of a key array with dimensions")
    return "reshape", dict(params, new_sizes=(*params["new_sizes"], _key_width(ins[0]))), ins


def _key_broadcast(params, ins, is_key):
    shape = tuple(params["shape"])
    return "broadcast_in_dim", dict(
        params, shape=(*shape, _key_width(ins[0])),
        broadcast_dimensions=(*params["broadcast_dimensions"], len(shape))), ins


def _key_transpose(params, ins, is_key):
    perm = tuple(params["permutation"])
    return "transpose", dict(params, permutation=(*perm, len(perm))), ins


def _key_dynamic_slice(params, ins, is_key):
    zero = np.zeros((), _aval(ins[1]).dtype) if len(ins) > 1 else np.int32(0)
    return "dynamic_slice", dict(
        params, slice_sizes=(*params["slice_sizes"], _key_width(ins[0]))), [*ins, zero]


def _key_dynamic_update_slice(params, ins, is_key):
    zero = np.zeros((), _aval(ins[2]).dtype) if len(ins) > 2 else np.int32(0)
    return "dynamic_update_slice", params, [*ins, zero]


def _key_select_n(params, ins, is_key):
    which, cases = ins[0], ins[1:]
    shape = _aval(cases[0]).shape
    if _aval(which).shape:
        which = sh.broadcast_in_dim(which, shape, tuple(range(len(shape) - 1)))
    return "select_n", params, [which, *cases]


def _key_same(name):
    return lambda params, ins, is_key: (name, params, ins)


def _key_unsupported(name):
    def fn(params, ins, is_key):
        raise UnmappedPrimitiveError(
            f"xform.from_jax: the JAX primitive `{name}` on a typed PRNG key array; pass raw "
            "key data (jax.random.key_data) or index the key array statically.")
    return fn


_KEY_OPS: dict[str, Callable] = {
    "slice": _key_slice, "reshape": _key_reshape, "broadcast_in_dim": _key_broadcast,
    "transpose": _key_transpose, "dynamic_slice": _key_dynamic_slice,
    "dynamic_update_slice": _key_dynamic_update_slice, "select_n": _key_select_n,
    "squeeze": _key_same("squeeze"), "rev": _key_same("rev"),
    "concatenate": _key_same("concatenate"),
    "gather": _key_unsupported("gather"), "scatter": _key_unsupported("scatter"),
}


def _is_xform_key(x) -> bool:
    return isinstance(x, KeyArray)


_THREEFRY: list = []


def _key_impl(x):
    """The PRNG implementation of a typed key leaf (None for any other leaf)."""
    if isinstance(x, KeyArray):
        if not _THREEFRY:
            _THREEFRY.append(jax.random.key_impl(jax.random.key(0)))
        return _THREEFRY[0]
    return jax.random.key_impl(x) if _is_typed_key(x) else None


def _raw_key(x):
    return x._data if isinstance(x, KeyArray) else jax.random.key_data(x)


def _is_typed_key(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
