"""The LaTeX printer: formulas as ``aligned`` math, efficiency rows with LaTeX expressions."""

from __future__ import annotations

import sympy as sp

from . import text
from .expr import latex


def formulas(rows: list[dict]) -> str:
    """`skanalyze formulas --format latex`: one ``aligned`` block per design, titled by a comment."""
    out = []
    for row in rows:
        title = row["design"] + (f"   [{row['label']}] {row['description']}" if row["label"] else "")
        out.append(f"% {title}")
        lines = [rf"\mathrm{{{w}}} &= {latex(row[w.lower()])}" for w in ("params", "MACs", "FLOPs")]
        if "bottleneck" in row and "K" in {str(s) for s in sp.sympify(row["params"]).free_symbols}:
            lines.append(rf"K &= {latex(row['bottleneck'])}")
        out.append("\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}")
    return "\n\n".join(out) + "\n"


def efficiency(data: dict) -> str:
    """`skanalyze efficiency --format latex`: the efficiency rows with every expression in LaTeX."""
    return text.efficiency(data, "latex", e=latex)
