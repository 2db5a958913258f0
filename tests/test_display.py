"""Notebook and console display: an optimum and an imported model render themselves (a per-layer table as
torchinfo users expect), their repr and str stay short, and dir(skanalyze) shows the API, not its helpers."""

import pytest

import skanalyze
from skanalyze import optimize, parse


def test_an_optimum_renders_in_every_front_end():
    o = optimize(parse("GConv(M)+PWGConv(N)"), 1_000_000)
    values = ", ".join(f"{k}={v}" for k, v in o.buildable.values.items())
    for text in (o._repr_markdown_(), o._repr_html_()):
        assert values in text and f"{o.buildable.params:,}" in text and "1,000,000" in text
    assert o._repr_latex_().startswith("$$\\begin{aligned}") and "{,}" in o._repr_latex_()


def test_dir_shows_the_api_not_the_helpers():
    names = [n for n in dir(skanalyze) if not n.startswith("_")]
    assert names == sorted(skanalyze.__all__)
    assert "lazy_exports" not in dir(skanalyze) and "__version__" in dir(skanalyze)


@pytest.mark.torch
def test_an_imported_model_renders_a_per_layer_table():
    torch = pytest.importorskip("torch")
    from skanalyze import from_module

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    m = from_module(model, (1, 3, 10, 10))
    assert len(repr(m)) < 120 and len(str(m)) < 120
    assert str(m) == "Model(1x3x10x10: 3 layers, 2 units, 260 params, 15,872 MACs, traced on meta)"
    assert m.params == sum(p.numel() for p in model.parameters()) == 3 * 8 * 9 + 8 + 8 * 4 + 4
    assert m.macs == 3 * 8 * 9 * 8 * 8 + 8 * 4 * 8 * 8
    md = m._repr_markdown_()
    assert (
        md.count("\n| 0 |") + md.count("\n| 2 |") == 2
        and "| 0 | `Conv(p=0)` | 1x8x8x8 | 224 | 13,824 |" in md
        and "| 2 | `PW` | 1x4x8x8 | 36 | 2,048 |" in md
    )
    assert m._repr_html_().count("<tr>") == 3  # header + two convs (the activation is not a table row)
