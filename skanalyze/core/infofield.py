"""The information field (Definition 1): the input region one output activation depends on.

A field is a vector (x, y, c): spatial extents and the number of input channels reached.
It is built kernel by kernel from (1, 1, 1).

Spatial: a kernel of extent k, dilation d after layers with total stride J grows the extent
by (k - 1) * d * J.

Channels, symbolically: the channel index of a tensor is written as mixed-radix digits. A
digit is either *tagged* (it carries one factor of the design input's channel index, so
channels that differ in it see different inputs) or *junk* (channels that differ in it see
the same inputs). A layer with G groups keeps the top digits whose radices multiply to G
(one group = one value of them) and replaces the rest by a junk digit of radix
width_out/G; a shuffle(g) moves the top digits with product g to the end. An output then
reaches c = C / (product of the tagged radices it still carries) input channels. Where a
comparison of symbolic radices is undecided (is N <= C/M?), the algebra branches, so the
result is a Piecewise, e.g. Min(C, C**2/(M*N)) for GConv(M)+Shuffle+PWGConv(N).

Channels, numerically: :func:`propagate` follows the exact input-channel set of every
channel (Python integers as bitsets) for concrete sizes, and is exact for any divisibility.
The torch measurement (skanalyze.nn.measure_field) is the ground truth for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, reduce
from operator import mul, or_

import sympy as sp

from . import symbols as S
from .channels import reach_bound, reached_sets
from .design import Design, Layer
from .errors import SkanalyzeError
from .exact import compile_exact


@dataclass(frozen=True)
class Field:
    """A design's information field and the condition under which it is full (c = C)."""

    x: sp.Expr
    y: sp.Expr
    c: sp.Expr
    full_condition: sp.Basic  # a sympy boolean: when c == C
    aligned: bool = True  # False: at these values a group boundary cuts a digit unevenly (see propagate)
    c_max: sp.Expr | None = None  # the most input channels one output reaches (None: every output reaches c)
    nesting: tuple = ()  # (where, ratios of group numbers the expression assumes to be integers)

    def as_tuple(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(x, y, c); c is the least number of input channels any output reaches."""
        return (self.x, self.y, self.c)

    @property
    def uniform(self) -> bool:
        """Whether every output channel reaches the same number of input channels."""
        return self.c_max is None or sp.sympify(self.c_max - self.c).is_zero is True

    @property
    def largest(self) -> sp.Expr:
        """The most input channels one output reaches (c when the field is uniform)."""
        return self.c if self.c_max is None else self.c_max

    def subs(self, values: dict) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(x, y, c) at concrete values."""
        return tuple(sp.sympify(e).subs(values) for e in self.as_tuple())


# -- spatial -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spatial:
    """The spatial part of a field map: extents and the total stride (jump) so far.

    Composition ``a.then(b)`` is associative: extents add in units of a's jump.
    """

    x: sp.Expr = sp.Integer(1)
    y: sp.Expr = sp.Integer(1)
    jump: sp.Expr = sp.Integer(1)

    def then(self, other: Spatial) -> Spatial:
        """The map of applying self's layers, then other's."""
        return Spatial(
            self.x + (other.x - 1) * self.jump,
            self.y + (other.y - 1) * self.jump,
            self.jump * other.jump,
        )


def spatial_of(layer: Layer) -> Spatial:
    """One layer's spatial map."""
    kx, ky = layer.kernel.extent()
    d = layer.kernel.d
    return Spatial(1 + (kx - 1) * d, 1 + (ky - 1) * d, sp.Integer(layer.kernel.s))


def spatial(layers) -> Spatial:
    """The spatial map of a sequence of layers."""
    return reduce(Spatial.then, (spatial_of(lay) for lay in layers), Spatial())


# -- channels: the digit algebra -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Digit:
    radix: sp.Expr
    tag: int | None  # None: junk


@dataclass(frozen=True)
class _Branch:
    conds: tuple[sp.Basic, ...]
    digits: tuple[_Digit, ...]
    next_tag: int
    aligned: bool = True
    nesting: tuple[sp.Expr, ...] = ()  # ratios of group numbers assumed integral (group sizes nest)


_CHANNELS = frozenset({S.C, S.F, S.K})


def _nesting(*radices: sp.Expr) -> tuple[sp.Expr, ...]:
    """The symbolic radices that are ratios of group numbers alone: assuming them integral assumes that
    the group sizes of two layers nest (one divides the other), which the layers do not require."""
    out = []
    for r in radices:
        r = sp.sympify(r)
        if r.free_symbols and not (r.free_symbols & _CHANNELS) and sp.fraction(sp.together(r))[1] != 1:
            out.append(r)
    return tuple(out)


def _integral(value: sp.Expr) -> bool:
    """False only for a number that is not an integer (symbolic radices are assumed integral)."""
    return not (value.is_number and not value.is_Integer)


_ATOMS: dict[str, tuple[sp.Symbol, sp.Basic]] = {}


def _atom(rel: sp.Basic) -> sp.Symbol:
    """A boolean placeholder for a normalized relation, so that logic can be simplified."""
    rel = normalize(rel)
    key = sp.srepr(rel)
    if key not in _ATOMS:
        _ATOMS[key] = (sp.Symbol(f"_rel{len(_ATOMS)}"), rel)
    return _ATOMS[key][0]


def _relations(expr: sp.Basic) -> sp.Basic:
    """Replace the placeholders of _atom by their relations."""
    table = {sym: rel for sym, rel in _ATOMS.values()}
    return expr.xreplace(table) if hasattr(expr, "xreplace") else expr


def _compare(a: sp.Expr, b: sp.Expr) -> str | None:
    """'<', '=', '>' when sympy can decide a vs b, else None."""
    diff = sp.cancel(sp.sympify(b) - a)
    if diff.is_zero:
        return "="
    if diff.is_positive:
        return "<"
    if diff.is_negative:
        return ">"
    return None


def _split(branch: _Branch, g: sp.Expr) -> list[tuple[_Branch, tuple[_Digit, ...], tuple[_Digit, ...]]]:
    """All ways to cut the top digits so their radices multiply to g: (branch, top, rest)."""
    out = []
    digits = branch.digits

    def inside(i, need, top, conds, next_tag):
        dig = digits[i]
        lo = sp.cancel(dig.radix / need)
        tag_hi = tag_lo = None
        if dig.tag is not None:
            tag_hi, tag_lo, next_tag = next_tag, next_tag + 1, next_tag + 2
        rest = ((_Digit(lo, tag_lo),) if lo != 1 else ()) + digits[i + 1 :]
        ok = branch.aligned and _integral(lo) and _integral(need)
        nest = branch.nesting + _nesting(lo, need)
        out.append((_Branch(conds, (), next_tag, ok, nest), top + (_Digit(need, tag_hi),), rest))

    def cut(i, acc, top, conds, next_tag):
        need = sp.cancel(g / acc)
        if need == 1:
            out.append((_Branch(conds, (), next_tag, branch.aligned, branch.nesting), top, digits[i:]))
            return
        if i == len(digits):
            return  # g exceeds the width: impossible
        remaining = reduce(mul, (d.radix for d in digits[i:]), sp.Integer(1))
        if sp.cancel(need - remaining) == 0:
            out.append((_Branch(conds, (), next_tag, branch.aligned, branch.nesting), top + digits[i:], ()))
            return
        dig = digits[i]
        verdict = _compare(need, dig.radix)
        if verdict is None and i == len(digits) - 1:
            verdict = "<"  # a group number never exceeds the width it splits
        if verdict in ("<", "="):
            inside(i, need, top, conds, next_tag)
        elif verdict == ">":
            cut(i + 1, acc * dig.radix, top + (dig,), conds, next_tag)
        else:  # undecided: the cut falls inside this digit, or beyond it
            atom = _atom(sp.Le(need, dig.radix))
            inside(i, need, top, conds + (atom,), next_tag)
            cut(i + 1, acc * dig.radix, top + (dig,), conds + (sp.Not(atom),), next_tag)

    cut(0, sp.Integer(1), (), branch.conds, branch.next_tag)
    return out


def _apply(branches: list[_Branch], op: tuple) -> list[_Branch]:
    out = []
    for br in branches:
        if op[0] == "group":
            _, g, c_out = op
            for head, top, _rest in _split(br, sp.sympify(g)):
                junk = sp.cancel(sp.sympify(c_out) / g)
                digits = top + ((_Digit(junk, None),) if junk != 1 else ())
                out.append(
                    _Branch(head.conds, digits, head.next_tag, head.aligned and _integral(junk), head.nesting)
                )
        elif op[0] == "shuffle":
            for head, top, rest in _split(br, sp.sympify(op[1])):
                out.append(_Branch(head.conds, rest + top, head.next_tag, head.aligned, head.nesting))
        else:  # pragma: no cover - kernels only emit the two primitives
            raise ValueError(op)
    return out


def _channel_pieces(layers, c_in) -> tuple[list[tuple[tuple[sp.Basic, ...], sp.Expr]], bool, tuple]:
    """The (conditions, c) pieces of the channel field, whether every cut was aligned, and the nesting
    assumptions per piece: ((conditions, ratios assumed integral), ...)."""
    branches = [_Branch((), (_Digit(sp.sympify(c_in), 0),), 1)]
    for layer in layers:
        for op in layer.kernel.channel_ops(layer.c_in, layer.c_out):
            branches = _apply(branches, op)
    if not branches:
        raise SkanalyzeError("a group number exceeds the channels it splits")
    pieces = []
    for br in branches:
        tagged = reduce(mul, (d.radix for d in br.digits if d.tag is not None), sp.Integer(1))
        pieces.append((br.conds, sp.cancel(sp.sympify(c_in) / tagged)))
    nesting = tuple(
        (_relations(sp.And(*br.conds)), tuple(dict.fromkeys(br.nesting))) for br in branches if br.nesting
    )
    return pieces, all(br.aligned for br in branches), nesting


# -- relations in a readable normal form ---------------------------------------------------------------
def normalize(rel: sp.Basic) -> sp.Basic:
    """Rewrite a relation between positive expressions without fractions: N <= C/M -> M*N <= C."""
    if isinstance(rel, (sp.And, sp.Or, sp.Not)):
        return rel.func(*(normalize(a) for a in rel.args))
    if not isinstance(rel, sp.core.relational.Relational):
        return rel
    num, _den = sp.fraction(sp.together(rel.rhs - rel.lhs))  # den > 0 for positive symbols
    num = sp.factor(num)
    coeff, factors = num.as_coeff_mul()
    kept = [f for f in factors if f.is_positive is not True]
    body = sp.expand(sp.Mul(sp.sign(coeff), *kept)) if kept else sp.sign(coeff)
    pos = sp.Add(*[t for t in sp.Add.make_args(body) if t.could_extract_minus_sign() is False])
    neg = sp.Add(*[-t for t in sp.Add.make_args(body) if t.could_extract_minus_sign() is True])
    # rel: rhs - lhs OP 0  <=>  pos OP neg  <=> neg OP' pos
    return {sp.Le: sp.Le, sp.Lt: sp.Lt, sp.Ge: sp.Ge, sp.Gt: sp.Gt, sp.Eq: sp.Eq}[type(rel)](neg, pos)


def _same_relation(cond: sp.Basic, lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """Whether cond says exactly lhs <= rhs (up to a positive factor and the boundary)."""
    if not isinstance(cond, (sp.Le, sp.Lt)):
        return False
    a = normalize(cond)
    b = normalize(sp.Le(lhs, rhs))
    return sp.cancel(a.lhs - b.lhs) == 0 and sp.cancel(a.rhs - b.rhs) == 0


def _combine(pieces, c_in=S.C) -> tuple[sp.Expr, sp.Basic]:
    """Fold (conds, c) pieces into one expression and the condition for c == c_in (full field)."""
    by_value: list[tuple[sp.Expr, sp.Basic]] = []
    for conds, c in pieces:
        for i, (value, cond) in enumerate(by_value):
            if sp.cancel(value - c) == 0:
                by_value[i] = (value, sp.Or(cond, sp.And(*conds)))
                break
        else:
            by_value.append((c, sp.And(*conds)))
    by_value = [(v, sp.simplify_logic(cond)) for v, cond in by_value]
    by_value = [(v, cond) for v, cond in by_value if cond is not sp.false]
    full = [cond for v, cond in by_value if sp.cancel(v - c_in) == 0]
    condition = _relations(sp.simplify_logic(sp.Or(*full))) if full else sp.false
    if len(by_value) == 1:
        return by_value[0][0], condition
    if len(by_value) == 2:
        (e1, cond1), (e2, _cond2) = by_value
        rel = _relations(cond1)
        if _same_relation(rel, e1, e2):
            return sp.Min(e1, e2), condition
        if _same_relation(rel, e2, e1):
            return sp.Max(e1, e2), condition
        if isinstance(rel, (sp.Gt, sp.Ge)) and _same_relation(rel.reversed, e2, e1):
            return sp.Min(e1, e2), condition
    pieces_out = [(v, _relations(cond)) for v, cond in by_value]
    expr = sp.Piecewise(*pieces_out[:-1], (pieces_out[-1][0], True))
    return expr, condition


def field(design: Design, values: dict | None = None) -> Field:
    """The symbolic information field of a design (optionally at some concrete values, keyed by symbols or
    their names); cached."""
    values = S.keyed(values)
    unknown = sorted(str(k) for k in values if k not in design.free_symbols | {S.C, S.F, S.K, S.H, S.W})
    if unknown:
        known = ", ".join(sorted(map(str, design.free_symbols | {S.C, S.F})))
        raise SkanalyzeError(f"{design.notation!r} has no symbol {', '.join(unknown)}; its symbols: {known}")
    return _field(design, frozenset(values.items()))


@lru_cache(maxsize=1024)
def _field(design: Design, frozen_values: frozenset) -> Field:
    """Compute :func:`field` (uncached).

    >>> from skanalyze.core.design import parse
    >>> f = field(parse("GConv(M)+PWGConv(N)"))
    >>> f.c, f.full_condition
    (Min(C, C**2/(M*N)), M*N <= C)
    """
    values = dict(frozen_values)
    layers = [lay.subs(values) for lay in design.layers] if values else list(design.layers)
    sp_map = spatial(layers)
    c_in = sp.sympify(S.C).subs(values)
    pieces, aligned, nesting = _channel_pieces(layers, c_in)
    c, condition = _combine(pieces, c_in)
    if values:
        condition = condition.subs(values) if hasattr(condition, "subs") else condition
    if not aligned and _concrete(design, values):
        # a group boundary cuts a digit unevenly: the digit algebra does not apply; follow the channel sets
        _, _, c_min, c_max = propagate(design, {k: int(v) for k, v in values.items()})
        return Field(
            sp_map.x, sp_map.y, sp.Integer(c_min), sp.sympify(c_min == int(c_in)), False, sp.Integer(c_max)
        )
    return Field(sp_map.x, sp_map.y, c, condition, aligned, None, () if values else nesting)


def _concrete(design: Design, values: dict) -> bool:
    """Whether the values fix every symbol a concrete build needs (so the field can be propagated)."""
    needed = design.free_symbols | {S.C}
    if design.uses_bottleneck:
        needed |= {S.K}
    return all(sym in values and sp.sympify(values[sym]).is_Integer for sym in needed)


def trace(design: Design, values: dict | None = None) -> list[tuple[Layer, tuple]]:
    """The field after each layer, cumulative from the input: [(layer, (x, y, c)), ...]."""
    values = values or {}
    layers = [lay.subs(values) for lay in design.layers] if values else list(design.layers)
    c_in = sp.sympify(S.C).subs(values)
    out = []
    for i, layer in enumerate(layers):
        sp_map = spatial(layers[: i + 1])
        pieces, aligned, _ = _channel_pieces(layers[: i + 1], c_in)
        c, _ = _combine(pieces, c_in)
        if not aligned and _concrete(design, values):
            c = _prefix_channels(design, values, i + 1)
        out.append((layer, (sp_map.x, sp_map.y, c)))
    return out


def _prefix_channels(design: Design, values: dict, count: int):
    """The exact channels reached after the first `count` layers: a number, or a (least, most) range."""
    lo, hi = _channel_counts(design, {k: int(v) for k, v in values.items()}, count)
    return sp.Integer(lo) if lo == hi else sp.Interval(lo, hi)


def standard_field(k=3) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The standard convolution's field (k, k, C)."""
    return (sp.sympify(k), sp.sympify(k), S.C)


# -- numeric propagation (exact for any sizes) ---------------------------------------------------------
def propagate(design: Design, values: dict) -> tuple[int, int, int, int]:
    """Exact field at concrete sizes by following channel sets: (x, y, c_min, c_max).

    c_min and c_max differ when output channels do not all reach the same number of inputs.
    """
    c_min, c_max = _channel_counts(design, values)
    sp_map = _spatial_of_design(design)
    x, y = (sp.sympify(e).subs(values) if sp.sympify(e).free_symbols else e for e in (sp_map.x, sp_map.y))
    return int(x), int(y), c_min, c_max


def reaches_every_channel(design: Design, values: dict) -> bool:
    """Whether every output channel reaches every input channel at concrete sizes (exact, by channel sets;
    no set is followed where the product of the fan-ins already says no output can reach them all)."""
    layers = design.at(values)
    ops, c_in = tuple(op for lay in layers for op in lay.ops), int(layers[0].c_in)
    if reach_bound(ops, c_in) < c_in:
        return False
    every = (1 << c_in) - 1
    return all(x == every for x in reached_sets(ops, c_in))


@lru_cache(maxsize=512)
def fan_in_bound(design: Design):
    """The product of a design's fan-ins (``channels.reach_bound`` in closed form) as (an exact function of
    the values, its symbols): an upper bound of the input channels one output reaches, so a value below C rules
    the full field out without following any channel."""
    expr = sp.Integer(1)
    for lay in design.layers:
        width = sp.sympify(lay.c_in)
        for op in lay.kernel.channel_ops(lay.c_in, lay.c_out):
            if op[0] == "group":
                expr, width = expr * width / sp.sympify(op[1]), sp.sympify(op[2])
    args = sorted(expr.free_symbols, key=str)
    return compile_exact(expr, args), tuple(args)


def _channel_sets(design: Design, values: dict, count: int | None = None) -> list[int]:
    """The distinct sets of input channels the output channels reach after the first `count` layers (all:
    None), as bitsets."""
    layers = design.at(values)
    return reached_sets(tuple(op for lay in layers[:count] for op in lay.ops), layers[0].c_in)


def _channel_counts(design: Design, values: dict, count: int | None = None) -> tuple[int, int]:
    """(least, most) input channels one output channel reaches after the first `count` layers (all: None)."""
    counts = [x.bit_count() for x in _channel_sets(design, values, count)]
    return min(counts), max(counts)


@lru_cache(maxsize=1024)
def _spatial_of_design(design: Design) -> Spatial:
    return spatial(design.layers)


# -- exact footprints (integer sizes) ------------------------------------------------------------------
@dataclass(frozen=True)
class Footprint:
    """The exact receptive field of every output channel: extents, channels and spatial positions (min/max)."""

    x: int
    y: int
    c_min: int
    c_max: int
    positions_min: int
    positions_max: int
    covers_window: bool = True  # every output reads every position of the centred k x k window (k = 3)


def footprint(design: Design, values: dict) -> Footprint:
    """Follow, for every channel, the input channels it reads at each offset (dy, dx), through every layer's taps.

    Exact for any kernel (sparse taps included); meant for small sizes (tests, `field --subs`). A channel's
    field is a map from offset to the bitset of input channels read there, so a group's channels are merged
    once before its taps shift them.
    """
    layers = design.at(values)
    fields = [{(0, 0): 1 << c} for c in range(layers[0].c_in)]
    jump = 1
    for lay in layers:
        kern = lay.layer.kernel.subs(values)
        new, seen = [], {}
        for pairs in kern.connections(lay.c_in, lay.c_out):
            key = tuple((tuple(channels), taps) for channels, taps in pairs)
            if key not in seen:
                seen[key] = _reach(fields, pairs, jump)
            new.append(seen[key])
        fields = new
        jump *= kern.s
    spots = [set(f) for f in fields]
    ys = {y for s in spots for y, _ in s}
    xs = {x for s in spots for _, x in s}
    chans = [reduce(or_, f.values(), 0).bit_count() for f in fields]
    pos = [len(s) for s in spots]
    window = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    covers = all(window <= s for s in spots)
    return Footprint(
        max(xs) - min(xs) + 1, max(ys) - min(ys) + 1, min(chans), max(chans), min(pos), max(pos), covers
    )


def _reach(fields: list[dict], pairs, jump: int) -> dict:
    """One output channel's field: for each (channels, taps) pair, the channels' fields merged, then shifted."""
    out: dict = {}
    for channels, taps in pairs:
        merged: dict = {}
        for c in channels:
            for spot, mask in fields[c].items():
                merged[spot] = merged.get(spot, 0) | mask
        for ty, tx in taps:
            for (y, x), mask in merged.items():
                spot = (y + ty * jump, x + tx * jump)
                out[spot] = out.get(spot, 0) | mask
    return {spot: mask for spot, mask in out.items() if mask}


# -- the report of `skanalyze field` -------------------------------------------------------------------
def report(design: Design, values: dict) -> dict:
    """`skanalyze field`: symbolic field, full-field condition and the per-layer trace."""
    f = field(design, values)
    k = next((kern.k for kern in design.kernels if kern.spatial), 3)
    data = {
        "design": design.notation,
        "field": list(f.as_tuple()),
        "condition": f.full_condition,
        "standard": list(standard_field(k)),
        "trace": [{"layer": lay.kernel.notation(), "field": list(fl)} for lay, fl in trace(design, values)],
    }
    if not f.uniform:
        data["c_max"] = f.c_max
    if f.nesting:
        data["exact_when"] = [{"where": where, "integers": list(ratios)} for where, ratios in f.nesting]
    if values:
        data["subs"] = {str(k_): v for k_, v in values.items()}
        data["aligned"] = f.aligned
    return data
