"""Random programs and transform stacks for the differential test (tests/test_differential.py).

A case is Python source text that uses only the names `jax`, `jnp`, `lax` and `np`. Executed
against JAX's modules it is the reference; executed against xform's (`xform`, `xform.numpy`,
`xform.lax`) it is the program under test. So one description yields both, and a failing case
prints as two runnable scripts that differ in their import lines only.

The generator draws through a small `Draw` interface, so the same code serves hypothesis (which
shrinks a failure) and a plain `random.Random` (the long-run driver at the bottom of this file:
`python tests/_fuzz_programs.py --n 5000 --out finds.jsonl`, which records every failure instead
of stopping at the first).

Every op and transform carries a feature tag ("family:variant"). The generator leaves out the tags
(or whole families) it is told to exclude, which is how tests/test_differential.py keeps known
bugs out of the CI run while they are being fixed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

from _fuzz_core import (  # noqa: F401  (re-exported: the test and the driver use them here)
    IMPORTS, MAX_OUT_SIZE, MAX_SIZE, PRELUDE, Case, Draw, HypothesisDraw, RandomDraw, Val, _fmt,
    _struct, infer, literal, namespace, rand_array, tree_literal,
)
from _fuzz_ops import Ops


class Gen(Ops):
    """Draws one case: a program over 1-3 inputs, then a transform stack over it."""

    def __init__(self, d: Draw, exclude=frozenset()):
        self.d = d
        self.exclude = set(exclude)
        self.tags: set = set()
        self.order = 0
        self.rng = np.random.default_rng(d.integers(0, 2**31 - 1))

    # ---- feature tags
    def allowed(self, tag: str) -> bool:
        return tag not in self.exclude and tag.split(":")[0] not in self.exclude

    def variant(self, family: str, options):
        """Pick one (name, payload) among those whose tag is allowed; record the tag."""
        ok = [(n, p) for n, p in options if self.allowed(f"{family}:{n}")]
        if not ok:
            return None
        n, p = self.d.choice(ok)
        self.tags.add(f"{family}:{n}")
        return n, p

    def use(self, tag: str) -> bool:
        """Whether to use an optional feature; records it when used."""
        if self.allowed(tag):
            self.tags.add(tag)
            return True
        return False

    OPS = [  # (weight, method, modes)
        (10, "op_unary", "fi"), (9, "op_binary", "fi"), (1, "op_bad_binary", "fi"),
        (6, "op_reduce", "fi"), (2, "op_softmax", "f"), (2, "op_cumulative", "fi"),
        (2, "op_sort", "fi"), (3, "op_reshape", "fi"), (2, "op_transpose", "fi"),
        (2, "op_expand", "fi"), (2, "op_squeeze", "fi"), (2, "op_concatenate", "fi"),
        (2, "op_broadcast", "fi"), (2, "op_shape_misc", "fi"), (3, "op_index_static", "fi"),
        (3, "op_index_traced", "fi"), (4, "op_at", "fi"), (4, "op_dot", "fi"),
        (2, "op_where", "fi"), (2, "op_cond", "fi"), (2, "op_fori", "fi"),
        (2, "op_scan", "fi"), (1, "op_while", "fi"), (2, "op_inner", "fi"),
        (1, "op_cast", "fi"),
    ]

    # ---- the program
    def program(self) -> Case:
        d = self.d
        self.int_mode = d.chance(0.1) and self.use("int_program")
        kind = "i" if self.int_mode else "f"
        self.env = []
        args = []
        for k in range(d.integers(1, 3)):
            rank = d.weighted([(3, 0), (4, 1), (4, 2), (2, 3)])
            shape = tuple(d.choice([1, 2, 3]) for _ in range(rank))
            pyscalar = (rank == 0 and not self.int_mode and d.chance(0.2)
                        and self.use("python_scalar_arg"))
            v = Val(f"x{k}", shape, np.dtype(np.int32 if self.int_mode else np.float32),
                    weak=pyscalar, pyscalar=pyscalar)
            self.env.append(v)
            args.append(v)
        params = [v.name for v in self.env]
        body = []
        ops = [(w, m) for w, m, modes in self.OPS if kind in modes
               and self.allowed(m[3:])]
        n_ops = d.integers(1, 12)
        results = []
        for i in range(n_ops):
            expr = None
            for _attempt in range(6):
                method = d.weighted(ops)
                saved = set(self.tags)
                expr = getattr(self, method)()
                if not expr:
                    self.tags = saved
                    continue
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        aval = infer(expr, self.env)
                except Exception:
                    if method == "op_bad_binary":  # meant to raise: the program ends here
                        body.append(f"    v{i} = {expr}")
                        results.append(f"v{i}")
                        return self._finish(args, params, body, results, error=True)
                    self.tags = saved
                    expr = None
                    continue
                if not hasattr(aval, "shape") or math.prod(aval.shape) > MAX_SIZE:
                    self.tags = saved
                    expr = None
                    continue
                break
            if not expr:
                continue
            body.append(f"    v{i} = {expr}")
            v = Val(f"v{i}", tuple(aval.shape), np.dtype(aval.dtype), bool(aval.weak_type))
            self.env.append(v)
            results.append(v.name)
        if not results:  # at least one op, so the output is never a raw argument
            body.append(f"    v0 = {self.body(self.env[0].name, False)}")
            results.append("v0")
        return self._finish(args, params, body, results)

    def _finish(self, args, params, body, results, error=False):
        last = results[-1]
        out = last
        if not error and len(results) > 1:
            r = self.d.integers(0, 9)
            other = self.d.choice(results[:-1])
            if r == 0:
                out = f"({last}, {other})"
                self.tags.add("output:tuple")
            elif r == 1:
                out = f"{{'a': {last}, 'b': {other}}}"
                self.tags.add("output:dict")
        self.sig = args
        return Case(self.int_mode, [], body, params, out, tags=self.tags)

    # ---- the transform stack
    def out_avals(self, case: Case):
        import jax

        ns = dict(namespace("jax"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(case.program_source(), ns)
            return jax.eval_shape(ns[case.final], *[_struct(v) for v in self.sig])

    def transforms(self, case: Case):
        import jax

        d = self.d
        try:
            outs = self.out_avals(case)
        except Exception:
            return  # the program itself raises: compare the errors
        # levels from the inside out; an inner jit op of the program counts as the first
        levels = ["jit"] if "inner:jit" in self.tags else []
        for _level in range(d.integers(1, 4)):
            leaves = jax.tree_util.tree_leaves(outs)
            float_out = [x for x in leaves if np.dtype(x.dtype).kind == "f"]
            all_float_out = bool(leaves) and len(float_out) == len(leaves)
            float_args = [i for i, v in enumerate(self.sig) if v.kind == "f"]
            choices = [(5, "vmap")]
            control_flow = any(t.split(":")[0] in ("cond", "fori", "scan", "while")
                               for t in self.tags)
            if not control_flow or self.allowed("checkpoint_control_flow"):
                choices.append((1, "checkpoint"))
            if self.allowed("stack:jit_T_jit"):
                # (with that pattern excluded, the only jit is the one on top, below)
                choices.append((4, "jit"))
            if float_args and float_out:
                choices += [(3, "grad"), (2, "value_and_grad"), (1, "hessian")]
            if float_args and all_float_out:
                choices += [(2, "jvp"), (2, "vjp"), (2, "jacfwd"), (2, "jacrev")]
            if self.int_mode and d.chance(0.05):
                choices.append((1, "grad"))
            choices = [(w, c) for w, c in choices if self.allowed(f"transform:{c}")]
            for _attempt in range(4):
                t = d.weighted(choices)
                saved = (list(case.stack), list(self.sig), set(self.tags), self.order)
                line, new_sig, new_outs = self.transform_line(t, case, leaves, float_args,
                                                              outs)
                case.stack.append(line)
                self.sig = new_sig
                self.tags.add(f"transform:{t}")
                size = sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(new_outs))
                if size <= MAX_OUT_SIZE:
                    outs = new_outs
                    if t == "jit" and self.jit_pattern(levels):
                        self.tags.add("stack:jit_T_jit")
                    if t == "checkpoint" and control_flow:
                        self.tags.add("checkpoint_control_flow")
                    levels.append(t)
                    break
                case.stack, self.sig, self.tags, self.order = saved
            else:
                return
        # Un-jitted derivative stacks run op by op (each op compiled for its shapes, in both
        # libraries): seconds per case. Most cases end in a jit; eager ones stay shallow.
        if not case.stack or levels[-1] == "jit":
            return
        if self.order < 2 and d.chance(0.25) and self.use("eager"):
            return
        if self.jit_pattern(levels):
            self.tags.add("stack:jit_T_jit")
        k = len(case.stack)
        case.stack.append(f"f{k + 1} = jax.jit(f{k})")
        self.tags.add("transform:jit")

    @staticmethod
    def jit_pattern(levels) -> bool:
        """Whether a jit on top of `levels` makes a jit over a non-jit transform over a jit
        (the shape of several known bugs, see KNOWN_BUGS in tests/test_differential.py)."""
        inner = [i for i, t in enumerate(levels) if t == "jit"]
        return bool(inner) and any(t != "jit" for t in levels[inner[0]:])

    def argnums(self, float_args, always_tuple=False):
        k = self.d.integers(1, len(float_args))
        chosen = sorted(set(self.d.choice(float_args) for _ in range(k)))
        if len(chosen) == 1 and not always_tuple and self.d.chance(0.6):
            return chosen[0], chosen
        return tuple(chosen), chosen

    def transform_line(self, t, case, leaves, float_args, outs):
        """Source line for transform t over the current top function, the new signature, and
        the new output avals (worked out here, not traced: tracing every level of a deep
        derivative stack again costs more than running the case)."""
        import jax

        d = self.d
        k = len(case.stack)
        f, g = f"f{k}", f"f{k + 1}"
        sig = list(self.sig)

        def sds(shape, v=None):
            return jax.ShapeDtypeStruct(tuple(shape), np.float32,
                                        weak_type=bool(v is not None and v.weak))

        def per_arg(an, fn):  # JAX's argnums convention: an int gives one, a tuple a tuple
            return fn(sig[an]) if isinstance(an, int) else tuple(fn(sig[i]) for i in an)

        if t == "jit":
            return f"{g} = jax.jit({f})", sig, outs
        if t == "checkpoint":
            policy = d.choice([None, "nothing_saveable", "dots_saveable", "everything_saveable",
                               "checkpoint_dots"])
            kw = f", policy=jax.checkpoint_policies.{policy}" if policy else ""
            if d.chance(0.3):
                kw += ", prevent_cse=False"
            return f"{g} = jax.checkpoint({f}{kw})", sig, outs
        if t == "vmap":
            size = d.choice([1, 2, 3])
            in_axes = []
            for v in sig:
                if v.pyscalar or (d.chance(0.3)):
                    in_axes.append(None)
                else:
                    in_axes.append(d.integers(-(v.ndim + 1), v.ndim))
            arrays = [i for i, v in enumerate(sig) if not v.pyscalar]
            if all(a is None for a in in_axes) and arrays and not d.chance(0.1):
                in_axes[d.choice(arrays)] = 0
            new_sig = []
            for v, ax in zip(sig, in_axes):
                if ax is None:
                    new_sig.append(v)
                else:
                    shape = list(v.shape)
                    shape.insert(ax % (v.ndim + 1), size)
                    new_sig.append(Val(v.name, tuple(shape), v.dtype))
            min_rank = min((len(x.shape) for x in leaves), default=0)
            out_axes = d.integers(-(min_rank + 1), min_rank)
            ia = (in_axes[0] if len(in_axes) == 1 and d.chance(0.5) else tuple(in_axes))

            def batched(x):
                shape = list(x.shape)
                shape.insert(out_axes % (len(shape) + 1), size)
                return jax.ShapeDtypeStruct(tuple(shape), x.dtype, weak_type=x.weak_type)

            return (f"{g} = jax.vmap({f}, in_axes={ia!r}, out_axes={out_axes})", new_sig,
                    jax.tree_util.tree_map(batched, outs))
        if t in ("grad", "value_and_grad", "hessian"):
            self.order += 2 if t == "hessian" else 1
            an, _ = self.argnums(float_args or [0])
            line = f"{g} = jax.{t}(lambda *a: _scal({f}(*a)), argnums={an!r})"
            if t == "hessian":
                new = per_arg(an, lambda a: per_arg(an, lambda b: sds(a.shape + b.shape)))
            else:
                new = per_arg(an, lambda a: sds(a.shape, a))
                if t == "value_and_grad":
                    new = (sds(()), new)
            return line, sig, new
        if t in ("jacfwd", "jacrev"):
            self.order += 1
            an, _ = self.argnums(float_args)
            new = jax.tree_util.tree_map(
                lambda x: per_arg(an, lambda a: sds(x.shape + a.shape)), outs)
            return f"{g} = jax.{t}({f}, argnums={an!r})", sig, new
        if t == "jvp":
            self.order += 1
            _, chosen = self.argnums(float_args, always_tuple=True)
            tangents = tuple(literal(rand_array(self.rng, sig[i].shape, "f")) for i in chosen)
            return (f"{g} = _jvp({f}, {tuple(chosen)!r}, {tree_literal(tangents)})", sig,
                    (outs, outs))
        if t == "vjp":
            self.order += 1
            _, chosen = self.argnums(float_args, always_tuple=True)
            ct = jax.tree_util.tree_map(
                lambda x: literal(rand_array(self.rng, x.shape, "f")), outs)
            return (f"{g} = _vjp({f}, {tuple(chosen)!r}, {tree_literal(ct)})", sig,
                    (outs, per_arg(tuple(chosen), lambda a: sds(a.shape, a))))
        raise ValueError(t)

    def generate(self) -> Case:
        case = self.program()
        self.transforms(case)
        case.tags = self.tags
        case.order = self.order
        case.args = [float(np.round(self.rng.uniform(-2, 2), 2)) if v.pyscalar
                     else rand_array(self.rng, v.shape, v.kind) for v in self.sig]
        return case


def generate(d: Draw, exclude=frozenset()) -> Case:
    """Draw one case (program + transform stack + inputs)."""
    return Gen(d, exclude).generate()


# --------------------------------------------------------------------------------------------
# Running and comparing


def run(case: Case, lib: str):
    """('ok', output) or ('raise', exception) for the case under `lib`."""
    ns = dict(namespace(lib))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(case.program_source() + case.args_source(), ns)
            out = ns[case.final](*ns["args"])
            import jax

            out = jax.block_until_ready(out)
        return "ok", out
    except Exception as e:  # noqa: BLE001  (any exception is a result to compare)
        return "raise", e


def _leaf_info(x):
    import jax

    if isinstance(x, jax.Array):
        return x.shape, np.dtype(x.dtype), bool(x.weak_type), "Array"
    if isinstance(x, np.ndarray):
        return x.shape, x.dtype, False, "ndarray"
    return np.shape(x), np.asarray(x).dtype, True, type(x).__name__


def tolerance(case: Case) -> float:
    return 2e-4 * (4 ** case.order)


@dataclass
class Failure:
    kind: str      # crash, accepts, structure, shape, dtype, weak_type, type, value, error_type
    detail: str
    case: Case

    def report(self) -> str:
        return (f"xform differs from JAX ({self.kind}): {self.detail}\n"
                f"tags: {sorted(self.case.tags)}\n"
                f"--- JAX script ---\n{self.case.script('jax')}"
                f"--- xform: the same with `import xform as jax; import xform.numpy as jnp; "
                f"import xform.lax as lax` ---\n")


def _short(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0][:300] if msg else ''}"


def compare(case: Case, ref, got) -> Failure | None:
    import jax

    rs, rv = ref
    gs, gv = got
    if rs == "raise" and gs == "raise":
        return None
    if rs == "ok" and gs == "raise":
        tb = "".join(traceback.format_exception(gv)[-6:])
        return Failure("crash", f"JAX returns, xform raises {_short(gv)}\n{tb}", case)
    if rs == "raise" and type(rv) is AssertionError:
        # an assertion inside JAX itself (seed 360731: "non-canonical constant" from a numpy
        # tangent under jit) is JAX's own bug and leaves no reference to compare with; that
        # case's xform value matched JAX run without the outer jit
        return None
    if rs == "raise":
        return Failure("accepts", f"JAX raises {_short(rv)}, xform returns", case)
    rl, rt = jax.tree_util.tree_flatten(rv)
    gl, gt = jax.tree_util.tree_flatten(gv)
    if rt != gt:
        return Failure("structure", f"JAX {rt}, xform {gt}", case)
    tol = tolerance(case)
    for i, (r, g) in enumerate(zip(rl, gl)):
        rshape, rdt, rweak, rtype = _leaf_info(r)
        gshape, gdt, gweak, gtype = _leaf_info(g)
        where = f"leaf {i} of {len(rl)}"
        if rtype == "ndarray" and gtype == "Array":
            rweak = gweak  # JAX's eager checkpoint can hand back numpy zeros: no weak type
        elif rtype != gtype:
            return Failure("type", f"{where}: JAX {rtype}, xform {gtype}", case)
        if tuple(rshape) != tuple(gshape):
            return Failure("shape", f"{where}: JAX {rshape}, xform {gshape}", case)
        if rdt != gdt:
            return Failure("dtype", f"{where}: JAX {rdt}, xform {gdt}", case)
        if rweak != gweak and not _jax_eager_agrees_on_weak_type(case, i, gweak):
            return Failure("weak_type", f"{where}: JAX weak_type={rweak}, xform {gweak}", case)
        if rdt.kind not in "fciub":
            continue  # float0
        ra = np.asarray(r).astype(np.float64)
        ga = np.asarray(g).astype(np.float64)
        if rdt.kind in "iub":
            if not np.array_equal(ra, ga):
                return Failure("value", f"{where}: JAX {ra.tolist()}, xform {ga.tolist()}",
                               case)
            continue
        if _differ(ra, ga, tol) and not _float64_excuses(case, i, ra, ga, tol):
            return Failure("value", f"{where} (tol {tol:g}): JAX {np.asarray(r).tolist()}, "
                                    f"xform {np.asarray(g).tolist()}", case)
    return None


# Seeds whose weak type JAX itself leaves undetermined: its answer without the case's jits
# differs from its answer as written, and xform's is the former (the driver reports them).
JAX_WEAK_TYPE_SPLIT: list = []


def _jax_eager_agrees_on_weak_type(case: Case, leaf: int, gweak: bool) -> bool:
    """Whether JAX, run without the program's and the stack's ``jit``s, gives this leaf
    xform's weak type. JAX types an output from its staged jaxpr under jit and from re-bound values
    eagerly, and the two can differ (the gradient with respect to a Python scalar through a
    jvp under value_and_grad: weak under jit, strong eagerly); there JAX's own semantics leave
    the weak type open, and xform answering as one of them is no difference."""
    import dataclasses

    import jax

    def unjitted(lines):
        return [ln.replace("jax.jit(", "(lambda f, **kw: f)(") for ln in lines]

    eager = dataclasses.replace(case, body=unjitted(case.body), stack=unjitted(case.stack))
    if eager.body == case.body and eager.stack == case.stack:
        return False  # no jit to leave out
    status, out = run(eager, "jax")
    if status != "ok":
        return False
    leaves = jax.tree_util.tree_leaves(out)
    if leaf >= len(leaves) or _leaf_info(leaves[leaf])[2] != gweak:
        return False
    JAX_WEAK_TYPE_SPLIT.append(case)
    return True


def _differ(ra: np.ndarray, ga: np.ndarray, tol: float) -> bool:
    bad = np.isnan(ra) != np.isnan(ga)
    inf = np.isinf(ra) | np.isinf(ga)
    bad |= inf & (ra != ga) & ~(np.isnan(ra) | np.isnan(ga))
    fin = np.isfinite(ra) & np.isfinite(ga)
    scale = max(1.0, float(np.max(np.abs(ra[fin]), initial=0.0)))
    bad |= fin & (np.abs(ra - ga) > tol * scale + tol * np.abs(ra))
    return bool(bad.any())


_X64_RUNNER = '''
import pickle, sys, warnings
import jax
jax.config.update("jax_enable_x64", True)
warnings.simplefilter("ignore")
ns = {}
exec(sys.stdin.read(), ns)
out = jax.tree_util.tree_leaves(ns["out"])
sys.stdout.buffer.write(pickle.dumps([__import__("numpy").asarray(x) for x in out]))
'''


# Seeds whose value check the float64 arbiter settled as ill-conditioned: JAX's own float32
# answer is as far from its float64 one as xform's (the long-run driver reports them).
ILL_CONDITIONED: list = []


def _run_x64(case: Case, api: str) -> list | None:
    """The leaves of the case run by ``api`` in float64 (inputs and constants widened), in a
    subprocess (x64 is process-wide); None where it fails."""
    import pickle
    import subprocess

    script = case.script(api).replace("float32", "float64").replace("print(out)\n", "")
    try:
        proc = subprocess.run([sys.executable, "-c", _X64_RUNNER], input=script.encode(),
                              capture_output=True, timeout=300)
        return pickle.loads(proc.stdout) if proc.returncode == 0 else None
    except (subprocess.TimeoutExpired, pickle.UnpicklingError, EOFError):
        return None


def _float64_excuses(case: Case, leaf: int, ra: np.ndarray, ga: np.ndarray, tol: float) -> bool:
    """Whether the program computed in float64 (inputs and constants of the program widened)
    settles a float32 disagreement between xform and JAX:
    - xform's float32 answer agrees with JAX's float64 one (JAX's own rounding error on an
      ill-conditioned program, a third derivative whose true value is 0, say);
    - or JAX's float32 answer is as far from it as xform's (the program is too
      ill-conditioned for float32 to judge: the sine of a fourth derivative of 1e7, say);
    - or the program amplifies float32 rounding here (JAX's own float32 answer is off its
      float64 one by more than a tenth of the tolerance: a derivative through a near-tie of a
      softmax, say) and xform's float64 answer agrees with JAX's float64 one on every leaf:
      the float32 answers differ by rounding alone, since a wrong rule is as wrong in float64.
    The last two are recorded in ILL_CONDITIONED."""
    leaves = _run_x64(case, "jax")
    if leaves is None or leaf >= len(leaves):
        return False
    ref = np.asarray(leaves[leaf]).astype(np.float64)
    if ref.shape != ga.shape:
        return False
    if not _differ(ref, ga, tol):
        return True
    if _differ(ref, ra, tol):
        ILL_CONDITIONED.append(case)
        return True
    if not _differ(ref, ra, tol / 10):
        return False  # JAX's float32 answer is accurate here: xform's should be too
    mine = _run_x64(case, "xform")
    if mine is None or len(mine) != len(leaves):
        return False
    for a, b in zip(leaves, mine):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or (np.issubdtype(a.dtype, np.inexact) and not np.allclose(
                a.astype(np.float64), b.astype(np.float64), rtol=1e-7, atol=1e-9,
                equal_nan=True)) or (not np.issubdtype(a.dtype, np.inexact)
                                     and not np.array_equal(a, b)):
            return False
    ILL_CONDITIONED.append(case)
    return True


def check(case: Case) -> Failure | None:
    """Run the case under JAX and xform and compare; None when they agree."""
    return compare(case, run(case, "jax"), run(case, "xform"))


def case_to_json(case: Case) -> dict:
    return {"int_mode": case.int_mode, "body": case.body, "params": case.params,
            "out_expr": case.out_expr, "stack": case.stack, "order": case.order,
            "tags": sorted(case.tags),
            "args": [a if isinstance(a, float) else {"dtype": str(a.dtype), "data": a.tolist()}
                     for a in case.args]}


def case_from_json(d: dict) -> Case:
    args = [a if isinstance(a, float) else np.asarray(a["data"], dtype=a["dtype"])
            for a in d["args"]]
    return Case(d["int_mode"], args, d["body"], d["params"], d["out_expr"], d["stack"],
                set(d["tags"]), d["order"])


def _signature(f: Failure) -> tuple:
    head = f.detail.split("\n")[0]
    if f.kind in ("crash", "accepts"):
        return f.kind, head.split(":")[0]  # the exception type
    return (f.kind,)


def _renumber_without(stack: list[str], k: int) -> list[str]:
    """The stack without line k (which defines f{k+1} from f{k}): later names shift down."""
    import re

    def shift(m):
        j = int(m.group(1))
        return f"f{j - 1}" if j > k + 1 else f"f{j}"

    return [re.sub(r"\bf(\d+)\b", shift, line) for i, line in enumerate(stack) if i != k]


def _dead_code_eliminated(body: list[str], out_expr: str) -> list[str]:
    import re

    needed = set(re.findall(r"\bv\d+\b", out_expr))
    kept = []
    for line in reversed(body):
        name = line.split("=")[0].strip()
        if name in needed:
            kept.append(line)
            needed |= set(re.findall(r"\bv\d+\b", line.split("=", 1)[1]))
    return kept[::-1]


def shrink(case: Case, failure: Failure, budget: int = 60) -> tuple[Case, Failure]:
    """A smaller case failing the same way: drop transforms that keep the argument signature
    (everything but vmap), pick a smaller output, drop dead ops. Greedy, `budget` checks."""
    import copy

    want = _signature(failure)
    tries = 0

    def attempt(c: Case):
        nonlocal tries
        tries += 1
        try:
            f = check(c)
        except Exception:
            return None
        return f if f is not None and _signature(f) == want else None

    improved = True
    while improved and tries < budget:
        improved = False
        # outputs: each earlier value alone
        import re

        names = [line.split("=")[0].strip() for line in case.body]
        for cand in [n for n in names if n != case.out_expr]:
            c = copy.copy(case)
            c.out_expr = cand
            c.body = _dead_code_eliminated(case.body, cand)
            if len(c.body) >= len(case.body) and c.out_expr.startswith("v"):
                continue
            f = attempt(c)
            if f is not None:
                case, failure, improved = c, f, True
                break
            if tries >= budget:
                break
        c = copy.copy(case)
        c.body = _dead_code_eliminated(case.body, case.out_expr)
        if len(c.body) < len(case.body):
            f = attempt(c)
            if f is not None:
                case, failure, improved = c, f, True
        for k in range(len(case.stack)):
            if "jax.vmap(" in case.stack[k] or tries >= budget:
                continue
            c = copy.copy(case)
            c.stack = _renumber_without(case.stack, k)
            f = attempt(c)
            if f is not None:
                case, failure, improved = c, f, True
                break
        del re
    return case, failure


# --------------------------------------------------------------------------------------------
# Long-run driver: every failure recorded, none stops the run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="fuzz_findings.jsonl")
    p.add_argument("--exclude", default="", help="comma-separated tags to leave out")
    p.add_argument("--known", action="store_true",
                   help="leave out the KNOWN_BUGS of tests/test_differential.py")
    args = p.parse_args(argv)
    exclude = {t for t in args.exclude.split(",") if t}
    if args.known:
        sys.path.insert(0, __file__.rsplit("/", 1)[0])
        import test_differential

        exclude |= set(test_differential.KNOWN_BUGS)
    import jax

    t0 = time.time()
    fails = 0
    with open(args.out, "a") as fh:
        for i in range(args.n):
            seed = args.seed + i
            try:
                case = generate(RandomDraw(seed), exclude)
                n_ill, n_split = len(ILL_CONDITIONED), len(JAX_WEAK_TYPE_SPLIT)
                fail = check(case)
                if len(ILL_CONDITIONED) > n_ill:
                    print(f"[{seed}] ill-conditioned in float32 (not judged)", flush=True)
                if len(JAX_WEAK_TYPE_SPLIT) > n_split:
                    print(f"[{seed}] JAX's eager and jit weak types differ; xform's is the "
                          "eager one", flush=True)
            except Exception as e:  # a generator problem: record it too
                fh.write(json.dumps({"seed": seed, "kind": "generator",
                                     "detail": traceback.format_exc()[-2000:]}) + "\n")
                fh.flush()
                print(f"[{seed}] generator error {_short(e)}", flush=True)
                continue
            if fail is not None:
                fails += 1
                fh.write(json.dumps({"seed": seed, "kind": fail.kind,
                                     "detail": fail.detail[:3000],
                                     "tags": sorted(case.tags),
                                     "case": case_to_json(case),
                                     "script": case.script("jax")}) + "\n")
                fh.flush()
            if (i + 1) % 500 == 0:  # compiled programs of dead functions
                jax.clear_caches()
            if (i + 1) % 10 == 0:
                print(f"{i + 1} cases, {fails} failures, {time.time() - t0:.0f}s", flush=True)
    print(f"done: {args.n} cases, {fails} failures, {time.time() - t0:.0f}s; "
          f"{len(ILL_CONDITIONED)} value disagreements too ill-conditioned to judge in float32 "
          f"(JAX's float32 answer as far from its float64 one); {len(JAX_WEAK_TYPE_SPLIT)} "
          f"weak types where JAX's eager and jit answers differ", flush=True)


if __name__ == "__main__":
    main()
