"""Glue between `skanalyze plot` and skanalyze.render.plots: argument checks, then one figure written."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.catalog import DEFAULT_FORMULAS, get, resolve
from ..core.errors import SkanalyzeError
from .common import DesignsOpt


def make_plot(
    kind, names, out, budget, alpha, log, hw, c, f, *, max_length=6, regex="fullmatch", profile=None
):
    """Build the requested figure and save it; returns the path."""
    from ..core.outputs import PLOT_FORMATS, writable_file
    from .parsing import parse_alpha

    if kind not in KINDS:
        raise SkanalyzeError(f"plot kind {kind!r} is unknown; valid: {', '.join(KINDS)}")
    writable_file(out, "plot file", PLOT_FORMATS)  # before any work
    from ..render import plots

    if (profile is not None) != (kind == "speed"):
        raise SkanalyzeError(
            "plot speed needs --profile FILE (or h100-sxm-datasheet)"
            if kind == "speed"
            else f"--profile belongs to plot speed, not plot {kind}"
        )
    a = parse_alpha(alpha)
    for flag, value in (("--c", c), ("--f", f)):
        if kind in ("ratio", "families") and value is not None and value <= 0:
            raise SkanalyzeError(f"{flag} (={value}) must be a positive integer, e.g. {flag} 256")
    options = {"budget": budget, "alpha": a, "log": log, "hw": hw, "c": c, "f": f, "profile": profile}
    options |= {"max_length": max_length, "regex": regex}
    return plots.save(FIGURES[kind](plots, names, **options), out)


def _positive_hw(hw: int) -> int:
    if hw <= 0:
        raise SkanalyzeError(f"--hw (={hw}) must be positive")
    return hw


def _speed(plots, names, *, profile, hw, **_):
    from ..analyses.profiles import load_profile
    from ..analyses.roofline import speed_rows

    chosen = load_profile(profile)
    rows = speed_rows([resolve(n) for n in (names or DEFAULT_FORMULAS)], chosen, hw=_positive_hw(hw))
    return plots.speed(rows, profile=chosen.name, hw=hw)


def _funnel(plots, names, *, max_length, regex, **_):
    from ..analyses.space import PAPER_ALPHABET, reduce_space

    return plots.funnel(reduce_space(tuple(names) or PAPER_ALPHABET, max_length, regex))


def _families(plots, names, *, budget, c, **_):
    from ..analyses.compare import comparison_rows
    from ..core.catalog import COMPARISON
    from .parsing import parse_budget

    p = parse_budget(budget or "1M")
    return plots.families(comparison_rows(names or COMPARISON, p, c), budget=p, c=c)


def _network(plots, names, *, log, **_):
    from ..analyses.figures import network_data

    return plots.network_params(network_data([resolve(n) for n in names] or None), log=log)


def _ratio(plots, names, *, c, f, **_):
    from ..analyses.figures import ratio_data

    return plots.ratio_vs_groups(ratio_data(resolve(names[0]) if names else get("gconv-pwgconv"), c=c, f=f))


def _width(plots, names, *, budget, alpha, log, **_):
    from ..analyses.figures import width_data
    from .parsing import parse_budget

    designs = [resolve(n) for n in (names or DEFAULT_FORMULAS)]
    data = width_data(designs, budget=parse_budget(budget) if budget else None, alpha=alpha)
    return plots.width_vs_params(data, log=log)


def _macs(plots, names, *, hw, alpha, log, **_):
    from ..analyses.figures import macs_data

    designs = [resolve(n) for n in (names or DEFAULT_FORMULAS)]
    return plots.macs_vs_width(macs_data(designs, hw=_positive_hw(hw), alpha=alpha), log=log)


# plot kind -> the function that draws it (plots module, design names, options)
FIGURES = {
    "width": _width,
    "ratio": _ratio,
    "macs": _macs,
    "funnel": _funnel,
    "network": _network,
    "families": _families,
    "speed": _speed,
}
KINDS = tuple(FIGURES)


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

    names = [*(given_designs(designs) or []), *split_designs(more or [])]
    path = make_plot(
        kind, names, out, budget, alpha, log, hw, c, f, max_length=max_length, regex=regex, profile=profile
    )
    typer.echo(f"wrote {path}")
