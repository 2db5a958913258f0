"""Kernel families side by side: parameter ratio, information field and footprint, greatest width."""

from __future__ import annotations

from itertools import product

import sympy as sp

from ..core import symbols as S
from ..core.catalog import resolve
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field, footprint
from .efficiency import optimum_ratio, ratio_to_standard
from .optimize import optimize


def representative_values(design: Design, c: int = 24) -> dict:
    """Small concrete sizes at which a design builds (C = F = c, K from the rule, free numbers 2), for footprints."""
    for size, g in product((c, 2 * c, 4 * c), (2, 3, 1)):
        values = {S.C: size, S.F: size, **{sym: g for sym in design.group_symbols}}
        if design.uses_bottleneck:
            values[S.K] = sp.sympify(design.bottleneck).subs(values)
        try:
            design.at(values)
            return values
        except SkanalyzeError:
            continue
    raise SkanalyzeError(f"no small sizes build {design.notation!r}")


def comparison_rows(names, budget: int, c: int) -> list[dict]:
    """Per design: parameter ratio at C = F = c, field (extents, channels, footprint), greatest width at a budget."""
    rows = []
    for name in names:
        design = resolve(name)
        p_ratio, note = ratio_to_standard(design), ""
        best = optimum_ratio(design) if design.group_symbols else None
        if best is not None:
            p_ratio, note = best, " (optimal groups)"
        elif design.group_symbols:
            p_ratio = p_ratio.subs({g: 2 for g in design.group_symbols})
            # no group number gives a full field: there is no optimum to show, only an example value, said so
            note = (
                " ("
                + ", ".join(f"{g}=2" for g in design.group_symbols)
                + ": an example; no full-field optimum)"
            )
        values = {S.C: c, S.F: c}
        if design.uses_bottleneck:
            values[S.K] = sp.sympify(design.bottleneck).subs(values)
        f = field(design)
        rep = representative_values(design)
        fp = footprint(design, rep)
        row = {
            "design": design.notation,
            "name": design.label or name,
            "param_ratio": p_ratio,
            "param_ratio_at_c": design.substitute_bottleneck(p_ratio).subs(values),
            "ratio_note": note,
            "field": list(f.as_tuple()),
            "full_condition": f.full_condition,
            "positions": fp.positions_min,
            "positions_of": fp.x * fp.y,
            "footprint_at": {str(k): int(v) for k, v in rep.items()},
        }
        try:
            opt = optimize(design, budget)
            row["width_continuous"] = float(opt.continuous_width)
            row["width_buildable"] = int(opt.buildable.values[S.C])
            row["width_groups"] = {
                str(k): int(v) for k, v in opt.buildable.values.items() if k in design.group_symbols
            }
        except SkanalyzeError as err:
            row["width_error"] = str(err)
        rows.append(row)
    return rows


def compare(names, budget: int, c: int) -> dict:
    """`skanalyze compare`: the rows, with the budget and width they were computed at."""
    return {"rows": comparison_rows(names, budget, c), "budget": budget, "C": c}
