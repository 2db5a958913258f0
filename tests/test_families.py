"""The related kernel families: SSC (HetConv), SCC, line segments: formulas, reductions, fields, commands."""

import json

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.core import catalog, counting
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError
from skanalyze.core.infofield import field, footprint

C, F, M, k = S.C, S.F, S.M, S.k


def same(a, b):
    return sp.simplify(sp.sympify(a) - b) == 0


def test_hetconv_formula():
    # HetConv: F filters, each k x k on C/P channels and 1 x 1 on the other C - C/P
    assert same(counting.params(parse("SSC(M,k=k)")), F * (k**2 * C / M + C - C / M))
    assert same(counting.macs(parse("SSC(M)")), F * (9 * C / M + C - C / M) * S.H * S.W)


@pytest.mark.parametrize(
    "ssc, reference, values",
    [
        ("SSC(1)", "Conv", {}),  # P = 1: the standard conv
        ("SSC(M,rest=none,pattern=block)", "GConv(M)", {}),  # block pattern, no 1 x 1: group conv
        ("SSC(M,k=1)", "PW", {}),  # k = 1: pointwise
        ("SSC(8,rest=none)", "DW", {C: 8, F: 8}),  # P = C = F: depthwise
    ],
)
def test_ssc_reductions(ssc, reference, values):
    a, b = parse(ssc), parse(reference)
    assert same(counting.params(a).subs(values), counting.params(b).subs(values))
    assert same(counting.macs(a).subs(values), counting.macs(b).subs(values))
    assert [
        sp.simplify(x - y)
        for x, y in zip(field(a, values).as_tuple(), field(b, values).as_tuple(), strict=True)
    ] == [0] * 3


@pytest.mark.parametrize(
    "ssc, reference, values",
    [
        ("SSC(2,rest=none,pattern=block)", "GConv(2)", {C: 8, F: 8}),
        ("SSC(8,rest=none)", "DW", {C: 8, F: 8}),
        ("SSC(1)", "Conv", {C: 4, F: 6}),
    ],
)
def test_ssc_reduces_as_a_function(ssc, reference, values):
    torch = pytest.importorskip("torch")
    from skanalyze import nn

    a, b = nn.build(parse(ssc), values), nn.build(parse(reference), values)
    with torch.no_grad():
        a[0].dense.weight.copy_(b[0].weight)
    x = torch.randn(2, values[C], 7, 7)
    assert torch.allclose(a(x), b(x), atol=1e-5)


def test_scc_pair_has_the_standard_field_and_one_scc_does_not():
    for values in ({C: 6, F: 8}, {C: 4, F: 6}):
        one = footprint(parse("SCC"), values)
        assert (one.positions_min, one.positions_max) == (4, 5)  # complementary checkerboard halves
        pair = footprint(parse("SCC+PW"), values)
        assert (pair.x, pair.y, pair.c_min, pair.positions_min) == (3, 3, values[C], 9)
    assert same(counting.params(parse("SCC")), 9 * C * F / 2)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["SCC+PW", "SCC(mode=channel)+PW", "Line+Line(angle=90)"]),
)
def test_pairs_cover_the_standard_window(a, b, design):
    values = {C: 2 * a, F: 2 * b}
    fp = footprint(parse(design), values)
    assert (fp.x, fp.y, fp.c_min, fp.positions_min, fp.covers_window) == (3, 3, 2 * a, 9, True)


def test_line_counts_with_and_without_orientation():
    assert same(counting.params(parse("Line")), 3 * C * F)
    assert same(counting.params(parse("Line(orient=filter)")), 3 * C * F + F)
    assert same(counting.params(parse("Line(orient=slice)")), 3 * C * F + C * F)
    for orient in ("fixed", "filter", "slice"):
        assert same(counting.macs(parse(f"Line(orient={orient})")), 3 * C * F * S.H * S.W)
    assert field(parse("Line")).as_tuple()[:2] == (3, 1)
    assert field(parse("Line(angle=90)")).as_tuple()[:2] == (1, 3)
    assert footprint(parse("Line(angle=45)"), {C: 2, F: 2}).positions_min == 3


def test_learned_orientation_gets_a_gradient():
    torch = pytest.importorskip("torch")
    from skanalyze import nn

    module = nn.build(parse("Line(orient=filter,angle=30)"), {C: 3, F: 4})
    module(torch.randn(2, 3, 9, 9)).square().sum().backward()
    line = module[0]
    assert line.theta.grad is not None and line.theta.grad.abs().sum() > 0
    assert nn.count_params(module) == 3 * 3 * 4 + 4


@pytest.mark.parametrize(
    "text, sizes",
    [
        ("Line(orient=filter,angle=30)", (3, 4)),
        ("Line(orient=slice,angle=100,s=2)", (2, 5)),
        ("Line(orient=filter,angle=-60,d=2)", (4, 4)),
        ("Line(orient=slice,k=5,angle=20)", (2, 3)),
    ],
)
def test_dense_realisation_of_a_learned_line_is_the_same_function(text, sizes):
    """Training convolves with the dense kernel; output and every gradient equal the gathered form."""
    torch = pytest.importorskip("torch")
    from skanalyze import nn

    torch.manual_seed(0)
    gathered = nn.build(parse(text), {C: sizes[0], F: sizes[1]}).double()
    dense = nn.dense_lines(nn.build(parse(text), {C: sizes[0], F: sizes[1]}).double())
    dense.load_state_dict(gathered.state_dict())
    with torch.no_grad():  # orientations off the grid, different per filter (and per slice)
        for m in (gathered, dense):
            m[0].theta.add_(torch.linspace(0, 2, m[0].theta.numel()).reshape(m[0].theta.shape))
    x = torch.randn(2, sizes[0], 11, 9, dtype=torch.float64, requires_grad=True)
    outs = []
    for m in (gathered, dense):
        x.grad = None
        y = m(x)
        (y * torch.linspace(-1, 1, y.numel(), dtype=torch.float64).reshape(y.shape)).sum().backward()
        outs.append((y.detach(), x.grad.clone(), m[0].weight.grad.clone(), m[0].theta.grad.clone()))
    for a, b in zip(*outs, strict=True):
        assert torch.allclose(a, b, atol=1e-10), (a - b).abs().max()
    assert outs[0][3].abs().sum() > 0


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("SSC(4,rest=maybe)", "rest='maybe' is unknown"),
        ("SCC(mode=time)", "mode='time' is unknown"),
        ("SCC(k=1)", "needs k >= 3"),
        ("Line(angle=30)", "not a grid direction"),
        ("Line(orient=spin)", "orient='spin' is unknown"),
    ],
)
def test_family_bad_input(text, fragment):
    with pytest.raises(SkanalyzeError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        _ = parse(text).layers


def test_scc_needs_even_filters():
    with pytest.raises(SkanalyzeError, match="even number of filters"):
        parse("SCC").at({C: 4, F: 5})


@pytest.mark.parametrize("name", catalog.FAMILIES)
def test_every_command_accepts_the_families(cli, name, tmp_path):
    groups = [f"{g}=2" for g in catalog.get(name).group_symbols]
    for args in (
        ["formulas", name, "--format", "json"],
        ["efficiency", name, "--format", "json"],
        ["field", name, "--json"],
        ["network", name, "--width", "16", "--input-size", "32", "--blocks", "1", "--classes", "10", *groups],
    ):
        code, out, err = cli(*args)
        assert code == 0, (args, err)
    code, out, err = cli("optimize", name, "--budget", "1e5", "--json")
    assert code == (2 if name == "ssc-group" else 0), (
        err
    )  # a shifted group conv alone never sees all channels
    code, out, _ = cli("space", "--alphabet", "all", "--explain", catalog.get(name).notation)
    assert code == 0 and ("kept" in out or "dropped at" in out)


def test_compare_command(cli):
    code, out, _ = cli("compare", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)["rows"]}
    assert set(catalog.FAMILIES) <= set(rows)
    assert rows["scc"]["positions"] == 9 and rows["line"]["positions"] == 3
    assert rows["hetconv"]["param_ratio_at_c"] == "1/3"
    assert rows["standard"]["width_buildable"] == 333


def test_train_accepts_a_family(tmp_path):
    pytest.importorskip("torch")
    import numpy as np

    from skanalyze.nn import data as datasets
    from skanalyze.nn import train as T

    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 32)):
        datasets.write_idx(tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 255, (n, 28, 28)))
        datasets.write_idx(tmp_path / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    summary = T.run(
        T.Config(
            ("scc", "line"),
            3000,
            epochs=1,
            seeds=1,
            data=str(tmp_path),
            device="cpu",
            out=str(tmp_path / "runs"),
        ),
        progress=False,
    )
    assert {r["design"] for r in summary["designs"]} == {"SCC+PW", "Line(orient=filter)"}


def test_docs_table_is_current(cli):
    from pathlib import Path

    code, out, _ = cli("compare", "--format", "markdown")
    doc = (Path(__file__).resolve().parent.parent / "docs" / "families.md").read_text()
    assert out in doc, "regenerate the table in docs/families.md: skanalyze compare --format markdown"
