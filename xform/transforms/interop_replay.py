"""``from_jax``'s replay interpreter: JAX's jaxpr equations bound as xform's primitives.

:func:`_replay` walks a JAX ``Jaxpr`` and binds, for each equation, the xform primitive of the same
name (params translated: JAX's placement and accumulation params dropped) or, through
``_HANDLERS``, an xform function that takes JAX's params: the sub-jaxpr primitives (``jit``,
``cond``, ``while``, ``scan``, ``checkpoint``, ``custom_jvp_call``, ``custom_vjp_call``,
``custom_linear_solve``, ``linear_call``, ``shard_map``) replayed recursively, the collectives,
the scatters and generic reductions with their JAX-jaxpr computations, and the PRNG-key
equations (interop_keys.py). The front ends and their caches are in interop.py.
"""

from __future__ import annotations

import collections
import functools
import inspect
import sys
from typing import Any, Callable

import jax
import jax.extend.core as jex
import numpy as np

from xform.core.avals import ShapedArray, get_aval
from xform.core.errors import UnmappedPrimitiveError
from xform.core.primitive import Primitive, abstract_eval
from xform.interpreters.staging import trace_to_jaxpr
from xform.lax import callback as callback_mod
from xform.lax import custom as custom_mod
from xform.lax import elementwise as ew
from xform.lax import parallel as par
from xform.lax import random_bits as rb
from xform.lax import sharding
from xform.lax.control_flow import linear_solve_p
from xform.lax.control_flow import scan as _lax_scan
from xform.lax.control_flow import switch as _lax_switch
from xform.lax.control_flow import while_loop as _lax_while_loop
from xform.lax.linear_call import linear_call
from xform.lax.reduce_general import general_reduce
from xform.lax.scatter import (
    scatter, scatter_add, scatter_apply, scatter_max, scatter_min, scatter_mul, scatter_sub,
)
from xform.lax.windowed import reduce_window as _lax_reduce_window
from xform.transforms.checkpoint import checkpoint as _checkpoint_fn
from xform.transforms.checkpoint import checkpoint_policies as _policies
from xform.transforms.interop_keys import (
    _KEY_OPS, _is_typed_key, _random_bits, _random_fold_in, _random_seed, _random_split,
    _random_wrap,
)
from xform.transforms.shard_map import shard_map as _shard_map_fn

# JAX's backward rules of custom_vjp traced per input types, and the xform translations of one
# JAX program (interop.py), each kept for at most this many signatures
_TRANSLATIONS_PER_PROGRAM = 8


_by_name: dict[str, Primitive] = {}
_by_name_size = [-1]  # len(abstract_eval) when _by_name was built


def _xform_primitives() -> dict[str, Primitive]:
    """Every xform primitive by name (the ones registered in the abstract-eval table; rebuilt
    when a module registers more)."""
    if _by_name_size[0] != len(abstract_eval):
        _by_name.clear()
        _by_name.update({p.name: p for p in abstract_eval})
        _by_name_size[0] = len(abstract_eval)
    return _by_name


# Params JAX's primitives carry that xform's do not (shardings and accumulation types: xform
# leaves placement to jax.jit and accumulates in the output type, as JAX does by default), and
# the ``accuracy`` of transcendental functions when it is None (xform binds it only when given).
# ``out_dtype`` (of ``mul``) is applied as a conversion of the result.
_DROPPED = frozenset({"sharding", "out_sharding", "accumulation_type", "accuracy", "out_dtype"})


@functools.lru_cache(maxsize=None)
def _accepted_params(prim: Primitive) -> frozenset | None:
    """The keyword params ``prim``'s abstract-eval rule takes, or None when it takes ``**``."""
    rule = abstract_eval.get(prim)
    try:
        sig = inspect.signature(rule)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return frozenset(n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY)


def _translate_params(prim: Primitive, params: dict) -> dict:
    accepted = _accepted_params(prim)
    if accepted is None:
        return {k: v for k, v in params.items()
                if k not in _DROPPED or (k == "accuracy" and v is not None)}
    return {k: v for k, v in params.items() if k in accepted}


# -- the replay interpreter ---------------------------------------------------------------------
def _literal(lit) -> Any:
    val = lit.val
    aval = lit.aval
    if getattr(aval, "weak_type", False) and np.ndim(val) == 0:
        return np.asarray(val).item()  # a Python scalar stays weakly typed
    return np.asarray(val, dtype=aval.dtype)


def _replay(jaxpr, consts, args) -> list:
    """Evaluate a JAX ``Jaxpr`` by binding xform primitives under the current xform trace."""
    env: dict = {}

    def read(v):
        return _literal(v) if isinstance(v, jex.Literal) else env[v]

    for v, x in zip(jaxpr.constvars, consts):
        env[v] = x
    for v, x in zip(jaxpr.invars, args):
        env[v] = x
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name, params = eqn.primitive.name, dict(eqn.params)
        if name in _KEY_OPS and any(_is_typed_key(v.aval) for v in eqn.invars):
            name, params, ins = _KEY_OPS[name](params, ins,
                                               [_is_typed_key(v.aval) for v in eqn.invars])
        if name == "reshard":  # the layout its operand has in JAX's types (see _reshard)
            params["_src_sharding"] = getattr(eqn.invars[0].aval, "sharding", None)
        outs = _apply(name, ins, params)
        if not eqn.primitive.multiple_results:
            outs = [outs]
        for v, x in zip(eqn.outvars, outs):
            if not isinstance(v, jex.DropVar):
                env[v] = x
    return [read(v) for v in jaxpr.outvars]


def _replay_closed(closed, args) -> list:
    return _replay(closed.jaxpr, closed.consts, args)


def _apply(name: str, ins: list, params: dict):
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(ins, params)
    if name in _RENAMED:
        name = _RENAMED[name]
    prim = _xform_primitives().get(name)
    if prim is None:
        raise UnmappedPrimitiveError(
            f"xform.from_jax: the JAX primitive `{name}` has no xform counterpart (params "
            f"{sorted(params)}). See docs/interop.md for the JAX primitives without a mapping; "
            "rewrite that part of the function with xform, or call it outside from_jax.")
    out = prim.bind(*ins, **_translate_params(prim, params))
    out_dtype = params.get("out_dtype")
    if out_dtype is not None and not prim.multiple_results and _aval(out).dtype != out_dtype:
        out = ew.convert_element_type(out, out_dtype)
    return out


# JAX names whose xform primitive is spelled differently (none today: add_any is xform's
# interpreters/ad_util.py primitive of the same name).
_RENAMED: dict[str, str] = {}


def _identity(ins, params):
    return ins[0] if len(ins) == 1 else list(ins)


def _inline_call(key):
    def handler(ins, params):
        return _replay_closed(params[key], ins)
    return handler


def _cond(ins, params):
    index, ops = ins[0], ins[1:]
    branches = [functools.partial(lambda b, *xs: _replay_closed(b, xs), b)
                for b in params["branches"]]
    return _lax_switch(index, branches, *ops)


def _while(ins, params):
    nc, nb = params["cond_nconsts"], params["body_nconsts"]
    cconsts, bconsts, init = ins[:nc], ins[nc:nc + nb], ins[nc + nb:]
    cj, bj = params["cond_jaxpr"], params["body_jaxpr"]
    return _lax_while_loop(lambda c: _replay_closed(cj, [*cconsts, *c])[0],
                                lambda c: _replay_closed(bj, [*bconsts, *c]), list(init))


def _scan(ins, params):
    nc, ncar = params["num_consts"], params["num_carry"]
    consts, carry, xs = ins[:nc], ins[nc:nc + ncar], ins[nc + ncar:]
    body = params["jaxpr"]

    def f(c, x):
        outs = _replay_closed(body, [*consts, *c, *x])
        return outs[:ncar], outs[ncar:]

    carry, ys = _lax_scan(f, list(carry), list(xs), length=params["length"],
                               reverse=params["reverse"], unroll=params["unroll"])
    return [*carry, *ys]


@functools.lru_cache(maxsize=64)  # bounded: one translation per policy object
def _translate_policy(policy):
    """An xform policy for a JAX checkpoint policy: the named ones have xform twins of the same
    name; any other (a parametrized policy such as ``save_only_these_names(...)``, or a user's
    callable) is asked per xform equation, with JAX's primitive of the same name, JAX avals and
    the equation's params, which is what JAX asks it per JAX equation."""
    for name in dir(jax.checkpoint_policies):
        if name.startswith("_"):
            continue
        try:
            same = getattr(jax.checkpoint_policies, name) == policy
        except Exception:  # noqa: BLE001 - a policy object without a usable ==
            same = False
        if same and hasattr(_policies, name):
            return getattr(_policies, name)

    def translated(prim, *avals, **params):
        out = policy(_jax_primitive(prim.name),
                     *[jax.core.ShapedArray(a.shape, a.dtype, weak_type=a.weak_type)
                       for a in avals], **params)
        if isinstance(out, (bool, np.bool_)):
            return bool(out)
        kind = type(out).__name__
        if kind == "SaveableType":
            return True
        if kind == "RecomputeType":
            return False
        if kind == "Offloadable":  # xform has no host offloading: the value stays saved
            return True
        raise TypeError(f"xform.from_jax: the checkpoint policy {policy!r} returned {out!r}; "
                        "a policy returns a bool, Saveable, Recompute or Offloadable.")

    translated.__name__ = f"from_jax({getattr(policy, '__name__', type(policy).__name__)})"
    return translated


_jax_prims: dict[str, Any] = {}
_jax_prims_seen = [0]  # len(sys.modules) when _jax_prims was last filled


def _jax_primitive(name: str):
    """JAX's primitive called ``name`` (what a JAX policy compares against, ``prim is
    dot_general_p``); a stand-in of that name for an xform-only primitive."""
    prim = _jax_prims.get(name)
    if prim is None and len(sys.modules) != _jax_prims_seen[0]:
        _jax_prims_seen[0] = len(sys.modules)
        for mod_name, mod in list(sys.modules.items()):
            if mod is not None and (mod_name == "jax" or mod_name.startswith("jax.")):
                for v in list(vars(mod).values()):
                    if isinstance(v, jex.Primitive):
                        _jax_prims.setdefault(v.name, v)
        prim = _jax_prims.get(name)
    if prim is None:
        prim = _jax_prims[name] = jex.Primitive(name)
    return prim


def _checkpoint(ins, params):
    jaxpr = params["jaxpr"]
    policy = params.get("policy")
    if policy is not None:
        policy = _translate_policy(policy)
    fun = _checkpoint_fn(lambda *xs: _replay(jaxpr, (), xs),
                              prevent_cse=params.get("prevent_cse", True), policy=policy)
    return fun(*ins)


def _is_symbolic_zero(x) -> bool:
    return type(x).__name__ in ("Zero", "SymbolicZero")


def _custom_jvp_call(ins, params):
    call = params["call_jaxpr"]
    nc = params["num_consts"]
    jvp_fun = params["jvp_jaxpr_fun"]
    body, _ = trace_to_jaxpr(lambda *xs: (_replay_closed(call, xs), None),
                             [_aval(x) for x in ins], kind="custom_jvp")
    n_out = len(call.out_avals)

    def flat_jvp(*xs):
        n = len(xs) // 2
        primals, tangents = xs[:n], xs[n:]
        jaxpr, consts, out_zeros = jvp_fun.call_wrapped(*([False] * n))
        outs = _replay(jaxpr, consts, [*primals, *tangents])
        p_out, nz_t = outs[:n_out], iter(outs[n_out:])
        t_out = [ew.mul(p, 0) if z else next(nz_t) for p, z in zip(p_out, out_zeros)]
        return [*p_out, *t_out]

    return custom_mod.custom_jvp_call_p.bind(*ins, call_jaxpr=body, jvp=flat_jvp,
                                             num_consts=nc, name=_jaxpr_name(call))


def _jaxpr_name(closed) -> str:
    info = getattr(closed.jaxpr, "debug_info", None)
    return getattr(info, "func_name", None) or "from_jax"


def _custom_vjp_call(ins, params):
    call = params["call_jaxpr"]
    nc = params["num_consts"]
    thunk, bwd, out_trees = params["fwd_jaxpr_thunk"], params["bwd"], params["out_trees"]
    body, _ = trace_to_jaxpr(lambda *xs: (_replay_closed(call, xs), None),
                             [_aval(x) for x in ins], kind="custom_vjp")
    n_args = len(ins) - nc
    n_out = len(call.out_avals)

    def flat_fwd(*xs, perturbed=None):  # JAX's fwd jaxpr takes the values only
        fwd_jaxpr, fwd_consts = thunk.call_wrapped(*([True] * n_args))
        outs = _replay(fwd_jaxpr, fwd_consts, xs)
        _, res_tree, input_fwds = out_trees()
        n_res_out = len(outs) - n_out
        res_out, p_out = iter(outs[:n_res_out]), outs[n_res_out:]
        res = []
        for f in input_fwds:
            if f is None:
                res.append(next(res_out))
            elif f < nc:
                raise NotImplementedError(
                    "xform.from_jax: a custom_vjp residual forwarded from a closed-over value")
            else:
                res.append(xs[f - nc])
        return res, p_out

    traced_bwd: collections.OrderedDict = collections.OrderedDict()  # per input types

    def flat_bwd(res, cts):
        # JAX traces the backward rule once per residual and cotangent types (this function
        # lives in from_jax's cached translation, so later traces reuse its traces)
        key = tuple(_jax_aval_key(x) for x in [*res, *cts])
        hit = traced_bwd.get(key)
        if hit is None:
            zeros: list = []

            def run(*a):
                out = bwd.call_wrapped(*a)
                zeros[:] = [_is_symbolic_zero(c) or c is None for c in out]
                return [c for c, z in zip(out, zeros) if not z]

            hit = traced_bwd[key] = (jax.make_jaxpr(run)(*[_sds(x) for x in [*res, *cts]]),
                                     zeros)
            if len(traced_bwd) > _TRANSLATIONS_PER_PROGRAM:
                traced_bwd.popitem(last=False)
        closed, zeros = hit
        outs = iter(_replay_closed(closed, [*res, *cts]))
        return [None if z else next(outs) for z in zeros]

    return custom_mod.custom_vjp_call_p.bind(*ins, call_jaxpr=body, fwd=flat_fwd, bwd=flat_bwd,
                                             num_consts=nc, name=_jaxpr_name(call))


def _jax_in_aval(a) -> ShapedArray:
    return ShapedArray(tuple(a.shape), np.dtype(a.dtype), bool(getattr(a, "weak_type", False)))


def _replayed_jaxpr(closed, what: str):
    """A JAX ``ClosedJaxpr`` as an xform one (its equations replayed onto xform's primitives)."""
    if closed is None:
        return None
    out, _ = trace_to_jaxpr(lambda *xs: (_replay_closed(closed, xs), None),
                            [_jax_in_aval(a) for a in closed.in_avals], kind="jit",
                            description=f"from_jax: custom_linear_solve {what}")
    return out


def _custom_linear_solve(ins, params):
    """JAX's ``custom_linear_solve`` becomes xform's primitive of the same name, its four
    jaxprs replayed: every derivative order is then the implicit one, as in JAX."""
    lengths = tuple(params["const_lengths"])
    names = ("matvec", "vecmat", "solve", "transpose_solve")
    jaxprs = tuple(_replayed_jaxpr(j, n) for j, n in zip(params["jaxprs"], names))
    return linear_solve_p.bind(*ins, const_lengths=lengths, jaxprs=jaxprs)


_GPU_NAMES = frozenset({"gpu", "cuda", "rocm"})


def _platform_index(ins, params):
    # xform compiles for the default backend, so lax.platform_dependent is decided now
    backend = jax.default_backend()
    names = {backend} | (_GPU_NAMES if backend in _GPU_NAMES else set())
    platforms = params["platforms"]
    default = None
    for i, group in enumerate(platforms):
        if group is None:
            default = i
        elif names & set(group):
            return np.int32(i)
    if default is None:
        raise UnmappedPrimitiveError(f"xform.from_jax: platform_dependent has no branch for "
                                     f"the {backend} backend (platforms {platforms}).")
    return np.int32(default)


def _shard_map(ins, params):
    # JAX's equation: an open per-device jaxpr, the mesh, one spec per operand and result,
    # the axes it makes manual and check_vma; xform's shard_map takes the same
    jaxpr = params["jaxpr"]
    manual = params.get("newly_manual_axes", params.get("manual_axes",
                                                       params.get("axis_names", ())))
    mesh = params["mesh"]

    def body(*blocks):
        return tuple(_replay(jaxpr, (), blocks))

    fun = _shard_map_fn(body, mesh=mesh, in_specs=tuple(params["in_specs"]),
                        out_specs=tuple(params["out_specs"]),
                        axis_names=frozenset(manual) or frozenset(mesh.axis_names),
                        check_vma=bool(params.get("check_vma", True)))
    return list(fun(*ins))


def _reshard(ins, params):
    # JAX's reshard (a value moved to another layout over Explicit mesh axes, its sharding type
    # changed): xform's primitive of the same name, with JAX's destination (a NamedSharding
    # over the abstract mesh, which is what xform's sharding types hold too). An operand of
    # another mesh than the destination's (a result leaving JAX's auto_axes, of its Auto mesh,
    # which xform's types do not name) keeps that layout as the way back for its cotangent
    dst, src = params["dst_sharding"], params.get("_src_sharding")
    src_mesh = getattr(src, "mesh", None)
    extra = ({"src_sharding": src} if src_mesh is not None and not src_mesh.empty
             and src_mesh != getattr(dst, "mesh", None)
             and getattr(_aval(ins[0]), "sharding", None) is None else {})
    return sharding.reshard_p.bind(ins[0], dst_sharding=dst, **extra)


def _sharding_constraint(ins, params):
    # JAX's with_sharding_constraint: xform's primitive, which hands the same request to XLA's
    # partitioner (JAX's layout and unconstrained_dims params have no xform counterpart)
    if params.get("layout") is not None or params.get("unconstrained_dims"):
        raise UnmappedPrimitiveError(
            "xform.from_jax: `sharding_constraint` with a layout or unconstrained dims "
            f"(layout={params.get('layout')}, unconstrained_dims="
            f"{params.get('unconstrained_dims')}) is not supported by xform.")
    return sharding.sharding_constraint_p.bind(ins[0], sharding=params["sharding"])


def _names(params, key="axis_name"):
    n = params[key]
    return tuple(n) if isinstance(n, (tuple, list)) else n


def _no_index_groups(name, params):
    if params.get("axis_index_groups") is not None:
        raise UnmappedPrimitiveError(f"xform.from_jax: `{name}` with axis_index_groups is not "
                                     "supported by xform.")


def _reduction(fn, name):
    def handler(ins, params):
        _no_index_groups(name, params)
        axes = tuple(params["axes"])
        if any(isinstance(a, int) for a in axes):
            raise UnmappedPrimitiveError(f"xform.from_jax: `{name}` over positional axes "
                                         f"{axes} is not supported by xform.")
        return fn(ins[0], axes)
    return handler


def _all_gather(ins, params):
    _no_index_groups("all_gather", params)
    return par.all_gather(ins[0], _names(params), axis=params["all_gather_dimension"],
                          tiled=params["tiled"])


def _psum_scatter(ins, params):
    _no_index_groups("reduce_scatter", params)
    return par.psum_scatter(ins[0], _names(params),
                            scatter_dimension=params["scatter_dimension"],
                            tiled=params["tiled"])


def _all_to_all(ins, params):
    _no_index_groups("all_to_all", params)
    return par.all_to_all(ins[0], _names(params), params["split_axis"],
                          params["concat_axis"], tiled=params.get("tiled", False))


# JAX's collectives, by the names in its jaxprs (with check_vma, psum is psum_invariant and
# the casts to varying are pvary), onto xform's functions of the same meaning
_COLLECTIVES: dict[str, Callable] = {
    "psum": _reduction(par.psum, "psum"),
    "psum_invariant": _reduction(par.psum, "psum"),
    "pmax": _reduction(par.pmax, "pmax"),
    "pmin": _reduction(par.pmin, "pmin"),
    "pvary": lambda ins, params: par.pcast(ins[0], tuple(params["axes"]), to="varying"),
    "all_gather": _all_gather,
    "all_gather_invariant": _all_gather,
    "reduce_scatter": _psum_scatter,
    "all_to_all": _all_to_all,
    "ppermute": lambda ins, params: par.ppermute(ins[0], _names(params), params["perm"]),
    "axis_index": lambda ins, params: par.axis_index(_names(params)),
}


def _linear_call(ins, params):
    # JAX's linear_call: the same call in xform, its function and transpose replayed from
    # JAX's jaxprs (the transpose traced by JAX only when asked for)
    nc, nr = params["num_callee_consts"], params["num_res"]
    consts, res, lin = ins[:nc], ins[nc:nc + nr], ins[nc + nr:]
    callee, thunk = params["callee"], params["transpose_thunk"]

    def fun(r, a):
        return _replay_closed(callee, [*consts, *r, *a])

    def fun_transpose(r, ct):
        t_callee, t_consts = thunk()
        return _replay_closed(t_callee, [*t_consts, *r, *ct])

    return linear_call(fun, fun_transpose, list(res), list(lin))


def _reduce_window(ins, params):
    # JAX's generic reduce_window: xform's, its computation replayed from JAX's jaxpr of scalars
    n = len(ins) // 2
    body, consts = params["jaxpr"], params["consts"]

    def computation(accs, xs):
        return _replay(body, consts, [*accs, *xs])

    return _lax_reduce_window(list(ins[:n]), list(ins[n:]), computation,
                              params["window_dimensions"], params["window_strides"],
                              params["padding"], params["base_dilation"],
                              params["window_dilation"])


def _reduce_general(ins, params):
    # JAX's generic reduce (its params: a Python computation and a jaxpr of scalars, no
    # consts): xform's general reduce, its computation replayed from JAX's jaxpr
    n = len(ins) // 2
    body = params["jaxpr"]
    consts = body.consts if hasattr(body, "consts") else ()
    inner = body.jaxpr if hasattr(body, "consts") else body

    def computation(accs, xs):
        return _replay(inner, consts, [*accs, *xs])

    return general_reduce(list(ins[:n]), list(ins[n:]), computation, params["dimensions"])


# JAX's scatters carry their combining function as a JAX jaxpr (``update_jaxpr``): xform's
# functions of the same names bind xform's own (the combiners), and a ``scatter`` whose
# update_jaxpr is set is ``scatter_apply``, its function replayed from JAX's jaxpr
_SCATTERS: dict[str, Callable] = {
    "scatter": scatter, "scatter-add": scatter_add, "scatter-sub": scatter_sub,
    "scatter-mul": scatter_mul, "scatter-min": scatter_min, "scatter-max": scatter_max,
}


def _scatter(name):
    def handler(ins, params):
        operand, indices, updates = ins
        dnums = params["dimension_numbers"]
        opts = {"indices_are_sorted": params["indices_are_sorted"],
                "unique_indices": params["unique_indices"], "mode": params["mode"]}
        update_jaxpr = params.get("update_jaxpr")
        if name == "scatter" and update_jaxpr is not None:
            # JAX's update jaxpr takes (operand element, unused update) and applies the function
            consts = params.get("update_consts", ())

            def func(x):
                return _replay(update_jaxpr, consts, [x, x])[0]

            return scatter_apply(operand, indices, func, dnums,
                                 update_shape=_aval(updates).shape, **opts)
        return _SCATTERS[name](operand, indices, updates, dnums, **opts)
    return handler


def _debug_print(ins, params):
    # jax.debug.print: xform's debug_callback (so every xform transform handles it, printing on
    # the forward pass and once per lane under vmap) around JAX's own formatting of the values
    jax_print = _jax_primitive("debug_print")

    def show(*values):
        jax_print.impl(*values, **params)

    callback_mod.debug_callback_p.bind(*ins, callback=show, ordered=params["ordered"])
    return []


_HANDLERS: dict[str, Callable] = {
    "linear_call": _linear_call,
    "debug_print": _debug_print,
    "reduce_window": _reduce_window,
    "reduce": _reduce_general,
    **{name: _scatter(name) for name in _SCATTERS},
    "jit": _inline_call("jaxpr"),
    "pjit": _inline_call("jaxpr"),
    "closed_call": _inline_call("call_jaxpr"),
    "core_call": _inline_call("call_jaxpr"),
    "cond": _cond,
    "while": _while,
    "scan": _scan,
    "checkpoint": _checkpoint,
    "remat": _checkpoint,
    "remat2": _checkpoint,  # JAX 0.10 names its checkpoint primitive remat2 (prints checkpoint)
    "custom_jvp_call": _custom_jvp_call,
    "custom_vjp_call": _custom_vjp_call,
    "random_wrap": _random_wrap,
    "random_unwrap": _identity,
    "random_bits": _random_bits,
    "random_split": _random_split,
    "random_fold_in": _random_fold_in,
    "random_seed": _random_seed,
    # copies and device placement: xform leaves placement to jax.jit; layouts are kept
    "copy": _identity,
    "copy_p": _identity,
    "device_put": _identity,
    "sharding_constraint": _sharding_constraint,
    "mesh_cast": _identity,
    "reshard": _reshard,
    "shard_map": _shard_map,
    "custom_linear_solve": _custom_linear_solve,
    "random_clone": _identity,
    "zeros_like": lambda ins, params: ew.mul(ins[0], 0),
    "platform_index": _platform_index,
    **_COLLECTIVES,
    "iota_2x32_shape": lambda ins, params: list(rb.iota_2x32_shape(params["shape"])),
}

# -- avals on both sides ------------------------------------------------------------------------
def _aval(x) -> ShapedArray:
    return get_aval(x)


def _sds(x) -> jax.ShapeDtypeStruct:
    a = _aval(x)
    return jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)


def _jax_aval_key(x):
    if isinstance(x, jax.ShapeDtypeStruct):
        return (x.shape, x.dtype, bool(getattr(x, "weak_type", False)))
    a = _aval(x)
    return (a.shape, a.dtype, a.weak_type)
