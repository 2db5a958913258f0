"""The paper's tables: the report is what the arithmetic says, and docs/paper-tables.md is current."""

import json
from pathlib import Path

import pytest

from skanalyze.analyses import tables as T
from skanalyze.analyses.network import network
from skanalyze.render import markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "paper-tables.md"


def test_doc_is_current():
    assert DOC.read_text() == markdown.tables(T.analyse()), (
        "regenerate: skanalyze tables --markdown > docs/paper-tables.md"
    )


def test_every_row_has_a_verdict():
    report = T.analyse()
    assert len(report.verdicts) == len(T.ROWS) == 20
    assert {v.verdict for v in report.verdicts} <= set(T.VERDICTS)
    assert report.best_count == sum(v.reproduced for v in report.verdicts)


def test_resnet_rows_reproduce_resnet18_without_fc():
    report = T.analyse()
    resnet = [v for v in report.verdicts if v.row.design == "Conv+Conv"]
    assert all(v.reproduced for v in resnet)
    assert all(abs(v.best / 1e6 - 11.2) <= 0.05 for v in resnet)


def test_unbuildable_row_says_why():
    v = next(v for v in T.analyse().verdicts if v.row.width == 700)
    assert v.verdict == "not reproducible"
    assert "dividing the 175 channels" in v.cause and "K = M*N = 200" in v.cause


def test_row_params_are_exact_network_counts():
    from skanalyze.analyses.network import evaluate, network

    row = next(r for r in T.ROWS if r.label == "DW+PW" and r.width == 72)
    a = T.Assumptions(blocks=1)
    design, layout = T.row_setup(row, a)
    assert T.row_params(row, a) == sum(evaluate(network(design, layout), 72)[0].values())


def test_cli_json(cli):
    code, out, _ = cli("tables", "--json")
    rows = json.loads(out)["rows"]
    assert len(rows) == 20
    for row in rows:
        assert {"table", "design", "width", "paper_params_m", "params", "reproduced", "assumptions"} <= set(
            row
        )


def test_reproduced_rows_rebuilt_in_torch_match_the_paper(nn):
    """Each reproduced row, built as a torch network under its assumption set: sum(p.numel()) of the
    modules the assumptions count is within the paper's rounding of the reported #Params."""
    import torch

    report = T.analyse()
    reproduced = [v for v in report.verdicts if v.verdict == T.REPRODUCED]
    assert reproduced
    for v in reproduced:
        design, layout = T.row_setup(v.row, report.best)
        module = nn.build_network(network(design, layout), v.row.width)
        counted = 0
        for m in module.modules():
            own = sum(p.numel() for p in m.parameters(recurse=False))
            if isinstance(m, torch.nn.BatchNorm2d) and not layout.bn:
                continue
            if isinstance(m, torch.nn.Linear) and not report.best.classifier:
                continue
            counted += own
        assert abs(counted - v.row.params_m * 1e6) <= T.TOLERANCE_M * 1e6, (v.row.key, counted)
        assert counted == v.best, v.row.key


@pytest.mark.slow
def test_the_stored_search_is_the_search_of_this_source():
    """`tables` reads the stored search only when its source fingerprint matches; searched afresh here, the
    report is the same (if this fails, the source changed: run `python -m skanalyze.analyses.tables`)."""
    stored = T.load_stored()
    assert stored is not None, "skanalyze/analyses/tables.json is stale: python -m skanalyze.analyses.tables"
    assert T.search() == stored
    assert T.from_stored(json.loads(json.dumps(T.to_stored(stored)))) == stored


def test_a_stale_or_broken_store_is_never_read(tmp_path):
    data = json.loads(T.STORED.read_text())
    for broken in ({**data, "fingerprint": "0" * 64}, {k: v for k, v in data.items() if k != "verdicts"}):
        path = tmp_path / "tables.json"
        path.write_text(json.dumps(broken))
        assert T.load_stored(path) is None
    (tmp_path / "bad.json").write_text("{not json")
    assert T.load_stored(tmp_path / "bad.json") is None
    assert T.load_stored(tmp_path / "missing.json") is None
