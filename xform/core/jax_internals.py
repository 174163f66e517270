"""Every use of a JAX internal (``jax._src``) in xform, in one place.

xform talks to JAX through its public API wherever that API does the job. The few things below
have no public equivalent. Each is imported here and nowhere else (``tests/test_architecture.py``
keeps it so), and ``tests/test_jax_internals.py`` exercises each against JAX's public results, so
a JAX release that moves one fails here, at ``import xform``, with a message naming it.

- ``convert_element_type(x, dtype, weak_type)``: conversion that can produce a *weakly typed*
  array (``jax.lax.convert_element_type`` always gives a strong type). Weak scalars of a
  non-default dtype (a float16 literal), xform's ``convert_element_type`` primitive.
- ``canonicalize_precision``: ``jax.lax.dot_general``'s and ``conv_general_dilated``'s
  normal form of ``precision`` (including the default-matmul-precision config), kept in params
  so that jaxprs print as JAX's do.
- ``select_and_scatter_add`` / ``select_and_gather_add``: the primitives behind the gradients of
  max/min pooling (``jax.lax`` exposes them only through ``reduce_window``'s rules).
- ``random_gamma_p``: gamma sampling from a batch of keys, one primitive, as JAX's samplers bind
  it (the public ``jax.random.gamma`` takes one key).
- ``EigResult``, ``EighResult``, ``QRResult``, ``SlogdetResult``, ``SVDResult``: the named tuples
  ``jax.numpy.linalg``'s functions return (not exported by JAX). xform's ``numpy.linalg``
  returns the same classes, so its results have the same pytree structure as JAX's.
- ``disable_jit_state``: the thread-local setters of JAX's ``jax_disable_jit``
  (``jax.disable_jit()`` is a context manager only); xform switches JAX's jit off on a thread
  while one of its own traces is current (xform/core/trace.py). None if this JAX lacks them,
  in which case xform takes its slower path.
- ``no_constant_folding()``: a context manager that switches JAX's eager constant folding
  off (``jax.ensure_compile_time_eval`` switches it on, and has no public opposite). While
  ``xform.jit`` traces, constant folding is on; ``from_jax`` traces a JAX function with it off
  so that JAX's ``shard_map`` stages its collectives instead of evaluating them outside any
  mesh (``axis_index`` has no operands).
- ``get_concrete_mesh()``: the mesh of ``jax.set_mesh`` (empty under ``use_abstract_mesh``
  alone, where xform's constants are computed outside the abstract mesh).
- ``ArrayImpl``: the class of concrete ``jax.Array``s, whose indexing, ``.at`` and methods
  xform.numpy extends to take xform tracers; named without creating an array, which would start
  XLA's backend at import (before ``jax.distributed.initialize`` may run).
- ``pytype_aval_mappings``: JAX's table from Python types to avals; xform's ``Tracer`` is
  registered there (xform/core/trace.py) so that a JAX function given an xform tracer (a leaked
  one, say) raises xform's ``UnexpectedTracerError`` naming where it was created.
"""

from __future__ import annotations

import contextlib
from typing import Any

import jax
import numpy as np


def _missing(what: str, err: Exception) -> ImportError:
    return ImportError(
        f"xform needs the JAX internal {what}, which this JAX version ({jax.__version__}) does "
        f"not have where xform looks ({err}). xform/core/jax_internals.py is the one place to "
        "adapt to the new JAX.")


try:
    from jax._src.lax.lax import _convert_element_type
    from jax._src.lax.lax import canonicalize_precision as _canonicalize_precision
except ImportError as e:  # pragma: no cover - only with a JAX that moved them
    raise _missing("jax._src.lax.lax._convert_element_type / canonicalize_precision", e) from e
try:
    from jax._src.lax.windowed_reductions import (
        _select_and_gather_add, _select_and_scatter_add,
    )
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.lax.windowed_reductions._select_and_{scatter,gather}_add", e) from e
try:
    from jax._src.numpy.linalg import EigResult as EigResult
    from jax._src.numpy.linalg import EighResult as EighResult
    from jax._src.numpy.linalg import QRResult as QRResult
    from jax._src.numpy.linalg import SlogdetResult as SlogdetResult
    from jax._src.numpy.linalg import SVDResult as SVDResult
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.numpy.linalg's EigResult, EighResult, QRResult, SlogdetResult, "
                   "SVDResult", e) from e
try:
    from jax._src.ad_util import add_jaxvals as _add_jaxvals
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.ad_util.add_jaxvals", e) from e
try:
    from jax._src.random.core import random_gamma_p as random_gamma_p
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.random.core.random_gamma_p", e) from e


def convert_element_type(x: Any, dtype: Any, weak_type: bool) -> Any:
    """``x`` converted to ``dtype``, weakly typed if ``weak_type``."""
    return _convert_element_type(x, np.dtype(dtype), weak_type=weak_type)


def add_any(x: Any, y: Any) -> Any:
    """JAX's ``add_any`` of two tangents: typed like ``x`` when traced (its weak type
    included), like ``x + y`` when run eagerly."""
    return _add_jaxvals(x, y)


def canonicalize_precision(precision: Any) -> Any:
    """``precision`` in the normal form JAX keeps in ``dot_general``'s params."""
    return _canonicalize_precision(precision)


def select_and_scatter_add(source: Any, operand: Any, *, select_prim: Any,
                           window_dimensions: Any, window_strides: Any, padding: Any) -> Any:
    """JAX's ``select_and_scatter_add`` (``select_prim`` is ``jax.lax.ge_p`` or ``le_p``)."""
    return _select_and_scatter_add(source, operand, select_prim=select_prim,
                                   window_dimensions=window_dimensions,
                                   window_strides=window_strides, padding=padding)


def select_and_gather_add(tangents: Any, operand: Any, select_prim: Any, window_dimensions: Any,
                          window_strides: Any, padding: Any, base_dilation: Any,
                          window_dilation: Any) -> Any:
    """JAX's ``select_and_gather_add`` (``select_prim`` is ``jax.lax.ge_p`` or ``le_p``)."""
    return _select_and_gather_add(tangents, operand, select_prim, window_dimensions,
                                  window_strides, padding, base_dilation, window_dilation)


try:
    from jax._src import config as _jax_config
    disable_jit_state: Any = _jax_config.disable_jit
    disable_jit_state.swap_local, disable_jit_state.set_local  # noqa: B018 -- both must exist
except (ImportError, AttributeError):  # pragma: no cover - xform then takes its slower path
    disable_jit_state = None

try:
    from jax._src import config as _jax_config_cf
    _eager_constant_folding = _jax_config_cf.eager_constant_folding
except (ImportError, AttributeError):  # pragma: no cover
    _eager_constant_folding = None


def no_constant_folding():
    """A context manager: JAX's eager constant folding off (a no-op where JAX lacks it)."""
    if _eager_constant_folding is None:
        return contextlib.nullcontext()
    return _eager_constant_folding(False)


try:  # JAX's table from Python types to avals: an xform tracer registered there makes JAX's own
    # functions raise xform's leak/misuse error instead of a generic TypeError
    from jax._src.core import pytype_aval_mappings as pytype_aval_mappings
except ImportError:  # pragma: no cover - a JAX without the table: its own TypeError stays
    pytype_aval_mappings = None

try:  # the mesh set with jax.set_mesh (jax.sharding.get_mesh raises inside jax.jit, where
    # xform computes its constants)
    from jax._src.mesh import get_concrete_mesh as get_concrete_mesh
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.mesh.get_concrete_mesh", e) from e
try:  # the class of every concrete jax.Array, named without creating an array (which would
    # start XLA's backend at `import xform`, before a multi-process run may initialize)
    from jax._src.array import ArrayImpl as ArrayImpl
except ImportError as e:  # pragma: no cover
    raise _missing("jax._src.array.ArrayImpl", e) from e
