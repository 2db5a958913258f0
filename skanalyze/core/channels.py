"""Channel connectivity at integer sizes: the primitives of ``Kernel.channel_ops`` followed plainly.

A kernel states its channels once, as a tuple of primitives: ``('group', G, c_out)`` (blocks of c_in/G
inputs joined into blocks of c_out/G outputs) and ``('shuffle', g)`` (reshape to (g, per), transpose,
flatten). The field, the footprint and the mixing trait all read them through this module.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

import sympy as sp


def follow_shared(values: list[int], index: list[int], op: tuple) -> tuple[list[int], list[int]]:
    """Apply one channel_ops primitive to shared bitsets of reached inputs (integer sizes): output channel j
    reaches ``values[index[j]]``. ('group', G, c_out) joins blocks of inputs (one bitset per group, so the
    big-integer work is per group, not per channel); ('shuffle', g) is reshape (g, per), transpose, flatten."""
    width = len(index)
    if op[0] == "group":
        g, c_out = int(op[1]), int(op[2])
        block_in, block_out = width // g, c_out // g
        if block_in == 1:  # channel-wise: output j reaches what its group's one input reaches
            return values, [index[j // block_out] for j in range(c_out)]
        merged = [
            reduce(or_, (values[k] for k in set(index[i * block_in : (i + 1) * block_in])), 0)
            for i in range(g)
        ]
        return merged, [j // block_out for j in range(c_out)]
    g = int(op[1])
    per = width // g
    return values, [index[(p % g) * per + p // g] for p in range(width)]


def _follow(ops: tuple, c_in: int) -> tuple[list[int], list[int]]:
    """(values, index): output channel j reaches the inputs in the bitset ``values[index[j]]``."""
    c_in = int(c_in)
    ops = tuple(ops)
    if ops and ops[0][0] == "group" and int(ops[0][1]) < c_in:  # contiguous blocks of the inputs: by masks
        g, c_out = int(ops[0][1]), int(ops[0][2])
        block_in, block_out = c_in // g, c_out // g
        values = [((1 << block_in) - 1) << (i * block_in) for i in range(g)]
        index, ops = [j // block_out for j in range(c_out)], ops[1:]
    else:
        values, index = [1 << c for c in range(c_in)], list(range(c_in))
    for op in ops:
        values, index = follow_shared(values, index, op)
    return values, index


def reach_bound(ops: tuple, c_in: int) -> int:
    """An upper bound of the input channels any one output channel reaches through channel_ops: the product
    of the fan-ins (('group', G, c_out) joins c_in/G inputs, a shuffle is a permutation), since an output
    reaches the union of what its inputs reach. Below c_in, no output can reach every input."""
    width, bound = int(c_in), 1
    for op in ops:
        if op[0] == "group":
            bound *= width // int(op[1])
            width = int(op[2])
    return bound


def reached_sets(ops: tuple, c_in: int) -> list[int]:
    """The distinct bitsets of input channels the output channels reach through a sequence of channel_ops
    primitives (integer sizes)."""
    values, index = _follow(ops, c_in)
    return [values[k] for k in set(index)]


def channel_reach(ops: tuple, c_in: int) -> list[int]:
    """The input channels each output channel reaches through channel_ops, as bitsets (integer sizes)."""
    values, index = _follow(ops, c_in)
    return [values[k] for k in index]


def bits(mask: int) -> list[int]:
    """The positions of a bitset's set bits, in order."""
    out, c = [], 0
    while mask:
        if mask & 1:
            out.append(c)
        mask >>= 1
        c += 1
    return out


def mixing_of(ops: tuple, c_in) -> str:
    """The mixing trait of channel_ops: permute (only shuffles), full (a group of 1), none (one group per
    input channel, every group) or grouped."""
    if all(op[0] == "shuffle" for op in ops):
        return "permute"
    groups = [op[1] for op in ops if op[0] == "group"]
    if any(g is not None and sp.sympify(g) == 1 for g in groups):
        return "full"
    if all(g is not None and sp.sympify(g) == sp.sympify(c_in) for g in groups):
        return "none"
    return "grouped"


__all__ = ["bits", "channel_reach", "follow_shared", "mixing_of", "reached_sets"]
