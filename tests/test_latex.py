"""--format latex pastes into a paper as is: every LaTeX output compiles in a minimal document (amsmath,
booktabs) with pdflatex when it is installed; without it, the structure is checked (no bare ``aligned``
outside display math, environments balanced)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

OUTPUTS = [
    ("formulas",),
    ("formulas", "pw-dw-pw", "--bottleneck", "6*C", "--subs", "C=64"),
    ("efficiency", "dw-pw"),
    ("efficiency", "gconv-pwgconv", "--at", "C=64", "F=128"),
    ("efficiency", "pw-dw-pw"),
    ("efficiency", "pwgconv-dw-pwgconv", "--integers", "16"),
    ("network", "dw-pw", "--width", "64"),
    ("designs",),
    ("tables",),
]
PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{booktabs}\n\\begin{document}\n"


def latex_of(cli, args):
    code, out, err = cli(*args, "--format", "latex")
    assert code == 0, err
    return out


@pytest.mark.parametrize("args", OUTPUTS, ids=[" ".join(a) for a in OUTPUTS])
def test_structure(cli, args):
    out = latex_of(cli, args)
    body = re.sub(r"(?m)^%.*$", "", out)
    for env in ("aligned", "tabular"):
        assert body.count(f"\\begin{{{env}}}") == body.count(f"\\end{{{env}}}")
    # every aligned sits inside \[ ... \]
    outside = re.sub(r"\\\[.*?\\\]", "", body, flags=re.S)
    assert "\\begin{aligned}" not in outside
    assert "·" not in body and "²" not in body  # unicode a plain pdflatex rejects


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is not installed (apt-get install texlive-latex-recommended)",
)
def test_every_output_compiles(cli, tmp_path):
    parts = [latex_of(cli, args) for args in OUTPUTS]
    doc = PREAMBLE + "\n\n".join(parts) + "\n\\end{document}\n"
    (tmp_path / "all.tex").write_text(doc)
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "all.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "all.pdf").stat().st_size > 1000


def test_docs_formats_table_is_current():
    """docs/output-formats.md's table is derived from the app: every command, its report's printers."""
    from pathlib import Path

    from skanalyze.cli.app import COMMAND_REPORTS, FILE_ONLY, app
    from skanalyze.render import formats_for

    commands = {info.name or info.callback.__name__.replace("_", "-") for info in app.registered_commands}
    listed = {
        c.split(" --")[0].replace("train summarize", "train-summarize")
        for c in [*COMMAND_REPORTS, *FILE_ONLY]
    }
    assert listed == commands  # a new command must say what it prints
    rows = [f"| `{c}` | {', '.join(formats_for(r))} |" for c, r in COMMAND_REPORTS.items()]
    rows += [f"| `{c}` | {what} |" for c, what in FILE_ONLY.items()]
    table = "\n".join(["| command | formats |", "|---|---|", *rows])
    doc = (Path(__file__).resolve().parents[1] / "docs" / "output-formats.md").read_text()
    assert table in doc, "regenerate the table:\n" + table


def test_every_command_prints_in_the_formats_every_command_offers():
    """A new command whose report has no text printer fails here (not only when a user runs it)."""
    from skanalyze.cli.app import COMMAND_REPORTS
    from skanalyze.render import REPORTS, formats_for

    assert set(COMMAND_REPORTS.values()) <= set(REPORTS)
    for command, report in COMMAND_REPORTS.items():
        assert {"pretty", "text", "json"} <= set(formats_for(report)), command
