"""The training results in docs/training.md are recomputed here from the committed per-run files
(results/<folder>/*.json): the table, the pre-registered test's slope, interval and p-value, the power
table. Reads files only, trains nothing (numpy, no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skanalyze.analyses.ranking import width_test

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "cpu-reduced"
DOC = ROOT / "docs" / "training.md"
BUDGETS = {
    "isolate-width": 50_000,
    "decisive": 75_000,
}  # the width-isolating experiments' budgets, as documented


def load(folder: Path):
    """Per design: width, params, notation and accuracy by seed, from the finished runs in a folder."""
    designs: dict = {}
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text())
        if record.get("status") != "ok":
            continue
        d = designs.setdefault(
            record["notation"],
            {"width": record["width"], "params": record["params"], "groups": record["groups"], "acc": {}},
        )
        d["acc"][record["run"]["seed"]] = record["accuracy"]
    return designs


def table_rows(designs) -> list[str]:
    rows = []
    ranked = sorted(designs.items(), key=lambda kv: -kv[1]["width"])
    for rank, (notation, d) in enumerate(ranked, start=1):
        accs = [d["acc"][s] for s in sorted(d["acc"])]
        groups = ", ".join(f"{k}={v}" for k, v in d["groups"].items())
        name = f"{notation}, {groups}" if groups else notation
        rows.append(
            f"| {rank} | {name} | {d['width']} | {d['params']:,} | "
            f"{100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f} % |"
        )
    return rows


def section(text: str, folder: str) -> str:
    """The part of docs/training.md about one results folder: from its heading to the next one."""
    at = text.index(f"--out results/{folder}")
    start = text.rfind("\n### ", 0, at)
    end = text.find("\n### ", at)
    return text[start : end if end > 0 else len(text)]


@pytest.mark.parametrize(
    "folder, designs, seeds", [("cpu-reduced", 5, 3), ("isolate-width", 5, 4), ("decisive", 4, 5)]
)
def test_experiment_numbers(folder, designs, seeds):
    path = ROOT / "results" / folder
    if not path.is_dir():
        pytest.skip(f"results/{folder} is not in this checkout")
    found = load(path)
    assert len(found) == designs and all(len(d["acc"]) == seeds for d in found.values())
    text = section(DOC.read_text(), folder)
    for row in table_rows(found):
        assert row in text, row
    common = sorted(next(iter(found.values()))["acc"])
    test = width_test(
        [d["width"] for d in found.values()], [[d["acc"][s] for s in common] for d in found.values()]
    )
    lo, hi = test["interval_95"]
    t_lo, t_hi = test["t_interval_95"]
    flat = " ".join(text.split())
    assert f"b = {test['slope']:+.2f} points per doubling" in flat
    assert f"95% t interval {t_lo:+.2f} .. {t_hi:+.2f}" in flat
    assert f"seed bootstrap {lo:+.2f} .. {hi:+.2f}" in flat
    if folder == "decisive":  # the claim that 1 point per doubling is excluded, and the bound quoted after it
        assert f"b >= 1: p = {test['t_p_one_point']:.3f}" in flat
        assert f"({t_hi:+.2f}) excludes" in flat and test["t_p_one_point"] < 0.05
    assert f"p = {test['p_value']:.4f}" in flat
    assert f"**{test['verdict']}**" in flat
    for row in test["power"]:
        assert f"{row['seeds_for_80_percent']} seeds for {row['effect_per_doubling']} point" in flat
    assert f"residual spread {test['residual_sd']:.2f} points" in flat
    widths = [d["width"] for d in found.values()]
    if folder in BUDGETS:
        budget = BUDGETS[folder]
        assert f"span {max(widths) / min(widths):.2f}x" in flat
        for d in found.values():
            assert d["params"] >= 0.95 * budget
        used = [
            f"{100 * d['params'] / budget:.1f}%" for d in sorted(found.values(), key=lambda d: d["width"])
        ]
        assert f"Budget used: {', '.join(used[:-1])} and {used[-1]}" in flat


def test_decisive_setting_is_the_documented_one():
    """The decisive runs used the full data, the documented budget, epochs and data, every one finished."""
    path = ROOT / "results" / "decisive"
    if not path.is_dir():
        pytest.skip("results/decisive is not in this checkout")
    records = [json.loads(p.read_text()) for p in sorted(path.glob("*.json"))]
    assert len(records) == 20 and all(r["status"] == "ok" for r in records)
    assert {(r["train_images"], r["test_images"]) for r in records} == {(60_000, 10_000)}
    assert {(r["run"]["budget"], r["run"]["epochs"], r["run"]["device"]) for r in records} == {
        (75_000, 2, "cpu")
    }
    hours = sum(r["train_seconds"] for r in records) / 3600
    assert f"{hours:.1f} hours of training time" in " ".join(section(DOC.read_text(), "decisive").split())
