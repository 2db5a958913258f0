"""The printer registry: each report declared once, each printer registered for its (report, format) pair,
duplicates and undeclared names refused, and the lists users see derived from it."""

from __future__ import annotations

import pytest

from skanalyze import render as R
from skanalyze.cli.common import DesignArg, FormatOpt, JsonOpt, chosen_design, output_format
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


def test_the_new_format_recipe_of_docs_architecture(tmp_path, monkeypatch):
    """docs/architecture.md's recipe, followed: one module with one document-style printer, one entry in
    FORMAT_MODULES; every report then takes the format, and the --format choices list it."""
    import sys

    (tmp_path / "recipe_formats").mkdir()
    (tmp_path / "recipe_formats" / "__init__.py").write_text("")
    (tmp_path / "recipe_formats" / "yaml_format.py").write_text(
        "from skanalyze.render import prints_any\n"
        "from skanalyze.render.json import jsonable\n\n"
        "@prints_any('yaml')\n"
        "def document(data, report):\n"
        "    body = jsonable(data if isinstance(data, dict) else {'rows': data})\n"
        "    return f'report: {report}\\n' + ''.join(f'{k}: {v!r}\\n' for k, v in body.items())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(R.FORMAT_MODULES, "yaml", ("recipe_formats.yaml_format", {}))
    monkeypatch.setattr(R, "FORMATS", (*R.FORMATS, "yaml"))
    for report in R.REPORTS:
        assert "yaml" in R.formats_for(report)
    text = R.render("catalog", [{"name": "dw-pw", "notation": "DW+PW"}], "yaml")
    assert text.startswith("report: catalog\n") and "DW+PW" in text
    assert "recipe_formats.yaml_format" in sys.modules  # loaded when the format was first asked for


def test_the_new_command_recipe_of_docs_architecture(cli, monkeypatch):
    """docs/architecture.md's command recipe, followed from outside the package: an analysis that returns
    data, its report declared in render.REPORTS with a printer, a thin command over the shared option types,
    and one entry each in COMMANDS, COMMAND_REPORTS and EXAMPLES: the command then runs, takes --format json
    (JSON prints every report), refuses a format it has no printer for, and shows its example under --help."""
    import importlib

    import typer

    A = importlib.import_module("skanalyze.cli.app")  # the module (skanalyze.cli.app is also the Typer app)

    def kernels_report(design) -> dict:  # the analysis: data, no printing
        return {"design": design.notation, "kernels": [k.notation() for k in design.kernels]}

    monkeypatch.setattr(R, "_PRINTERS", dict(R._PRINTERS))  # the registration below is undone afterwards
    monkeypatch.setitem(R.REPORTS, "kernels", "dict: the design and its kernels (kernels_report)")

    @R.prints("kernels", "pretty", "text")
    def kernels_text(data, style="pretty") -> str:  # pretty and text share a printer; style tells them apart
        return f"{data['design']}: {', '.join(data['kernels'])}\n"

    def kernels(design: DesignArg, fmt: FormatOpt = None, json_out: JsonOpt = False) -> None:
        """List a design's kernels."""
        fmt = output_format("kernels", fmt, json_out)
        typer.echo(R.render("kernels", kernels_report(chosen_design(design)), fmt), nl=False)

    monkeypatch.setattr(A.app, "registered_commands", list(A.app.registered_commands))
    monkeypatch.setattr(A, "COMMANDS", (*A.COMMANDS, (kernels, None, False)))
    monkeypatch.setitem(A.COMMAND_REPORTS, "kernels", "kernels")
    monkeypatch.setitem(A.EXAMPLES, "kernels", ["skanalyze kernels gconv-pwgconv"])
    A.app.command()(kernels)
    A._examples()  # what app.py does at import, after its tables

    code, out, _ = cli("kernels", "gconv-pwgconv")
    assert code == 0 and out == "GConv(M)+PWGConv(N): GConv(M), PWGConv(N)\n"
    code, out, _ = cli("kernels", "dw-pw", "--format", "json")
    assert code == 0 and '"kernels": [' in out and '"DW"' in out
    code, _, err = cli("kernels", "dw-pw", "--format", "latex")
    assert code == 2 and "latex" in err and "pretty, text, json" in err
    code, out, _ = cli("kernels", "--help")
    assert code == 0 and "skanalyze kernels gconv-pwgconv" in out and "List a design's kernels." in out
