"""Printers: data in, text or figure out. One module per format, one function per report in each:

========  =====================  =============================================
format    module                 reports
========  =====================  =============================================
pretty    render.text            every report (unicode expressions)
text      render.text            every report (expressions sympy reads back)
json      render.json            every report: the data as it is (compare: its rows)
latex     render.latex           formulas, efficiency
python    render.python          formulas
markdown  render.markdown        compare, tables
csv       render.csv             model
========  =====================  =============================================

:func:`render` picks the printer; a report a format has no printer for is a one-line error
naming the formats that have one. The plots (render.plots) are the only importer of matplotlib.
"""

from __future__ import annotations

from ..core.errors import SkanalyzeError
from . import csv, json, latex, markdown, python, text

PRINTERS = {
    "pretty": (text, {"style": "pretty"}),
    "text": (text, {"style": "text"}),
    "latex": (latex, {}),
    "python": (python, {}),
    "markdown": (markdown, {}),
    "csv": (csv, {}),
}
FORMATS = ("pretty", "text", "latex", "python", "json", "markdown", "csv")


def formats_for(report: str) -> tuple[str, ...]:
    """The formats that have a printer for a report."""
    return tuple(f for f in FORMATS if f == "json" or hasattr(PRINTERS[f][0], report))


def check_format(report: str, fmt: str) -> str:
    """Return fmt if it has a printer for the report (checked before any work), else a one-line error."""
    if fmt != "json" and (fmt not in PRINTERS or not hasattr(PRINTERS[fmt][0], report)):
        raise SkanalyzeError(f"format {fmt!r} is unknown; valid: {', '.join(formats_for(report))}")
    return fmt


def render(report: str, data, fmt: str = "pretty") -> str:
    """The report's data in a format; a one-line error when the format has no printer for it."""
    check_format(report, fmt)
    if fmt == "json":
        return getattr(json, report, json.document)(data)
    module, options = PRINTERS[fmt]
    return getattr(module, report)(data, **options)


__all__ = ["FORMATS", "PRINTERS", "check_format", "formats_for", "render"]
