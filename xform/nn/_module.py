"""Modules: frozen dataclasses that are pytrees, and the tools to filter and stack them.

    >>> import xform, xform.numpy as xnp
    >>> from xform import nn
    >>> class Scale(nn.Module):
    ...     w: xform.Array
    ...     name: str = nn.static_field(default="scale")
    ...     def __call__(self, x):
    ...         return self.w * x
    >>> m = Scale(xnp.ones(3))
    >>> xform.tree_util.tree_leaves(m)   # the array is a leaf, the name is not
    [Array([1., 1., 1.], dtype=float32)]
    >>> xform.grad(lambda m, x: m(x).sum())(m, xnp.arange(3.0)).w
    Array([0., 1., 2.], dtype=float32)

A module works on ONE example; a batch comes from ``xform.vmap``. Because a module is a pytree,
``grad`` differentiates with respect to its arrays, ``jit`` traces them, ``vmap`` maps over them
(``stack`` makes an ensemble of modules into one module with a leading axis), and optimizers in
``xform.optim`` update them.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

import xform.numpy as xnp
from xform.core.trace import Tracer

__all__ = ["Module", "static_field", "is_array", "partition", "combine", "stack", "unstack"]

_STATIC = "xform_static"

# Ids of the modules whose __init__ is running: only they may set attributes.
_initialising = threading.local()


def static_field(**kwargs: Any) -> Any:
    """A dataclass field kept out of the pytree leaves: part of the tree structure instead.

    Use it for metadata (sizes, strides, activation functions, flags): it is not differentiated,
    traced, mapped or stacked, and two modules whose static fields differ have different tree
    structures. Static values must be hashable. ``kwargs`` go to ``dataclasses.field``.
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata[_STATIC] = True
    return dataclasses.field(metadata=metadata, **kwargs)


def _is_static(field: dataclasses.Field) -> bool:
    return bool(field.metadata.get(_STATIC, False))


class _ModuleMeta(type):
    """Turns every subclass of ``Module`` into a dataclass registered as a pytree."""

    def __new__(mcs, name, bases, namespace, **kwargs):
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        # A hand-written __init__ wins over the generated one; it sets fields with self.x = ...
        has_init = "__init__" in namespace or any(getattr(b, "_custom_init", False)
                                                  for b in bases)
        cls = dataclasses.dataclass(init=not has_init, repr=False, eq=False)(cls)
        cls._custom_init = has_init
        fields = dataclasses.fields(cls)
        cls._dynamic_names = tuple(f.name for f in fields if not _is_static(f))
        cls._static_names = tuple(f.name for f in fields if _is_static(f))
        jax.tree_util.register_pytree_with_keys(
            cls, _flatten_with_keys, _unflatten_for(cls), _flatten)
        return cls

    def __call__(cls, *args, **kwargs):
        self = cls.__new__(cls)
        ids = _initialising.__dict__.setdefault("ids", set())
        ids.add(id(self))
        try:
            self.__init__(*args, **kwargs)
        finally:
            ids.discard(id(self))
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in self.__dict__]
        if missing:
            raise ValueError(f"{cls.__name__}.__init__ did not set the field(s) "
                             f"{', '.join(missing)}. Set every field with self.<name> = ... .")
        self.__post_check__()
        return self


def _flatten(module: Module) -> tuple[tuple, tuple]:
    d = module.__dict__
    return (tuple(d[n] for n in module._dynamic_names),
            tuple(d[n] for n in module._static_names))


def _flatten_with_keys(module: Module) -> tuple[tuple, tuple]:
    d = module.__dict__
    children = tuple((jax.tree_util.GetAttrKey(n), d[n]) for n in module._dynamic_names)
    return children, tuple(d[n] for n in module._static_names)


def _unflatten_for(cls: type) -> Callable:
    def unflatten(static: tuple, dynamic: Sequence) -> Module:
        # Rebuild without __init__: a module's fields are its whole state.
        self = object.__new__(cls)
        d = self.__dict__
        d.update(zip(cls._dynamic_names, dynamic))
        d.update(zip(cls._static_names, static))
        return self
    return unflatten


def _short(x: Any) -> str:
    if is_array(x):
        aval = getattr(x, "aval", None) or x
        dtype = np.dtype(aval.dtype)
        kind = {"f": "f", "i": "i", "u": "u", "b": "bool", "c": "c"}.get(dtype.kind, dtype.name)
        size = "" if kind == "bool" else str(dtype.itemsize * 8)
        return f"{kind}{size}[{','.join(map(str, aval.shape))}]"
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_short(v) for v in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner}{',' if len(x) == 1 else ''})"
    if callable(x) and hasattr(x, "__name__") and not isinstance(x, Module):
        return x.__name__
    return repr(x)


class Module(metaclass=_ModuleMeta):
    """Base class of models: a frozen dataclass whose array fields are pytree leaves.

    Declare fields as class annotations. Either let the dataclass write ``__init__`` or write
    one that sets every field with ``self.name = value`` (only ``__init__`` may set fields;
    afterwards the module is immutable, so a changed model is a new module). Fields made with
    ``static_field()`` are metadata, kept in the tree structure; all other fields are children
    (arrays, other modules, lists of them).

    Define ``__call__`` for ONE example; ``xform.vmap`` gives batches.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if id(self) not in getattr(_initialising, "ids", ()):
            raise dataclasses.FrozenInstanceError(
                f"cannot assign to field {name!r}: a {type(self).__name__} is immutable once "
                f"built. Build a new one instead (xform.tree_util.tree_map over it, or its "
                f"class).")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(
            f"cannot delete field {name!r}: a {type(self).__name__} is immutable.")

    def __post_check__(self) -> None:
        """Hook run after ``__init__``; subclasses may validate their fields here."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{f.name}={_short(self.__dict__.get(f.name))}"
                           for f in dataclasses.fields(self))
        return f"{type(self).__name__}({fields})"


def is_array(x: Any) -> bool:
    """True for arrays (``jax.Array``, ``numpy.ndarray``, xform tracers); the usual filter.

    >>> import numpy as np
    >>> is_array(np.zeros(2)), is_array(1.0)
    (True, False)
    """
    return isinstance(x, (jax.Array, np.ndarray, np.generic, Tracer))


def _is_none(x: Any) -> bool:
    return x is None


def partition(pytree: Any, filter_spec: Callable[[Any], bool] | Any,
              replace: Any = None) -> tuple[Any, Any]:
    """Split a pytree into the leaves a filter selects and the rest.

    Arguments:
        pytree: a module or any pytree.
        filter_spec: a function ``leaf -> bool`` (e.g. ``is_array``), or a pytree of such
            functions / bools with the structure of a prefix of ``pytree``.
        replace: what stands in for the leaves left out of each half (``None``).

    Returns:
        ``(selected, rest)``, two pytrees with ``pytree``'s structure; ``combine`` joins them.

    >>> import numpy as np
    >>> arrays, other = partition([np.ones(2), 3.0], is_array)
    >>> arrays, other
    ([array([1., 1.]), None], [None, 3.0])
    """
    if callable(filter_spec) or isinstance(filter_spec, bool):
        mask = jax.tree_util.tree_map(
            lambda x: bool(filter_spec(x) if callable(filter_spec) else filter_spec), pytree)
    else:
        def expand(spec: Any, sub: Any) -> Any:
            return jax.tree_util.tree_map(
                lambda x: bool(spec(x) if callable(spec) else spec), sub)
        mask = jax.tree_util.tree_map(expand, filter_spec, pytree,
                                      is_leaf=lambda s: callable(s) or isinstance(s, bool))
    selected = jax.tree_util.tree_map(lambda m, x: x if m else replace, mask, pytree)
    rest = jax.tree_util.tree_map(lambda m, x: replace if m else x, mask, pytree)
    return selected, rest


def combine(*pytrees: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Join pytrees made by ``partition``: each leaf is the first of them that is not None.

    >>> import numpy as np
    >>> combine([np.ones(2), None], [None, 3.0])
    [array([1., 1.]), 3.0]
    """
    def first(*xs: Any) -> Any:
        for x in xs:
            if x is not None:
                return x
        return None

    def leaf(x: Any) -> bool:
        return x is None or (is_leaf is not None and is_leaf(x))

    return jax.tree_util.tree_map(first, *pytrees, is_leaf=leaf)


# -- ensembles ------------------------------------------------------------------------------

def _children(x: Any) -> tuple[Any, list[tuple[str, Any]]] | None:
    """(node data, [(path piece, child)]) of a pytree node, or None for a leaf."""
    if isinstance(x, Module):
        static = tuple((n, x.__dict__[n]) for n in x._static_names)
        return (type(x), static), [(f".{n}", x.__dict__[n]) for n in x._dynamic_names]
    flat = jax.tree_util.flatten_one_level_with_keys if hasattr(
        jax.tree_util, "flatten_one_level_with_keys") else None
    if x is None or jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(x)):
        return None
    if flat is not None:
        kids, aux = flat(x)
        return (type(x), aux), [(jax.tree_util.keystr((k,)), v) for k, v in kids]
    kids, aux = jax.tree_util.flatten_one_level(x)
    return (type(x), aux), [(f"[{i}]", v) for i, v in enumerate(kids)]


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    """A sentence naming the first place where two pytrees cannot be stacked, or None."""
    na, nb = _children(a), _children(b)
    where = path or "the top level"
    if (na is None) != (nb is None):
        return f"{where} is a leaf in one and a {type(a if nb is None else b).__name__} node " \
               f"in the other"
    if na is None:
        sa, sb = np.shape(a), np.shape(b)
        if sa != sb:
            return f"{where} has shape {sa} in one and {sb} in the other"
        da, db = xnp.result_type(a), xnp.result_type(b)
        if da != db:
            return f"{where} has dtype {da} in one and {db} in the other"
        return None
    (ta, auxa), (tb, auxb) = na[0], nb[0]
    if ta is not tb:
        return f"{where} is a {ta.__name__} in one and a {tb.__name__} in the other"
    if isinstance(a, Module):
        for (name, va), (_, vb) in zip(auxa, auxb):
            try:
                same = bool(va == vb)
            except Exception:  # e.g. arrays in a static field: compare by identity
                same = va is vb
            if not same:
                return f"static field {path}.{name} is {va!r} in one and {vb!r} in the other"
    elif auxa != auxb:
        return f"{where} has node data {auxa!r} in one and {auxb!r} in the other"
    if len(na[1]) != len(nb[1]):
        return f"{where} has {len(na[1])} children in one and {len(nb[1])} in the other"
    for (ka, ca), (kb, cb) in zip(na[1], nb[1]):
        if ka != kb:
            return f"{where} has child {ka} in one and {kb} in the other"
        found = _first_difference(ca, cb, path + ka)
        if found:
            return found
    return None


def stack(modules: Sequence[Any]) -> Any:
    """Stack modules of identical structure into one, each array gaining a leading axis.

    This is how an ensemble is one model: ``xform.vmap(lambda m, x: m(x), in_axes=(0, None))``
    runs every member on the same ``x``, and ``xform.vmap(step)`` trains them all in one step.

    Arguments:
        modules: a non-empty sequence of modules (or any pytrees) with the same structure,
            static fields, shapes and dtypes.

    Returns:
        A module of the same type whose arrays have shape ``(len(modules), *shape)``.

    Raises:
        ValueError: naming the first field where two modules differ.

    >>> import xform
    >>> from xform import nn
    >>> keys = xform.random.split(xform.random.key(0), 3)
    >>> ens = nn.stack([nn.Linear(2, 4, key=k) for k in keys])
    >>> ens.weight.shape
    (3, 4, 2)
    """
    modules = list(modules)
    if not modules:
        raise ValueError("stack needs at least one module, got an empty sequence.")
    first_def = jax.tree_util.tree_structure(modules[0])
    first_shapes = [np.shape(x) for x in jax.tree_util.tree_leaves(modules[0])]
    for i, m in enumerate(modules[1:], start=1):
        same_def = jax.tree_util.tree_structure(m) == first_def
        if not same_def or [np.shape(x) for x in jax.tree_util.tree_leaves(m)] != first_shapes:
            why = _first_difference(modules[0], m, "") or "their tree structures differ"
            raise ValueError(f"stack: modules[0] and modules[{i}] differ: {why}. Only modules "
                             f"of identical structure (same layers, sizes and static fields) "
                             f"can be stacked into an ensemble.")
    return jax.tree_util.tree_map(lambda *xs: xnp.stack(xs), *modules)


def unstack(stacked: Any) -> list[Any]:
    """Split a stacked ensemble back into its members: the inverse of ``stack``.

    >>> import xform
    >>> from xform import nn
    >>> keys = xform.random.split(xform.random.key(0), 3)
    >>> members = nn.unstack(nn.stack([nn.Linear(2, 4, key=k) for k in keys]))
    >>> len(members), members[0].weight.shape
    (3, (4, 2))
    """
    leaves, treedef = jax.tree_util.tree_flatten(stacked)
    if not leaves:
        raise ValueError("unstack: the module has no array leaves, so no ensemble axis.")
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"unstack: every leaf needs the same leading (ensemble) axis, got "
                         f"leading sizes {sorted(map(str, sizes))}.")
    n = sizes.pop()
    return [treedef.unflatten([x[i] for x in leaves]) for i in range(n)]
