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
import random
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy as np

MAX_SIZE = 48        # elements in any one program value: keeps compiles and jacobians cheap
MAX_OUT_SIZE = 1536  # elements in all outputs of a transformed function
LETTERS = "abcdefgh"


# --------------------------------------------------------------------------------------------
# Drawing: hypothesis or a plain RNG behind one interface


class Draw:
    """Where the generator's choices come from."""

    def integers(self, lo: int, hi: int) -> int:  # inclusive bounds
        raise NotImplementedError

    def choice(self, seq):
        return seq[self.integers(0, len(seq) - 1)]

    def chance(self, p: float) -> bool:
        # drawn as an integer so hypothesis shrinks toward "no" (0 is below every threshold
        # only when p > 0; the simple branch is always the one taken at small values)
        return self.integers(0, 999) >= int(round((1 - p) * 1000))

    def weighted(self, items):
        """items: list of (weight, value); returns one value."""
        total = sum(w for w, _ in items)
        r = self.integers(0, total - 1)
        for w, v in items:
            if r < w:
                return v
            r -= w
        return items[-1][1]


class RandomDraw(Draw):
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def integers(self, lo, hi):
        return self.rng.randint(lo, hi)


class HypothesisDraw(Draw):
    def __init__(self, data):
        from hypothesis import strategies as st

        self.data = data
        self.st = st

    def integers(self, lo, hi):
        return self.data.draw(self.st.integers(lo, hi))


# --------------------------------------------------------------------------------------------
# Namespaces and the prelude every case runs with


PRELUDE = '''\
def _scal(out):
    # a scalar from every floating leaf; sin keeps higher derivatives non-trivial
    total = 0.0
    for leaf in jax.tree_util.tree_leaves(out):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            total = total + jnp.sum(jnp.sin(leaf))
    return total


def _sub(f, a, argnums):
    # f as a function of the arguments at argnums, the others fixed to their values in a
    def h(*d):
        full = list(a)
        for i, v in zip(argnums, d):
            full[i] = v
        return f(*full)
    return h


def _jvp(f, argnums, tangents):
    return lambda *a: jax.jvp(_sub(f, a, argnums), tuple(a[i] for i in argnums), tangents)


def _vjp(f, argnums, cotangent):
    def g(*a):
        out, pullback = jax.vjp(_sub(f, a, argnums), *(a[i] for i in argnums))
        return out, pullback(cotangent)
    return g
'''

IMPORTS = {
    "jax": "import jax\nimport jax.numpy as jnp\nimport jax.lax as lax\nimport numpy as np\n",
    "xform": "import xform as jax\nimport xform.numpy as jnp\nimport xform.lax as lax\n"
             "import numpy as np\n",
}

_NAMESPACES: dict[str, dict] = {}


def namespace(lib: str) -> dict:
    """Globals for a case: `jax`, `jnp`, `lax`, `np` bound to JAX's or xform's modules."""
    if lib not in _NAMESPACES:
        ns: dict = {"__name__": f"fuzz_{lib}"}
        exec(IMPORTS[lib], ns)
        if lib == "xform":
            import xform.nn  # noqa: F401  (jax.nn.* must resolve on the module)
            import xform.scipy.special  # noqa: F401
        exec(PRELUDE, ns)
        _NAMESPACES[lib] = ns
    return _NAMESPACES[lib]


# --------------------------------------------------------------------------------------------
# Values and literals


@dataclass
class Val:
    name: str
    shape: tuple
    dtype: np.dtype
    weak: bool = False
    pyscalar: bool = False  # a Python float argument: no methods, no indexing

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def kind(self):
        return np.dtype(self.dtype).kind  # 'f', 'i', 'b', ...


def _fmt(v: float) -> str:
    s = repr(float(v))
    return s


def _nested(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return str(np.float32(arr)) if arr.dtype.kind == "f" else str(int(arr))
    return "[" + ", ".join(_nested(a) for a in arr) + "]"


def literal(arr: np.ndarray) -> str:
    """Source text for a small numpy constant of its own dtype (float32 or int32)."""
    dt = "np.float32" if arr.dtype.kind == "f" else "np.int32"
    if arr.ndim == 0:
        return f"{dt}({_nested(arr)})"
    return f"np.array({_nested(arr)}, dtype={dt})"


def rand_array(rng: np.random.Generator, shape, kind: str) -> np.ndarray:
    if kind == "f":
        return np.round(rng.uniform(-2, 2, size=shape), 2).astype(np.float32)
    return rng.integers(-3, 4, size=shape).astype(np.int32)


def tree_literal(tree) -> str:
    if isinstance(tree, tuple):
        inner = ", ".join(tree_literal(t) for t in tree)
        return f"({inner},)" if len(tree) == 1 else f"({inner})"
    if isinstance(tree, list):
        return "[" + ", ".join(tree_literal(t) for t in tree) + "]"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {tree_literal(v)}" for k, v in tree.items()) + "}"
    return tree  # already source text


def broadcast_ok(*shapes) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# The case


@dataclass
class Case:
    int_mode: bool
    args: list                     # numpy arrays or Python floats
    body: list[str]                # lines of f0's body (already indented)
    params: list[str]
    out_expr: str
    stack: list[str] = field(default_factory=list)   # lines defining f1..fk
    tags: set = field(default_factory=set)
    order: int = 0                 # derivative order, for tolerances

    @property
    def final(self) -> str:
        return f"f{len(self.stack)}"

    def program_source(self) -> str:
        lines = [f"def f0({', '.join(self.params)}):"]
        lines += self.body
        lines.append(f"    return {self.out_expr}")
        lines += self.stack
        return "\n".join(lines) + "\n"

    def args_source(self) -> str:
        parts = []
        for a in self.args:
            if isinstance(a, float):
                parts.append(_fmt(a))
            else:
                parts.append(f"jnp.asarray({literal(a)})")
        return "args = (" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")\n"

    def script(self, lib: str) -> str:
        """A standalone script of this case for `lib` ('jax' or 'xform')."""
        return (IMPORTS[lib] + "\n" + PRELUDE + "\n\n" + self.program_source()
                + self.args_source() + f"out = {self.final}(*args)\nprint(out)\n")


# --------------------------------------------------------------------------------------------
# Shape inference through JAX (the generator keeps programs mostly valid)


def _struct(v: Val):
    import jax

    if v.pyscalar:
        return 0.5
    return jax.ShapeDtypeStruct(v.shape, v.dtype, weak_type=v.weak)


def infer(expr: str, env: list[Val]):
    """JAX's output avals of `expr` over env, or raise what JAX raises."""
    import jax

    ns = namespace("jax")
    fn = eval(f"lambda {', '.join(v.name for v in env)}: {expr}", ns)
    return jax.eval_shape(fn, *[_struct(v) for v in env])


# --------------------------------------------------------------------------------------------
# The op pool. Each op takes the generator and returns source text of an expression, or None
# when it does not apply to what is in the environment.

UNARY_FLOAT = [
    ("sin", "jnp.sin({a})"), ("cos", "jnp.cos({a})"), ("tanh", "jnp.tanh({a})"),
    ("exp", "jnp.exp({a})"), ("log", "jnp.log(jnp.abs({a}) + 0.5)"),
    ("log1p", "jnp.log1p({a} * {a})"), ("sqrt", "jnp.sqrt(jnp.abs({a}) + 0.25)"),
    ("rsqrt", "lax.rsqrt({a} * {a} + 1.0)"), ("square", "jnp.square({a})"), ("neg", "-{a}"),
    ("abs", "jnp.abs({a})"), ("relu", "jax.nn.relu({a})"), ("sigmoid", "jax.nn.sigmoid({a})"),
    ("softplus", "jax.nn.softplus({a})"), ("gelu", "jax.nn.gelu({a})"),
    ("silu", "jax.nn.silu({a})"), ("log_sigmoid", "jax.nn.log_sigmoid({a})"),
    ("arctan", "jnp.arctan({a})"), ("sinh", "jnp.sinh({a})"), ("expm1", "jnp.expm1({a})"),
    ("arcsinh", "jnp.arcsinh({a})"), ("erf", "lax.erf({a})"),
    ("reciprocal", "1.0 / ({a} * {a} + 1.0)"), ("pow2", "{a} ** 2"), ("pow3", "{a} ** 3"),
    ("powf", "jnp.power(jnp.abs({a}) + 1.0, 1.5)"), ("clip", "jnp.clip({a}, -1.0, 1.0)"),
    ("floor", "jnp.floor({a})"), ("round", "jnp.round({a})"),
    ("scale_strong", "jnp.float32(2.0) * {a}"), ("scale_int", "{a} * 2"),
    ("shift", "{a} + 1.5"), ("rsub", "2.0 - {a}"), ("div", "{a} / 3.0"),
    ("center", "{a} - jnp.mean({a})"), ("sign_mul", "jnp.sign({a}) * {a}"),
    ("stop_gradient", "lax.stop_gradient({a})"),
    ("leaky", "jnp.where({a} > 0, {a}, 0.1 * {a})"),
    ("logaddexp", "jnp.logaddexp({a}, 0.5)"), ("hypot", "jnp.hypot({a}, 0.5)"),
    ("int_roundtrip", "{a}.astype(jnp.int32).astype(jnp.float32)"),
    ("bf16_cast", "{a}.astype(jnp.bfloat16).astype(jnp.float32)"),
    ("f16_cast", "{a}.astype(jnp.float16).astype(jnp.float32)"),
]
UNARY_METHOD = {"int_roundtrip", "bf16_cast", "f16_cast"}

UNARY_INT = [
    ("neg", "-{a}"), ("abs", "jnp.abs({a})"), ("scale", "{a} * 2"), ("shift", "{a} + 1"),
    ("floordiv", "{a} // 2"), ("mod", "{a} % 3"), ("square", "jnp.square({a})"),
    ("sign", "jnp.sign({a})"), ("relu", "jnp.maximum({a}, 0)"), ("and", "{a} & 3"),
    ("xor", "{a} ^ 1"), ("shl", "{a} << 1"), ("clip", "jnp.clip({a}, -2, 2)"),
    ("scale_strong", "jnp.int32(3) * {a}"),
]

BINARY_FLOAT = [
    ("add", "{a} + {b}"), ("sub", "{a} - {b}"), ("mul", "{a} * {b}"),
    ("div", "{a} / ({b} * {b} + 0.5)"), ("div_raw", "{a} / {b}"),
    ("max", "jnp.maximum({a}, {b})"), ("min", "jnp.minimum({a}, {b})"),
    ("arctan2", "jnp.arctan2({a}, {b})"), ("where", "jnp.where({a} > {b}, {a}, {b})"),
    ("pow", "jnp.power(jnp.abs({a}) + 0.5, {b})"),
    ("logaddexp", "jnp.logaddexp({a}, {b})"), ("hypot", "jnp.hypot({a}, {b})"),
]

BINARY_INT = [
    ("add", "{a} + {b}"), ("sub", "{a} - {b}"), ("mul", "{a} * {b}"),
    ("max", "jnp.maximum({a}, {b})"), ("min", "jnp.minimum({a}, {b})"),
    ("floordiv", "{a} // (jnp.abs({b}) + 1)"), ("mod", "{a} % (jnp.abs({b}) + 1)"),
    ("where", "jnp.where({a} > {b}, {a}, {b})"), ("bitand", "{a} & {b}"),
]

# bodies for cond branches, loop bodies and inner transforms: an expression of `u`
BODIES_FLOAT = ["jnp.sin({u})", "jnp.tanh({u}) * 0.9", "{u} * {u} * 0.5", "jnp.cos({u}) + {u}",
                "-{u}", "jnp.exp(-{u} * {u})", "jnp.maximum({u}, 0.1)", "{u} + 1.0"]
BODIES_INT = ["{u} + 1", "-{u}", "{u} * 2", "jnp.abs({u})", "{u} % 5", "jnp.maximum({u}, 0)"]


class Gen:
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

    # ---- environment
    def pick(self, pred=lambda v: True, recent=0.5):
        cands = [v for v in self.env if pred(v)]
        if not cands:
            return None
        if self.d.chance(recent):
            return cands[-1]
        return self.d.choice(cands)

    def main(self, v: Val) -> bool:
        return v.kind == ("i" if self.int_mode else "f")

    def arr(self, v: Val) -> bool:
        return self.main(v) and not v.pyscalar

    def const(self, shape) -> str:
        return literal(rand_array(self.rng, shape, "i" if self.int_mode else "f"))

    def scalar_text(self) -> str:
        if self.int_mode:
            return str(int(self.rng.integers(-3, 4)))
        return _fmt(np.round(self.rng.uniform(-2, 2), 2))

    def axis(self, v: Val, negative=True) -> int:
        ax = self.d.integers(0, v.ndim - 1)
        if negative and self.d.chance(0.3):
            ax -= v.ndim
        return ax

    def index_of(self, n: int) -> str:
        """A traced integer in range(n), or occasionally a negative one, drawn from data."""
        src = self.pick(lambda v: not v.pyscalar and v.size > 0)
        fn = self.d.choice(["argmax", "argmin"])
        if self.d.chance(0.2):
            return f"jnp.{fn}({src.name}) % {n} - {n}"
        return f"jnp.{fn}({src.name}) % {n}"

    def body(self, u: str, allow_closure=True) -> str:
        b = self.d.choice(BODIES_INT if self.int_mode else BODIES_FLOAT).format(u=u)
        if allow_closure and self.d.chance(0.4):
            c = self.pick(lambda v: self.main(v))
            if c is not None:
                b = f"({b}) + jnp.sum({c.name}) * {'1' if self.int_mode else '0.25'}"
                self.tags.add("closure")
        return b

    def other_operand(self, a: Val) -> str | None:
        """Source of a second operand that broadcasts against a."""
        src = self.d.weighted([(5, "env"), (3, "py"), (3, "const"), (1, "np_scalar"),
                               (1, "concrete")])
        if src == "env":
            b = self.pick(lambda v: self.main(v) and broadcast_ok(v.shape, a.shape) is not None
                          and math.prod(broadcast_ok(v.shape, a.shape)) <= MAX_SIZE)
            if b is not None:
                return b.name
            src = "const"
        if src == "py":
            return self.scalar_text()
        if src == "np_scalar":
            return self.const(())
        shape = list(a.shape[self.d.integers(0, a.ndim):])
        for i in range(len(shape)):
            if self.d.chance(0.3):
                shape[i] = 1
        if self.d.chance(0.15):
            shape.insert(0, self.d.choice([1, 2]))
        text = self.const(tuple(shape))
        if src == "concrete" and self.use("concrete_array"):
            return f"jnp.asarray({text})"
        return text

    # ---- ops
    def op_unary(self):
        a = self.pick(self.main)
        if a is None:
            return None
        table = UNARY_INT if self.int_mode else UNARY_FLOAT
        if a.pyscalar:
            table = [t for t in table if t[0] not in UNARY_METHOD]
        got = self.variant("unary", table)
        return got and got[1].format(a=a.name)

    def op_binary(self):
        a = self.pick(self.main)
        if a is None:
            return None
        b = self.other_operand(a)
        if b is None:
            return None
        got = self.variant("binary", BINARY_INT if self.int_mode else BINARY_FLOAT)
        if got is None:
            return None
        if self.d.chance(0.3):
            a_text, b_text = b, a.name
        else:
            a_text, b_text = a.name, b
        return got[1].format(a=a_text, b=b_text)

    def op_bad_binary(self):
        # operands that may not broadcast: both libraries must raise alike
        a = self.pick(self.arr)
        b = self.pick(self.arr, recent=0.0)
        if a is None or b is None or broadcast_ok(a.shape, b.shape) is not None:
            return None
        self.tags.add("error:broadcast")
        return f"{a.name} + {b.name}"

    def op_reduce(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        fns = ([("sum", "jnp.sum"), ("max", "jnp.max"), ("min", "jnp.min"), ("prod", "jnp.prod"),
                ("argmax", "jnp.argmax")] if self.int_mode else
               [("sum", "jnp.sum"), ("mean", "jnp.mean"), ("max", "jnp.max"),
                ("min", "jnp.min"), ("prod", "jnp.prod"), ("var", "jnp.var"),
                ("std", "jnp.std"), ("logsumexp", "jax.nn.logsumexp"),
                ("argmax", "jnp.argmax"), ("argmin", "jnp.argmin"),
                ("norm", "jnp.linalg.norm")])
        got = self.variant("reduce", fns)
        if got is None:
            return None
        name, fn = got
        kw = ""
        if a.ndim and self.d.chance(0.7):
            if name not in ("argmax", "argmin", "norm") and a.ndim > 1 and self.d.chance(0.3):
                k = self.d.integers(1, a.ndim)
                axes = sorted({self.axis(a, negative=False) for _ in range(k)})
                kw = f", axis={tuple(axes)!r}"
            else:
                kw = f", axis={self.axis(a)}"
        if self.d.chance(0.3):
            kw += ", keepdims=True"
        return f"{fn}({a.name}{kw})"

    def op_softmax(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None or self.int_mode:
            return None
        got = self.variant("softmax", [("softmax", "jax.nn.softmax"),
                                       ("log_softmax", "jax.nn.log_softmax")])
        return got and f"{got[1]}({a.name}, axis={self.axis(a)})"

    def op_cumulative(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        ax = self.axis(a, negative=False)
        opts = [("cumsum", f"jnp.cumsum({a.name}, axis={ax})"),
                ("cumsum_flat", f"jnp.cumsum({a.name})"),
                ("cumprod", f"jnp.cumprod({a.name}, axis={ax})"),
                ("lax_cumsum_rev", f"lax.cumsum({a.name}, axis={ax}, reverse=True)"),
                ("cummax", f"lax.cummax({a.name}, axis={ax})")]
        got = self.variant("cumulative", opts)
        return got and got[1]

    def op_sort(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        ax = self.axis(a)
        opts = [("sort", f"jnp.sort({a.name}, axis={ax})"),
                ("argsort", f"jnp.argsort({a.name}, axis={ax})"),
                ("top_k", f"lax.top_k({a.name}, 1)[0]"),
                ("flip_sort", f"jnp.flip(jnp.sort({a.name}, axis={ax}), axis={ax})")]
        got = self.variant("sort", opts)
        return got and got[1]

    def factor_shape(self, size: int) -> tuple:
        dims = []
        rest = size
        for _ in range(self.d.integers(0, 3)):
            divs = [k for k in range(1, rest + 1) if rest % k == 0]
            k = self.d.choice(divs)
            dims.append(k)
            rest //= k
        if rest != 1 or not dims:
            dims.append(rest)
        return tuple(dims)

    def op_reshape(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        shape = list(self.factor_shape(a.size))
        if self.d.chance(0.3):
            shape[self.d.integers(0, len(shape) - 1)] = -1
        got = self.variant("reshape", [("fn", f"jnp.reshape({a.name}, {tuple(shape)!r})"),
                                       ("method", f"{a.name}.reshape({tuple(shape)!r})")])
        return got and got[1]

    def op_transpose(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 2)
        if a is None:
            return None
        perm = list(range(a.ndim))
        self.rng.shuffle(perm)
        opts = [("perm", f"jnp.transpose({a.name}, {tuple(perm)!r})"), ("T", f"{a.name}.T"),
                ("swapaxes", f"jnp.swapaxes({a.name}, {self.axis(a)}, {self.axis(a)})"),
                ("moveaxis", f"jnp.moveaxis({a.name}, {self.axis(a)}, {self.axis(a)})")]
        got = self.variant("transpose", opts)
        return got and got[1]

    def op_expand(self):
        a = self.pick(self.arr)
        if a is None or a.size * 1 > MAX_SIZE:
            return None
        k = self.d.integers(-(a.ndim + 1), a.ndim)
        opts = [("expand_dims", f"jnp.expand_dims({a.name}, {k})"),
                ("none_index", f"{a.name}[None]")]
        if a.ndim >= 1:
            opts.append(("none_index_1", f"{a.name}[:, None]"))
        got = self.variant("expand", opts)
        return got and got[1]

    def op_squeeze(self):
        a = self.pick(lambda v: self.arr(v) and 1 in v.shape)
        if a is None:
            return None
        ones = [i for i, s in enumerate(a.shape) if s == 1]
        opts = [("axis", f"jnp.squeeze({a.name}, axis={self.d.choice(ones)})"),
                ("all", f"jnp.squeeze({a.name})")]
        got = self.variant("squeeze", opts)
        return got and got[1]

    def op_concatenate(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1 and 2 * v.size <= MAX_SIZE)
        if a is None:
            return None
        ax = self.axis(a)
        same = self.pick(lambda v: self.arr(v) and v.shape == a.shape, recent=0.0)
        b = same.name if same is not None and self.d.chance(0.6) else self.body(a.name, False)
        opts = [("concatenate", f"jnp.concatenate([{a.name}, {b}], axis={ax})"),
                ("stack", f"jnp.stack([{a.name}, {b}], axis={ax})")]
        got = self.variant("concatenate", opts)
        return got and got[1]

    def op_broadcast(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        shape = [self.d.choice([2, 3]) if s == 1 and self.d.chance(0.5) else s for s in a.shape]
        if self.d.chance(0.5):
            shape.insert(0, self.d.choice([1, 2]))
        if math.prod(shape) > MAX_SIZE:
            return None
        self.tags.add("broadcast_to")
        return f"jnp.broadcast_to({a.name}, {tuple(shape)!r})"

    def op_shape_misc(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        ax = self.axis(a)
        opts = [("flip", f"jnp.flip({a.name}, axis={ax})"),
                ("roll", f"jnp.roll({a.name}, {self.d.integers(-2, 2)}, axis={ax})"),
                ("ravel", f"jnp.ravel({a.name})"),
                ("pad", f"jnp.pad({a.name}, {tuple((0, 1) if i == 0 else (0, 0) for i in range(a.ndim))!r})"),  # noqa: E501
                ("repeat", f"jnp.repeat({a.name}, 2, axis={ax})"),
                ("tile", f"jnp.tile({a.name}, 2)")]
        got = self.variant("shape", opts)
        return got and got[1]

    def op_index_static(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        n = a.shape[0]
        i = self.d.integers(-n, n - 1)
        lo = self.d.integers(0, n - 1)
        hi = self.d.integers(lo + 1, n)
        idx = self.rng.integers(-n, n, size=self.d.integers(1, 3)).astype(np.int32)
        opts = [("int", f"{a.name}[{i}]"), ("slice", f"{a.name}[{lo}:{hi}]"),
                ("reverse", f"{a.name}[::-1]"), ("ellipsis", f"{a.name}[..., {-1 if a.shape[-1] else 0}]"),  # noqa: E501
                ("int_array", f"{a.name}[{literal(idx)}]"),
                ("take", f"jnp.take({a.name}, {literal(idx)}, axis=0)"),
                ("oob_int", f"{a.name}[{n}]")]
        if a.ndim >= 2:
            j = self.d.integers(0, a.shape[1] - 1)
            opts.append(("second_axis", f"{a.name}[:, {j}]"))
            opts.append(("mixed", f"{a.name}[{literal(idx)}, {j}]"))
        got = self.variant("index", opts)
        return got and got[1]

    def op_index_traced(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        ax = self.axis(a, negative=False)
        i0 = self.index_of(a.shape[0])
        i = self.index_of(a.shape[ax])
        opts = [("getitem", f"{a.name}[{i0}]"),
                ("dynamic_slice", f"lax.dynamic_slice_in_dim({a.name}, {i}, 1, axis={ax})"),
                ("dynamic_index",
                 f"lax.dynamic_index_in_dim({a.name}, {i}, axis={ax}, keepdims=False)"),
                ("take", f"jnp.take({a.name}, {i}, axis={ax})")]
        got = self.variant("index_traced", opts)
        if got and self.d.chance(0.2) and self.use("concrete_array_index"):
            # the indexed array is a closed-over concrete constant
            c = literal(rand_array(self.rng, a.shape, a.kind))
            return got[1].replace(a.name, f"jnp.asarray({c})", 1)
        return got and got[1]

    def op_at(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        n = a.shape[0]
        method = self.variant("at", [("set", "set"), ("add", "add"), ("mul", "mul"),
                                     ("min", "min"), ("max", "max")])
        if method is None:
            return None
        method = method[0]
        lo = self.d.integers(0, n - 1)
        hi = self.d.integers(lo, n)
        kind = self.d.weighted([(4, "int"), (2, "slice"), (2, "array"), (3, "traced"),
                                (1, "oob"), (1, "empty")])
        if kind == "array":
            size = self.d.integers(1, n)
            if method == "add":
                idx = self.rng.integers(-n, n, size=size)
            else:
                idx = self.rng.permutation(n)[:size]
            index = literal(idx.astype(np.int32))
        elif kind == "slice":
            if hi == lo and not self.use("at_index:empty_slice"):
                hi = lo + 1
            index = f"{lo}:{hi}"
        elif kind == "traced":
            index = self.index_of(n)
        elif kind == "oob" and self.use("at_index:oob"):
            index = str(n + self.d.integers(0, 1))
        elif kind == "empty" and self.use("at_index:empty_slice"):
            index = "0:0"
        else:
            kind = "int"
            index = str(self.d.integers(-n, n - 1))
        self.tags.add(f"at_index:{kind}")
        try:
            target = infer(f"{a.name}[{index}]", self.env)
            tshape = tuple(target.shape)
        except Exception:
            tshape = a.shape[1:]
        src = self.d.weighted([(3, "py"), (2, "scalar"), (3, "same"), (2, "const")])
        if src == "py":
            v = self.scalar_text()
        elif src == "scalar":
            b = self.pick(self.main)
            v = f"jnp.sum({b.name})"
        elif src == "same":
            v = self.body(f"{a.name}[{index}]", allow_closure=False)
        else:
            shape = list(tshape[self.d.integers(0, len(tshape)):])
            v = self.const(tuple(shape))
        return f"{a.name}.at[{index}].{method}({v})"

    def op_dot(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        m = self.d.choice([1, 2, 3])
        k = a.shape[-1]
        opts = [("matmul_const", f"{a.name} @ {self.const((k, m))}"),
                ("dot_vec", f"jnp.dot({a.name}, {self.const((k,))})")]
        if a.ndim >= 2:
            opts.append(("self_gram", f"{a.name} @ jnp.swapaxes({a.name}, -1, -2)"))
            opts.append(("batched_matmul", f"jnp.matmul({a.name}, {self.const((1, k, m))})"))
        b = self.pick(lambda v: self.arr(v) and v.ndim >= 1 and v.shape[0] == k, recent=0.0)
        if b is not None:
            opts.append(("dot_env", f"jnp.dot({a.name}, {b.name})"))
            opts.append(("tensordot", f"jnp.tensordot({a.name}, {b.name}, axes=1)"))
        if a.ndim == 1:
            opts.append(("outer", f"jnp.outer({a.name}, {self.const((m,))})"))
        # a random einsum: b shares some of a's letters and may bring one of its own
        la = LETTERS[:a.ndim]
        shared = [c for c in la if self.d.chance(0.5)]
        self.rng.shuffle(shared)
        lb = "".join(shared) + ("z" if self.d.chance(0.5) else "")
        bshape = tuple(a.shape[la.index(c)] if c != "z" else 2 for c in lb)
        union = list(dict.fromkeys(la + lb))
        out = [c for c in union if self.d.chance(0.5)]
        self.rng.shuffle(out)
        spec = f"{la},{lb}->{''.join(out)}"
        bb = b.name if b is not None and b.shape == bshape else self.const(bshape)
        opts.append(("einsum", f"jnp.einsum({spec!r}, {a.name}, {bb})"))
        got = self.variant("dot", opts)
        return got and got[1]

    def op_where(self):
        a = self.pick(self.main)
        c = self.pick(lambda v: v.kind in "fi", recent=0.0)
        if a is None or c is None or broadcast_ok(a.shape, c.shape) is None:
            return None
        if math.prod(broadcast_ok(a.shape, c.shape)) > MAX_SIZE:
            return None
        b = self.other_operand(a)
        self.tags.add("where")
        return f"jnp.where({c.name} > 0, {a.name}, {b})"

    def pred(self) -> str:
        p = self.pick(lambda v: v.kind in "fi")
        return f"jnp.sum({p.name}) > 0"

    def op_cond(self):
        a = self.pick(self.main)
        if a is None:
            return None
        b1, b2 = self.body("u"), self.body("u")
        opts = [("cond", f"lax.cond({self.pred()}, lambda u: {b1}, lambda u: {b2}, {a.name})"),
                ("switch", f"lax.switch({self.index_of(3)}, [lambda u: {b1}, lambda u: {b2}, "
                           f"lambda u: {self.body('u')}], {a.name})"),
                ("concrete_pred", f"lax.cond(True, lambda u: {b1}, lambda u: {b2}, {a.name})")]
        got = self.variant("cond", opts)
        return got and got[1]

    def op_fori(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        n = self.d.integers(0, 4)
        step = self.body("c")
        inc = "i" if self.int_mode else "i * 0.25"
        body = self.d.choice([f"{step}", f"({step}) + {inc}"])
        if a.ndim >= 1 and self.d.chance(0.3):
            body = f"({body}) + {a.name}[i % {a.shape[0]}] * {'1' if self.int_mode else '0.5'}"
            self.tags.add("loop_index_closure")
        carry = a.name
        if self.d.chance(0.15) and a.ndim == 0 and self.use("weak_carry:fori"):
            carry = "0" if self.int_mode else "0.0"
            body = f"c + jnp.sum({a.name})"
        upper = str(n)
        if self.d.chance(0.2) and self.use("fori:traced_bound"):
            upper = self.index_of(3) + " + 1"
        self.tags.add("fori")
        return f"lax.fori_loop(0, {upper}, lambda i, c: {body}, {carry})"

    def op_scan(self):
        a = self.pick(lambda v: self.arr(v) and v.ndim >= 1)
        if a is None:
            return None
        init = self.d.choice([f"jnp.zeros_like({a.name}[0])", f"{a.name}[0] * 0.5"
                              if not self.int_mode else f"{a.name}[0] * 2"])
        if a.ndim == 1 and self.d.chance(0.2) and self.use("weak_carry:scan"):
            init = "0" if self.int_mode else "0.0"
        step = self.body("c")
        rev = ", reverse=True" if self.d.chance(0.3) else ""
        opts = [("carry_and_ys", f"lax.scan(lambda c, x: ({step} + x, c * x), {init}, "
                                 f"{a.name}{rev})[{self.d.integers(0, 1)}]"),
                ("no_xs", f"lax.scan(lambda c, _: ({step}, c), {a.name}, None, "
                          f"length={self.d.integers(1, 3)}{rev})[{self.d.integers(0, 1)}]")]
        got = self.variant("scan", opts)
        return got and got[1]

    def op_while(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        n = self.d.integers(0, 3)
        step = self.body("s[1]")
        start = "jnp.int32(0)"
        if self.d.chance(0.25) and self.use("weak_carry:while"):
            start = "0"
        cond = f"s[0] < {n}"
        if self.d.chance(0.3):
            cond = f"(s[0] < {n + 1}) & (jnp.max(jnp.abs(s[1])) < 3)"
            self.tags.add("while:data_cond")
        self.tags.add("while")
        return (f"lax.while_loop(lambda s: {cond}, lambda s: (s[0] + 1, {step}), "
                f"({start}, {a.name}))[1]")

    def op_inner(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        b = self.body("u")
        opts = [("jit", f"jax.jit(lambda u: {b})({a.name})"),
                ("checkpoint", f"jax.checkpoint(lambda u: {b})({a.name})")]
        if a.ndim >= 1:
            opts.append(("vmap", f"jax.vmap(lambda u: {b})({a.name})"))
        if not self.int_mode:
            opts.append(("grad", f"jax.grad(lambda u: jnp.sum({b}))({a.name})"))
        got = self.variant("inner", opts)
        if got and got[0] == "grad":
            self.order += 1
        return got and got[1]

    def op_cast(self):
        a = self.pick(self.arr)
        if a is None:
            return None
        to = "jnp.float32" if self.int_mode else "jnp.int32"
        self.tags.add("cast:kind")
        return f"{a.name}.astype({to})"

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
        if rweak != gweak:
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
        bad = np.isnan(ra) != np.isnan(ga)
        inf = np.isinf(ra) | np.isinf(ga)
        bad |= inf & (ra != ga) & ~(np.isnan(ra) | np.isnan(ga))
        fin = np.isfinite(ra) & np.isfinite(ga)
        scale = max(1.0, float(np.max(np.abs(ra[fin]), initial=0.0)))
        bad |= fin & (np.abs(ra - ga) > tol * scale + tol * np.abs(ra))
        if bad.any():
            return Failure("value", f"{where} (tol {tol:g}): JAX {np.asarray(r).tolist()}, "
                                    f"xform {np.asarray(g).tolist()}", case)
    return None


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
                fail = check(case)
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
    print(f"done: {args.n} cases, {fails} failures, {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
