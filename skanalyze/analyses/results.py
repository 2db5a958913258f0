"""`skanalyze train summarize DIR`: the summary of finished training runs, read from their result files only
(never trains; numpy, no torch). Files of more than one experiment in one folder are refused, naming what
differs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..core.errors import SkanalyzeError
from .ranking import ordering, verdict_text, width_test

PER_RUN = ("design", "seed")  # what varies inside one experiment


def load_runs(folder: str | Path) -> list[dict]:
    """Every result file of a folder (``*.json`` written by ``skanalyze train``)."""
    path = Path(folder)
    if not path.is_dir():
        raise SkanalyzeError(f"results folder {str(folder)!r} does not exist or is not a folder")
    records = []
    for file in sorted(path.glob("*.json")):
        try:
            record = json.loads(file.read_text())
        except (OSError, ValueError) as err:
            raise SkanalyzeError(f"{file} is not a result file: {err}") from None
        if not isinstance(record, dict) or "run" not in record or "status" not in record:
            raise SkanalyzeError(f"{file} is not a result file of skanalyze train (no run key)")
        _check_record(file, record)
        records.append(record)
    if not records:
        raise SkanalyzeError(f"results folder {str(folder)!r} has no result files (*.json)")
    return records


def _check_record(file: Path, record: dict) -> None:
    """A result file's fields have the types skanalyze train writes (a hand-edited or truncated file is named)."""

    def bad(field: str, what: str):
        raise SkanalyzeError(
            f"{file}: {field} = {record.get(field, record['run'].get(field))!r} must be {what}"
        )

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    if not isinstance(record["run"], dict):
        bad("run", "an object (the run key)")
    for field in ("design", "notation"):
        if not isinstance(record.get(field), str):
            bad(field, "a string")
    for field in ("width", "params"):
        if not (
            isinstance(record.get(field), int) and not isinstance(record[field], bool) and record[field] > 0
        ):
            bad(field, "a positive integer")
    if not isinstance(record["run"].get("seed"), int):
        bad("seed", "an integer")
    if record["status"] == "ok":
        if not (number(record.get("accuracy")) and 0 <= record["accuracy"] <= 1):
            bad("accuracy", "a number from 0 to 1 in a finished run (status ok)")
        if not (number(record.get("images_per_sec")) and record["images_per_sec"] >= 0):
            bad("images_per_sec", "a non-negative number")


def experiment_of(record: dict) -> dict:
    """The run key without the design and seed: what one experiment's runs share."""
    return {k: v for k, v in record["run"].items() if k not in PER_RUN}


def experiment_summary(plans: list[tuple[dict, list[dict]]], budget: int) -> dict:
    """One experiment's rows, ranked by width, and its pre-registered test. ``plans`` pairs each design's plan
    (``design`` name, ``notation``, ``width``, ``params``, ``groups``) with its result records."""
    rows, by_seed = [], []
    for rank, (plan, records) in enumerate(sorted(plans, key=lambda pr: -pr[0]["width"]), start=1):
        ok = sorted((r for r in records if r.get("status") == "ok"), key=lambda r: r["run"]["seed"])
        accs = [r["accuracy"] for r in ok]
        by_seed.append({r["run"]["seed"]: r["accuracy"] for r in ok})
        rows.append(
            {
                "design": plan["notation"],
                "name": plan["design"],
                "width": plan["width"],
                "params": plan["params"],
                "groups": plan["groups"],
                "predicted_rank": rank,
                "budget_used": plan["params"] / budget,
                "seeds": len(accs),
                "accuracies": accs,
                "accuracy_mean": float(np.mean(accs)) if accs else None,
                "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0 if accs else None,
                "images_per_sec": float(np.mean([r["images_per_sec"] for r in ok])) if ok else None,
                "failed": [r.get("error", "") for r in records if r.get("status") != "ok"],
            }
        )
    done = [(r, seeds) for r, seeds in zip(rows, by_seed, strict=True) if r["accuracy_mean"] is not None]
    common = sorted(set.intersection(*(set(seeds) for _, seeds in done))) if done else []
    test = (
        width_test([r["width"] for r, _ in done], [[seeds[s] for s in common] for _, seeds in done])
        if len(done) >= 2 and common
        else {"slope": None, "verdict": "inconclusive", "reason": "fewer than two designs with a common seed"}
    )
    return {**ordering(rows), "test": test, "verdict": verdict_text(test), "designs": rows}


def summarize(folder: str | Path) -> dict:
    """The summary of one experiment's finished runs, in the form `skanalyze train` prints."""
    records = load_runs(folder)
    experiments: dict[str, dict] = {}
    for r in records:
        experiments.setdefault(json.dumps(experiment_of(r), sort_keys=True, default=str), experiment_of(r))
    if len(experiments) > 1:
        # named in one order, whatever the order of the files
        first, second = (experiments[k] for k in sorted(experiments)[:2])
        differ = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
        shown = ", ".join(f"{k}: {first.get(k)!r} vs {second.get(k)!r}" for k in differ[:3])
        raise SkanalyzeError(
            f"{str(folder)!r} holds {len(experiments)} experiments ({shown}); summarize one experiment's folder"
        )
    settings = next(iter(experiments.values()))
    by_design: dict[str, list[dict]] = {}
    for r in records:
        by_design.setdefault(r["design"], []).append(r)
    plans = [
        ({"design": name, **{k: runs[0][k] for k in ("notation", "width", "params", "groups")}}, runs)
        for name, runs in by_design.items()
    ]
    summary = experiment_summary(plans, settings["budget"])
    rows = summary["designs"]
    context = {k: settings.get(k) for k in ("data", "device", "precision", "torch")}
    config = {**settings, "seeds": max((r["seeds"] for r in rows), default=0)}
    return {
        **summary,
        "budget": settings.get("budget"),
        "config": config,
        "context": context,
        "folder": str(folder),
    }


__all__ = ["load_runs", "experiment_of", "experiment_summary", "summarize"]
