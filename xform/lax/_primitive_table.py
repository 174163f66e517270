"""jax.lax's ``*_p`` names for xform's own primitives.

xform's primitives carry JAX's names (``add``, ``scatter-add``, ``dot_general``), so code that
inspects a jaxpr (``eqn.primitive is lax.add_p``) or binds a primitive directly reads the same
under ``import xform as jax``. ``PRIMITIVE_NAMES`` is the one table of the ``*_p`` names
``xform.lax`` exports; ``primitive_exports`` looks each up among the registered primitives, so
the objects exported are exactly those the interpreters dispatch on. A name in the table that no
primitive carries fails the import: the table cannot claim what xform does not have.
"""

from __future__ import annotations

from xform.core.primitive import Primitive, abstract_eval

# jax.lax's *_p names (less the trailing ``_p``) that xform defines, as jax.lax lists them.
# Primitives whose name differs from the Python name (the scatter family's dashes) are spelled
# out in _RENAMED.
PRIMITIVE_NAMES = """
abs acos acosh add all_gather all_to_all and approx_top_k argmax argmin asin asinh atan atan2
atanh axis_index bessel_i0e bessel_i1e bitcast_convert_type broadcast_in_dim cbrt ceil clamp clz
complex concatenate conj conv_general_dilated convert_element_type copy cos cosh cumlogsumexp
cummax cummin cumprod cumsum digamma div dot_general dynamic_slice dynamic_update_slice eq eq_to
erf erf_inv erfc exp exp2 expm1 floor gather ge gt igamma igamma_grad_a igammac imag integer_pow
iota is_finite le le_to lgamma log log1p logistic lt lt_to max min mul mulhi ne neg nextafter
not optimization_barrier or pad pmax pmin polygamma population_count pow ppermute psum real
reduce reduce_and reduce_max reduce_min reduce_or reduce_precision reduce_prod reduce_sum
reduce_window reduce_window_max reduce_window_min reduce_window_sum reduce_xor
regularized_incomplete_beta rem reshape rev rng_bit_generator rng_uniform round rsqrt scatter
scatter_add scatter_max scatter_min scatter_mul scatter_sub select_and_gather_add
select_and_scatter_add select_n sharding_constraint shift_left shift_right_arithmetic
shift_right_logical sign sin sinh slice sort split sqrt square squeeze stack stop_gradient sub
tan tanh tile top_k transpose unstack xor zeta
""".split()

_RENAMED = {"scatter_add": "scatter-add", "scatter_sub": "scatter-sub",
            "scatter_mul": "scatter-mul", "scatter_min": "scatter-min",
            "scatter_max": "scatter-max"}


def primitive_exports() -> dict[str, Primitive]:
    """``{"add_p": <add>, ...}`` for every name of ``PRIMITIVE_NAMES``, from the registry of
    abstract evaluation rules (every primitive has one). Raises ``LookupError`` for a name no
    registered primitive carries, and for a name two distinct primitives carry (they would
    split one operation's rules in two)."""
    by_name: dict[str, Primitive] = {}
    for prim in abstract_eval:
        other = by_name.setdefault(prim.name, prim)
        if other is not prim and prim.name in _WANTED:
            raise LookupError(f"two primitives are named {prim.name!r}; define it once and "
                              f"import it where it is needed")
    out = {}
    for name in PRIMITIVE_NAMES:
        prim = by_name.get(_RENAMED.get(name, name))
        if prim is None:
            raise LookupError(f"xform.lax lists {name}_p but no primitive named "
                              f"{_RENAMED.get(name, name)!r} is registered")
        out[f"{name}_p"] = prim
    return out


_WANTED = frozenset(_RENAMED.get(n, n) for n in PRIMITIVE_NAMES)
