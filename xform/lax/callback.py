"""Host callbacks: ``debug_callback``, ``pure_callback`` and ``io_callback``.

Each primitive calls a Python function on concrete values: eagerly it is called at once; inside a
compiled program it is lowered through JAX's own callback of the same name, so XLA calls back
into Python when the program runs (inside ``scan``/``cond``/``while`` too, in JAX's order when
``ordered=True``).

- ``debug_callback[callback ordered]`` has no outputs. Its JVP calls it on the primals only (so
  ``grad`` prints on the forward pass, once); vmap unrolls it, one call per lane, as JAX does.
- ``pure_callback[callback result_avals vmap_method]`` returns arrays of ``result_avals``. It has
  no derivative (JAX's errors; wrap it in ``custom_jvp``/``custom_vjp``); vmap follows
  ``vmap_method``: ``sequential`` (a ``scan`` with one call per lane), ``expand_dims``,
  ``broadcast_all``, ``legacy_vectorized`` (one call on the whole batch).
- ``io_callback[callback result_avals ordered]``: an impure callback; vmap runs it sequentially
  (an ordered one cannot be vmapped); no derivative, as in JAX.

``callback`` params take and return flat lists of arrays; the public functions flatten pytrees.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np

from xform.core.avals import ShapedArray, canonicalize_dtype
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer
from xform.interpreters.batching import batch_rules, moveaxis, not_mapped
from xform.interpreters.eval import impl_rules
from xform.interpreters.jvp import jvp_rules
from xform.interpreters.lowering import effectful_primitives, to_jax
from xform.lax.slicing import index_in_dim
from xform.lax.control_flow.loops import scan
from xform.lax.shape import broadcast
from jax.experimental import io_callback as jax_io_callback

__all__ = ["debug_callback_p", "pure_callback_p", "io_callback_p", "pure_callback",
           "dce_sink", "dce_sink_p",
           "effects_barrier",
           "io_callback"]


def _lane(x: Any, dim: int | None, i: int) -> Any:
    """Lane ``i`` of a batched value (the value itself when it is not batched)."""
    if dim is not_mapped:
        return x
    return index_in_dim(x, i, dim, keepdims=False)


# -- debug_callback -----------------------------------------------------------------------------
debug_callback_p = Primitive("debug_callback", multiple_results=True)
effectful_primitives.add(debug_callback_p)


def _debug_callback_abstract_eval(*avals: ShapedArray, callback, ordered):
    return []


def _debug_callback_impl(*args, callback, ordered):
    # the callback sees jax.Arrays, as it does inside a compiled program (and as in JAX)
    callback(*jax.device_put(args))
    return []


def _debug_callback_to_jax(*args, callback, ordered):
    jax.debug.callback(callback, *args, ordered=ordered)
    return []


def _debug_callback_jvp(primals, tangents, **params):
    # printed on the forward pass only: the tangents are never shown
    return debug_callback_p.bind(*primals, **params), []


def _debug_callback_batch(axis_size, vals, dims, **params):
    # one call per lane, in lane order, as JAX's debug_callback unrolls
    for i in range(axis_size):
        debug_callback_p.bind(*[_lane(x, d, i) for x, d in zip(vals, dims)], **params)
    return [], []


abstract_eval[debug_callback_p] = _debug_callback_abstract_eval
impl_rules[debug_callback_p] = _debug_callback_impl
to_jax[debug_callback_p] = _debug_callback_to_jax
jvp_rules[debug_callback_p] = _debug_callback_jvp
batch_rules[debug_callback_p] = _debug_callback_batch


# -- dce_sink -----------------------------------------------------------------------------------
# Marks a value as used: it has no outputs and does nothing when run, but it is an effect, so
# lowering keeps it and, with it, the equations that compute its operand.
dce_sink_p = Primitive("dce_sink", multiple_results=True)
effectful_primitives.add(dce_sink_p)


def dce_sink(val: Any, *, prevent_mlir_dce: bool = False) -> None:
    """Keep every array of the pytree ``val`` (and what computes it) in the compiled program
    although nothing uses it, as ``jax.lax.dce_sink``; returns None."""
    for leaf in jax.tree_util.tree_leaves(val):
        dce_sink_p.bind(leaf, prevent_mlir_dce=prevent_mlir_dce)


def _dce_sink_to_jax(x, *, prevent_mlir_dce):
    jax.lax.dce_sink(x, prevent_mlir_dce=prevent_mlir_dce)
    return []


def _dce_sink_jvp(primals, tangents, **params):
    return dce_sink_p.bind(*primals, **params), []  # the primal is what stays alive


def _dce_sink_batch(axis_size, vals, dims, **params):
    return dce_sink_p.bind(*vals, **params), []


abstract_eval[dce_sink_p] = lambda x, **_: []
impl_rules[dce_sink_p] = lambda x, **_: []
to_jax[dce_sink_p] = _dce_sink_to_jax
jvp_rules[dce_sink_p] = _dce_sink_jvp
batch_rules[dce_sink_p] = _dce_sink_batch


# -- pure_callback ------------------------------------------------------------------------------
pure_callback_p = Primitive("pure_callback", multiple_results=True)
VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
                "legacy_vectorized", None)


def _structs(avals: Sequence[ShapedArray]) -> list:
    return [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals]


def _pure_callback_abstract_eval(*avals, callback, result_avals, vmap_method):
    return list(result_avals)


def _pure_callback_to_jax(*args, callback, result_avals, vmap_method):
    # eagerly too: JAX checks the callback's results against result_avals
    return list(jax.pure_callback(callback, _structs(result_avals), *args,
                                  vmap_method=vmap_method))


def _pure_callback_jvp(primals, tangents, **params):
    raise ValueError("Pure callbacks do not support JVP. Please use `xform.custom_jvp` to use "
                     "callbacks while taking gradients.")


def _batched_avals(avals, axis_size: int) -> tuple:
    return tuple(ShapedArray((axis_size, *a.shape), a.dtype) for a in avals)


def _sequential(prim: Primitive, vals, dims, params, unroll: bool = False) -> list:
    """``prim`` bound once per lane inside a ``scan`` over the batched operands."""
    batched = [moveaxis(x, d, 0) for x, d in zip(vals, dims) if d is not not_mapped]

    def body(carry, xs):
        it = iter(xs)
        args = [x if d is not_mapped else next(it) for x, d in zip(vals, dims)]
        return carry, prim.bind(*args, **params)

    _, outs = scan(body, (), batched, unroll=unroll)
    return list(outs)


def _pure_callback_batch(axis_size, vals, dims, *, callback, result_avals, vmap_method):
    params = dict(callback=callback, result_avals=result_avals, vmap_method=vmap_method)
    if vmap_method in ("sequential", "sequential_unrolled"):
        outs = _sequential(pure_callback_p, vals, dims, params,
                           unroll=vmap_method == "sequential_unrolled")
        return outs, [0] * len(outs)
    if vmap_method not in ("expand_dims", "broadcast_all", "legacy_vectorized"):
        raise NotImplementedError(
            "vmap is only supported for the pure_callback primitive when vmap_method is one "
            "of 'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
            f"'legacy_vectorized'. Got vmap_method={vmap_method!r}: pass vmap_method= to "
            "xform.pure_callback.")
    args = []
    for x, d in zip(vals, dims):
        if d is not not_mapped:
            args.append(moveaxis(x, d, 0))
        elif vmap_method == "legacy_vectorized":
            args.append(x)  # unbatched operands are passed as they are
        else:
            args.append(broadcast(x, (axis_size if vmap_method == "broadcast_all" else 1,)))
    outs = pure_callback_p.bind(*args, callback=callback, vmap_method=vmap_method,
                                result_avals=_batched_avals(result_avals, axis_size))
    return list(outs), [0] * len(outs)


abstract_eval[pure_callback_p] = _pure_callback_abstract_eval
impl_rules[pure_callback_p] = _pure_callback_to_jax
to_jax[pure_callback_p] = _pure_callback_to_jax
jvp_rules[pure_callback_p] = _pure_callback_jvp
batch_rules[pure_callback_p] = _pure_callback_batch


# -- io_callback --------------------------------------------------------------------------------
io_callback_p = Primitive("io_callback", multiple_results=True)
effectful_primitives.add(io_callback_p)


def _io_callback_abstract_eval(*avals, callback, result_avals, ordered):
    return list(result_avals)


def _io_callback_to_jax(*args, callback, result_avals, ordered):
    return list(jax_io_callback(callback, _structs(result_avals), *args, ordered=ordered))


def _io_callback_jvp(primals, tangents, **params):
    raise ValueError("IO callbacks do not support JVP.")


def _io_callback_batch(axis_size, vals, dims, *, callback, result_avals, ordered):
    if ordered:
        raise ValueError("Cannot `vmap` ordered IO callback.")
    params = dict(callback=callback, result_avals=result_avals, ordered=False)
    outs = _sequential(io_callback_p, vals, dims, params)
    return outs, [0] * len(outs)


abstract_eval[io_callback_p] = _io_callback_abstract_eval
impl_rules[io_callback_p] = _io_callback_to_jax
to_jax[io_callback_p] = _io_callback_to_jax
jvp_rules[io_callback_p] = _io_callback_jvp
batch_rules[io_callback_p] = _io_callback_batch


# -- public functions ---------------------------------------------------------------------------
class FlatCallback:
    """``callback(*args, **kwargs)`` called on flat operands, returning flat results.

    Two flat callbacks of the same function and argument structure compare equal, so a
    program that calls the same callback hits the same caches (as JAX's ``_FlatCallback``).
    """

    __slots__ = ("fun", "in_tree", "static", "returns")

    def __init__(self, fun: Callable, in_tree: Any, static: tuple = (), returns: bool = True):
        self.fun, self.in_tree, self.static, self.returns = fun, in_tree, static, returns

    def _key(self):
        return (self.fun, self.in_tree, tuple((i, id(v)) for i, v in self.static),
                self.returns)

    def __eq__(self, other):
        return isinstance(other, FlatCallback) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __call__(self, *dyn: Any):
        leaves = merge_static(dyn, self.static)
        args, kwargs = jax.tree_util.tree_unflatten(self.in_tree, leaves)
        out = self.fun(*args, **kwargs)
        return jax.tree_util.tree_leaves(out) if self.returns else ()


def is_operand(x: Any) -> bool:
    """Whether a callback argument travels as an array operand (else it stays static)."""
    if isinstance(x, (Tracer, jax.Array, np.ndarray, np.generic, bool, int, float, complex)):
        return True
    return False


def split_static(leaves: Sequence[Any]) -> tuple[list, tuple]:
    """Array operands, and ``(position, value)`` for the leaves that stay static."""
    dyn, static = [], []
    for i, x in enumerate(leaves):
        if is_operand(x):
            dyn.append(x)
        else:
            static.append((i, x))
    return dyn, tuple(static)


def merge_static(dyn: Sequence[Any], static: tuple) -> list:
    out = list(dyn)
    for i, v in static:
        out.insert(i, v)
    return out


def _result_avals(result_shape_dtypes: Any, name: str) -> tuple[tuple, Any]:
    leaves, tree = jax.tree_util.tree_flatten(result_shape_dtypes)
    avals = []
    for leaf in leaves:
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(f"{name}: result_shape_dtypes must be a pytree of values with "
                            f"`shape` and `dtype` (e.g. xform.ShapeDtypeStruct), got "
                            f"{type(leaf).__name__}.")
        dt = np.dtype(leaf.dtype)
        if canonicalize_dtype(dt) != dt:
            raise ValueError("result_shape_dtypes cannot specify 64-bit types when "
                             "`jax_enable_x64` is disabled")
        avals.append(ShapedArray(tuple(leaf.shape), dt))
    return tuple(avals), tree


def pure_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any,
                  sharding: Any = None, vmap_method: str | None = None,
                  **kwargs: Any) -> Any:
    """Call a pure Python function on concrete arrays, also inside ``jit``, as
    ``jax.pure_callback``.

    Arguments:
        callback: takes the arrays of ``args``/``kwargs`` (pytrees) and returns a pytree of
            arrays matching ``result_shape_dtypes``.
        result_shape_dtypes: a pytree of ``ShapeDtypeStruct`` (anything with shape and dtype).
        sharding: accepted for JAX compatibility (one device: no effect).
        vmap_method: how ``vmap`` calls it: ``"sequential"`` (once per lane),
            ``"sequential_unrolled"``, ``"expand_dims"`` (unbatched operands get a leading
            axis of size 1), ``"broadcast_all"`` (every operand batched to full size),
            ``"legacy_vectorized"``; None makes ``vmap`` raise NotImplementedError.

    Returns:
        The callback's results, a pytree of arrays of ``result_shape_dtypes``' structure.
        Not differentiable (wrap it in ``custom_jvp``/``custom_vjp``).
    """
    if vmap_method not in VMAP_METHODS:
        raise ValueError(f"vmap_method must be on of the allowed methods {list(VMAP_METHODS)}, "
                         f"but got: {vmap_method}")
    flat, in_tree = jax.tree_util.tree_flatten((args, kwargs))
    result_avals, out_tree = _result_avals(result_shape_dtypes, "pure_callback")
    out = pure_callback_p.bind(*flat, callback=FlatCallback(callback, in_tree),
                               result_avals=result_avals, vmap_method=vmap_method)
    return jax.tree_util.tree_unflatten(out_tree, out)


def io_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any,
                sharding: Any = None, ordered: bool = False, **kwargs: Any) -> Any:
    """Call an impure Python function on concrete arrays, also inside ``jit``, as
    ``jax.experimental.io_callback``; ``ordered=True`` keeps program order among ordered
    callbacks (and cannot be vmapped). Not differentiable."""
    flat, in_tree = jax.tree_util.tree_flatten((args, kwargs))
    result_avals, out_tree = _result_avals(result_shape_dtypes, "io_callback")
    out = io_callback_p.bind(*flat, callback=FlatCallback(callback, in_tree),
                             result_avals=result_avals, ordered=bool(ordered))
    return jax.tree_util.tree_unflatten(out_tree, out)


def effects_barrier() -> None:
    """Wait until every callback of programs already dispatched has run, as
    ``jax.effects_barrier`` (compiled callbacks run on JAX's runtime)."""
    jax.effects_barrier()
