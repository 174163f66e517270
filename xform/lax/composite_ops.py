"""``jax.lax`` functions that are compositions of xform primitives (no rules of their own: they
differentiate and batch through the primitives they bind), and JAX's lax types re-exported.

``conv_transpose``, ``conv_general_dilated_patches`` (on ``conv_general_dilated``),
``index_take`` (on ``gather``), ``platform_dependent`` (picks the branch of the backend
compiled for).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.lax import (
    ConvGeneralDilatedDimensionNumbers, DotAlgorithm, DotAlgorithmPreset, DotDimensionNumbers,
    GatherDimensionNumbers, GatherScatterMode, Precision, RandomAlgorithm, RoundingMethod,
    ScatterDimensionNumbers,
)

from xform.core.trace import to_aval
from xform.lax.convolution import conv_dimension_numbers, conv_general_dilated
from xform.lax.elementwise import add, rem
from xform.lax.indexing import gather
from xform.lax.shape import broadcast_in_dim, reshape, rev, transpose
from xform.lax.slicing import concatenate

__all__ = [
    "ConvGeneralDilatedDimensionNumbers", "DotAlgorithm", "DotAlgorithmPreset",
    "DotDimensionNumbers", "GatherDimensionNumbers", "GatherScatterMode", "Precision",
    "RandomAlgorithm", "RoundingMethod", "ScatterDimensionNumbers", "conv_transpose",
    "conv_general_dilated_patches", "index_take", "platform_dependent",
]

_DEFAULT_TRANSPOSE_DNUMS = {3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"),
                            5: ("NHWDC", "HWDIO", "NHWDC")}


def _transpose_padding(k: int, s: int, padding: str) -> tuple[int, int]:
    """The (low, high) padding of the dilated input that makes ``conv_transpose`` the
    gradient of a ``padding`` convolution with kernel size ``k`` and stride ``s``."""
    if padding == "SAME":
        total = k + s - 2
        low = k - 1 if s > k - 1 else int(np.ceil(total / 2))
    else:  # VALID
        total = k + s - 2 + max(k - s, 0)
        low = k - 1
    return low, total - low


def conv_transpose(lhs: Any, rhs: Any, strides: Sequence[int], padding: Any,
                   rhs_dilation: Sequence[int] | None = None, dimension_numbers: Any = None,
                   transpose_kernel: bool = False, precision: Any = None,
                   preferred_element_type: Any = None,
                   use_consistent_padding: bool = False) -> Any:
    """Transposed ("deconvolution") convolution, as ``jax.lax.conv_transpose``: the input is
    dilated by ``strides`` and convolved with stride 1.

    ``padding`` is ``"SAME"``, ``"VALID"`` or explicit pairs; ``dimension_numbers`` defaults
    to channels-last (``("NHWC", "HWIO", "NHWC")`` for 2-D); ``transpose_kernel=True`` flips
    the kernel's spatial axes and swaps its in/out features (the exact gradient of a conv).
    """
    if use_consistent_padding:
        raise NotImplementedError("conv_transpose(use_consistent_padding=True) is not "
                                  "supported by xform; pass explicit padding pairs instead.")
    la, ra = to_aval(lhs), to_aval(rhs)
    if dimension_numbers is None:
        if la.ndim not in _DEFAULT_TRANSPOSE_DNUMS:
            raise ValueError(f"conv_transpose: no default dimension_numbers for rank "
                             f"{la.ndim}; pass dimension_numbers.")
        dimension_numbers = _DEFAULT_TRANSPOSE_DNUMS[la.ndim]
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    kernel_sizes = [ra.shape[d] for d in dn.rhs_spec[2:]]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ra.ndim - 2)
    effective = [0 if k == 0 else 1 + d * (k - 1) for k, d in zip(kernel_sizes, rhs_dilation)]
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or pairs, got "
                             f"{padding!r}")
        padding = [_transpose_padding(k, s, padding) for k, s in zip(effective, strides)]
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ra.ndim))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * (la.ndim - 2), padding, strides, rhs_dilation,
                                dn, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_patches(lhs: Any, filter_shape: Sequence[int],
                                 window_strides: Sequence[int], padding: Any,
                                 lhs_dilation: Sequence[int] | None = None,
                                 rhs_dilation: Sequence[int] | None = None,
                                 dimension_numbers: Any = None, precision: Any = None,
                                 preferred_element_type: Any = None) -> Any:
    """The patches a convolution with a ``filter_shape`` window would see, as
    ``jax.lax.conv_general_dilated_patches``: the output's feature axis holds, for each input
    channel ``c`` and window position ``p``, the value at ``c * prod(filter_shape) + p``."""
    la = to_aval(lhs)
    filter_shape = tuple(int(n) for n in filter_shape)
    dn = conv_dimension_numbers(la.shape, (1, 1) + filter_shape, dimension_numbers)
    window = math.prod(filter_shape)
    channels = la.shape[dn.lhs_spec[1]]
    # one output channel per (input channel, window position), each picking that position:
    # an identity kernel, used with one group per input channel
    eye = np.eye(window, dtype=la.dtype)
    kernel = broadcast_in_dim(eye, (channels, window, window), (1, 2))
    kernel = reshape(kernel, (channels * window, 1) + filter_shape)
    perm = [0] * len(dn.rhs_spec)
    for src, dst in enumerate(dn.rhs_spec):
        perm[dst] = src
    kernel = transpose(kernel, tuple(perm))
    return conv_general_dilated(
        lhs, kernel, window_strides, padding, lhs_dilation, rhs_dilation, dn,
        feature_group_count=channels,
        precision=None if precision is None else (precision, Precision.DEFAULT),
        preferred_element_type=preferred_element_type)


def index_take(src: Any, idxs: Any, axes: Sequence[int]) -> Any:
    """``src[idxs[0], idxs[1], ...]`` with ``idxs[j]`` indexing axis ``axes[j]`` (indices wrap
    around, as numpy's ``%``), as ``jax.lax.index_take``."""
    sa = to_aval(src)
    axes = tuple(int(a) for a in axes)
    cols = [reshape(i, (to_aval(i).shape[0], 1)) for i in idxs]
    indices = cols[0] if len(cols) == 1 else concatenate(cols, 1)
    size = broadcast_in_dim(np.array([sa.shape[a] for a in axes], to_aval(indices).dtype),
                            to_aval(indices).shape, (1,))
    indices = rem(add(rem(indices, size), size), size)  # floor modulo: negatives wrap
    dnums = GatherDimensionNumbers(offset_dims=tuple(range(1, sa.ndim - len(axes) + 1)),
                                   collapsed_slice_dims=axes, start_index_map=axes)
    slice_sizes = tuple(1 if i in axes else d for i, d in enumerate(sa.shape))
    return gather(src, indices, dnums, slice_sizes)


def platform_dependent(*args: Any, default: Callable[..., Any] | None = None,
                       **per_platform: Callable[..., Any]) -> Any:
    """Call the function given for the platform the program runs on (``cpu``, ``cuda``,
    ``rocm``, ``tpu``; ``gpu`` matches both GPU kinds), else ``default``, as
    ``jax.lax.platform_dependent``. xform compiles for the default backend, so the branch is
    chosen when the function is traced."""
    backend = jax.default_backend()
    names = [backend] + (["cuda", "rocm", "gpu"] if backend == "gpu" else [])
    if backend in ("cuda", "rocm"):
        names.append("gpu")
    for name in names:
        if name in per_platform:
            return per_platform[name](*args)
    if default is None:
        raise NotImplementedError(f"platform_dependent: no branch for platform {backend!r} and "
                                  f"no default; given {sorted(per_platform)}.")
    return default(*args)

