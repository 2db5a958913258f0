"""What the docs show runs, and every number they quote is recomputed here.

* every fenced ``python`` block in README.md and docs/*.md is executed;
* every ``<!-- run: skanalyze ARGS -->`` region in docs/*.md equals the command's output now;
* every script in examples/ runs in a subprocess and exits 0;
* numbers quoted in prose are recomputed from the code (the list below), each with its source.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
REGION = re.compile(r"^<!-- run: (skanalyze [^\n]*?) -->\n(.*?)^<!-- end -->", re.S | re.M)


def python_blocks():
    for path in DOCS:
        for i, block in enumerate(FENCE.findall(path.read_text())):
            yield pytest.param(block, id=f"{path.name}-{i}")


@pytest.mark.parametrize("block", list(python_blocks()))
def test_python_blocks_run(block):
    if re.search(r"^\s*(import|from) torch", block, re.M):
        pytest.importorskip("torch", reason="torch is not installed: pip install 'skanalyze[torch]'")
    exec(compile(block, "<doc>", "exec"), {})


def regions():
    for path in DOCS:
        for cmd, body in REGION.findall(path.read_text()):
            yield pytest.param(cmd, body, id=f"{path.name}:{cmd}")


@pytest.mark.slow
@pytest.mark.parametrize("cmd, body", list(regions()))
def test_run_regions_are_current(cli, cmd, body):
    code, out, err = cli(*shlex.split(cmd)[1:])
    assert code == 0, err
    lines = body.splitlines()
    if lines and lines[0].startswith("```"):
        lines = lines[1:-1]
    assert "\n".join(lines).rstrip() == out.rstrip(), f"regenerate the region of `{cmd}`"


def test_there_are_run_regions():
    assert len(list(regions())) >= 3  # efficiency.md (2), field.md (1)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_examples_run(script, tmp_path):
    if "torch" in script.read_text():
        pytest.importorskip("torch", reason="torch is not installed: pip install 'skanalyze[torch]'")
    args = [str(tmp_path)] if script.name == "section_3_3.py" else []
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


# -- numbers quoted in prose ------------------------------------------------------------------------
def _space_numbers() -> dict:
    from skanalyze.analyses.space import reduce_space

    full, search = reduce_space(), reduce_space(mode="search")
    f, s = dict(full.stages()), dict(search.stages())
    return {
        "table": [
            f"| {name} | {f[name]} | {s[name]} |"
            for name in ("space", "composition", "performance", "efficiency")
        ],
        "per_length": ", ".join(str(r["efficiency"]) for r in full.per_length),
        "exceptions": sum(v.bottleneck for v in full.survivors),
        "extra_full": f["efficiency"] - 4,
        "extra_search": s["efficiency"] - 4,
        "search": s["efficiency"],
    }


def test_field_md_numbers():
    doc = (ROOT / "docs" / "field.md").read_text()
    n = _space_numbers()
    for row in n["table"]:
        assert row in doc, row
    assert f"Per length (fullmatch): {n['per_length']} survivors" in doc
    assert f"({n['exceptions']} of the {n['table'][3].split('|')[2].strip()} by" in doc
    assert f"all\n   {n['exceptions']} candidates are proven" in doc
    assert f"({n['extra_full']} more designs with fullmatch, {n['extra_search']} with search)" in doc
    assert f"(hence {n['search']} survivors)" in doc


def test_field_md_non_nesting_example():
    from skanalyze.core import symbols as S
    from skanalyze.core.design import parse
    from skanalyze.core.infofield import propagate

    doc = (ROOT / "docs" / "field.md").read_text()
    d = parse("GConv(M)+PWGConv(N) [shuffle=none]")
    _, _, lo, hi = propagate(d, {S.C: 12, S.F: 12, S.M: 4, S.N: 3})
    assert lo == hi and f"every output reaches {lo} channels (not 4)" in doc
    _, _, lo, hi = propagate(d, {S.C: 12, S.F: 12, S.M: 3, S.N: 4})
    assert f"outputs reach {lo} to {hi}" in doc


def test_model_md_numbers():
    from skanalyze.analyses.network import Layout, evaluate, network
    from skanalyze.core import catalog

    doc = (ROOT / "docs" / "model.md").read_text()
    assert f"{64 * 56 * 56:,} elements" in doc
    resnet18 = sum(
        evaluate(network(catalog.get("resnet-basic"), Layout(stem_kernel=7, bn=True)), 64)[0].values()
    )
    assert f"({resnet18:,} parameters)" in doc


def test_families_md_table_is_current(cli):
    doc = (ROOT / "docs" / "families.md").read_text()
    code, out, _ = cli("compare", "--format", "markdown")
    assert code == 0
    table = out.split("\n\n")[0].rstrip()
    assert table in doc, "regenerate the table with: skanalyze compare --format markdown"
