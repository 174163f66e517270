"""Which mesh axes a value inside a ``shard_map`` body may vary over (JAX's "vma").

``shard_map(..., check_vma=True)`` checks, when the body is traced, that every result is
replicated over the mesh axes its ``out_specs`` entry leaves out: a result laid out as ``P()``
but computed from a sharded operand without a ``psum`` would otherwise come back as one
device's block, silently. JAX tracks this in its types; xform's avals do not carry it, so this
module infers it from the body jaxpr:

- an operand varies over the axes its ``in_specs`` entry mentions; constants vary over none;
- ``psum``/``pmax``/``pmin``/``all_gather``/``pbroadcast`` over axes ``A`` give a value
  replicated over ``A``; ``axis_index``, ``ppermute``, ``psum_scatter``, ``all_to_all`` and
  ``pvary`` over ``A`` give a value varying over ``A``;
- any other equation's results vary over the union of its operands' axes; calls (``jit``,
  custom rules, checkpoint), ``cond`` and loops (to a fixed point over the carry) are looked
  into, so a ``psum`` inside them counts.

The inference is conservative: a value it calls replicated is replicated on every device.
"""

from __future__ import annotations

from typing import Sequence

from xform.core.ir import ClosedJaxpr, Jaxpr, Literal

_REPLICATING = {"psum", "pmax", "pmin", "all_gather", "pbroadcast"}
_VARYING = {"axis_index", "ppermute", "reduce_scatter", "all_to_all", "pvary"}


def jaxpr_vma(jaxpr: Jaxpr, in_vma: Sequence[frozenset],
              const_vma: Sequence[frozenset] | None = None) -> list[frozenset]:
    """The axes each output of ``jaxpr`` may vary over, given its inputs'."""
    env: dict = {}
    for v in jaxpr.constvars:
        env[v] = frozenset()
    if const_vma is not None:
        for v, s in zip(jaxpr.constvars, const_vma):
            env[v] = s
    for v, s in zip(jaxpr.invars, in_vma):
        env[v] = frozenset(s)

    def read(a):
        return frozenset() if isinstance(a, Literal) else env.get(a, frozenset())

    for eqn in jaxpr.eqns:
        ins = [read(a) for a in eqn.invars]
        outs = _eqn_vma(eqn, ins)
        for v, s in zip(eqn.outvars, outs):
            env[v] = s
    return [read(v) for v in jaxpr.outvars]


def _union(sets) -> frozenset:
    out: frozenset = frozenset()
    for s in sets:
        out = out | s
    return out


def _closed(c: ClosedJaxpr, ins: Sequence[frozenset]) -> list[frozenset]:
    return jaxpr_vma(c.jaxpr, ins)


def _eqn_vma(eqn, ins: list[frozenset]) -> list[frozenset]:
    name, params, n_out = eqn.primitive.name, eqn.params, len(eqn.outvars)
    everything = _union(ins)
    if name in _REPLICATING:
        return [everything - frozenset(params["axes"])] * n_out
    if name in _VARYING:
        return [everything | frozenset(params["axes"])] * n_out
    if name == "cond":
        index, ops = ins[0], ins[1:]
        per = [_closed(b, ops) for b in params["branches"]]
        return [_union(col) | index for col in zip(*per)]
    if name == "scan":
        return _scan_vma(ins, params)
    if name == "while":
        return _while_vma(ins, params)
    subs = [v for v in params.values() if isinstance(v, ClosedJaxpr)]
    if len(subs) == 1 and len(subs[0].in_avals) == len(ins) \
            and len(subs[0].out_avals) == n_out:
        return _closed(subs[0], ins)  # a call: jit, custom rules, checkpoint, shard_map's body
    return [everything] * n_out


def _scan_vma(ins, params) -> list[frozenset]:
    nc, nk = params["num_consts"], params["num_carry"]
    consts, carry, xs = ins[:nc], list(ins[nc:nc + nk]), ins[nc + nk:]
    while True:
        outs = _closed(params["jaxpr"], [*consts, *carry, *xs])
        new = [c | o for c, o in zip(carry, outs[:nk])]
        if new == carry:
            return [*carry, *outs[nk:]]
        carry = new


def _while_vma(ins, params) -> list[frozenset]:
    cn, bn = params["cond_nconsts"], params["body_nconsts"]
    cc, bc, carry = ins[:cn], ins[cn:cn + bn], list(ins[cn + bn:])
    while True:
        outs = _closed(params["body_jaxpr"], [*bc, *carry])
        # a predicate that varies makes the number of iterations, so every carry, vary
        pred = _closed(params["cond_jaxpr"], [*cc, *carry])[0]
        new = [c | o | pred for c, o in zip(carry, outs)]
        if new == carry:
            return carry
        carry = new
