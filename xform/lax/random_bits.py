"""Random bits: the Threefry-2x32 hash and what xform.random builds on it.

A PRNG key is, inside xform's IR, its raw data: ``uint32[..., 2]`` (JAX's threefry key data).
One primitive does the hashing, ``threefry2x32`` (named as in JAX's jaxprs): elementwise over
four ``uint32`` operands ``(k1, k2, x1, x2)``, it returns the two hashed words. Splitting keys,
folding in data and drawing bits are then ordinary xform code over it, the same computation
JAX does in its (default) partitionable threefry mode, so the bits are identical to
``jax.random``'s; and since ``threefry2x32`` is elementwise, a batched key under ``vmap`` gives
each lane exactly the stream a loop over the keys gives.

``random_gamma`` lives here too (JAX's rejection sampler, whose loop xform runs through JAX's
own implementation so that samples match bit for bit), and ``rng_bit_generator`` /
``rng_uniform`` (XLA's own bit generators, as ``jax.lax`` exposes them). The samplers'
``bitcast_convert_type`` and ``random_gamma_grad`` are xform/lax/elementwise_more.py's.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
import numpy as np
from jax import lax as jlax

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.jax_internals import random_gamma_p as jax_random_gamma_p
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_rules, bdim_at_front, broadcast_batcher,
)
from xform.interpreters.jvp import defjvp, defjvp_zero
from xform.interpreters.lowering import to_jax
from xform.lax import elementwise as ew
from xform.lax import shape as sh
from xform.lax import slicing as sl
# defined (once) with the other bit and special-function primitives; re-exported for the samplers
from xform.lax.elementwise_more import (
    bitcast_convert_type as bitcast_convert_type, random_gamma_grad as random_gamma_grad,
)
from xform.lax._helpers import broadcast_shapes_lax
from jax.extend.random import threefry2x32_p as jax_threefry2x32_p

_U32 = np.dtype(np.uint32)

# -- threefry2x32 ------------------------------------------------------------------------------
threefry2x32_p = Primitive("threefry2x32", multiple_results=True)


def _threefry2x32_abstract_eval(k1, k2, x1, x2):
    for name, a in zip(("k1", "k2", "x1", "x2"), (k1, k2, x1, x2)):
        if a.dtype != _U32:
            raise TypeError(f"threefry2x32 requires uint32 operands, got {a.dtype.name} for "
                            f"{name}.")
    shape = broadcast_shapes_lax("threefry2x32", k1, k2, x1, x2)
    return [ShapedArray(shape, _U32)] * 2


def _threefry2x32_to_jax(k1, k2, x1, x2):
    shape = jax.numpy.broadcast_shapes(*(np.shape(a) for a in (k1, k2, x1, x2)))
    args = [jlax.broadcast_in_dim(a, shape, tuple(range(len(shape) - np.ndim(a), len(shape))))
            if np.shape(a) != shape else a for a in (k1, k2, x1, x2)]
    return list(jax_threefry2x32_p.bind(*args))


def _threefry2x32_batch(axis_size, vals, dims):
    out, out_dim = broadcast_batcher(threefry2x32_p)(axis_size, vals, dims)
    return out, [out_dim, out_dim]


abstract_eval[threefry2x32_p] = _threefry2x32_abstract_eval
to_jax[threefry2x32_p] = _threefry2x32_to_jax
batch_rules[threefry2x32_p] = _threefry2x32_batch
defjvp_zero(threefry2x32_p)  # integer outputs: float0 tangents


def threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> list:
    """The Threefry-2x32 hash of the counter words ``(x1, x2)`` under the key ``(k1, k2)``,
    elementwise (rank-0 operands broadcast); returns the two hashed ``uint32`` words."""
    return threefry2x32_p.bind(k1, k2, x1, x2)


# -- random_gamma: keys uint32[*kb, 2] (kb a prefix of alpha's shape), alpha -> samples ---------
random_gamma_p = Primitive("random_gamma")


def _random_gamma_abstract_eval(key: ShapedArray, a: ShapedArray, *, log_space=False):
    if key.dtype != _U32 or not key.shape or key.shape[-1] != 2:
        raise TypeError(f"random_gamma expects threefry key data uint32[..., 2], got "
                        f"{key.str_short()}.")
    kb = key.shape[:-1]
    if a.shape[:len(kb)] != kb:
        raise TypeError(f"random_gamma: the keys' shape {kb} must be a prefix of alpha's "
                        f"shape {a.shape}.")
    return ShapedArray(a.shape, a.dtype)


def _random_gamma_to_jax(key, a, *, log_space=False):
    keys = jax.random.wrap_key_data(key, impl="threefry2x32")
    return jax_random_gamma_p.bind(keys, a, log_space=log_space)


def _random_gamma_batch(axis_size, vals, dims, *, log_space=False):
    (key, a), (kd, ad) = vals, dims
    key = bdim_at_front(key, kd, axis_size)
    a = bdim_at_front(a, ad, axis_size)
    return random_gamma_p.bind(key, a, log_space=log_space), 0


def _random_gamma_jvp_a(t, ans, key, a, *, log_space=False):
    if not log_space:
        return ew.mul(t, random_gamma_grad(a, ans))
    # d log(x) = dx / x; exp(log x) can underflow to 0, which JAX replaces by the tiny float
    x = ew.exp(ans)
    dtype = to_aval(ans).dtype
    tiny = sh.full_like(x, np.finfo(dtype).tiny)
    x = ew.select(ew.eq(x, sh.full_like(x, 0)), tiny, x)
    return ew.mul(t, ew.div(random_gamma_grad(a, x), x))


abstract_eval[random_gamma_p] = _random_gamma_abstract_eval
to_jax[random_gamma_p] = _random_gamma_to_jax
batch_rules[random_gamma_p] = _random_gamma_batch
defjvp(random_gamma_p, None, _random_gamma_jvp_a)


def random_gamma(key: Any, a: Any, log_space: bool = False) -> Any:
    """Gamma(``a``) samples (their logs when ``log_space``), one independent stream per
    element of ``a`` (JAX's algorithm); ``key`` is threefry key data whose batch shape is a
    prefix of ``a``'s shape."""
    return random_gamma_p.bind(key, a, log_space=bool(log_space))


# -- keys as raw threefry data ----------------------------------------------------------------
def _u32(x: Any) -> Any:
    return ew.convert_element_type(x, _U32)


def _key_words(key: Any) -> tuple[Any, Any]:
    """The two words of a single key ``uint32[2]``."""
    return (sl.index_in_dim(key, 0, axis=0, keepdims=False),
            sl.index_in_dim(key, 1, axis=0, keepdims=False))


def iota_2x32_shape(shape: Sequence[int]) -> tuple[Any, Any]:
    """The row-major index of every element of ``shape`` as a 64-bit count split into
    ``(hi, lo)`` ``uint32`` words (the counters threefry hashes)."""
    shape = tuple(int(d) for d in shape)
    if math.prod(shape) >= 2 ** 32:
        raise NotImplementedError("random bits arrays of 2**32 elements or more")
    if not shape:
        zero = sh.full((), 0, _U32)
        return zero, zero
    lo, stride = None, 1
    for dim in reversed(range(len(shape))):
        term = sh.broadcasted_iota(_U32, shape, dim)
        if stride != 1:
            term = ew.mul(term, np.uint32(stride))
        lo = term if lo is None else ew.add(lo, term)
        stride *= shape[dim]
    return sh.full(shape, 0, _U32), lo


def threefry_seed(seed: Any) -> Any:
    """Raw key data ``uint32[2]`` from an integer seed: its high and low 32-bit words."""
    aval = to_aval(seed)
    if aval.shape:
        raise TypeError(f"PRNG key seed must be a scalar; got a value of shape {aval.shape}.")
    if not np.issubdtype(aval.dtype, np.integer):
        raise TypeError(f"PRNG key seed must be an integer; got dtype {aval.dtype.name}.")
    bits = aval.dtype.itemsize * 8
    # a shift by the full width gives 0 (XLA's semantics), as JAX computes the high word
    hi = ew.shift_right_logical(seed, np.array(32, aval.dtype)) if bits > 32 else \
        sh.full((), 0, aval.dtype)
    lo = ew.bitwise_and(seed, np.array(0xFFFFFFFF, aval.dtype)) if bits > 32 else seed
    return sl.concatenate([sh.reshape(_u32(hi), (1,)), sh.reshape(_u32(lo), (1,))], 0)


def threefry_split(key: Any, shape: Sequence[int]) -> Any:
    """``key`` (``uint32[2]``) split into keys ``uint32[*shape, 2]``."""
    k1, k2 = _key_words(key)
    hi, lo = iota_2x32_shape(shape)
    b1, b2 = threefry2x32(k1, k2, hi, lo)
    nd = len(tuple(shape))
    return sl.concatenate([sh.expand_dims(b1, (nd,)), sh.expand_dims(b2, (nd,))], nd)


def threefry_fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and a 32-bit scalar ``data``."""
    k1, k2 = _key_words(key)
    b1, b2 = threefry2x32(k1, k2, sh.full((), 0, _U32), _u32(data))
    return sl.concatenate([sh.reshape(b1, (1,)), sh.reshape(b2, (1,))], 0)


_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def threefry_random_bits(key: Any, bit_width: int, shape: Sequence[int]) -> Any:
    """Uniform random bits ``uint{bit_width}[*shape]`` from one key ``uint32[2]``."""
    if bit_width not in _UINT:
        raise TypeError(f"random bits require an 8-, 16-, 32- or 64-bit width, got {bit_width}")
    k1, k2 = _key_words(key)
    hi, lo = iota_2x32_shape(shape)
    b1, b2 = threefry2x32(k1, k2, hi, lo)
    dtype = np.dtype(_UINT[bit_width])
    if bit_width == 64:
        high = ew.convert_element_type(b1, dtype)
        return ew.bitwise_or(ew.shift_left(high, np.array(32, dtype)),
                             ew.convert_element_type(b2, dtype))
    out = ew.bitwise_xor(b1, b2)
    return out if bit_width == 32 else ew.convert_element_type(out, dtype)


# -- rng_bit_generator: XLA's RngBitGenerator (a key uint32[4] in, a new key and bits out) ------
rng_bit_generator_p = Primitive("rng_bit_generator", multiple_results=True)
_RBG_DTYPES = frozenset(np.dtype(d) for d in _UINT.values())


def _rbg_abstract_eval(key: ShapedArray, *, shape, dtype, algorithm, out_sharding):
    if not ((key.shape == (4,) and key.dtype == _U32)
            or (key.shape == (2,) and key.dtype == np.dtype(np.uint64))):
        raise TypeError(f"rng_bit_generator: key must be uint32[4] (or uint64[2]), got "
                        f"{key.str_short()}; make one with `jax.random.key_data` of an 'rbg' "
                        f"key or `xform.numpy.zeros(4, 'uint32')`.")
    return [ShapedArray(key.shape, key.dtype), ShapedArray(tuple(shape), np.dtype(dtype))]


def _rbg_to_jax(key, *, shape, dtype, algorithm, out_sharding):
    return list(jlax.rng_bit_generator(key, shape, dtype, algorithm, out_sharding=out_sharding))


def _rbg_batch(axis_size, vals, dims, *, shape, dtype, algorithm, out_sharding):
    # JAX's rule, kept so that vmap draws the same bits: the first lane's key draws the whole
    # batch's bits at once and its new key replaces the first lane's
    (keys,), (d,) = vals, dims
    params = {"dtype": dtype, "algorithm": algorithm, "out_sharding": out_sharding}
    keys = bdim_at_front(keys, d, axis_size)
    new_key, bits = rng_bit_generator_p.bind(sl.index_in_dim(keys, 0, 0, keepdims=False),
                                             shape=(axis_size, *shape), **params)
    return [sl.dynamic_update_index_in_dim(keys, new_key, 0, 0), bits], [0, 0]


abstract_eval[rng_bit_generator_p] = _rbg_abstract_eval
to_jax[rng_bit_generator_p] = _rbg_to_jax
batch_rules[rng_bit_generator_p] = _rbg_batch
defjvp_zero(rng_bit_generator_p)  # integer outputs: float0 tangents


def rng_bit_generator(key: Any, shape: Sequence[int], dtype: Any = np.uint32,
                      algorithm: Any = jlax.RandomAlgorithm.RNG_DEFAULT, *,
                      out_sharding: Any = None) -> tuple[Any, Any]:
    """XLA's stateless bit generator, as ``jax.lax.rng_bit_generator``: from ``key``
    (``uint32[4]``) returns ``(new_key, bits)`` with ``bits`` of ``shape`` and an unsigned
    ``dtype``; the bits are XLA's, identical to JAX's for the same key and algorithm."""
    dtype = np.dtype(dtype)
    if dtype not in _RBG_DTYPES:
        raise TypeError(f"rng_bit_generator: unsupported dtype {dtype}; use uint8, uint16, "
                        f"uint32 or uint64.")
    dtype = canonicalize_dtype(dtype)  # uint64 is uint32 unless x64 is on, as in JAX
    shape = tuple(int(d) for d in shape)
    return tuple(rng_bit_generator_p.bind(key, shape=shape, dtype=dtype,
                                          algorithm=jlax.RandomAlgorithm(algorithm),
                                          out_sharding=out_sharding))


# -- rng_uniform: XLA's stateful uniform generator ------------------------------------------
rng_uniform_p = Primitive("rng_uniform")


def _rng_uniform_abstract_eval(a: ShapedArray, b: ShapedArray, *, shape):
    if a.dtype != b.dtype:
        raise ValueError(f"Arguments to rng_uniform must have identical dtypes, got "
                         f"{a.dtype} and {b.dtype}.")
    if a.shape or b.shape:
        raise ValueError(f"Arguments to rng_uniform must be scalars; got shapes {a.shape} and "
                         f"{b.shape}.")
    return ShapedArray(tuple(shape), a.dtype, a.weak_type and b.weak_type)


def _rng_uniform_batch(axis_size, vals, dims, *, shape):
    a, b = vals
    if all(d is None for d in dims):
        return rng_uniform_p.bind(a, b, shape=(axis_size, *shape)), 0
    aval = to_aval(a)
    if not np.issubdtype(aval.dtype, np.floating):
        raise NotImplementedError("rng_uniform under vmap with batched integer bounds: draw "
                                  "with unbatched bounds, or use jax.random.randint.")
    # a per-lane affine map of one uniform draw on [0, 1)
    out_shape = (axis_size, *shape)
    u = rng_uniform_p.bind(sh.full((), 0, aval.dtype), sh.full((), 1, aval.dtype),
                           shape=out_shape)
    lanes = [sh.broadcast_in_dim(bdim_at_front(x, d, axis_size) if d is not None
                                 else sh.broadcast(x, (axis_size,)), out_shape, (0,))
             for x, d in zip(vals, dims)]
    return ew.add(lanes[0], ew.mul(ew.sub(lanes[1], lanes[0]), u)), 0


def _rng_uniform_jvp_weight(which: int):
    # x = a + (b - a) u with u = (x - a) / (b - a): dx/da = 1 - u, dx/db = u
    def partial(t, ans, a, b, *, shape):
        u = ew.div(ew.sub(ans, a), ew.sub(b, a))
        w = ew.sub(sh.full_like(u, 1), u) if which == 0 else u
        return ew.mul(sh.broadcast_in_dim(t, tuple(shape), ()), w)
    return partial


abstract_eval[rng_uniform_p] = _rng_uniform_abstract_eval
to_jax[rng_uniform_p] = lambda a, b, *, shape: jlax.rng_uniform(a, b, shape)
batch_rules[rng_uniform_p] = _rng_uniform_batch
defjvp(rng_uniform_p, _rng_uniform_jvp_weight(0), _rng_uniform_jvp_weight(1))


def rng_uniform(a: Any, b: Any, shape: Sequence[int]) -> Any:
    """Uniform numbers in ``[a, b)`` from XLA's stateful generator, as ``jax.lax.rng_uniform``
    (not reproducible: use ``xform.random`` for keyed, reproducible draws)."""
    return rng_uniform_p.bind(a, b, shape=tuple(int(d) for d in shape))


__all__ = [
    "bitcast_convert_type", "iota_2x32_shape", "random_gamma", "random_gamma_grad",
    "rng_bit_generator", "rng_uniform",
    "threefry2x32", "threefry_fold_in", "threefry_random_bits", "threefry_seed",
    "threefry_split",
]
