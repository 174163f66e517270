"""The op-record table: one entry per primitive / numpy function, driving the value checks here
(eager and jit against jax on the same inputs) and, later, the vmap and gradient checks.

Each family's test module defines ``RECORDS``; ``all_records()`` gathers them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import numpy as np

import xform

FAMILY_MODULES = ("test_lax_elementwise", "test_lax_shape", "test_lax_indexing",
                  "test_lax_reductions", "test_lax_linear", "test_numpy_basic", "test_linalg",
                  "test_numpy_more")


@dataclass(frozen=True)
class OpRecord:
    """``fun(*args)`` (xform) must equal ``ref(*args)`` (jax) on ``args_maker(rng)``."""

    name: str
    fun: Callable[..., Any]
    ref: Callable[..., Any]
    args_maker: Callable[[np.random.Generator], list]
    tol: float = 1e-6
    differentiable: bool = True       # for the gradient checks of the autodiff work
    check_weak_type: bool = True
    extra: dict = field(default_factory=dict)

    def make_args(self, seed: int = 0) -> list:
        return self.args_maker(np.random.default_rng(seed))


def assert_same(got: Any, want: Any, tol: float, check_weak_type: bool = True, what: str = ""):
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree == want_tree, f"{what}: structure {got_tree} != {want_tree}"
    for g, w in zip(got_leaves, want_leaves):
        g_arr, w_arr = np.asarray(g), np.asarray(w)
        assert g_arr.shape == w_arr.shape, f"{what}: shape {g_arr.shape} != {w_arr.shape}"
        assert g_arr.dtype == w_arr.dtype, f"{what}: dtype {g_arr.dtype} != {w_arr.dtype}"
        if check_weak_type and hasattr(w, "weak_type") and hasattr(g, "weak_type"):
            assert g.weak_type == w.weak_type, f"{what}: weak_type {g.weak_type} != {w.weak_type}"
        if np.issubdtype(w_arr.dtype, np.inexact):
            np.testing.assert_allclose(g_arr, w_arr, rtol=tol, atol=tol, err_msg=what)
        else:
            np.testing.assert_array_equal(g_arr, w_arr, err_msg=what)


def check_eager(rec: OpRecord) -> None:
    args = rec.make_args()
    assert_same(rec.fun(*args), rec.ref(*args), rec.tol, rec.check_weak_type, f"{rec.name} eager")


def check_jit(rec: OpRecord) -> None:
    args = rec.make_args(1)
    got = xform.jit(rec.fun)(*args)
    want = jax.jit(rec.ref)(*args)
    assert_same(got, want, rec.tol, rec.check_weak_type, f"{rec.name} jit")


def all_records() -> list[OpRecord]:
    out = []
    for name in FAMILY_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        out += list(getattr(mod, "RECORDS", []))
    return out


def check_grads_record(rec: OpRecord, order: int = 2) -> None:
    """Forward and reverse derivatives of ``rec.fun`` against finite differences, to ``order``.

    Only the inexact (float/complex) arguments are differentiated; the others stay fixed."""
    from xform.test_util import check_grads
    args = rec.make_args(2)
    diff = [i for i, a in enumerate(args)
            if np.issubdtype(np.asarray(a).dtype, np.inexact)]
    if not diff:
        return

    def f(*dargs):
        full = list(args)
        for i, a in zip(diff, dargs):
            full[i] = a
        return rec.fun(*full)

    check_grads(f, [args[i] for i in diff], order, **rec.extra.get("grad_tols", {}))


def _vmap_cases(args: list) -> list[tuple]:
    """(batched argument positions, batch axis) pairs: every non-empty subset of the array
    arguments, batched on axis 0 and on the last axis (one case when those coincide)."""
    import itertools
    arrays = [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic, jax.Array))]
    cases = []
    for r in range(1, len(arrays) + 1):
        for subset in itertools.combinations(arrays, r):
            cases.append((subset, 0))
            if any(np.ndim(args[i]) > 0 for i in subset):
                cases.append((subset, -1))
    return cases


def check_vmap(rec: OpRecord, n: int = 3) -> None:
    """``xform.vmap(rec.fun)`` against a Python loop over ``n`` examples (made with different
    seeds, stacked), for every subset of batched array arguments and batch axis 0 and last.
    Unbatched arguments take the first example's value."""
    examples = [rec.make_args(seed) for seed in range(n)]
    for batched, axis in _vmap_cases(examples[0]):
        in_axes = tuple(axis if i in batched else None for i in range(len(examples[0])))
        args = [np.stack([np.asarray(ex[i]) for ex in examples], axis=axis) if i in batched else a
                for i, a in enumerate(examples[0])]
        per_example = [rec.fun(*[ex[i] if i in batched else a
                                 for i, a in enumerate(examples[0])]) for ex in examples]
        want = jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]),
                                      *per_example)
        got = xform.vmap(rec.fun, in_axes=in_axes)(*args)
        what = f"{rec.name} vmap in_axes={in_axes}"
        assert_same(got, want, rec.tol, False, what)
        if rec.check_weak_type:
            for g, w in zip(jax.tree_util.tree_leaves(got),
                            jax.tree_util.tree_leaves(per_example[0])):
                if hasattr(g, "weak_type") and hasattr(w, "weak_type"):
                    assert g.weak_type == w.weak_type, f"{what}: weak_type {g.weak_type}"
