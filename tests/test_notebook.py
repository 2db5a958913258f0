"""examples/notebook.ipynb runs headless (nbclient, a real kernel) and every result renders itself: a
design, an efficiency analysis, an optimum, the paper's tables and an imported model (its per-layer table)."""

import importlib.util
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"


@pytest.mark.slow
def test_the_example_notebook_runs_and_renders_every_result():
    for package in ("nbclient", "nbformat", "ipykernel"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed: pip install 'skanalyze[test]'")
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (the last cell imports a model)")
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = [cell.outputs for cell in nb.cells if cell.cell_type == "code"]
    assert all(len(o) == 1 and o[0].output_type == "execute_result" for o in outputs)
    data = [o[0].data for o in outputs]
    design, eff, opt, tables, model = data
    assert "<code>GConv(M)+PWGConv(N)</code>" in design["text/html"] and "text/latex" in design
    assert "parameter ratio" in eff["text/markdown"] and eff["text/latex"].startswith("$$")
    assert "buildable" in opt["text/html"] and "C=3024, F=3024, M=168, N=18" in opt["text/markdown"]
    assert (
        tables["text/markdown"].startswith("| table | design |")
        and "| 4 | `PWGConv(100)+DW+PWGConv(2)`" in tables["text/markdown"]
    )
    html = model["text/html"]
    assert "<table>" in html and html.count("<tr>") == 1 + 6  # header + conv, bn, DW, PW, pool, FC
    # sum(p.numel()) of the cell's model by hand: conv + bias, BN, DW + bias, PW + bias, FC + bias
    assert 3 * 16 * 9 + 16 + 2 * 16 + 16 * 9 + 16 + 16 * 32 + 32 + 32 * 10 + 10 == 1514
    assert "1,514 params" in html
