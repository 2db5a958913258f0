"""Printers: data in, text or figure out. Every report is declared once (REPORTS: the data its analysis returns,
one shape whatever the format); each printer is registered for a (report, format) pair by ``@prints``, in the
module of its format; a document-style format registers one printer of every report by ``@prints_any`` (JSON).

========  =====================  =============================================
format    module                 reports
========  =====================  =============================================
pretty    render.text            every report (unicode expressions)
text      render.text            every report (expressions sympy reads back)
json      render.json            every report: one versioned document (docs/json.md)
latex     render.latex           formulas, efficiency, catalog, network, tables
python    render.python          formulas
markdown  render.markdown        compare, tables
csv       render.csv             model, tables, network, designs (catalog), space
========  =====================  =============================================

:func:`render` picks the printer; a report a format has no printer for is a one-line error naming the formats
that have one (:func:`formats_for`, read from the registry). A format's module is imported the first time the
format is used, so printing one report in one format loads one printer module. The plots (render.plots) are the
only importer of matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from ..core.errors import SkanalyzeError

# report -> the data its analysis returns (the same for every format)
REPORTS = {
    "formulas": "list of rows, one per design (reports.formulas)",
    "catalog": "list of rows, one per catalog design (reports.catalog)",
    "verify": "dict: symbolic and torch counts and field (cli.checks.verify)",
    "efficiency": "dict (efficiency.report), with 'at' from optimize.at_report",
    "optimize": "dict (optimize.report)",
    "optimize_latency": "dict (roofline.latency_report)",
    "field": "dict (infofield.report)",
    "space": "dict (space.report)",
    "explain": "dict (space.explain_report)",
    "tables": "tables.Report (its rows(): one dict per paper row)",
    "network": "dict (network.report, network_latency.network_latency_report)",
    "training": "dict (results.summary)",
    "compare": "dict (compare.compare)",
    "model": "dict (nn.importer.report)",
    "profile": "dict (profiles.profile_dict)",
    "latency": "dict (nn.latency_report)",
}
# format -> (its module, the options its printers take); FORMATS: their order in messages and docs
FORMAT_MODULES = {
    "pretty": ("text", {"style": "pretty"}),
    "text": ("text", {"style": "text"}),
    "latex": ("latex", {}),
    "python": ("python", {}),
    "json": ("json", {}),
    "markdown": ("markdown", {}),
    "csv": ("csv", {}),
}
FORMATS = tuple(FORMAT_MODULES)

_PRINTERS: dict[tuple[str, str], Callable] = {}  # (report, format) -> printer(data, **options)
_ANY: dict[str, Callable] = {}  # format -> printer(data, report) of every report


def prints(report: str, *formats: str) -> Callable[[Callable], Callable]:
    """Register a printer of one report in these formats (a decorator); an unknown report or format, or a
    second printer for the same pair, is refused."""

    def register(printer: Callable) -> Callable:
        if report not in REPORTS:
            raise SkanalyzeError(f"report {report!r} is not declared in render.REPORTS")
        for fmt in formats:
            if fmt not in FORMAT_MODULES:
                raise SkanalyzeError(f"format {fmt!r} is unknown; valid: {', '.join(FORMATS)}")
            if (report, fmt) in _PRINTERS:
                raise SkanalyzeError(
                    f"{fmt} already has a printer of {report} ({_PRINTERS[report, fmt].__name__})"
                )
            _PRINTERS[report, fmt] = printer
        return printer

    return register


def prints_any(fmt: str) -> Callable[[Callable], Callable]:
    """Register a format's printer of every report, ``printer(data, report)`` (a decorator): a report-specific
    printer of that format, where there is one, still comes first."""

    def register(printer: Callable) -> Callable:
        if fmt in _ANY:
            raise SkanalyzeError(f"{fmt} already prints every report ({_ANY[fmt].__name__})")
        _ANY[fmt] = printer
        return printer

    return register


def _load(fmt: str) -> None:
    module = FORMAT_MODULES[fmt][
        0
    ]  # a module of render/, or a dotted name (a format kept outside the package)
    import_module(module if "." in module else f".{module}", __name__)


def _has(report: str, fmt: str) -> bool:
    if fmt not in FORMAT_MODULES:
        return False
    _load(fmt)
    return (report, fmt) in _PRINTERS or fmt in _ANY


def formats_for(report: str) -> tuple[str, ...]:
    """The formats that have a printer for a report."""
    return tuple(f for f in FORMATS if _has(report, f))


def check_format(report: str, fmt: str) -> str:
    """Return fmt if it has a printer for the report (checked before any work), else a one-line error."""
    if not _has(report, fmt):
        raise SkanalyzeError(f"format {fmt!r} is unknown; valid: {', '.join(formats_for(report))}")
    return fmt


def printer_of(report: str, fmt: str) -> Callable[[object], str]:
    """The function that prints a report's data in a format."""
    check_format(report, fmt)
    if (report, fmt) in _PRINTERS:
        printer, options = _PRINTERS[report, fmt], FORMAT_MODULES[fmt][1]
        return lambda data: printer(data, **options)
    return lambda data: _ANY[fmt](data, report)


def render(report: str, data, fmt: str = "pretty") -> str:
    """The report's data in a format; a one-line error when the format has no printer for it."""
    return printer_of(report, fmt)(data)


__all__ = [
    "FORMATS",
    "REPORTS",
    "check_format",
    "formats_for",
    "printer_of",
    "prints",
    "prints_any",
    "render",
]
