"""Loops: the ``scan`` and ``while`` primitives, and ``scan``, ``fori_loop``, ``while_loop``,
``map`` built on them.

``scan[jaxpr length num_carry num_consts reverse unroll] *consts *init *xs`` runs ``jaxpr`` (taking
``consts + carry + x`` and giving ``carry + y``) ``length`` times, stacking the ``y``s.
``while[body_jaxpr body_nconsts cond_jaxpr cond_nconsts] *cond_consts *body_consts *init`` runs
the body while the cond jaxpr gives True.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np
from jax.tree_util import tree_flatten, tree_structure, tree_unflatten

from xform.core.avals import (
    ShapedArray, get_aval, result_type, sharding_with_axis, sharding_without_axis,
)
from xform.core.errors import ConcretizationTypeError
from xform.core.jax_internals import convert_element_type as convert_element_type_jax
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, to_aval
from xform.interpreters.batching import (
    batch_jaxpr, batch_rules, bdim_at_front, current_axis_name, moveaxis, not_mapped,
)
from xform.interpreters.ad_util import pvary_to
from xform.interpreters.jvp import (
    Zero, add_tangents, instantiate, jvp_rules, tangent_aval, zeros_like_aval,
)
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.partial_eval import linearize_jaxpr
from xform.interpreters.transpose import (
    UndefinedPrimal, backward_pass, is_undefined, transpose_rules,
)
from xform.interpreters.tracing import convert_foreign_leaves, fun_name
from xform.lax.batched import batched_call
from xform.lax.control_flow.common import (
    cached_trace, call_jaxpr, check_same_types, jvp_jaxpr, nonzero, rearrange,
    trace_flat, trace_fun, under_linearize, wrapper_for,
)
from xform.lax.control_flow.cond import cond
from xform.lax._helpers import const_like
from xform.lax.control_flow.hoist import hoist_sums, split_invariant
from xform.lax.elementwise import add, convert_element_type, lt, select_n
from xform.lax.reductions import reduce_or
from xform.lax.shape import broadcast_in_dim, reshape
from xform.lax.slicing import concatenate, slice_in_dim


def _strong_jax(xs):
    return [jax.lax.convert_element_type(x, jax.numpy.result_type(x)) for x in xs]


def _weak_as(xs, avals):
    """JAX's loops need a carry's type fixed, so lowering makes every carry strong; the results
    get back the weak types xform's avals give them (a loop over Python scalars stays weak)."""
    return [convert_element_type_jax(x, a.dtype, weak_type=True) if a.weak_type else x
            for x, a in zip(xs, avals)]


def _unstack(a: ShapedArray) -> ShapedArray:
    return ShapedArray(a.shape[1:], a.dtype, a.weak_type, a.vma,
                       sharding_without_axis(a.sharding, 0))


def _stack(a: ShapedArray, n: int) -> ShapedArray:
    return ShapedArray((n, *a.shape), a.dtype, a.weak_type, a.vma,
                       sharding_with_axis(a.sharding, 0))


# -- scan -----------------------------------------------------------------------------------
scan_p = Primitive("scan", multiple_results=True)


def _scan_abstract_eval(*avals, jaxpr, length, num_consts, num_carry, reverse, unroll):
    xs = avals[num_consts + num_carry:]
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise TypeError(f"scan: every xs must have leading axis of size {length}, got "
                            f"{x.str_short()}")
    outs = jaxpr.out_avals
    return list(outs[:num_carry]) + [_stack(a, length) for a in outs[num_carry:]]


def _scan_to_jax(*args, jaxpr, length, num_consts, num_carry, reverse, unroll):
    consts, init, xs = (args[:num_consts], args[num_consts:num_consts + num_carry],
                        args[num_consts + num_carry:])

    def body(carry, x):
        outs = eval_jaxpr_jax(jaxpr.jaxpr, jaxpr.consts, [*consts, *carry, *x])
        return _strong_jax(outs[:num_carry]), list(outs[num_carry:])

    carry, ys = jax.lax.scan(body, _strong_jax(init), list(xs), length=length, reverse=reverse,
                             unroll=unroll)
    return _weak_as([*carry, *ys], _scan_abstract_eval(
        *[get_aval(a) for a in args], jaxpr=jaxpr, length=length, num_consts=num_consts,
        num_carry=num_carry, reverse=reverse, unroll=unroll))


abstract_eval[scan_p] = _scan_abstract_eval
to_jax[scan_p] = _scan_to_jax


def _split3(seq, a, b):
    return list(seq[:a]), list(seq[a:a + b]), list(seq[a + b:])


def _scan_batch_rule(axis_size, vals, dims, *, jaxpr, length, num_consts, num_carry, reverse,
                     unroll):
    n_out = len(jaxpr.out_avals)
    consts, init, xs = _split3(vals, num_consts, num_carry)
    cd, idims, xd = _split3(dims, num_consts, num_carry)
    consts = [x if d is not_mapped else moveaxis(x, d, 0) for x, d in zip(consts, cd)]
    # xs keep the scan axis first; their batch axis goes right after it
    xs = [x if d is not_mapped else moveaxis(x, d, 1) for x, d in zip(xs, xd)]
    const_b = [d is not not_mapped for d in cd]
    xs_b = [d is not not_mapped for d in xd]
    carry_b = [d is not not_mapped for d in idims]
    name = current_axis_name()
    while True:  # a carry is batched if its initial value or any iteration's update is
        in_dims = [0 if b else not_mapped for b in const_b + carry_b + xs_b]
        _, out_b = batch_jaxpr(jaxpr, axis_size, in_dims, False, axis_name=name)
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    body, out_b = batch_jaxpr(jaxpr, axis_size, in_dims, carry_b + [False] * (n_out - num_carry),
                              axis_name=name)
    init = [bdim_at_front(x, d, axis_size) if b else x for x, d, b in zip(init, idims, carry_b)]
    outs = scan_p.bind(*consts, *init, *xs, jaxpr=body, length=length, num_consts=num_consts,
                       num_carry=num_carry, reverse=reverse, unroll=unroll)
    out_dims = ([0 if b else not_mapped for b in carry_b]
                + [1 if b else not_mapped for b in out_b[num_carry:]])
    return outs, out_dims


batch_rules[scan_p] = _scan_batch_rule


def _scan_carry_fixpoint(jaxpr, num_consts, num_carry, nz):
    """Which carries get tangents: those with a tangent at the start or from any iteration."""
    n_out = len(jaxpr.out_avals)
    consts_nz, carry_nz, xs_nz = _split3(nz, num_consts, num_carry)
    while True:
        _, out_nz = jvp_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz, [False] * n_out)
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            return consts_nz, carry_nz, xs_nz, out_nz[num_carry:]
        carry_nz = new


def _scan_jvp(primals, tangents, *, jaxpr, length, num_consts, num_carry, reverse, unroll):
    params = dict(length=length, reverse=reverse, unroll=unroll)
    n_out = len(jaxpr.out_avals)
    n_ys = n_out - num_carry
    consts_nz, carry_nz, xs_nz, ys_nz = _scan_carry_fixpoint(jaxpr, num_consts, num_carry,
                                                             nonzero(tangents))
    consts, init, xs = _split3(primals, num_consts, num_carry)
    t_consts, t_init, t_xs = _split3(tangents, num_consts, num_carry)
    t_consts = [t for t, z in zip(t_consts, consts_nz) if z]
    t_init = [instantiate(t) for t, z in zip(t_init, carry_nz) if z]
    t_xs = [t for t, z in zip(t_xs, xs_nz) if z]
    out_avals = jaxpr.out_avals
    nc, nx = len(t_consts), len(t_xs)
    nt = len(t_init)
    if not under_linearize():
        # forward mode: one scan carrying primals and tangents together
        jj, out_nz = jvp_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys)
        n_in = len(primals)
        # jj takes (consts, carry, xs, t_consts, t_carry, t_xs) and gives (carry, ys, t_carry,
        # t_ys); scan wants (consts, t_consts, carry, t_carry, xs, t_xs) -> (carry, t_carry, ...)
        i_c, i_k, i_x = (list(range(num_consts)), list(range(num_consts, num_consts + num_carry)),
                         list(range(num_consts + num_carry, n_in)))
        j_c = list(range(n_in, n_in + nc))
        j_k = list(range(n_in + nc, n_in + nc + nt))
        j_x = list(range(n_in + nc + nt, n_in + nc + nt + nx))
        n_ty = sum(out_nz[num_carry:])
        o_k, o_y = list(range(num_carry)), list(range(num_carry, n_out))
        o_tk = list(range(n_out, n_out + nt))
        o_ty = list(range(n_out + nt, n_out + nt + n_ty))
        body = rearrange(jj, i_c + j_c + i_k + j_k + i_x + j_x, o_k + o_tk + o_y + o_ty)
        outs = scan_p.bind(*consts, *t_consts, *init, *t_init, *xs, *t_xs, jaxpr=body,
                           num_consts=num_consts + nc, num_carry=num_carry + nt, **params)
        carry, t_carry = outs[:num_carry], outs[num_carry:num_carry + nt]
        ys, t_ys = outs[num_carry + nt:num_carry + nt + n_ys], outs[num_carry + nt + n_ys:]
        return (list(carry) + list(ys),
                _fill(carry_nz, t_carry, out_avals[:num_carry])
                + _fill(out_nz[num_carry:], t_ys, [_stack(a, length)
                                                   for a in out_avals[num_carry:]]))
    # under linearize: a known scan (primal outputs, residuals stacked as extra ys) and a
    # linear scan that reads the residuals as xs
    known, linear, n_res = linearize_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz)
    # what the known body computes from its consts alone is computed once, now, and reaches
    # the linear loop as a const; a residual that is an xs or ys is read from it (hoist.py)
    known_body, loop_consts, res = split_invariant(known, consts, num_consts, num_carry, n_out)
    outs = scan_p.bind(*loop_consts, *init, *xs, jaxpr=known_body, num_consts=len(loop_consts),
                       num_carry=num_carry, **params)
    primal_out, stacked = outs[:n_out], outs[n_out:]
    where = {"const": None, "xs": xs, "ys": primal_out[num_carry:], "out": stacked}
    res_vals = [v if where[kind] is None else where[kind][v] for kind, v in res]
    res_const_pos = [k for k, (kind, _) in enumerate(res) if kind == "const"]
    stacked_pos = [k for k, (kind, _) in enumerate(res) if kind != "const"]
    res_const_vals = [res_vals[k] for k in res_const_pos]
    stacked = [res_vals[k] for k in stacked_pos]
    # linear takes (residuals, t_consts, t_carry, t_xs) and gives every output tangent
    lin_in = ([k for k in res_const_pos] + list(range(n_res, n_res + nc))
              + list(range(n_res + nc, n_res + nc + nt)) + [k for k in stacked_pos]
              + list(range(n_res + nc + nt, n_res + nc + nt + nx)))
    lin_out = ([i for i in range(num_carry) if carry_nz[i]]
               + [num_carry + j for j in range(n_ys) if ys_nz[j]])
    lin_body = rearrange(linear, lin_in, lin_out)
    touts = scan_p.bind(*res_const_vals, *t_consts, *t_init, *stacked, *t_xs, jaxpr=lin_body,
                        num_consts=len(res_const_vals) + nc, num_carry=nt, **params)
    return (primal_out, _fill(carry_nz, touts[:nt], out_avals[:num_carry])
            + _fill(ys_nz, touts[nt:], [_stack(a, length) for a in out_avals[num_carry:]]))


def _fill(mask, values, avals):
    it = iter(values)
    return [next(it) if m else Zero(tangent_aval(a)) for m, a in zip(mask, avals)]


jvp_rules[scan_p] = _scan_jvp


def _scan_transpose(cts, *args, jaxpr, length, num_consts, num_carry, reverse, unroll):
    consts, init, xs = _split3(args, num_consts, num_carry)
    # The body is linear in the carry: a carry that starts at a known value (the zeros a JVP
    # instantiates for a carry whose tangent starts symbolic) is transposed like the others and
    # its own cotangent dropped.
    init_known = [not is_undefined(x) for x in init]
    c_und = [is_undefined(x) for x in consts]
    x_und = [is_undefined(x) for x in xs]
    k_consts = [c for c, u in zip(consts, c_und) if not u]
    k_xs = [x for x, u in zip(xs, x_und) if not u]
    ct_carry = [instantiate(c) for c in cts[:num_carry]]
    ct_ys = list(cts[num_carry:])
    ys_nz = nonzero(ct_ys)
    ct_ys_vals = [c for c in ct_ys if not isinstance(c, Zero)]
    u_const_avals = [c.aval for c, u in zip(consts, c_und) if u]
    n_kc, n_uc, n_kx = len(k_consts), len(u_const_avals), len(k_xs)
    in_avals = jaxpr.in_avals
    y_avals = jaxpr.out_avals[num_carry:]

    def body(*a):
        kc, acc, ctc = a[:n_kc], a[n_kc:n_kc + n_uc], a[n_kc + n_uc:n_kc + n_uc + num_carry]
        rest = a[n_kc + n_uc + num_carry:]
        kx, cty = rest[:n_kx], iter(rest[n_kx:])
        kc_it, kx_it = iter(kc), iter(kx)
        full = ([UndefinedPrimal(av) if u else next(kc_it)
                 for av, u in zip(in_avals[:num_consts], c_und)]
                + [UndefinedPrimal(av) for av in in_avals[num_consts:num_consts + num_carry]]
                + [UndefinedPrimal(av) if u else next(kx_it)
                   for av, u in zip(in_avals[num_consts + num_carry:], x_und)])
        ct_out = list(ctc) + [next(cty) if z else Zero(av) for z, av in zip(ys_nz, y_avals)]
        res = backward_pass(jaxpr.jaxpr, jaxpr.consts, full, ct_out)
        r_c, r_k, r_x = _split3(res, num_consts, num_carry)
        new_acc = [add_tangents(s, r) for s, r in zip(acc, [r for r, u in zip(r_c, c_und) if u])]
        return ([instantiate(x) for x in new_acc] + [instantiate(r) for r in r_k]
                + [instantiate(r) for r, u in zip(r_x, x_und) if u]), None

    avals = ([to_aval(c) for c in k_consts] + u_const_avals + [to_aval(c) for c in ct_carry]
             + [_unstack(to_aval(x)) for x in k_xs] + [_unstack(to_aval(c)) for c in ct_ys_vals])
    bwd, _ = trace_flat(body, avals, kind="transpose")
    # sums of per-iteration contractions (a weight's cotangent) leave the loop (hoist.py)
    bwd, hoisted, n_new = hoist_sums(bwd, n_kc, n_uc, n_kc + n_uc + num_carry)
    acc0 = [zeros_like_aval(a) for i, a in enumerate(u_const_avals) if i not in hoisted]
    n_acc = len(acc0)
    stacked_in = [*k_xs, *ct_ys_vals]
    outs = scan_p.bind(*k_consts, *acc0, *ct_carry, *stacked_in, jaxpr=bwd, length=length,
                       num_consts=n_kc, num_carry=n_acc + num_carry, reverse=not reverse,
                       unroll=unroll)
    extra = []  # the per-iteration operands stacked for the sums taken out of the loop
    if n_new:
        outs, extra = outs[:len(outs) - n_new], outs[len(outs) - n_new:]
    looped = iter(outs[:n_acc])
    ct_c = iter([hoisted[i](stacked_in, extra) if i in hoisted else next(looped)
                 for i in range(n_uc)])
    ct_x = iter(outs[n_acc + num_carry:])
    ct_init = outs[n_acc:n_acc + num_carry]
    return ([next(ct_c) if u else None for u in c_und]
            + [None if k else c for c, k in zip(ct_init, init_known)]
            + [next(ct_x) if u else None for u in x_und])


transpose_rules[scan_p] = _scan_transpose


# -- while ----------------------------------------------------------------------------------
while_p = Primitive("while", multiple_results=True)


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    return list(body_jaxpr.out_avals)


def _while_to_jax(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc, init = _split3(args, cond_nconsts, body_nconsts)

    def cond_fun(carry):
        return eval_jaxpr_jax(cond_jaxpr.jaxpr, cond_jaxpr.consts, [*cc, *carry])[0]

    def body_fun(carry):
        return _strong_jax(eval_jaxpr_jax(body_jaxpr.jaxpr, body_jaxpr.consts, [*bc, *carry]))

    return _weak_as(jax.lax.while_loop(cond_fun, body_fun, _strong_jax(init)),
                    body_jaxpr.out_avals)


abstract_eval[while_p] = _while_abstract_eval
to_jax[while_p] = _while_to_jax


def _while_batch_rule(axis_size, vals, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts,
                      body_nconsts):
    cc, bc, init = _split3(vals, cond_nconsts, body_nconsts)
    ccd, bcd, idims = _split3(dims, cond_nconsts, body_nconsts)
    cc = [x if d is not_mapped else moveaxis(x, d, 0) for x, d in zip(cc, ccd)]
    bc = [x if d is not_mapped else moveaxis(x, d, 0) for x, d in zip(bc, bcd)]
    cc_dims = [not_mapped if d is not_mapped else 0 for d in ccd]
    bc_dims = [not_mapped if d is not_mapped else 0 for d in bcd]
    n = len(init)
    carry_b = [d is not not_mapped for d in idims]
    name = current_axis_name()
    while True:
        carry_dims = [0 if b else not_mapped for b in carry_b]
        _, out_b = batch_jaxpr(body_jaxpr, axis_size, bc_dims + carry_dims, False,
                               axis_name=name)
        _, (pred_b,) = batch_jaxpr(cond_jaxpr, axis_size, cc_dims + carry_dims, False,
                                   axis_name=name)
        new = [True] * n if pred_b else [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    carry_dims = [0 if b else not_mapped for b in carry_b]
    init = [bdim_at_front(x, d, axis_size) if b else x for x, d, b in zip(init, idims, carry_b)]
    bcond, _ = batch_jaxpr(cond_jaxpr, axis_size, cc_dims + carry_dims, [pred_b],
                           axis_name=name)
    bbody, _ = batch_jaxpr(body_jaxpr, axis_size, bc_dims + carry_dims, carry_b,
                           axis_name=name)
    params = dict(cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
    if not pred_b:
        outs = while_p.bind(*cc, *bc, *init, cond_jaxpr=bcond, body_jaxpr=bbody, **params)
        return outs, carry_dims
    # A batched predicate: loop while any example is still running; an example that is done
    # keeps its carry (the body still runs on it, in lock step, and its result is dropped).
    c_avals, b_avals = [to_aval(x) for x in cc], [to_aval(x) for x in bc]
    carry_avals = [to_aval(x) for x in init]

    def any_cond(*a):
        (p,) = call_jaxpr(bcond, *a)
        return [reduce_or(p, (0,))], None

    def masked_body(*a):
        c, b, carry = _split3(a, cond_nconsts, body_nconsts)
        (p,) = call_jaxpr(bcond, *c, *carry)
        new = call_jaxpr(bbody, *b, *carry)
        return [select_n(_bcast(p, to_aval(old)), old, nw) for old, nw in zip(carry, new)], None

    ncond, _ = trace_flat(any_cond, c_avals + carry_avals)
    nbody, _ = trace_flat(masked_body, c_avals + b_avals + carry_avals)
    outs = while_p.bind(*cc, *cc, *bc, *init, cond_jaxpr=ncond, body_jaxpr=nbody,
                        cond_nconsts=cond_nconsts, body_nconsts=cond_nconsts + body_nconsts)
    return outs, [0] * n


def _bcast(p, aval):
    return broadcast_in_dim(p, aval.shape, (0,)) if aval.ndim > 1 else p


batch_rules[while_p] = _while_batch_rule


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc, init = _split3(primals, cond_nconsts, body_nconsts)
    _, bct, it = _split3(tangents, cond_nconsts, body_nconsts)
    n = len(init)
    bc_nz = nonzero(bct)
    carry_nz = nonzero(it)
    while True:
        _, out_nz = jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, [False] * n)
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    jj, _ = jvp_jaxpr(body_jaxpr, bc_nz + carry_nz, carry_nz)
    t_bc = [t for t in bct if not isinstance(t, Zero)]
    t_init = [instantiate(t) for t, z in zip(it, carry_nz) if z]
    nb, nbt, nt = len(bc), len(t_bc), len(t_init)
    # jj takes (bc, carry, t_bc, t_carry); while wants (bc, t_bc, carry, t_carry)
    body = rearrange(jj, list(range(nb)) + list(range(nb + n, nb + n + nbt))
                     + list(range(nb, nb + n)) + list(range(nb + n + nbt, nb + n + nbt + nt)))
    cond = rearrange(cond_jaxpr, extra_in=[(cond_nconsts + n + k, tangent_aval(a))
                                           for k, a in enumerate(
                                               [x for x, z in zip(body_jaxpr.out_avals, carry_nz)
                                                if z])])
    if under_linearize():
        # the primal outputs are known now; the tangents come from a loop that also recomputes
        # the primal carry (its transpose raises the reverse-mode error)
        primal_out = while_p.bind(*primals, cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                                  cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
    outs = while_p.bind(*cc, *bc, *t_bc, *init, *t_init, cond_jaxpr=cond, body_jaxpr=body,
                        cond_nconsts=cond_nconsts, body_nconsts=nb + nbt)
    if not under_linearize():
        primal_out = outs[:n]
    return primal_out, _fill(carry_nz, outs[n:], body_jaxpr.out_avals)


jvp_rules[while_p] = _while_jvp

_WHILE_REVERSE_MSG = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
    "dynamic start/stop values. Try using lax.scan, or lax.fori_loop with static start/stop. "
    "(xform also offers while_loop(cond_fun, body_fun, init_val, max_steps=N), a bounded loop "
    "that reverse mode differentiates.)")


def _while_transpose(cts, *args, **params):
    raise ValueError(_WHILE_REVERSE_MSG)


transpose_rules[while_p] = _while_transpose


# -- the public functions -------------------------------------------------------------------
def _promote_weak_carry(init_flat, init_avals, out_avals):
    """JAX's rule for a weakly typed initial carry (a Python scalar, say) whose type the body
    changes, as ``acc + 0.5`` does to ``0``: the initial value is converted to the promoted
    dtype (a strong type), and the caller traces the body again. A weak carry the body keeps
    in its dtype stays weak. Returns ``(init_flat, changed)``."""
    new, changed = list(init_flat), False
    for k, (x, a, b) in enumerate(zip(init_flat, init_avals, out_avals)):
        if a.weak_type and (a.shape, a.dtype) != (b.shape, b.dtype):
            new[k] = x = convert_element_type(x, result_type(a, b))
            changed = True
        if not b.vma <= a.vma:
            # inside a shard_map body with varying-axes types: an initial carry the body
            # makes vary over more mesh axes is cast with pvary first (JAX asks the user to
            # do that), so that the carry's cotangent is summed over the devices
            new[k] = pvary_to(x, a.vma | b.vma)
            changed = True
    return new, changed


def _check_carry(what, fun, init_tree, init_avals, out_tree, out_avals):
    check_same_types(f"{what} body function carry input and carry output", "the carry input",
                     init_tree, init_avals, f"{fun_name(fun)}'s carry output", out_tree,
                     out_avals, prefix="carry")


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1, _split_transpose: bool = False):
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``, as ``jax.lax.scan``.

    Returns ``(final carry, stacked ys)``. Differentiable in both modes; under ``vmap`` the
    loop runs once over batched values.

    >>> import xform, xform.numpy as xnp
    >>> xform.lax.scan(lambda c, x: (c + x, c), 0.0, xnp.arange(3.0))
    (Array(3., dtype=float32), Array([0., 0., 1.], dtype=float32, weak_type=True))
    """
    if not callable(f):
        raise TypeError(f"scan: f argument should be callable, got {type(f).__name__}.")
    init, xs = convert_foreign_leaves((init, xs))  # JAX's typed keys: xform's KeyArray
    init_flat, init_tree = tree_flatten(init)
    xs_flat, xs_tree = tree_flatten(xs)
    lengths = {to_aval(x).shape[0] if to_aval(x).shape else None for x in xs_flat}
    if None in lengths:
        raise ValueError("scan got value with no leading axis to scan over: every leaf of xs "
                         "must be an array with a leading axis.")
    if length is not None:
        length = int(length)
        lengths.add(length)
    if len(lengths) > 1:
        raise ValueError("scan got values with different leading axis sizes: "
                         + ", ".join(str(to_aval(x).shape[0]) for x in xs_flat)
                         + (f" and length={length}" if length is not None else "")
                         + ". Every leaf of xs must have the same leading size (the number of "
                         "iterations).")
    if not lengths:
        raise ValueError("scan got no values to scan over and `length` not provided: pass "
                         "length=n when xs is None.")
    (length,) = lengths
    if isinstance(unroll, bool):
        unroll = max(length, 1) if unroll else 1
    x_avals = [_unstack(to_aval(x)) for x in xs_flat]
    init_avals = [to_aval(x) for x in init_flat]
    n_carry = len(init_flat)

    def flat_body(*leaves):
        out = f(tree_unflatten(init_tree, leaves[:n_carry]),
                tree_unflatten(xs_tree, leaves[n_carry:]))
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"scan body function {fun_name(f)} must return a pair "
                            f"(carry, y), got {type(out).__name__}.")
        return out

    def trace(carry_avals):
        flat_tree = tree_structure(tuple(range(n_carry + len(xs_flat))))
        return cached_trace(
            (f,), ("scan", init_tree, xs_tree, tuple(carry_avals + x_avals)),
            lambda: trace_fun(flat_body, flat_tree, carry_avals + x_avals, kind="scan",
                              what=f"scan body {fun_name(f)}"))

    closed, consts, out_tree = trace(init_avals)
    carry_tree, y_tree = _pair_trees(out_tree)
    if carry_tree.num_leaves == n_carry:
        init_flat, changed = _promote_weak_carry(init_flat, init_avals,
                                                 closed.out_avals[:n_carry])
        while changed:
            init_avals = [to_aval(x) for x in init_flat]
            closed, consts, out_tree = trace(init_avals)
            carry_tree, y_tree = _pair_trees(out_tree)
            init_flat, changed = _promote_weak_carry(init_flat, init_avals,
                                                     closed.out_avals[:n_carry])
    _check_carry("scan", f, init_tree, init_avals, carry_tree, closed.out_avals[:n_carry])
    outs = scan_p.bind(*consts, *init_flat, *xs_flat, jaxpr=closed, length=length,
                       num_consts=len(consts), num_carry=n_carry, reverse=bool(reverse),
                       unroll=int(unroll))
    return (tree_unflatten(carry_tree, outs[:n_carry]),
            tree_unflatten(y_tree, outs[n_carry:]))


def _map_body(f_ref):
    return lambda _, x: ((), f_ref()(x))


def _pair_trees(out_tree):
    """The carry and y trees of a body that returned a pair."""
    dummy = tree_unflatten(out_tree, list(range(out_tree.num_leaves)))
    carry, y = dummy
    return tree_flatten(carry)[1], tree_flatten(y)[1]


def _concrete_int(x: Any) -> int | None:
    """``x`` as a Python int when it is known now, else None."""
    if isinstance(x, Tracer):
        try:
            return int(x.concrete_value("fori_loop"))
        except ConcretizationTypeError:
            return None
    return int(x)


def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any,
              unroll: int | bool | None = None) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``, as ``jax.lax.fori_loop``.

    With bounds known at trace time the loop is a ``scan`` (reverse mode works); with traced
    bounds it is a ``while`` (forward mode only).
    """
    lo, hi = _concrete_int(lower), _concrete_int(upper)
    if lo is not None and hi is not None:
        step = wrapper_for("fori_loop as scan", (body_fun,), _fori_scan_step)
        # the index starts as a Python int, as in JAX: weakly typed int32 in the body
        (_, val), _ = scan(step, (lo, init_val), None, length=max(hi - lo, 0),
                           unroll=1 if unroll is None else unroll)
        return val
    if unroll is not None and unroll is not False and unroll != 1:
        raise ValueError("Can only use `unroll` in `fori_loop` if the loop bounds are "
                         "statically known.")
    lower, upper = [convert_element_type(b, np.int32) if isinstance(b, Tracer) else np.int32(b)
                    for b in (lower, upper)]
    body = wrapper_for("fori_loop as while", (body_fun,), _fori_while_body)
    return while_loop(_fori_cond, body, (lower, upper, init_val))[2]


# fori_loop's wrappers of the user's body: made once per body function (see wrapper_for), so
# that the loop traces once per body, as JAX's does
def _fori_scan_step(body_ref):
    def step(carry, _):
        i, val = carry
        # JAX's `_const(i, 1)`: weak beside a weak counter, of the counter's dtype always
        return (add(i, const_like(i, 1)), body_ref()(i, val)), None
    return step


def _fori_while_body(body_ref):
    def body(c):
        i, u, val = c
        return add(i, const_like(i, 1)), u, body_ref()(i, val)
    return body


def _fori_cond(c):
    return lt(c[0], c[1])


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any,
               max_steps: int | None = None) -> Any:
    """``while cond_fun(val): val = body_fun(val)``, as ``jax.lax.while_loop``.

    Arguments:
        cond_fun: ``val -> bool scalar``.
        body_fun: ``val -> val`` (same structure, shapes and dtypes).
        init_val: the initial value.
        max_steps: (beyond JAX) an upper bound on the number of iterations. With it the loop
            runs as a ``scan`` of ``max_steps`` steps in which the value stops changing once
            ``cond_fun`` is False, so reverse mode (``grad``) works. If ``cond_fun`` is still
            True after ``max_steps`` steps, the value after ``max_steps`` steps is returned.

    >>> import xform
    >>> xform.lax.while_loop(lambda x: x < 10, lambda x: x * 2, 1)
    Array(16, dtype=int32, weak_type=True)
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("while_loop: cond_fun and body_fun arguments should be callable.")
    init_val = convert_foreign_leaves(init_val)  # JAX's typed keys: xform's KeyArray
    if max_steps is not None:
        return _bounded_while(cond_fun, body_fun, init_val, int(max_steps))
    init_flat, init_tree = tree_flatten(init_val)
    init_avals = [to_aval(x) for x in init_flat]

    def trace_body(avals):
        return cached_trace(
            (body_fun,), ("while_loop body", init_tree, tuple(avals)),
            lambda: trace_fun(body_fun, _tree1(init_tree), avals, kind="while_loop",
                              what=f"while_loop body {fun_name(body_fun)}"))

    body, bconsts, out_tree = trace_body(init_avals)
    if out_tree == init_tree:
        init_flat, changed = _promote_weak_carry(init_flat, init_avals, body.out_avals)
        while changed and out_tree == init_tree:
            init_avals = [to_aval(x) for x in init_flat]
            body, bconsts, out_tree = trace_body(init_avals)
            init_flat, changed = _promote_weak_carry(init_flat, init_avals, body.out_avals)
    _check_carry("while_loop", body_fun, init_tree, init_avals, out_tree, body.out_avals)
    cond, cconsts, c_tree = cached_trace(
        (cond_fun,), ("while_loop cond", init_tree, tuple(init_avals)),
        lambda: trace_fun(cond_fun, _tree1(init_tree), init_avals, kind="while_loop",
                          what=f"while_loop cond {fun_name(cond_fun)}"))
    (pa,) = cond.out_avals if len(cond.out_avals) == 1 else (None,)
    if pa is None or pa.shape != () or pa.dtype != np.bool_:
        got = ", ".join(a.str_short() for a in cond.out_avals)
        raise TypeError(f"while_loop: cond_fun {fun_name(cond_fun)} must return a boolean "
                        f"scalar, but got output type(s) [{got}].")
    outs = while_p.bind(*cconsts, *bconsts, *init_flat, cond_jaxpr=cond, body_jaxpr=body,
                        cond_nconsts=len(cconsts), body_nconsts=len(bconsts))
    return tree_unflatten(init_tree, outs)


def _tree1(tree):
    """The in_tree of a function of one argument of structure ``tree``."""
    return tree_structure((tree_unflatten(tree, [0] * tree.num_leaves),))


def _bounded_while(cond_fun, body_fun, init_val, max_steps):
    step = wrapper_for("bounded while_loop", (cond_fun, body_fun), _bounded_step)
    return scan(step, init_val, None, length=max_steps)[0]


def _bounded_step(cond_ref, body_ref):

    def step(val, _):
        return cond(cond_ref()(val), body_ref(), _identity, val), None
    return step


def _identity(v):
    return v


def map(f: Callable, xs: Any, batch_size: int | None = None) -> Any:  # noqa: A001
    """``f`` applied to each slice of ``xs`` along the leading axis, stacked, as
    ``jax.lax.map``; with ``batch_size``, ``batch_size`` slices at a time, batched as ``vmap``
    would batch them (a remainder that does not fill a batch is one more batched call).

    >>> import xform, xform.numpy as xnp
    >>> xform.lax.map(lambda x: x * 2, xnp.arange(3.0))
    Array([0., 2., 4.], dtype=float32)
    """
    if batch_size is None:
        return scan(wrapper_for("map", (f,), _map_body), (), xs)[1]
    xs = convert_foreign_leaves(xs)
    leaves, tree = tree_flatten(xs)
    n = to_aval(leaves[0]).shape[0]
    nb, rem = divmod(n, batch_size)

    def run_batched(chunk: list) -> list:
        # what vmap(f) does, from the batching interpreter directly (lax is below vmap)
        out = batched_call(lambda *ls: f(tree_unflatten(tree, ls)), chunk, [0] * len(chunk),
                           description=f"map body {fun_name(f)}")
        flat, out_tree = tree_flatten(out)
        trees.append(out_tree)
        return flat

    trees: list = []
    outs = []
    main = [reshape(slice_in_dim(x, 0, nb * batch_size, axis=0),
                    (nb, batch_size, *to_aval(x).shape[1:])) for x in leaves] if nb else []
    tail = [slice_in_dim(x, nb * batch_size, n, axis=0) for x in leaves] if rem else []
    if nb:
        ys = scan(lambda _, chunk: ((), run_batched(chunk)), (), main)[1]
        outs.append([reshape(y, (nb * batch_size, *to_aval(y).shape[2:])) for y in ys])
    if rem:
        outs.append(run_batched(tail))
    flat = outs[0] if len(outs) == 1 else [concatenate([a, b], 0) for a, b in zip(*outs)]
    return tree_unflatten(trees[0], flat)


__all__ = ["scan", "fori_loop", "while_loop", "map", "scan_p", "while_p"]
