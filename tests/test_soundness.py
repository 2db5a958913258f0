"""Sound results: exact integers at any size, published block shapes, the non-nesting field, bad inputs.

Every oracle here is computed without the code under test: Python integer arithmetic on the
formula written out in the test, published layer shapes and parameter totals, a boolean
connectivity product, autograd.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.analyses.network import Layout, evaluate, network
from skanalyze.core import catalog, counting
from skanalyze.core import symbols as S
from skanalyze.core.design import parse

BIG = st.integers(1, 10**18)


# -- exact arithmetic ---------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(c=BIG, f=BIG, m=st.integers(1, 10**9), n=st.integers(1, 10**9), hw=st.integers(1, 10**4))
def test_params_and_macs_at_are_exact_at_any_size(c, f, m, n, hw):
    """GConv(M)+PWGConv(N): 9*C*C/M + C*F/N, in Python integers (sizes made divisible first)."""
    c, f = c * m * n, f * n
    d = parse("GConv(M)+PWGConv(N)")
    values = {S.C: c, S.F: f, S.M: m, S.N: n, S.H: hw, S.W: hw}
    want = 9 * c * c // m + c * f // n
    assert counting.params_at(d, values) == want
    assert counting.macs_at(d, values) == want * hw * hw


@settings(max_examples=100, deadline=None)
@given(c=st.integers(1, 10**18))
def test_bottleneck_quarters_are_exact(c):
    """PW+DW+PW with K = F/4 = C: C*K + 9*K + K*F at F = 4C (the 1/4 coefficients stay exact)."""
    d = catalog.get("pw-dw-pw")
    f, k = 4 * c, c
    assert counting.params_at(d, {S.C: c, S.F: f, S.K: k}) == c * k + 9 * k + k * f


@pytest.mark.parametrize("width", [10**12, 61_255_744, 10**18])
def test_network_totals_are_exact(cli, width):
    """resnext(32) at huge widths: the CLI's integers equal the symbolic total evaluated in integers."""
    code, out, _ = cli("network", "resnext(32)", "--width", str(width), "--json")
    assert code == 0
    data = json.loads(out)
    w = width
    # the closed form the CLI prints, re-evaluated with Python integers (12989/64 is not a float here)
    params = eval(data["symbolic"]["params"].replace("width", "w").replace("/", "//"), {"w": w})  # noqa: S307
    assert data["params"]["total"] == params
    assert data["params"]["total"] == sum(v for k, v in data["params"].items() if k != "total")


def test_subs_accept_scientific_integers(cli):
    code, out, err = cli("formulas", "dw-pw", "--subs", "C=1e18", "F=2e18", "H=1", "W=1", "--format", "json")
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    assert int(row["params"]) == 9 * 10**18 + 10**18 * 2 * 10**18


# -- published blocks and networks --------------------------------------------------------------------
PUBLISHED_SHAPES = {
    # (catalog name, C, F): conv weight shapes of the published block (He et al. 2016; Xie et al. 2017;
    # Sandler et al. 2018; Zhang et al. 2018; Howard et al. 2017; Chollet 2017)
    ("resnet-basic", 64, 128): [(128, 64, 3, 3), (128, 128, 3, 3)],
    ("resnet-bottleneck", 256, 512): [(128, 256, 1, 1), (128, 128, 3, 3), (512, 128, 1, 1)],
    ("resnext(32)", 256, 256): [(128, 256, 1, 1), (128, 4, 3, 3), (256, 128, 1, 1)],
    ("mobilenet-v2", 24, 32): [(144, 24, 1, 1), (144, 1, 3, 3), (32, 144, 1, 1)],
    ("shufflenet-v1(4)", 272, 272): [(68, 68, 1, 1), (68, 1, 3, 3), (272, 17, 1, 1)],
    ("mobilenet-v1", 32, 64): [(32, 1, 3, 3), (64, 32, 1, 1)],
    ("xception", 128, 256): [(128, 1, 3, 3), (256, 128, 1, 1)],
}


@pytest.mark.parametrize("name, c, f", list(PUBLISHED_SHAPES), ids=[k[0] for k in PUBLISHED_SHAPES])
def test_named_blocks_have_published_shapes(nn, name, c, f):
    import torch

    d = catalog.get(name)
    values = {S.C: c, S.F: f, S.H: 4, S.W: 4}
    if d.uses_bottleneck:
        values[S.K] = d.bottleneck.subs(values)
    module = nn.build(d, values)
    shapes = [tuple(m.weight.shape) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert shapes == PUBLISHED_SHAPES[name, c, f]
    assert counting.params(d).subs(values) == sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    "name, width, stem, blocks, total",
    [
        # torchvision's published parameter counts (torchvision.models docs)
        ("resnet-basic", 64, None, (2, 2, 2, 2), 11_689_512),  # resnet18
        ("resnet-basic", 64, None, (3, 4, 6, 3), 21_797_672),  # resnet34
        ("resnet-bottleneck", 256, 64, (3, 4, 6, 3), 25_557_032),  # resnet50
        ("resnet-bottleneck", 256, 64, (3, 4, 23, 3), 44_549_160),  # resnet101
        ("resnext(32)", 256, 64, (3, 4, 6, 3), 25_028_904),  # resnext50_32x4d
    ],
)
def test_named_networks_match_published_totals(name, width, stem, blocks, total):
    layout = Layout(stem_kernel=7, stem_width=stem, blocks=blocks, bn=True)  # torchvision counts BN
    assert sum(evaluate(network(catalog.get(name), layout), width)[0].values()) == total


# -- the field when group sizes do not nest ------------------------------------------------------------
def connectivity_field(c, m, n):
    """GConv(M) then PWGConv(N), no shuffle: input channels reached by every output, by a boolean product."""
    first = [[(i // (c // m)) == (j // (c // m)) for j in range(c)] for i in range(c)]  # out i <- in j
    second = [[(i // (c // n)) == (j // (c // n)) for j in range(c)] for i in range(c)]
    reach = [[any(second[i][k] and first[k][j] for k in range(c)) for j in range(c)] for i in range(c)]
    return [sum(row) for row in reach]


@settings(max_examples=60, deadline=None)
@given(c=st.sampled_from([6, 12, 18, 24, 30, 36, 60]), data=st.data())
def test_no_shuffle_field_is_exact_when_sizes_do_not_nest(c, data):
    from skanalyze.core.infofield import field

    divs = [d for d in range(1, c + 1) if c % d == 0]
    m, n = data.draw(st.sampled_from(divs)), data.draw(st.sampled_from(divs))
    counts = connectivity_field(c, m, n)
    f = field(parse("GConv(M)+PWGConv(N) [shuffle=none]"), {S.C: c, S.F: c, S.M: m, S.N: n})
    assert (int(f.c), int(f.largest)) == (min(counts), max(counts))


@pytest.mark.parametrize("m, n", [(4, 3), (3, 4), (2, 3), (6, 4)])
def test_no_shuffle_field_matches_autograd(nn, m, n):
    from skanalyze.core.infofield import field

    d = parse("GConv(M)+PWGConv(N) [shuffle=none]")
    values = {S.C: 12, S.F: 12, S.M: m, S.N: n}
    measured = nn.measure_field(nn.build(d, values), 12, nn.field_probe_size(d, values))
    f = field(d, values)
    assert (int(f.c), int(f.largest)) == (measured.c_min, measured.c_max)
    assert (min(connectivity_field(12, m, n)), max(connectivity_field(12, m, n))) == (
        measured.c_min,
        measured.c_max,
    )


def test_field_cli_prints_the_exact_range(cli):
    code, out, _ = cli("field", "GConv(M)+PWGConv(N) [shuffle=none]", "--subs", "C=12", "F=12", "M=3", "N=4")
    assert code == 0 and "4 to 8" in out
    code, out, _ = cli("field", "GConv(M)+PWGConv(N) [shuffle=none]", "--subs", "C=12", "F=12", "M=4", "N=3")
    assert code == 0 and "(3, 3, 6)" in out
    code, out, _ = cli("field", "GConv(M)+PWGConv(N) [shuffle=none]")
    assert "M/N is an integer" in out and "N/M is an integer" in out


# -- bad inputs: one line on stderr, exit 2, no file left ------------------------------------------------
def _one_line_error(code, out, err):
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("skanalyze: error:"), err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    "target",
    ["missing-folder/x.png", "a-folder", "/proc/x.png", "/sys/x.png", "not-a-plot.txt"],
)
def test_unwritable_plot_paths(cli, tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder").mkdir()
    before = set(os.listdir(tmp_path))
    code, out, err = cli("plot", "width", "--out", target)
    _one_line_error(code, out, err)
    assert set(os.listdir(tmp_path)) == before  # no partial or temporary file


def test_unwritable_existing_file(cli, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes read-only files")
    target = tmp_path / "ro.png"
    target.write_bytes(b"")
    target.chmod(0o444)
    _one_line_error(*cli("plot", "width", "--out", str(target)))


@pytest.mark.parametrize("out", ["/proc/runs", "FILE"])
def test_train_out_checked_before_training(cli, tmp_path, out):
    pytest.importorskip("torch")
    if out == "FILE":
        out = str(tmp_path / "file")
        Path(out).write_text("x")
    _one_line_error(*cli("train", "--out", out, "--epochs", "1"))


def test_train_plot_checked_before_training(cli, tmp_path):
    pytest.importorskip("torch")
    _one_line_error(*cli("train", "--out", str(tmp_path / "runs"), "--plot", str(tmp_path / "x.txt")))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_verify_refuses_sizes_that_do_not_fit(cli):
    _one_line_error(*cli("verify", "dw-pw", "--subs", "C=60000", "F=60000"))
    code, out, err = cli("verify", "dw-pw", "--subs", "C=64", "F=64", "--max-memory", "1k")
    _one_line_error(code, out, err)
    assert "--max-memory" in err and "kB" in err


def test_network_torch_refuses_sizes_that_do_not_fit(cli):
    _one_line_error(*cli("network", "dw-pw", "--width", "100000", "--torch", "--max-memory", "1G"))


@pytest.mark.parametrize("size", ["-1G", "lots", "0"])
def test_bad_max_memory(cli, size):
    _one_line_error(*cli("verify", "dw-pw", "--subs", "C=8", "F=8", "--max-memory", size))


def test_torch_commands_without_torch(cli, monkeypatch):
    """With torch unimportable, every torch command says how to install it and exits 2."""
    import builtins
    import sys

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    for mod in [
        m
        for m in sys.modules
        if m == "torch" or m.startswith(("torch.", "skanalyze.nn", "skanalyze.nn.train"))
    ]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    for args in (
        ("verify", "dw-pw", "--subs", "C=8", "F=8"),
        ("field", "dw-pw", "--subs", "C=8", "F=8", "--measure"),
        ("network", "dw-pw", "--width", "8", "--torch"),
        ("train", "--epochs", "1"),
    ):
        code, out, err = cli(*args)
        _one_line_error(code, out, err)
        assert "needs torch" in err and "skanalyze[torch]" in err, args
