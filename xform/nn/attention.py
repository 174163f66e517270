"""``dot_product_attention``: scaled dot-product attention with JAX's signature and its XLA
implementation's semantics (grouped-query heads, bias, boolean mask, causal and local-window
masks, sequence lengths, the log-sum-exp residual).

Layouts are JAX's: query ``(B, T, N, H)``, key and value ``(B, S, K, H)`` with ``N`` a multiple of
``K`` (each key/value head serves ``N // K`` query heads), bias and mask broadcastable to
``(B, N, T, S)``; the batch dimension may be left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import xform.numpy as xnp
from xform import lax
from xform.nn.functions import softmax
from xform.scipy.special import logsumexp

__all__ = ["dot_product_attention"]


def _ensure_4d(t: Any) -> Any:
    t = xnp.asarray(t)
    missing = 4 - t.ndim
    return xnp.expand_dims(t, tuple(range(missing))) if missing > 0 else t


def _check(t: Any, shape: list, dtype: Any, name: str) -> None:
    if t is None:
        return
    if t.ndim != len(shape):
        raise ValueError(f"dot_product_attention: {name} must have {len(shape)} dimensions, got "
                         f"shape {tuple(t.shape)}.")
    if dtype is not None and t.dtype != dtype:
        raise ValueError(f"dot_product_attention: {name} dtype should be {np.dtype(dtype)}, but "
                         f"got {t.dtype}.")
    for want, got in zip(shape, t.shape):
        if want != -1 and want != got:
            raise ValueError(f"dot_product_attention: {name} shape should be "
                             f"{tuple(shape)} (-1: any), but got {tuple(t.shape)}.")


def _grouped(t: Any, k: int, g: int) -> Any:
    """A (B|1, N|1, T|1, S|1) bias or mask as (B|1, K|1, G|1, T|1, S|1), to broadcast against
    the grouped logits."""
    if t is None:
        return None
    tb, tn, tt, ts = t.shape
    if tn == 1:
        return t[:, :, None, :, :]
    if tn != k * g:
        raise ValueError(f"dot_product_attention: a bias or mask with {tn} heads does not match "
                         f"the query's {k * g} heads.")
    return xnp.reshape(t, (tb, k, g, tt, ts))


def _large_negative(dtype: Any) -> Any:
    # finite in float32, where the softmax runs, so masked logits never make NaN or inf
    big = min(float(np.finfo(dtype).max), float(np.finfo(np.float32).max))
    return xnp.asarray(-0.7 * big, dtype=dtype)


def _mask_logits(logits: Any, mask: Any, is_causal: bool, q_len: Any, kv_len: Any,
                 window: tuple | None) -> Any:
    if mask is None and not is_causal and q_len is None and kv_len is None and window is None:
        return logits
    t, s = logits.shape[-2], logits.shape[-1]
    keep = xnp.ones(logits.shape, dtype=bool)
    if mask is not None:
        keep = xnp.logical_and(keep, mask)
    rows, cols = xnp.arange(t)[:, None], xnp.arange(s)[None, :]
    if is_causal:
        keep = xnp.logical_and(keep, cols <= rows)
    if window is not None:
        left, right = window
        keep = xnp.logical_and(keep, xnp.logical_and(cols >= rows - left, cols <= rows + right))
    if q_len is not None:  # (B,) against the (B, K, G, T, S) logits
        keep = xnp.logical_and(keep, rows < q_len[:, None, None, None, None])
    if kv_len is not None:
        keep = xnp.logical_and(keep, cols < kv_len[:, None, None, None, None])
    return xnp.where(keep, logits, _large_negative(logits.dtype))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          *, scale: float | None = None, is_causal: bool = False,
                          query_seq_lengths: Any = None, key_value_seq_lengths: Any = None,
                          local_window_size: int | tuple[int, int] | None = None,
                          implementation: str | None = None,
                          return_residual: bool = False) -> Any:
    """``softmax(scale * query @ key^T + bias, masked) @ value``, as
    ``jax.nn.dot_product_attention``.

    Arguments:
        query: ``(B, T, N, H)`` (or ``(T, N, H)``).
        key, value: ``(B, S, K, H)``; ``N`` must be a multiple of ``K``.
        bias: added to the logits; broadcastable to ``(B, N, T, S)``.
        mask: boolean, ``True`` where attention is allowed; broadcastable to ``(B, N, T, S)``.
        scale: multiplies the logits; ``1 / sqrt(H)`` by default.
        is_causal: mask out key positions after the query position.
        query_seq_lengths, key_value_seq_lengths: ``(B,)`` int32 valid lengths (padding masks;
            padded query rows of the output are zero).
        local_window_size: ``(left, right)`` (or one int for both): each query attends to keys
            within that distance.
        implementation: ``None`` or ``'xla'`` (``'cudnn'`` is JAX's GPU kernel, not xform's).
        return_residual: also return the logits' log-sum-exp, ``(B, T, N)``.

    Returns:
        An array shaped like ``query`` (and the residual if asked).
    """
    if implementation not in (None, "xla"):
        if implementation == "cudnn":
            raise NotImplementedError("dot_product_attention(implementation='cudnn') is JAX's "
                                      "cuDNN kernel; xform has the 'xla' implementation.")
        raise ValueError(f"Unsupported implementation option: {implementation}")
    out_shape = xnp.shape(query)
    q, k, v = _ensure_4d(query), _ensure_4d(key), _ensure_4d(value)
    bias = _ensure_4d(bias) if bias is not None else None
    mask = _ensure_4d(mask) if mask is not None else None
    q_len = xnp.asarray(query_seq_lengths) if query_seq_lengths is not None else None
    kv_len = xnp.asarray(key_value_seq_lengths) if key_value_seq_lengths is not None else None
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    b, s, kh, h = k.shape
    _check(v, [b, s, kh, h], k.dtype, "value")
    _check(q, [b, -1, -1, h], k.dtype, "query")
    _check(mask, [-1] * 4, np.dtype(bool), "mask")
    _check(bias, [-1] * 4, None, "bias")
    _check(q_len, [b], np.dtype("int32"), "query_seq_lengths")
    _check(kv_len, [b], np.dtype("int32"), "key_value_seq_lengths")
    t, n = q.shape[1], q.shape[2]
    if n % kh:
        raise ValueError(f"The number of query heads must be a multiple of key/value heads, but "
                         f"got {n} vs {kh}")
    g = n // kh
    scale = (1.0 / np.sqrt(h)) if scale is None else scale

    logits_dtype = xnp.promote_types(q.dtype, np.float32)
    qg = xnp.reshape(q, (b, t, kh, g, h))
    logits = xnp.einsum("BTKGH,BSKH->BKGTS", qg, k, preferred_element_type=logits_dtype)
    logits = logits * xnp.asarray(scale, dtype=logits.dtype)
    if bias is not None:
        logits = (logits + _grouped(bias, kh, g)).astype(logits.dtype)
    logits = _mask_logits(logits, _grouped(mask, kh, g), is_causal, q_len, kv_len,
                          local_window_size)
    logits = logits.astype(np.float32)  # the softmax runs in float32, as JAX's
    probs = softmax(logits, axis=-1).astype(k.dtype)
    encoded = xnp.einsum("BKGTS,BSKH->BTKGH", probs, v)
    if q_len is not None:
        valid = xnp.arange(t)[None, :] < q_len[:, None]
        encoded = encoded * valid[:, :, None, None, None].astype(encoded.dtype)
    encoded = xnp.reshape(encoded, out_shape)
    if not return_residual:
        return encoded
    lse = logsumexp(logits, axis=-1).astype(k.dtype)  # (B, K, G, T)
    lse = xnp.reshape(xnp.moveaxis(lse, -1, 1), (b, t, n))
    return encoded, xnp.reshape(lax.stop_gradient(lse), out_shape[:-1])
