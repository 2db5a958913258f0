"""The Python printer: formulas as plain Python functions of their symbols."""

from __future__ import annotations

from .expr import python_function, slug


def formulas(rows: list[dict]) -> str:
    """`skanalyze formulas --format python`: params, MACs and FLOPs of each design as functions."""
    out = ["# skanalyze formulas: params, MACs (output size H x W) and FLOPs = 2 x MACs"]
    for row in rows:
        title = row["design"] + (f"   [{row['label']}] {row['description']}" if row["label"] else "")
        name = slug(row["label"] or row["design"])
        out.append(f"# {title}")
        for what in ("params", "macs", "flops"):
            out.append(python_function(f"{what}_{name}", row[what]))
    return "\n\n".join(out) + "\n"
