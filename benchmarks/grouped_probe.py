"""How a grouped conv's MAC rate depends on its channels per group, on this CPU (one thread, batch 1).

    python benchmarks/grouped_probe.py     # about a minute; writes benchmarks/results/grouped-conv.json

For 3x3 group convs and 1x1 pointwise group convs of about 320 channels at 20 x 20 (outside the latency
study's grid), each channels-per-group count in CHANNELS: the median time (``skanalyze.nn.time_module``), the
kind's fixed cost (a tiny layer of the same kind) and the MAC rate of the rest. This is what the per-kind
compute curve (peak x c / (c + c_half)) has to follow; benchmarks/notes.md says what it shows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "results" / "grouped-conv.json"
CHANNELS = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 48, 64, 160)
TOTAL, SIZE = 320, 20


def main() -> int:
    """Time the sweep, print a table, write the JSON atomically."""
    import torch

    from skanalyze.nn.latency import set_threads, time_module

    set_threads(1)
    rows = []
    for k in (3, 1):
        tiny = torch.nn.Conv2d(8, 8, k, padding=k // 2, groups=4, bias=False)
        fixed = time_module(tiny, (1, 8, 4, 4), warmup=10, repeats=60).median_s
        for per_group in CHANNELS:
            groups = max(1, TOTAL // per_group)
            c = per_group * groups
            conv = torch.nn.Conv2d(c, c, k, padding=k // 2, groups=groups, bias=False)
            t = time_module(conv, (1, c, SIZE, SIZE), warmup=3, repeats=15).median_s
            macs = k * k * per_group * c * SIZE * SIZE
            rate = macs / (t - fixed) if t > fixed else float("nan")
            rows.append(
                {"k": k, "per_group": per_group, "groups": groups, "channels": c, "s": t, "fixed_s": fixed,
                 "macs": macs, "gmacs_per_s": rate / 1e9}
            )  # fmt: skip
            print(f"k={k} {per_group:>4} channels per group, {groups:>3} groups: {t * 1e6:8.1f} µs, "
                  f"{rate / 1e9:6.1f} GMAC/s beyond the fixed {fixed * 1e6:.1f} µs", flush=True)  # fmt: skip
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(json.dumps({"torch": torch.__version__, "size": SIZE, "rows": rows}, indent=1) + "\n")
    tmp.replace(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
