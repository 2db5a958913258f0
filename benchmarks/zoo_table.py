"""Regenerate the zoo table of docs/model-import.md from a run of the zoo test.

    SKANALYZE_ZOO_OUT=/tmp/zoo.jsonl .venv-zoo/bin/python -m pytest tests/zoo
    python benchmarks/zoo_table.py /tmp/zoo.jsonl

The table sits between the markers ``<!-- zoo table -->`` and ``<!-- end zoo table -->``; tests/zoo/test_zoo.py
re-checks every params and MACs figure in it against the models themselves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "model-import.md"
BEGIN, END = "<!-- zoo table -->", "<!-- end zoo table -->"
PEERS = ("torch", "fvcore", "ptflops", "ptflops-aten", "thop")
MARK = {"ok": "=", "not run (large)": "·", "n/a": "peer fails"}


def table(rows: list[dict]) -> str:
    """The markdown table: one row per model, each peer's agreement (= exact, · not run, or the difference)."""
    head = (
        "| zoo | model | input | params | MACs | params = sum(numel) | 2 x MACs = FlopCounterMode | "
        + " | ".join(PEERS)
        + " |"
    )
    out = [head, "|" + "---|" * (7 + len(PEERS))]
    for r in sorted(rows, key=lambda r: (r["zoo"], r["model"])):
        cells = [
            r["zoo"],
            r["model"],
            f"{r['input'][2]}x{r['input'][3]}",
            f"{r['params']:,}",
            f"{r['macs']:,}",
            "=" if r["params_ok"] else "differs",
            "=" if r["flops_ok"] else "differs",
            *(MARK.get(r[p], r[p]) for p in PEERS),
        ]
        out.append("| " + " | ".join(cells) + " |")
    ran = [
        r
        for r in rows
        if r["params_ok"] and r["flops_ok"] and all(r[p] in ("ok", "not run (large)") for p in PEERS)
    ]
    large = sum(r["fvcore"] == "not run (large)" for r in rows)
    summary = (
        f"{len(rows)} models; params and 2 x MACs exact on {sum(r['params_ok'] and r['flops_ok'] for r in rows)}; "
        f"every peer that ran exact on {len(ran)}; fvcore and ptflops' default backend ran on the "
        f"{len(rows) - large} models up to 30 M parameters (they need a real CPU forward), not on the other "
        f"{large}. = exact, · not run."
    )
    return "\n".join([summary, "", *out])


def main(path: str) -> None:
    """Write the table of the rows in ``path`` (JSON lines) into docs/model-import.md."""
    rows = {}
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        rows[(row["zoo"], row["model"])] = row  # a rerun replaces a model's row
    text = DOC.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + table(list(rows.values())) + "\n" + text[end:])
    print(f"{len(rows)} rows written to {DOC}")


if __name__ == "__main__":
    main(sys.argv[1])
