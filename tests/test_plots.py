"""Figures: produced as Figure objects, written as PNG/SVG/PDF, with the content they claim."""

import numpy as np
import pytest
import sympy as sp

from skanalyze.analyses import figures
from skanalyze.analyses.optimize import optimize
from skanalyze.core import catalog
from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError
from skanalyze.render import plots

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture(scope="module")
def width_figure():
    designs = [catalog.get(n) for n in ("standard", "dw-pw", "gconv-pwgconv")]
    return plots.width_vs_params(
        figures.width_data(designs, budget=10**6, budgets=(1e4, 1e7), buildable_points=3)
    )


def test_width_plot_curves_follow_the_closed_form(width_figure):
    ax = width_figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    x, y = lines["DW+PW"].get_data()
    assert np.allclose(y, (-9 + np.sqrt(81 + 4 * x)) / 2)
    assert ax.get_xscale() == "log"
    box = "\n".join(t.get_text() for t in ax.texts)
    c = int(optimize(catalog.get("gconv-pwgconv"), 10**6).buildable.values[S.C])
    assert f"→ {c:>6}" in box


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_save_formats(tmp_path, width_figure, suffix):
    path = plots.save(width_figure, tmp_path / f"w{suffix}")
    assert path.read_bytes().startswith(MAGIC[suffix])
    assert not list(tmp_path.glob(".*tmp*"))


def test_save_rejects_unknown_suffix(tmp_path, width_figure):
    with pytest.raises(SkanalyzeError, match="must end in"):
        plots.save(width_figure, tmp_path / "w.jpg")


def test_ratio_plot_marks_the_ridge_and_optimum():
    fig = plots.ratio_vs_groups(figures.ratio_data(catalog.get("gconv-pwgconv"), c=64))
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("M·N = C" in lab for lab in labels)
    assert any(
        lab.startswith("continuous optimum M=24.0") for lab in labels
    )  # M = 3C/sqrt(F) = 24 at C = F = 64


def test_ratio_plot_needs_two_free_groups():
    with pytest.raises(SkanalyzeError, match="needs two"):
        figures.ratio_data(catalog.get("dw-pw"))


def test_macs_plot():
    fig = plots.macs_vs_width(figures.macs_data([catalog.get("standard")], hw=7, widths=(8, 64)))
    x, y = fig.axes[0].get_lines()[0].get_data()
    assert np.allclose(y, 49 * 9 * x * x)


def test_network_plot_shows_every_design_and_marks_curves_that_coincide():
    from skanalyze.render import plots

    fig = plots.network_params(figures.network_data())
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    covered = [label for label in lines if " (on " in label]
    assert covered  # the paper's rows include designs with the same parameters at every width
    for label in covered:
        other = label.split(" (on ")[1][:-1]
        mine = lines[label].get_ydata()
        theirs = next(v for k, v in lines.items() if k.split(" (on ")[0] == other).get_ydata()
        assert lines[label].get_linestyle() != "-"  # drawn dashed over the one it covers, so both show
        assert abs(mine / theirs - 1).max() < 0.13


def test_width_plot_legend_says_what_the_markers_are():
    from skanalyze import parse
    from skanalyze.render import plots

    fig = plots.width_vs_params(figures.width_data([parse("DW+PW")], budget=10**6))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "open marker: buildable optimum" in labels and "x: buildable C at that P" in labels


def test_closed_form_plot_draws_params_and_macs_apart_at_the_asked_resolution(cli, tmp_path):
    from skanalyze.core import symbols as S
    from skanalyze.render import plots

    a, h, w = S.alpha_w, S.H_in, S.W_in
    data = figures.scaling_data(100 * a**2, 7 * h * w * a**2, (320, 320), step=sp.Rational(1, 8))
    fig = plots.model_scaling("m", data)
    assert [ax.get_ylabel() for ax in fig.axes] == ["parameters", "MACs at 320x320"]
