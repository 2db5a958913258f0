"""Every plot, in every format: under the size limits, and no legend, inset or annotation covers plotted data
(a bounding-box check in display coordinates: no data point or line segment passes through a text box that
lies inside the axes), with a title and axis labels."""

from __future__ import annotations

import numpy as np
import pytest

from skanalyze.analyses import figures
from skanalyze.core import catalog
from skanalyze.render import plots

LIMITS = {".png": 400_000, ".svg": 1_000_000, ".pdf": 400_000}


def _summary():
    designs = [
        {
            "design": d,
            "width": w,
            "params": p,
            "accuracy_mean": a,
            "accuracy_std": 0.004,
            "accuracies": [a - 0.003, a + 0.003],
        }
        for d, w, p, a in (
            ("Conv", 20, 49_000, 0.86),
            ("DW+PW", 28, 49_500, 0.87),
            ("PW+DW+PW", 36, 48_700, 0.875),
            ("GConv(M)+PWGConv(N)", 52, 49_900, 0.88),
        )
    ]
    return {"designs": designs, "budget": 50_000, "spearman": 1.0, "config": {"epochs": 1, "seeds": 2}}


def _scaling():
    import sympy as sp

    from skanalyze.core import symbols as S

    a = S.alpha_w
    data = figures.scaling_data(
        11_000_000 * a**2 + 600_000 * a + 1000,
        (1700 * S.H_in * S.W_in * a**2 + 9000 * a),
        (224, 224),
        step=sp.Rational(1, 64),
    )
    return plots.model_scaling("resnet18", data)


FIGURES = {
    "width": lambda: plots.width_vs_params(
        figures.width_data([catalog.get(n) for n in catalog.DEFAULT_FORMULAS], budget=10**6)
    ),
    "width-six": lambda: (
        plots.width_vs_params(  # the most the width figure is laid out for: 6 designs' legend and note
            figures.width_data(
                [
                    catalog.get(n)
                    for n in (
                        "shufflenet-v1",
                        "pwgconv-dw-pwgconv",
                        "resnext",
                        "resnet-basic",
                        "scc-channel",
                        "gconv-pwgconv",
                    )
                ],
                budget=10**6,
                alpha=3,
            )
        )
    ),  # fmt: skip
    "width-no-budget": lambda: plots.width_vs_params(
        figures.width_data([catalog.get(n) for n in catalog.DEFAULT_FORMULAS], budget=None)
    ),
    "ratio": lambda: plots.ratio_vs_groups(figures.ratio_data(catalog.get("gconv-pwgconv"), c=256)),
    "macs": lambda: plots.macs_vs_width(
        figures.macs_data([catalog.get(n) for n in catalog.DEFAULT_FORMULAS], hw=56)
    ),
    "funnel": lambda: plots.funnel(
        __import__("skanalyze.analyses.space", fromlist=["x"]).reduce_space(
            __import__("skanalyze.analyses.space", fromlist=["x"]).PAPER_ALPHABET, 6, "fullmatch"
        )
    ),
    "network": lambda: plots.network_params(figures.network_data(None)),
    "families": lambda: plots.families(
        __import__("skanalyze.analyses.compare", fromlist=["x"]).comparison_rows(
            catalog.COMPARISON, 10**6, 256
        ),
        budget=10**6,
        c=256,
    ),
    "training": lambda: plots.accuracy_vs_width(_summary()),
    "scaling": _scaling,
    "speed": lambda: plots.speed(
        __import__("skanalyze.analyses.roofline", fromlist=["x"]).speed_rows(
            [catalog.get(n) for n in catalog.DEFAULT_FORMULAS],
            __import__("skanalyze.analyses.profiles", fromlist=["x"]).load_profile("h100-sxm-datasheet"),
            hw=56,
        ),
        profile="h100-sxm-datasheet",
        hw=56,
    ),
}


@pytest.fixture(scope="module", params=sorted(FIGURES))
def figure(request):
    import matplotlib.pyplot as plt

    fig = FIGURES[request.param]()
    yield request.param, fig
    plt.close(fig)


def _segments_in_display(line):
    xs, ys = line.get_data()
    xy = np.column_stack([np.asarray(xs, float), np.asarray(ys, float)])
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return np.empty((0, 2))
    pts = line.get_transform().transform(xy)
    if line.get_linestyle() in ("None", "", " ", "none") or len(pts) == 1:
        return pts
    # sample each segment densely in display space
    out = [pts[:1]]
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        n = max(2, int(np.hypot(*(q - p)) / 2))
        out.append(p + np.linspace(0, 1, n)[:, None] * (q - p))
    return np.vstack(out)


@pytest.mark.slow
def test_text_never_covers_data(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name, fig = figure
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        if not ax.get_lines():
            continue
        frame = ax.get_window_extent(renderer)
        boxes = []
        legend = ax.get_legend()
        if legend is not None:
            boxes.append(("legend", legend.get_window_extent(renderer)))
        for text in ax.texts:
            if text.get_text().strip():
                boxes.append((f"text {text.get_text()[:20]!r}", text.get_window_extent(renderer)))
        for what, box in boxes:
            if not box.overlaps(frame):
                continue  # outside the data region
            for line in ax.get_lines():
                if not line.get_visible() or line.get_label().startswith("_") and not len(line.get_xdata()):
                    continue
                pts = _segments_in_display(line)
                pts = pts[
                    (pts[:, 0] >= frame.x0)
                    & (pts[:, 0] <= frame.x1)
                    & (pts[:, 1] >= frame.y0)
                    & (pts[:, 1] <= frame.y1)
                ]
                inside = (
                    (pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
                )
                assert not inside.any(), f"{name}: the {what} covers the line {line.get_label()!r}"


def test_titles_and_labels(figure):
    name, fig = figure
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is not None or not (ax.get_lines() or ax.patches or ax.collections):
            continue  # a colorbar or a twin axis: labelled on its own side
        assert ax.get_xlabel() or ax.get_ylabel(), name
        assert ax.get_xlabel() or (ax.get_shared_x_axes().get_siblings(ax) != [ax]), (name, "x label")
    assert any(ax.get_title() for ax in fig.axes) or fig._suptitle is not None, name


@pytest.mark.slow  # 33 files written, about 13 s in all
@pytest.mark.parametrize("suffix", sorted(LIMITS))
def test_sizes(figure, tmp_path, suffix):
    name, fig = figure
    path = plots.save(fig, tmp_path / f"{name}{suffix}")
    assert path.stat().st_size < LIMITS[suffix], f"{name}{suffix}: {path.stat().st_size:,} bytes"


def test_a_laid_out_figure_keeps_every_artist_inside(figure):
    """A figure saved as drawn (labelled ``plots.LAID_OUT``: no tight box) must not draw outside itself: its tight
    box, as matplotlib computes it after a draw, lies within the figure; the other figures need the tight box and
    are saved with it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name, fig = figure
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    tight = fig.get_tightbbox(canvas.get_renderer())
    width, height = fig.get_size_inches()
    inside = (
        tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= width + 0.01 and tight.y1 <= height + 0.01
    )
    if fig.get_label() == plots.LAID_OUT:
        assert inside, f"{name}: drawn outside the figure {tight} but saved without a tight box"
