"""Pytree plumbing shared by the transforms: flatten arguments, name leaves by their path, trace,
check what a traced function returns (`flatten_outputs`, also used by control flow), name
functions in messages (`fun_name`)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

from xform.core.avals import ShapedArray, explicit_sharding, get_aval, is_valid_value
from xform.core.errors import user_frame
from xform.core.trace import Tracer
from xform.interpreters.staging import trace_to_jaxpr


def fun_name(fun: Callable) -> str:
    """The name messages and printed jaxprs give ``fun`` (its type's for a callable object)."""
    return getattr(fun, "__name__", None) or type(fun).__name__


def fun_description(fun: Callable) -> str:
    """``f at file.py:12``, for messages."""
    code = getattr(inspect.unwrap(fun), "__code__", None) if callable(fun) else None
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return f"{fun_name(fun)}{where}"


def positional_names(fun: Callable, n: int) -> list[str]:
    """Names of the first ``n`` positional parameters (``args[i]`` past a ``*args``)."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(n):
        if i < len(params) and params[i].kind in (params[i].POSITIONAL_ONLY,
                                                   params[i].POSITIONAL_OR_KEYWORD):
            names.append(params[i].name)
        else:
            names.append(f"args[{i}]")
    return names


def leaf_paths(fun: Callable, args: Sequence[Any], kwargs: dict,
               names: Sequence[str] | None = None) -> list[str]:
    """A readable path for every leaf of ``(args, kwargs)``: ``x``, ``params['w']``, ``xs[0]``.

    ``names`` overrides the positional parameter names (when static arguments were removed)."""
    names = positional_names(fun, len(args)) if names is None else names
    out = []
    for name, a in zip(names, args):
        out += [name + keystr(p) for p, _ in tree_flatten_with_path(a)[0]]
    for k, v in kwargs.items():
        out += [k + keystr(p) for p, _ in tree_flatten_with_path(v)[0]]
    return out


def is_shape_like(x: Any) -> bool:
    """A stand-in for an array's type: ``ShapeDtypeStruct``, or any object with ``.shape`` and
    ``.dtype`` (what ``eval_shape`` and ``make_jaxpr`` accept, as in JAX)."""
    return isinstance(x, jax.ShapeDtypeStruct) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and not is_valid_value(x))


def abstractify(x: Any) -> ShapedArray:
    if isinstance(x, Tracer):
        return x.aval
    if is_shape_like(x):
        return ShapedArray(tuple(x.shape), np.dtype(x.dtype), getattr(x, "weak_type", False),
                           sharding=explicit_sharding(getattr(x, "sharding", None)))
    return get_aval(x)


def check_leaves(leaves: Sequence[Any], paths: Sequence[str], what: str, fix: str,
                 shape_like: bool = False) -> None:
    """TypeError naming the first leaf that is not an array, by its pytree path (objects with
    ``.shape`` and ``.dtype`` pass when ``shape_like``; a ShapeDtypeStruct always does)."""
    for leaf, path in zip(leaves, paths):
        if not (isinstance(leaf, (Tracer, jax.ShapeDtypeStruct)) or is_valid_value(leaf)
                or (shape_like and is_shape_like(leaf))):
            raise TypeError(
                f"{what}: argument `{path}` is a {type(leaf).__name__} ({leaf!r:.60}), which is "
                f"not an array. {fix}")


def flatten_outputs(out: Any, what: str, fix: str) -> tuple[list, Any]:
    """``tree_flatten(out)`` of a traced function's result, with a TypeError naming the first
    leaf that is not an array by its pytree path (``what`` returned ..., then ``fix``)."""
    flat, out_tree = tree_flatten(out)
    for i, leaf in enumerate(flat):
        if not (isinstance(leaf, Tracer) or is_valid_value(leaf)):
            path = keystr(tree_flatten_with_path(out)[0][i][0])
            raise TypeError(f"{what} returned a {type(leaf).__name__} at output path "
                            f"`out{path}`, which is not an array. {fix}")
    return flat, out_tree


def flatten_fun(fun: Callable, in_tree):
    """``flat_fun(*leaves) -> (flat_outs, out_tree)`` for :func:`trace_to_jaxpr`."""

    def flat_fun(*leaves):
        args, kwargs = tree_unflatten(in_tree, leaves)
        return flatten_outputs(fun(*args, **kwargs), fun_name(fun),
                               "A transformed function must return arrays (or pytrees of "
                               "arrays).")

    return flat_fun


def dynamic_names(fun: Callable, n_total: int, static: Sequence[int]) -> list[str]:
    """Parameter names of the positional arguments left once the static ones are taken out."""
    return [n for i, n in enumerate(positional_names(fun, n_total)) if i not in static]


# Leaves from JAX that stand for an xform pytree: JAX's typed PRNG keys become xform.random's
# KeyArray (a pytree over the uint32 key data, xform's key representation). The library that
# owns the xform type registers ``(is_foreign, convert)`` here, so the front ends (jit, vmap,
# staging), which sit below it, need not import it.
leaf_converters: list[tuple[Callable[[Any], bool], Callable[[Any], Any]]] = []


def convert_foreign_leaves(tree: Any) -> Any:
    """``tree`` with each foreign leaf (a JAX typed key, say) replaced by its xform twin; the
    same object when there is none."""
    if not leaf_converters:
        return tree
    leaves, treedef = tree_flatten(tree)
    new, changed = [], False
    for x in leaves:
        for is_foreign, convert in leaf_converters:
            if is_foreign(x):
                x, changed = convert(x), True
                break
        new.append(x)
    return tree_unflatten(treedef, new) if changed else tree


def stage(fun: Callable, args: Sequence[Any], kwargs: dict, *, kind: str,
          names: Sequence[str] | None = None):
    """Trace ``fun(*args, **kwargs)`` to a closed jaxpr on its leaves' avals.

    Returns ``(closed_jaxpr, out_tree, leaves)``.
    """
    args, kwargs = convert_foreign_leaves((tuple(args), dict(kwargs)))
    leaves, in_tree = tree_flatten((args, kwargs))
    paths = leaf_paths(fun, args, kwargs, names)
    check_leaves(leaves, paths, f"{kind} of {fun_name(fun)}",
                 "Pass arrays, or mark non-array arguments static (static_argnums / "
                 "static_argnames).", shape_like=kind in ("eval_shape", "make_jaxpr"))
    avals = [abstractify(x) for x in leaves]
    closed, out_tree = trace_to_jaxpr(flatten_fun(fun, in_tree), avals,
                                      description=f"{kind} of {fun_description(fun)}",
                                      kind=kind, arg_names=paths)
    return closed, out_tree, leaves


__all__ = ["stage", "leaf_paths", "abstractify", "user_frame"]
