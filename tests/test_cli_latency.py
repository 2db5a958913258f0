"""The latency surface of the CLI: device calibrate / show, latency, optimize --latency, and their bad input."""

import json

import pytest

from skanalyze.analyses import profiles as P
from skanalyze.analyses import roofline as R

PROFILE = {
    "name": "toy",
    "peak_macs_per_s": 2e10,
    "bandwidth_bytes_per_s": 1e10,
    "overhead_s": 1e-5,
    "element_bytes": 4,
    "source": "test",
}


@pytest.fixture
def profile_file(tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(PROFILE))
    return str(path)


def test_device_show(cli, profile_file):
    code, out, _ = cli("device", "show", "h100-sxm-datasheet")
    assert code == 0 and "3350 GB/s" in out and "datasheet, not measured" in out
    code, out, _ = cli("device", "show", profile_file, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["report"] == "profile" and doc["peak_macs_per_s"] == 2e10


def test_optimize_latency_matches_the_analysis(cli, profile_file):
    code, out, _ = cli(
        "optimize", "gconv-pwgconv", "--latency", "60us", "--profile", profile_file, "--hw", "14", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    from skanalyze.core.design import parse

    found = R.widest_within(
        parse("GConv(M)+PWGConv(N)"), R.parse_latency("60us"), P.load_profile(profile_file), 14
    )
    assert doc["buildable"] == found.values and doc["predicted_s"] <= 60e-6
    assert doc["params"] == found.params and doc["report"] == "optimize_latency"


@pytest.mark.parametrize(
    "args, needle",
    [
        (("device", "tune"), "device 'tune' is unknown; valid: calibrate, show"),
        (("device", "show"), "device show needs a profile"),
        (("device", "show", "nowhere"), "neither a file nor a shipped profile"),
        (
            ("device", "show", "h100-sxm-datasheet", "--out", "x.json"),
            "--out is an option of device calibrate",
        ),
        (("device", "calibrate", "h100-sxm-datasheet"), "takes no profile argument"),
        (("device", "calibrate", "--out", "/no/such/dir/p.json"), "does not exist"),
        (("device", "calibrate", "--out", "p.txt"), "must end in .json"),
        (("device", "calibrate", "--threads", "0"), "--threads 0 must be a positive integer"),
        (("plot", "speed", "--out", "s.png"), "plot speed needs --profile"),
        (
            ("plot", "width", "--profile", "h100-sxm-datasheet", "--out", "s.png"),
            "--profile belongs to plot speed",
        ),
        (("plot", "speed", "--profile", "nope", "--out", "s.png"), "shipped profile"),
        (("optimize", "dw-pw", "--latency", "2ms", "--hw", "28"), "--latency needs a device"),
        (
            ("optimize", "dw-pw", "--latency", "2ms", "--profile", "h100-sxm-datasheet"),
            "needs the output size",
        ),
        (("optimize", "dw-pw", "--latency", "2ms", "--budget", "1e5", "--profile", "x"), "contradict"),
        (
            ("optimize", "dw-pw", "--latency", "-2ms", "--profile", "h100-sxm-datasheet", "--hw", "7"),
            "must be positive",
        ),
        (
            ("optimize", "dw-pw", "--latency", "1ns", "--profile", "h100-sxm-datasheet", "--hw", "7"),
            "predicted to fit",
        ),
        (("optimize", "dw-pw", "--budget", "1e5", "--profile", "h100-sxm-datasheet"), "need --latency"),
        (("optimize", "dw-pw"), "optimize needs a budget"),
        (("latency", "dw-pw", "--subs", "C=8", "F=8"), "needs the output size"),
        (("latency", "dw-pw", "--hw", "7"), "needs values for C"),
        (
            ("latency", "gconv-pwgconv", "--subs", "C=8", "F=8", "M=3", "N=2", "--hw", "7"),
            "dividing the 8 channels",
        ),
        (("latency", "dw-pw", "--subs", "C=8", "F=8", "--hw", "7", "--repeats", "0"), "must be >= 1"),
        (("latency", "dw-pw", "--subs", "C=8", "F=8", "--hw", "7", "--profile", "nope"), "shipped profile"),
        (("latency", "dw-pw", "--subs", "C=8", "F=8", "--hw", "7", "--threads", "0"), "--threads 0"),
        (
            ("latency", "dw-pw", "--subs", "C=100000", "F=100000", "--hw", "512", "--max-memory", "1M"),
            "memory",
        ),
    ],
)
def test_bad_input_is_one_line(cli, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_plot_speed(cli, tmp_path, profile_file):
    out = tmp_path / "speed.png"
    code, text, _ = cli("plot", "speed", "--profile", profile_file, "--hw", "14", "--out", str(out))
    assert code == 0 and out.stat().st_size > 10_000 and "wrote" in text


def test_speed_rows_against_the_paper_ratio_and_a_hand_roofline():
    """DW+PW at C = F = 64, K = 3, 14 x 14: params ratio (K^2 + F) / (K^2 F) (the paper's), and the speed-up from
    a roofline written out here: per layer max(MACs / peak, bytes / bandwidth) + overhead, bytes = 4 (in + w + out)."""
    from fractions import Fraction

    from skanalyze.core.catalog import get

    prof = P.profile_from_dict(PROFILE)
    (row,) = [r for r in R.speed_rows([get("dw-pw")], prof, widths=(64,), hw=14)]
    assert row["param_ratio"] == Fraction(9 + 64, 9 * 64)
    c, hw, peak, bw, over = 64, 14, 2e10, 1e10, 1e-5

    def layer(macs, elements):
        return max(macs / peak, 4 * elements / bw) + over

    conv = layer(9 * c * c * hw * hw, c * hw * hw + 9 * c * c + c * hw * hw)
    dw = layer(9 * c * hw * hw, c * hw * hw + 9 * c + c * hw * hw)
    pw = layer(c * c * hw * hw, c * hw * hw + c * c + c * hw * hw)
    assert row["speedup"] == pytest.approx(conv / (dw + pw), rel=1e-12)


def test_bad_profile_file_is_one_line(cli, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({**PROFILE, "bandwidth_bytes_per_s": 0}))
    code, _, err = cli("latency", "dw-pw", "--subs", "C=8", "F=8", "--hw", "7", "--profile", str(path))
    assert code == 2 and "bandwidth_bytes_per_s = 0 must be a positive number" in err


torch = pytest.importorskip("torch")


def test_latency_command(cli, profile_file):
    code, out, _ = cli(
        "latency", "gconv-pwgconv", "--subs", "C=32", "F=64", "M=4", "N=2", "--hw", "7",
        "--repeats", "3", "--profile", profile_file, "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["macs"] == 49 * (9 * 32 * 8 + 64 * 16) and doc["threads"] == 1
    assert [r["layer"] for r in doc["layers"]] == ["GConv(M)", "Shuffle(M)", "PWGConv(N)"]
    assert doc["measured"]["repeats"] == 3 and doc["measured"]["q1_s"] <= doc["measured"]["median_s"]
    code, out, _ = cli("latency", "dw-pw", "--subs", "C=8", "F=8", "--hw", "7", "--repeats", "2")
    assert code == 0 and "no prediction: give --profile" in out


@pytest.mark.slow
def test_device_calibrate_writes_a_profile(cli, tmp_path):
    path = tmp_path / "me.json"
    # --force: the suite's other worker may keep this machine busy, which calibrate rightly refuses
    args = ("device", "calibrate", "--quick", "--threads", "1", "--out", str(path), "--name", "me", "--force")
    code, out, _ = cli(*args)
    assert code == 0 and f"written to {path}" in out
    p = P.load_profile(str(path))
    assert p.name == "me" and p.details["threads"] == 1
    assert p.details["warnings"] == P.calibration_problems(p.details)
    assert all(f"warning: {w}" in out for w in p.details["warnings"])


def test_an_untrustworthy_calibration_is_refused_unless_forced(cli, tmp_path, monkeypatch):
    """A busy machine's constants are not saved (one line, exit 2, no file); --force saves them with the
    warnings recorded, and show prints them."""
    from skanalyze import nn

    busy = P.Profile(
        "busy",
        peak_macs_per_s=1e9,
        bandwidth_bytes_per_s=1e9,
        overhead_s=1e-4,
        details={"calibrated": True, "cpus": 2, "threads": 2, "load": {"before": 3.0, "after": 3.1}},
    )
    busy = P.Profile(
        **{**busy.__dict__, "details": {**busy.details, "warnings": P.calibration_problems(busy.details)}}
    )
    monkeypatch.setattr(nn, "calibrate", lambda **kwargs: busy)
    path = tmp_path / "busy.json"
    code, _, err = cli("device", "calibrate", "--out", str(path))
    assert code == 2 and "calibration not saved" in err and "load average 3.00" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1 and not path.exists()
    code, out, _ = cli("device", "calibrate", "--out", str(path), "--force")
    assert code == 0 and path.exists() and "warning: the machine was busy" in out
    code, out, _ = cli("device", "show", str(path))
    assert code == 0 and "warning: the machine was busy" in out
