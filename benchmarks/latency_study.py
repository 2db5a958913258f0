"""Does the roofline predict measured latency? A grid study on this machine; writes docs/latency.md.

    python benchmarks/latency_study.py              # two runs (each: calibrate, then time the grid), docs
    python benchmarks/latency_study.py --quick      # a small grid, one run, for a smoke test (no docs)

The grid: every catalog design, widths C = F from 16 to 512, the group numbers that build (for free group
numbers the two cheapest with a full field), output sizes 14 and 28, batch 1, one thread. Each configuration
is timed with `skanalyze.nn.time_module` (warm-up, median of repeats, IQR), in a shuffled order. Each run
calibrates its own profile first (`skanalyze device calibrate`'s micro-benchmarks: nothing is fitted to the
grid), then compares the measured medians with (a) MACs, (b) params, (c) the roofline prediction.

Every run's measurements go to benchmarks/results/latency-run<i>.json (written atomically; a finished run
is reused unless --fresh, so an interrupted study resumes at the run it was in). tests/test_latency_docs.py
recomputes every number of docs/latency.md from those files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "latency.md"
PLOT = ROOT / "docs" / "img" / "latency-scatter.png"
WIDTHS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
SIZES = (14, 28)
LEARNED_LINE_MAX = 128  # the gathering path of learned lines holds F x C x H x W temporaries


def grid(widths=WIDTHS, sizes=SIZES) -> list[dict]:
    """Every (catalog design, width, groups, size) that builds: name, values."""
    import sympy as sp

    from skanalyze.analyses.optimize import ranked_at
    from skanalyze.core import catalog
    from skanalyze.core import symbols as S
    from skanalyze.core.errors import SkanalyzeError

    out = []
    for entry in catalog.ENTRIES:
        design = entry.design()
        for c in widths:
            if "orient=" in design.notation and "fixed" not in design.notation and c > LEARNED_LINE_MAX:
                continue
            if design.group_symbols:
                try:
                    configs = [b.values for b in ranked_at(design, c, c, top=2)]
                except SkanalyzeError:
                    configs = []
            else:
                configs = [{S.C: sp.Integer(c), S.F: sp.Integer(c)}]
            for vals in configs:
                vals = dict(vals)
                if design.uses_bottleneck and S.K not in vals:
                    vals[S.K] = sp.sympify(design.bottleneck).subs(vals)
                try:
                    design.validate(vals)
                except SkanalyzeError:
                    continue
                if not (getattr(vals.get(S.K, sp.Integer(1)), "is_Integer", False)):
                    continue
                for hw in sizes:
                    out.append(
                        {
                            "design": entry.name,
                            "values": {str(k): int(v) for k, v in vals.items()} | {"H": hw, "W": hw},
                        }
                    )
    return out


def measure(configs: list[dict], *, threads: int, seed: int, log) -> list[dict]:
    """Time every configuration (shuffled order), adaptive repeats: at least 5, up to 25 or 0.4 s."""
    import torch

    from skanalyze.core import counting, traffic
    from skanalyze.core.catalog import resolve
    from skanalyze.nn import build, time_module

    torch.set_num_threads(threads)
    order = list(range(len(configs)))
    random.Random(seed).shuffle(order)
    records: list[dict | None] = [None] * len(configs)
    start = time.perf_counter()
    for done, i in enumerate(order, 1):
        cfg = configs[i]
        design = resolve(cfg["design"])
        vals = cfg["values"]
        module = build(design, vals)
        h, w = counting.input_size(design, vals["H"], vals["W"])
        shape = (1, vals["C"], int(h), int(w))
        probe = time_module(module, shape, warmup=1, repeats=1)
        repeats = max(5, min(25, int(0.4 / max(probe.median_s, 1e-6))))
        t = time_module(module, shape, warmup=2, repeats=repeats)
        records[i] = {
            **cfg,
            "notation": design.notation,
            "layers": len(design.layers),
            "macs": counting.macs_at(design, vals),
            "params": counting.params_at(design, vals),
            "traffic": traffic.traffic_at(design, vals),
            "median_s": t.median_s,
            "q1_s": t.q1_s,
            "q3_s": t.q3_s,
            "repeats": t.repeats,
        }
        if done % 25 == 0 or done == len(order):
            log(f"  {done}/{len(order)} configurations timed ({time.perf_counter() - start:.0f} s)")
    return records


def predicted(record: dict, profile: dict) -> float:
    """The roofline prediction of one record with a profile (the package's predictor, batch 1)."""
    from skanalyze.analyses.roofline import predict, profile_from_dict
    from skanalyze.core.catalog import resolve

    return predict(resolve(record["design"]), record["values"], profile_from_dict(profile))


def statistics(run: dict) -> dict:
    """Spearman of measured latency with MACs, params and the roofline; shares within 10% and 25%; the
    per-design median of measured / predicted for the roofline and for MACs alone (MACs / peak)."""
    import numpy as np

    from skanalyze.analyses.ranking import spearman

    recs = run["records"]
    peak = run["profile"]["peak_macs_per_s"]
    meas = np.array([r["median_s"] for r in recs])
    pred = np.array([r["predicted_s"] for r in recs])
    macs = np.array([r["macs"] for r in recs], dtype=float)
    params = np.array([r["params"] for r in recs], dtype=float)
    ratio = meas / pred
    by_design: dict[str, list] = {}
    for r, q, m in zip(recs, ratio, meas / (macs / peak), strict=True):
        by_design.setdefault(r["design"], []).append((q, m))
    designs = {
        name: {
            "configs": len(rows),
            "roofline_ratio": float(np.median([q for q, _ in rows])),
            "macs_ratio": float(np.median([m for _, m in rows])),
        }
        for name, rows in by_design.items()
    }
    spread = np.array([(r["q3_s"] - r["q1_s"]) / r["median_s"] for r in recs])
    return {
        "configs": len(recs),
        "spearman_macs": spearman(meas, macs),
        "spearman_params": spearman(meas, params),
        "spearman_roofline": spearman(meas, pred),
        "within_10": float(np.mean(np.abs(ratio - 1) <= 0.10)),
        "within_25": float(np.mean(np.abs(ratio - 1) <= 0.25)),
        "median_ratio": float(np.median(ratio)),
        "median_relative_iqr": float(np.median(spread)),
        "designs": designs,
    }


def run_once(i: int, configs: list[dict], threads: int, fresh: bool, log, quick: bool) -> dict:
    """One run: calibrate, time the grid, predict; saved to benchmarks/results/latency-run<i>.json."""
    from skanalyze.analyses.roofline import profile_dict
    from skanalyze.core.outputs import write_text
    from skanalyze.nn import calibrate

    path = RESULTS / f"latency-run{i}{'-quick' if quick else ''}.json"
    if path.exists() and not fresh:
        log(f"run {i}: reusing {path.relative_to(ROOT)} (--fresh measures again)")
        return json.loads(path.read_text())
    log(f"run {i}: calibrating ({threads} thread)")
    t0 = time.perf_counter()
    profile = profile_dict(calibrate(threads=threads, name=f"study-run{i}", quick=quick))
    calib_s = time.perf_counter() - t0
    log(f"run {i}: timing {len(configs)} configurations")
    records = measure(configs, threads=threads, seed=i, log=log)
    t1 = time.perf_counter()
    for r in records:
        r["predicted_s"] = predicted(r, profile)
    predict_s = (time.perf_counter() - t1) / len(records)
    run = {
        "run": i,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "processor": profile["details"].get("processor"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": profile["details"].get("torch"),
            "threads": threads,
        },
        "calibration_s": calib_s,
        "predict_s_per_config": predict_s,
        "profile": profile,
        "records": records,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(run, indent=1) + "\n", "study results")
    return run


def scatter(runs: list[dict], path: Path) -> None:
    """Predicted vs measured latency (log-log), one colour per kind of design, the first run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = runs[0]["records"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    names = sorted({r["design"] for r in recs})
    cmap = plt.get_cmap("tab20")
    colours = {n: cmap(k % 20) for k, n in enumerate(names)}
    peak = runs[0]["profile"]["peak_macs_per_s"]
    panels = [
        (axes[0], lambda r: r["macs"] / peak, "MACs / peak rate (s)", "MACs alone"),
        (axes[1], lambda r: r["predicted_s"], "roofline prediction (s)", "roofline (3 calibrated constants)"),
    ]
    for ax, fx, xlabel, title in panels:
        for n in names:
            pts = [(fx(r), r["median_s"]) for r in recs if r["design"] == n]
            ax.scatter(*zip(*pts, strict=True), s=12, color=colours[n], label=n, alpha=0.85, linewidths=0)
        lo = min(min(fx(r), r["median_s"]) for r in recs if fx(r) > 0)
        hi = max(max(fx(r), r["median_s"]) for r in recs)
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="_measured = predicted")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("measured latency, median (s)")
        ax.set_title(f"{title}: measured vs predicted")
    axes[1].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(
        f"{len(recs)} configurations, batch 1, {runs[0]['machine']['threads']} thread, "
        f"{runs[0]['machine']['processor']}"
    )
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * x:.1f}%"


def write_doc(runs: list[dict]) -> None:
    """docs/latency.md from the runs' results (every number here is recomputed by tests/test_latency_docs.py)."""
    stats = [statistics(r) for r in runs]
    m = runs[0]["machine"]
    lines = [
        "# Does a roofline predict latency? Memory traffic, a device model, and measurements",
        "",
        "<!-- generated by benchmarks/latency_study.py from benchmarks/results/latency-run*.json; do not edit -->",
        "",
        "Parameters and MACs are not time. skanalyze counts a third quantity per layer, the **memory traffic**",
        "(`skanalyze formulas` prints it; `skanalyze.core.traffic`), and turns MACs and bytes into a",
        "predicted time with a **roofline**: per layer, max(MACs / peak, bytes / bandwidth) plus a fixed",
        "per-layer overhead, summed over the layers. This page says how well that predicts measured latency",
        "on this project's machine, and where MACs alone mislead.",
        "",
        "## The model",
        "",
        "* Traffic (ShuffleNet V2's memory access cost): each layer reads its input and its weights once",
        "  and writes its output once; nothing is reused across layers; BN and ReLU fold into the layer before",
        "  them; a channel shuffle reads and writes its tensor. A 1x1 conv moves h*w*(c1 + c2) + c1*c2",
        "  elements. `tests/test_traffic.py` checks every design's formula against the sizes of the input,",
        "  weight and output tensors of its torch module, and ShuffleNet V2's guidelines G1 and G2 by",
        "  brute force over integers.",
        "* Device: three constants measured by `skanalyze device calibrate` (a 256 -> 256 3x3 conv at 56 x 56",
        "  for the peak MAC rate, a 256 MiB copy for the bandwidth, a 1-channel 1 x 1 conv for the overhead).",
        "  Nothing is fitted to the grid below.",
        "* Latency: `skanalyze latency DESIGN --subs ... --hw 28 --threads 1 --profile FILE` times the torch",
        "  module (warm-up, median of repeats, interquartile range, `torch.inference_mode`).",
        "",
        "## The study",
        "",
        f"Grid: every catalog design ({len({r['design'] for r in runs[0]['records']})} designs), widths C = F in "
        f"{', '.join(map(str, WIDTHS))}, the two cheapest full-field group numbers where they are free, output",
        f"sizes {SIZES[0]} and {SIZES[1]}: **{stats[0]['configs']} configurations**, batch 1, {m['threads']} thread "
        f"(learned-orientation lines only up to width {LEARNED_LINE_MAX}).",
        f"Machine: {m['processor']}, {m['cpus']} cores, Python {m['python']}, torch {m['torch']}; the machine is "
        "shared, so the study ran twice, each run calibrating its own profile and timing the grid in its own",
        "shuffled order (`python benchmarks/latency_study.py`).",
        "",
        "| | " + " | ".join(f"run {r['run']}" for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    rows = [
        ("peak (calibrated), GMAC/s", lambda r, s: f"{r['profile']['peak_macs_per_s'] / 1e9:.1f}"),
        ("bandwidth (calibrated), GB/s", lambda r, s: f"{r['profile']['bandwidth_bytes_per_s'] / 1e9:.1f}"),
        ("overhead per layer (calibrated), µs", lambda r, s: f"{r['profile']['overhead_s'] * 1e6:.1f}"),
        ("calibration time, s", lambda r, s: f"{r['calibration_s']:.1f}"),
        ("Spearman: measured vs MACs", lambda r, s: f"{s['spearman_macs']:.3f}"),
        ("Spearman: measured vs params", lambda r, s: f"{s['spearman_params']:.3f}"),
        ("Spearman: measured vs roofline", lambda r, s: f"{s['spearman_roofline']:.3f}"),
        ("roofline within ±10%", lambda r, s: pct(s["within_10"])),
        ("roofline within ±25%", lambda r, s: pct(s["within_25"])),
        ("median measured / predicted", lambda r, s: f"{s['median_ratio']:.2f}"),
        ("median IQR / median of a timing", lambda r, s: pct(s["median_relative_iqr"])),
        ("prediction cost per configuration, µs", lambda r, s: f"{r['predict_s_per_config'] * 1e6:.0f}"),
    ]
    for label, fn in rows:
        lines.append(f"| {label} | " + " | ".join(fn(r, s) for r, s in zip(runs, stats, strict=True)) + " |")
    lines += ["", f"![measured vs predicted]({PLOT.relative_to(DOC.parent)})", ""]
    # per design, first run
    lines += [
        "### Where MACs mislead, and where the roofline does",
        "",
        "Per design, the median over its configurations of measured / predicted time, for MACs alone (MACs",
        "divided by the calibrated peak: what a MAC count says the time is) and for the roofline (run "
        f"{runs[0]['run']}; run {runs[-1]['run']} in brackets). 1.00 is a perfect prediction; 5.0 means five times slower than predicted.",
        "",
        "| design | configurations | MACs alone: measured / predicted | roofline: measured / predicted |",
        "|---|---|---|---|",
    ]
    first, last = stats[0]["designs"], stats[-1]["designs"]
    for name in sorted(first, key=lambda n: -first[n]["macs_ratio"]):
        d, e = first[name], last.get(name, first[name])
        lines.append(
            f"| {name} | {d['configs']} | {d['macs_ratio']:.2f} ({e['macs_ratio']:.2f}) | "
            f"{d['roofline_ratio']:.2f} ({e['roofline_ratio']:.2f}) |"
        )
    lines += ["", "## What this says", "", *conclusions(runs, stats), ""]
    tmp = DOC.with_suffix(".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, DOC)


def conclusions(runs: list[dict], stats: list[dict]) -> list[str]:
    """The findings in words, each from the numbers of both runs (nothing claimed that a run contradicts)."""
    out = []
    lo = min(s["spearman_roofline"] for s in stats)
    macs_hi = max(s["spearman_macs"] for s in stats)
    target = "meets" if lo >= 0.9 else "misses"
    roof = ", ".join(f"{s['spearman_roofline']:.3f}" for s in stats)
    plain = ", ".join(f"{s['spearman_macs']:.3f}" for s in stats)
    out.append(
        f"* Ranking: the roofline's Spearman is {roof} in the {len(stats)} runs against {plain} for MACs "
        f"alone: it {target} the 0.9 target in every run"
        + (
            f" and beats MACs by {lo - macs_hi:+.3f} at the least."
            if lo > macs_hi
            else "; it does not beat MACs in every run."
        )
    )
    w25 = [s["within_25"] for s in stats]
    out.append(
        f"* Accuracy: {', '.join(pct(x) for x in w25)} of the configurations are predicted within ±25% "
        f"({', '.join(pct(s['within_10']) for s in stats)} within ±10%); the target of 80% within ±25% is "
        + ("met in every run." if min(w25) >= 0.8 else "not met. ")
        + (
            ""
            if min(w25) >= 0.8
            else "Three constants cannot capture how far each kernel's implementation is from the "
            "roofs; the table above shows which designs are slower than the model (ratio > 1) and by how much."
        )
    )
    first = stats[0]["designs"]
    worst = sorted(first, key=lambda n: -first[n]["macs_ratio"])[:3]
    out.append(
        "* MACs mislead most for "
        + ", ".join(f"{n} ({first[n]['macs_ratio']:.1f}x slower than its MACs say)" for n in worst)
        + ": memory-bound layers (depthwise convs, shuffles, gathers) take longer than their MAC count at peak."
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid, one run, no docs")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="measure again even where a run's results exist")
    args = parser.parse_args()
    configs = grid(widths=(16, 64), sizes=(14,)) if args.quick else grid()
    print(f"{len(configs)} configurations", file=sys.stderr)
    runs = [
        run_once(
            i, configs, args.threads, args.fresh, lambda m: print(m, file=sys.stderr, flush=True), args.quick
        )
        for i in range(1, (1 if args.quick else args.runs) + 1)
    ]
    for s in (statistics(r) for r in runs):
        print(json.dumps({k: v for k, v in s.items() if k != "designs"}, indent=1))
    if not args.quick:
        PLOT.parent.mkdir(parents=True, exist_ok=True)
        scatter(runs, PLOT)
        write_doc(runs)
        print(f"wrote {DOC.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
