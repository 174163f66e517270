"""The op pool of the differential test: each op draws operands from the program's environment
and returns the source text of one expression (using `jax`, `jnp`, `lax`, `np`), or None when it
does not apply. Mixed into `Gen` (tests/_fuzz_programs.py), which owns the environment."""

from __future__ import annotations

import math

import numpy as np

from _fuzz_core import MAX_SIZE, LETTERS, Val, _fmt, broadcast_ok, infer, literal, rand_array

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


class Ops:
    """Environment helpers and ops; expects `self.d`, `self.env`, `self.int_mode`, `self.rng`,
    `self.tags`, `self.order` and the tag methods of `Gen`."""

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
        if src is None:  # no array to index from yet (only Python scalars): a static index
            return str(self.d.integers(0, n - 1))
        fn = self.d.choice(["argmax", "argmin"])
        if self.d.chance(0.2):
            return f"jnp.{fn}({src.name}) % {n} - {n}"
        return f"jnp.{fn}({src.name}) % {n}"

    def body(self, u: str, allow_closure=True) -> str:
        b = self.d.choice(BODIES_INT if self.int_mode else BODIES_FLOAT).format(u=u)
        self.plain_body = b  # the body without the closure drawn next
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
            opts.append(("map", f"lax.map(lambda u: {b}, {a.name})"))
        if not self.int_mode:
            opts.append(("grad", f"jax.grad(lambda u: jnp.sum({b}))({a.name})"))
            # a custom rule differentiates its function in its explicit arguments only: JAX
            # documents differentiating one with respect to a value it closes over as
            # unsupported (and raises, or not, depending on where the value was traced), so
            # custom functions close over nothing (the draws stay those of the other variants)
            plain = self.plain_body
            opts.append(("custom_jvp", f"_cjvp(lambda u: {plain})({a.name})"))
            opts.append(("custom_vjp", f"_cvjp(lambda u: {plain})({a.name})"))
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

