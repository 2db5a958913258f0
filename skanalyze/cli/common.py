"""What the commands share: the option types every design command declares the same way, the output format
(--format and its shorthands, checked before any work), NAME=VALUE arguments and the design a user named."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from ..core import symbols as S
from ..core.errors import SkanalyzeError
from ..render import FORMATS

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


FORMAT_HELP = (
    f"Output format: pretty (default), {', '.join(f for f in FORMATS if f != 'pretty')}; each command has "
    "those its output fits (an unknown one is an error naming them)."
)
FormatOpt = Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)]
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


def output_format(
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


def split_args(args: list[str] | None, subs: list[str] | None) -> tuple[list[str], dict]:
    """Separate design arguments from NAME=VALUE substitutions (which may follow --subs)."""
    designs = [a for a in (args or []) if not _ASSIGN.match(a)]
    assigns = [a for a in (args or []) if _ASSIGN.match(a)] + list(subs or [])
    return designs, S.parse_subs(assigns)


def with_hw(values: dict, hw: int | None) -> dict:
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


def chosen_design(design: str, bottleneck: str | None = None, shuffle: str | None = None):
    """The design a user named (catalog name or notation), with the command-line options applied; a
    --bottleneck it has no K for is an error."""
    from ..analyses.reports import check_bottleneck
    from ..core.catalog import resolve

    chosen = resolve(design, **design_options(bottleneck, shuffle))
    check_bottleneck([chosen], bottleneck)
    return chosen


def design_options(bottleneck: str | None, shuffle: str | None) -> dict:
    """The design options --bottleneck and --shuffle give (only those given)."""
    from ..core.design import parse_bottleneck

    opts: dict = {}
    if bottleneck is not None:
        opts["bottleneck"] = parse_bottleneck(bottleneck)
    if shuffle is not None:
        opts["shuffles"] = shuffle
    return opts
