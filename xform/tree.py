"""``xform.tree``: JAX's ``jax.tree`` namespace (``map``, ``leaves``, ``structure``, ...).

Pytrees are ``jax.tree_util``'s (DESIGN.md): the same registry, the same C++ flattening, so
containers registered with JAX (flax, equinox, optax) are xform pytrees too. Every function here is
a pure pytree function of JAX's, re-exported; none of them computes on array values, so a traced
leaf passes through untouched.

    >>> import xform
    >>> xform.tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (4, 6)}
"""

from jax.tree import (  # noqa: F401
    all as all, broadcast as broadcast, flatten as flatten,
    flatten_with_path as flatten_with_path, leaves as leaves,
    leaves_with_path as leaves_with_path, map as map, map_with_path as map_with_path,
    reduce as reduce, structure as structure, transpose as transpose, unflatten as unflatten,
)

try:  # newer JAX only
    from jax.tree import reduce_associative as reduce_associative  # noqa: F401
    from jax.tree import static as static  # noqa: F401
except ImportError:  # pragma: no cover
    pass
