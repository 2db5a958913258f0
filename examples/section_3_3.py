"""Reproduce the paper's Section 3.3 (efficiency analysis) and draw its figures.

    python examples/section_3_3.py [OUTDIR]

Prints, for the four final designs: the ratio to the standard conv, the full-field
condition, Theorem 1 and the optimal groups, the greatest width for a budget, and the
buildable optimum at P = 10^6; then writes width.png, ratio.png and macs.png.
"""

import sys
from pathlib import Path

from skanalyze.analyses import figures
from skanalyze.analyses.efficiency import analyse, greatest_width
from skanalyze.analyses.optimize import optimize
from skanalyze.core import catalog
from skanalyze.render import plots

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
designs = catalog.paper_designs()

for design in designs:
    e = analyse(design)
    w = greatest_width(design)
    print(f"== {design.notation}")
    print(f"   parameter ratio      {e.param_ratio}")
    print(f"   full field when      {e.full_condition}")
    if e.optimum.boundary is not None:
        print(f"   Theorem 1            minimum on {e.optimum.boundary.lhs} = {e.optimum.boundary.rhs}")
        print(f"   ratio on it          {e.optimum.boundary_ratio}")
        print(
            f"   optimal groups       {e.optimum.groups}  (valid when {', '.join(map(str, e.optimum.valid_when))})"
        )
        print(f"   least ratio          {e.optimum.ratio}")
    print(f"   least params, F=aC   {w.least}")
    print(f"   greatest width       {w.width if w.width is not None else w.notes[0]}")
    if w.relation is not None:
        print(f"   reached when         {w.relation.lhs} = {w.relation.rhs}")
    opt = optimize(design, 10**6)
    values = {str(k): int(v) for k, v in opt.buildable.values.items()}
    print(
        f"   P = 1e6: C* = {float(opt.continuous_width):.1f}, buildable {values}, params {opt.buildable.params}"
    )

standard = catalog.get("standard")
plots.save(plots.width_vs_params(figures.width_data([standard, *designs], budget=10**6)), out / "width.png")
plots.save(plots.ratio_vs_groups(figures.ratio_data(catalog.get("gconv-pwgconv"))), out / "ratio.png")
plots.save(plots.macs_vs_width(figures.macs_data([standard, *designs])), out / "macs.png")
print(f"wrote {out / 'width.png'}, {out / 'ratio.png'}, {out / 'macs.png'}")
