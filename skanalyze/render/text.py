"""The terminal printer: every report's data as plain text. ``style`` picks the expression form:
``pretty`` (one-line unicode, the default) or ``text`` (what sympy reads back)."""

from __future__ import annotations

import sympy as sp

from . import (
    prints,
    text_model,  # noqa: F401 (registers the model report's printers with this format's)
)
from .expr import block, expr, pretty, seconds
from .expr import text as one_line


def _e(style: str):
    return lambda x: expr(x, style)


@prints("formulas", "pretty", "text")
def formulas(rows: list[dict], style: str = "pretty") -> str:
    """`skanalyze formulas`: one block of params, MACs and FLOPs per design, and the convention."""
    out = []
    for row in rows:
        title = row["design"] + (f"   [{row['name']}] {row['description']}" if row["name"] else "")
        items = [(w, expr(row[w.lower()], style)) for w in ("params", "MACs", "FLOPs")]
        items.append(("traffic", expr(row["traffic"], style) + " elements"))
        items.append(("bytes", expr(row["bytes"], style)))
        items.append(("intensity", expr(row["intensity"], style) + " MACs/byte"))
        if "bottleneck" in row and "K" in {str(s) for s in sp.sympify(row["bytes"]).free_symbols}:
            items.append(("K", expr(row["bottleneck"], style)))
        if "time" in row:
            t = row["time"]
            items.append((f"time ({t['profile']}, batch {t['batch']})", expr(t["seconds"], style) + " s"))
        out.append(block(title, items, style))
    footer = "MACs count multiply-accumulates for an H x W output; FLOPs = 2 x MACs; bias-free convs; "
    footer += "BN counted." if rows and rows[0]["bn"] else "BN not counted."
    footer += (
        "\nTraffic: each layer reads its input and weights once and writes its output once (ShuffleNet V2's "
        "memory access cost; BN and ReLU fused); b = bytes per element (4 fp32, 2 bf16)."
    )
    out.append(footer)
    return "\n\n".join(out) + "\n"


@prints("catalog", "pretty", "text")
def catalog(rows: list[dict], style: str = "pretty") -> str:
    """`skanalyze designs`: name, notation, description."""
    w1 = max(len(r["name"]) for r in rows)
    w2 = max(len(r["design"]) for r in rows)
    lines = [f"{'name'.ljust(w1)}  {'notation'.ljust(w2)}  description"]
    lines += [f"{r['name'].ljust(w1)}  {r['design'].ljust(w2)}  {r['description']}" for r in rows]
    lines.append("")
    lines.append(
        "Any design can also be written in the notation, e.g. 'GConv(8)+PWGConv(4)' or 'PW+DW+PW [K=F/2]'."
    )
    return "\n".join(lines) + "\n"


@prints("verify", "pretty", "text")
def verify(data: dict, style: str = "pretty") -> str:
    """`skanalyze verify`: symbolic and measured values side by side."""
    vals = ", ".join(f"{k}={v}" for k, v in data["values"].items())
    lines = [f"{data['design']}  at {vals}", f"{'':8}{'symbolic':>16}{'torch':>16}"]
    rows = [("params", "params"), ("macs", "MACs"), ("field", "field")]
    if not data["field_uniform"] or data["field_max"]["symbolic"] != data["field"]["symbolic"][2]:
        rows.append(("field_max", "most c"))
    for key, label in rows:
        sym, meas = data[key]["symbolic"], data[key]["torch"]
        mark = "ok" if sym == meas else "MISMATCH"
        fmt_v = (lambda v: "(" + ", ".join(map(str, v)) + ")") if key == "field" else str
        lines.append(f"{label:8}{fmt_v(sym):>16}{fmt_v(meas):>16}  {mark}")
    if not data["field_uniform"]:
        lines.append(
            "note: output channels do not all reach the same number of input channels (field: the least)"
        )
    lines.append("all match" if data["ok"] else "MISMATCH: the symbolic model and torch disagree")
    return "\n".join(lines) + "\n"


@prints("efficiency", "pretty", "text")
def efficiency(data: dict, style: str = "pretty", *, e=None) -> str:
    """`skanalyze efficiency`: ratios, Theorem 1's optimum, the greatest width."""
    e = e or _e(style)
    opt = data["optimum"]
    out = block(data["design"], efficiency_rows(data, e), style, sep=":")
    if opt["steps"] and opt["status"] in ("boundary", "unconstrained"):
        out += "\n  derivation:\n" + "\n".join(f"    - {step}" for step in opt["steps"])
    return out + "\n"


def efficiency_rows(data: dict, e) -> list[tuple[str, str]]:
    """The (name, value) rows of the efficiency report, expressions written by ``e``."""
    opt = data["optimum"]
    rows = [
        ("parameter ratio", e(data["param_ratio"])),
        ("MAC ratio", e(data["mac_ratio"])),
    ]
    if "intensity" in data:
        rows += [
            ("intensity", e(data["intensity"]) + "  MACs/byte"),
            (
                "intensity ratio",
                e(data["intensity_ratio"]) + "  (to the standard conv's; < 1: more memory-bound)",
            ),
        ]
    rows += [
        ("full field when", e(data["full_condition"])),
    ]
    if "bottleneck" in data:
        rows.append(("with K", e(data["bottleneck"])))
    if opt["status"] == "boundary":
        rows += [
            ("Theorem 1", f"the least parameters lie on {e(opt['boundary'])}"),
            ("ratio on it", e(opt["boundary_param_ratio"])),
            ("optimal groups", ", ".join(f"{g} = {e(v)}" for g, v in opt["groups"].items())),
            ("valid when", ", ".join(e(v) for v in opt["valid_when"]) or "always"),
            ("least params", e(opt["params"])),
            ("least ratio", e(opt["param_ratio"])),
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
    width = data["greatest_width"]
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
    if "at" in data:
        rows += _at_rows(data["at"], e)
    return rows


def _at_rows(at: dict, e) -> list[tuple[str, str]]:
    """efficiency --at: the best buildable group numbers, ties, the runner-up, the real optimum and, with a
    profile, the predicted times."""
    rows: list[tuple[str, str]] = []

    def groups(row):
        return ", ".join(f"{g} = {v}" for g, v in row["groups"].items())

    rows.append(
        (
            f"at C={at['C']}, F={at['F']}",
            f"best buildable {groups(at['best'])}: "
            f"params {at['best']['params']:,}, ratio {e(at['best']['param_ratio'])}",
        )
    )
    for r in at.get("tied", []):
        rows.append(
            ("  tied (equally best)", f"{groups(r)}: params {r['params']:,}, ratio {e(r['param_ratio'])}")
        )
    if at["runner_up"]:
        r = at["runner_up"]
        rows.append(("  runner-up", f"{groups(r)}: params {r['params']:,}, ratio {e(r['param_ratio'])}"))
    if at["real_optimum"]:
        real = at["real_optimum"]
        rows.append(
            (
                "  real-valued optimum",
                ", ".join(f"{g} = {e(v)}" for g, v in real["groups"].items())
                + f": params {e(real['params'])}; the best buildable costs "
                + f"{100 * float(real['gap']):.2f}% more",
            )
        )
    if "latency" in at:
        lat = at["latency"]
        few, fast = lat["fewest_params"], lat["fastest"]
        where = f"on {lat['profile']} at {lat['hw']}x{lat['hw']}, batch {lat['batch']}"
        rows.append(
            (
                "  predicted time",
                f"{where}: fewest params ({groups(few)}) {seconds(few['predicted_s'])}, "
                f"{few['speedup']:.2f}x the standard conv's {seconds(lat['standard_s'])}"
                + ("; saves params, costs time" if lat["slower_than_standard"] else ""),
            )
        )
        if fast["groups"] != few["groups"]:
            rows.append(
                (
                    "  fastest buildable",
                    f"{groups(fast)}: {seconds(fast['predicted_s'])} ({fast['speedup']:.2f}x), "
                    f"params {fast['params']:,}",
                )
            )
    return rows


@prints("optimize", "pretty", "text")
def optimize(data: dict, style: str = "pretty") -> str:
    """`skanalyze optimize`: the continuous optimum, the buildable one and the gap."""
    objective, budget, hw = data["objective"], data["budget"], data["hw"]
    cont, buildable = data["continuous"], data["buildable"]
    unit = "params" if objective == "params" else f"MACs at {hw}x{hw}"
    groups = cont["groups"]
    cont_groups = ", ".join(f"{g} = {v:.2f}" for g, v in groups.items())
    build_vals = ", ".join(f"{k} = {v}" for k, v in buildable.items() if k not in ("params", "macs"))
    cost = buildable["macs"] if objective == "macs" else buildable["params"]
    lines = [
        f"{data['design']}   budget {budget} {unit}, F = {data['alpha']}·C",
        (f"  continuous optimum : C* = {cont['width']:.2f}" + (f"  ({cont_groups})" if cont_groups else ""))
        if cont["exact"]
        else f"  continuous bound   : C* <= {cont['width']:.2f}  (no closed-form optimal groups)",
        f"  buildable optimum  : {build_vals}",
        f"                       params = {buildable['params']}"
        + (f", MACs = {cost}" if objective == "macs" else "")
        + f"  ({100 * cost / budget:.2f}% of the budget)",
        f"  gap                : the buildable width is {100 * data['width_gap']:.2f}% below C*",
    ]
    return "\n".join(lines) + "\n"


@prints("optimize_latency", "pretty", "text")
def optimize_latency(data: dict, style: str = "pretty") -> str:
    """`skanalyze optimize --latency`: the widest buildable layer predicted to fit the time."""
    vals = ", ".join(f"{k} = {v}" for k, v in data["buildable"].items())
    return (
        "\n".join(
            [
                f"{data['design']}   latency budget {seconds(data['latency_budget_s'])} at {data['hw']}x{data['hw']}, "
                f"batch {data['batch']}, F = {data['alpha']}·C, on {data['profile']}",
                f"  widest buildable   : {vals}",
                f"                       params = {data['params']:,}, MACs = {data['macs']:,}, bytes = {data['bytes']:,}",
                f"  predicted          : {seconds(data['predicted_s'])} "
                f"({100 * data['predicted_s'] / data['latency_budget_s']:.1f}% of the budget; roofline, "
                "not measured: `skanalyze latency` times it)",
            ]
        )
        + "\n"
    )


def _channels(value) -> str:
    """A channel count, or 'lo to hi' for a range of counts across outputs."""
    if isinstance(value, sp.Interval):
        return f"{pretty(value.start)} to {pretty(value.end)}"
    return pretty(value)


@prints("field", "pretty", "text")
def field(data: dict, style: str = "pretty") -> str:
    """`skanalyze field`: the field, the full-field condition, the trace, the measurement."""
    e = pretty
    x, y, c = data["field"]
    channels = e(c) if "c_max" not in data else f"{e(c)} to {e(data['c_max'])} (differs across outputs)"
    rows = [
        ("field (x, y, c)", f"({e(x)}, {e(y)}, {channels})"),
        ("standard conv", "(" + ", ".join(e(v) for v in data["standard"]) + ")"),
        ("full field when", e(data["condition"])),
    ]
    for item in data["trace"]:
        rows.append((f"  after {item['layer']}", "(" + ", ".join(_channels(v) for v in item["field"]) + ")"))
    for item in data.get("exact_when", ()):
        where, ratios = item["where"], item["integers"]
        rows.append(
            (
                "exact when",
                " and ".join(f"{e(r)} is an integer" for r in ratios)
                + (f" (where {e(where)})" if where is not sp.true else "")
                + ": the group sizes nest; otherwise give sizes (--subs) for the exact per-output range",
            )
        )
    if data.get("aligned") is False:
        rows.append(
            (
                "note",
                "group boundaries do not align at these sizes: the field is propagated channel by channel",
            )
        )
    if "measured" in data:
        mx, my, mc = data["measured"]
        rows.append(
            (
                "measured (torch)",
                f"({mx}, {my}, {mc})"
                + ("" if data["measured_c_max"] == mc else f", up to {data['measured_c_max']} channels"),
            )
        )
        rows.append(("agrees", "yes" if data["agrees"] else "NO"))
    return block(data["design"], rows, "pretty", sep=":") + "\n"


@prints("explain", "pretty", "text")
def explain(data: dict, style: str = "pretty") -> str:
    """`skanalyze space --explain`: the verdict on one design and its reason."""
    verdict = "kept" if data["kept"] else f"dropped at the {data['stage']} stage"
    return f"{data['design']}: {verdict}\n  {data['reason']}\n"


@prints("space", "pretty", "text")
def space(data: dict, style: str = "pretty") -> str:
    """`skanalyze space`: the stage table, survivors by family, the paper's four designs."""
    stages = [(s["name"], s["remaining"]) for s in data["stages"]]
    lines = [
        f"design space: alphabet {', '.join(data['alphabet'])}; lengths 1..{data['max_length']}; "
        f"composition regex {data['pattern']} ({data['regex']})",
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
    for row in data["per_length"]:
        lines.append(f"{row['length']:>8}" + "".join(f"{row[k]:>{width},}" for k in keys))
    lines += [
        "",
        f"survivors ({len(data['survivors'])}) by family (designs that differ only in group numbers; "
        "DW = GConv(C), PW = PWGConv(1)):",
    ]
    exceptions = set(data["bottleneck_exception"])
    for fam, words in data["families"].items():
        lines.append(f"  {fam}: {', '.join(w + (' *' if w in exceptions else '') for w in words)}")
    lines += ["  (* kept by the bottleneck exception)", "", "the paper's four final designs:"]
    for w, v in data["paper"].items():
        lines.append(f"  {w:<28} {'kept' if v['kept'] else 'dropped at ' + str(v['stage'])}: {v['reason']}")
    lines.append(
        f"\nautomated survivors the paper does not list: {len(data['not_in_paper'])} (see docs/field.md for why)"
    )
    return "\n".join(lines) + "\n"


def _int(value) -> str:
    value = sp.sympify(value)
    return f"{int(value):,}" if value.is_Integer else one_line(value)


def layout(lay: dict) -> str:
    """A network layout (as data) in one line."""
    stem = f"stem {lay['stem_kernel']}x{lay['stem_kernel']}/{lay['stem_stride']} -> " + (
        "width" if lay["stem_width"] is None else str(lay["stem_width"])
    )
    return (
        f"{lay['input_size']}x{lay['input_size']}x{lay['in_channels']}, {stem}"
        f"{', maxpool' if lay['maxpool'] else ''}, blocks {','.join(map(str, lay['blocks']))} x {lay['units']} unit(s), "
        f"{lay['shortcut']} shortcuts, BN {'counted' if lay['bn'] else 'not counted'}, "
        f"FC {'counted' if lay['classifier'] else 'not counted'} ({lay['classes']} classes), groups {lay['group_scaling']}"
    )


@prints("network", "pretty", "text")
def network(data: dict, style: str = "pretty") -> str:
    """`skanalyze network`: counts per part, totals, the width polynomial, the torch check."""
    head = f"{data['design']} network, width {data['width']}"
    if "groups" in data:
        head += f", groups {', '.join(f'{k}={v}' for k, v in data['groups'].items())}"
    if "budget" in data:
        head += (
            f"  (the widest under {data['objective']} budget {data['budget']}; "
            f"{data['widths_searched']} widths tried)"
        )
    if "latency_budget_s" in data:
        head += (
            f"  (the widest predicted to fit {seconds(data['latency_budget_s'])} on {data['profile']}, batch "
            f"{data['batch']}: predicted {seconds(data['predicted_s'])}, roofline, not measured; "
            f"{data['widths_searched']} widths tried)"
        )
    lines = [head, f"  layout: {layout(data['layout'])}", f"  {'part':<12}{'params':>24}  {'MACs':>28}"]
    for key in data["params"]:
        if key != "total":
            lines.append(f"  {key:<12}{_int(data['params'][key]):>24}  {_int(data['macs'][key]):>28}")
    lines.append(f"  {'total':<12}{_int(data['params']['total']):>24}  {_int(data['macs']['total']):>28}")
    lines.append(f"  params in width: {one_line(data['symbolic']['params'])}")
    if "torch" in data:
        t = data["torch"]
        lines.append(
            f"  torch: params {t['params']}, MACs {t['macs']}: " + ("agree" if t["agrees"] else "MISMATCH")
        )
    return "\n".join(lines) + "\n"


def compare_cells(rows: list[dict], budget: int, c: int) -> tuple[list[str], list[list[str]]]:
    """The comparison table's header and cells (shared with the Markdown printer)."""
    head = ["design", f"ratio at C=F={c}", "field (x, y, c)", "footprint", f"widest C for P={budget:.3g}"]
    body = []
    for r in rows:
        field_txt = "(" + ", ".join(one_line(v) for v in r["field"]) + ")"
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
        body.append(
            [r["design"], f"{float(r['param_ratio_at_c']):.4f}{r['ratio_note']}", field_txt, fp, width]
        )
    return head, body


@prints("compare", "pretty", "text")
def compare(data: dict, style: str = "pretty") -> str:
    """`skanalyze compare`: the kernel families beside the paper's designs."""
    head, body = compare_cells(data["rows"], data["budget"], data["C"])
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in [head, *body]]
    lines.append(
        "footprint: spatial positions one output reads (least-covering output) of its field's window, "
        "exact at the sizes in --json's footprint_at"
    )
    return "\n".join(lines) + "\n"


def millions(value) -> str:
    """A parameter count in millions with two decimals, or a dash when there is none."""
    return f"{value / 1e6:.2f}" if isinstance(value, int) else "—"


@prints("tables", "pretty", "text")
def tables(report, style: str = "pretty") -> str:
    """`skanalyze tables`: the row-by-row report (an analyses.tables.Report)."""
    lines = [
        f"The paper's Tables 2-4 under skanalyze's network model ({report.sets} assumption sets searched; "
        f"reproduced = within {report.tolerance_m} M).",
        f"Best single assumption set ({report.best_count} of {len(report.verdicts)} rows): {report.best.describe()}.",
        "",
        f"{'table':<6}{'network unit':<30}{'width':>6}{'paper M':>9}{'default':>9}{'best set':>10}  verdict",
    ]
    for v in report.verdicts:
        lines.append(
            f"{v.row.table:<6}{v.row.label[:29]:<30}{v.row.width:>6}{v.row.params_m:>9.1f}{millions(v.default):>9}"
            f"{millions(v.best):>10}  {v.verdict}"
        )
    lines.append("")
    for v in report.verdicts:
        if not v.reproduced:
            lines.append(f"T{v.row.table} {v.row.label} w{v.row.width}: {v.verdict}: {v.cause}")
    return "\n".join(lines) + "\n"


@prints("training", "pretty", "text")
def training(summary: dict, style: str = "pretty") -> str:
    """The `skanalyze train` table."""
    cfg = summary["config"]
    lines = [
        f"equal budget {summary['budget']} params, 28x28 layout blocks {tuple(cfg['blocks'])}, "
        f"{cfg['epochs']} epoch{'s' if cfg['epochs'] != 1 else ''}, {cfg['seeds']} seed{'s' if cfg['seeds'] != 1 else ''}, "
        f"train {cfg['limit_train'] or 'all'} / test {cfg['limit_test'] or 'all'} images",
        "on {device}, {precision}, torch {torch}, data {data}".format(
            **{"device": "?", "precision": "?", "torch": "?", "data": "?", **summary.get("context", {})}
        ),
        f"{'rank':>4}  {'design':<28}{'width':>6}{'params':>9}{'budget':>8}{'accuracy':>18}{'img/s':>9}",
    ]
    for r in summary["designs"]:
        acc = (
            "failed"
            if r["accuracy_mean"] is None
            else f"{100 * r['accuracy_mean']:.2f} ± {100 * r['accuracy_std']:.2f} %"
        )
        ips = "" if r["images_per_sec"] is None else f"{r['images_per_sec']:.0f}"
        lines.append(
            f"{r['predicted_rank']:>4}  {r['design'][:27]:<28}{r['width']:>6}{r['params']:>9}"
            f"{100 * r.get('budget_used', float('nan')):>7.1f}%{acc:>18}{ips:>9}"
        )
        for err in r["failed"]:
            lines.append(f"      failed run: {err}")
    under = [r["design"] for r in summary["designs"] if r.get("budget_used", 1) < 0.95]
    if under:
        lines.append(f"note: under 95% of the budget, so not only the width differs: {', '.join(under)}")
    widths = [r["width"] for r in summary["designs"]]
    if widths:
        lines.append(f"widths span {max(widths) / min(widths):.2f}x ({min(widths)} .. {max(widths)})")
    rho = summary["spearman"]
    lines.append(f"descriptive: Spearman (width vs mean accuracy) {'n/a' if rho is None else f'{rho:.3f}'}")
    test = summary.get("test") or {}
    for row in test.get("power") or []:
        lines.append(
            f"power: {row['seeds_for_80_percent']} seeds detect {row['effect_per_doubling']} point(s) per doubling "
            f"with 80% power at the measured residual spread {test['residual_sd']:.2f} points"
        )
    lines.append(f"verdict: {summary['verdict']}")
    return "\n".join(lines) + "\n"


@prints("profile", "pretty", "text")
def profile(data: dict, style: str = "pretty") -> str:
    """`skanalyze device`: the three roofline constants of a profile, and where they came from."""
    ridge = data["peak_macs_per_s"] / data["bandwidth_bytes_per_s"]
    lines = [
        f"profile {data['name']}" + (f"  ({data['source']})" if data.get("source") else ""),
        f"  peak       {data['peak_macs_per_s'] / 1e9:.4g} GMAC/s",
        f"  bandwidth  {data['bandwidth_bytes_per_s'] / 1e9:.4g} GB/s",
        f"  overhead   {seconds(data['overhead_s'])} per layer",
        f"  ridge      {ridge:.3g} MACs/byte (layers below it are memory-bound), {data['element_bytes']} bytes per element",
    ]
    details = data.get("details") or {}
    if details.get("calibrated", details.get("measured")):  # "measured": profiles written by schema 1
        lines.append(
            f"  measured on {details.get('processor')} ({details.get('device')}, "
            f"{details.get('threads')} threads, batch {details.get('batch', 1)}, torch {details.get('torch')})"
        )
        mm = details.get("matmul")
        if mm:
            lines.append(
                f"  matmul {mm['n']}x{mm['n']} reached {mm['macs_per_s'] / 1e9:.4g} GMAC/s (reference)"
            )
        load = details.get("load") or {}
        if details.get("date") or load:
            lines.append(
                f"  on {details.get('date', 'an unrecorded date')}, load average {load.get('before')} before, "
                f"{load.get('after')} after"
            )
        for warning in details.get("warnings") or []:
            lines.append(f"  warning: {warning}")
    for kind, own in (data.get("kinds") or {}).items():
        parts = [f"overhead {seconds(own['overhead_s'])}"] if "overhead_s" in own else []
        if own.get("overhead_per_group_s"):
            parts.append(f"+ {seconds(own['overhead_per_group_s'])} per group")
        if "peak_macs_per_s" in own:
            parts.append(f"peak {own['peak_macs_per_s'] / 1e9:.4g} GMAC/s")
        if "bandwidth_bytes_per_s" in own:
            parts.append(f"bandwidth {own['bandwidth_bytes_per_s'] / 1e9:.4g} GB/s")
        if own.get("channels_half") or own.get("positions_half"):
            parts.append(
                f"half rate at {own.get('channels_half', 0):.3g} channels per group, "
                f"{own.get('positions_half', 0):.3g} positions"
            )
        if own.get("channels_multiple"):
            parts.append(f"direct kernel at multiples of {own['channels_multiple']} channels per group")
        lines.append(f"  {kind + ':':<13} {', '.join(parts)}")
    network = data.get("network") or {}
    if network:
        rates = [
            f"{what} {seconds(1e6 / network[key])} per MB"
            for key, what in (("cold_read_bytes_per_s", "read"), ("cold_write_bytes_per_s", "written"))
            if key in network
        ]
        lines.append(f"  in a network: + {', + '.join(rates)} of tensors out of the cache")
    if data.get("written"):
        lines.append(f"written to {data['written']}")
    return "\n".join(lines) + "\n"


@prints("latency", "pretty", "text")
def latency(data: dict, style: str = "pretty") -> str:
    """`skanalyze latency`: the measured time (median, IQR), the exact MACs and bytes, and the prediction."""
    vals = ", ".join(f"{k}={v}" for k, v in data["values"].items())
    m = data["measured"]
    where = data["device"] + (
        f", {data['threads']} thread{'s' if data['threads'] != 1 else ''}" if data["threads"] else ""
    )
    lines = [
        f"{data['design']}  at {vals}, batch {data['batch']} ({where}, torch {data['torch']})",
        f"  measured   {seconds(m['median_s'])} median of {m['repeats']} (IQR {seconds(m['q1_s'])} .. "
        f"{seconds(m['q3_s'])}, {m['warmup']} warm-up calls)",
        f"  MACs       {data['macs']:,}",
        f"  bytes      {data['bytes']:,} ({data['element_bytes']} per element; each tensor read or written once)",
        f"  intensity  {data['macs'] / data['bytes']:.3g} MACs/byte",
    ]
    if data.get("profile"):
        lines.append(
            f"  predicted  {seconds(data['predicted_s'])} on {data['profile']} (measured / predicted = "
            f"{data['measured_over_predicted']:.2f})"
        )
        width = max(len(r["layer"]) for r in data["layers"])
        for r in data["layers"]:
            lines.append(
                f"    {r['layer'].ljust(width)}  {r['macs']:>14,} MACs  {r['bytes']:>12,} bytes  "
                f"{r['bound']:<7}  {seconds(r['predicted_s'])}"
            )
    else:
        lines.append(
            "  no prediction: give --profile FILE (skanalyze device calibrate --out FILE measures one)"
        )
    return "\n".join(lines) + "\n"
