"""Custom derivative rules: ``custom_jvp`` and ``custom_vjp``.

Both are call primitives. Binding one stages the user's function into a const-free jaxpr (its
closed-over values become leading operands, ``num_consts`` of them), which is what ``jit``
lowers and what eager evaluation runs; the rule travels next to it as a Python callable on flat
lists, called lazily by the interpreter that needs it (tracing it eagerly would recurse forever
when a rule calls the function it belongs to, which rules usually do).

- ``custom_jvp_call``: the JVP interpreter calls the rule instead of differentiating the body;
  vmap batches both the body and the rule; the rest evaluate the body.
- ``custom_vjp_call``: the JVP interpreter runs ``fwd`` now and emits ``custom_lin``, a
  primitive linear in the input tangents whose transpose rule is ``bwd``. Under ``linearize``
  (so under ``vjp``/``grad``) ``custom_lin`` is staged into the linear jaxpr and transposed;
  evaluating it (plain forward mode) is the error JAX raises.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

from jax.custom_derivatives import (  # JAX's classes, so isinstance checks written for
    CustomVJPPrimal as CustomVJPPrimal,  # JAX hold for what xform's rules receive
    SymbolicZero as _JaxSymbolicZero,
)
from jax.tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten

from xform.interpreters.tracing import fun_name
from xform.core.avals import float0
from xform.core.ir import ClosedJaxpr
from xform.core.primitive import Primitive, abstract_eval
from xform.core.trace import Tracer, current_trace, set_current_trace, to_aval
from xform.interpreters.eval import arrays_out, impl_rules
from xform.interpreters.batching import (
    BatchTrace, batch_fun, batch_jaxpr, batch_rules, current_axis_name, current_batch_tag, moveaxis,
    not_mapped,
)
from xform.interpreters.jvp import (
    JVPTrace, Zero, instantiate, jvp_rules, tangent_aval, zeros_like_aval,
)
from xform.interpreters.partial_eval import PartialEvalTrace
from xform.interpreters.lowering import to_jax
from xform.interpreters.staging import eval_jaxpr, hoist_consts, trace_to_jaxpr
from xform.lax.custom_to_jax import custom_jvp_to_jax, custom_vjp_to_jax
from xform.interpreters.transpose import (
    backward_pass, is_undefined, transpose_rules,
)
from xform.lax.reductions import reduce_sum

__all__ = ["custom_jvp", "custom_vjp", "CustomVJPException", "CustomVJPPrimal", "SymbolicZero",
           "custom_vjp_primal_tree_values", "zero_from_primal"]


class SymbolicZero(_JaxSymbolicZero):
    """A zero tangent or cotangent that a rule defined with ``symbolic_zeros=True`` receives
    (JAX's ``jax.custom_derivatives.SymbolicZero``, of which it is a subclass).

    ``aval`` is the tangent type; ``shape``, ``dtype``, ``ndim``, ``size`` and ``weak_type`` read
    through to it. A rule may also return one for an output tangent (or input cotangent) that
    is zero."""

    def __init__(self, aval: Any) -> None:
        self.aval = aval

    def __getattr__(self, name: str) -> Any:
        if name == "aval":  # not yet set (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.aval, name)

    @staticmethod
    def from_primal_value(val: Any) -> "SymbolicZero":
        """The symbolic zero tangent of the primal value ``val``."""
        return SymbolicZero(tangent_aval(to_aval(val)))


def zero_from_primal(val: Any, symbolic_zeros: bool = False) -> Any:
    """Zero tangents for the pytree ``val``: ``SymbolicZero`` objects when ``symbolic_zeros``,
    else arrays of zeros of each leaf's tangent type (float0 for integer leaves), as JAX's."""
    def zero(x):
        aval = tangent_aval(to_aval(x))
        return SymbolicZero(aval) if symbolic_zeros else zeros_like_aval(aval)
    return tree_map(zero, val)


def custom_vjp_primal_tree_values(tree: Any) -> Any:
    """The values of a tree of ``CustomVJPPrimal`` records (what a ``symbolic_zeros=True``
    forward rule receives), as JAX's ``custom_vjp_primal_tree_values``."""
    def value(leaf):
        if type(leaf) is not CustomVJPPrimal:
            raise TypeError(f"unexpected leaf type {type(leaf)}")
        return leaf.value
    return tree_map(value, tree)


def _to_symbolic(t: Any) -> Any:
    """An interpreter's ``Zero`` becomes the user-facing ``SymbolicZero``."""
    return SymbolicZero(t.aval) if isinstance(t, Zero) else t


def _from_symbolic(t: Any) -> Any:
    """A rule's ``SymbolicZero`` output becomes the interpreter's ``Zero``."""
    return Zero(t.aval) if isinstance(t, _JaxSymbolicZero) else t


def _is_sz(x: Any) -> bool:
    return isinstance(x, _JaxSymbolicZero)


def _nondiff_argnums(fun: Callable, nondiff_argnums: Sequence[int],
                     nondiff_argnames: Sequence[str]) -> tuple[int, ...]:
    """``nondiff_argnums`` united with the positions of ``nondiff_argnames`` in ``fun``'s
    signature, sorted (as JAX's)."""
    nums = {int(i) for i in nondiff_argnums}
    if isinstance(nondiff_argnames, str):
        nondiff_argnames = (nondiff_argnames,)
    if nondiff_argnames:
        try:
            params = list(inspect.signature(fun).parameters.values())
        except (TypeError, ValueError):
            raise TypeError(f"nondiff_argnames={tuple(nondiff_argnames)} needs the signature "
                            f"of {fun_name(fun)}, which inspect cannot read; use "
                            "nondiff_argnums.") from None
        positional = [p.name for p in params
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for n in nondiff_argnames:
            if n in positional:
                nums.add(positional.index(n))
            elif not any(p.kind == p.VAR_KEYWORD or p.name == n for p in params):
                raise ValueError(f"nondiff_argnames: {n!r} is not a parameter of "
                                 f"{fun_name(fun)}; its parameters are {positional}.")
    return tuple(sorted(nums))


class CustomVJPException(Exception):
    """Differentiation of a custom rule's function w.r.t. a value it closes over."""

    def __init__(self, kind: str = "custom_vjp"):
        super().__init__(
            f"Detected differentiation of a {kind} function with respect to a closed-over "
            f"value. That isn't supported because the custom rule only specifies how to "
            f"differentiate the {kind} function with respect to explicit input parameters. "
            f"Try passing the closed-over value into the {kind} function as an argument, and "
            "adapting the custom rule.")


def _pp_call(params: dict) -> list:
    shown = [("name", params["name"]), ("call_jaxpr", params["call_jaxpr"])]
    rule = "jvp" if "jvp" in params else "bwd"
    shown.append((rule, fun_name(params[rule])))
    return shown + [("num_consts", params["num_consts"]), ("symbolic_zeros", False)]


def _call_abstract_eval(*avals, call_jaxpr, **_):
    return list(call_jaxpr.out_avals)


def _call_impl(*args, call_jaxpr, **_):
    # Eagerly, the body runs op by op (as JAX's impl does) instead of compiling one program per
    # (primitive, params): the params hold rules made fresh on every call.
    return arrays_out(eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args))


def _call_transpose(cts, *args, call_jaxpr, **_):
    # A custom call used linearly (a rule applying a custom function to tangents): transpose
    # its body like any call.
    res = backward_pass(call_jaxpr.jaxpr, call_jaxpr.consts, list(args),
                        [instantiate(c) for c in cts])
    return [None if not is_undefined(a) else r for a, r in zip(args, res)]


# -- shared plumbing ------------------------------------------------------------------------
def _resolve_args(fun: Callable, args: tuple, kwargs: dict) -> tuple:
    """Keyword arguments become positional ones, as JAX's custom rules require."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{fun_name(fun)}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"keyword-only arguments are not supported by custom rules; "
                        f"{fun_name(fun)} got {sorted(bound.kwargs)}.")
    return tuple(bound.args)


def _split_args(args: tuple, nondiff_argnums: tuple[int, ...]):
    nondiff = [args[i] for i in nondiff_argnums]
    diff = tuple(a for i, a in enumerate(args) if i not in nondiff_argnums)
    return nondiff, diff


def _merge_args(nondiff: Sequence[Any], diff: Sequence[Any], nondiff_argnums, n: int) -> list:
    nd, d = iter(nondiff), iter(diff)
    return [next(nd) if i in nondiff_argnums else next(d) for i in range(n)]


def _stage_primal(fun: Callable, args: tuple, nondiff_argnums: tuple[int, ...], name: str):
    """Trace ``fun`` as a function of its differentiable arguments' leaves.

    Returns ``(nondiff, leaves, in_tree, body, consts, out_tree)``: the nondiff arguments, the
    flat differentiable ones and their structure, the const-free jaxpr, its consts, and the
    output structure."""
    nondiff, diff = _split_args(args, nondiff_argnums)
    leaves, in_tree = tree_flatten(diff)
    n_args = len(args)

    def flat_fun(*xs):
        out = fun(*_merge_args(nondiff, tree_unflatten(in_tree, list(xs)), nondiff_argnums,
                               n_args))
        flat, out_tree = tree_flatten(out)
        return flat, out_tree

    closed, out_tree = trace_to_jaxpr(flat_fun, [to_aval(x) for x in leaves],
                                      description=f"custom rule of {name}", kind="jit")
    body, consts = hoist_consts(closed)
    return nondiff, leaves, in_tree, body, consts, out_tree


def _batched_callable(fn: Callable, axis_size: int, in_dims: Sequence[Any], axis_name: Any,
                      name: str, tag: Any = None) -> Callable:
    """``fn`` (flat list in, flat list out) on batched values: ``in_dims`` says where each
    input's batch axis is; every output comes back batched at axis 0 (``None`` stays).
    ``tag`` is the vmap's (``current_batch_tag()``), so values ``fn`` closes over that the vmap
    batches are batched inside ``fn`` too."""
    both = batch_fun(fn, axis_size, in_dims, axis_name=axis_name, instantiate=True,
                     description=f"vmap of {name}", tag=tag)

    def batched(*vals):
        return both(*vals)[0]

    batched.__name__ = f"vmap({getattr(fn, '__name__', name)})"
    return batched


def _batch_body(closed: ClosedJaxpr, axis_size: int, dims, axis_name):
    """The body batched with every output at axis 0: (const-free jaxpr, new leading consts)."""
    batched, _ = batch_jaxpr(closed, axis_size, dims, True, axis_name=axis_name)
    return hoist_consts(batched)


def _trace_for_call(args: tuple):
    """The trace that handles a call of a custom-rule function: the current one, skipping the
    traces that own none of the arguments, as JAX's do (its JVP and batch traces hand such a
    call to their parent; a ``linearize`` trace of ``grad`` computes known values there). A
    rule calling its own function on its primals under ``grad`` or ``jacfwd`` (whose basis is
    batched, the primals not) thus reaches eager evaluation or the enclosing JVP, so Python
    control flow on concrete primals works, as in JAX. Staging traces (jit) never skip, and a
    batch trace is skipped only when no trace below it owns an argument: otherwise the call is
    batched (the rule then runs batched, seeing the values it closes over that vmap batches)."""
    trace = current_trace()
    tracers = [x for x in tree_leaves(args) if isinstance(x, Tracer)]
    batch = None
    while (isinstance(trace, (PartialEvalTrace, JVPTrace, BatchTrace))
           and not any(trace.is_own(x) for x in tracers)):
        if batch is None and isinstance(trace, BatchTrace):
            batch = trace
        trace = trace.parent
    return trace if trace is None or batch is None else batch


def _call_plain(fun: Callable, args: tuple) -> Any:
    """``fun`` on arguments no transform owns. Under a vmap it runs under the innermost batch
    trace, as in JAX's batch subtrace: values it closes over that the vmap batches come out
    batched. Otherwise it runs eagerly. A closed-over tracer of a differentiating trace is an
    UnexpectedTracerError either way, as in JAX (the custom rule could not see its tangent)."""
    trace = current_trace()
    while isinstance(trace, (PartialEvalTrace, JVPTrace)):
        trace = trace.parent
    with set_current_trace(trace if isinstance(trace, BatchTrace) else None):
        return fun(*args)


def _unpack_jvp(trace: JVPTrace, args: tuple, nondiff_argnums: tuple[int, ...]):
    """Split a call's arguments for a JVP trace: ``(nondiff, in_tree, primals, tangents)``,
    flat over the differentiable arguments."""
    nondiff, diff = _split_args(args, nondiff_argnums)
    leaves, in_tree = tree_flatten(diff)
    pairs = [trace.unpack(x) for x in leaves]
    return nondiff, in_tree, [p for p, _ in pairs], [t for _, t in pairs]


def _check_closed_over(tangents: Sequence[Any], num_consts: int, kind: str) -> None:
    if any(not isinstance(t, Zero) for t in tangents[:num_consts]):
        raise CustomVJPException(kind)


# -- custom_jvp -----------------------------------------------------------------------------
custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.pp_params = _pp_call


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp, num_consts, name):
    # As JAX's custom_jvp_call: the rule sees the explicit arguments' tangents; those of the
    # values the function closes over take no part (a custom_vjp raises there instead)
    args, ts = primals[num_consts:], tangents[num_consts:]
    outs = jvp(*args, *ts)  # zero tangents stay symbolic: the rule decides how to see them
    n = len(call_jaxpr.out_avals)
    return outs[:n], outs[n:]


def _custom_jvp_call_batch(axis_size, vals, dims, *, call_jaxpr, jvp, num_consts, name):
    axis_name = current_axis_name()
    body, new_consts = _batch_body(call_jaxpr, axis_size, dims, axis_name)
    arg_dims = list(dims[num_consts:])
    def dense_jvp(*xs):  # what batch_fun traces: arrays in and out
        return [instantiate(o) for o in jvp(*xs)]

    dense_jvp.__name__ = fun_name(jvp)
    batched_dense = _batched_callable(dense_jvp, axis_size, arg_dims + arg_dims, axis_name,
                                      name, current_batch_tag())

    def batched_jvp(*xs):  # symbolic zero tangents become arrays before batch_fun sees them
        return batched_dense(*[instantiate(x) for x in xs])

    batched_jvp.__name__ = batched_dense.__name__
    outs = custom_jvp_call_p.bind(*new_consts, *vals, call_jaxpr=body, jvp=batched_jvp,
                                  num_consts=len(new_consts) + num_consts, name=name)
    return outs, [0] * len(outs)


abstract_eval[custom_jvp_call_p] = _call_abstract_eval
impl_rules[custom_jvp_call_p] = _call_impl
to_jax[custom_jvp_call_p] = custom_jvp_to_jax  # keeps the rule for JAX's transforms
jvp_rules[custom_jvp_call_p] = _custom_jvp_call_jvp
batch_rules[custom_jvp_call_p] = _custom_jvp_call_batch
transpose_rules[custom_jvp_call_p] = _call_transpose


def _check_rule_outputs(name: str, out_tree, out_avals, p_tree, p_leaves, t_tree, t_leaves):
    """The rule's outputs against each other, and against the function's output when it was
    traced (``out_tree``/``out_avals`` None when the rule ran without tracing it)."""
    if out_avals is None:
        out_tree, out_avals = p_tree, [to_aval(p) for p in p_leaves]
    if p_tree != out_tree:
        raise TypeError(
            f"Custom JVP rule of {name} must produce primal outputs with the same container "
            f"(pytree) structure as the output of the function it differentiates, but got "
            f"{p_tree} from the rule and {out_tree} from the function.")
    if t_tree != p_tree:
        raise TypeError(
            f"Custom JVP rule of {name} must produce primal and tangent outputs with equal "
            f"container (pytree) structures, but got {p_tree} and {t_tree} respectively.")
    for i, (a, p, t) in enumerate(zip(out_avals, p_leaves, t_leaves)):
        pa, ta = to_aval(p), (t.aval if isinstance(t, Zero) else to_aval(t))
        want = tangent_aval(a)
        if pa.shape != a.shape or ta.shape != a.shape or (
                ta.dtype != want.dtype and not (want.dtype == float0)):
            raise TypeError(
                f"Custom JVP rule of {name} must produce primal and tangent outputs with "
                f"corresponding shapes and dtypes: output {i} of the function has type "
                f"{a.str_short()}, the rule's primal output has type {pa.str_short()} and its "
                f"tangent output has type {ta.str_short()} (expected "
                f"{want.str_short()}).")


class _WrapsFunction:
    """What ``custom_jvp``, ``custom_vjp`` and ``custom_vmap`` share as wrappers of
    ``self.fun``: its attributes read through (JAX's forward_attr, so that e.g.
    ``custom_vjp(custom_vmap(f)).def_vmap`` reaches the inner decorator), and they bind as
    methods do."""

    def __getattr__(self, name: str) -> Any:
        fun = self.__dict__.get("fun")
        if fun is None:
            raise AttributeError(name)
        return getattr(fun, name)

    def __get__(self, instance, owner=None):
        return self if instance is None else functools.partial(self, instance)


class custom_jvp(_WrapsFunction):
    """Give a function a custom forward-mode derivative rule (JAX's ``jax.custom_jvp``).

    Reverse mode follows from it by linearization and transposition, so the rule must be
    linear in the tangents. ``nondiff_argnums`` are passed to the rule first and get no
    tangents.

    >>> import xform, xform.numpy as xnp
    >>> @xform.custom_jvp
    ... def log1pexp(x):
    ...     return xnp.log(1. + xnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     x, = primals
    ...     x_dot, = tangents
    ...     return log1pexp(x), x_dot * (1. - 1. / (1. + xnp.exp(x)))
    >>> xform.grad(log1pexp)(100.)
    Array(1., dtype=float32, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = (),
                 nondiff_argnames: Sequence[str] = ()):
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self.nondiff_argnums = _nondiff_argnums(fun, nondiff_argnums, nondiff_argnames)
        self.jvp: Callable | None = None
        self.symbolic_zeros = False

    def defjvp(self, jvp: Callable, symbolic_zeros: bool = False) -> Callable:
        """Set the rule ``jvp(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``.

        With ``symbolic_zeros=True`` the tangent of an input that is not being differentiated
        arrives as a ``SymbolicZero`` (not an array: test with ``isinstance`` or
        ``type(t) is SymbolicZero``), and the rule may return ``SymbolicZero`` objects for
        tangent outputs that are zero. Usable as a decorator; returns ``jvp``."""
        self.jvp = jvp
        self.symbolic_zeros = bool(symbolic_zeros)
        return jvp

    def defjvps(self, *jvps: Callable | None) -> None:
        """One rule per argument, ``jvp_i(t_i, primal_out, *primals)``; ``None`` for an
        argument with a zero derivative. The tangent out is the sum of the terms."""
        if self.nondiff_argnums:
            raise TypeError("defjvps is not compatible with nondiff_argnums; use defjvp.")

        def jvp(primals, tangents):
            primal_out = self(*primals)
            terms = [fn(t, primal_out, *primals) for fn, t in zip(jvps, tangents)
                     if fn is not None]
            if not terms:
                return primal_out, tree_map(lambda p: p * 0, primal_out)
            return primal_out, functools.reduce(
                lambda a, b: tree_map(lambda x, y: x + y, a, b), terms)

        self.defjvp(jvp)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = fun_name(self.fun)
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _resolve_args(self.fun, args, kwargs)
        trace = _trace_for_call(args)
        if trace is None:  # nothing to differentiate: the function itself, on concrete values
            return _call_plain(self.fun, args)
        if isinstance(trace, JVPTrace):
            return self._jvp_now(trace, args, name)
        rule = self.jvp
        nondiff, leaves, in_tree, body, consts, out_tree = _stage_primal(
            self.fun, args, self.nondiff_argnums, name)
        out_avals = body.out_avals

        def flat_jvp(*xs):
            k = len(xs) // 2
            return self._call_rule(name, nondiff, in_tree, xs[:k], xs[k:], out_tree,
                                   out_avals)[0]

        flat_jvp.__name__ = fun_name(rule)
        outs = custom_jvp_call_p.bind(*consts, *leaves, call_jaxpr=body, jvp=flat_jvp,
                                      num_consts=len(consts), name=name)
        return tree_unflatten(out_tree, outs)

    def _call_rule(self, name, nondiff, in_tree, primals, tangents, out_tree=None,
                   out_avals=None):
        """The rule on flat primals and tangents: ``(primal leaves + tangent leaves, tree)``."""
        tangents = [_to_symbolic(t) if self.symbolic_zeros else instantiate(t)
                    for t in tangents]
        res = self.jvp(*nondiff, tuple(tree_unflatten(in_tree, list(primals))),
                       tuple(tree_unflatten(in_tree, tangents)))
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError(f"Custom JVP rule of {name} must return a pair (primal_out, "
                            f"tangent_out), got {type(res).__name__}.")
        p_leaves, p_tree = tree_flatten(res[0])
        t_leaves, t_tree = tree_flatten(res[1])
        t_leaves = [_from_symbolic(t) for t in t_leaves]  # may come back as interpreter Zeros
        _check_rule_outputs(name, out_tree, out_avals, p_tree, p_leaves, t_tree, t_leaves)
        return p_leaves + t_leaves, p_tree

    def _jvp_now(self, trace: JVPTrace, args: tuple, name: str) -> Any:
        """Under a JVP trace, as in JAX: the rule runs on the primals (concrete ones under an
        un-jitted ``grad``, so Python control flow works) and the function is not traced."""
        nums = self.nondiff_argnums
        nondiff, in_tree, primals, tangents = _unpack_jvp(trace, args, nums)
        with set_current_trace(trace.parent):
            if all(isinstance(t, Zero) for t in tangents):
                return self(*_merge_args(nondiff, tree_unflatten(in_tree, primals), nums,
                                         len(args)))
            outs, out_tree = self._call_rule(name, nondiff, in_tree, primals, tangents)
        n = len(outs) // 2
        return tree_unflatten(out_tree, [trace.wrap(p, t) for p, t in zip(outs[:n], outs[n:])])


# -- custom_vjp -----------------------------------------------------------------------------
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.pp_params = _pp_call
custom_lin_p = Primitive("custom_lin", multiple_results=True)
custom_lin_p.pp_params = lambda params: [("bwd", fun_name(params["bwd"])),
                                         ("num_res", params["num_res"])]

_FWD_ERROR = "can't apply forward-mode autodiff (jvp) to a custom_vjp function."


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd, bwd, num_consts, name):
    _check_closed_over(tangents, num_consts, "custom_vjp")
    args, ts = primals[num_consts:], tangents[num_consts:]
    in_zeros = tuple(isinstance(t, Zero) for t in ts)
    res, outs = fwd(*args, perturbed=tuple(not z for z in in_zeros))
    out_avals = tuple(tangent_aval(to_aval(o)) for o in outs)
    arg_avals = tuple(to_aval(a) for a in args)
    t_outs = custom_lin_p.bind(*res, *[t for t in ts if not isinstance(t, Zero)],
                               num_res=len(res), bwd=bwd, out_avals=out_avals,
                               in_zeros=in_zeros, arg_avals=arg_avals)
    return outs, t_outs


def _custom_vjp_call_batch(axis_size, vals, dims, *, call_jaxpr, fwd, bwd, num_consts, name):
    axis_name = current_axis_name()
    body, new_consts = _batch_body(call_jaxpr, axis_size, dims, axis_name)
    arg_dims = list(dims[num_consts:])

    tag = current_batch_tag()
    n_out = len(call_jaxpr.out_avals)

    def batched_fwd(*xs, perturbed=None):
        def flat_fwd(*ys):
            res, outs = fwd(*ys, perturbed=perturbed)
            return list(res) + list(outs)
        both = _batched_callable(flat_fwd, axis_size, arg_dims, axis_name, name, tag)(*xs)
        return both[:len(both) - n_out], both[len(both) - n_out:]

    def batched_bwd(res, cts):
        fn = _batched_callable(lambda *rc: bwd(rc[:len(res)], rc[len(res):]), axis_size,
                               [0] * (len(res) + len(cts)), axis_name, name, tag)
        outs = fn(*res, *[instantiate(c) for c in cts])  # batch_fun traces arrays
        # an unbatched input gets the sum of the per-example cotangents
        return [None if c is None else reduce_sum(c, (0,)) if d is not_mapped
                else moveaxis(c, 0, d) for c, d in zip(outs, arg_dims)]

    batched_bwd.__name__ = f"vmap({fun_name(bwd)})"
    outs = custom_vjp_call_p.bind(*new_consts, *vals, call_jaxpr=body, fwd=batched_fwd,
                                  bwd=batched_bwd, num_consts=len(new_consts) + num_consts,
                                  name=name)
    return outs, [0] * len(outs)


abstract_eval[custom_vjp_call_p] = _call_abstract_eval
impl_rules[custom_vjp_call_p] = _call_impl
to_jax[custom_vjp_call_p] = custom_vjp_to_jax  # keeps the rule for JAX's transforms
jvp_rules[custom_vjp_call_p] = _custom_vjp_call_jvp
batch_rules[custom_vjp_call_p] = _custom_vjp_call_batch
transpose_rules[custom_vjp_call_p] = _call_transpose


def _custom_lin_abstract_eval(*avals, out_avals, **_):
    return list(out_avals)


def _custom_lin_forward(*args, **params):
    raise TypeError(_FWD_ERROR)


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, in_zeros, arg_avals):
    res = list(args[:num_res])
    cts_in = bwd(res, list(cts))  # zero cotangents stay Zero: bwd makes them what its rule wants
    out = [None] * num_res
    nz = iter(range(num_res, len(args)))
    for z, ct, a in zip(in_zeros, cts_in, arg_avals):
        if z:
            continue
        i = next(nz)
        if ct is None or isinstance(ct, Zero) or tangent_aval(a).dtype == float0:
            out.append(Zero(args[i].aval))
        else:
            out.append(ct)
    return out


abstract_eval[custom_lin_p] = _custom_lin_abstract_eval
to_jax[custom_lin_p] = _custom_lin_forward
batch_rules[custom_lin_p] = _custom_lin_forward
jvp_rules[custom_lin_p] = _custom_lin_forward
transpose_rules[custom_lin_p] = _custom_lin_transpose


class custom_vjp(_WrapsFunction):
    """Give a function a custom reverse-mode derivative rule (JAX's ``jax.custom_vjp``).

    ``defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` runs on the forward pass;
    ``bwd(*nondiff_args, residuals, out_cotangent)`` returns a tuple with one cotangent per
    differentiable argument (``None`` for zero). Forward mode is not available, as in JAX.

    >>> import xform, xform.numpy as xnp
    >>> @xform.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (xnp.clip(g, -1., 1.),))
    >>> xform.grad(lambda x: 5. * clip_gradient(x))(2.)
    Array(1., dtype=float32, weak_type=True)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = (),
                 nondiff_argnames: Sequence[str] = ()):
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self.nondiff_argnums = _nondiff_argnums(fun, nondiff_argnums, nondiff_argnames)
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        self.symbolic_zeros = False
        self.optimize_remat = False

    def defvjp(self, fwd: Callable, bwd: Callable, symbolic_zeros: bool = False,
               optimize_remat: bool = False) -> None:
        """Set the forward pass ``fwd`` and the backward pass ``bwd``.

        With ``symbolic_zeros=True`` (as JAX's): every leaf of ``fwd``'s arguments is a
        ``CustomVJPPrimal`` record (``.value``, and ``.perturbed``, False for an input that is
        not differentiated); ``bwd`` receives a ``SymbolicZero`` for each output cotangent
        that is zero, and may return ``SymbolicZero`` (or ``None``) for a zero input cotangent.

        ``optimize_remat`` is accepted for JAX compatibility and changes no value: under
        ``xform.checkpoint`` the residuals ``fwd`` returns are recomputed on the backward pass
        like any other value the policy does not save. As in JAX it cannot be combined with
        ``symbolic_zeros``."""
        if symbolic_zeros and optimize_remat:
            raise NotImplementedError(
                "remat optimization for custom_vjp does not support symbolic zeros")
        self.fwd, self.bwd = fwd, bwd
        self.symbolic_zeros = bool(symbolic_zeros)
        self.optimize_remat = bool(optimize_remat)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = fun_name(self.fun)
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _resolve_args(self.fun, args, kwargs)
        trace = _trace_for_call(args)
        if trace is None:
            return _call_plain(self.fun, args)
        if isinstance(trace, JVPTrace):
            return self._jvp_now(trace, args, name)
        nondiff, leaves, in_tree, body, consts, out_tree = _stage_primal(
            self.fun, args, self.nondiff_argnums, name)
        flat_fwd, flat_bwd, _ = self._flat_rules(name, args, nondiff, in_tree, leaves,
                                                 out_tree, body.out_avals)
        outs = custom_vjp_call_p.bind(*consts, *leaves, call_jaxpr=body, fwd=flat_fwd,
                                      bwd=flat_bwd, num_consts=len(consts), name=name)
        return tree_unflatten(out_tree, outs)

    def _jvp_now(self, trace: JVPTrace, args: tuple, name: str) -> Any:
        """Under a JVP trace, as in JAX: ``fwd`` runs on the primals now (concrete ones under
        an un-jitted ``grad``) and ``bwd`` waits in ``custom_lin``; the function is not
        traced."""
        nums = self.nondiff_argnums
        nondiff, in_tree, primals, tangents = _unpack_jvp(trace, args, nums)
        with set_current_trace(trace.parent):
            if all(isinstance(t, Zero) for t in tangents):
                return self(*_merge_args(nondiff, tree_unflatten(in_tree, primals), nums,
                                         len(args)))
            flat_fwd, flat_bwd, store = self._flat_rules(name, args, nondiff, in_tree, primals)
            res, outs = flat_fwd(*primals, perturbed=tuple(not isinstance(t, Zero)
                                                           for t in tangents))
            t_outs = custom_lin_p.bind(
                *res, *[t for t in tangents if not isinstance(t, Zero)], num_res=len(res),
                bwd=flat_bwd, out_avals=tuple(tangent_aval(to_aval(o)) for o in outs),
                in_zeros=tuple(isinstance(t, Zero) for t in tangents),
                arg_avals=tuple(to_aval(p) for p in primals))
        return tree_unflatten(store["out_tree"],
                              [trace.wrap(o, t) for o, t in zip(outs, t_outs)])

    def _flat_rules(self, name, args, nondiff, in_tree, leaves, out_tree=None,
                    out_avals=None):
        """``fwd`` and ``bwd`` on flat lists, checking what they return; the function's output
        structure and types (``out_tree``, ``out_avals``) are ``fwd``'s when it was not
        traced. Returns ``(flat_fwd, flat_bwd, store)``."""
        fwd_rule, bwd_rule = self.fwd, self.bwd
        nums, n_args = self.nondiff_argnums, len(args)
        store: dict = {"out_tree": out_tree}
        diff = tree_unflatten(in_tree, leaves)

        symbolic = self.symbolic_zeros

        def flat_fwd(*xs, perturbed=None):
            if symbolic:  # JAX's records: the value and whether it is differentiated
                perturbed = perturbed or (True,) * len(xs)
                xs = tuple(CustomVJPPrimal(x, bool(p)) for x, p in zip(xs, perturbed))
            full = _merge_args(nondiff, tree_unflatten(in_tree, list(xs)), nums, n_args)
            pair = fwd_rule(*full)
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(f"Custom VJP fwd rule of {name} must produce a pair (list or "
                                "tuple of length two) representing primal outputs and "
                                f"residuals, got {type(pair).__name__}.")
            out, res = pair
            o_leaves, o_tree = tree_flatten(out)
            if store["out_tree"] is None:
                store["out_tree"] = o_tree
            if o_tree != store["out_tree"]:
                raise TypeError(f"Custom VJP fwd rule of {name} must produce primal outputs "
                                f"with the structure of the function's output "
                                f"{store['out_tree']}, got {o_tree}.")
            for i, (o, a) in enumerate(zip(o_leaves, out_avals or [])):
                if to_aval(o).shape != a.shape or to_aval(o).dtype != a.dtype:
                    raise TypeError(f"Custom VJP fwd rule of {name}: primal output {i} has "
                                    f"type {to_aval(o).str_short()}, but the function's has "
                                    f"type {a.str_short()}.")
            r_leaves, store["res_tree"] = tree_flatten(res)
            return r_leaves, o_leaves

        def flat_bwd(res, cts):
            r = tree_unflatten(store["res_tree"], list(res))
            cts = [_to_symbolic(c) if symbolic else instantiate(c) for c in cts]
            ct = tree_unflatten(store["out_tree"], cts)
            out = bwd_rule(*nondiff, r, ct)
            if not isinstance(out, (tuple, list)) or len(out) != len(diff):
                raise TypeError(
                    f"Custom VJP bwd rule of {name} must produce a tuple of length equal to the "
                    f"number of (differentiable) arguments of the primal function, "
                    f"{len(diff)}, but got "
                    + (f"a {type(out).__name__}." if not isinstance(out, (tuple, list))
                       else f"length {len(out)}."))
            flat = []
            for i, (c, a) in enumerate(zip(out, diff)):
                a_leaves, a_tree = tree_flatten(a)
                if c is None or _is_sz(c):
                    flat += [None] * len(a_leaves)
                    continue
                c_leaves, c_tree = tree_flatten(c, is_leaf=lambda x: x is None or _is_sz(x))
                c_leaves = [None if _is_sz(x) else x for x in c_leaves]
                if c_tree != a_tree:
                    raise TypeError(f"Custom VJP bwd rule of {name}: cotangent {i} has "
                                    f"structure {c_tree}, but the argument has {a_tree}.")
                for cl, al in zip(c_leaves, a_leaves):
                    if cl is not None and to_aval(cl).shape != to_aval(al).shape:
                        raise ValueError(
                            f"Custom VJP bwd rule of {name} must produce an output with the "
                            f"shapes of the primal arguments, but cotangent {i} has type "
                            f"{to_aval(cl).str_short()} for an argument of type "
                            f"{to_aval(al).str_short()}.")
                    flat.append(cl)
            return flat

        flat_bwd.__name__ = fun_name(bwd_rule)
        return flat_fwd, flat_bwd, store

