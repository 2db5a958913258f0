"""The commands: thin glue from arguments to the analyses (data), the torch checks and the printers.

Bad input (SkanalyzeError or a usage error) prints one line on stderr and exits 2; a
verification mismatch exits 1. torch and matplotlib are imported only by the commands
that need them.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import signal
import sys
import threading
from typing import Annotated

import typer

from ..core import symbols as S
from ..core.errors import SkanalyzeError

CONVENTION = (
    "Counting convention: parameters are conv weights (bias-free; BatchNorm only with --bn, in every "
    "command; `model` reads your module as it is, BN included); MACs are multiply-accumulates for an H x W "
    "output; FLOPs = 2 x MACs (torch's FlopCounterMode)."
)

app = typer.Typer(
    name="skanalyze",
    help="Symbolic efficiency analysis of sparse-kernel CNN designs. " + CONVENTION,
    add_completion=True,  # --install-completion / --show-completion (the top-level command only)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

SubsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--subs",
        help="Substitute values, e.g. --subs C=64 F=128 M=4 (NAME=VALUE tokens may follow --subs).",
    ),
]
BottleneckOpt = Annotated[
    str | None, typer.Option("--bottleneck", help="Bottleneck width K: F/4 (default), 6*C, 64, ...")
]
ShuffleOpt = Annotated[
    str | None, typer.Option("--shuffle", help="Shuffle placement: auto (default) or none.")
]
DesignArg = Annotated[str, typer.Argument(help="A catalog name or a design in the notation.")]
ValuesArg = Annotated[list[str] | None, typer.Argument(help="NAME=VALUE substitutions.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the same as --format json).")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Output format: pretty (default), text, json, latex, markdown, csv, python; each command has "
        "those its output fits (an unknown one is an error naming them).",
    ),
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        help="Refuse torch builds estimated above this (2G, 512M); default: half the free memory.",
    ),
]
DesignsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--designs",
        help="Designs (repeat or comma-separated); default: the paper's four and the standard conv.",
    ),
]


def _format(
    report: str, fmt: str | None, json_out: bool = False, default: str = "pretty", **shorthands: bool
):
    """The output format: --format, or one shorthand (--json, ...); two that disagree are an error, and a format
    the report has no printer for is an error naming those it has (before any work)."""
    from ..render import check_format

    chosen = [(f"--format {fmt}", fmt)] if fmt is not None else []
    chosen += [("--json", "json")] if json_out else []
    chosen += [(f"--{name}", name) for name, on in shorthands.items() if on]
    if len({value for _, value in chosen}) > 1:
        raise SkanalyzeError(f"{chosen[0][0]} and {chosen[1][0]} contradict each other; give one")
    return check_format(report, chosen[0][1] if chosen else default)


def _split_args(args: list[str] | None, subs: list[str] | None) -> tuple[list[str], dict]:
    """Separate design arguments from NAME=VALUE substitutions (which may follow --subs)."""
    designs = [a for a in (args or []) if not _ASSIGN.match(a)]
    assigns = [a for a in (args or []) if _ASSIGN.match(a)] + list(subs or [])
    return designs, S.parse_subs(assigns)


def _with_hw(values: dict, hw: int | None) -> dict:
    """values with H = W = hw; an H or W given as well is an error."""
    if hw is None:
        return values
    if hw < 1:
        raise SkanalyzeError(f"--hw {hw} must be a positive integer (the output size H = W)")
    given = sorted(str(k) for k in values if str(k) in ("H", "W"))
    if given:
        raise SkanalyzeError(f"--hw and {'='.join(given)}=... contradict each other; give one")
    import sympy as sp

    return {**values, S.H: sp.Integer(hw), S.W: sp.Integer(hw)}


def _design(design: str, bottleneck: str | None = None, shuffle: str | None = None):
    """The design a user named (catalog name or notation), with the command-line options applied; a
    --bottleneck it has no K for is an error."""
    from ..analyses.reports import check_bottleneck
    from ..core.catalog import resolve

    chosen = resolve(design, **_options(bottleneck, shuffle))
    check_bottleneck([chosen], bottleneck)
    return chosen


def _options(bottleneck: str | None, shuffle: str | None) -> dict:
    from ..core.design import parse_bottleneck

    opts: dict = {}
    if bottleneck is not None:
        opts["bottleneck"] = parse_bottleneck(bottleneck)
    if shuffle is not None:
        opts["shuffles"] = shuffle
    return opts


@app.command()
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
) -> None:
    """Print closed-form params, MACs, FLOPs (= 2 x MACs), memory traffic and arithmetic intensity of designs."""
    from ..analyses import reports
    from ..render import render

    fmt = _format("formulas", fmt, json_out)
    names, values = _split_args(designs, subs)
    values = _with_hw(values, hw)
    chosen = reports.designs_from(names, **_options(bottleneck, shuffle))
    reports.check_bottleneck(chosen, bottleneck)
    data = reports.formulas(chosen, values, bn=bn, substitute_k=bottleneck is not None)
    typer.echo(render("formulas", data, fmt), nl=False)


@app.command()
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

    fmt = _format("verify", fmt, json_out)
    _, vals = _split_args(values, subs)
    data = checks.verify(_design(design, bottleneck, shuffle), vals, bn=bn, max_memory=max_memory)
    typer.echo(render("verify", data, fmt), nl=False)
    if not data["ok"]:
        raise typer.Exit(1)


@app.command()
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
) -> None:
    """Ratios to the standard conv, full-field condition, optimal groups (Theorem 1), greatest width."""
    from ..analyses.efficiency import report as efficiency_report
    from ..analyses.efficiency import theorem1_report
    from ..analyses.optimize import at_report
    from ..render import render

    fmt = _format("efficiency", fmt, json_out)
    if at is not None and subs:
        raise SkanalyzeError(
            "--at and --subs contradict each other: --at gives the widths (e.g. --at C=64 F=128)"
        )
    d = _design(design, bottleneck, shuffle)
    if at is not None:
        _, widths = _split_args(values, at)
        c, f = _at_widths(widths)
        data = efficiency_report(d, {})
        data["at"] = at_report(d, c, f)
        if integers is not None:
            data["theorem1_integers"] = theorem1_report(d, integers)
    else:
        _, vals = _split_args(values, subs)
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


@app.command()
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
        fmt = _format("optimize_latency", fmt, json_out)
        _latency_optimize(
            design, latency_budget, profile, hw, alpha, batch, budget, macs, bottleneck, shuffle, fmt
        )
        return
    fmt = _format("optimize", fmt, json_out)
    if budget is None:
        raise SkanalyzeError(
            "optimize needs a budget: --budget 1e6 (params), --budget 1e9 --macs --hw 56, or --latency 2ms"
        )
    if profile is not None or batch != 1:
        raise SkanalyzeError("--profile and --batch belong to a latency budget; they need --latency")
    if hw is not None and not macs:
        raise SkanalyzeError("--hw is the output size of a MAC budget; it needs --macs")
    d = _design(design, bottleneck, shuffle)
    objective = "macs" if macs else "params"
    data = optimize_report(d, parse_budget(budget), parse_alpha(alpha), objective, hw)
    typer.echo(render("optimize", data, fmt), nl=False)


def _latency_optimize(
    design, latency_budget, profile, hw, alpha, batch, budget, macs, bottleneck, shuffle, fmt
):
    """optimize --latency: the widest buildable layer predicted to fit the time on the profile."""
    from ..analyses.roofline import latency_report, load_profile, parse_latency
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
    d = _design(design, bottleneck, shuffle)
    data = latency_report(d, seconds, chosen, hw, parse_alpha(alpha), batch)
    typer.echo(render("optimize_latency", data, fmt), nl=False)


@app.command()
def plot(
    kind: Annotated[
        str,
        typer.Argument(
            help="width | ratio | macs | funnel | network | families | speed (for funnel, --designs is the "
            "alphabet; speed needs --profile)"
        ),
    ],
    designs: DesignsOpt = None,
    more: Annotated[list[str] | None, typer.Argument(help="More designs.", show_default=False)] = None,
    out: Annotated[str, typer.Option("--out", help="Output file: .png, .svg or .pdf.")] = "plot.png",
    budget: Annotated[str | None, typer.Option("--budget", help="Budget to annotate (width plot).")] = "1M",
    alpha: Annotated[str, typer.Option("--alpha", help="F/C as a rational.")] = "1",
    log: Annotated[bool, typer.Option("--log/--linear", help="Log scales (default) or linear.")] = True,
    hw: Annotated[int, typer.Option("--hw", help="Output size for the MAC plot.")] = 56,
    c: Annotated[int, typer.Option("--c", help="C for the ratio plot.")] = 256,
    f: Annotated[int | None, typer.Option("--f", help="F for the ratio plot (default C).")] = None,
    max_length: Annotated[int, typer.Option("--max-length", help="Longest design for the funnel plot.")] = 6,
    regex: Annotated[
        str, typer.Option("--regex", help="Composition reading for the funnel plot.")
    ] = "fullmatch",
    profile: Annotated[
        str | None, typer.Option("--profile", help="Device profile of the speed plot (file or shipped name).")
    ] = None,
) -> None:
    """Write a figure: width (width vs params), ratio (ratio vs groups), macs (MACs vs width), funnel (design space)."""
    from .parsing import given_designs, split_designs
    from .plot import make_plot

    names = [*(given_designs(designs) or []), *split_designs(more or [])]
    path = make_plot(
        kind, names, out, budget, alpha, log, hw, c, f, max_length=max_length, regex=regex, profile=profile
    )
    typer.echo(f"wrote {path}")


@app.command()
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

    fmt = _format("field", fmt, json_out)
    _, vals = _split_args(values, subs)
    d = _design(design, bottleneck, shuffle)
    vals = reports.complete_values(d, vals) if vals else {}
    if measure:
        reports.require_values(d, vals, "field --measure")
        checks.guard_design(d, vals, max_memory, f"field --measure {d.notation!r}")
    data = field_report(d, vals)
    if measure:
        checks.measure_field(data, d, vals, max_memory)
    typer.echo(render("field", data, fmt), nl=False)


@app.command()
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
    fmt = _format("explain" if explain is not None else "space", fmt, json_out)
    if explain is not None:
        typer.echo(render("explain", space_report.explain_report(explain, names, regex), fmt), nl=False)
        return
    from .progress import bar

    with bar(max_length >= 10, "design space") as on_step:
        data = space_report.report(names or PAPER_ALPHABET, max_length, regex, on_step)
    typer.echo(render("space", data, fmt), nl=False)


@app.command()
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

    fmt = _format("tables", fmt, json_out, markdown=markdown)
    rep = T.analyse()
    typer.echo(render("tables", T.rows_json(rep) if fmt in ("json", "csv", "latex") else rep, fmt), nl=False)


def _layout_options(command):
    """Give a command one option per field of Layout (named, typed and described by the field), and call it
    with the Layout they make as ``layout=``: the options are derived from the dataclass, never mirrored."""
    from dataclasses import MISSING, fields

    from ..analyses.layout import Layout
    from .parsing import parse_blocks

    own = [p for name, p in inspect.signature(command, eval_str=True).parameters.items() if name != "layout"]
    extra, parsers = [], {}
    for f in fields(Layout):
        cli_default = f.metadata.get("cli", f.default)
        if f.default is MISSING or (cli_default is None and f.name == "bottleneck"):
            continue  # the command's own --bottleneck sets it
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            hint, decls = bool, (f"{flag}/--no-{f.name.replace('_', '-')}",)
        elif f.name == "blocks":
            hint, decls, parsers[f.name] = str, (flag,), parse_blocks
        else:
            hint = {"int": int, "str": str, "int | None": int | None}[str(f.type)]
            decls = f.metadata.get("flags", (flag,))
        annotation = Annotated[hint, typer.Option(*decls, help=f.metadata.get("help"))]
        extra.append(
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=cli_default, annotation=annotation
            )
        )

    @functools.wraps(command)
    def wrapper(**kwargs):
        values = {p.name: kwargs.pop(p.name) for p in extra}
        values = {k: parsers[k](v) if k in parsers else v for k, v in values.items()}
        bottleneck = _options(kwargs.get("bottleneck"), None).get("bottleneck")
        return command(layout=Layout(**values, bottleneck=bottleneck), **kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *extra])
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    del wrapper.__wrapped__  # typer must read the signature above, not the wrapped function's
    return wrapper


@app.command()
@_layout_options
def network(
    design: DesignArg,
    values: ValuesArg = None,
    width: Annotated[int | None, typer.Option("--width", help="Stage-1 width.")] = None,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Widest buildable network under this budget (11.2M).")
    ] = None,
    macs: Annotated[bool, typer.Option("--macs", help="The budget counts MACs.")] = False,
    latency: Annotated[
        str | None,
        typer.Option(
            "--latency", help="Widest network predicted to fit this time on --profile (2ms, 500us)."
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="With --latency: a device profile (file or shipped name).")
    ] = None,
    batch: Annotated[
        int | None, typer.Option("--batch", help="With --latency: batch size (default 1).")
    ] = None,
    subs: SubsOpt = None,
    bottleneck: BottleneckOpt = None,
    torch_check: Annotated[
        bool, typer.Option("--torch", help="Also build it in torch and check the counts.")
    ] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    max_memory: MemoryOpt = None,
    *,
    layout=None,
) -> None:
    """A design in the paper's Table 1 layout: per-stage and total params and MACs, or the widest under a budget
    (params, MACs, or a predicted latency on a device profile)."""
    from ..analyses.network import report as network_report
    from ..render import render
    from . import checks
    from .parsing import parse_budget

    fmt = _format("network", fmt, json_out)
    _, vals = _split_args(values, subs)
    if latency is None:
        for flag, given in (("--profile", profile), ("--batch", batch)):
            if given is not None:
                raise SkanalyzeError(
                    f"{flag} belongs to a latency budget: add --latency 2ms (or drop {flag})"
                )
    if latency is not None:
        from ..analyses.roofline import load_profile, network_latency_report, parse_latency

        clash = [f for f, v in (("--width", width), ("--budget", budget), ("--macs", macs or None)) if v]
        if clash:
            raise SkanalyzeError(f"--latency and {clash[0]} contradict: a network has one budget")
        if profile is None:
            raise SkanalyzeError("--latency needs a device profile: --profile FILE (or h100-sxm-datasheet)")
        if batch is not None and batch < 1:
            raise SkanalyzeError(f"--batch ({batch}) must be >= 1")
        seconds = parse_latency(latency)
        data, (net, groups) = network_latency_report(
            _design(design), layout, seconds, load_profile(profile), batch or 1, vals
        )
    else:
        if macs and budget is None:
            raise SkanalyzeError(
                "--macs says the budget counts MACs; it needs --budget (e.g. --budget 1e9 --macs)"
            )
        data, (net, groups) = network_report(
            _design(design),
            layout,
            width,
            None if budget is None else parse_budget(budget),
            vals,
            objective="macs" if macs else "params",
        )
    if torch_check:
        checks.network_torch(data, net, groups, layout, max_memory)
    typer.echo(render("network", data, fmt), nl=False)


@app.command()
def train(
    designs: DesignsOpt = None,
    budget: Annotated[
        str, typer.Option("--budget", help="Parameter budget of every network (e.g. 100k).")
    ] = "100k",
    epochs: Annotated[int, typer.Option("--epochs")] = 10,
    seeds: Annotated[
        str,
        typer.Option(
            "--seeds",
            help="Seeds per design (0 .. S-1), or auto: a 3-seed pilot, then the seeds the power table asks for.",
        ),
    ] = "3",
    effect: Annotated[
        float | None,
        typer.Option(
            "--effect", help="With --seeds auto: the slope to detect, points per doubling (default 1)."
        ),
    ] = None,
    limit_train: Annotated[
        int | None, typer.Option("--limit-train", help="Use the first N training images.")
    ] = None,
    limit_test: Annotated[
        int | None, typer.Option("--limit-test", help="Use the first N test images.")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda")] = "auto",
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Folder of per-run results (reruns resume from it); default: runs/<budget>-<epochs>-<hash of the settings>.",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Folder with the four IDX files (default: Debian's Fashion-MNIST)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 128,
    lr: Annotated[float, typer.Option("--lr")] = 0.1,
    schedule: Annotated[str, typer.Option("--schedule", help="cosine | step")] = "cosine",
    augment: Annotated[
        bool, typer.Option("--augment/--no-augment", help="Random crop (pad 2) and flip.")
    ] = True,
    blocks: Annotated[str, typer.Option("--blocks", help="Blocks per stage of the 28x28 layout.")] = "1,1,1",
    bn: Annotated[
        bool,
        typer.Option("--bn/--no-bn", help="The budget counts BatchNorm parameters (BN is always built)."),
    ] = False,
    plot: Annotated[
        str | None, typer.Option("--plot", help="Also write accuracy vs width (PNG/SVG/PDF).")
    ] = None,
    shard: Annotated[
        str, typer.Option("--shard", help="Train only slice I of N (1-based), e.g. 2/8 for a job array task.")
    ] = "1/1",
    threads: Annotated[int | None, typer.Option("--threads", help="Torch threads of this process.")] = None,
    precision: Annotated[
        str, typer.Option("--precision", help="auto (bf16 autocast on CUDA, fp32 on CPU) | bf16 | fp32")
    ] = "auto",
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train each design's widest network under one parameter budget and test whether accuracy follows width."""
    from ..core.outputs import PLOT_FORMATS, writable_dir, writable_file
    from ..render import render
    from . import checks
    from .parsing import given_designs, parse_budget

    fmt = _format("training", fmt, json_out)
    names = given_designs(designs) or list(DEFAULT_TRAIN)
    auto = seeds.strip() == "auto"
    if not auto and not seeds.strip().isdigit():
        raise SkanalyzeError(f"--seeds {seeds!r} must be a positive integer or auto")
    if effect is not None and not auto:
        raise SkanalyzeError(
            "--effect is the slope --seeds auto powers the experiment for; it needs --seeds auto"
        )
    shard_at = _shard(shard)
    checks.need_torch("train")
    from ..nn import train as T

    if plot:
        writable_file(plot, "--plot", PLOT_FORMATS)

    block_tuple = (
        tuple(int(b) for b in blocks.split(","))
        if all(b.strip().isdigit() for b in blocks.split(","))
        else None
    )
    if not block_tuple or any(b <= 0 for b in block_tuple):
        raise SkanalyzeError(f"--blocks {blocks!r} must be positive integers, e.g. 1,1,1")
    config = T.Config(
        tuple(names),
        parse_budget(budget),
        epochs,
        3 if auto else int(seeds),
        batch_size,
        lr,
        schedule=schedule,
        augment=augment,
        limit_train=limit_train,
        limit_test=limit_test,
        data=data,
        device=device,
        blocks=block_tuple,
        bn=bn,
        out=out,
        shard=shard_at,
        threads=threads,
        precision=precision,
    )
    from ..nn.data import locate

    locate(data)  # the data before any folder is made
    if out is None:  # one folder per experiment, so that two experiments never share one by accident
        from dataclasses import replace

        writable_dir("runs", "--out")
        config = replace(config, out=T.default_out(config))
    writable_dir(config.out, "--out")
    log = lambda m: typer.echo(m, err=True)  # noqa: E731
    summary = T.run_auto(config, effect or 1.0, log=log) if auto else T.run(config, log=log)
    typer.echo(render("training", summary, fmt), nl=False)  # results first
    if plot:
        from ..render import plots

        plots.save(plots.accuracy_vs_width(summary), plot)


@app.command("train-summarize", hidden=True)
def train_summarize(
    folder: Annotated[
        str, typer.Argument(help="A folder of one experiment's result files (--out of train).")
    ],
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """`skanalyze train summarize DIR`: the summary of the finished runs in a folder; reads, never trains."""
    from ..analyses.results import summarize
    from ..render import render

    fmt = _format("training", fmt, json_out)
    typer.echo(render("training", summarize(folder), fmt), nl=False)


def _shard(text: str) -> tuple[int, int]:
    """'2/8' -> (2, 8)."""
    i, sep, n = text.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit() or not 1 <= int(i) <= int(n):
        raise SkanalyzeError(f"--shard {text} must be I/N with 1 <= I <= N, e.g. 1/4")
    return int(i), int(n)


DEFAULT_TRAIN = ("standard", "dw-pw", "gconv-pwgconv", "pw-dw-pw", "pwgconv-dw-pwgconv")


@app.command()
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

    fmt = _format("compare", fmt, json_out, default="text")
    if c <= 0:
        raise SkanalyzeError(f"--c (={c}) must be positive")
    typer.echo(render("compare", run(designs or COMPARISON, parse_budget(budget), c), fmt), nl=False)


@app.command()
def model(
    target: Annotated[
        str,
        typer.Argument(help="FILE.py:NAME or package.module:NAME: an nn.Module or a function returning one."),
    ],
    input_shape: Annotated[str, typer.Option("--input", help="Input shape N x C x H x W.")] = "1x3x224x224",
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    csv_out: Annotated[
        bool, typer.Option("--csv", help="Print CSV: one row per layer (the same as --format csv).")
    ] = False,
    conventions: Annotated[
        list[str] | None,
        typer.Option(
            "--convention",
            help="Also rebuild another counter's total line by line: skanalyze, torch, fvcore, ptflops, ptflops-aten, thop "
            "or all (repeat or comma-separate).",
        ),
    ] = None,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest", help="Also each unit's replacements by the paper's designs, and what they buy."
        ),
    ] = False,
    closed_form: Annotated[
        bool,
        typer.Option(
            "--closed-form", help="Also params and MACs in a width multiplier alpha_w and the input size."
        ),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option("--budget", help="With --closed-form: the widest alpha_w within these params."),
    ] = None,
    resolution: Annotated[
        str | None, typer.Option("--resolution", help="With --closed-form: the MACs at another input H x W.")
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option("--plot", help="With --closed-form: write params and MACs vs alpha_w (PNG/SVG/PDF)."),
    ] = None,
    macs: Annotated[
        bool, typer.Option("--macs", help="--budget counts MACs (at --resolution, else at the --input size).")
    ] = False,
    width_arg: Annotated[
        str | None,
        typer.Option(
            "--width-arg",
            help="With --closed-form --budget: also the widest width by the model's own rule: TARGET's function "
            "called with this keyword (e.g. width_mult), its rounding included.",
        ),
    ] = None,
    width_step: Annotated[
        str,
        typer.Option(
            "--width-step", help="With --width-arg: the grid of widths searched, e.g. 1/64 (default 1/100)."
        ),
    ] = "1/100",
    apply_design: Annotated[
        str | None,
        typer.Option(
            "--apply",
            help="Rebuild the model with this design in place of every unit (one kernel such as SSC(4), "
            "SCC(mode=space), Line: in place of every standard spatial conv); print predicted and measured counts.",
        ),
    ] = None,
    apply_stem: Annotated[
        bool, typer.Option("--apply-stem", help="With --apply of one kernel: replace the stem's conv too.")
    ] = False,
    train_mode: Annotated[
        bool,
        typer.Option(
            "--train-mode",
            help="Trace in training mode (auxiliary heads, batch statistics); default: eval mode, as the "
            "peers count. Your module is never changed: a copy is traced.",
        ),
    ] = False,
) -> None:
    """Read your own PyTorch model in the notation: per-layer params and MACs, design units and their fields."""
    from . import checks, targets

    fmt = _format("model", fmt, json_out, csv=csv_out)
    shape = targets.parse_input(input_shape)
    extras = [
        f
        for f, on in (("--closed-form", closed_form), ("--suggest", suggest), ("--convention", conventions))
        if on
    ]
    if apply_design is not None:
        extras.append("--apply")
    if apply_stem and apply_design is None:
        raise SkanalyzeError("--apply-stem needs --apply KERNEL")
    if fmt == "csv" and extras:
        raise SkanalyzeError(
            f"--csv prints the per-layer table only; {extras[0]} needs the text or --json output"
        )
    if macs and budget is None:
        raise SkanalyzeError("--macs needs --budget (the MACs budget)")
    needs = [
        flag
        for flag, value in (("--budget", budget), ("--resolution", resolution), ("--plot", plot))
        if value
    ]
    if needs and not closed_form:
        raise SkanalyzeError(f"{needs[0]} needs --closed-form")
    if width_arg is not None and budget is None:
        raise SkanalyzeError("--width-arg needs --closed-form and --budget (the widest width under a budget)")
    from fractions import Fraction

    try:
        step = Fraction(width_step)
    except (ValueError, ZeroDivisionError):
        step = None
    if step is None or step <= 0 or (1 / step).denominator != 1:
        raise SkanalyzeError(
            f"--width-step {width_step!r} must be 1/n for a positive integer n, e.g. 1/64 or 0.01"
        )
    if width_step != "1/100" and width_arg is None:
        raise SkanalyzeError("--width-step needs --width-arg")
    if width_arg is not None and not width_arg.isidentifier():
        raise SkanalyzeError(f"--width-arg {width_arg!r} must be a keyword argument name, e.g. width_mult")
    if plot:
        from ..core.outputs import PLOT_FORMATS, writable_file

        writable_file(plot, "--plot", PLOT_FORMATS)  # before any work
    from .parsing import parse_budget

    budget_value = parse_budget(budget) if budget is not None else None
    size = None
    if resolution is not None:
        parts = resolution.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise SkanalyzeError(f"--resolution {resolution!r} must be H x W positive integers, e.g. 320x320")
        size = (int(parts[0]), int(parts[1]))
    names = [c.strip() for item in conventions or [] for c in item.split(",") if c.strip()]
    if conventions is not None and not names:
        raise SkanalyzeError(
            "--convention is empty; valid: skanalyze, torch, fvcore, ptflops, ptflops-aten, thop, all"
        )
    checks.need_torch("model")
    from ..nn import importer
    from ..render import render

    names = list(importer.CONVENTIONS) if "all" in names else names
    for name in names:
        if name not in importer.CONVENTIONS:
            raise SkanalyzeError(
                f"--convention {name!r} is unknown; valid: {', '.join(importer.CONVENTIONS)}, all"
            )
    module = targets.load(target, importer.is_module)
    model_ = importer.from_module(module, shape, training=train_mode)
    data = importer.report(model_, target, tuple(dict.fromkeys(names)))
    if closed_form:
        forms = importer.closed_forms(model_, module)
        data["closed_form"] = importer.closed_form_report(forms, model_, budget_value, size, macs=macs)
        if budget_value is not None and width_arg is None:
            data["closed_form"]["widest"]["built"] = importer.check_widest(
                targets.maybe_factory(target, importer.is_module), data["closed_form"]["widest"], shape
            )
        if width_arg is not None:
            fn = targets.factory(target, importer.is_module)
            at = (shape[0], shape[1], *(size or shape[2:]))
            data["closed_form"]["own_rule"] = importer.own_width_rule(
                fn, width_arg, at, budget_value, macs=macs, step=step, label=target.rpartition(":")[2]
            )
        if plot:
            from ..render import plots

            step = data["closed_form"]["alpha_w_step"]
            fig = plots.model_scaling(
                target.rpartition(":")[2], forms.params, forms.macs, size or shape[2:], step=step
            )
            plots.save(fig, plot)
    if suggest:
        data["suggestions"] = importer.suggest(model_)
    if apply_design is not None:
        from ..nn import measure, rebuild

        applied = rebuild.apply(module, apply_design, shape, stem=apply_stem, model=model_)
        data["applied"] = rebuild.report(applied)
        data["applied"]["measured"] = {
            "params": measure.count_params(applied.module),
            "macs": measure.count_macs_meta(applied.module, shape),
        }
    typer.echo(render("model", data, fmt), nl=False)


ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="Torch CPU threads (fixed while timing).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="cpu | cuda | auto")]


@app.command()
def device(
    action: Annotated[str, typer.Argument(help="calibrate: measure this machine | show: print a profile")],
    profile: Annotated[
        str | None, typer.Argument(help="With show: a profile file or a shipped profile's name.")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="With calibrate: write the profile (JSON) here.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="With calibrate: the profile's name.")] = None,
    threads: ThreadsOpt = None,
    device_name: DeviceOpt = "cpu",
    quick: Annotated[
        bool, typer.Option("--quick", help="With calibrate: smaller micro-benchmarks (faster, noisier).")
    ] = False,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A roofline device profile: measure this machine's peak MAC rate, bandwidth and per-layer overhead, or
    show a profile (shipped: h100-sxm-datasheet)."""
    from ..analyses.roofline import check_threads, load_profile, profile_dict, shipped_profiles
    from ..core.outputs import write_text
    from ..render import render
    from . import checks

    fmt = _format("profile", fmt, json_out)
    if action not in ("calibrate", "show"):
        raise SkanalyzeError(f"device {action!r} is unknown; valid: calibrate, show")
    if action == "show":
        extra = [
            flag for flag, v in (("--out", out), ("--name", name), ("--threads", threads)) if v is not None
        ]
        extra += ["--quick"] if quick else []
        if extra:
            raise SkanalyzeError(f"{extra[0]} is an option of device calibrate, not device show")
        if profile is None:
            raise SkanalyzeError(
                f"device show needs a profile: a file or one of {', '.join(shipped_profiles())}"
            )
        typer.echo(render("profile", profile_dict(load_profile(profile)), fmt), nl=False)
        return
    if profile is not None:
        raise SkanalyzeError(
            f"device calibrate takes no profile argument (got {profile!r}); --out FILE writes one"
        )
    if out is not None:
        from ..core.outputs import writable_file

        writable_file(out, "profile file", (".json",))
    check_threads(threads)  # before torch is needed
    nn = checks.need_torch("device calibrate")
    result = profile_dict(nn.calibrate(threads=threads, device=device_name, name=name, quick=quick))
    if out is not None:
        import json

        write_text(out, json.dumps(result, indent=2) + "\n", "profile file")
    typer.echo(render("profile", {**result, "written": out}, fmt), nl=False)


@app.command()
def latency(
    design: DesignArg,
    values: ValuesArg = None,
    subs: SubsOpt = None,
    hw: Annotated[int | None, typer.Option("--hw", help="Output size H = W.")] = None,
    batch: Annotated[int, typer.Option("--batch", help="Batch size.")] = 1,
    threads: ThreadsOpt = 1,
    device_name: DeviceOpt = "cpu",
    repeats: Annotated[int, typer.Option("--repeats", help="Timed calls (median and IQR).")] = 20,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed calls first.")] = 3,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A profile (file or shipped name): also predict the latency."),
    ] = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    max_memory: MemoryOpt = None,
) -> None:
    """Time the design's torch module (warm-up, median of repeats, IQR, fixed threads), beside its MACs, bytes
    and, with --profile, the roofline prediction."""
    from ..analyses.reports import complete_values, require_values
    from ..analyses.roofline import check_threads, load_profile
    from ..render import render
    from . import checks

    fmt = _format("latency", fmt, json_out)
    check_threads(threads)  # before torch is needed
    if batch < 1 or repeats < 1 or warmup < 0:
        raise SkanalyzeError(
            f"--batch ({batch}) and --repeats ({repeats}) must be >= 1, --warmup ({warmup}) >= 0"
        )
    d = _design(design, bottleneck, shuffle)
    _, vals = _split_args(values, subs)
    vals = _with_hw(vals, hw)
    require_values(d, vals, "latency")
    missing = [n for n in ("H", "W") if getattr(S, n) not in vals]
    if missing:
        raise SkanalyzeError(f"latency needs the output size: --hw 56 (or --subs {'=56 '.join(missing)}=56)")
    vals = complete_values(d, vals)
    chosen = load_profile(profile) if profile is not None else None
    checks.guard_design(d, {**vals}, max_memory, f"latency {d.notation!r}")
    nn = checks.need_torch("latency")
    data = nn.latency_report(
        d,
        vals,
        batch=batch,
        threads=threads,
        device=device_name,
        warmup=warmup,
        repeats=repeats,
        profile=chosen,
    )
    typer.echo(render("latency", data, fmt), nl=False)


@app.command()
def designs(fmt: FormatOpt = None, json_out: JsonOpt = False) -> None:
    """List the catalog: each design's name, notation and description."""
    from ..analyses import reports
    from ..render import render

    fmt = _format("catalog", fmt, json_out)
    typer.echo(render("catalog", reports.catalog(), fmt), nl=False)


# The report each command prints (its --format choices are that report's printers); docs/output-formats.md's
# table and the format tests are derived from this and the app's commands, never kept by hand.
COMMAND_REPORTS = {
    "formulas": "formulas",
    "verify": "verify",
    "efficiency": "efficiency",
    "optimize": "optimize",
    "optimize --latency": "optimize_latency",
    "field": "field",
    "space": "space",
    "space --explain": "explain",
    "tables": "tables",
    "network": "network",
    "train": "training",
    "train summarize": "training",
    "compare": "compare",
    "model": "model",
    "device": "profile",
    "latency": "latency",
    "designs": "catalog",
}
FILE_ONLY = {"plot": "png, svg, pdf (by the --out file's suffix; no --format)"}

# One or two examples per help page (shown under "Examples:"; tests/test_cli_help.py runs every one of them).
EXAMPLES = {
    "formulas": [
        "skanalyze formulas",
        "skanalyze formulas gconv-pwgconv --subs C=64 F=128 M=4 --format latex",
    ],
    "verify": ["skanalyze verify gconv-pwgconv --subs C=64 F=64 M=4 N=16"],
    "efficiency": [
        "skanalyze efficiency gconv-pwgconv",
        "skanalyze efficiency gconv-pwgconv --at C=64 F=128",
    ],
    "optimize": [
        "skanalyze optimize dw-pw --budget 1M",
        "skanalyze optimize gconv-pwgconv --budget 1e9 --macs --hw 56",
    ],
    "plot": [
        "skanalyze plot width --out width-vs-params.png",
        "skanalyze plot ratio gconv-pwgconv --c 256 --out ratio.svg",
    ],
    "field": ["skanalyze field gconv-pwgconv --subs C=64 F=64 M=4 N=16"],
    "space": ["skanalyze space", "skanalyze space --explain DW+PW"],
    "tables": ["skanalyze tables"],
    "network": ["skanalyze network dw-pw --width 64", "skanalyze network dw-pw --budget 11.2M"],
    "train": [
        "skanalyze train --budget 50k --epochs 4 --seeds 3",
        "skanalyze train summarize results/decisive",
    ],
    "train-summarize": ["skanalyze train summarize results/decisive"],
    "compare": ["skanalyze compare --budget 1M"],
    "model": [
        "skanalyze model examples/models.py:resnet18 --input 1x3x224x224",
        "skanalyze model examples/models.py:mobilenet_v2 --suggest",
    ],
    "device": [
        "skanalyze device show h100-sxm-datasheet",
        "skanalyze device calibrate --out this-machine.json",
    ],
    "latency": ["skanalyze latency dw-pw --subs C=64 F=64 --hw 28"],
    "designs": ["skanalyze designs"],
}
OVERVIEW = """skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs (group, depthwise, pointwise,
shuffle, bottleneck), after "Penetrating the Fog".

Start with one of these:
  skanalyze formulas                        closed-form params, MACs and ratios of the paper's designs
  skanalyze optimize dw-pw --budget 1M      the widest layer a parameter budget buys
  skanalyze model FILE.py:NAME              your own PyTorch model, read in the notation

Every command: skanalyze --help; one command: skanalyze COMMAND --help (each with examples).
"""


def _examples() -> None:
    """Put each command's examples under its help text."""
    for info in app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        lines = EXAMPLES.get(name, [])
        info.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines) if lines else None


def _command_for(argv: list[str]):
    """The click command to run: only the requested subcommand is built (building all costs ~50 ms)."""
    name = argv[0] if argv and not argv[0].startswith("-") else None
    for info in app.registered_commands:
        if name is not None and (info.name or info.callback.__name__.replace("_", "-")) == name:
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
            single.registered_commands.append(info)
            shown = "train summarize" if name == "train-summarize" else name
            return typer.main.get_command(single), argv[1:], f"skanalyze {shown}"
    return typer.main.get_command(app), argv, "skanalyze"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (bad input: one line on stderr, exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        from .. import __version__

        typer.echo(f"skanalyze {__version__}")
        return 0
    if not argv and "_SKANALYZE_COMPLETE" not in os.environ:  # an overview (not during shell completion)
        typer.echo(OVERVIEW, nl=False)
        return 0
    if argv[:2] == ["train", "summarize"]:  # a subcommand of train, without making train a group
        argv = ["train-summarize", *argv[2:]]
    command, args, prog = _command_for(argv)
    interrupted = []

    def on_sigint(signum, frame):  # typer turns Ctrl-C into a silent exit code 130: remember that it came
        interrupted.append(True)
        signal.default_int_handler(signum, frame)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False)
    except SkanalyzeError as err:
        typer.echo(f"skanalyze: error: {err}", err=True)
        return 2
    except typer.Exit as err:
        return _interrupted(prog, args) if interrupted else err.exit_code
    except typer.Abort:
        typer.echo("skanalyze: aborted", err=True)
        return 130
    except typer.TyperException as err:  # usage errors: unknown option, missing argument
        typer.echo(f"skanalyze: error: {err.format_message()}", err=True)
        return 2
    except KeyboardInterrupt:
        return _interrupted(prog, args)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if interrupted:
        return _interrupted(prog, args)
    return result if isinstance(result, int) else 0


def _interrupted(prog: str, args: list[str]) -> int:
    """Ctrl-C: say in one line what stopped and what was written (files are written only when a command is
    done, atomically; train has already said which runs finished and how to resume)."""
    name = prog if prog != "skanalyze" else f"skanalyze {args[0]}" if args else prog
    if name == "skanalyze train":
        typer.echo("skanalyze: interrupted: skanalyze train stopped (its finished runs are saved)", err=True)
    else:
        typer.echo(
            f"skanalyze: interrupted: {name} stopped before it finished; nothing was written (files are "
            "written whole, only when a command is done)",
            err=True,
        )
    return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


_examples()
