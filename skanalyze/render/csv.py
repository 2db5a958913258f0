"""The CSV printer: tabular reports as comma-separated values with a header row (RFC 4180 quoting)."""

from __future__ import annotations

import csv
import io

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
