"""The text printer of `skanalyze model` (pretty and text styles): the per-layer table, the design units, the
totals, and one section per option that adds to the report."""

from __future__ import annotations

from . import prints
from .expr import pretty, seconds
from .expr import text as one_line


@prints("model", "pretty", "text")
def model(data: dict, style: str = "pretty") -> str:
    """`skanalyze model`: the per-layer table, the design units, unmodelled parameters and the totals, then
    what the options added (closed forms, suggestions, an applied design, other counters' lines)."""
    t = data["totals"]
    out = [
        f"{data['model']}: input {'x'.join(map(str, data['input']))} (traced on {data['traced_on']} tensors, "
        f"{data['traced_mode']} mode)",
        "",
        *_layer_table(data["layers"]),
        "",
        *_units(data["units"]),
    ]
    if data["unmodelled"]:
        out.append("")
        out.append("not modelled (parameters counted in the total):")
        out += [f"  {u['name']}: {u['params']:,}" for u in data["unmodelled"]]
    out += [
        "",
        f"total: {t['params']:,} params, {t['macs']:,} MACs ({t['flops']:,} FLOPs)",
        data["convention"],
    ]
    if "closed_form" in data:
        out += ["", *_closed_form(data["closed_form"])]
    if "suggestions" in data:
        out += ["", *_suggestions(data["suggestions"], t["params"])]
    if "applied" in data:
        out += ["", *_applied(data["applied"])]
    for conv in data.get("conventions", []):
        out += ["", *_convention(conv)]
    if "latency" in data:
        out += ["", *_latency(data["latency"])]
    return "\n".join(out) + "\n"


def _latency(lat: dict) -> list[str]:
    """The --latency section: the whole pass measured (and predicted), then the modules furthest off."""
    m = lat["measured"]
    head = (
        f"latency on this CPU ({lat['threads']} thread{'s' if lat['threads'] != 1 else ''}, median of {lat['repeats']} passes, a copy in eval mode): "
        f"{seconds(m['median_s'])} (IQR {seconds(m['iqr_s'])})"
    )
    out = [head]
    if lat["predicted_s"] is None:
        out.append("  no prediction: give --profile (a calibrated profile, or a shipped one)")
    else:
        out.append(
            f"  predicted on {lat['profile']}: {seconds(lat['predicted_s'])} "
            f"(measured / predicted = {lat['ratio']:.2f}; the roofline per layer, layer by layer)"
        )
        extra = lat["predicted_s"] - (lat.get("predicted_alone_s") or lat["predicted_s"])
        if lat.get("network_rates") is False:
            out.append(
                "    each layer as if alone: this profile has no network rates (the extra time of tensors out "
                "of the cache; `skanalyze device calibrate` measures them)"
            )
        elif extra > 0:
            out.append(
                f"    of which {seconds(extra)} for tensors read and written out of the cache in the network "
                f"(the layers alone: {seconds(lat['predicted_alone_s'])})"
            )
    outside = lat["outside"]
    out.append(
        f"  leaf modules {seconds(lat['leaf_modules_s'])} (timed by hooks), outside them {seconds(max(outside['measured_s'], 0))}"
        + (f" (predicted {seconds(outside['predicted_s'])})" if outside["predicted_s"] is not None else "")
    )
    rows = {r["name"]: r for r in lat["modules"]}
    shown = [rows[n] for n in lat["furthest"]] or sorted(lat["modules"], key=lambda r: -r["measured_s"])[:10]
    if not shown:
        return out
    out.append("  furthest off (measured / predicted):" if lat["furthest"] else "  slowest modules:")
    width = max(len(r["name"]) for r in shown)
    for r in shown:
        guess = f"{seconds(r['predicted_s']):>9}  {r['ratio']:6.2f}x" if r["ratio"] is not None else ""
        out.append(f"    {r['name']:<{width}}  {r['kind']:<7} {seconds(r['measured_s']):>9}  {guess}")
    return out


def _layer_table(layers: list[dict]) -> list[str]:
    head = ("layer", "notation", "input", "output", "params", "MACs", "MACs %", "unit")
    rows = [
        (
            r["name"] or "(the model)",
            r["notation"],
            "x".join(map(str, r["input"])),
            "x".join(map(str, r["output"])),
            f"{r['params']:,}",
            f"{r['macs']:,}",
            f"{100 * r['macs_share']:.1f}",
            r["unit"] or "",
        )
        for r in layers
    ]
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    right = {4, 5, 6}

    def line(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(head), *(line(r) for r in rows)]


def _units(units: list[dict]) -> list[str]:
    if not units:  # a transformer: no chain of convolutions the notation writes
        return ["design units (0): none (no convolution here is one the notation writes as a design)"]
    out = [f"design units ({len(units)}):"]
    uw = max(len(u["name"]) for u in units)
    nw = max(len(u["design"]) for u in units)
    for u in units:
        field = "(" + ", ".join(map(str, u["field"])) + ")" if u["field"] else "—"
        flags = ", ".join(
            f for f, on in (("residual", u["residual"]), ("shortcut", u["shortcut_branch"])) if on
        )
        extra = "; ".join(x for x in (flags, u["note"]) if x)
        out.append(
            f"  {u['name'].ljust(uw)}  {u['design'].ljust(nw)}  {u['c_in']}->{u['c_out']}  field {field}"
            + (f"  ({extra})" if extra else "")
        )
    return out


def _closed_form(cf: dict) -> list[str]:
    out = ["closed forms (" + cf["rule"] + "):", f"  params = {pretty(cf['params'])}"]
    if cf["macs"] is not None:
        out.append(f"  MACs   = {pretty(cf['macs'])}   (H_in, W_in multiples of {cf['input_multiple_of']})")
    else:
        out.append(f"  MACs: no closed form in the input size ({cf['note']})")
    for g in cf["fixed_groups"][:1]:
        out.append(
            "  fixed group numbers must divide the channels they split, e.g. "
            f"{g['groups']} | alpha_w x {', '.join(map(str, g['channels']))}"
        )
    if "macs_at" in cf:
        h, w = cf["macs_at"]["resolution"]
        out.append(f"  at {h}x{w}: {int(cf['macs_at']['macs']):,} MACs")
    if "widest" in cf:
        wd = cf["widest"]
        out.append(
            f"  widest within {wd['budget']:,} {wd['objective']}: alpha_w = {one_line(wd['alpha_w'])} "
            f"({int(wd['params']):,} params" + (f", {int(wd['macs']):,} MACs)" if "macs" in wd else ")")
        )
        if "built" in wd:
            out.append(f"    {wd['built']['note']}")
    if "own_rule" in cf:
        own = cf["own_rule"]
        out.append(
            f"  by {own['rule']}: widest within {own['budget']:,} {own['objective']}: width = "
            f"{_decimal(own['width'])} ({own['params']:,} params, {own['macs']:,} MACs); width = "
            f"{_decimal(own['next']['width'])} needs {own['next']['params']:,} params, "
            f"{own['next']['macs']:,} MACs ({own['traced']} widths traced)"
        )
    return out


def _suggestions(suggestions: list[dict], total: int) -> list[str]:
    if not suggestions:
        return [
            "replacing each unit by one paper design: nothing to suggest (no unit with a spatial kernel past the stem)"
        ]
    out = ["replacing each unit by one paper design C -> F (weights only; biases and BN aside):"]
    saved = 0
    for row in suggestions:
        timed = f", predicted {seconds(row['predicted_s'])}" if "predicted_s" in row else ""
        out.append(
            f"  {row['unit']}  {row['design']}  {row['c_in']}->{row['c_out']}: {row['params']:,} weights, "
            f"{float(row['param_ratio']):.3f} x a standard 3x3 conv{timed}"
        )
        for rep in row["replacements"][:2]:
            groups = ", ".join(f"{k}={v}" for k, v in rep["values"].items() if k not in ("C", "F"))
            wide = rep["width_at_equal_params"]
            time_note = ""
            if "predicted_s" in rep:
                time_note = f"; predicted {seconds(rep['predicted_s'])}" + (
                    " (saves params, costs time)" if rep["slower"] else ""
                )
            out.append(
                f"    {rep['design']}{f' ({groups})' if groups else ''}: {rep['params']:,} params "
                f"(saves {rep['saved']:,}), field ({', '.join(map(str, rep['field']))})"
                + (f"; at equal params C = {wide:,}" if wide else "")
                + time_note
            )
        full = [r for r in row["replacements"] if r["full"] and r["saved"] > 0]
        saved += full[0]["saved"] if full else 0
    out.append(
        f"  every unit replaced by its cheapest full-field design: {total - saved:,} params "
        f"instead of {total:,} ({100 * saved / total:.1f}% fewer)"
    )
    return out


def _convention(conv: dict) -> list[str]:
    out = [f"{conv['convention']}: {conv['total']:,} {conv['unit']}, {conv['params']:,} params"]
    width = max(len(line["what"]) for line in conv["lines"])
    count = max(len(f"{line['count']:,}") for line in conv["lines"])
    out += [
        f"  {line['what'].ljust(width)}  {format(line['count'], ',').rjust(count)}  {line['rule']}"
        for line in conv["lines"]
    ]
    return out


def _applied(ap: dict) -> list[str]:
    """The --apply section: each replacement, what was skipped and why, and predicted vs measured totals."""
    what = "every unit" if ap["mode"] == "unit" else "every standard spatial conv"
    out = [f"rebuilt with {ap['design']} in place of {what} ({len(ap['replaced'])} replaced):"]
    tw = max(len(r["target"]) for r in ap["replaced"])
    bw = max(len(r["before"]) for r in ap["replaced"])
    for r in ap["replaced"]:
        out.append(
            f"  {r['target'].ljust(tw)}  {r['before'].ljust(bw)} -> {r['after']}: "
            f"{r['params_before']:,} -> {r['params_after']:,} params, {r['macs_before']:,} -> {r['macs_after']:,} MACs"
        )
    for sk in ap["skipped"]:
        out.append(f"  kept {sk['target']}: {sk['reason']}")
    b, p, m = ap["before"], ap["predicted"], ap["measured"]
    out += [
        f"  params: {b['params']:,} -> {p['params']:,} predicted ({_change(b['params'], p['params'])}); "
        f"rebuilt module: {m['params']:,} (sum(p.numel()))",
        f"  MACs:   {b['macs']:,} -> {p['macs']:,} predicted ({_change(b['macs'], p['macs'])}); "
        f"rebuilt module: {m['macs']:,} (FlopCounterMode / 2)",
        "  predicted = measured" if p == m else "  MISMATCH: the prediction and the rebuilt module disagree",
    ]
    return out


def _decimal(value) -> str:
    """An exact rational that a short decimal writes exactly (13/25 -> 0.52), else p/q."""
    for digits in range(7):
        scaled = value * 10**digits
        if scaled.is_Integer:
            whole, frac = divmod(int(scaled), 10**digits)
            return f"{whole}.{frac:0{digits}d}" if digits else str(whole)
    return one_line(value)


def _change(before: int, after: int) -> str:
    share = 100 * (after - before) / before
    return f"{abs(share):.1f}% {'fewer' if after < before else 'more'}"
