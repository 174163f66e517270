"""The differentiation API: jvp, linearize, vjp, grad, value_and_grad, linear_transpose,
jacfwd, jacrev, hessian. Each is argument checking and pytree handling around the interpreters:
``jvp`` is the JVP trace; ``linearize`` is JVP under partial evaluation; ``vjp`` is linearize
followed by the backward pass; everything else is built from those."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Sequence

import numpy as np
from jax.tree_util import Partial, tree_flatten, tree_map, tree_unflatten

from xform import numpy as xnp
from xform.core.avals import ShapedArray, float0, is_complex, is_float, is_inexact
from xform.core.trace import to_aval
from xform.interpreters.jvp import (
    JVPTracer, Zero, instantiate, jvp_flat, tangent_aval, zeros_like_aval,
)
from xform.interpreters.partial_eval import linearize_flat
from xform.interpreters.staging import eval_jaxpr, trace_to_jaxpr
from xform.interpreters.tracing import abstractify, fun_description, fun_name, positional_names
from xform.interpreters.transpose import UndefinedPrimal, backward_pass
from xform.lax.slicing import split as lax_split
from xform.lax.shape import full_like
from xform.numpy._promote import convert
from xform.transforms.jit import jit
from xform.transforms.vmap import vmap


def _flat_fun(fun: Callable, in_tree, has_aux: bool):
    """``fun`` on flat leaves, returning ``(flat_outs, (out_tree, aux))``."""

    def flat(*leaves):
        args = tree_unflatten(in_tree, leaves)
        out = fun(*args)
        aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"{fun_name(fun)} was differentiated with has_aux=True, so it "
                                "must return a pair (output, auxiliary data); it returned "
                                f"{type(out).__name__}.")
            out, aux = out
        outs, out_tree = tree_flatten(out)
        return outs, (out_tree, aux)

    return flat


def _check_tangent(path: str, primal: Any, tangent: Any) -> None:
    p = primal if isinstance(primal, ShapedArray) else to_aval(primal)
    t = to_aval(tangent)
    want = tangent_aval(p)
    if t.shape != p.shape or t.dtype != want.dtype:
        raise ValueError(
            f"jvp called with a tangent of type {t.str_short()} for the primal `{path}` of type "
            f"{p.str_short()}; the tangent must have shape {p.shape} and dtype "
            f"{want.dtype.name if want.dtype != float0 else 'float0'} (tangents of integer and "
            "bool primals are float0).")


def _check_tangent_dtype(path: str, primal: Any, tangent: Any) -> None:
    """A tangent of the wrong dtype is a TypeError, as in JAX (a wrong shape, ValueError)."""
    p, t = to_aval(primal), to_aval(tangent)
    want, got = tangent_aval(p).dtype, t.dtype
    if got != want:
        raise TypeError(
            f"jvp called with a tangent of type {t.str_short()} for the primal `{path}` of "
            f"type {p.str_short()}; the tangent's dtype must be "
            f"{want.name if want != float0 else 'float0'} (the primal's for floating and "
            "complex primals, float0 for integer and bool ones).")


def _lower_aux(aux: Any) -> Any:
    """Auxiliary data leaves the transform as plain (primal) values, as in JAX."""

    def lower(x):
        while isinstance(x, JVPTracer) and not x._trace.alive:
            x = x.primal
        return x
    return tree_map(lower, aux)


def _strip_zero(t: Any) -> Any:
    return instantiate(t) if isinstance(t, Zero) else t


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False):
    """Forward-mode derivative: ``(fun(*primals), J(primals) @ tangents)``.

    >>> import xform, xform.numpy as xnp
    >>> xform.jvp(xnp.sin, (0.0,), (1.0,))
    (Array(0., dtype=float32, weak_type=True), Array(1., dtype=float32, weak_type=True))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp expects primals and tangents as tuples or lists, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}.")
    # TypeErrors, as JAX raises for a mismatch of the primals' and tangents' structures
    if len(primals) != len(tangents):
        raise TypeError(f"jvp got {len(primals)} primals and {len(tangents)} tangents; give "
                        "one tangent per primal.")
    if type(primals) is not type(tangents):
        raise TypeError(f"jvp got primals as a {type(primals).__name__} and tangents as a "
                        f"{type(tangents).__name__}; pass both as tuples (or both as lists).")
    flat_p, in_tree = tree_flatten(tuple(primals))
    flat_t, t_tree = tree_flatten(tuple(tangents))
    if in_tree != t_tree:
        raise TypeError(f"jvp: the tangents' structure {t_tree} differs from the primals' "
                        f"structure {in_tree}.")
    paths = positional_names(fun, len(primals))
    leaf_paths = [f"primals[{i}] ({n})" for i, n in enumerate(paths)
                  for _ in tree_flatten(primals[i])[0]]
    for path, p, t in zip(leaf_paths, flat_p, flat_t):
        _check_tangent_dtype(path, p, t)
        _check_tangent(path, p, t)
    p_out, t_out, (out_tree, aux) = jvp_flat(_flat_fun(fun, in_tree, has_aux), flat_p, flat_t,
                                             f"jvp of {fun_description(fun)}")
    p_res = tree_unflatten(out_tree, p_out)
    t_res = tree_unflatten(out_tree, [_strip_zero(t) for t in t_out])
    return (p_res, t_res, _lower_aux(aux)) if has_aux else (p_res, t_res)


def _linearize(fun, primals, has_aux, diff_mask=None, what="linearize"):
    flat_p, in_tree = tree_flatten(tuple(primals))
    mask = [True] * len(flat_p) if diff_mask is None else diff_mask
    t_avals = [tangent_aval(to_aval(p)) if m else None for p, m in zip(flat_p, mask)]
    p_out, linear, (out_tree, aux) = linearize_flat(
        _flat_fun(fun, in_tree, has_aux), flat_p, t_avals, f"{what} of {fun_description(fun)}")
    return flat_p, in_tree, t_avals, p_out, linear, out_tree, _lower_aux(aux)


def linearize(fun: Callable, *primals: Any, has_aux: bool = False):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the linearized function
    (a staged linear jaxpr: the primal computation is not repeated)."""
    flat_p, in_tree, t_avals, p_out, linear, out_tree, aux = _linearize(fun, primals, has_aux)
    p_avals = [to_aval(p) for p in flat_p]
    n_res = len(linear.consts)

    def f_jvp_impl(*res_and_tangents):
        residuals, tangents = res_and_tangents[:n_res], res_and_tangents[n_res:]
        flat_t, t_tree = tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise ValueError(f"linearized function expects tangents of structure {in_tree}, "
                             f"got {t_tree}.")
        for i, (p, t) in enumerate(zip(p_avals, flat_t)):
            _check_tangent(f"leaf {i}", p, t)
        outs = eval_jaxpr(linear.jaxpr, residuals, *flat_t)
        return tree_unflatten(out_tree, outs)

    # a pytree whose leaves are the residuals, as JAX's: it can be returned through jit
    f_jvp = Partial(f_jvp_impl, *linear.consts)
    out = tree_unflatten(out_tree, p_out)
    return (out, f_jvp, aux) if has_aux else (out, f_jvp)


def vjp(fun: Callable, *primals: Any, has_aux: bool = False):
    """``(fun(*primals), vjp_fn)``; ``vjp_fn(ct)`` returns a tuple with one cotangent per primal.

    >>> import xform, xform.numpy as xnp
    >>> y, f_vjp = xform.vjp(xnp.sin, 0.0)
    >>> f_vjp(1.0)
    (Array(1., dtype=float32, weak_type=True),)
    """
    flat_p, in_tree, t_avals, p_out, linear, out_tree, aux = _linearize(
        fun, primals, has_aux, what="vjp")
    out_avals = [to_aval(p) for p in p_out]
    n_res = len(linear.consts)

    def vjp_impl(*res_and_ct):
        residuals, (ct,) = res_and_ct[:n_res], res_and_ct[n_res:]
        flat_ct, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"vjp_fn expects a cotangent with the output's structure "
                             f"{out_tree}, got {ct_tree}.")
        for i, (c, a) in enumerate(zip(flat_ct, out_avals)):
            ca = to_aval(c)
            if ca.shape != a.shape or tangent_aval(ca).dtype != tangent_aval(a).dtype:
                raise ValueError(f"vjp_fn: cotangent {i} has type {ca.str_short()}, but the "
                                 f"primal output it pairs with has type {a.str_short()}; they "
                                 "must have the same shape and dtype.")
        cts = backward_pass(linear.jaxpr, residuals,
                            [UndefinedPrimal(a) for a in t_avals], flat_ct)
        cts = [_strip_zero(c) for c in cts]
        return tree_unflatten(in_tree, cts)

    # a pytree whose leaves are the residuals, as JAX's: it can be returned through jit
    vjp_fn = Partial(vjp_impl, *linear.consts)
    out = tree_unflatten(out_tree, p_out)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def fwd_and_bwd(fun: Callable, argnums: int | Sequence[int], has_aux: bool = False,
                jitted: bool = True) -> tuple[Callable, Callable]:
    """``fwd`` and ``bwd``, the forward and backward passes of ``fun``, as
    ``jax.fwd_and_bwd``: ``fwd(*args)`` is ``vjp`` of ``fun`` in the arguments ``argnums``
    picks, giving ``(out, residuals)`` (``(out, residuals, aux)`` with ``has_aux``), and
    ``bwd(residuals, ct)`` their cotangents (one array for an int ``argnums``, else a tuple).

    With ``jitted`` (the default) both are jit-ted: the residuals a compiled ``fwd`` returns
    carry the same backward function every call, so ``bwd`` compiles once.

    >>> import xform, xform.numpy as xnp
    >>> fwd, bwd = xform.fwd_and_bwd(lambda x, w: x @ w, argnums=1)
    >>> y, res = fwd(xnp.ones((2, 3)), xnp.ones((3, 4)))
    >>> bwd(res, xnp.ones((2, 4))).shape
    (3, 4)
    """
    _check_callable(fun)

    def fwd(*args, **kwargs):
        nums = _argnums_tuple(argnums, len(args), fun, "fwd_and_bwd")

        def of_diff(*dargs):
            full = list(args)
            for n, a in zip(nums, dargs):
                full[n] = a
            return fun(*full, **kwargs)
        return vjp(of_diff, *(args[n] for n in nums), has_aux=has_aux)

    def bwd(f_vjp, outgrad):
        cts = f_vjp(outgrad)
        return cts[0] if isinstance(argnums, int) else cts

    if jitted:
        fwd, bwd = jit(fwd), jit(bwd)
    return fwd, bwd


def linear_transpose(fun: Callable, *primals: Any, reduce_axes=()):
    """The transpose of the linear function ``fun``, specialised to ``primals``' types."""
    flat_p, in_tree = tree_flatten(tuple(primals))
    avals = [abstractify(p) for p in flat_p]

    def flat_fun(*xs):
        return tree_flatten(fun(*tree_unflatten(in_tree, xs)))

    closed, out_tree = trace_to_jaxpr(flat_fun, avals, kind="linear_transpose",
                                      description=f"linear_transpose of {fun_description(fun)}")
    dtypes = [a.dtype for a in avals + list(closed.out_avals)]
    if not (all(is_inexact(d) for d in dtypes)
            or all(np.issubdtype(d, np.integer) for d in dtypes)):
        raise TypeError(
            "linear_transpose only supports [float or complex] -> [float or complex], and "
            f"integer -> integer functions, but got {[a.dtype.name for a in avals]} -> "
            f"{[a.dtype.name for a in closed.out_avals]}. Give the primals the dtypes of the "
            "function's inputs (e.g. 1.0 rather than 1).")

    def transposed(*cts):
        ct = cts[0] if len(cts) == 1 else cts
        flat_ct, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:  # TypeErrors, as JAX's
            raise TypeError(f"transposed function expects cotangents of structure {out_tree}, "
                            f"got {ct_tree}.")
        for i, (c, a) in enumerate(zip(flat_ct, closed.out_avals)):
            ca = to_aval(c)
            if ca.shape != a.shape or ca.dtype != a.dtype:
                raise TypeError(f"transposed function: cotangent {i} has type {ca.str_short()},"
                                f" but the function's output {i} has type {a.str_short()}; they "
                                "must have the same shape and dtype.")
        res = backward_pass(closed.jaxpr, closed.consts, [UndefinedPrimal(a) for a in avals],
                            flat_ct)
        return tree_unflatten(in_tree, [_strip_zero(r) for r in res])

    return transposed


# -- grad -----------------------------------------------------------------------------------
def _argnums_tuple(argnums, nargs: int, fun, what: str = "grad") -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, (int, np.integer)):
            raise TypeError(f"argnums must be an int or a sequence of ints, got {argnums!r}.")
        if not -nargs <= n < nargs:
            # JAX's types: grad's check of too few arguments is a TypeError; a negative index
            # past the start, and jacfwd/jacrev's check, a ValueError
            cls = TypeError if what == "grad" and n >= 0 else ValueError
            raise cls(
                f"argnums {argnums!r} is out of range for {fun_name(fun)}, which was called "
                f"with {nargs} positional argument(s); valid argnums are 0..{nargs - 1}.")
    return tuple(n % nargs for n in nums)


def _check_diff_input(path: str, x: Any, holomorphic: bool, allow_int: bool, what: str):
    aval = to_aval(x)
    if holomorphic:
        if not np.issubdtype(aval.dtype, np.complexfloating):
            raise TypeError(f"{what} with holomorphic=True requires complex inputs, but "
                            f"`{path}` has dtype {aval.dtype.name}. Convert it with "
                            ".astype(xform.numpy.complex64), or drop holomorphic=True.")
        return
    if what == "jacfwd" and is_complex(aval.dtype):
        raise TypeError(
            f"jacfwd requires real-valued inputs (input dtype that is a sub-dtype of "
            f"np.floating), but `{path}` has dtype {aval.dtype.name}. For holomorphic "
            "differentiation, pass holomorphic=True; for a non-holomorphic function of complex "
            "inputs, use xform.jvp directly.")
    if not is_inexact(aval.dtype) and not allow_int:
        raise TypeError(
            f"{what} requires real- or complex-valued inputs (input dtype that is a sub-dtype of "
            f"np.inexact), but `{path}` has dtype {aval.dtype.name}. If you want to "
            "differentiate with respect to it anyway (getting float0 zeros), pass "
            "allow_int=True; otherwise convert it with .astype(float) or leave it out of "
            "argnums.")


def _check_scalar_output(out: Any, fun, holomorphic: bool, what: str) -> None:
    aval = to_aval(out)
    if aval.shape != ():
        raise TypeError(
            f"{what} requires a scalar output, but {fun_name(fun)} returned an array of shape "
            f"{aval.shape} ({aval.str_short()}). For a vector output use xform.jacrev (the full "
            "Jacobian) or xform.vjp; for per-example gradients, xform.vmap(xform.grad(f)); or "
            "reduce the output to a scalar, e.g. with .sum().")
    if holomorphic:
        if not np.issubdtype(aval.dtype, np.complexfloating):
            raise TypeError(f"{what} with holomorphic=True requires a complex output, got "
                            f"{aval.dtype.name}.")
    elif not is_float(aval.dtype):
        raise TypeError(f"{what} requires a real-valued (float) output, but {fun_name(fun)} "
                        f"returned dtype {aval.dtype.name}. For complex outputs use "
                        "holomorphic=True or differentiate the real part.")


def _diff_args(fun: Callable, args: tuple, kwargs: dict, argnums, holomorphic: bool,
               allow_int: bool, what: str) -> tuple[tuple, Callable]:
    """Check the arguments ``argnums`` selects and return them with ``fun`` as a function of
    them alone (the other arguments fixed): ``(diff_args, f_of_diff)``."""
    nums = _argnums_tuple(argnums, len(args), fun, what)
    names = positional_names(fun, len(args))
    for n in nums:
        leaf_no = iter(range(len(tree_flatten(args[n])[0])))

        def check(leaf, name=names[n], leaf_no=leaf_no):
            i = next(leaf_no)
            _check_diff_input(name if i == 0 else f"{name} (leaf {i})", leaf, holomorphic,
                              allow_int, what)
        # a tree map, not a walk over the leaves: as in JAX, the argument is rebuilt (with None
        # leaves), so a custom pytree whose unflatten cannot take other leaves fails here
        tree_map(check, args[n])

    def f_of_diff(*dargs):
        full = list(args)
        for n, a in zip(nums, dargs):
            full[n] = a
        return fun(*full, **kwargs)

    return tuple(args[n] for n in nums), f_of_diff


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False, reduce_axes=()):
    """A function returning ``(fun(*args), gradient of fun w.r.t. args[argnums])``.

    >>> import xform, xform.numpy as xnp
    >>> xform.value_and_grad(lambda x: xnp.sum(x ** 2))(xnp.arange(3.0))
    (Array(5., dtype=float32), Array([0., 2., 4.], dtype=float32))
    """
    _check_callable(fun)
    what = "grad"

    @wraps(fun, updated=())
    def value_and_grad_f(*args, **kwargs):
        diff_args, f_of_diff = _diff_args(fun, args, kwargs, argnums, holomorphic, allow_int,
                                          what)
        flat_p, in_tree, t_avals, p_out, linear, out_tree, aux = _linearize(
            f_of_diff, diff_args, has_aux, what="grad")
        if out_tree.num_leaves != 1:
            raise TypeError(f"{what} requires a scalar output, but {fun_name(fun)} returned a "
                            f"pytree with {out_tree.num_leaves} leaves. Use xform.jacrev or "
                            "xform.vjp, or reduce it to one scalar.")
        _check_scalar_output(p_out[0], fun, holomorphic, what)
        one = _ones_like(p_out[0])
        cts = backward_pass(linear.jaxpr, linear.consts, [UndefinedPrimal(a) for a in t_avals],
                            [one])
        grads = [_grad_leaf(c, a) for c, a in zip(cts, t_avals)]
        g = tree_unflatten(in_tree, grads)
        g = g[0] if isinstance(argnums, int) else g
        value = tree_unflatten(out_tree, p_out)
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_f


def _ones_like(x: Any) -> Any:
    # weakly typed when the output is, as JAX's seed: a Python-float input then gets a
    # weakly typed gradient (which promotes like the input did)
    return full_like(x, 1)


def _grad_leaf(ct: Any, aval: ShapedArray) -> Any:
    if isinstance(ct, Zero):
        return zeros_like_aval(aval)
    return ct


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False, reduce_axes=()):
    """The gradient of the scalar function ``fun`` w.r.t. ``args[argnums]``.

    >>> import xform, xform.numpy as xnp
    >>> xform.grad(lambda x: xnp.sin(x))(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @wraps(fun, updated=())
    def grad_f(*args, **kwargs):
        out, g = vg(*args, **kwargs)
        return (g, out[1]) if has_aux else g

    return grad_f


# -- jacobians ------------------------------------------------------------------------------
def _std_basis(flat: list, batch_last: bool = False) -> tuple[Any, list[int]]:
    """The identity basis over all leaves, as one stacked batch per leaf (of the leaf's dtype
    and weak type): the basis axis first (``(total, *shape)``), or last (``(*shape, total)``)
    with ``batch_last``."""
    sizes = [int(np.prod(to_aval(x).shape, dtype=np.int64)) for x in flat]
    total = sum(sizes)
    basis = []
    offset = 0
    for x, n in zip(flat, sizes):
        a = to_aval(x)
        dtype = a.dtype if is_inexact(a.dtype) else np.float32
        eye = xnp.eye(total, dtype=dtype)
        if batch_last:
            part = xnp.reshape(eye[offset:offset + n, :], a.shape + (total,))
        else:
            part = xnp.reshape(eye[:, offset:offset + n], (total,) + a.shape)
        # weakly typed like its leaf, as JAX's basis: the tangents (jacfwd) and cotangents
        # (jacrev) of a Python scalar are weak, and so is what is computed from them
        basis.append(convert(part, dtype, a.weak_type and is_inexact(a.dtype)))
        offset += n
    return basis, sizes


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, *, chunk_size: int | None = None):
    """The Jacobian of ``fun`` by forward mode: ``vmap`` of ``jvp`` over the input basis.

    ``chunk_size`` (beyond JAX): push that many basis vectors at a time (bounded memory).
    """
    _check_callable(fun)

    @wraps(fun, updated=())
    def jac(*args, **kwargs):
        dargs, f_of_diff = _diff_args(fun, args, kwargs, argnums, holomorphic, False, "jacfwd")
        flat, in_tree = tree_flatten(dargs)

        def f_flat(*leaves):
            return f_of_diff(*tree_unflatten(in_tree, leaves))

        # the basis axis last, where the Jacobian wants it: the tangents then keep their
        # batch axis last throughout (rules prefer it there under out_axes=-1), with no
        # transpose of the Jacobian at the end
        basis, sizes = _std_basis(flat, batch_last=True)

        def push(*tangent_leaves):
            return jvp(f_flat, tuple(flat), tuple(tangent_leaves), has_aux=has_aux)

        # the primal output (and aux) do not depend on the basis: they come out of the same
        # pushes unbatched, as in JAX, so ``fun`` runs once and always on traced values
        out_axes = (None, -1, None) if has_aux else (None, -1)
        pushed = vmap(push, in_axes=-1, out_axes=out_axes, chunk_size=chunk_size)(*basis)
        y, tangents = pushed[0], pushed[1]
        aux = pushed[2] if has_aux else None
        y_flat, y_tree = tree_flatten(y)
        t_flat = tree_flatten(tangents)[0]
        # split the trailing basis axis into one block per input leaf
        per_out = []
        for yo, to in zip(y_flat, t_flat):
            blocks = []
            for x, blk in zip(flat, _split_blocks(to, sizes, to_aval(to).ndim - 1)):
                blocks.append(_weak_like(xnp.reshape(blk, to_aval(yo).shape + to_aval(x).shape),
                                         yo))
            per_out.append(tree_unflatten(in_tree, blocks))
        res = [p if not isinstance(argnums, int) else p[0] for p in per_out]
        out = tree_unflatten(y_tree, res)
        return (out, aux) if has_aux else out

    return jac


def _split_blocks(x: Any, sizes: list, axis: int) -> list:
    """``x`` cut along ``axis`` into consecutive blocks of ``sizes``, by ``lax.split`` as JAX
    cuts its Jacobians (its transpose concatenates, keeping a weak cotangent weak, where the
    transposes of slices pad strongly typed zeros)."""
    if len(sizes) == 1:
        return [x]
    return lax_split(x, sizes, axis)


def _weak_like(block: Any, example: Any) -> Any:
    """A Jacobian block weakly typed as JAX's is: like the output for jacfwd, like the input
    for jacrev."""
    aval = to_aval(block)
    return convert(block, aval.dtype, to_aval(example).weak_type)


def _check_jacrev_output(y: Any, holomorphic: bool) -> None:
    """Like JAX: complex outputs only with holomorphic=True, which requires them."""
    dtype = to_aval(y).dtype
    if holomorphic and not is_complex(dtype):
        raise TypeError(f"jacrev with holomorphic=True requires complex outputs, got "
                        f"{dtype.name}.")
    if not holomorphic and not is_float(dtype):
        raise TypeError(
            f"jacrev requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For holomorphic differentiation, pass "
            "holomorphic=True; for a non-holomorphic function with complex outputs, use "
            "xform.vjp directly (or differentiate the real and imaginary parts).")


def _check_callable(fun: Any) -> None:
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}: the first argument is the "
                        "function to differentiate.")


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False, *,
           chunk_size: int | None = None):
    """The Jacobian of ``fun`` by reverse mode: ``vmap`` of the VJP over the output basis.

    ``chunk_size`` (beyond JAX): pull back that many basis vectors at a time.
    """
    _check_callable(fun)

    @wraps(fun, updated=())
    def jac(*args, **kwargs):
        dargs, f_d = _diff_args(fun, args, kwargs, argnums, holomorphic, allow_int, "jacrev")

        if has_aux:
            y, f_vjp, aux = vjp(f_d, *dargs, has_aux=True)
        else:
            y, f_vjp = vjp(f_d, *dargs)
        y_flat, y_tree = tree_flatten(y)
        for leaf in y_flat:
            _check_jacrev_output(leaf, holomorphic)
        basis, sizes = _std_basis(y_flat)

        def pull(*ct_leaves):
            return f_vjp(tree_unflatten(y_tree, list(ct_leaves)))

        cts = vmap(pull, chunk_size=chunk_size)(*basis)  # tuple over dargs, leading basis axis
        in_flat, in_tree = tree_flatten(cts)
        d_flat = tree_flatten(dargs)[0]
        per_out = []
        pieces = [_split_blocks(c, sizes, 0) for c in in_flat]
        for i, yo in enumerate(y_flat):
            blocks = [_weak_like(xnp.reshape(p[i], to_aval(yo).shape + to_aval(d).shape), d)
                      for p, d in zip(pieces, d_flat)]
            tree = tree_unflatten(in_tree, blocks)
            per_out.append(tree[0] if isinstance(argnums, int) else tree)
        out = tree_unflatten(y_tree, per_out)
        return (out, aux) if has_aux else out

    return jac


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False, *, chunk_size: int | None = None):
    """The Hessian: ``jacfwd(jacrev(fun))``."""
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic, chunk_size=chunk_size), argnums,
                  has_aux, holomorphic, chunk_size=chunk_size)
