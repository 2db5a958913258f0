"""The LaTeX printer: what pastes into a paper as is. Formulas as display math (``\\[ \\begin{aligned} ...
\\end{aligned} \\]``), tabular reports as booktabs tables (``\\usepackage{booktabs}``; expressions as inline
math, prose escaped). Needs amsmath and booktabs; tests/test_latex.py compiles every output with pdflatex."""

from __future__ import annotations

import re

import sympy as sp

from . import prints, text
from .expr import latex


@prints("formulas", "latex")
def formulas(rows: list[dict]) -> str:
    """`skanalyze formulas --format latex`: one ``aligned`` block per design, titled by a comment."""
    out = []
    for row in rows:
        title = row["design"] + (f"   [{row['name']}] {row['description']}" if row["name"] else "")
        out.append(f"% {title}")
        lines = [rf"\mathrm{{{w}}} &= {latex(row[w.lower()])}" for w in ("params", "MACs", "FLOPs")]
        lines.append(rf"\mathrm{{traffic}} &= {latex(row['traffic'])} \ \text{{elements}}")
        lines.append(rf"\mathrm{{bytes}} &= {latex(row['bytes'])}")
        lines.append(rf"\mathrm{{intensity}} &= {latex(row['intensity'])} \ \text{{MACs/byte}}")
        if "bottleneck" in row and "K" in {str(s) for s in sp.sympify(row["bytes"]).free_symbols}:
            lines.append(rf"K &= {latex(row['bottleneck'])}")
        if "time" in row:
            lines.append(rf"\mathrm{{time}} &= {latex(row['time']['seconds'])} \ \text{{s}}")
        out.append("\\[\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n\\]")
    return "\n\n".join(out) + "\n"


ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "·": r"$\cdot$",
    "²": r"$^2$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "—": "---",
}
_MATH = re.compile("\x00(\\d+)\x00")


def escape(text_: str) -> str:
    """Prose for LaTeX: its special characters escaped, <= and >= as math."""
    out = "".join(ESCAPES.get(ch, ch) for ch in str(text_))
    return out.replace("<=", r"$\leq$").replace(">=", r"$\geq$")


def _table(title: str, columns: str, header: list[str] | None, rows: list[list[str]]) -> str:
    lines = [f"% {title}", rf"\begin{{tabular}}{{@{{}}{columns}@{{}}}}", r"\toprule"]
    if header:
        lines += [" & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


@prints("efficiency", "latex")
def efficiency(data: dict) -> str:
    """`skanalyze efficiency --format latex`: a booktabs table of the efficiency rows, expressions as math."""
    maths: list[str] = []

    def e(value) -> str:
        maths.append(latex(value))
        return f"\x00{len(maths) - 1}\x00"

    def tex(value: str) -> str:
        return _MATH.sub(lambda m: f"${maths[int(m.group(1))]}$", escape(value))

    rows = [[escape(name.strip()), tex(value)] for name, value in text.efficiency_rows(data, e)]
    return _table(
        data["design"], "ll", [r"\multicolumn{2}{@{}l}{\texttt{" + escape(data["design"]) + "}}"], rows
    )


@prints("catalog", "latex")
def catalog(rows: list[dict]) -> str:
    """`skanalyze designs --format latex`: name, notation and description as a booktabs table."""
    body = [
        [rf"\texttt{{{escape(r['name'])}}}", rf"\texttt{{{escape(r['design'])}}}", escape(r["description"])]
        for r in rows
    ]
    return _table("skanalyze designs", "lll", ["name", "notation", "description"], body)


@prints("network", "latex")
def network(data: dict) -> str:
    """`skanalyze network --format latex`: params and MACs per part as a booktabs table."""
    body = [
        [
            escape(part),
            f"{int(data['params'][part]):,}".replace(",", "{,}"),
            f"{int(data['macs'][part]):,}".replace(",", "{,}"),
        ]
        for part in data["params"]
    ]
    if body:
        body[-1] = [rf"\textbf{{{cell}}}" for cell in body[-1]]  # the total
    return _table(f"{data['design']} network", "lrr", ["part", "params", "MACs"], body)


@prints("tables", "latex")
def tables(report) -> str:
    """`skanalyze tables --format latex`: the paper's rows, skanalyze's count under the paper's defaults and
    the verdict, as a booktabs table."""
    body = []
    for row in report.rows():
        default = row["default_params"]
        mine = f"{default / 1e6:.2f}" if isinstance(default, int) else "n/a"
        body.append(
            [
                str(row["table"]),
                rf"\texttt{{{escape(row['design'])}}}",
                str(row["width"]),
                str(row["paper_params_m"]),
                mine,
                escape(row["verdict"]),
            ]
        )
    header = ["table", "design", "width", "paper (M)", "skanalyze (M)", "verdict"]
    return _table("the paper's Tables 2-4", "llrrrl", header, body)
