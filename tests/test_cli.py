"""The command line: golden output, exit codes, one-line errors, no torch at start-up."""

import json
import subprocess
import sys

import pytest
import sympy as sp

from skanalyze.core import symbols as S


@pytest.mark.parametrize("fmt", ["pretty", "text", "latex", "python", "json"])
def test_formulas_golden(cli, golden, fmt):
    code, out, err = cli("formulas", "--format", fmt)
    assert code == 0 and err == ""
    golden(f"formulas.{fmt}.txt", out)


def test_formulas_subs_golden(cli, golden):
    code, out, _ = cli(
        "formulas",
        "PWGConv(4)+DW+PWGConv(4)",
        "shufflenet-v1",
        "--subs",
        "C=560",
        "F=560",
        "--format",
        "text",
    )
    assert code == 0
    golden("formulas.subs.txt", out)


def test_formulas_json_parses_back(cli):
    code, out, _ = cli("formulas", "--format", "json")
    rows = json.loads(out)["rows"]
    assert [r["design"] for r in rows] == [
        "Conv",
        "DW+PW",
        "GConv(M)+PWGConv(N)",
        "PW+DW+PW",
        "PWGConv(M)+DW+PWGConv(N)",
    ]
    for row in rows:
        assert {"design", "params", "macs", "flops", "symbols"} <= set(row)
        params = sp.sympify(row["params"], locals=S.by_name)
        flops = sp.sympify(row["flops"], locals=S.by_name)
        assert sp.simplify(flops - 2 * params * S.H * S.W) == 0
    assert sp.sympify(rows[3]["params"], locals=S.by_name) == S.K * (S.C + S.F + 9)


def test_formulas_python_is_runnable(cli):
    code, out, _ = cli("formulas", "--format", "python")
    namespace: dict = {}
    exec(out, namespace)
    assert namespace["params_dw_pw"](C=64, F=128) == 64 * 137
    assert namespace["params_pw_dw_pw"](C=64, F=128, K=32) == 32 * (64 + 128 + 9)


def test_formulas_subs_numbers(cli):
    code, out, _ = cli(
        "formulas", "GConv+PWGConv", "--subs", "C=64", "F=128", "M=4", "N=8", "H=7", "W=7", "--format", "json"
    )
    row = json.loads(out)["rows"][0]
    assert row["params"] == 9 * 64 * 64 // 4 + 64 * 128 // 8
    assert row["macs"] == row["params"] * 49


def test_designs_lists_catalog(cli, golden):
    code, out, _ = cli("designs")
    assert code == 0
    golden("designs.txt", out)


def test_verify_ok_and_json(nn, cli):
    code, out, _ = cli("verify", "GConv(M)+PWGConv(N)", "--subs", "C=16", "F=32", "M=4", "N=4")
    assert code == 0 and "all match" in out
    code, out, _ = cli("verify", "pw-dw-pw", "--subs", "C=16", "F=32", "--json", "--bn")
    data = json.loads(out)
    assert data["ok"] and data["params"]["symbolic"] == data["params"]["torch"]


def test_verify_mismatch_exits_1(nn, cli, monkeypatch):
    # perturb the measurement, not the formula: the symbolic side is cached (lru_cache), and a patched
    # formula would stay in those caches for every later test
    from skanalyze.nn import measure

    real = measure.count_params
    monkeypatch.setattr(measure, "count_params", lambda module: real(module) + 1)
    code, out, _ = cli("verify", "DW+PW", "--subs", "C=8", "F=8")
    assert code == 1 and "MISMATCH" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["formulas", "FooConv"], "unknown kernel 'FooConv'"),
        (["formulas", "DW++PW"], "kernel 2 is empty"),
        (
            ["formulas", "GConv(M)+PWGConv(N)", "--subs", "C=64", "M=5"],
            "(=5) must be a positive integer dividing the 64",
        ),
        (["formulas", "--subs", "C=-3"], "C must be positive"),
        (["formulas", "--subs", "Q=3"], "unknown symbol 'Q'"),
        (["formulas", "--format", "xml"], "format 'xml' is unknown"),
        (["formulas", "--bogus"], "No such option"),
        (["verify", "GConv(M)+PWGConv(N)", "--subs", "C=16", "F=16"], "needs values for M, N"),
        (["verify", "DW+PW", "--subs", "F=16"], "needs values for C"),
        (["verify", "DW+PW", "--subs", "C=0"], "C must be positive"),
        (
            ["verify", "GConv(3)+PW", "--subs", "C=16", "F=16"],
            "(=3) must be a positive integer dividing the 16",
        ),
    ],
)
def test_bad_input_one_line_exit_2(cli, args, fragment):
    code, out, err = cli(*args)
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_formulas_does_not_import_torch():
    code = "import sys; from skanalyze.cli import main; main(['formulas']); assert 'torch' not in sys.modules; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "skanalyze", "formulas", "FooConv"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("skanalyze: error: unknown kernel")


def test_efficiency_golden(cli, golden):
    for name in ("gconv-pwgconv", "pwgconv-dw-pwgconv"):
        code, out, err = cli("efficiency", name, "--format", "text")
        assert code == 0 and err == ""
        golden(f"efficiency.{name}.txt", out)


def test_efficiency_json_and_integers(cli):
    code, out, _ = cli("efficiency", "gconv-pwgconv", "--format", "json", "--integers", "12")
    data = json.loads(out)
    assert data["optimum"]["boundary"] == "M*N = C"
    assert sp.sympify(data["optimum"]["groups"]["N"], locals=S.by_name) == sp.sqrt(S.F) / 3
    assert data["theorem1_integers"]["counterexamples"] == []


def test_optimize_json(cli):
    code, out, _ = cli("optimize", "gconv-pwgconv", "--budget", "1e9", "--json")
    data = json.loads(out)
    assert {"design", "budget", "alpha", "continuous", "buildable"} <= set(data)
    b = data["buildable"]
    assert set(b) == {"C", "F", "M", "N", "params"}
    assert b["params"] == 9 * b["C"] ** 2 // b["M"] + b["C"] * b["F"] // b["N"] <= 10**9
    assert b["M"] * b["N"] <= b["C"]


def test_optimize_text(cli):
    code, out, _ = cli("optimize", "pw-dw-pw", "--budget", "11.2M", "--alpha", "2")
    assert code == 0 and "buildable optimum  : C = 2730, F = 5460, K = 1365" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["optimize", "dw-pw", "--budget", "-1"], "must be positive"),
        (["optimize", "dw-pw", "--budget", "1e40"], "absurd"),
        (["optimize", "GConv(100)+PWGConv(2)", "--budget", "100"], "too small for any buildable"),
        (["optimize", "dw-pw", "--budget", "1e6", "--alpha", "sqrt(2)"], "alpha"),
        (["optimize", "dw-pw", "--budget", "1e6", "--macs"], "needs a positive output size"),
        (["plot", "ratio", "--designs", "dw-pw", "--out", "x.png"], "needs two"),
        (["plot", "pie", "--out", "x.png"], "plot kind 'pie' is unknown"),
        (["efficiency", "dw-pw", "--integers", "8"], "no Theorem-1 boundary"),
    ],
)
def test_efficiency_bad_input(cli, args, fragment):
    code, out, err = cli(*args)
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_plot_writes_file(cli, tmp_path):
    out = tmp_path / "ratio.svg"
    code, stdout, _ = cli("plot", "ratio", "--out", str(out), "--c", "32")
    assert code == 0 and out.read_bytes().startswith(b"<?xml")


def test_field_json_and_measure(nn, cli):
    code, out, _ = cli("field", "gconv-pwgconv", "--json")
    data = json.loads(out)
    assert [sp.sympify(x, locals=S.by_name) for x in data["field"]] == [
        3,
        3,
        sp.Min(S.C, S.C**2 / (S.M * S.N)),
    ]
    assert data["condition"] == "M*N <= C"
    code, out, _ = cli(
        "field", "gconv-pwgconv", "--subs", "C=16", "F=16", "M=4", "N=4", "--measure", "--json"
    )
    data = json.loads(out)
    assert data["measured"] == [3, 3, 16] and data["agrees"] is True


def test_field_golden(cli, golden):
    code, out, _ = cli("field", "pwgconv-dw-pwgconv")
    assert code == 0
    golden("field.pwgconv-dw-pwgconv.txt", out)


def test_space_golden_and_json(cli, golden):
    code, out, _ = cli("space")
    assert code == 0
    golden("space.txt", out)
    code, out, _ = cli("space", "--json")
    data = json.loads(out)
    assert data["stages"] == [
        {"name": "space", "remaining": 5460},
        {"name": "composition", "remaining": 5356},
        {"name": "performance", "remaining": 5208},
        {"name": "efficiency", "remaining": 118},
    ]
    assert "PW+DW+PW" in data["survivors"] and "PW+DW+PW" in data["bottleneck_exception"]
    assert set(data) >= {"stages", "survivors", "families"}


def test_space_explain(cli):
    code, out, _ = cli("space", "--explain", "DW+PW+PW")
    assert code == 0 and "dropped at the efficiency stage" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["space", "--alphabet", "GConv,Foo"], "unknown alphabet letter 'Foo'"),
        (["space", "--max-length", "-2"], "must be a positive integer"),
        (["space", "--max-length", "99"], "the largest that would is"),
        (["space", "--regex", "maybe"], "regex mode 'maybe' is unknown"),
        (["field", "gconv-pwgconv", "--measure"], "needs values for"),
    ],
)
def test_space_bad_input(cli, args, fragment):
    code, _, err = cli(*args)
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_funnel_plot(cli, tmp_path):
    code, out, _ = cli("plot", "funnel", "--out", str(tmp_path / "f.pdf"), "--max-length", "4")
    assert code == 0 and (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")


def test_network_json_and_torch(nn, cli):
    code, out, _ = cli(
        "network",
        "dw-pw",
        "--width",
        "16",
        "--input-size",
        "32",
        "--blocks",
        "1",
        "--classes",
        "10",
        "--torch",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["torch"]["agrees"] is True
    assert data["params"]["total"] == sum(v for k, v in data["params"].items() if k != "total")
    assert (
        sp.sympify(data["symbolic"]["params"], locals=S.by_name).subs(S.width, 16) == data["params"]["total"]
    )


def test_network_budget(cli):
    code, out, _ = cli("network", "dw-pw", "--budget", "11.2M")
    assert code == 0 and "DW+PW network, width 233" in out


def test_network_symbolic_blocks(cli):
    code, out, _ = cli("network", "pw-dw-pw", "--width", "64", "--blocks", "B")
    assert code == 0 and "*B" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (
            ["network", "GConv(32)+PWGConv(4)", "--width", "72"],
            "group number (=32) must be a positive integer dividing the 72",
        ),
        (["network", "dw-pw", "--width", "64", "--blocks", "2,0,2,2"], "is not a positive integer or B"),
        (
            ["network", "dw-pw", "--width", "64", "--input-size", "100"],
            "not divisible by the layout's total stride 32",
        ),
        (["network", "dw-pw", "--width", "64", "--shortcut", "dense"], "shortcut 'dense' is unknown"),
        (["network", "dw-pw", "--width", "64", "--budget", "1M"], "either --width"),
        (["network", "dw-pw"], "either --width"),
        (["network", "gconv-pwgconv", "--width", "64"], "needs group numbers: M, N"),
        (["network", "dw-pw", "--width", "64", "--frobnicate"], "No such option"),
    ],
)
def test_network_bad_input(cli, args, fragment):
    code, _, err = cli(*args)
    assert code == 2 and fragment in err and err.count("\n") == 1


def test_help_for_the_app_and_one_command(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "formulas" in out and "FLOPs = 2 x MACs" in out
    code, out, _ = cli("formulas", "--help")
    assert code == 0 and out.startswith("Usage: skanalyze formulas") and "--format" in out


def test_version_matches_the_installed_metadata(cli):
    from importlib.metadata import version

    code, out, _ = cli("--version")
    assert code == 0 and out == f"skanalyze {version('skanalyze')}\n"


def test_unknown_command(cli):
    code, _, err = cli("frobnicate")
    assert code == 2 and "No such command 'frobnicate'" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["compare", "--format", "xml"], "format 'xml' is unknown"),
        (["compare", "--c", "0"], "--c (=0) must be positive"),
    ],
)
def test_compare_bad_input(cli, args, fragment):
    code, _, err = cli(*args)
    assert code == 2 and fragment in err


def test_formulas_python_is_exact_at_any_size(cli):
    code, out, _ = cli("formulas", "gconv-pwgconv", "dw-pw", "--format", "python")
    namespace: dict = {}
    exec(out, namespace)
    c = f = 10**18
    m = n = 10**9
    assert namespace["params_gconv_pwgconv"](C=c, F=f, M=m, N=n) == 9 * c * c // m + c * f // n
    from fractions import Fraction

    got = namespace["intensity_dw_pw"](C=64, F=128, H=7, W=7, b=4)
    assert got == Fraction(64 * 49 * (128 + 9), 4 * 24448) and isinstance(got, Fraction)


def test_formulas_traffic_at_a_resolution(cli):
    code, out, _ = cli("formulas", "dw-pw", "--subs", "C=64", "F=128", "b=4", "--hw", "7", "--json")
    row = json.loads(out)["rows"][0]
    # DW reads 64x7x7 and 9x64 weights, writes 64x7x7; PW reads 64x7x7 and 64x128 weights, writes 128x7x7
    elements = 64 * 49 + 9 * 64 + 64 * 49 + 64 * 49 + 64 * 128 + 128 * 49
    assert (row["traffic"], row["bytes"]) == (elements, 4 * elements)
    assert sp.Rational(row["intensity"]) == sp.Rational(64 * 49 * 137, 4 * elements)
    code, _, err = cli("formulas", "dw-pw", "--subs", "H=7", "--hw", "7")
    assert code == 2 and "--hw and H=... contradict" in err
