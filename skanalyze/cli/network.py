"""`skanalyze network`: a design in the paper's Table 1 layout, at a width or the widest under a budget (params,
MACs or a predicted latency). The layout options are derived from the Layout dataclass, never mirrored."""

from __future__ import annotations

import functools
import inspect
from typing import Annotated

import typer

from ..core.errors import SkanalyzeError
from .common import (
    BottleneckOpt,
    DesignArg,
    FormatOpt,
    JsonOpt,
    MemoryOpt,
    SubsOpt,
    ValuesArg,
    chosen_design,
    design_options,
    output_format,
    split_args,
)


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
        bottleneck = design_options(kwargs.get("bottleneck"), None).get("bottleneck")
        return command(layout=Layout(**values, bottleneck=bottleneck), **kwargs)

    wrapper.__signature__ = inspect.Signature([*own, *extra])
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    del wrapper.__wrapped__  # typer must read the signature above, not the wrapped function's
    return wrapper


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

    fmt = output_format("network", fmt, json_out)
    _, vals = split_args(values, subs)
    if latency is None:
        for flag, given in (("--profile", profile), ("--batch", batch)):
            if given is not None:
                raise SkanalyzeError(
                    f"{flag} belongs to a latency budget: add --latency 2ms (or drop {flag})"
                )
    if latency is not None:
        from ..analyses.network_latency import network_latency_report
        from ..analyses.profiles import load_profile
        from ..analyses.roofline import parse_latency

        clash = [f for f, v in (("--width", width), ("--budget", budget), ("--macs", macs or None)) if v]
        if clash:
            raise SkanalyzeError(f"--latency and {clash[0]} contradict: a network has one budget")
        if profile is None:
            raise SkanalyzeError("--latency needs a device profile: --profile FILE (or h100-sxm-datasheet)")
        if batch is not None and batch < 1:
            raise SkanalyzeError(f"--batch ({batch}) must be >= 1")
        seconds = parse_latency(latency)

        def search(on_step):
            return network_latency_report(
                chosen_design(design), layout, seconds, load_profile(profile), batch or 1, vals, on_step
            )
    else:
        if macs and budget is None:
            raise SkanalyzeError(
                "--macs says the budget counts MACs; it needs --budget (e.g. --budget 1e9 --macs)"
            )

        def search(on_step):
            return network_report(
                chosen_design(design),
                layout,
                width,
                None if budget is None else parse_budget(budget),
                vals,
                objective="macs" if macs else "params",
                on_step=on_step,
            )

    from .progress import bar

    with bar(latency is not None or budget is not None, "widest network") as on_step:
        data, (net, groups) = search(on_step)
    if torch_check:
        checks.network_torch(data, net, groups, layout, max_memory)
    typer.echo(render("network", data, fmt), nl=False)
