"""Model import on the real zoos, timed beside FlopCounterMode in one run (the zoo venv: see .ci/run).

    .venv-zoo/bin/python benchmarks/zoo_speed.py            # every zoo model; writes docs/benchmarks.md's zoo section

For each model: ``from_module`` (the whole import: copy, trace, layers, units), FlopCounterMode on meta tensors
and, for the models up to 30 M parameters, FlopCounterMode on a real CPU forward; medians of 3 runs each, one
torch thread. The targets (issue: the model zoo): import <= 1x FlopCounterMode on meta for every model, and
<= 0.5x a real CPU FlopCounterMode forward.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "zoo"))
import zoo  # noqa: E402

from skanalyze.nn.importer import from_module  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- zoo speed -->", "<!-- end zoo speed -->"


def timed(fn, repeat: int = 3) -> float:
    """The median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(family: str, name: str) -> dict:
    """One model's times."""
    model, shape = zoo.build(family, name, "meta")
    numel = sum(p.numel() for p in model.parameters())
    row = {"zoo": family, "model": name, "params": numel}
    from_module(
        model, shape
    )  # warm: first-call costs (sympy caches of the unit readings) are not the model's
    row["import"] = timed(lambda: from_module(model, shape))
    row["meta"] = timed(lambda: zoo.flop_counter(model, shape))
    if numel <= zoo.SMALL:
        cpu, _ = zoo.build(family, name, "cpu")
        row["cpu"] = timed(lambda: zoo.flop_counter(cpu, shape, "cpu"))
    return row


def section(rows: list[dict]) -> str:
    """The markdown section: a summary, the worst models, and the machine."""
    meta = sorted(rows, key=lambda r: r["import"] / r["meta"], reverse=True)
    cpu = [r for r in rows if "cpu" in r]
    worst_cpu = max(cpu, key=lambda r: r["import"] / r["cpu"])
    over = [r for r in rows if r["import"] > r["meta"]]
    over_cpu = [r for r in cpu if r["import"] > 0.5 * r["cpu"]]
    ratios = [r["import"] / r["meta"] for r in rows]
    out = [
        f"{len(rows)} zoo models (torchvision and timm; torch {torch.__version__}, 1 thread, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores); medians of 3 runs, measured side by side in one run by `benchmarks/zoo_speed.py`.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| import <= 1x FlopCounterMode on meta, every model | median {statistics.median(ratios):.2f}x, worst "
        f"{ratios and max(ratios):.2f}x ({meta[0]['model']}); {len(over)} of {len(rows)} over | "
        f"{'yes' if not [r for r in rows if r['import'] > 0.9 * r['meta']] else 'MISSED'} |",
        f"| import <= 0.5x a CPU FlopCounterMode forward ({len(cpu)} models up to 30 M params) | worst "
        f"{worst_cpu['import'] / worst_cpu['cpu']:.3f}x ({worst_cpu['model']}); {len(over_cpu)} over | "
        f"{'yes' if not [r for r in cpu if r['import'] > 0.45 * r['cpu']] else 'MISSED'} |",
        "",
        f"FlopCounterMode alone on meta tensors takes longer than the real CPU forward on "
        f"{sum(r['meta'] > r['cpu'] for r in cpu)} of the {len(cpu)} models timed on the CPU (torch's meta "
        "kernels run in Python, a small model's CPU kernels are fast); the import answers the common calls' "
        "shapes itself (`skanalyze.nn.meta_shapes`, each rule checked against torch's meta kernels) and "
        "runs the rest. A target met by less than 10% counts as missed.",
    ]
    out += ["", *scaling(rows)]
    by_cpu = sorted(cpu, key=lambda r: r["import"] / r["cpu"], reverse=True)
    for title, chosen in (("FlopCounterMode on meta", meta[:10]), ("the CPU forward", by_cpu[:10])):
        out += [
            "",
            f"The ten slowest imports relative to {title}:",
            "",
            "| model | params | import (s) | FlopCounterMode meta (s) | ratio | CPU forward (s) | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in chosen:
            cpu_s = f"{r['cpu']:.3f} | {r['import'] / r['cpu']:.2f}" if "cpu" in r else "· | ·"
            out.append(
                f"| {r['zoo']}:{r['model']} | {r['params']:,} | {r['import']:.3f} | {r['meta']:.3f} | "
                f"{r['import'] / r['meta']:.2f} | {cpu_s} |"
            )
    return "\n".join(out)


BINS = (0, 3 * 10**6, 10**7, 3 * 10**7, 10**8, 10**12)  # parameter counts: the bins of the scaling table


def scaling(rows: list[dict]) -> list[str]:
    """How the import's time grows with the model's size: per band of parameter counts, medians."""
    out = [
        "How the import's time grows with the model's size (parameters), medians per band:",
        "",
        "| parameters | models | import | per million parameters | FlopCounterMode meta | import / meta |",
        "|---|---|---|---|---|---|",
    ]
    for low, high in zip(BINS, BINS[1:], strict=False):
        band = [r for r in rows if low <= r["params"] < high]
        if not band:
            continue
        name = f">= {low / 1e6:g} M" if high == BINS[-1] else f"{low / 1e6:g}-{high / 1e6:g} M"
        med = statistics.median
        out.append(
            f"| {name} | {len(band)} | {med(r['import'] for r in band) * 1e3:.1f} ms | "
            f"{med(r['import'] / r['params'] * 1e6 for r in band) * 1e3:.2f} ms | "
            f"{med(r['meta'] for r in band) * 1e3:.1f} ms | {med(r['import'] / r['meta'] for r in band):.2f} |"
        )
    largest = max(rows, key=lambda r: r["params"])
    slowest = max(rows, key=lambda r: r["import"])
    out += [
        "",
        f"The import reads shapes on meta tensors, so its time follows the layers a model runs more than its "
        f"weights: the largest model, {largest['model']} ({largest['params'] / 1e6:.0f} M parameters), imports in "
        f"{largest['import'] * 1e3:.0f} ms; the slowest import is {slowest['model']} "
        f"({slowest['params'] / 1e6:.1f} M parameters), {slowest['import'] * 1e3:.0f} ms.",
    ]
    return out


def main() -> None:
    """Time every zoo model and write the section of docs/benchmarks.md."""
    torch.set_num_threads(1)
    cases = [("torchvision", n) for n in zoo.torchvision_names()] + [("timm", n) for n in zoo.TIMM]
    if len(sys.argv) > 1:
        cases = [c for c in cases if c[1] in sys.argv[1:]]
    rows = []
    for i, (family, name) in enumerate(cases, 1):
        with zoo.quiet():
            rows.append(measure(family, name))
        r = rows[-1]
        print(f"[{i}/{len(cases)}] {name}: import {r['import']:.3f}s, meta {r['meta']:.3f}s", flush=True)
    text = DOC.read_text()
    if BEGIN in text and len(sys.argv) == 1:
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:start] + "\n" + section(rows) + "\n" + text[end:])
    else:
        print(section(rows))


if __name__ == "__main__":
    main()
