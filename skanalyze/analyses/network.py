"""Whole networks: the paper's Table 1 layout as an immutable, configurable description.

Stem conv (k x k, stride 2, ``width`` or a fixed number of channels, BN) -> max pool 3x3 s2 ->
stages of blocks at widths width, 2 width, 4 width, ... (the first block of every stage but
the first halves the resolution and doubles the channels) -> global average pool -> FC.
Every block is ``units`` copies of a design; the block has a shortcut (identity where shapes
match; on a shape change a 1x1 projection + BN, a parameter-free zero-padded subsample, or
no shortcut at all), and ReLU follows the sum. BN follows every conv layer.

Counts are exact sympy expressions in ``width`` (and ``B`` when the blocks per stage are
symbolic), per stage and in total; :func:`evaluate` gives exact integers fast (compiled
functions), and skanalyze.nn.build_network builds the same network in torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from functools import lru_cache
from itertools import product

import sympy as sp

from ..core import counting
from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import compile_exact, divisors
from ..core.infofield import fan_in_bound, reaches_every_channel
from .layout import PAPER_LAYOUT, Layout
from .search import largest_fitting, widest_scan


@dataclass(frozen=True)
class Unit:
    """One design placed in the network: its design instance (strides, plan), widths and output size."""

    design: Design
    c_in: sp.Expr
    c_out: sp.Expr
    out_size: int
    groups: dict  # free group symbol -> its value at this stage (fixed or scaled)


@dataclass(frozen=True)
class Block:
    """A block: units in sequence, a shortcut, and how many identical blocks it stands for."""

    stage: int
    units: tuple[Unit, ...]
    shortcut: str | None  # identity | projection | zero-pad | None
    c_in: sp.Expr
    c_out: sp.Expr
    stride: int
    out_size: int
    repeat: sp.Expr


@dataclass(frozen=True)
class Network:
    """A design in a layout: the stem, representative blocks per stage, the classifier."""

    design: Design
    layout: Layout
    stem_width: sp.Expr
    stem_size: int
    blocks: tuple[Block, ...]
    final_width: sp.Expr


def _with_stride(design: Design, where: str) -> Design:
    kernels = list(design.kernels)
    idx = next((i for i, k in enumerate(kernels) if k.spatial), 0) if where == "spatial" else 0
    kernels[idx] = replace(kernels[idx], s=2)
    return replace(design, kernels=tuple(kernels), label=None)


def _scaled_groups(design: Design, factor: int) -> Design:
    kernels = []
    for k in design.kernels:
        if k.free_arg and k.argument() is not None and factor != 1:
            k = k.with_arg(sp.sympify(k.argument()) * factor)
        kernels.append(k)
    return replace(design, kernels=tuple(kernels), label=None)


def network(design: Design, layout: Layout = PAPER_LAYOUT) -> Network:
    """Place a design in a layout (symbolic in `width`)."""
    if layout.bottleneck is not None and design.uses_bottleneck:
        design = replace(design, bottleneck=layout.bottleneck, label=None)
    w = S.width
    stem_width = sp.Integer(layout.stem_width) if layout.stem_width is not None else w
    stem_size, sizes = layout.sizes()
    blocks = []
    c_prev = stem_width
    plan_first = "early" if (layout.widen_at == "first" and not design.is_bottleneck) else design.plan
    for s, b_s in enumerate(layout.blocks):
        width_s = w * 2**s
        base = _scaled_groups(design, 2**s) if layout.group_scaling == "scale" else design
        groups = {g: g * 2**s if layout.group_scaling == "scale" else g for g in design.group_symbols}
        down = s > 0
        first_units = []
        for u in range(layout.units):
            c_in = c_prev if u == 0 else width_s
            inst = base
            if u == 0 and down:
                inst = _with_stride(inst, layout.stride_at)
            if u == 0 and sp.expand(c_in - width_s) != 0:
                inst = replace(inst, plan=plan_first, label=None) if plan_first != inst.plan else inst
            first_units.append(Unit(inst, c_in, width_s, sizes[s], groups))
        change = down or sp.expand(c_prev - width_s) != 0
        shortcut = None if layout.shortcut == "none" else (layout.shortcut if change else "identity")
        blocks.append(
            Block(s, tuple(first_units), shortcut, c_prev, width_s, 2 if down else 1, sizes[s], sp.Integer(1))
        )
        regular = tuple(Unit(base, width_s, width_s, sizes[s], groups) for _ in range(layout.units))
        repeat = sp.sympify(b_s) - 1
        if repeat != 0:
            blocks.append(
                Block(
                    s,
                    regular,
                    None if layout.shortcut == "none" else "identity",
                    width_s,
                    width_s,
                    1,
                    sizes[s],
                    repeat,
                )
            )
        c_prev = width_s
    return Network(design, layout, stem_width, stem_size, tuple(blocks), c_prev)


# -- counting ------------------------------------------------------------------------------------------
def _unit_values(unit: Unit, extra: dict | None = None) -> dict:
    values = {S.C: unit.c_in, S.F: unit.c_out, S.H: unit.out_size, S.W: unit.out_size}
    if unit.design.uses_bottleneck:
        values[S.K] = sp.sympify(unit.design.bottleneck).subs({S.C: unit.c_in, S.F: unit.c_out})
    return values


# The parts around the design units, counted once here for symbols and integers alike.
def stem_counts(layout: Layout, width, size: int) -> tuple:
    """(params, MACs) of the stem conv (k x k, bias-free) with its BN when counted, at `width` channels."""
    weights = layout.stem_kernel**2 * layout.in_channels * width
    return weights + (2 * width if layout.bn else 0), weights * size**2


def projection_counts(c_in, c_out, size: int, bn: bool) -> tuple:
    """(params, MACs) of a 1x1 projection shortcut with its BN when counted."""
    return c_in * c_out + (2 * c_out if bn else 0), c_in * c_out * size**2


def classifier_counts(final_width, classes: int) -> tuple:
    """(params, MACs) of the fully connected classifier (with bias) after global average pooling."""
    return final_width * classes + classes, final_width * classes


def _shortcut_counts(block: Block, bn: bool) -> tuple[sp.Expr, sp.Expr]:
    if block.shortcut != "projection":
        return sp.Integer(0), sp.Integer(0)
    return projection_counts(block.c_in, block.c_out, block.out_size, bn)


@dataclass(frozen=True)
class Counts:
    """Params and MACs of a network: per part ('stem', 'stage 1', ..., 'classifier') and the total."""

    params: dict
    macs: dict

    @property
    def total_params(self) -> sp.Expr:
        """All parameters."""
        return sp.expand(sum(self.params.values(), sp.Integer(0)))

    @property
    def total_macs(self) -> sp.Expr:
        """All multiply-accumulates."""
        return sp.expand(sum(self.macs.values(), sp.Integer(0)))


def counts(net: Network, groups: dict | None = None) -> Counts:
    """Exact symbolic params and MACs per part, in `width` (and B, and free group symbols unless given)."""
    lay = net.layout
    groups = groups or {}
    params: dict = {}
    macs: dict = {}
    params["stem"], macs["stem"] = stem_counts(lay, net.stem_width, net.stem_size)
    for block in net.blocks:
        key = f"stage {block.stage + 1}"
        p_sum, m_sum = _shortcut_counts(block, lay.bn)
        for unit in block.units:
            values = _unit_values(unit)
            p = counting.params(unit.design, bn=lay.bn).subs(values)
            m = counting.macs(unit.design).subs(values)
            sub = {g: sp.sympify(v).subs(groups) for g, v in unit.groups.items()}
            sub.update({g: v for g, v in groups.items() if g not in sub})
            p_sum += p.subs(sub, simultaneous=True)
            m_sum += m.subs(sub, simultaneous=True)
        params[key] = params.get(key, 0) + block.repeat * p_sum
        macs[key] = macs.get(key, 0) + block.repeat * m_sum
    if lay.classifier:
        params["classifier"], macs["classifier"] = classifier_counts(net.final_width, lay.classes)
    params = {k: counting.canonical(v) for k, v in params.items()}
    macs = {k: counting.canonical(v) for k, v in macs.items()}
    return Counts(params, macs)


def concrete(net: Network, width: int, groups: dict | None = None) -> dict:
    """Every symbol's value per unit at a concrete width; raises if a group number does not divide."""
    if not (isinstance(width, int) and width > 0):
        raise SkanalyzeError(f"width (={width}) must be a positive integer")
    groups = groups or {}
    missing = [str(g) for g in net.design.group_symbols if g not in groups]
    if missing:
        raise SkanalyzeError(
            f"network of {net.design.notation!r} needs group numbers: {', '.join(missing)} (e.g. --subs "
            + " ".join(f"{m}=4" for m in missing)
            + ")"
        )
    return {S.width: width, **groups}


def evaluate(
    net: Network, width: int, groups: dict | None = None, *, validate: bool = True
) -> tuple[dict, dict]:
    """Exact integer params and MACs per part at a concrete width (fast); validates every unit (unless told
    not to: a search ranks candidates by cost first and validates only those it tries)."""
    base = concrete(net, width, groups)
    lay = net.layout
    stem = stem_counts(lay, int_at(net.stem_width, base), net.stem_size)
    params, macs = {"stem": stem[0]}, {"stem": stem[1]}
    for block in net.blocks:
        key = f"stage {block.stage + 1}"
        c_in, c_out = int_at(block.c_in, base), int_at(block.c_out, base)
        p_sum = m_sum = 0
        if block.shortcut == "projection":
            p_sum, m_sum = projection_counts(c_in, c_out, block.out_size, lay.bn)
        for unit in block.units:
            values = _unit_int_values(unit, base)
            try:
                if validate:
                    unit.design.at(values)
            except SkanalyzeError as err:
                raise SkanalyzeError(f"width {width}, {key}: {err}") from None
            p_sum += counting.params_at(unit.design, values, bn=lay.bn, validate=False)
            m_sum += counting.macs_at(unit.design, values, validate=False)
        repeat = int_at(block.repeat, base)
        params[key] = params.get(key, 0) + repeat * p_sum
        macs[key] = macs.get(key, 0) + repeat * m_sum
    if lay.classifier:
        params["classifier"], macs["classifier"] = classifier_counts(
            int_at(net.final_width, base), lay.classes
        )
    return params, macs


def int_at(expr, base: dict) -> int:
    """An integer from width-like expressions (n, width, n*width, n*g) without sympy's slow subs."""
    kind, coeff, symbol = _num_plan(expr)
    if kind == "int":
        return coeff
    if kind == "mul" and symbol in base:
        value = coeff * base[symbol]
        if value.denominator == 1:
            return int(value)
    return int(sp.sympify(expr).subs(base))


@lru_cache(maxsize=4096)
def _num_plan(expr) -> tuple:
    """How to read a width-like expression once: ('int', n), ('mul', coefficient, symbol) or ('subs',)."""
    expr = sp.sympify(expr)
    if expr.is_Integer:
        return "int", int(expr), None
    coeff, rest = expr.as_coeff_Mul()
    if coeff.is_Rational:
        return "mul", Fraction(int(coeff.p), int(coeff.q)), rest
    return "subs", None, None


@lru_cache(maxsize=512)
def _bottleneck_fn(expr: sp.Expr):
    fn = compile_exact(expr, (S.C, S.F))
    return lambda c, f: Fraction(fn(c, f))


def _unit_int_values(unit: Unit, base: dict) -> dict:
    c_in, c_out = int_at(unit.c_in, base), int_at(unit.c_out, base)
    values = {S.C: c_in, S.F: c_out, S.H: unit.out_size, S.W: unit.out_size}
    if unit.design.uses_bottleneck:
        k = _bottleneck_fn(sp.sympify(unit.design.bottleneck))(c_in, c_out)
        if k.denominator != 1 or k <= 0:
            raise SkanalyzeError(
                f"width {base[S.width]}: bottleneck K = {unit.design.bottleneck} is not a positive integer at C={c_in}, F={c_out}"
            )
        values[S.K] = int(k)
    for g, v in unit.groups.items():
        values[g] = int_at(v, base)
    return values


def unit_values(net: Network, width: int, groups: dict | None = None) -> list[list[dict]]:
    """Integer values of every unit of every representative block (for building in torch)."""
    base = concrete(net, width, groups)
    return [[_unit_int_values(u, base) for u in block.units] for block in net.blocks]


# -- network-level budgets -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Widest:
    """The widest buildable network under a budget: its width, group numbers and exact counts."""

    width: int
    groups: dict
    params: int
    macs: int
    widths_searched: int


def full_field_ok(net: Network, width: int, groups: dict) -> bool:
    """Whether every unit of the network has a full information field at this width and these groups; raises
    SkanalyzeError where a unit does not build (a group number that does not divide what it splits), unless
    the product of its fan-ins already rules its field out (False)."""
    base = concrete(net, width, groups)
    seen = set()
    for block in net.blocks:
        for unit in block.units:
            values = _unit_int_values(unit, base)
            key = (unit.design, tuple(sorted((k.name, v) for k, v in values.items())))
            if key in seen:
                continue
            seen.add(key)
            if _unit_full(unit.design, values) is False:
                return False
    return True


def builds_with_full_field(net: Network, width: int, groups: dict) -> bool:
    """Whether the network builds at this width and these group numbers and every unit keeps the full field
    (following each unit's channels validates it on the way): what a widest-network search accepts."""
    try:
        return full_field_ok(net, width, groups)
    except SkanalyzeError:
        return False


@lru_cache(maxsize=4096)
def _unit_full_cached(design: Design, items: tuple) -> bool:
    return reaches_every_channel(design, dict(items))  # exact at concrete sizes (the symbolic field agrees)


def _unit_full(design: Design, values: dict) -> bool:
    bound, args = fan_in_bound(design)
    # below C, no output reaches every input whatever the channels' order (or the unit does not build)
    if all(a in values for a in args) and bound(*(values[a] for a in args)) < values[S.C]:
        return False
    items = tuple(
        sorted(((k, v) for k, v in values.items() if k not in (S.H, S.W)), key=lambda kv: kv[0].name)
    )
    return _unit_full_cached(design, items)


def group_candidates(net: Network, width: int) -> list[dict]:
    """Every assignment of the free group numbers that divides every width it splits, at every stage."""
    syms = net.design.group_symbols
    if not syms:
        return [{}]
    # a group number splits the stage-1 width (fixed mode) or its stage-s multiple (scaled): it divides `width`
    options = divisors(width)
    return [dict(zip(syms, combo, strict=True)) for combo in product(options, repeat=len(syms))]


def widest(
    design: Design,
    layout: Layout,
    budget: int,
    objective: str = "params",
    *,
    max_scan: int = 100_000,
    on_step=None,
) -> Widest:
    """The widest buildable network whose total params (or MACs) fit the budget, exactly.

    Group numbers given as integers stay; free ones are chosen per width (the cheapest with a full
    field at every stage). Widths are scanned down from an upper bound found by bisection on the
    cost with every free group at its largest value.
    """
    if objective not in ("params", "macs"):
        raise SkanalyzeError(f"objective {objective!r} is unknown; valid: params, macs")
    net = network(design, layout)
    index = 0 if objective == "params" else 1

    syms = design.group_symbols
    symbolic = counts(net)
    total = symbolic.total_params if objective == "params" else symbolic.total_macs
    compiled = compile_exact(total, (S.width, *syms)) if total.free_symbols <= {S.width, *syms} else None

    def costs_at(width):
        for groups in group_candidates(net, width):
            if compiled is not None:  # the total in width and the group numbers, compiled once: exact
                yield compiled(width, *(groups[g] for g in syms)), groups
                continue
            try:  # ranked by cost first; widest_scan validates only the ones it tries (accept)
                yield sum(evaluate(net, width, groups, validate=False)[index].values()), groups
            except SkanalyzeError:  # a count that is not an integer: not buildable with these group numbers
                continue

    # upper bound: cost with the groups as large as they can be, ignoring divisibility, is a lower bound
    lb = compile_exact(relaxed_total(net, objective), (S.width,))
    lo = largest_fitting(lambda w: lb(w) <= budget, start=0, limit=2**29) or 0
    if lo == 2**29:
        raise SkanalyzeError(f"budget {budget} is absurd for a network: no width bound below 10^9")
    found = widest_scan(
        lo, costs_at, budget, lambda w, g: builds_with_full_field(net, w, g), max_scan, on_step=on_step
    )
    if found is None:
        raise SkanalyzeError(
            f"budget {budget} is too small for any buildable {design.notation} network in this layout"
        )
    width, groups, _, searched = found
    params, macs = evaluate(net, width, groups)
    return Widest(width, groups, sum(params.values()), sum(macs.values()), searched)


def relaxed_parts(net: Network, objective: str) -> dict:
    """Cost per part ('stem', 'stage 1', ..., 'classifier') in `width`, B substituted and every free group number
    at its largest value (a group never exceeds the stage-1 width it splits): a lower bound of each part."""
    c = counts(net)
    parts = c.params if objective == "params" else c.macs
    caps = {}
    for block in net.blocks:
        for unit in block.units:
            for layer in unit.design.layers:
                arg = layer.kernel.argument() if layer.kernel.arg else None
                if arg is None:
                    continue
                for g in net.design.group_symbols:
                    if sp.sympify(arg).has(g):
                        caps.setdefault(g, S.width)
    out = {k: sp.sympify(v).subs(caps) for k, v in parts.items()}
    if any(v.free_symbols - {S.width} for v in out.values()):
        raise SkanalyzeError(
            f"network budget needs concrete blocks per stage (got {net.layout.blocks}); e.g. --blocks 2,2,2,2"
        )
    return out


def relaxed_total(net: Network, objective: str) -> sp.Expr:
    """Total cost in `width` with B substituted and every free group number at its largest value."""
    return sp.expand(sum(relaxed_parts(net, objective).values(), sp.Integer(0)))


# -- the report of `skanalyze network` -----------------------------------------------------------------
def layout_dict(layout: Layout) -> dict:
    """A layout as plain data (blocks and the bottleneck as sympy values)."""
    out = asdict(layout)
    out["blocks"] = [sp.sympify(b) for b in layout.blocks]
    out["bottleneck"] = None if layout.bottleneck is None else sp.sympify(layout.bottleneck)
    return out


def report(
    design: Design,
    layout: Layout,
    width: int | None,
    budget: int | None,
    values: dict,
    *,
    objective: str = "params",
    on_step=None,
) -> tuple[dict, object]:
    """`skanalyze network`: per-part counts at a width, or of the widest network under a budget (``on_step``
    hears of every width the search tries).

    Returns the data and the network whose counts it holds (at the width in the data)."""
    if (width is None) == (budget is None):
        raise SkanalyzeError(
            "give either --width W (counts) or --budget P (the widest network), not both or neither"
        )
    groups = {k: int(v) for k, v in S.resolve(values).items() if k in design.group_symbols}
    unknown = [str(k) for k in values if k not in design.group_symbols]
    if unknown:
        raise SkanalyzeError(
            f"network substitutions {', '.join(unknown)} are not group numbers of {design.notation!r}; "
            f"valid: {', '.join(map(str, design.group_symbols)) or 'none'}"
        )
    net = network(design, layout)
    found, built_with = None, groups  # built_with: the group numbers shown, given (and found)
    if budget is not None:
        if layout.symbolic_blocks:
            raise SkanalyzeError("a network budget needs concrete blocks per stage, e.g. --blocks 2,2,2,2")
        fixed = net if not groups else network(design.subs_groups(groups), layout)
        found = widest(fixed.design, layout, budget, objective, on_step=on_step)
        width, groups = found.width, {**groups, **found.groups}
        built_with = groups
        net = network(design.subs_groups(groups), layout) if groups else net
        groups = {}
    if width <= 0:
        raise SkanalyzeError(f"--width (={width}) must be positive")
    sym = counts(net, groups)
    if layout.symbolic_blocks:
        params = {k: v.subs(S.width, width) for k, v in sym.params.items()}
        macs = {k: v.subs(S.width, width) for k, v in sym.macs.items()}
    else:
        params, macs = evaluate(net, width, groups)
    data = {
        "design": design.notation,
        "width": width,
        "layout": layout_dict(layout),
        "params": {**params, "total": sum(params.values(), sp.Integer(0))},
        "macs": {**macs, "total": sum(macs.values(), sp.Integer(0))},
        "symbolic": {"params": sym.total_params, "macs": sym.total_macs},
    }
    if built_with:
        data["groups"] = {str(k): int(v) for k, v in built_with.items()}
    if found is not None:
        # the keys of `optimize`: the budget, what it counts, how many widths the search tried
        data.update(budget=budget, objective=objective, widths_searched=found.widths_searched)
    return data, (net, groups)
