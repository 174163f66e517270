"""What a scan computes the same at every iteration, taken out of its loops.

**Loop-invariant values of the known loop** (:func:`split_invariant`). Differentiating a scan
under ``grad`` splits it into a known loop (the primal computation, which also stacks the
residuals the tangent loop reads) and a linear loop. Whatever the known loop's body computes
from its consts alone is the same at every iteration. It is computed once, before the loop, as
JAX's partial evaluation of a scan does. A residual computed that way is passed to the linear
loop as a const rather than stacked ``length`` times, and a later derivative sees the same
program as JAX's. A residual that is one of the loop's ``xs`` or ``ys`` is read from there
rather than stacked again, and one that two residuals name is stacked once.

**Sums over iterations taken out of the backward loop** (:func:`hoist_sums`).

The transpose of a scan (xform/lax/control_flow/loops.py) runs the body's backward pass in a
reverse loop and adds each iteration's cotangent of a loop-invariant operand (a weight matrix,
a bias) into a loop carry. Those cotangents are almost always a contraction of two per-iteration
values — ``x_t^T @ dz_t`` for the weight of ``x_t @ W``, ``sum(dz_t, 0)`` for its bias — so the
loop does ``length`` small matrix products, each reading and writing the whole accumulator.

Summing a contraction over iterations is the same contraction with the iteration axis contracted
too: ``sum_t x_t^T @ dz_t = X^T @ DZ`` over the stacked ``X`` and ``DZ``. :func:`hoist_sums`
rewrites the backward body so that such an accumulator leaves the loop: the body returns the
per-iteration operands as extra stacked outputs (or reuses the stacked inputs the loop already
reads, the forward residuals), and one contraction after the loop replaces the ``length`` small
ones and the accumulator traffic. The loop carries less, and the one large product runs at the
matrix unit's speed.

Stacking an operand costs memory (``length`` times its size), so an accumulator is taken out only
where that is cheaper than carrying it: the new stacked bytes of an iteration must not exceed the
accumulator's, and all of them together must not exceed half of what the loop already reads as
stacked inputs (the forward residuals) per iteration, so the memory of a gradient through a scan
grows by half at most. The result is the same sum in another order (floating-point rounding may
differ in the last bits, as between any two matrix-product libraries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from xform.core.ir import ClosedJaxpr, Jaxpr, Literal, Var
from xform.core.trace import current_trace, set_current_trace, to_aval
from xform.interpreters.ad_util import add_any_p
from xform.interpreters.lowering import has_effects, literal_value
from xform.interpreters.partial_eval import PartialEvalTrace
from xform.interpreters.staging import eval_jaxpr, hoist_consts
from xform.lax.elementwise import convert_element_type_p
from xform.lax.linear import dot_general_p
from xform.lax.reductions import reduce_sum_p
from xform.lax.shape import reshape_p, transpose_p

# linear maps of one operand that commute with a sum over iterations: they may follow the
# contraction on its way into the accumulator and are applied once after the loop instead
_STRUCTURAL = (transpose_p, reshape_p, convert_element_type_p)


@dataclass
class _Plan:
    """How one accumulator's per-iteration addend is made: ``tree`` is ``("sum", eqn)`` for a
    dot_general or reduce_sum whose iterations are summed, ``("map", eqn, tree)`` for a structural
    equation applied to a tree, ``("add", eqn, tree, tree)`` for an add_any of two trees."""

    acc: int  # which accumulator (index among the body's accumulator carries)
    tree: tuple
    eqns: list = field(default_factory=list)  # every equation of the tree, the add included

    @property
    def roots(self) -> list:
        return [e for e in self.eqns if e.primitive in (dot_general_p, reduce_sum_p)]


def split_invariant(body: ClosedJaxpr, consts: list, n_consts: int, n_carry: int,
                    n_loop_outs: int):
    """Compute what ``body`` computes from its first ``n_consts`` invars alone, now.

    ``body`` is a scan body (invars ``[consts, carries, xs]``) whose outputs from
    ``n_loop_outs`` on are residuals; ``consts`` are the values of its const invars. Returns
    ``(new_body, new_consts, residuals)``: ``new_body`` takes ``new_consts`` (the values it
    reads from outside the loop, the loop-invariant ones computed just now among them) in place
    of ``consts``, and gives the first ``n_loop_outs`` outputs followed by the residuals that
    must be stacked. ``residuals[k]`` says where residual ``k`` is: ``("const", value)`` when
    it is loop invariant, ``("xs", i)`` when it is the loop's ``i``-th ``xs`` input and
    ``("ys", i)`` when it is its ``i``-th ``ys`` output (stacked already: not stacked again),
    ``("out", j)`` when it is the ``j``-th stacked residual of ``new_body`` (a residual that
    two outputs name is stacked once).

    A body with side effects keeps every equation in the loop, where each iteration runs them
    (JAX's partial evaluation moves a callback that reads only consts out of the loop, so it
    runs once per gradient there)."""
    j = body.jaxpr
    if any(has_effects(e) for e in j.eqns):
        known = dict(zip(j.invars[:n_consts], consts))
        known.update(zip(j.constvars, body.consts))
        res_outs = [literal_value(v) if isinstance(v, Literal) else known.get(v, v)
                    for v in j.outvars[n_loop_outs:]]  # a literal keeps a Python scalar's type
        res, stacked = _place_residuals(
            res_outs, lambda x: isinstance(x, Var) and x not in known, j.invars[n_consts:],
            j.outvars[:n_loop_outs], n_carry)
        body = ClosedJaxpr(Jaxpr(j.constvars, j.invars, j.eqns,
                                 j.outvars[:n_loop_outs] + stacked), body.consts)
        new_body, lifted = hoist_consts(body)
        return new_body, list(lifted) + list(consts), res
    pe = PartialEvalTrace(current_trace(), "the loop-invariant part of a scan", kind="scan")
    try:
        loop_args = [pe.new_arg(v.aval) for v in j.invars[n_consts:]]
        with set_current_trace(pe):
            outs = eval_jaxpr(j, body.consts, *consts, *loop_args)
        res, stacked = _place_residuals(outs[n_loop_outs:], pe.is_own, loop_args,
                                        outs[:n_loop_outs], n_carry)
        new_body = pe.to_closed_jaxpr(outs[:n_loop_outs] + stacked)
    finally:
        pe.finish()
    new_body, new_consts = hoist_consts(new_body)
    return new_body, list(new_consts), res


def _place_residuals(outs: list, in_loop: Callable, loop_args: list, loop_outs: list,
                     n_carry: int):
    """Where each residual of split_invariant is, and the residuals the loop must stack."""
    xs_pos = {id(x): i for i, x in enumerate(loop_args[n_carry:])}
    ys_pos = {id(y): i for i, y in enumerate(loop_outs[n_carry:]) if in_loop(y)}
    res, stacked, stacked_pos = [], [], {}
    for o in outs:
        if not in_loop(o):
            res.append(("const", o))
        elif id(o) in xs_pos:
            res.append(("xs", xs_pos[id(o)]))
        elif id(o) in ys_pos:
            res.append(("ys", ys_pos[id(o)]))
        else:
            if id(o) not in stacked_pos:
                stacked_pos[id(o)] = len(stacked)
                stacked.append(o)
            res.append(("out", stacked_pos[id(o)]))
    return res, stacked


def _nbytes(aval) -> int:
    return int(np.prod(aval.shape, dtype=np.int64)) * np.dtype(aval.dtype).itemsize


def hoist_sums(body: ClosedJaxpr, acc_start: int, n_acc: int, stacked_start: int):
    """Take accumulations of per-iteration contractions out of a scan body.

    Arguments:
        body: the scan body; invars ``[consts, carries, xs]``, outvars ``[carries, ys]``, whose
            first ``n_acc`` carries (invars from ``acc_start``, outvars from 0) are accumulators
            that start at zero.
        acc_start: the position of the first accumulator among the invars (the number of
            consts).
        n_acc: how many accumulators there are.
        stacked_start: the position of the first ``xs`` invar.

    Returns:
        ``(new_body, hoisted, new_ys)``: ``new_body`` has the hoisted accumulators' invars and
        outvars removed and ``new_ys`` extra ys outputs appended (after the old ones);
        ``hoisted`` maps an accumulator index to ``finish(xs, ys_extra) -> value``, which
        computes its final value after the loop from the stacked ``xs`` the scan read and the
        extra stacked outputs. With nothing to hoist, ``(body, {}, 0)``.
    """
    j = body.jaxpr
    producer = {v: e for e in j.eqns for v in e.outvars}
    uses: dict = {}
    for e in j.eqns:
        for a in e.invars:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
    for a in j.outvars:
        if isinstance(a, Var):
            uses[a] = uses.get(a, 0) + 1
    acc_in = j.invars[acc_start:acc_start + n_acc]
    stacked_in = {v: k for k, v in enumerate(j.invars[stacked_start:])}
    # a carry's value is per-iteration, a const's is not
    invariant = set(j.constvars) | set(j.invars[:acc_start])

    plans = []
    for i, (a, o) in enumerate(zip(acc_in, j.outvars[:n_acc])):
        plan = _plan(i, a, o, producer, uses, invariant | set(acc_in))
        if plan is not None:
            plans.append(plan)
    if not plans:
        return body, {}, 0

    # pick the plans whose new stacked bytes pay off, largest accumulators first
    per_iter_budget = sum(_nbytes(v.aval) for v in stacked_in) // 2
    chosen, new_ys = [], []  # new_ys: body vars to stack, in order
    for plan in sorted(plans, key=lambda p: -_nbytes(acc_in[p.acc].aval)):
        ops = [x for r in plan.roots for x in r.invars if x not in stacked_in and x not in new_ys]
        ops = list(dict.fromkeys(ops))
        cost = sum(_nbytes(x.aval) for x in ops)
        if cost > _nbytes(acc_in[plan.acc].aval) or cost > per_iter_budget:
            continue
        per_iter_budget -= cost
        chosen.append(plan)
        new_ys.extend(ops)
    if not chosen:
        return body, {}, 0

    hoisted_acc = {p.acc for p in chosen}
    dead = set()
    for p in chosen:
        dead.update(id(e) for e in p.eqns)
    eqns = [e for e in j.eqns if id(e) not in dead]
    invars = [v for k, v in enumerate(j.invars)
              if not (acc_start <= k < acc_start + n_acc and k - acc_start in hoisted_acc)]
    outvars = ([v for k, v in enumerate(j.outvars[:n_acc]) if k not in hoisted_acc]
               + list(j.outvars[n_acc:]) + new_ys)
    new_body = ClosedJaxpr(Jaxpr(j.constvars, invars, eqns, outvars), body.consts)

    ys_pos = {v: k for k, v in enumerate(new_ys)}
    acc_avals = [v.aval for v in acc_in]

    def finisher(plan: _Plan):
        def finish(xs, ys_extra):
            def stacked(v):
                return xs[stacked_in[v]] if v in stacked_in else ys_extra[ys_pos[v]]
            out = _summed(plan.tree, stacked)
            # the carry it replaces was weak only where its zero start was too
            if to_aval(out).weak_type and not acc_avals[plan.acc].weak_type:
                out = convert_element_type_p.bind(out, new_dtype=to_aval(out).dtype,
                                                  weak_type=False)
            return out
        return finish

    return new_body, {p.acc: finisher(p) for p in chosen}, len(new_ys)


def _summed(tree: tuple, stacked) -> Any:
    """The sum over iterations of what ``tree`` computes in one, from the stacked operands."""
    kind, eqn = tree[0], tree[1]
    if kind == "add":
        return add_any_p.bind(_summed(tree[2], stacked), _summed(tree[3], stacked))
    if kind == "map":
        return eqn.primitive.bind(_summed(tree[2], stacked), **eqn.params)
    if eqn.primitive is dot_general_p:  # the iteration axis, leading, is contracted too
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        dims = (((0, *(c + 1 for c in lc)), (0, *(c + 1 for c in rc))),
                (tuple(b + 1 for b in lb), tuple(b + 1 for b in rb)))
        return dot_general_p.bind(*map(stacked, eqn.invars),
                                  **{**eqn.params, "dimension_numbers": dims})
    return reduce_sum_p.bind(stacked(eqn.invars[0]),
                             axes=(0, *(a + 1 for a in eqn.params["axes"])))


def _plan(i, acc, out, producer, uses, invariant) -> _Plan | None:
    """How accumulator ``i`` (invar ``acc``, outvar ``out``) sums contractions, or None."""
    if uses.get(acc, 0) != 1 or uses.get(out, 0) != 1 or out not in producer:
        return None
    add = producer[out]
    if add.primitive is not add_any_p or acc not in add.invars:
        return None
    others = [x for x in add.invars if x is not acc]
    if len(others) != 1:
        return None
    eqns = [add]

    def tree_of(v) -> tuple | None:
        # each value of the tree feeds only the next equation, so all of it leaves the body
        if not isinstance(v, Var) or uses.get(v, 0) != 1 or v not in producer:
            return None
        eqn = producer[v]
        if eqn.primitive is add_any_p:
            a, b = (tree_of(x) for x in eqn.invars)
            sub = None if a is None or b is None else ("add", eqn, a, b)
        elif eqn.primitive in _STRUCTURAL:
            a = tree_of(eqn.invars[0])
            sub = None if a is None else ("map", eqn, a)
        elif eqn.primitive in (dot_general_p, reduce_sum_p) and all(
                isinstance(x, Var) and x not in invariant for x in eqn.invars):
            sub = ("sum", eqn)
        else:
            return None
        if sub is not None:
            eqns.append(eqn)
        return sub

    tree = tree_of(others[0])
    return None if tree is None else _Plan(i, tree, eqns)


__all__ = ["hoist_sums", "split_invariant"]
