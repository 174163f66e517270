"""``jit``, ``make_jaxpr`` and ``eval_shape``: argument checking in front of the compiled
dispatch of xform/lax/compiled.py, which says how a jit-ted call reaches XLA (JAX's C++ dispatch
on the cached path) and how it becomes one ``jit`` primitive under another transform.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
from jax.tree_util import tree_unflatten

from xform.core import caches
from xform.interpreters.tracing import dynamic_names, stage
from xform.lax.compiled import Jitted as Jitted, Traced as Traced, _as_tuple, compiled


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] | None = None,
        static_argnames: str | Sequence[str] | None = None,
        donate_argnums: int | Sequence[int] | None = None,
        donate_argnames: str | Sequence[str] | None = None, keep_unused: bool = False,
        in_shardings: Any = None, out_shardings: Any = None, **unsupported) -> Any:
    """Compile ``fun`` with XLA; usable as ``@jit`` and ``@jit(static_argnums=...)``.

    Arguments:
        fun: the function to compile. Its arguments are pytrees of arrays, except those named
            static, which must be hashable and key the cache.
        static_argnums / static_argnames: positions / names of static arguments.
        donate_argnums / donate_argnames: arguments whose buffers XLA may reuse.
        in_shardings / out_shardings: how the (dynamic positional) arguments and the results
            are laid out over devices: pytree prefixes of ``Sharding``s (or of
            ``PartitionSpec``s under ``xform.set_mesh``), handed to ``jax.jit`` (XLA's SPMD
            partitioner). Under another transform they constrain the traced body's inputs
            and outputs (``with_sharding_constraint``).

    Returns:
        The ``jax.jit`` object that compiles ``f`` (a cached call is JAX's C++ dispatch), with
        xform's ``.lower``, ``.trace`` (xform's jaxpr), ``.eval_shape`` and ``.clear_cache``.

    >>> import xform, xform.numpy as xnp
    >>> f = xform.jit(lambda x: xnp.sin(x) * 2)
    >>> f(xnp.zeros(3))
    Array([0., 0., 0.], dtype=float32)
    """
    for k in unsupported:
        if k not in ("inline", "device", "backend", "abstracted_axes"):
            raise TypeError(f"jit() got an unexpected keyword argument {k!r}")
    kw = dict(static_argnums=static_argnums, static_argnames=static_argnames,
              donate_argnums=donate_argnums, donate_argnames=donate_argnames,
              keep_unused=keep_unused, in_shardings=in_shardings, out_shardings=out_shardings)
    if fun is None:
        return lambda f: jit(f, **kw)
    return compiled(fun, **kw)


def make_jaxpr(fun: Callable, static_argnums: int | Sequence[int] = (),
               return_shape: bool = False) -> Callable:
    """A function that traces ``fun`` on its arguments and returns the ``ClosedJaxpr``.

    >>> import xform, xform.numpy as xnp
    >>> print(xform.make_jaxpr(xnp.sin)(1.0))
    { lambda ; a:f32[]. let b:f32[] = sin a in (b,) }
    """
    static = _as_tuple(static_argnums)

    @functools.wraps(fun, updated=())
    def make(*args, **kwargs):
        statics = {i: a for i, a in enumerate(args) if i in static}
        dyn = [a for i, a in enumerate(args) if i not in static]

        def with_statics(*dargs, **dkwargs):
            it = iter(dargs)
            full = [statics[i] if i in statics else next(it)
                    for i in range(len(dargs) + len(statics))]
            return fun(*full, **dkwargs)

        functools.update_wrapper(with_statics, fun, updated=())
        names = dynamic_names(fun, len(args), static)
        closed, out_tree, _ = stage(with_statics, dyn, kwargs, kind="make_jaxpr", names=names)
        if return_shape:
            shapes = tree_unflatten(out_tree, [
                jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
                for a in closed.out_avals])
            return closed, shapes
        return closed

    return make


def eval_shape(fun: Callable, *args, **kwargs):
    """The output shapes and dtypes of ``fun`` as ``ShapeDtypeStruct``s, without computing."""
    closed, out_tree, _ = stage(fun, args, kwargs, kind="eval_shape")
    return tree_unflatten(out_tree, [
        jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in closed.out_avals])


def clear_caches() -> None:
    """Empty every cache of traced jaxprs and compiled programs, xform's and JAX's (as
    ``jax.clear_caches``). Later calls trace and compile afresh.

    xform's caches are already weak-keyed on the functions and jaxprs they hold, or bounded
    (:func:`xform.core.caches.cache_info` lists them), so this is for freeing memory now or for
    making a function re-read the globals it captured at its first trace.
    """
    caches.clear_caches()
    jax.clear_caches()
