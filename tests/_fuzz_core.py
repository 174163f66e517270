"""Basics of the differential test's cases (tests/test_differential.py): where choices come from,
the namespaces a case runs in, values, literals, the `Case` itself and shape inference."""

from __future__ import annotations

import math
import random
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


def _cjvp(f):
    # f with a custom JVP rule that is f's own JVP: the same values, through the custom path
    g = jax.custom_jvp(f)
    g.defjvp(lambda p, t: jax.jvp(f, p, t))
    return g


def _cvjp(f):
    # f with a custom VJP whose backward pass is f's own VJP, recomputed from the input
    g = jax.custom_vjp(f)
    g.defvjp(lambda x: (g(x), x), lambda x, ct: jax.vjp(f, x)[1](ct))
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


