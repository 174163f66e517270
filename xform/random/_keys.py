"""Keys (raw and typed), bits, and jax.random's first samplers; the package's docstring in
``xform/random/__init__.py`` says how they match JAX."""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Sequence

import jax
import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.core.avals import canonicalize_dtype
from xform.core.trace import Tracer, to_aval
from xform.interpreters.tracing import leaf_converters
from xform.lax import random_bits as rb
from xform.lax.compiled import compiled as _jit
from xform.numpy import linalg

__all__ = [
    "KeyArray", "PRNGKey", "bernoulli", "bits", "categorical", "choice", "exponential",
    "fold_in", "gamma", "gumbel", "key", "key_data", "multivariate_normal", "normal",
    "permutation", "randint", "split", "truncated_normal", "uniform", "wrap_key_data",
]


# -- typed keys ---------------------------------------------------------------------------------
class KeyArray:
    """An array of typed threefry PRNG keys (dtype ``key<fry>``), over ``uint32[*shape, 2]``.

    Made by :func:`key`, :func:`split` and :func:`wrap_key_data`; :func:`key_data` gives the data.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Any):
        self._data = data

    @property
    def dtype(self):
        return _key_dtype()

    @property
    def shape(self) -> tuple:
        return tuple(np.shape(self._data) if not isinstance(self._data, Tracer)
                     else self._data.aval.shape)[:-1]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __getitem__(self, idx) -> KeyArray:
        idx = idx if isinstance(idx, tuple) else (idx,)
        if any(i is Ellipsis for i in idx):
            idx = idx + (slice(None),)  # the data's trailing axis stays whole
        return KeyArray(self._data[idx])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def reshape(self, *shape) -> KeyArray:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return KeyArray(xnp.reshape(self._data, (*shape, 2)))

    def __repr__(self):
        if isinstance(self._data, Tracer):
            return f"KeyArray(key<fry>{list(self.shape)}, data={self._data!r})"
        return f"Array({self.shape}, dtype=key<fry>) overlaying:\n{np.asarray(self._data)}"


jax.tree_util.register_pytree_node(
    KeyArray, lambda k: ((k._data,), None), lambda _, children: KeyArray(children[0]))

_KEY_DTYPE = []


def _key_dtype():
    if not _KEY_DTYPE:
        _KEY_DTYPE.append(jax.random.key(0).dtype)
    return _KEY_DTYPE[0]


def _is_jax_typed_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _from_jax_key(key: Any) -> KeyArray:
    """A JAX typed key array as xform's (the same threefry data)."""
    if jax.random.key_impl(key) != "threefry2x32":
        raise TypeError(f"xform supports threefry2x32 PRNG keys, got a key array of "
                        f"{jax.random.key_impl(key)}; pass jax.random.key_data(key) instead.")
    return KeyArray(jax.random.key_data(key))


# JAX's typed keys given to xform.jit, xform.vmap (and what stages) become KeyArrays
leaf_converters.append((_is_jax_typed_key, _from_jax_key))


def _unwrap(name: str, key: Any, single: bool = True) -> tuple[Any, bool]:
    """``(raw data uint32[..., 2], was_typed)``; checks it is a single key when ``single``."""
    if isinstance(key, KeyArray):
        data, typed = key._data, True
    elif _is_jax_typed_key(key):
        if jax.random.key_impl(key) != "threefry2x32":
            raise TypeError(f"{name}: xform.random supports threefry2x32 keys, got "
                            f"{jax.random.key_impl(key)}.")
        data, typed = jax.random.key_data(key), True
    else:
        aval = to_aval(key)
        if aval.dtype != np.uint32 or not aval.shape or aval.shape[-1] != 2:
            raise TypeError(
                f"{name} requires a PRNG key: a typed key from xform.random.key or a raw key "
                f"uint32[2] from xform.random.PRNGKey, got {aval.str_short()}.")
        data, typed = key, False
    if single and to_aval(data).shape != (2,):
        shape = to_aval(data).shape[:-1]
        raise TypeError(f"{name} accepts a single key, but was given a key array of shape "
                        f"{shape} != (). Use xform.vmap for batching.")
    return data, typed


def _rewrap(data: Any, typed: bool) -> Any:
    return KeyArray(data) if typed else data


def _seed_array(seed: Any) -> Any:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        dtype = canonicalize_dtype(np.int64)
        info = np.iinfo(dtype)
        if not info.min <= int(seed) <= info.max:
            raise OverflowError(f"Python int {seed} too large to convert to {dtype.name}")
        return np.array(seed, dtype)
    return seed


def _check_impl(impl):
    if impl not in (None, "threefry2x32"):
        raise ValueError(f"xform.random supports impl='threefry2x32' only, got {impl!r}.")


def key(seed: Any, *, impl: Any = None) -> KeyArray:
    """A typed PRNG key (shape ``()``, dtype ``key<fry>``) from an integer seed, as
    ``jax.random.key``."""
    _check_impl(impl)
    return KeyArray(rb.threefry_seed(_seed_array(seed)))


def PRNGKey(seed: Any, *, impl: Any = None) -> Any:  # noqa: N802 - jax.random's name
    """A raw PRNG key ``uint32[2]`` from an integer seed, as ``jax.random.PRNGKey``."""
    _check_impl(impl)
    return rb.threefry_seed(_seed_array(seed))


def key_data(keys: Any) -> Any:
    """The ``uint32[..., 2]`` data under typed keys (raw keys are returned as they are)."""
    return _unwrap("key_data", keys, single=False)[0]


def wrap_key_data(key_bits_array: Any, *, impl: Any = None) -> KeyArray:
    """Typed keys over ``uint32[..., 2]`` data, as ``jax.random.wrap_key_data``."""
    _check_impl(impl)
    aval = to_aval(key_bits_array)
    if aval.dtype != np.uint32 or not aval.shape or aval.shape[-1] != 2:
        raise TypeError(f"wrap_key_data expects uint32[..., 2] threefry key data, got "
                        f"{aval.str_short()}.")
    return KeyArray(key_bits_array)


def split(key: Any, num: int | Sequence[int] = 2) -> Any:
    """``num`` new keys (a leading axis, or the shape ``num``) from one key."""
    data, typed = _unwrap("split", key)
    shape = tuple(int(n) for n in num) if isinstance(num, (tuple, list)) else (int(num),)
    return _rewrap(rb.threefry_split(data, shape), typed)


def fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and a 32-bit integer ``data``, as ``jax.random.fold_in``."""
    kdata, typed = _unwrap("fold_in", key)
    if np.ndim(data) if not isinstance(data, Tracer) else data.aval.ndim:
        raise TypeError("fold_in accepts a scalar, but was given an array of shape "
                        f"{to_aval(data).shape} != (). Use xform.vmap for batching.")
    if isinstance(data, (int, np.integer)):
        data = np.array(int(data) % 2 ** 32, np.uint32)
    return _rewrap(rb.threefry_fold_in(kdata, data), typed)


def _bits(data: Any, bit_width: int, shape: Sequence[int]) -> Any:
    return rb.threefry_random_bits(data, bit_width, tuple(shape))


def _split2(data: Any) -> tuple[Any, Any]:
    keys = rb.threefry_split(data, (2,))
    return lax.index_in_dim(keys, 0, keepdims=False), lax.index_in_dim(keys, 1, keepdims=False)


def _cast(x: Any, dtype: Any) -> Any:
    """``x`` as ``dtype``; Python and NumPy scalars become NumPy constants right away."""
    if isinstance(x, (int, float, bool, np.generic, np.ndarray)):
        return np.asarray(x, dtype)
    return lax.convert_element_type(x, dtype)


def _shape(shape: Any) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def _float_dtype(name: str, dtype: Any) -> np.dtype:
    dtype = canonicalize_dtype(float if dtype is None else dtype)
    if not jax.dtypes.issubdtype(dtype, np.floating):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dtype}")
    return dtype


def _check_shape(name: str, shape: tuple, *param_shapes: tuple) -> None:
    if param_shapes:
        try:
            ok = np.broadcast_shapes(shape, *param_shapes) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{name} parameter shapes must be broadcast-compatible with shape "
                             f"argument, and the result of broadcasting the shapes must equal "
                             f"the shape argument, but got result {shape} for shape argument "
                             f"{shape} and parameter shapes {param_shapes}.")


def bits(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Uniform random bits of an unsigned dtype (default uint32), as ``jax.random.bits``."""
    data, _ = _unwrap("bits", key)
    dtype = canonicalize_dtype(np.uint64 if dtype is None else dtype)
    if not jax.dtypes.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return _bits(data, dtype.itemsize * 8, _shape(shape))


# -- continuous samplers --------------------------------------------------------------------------
def _uniform(data: Any, shape: tuple, dtype: np.dtype, minval: Any, maxval: Any) -> Any:
    finfo = jax.dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    rng_bits = 8 if nmant < 8 else nbits
    uint = np.dtype(rb._UINT[nbits])
    raw = _bits(data, rng_bits, shape)
    if rng_bits != nbits:
        raw = lax.convert_element_type(raw, uint)
    # random mantissa bits under the exponent of 1.0 give a float in [1, 2); subtract 1
    mant = lax.shift_right_logical(raw, np.array(rng_bits - nmant, uint))
    one_bits = np.array(1.0, dtype).view(uint)
    floats = lax.sub(rb.bitcast_convert_type(lax.bitwise_or(mant, one_bits), dtype),
                     np.array(1.0, dtype))
    minval = lax.broadcast_to_rank(_cast(minval, dtype), len(shape))
    maxval = lax.broadcast_to_rank(_cast(maxval, dtype), len(shape))
    scaled = lax.add(lax.mul(floats, lax.sub(maxval, minval)), minval)
    return lax.max(minval, lax.reshape(scaled, shape) if to_aval(scaled).shape != shape
                   else scaled)


def uniform(key: Any, shape: Sequence[int] = (), dtype: Any = None, minval: Any = 0.0,
            maxval: Any = 1.0) -> Any:
    """Uniform samples in ``[minval, maxval)``, as ``jax.random.uniform``."""
    data, _ = _unwrap("uniform", key)
    shape, dtype = _shape(shape), _float_dtype("uniform", dtype)
    _check_shape("uniform", shape, np.shape(minval), np.shape(maxval))
    return _uniform_jit(data, _cast(minval, dtype), _cast(maxval, dtype), shape=shape,
                        dtype=dtype)


def _normal(data: Any, shape: tuple, dtype: np.dtype) -> Any:
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _uniform(data, shape, dtype, lo, np.array(1.0, dtype))
    return lax.mul(np.array(np.sqrt(2), dtype), lax.erf_inv(u))


def normal(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Standard normal samples (inverse-erf of a uniform), as ``jax.random.normal``."""
    data, _ = _unwrap("normal", key)
    shape = _shape(shape)
    dtype = canonicalize_dtype(float if dtype is None else dtype)
    if jax.dtypes.issubdtype(dtype, np.complexfloating):
        return _normal_complex_jit(data, shape=shape, dtype=dtype)
    return _normal_jit(data, shape=shape, dtype=_float_dtype("normal", dtype))


@partial(_jit, static_argnames=("shape", "dtype"))
def _normal_complex_jit(data, *, shape, dtype):
    real = np.finfo(dtype).dtype
    k_re, k_im = _split2(data)
    re = lax.convert_element_type(_normal(k_re, shape, real), dtype)
    im = lax.convert_element_type(_normal(k_im, shape, real), dtype)
    return xnp.divide(re + 1j * im, np.array(np.sqrt(2), dtype))


def truncated_normal(key: Any, lower: Any, upper: Any, shape: Sequence[int] | None = None,
                     dtype: Any = None) -> Any:
    """Normal samples truncated to the open interval ``(lower, upper)``."""
    data, _ = _unwrap("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    if shape is None:
        shape = np.broadcast_shapes(np.shape(lower), np.shape(upper))
    else:
        shape = _shape(shape)
        _check_shape("truncated_normal", shape, np.shape(lower), np.shape(upper))
    return _truncated_normal_jit(data, _cast(lower, dtype), _cast(upper, dtype),
                                 shape=tuple(shape), dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _truncated_normal_jit(data, lower, upper, *, shape, dtype):
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = _cast(lower, dtype)
    upper = _cast(upper, dtype)
    a = lax.erf(lax.div(lower, sqrt2))
    b = lax.erf(lax.div(upper, sqrt2))
    out = lax.mul(sqrt2, lax.erf_inv(_uniform(data, tuple(shape), dtype, a, b)))
    # keep rounding from reaching the bounds themselves
    lo = lax.nextafter(lax.stop_gradient(lower), np.array(np.inf, dtype))
    hi = lax.nextafter(lax.stop_gradient(upper), np.array(-np.inf, dtype))
    return xnp.minimum(xnp.maximum(out, lo), hi)


def exponential(key: Any, shape: Sequence[int] = (), dtype: Any = None) -> Any:
    """Exponential(1) samples, ``-log1p(-u)``, as ``jax.random.exponential``."""
    data, _ = _unwrap("exponential", key)
    shape, dtype = _shape(shape), _float_dtype("exponential", dtype)
    return _exponential_jit(data, shape=shape, dtype=dtype)


@partial(_jit, static_argnames=("shape", "dtype"))
def _exponential_jit(data, *, shape, dtype):
    u = _uniform(data, shape, dtype, 0.0, 1.0)
    return lax.neg(lax.log1p(lax.neg(u)))


def _gumbel(data: Any, shape: tuple, dtype: np.dtype, mode: str) -> Any:
    info = jax.dtypes.finfo(dtype)
    if mode == "high":
        u = _uniform(data, (2,) + shape, dtype, 0.0, 1.0)
        high = lax.index_in_dim(u, 0, keepdims=False)
        low = lax.index_in_dim(u, 1, keepdims=False)
        x = xnp.where(high >= 0.5, high,
                      high + np.array(2.0 ** -info.nmant, dtype) * low + np.array(info.tiny, dtype))
        return lax.neg(lax.log(lax.neg(lax.log1p(lax.neg(x)))))
    u = _uniform(data, shape, dtype, np.array(info.tiny, dtype), 1.0)
    return lax.neg(lax.log(lax.neg(lax.log(u))))


def _gumbel_mode(mode: str | None) -> str:
    if mode is None:
        mode = "high" if jax.config.jax_high_dynamic_range_gumbel else "low"
    if mode not in ("high", "low"):
        raise ValueError(f"xform.random supports gumbel modes 'high' and 'low', got {mode!r}")
    return mode


def gumbel(key: Any, shape: Sequence[int] = (), dtype: Any = None, mode: str | None = None):
    """Standard Gumbel samples, as ``jax.random.gumbel`` (modes 'low' and 'high')."""
    data, _ = _unwrap("gumbel", key)
    shape, dtype = _shape(shape), _float_dtype("gumbel", dtype)
    return _gumbel_jit(data, shape=shape, dtype=dtype, mode=_gumbel_mode(mode))


def gamma(key: Any, a: Any, shape: Sequence[int] | None = None, dtype: Any = None) -> Any:
    """Gamma(``a``) samples (Marsaglia-Tsang), differentiable in ``a``, as
    ``jax.random.gamma``."""
    data, _ = _unwrap("gamma", key)
    return _gamma(data, a, shape, _float_dtype("gamma", dtype), log_space=False)


def _gamma(data: Any, a: Any, shape: Any, dtype: np.dtype, log_space: bool) -> Any:
    a_shape = to_aval(a).shape if isinstance(a, Tracer) else np.shape(a)
    if shape is None:
        shape = a_shape
    else:
        shape = _shape(shape)
        _check_shape("gamma", shape, a_shape)
    a = _cast(a, dtype)
    if a_shape != tuple(shape):
        a = xnp.broadcast_to(a, tuple(shape))
    return rb.random_gamma(data, a, log_space=log_space)


def multivariate_normal(key: Any, mean: Any, cov: Any, shape: Sequence[int] | None = None,
                        dtype: Any = None, method: str = "cholesky") -> Any:
    """Samples of N(mean, cov), as ``jax.random.multivariate_normal`` (method 'cholesky',
    'eigh' or 'svd'; these need xform.numpy.linalg)."""
    data, _ = _unwrap("multivariate_normal", key)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    mean, cov = xnp.asarray(mean), xnp.asarray(cov)
    inexact = xnp.result_type(mean, cov, 1.0)
    mean, cov = mean.astype(inexact), cov.astype(inexact)
    dtype = inexact if dtype is None else _float_dtype("multivariate_normal", dtype)
    if mean.ndim < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == "
                         f"{mean.ndim}")
    if cov.ndim < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == "
                         f"{cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {cov.shape}.")
    if shape is None:
        shape = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    else:
        shape = _shape(shape)
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    if method == "svd":
        u, s, _ = linalg.svd(cov)
        factor = u * xnp.sqrt(s[..., None, :])
    elif method == "eigh":
        w, v = linalg.eigh(cov)
        factor = v * xnp.sqrt(w[..., None, :])
    else:
        factor = linalg.cholesky(cov)
    z = _normal_jit(data, shape=tuple(shape) + (n,), dtype=dtype)
    return mean + xnp.einsum("...ij,...j->...i", factor, z)


_uniform_jit = _jit(lambda data, minval, maxval, *, shape, dtype:
                    _uniform(data, shape, dtype, minval, maxval),
                    static_argnames=("shape", "dtype"))
_normal_jit = _jit(lambda data, *, shape, dtype: _normal(data, shape, dtype),
                   static_argnames=("shape", "dtype"))
_gumbel_jit = _jit(lambda data, *, shape, dtype, mode: _gumbel(data, shape, dtype, mode),
                   static_argnames=("shape", "dtype", "mode"))


# -- discrete samplers ----------------------------------------------------------------------------
def _clip_convert(val: Any, dtype: np.dtype) -> Any:
    """``val`` (an integer array) converted to ``dtype``, clipped to its range (no wrapping)."""
    src, dst = jax.dtypes.iinfo(to_aval(val).dtype), jax.dtypes.iinfo(dtype)
    vd = to_aval(val).dtype
    lo = np.array(max(src.min, dst.min), vd)
    hi = np.array(min(src.max, dst.max), vd)
    return lax.convert_element_type(lax.clamp(lo, val, hi), dtype)


def _as_int(x: Any) -> Any:
    x = xnp.asarray(x)
    return x if jax.dtypes.issubdtype(x.dtype, np.integer) else x.astype(int)


def _randint(data: Any, shape: tuple, minval: Any, maxval: Any, dtype: np.dtype) -> Any:
    minval, maxval = _as_int(minval), _as_int(maxval)
    info = jax.dtypes.iinfo(dtype)
    top = _clip_convert(np.array(info.max, dtype), maxval.dtype)
    maxval_out_of_range = lax.gt(maxval, top)
    minval = lax.broadcast_to_rank(_clip_convert(minval, dtype), len(shape))
    maxval = lax.broadcast_to_rank(_clip_convert(maxval, dtype), len(shape))
    maxval_out_of_range = lax.broadcast_to_rank(maxval_out_of_range, len(shape))
    nbits = info.bits
    uint = np.dtype(rb._UINT[nbits])
    k1, k2 = _split2(data)
    higher, lower = _bits(k1, nbits, shape), _bits(k2, nbits, shape)
    span = lax.convert_element_type(lax.sub(maxval, minval), uint)
    one = xnp.ones_like(span)
    # span 1 when maxval <= minval (minval is returned); one larger when maxval is out of range
    span = lax.select(lax.le(maxval, minval), one, span)
    span = lax.select(lax.bitwise_and(maxval_out_of_range, lax.gt(maxval, minval)),
                      lax.add(span, one), span)
    # (hi * 2**nbits + lo) % span from two nbits-wide draws, without overflow
    mult = lax.rem(xnp.full_like(span, 2 ** (nbits // 2)), span)
    mult = lax.rem(lax.mul(mult, mult), span)
    offset = lax.add(lax.mul(lax.rem(higher, _full(span, shape)), _full(mult, shape)),
                     lax.rem(lower, _full(span, shape)))
    offset = lax.rem(offset, _full(span, shape))
    return lax.add(minval, lax.convert_element_type(offset, dtype))


_randint_jit = _jit(lambda data, minval, maxval, *, shape, dtype:
                    _randint(data, shape, minval, maxval, dtype),
                    static_argnames=("shape", "dtype"))


def _full(x: Any, shape: tuple) -> Any:
    """``x`` broadcast up to ``shape`` (lax's size-1 broadcasting covers the rest)."""
    return x if to_aval(x).shape == shape else xnp.broadcast_to(x, shape)


def randint(key: Any, shape: Sequence[int], minval: Any, maxval: Any, dtype: Any = None):
    """Uniform integers in ``[minval, maxval)``, as ``jax.random.randint``."""
    data, _ = _unwrap("randint", key)
    shape = _shape(shape)
    dtype = canonicalize_dtype(int if dtype is None else dtype)
    if not jax.dtypes.issubdtype(dtype, np.integer):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    info = jax.dtypes.iinfo(dtype)
    sample_dtype = dtype
    if info.bits < 32:  # sampled in 32 bits, then cast, as JAX does (less modulo bias)
        sample_dtype = np.dtype(np.int32)
        minval = xnp.clip(xnp.asarray(minval).astype(np.int32), int(info.min), int(info.max))
        maxval = xnp.clip(xnp.asarray(maxval).astype(np.int32), int(info.min),
                          int(info.max) + 1)
    out = _randint_jit(data, minval, maxval, shape=shape, dtype=sample_dtype)
    return lax.convert_element_type(out, dtype)


def bernoulli(key: Any, p: Any = 0.5, shape: Sequence[int] | None = None,
              mode: str = "low") -> Any:
    """Boolean samples that are True with probability ``p``, as ``jax.random.bernoulli``."""
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    data, _ = _unwrap("bernoulli", key)
    p = xnp.asarray(p)
    if not jax.dtypes.issubdtype(p.dtype, np.floating):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    if shape is None:
        shape = p.shape
    else:
        shape = _shape(shape)
        _check_shape("bernoulli", shape, p.shape)
    return _bernoulli_jit(data, p, shape=tuple(shape), mode=mode)


@partial(_jit, static_argnames=("shape", "mode"))
def _bernoulli_jit(data, p, *, shape, mode):
    dtype = p.dtype
    if mode == "high":
        u = _uniform(data, (2, *shape), dtype, 0.0, 1.0)
        u1 = lax.index_in_dim(u, 0, keepdims=False)
        u2 = lax.index_in_dim(u, 1, keepdims=False)
        u2 = u2 * np.array(2.0 ** -jax.dtypes.finfo(dtype).nmant, dtype)
        return u2 < p - u1
    return _uniform(data, tuple(shape), dtype, 0.0, 1.0) < p


def categorical(key: Any, logits: Any, axis: int = -1, shape: Sequence[int] | None = None,
                replace: bool = True, mode: str | None = None) -> Any:
    """Samples of category indices with log-probabilities ``logits`` along ``axis`` (the
    Gumbel-max trick), as ``jax.random.categorical``."""
    data, _ = _unwrap("categorical", key)
    logits = xnp.asarray(logits)
    axis = axis % logits.ndim
    batch_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    if shape is None:
        shape = batch_shape
    else:
        shape = _shape(shape)
        _check_shape("categorical", shape, batch_shape)
    return _categorical_jit(data, logits, axis=axis, shape=tuple(shape), replace=replace,
                            mode=_gumbel_mode(mode))


@partial(_jit, static_argnames=("axis", "shape", "replace", "mode"))
def _categorical_jit(data, logits, *, axis, shape, replace, mode):
    batch_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        neg_axis = axis - logits.ndim
        logits_shape = list(shape[len(shape) - len(batch_shape):])
        logits_shape.insert(neg_axis % logits.ndim, logits.shape[axis])
        g = _gumbel(data, (*prefix, *logits_shape), logits.dtype, mode)
        z = g + lax.expand_dims(logits, tuple(range(len(prefix))))
        return xnp.argmax(z, axis=neg_axis)
    z = logits + _gumbel(data, logits.shape, logits.dtype, mode)
    k = math.prod(prefix)
    if k > logits.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({k}) cannot exceed number "
                         f"of categories ({logits.shape[axis]}).")
    _, idx = lax.top_k(xnp.moveaxis(z, axis, -1), k)
    return lax.reshape(idx, shape, (idx.ndim - 1, *range(idx.ndim - 1)))


@partial(_jit, static_argnames=("axis",))
def _shuffle(data: Any, x: Any, axis: int) -> Any:
    # Sorting by random 32-bit keys, repeated often enough that ties are unlikely, as JAX does.
    size = math.prod(to_aval(x).shape)
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, sub = _split2(data)
        sort_keys = _bits(sub, 32, to_aval(x).shape)
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


def permutation(key: Any, x: Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``arange(x)`` or of ``x`` along ``axis``."""
    data, _ = _unwrap("permutation", key)
    if isinstance(x, (int, np.integer)) or (not isinstance(x, Tracer) and np.ndim(x) == 0):
        if not jax.dtypes.issubdtype(np.asarray(x).dtype, np.integer):
            raise TypeError("x must be an integer or at least 1-dimensional")
        return _shuffle(data, xnp.arange(int(x)), axis=0)
    x = xnp.asarray(x)
    if x.ndim == 0:
        raise TypeError("x must be an integer or at least 1-dimensional (a traced scalar "
                        "cannot give the length)")
    axis = axis % x.ndim
    if independent or x.ndim == 1:
        return _shuffle(data, x, axis=axis)
    ind = _shuffle(data, xnp.arange(x.shape[axis]), axis=0)
    return xnp.take(x, ind, axis=axis)


def choice(key: Any, a: Any, shape: Sequence[int] = (), replace: bool = True, p: Any = None,
           axis: int = 0, mode: str | None = None) -> Any:
    """Random samples from ``a`` (or ``arange(a)``), as ``jax.random.choice``."""
    data, typed = _unwrap("choice", key)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape argument of xform.random.choice must be a sequence, got "
                        f"{shape}")
    shape = _shape(shape)
    if isinstance(a, (int, np.integer)) or (not isinstance(a, Tracer) and np.ndim(a) == 0):
        arr, n_inputs = None, int(a)
    else:
        arr = xnp.asarray(a)
        axis = axis % arr.ndim
        n_inputs = arr.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return xnp.zeros(shape, dtype=int if arr is None else arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population "
                         f"(size {n_inputs}) when 'replace=False'")
    if p is None:
        if replace:
            ind = randint(data, shape, 0, n_inputs)
            result = ind if arr is None else xnp.take(arr, ind, axis=axis)
        else:
            perm = permutation(data, n_inputs if arr is None else arr, axis)
            result = lax.slice_in_dim(perm, 0, n_draws, axis=0 if arr is None else axis)
    else:
        p = xnp.asarray(p)
        if not jax.dtypes.issubdtype(p.dtype, np.inexact):
            p = p.astype(float)
        if p.shape != (n_inputs,):
            raise ValueError("p must be None or a 1D vector with the same size as a.shape[axis]."
                             f" p has shape {p.shape} and a.shape[axis] is {n_inputs}.")
        if replace:
            p_cuml = xnp.cumsum(p)
            r = p_cuml[-1] * (1 - _uniform(data, shape, p.dtype, 0.0, 1.0))
            # searchsorted(p_cuml, r) (side 'left'): how many cumulative sums lie below r
            below = xnp.expand_dims(p_cuml, tuple(range(len(shape)))) < r[..., None]
            ind = xnp.sum(below.astype(int), axis=-1)
        else:
            g = _gumbel(data, (n_inputs,), p.dtype, _gumbel_mode(mode)) + xnp.log(p)
            ind = lax.top_k(g, n_draws)[1].astype(int)
        result = ind if arr is None else xnp.take(arr, ind, axis=axis)
    out_shape = shape if arr is None else arr.shape[:axis] + shape + arr.shape[axis + 1:]
    return xnp.reshape(result, out_shape)
