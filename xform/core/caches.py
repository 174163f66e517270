"""The caches xform keeps, each bounded or weak-keyed, and ``clear_caches`` that empties them.

Tracing and compiling are expensive, so xform remembers what it traced and compiled: per
function (``jit``, control-flow bodies), per jaxpr (its batched, linearized, transposed forms and
the program compiled for it) and per primitive params (eager dispatch, shape rules). Programs
make functions and jaxprs without end (a fresh ``jit`` of a fresh lambda in a loop, a
hyper-parameter sweep), so nothing here may keep one alive: two kinds of cache cover every use.

- :class:`LRUCache`: hashable keys held strongly, at most ``maxsize`` of them, the least recently
  used dropped first. For keys drawn from a small world (primitives, dtypes, shapes, params).
- :class:`WeakCache`: each entry belongs to some *owner* objects (functions, jaxprs), held weakly,
  and dies with the first of them to die; also at most ``maxsize`` entries. The cached value must
  not refer to its owners strongly, or they never die (hold them through ``weakref.ref``).

Every cache made here is registered by name; :func:`cache_info` lists their sizes and bounds and
:func:`clear_caches` empties them all.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Iterable

from xform.core.ir import ClosedJaxpr

_registry: weakref.WeakSet = weakref.WeakSet()  # per-function caches die with their function

DEFAULT_MAXSIZE = 4096  # as JAX's own caches of traced and compiled programs


class LRUCache:
    """A dict of at most ``maxsize`` entries that drops the least recently used one first.

    ``get(key)`` returns None on a miss (values are never None) and raises TypeError for an
    unhashable key; ``put(key, value)`` returns ``value``.
    """

    __slots__ = ("name", "maxsize", "_d", "__weakref__")

    def __init__(self, name: str, maxsize: int = DEFAULT_MAXSIZE):
        self.name, self.maxsize = name, maxsize
        self._d: OrderedDict = OrderedDict()
        _registry.add(self)

    def get(self, key: Any) -> Any:
        d = self._d
        value = d.get(key)
        if value is not None:
            try:
                d.move_to_end(key)
            except KeyError:  # dropped by another thread in between
                pass
        return value

    def put(self, key: Any, value: Any) -> Any:
        d = self._d
        d[key] = value
        while len(d) > self.maxsize:
            try:
                d.popitem(last=False)
            except KeyError:
                break
        return value

    def clear(self) -> None:
        self._d = OrderedDict()

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self):
        return f"<LRUCache {self.name!r}: {len(self)} of {self.maxsize}>"


class StrongRef:
    """A strong reference with ``weakref.ref``'s interface: stands in for a weak reference to
    an object that cannot be weakly referenced (the holder then keeps it alive)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj


class WeakCache:
    """Entries keyed by ``(owners, key)``: the owner objects are held weakly and compared by
    identity, ``key`` is any hashable. An entry dies with the first of its owners to die, and at
    most ``maxsize`` entries are kept (least recently used dropped first).

    An owner that cannot be weakly referenced (some builtins and objects with ``__slots__``) is
    held strongly: its entries are then only bounded. A value must not refer to its owners
    strongly (directly or not), or they never die.
    """

    __slots__ = ("name", "maxsize", "_d", "__weakref__")

    def __init__(self, name: str, maxsize: int = DEFAULT_MAXSIZE):
        self.name, self.maxsize = name, maxsize
        self._d: OrderedDict = OrderedDict()  # (owner ids, key) -> (owner refs, value)
        _registry.add(self)

    def get(self, owners: tuple, key: Any = None) -> Any:
        """The value cached for ``owners`` and ``key``, or None."""
        dkey = (tuple(map(id, owners)), key)
        d = self._d
        entry = d.get(dkey)
        if entry is None:
            return None
        refs, value = entry
        for r, o in zip(refs, owners):  # an id may be reused by a new object before a callback
            if r() is not o:
                return None
        try:
            d.move_to_end(dkey)
        except KeyError:
            pass
        return value

    def put(self, owners: tuple, key: Any, value: Any) -> Any:
        """Cache ``value`` for ``owners`` and ``key``; returns ``value``."""
        parts = value if isinstance(value, tuple) else (value,)
        if any(p is o for p in parts for o in owners):
            raise ValueError(f"{self.name}: a cached value is its own owner, so it would never "
                             "be freed")
        dkey = (tuple(map(id, owners)), key)
        self_ref = weakref.ref(self)

        def drop(ref, dkey=dkey):
            cache = self_ref()
            if cache is None:
                return
            entry = cache._d.get(dkey)
            if entry is not None and any(r is ref for r in entry[0]):
                cache._d.pop(dkey, None)

        refs = []
        for o in owners:
            try:
                refs.append(weakref.ref(o, drop))
            except TypeError:
                refs.append(StrongRef(o))
        d = self._d
        d[dkey] = (tuple(refs), value)
        while len(d) > self.maxsize:
            try:
                d.popitem(last=False)
            except KeyError:
                break
        return value

    def clear(self) -> None:
        # a new dict: callbacks of entries being freed then find nothing to drop
        self._d = OrderedDict()

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self):
        return f"<WeakCache {self.name!r}: {len(self)} of {self.maxsize}>"


class _Slot:
    """Where :func:`split_jaxprs` took a jaxpr out."""

    __slots__ = ()

    def __repr__(self):
        return "<jaxpr>"


_SLOT = _Slot()


def split_jaxprs(items: Iterable[tuple[str, Any]]) -> tuple[tuple, tuple]:
    """Separate the ``ClosedJaxpr``s from a primitive's params: returns ``(jaxprs, rest)``, the
    jaxprs (top-level values, or inside tuples and lists) in order and the items with each of
    them replaced by a placeholder. The jaxprs as owners and ``rest`` as key make a
    :class:`WeakCache` entry; ``rest`` is hashable when the params are."""
    jaxprs: list = []
    rest = []
    for k, v in items:
        if isinstance(v, ClosedJaxpr):
            jaxprs.append(v)
            v = _SLOT
        elif isinstance(v, (tuple, list)) and any(isinstance(e, ClosedJaxpr) for e in v):
            jaxprs.extend(e for e in v if isinstance(e, ClosedJaxpr))
            v = tuple(_SLOT if isinstance(e, ClosedJaxpr) else e for e in v)
        rest.append((k, v))
    return tuple(jaxprs), tuple(rest)


def join_jaxprs(rest: tuple, jaxprs: Iterable[ClosedJaxpr]) -> dict:
    """The params :func:`split_jaxprs` split, with ``jaxprs`` put back in order."""
    it = iter(jaxprs)
    params = {}
    for k, v in rest:
        if v is _SLOT:
            v = next(it)
        elif isinstance(v, tuple) and any(e is _SLOT for e in v):
            v = tuple(next(it) if e is _SLOT else e for e in v)
        params[k] = v
    return params


def cache_info() -> dict[str, tuple[int, int]]:
    """``{name: (entries, bound)}`` for every live cache (same-named ones summed)."""
    out: dict[str, tuple[int, int]] = {}
    for c in list(_registry):
        n, bound = out.get(c.name, (0, 0))
        out[c.name] = (n + len(c), bound + c.maxsize)
    return out


def clear_caches() -> None:
    """Empty every cache xform keeps (traced jaxprs, compiled programs, per-function traces)."""
    for c in list(_registry):
        c.clear()
