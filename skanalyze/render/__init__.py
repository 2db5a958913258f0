"""Printers: data in, text or figure out. One module per format, one function per report in each:

========  =====================  =============================================
format    module                 reports
========  =====================  =============================================
pretty    render.text            every report (unicode expressions)
text      render.text            every report (expressions sympy reads back)
json      render.json            every report: one versioned document (docs/json.md)
latex     render.latex           formulas, efficiency
python    render.python          formulas
markdown  render.markdown        compare, tables
csv       render.csv             model, tables, network, designs (catalog), space
========  =====================  =============================================

:func:`render` picks the printer; a report a format has no printer for is a one-line error
naming the formats that have one. The plots (render.plots) are the only importer of matplotlib.
"""

from __future__ import annotations

from importlib import import_module

from ..core.errors import SkanalyzeError

# format -> (printer module, options); a module is imported the first time its format is used, so that
# printing one report in one format loads one printer
PRINTERS = {
    "pretty": ("text", {"style": "pretty"}),
    "text": ("text", {"style": "text"}),
    "latex": ("latex", {}),
    "python": ("python", {}),
    "markdown": ("markdown", {}),
    "csv": ("csv", {}),
    "json": ("json", {}),
}
FORMATS = ("pretty", "text", "latex", "python", "json", "markdown", "csv")


def printer(fmt: str):
    """The printer module of a format."""
    return import_module(f".{PRINTERS[fmt][0]}", __name__)


def _has(report: str, fmt: str) -> bool:
    return fmt == "json" or (fmt in PRINTERS and hasattr(printer(fmt), report))


def formats_for(report: str) -> tuple[str, ...]:
    """The formats that have a printer for a report."""
    return tuple(f for f in FORMATS if _has(report, f))


def check_format(report: str, fmt: str) -> str:
    """Return fmt if it has a printer for the report (checked before any work), else a one-line error."""
    if not _has(report, fmt):
        raise SkanalyzeError(f"format {fmt!r} is unknown; valid: {', '.join(formats_for(report))}")
    return fmt


def render(report: str, data, fmt: str = "pretty") -> str:
    """The report's data in a format; a one-line error when the format has no printer for it."""
    check_format(report, fmt)
    module = printer(fmt)
    if fmt == "json":
        if hasattr(module, report):
            return getattr(module, report)(data)
        return module.document(data, report)
    return getattr(module, report)(data, **PRINTERS[fmt][1])


__all__ = ["FORMATS", "PRINTERS", "check_format", "formats_for", "printer", "render"]
