"""What each command reports, as data: one function per command, returning a dict (or a list of dicts)
of sympy values, integers and strings. The printers in skanalyze.render turn it into text, LaTeX,
Markdown, Python or JSON; the JSON output is this data as it is.
"""

from __future__ import annotations

from dataclasses import asdict

import sympy as sp

from ..core import counting
from ..core import symbols as S
from ..core.catalog import BY_NAME, DEFAULT_FORMULAS, ENTRIES, resolve
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field, standard_field, trace
from . import space
from .efficiency import analyse, greatest_width, theorem1_integers
from .network import Layout, counts, evaluate, network, widest
from .optimize import optimize as run_optimize


def designs_from(
    names: list[str] | tuple[str, ...] | None, default=DEFAULT_FORMULAS, **options
) -> list[Design]:
    """Resolve design arguments (catalog names or notation); the defaults when none is given."""
    return [resolve(n, **options) for n in (names or default)]


def description(design: Design) -> str:
    """The catalog description of a design, or '' for a design typed in the notation."""
    if design.label:
        return BY_NAME[design.label.split("(")[0]].description
    return ""


def complete_values(design: Design, values: dict) -> dict:
    """Values with K filled in from the design's bottleneck when the user gave none."""
    values = S.resolve(values)
    if values and design.uses_bottleneck and S.K not in values:
        values[S.K] = design.bottleneck.subs(values)
    if values:
        design.validate(values)
    return values


def require_values(design: Design, values: dict, what: str) -> None:
    """Raise unless every symbol a torch build needs has a value (a one-line error with an example)."""
    missing = sorted((design.free_symbols | {S.C}) - set(values), key=str)
    if missing:
        raise SkanalyzeError(
            f"{what} {design.notation!r} needs values for {', '.join(map(str, missing))}; e.g. --subs "
            + " ".join(f"{m}={4 if str(m) in 'MN' else 16}" for m in missing)
        )


def _subs_all(expr, values):
    return counting.canonical(expr.subs(values)) if isinstance(expr, sp.Basic) and values else expr


# -- formulas, designs -------------------------------------------------------------------------------------
def formulas_data(design: Design, values: dict, *, bn: bool = False) -> dict:
    """The formulas of one design as a dict of sympy values (the JSON and text reports share it)."""
    values = complete_values(design, values)
    p, m = counting.params(design, bn=bn), counting.macs(design)
    if values:
        p, m = counting.canonical(p.subs(values)), counting.canonical(m.subs(values))
    data = {
        "design": design.notation,
        "label": design.label,
        "description": description(design),
        "params": p,
        "macs": m,
        "flops": counting.canonical(counting.FLOPS_PER_MAC * m),
        "bn_counted": bn,
    }
    if design.uses_bottleneck:
        data["bottleneck"] = design.bottleneck
    if values:
        data["subs"] = {str(k): v for k, v in values.items()}
    data["symbols"] = S.symbols_of(p, m, design.bottleneck if design.uses_bottleneck else 0)
    return data


def formulas(designs: list[Design], values: dict, *, bn: bool = False) -> list[dict]:
    """`skanalyze formulas`: one dict per design."""
    return [formulas_data(d, values, bn=bn) for d in designs]


def catalog() -> list[dict]:
    """`skanalyze designs`: name, notation and description of every catalog entry."""
    return [
        {
            "name": e.name,
            "notation": e.design().notation,
            "description": e.description + (f" (knob: {e.knob}, default {e.default})" if e.knob else ""),
        }
        for e in ENTRIES
    ]


# -- efficiency ----------------------------------------------------------------------------------------
def efficiency_data(design: Design, values: dict) -> dict:
    """Ratios, full-field condition, optimal groups and greatest width of one design."""
    values = S.resolve(values)
    if values:
        design.validate(values)
    eff = analyse(design)
    opt = eff.optimum
    data = {
        "design": design.notation,
        "param_ratio": _subs_all(eff.param_ratio, values),
        "mac_ratio": _subs_all(eff.mac_ratio, values),
        "full_condition": eff.full_condition.subs(values)
        if values and hasattr(eff.full_condition, "subs")
        else eff.full_condition,
        "optimum": {
            "status": opt.status,
            "boundary": opt.boundary,
            "boundary_ratio": _subs_all(opt.boundary_ratio, values)
            if opt.boundary_ratio is not None
            else None,
            "groups": {str(g): _subs_all(v, values) for g, v in opt.groups.items()},
            "params": _subs_all(opt.params, values) if opt.params is not None else None,
            "ratio": _subs_all(opt.ratio, values) if opt.ratio is not None else None,
            "valid_when": list(opt.valid_when),
            "steps": list(opt.steps),
        },
    }
    if design.uses_bottleneck:
        data["bottleneck"] = design.bottleneck
    try:
        width = greatest_width(design)
        data["width"] = {
            "closed_form": width.width,
            "equation": width.equation,
            "groups": {str(g): v for g, v in width.groups.items()},
            "relation": width.relation,
            "least_params": width.least,
        }
    except SkanalyzeError as err:
        data["width"] = {"error": str(err)}
    return data


def theorem1(design: Design, c_max: int) -> dict:
    """Theorem 1 checked over integers for 2 <= C <= c_max and F in {C, 2C}."""
    if c_max < 2 or c_max > 512:
        raise SkanalyzeError(f"--integers (={c_max}) must be between 2 and 512")
    out = {"c_max": c_max, "checked": 0, "on_boundary": 0, "counterexamples": []}
    for c in range(2, c_max + 1):
        check = theorem1_integers(design, [c], [c, 2 * c])
        out["checked"] += check.checked
        out["on_boundary"] += check.on_boundary
        out["counterexamples"] += [
            {"values": {str(k): int(v) for k, v in vals.items()}, "least_params": p, "least_on_boundary": q}
            for vals, p, q in check.counterexamples
        ]
    return out


def efficiency(design: Design, values: dict, integers: int | None = None) -> dict:
    """`skanalyze efficiency`: the efficiency data, with the integer check of Theorem 1 when asked."""
    data = efficiency_data(design, values)
    if integers is not None:
        data["theorem1_integers"] = theorem1(design, integers)
    return data


# -- optimize ------------------------------------------------------------------------------------------
def optimize(design: Design, budget: int, alpha, objective: str = "params", hw: int | None = None) -> dict:
    """`skanalyze optimize`: the continuous and the buildable optimum."""
    result = run_optimize(design, budget, alpha, objective, hw)
    b = result.buildable
    buildable = {str(k): int(v) for k, v in b.values.items()}
    buildable["params"] = b.params
    if objective == "macs":
        buildable["macs"] = b.cost
    continuous = {
        "width": float(result.continuous_width),
        "exact": result.continuous_exact,
        **{str(g): v for g, v in result.continuous_groups.items()},
    }
    if result.continuous_exact:
        continuous["width_exact"] = result.continuous_width
    return {
        "design": design.notation,
        "budget": budget,
        "objective": objective,
        "hw": hw,
        "alpha": str(result.alpha),
        "continuous": continuous,
        "buildable": buildable,
        "width_gap": float(result.width_gap),
        "widths_searched": result.widths_searched,
    }


# -- field ---------------------------------------------------------------------------------------------
def field_data(design: Design, values: dict) -> dict:
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


# -- space ---------------------------------------------------------------------------------------------
def explain(design_text: str, alphabet_names, mode: str) -> dict:
    """`skanalyze space --explain`: why one design is kept or dropped."""
    v = space.explain(design_text, alphabet_names, mode)
    return {
        "design": v.word,
        "kept": v.kept,
        "stage": v.stage,
        "reason": v.reason,
        "bottleneck": v.bottleneck,
    }


def space_data(alphabet_names, max_length: int, mode: str) -> dict:
    """`skanalyze space`: stage table, survivors by family, comparison with the paper."""
    red = space.reduce_space(alphabet_names or space.PAPER_ALPHABET, max_length, mode)
    cmp = space.compare_with_paper(red)
    return {
        "alphabet": [x.name for x in red.alphabet],
        "max_length": max_length,
        "regex": mode,
        "pattern": space.PATTERN,
        "stages": [{"name": n, "kept": k} for n, k in red.stages()],
        "per_length": list(red.per_length),
        "survivors": [v.word for v in red.survivors],
        "bottleneck_exception": [v.word for v in red.survivors if v.bottleneck],
        "families": red.families,
        "paper": {w: {"kept": v.kept, "stage": v.stage, "reason": v.reason} for w, v in cmp["paper"].items()},
        "not_in_paper": [v.word for v in cmp["extra"]],
    }


# -- networks ------------------------------------------------------------------------------------------
def layout_dict(layout: Layout) -> dict:
    """A layout as plain data (symbolic blocks and the bottleneck as strings)."""
    out = asdict(layout)
    out["blocks"] = [str(b) for b in layout.blocks]
    out["bottleneck"] = None if layout.bottleneck is None else str(layout.bottleneck)
    return out


def network_data(
    design: Design,
    layout: Layout,
    width: int | None,
    budget: int | None,
    values: dict,
    *,
    objective: str = "params",
) -> tuple[dict, object]:
    """`skanalyze network`: per-part counts at a width, or of the widest network under a budget.

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
    found = None
    if budget is not None:
        if layout.symbolic_blocks:
            raise SkanalyzeError("a network budget needs concrete blocks per stage, e.g. --blocks 2,2,2,2")
        fixed = net if not groups else network(design.subs_groups(groups), layout)
        found = widest(fixed.design, layout, budget, objective)
        width, groups = found.width, {**groups, **found.groups}
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
    if groups:
        data["groups"] = {str(k): v for k, v in groups.items()}
    if found is not None:
        data["budget"] = {
            "objective": objective,
            "value": budget,
            "widths_searched": found.widths_searched,
            "groups": {str(k): int(v) for k, v in found.groups.items()},
        }
    return data, (net, groups)


__all__ = [
    "designs_from",
    "description",
    "complete_values",
    "require_values",
    "formulas_data",
    "formulas",
    "catalog",
    "efficiency_data",
    "theorem1",
    "efficiency",
    "optimize",
    "field_data",
    "explain",
    "space_data",
    "layout_dict",
    "network_data",
]
