"""The data each figure draws: curves and marks computed here, drawn by ``render/plots.py``.

Every function returns plain rows (numbers, numpy arrays of floats for the curves, strings), so that the
drawing code calls no analysis and any other renderer (a notebook, a spreadsheet) can use the same data.
Curves are floats because they are drawn; every number printed beside them (a buildable width, a group
number, a cost) is an exact integer from the analyses.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field
from . import tables
from .efficiency import analyse, greatest_width, least_at_width, ratio_to_standard
from .network import counts, network
from .optimize import best_at_width, optimize
from .vectorise import compile_numpy


def width_curve(design: Design, budgets: np.ndarray, alpha, objective="params", hw=None) -> np.ndarray:
    """The continuous greatest width at each budget (vectorised closed form, or polynomial roots)."""
    width = greatest_width(design, objective, hw)
    a = sp.nsimplify(alpha)
    if width.width is not None:
        fn = compile_numpy(S.P, width.width.subs(S.alpha, a))
        return np.broadcast_to(np.asarray(fn(budgets), dtype=float), budgets.shape).copy()
    poly = sp.Poly(width.equation.lhs.subs(S.alpha, a), width.variable)
    coeffs = [float(c) for c in poly.all_coeffs()]
    out = []
    for p in budgets:
        roots = np.roots(coeffs[:-1] + [coeffs[-1] - p])
        real = roots[np.abs(roots.imag) < 1e-9].real
        root = real[real > 0].max()
        out.append(root**2 if width.variable != S.C else root)
    return np.array(out)


def width_data(
    designs: list[Design],
    *,
    budget: int | None = None,
    alpha=1,
    budgets: tuple[float, float] = (1e4, 1e8),
    buildable_points: int = 9,
) -> dict:
    """Greatest width against the budget: per design the continuous curve, the buildable optima at a few
    budgets, and (with ``budget``) the continuous and buildable optimum there."""
    grid = np.logspace(math.log10(budgets[0]), math.log10(budgets[1]), 200)
    points = np.logspace(math.log10(budgets[0]), math.log10(budgets[1]), buildable_points)
    rows = []
    for design in designs:
        row: dict = {"design": design.notation, "curve": width_curve(design, grid, alpha), "buildable": []}
        for p in points:
            try:
                opt = optimize(design, int(p), alpha)
            except SkanalyzeError:  # no buildable layer fits so small a budget
                continue
            row["buildable"].append((opt.buildable.cost, int(opt.buildable.values[S.C])))
        if budget is not None:
            opt = optimize(design, int(budget), alpha)
            row["at_budget"] = {
                "continuous": float(opt.continuous_width),
                "cost": opt.buildable.cost,
                "width": int(opt.buildable.values[S.C]),
                "groups": {str(g): int(opt.buildable.values[g]) for g in design.group_symbols},
            }
        rows.append(row)
    return {"grid": grid, "rows": rows, "budget": budget, "alpha": sp.nsimplify(alpha)}


def ratio_data(design: Design, *, c: int = 256, f: int | None = None, points: int = 240) -> dict:
    """Parameter ratio to the standard conv over a grid of two group numbers, where the field is full, the
    Theorem-1 ridge, the continuous optimum and the best integer pair at C and F."""
    groups = design.group_symbols
    if len(groups) != 2:
        raise SkanalyzeError(
            f"design {design.notation!r} has {len(groups)} free group numbers; this plot needs two, "
            "e.g. GConv(M)+PWGConv(N)"
        )
    f = f or c
    values = {S.C: c, S.F: f}
    if design.uses_bottleneck:
        values[S.K] = sp.sympify(design.bottleneck).subs(values)
    a, b = groups
    ratio = design.substitute_bottleneck(ratio_to_standard(design)).subs(values)
    ratio_fn = compile_numpy((a, b), ratio)
    cond = field(design).full_condition
    hi = int(max(sp.sympify(w).subs(values) for w in (S.C, S.F, S.K) if sp.sympify(w).subs(values).is_number))
    ga = np.logspace(0, math.log2(hi), points, base=2)
    gb = np.logspace(0, math.log2(hi), points, base=2)
    A, B = np.meshgrid(ga, gb, indexing="xy")
    R = np.asarray(ratio_fn(A, B), dtype=float)
    if cond in (sp.true, sp.false):
        feasible = np.full(R.shape, cond is sp.true)
    else:
        feasible = np.asarray(compile_numpy((a, b), cond.subs(values))(A, B), dtype=bool)
    data: dict = {"design": design.notation, "names": (str(a), str(b)), "c": c, "f": f, "hi": hi}
    data |= {"a": A, "b": B, "ratio": R, "feasible": feasible, "ridge": None, "optimum": None, "best": None}
    opt = analyse(design).optimum
    if opt.boundary is not None:
        lhs, rhs = opt.boundary.lhs.subs(values), opt.boundary.rhs.subs(values)
        sol = sp.solve(sp.Eq(lhs, rhs), b)
        if sol:
            ys = np.asarray(compile_numpy(a, sol[0])(ga), dtype=float) * np.ones_like(ga)
            ok = (ys >= 1) & (ys <= hi)
            data["ridge"] = (ga[ok], ys[ok], f"{opt.boundary.lhs} = {opt.boundary.rhs}".replace("*", "·"))
        data["optimum"] = tuple(float(sp.sympify(opt.groups[g]).subs(values)) for g in (a, b))
    found = best_at_width(design, c, sp.Rational(f, c))
    if found is not None:
        data["best"] = (int(found.values[a]), int(found.values[b]))
    return data


def macs_data(designs: list[Design], *, hw: int = 56, alpha=1, widths=(16, 4096)) -> dict:
    """Least MACs of one layer (hw x hw output, F = alpha*C, optimal groups) at each width C."""
    cs = np.logspace(math.log10(widths[0]), math.log10(widths[1]), 200)
    rows = []
    for design in designs:
        least, _ = least_at_width(design, "macs", hw)
        fn = compile_numpy(S.C, least.subs(S.alpha, sp.nsimplify(alpha)))
        rows.append({"design": design.notation, "macs": np.asarray(fn(cs), dtype=float) * np.ones_like(cs)})
    return {"widths": cs, "rows": rows, "hw": hw}


def network_data(designs: list[Design] | None = None, *, widths=(16, 1024)) -> dict:
    """Network params against width under the layout that reproduces the most of Tables 2-4, with the
    paper's Table 3-4 rows: (width, reported params in M, skanalyze's exact params or None)."""
    report = tables.analyse()
    best = report.best
    paper = [r for r in tables.ROWS if r.table in (3, 4)]
    if designs is None:
        seen: dict = {}
        for r in paper:
            seen.setdefault(r.design, r)
        chosen = list(seen.values())
    else:
        chosen = [next((r for r in paper if r.design == d.notation), None) or d for d in designs]
    xs = np.logspace(math.log10(widths[0]), math.log10(widths[1]), 200)
    rows = []
    for item in chosen:
        if isinstance(item, Design):
            design, layout = item, tables.row_setup(paper[0], best)[1]
            label = item.notation
        else:
            design, layout = tables.row_setup(item, best)
            label = item.design
        total = counts(network(design, layout)).total_params
        ys = np.asarray(compile_numpy(S.width, total)(xs), dtype=float) / 1e6 * np.ones_like(xs)
        marks = []
        for r in paper:
            if r.design == label:
                value = tables.row_params(r, best)
                marks.append((r.width, r.params_m, value if isinstance(value, int) else None))
        rows.append({"label": label, "params_m": ys, "paper": marks})
    return {
        "widths": xs,
        "rows": rows,
        "reproduced": report.best_count,
        "rows_total": len(report.verdicts),
        "layout": best.describe(),
    }


def scaling_data(params: sp.Expr, macs: sp.Expr | None, size: tuple[int, int], *, step) -> dict:
    """An imported model's closed forms in the width multiplier alpha_w, sampled from the smallest step to 2,
    and their values at alpha_w = 1 (MACs at the input ``size``)."""
    grid = np.linspace(
        float(step), 2.0, 200
    )  # the forms are polynomials: a smooth curve from the smallest step
    forms = [("parameters", params)]
    if macs is not None:
        h, w = size
        forms.append((f"MACs at {h}x{w}", macs.subs({S.H_in: h, S.W_in: w})))
    rows = []
    for what, expr in forms:
        fn = compile_numpy(S.alpha_w, expr)
        rows.append(
            {"what": what, "values": fn(grid) * np.ones_like(grid), "at_one": expr.subs(S.alpha_w, 1)}
        )
    return {"alpha_w": grid, "rows": rows}


__all__ = ["width_curve", "width_data", "ratio_data", "macs_data", "network_data", "scaling_data"]
