"""Neural-network layers as ``(init_fun, apply_fun)`` pairs (JAX's
``jax.example_libraries.stax``), built on ``xform.numpy``, ``xform.lax`` and ``xform.nn``.

    init_fun, apply_fun = stax.serial(stax.Dense(512), stax.Relu, stax.Dense(10),
                                      stax.LogSoftmax)
    out_shape, params = init_fun(rng, (-1, 784))
    logits = apply_fun(params, inputs)

``init_fun(rng, input_shape) -> (output_shape, params)``; ``apply_fun(params, inputs, **kw)``
(``rng=`` for ``Dropout``). Parameters are drawn with ``xform.random``, whose bits are JAX's, so
the same key gives JAX's parameters.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import xform.numpy as xnp
from xform import lax, random
from xform.nn import (
    elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax, softplus, standardize,
)
from xform.nn.initializers import glorot_normal, normal, ones, zeros
from xform.transforms import ShapeDtypeStruct, eval_shape

__all__ = [
    "AvgPool", "BatchNorm", "Conv", "Conv1DTranspose", "ConvTranspose", "Dense", "Dropout",
    "Elu", "Exp", "FanInConcat", "FanInSum", "FanOut", "Flatten", "Gelu", "GeneralConv",
    "GeneralConvTranspose", "Identity", "LeakyRelu", "LogSoftmax", "MaxPool",
    "Relu", "Selu", "Sigmoid", "Softmax", "Softplus", "SumPool", "Tanh", "elementwise",
    "parallel", "serial", "shape_dependent", "elu", "gelu", "leaky_relu", "log_softmax",
    "logsoftmax", "relu", "selu", "sigmoid", "softmax", "softplus", "standardize",
    "glorot_normal", "normal", "ones", "zeros", "glorot", "randn",
]

logsoftmax = log_softmax  # the old names JAX's stax still exports
glorot = glorot_normal
randn = normal


def _pads(in_sizes, window, strides, padding) -> list[tuple[int, int]]:
    if isinstance(padding, str):
        return lax.padtype_to_pads(in_sizes, window, strides, padding)
    return [tuple(p) for p in padding]


def _window_out(size: int, window: int, stride: int, pad: tuple[int, int]) -> int:
    return (size + pad[0] + pad[1] - window) // stride + 1


def Dense(out_dim: int, W_init: Callable = glorot_normal(), b_init: Callable = normal()):
    """Fully connected layer: ``inputs @ W + b``."""
    def init_fun(rng, input_shape):
        k1, k2 = random.split(rng)
        params = W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,))
        return tuple(input_shape[:-1]) + (out_dim,), params

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return xnp.dot(inputs, W) + b
    return init_fun, apply_fun


def GeneralConv(dimension_numbers: Sequence[str], out_chan: int, filter_shape: Sequence[int],
                strides: Sequence[int] | None = None, padding: Any = "VALID",
                W_init: Callable | None = None, b_init: Callable = normal(1e-6)):
    """Convolution with layouts ``dimension_numbers = (lhs_spec, rhs_spec, out_spec)``, e.g.
    ``("NHWC", "HWIO", "NHWC")``."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    one = (1,) * len(filter_shape)
    strides = tuple(strides or one)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))
    spatial = [c for c in rhs_spec if c not in "IO"]  # the spatial letters, in kernel order

    def init_fun(rng, input_shape):
        sizes = iter(filter_shape)
        kernel_shape = [out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I"
                        else next(sizes) for c in rhs_spec]
        in_sp = [input_shape[lhs_spec.index(c)] for c in spatial]
        k_sp = [kernel_shape[rhs_spec.index(c)] for c in spatial]
        pads = _pads(in_sp, k_sp, strides, padding)
        out_sp = {c: _window_out(n, k, s, p)
                  for c, n, k, s, p in zip(spatial, in_sp, k_sp, strides, pads)}
        out_shape = tuple(input_shape[lhs_spec.index("N")] if c == "N" else out_chan
                          if c == "C" else out_sp[c] for c in out_spec)
        k1, k2 = random.split(rng)
        bias_shape = [out_chan if c == "C" else 1 for c in out_spec]
        return out_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return lax.conv_general_dilated(inputs, W, strides, padding, one, one,
                                        dimension_numbers=dimension_numbers) + b
    return init_fun, apply_fun


Conv = functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))


def GeneralConvTranspose(dimension_numbers: Sequence[str], out_chan: int,
                         filter_shape: Sequence[int], strides: Sequence[int] | None = None,
                         padding: Any = "VALID", W_init: Callable | None = None,
                         b_init: Callable = normal(1e-6)):
    """Transposed convolution (``lax.conv_transpose``) with layouts ``dimension_numbers =
    (lhs_spec, rhs_spec, out_spec)``, e.g. ``("NHWC", "HWIO", "NHWC")``."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    strides = tuple(strides or (1,) * len(filter_shape))
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def conv(inputs, W):
        return lax.conv_transpose(inputs, W, strides, padding,
                                  dimension_numbers=dimension_numbers)

    def init_fun(rng, input_shape):
        sizes = iter(filter_shape)
        kernel_shape = [out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I"
                        else next(sizes) for c in rhs_spec]
        # the output shape is conv_transpose's own, read off an abstract evaluation of it
        out_shape = eval_shape(conv, ShapeDtypeStruct(tuple(input_shape), xnp.float32),
                               ShapeDtypeStruct(tuple(kernel_shape), xnp.float32)).shape
        k1, k2 = random.split(rng)
        bias_shape = [out_chan if c == "C" else 1 for c in out_spec]
        return out_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return conv(inputs, W) + b
    return init_fun, apply_fun


Conv1DTranspose = functools.partial(GeneralConvTranspose, ("NHC", "HIO", "NHC"))
ConvTranspose = functools.partial(GeneralConvTranspose, ("NHWC", "HWIO", "NHWC"))


def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True, beta_init=zeros,
              gamma_init=ones):
    """Batch normalisation over ``axis`` (no running statistics, as JAX's stax)."""
    axis = (axis,) if xnp.isscalar(axis) else tuple(axis)

    def init_fun(rng, input_shape):
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k1, k2 = random.split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        ed = tuple(None if i in axis else slice(None) for i in range(xnp.ndim(x)))
        z = standardize(x, axis, epsilon=epsilon)
        if center and scale:
            return gamma[ed] * z + beta[ed]
        if center:
            return z + beta[ed]
        if scale:
            return gamma[ed] * z
        return z
    return init_fun, apply_fun


def elementwise(fun: Callable, **fun_kwargs):
    """A parameter-free layer applying ``fun(inputs, **fun_kwargs)``."""
    return (lambda rng, input_shape: (input_shape, ()),
            lambda params, inputs, **kwargs: fun(inputs, **fun_kwargs))


Tanh = elementwise(xnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(xnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


def _pooling_layer(reducer: Callable, init_val: float, average: bool = False) -> Callable:
    def PoolingLayer(window_shape, strides=None, padding="VALID", spec=None):
        """Pooling over ``window_shape`` (spatial axes; ``spec`` names the layout, default
        NHWC-like: batch first, channels last)."""
        strides = tuple(strides or (1,) * len(window_shape))
        window_shape = tuple(window_shape)
        non_spatial = (0, len(window_shape) + 1) if spec is None else (
            spec.index("N"), spec.index("C"))
        full_window, full_strides = window_shape, strides
        for i in sorted(non_spatial):
            full_window = full_window[:i] + (1,) + full_window[i:]
            full_strides = full_strides[:i] + (1,) + full_strides[i:]

        def init_fun(rng, input_shape):
            pads = _pads(input_shape, full_window, full_strides, padding)
            return tuple(_window_out(n, w, s, p) for n, w, s, p in
                         zip(input_shape, full_window, full_strides, pads)), ()

        def apply_fun(params, inputs, **kwargs):
            out = lax.reduce_window(inputs, init_val, reducer, full_window, full_strides,
                                    padding)
            if not average:
                return out
            # divide by how many input pixels each window really covered (padding excluded)
            sp_shape = tuple(inputs.shape[i] for i in range(inputs.ndim) if i not in non_spatial)
            sizes = lax.reduce_window(xnp.ones(sp_shape, inputs.dtype), 0.0, lax.add,
                                      window_shape, strides, padding)
            for i in sorted(non_spatial):
                sizes = xnp.expand_dims(sizes, i)
            return out / sizes
        return init_fun, apply_fun
    return PoolingLayer


MaxPool = _pooling_layer(lax.max, -xnp.inf)
SumPool = _pooling_layer(lax.add, 0.0)
AvgPool = _pooling_layer(lax.add, 0.0, average=True)

Flatten = (lambda rng, input_shape: ((input_shape[0], math.prod(input_shape[1:])), ()),
           lambda params, inputs, **kwargs: xnp.reshape(inputs, (inputs.shape[0], -1)))
Identity = (lambda rng, input_shape: (input_shape, ()),
            lambda params, inputs, **kwargs: inputs)
FanInSum = (lambda rng, input_shape: (input_shape[0], ()),
            lambda params, inputs, **kwargs: sum(inputs))


def FanOut(num: int):
    """``num`` copies of the input (for ``parallel`` branches)."""
    return (lambda rng, input_shape: ([input_shape] * num, ()),
            lambda params, inputs, **kwargs: [inputs] * num)


def FanInConcat(axis: int = -1):
    """Concatenate the branches' outputs along ``axis``."""
    def init_fun(rng, input_shape):
        ax = axis % len(input_shape[0])
        size = sum(shape[ax] for shape in input_shape)
        return tuple(input_shape[0][:ax]) + (size,) + tuple(input_shape[0][ax + 1:]), ()
    return init_fun, lambda params, inputs, **kwargs: xnp.concatenate(inputs, axis)


def Dropout(rate: float, mode: str = "train"):
    """Keep each input with probability ``rate`` (scaled by ``1 / rate``) in ``"train"``
    mode, as JAX's stax (where ``rate`` is the keep rate); identity otherwise. Needs
    ``apply_fun(params, inputs, rng=key)``."""
    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.get("rng", None)
        if rng is None:
            raise ValueError(
                "Dropout layer requires apply_fun to be called with a PRNG key argument. That "
                "is, instead of `apply_fun(params, inputs)`, call it like "
                "`apply_fun(params, inputs, rng)` where `rng` is a PRNG key (e.g. from "
                "`xform.random.key`).")
        if mode == "train":
            keep = random.bernoulli(rng, rate, inputs.shape)
            return xnp.where(keep, inputs / rate, 0)
        return inputs
    return (lambda rng, input_shape: (input_shape, ())), apply_fun


def serial(*layers):
    """Compose layers one after the other (each gets its own split of the key)."""
    n = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        params = []
        for init in init_funs:
            rng, layer_rng = random.split(rng)
            input_shape, p = init(layer_rng, input_shape)
            params.append(p)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, n) if rng is not None else (None,) * n
        for fun, p, r in zip(apply_funs, params, rngs):
            inputs = fun(p, inputs, rng=r, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers):
    """Apply layer ``k`` to input ``k`` of a sequence (use with ``FanOut``/``FanInSum``)."""
    n = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        rngs = random.split(rng, n)
        return zip(*[init(r, shape) for init, r, shape in zip(init_funs, rngs, input_shape)])

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, n) if rng is not None else (None,) * n
        return [f(p, x, rng=r, **kwargs) for f, p, x, r in zip(apply_funs, params, inputs, rngs)]
    return init_fun, apply_fun


def shape_dependent(make_layer: Callable):
    """A layer built by ``make_layer(input_shape)`` once the input shape is known."""
    return (lambda rng, input_shape: make_layer(input_shape)[0](rng, input_shape),
            lambda params, inputs, **kwargs: make_layer(inputs.shape)[1](params, inputs,
                                                                         **kwargs))
