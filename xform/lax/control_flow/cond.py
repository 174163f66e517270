"""``cond`` and ``switch``: the ``cond`` primitive, ``cond[branches=(...)] index *operands``.

``index`` is an int32 scalar choosing one of the ``branches`` (closed jaxprs of identical
signatures); ``cond(pred, ...)`` binds it with ``branches=(false_fun, true_fun)`` as JAX does,
and ``switch`` clamps its index into range before binding.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from xform.core.avals import ShapedArray, is_inexact, sharding_without_axis
from xform.core.caches import WeakCache
from xform.core.jax_internals import convert_element_type as jax_convert_element_type
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_jaxpr, batch_rules, bdim_at_front, current_axis_name, moveaxis, not_mapped,
)
from xform.interpreters.ad_util import pvary_to
from xform.interpreters.jvp import Zero, instantiate, jvp_rules, tangent_aval, zeros_like_aval
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.partial_eval import linearize_jaxpr
from xform.interpreters.transpose import (
    UndefinedPrimal, backward_pass, is_undefined, transpose_rules,
)
from xform.interpreters.tracing import convert_foreign_leaves, fun_name
from xform.lax.control_flow.common import (
    cached_trace, call_jaxpr, check_same_types, join_consts,
    jvp_jaxpr, nonzero, trace_flat, trace_fun, under_linearize,
)
from xform.lax.elementwise import clamp, convert_element_type, eq, ne, select_n, stop_gradient
from xform.lax.shape import broadcast_in_dim

cond_p = Primitive("cond", multiple_results=True)


def _cond_abstract_eval(index: ShapedArray, *ops: ShapedArray, branches):
    if index.shape != () or index.dtype != np.int32:
        raise TypeError(f"cond index must be an int32 scalar, got {index.str_short()}")
    for i, br in enumerate(branches):
        if [(a.shape, a.dtype) for a in br.in_avals] != [(a.shape, a.dtype) for a in ops]:
            raise TypeError(f"cond branch {i} takes {[a.str_short() for a in br.in_avals]} but "
                            f"the operands are {[a.str_short() for a in ops]}")
    return _out_avals(branches)


def _out_avals(branches) -> list:
    """The cond's output types: branch 0's, weak types included, as JAX's cond (whose branches
    may differ in weak types only). So a derivative's weak type follows JAX's through the
    residuals that partial evaluation adds to every branch (zeros in the branches that do not
    compute them)."""
    return list(branches[0].out_avals)


def _run_branch(branch, out_avals, *ops):
    outs = eval_jaxpr_jax(branch.jaxpr, branch.consts, ops)
    # branches may differ in weak types only: give JAX one type per output
    return [x if _jax_weak(x) == a.weak_type
            else jax_convert_element_type(x, a.dtype, a.weak_type)
            for x, a in zip(outs, out_avals)]


def _jax_weak(x: Any) -> bool:
    """The weak type JAX sees on a value of a JAX trace (a Python scalar is weak)."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return bool(aval.weak_type)
    return isinstance(x, (bool, int, float, complex)) or bool(getattr(x, "weak_type", False))


def _cond_to_jax(index, *ops, branches):
    out_avals = _out_avals(branches)
    fns = [partial(_run_branch, br, out_avals) for br in branches]
    return list(jax.lax.switch(index, fns, *ops))


abstract_eval[cond_p] = _cond_abstract_eval
to_jax[cond_p] = _cond_to_jax


def _bcast_like(which: Any, aval: ShapedArray) -> Any:
    """A batched index/predicate ``[B]`` broadcast to the batched shape ``[B, *aval.shape]``."""
    return broadcast_in_dim(which, (to_aval(which).shape[0], *aval.shape), (0,))


def _cond_batch_rule(axis_size, vals, dims, *, branches):
    index, ops = vals[0], vals[1:]
    idim, odims = dims[0], dims[1:]
    n_out = len(branches[0].out_avals)
    name = current_axis_name()
    if idim is not_mapped:
        # one branch for the whole batch: a cond of batched branches
        ops = [x if d is not_mapped else moveaxis(x, d, 0) for x, d in zip(ops, odims)]
        in_dims = [not_mapped if d is not_mapped else 0 for d in odims]
        out_b = [False] * n_out
        for br in branches:
            out_b = [a or b for a, b in zip(out_b, batch_jaxpr(br, axis_size, in_dims, False,
                                                               axis_name=name)[1])]
        new = tuple(batch_jaxpr(br, axis_size, in_dims, out_b, axis_name=name)[0]
                    for br in branches)
        outs = cond_p.bind(index, *ops, branches=new)
        return outs, [0 if b else not_mapped for b in out_b]
    # A batched index: every branch runs on the whole batch and each example picks its result.
    # The branch an example does not take sees that example's operands through stop_gradient,
    # so a NaN it produces (sqrt of a negative, say) is masked out of the values by the select
    # and never reaches the gradient (0 * NaN would otherwise leak through the select).
    index = moveaxis(index, idim, 0)
    moved, in_dims = [], []
    for x, d in zip(ops, odims):
        if is_inexact(to_aval(x).dtype):
            moved.append(bdim_at_front(x, d, axis_size))
            in_dims.append(0)
        else:
            moved.append(x if d is not_mapped else moveaxis(x, d, 0))
            in_dims.append(not_mapped if d is not_mapped else 0)
    results = []
    for i, br in enumerate(branches):
        taken = eq(index, np.int32(i))
        ops_i = [select_n(_bcast_like(taken, _per_example(x)), stop_gradient(x), x)
                 if d == 0 and is_inexact(to_aval(x).dtype) else x
                 for x, d in zip(moved, in_dims)]
        bj, _ = batch_jaxpr(br, axis_size, in_dims, True, axis_name=name)
        results.append(call_jaxpr(bj, *ops_i))
    outs = []
    for k in range(n_out):
        cases = [r[k] for r in results]
        which = index if len(cases) > 2 else eq(index, np.int32(1))
        outs.append(select_n(_bcast_like(which, _per_example(cases[0])), *cases))
    return outs, [0] * n_out


def _per_example(x: Any) -> ShapedArray:
    a = to_aval(x)
    return ShapedArray(a.shape[1:], a.dtype, a.weak_type, a.vma,
                       sharding_without_axis(a.sharding, 0))


batch_rules[cond_p] = _cond_batch_rule


def _cond_jvp(primals, tangents, *, branches):
    index, ops = primals[0], primals[1:]
    op_tangents = tangents[1:]
    nz = nonzero(op_tangents)
    n_out = len(branches[0].out_avals)
    out_avals = branches[0].out_avals
    if not under_linearize():
        # forward mode: one cond over the JVPs of the branches
        out_nz = [False] * n_out
        for br in branches:
            out_nz = [a or b for a, b in zip(out_nz, jvp_jaxpr(br, nz, [False] * n_out)[1])]
        new = tuple(jvp_jaxpr(br, nz, out_nz)[0] for br in branches)
        outs = cond_p.bind(index, *ops, *[t for t in op_tangents if not isinstance(t, Zero)],
                           branches=new)
        it = iter(outs[n_out:])
        return outs[:n_out], [next(it) if z else Zero(tangent_aval(a))
                              for z, a in zip(out_nz, out_avals)]
    # under linearize: a known cond gives the primal outputs and the residuals, a linear cond
    # maps residuals and tangents to output tangents
    known, linear = _linearize_branches(branches, nz)
    outs = cond_p.bind(index, *ops, branches=known)
    primal_out, residuals = outs[:n_out], outs[n_out:]
    t_out = cond_p.bind(index, *residuals, *[t for t in op_tangents if not isinstance(t, Zero)],
                        branches=linear)
    return primal_out, t_out


_split_cache = WeakCache("cond: linearized branches")  # weakly on all the branches


def _linearize_branches(branches, nz):
    """Known branches (operands -> outputs + residual slots) and linear branches (residual slots
    + nonzero tangents -> output tangents). Residuals of different branches share a slot when
    their types (weak types included) agree; a branch fills the slots it does not use with
    zeros."""
    hit = _split_cache.get(tuple(branches), tuple(nz))
    if hit is not None:
        return hit
    n_out = len(branches[0].out_avals)
    parts = [linearize_jaxpr(br, nz) for br in branches]
    slots: list[ShapedArray] = []
    assign = []  # per branch: slot of each residual
    for known, _, _ in parts:
        res_avals = known.out_avals[n_out:]
        used: set = set()
        mine = []
        for a in res_avals:
            # a slot per type, weak type included (as JAX merges branch residuals): a
            # residual keeps its weak type, and so do the derivatives computed from it
            k = next((k for k, s in enumerate(slots) if k not in used
                      and (s.shape, s.dtype, s.weak_type) == (a.shape, a.dtype, a.weak_type)),
                     None)
            if k is None:
                k = len(slots)
                slots.append(ShapedArray(a.shape, a.dtype, a.weak_type))
            used.add(k)
            mine.append(k)
        assign.append(mine)
    known_out, linear_out = [], []
    op_avals = branches[0].in_avals
    t_avals = [tangent_aval(a) for a, z in zip(op_avals, nz) if z]
    for (known, linear, _), mine in zip(parts, assign):
        def known_fun(*ops, known=known, mine=mine):
            outs = call_jaxpr(known, *ops)
            filled = [zeros_like_aval(s) for s in slots]
            for k, r in zip(mine, outs[n_out:]):
                filled[k] = r
            return list(outs[:n_out]) + filled, None

        def linear_fun(*args, linear=linear, mine=mine):
            res, ts = args[:len(slots)], args[len(slots):]
            return call_jaxpr(linear, *[res[k] for k in mine], *ts), None

        known_out.append(trace_flat(known_fun, op_avals)[0])
        linear_out.append(trace_flat(linear_fun, slots + t_avals)[0])
    return _split_cache.put(tuple(branches), tuple(nz), (tuple(known_out), tuple(linear_out)))


jvp_rules[cond_p] = _cond_jvp


def _cond_transpose(cts, index, *ops, branches):
    undefined = [is_undefined(x) for x in ops]
    known = [x for x in ops if not is_undefined(x)]
    cts = [instantiate(c) for c in cts]
    k_avals = [to_aval(x) for x in known]
    ct_avals = [to_aval(c) for c in cts]

    def transposed(branch):
        def fun(*args):
            kv, ct = args[:len(known)], args[len(known):]
            it = iter(kv)
            full = [UndefinedPrimal(a) if u else next(it)
                    for a, u in zip(branch.in_avals, undefined)]
            res = backward_pass(branch.jaxpr, branch.consts, full, ct)
            return [instantiate(r) for r, u in zip(res, undefined) if u], None
        return trace_flat(fun, k_avals + ct_avals, kind="transpose")[0]

    new = tuple(transposed(br) for br in branches)
    outs = iter(cond_p.bind(index, *known, *cts, branches=new))
    return [None] + [next(outs) if u else None for u in undefined]


transpose_rules[cond_p] = _cond_transpose


# -- the public functions -------------------------------------------------------------------
def _trace_branches(funs: Sequence[Callable], names: Sequence[str], operands, what: str):
    operands = convert_foreign_leaves(tuple(operands))  # JAX's typed keys: xform's KeyArray
    ops, in_tree = tree_flatten(operands)
    avals = [to_aval(x) for x in ops]
    branches, consts, out_tree = cached_trace(
        tuple(funs), (what, in_tree, tuple(avals)),
        lambda: _trace_branches_now(funs, names, in_tree, avals, what))
    return branches, consts, ops, out_tree


def _trace_branches_now(funs, names, in_tree, avals, what: str):
    by_fun: dict = {}  # a function given for several branches is traced once
    for f in funs:
        if id(f) not in by_fun:
            by_fun[id(f)] = trace_fun(lambda *a, f=f: f(*a), in_tree, avals, kind="cond",
                                      what=f"{what} branch {fun_name(f)}")
    traced = [by_fun[id(f)] for f in funs]
    first = traced[0]
    for (closed, _, tree), name in zip(traced[1:], names[1:]):
        check_same_types(what, names[0], first[2], first[0].out_avals, name, tree,
                         closed.out_avals)
    # inside a shard_map body with varying-axes types, a result varies over the mesh axes any
    # branch makes it vary over: the other branches cast theirs with pvary
    joins = [frozenset().union(*(t[0].out_avals[k].vma for t in traced))
             for k in range(len(first[0].out_avals))]
    if any(t[0].out_avals[k].vma != j for t in traced for k, j in enumerate(joins)):
        by_fun = {}
        for f in funs:
            if id(f) not in by_fun:
                by_fun[id(f)] = trace_fun(lambda *a, f=f: _vary_outputs(f(*a), joins), in_tree,
                                          avals, kind="cond",
                                          what=f"{what} branch {fun_name(f)}")
        traced = [by_fun[id(f)] for f in funs]
        first = traced[0]
    branches, consts = join_consts([t[0] for t in traced], [t[1] for t in traced])
    return tuple(branches), consts, first[2]


def _vary_outputs(out: Any, joins: Sequence[frozenset]) -> Any:
    leaves, tree = tree_flatten(out)
    return tree_unflatten(tree, [pvary_to(x, j) if j else x for x, j in zip(leaves, joins)])


def _scalar_index(x: Any, what: str, arg: str) -> Any:
    aval = to_aval(x)
    if aval.shape != ():
        raise TypeError(f"{what}: `{arg}` must be a scalar, got an array of shape {aval.shape} "
                        f"({aval.str_short()}). To choose per element, use "
                        "xform.numpy.where, or vmap the call.")
    return aval


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as ``jax.lax.cond``.

    Both functions must return the same pytree structure, shapes and dtypes. Under ``vmap``
    with a batched ``pred``, both run and each example selects its result (see
    docs/control-flow.md).

    >>> import xform
    >>> xform.lax.cond(True, lambda x: x + 1.0, lambda x: x - 1.0, 2.0)
    Array(3., dtype=float32, weak_type=True)
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun arguments should be callable, got "
                        f"{type(true_fun).__name__} and {type(false_fun).__name__}.")
    aval = _scalar_index(pred, "cond", "pred")
    if aval.dtype != np.bool_:
        if not (np.issubdtype(aval.dtype, np.number)):
            raise TypeError(f"cond: `pred` must be a boolean or numeric scalar, got "
                            f"{aval.str_short()}.")
        pred = ne(pred, np.zeros((), aval.dtype))
    branches, consts, ops, out_tree = _trace_branches(
        (false_fun, true_fun), ("false_fun", "true_fun"), operands, "cond")
    index = convert_element_type(pred, np.int32)
    outs = cond_p.bind(index, *consts, *ops, branches=branches)
    return tree_unflatten(out_tree, outs)


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``branches[index](*operands)``, with ``index`` clamped into range, as ``jax.lax.switch``.

    >>> import xform
    >>> xform.lax.switch(5, [lambda x: x, lambda x: 2 * x], 3.0)
    Array(6., dtype=float32, weak_type=True)
    """
    branches = list(branches)
    if not branches:
        raise ValueError("switch: `branches` must be a non-empty sequence of callables.")
    for i, b in enumerate(branches):
        if not callable(b):
            raise TypeError(f"switch: branches[{i}] is a {type(b).__name__}, not a callable.")
    aval = _scalar_index(index, "switch", "index")
    if not np.issubdtype(aval.dtype, np.integer):
        raise TypeError(f"switch: `index` must be an integer scalar, got {aval.str_short()}.")
    if len(branches) == 1:
        return branches[0](*operands)
    index = convert_element_type(index, np.int32)
    index = clamp(np.int32(0), index, np.int32(len(branches) - 1))
    jbranches, consts, ops, out_tree = _trace_branches(
        branches, [f"branches[{i}]" for i in range(len(branches))], operands, "switch")
    outs = cond_p.bind(index, *consts, *ops, branches=jbranches)
    return tree_unflatten(out_tree, outs)


__all__ = ["cond", "switch", "cond_p"]
