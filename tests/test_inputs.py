"""Inputs that used to be accepted, rewritten or crash: each now a one-line error naming the value, exit 2,
and nothing created (issue: every input a clear answer)."""

import json

import pytest

from skanalyze import parse
from skanalyze.core.counting import macs_at, params_at
from skanalyze.core.errors import SkanalyzeError


def one_line_error(code, out, err, fragment):
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("skanalyze: error: ") and fragment in err, err


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("formulas", "gconv-pwgconv", "--subs", "C=64", "C=32"), "C is given twice"),
        (("formulas", "gconv-pwgconv", "--subs", "C=64,F=8,C=64"), "C is given twice"),
        (("efficiency", "gconv-pwgconv", "--at", "C=64", "F=64", "F=32"), "F is given twice"),
        (("network", "dw-pw", "--blocks", "1,,2", "--width", "32"), "empty entry"),
        (("network", "dw-pw", "--macs", "--width", "32"), "--macs"),
        (("space", "--alphabet", ""), "--alphabet '' is empty"),
        (("space", "--alphabet", " , "), "is empty"),
        (("formulas", "PW+DW+PW [K=-F]"), "must be positive"),
        (("formulas", "PW+DW+PW [K=0]"), "must be positive"),
        (
            ("optimize", "dw-pw", "--latency", "1e400s", "--hw", "28", "--profile", "h100-sxm-datasheet"),
            "10^6 s",
        ),
        (("plot", "families", "--c", "0", "--out", "never.png"), "--c (=0) must be a positive integer"),
    ],
)
def test_refused_in_one_line(cli, tmp_path, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    one_line_error(*cli(*args), fragment)
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.torch
def test_verify_at_an_absurd_size_is_refused_in_one_line(cli):
    pytest.importorskip("torch")
    one_line_error(*cli("verify", "gconv-pwgconv", "--subs", "C=1e400", "F=64", "M=4", "N=4"), "10^801 bytes")


@pytest.mark.torch
def test_apply_stem_needs_one_kernel(cli):
    pytest.importorskip("torch")
    code, out, err = cli(
        "model", "examples/models.py:resnet18", "--input", "1x3x32x32", "--apply", "dw-pw", "--apply-stem"
    )
    one_line_error(code, out, err, "--apply-stem")


def test_a_refused_train_creates_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("train", "--data", str(tmp_path / "nowhere"), "--out", "t1")
    # without torch the refusal is that torch is missing; either way nothing is created
    one_line_error(code, out, err, "needs torch" if "needs torch" in err else "lacks")
    assert not (tmp_path / "t1").exists() and not (tmp_path / "runs").exists()


def test_params_at_refuses_unknown_keys_and_groups_that_do_not_divide():
    d = parse("GConv(M)+PWGConv(N)")
    assert params_at(d, {"C": 64, "F": 64, "M": 4, "N": 4}) == 64 * 9 * 64 // 4 + 64 * 64 // 4
    with pytest.raises(SkanalyzeError, match="'Z' is no symbol"):
        params_at(d, {"C": 64, "F": 64, "M": 4, "N": 4, "Z": 3})
    with pytest.raises(SkanalyzeError, match="group number \\(=5\\)"):
        params_at(d, {"C": 64, "F": 64, "M": 5, "N": 4})
    with pytest.raises(SkanalyzeError, match="group number"):
        macs_at(d, {"C": 64, "F": 64, "M": 4, "N": 3, "H": 8, "W": 8})


def result_file(folder, **changes):
    """A copy of a recorded result file of results/decisive with some fields changed."""
    from pathlib import Path

    source = sorted((Path(__file__).resolve().parent.parent / "results" / "decisive").glob("*.json"))[0]
    record = json.loads(source.read_text())
    record.update(changes)
    folder.mkdir()
    (folder / source.name).write_text(json.dumps(record))
    return folder


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"width": None}, "width = None must be a positive integer"),
        ({"accuracy": float("nan")}, "accuracy = nan must be a number from 0 to 1"),
        ({"accuracy": 1.5}, "accuracy = 1.5"),
        ({"notation": 3}, "notation = 3 must be a string"),
    ],
)
def test_train_summarize_names_a_broken_result_file(cli, tmp_path, changes, fragment):
    folder = result_file(tmp_path / "runs", **changes)
    one_line_error(*cli("train", "summarize", str(folder)), fragment)


def test_efficiency_at_an_absurd_width_is_refused_at_once(cli):
    one_line_error(*cli("efficiency", "gconv-pwgconv", "--at", "C=1e400"), "at most 10^18")
