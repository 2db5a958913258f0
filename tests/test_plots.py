"""Figures: produced as Figure objects, written as PNG/SVG/PDF, with the content they claim."""

import numpy as np
import pytest

from skanalyze.analyses.optimize import optimize
from skanalyze.core import catalog
from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError
from skanalyze.render import plots

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.fixture(scope="module")
def width_figure():
    designs = [catalog.get(n) for n in ("standard", "dw-pw", "gconv-pwgconv")]
    return plots.width_vs_params(designs, budget=10**6, budgets=(1e4, 1e7), buildable_points=3)


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
    fig = plots.ratio_vs_groups(catalog.get("gconv-pwgconv"), c=64)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("M·N = C" in lab for lab in labels)
    assert any(
        lab.startswith("continuous optimum M=24.0") for lab in labels
    )  # M = 3C/sqrt(F) = 24 at C = F = 64


def test_ratio_plot_needs_two_free_groups():
    with pytest.raises(SkanalyzeError, match="needs two"):
        plots.ratio_vs_groups(catalog.get("dw-pw"))


def test_macs_plot():
    fig = plots.macs_vs_width([catalog.get("standard")], hw=7, widths=(8, 64))
    x, y = fig.axes[0].get_lines()[0].get_data()
    assert np.allclose(y, 49 * 9 * x * x)
