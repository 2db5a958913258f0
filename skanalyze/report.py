"""What each CLI command prints, as plain functions returning text (the CLI stays thin glue)."""

from __future__ import annotations

import sympy as sp

from . import counting, render
from . import symbols as S
from .catalog import BY_NAME, DEFAULT_FORMULAS, ENTRIES, resolve
from .design import Design
from .errors import SkanalyzeError


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


def formulas_data(design: Design, values: dict, *, bn: bool = False) -> dict:
    """The formulas of one design as a dict of sympy values (the JSON and text reports share it)."""
    values = complete_values(design, values)
    p = counting.params(design, bn=bn).subs(values)
    m = counting.macs(design).subs(values)
    f = counting.flops(design).subs(values)
    data = {
        "design": design.notation,
        "label": design.label,
        "description": description(design),
        "params": counting.canonical(p),
        "macs": counting.canonical(m),
        "flops": counting.canonical(f),
        "bn_counted": bn,
    }
    if design.uses_bottleneck:
        data["bottleneck"] = design.bottleneck
    if values:
        data["subs"] = {str(k): v for k, v in values.items()}
    data["symbols"] = render.symbols_of(p, m, design.bottleneck if design.uses_bottleneck else 0)
    return data


def formulas(designs: list[Design], values: dict, fmt: str = "pretty", *, bn: bool = False) -> str:
    """The `skanalyze formulas` output."""
    render.check_format(fmt)
    rows = [formulas_data(d, values, bn=bn) for d in designs]
    if fmt == "json":
        return render.dumps(rows)
    out = []
    if fmt == "python":
        out.append("# skanalyze formulas: params, MACs (output size H x W) and FLOPs = 2 x MACs")
    for row in rows:
        title = row["design"] + (f"   [{row['label']}] {row['description']}" if row["label"] else "")
        if fmt == "python":
            name = render.slug(row["label"] or row["design"])
            out.append(f"# {title}")
            for what in ("params", "macs", "flops"):
                out.append(render.python_function(f"{what}_{name}", row[what]))
            continue
        if fmt == "latex":
            out.append(f"% {title}")
            lines = [
                rf"\mathrm{{{w}}} &= {render.latex(row[w.lower()])}" for w in ("params", "MACs", "FLOPs")
            ]
            if "bottleneck" in row and "K" in {str(s) for s in sp.sympify(row["params"]).free_symbols}:
                lines.append(rf"K &= {render.latex(row['bottleneck'])}")
            out.append("\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}")
            continue
        items = [(w, render.expr(row[w.lower()], fmt)) for w in ("params", "MACs", "FLOPs")]
        if "bottleneck" in row and "K" in {str(s) for s in sp.sympify(row["params"]).free_symbols}:
            items.append(("K", render.expr(row["bottleneck"], fmt)))
        out.append(render.block(title, items, fmt))
    footer = "MACs count multiply-accumulates for an H x W output; FLOPs = 2 x MACs; bias-free convs; "
    footer += "BN counted." if bn else "BN not counted."
    if fmt in ("pretty", "text"):
        out.append(footer)
    return "\n\n".join(out) + "\n"


def catalog() -> str:
    """The `skanalyze designs` output: name, notation, description."""
    rows = [
        (
            e.name,
            e.design().notation,
            e.description + (f" (knob: {e.knob}, default {e.default})" if e.knob else ""),
        )
        for e in ENTRIES
    ]
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    lines = [f"{'name'.ljust(w1)}  {'notation'.ljust(w2)}  description"]
    lines += [f"{a.ljust(w1)}  {b.ljust(w2)}  {c}" for a, b, c in rows]
    lines.append("")
    lines.append(
        "Any design can also be written in the notation, e.g. 'GConv(8)+PWGConv(4)' or 'PW+DW+PW [K=F/2]'."
    )
    return "\n".join(lines) + "\n"


def verify(design: Design, values: dict, *, bn: bool = False, fmt: str = "text") -> tuple[str, bool]:
    """The `skanalyze verify` output and whether everything matched."""
    from . import nn

    missing = sorted((design.free_symbols | {S.C}) - set(values), key=str)
    if missing:
        names = ", ".join(map(str, missing))
        raise SkanalyzeError(
            f"verify {design.notation!r} needs values for {names}; e.g. --subs "
            + " ".join(f"{n}={4 if str(n) in 'MN' else 16}" for n in missing)
        )
    values = complete_values(design, values)
    result = nn.verify(design, values, bn=bn)
    ok = all(sym == meas for key in ("params", "macs", "field") for sym, meas in [result[key]])
    if fmt == "json":
        data = {
            "design": design.notation,
            "values": {str(k): v for k, v in result["values"].items()},
            **{
                key: {"symbolic": result[key][0], "torch": result[key][1]}
                for key in ("params", "macs", "field")
            },
            "field_uniform": result["field_uniform"],
            "ok": ok,
        }
        return render.dumps(data) + "\n", ok
    vals = ", ".join(f"{k}={v}" for k, v in result["values"].items())
    lines = [f"{design.notation}  at {vals}", f"{'':8}{'symbolic':>16}{'torch':>16}"]
    for key, label in (("params", "params"), ("macs", "MACs"), ("field", "field")):
        sym, meas = result[key]
        mark = "ok" if sym == meas else "MISMATCH"
        fmt_v = (lambda v: "(" + ", ".join(map(str, v)) + ")") if key == "field" else str
        lines.append(f"{label:8}{fmt_v(sym):>16}{fmt_v(meas):>16}  {mark}")
    if not result["field_uniform"]:
        lines.append("note: output channels do not all reach the same number of input channels")
    lines.append("all match" if ok else "MISMATCH: the symbolic model and torch disagree")
    return "\n".join(lines) + "\n", ok
