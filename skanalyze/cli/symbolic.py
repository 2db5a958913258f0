"""The symbolic commands: formulas, verify, efficiency, optimize, field, space, tables, compare, designs. Each
parses its flags, calls one analysis and prints its report."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core import symbols as S
from ..core.errors import SkanalyzeError
from .common import (
    BottleneckOpt,
    DesignArg,
    FormatOpt,
    JsonOpt,
    MemoryOpt,
    ShuffleOpt,
    SubsOpt,
    ValuesArg,
    chosen_design,
    design_options,
    output_format,
    split_args,
    with_hw,
)


def formulas(
    designs: Annotated[
        list[str] | None,
        typer.Argument(help="Catalog names or designs; default: the paper's four and the standard conv."),
    ] = None,
    subs: SubsOpt = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bn: Annotated[
        bool, typer.Option("--bn/--no-bn", help="Count BatchNorm parameters (2 per channel).")
    ] = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    hw: Annotated[
        int | None, typer.Option("--hw", help="Output size H = W (the same as --subs H=56 W=56).")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Also the predicted time as a closed form (piecewise: a Max per layer) on this device profile.",
        ),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="With --profile: the batch size.")] = 1,
) -> None:
    """Print closed-form params, MACs, FLOPs (= 2 x MACs), memory traffic and arithmetic intensity of designs."""
    from ..analyses import reports
    from ..render import render

    fmt = output_format("formulas", fmt, json_out)
    if batch != 1 and profile is None:
        raise SkanalyzeError("--batch belongs to --profile (the predicted time); add --profile P")
    if profile is not None and fmt == "python":
        raise SkanalyzeError(
            "--format python prints exact integer functions; the predicted time needs pretty, text, latex or json"
        )
    names, values = split_args(designs, subs)
    values = with_hw(values, hw)
    chosen = reports.designs_from(names, **design_options(bottleneck, shuffle))
    reports.check_bottleneck(chosen, bottleneck)
    data = reports.formulas(chosen, values, bn=bn, substitute_k=bottleneck is not None)
    if profile is not None:
        from ..analyses.profiles import load_profile
        from ..analyses.roofline import time_expression

        device = load_profile(profile)
        for row, design in zip(data, chosen, strict=True):
            seconds = time_expression(design, device, batch)
            given = {k: v for k, v in S.resolve(values).items() if k in seconds.free_symbols}
            row["time"] = {
                "profile": device.name,
                "batch": batch,
                "seconds": seconds.subs(given) if given else seconds,
            }
    typer.echo(render("formulas", data, fmt), nl=False)


def verify(
    design: DesignArg,
    values: ValuesArg = None,
    subs: SubsOpt = None,
    bn: Annotated[
        bool, typer.Option("--bn/--no-bn", help="Add BatchNorm after each conv and count it.")
    ] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    max_memory: MemoryOpt = None,
) -> None:
    """Build the design in torch and compare params, MACs and field with the symbolic model."""
    from ..render import render
    from . import checks

    fmt = output_format("verify", fmt, json_out)
    _, vals = split_args(values, subs)
    data = checks.verify(chosen_design(design, bottleneck, shuffle), vals, bn=bn, max_memory=max_memory)
    typer.echo(render("verify", data, fmt), nl=False)
    if not data["ok"]:
        raise typer.Exit(1)


def efficiency(
    design: DesignArg,
    values: ValuesArg = None,
    subs: SubsOpt = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    integers: Annotated[
        int | None,
        typer.Option(
            "--integers", help="Also check Theorem 1 over all integer group numbers for C up to this."
        ),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at",
            help="Also the best buildable group numbers at these widths: --at C=64 F=128 (F defaults to C; "
            "NAME=VALUE tokens may follow --at).",
        ),
    ] = None,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="With --at and --hw: predicted times on this device profile (file or shipped name).",
        ),
    ] = None,
    hw: Annotated[
        int | None, typer.Option("--hw", help="With --at --profile: the output size H = W.")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="With --at --profile: the batch size.")] = 1,
) -> None:
    """Ratios to the standard conv, full-field condition, optimal groups (Theorem 1), greatest width."""
    from ..analyses.efficiency import report as efficiency_report
    from ..analyses.efficiency import theorem1_report
    from ..analyses.optimize import at_report
    from ..render import render

    fmt = output_format("efficiency", fmt, json_out)
    if at is not None and subs:
        raise SkanalyzeError(
            "--at and --subs contradict each other: --at gives the widths (e.g. --at C=64 F=128)"
        )
    timed = profile is not None or hw is not None or batch != 1
    if timed and (at is None or profile is None or hw is None):
        raise SkanalyzeError(
            "--profile, --hw and --batch time the configurations of --at: give --at C=64 --profile P --hw 28"
        )
    d = chosen_design(design, bottleneck, shuffle)
    if at is not None:
        _, widths = split_args(values, at)
        c, f = _at_widths(widths)
        data = efficiency_report(d, {})
        data["at"] = at_report(d, c, f)
        if timed:
            from ..analyses.profiles import load_profile
            from ..analyses.roofline import at_latency

            data["at"]["latency"] = at_latency(d, c, f, load_profile(profile), hw, batch)
        if integers is not None:
            data["theorem1_integers"] = theorem1_report(d, integers)
    else:
        _, vals = split_args(values, subs)
        data = efficiency_report(d, vals, integers)
    typer.echo(render("efficiency", data, fmt), nl=False)


def _short(n: int) -> str:
    """A huge integer in a line: 10^400 rather than its 401 digits."""
    digits = str(int(n))
    return digits if len(digits) <= 20 else f"{digits[0]}.{digits[1:4]}e{len(digits) - 1}"


def _at_widths(widths: dict) -> tuple[int, int]:
    """C and F of --at as positive integers (F defaults to C); no other symbol."""
    extra = sorted(str(k) for k in widths if k not in (S.C, S.F))
    if extra:
        raise SkanalyzeError(
            f"--at takes the widths C and F only, not {', '.join(extra)}; e.g. --at C=64 F=128"
        )
    if S.C not in widths:
        raise SkanalyzeError("--at needs C, e.g. --at C=64 F=128")
    out = []
    for sym in (S.C, S.F):
        value = widths.get(sym, widths[S.C])
        if not (getattr(value, "is_Integer", False) and value > 0):
            raise SkanalyzeError(f"--at {sym}={value} must be a positive integer")
        if value > 10**18:  # the group search enumerates divisors: beyond this it would not return
            raise SkanalyzeError(
                f"--at {sym}={_short(value)} is beyond the widths --at searches (at most 10^18)"
            )
        out.append(int(value))
    return out[0], out[1]


def optimize(
    design: DesignArg,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Parameter (or MAC) budget: 1000000, 1e6, 11.2M.")
    ] = None,
    alpha: Annotated[str, typer.Option("--alpha", help="F/C as a rational: 1, 2, 1/2.")] = "1",
    macs: Annotated[bool, typer.Option("--macs", help="The budget counts MACs (needs --hw).")] = False,
    hw: Annotated[
        int | None, typer.Option("--hw", help="Output size H = W for a MAC or latency budget.")
    ] = None,
    latency_budget: Annotated[
        str | None,
        typer.Option(
            "--latency", help="A latency budget instead (2ms, 500us), predicted on --profile at --hw."
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="With --latency: a device profile (file or shipped name).")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="With --latency: the batch size.")] = 1,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
) -> None:
    """The widest layer a budget buys: continuous optimum and the exact buildable integers (or, with
    --latency, the widest buildable layer predicted to fit that time on a device profile)."""
    from ..analyses.optimize import report as optimize_report
    from ..render import render
    from .parsing import parse_alpha, parse_budget

    if latency_budget is not None:
        fmt = output_format("optimize_latency", fmt, json_out)
        _latency_optimize(
            design, latency_budget, profile, hw, alpha, batch, budget, macs, bottleneck, shuffle, fmt
        )
        return
    fmt = output_format("optimize", fmt, json_out)
    if budget is None:
        raise SkanalyzeError(
            "optimize needs a budget: --budget 1e6 (params), --budget 1e9 --macs --hw 56, or --latency 2ms"
        )
    if profile is not None or batch != 1:
        raise SkanalyzeError("--profile and --batch belong to a latency budget; they need --latency")
    if hw is not None and not macs:
        raise SkanalyzeError("--hw is the output size of a MAC budget; it needs --macs")
    d = chosen_design(design, bottleneck, shuffle)
    objective = "macs" if macs else "params"
    data = optimize_report(d, parse_budget(budget), parse_alpha(alpha), objective, hw)
    typer.echo(render("optimize", data, fmt), nl=False)


def _latency_optimize(
    design, latency_budget, profile, hw, alpha, batch, budget, macs, bottleneck, shuffle, fmt
):
    """optimize --latency: the widest buildable layer predicted to fit the time on the profile."""
    from ..analyses.profiles import load_profile
    from ..analyses.roofline import latency_report, parse_latency
    from ..render import render
    from .parsing import parse_alpha

    if budget is not None or macs:
        raise SkanalyzeError("--latency is the budget; --budget and --macs contradict it, give one")
    if profile is None:
        raise SkanalyzeError(
            "--latency needs a device: --profile FILE (skanalyze device calibrate --out FILE) or h100-sxm-datasheet"
        )
    if hw is None:
        raise SkanalyzeError("--latency needs the output size the layer runs at: --hw 56")
    seconds = parse_latency(latency_budget)
    chosen = load_profile(profile)
    d = chosen_design(design, bottleneck, shuffle)
    data = latency_report(d, seconds, chosen, hw, parse_alpha(alpha), batch)
    typer.echo(render("optimize_latency", data, fmt), nl=False)


def field(
    design: DesignArg,
    values: ValuesArg = None,
    subs: SubsOpt = None,
    measure: Annotated[
        bool, typer.Option("--measure", help="Also measure the field by autograd on a torch module.")
    ] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    max_memory: MemoryOpt = None,
) -> None:
    """The information field (x, y, c) of a design, its full-field condition, and optionally the measured field."""
    from ..analyses import reports
    from ..core.infofield import report as field_report
    from ..render import render
    from . import checks

    fmt = output_format("field", fmt, json_out)
    _, vals = split_args(values, subs)
    d = chosen_design(design, bottleneck, shuffle)
    vals = reports.complete_values(d, vals) if vals else {}
    if measure:
        reports.require_values(d, vals, "field --measure")
        checks.guard_design(d, vals, max_memory, f"field --measure {d.notation!r}")
    data = field_report(d, vals)
    if measure:
        checks.measure_field(data, d, vals, max_memory)
    typer.echo(render("field", data, fmt), nl=False)


def space(
    max_length: Annotated[int, typer.Option("--max-length", help="Longest design (kernels).")] = 6,
    alphabet: Annotated[
        str | None,
        typer.Option(
            "--alphabet", help="Kernel kinds, comma-separated, or 'all'; default: GConv,DW,PW,PWGConv."
        ),
    ] = None,
    regex: Annotated[
        str, typer.Option("--regex", help="Composition regex reading: fullmatch (default) or search.")
    ] = "fullmatch",
    explain: Annotated[
        str | None, typer.Option("--explain", help="Say where and why one design is kept or dropped.")
    ] = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The design space reduced in three stages (composition, performance, efficiency), counted and explained."""
    from ..analyses import space as space_report
    from ..analyses.space import PAPER_ALPHABET, full_vocabulary
    from ..render import render

    names = (
        None
        if alphabet is None
        else full_vocabulary()
        if alphabet.strip() == "all"
        else tuple(a.strip() for a in alphabet.split(",") if a.strip())
    )
    if names == ():
        raise SkanalyzeError(f"--alphabet {alphabet!r} is empty; give kernel kinds, e.g. GConv,DW,PW, or all")
    fmt = output_format("explain" if explain is not None else "space", fmt, json_out)
    if explain is not None:
        typer.echo(render("explain", space_report.explain_report(explain, names, regex), fmt), nl=False)
        return
    from .progress import bar

    with bar(max_length >= 10, "design space") as on_step:
        data = space_report.report(names or PAPER_ALPHABET, max_length, regex, on_step)
    typer.echo(render("space", data, fmt), nl=False)


def tables(
    fmt: FormatOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON: one object per row.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print docs/paper-tables.md (the same as --format markdown).")
    ] = False,
) -> None:
    """The paper's Tables 2-4 row by row: reproduced, reproduced only under a different assumption set, or not."""
    from ..analyses import tables as T
    from ..render import render

    fmt = output_format("tables", fmt, json_out, markdown=markdown)
    rep = T.analyse()  # one data shape for every format: each printer reads the Report
    typer.echo(render("tables", rep, fmt), nl=False)


def compare(
    designs: Annotated[
        list[str] | None, typer.Argument(help="Designs; default: the paper's four and the related families.")
    ] = None,
    budget: Annotated[str, typer.Option("--budget", help="Budget for the greatest width.")] = "1M",
    c: Annotated[int, typer.Option("--c", help="C = F at which the ratio is evaluated.")] = 256,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Related kernel families beside the paper's designs: parameter ratio, field and footprint, greatest width."""
    from ..analyses.compare import compare as run
    from ..core.catalog import COMPARISON
    from ..render import render
    from .parsing import parse_budget

    fmt = output_format("compare", fmt, json_out, default="text")
    if c <= 0:
        raise SkanalyzeError(f"--c (={c}) must be positive")
    typer.echo(render("compare", run(designs or COMPARISON, parse_budget(budget), c), fmt), nl=False)


def designs(fmt: FormatOpt = None, json_out: JsonOpt = False) -> None:
    """List the catalog: each design's name, notation and description."""
    from ..analyses import reports
    from ..render import render

    fmt = output_format("catalog", fmt, json_out)
    typer.echo(render("catalog", reports.catalog(), fmt), nl=False)
