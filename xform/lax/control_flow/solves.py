"""Solves with implicit derivatives: ``custom_linear_solve`` (a primitive) and ``custom_root``.

``custom_linear_solve[const_lengths, jaxprs] *consts *b`` computes ``x = solve(matvec, b)``.
``jaxprs`` holds four const-free closed jaxprs, ``(matvec, vecmat, solve, transpose_solve)``
(the last two ``None`` when no transpose solve was given), each taking its own consts first
(``const_lengths`` of them, in that order) and then a vector shaped like ``b``. The solver's
operations are never differentiated: the rules use the linear problem itself.

- JVP: from ``A x = b``, ``A x_dot = b_dot - A_dot x``; ``A_dot x`` is the JVP of ``matvec`` in its
  consts at ``x``, and the tangent solve is the primitive again (so every derivative order is
  the implicit one).
- Transpose (linear in ``b``): the transposed problem, ``vecmat`` with ``transpose_solve``.
- Batching: a fixpoint over which parts of ``x`` and ``b`` are batched, consistent across the
  four jaxprs (a batched closed-over value in ``matvec`` batches ``x`` and ``b``).

``custom_root(f, guess, solve, tangent_solve)`` is a ``custom_jvp_call`` whose rule is the
implicit function theorem: ``u_dot = -tangent_solve(df/du, df/dparams . params_dot)``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.tree_util import tree_flatten, tree_structure, tree_unflatten

from xform.core.avals import ShapedArray
from xform.core.ir import ClosedJaxpr
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import to_aval
from xform.interpreters.batching import (
    batch_jaxpr, batch_rules, broadcast_batch, current_axis_name, moveaxis, not_mapped,
)
from xform.interpreters.eval import impl_rules
from xform.interpreters.jvp import Zero, instantiate, jvp_flat, jvp_rules, tangent_aval
from xform.interpreters.lowering import eval_jaxpr_jax, to_jax
from xform.interpreters.transpose import UndefinedPrimal, backward_pass, is_undefined, \
    transpose_rules
from xform.lax.control_flow.common import cached_trace, call_jaxpr, trace_flat, trace_fun
from xform.lax.custom import custom_jvp_call_p
from xform.lax.elementwise import neg, sub

__all__ = ["custom_linear_solve", "custom_root", "linear_solve_p"]

# JAX's name for the primitive (its Python name is linear_solve_p, as JAX's)
linear_solve_p = Primitive("custom_linear_solve", multiple_results=True)

_NAMES = ("matvec", "vecmat", "solve", "transpose_solve")


def _split(args: Sequence[Any], const_lengths: Sequence[int]) -> tuple[list[list], list]:
    """``args`` as ``([matvec, vecmat, solve, transpose_solve consts], b)``."""
    out, i = [], 0
    for n in const_lengths:
        out.append(list(args[i:i + n]))
        i += n
    return out, list(args[i:])


def _transposed(const_lengths, jaxprs):
    """The params of the transposed problem: matvec <-> vecmat, solve <-> transpose_solve."""
    mv, vm, s, ts = const_lengths
    jm, jv, js, jt = jaxprs
    return (vm, mv, ts, s), (jv, jm, jt, js)


def _flat(lists: Sequence[Sequence[Any]]) -> list:
    return [x for xs in lists for x in xs]


def _abstract_eval(*avals: ShapedArray, const_lengths, jaxprs):
    _, b = _split(avals, const_lengths)
    solve = jaxprs[2]
    for name, j, n in zip(_NAMES, jaxprs, const_lengths):
        if j is not None and len(j.in_avals) != n + len(b):
            raise TypeError(f"custom_linear_solve: the {name} jaxpr takes {len(j.in_avals)} "
                            f"operands, but has {n} consts and b has {len(b)} leaves")
    x = solve.out_avals[:len(b)]
    if [(a.shape, a.dtype) for a in x] != [(a.shape, a.dtype) for a in b]:
        raise TypeError("custom_linear_solve: solve() gives "
                        f"{[a.str_short() for a in x]} but b is {[a.str_short() for a in b]}")
    return list(b) + list(solve.out_avals[len(b):])


def _impl(*args, const_lengths, jaxprs):
    # eagerly the solve runs op by op: matvec/solve are often lambdas made fresh on every call,
    # so compiling one program per jaxpr would compile on every call
    consts, b = _split(args, const_lengths)
    return call_jaxpr(jaxprs[2], *consts[2], *b)


def _to_jax(*args, const_lengths, jaxprs):
    """JAX's own ``custom_linear_solve``, so JAX's transforms (``xform.to_jax``) differentiate
    it implicitly too."""
    consts, b = _split(args, const_lengths)
    jm, jv, js, jt = jaxprs
    n_b = len(b)
    has_aux = len(js.out_avals) > n_b

    def run(j, cs):
        def fun(_op, y):
            outs = eval_jaxpr_jax(j.jaxpr, j.consts, [*cs, *y])
            return (outs[:n_b], outs[n_b:]) if has_aux else outs
        return fun

    def matvec(y):
        return eval_jaxpr_jax(jm.jaxpr, jm.consts, [*consts[0], *y])

    tsolve = None if jt is None else run(jt, consts[3])
    # symmetric only when vecmat is matvec on the very same values (else JAX transposes matvec)
    symmetric = jv is jm and len(consts[1]) == len(consts[0]) and all(
        x is y for x, y in zip(consts[1], consts[0]))
    out = jax.lax.custom_linear_solve(matvec, list(b), run(js, consts[2]), tsolve,
                                      symmetric=symmetric, has_aux=has_aux)
    return [*out[0], *out[1]] if has_aux else list(out)


abstract_eval[linear_solve_p] = _abstract_eval
impl_rules[linear_solve_p] = _impl
to_jax[linear_solve_p] = _to_jax


def _jvp(primals, tangents, *, const_lengths, jaxprs):
    x = linear_solve_p.bind(*primals, const_lengths=const_lengths, jaxprs=jaxprs)
    consts, b = _split(primals, const_lengths)
    consts_dot, b_dot = _split(tangents, const_lengths)
    n_b = len(b)
    rhs = list(b_dot)
    if any(not isinstance(t, Zero) for t in consts_dot[0]):
        # A_dot x: the JVP of matvec in its consts, at the solution (x itself held fixed)
        xs = x[:n_b]
        _, ax_dot, _ = jvp_flat(lambda *a: (call_jaxpr(jaxprs[0], *a), None),
                                [*consts[0], *xs],
                                [*consts_dot[0], *[Zero(tangent_aval(to_aval(v))) for v in xs]],
                                "jvp of custom_linear_solve's matvec")
        rhs = [r if isinstance(d, Zero) else (neg(d) if isinstance(r, Zero) else sub(r, d))
               for r, d in zip(rhs, ax_dot)]
    aux_zeros = [Zero(tangent_aval(a)) for a in jaxprs[2].out_avals[n_b:]]
    if all(isinstance(r, Zero) for r in rhs):
        return x, [Zero(tangent_aval(to_aval(v))) for v in x[:n_b]] + aux_zeros
    # the solver's own consts get no derivative (it is not differentiated), as in JAX
    x_dot = linear_solve_p.bind(*_flat(consts), *[instantiate(r) for r in rhs],
                                const_lengths=const_lengths, jaxprs=jaxprs)
    return x, list(x_dot[:n_b]) + aux_zeros


jvp_rules[linear_solve_p] = _jvp


def _transpose(cts, *args, const_lengths, jaxprs):
    if jaxprs[3] is None:
        raise TypeError("transpose_solve required for backwards mode automatic differentiation "
                        "of custom_linear_solve: pass transpose_solve=..., or symmetric=True "
                        "when matvec is symmetric.")
    consts, b = _split(args, const_lengths)
    if any(is_undefined(c) for c in _flat(consts)):
        raise NotImplementedError("custom_linear_solve is linear in b only; its matvec/solve "
                                  "consts cannot be transposed.")
    n_b = len(b)
    x_ct = cts[:n_b]  # the aux outputs have zero tangents (see _jvp), so no cotangent counts
    n_consts = sum(const_lengths)
    if all(isinstance(c, Zero) for c in x_ct):
        return [None] * (n_consts + n_b)
    t_lengths, t_jaxprs = _transposed(const_lengths, jaxprs)
    t_consts, _ = _transposed(consts, jaxprs)
    b_ct = linear_solve_p.bind(*_flat(t_consts), *[instantiate(c) for c in x_ct],
                               const_lengths=t_lengths, jaxprs=t_jaxprs)
    return [None] * n_consts + [c if is_undefined(v) else None for v, c in zip(b, b_ct)]


transpose_rules[linear_solve_p] = _transpose


def _batch(axis_size, vals, dims, *, const_lengths, jaxprs):
    name = current_axis_name()
    vals = [v if d is not_mapped else moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    consts_bat, orig_b_bat = _split([d is not not_mapped for d in dims], const_lengths)
    consts, b = _split(vals, const_lengths)
    jm, jv, js, jt = jaxprs
    n_op = len(jm.out_avals)
    n_aux = len(js.out_avals) - n_op

    def at(flags):
        return [0 if f else not_mapped for f in flags]

    # Which parts of x and of b are batched must agree across the four jaxprs: solve and
    # vecmat map b to x, matvec and transpose_solve map x to b. Grow both sets to a fixpoint.
    b_bat, x_bat = list(orig_b_bat), [False] * len(js.out_avals)
    for _ in range(2 + len(b_bat) + len(x_bat)):
        bs, s_x_bat = batch_jaxpr(js, axis_size, at(consts_bat[2] + b_bat), x_bat,
                                  axis_name=name)
        if jv is None:
            bv, x_out = None, list(s_x_bat)
        else:
            bv, v_x_bat = batch_jaxpr(jv, axis_size, at(consts_bat[1] + b_bat), b_bat,
                                      axis_name=name)
            x_out = [p or q for p, q in zip(v_x_bat + [True] * n_aux, s_x_bat)]
        x_op = x_out[:n_op]
        bm, m_b_bat = batch_jaxpr(jm, axis_size, at(consts_bat[0] + x_op), b_bat,
                                  axis_name=name)
        if jt is None:
            bt, b_out = None, [p or q for p, q in zip(m_b_bat, orig_b_bat)]
        else:
            bt, t_bat = batch_jaxpr(jt, axis_size, at(consts_bat[3] + x_op), x_out,
                                    axis_name=name)
            b_out = [p or q or r for p, q, r in zip(m_b_bat, t_bat[:len(b)], orig_b_bat)]
        if x_out == x_bat and b_out == b_bat:
            break
        x_bat, b_bat = x_out, b_out
    else:  # pragma: no cover - each round adds a batched flag, so it ends
        raise AssertionError("custom_linear_solve batching: no fixpoint")
    new_b = [broadcast_batch(v, axis_size, 0) if now and not was else v
             for v, was, now in zip(b, orig_b_bat, b_bat)]
    outs = linear_solve_p.bind(*_flat(consts), *new_b, const_lengths=const_lengths,
                               jaxprs=(bm, bv, bs, bt))
    return outs, at(s_x_bat)


batch_rules[linear_solve_p] = _batch


# -- the public functions -------------------------------------------------------------------
def _check_shapes(name: str, got: Sequence[ShapedArray], want: Sequence[ShapedArray]) -> None:
    got_s, want_s = [a.shape for a in got], [a.shape for a in want]
    if got_s != want_s:
        raise ValueError(f"{name}() output shapes must match b, got {got_s} and {want_s}")


def _check_tree(name: str, expected: str, tree, want, has_aux: bool):
    """The output tree of ``name`` (the solution's part of it when ``has_aux``)."""
    if has_aux:
        children = tree.children()
        if len(children) != 2:
            raise ValueError(f"{name}() produced a pytree with structure {tree}, but a pytree "
                             "tuple with auxiliary output was expected because has_aux was "
                             "set to True.")
        tree = children[0]
    if tree != want:
        raise TypeError(f"{name}() output pytree structure must match {expected}, got {tree} "
                        f"and {want}.")


def _funs(*fs: Callable | None) -> tuple:
    return tuple(f for f in fs if f is not None)


def custom_linear_solve(matvec: Callable, b: Any, solve: Callable[[Callable, Any], Any],
                        transpose_solve: Callable[[Callable, Any], Any] | None = None,
                        symmetric: bool = False, has_aux: bool = False) -> Any:
    """A matrix-free linear solve with implicit derivatives, as ``jax.lax.custom_linear_solve``.

    ``solve(matvec, b)`` must return ``x`` with ``matvec(x) == b`` (not checked). Derivatives
    never go through ``solve``: the tangent of ``x`` solves ``matvec(x_dot) = b_dot -
    matvec_dot(x)`` with ``solve``, and reverse mode solves the transposed problem with
    ``transpose_solve`` (``solve`` itself when ``symmetric=True``). With ``has_aux``, ``solve``
    and ``transpose_solve`` return ``(x, aux)``, and so does this function.

    >>> import xform, xform.numpy as xnp
    >>> a = xnp.array([[2.0, 1.0], [1.0, 3.0]])
    >>> x = xform.lax.custom_linear_solve(lambda v: a @ v, xnp.array([1.0, 2.0]),
    ...                                   lambda mv, v: xnp.linalg.solve(a, v), symmetric=True)
    >>> [round(float(v), 4) for v in x]
    [0.2, 0.6]
    """
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    b_leaves, b_tree = tree_flatten(b)
    in_leaves, in_tree = tree_flatten((b,))
    avals = tuple(to_aval(x) for x in in_leaves)
    key = ("custom_linear_solve", in_tree, avals, symmetric, has_aux, transpose_solve is None)
    traced = cached_trace(
        _funs(matvec, solve, transpose_solve), key,
        lambda: _trace_linear_solve(matvec, solve, transpose_solve, symmetric, has_aux,
                                    b_tree, in_tree, avals))
    jaxprs, consts, (out_tree, const_lengths) = traced
    outs = linear_solve_p.bind(*consts, *b_leaves, const_lengths=const_lengths, jaxprs=jaxprs)
    return tree_unflatten(out_tree, outs)


def _trace_linear_solve(matvec, solve, transpose_solve, symmetric, has_aux, b_tree, in_tree,
                        avals):
    n_b = len(avals)

    def traced(fun, name, aux):
        closed, consts, tree = trace_fun(fun, in_tree, avals, kind="custom_linear_solve",
                                         what=f"custom_linear_solve {name}")
        _check_tree(name, "b", tree, b_tree, aux)
        _check_shapes(name, closed.out_avals[:n_b], avals)
        return closed, consts, tree

    jm, mv_consts, _ = traced(matvec, "matvec", False)
    js, s_consts, out_tree = traced(lambda y: solve(matvec, y), "solve", has_aux)
    if transpose_solve is None:
        jv = jt = None
        vm_consts, ts_consts = [], []
    else:
        if symmetric:
            vecmat, jv, vm_consts = matvec, jm, mv_consts
        else:
            vecmat = _vecmat(jm, mv_consts, b_tree, avals)
            jv, _ = trace_flat(lambda *a: (_transpose_matvec(jm, a[:len(mv_consts)],
                                                             a[len(mv_consts):], avals), None),
                               jm.in_avals, description="custom_linear_solve vecmat")
            vm_consts = mv_consts
        jt, ts_consts, _ = traced(lambda y: transpose_solve(vecmat, y), "transpose_solve",
                                  has_aux)
    consts = (mv_consts, vm_consts, s_consts, ts_consts)
    # flat consts second: cached_trace keeps no trace that closed over a tracer
    return (jm, jv, js, jt), _flat(consts), (out_tree, tuple(len(c) for c in consts))


def _transpose_matvec(jm: ClosedJaxpr, consts, y, avals) -> list:
    """``A^T y`` for the linear ``matvec`` jaxpr: its backward pass."""
    args = [*consts, *[UndefinedPrimal(a) for a in avals]]
    cts = backward_pass(jm.jaxpr, jm.consts, args, list(y))
    return [instantiate(c) for c in cts[len(consts):]]


def _vecmat(jm: ClosedJaxpr, consts, b_tree, avals) -> Callable:
    """The transpose of ``matvec`` as a function of a pytree shaped like ``b``."""
    def vecmat(y):
        leaves, tree = tree_flatten(y)
        if tree != b_tree:
            raise TypeError(f"vecmat: expected an argument of structure {b_tree}, got {tree}")
        return tree_unflatten(b_tree, _transpose_matvec(jm, consts, leaves, avals))
    return vecmat


def custom_root(f: Callable, initial_guess: Any, solve: Callable[[Callable, Any], Any],
                tangent_solve: Callable[[Callable, Any], Any], has_aux: bool = False) -> Any:
    """``solve(f, initial_guess)``, a root of ``f``, differentiated implicitly, as
    ``jax.lax.custom_root``.

    Derivatives with respect to the values ``f`` closes over follow the implicit function
    theorem at the root ``u``: ``u_dot = -tangent_solve(g, f_dot)`` where ``g`` is ``f``
    linearized at ``u`` and ``f_dot`` the tangent of ``f(u)`` in its closed-over values.
    ``solve`` itself is never differentiated. For a scalar root, ``tangent_solve = lambda g, y:
    y / g(1.0)``.

    >>> import xform
    >>> def sqrt(a):
    ...     f = lambda x: x ** 2 - a
    ...     def newton(f, x0):
    ...         return xform.lax.fori_loop(0, 20, lambda i, x: x - f(x) / (2 * x), x0)
    ...     return xform.lax.custom_root(f, 1.0, newton, lambda g, y: y / g(1.0))
    >>> round(float(xform.grad(sqrt)(4.0)), 4)
    0.25
    """
    leaves, guess_tree = tree_flatten(initial_guess)
    in_leaves, in_tree = tree_flatten((initial_guess,))
    avals = tuple(to_aval(x) for x in in_leaves)
    key = ("custom_root", in_tree, avals, has_aux)
    traced = cached_trace(
        _funs(f, solve, tangent_solve), key,
        lambda: _trace_root(f, solve, tangent_solve, has_aux, guess_tree, in_tree, avals))
    (jf, body, jls), consts, (out_tree, lengths) = traced
    n_x = len(jf.out_avals)

    def root(*args):
        return custom_jvp_call_p.bind(*args, call_jaxpr=body, jvp=root_jvp, num_consts=0,
                                      name="custom_root")

    def root_jvp(*xs):  # primals, then tangents; returns primal outs, then tangent outs
        n = len(xs) // 2
        primals, tangents = xs[:n], xs[n:]
        sol = root(*primals)
        cs, _ = _split(primals, lengths)
        cs_dot, _ = _split(tangents, lengths)
        u, aux = sol[:n_x], sol[n_x:]
        aux_zeros = [Zero(tangent_aval(to_aval(a))) for a in aux]
        if all(isinstance(t, Zero) for t in cs_dot[0]):
            # only the solver's or tangent_solve's consts move: not differentiated, as in JAX
            return [*sol, *[Zero(tangent_aval(to_aval(v))) for v in u], *aux_zeros]
        zeros = [Zero(tangent_aval(to_aval(v))) for v in u]
        _, rhs, _ = jvp_flat(lambda *a: (call_jaxpr(jf, *a), None), [*cs[0], *u],
                             [*cs_dot[0], *zeros], "jvp of custom_root's f")
        u_dot = call_jaxpr(jls, *cs[2], *u, *[instantiate(r) for r in rhs])
        return [*sol, *[neg(v) for v in u_dot], *aux_zeros]

    root_jvp.__name__ = "custom_root_jvp"
    return tree_unflatten(out_tree, root(*consts, *leaves))


def _trace_root(f, solve, tangent_solve, has_aux, guess_tree, in_tree, avals):
    jf, f_consts, f_tree = trace_fun(f, in_tree, avals, kind="custom_root", what="custom_root f")
    _check_tree("f", "initial_guess", f_tree, guess_tree, False)
    js, s_consts, out_tree = trace_fun(lambda x: solve(f, x), in_tree, avals, kind="custom_root",
                                       what="custom_root solve")
    _check_tree("solve", "initial_guess", out_tree, guess_tree, has_aux)

    def linearize_and_solve(x, b):
        x_leaves = tree_flatten(x)[0]

        def g(t):  # f linearized at x (a JVP; partial evaluation keeps only the linear part)
            t_leaves, t_tree = tree_flatten(t)
            if t_tree != guess_tree:
                # a scalar given for a scalar root (``g(1.0)``) is fine, as in JAX
                raise TypeError(f"tangent_solve: the linearized f takes {guess_tree}, got "
                                f"{t_tree}")
            _, out, _ = jvp_flat(lambda *u: (tree_flatten(f(tree_unflatten(guess_tree,
                                                                           list(u))))[0], None),
                                 x_leaves, [_as_tangent(v, a) for v, a in zip(t_leaves, avals)],
                                 "custom_root's linearized f")
            return tree_unflatten(f_tree, [instantiate(o) for o in out])

        return tangent_solve(g, b)

    ls_tree_in = tree_structure((tree_unflatten(guess_tree, list(avals)),) * 2)
    jls, ls_consts, ls_tree = trace_fun(linearize_and_solve, ls_tree_in, avals + avals,
                                        kind="custom_root", what="custom_root tangent_solve")
    _check_tree("tangent_solve", "x", ls_tree, guess_tree, False)
    consts = (f_consts, s_consts, ls_consts)
    lengths = tuple(len(c) for c in consts)

    def body(*args):  # the call's body: the solve, as a function of every const and the guess
        cs, guess = _split(args, lengths)
        return call_jaxpr(js, *cs[1], *guess), None

    body_jaxpr, _ = trace_flat(body, [to_aval(c) for c in _flat(consts)] + list(avals),
                               description="custom_root solve")
    return (jf, body_jaxpr, jls), _flat(consts), (out_tree, lengths)


def _as_tangent(v: Any, aval: ShapedArray) -> Any:
    """A tangent value for the primal type ``aval`` (a Python scalar becomes an array of it)."""
    if isinstance(v, (int, float, complex, np.generic)):
        return np.asarray(v, dtype=aval.dtype).reshape(aval.shape) if aval.shape == () \
            else np.broadcast_to(np.asarray(v, dtype=aval.dtype), aval.shape)
    return v
