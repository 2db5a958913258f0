"""The printer registry: each report declared once, each printer registered for its (report, format) pair,
duplicates and undeclared names refused, and the lists users see derived from it."""

from __future__ import annotations

import pytest

from skanalyze import render as R
from skanalyze.core.errors import SkanalyzeError


def test_a_second_printer_for_a_pair_is_refused():
    R.formats_for("formulas")  # loads every format's module
    with pytest.raises(SkanalyzeError, match="pretty already has a printer of formulas \\(formulas\\)"):

        @R.prints("formulas", "pretty")
        def formulas(data, style="pretty"):
            raise AssertionError("never printed")

    with pytest.raises(SkanalyzeError, match="json already prints every report"):
        R.prints_any("json")(lambda data, report: "")


def test_undeclared_reports_and_unknown_formats_are_refused():
    with pytest.raises(SkanalyzeError, match="report 'yaml_report' is not declared"):
        R.prints("yaml_report", "text")(lambda data: "")
    with pytest.raises(SkanalyzeError, match="format 'yaml' is unknown; valid: pretty, text, latex"):
        R.prints("formulas", "yaml")(lambda data: "")


def test_every_declared_report_prints_in_the_formats_every_command_offers():
    for report in R.REPORTS:
        assert {"pretty", "text", "json"} <= set(R.formats_for(report)), report
    assert R.formats_for("formulas") == ("pretty", "text", "latex", "python", "json")


def test_the_format_help_is_derived_from_the_registry():
    from skanalyze.cli.common import FORMAT_HELP

    assert all(fmt in FORMAT_HELP for fmt in R.FORMATS)
    assert FORMAT_HELP.startswith("Output format: pretty (default), text, latex, python, json, markdown, csv")
