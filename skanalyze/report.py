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


def memory_limit(max_memory: str | None) -> int | None:
    """The byte limit of a torch check: --max-memory, else half the memory available now."""
    from .memory import default_limit, parse_bytes

    return parse_bytes(max_memory) if max_memory is not None else default_limit()


def guard_design(design: Design, values: dict, max_memory: str | None, what: str) -> None:
    """Refuse a torch build of a design whose estimated memory exceeds the limit (before importing torch)."""
    from .memory import check, design_bytes

    check(design_bytes(design, values), memory_limit(max_memory), what, given=max_memory is not None)


def need_torch(what: str):
    """Import torch's side of skanalyze, or say in one line how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SkanalyzeError(
            f"{what} needs torch, which is not installed: pip install 'skanalyze[torch]' "
            "(CPU-only: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
        ) from None
    from . import nn

    return nn


def verify(
    design: Design, values: dict, *, bn: bool = False, fmt: str = "text", max_memory: str | None = None
) -> tuple[str, bool]:
    """The `skanalyze verify` output and whether everything matched."""

    missing = sorted((design.free_symbols | {S.C}) - set(values), key=str)
    if missing:
        names = ", ".join(map(str, missing))
        raise SkanalyzeError(
            f"verify {design.notation!r} needs values for {names}; e.g. --subs "
            + " ".join(f"{n}={4 if str(n) in 'MN' else 16}" for n in missing)
        )
    values = complete_values(design, values)
    guard_design(design, values, max_memory, f"verify {design.notation!r}")
    nn = need_torch("verify")
    result = nn.verify(design, values, bn=bn)
    ok = all(sym == meas for key in ("params", "macs", "field", "field_max") for sym, meas in [result[key]])
    if fmt == "json":
        data = {
            "design": design.notation,
            "values": {str(k): v for k, v in result["values"].items()},
            **{
                key: {"symbolic": result[key][0], "torch": result[key][1]}
                for key in ("params", "macs", "field", "field_max")
            },
            "field_uniform": result["field_uniform"],
            "ok": ok,
        }
        return render.dumps(data) + "\n", ok
    vals = ", ".join(f"{k}={v}" for k, v in result["values"].items())
    lines = [f"{design.notation}  at {vals}", f"{'':8}{'symbolic':>16}{'torch':>16}"]
    rows = [("params", "params"), ("macs", "MACs"), ("field", "field")]
    if not result["field_uniform"] or result["field_max"][0] != result["field"][0][2]:
        rows.append(("field_max", "most c"))
    for key, label in rows:
        sym, meas = result[key]
        mark = "ok" if sym == meas else "MISMATCH"
        fmt_v = (lambda v: "(" + ", ".join(map(str, v)) + ")") if key == "field" else str
        lines.append(f"{label:8}{fmt_v(sym):>16}{fmt_v(meas):>16}  {mark}")
    if not result["field_uniform"]:
        lines.append(
            "note: output channels do not all reach the same number of input channels (field: the least)"
        )
    lines.append("all match" if ok else "MISMATCH: the symbolic model and torch disagree")
    return "\n".join(lines) + "\n", ok


# -- efficiency -------------------------------------------------------------------------------
def _subs_all(expr, values):
    return counting.canonical(expr.subs(values)) if isinstance(expr, sp.Basic) and values else expr


def efficiency_data(design: Design, values: dict) -> dict:
    """Ratios, full-field condition, optimal groups and greatest width of one design."""
    from .efficiency import analyse, greatest_width

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
    from .efficiency import theorem1_integers

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


def efficiency(design: Design, values: dict, fmt: str = "pretty", integers: int | None = None) -> str:
    """The `skanalyze efficiency` output."""
    render.check_format(fmt, ("pretty", "text", "latex", "json"))
    data = efficiency_data(design, values)
    if integers is not None:
        data["theorem1_integers"] = theorem1(design, integers)
    if fmt == "json":
        return render.dumps(data) + "\n"
    e = (lambda x: render.expr(x, fmt)) if fmt != "latex" else render.latex
    opt = data["optimum"]
    rows = [
        ("parameter ratio", e(data["param_ratio"])),
        ("MAC ratio", e(data["mac_ratio"])),
        ("full field when", e(data["full_condition"])),
    ]
    if "bottleneck" in data:
        rows.append(("with K", e(data["bottleneck"])))
    if opt["status"] == "boundary":
        rows += [
            ("Theorem 1", f"the least parameters lie on {e(opt['boundary'])}"),
            ("ratio on it", e(opt["boundary_ratio"])),
            ("optimal groups", ", ".join(f"{g} = {e(v)}" for g, v in opt["groups"].items())),
            ("valid when", ", ".join(e(v) for v in opt["valid_when"]) or "always"),
            ("least params", e(opt["params"])),
            ("least ratio", e(opt["ratio"])),
        ]
    elif opt["status"] == "unconstrained":
        rows += [
            (
                "optimal groups",
                ", ".join(f"{g} = {e(v)}" for g, v in opt["groups"].items()) + "  (no field constraint)",
            )
        ]
    elif opt["status"] != "no-groups":
        rows += [("optimal groups", opt["steps"][-1] if opt["steps"] else opt["status"])]
    width = data["width"]
    if "error" not in width:
        if width["closed_form"] is not None:
            rows.append(("greatest width", f"C = {e(width['closed_form'])}  (budget P, F = alpha·C)"))
        else:
            rows.append(
                (
                    "greatest width",
                    f"positive root of {e(width['equation'].lhs)} = P"
                    + ("  (C = u²)" if "u" in str(width["equation"]) else ""),
                )
            )
        if width["relation"] is not None:
            rows.append(("reached when", e(width["relation"])))
    if "theorem1_integers" in data:
        t = data["theorem1_integers"]
        verdict = (
            f"the cheapest full-field integers lie on the boundary in all {t['checked']} cases"
            if not t["counterexamples"]
            else f"{len(t['counterexamples'])} COUNTEREXAMPLES of {t['checked']}: "
            + "; ".join(f"{c['values']} costs {c['least_params']}" for c in t["counterexamples"][:5])
        )
        rows.append(("Theorem 1, integers", f"2 <= C <= {t['c_max']}, F in {{C, 2C}}: {verdict}"))
    out = render.block(data["design"], rows, fmt, sep=":")
    if opt["steps"] and opt["status"] in ("boundary", "unconstrained"):
        out += "\n  derivation:\n" + "\n".join(f"    - {step}" for step in opt["steps"])
    return out + "\n"


# -- optimize -------------------------------------------------------------------------------
def optimize(
    design: Design,
    budget: int,
    alpha,
    objective: str = "params",
    hw: int | None = None,
    *,
    json_out: bool = False,
) -> str:
    """The `skanalyze optimize` output: continuous and buildable optimum."""
    from .optimize import optimize as run

    result = run(design, budget, alpha, objective, hw)
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
    if json_out:
        data = {
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
        return render.dumps(data) + "\n"
    unit = "params" if objective == "params" else f"MACs at {hw}x{hw}"
    cont_groups = ", ".join(f"{g} = {v:.2f}" for g, v in result.continuous_groups.items())
    build_vals = ", ".join(f"{k} = {v}" for k, v in buildable.items() if k not in ("params", "macs"))
    lines = [
        f"{design.notation}   budget {budget} {unit}, F = {result.alpha}·C",
        (
            f"  continuous optimum : C* = {float(result.continuous_width):.2f}"
            + (f"  ({cont_groups})" if cont_groups else "")
        )
        if result.continuous_exact
        else f"  continuous bound   : C* <= {float(result.continuous_width):.2f}  (no closed-form optimal groups)",
        f"  buildable optimum  : {build_vals}",
        f"                       params = {b.params}"
        + (f", MACs = {b.cost}" if objective == "macs" else "")
        + f"  ({100 * b.cost / budget:.2f}% of the budget)",
        f"  gap                : the buildable width is {100 * result.width_gap:.2f}% below C*",
    ]
    return "\n".join(lines) + "\n"


def split_designs(items: list[str]) -> list[str]:
    """Split comma-separated design lists, keeping commas inside (...) and [...]."""
    out: list[str] = []
    for item in items:
        depth, start = 0, 0
        for i, ch in enumerate(item):
            depth += ch in "([" and 1 or (-1 if ch in ")]" else 0)
            if ch == "," and depth == 0:
                out.append(item[start:i])
                start = i + 1
        out.append(item[start:])
    return [x.strip() for x in out if x.strip()]


# -- field ---------------------------------------------------------------------------------------------
def field_report(
    design: Design,
    values: dict,
    *,
    measure: bool = False,
    json_out: bool = False,
    max_memory: str | None = None,
) -> str:
    """The `skanalyze field` output: symbolic field, full-field condition, per-layer trace, measurement."""
    from .infofield import field, standard_field, trace

    values = complete_values(design, values) if values else {}
    if measure:
        missing = sorted((design.free_symbols | {S.C}) - set(values), key=str)
        if missing:
            raise SkanalyzeError(
                f"field --measure {design.notation!r} needs values for {', '.join(map(str, missing))}; "
                "e.g. --subs " + " ".join(f"{m}={4 if str(m) in 'MN' else 16}" for m in missing)
            )
        guard_design(design, values, max_memory, f"field --measure {design.notation!r}")
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
    if measure:
        nn = need_torch("field --measure")
        m = nn.measure_field(nn.build(design, values), int(values[S.C]), nn.field_probe_size(design, values))
        data["measured"] = [m.x, m.y, m.c_min]
        data["measured_c_max"] = m.c_max
        data["agrees"] = [sp.sympify(e) for e in f.as_tuple()] == data["measured"] and sp.sympify(
            f.largest
        ) == m.c_max
    if json_out:
        return render.dumps(data) + "\n"
    e = render.pretty
    channels = e(f.c) if f.uniform else f"{e(f.c)} to {e(f.c_max)} (differs across outputs)"
    rows = [
        ("field (x, y, c)", f"({e(f.x)}, {e(f.y)}, {channels})"),
        ("standard conv", "(" + ", ".join(e(v) for v in data["standard"]) + ")"),
        ("full field when", e(f.full_condition)),
    ]
    for item in data["trace"]:
        rows.append((f"  after {item['layer']}", "(" + ", ".join(_channels(v) for v in item["field"]) + ")"))
    for where, ratios in f.nesting:
        rows.append(
            (
                "exact when",
                " and ".join(f"{e(r)} is an integer" for r in ratios)
                + (f" (where {e(where)})" if where is not sp.true else "")
                + ": the group sizes nest; otherwise give sizes (--subs) for the exact per-output range",
            )
        )
    if values and not f.aligned:
        rows.append(
            (
                "note",
                "group boundaries do not align at these sizes: the field is propagated channel by channel",
            )
        )
    if measure:
        rows.append(
            (
                "measured (torch)",
                f"({data['measured'][0]}, {data['measured'][1]}, {data['measured'][2]})"
                + (
                    ""
                    if data["measured_c_max"] == data["measured"][2]
                    else f", up to {data['measured_c_max']} channels"
                ),
            )
        )
        rows.append(("agrees", "yes" if data["agrees"] else "NO"))
    return render.block(design.notation, rows, "pretty", sep=":") + "\n"


def _channels(value) -> str:
    """A channel count, or 'lo to hi' for a range of counts across outputs."""
    if isinstance(value, sp.Interval):
        return f"{render.pretty(value.start)} to {render.pretty(value.end)}"
    return render.pretty(value)


# -- space ---------------------------------------------------------------------------------------------
def space_report(
    alphabet_names, max_length: int, mode: str, explain_text: str | None, *, json_out: bool = False
) -> str:
    """The `skanalyze space` output: stage table, survivors by family, comparison with the paper."""
    from . import space

    if explain_text is not None:
        v = space.explain(explain_text, alphabet_names, mode)
        if json_out:
            return (
                render.dumps(
                    {
                        "design": v.word,
                        "kept": v.kept,
                        "stage": v.stage,
                        "reason": v.reason,
                        "bottleneck": v.bottleneck,
                    }
                )
                + "\n"
            )
        verdict = "kept" if v.kept else f"dropped at the {v.stage} stage"
        return f"{v.word}: {verdict}\n  {v.reason}\n"
    red = space.reduce_space(alphabet_names or space.PAPER_ALPHABET, max_length, mode)
    cmp = space.compare_with_paper(red)
    stages = red.stages()
    if json_out:
        return (
            render.dumps(
                {
                    "alphabet": [x.name for x in red.alphabet],
                    "max_length": max_length,
                    "regex": mode,
                    "stages": [{"name": n, "kept": k} for n, k in stages],
                    "per_length": list(red.per_length),
                    "survivors": [v.word for v in red.survivors],
                    "bottleneck_exception": [v.word for v in red.survivors if v.bottleneck],
                    "families": red.families,
                    "paper": {
                        w: {"kept": v.kept, "stage": v.stage, "reason": v.reason}
                        for w, v in cmp["paper"].items()
                    },
                }
            )
            + "\n"
        )
    lines = [
        f"design space: alphabet {', '.join(x.name for x in red.alphabet)}; lengths 1..{max_length}; "
        f"composition regex {space.PATTERN} ({mode})",
        "",
    ]
    width = max(12, len(f"{stages[0][1]:,}") + 2)
    lines.append(f"{'stage':<13}{'kept':>{width}}{'dropped':>{width}}")
    prev = None
    for name, kept in stages:
        dropped = "" if prev is None else f"{prev - kept:,}"
        lines.append(f"{name:<13}{kept:>{width},}{dropped:>{width}}")
        prev = kept
    keys = ("total", "composition", "performance", "efficiency")
    lines += ["", f"{'length':>8}" + "".join(f"{k if k != 'total' else 'space':>{width}}" for k in keys)]
    for row in red.per_length:
        lines.append(f"{row['length']:>8}" + "".join(f"{row[k]:>{width},}" for k in keys))
    lines += [
        "",
        f"survivors ({len(red.survivors)}) by family (designs that differ only in group numbers; "
        "DW = GConv(C), PW = PWGConv(1)):",
    ]
    for fam, words in red.families.items():
        marked = [
            w + (" *" if any(v.word == w and v.bottleneck for v in red.survivors) else "") for w in words
        ]
        lines.append(f"  {fam}: {', '.join(marked)}")
    lines += ["  (* kept by the bottleneck exception)", "", "the paper's four final designs:"]
    for w, v in cmp["paper"].items():
        lines.append(f"  {w:<28} {'kept' if v.kept else 'dropped at ' + str(v.stage)}: {v.reason}")
    lines.append(
        f"\nautomated survivors the paper does not list: {len(cmp['extra'])} (see docs/field.md for why)"
    )
    return "\n".join(lines) + "\n"


# -- networks ------------------------------------------------------------------------------------------
def parse_blocks(text: str) -> tuple:
    """'2,2,2,2' -> (2, 2, 2, 2); 'B' -> (B, B, B, B); '3' -> (3, 3, 3, 3)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise SkanalyzeError(f"--blocks {text!r} is empty; e.g. 2,2,2,2 or B")
    out = []
    for part in parts:
        if part == "B":
            out.append(S.B)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise SkanalyzeError(
                f"--blocks {text!r}: {part!r} is not a positive integer or B; e.g. 2,2,2,2 or 3,4,6,3"
            )
    return tuple(out) if len(out) > 1 else (out[0],) * 4


def network_report(
    design: Design,
    layout,
    width,
    budget,
    values: dict,
    *,
    objective="params",
    torch_check=False,
    json_out=False,
    max_memory: str | None = None,
) -> str:
    """The `skanalyze network` output."""
    from .network import counts, evaluate, network, widest
    from .optimize import parse_budget

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
        if any(isinstance(b, sp.Basic) and b.free_symbols for b in layout.blocks):
            raise SkanalyzeError("a network budget needs concrete blocks per stage, e.g. --blocks 2,2,2,2")
        fixed = net if not groups else network(_fix_groups(design, groups), layout)
        found = widest(fixed.design, layout, parse_budget(budget), objective)
        width, groups = found.width, {**groups, **found.groups}
        net = network(_fix_groups(design, groups), layout) if groups else net
        groups = {}
    if width <= 0:
        raise SkanalyzeError(f"--width (={width}) must be positive")
    sym = counts(net, groups)
    symbolic_blocks = any(isinstance(b, sp.Basic) and b.free_symbols for b in layout.blocks)
    if symbolic_blocks:
        params = {k: v.subs(S.width, width) for k, v in sym.params.items()}
        macs = {k: v.subs(S.width, width) for k, v in sym.macs.items()}
    else:
        params, macs = evaluate(net, width, groups)
    data = {
        "design": design.notation,
        "width": width,
        "layout": _layout_dict(layout),
        "params": {**params, "total": sum(params.values(), sp.Integer(0))},
        "macs": {**macs, "total": sum(macs.values(), sp.Integer(0))},
        "symbolic": {"params": sym.total_params, "macs": sym.total_macs},
    }
    if groups:
        data["groups"] = {str(k): v for k, v in groups.items()}
    if found is not None:
        data["budget"] = {
            "objective": objective,
            "value": parse_budget(budget),
            "widths_searched": found.widths_searched,
            "groups": {str(k): int(v) for k, v in found.groups.items()},
        }
    if torch_check:
        if symbolic_blocks:
            raise SkanalyzeError("--torch needs concrete blocks per stage, e.g. --blocks 2,2,2,2")
        from .memory import check

        # every activation costs at least one MAC, so MACs bound the activations of the forward pass
        estimate = 8 * int(data["params"]["total"]) + 4 * (
            int(data["macs"]["total"]) + layout.in_channels * layout.input_size**2
        )
        check(
            estimate,
            memory_limit(max_memory),
            f"network --torch at width {width}",
            given=max_memory is not None,
        )
        nn = need_torch("network --torch")

        module = nn.build_network(net, width, groups)
        measured = nn.network_counts(module, layout, bn=layout.bn)
        data["torch"] = {
            "params": measured[0],
            "macs": measured[1],
            "agrees": measured == (int(data["params"]["total"]), int(data["macs"]["total"])),
        }
    if json_out:
        return render.dumps(data) + "\n"
    lines = [f"{design.notation} network, width {width}" + (f", groups {data['groups']}" if groups else "")]
    if found is not None:
        lines[0] += (
            f"  (the widest under {objective} budget {parse_budget(budget)}; {found.widths_searched} widths tried)"
        )
        if found.groups:
            lines[0] += f", groups {', '.join(f'{k}={v}' for k, v in found.groups.items())}"
    lines.append(f"  layout: {_layout_text(layout)}")
    lines.append(f"  {'part':<12}{'params':>24}  {'MACs':>28}")
    for key in params:
        lines.append(f"  {key:<12}{_int(params[key]):>24}  {_int(macs[key]):>28}")
    lines.append(f"  {'total':<12}{_int(data['params']['total']):>24}  {_int(data['macs']['total']):>28}")
    lines.append(f"  params in width: {render.text(sym.total_params)}")
    if torch_check:
        ok = data["torch"]["agrees"]
        lines.append(
            f"  torch: params {data['torch']['params']}, MACs {data['torch']['macs']}: "
            + ("agree" if ok else "MISMATCH")
        )
    return "\n".join(lines) + "\n"


def _int(value) -> str:
    value = sp.sympify(value)
    return f"{int(value):,}" if value.is_Integer else render.text(value)


def _fix_groups(design: Design, groups: dict) -> Design:
    from dataclasses import replace

    kernels = tuple(
        k.with_arg(sp.sympify(k.argument()).subs(groups)) if k.free_arg and k.argument() is not None else k
        for k in design.kernels
    )
    return replace(design, kernels=kernels, label=None)


def _layout_dict(layout) -> dict:
    from dataclasses import asdict

    out = asdict(layout)
    out["blocks"] = [str(b) for b in layout.blocks]
    out["bottleneck"] = None if layout.bottleneck is None else str(layout.bottleneck)
    return out


def _layout_text(layout) -> str:
    stem = f"stem {layout.stem_kernel}x{layout.stem_kernel}/{layout.stem_stride} -> " + (
        "width" if layout.stem_width is None else str(layout.stem_width)
    )
    return (
        f"{layout.input_size}x{layout.input_size}x{layout.in_channels}, {stem}"
        f"{', maxpool' if layout.maxpool else ''}, blocks {','.join(map(str, layout.blocks))} x {layout.units} unit(s), "
        f"{layout.shortcut} shortcuts, BN {'counted' if layout.bn else 'not counted'}, "
        f"FC {'counted' if layout.classifier else 'not counted'} ({layout.classes} classes), groups {layout.groups}"
    )


# -- comparison of kernel families --------------------------------------------------------------------
def representative_values(design: Design, c: int = 24) -> dict:
    """Small concrete sizes at which a design builds (C = F = c, K from the rule, free numbers 2), for footprints."""
    from itertools import product

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
    from .efficiency import analyse
    from .infofield import field, footprint
    from .optimize import optimize

    rows = []
    for name in names:
        design = resolve(name)
        eff = analyse(design)
        p_ratio, note = eff.param_ratio, ""
        if design.group_symbols and eff.optimum.ratio is not None:
            p_ratio, note = eff.optimum.ratio, " (optimal groups)"
        elif design.group_symbols:
            p_ratio = p_ratio.subs({g: 2 for g in design.group_symbols})
            note = " (" + ", ".join(f"{g}=2" for g in design.group_symbols) + ")"
        values = {S.C: c, S.F: c}
        if design.uses_bottleneck:
            values[S.K] = sp.sympify(design.bottleneck).subs(values)
        f = field(design)
        rep = representative_values(design)
        fp = footprint(design, rep)
        row = {
            "design": design.notation,
            "name": design.label or name,
            "ratio": p_ratio,
            "ratio_at_c": design.substitute_bottleneck(p_ratio).subs(values),
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


def compare(names, budget: int, c: int, *, fmt: str = "text") -> str:
    """The `skanalyze compare` output: the related kernel families beside the paper's designs."""
    rows = comparison_rows(names, budget, c)
    if fmt == "json":
        return render.dumps(rows) + "\n"
    head = ["design", f"ratio at C=F={c}", "field (x, y, c)", "footprint", f"widest C for P={budget:.3g}"]
    body = []
    for r in rows:
        field_txt = "(" + ", ".join(render.text(v) for v in r["field"]) + ")"
        fp = f"{r['positions']}/{r['positions_of']}"
        width = (
            f"{r['width_continuous']:.1f} -> {r['width_buildable']}"
            + (
                " (" + ", ".join(f"{k}={v}" for k, v in r["width_groups"].items()) + ")"
                if r["width_groups"]
                else ""
            )
            if "width_continuous" in r
            else "no full field"
        )
        body.append([r["design"], f"{float(r['ratio_at_c']):.4f}{r['ratio_note']}", field_txt, fp, width])
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [
            "| " + " | ".join(f"`{cell}`" if i in (0, 2) else cell for i, cell in enumerate(row)) + " |"
            for row in body
        ]
        return "\n".join(lines) + "\n"
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in [head, *body]]
    lines.append(
        "footprint: spatial positions one output reads (least-covering output) of its field's window, "
        "exact at the sizes in --json's footprint_at"
    )
    return "\n".join(lines) + "\n"
