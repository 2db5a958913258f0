"""Figures: the only module that imports matplotlib. Every function returns a Figure.

Each function draws the rows an analysis returned (``analyses/figures.py`` and the reports) and calls no
analysis itself.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, no global backend), so they
work in scripts and notebooks alike; :func:`save` writes PNG, SVG or PDF by the file suffix.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import sympy as sp
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..core.catalog import FAMILIES
from ..core.outputs import PLOT_FORMATS, atomic_write, writable_file

FORMATS = PLOT_FORMATS
_MARKERS = "osD^vP*X"


# A figure labelled LAID_OUT has a constrained layout that keeps every artist inside it, and is saved as drawn;
# any other is saved with a tight box, which draws it twice (0.14 s of a PNG). tests/test_plot_layout.py checks
# that each laid-out figure's tight box lies within it.
LAID_OUT = "skanalyze: laid out"


def save(fig: Figure, path: str | Path) -> Path:
    """Write a figure to PNG, SVG or PDF (chosen by the suffix), atomically."""
    path = writable_file(path, "plot file", FORMATS)
    box = None if fig.get_label() == LAID_OUT else "tight"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches=box), "plot file")


def _figure(width=7.0, height=4.6) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    return fig, ax


def _below(ax, text_: str, *, wrap_at: int | None = None, **style) -> None:
    """A note under the axes (below the x label), never over the data; saving with a tight box keeps it."""
    if wrap_at:
        text_ = "\n".join(textwrap.wrap(text_, wrap_at))
    ax.text(0.0, -0.16, text_, transform=ax.transAxes, ha="left", va="top", multialignment="left", **style)


def width_vs_params(data: dict, *, log: bool = True) -> Figure:
    """Greatest width C against the parameter budget P (F = alpha*C), continuous curves and buildable points
    (``analyses.figures.width_data``); the continuous and buildable optima at its budget are annotated."""
    fig, ax = _figure(9.0, 4.6)  # the legend stands beside the axes
    # laid out (no tight box) only at the size tests/test_plot_layout.py checks: a longer legend or note may not fit
    if len(data["rows"]) <= 6 and all(len(row["design"]) <= 26 for row in data["rows"]):
        fig.set_label(LAID_OUT)
    grid, budget, table = data["grid"], data["budget"], []
    for i, row in enumerate(data["rows"]):
        marker = _MARKERS[i % len(_MARKERS)]
        # the legend entry shows both: the line (continuous) and this design's marker (buildable)
        (line,) = ax.plot(
            grid, row["curve"], lw=2, label=row["design"], marker=marker, markevery=[], mfc="white"
        )
        xs, ys = [x for x, _ in row["buildable"]], [y for _, y in row["buildable"]]
        ax.plot(xs, ys, marker, color=line.get_color(), ms=5, mfc="white", mew=1.4)
        at = row.get("at_budget")
        if at is not None:
            ax.plot([budget], [at["continuous"]], "o", color=line.get_color(), ms=8, zorder=5)
            ax.plot([at["cost"]], [at["width"]], "x", color="k", ms=7, zorder=6)
            groups = ", ".join(f"{g}={v}" for g, v in at["groups"].items())
            table.append(f"{row['design'][:26]:<26} {at['continuous']:>9.1f} → {at['width']:>6}  {groups}")
    if budget is not None:
        ax.axvline(budget, color="0.4", ls=":", lw=1)
        head = f"at P = {budget:.3g}: continuous C* → buildable C (×)"
        _below(ax, "\n".join([head, *table]), family="monospace", fontsize=7.5)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("parameter budget P of one layer (parameters)")
    ax.set_ylabel("greatest width C (input channels)")
    alpha_txt = f"F = {data['alpha']}·C" if data["alpha"] != 1 else "F = C"
    ax.set_title(f"Width a parameter budget buys ({alpha_txt})")
    ax.plot([], [], "k-", lw=2, label="line: continuous optimum")
    ax.plot([], [], "ko", mfc="white", ls="none", label="open marker: buildable optimum")
    if budget is not None:
        ax.plot([], [], "ko", ls="none", ms=8, label=f"filled dot: continuous C* at P = {budget:.3g}")
        ax.plot([], [], "kx", ls="none", ms=7, label="x: buildable C at that P")
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside, not over
    return fig


def ratio_vs_groups(data: dict) -> Figure:
    """Parameter ratio to the standard conv over two group numbers (``analyses.figures.ratio_data``), grey
    where the field is not full, with the Theorem-1 ridge, the continuous optimum and the best integers."""
    A, B, R, feasible = data["a"], data["b"], data["ratio"], data["feasible"]
    a, b = data["names"]
    fig, ax = _figure(6.6, 5.2)
    masked = np.ma.masked_where(~feasible, R)
    mesh = ax.pcolormesh(
        A, B, masked, shading="auto", cmap="viridis_r", norm=_log_norm(R[feasible]), rasterized=True
    )
    ax.pcolormesh(
        A,
        B,
        np.ma.masked_where(feasible, np.ones_like(R)),
        shading="auto",
        cmap=ListedColormap(["0.85"]),
        rasterized=True,
    )  # rasterized: a 240 x 240 mesh as vectors is 20 MB of SVG
    fig.colorbar(mesh, ax=ax, label="parameter ratio to the standard conv")
    if data["ridge"] is not None:
        xs, ys, ridge_txt = data["ridge"]
        ax.plot(xs, ys, "w--", lw=1.8, label=f"ridge {ridge_txt} (Theorem 1)")
    if data["optimum"] is not None:
        va, vb = data["optimum"]
        ax.plot(va, vb, "r*", ms=14, label=f"continuous optimum {a}={va:.1f}, {b}={vb:.1f}")
    if data["best"] is not None:
        ia, ib = data["best"]
        ax.plot(ia, ib, "kX", ms=9, label=f"best integers {a}={ia}, {b}={ib}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel(f"{a} (group number of the first grouped layer)")
    ax.set_ylabel(f"{b} (group number of the second grouped layer)")
    ax.set_title(f"{data['design']}: C={data['c']}, F={data['f']}; grey: field not full")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def _log_norm(values: np.ndarray):
    values = values[np.isfinite(values)]
    return LogNorm(vmin=values.min(), vmax=values.max()) if values.size else None


def macs_vs_width(data: dict, *, log: bool = True) -> Figure:
    """Least MACs of one layer against its width C (``analyses.figures.macs_data``)."""
    fig, ax = _figure()
    for row in data["rows"]:
        ax.plot(data["widths"], row["macs"], lw=2, label=row["design"])
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    hw = data["hw"]
    ax.set_xlabel("width C (input channels)")
    ax.set_ylabel(f"MACs of one layer, {hw}×{hw} output")
    ax.set_title("Compute against width (optimal group numbers; FLOPs = 2 × MACs)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def speed(rows: list[dict], *, profile: str, hw: int) -> Figure:
    """Parameter efficiency against predicted speed-up over the standard conv, one line per design through its
    widths (the roofline on a device profile)."""
    fig, ax = _figure(7.4, 4.8)
    designs = [d for d in dict.fromkeys(r["design"] for r in rows) if d != "Conv"]  # Conv: the dashed line
    for k, name in enumerate(designs):
        pts = [r for r in rows if r["design"] == name]
        x = [float(r["param_ratio"]) for r in pts]
        y = [r["speedup"] for r in pts]
        ax.plot(x, y, marker=_MARKERS[k % len(_MARKERS)], lw=1.5, label=name)
        for r, xi, yi in zip(pts, x, y, strict=True):
            if r is pts[0] or r is pts[-1]:
                ax.annotate(f"C={r['C']}", (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="standard conv (= 1)")
    times = FuncFormatter(lambda y, _: f"{y:g}×")
    ax.yaxis.set_major_formatter(times)
    ax.yaxis.set_minor_formatter(times)
    ax.set_xlabel("parameters / standard conv's (same C = F)")
    ax.set_ylabel("predicted speed-up over the standard conv (×)")
    ax.set_title(f"Parameter efficiency vs predicted speed, {hw}×{hw} output, on {profile}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _below(
        ax,
        "Roofline per layer: max(MACs / peak, bytes / bandwidth) + overhead; cheapest full-field group numbers.",
        fontsize=7,
    )
    return fig


def funnel(reduction) -> Figure:
    """The stage funnel of a design-space reduction: totals per stage, and per length (log scales)."""
    fig = Figure(figsize=(9.0, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.2])
    stages = reduction.stages()
    names = [n for n, _ in stages]
    kept = [k for _, k in stages]
    colors = ["0.6", "tab:blue", "tab:orange", "tab:green"]
    left.barh(names, kept, color=colors)
    for y, k in enumerate(kept):
        left.text(max(k, 1) * 1.15, y, f"{k:,}", va="center", fontsize=9)
    left.set_xscale("log")
    left.set_xlim(0.8, max(kept) * 20)
    left.invert_yaxis()
    left.set_xlabel("designs kept (log scale)")
    left.grid(True, axis="x", alpha=0.3)
    keys = ("total", "composition", "performance", "efficiency")
    lengths = [row["length"] for row in reduction.per_length]
    for key, name, color in zip(keys, names, colors, strict=True):
        values = [max(row[key], 0.5) for row in reduction.per_length]
        right.plot(lengths, values, "o-", color=color, label=name)
    right.set_yscale("log")
    right.set_xlabel("design length (kernels)")
    right.set_ylabel("designs (0 drawn at 0.5)")
    right.set_xticks(lengths)
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8)
    letters = ", ".join(x.name for x in reduction.alphabet)
    fig.suptitle(
        f"Design-space reduction over {letters}, lengths 1..{reduction.max_length} "
        f"(composition regex: {reduction.mode})",
        fontsize=10,
    )
    return fig


def network_params(data: dict, *, log: bool = True) -> Figure:
    """Network params against width (``analyses.figures.network_data``), with the paper's Table 3-4 rows
    marked: filled = reported, open = computed."""
    fig, ax = _figure(7.6, 5.0)
    xs = data["widths"]
    drawn: list[tuple[str, np.ndarray]] = []
    styles = ["--", ":", "-."]
    for row in data["rows"]:
        label, ys = row["label"], row["params_m"]
        # a curve that lies on an earlier one (within 12% at every width: one line on a log scale) is dashed
        # and its label says which one it covers
        same = [name for name, other in drawn if np.max(np.abs(np.log10(ys / other))) < 0.05]
        style = {"ls": styles[(len(same) - 1) % len(styles)], "lw": 2.4} if same else {"lw": 1.8}
        shown = f"{label} (on {same[0]})" if same else label
        (line,) = ax.plot(xs, ys, label=shown, **style)
        drawn.append((label, ys))
        for width, reported, computed in row["paper"]:
            ax.plot(width, reported, "o", color=line.get_color(), ms=7)
            if computed is not None:
                ax.plot(width, computed / 1e6, "o", color=line.get_color(), mfc="white", ms=9, mew=1.5)
                ax.plot([width, width], [reported, computed / 1e6], ":", color=line.get_color(), lw=1)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("width (input channels of stage 1)")
    ax.set_ylabel("network parameters (M)")
    ax.set_title(
        f"Whole networks, {data['reproduced']} of {data['rows_total']} paper rows reproduced by one layout\n"
        "filled: the paper's #Params; open: skanalyze at that width (curves ignore divisibility)",
        fontsize=9,
    )
    ax.plot([], [], "ko", label="paper (Tables 3-4)")
    ax.plot([], [], "ko", mfc="white", label="skanalyze")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # beside, not over
    _below(ax, "layout: " + data["layout"], fontsize=6.5, color="0.3", wrap_at=150)
    return fig


def accuracy_vs_width(summary: dict) -> Figure:
    """Test accuracy (mean ± std over seeds) against width at an equal parameter budget."""
    fig, ax = _figure(6.8, 4.4)
    rows = [r for r in summary["designs"] if r["accuracy_mean"] is not None]
    for i, r in enumerate(rows):
        ax.errorbar(
            r["width"],
            100 * r["accuracy_mean"],
            yerr=100 * r["accuracy_std"],
            fmt=_MARKERS[i % len(_MARKERS)],
            ms=8,
            capsize=4,
            label=f"{r['design']} (w={r['width']}, {r['params']:,} params)",
        )
        for acc in r["accuracies"]:
            ax.plot(r["width"], 100 * acc, ".", color="0.5", ms=4)
    ax.set_xscale("log")
    ticks: list[int] = []
    for w in sorted({int(r["width"]) for r in rows}):
        if not ticks or w / ticks[-1] > 1.08:  # labels closer than 8% in width would collide
            ticks.append(w)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("width (stage-1 channels) of the widest network under the budget")
    ax.set_ylabel("test accuracy (%)")
    rho = summary.get("spearman")
    cfg = summary["config"]
    runs = f"{cfg['epochs']} epoch{'s' if cfg['epochs'] != 1 else ''} x {cfg['seeds']} seed{'s' if cfg['seeds'] != 1 else ''}"
    ax.set_title(
        f"Equal budget {summary['budget']:,} params: accuracy vs width\n{runs}"
        + (
            f"; slope {test['slope']:+.2f} points per doubling, one-sided p = {test['p_value']:.3f}"
            if (test := summary.get("test") or {}).get("slope") is not None
            else f"; Spearman {rho:.2f}"
            if rho is not None
            else ""
        ),
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="best")
    return fig


def model_scaling(label: str, data: dict) -> Figure:
    """An imported model's params and MACs against the width multiplier alpha_w
    (``analyses.figures.scaling_data``), one panel each so that neither curve hides the other, the model as
    it is (alpha_w = 1) marked."""
    rows = data["rows"]
    fig = Figure(figsize=(6.8, 2.6 * len(rows) + 0.8), layout="constrained")
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, row, color, marker in zip(axes, rows, ("C0", "C1"), ("o", "s"), strict=False):
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
        ax.plot(data["alpha_w"], row["values"], "-", color=color, label=row["what"])
        at_one = row["at_one"]
        shown = f"{int(at_one):,}" if sp.sympify(at_one).is_Integer else f"{float(at_one):,.0f}"
        ax.plot(
            [1.0],
            [float(at_one)],
            marker,
            color=color,
            ms=8,
            label=f"{label} as it is (alpha_w = 1): {shown}",
        )
        ax.set_ylabel(row["what"])
        ax.set_yscale("log")
        ax.legend(fontsize=8, loc="lower right")
    axes[-1].set_xlabel("width multiplier alpha_w (every scaled channel count times alpha_w)")
    axes[0].set_title(f"{label}: closed forms in the width multiplier (exact)", fontsize=10)
    return fig


def families(rows: list[dict], *, budget: int, c: int) -> Figure:
    """The related kernel families beside the paper's designs: parameter ratio and greatest width at a budget."""
    fig = Figure(figsize=(10.0, 4.8), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    # a ratio at an example group number (no full-field optimum) says so in the design's label
    names = [
        r["design"]
        + (f" ({r['ratio_note'].split(':')[0].strip(' (')} example)" if "example" in r["ratio_note"] else "")
        for r in rows
    ]
    colors = [
        "tab:orange" if r["name"] in FAMILIES else ("0.5" if r["design"] == "Conv" else "tab:blue")
        for r in rows
    ]
    ys = np.arange(len(rows))
    ratios = [float(r["param_ratio_at_c"]) for r in rows]
    left.barh(ys, ratios, color=colors)
    left.set_xscale("log")
    left.set_yticks(ys, names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel(f"parameter ratio to the standard conv at C = F = {c}")
    for y, r in zip(ys, rows, strict=True):
        wx, wy = (render_c(v) for v in r["field"][:2])
        tag = (
            f" {wx}x{wy} window, {r['positions']}/{r['positions_of']} positions, c={render_c(r['field'][2])}"
        )
        left.text(float(r["param_ratio_at_c"]) * 1.08, y, tag, va="center", fontsize=6.5)
    widths = [r.get("width_buildable", 0) for r in rows]
    right.barh(ys, widths, color=colors)
    for y, r in zip(ys, rows, strict=True):
        right.text(
            max(r.get("width_buildable", 0), 1) * 1.02,
            y,
            str(r.get("width_buildable", "no full field")),
            va="center",
            fontsize=7,
        )
    right.set_xlabel(f"widest buildable layer C for P = {budget:,} params (F = C)")
    for ax in (left, right):
        ax.grid(True, axis="x", alpha=0.3)
    left.set_xlim(min(ratios) / 1.5, max(ratios) * 8)
    right.set_xlim(0, max(widths) * 1.25)
    fig.suptitle(
        "Related sparse-kernel families (orange) beside the paper's designs (blue) and the standard conv (grey)",
        fontsize=10,
    )
    return fig


def render_c(expr) -> str:
    """A short text form of a field's channel extent."""
    return str(expr).replace("**", "^").replace(" ", "")


__all__ = [
    "save",
    "width_vs_params",
    "ratio_vs_groups",
    "macs_vs_width",
    "speed",
    "funnel",
    "network_params",
    "accuracy_vs_width",
    "model_scaling",
    "families",
    "render_c",
]
