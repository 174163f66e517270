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
                  "test_lax_reductions", "test_lax_linear", "test_numpy_basic")


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
