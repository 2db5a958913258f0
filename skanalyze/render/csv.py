"""The CSV printer: tabular reports as comma-separated values with a header row (RFC 4180 quoting)."""

from __future__ import annotations

import csv
import io

import sympy as sp

from . import prints
from .expr import text

MODEL_COLUMNS = (
    "name",
    "kind",
    "notation",
    "input",
    "output",
    "params",
    "bias",
    "macs",
    "macs_share",
    "unit",
)


@prints("model", "csv")
def model(data: dict) -> str:
    """`skanalyze model --format csv`: one row per layer (shapes as NxCxHxW)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MODEL_COLUMNS)
    for r in data["layers"]:
        cells = {**r, "input": "x".join(map(str, r["input"])), "output": "x".join(map(str, r["output"]))}
        cells["unit"] = r["unit"] or ""
        writer.writerow([cells[c] for c in MODEL_COLUMNS])
    return buffer.getvalue()


def _write(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value):
    """Exact integers as digits, other sympy values as the text sympy reads back, nested data flattened."""
    if isinstance(value, sp.Basic):
        return str(int(value)) if value.is_Integer else text(value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(_cell(v)) for v in value)
    return "" if value is None else value


@prints("catalog", "csv")
def catalog(rows: list[dict]) -> str:
    """`skanalyze designs --format csv`: name, design (its notation), description (the JSON keys)."""
    return _write(
        ("name", "design", "description"), ([r["name"], r["design"], r["description"]] for r in rows)
    )


@prints("network", "csv")
def network(data: dict) -> str:
    """`skanalyze network --format csv`: one row per part (stem, stages, classifier, total)."""
    parts = list(data["params"])
    return _write(
        ("design", "width", "part", "params", "macs"),
        (
            [
                data["design"],
                _cell(data["width"]),
                part,
                _cell(data["params"][part]),
                _cell(data["macs"][part]),
            ]
            for part in parts
        ),
    )


@prints("space", "csv")
def space(data: dict) -> str:
    """`skanalyze space --format csv`: one row per reduction stage with the designs it keeps."""
    return _write(("stage", "remaining"), ([s["name"], s["remaining"]] for s in data["stages"]))


@prints("tables", "csv")
def tables(report) -> str:
    """`skanalyze tables --format csv`: one row per paper table row (assumption sets flattened)."""
    rows = report.rows()
    header = list(rows[0]) if rows else []
    return _write(header, ([_cell(r.get(k)) for k in header] for r in rows))
