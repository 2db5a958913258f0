"""The roofline latency model, profiles, the latency budget, timing and calibration."""

import json
import math
import re
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from skanalyze.analyses import profiles as P
from skanalyze.analyses import roofline as R
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError

PROFILE = P.Profile(
    "test", peak_macs_per_s=2e10, bandwidth_bytes_per_s=1e10, overhead_s=1e-5, element_bytes=4
)


def by_hand_gconv_pwgconv(c, f, m, n, hw, batch=1, p=PROFILE):
    """The roofline of GConv(M)+PWGConv(N) written out per layer: group conv, shuffle, pointwise group conv."""
    e, a = p.element_bytes, hw * hw
    layers = [
        (batch * 9 * c * (c // m) * a, e * (batch * 2 * c * a + 9 * c * (c // m))),  # GConv(M): C -> C
        (0, e * batch * 2 * c * a),  # Shuffle(M): read, write
        (batch * f * (c // n) * a, e * (batch * (c + f) * a + f * (c // n))),  # PWGConv(N): C -> F
    ]
    return sum(max(mac / p.peak_macs_per_s, b / p.bandwidth_bytes_per_s) + p.overhead_s for mac, b in layers)


@pytest.mark.parametrize(
    "c, f, m, n, hw, batch", [(64, 128, 8, 4, 28, 1), (16, 16, 2, 8, 7, 3), (512, 512, 32, 16, 14, 2)]
)
def test_predict_matches_a_hand_computation(c, f, m, n, hw, batch):
    d = parse("GConv(M)+PWGConv(N)")
    got = R.predict(d, {"C": c, "F": f, "M": m, "N": n, "H": hw, "W": hw}, PROFILE, batch)
    assert got == pytest.approx(by_hand_gconv_pwgconv(c, f, m, n, hw, batch), rel=1e-12)
    layers = R.predict_layers(d, {"C": c, "F": f, "M": m, "N": n, "H": hw, "W": hw}, PROFILE, batch)
    assert [r.bound for r in layers][1] == "memory"  # a shuffle has no MACs


def test_vectorised_predictor_equals_predict_on_a_grid():
    d = parse("PWGConv(M)+DW+PWGConv(N)")
    fn = R.predictor(d, PROFILE, batch=2)
    cs = np.array([16, 32, 64, 128, 256])
    got = fn(C=cs, F=2 * cs, M=4, N=2, H=14, W=14)
    want = [
        R.predict(d, {"C": int(c), "F": int(2 * c), "M": 4, "N": 2, "H": 14, "W": 14}, PROFILE, 2) for c in cs
    ]
    assert got == pytest.approx(want, rel=1e-12)
    with pytest.raises(SkanalyzeError, match="needs values for"):
        fn(C=cs)


def test_widest_within_against_brute_force():
    """Every C up to 160 and every pair of group numbers that divide it with a full field (M*N <= C, the
    paper's condition for GConv(M)+PWGConv(N) at F = C), timed by the hand-written roofline."""
    budget, hw = 60e-6, 14
    best = None
    for c in range(1, 161):
        for m in (g for g in range(1, c + 1) if c % g == 0):
            for n in (g for g in range(1, c + 1) if c % g == 0):
                if m * n > c:
                    continue
                t = by_hand_gconv_pwgconv(c, c, m, n, hw)
                if t <= budget and (best is None or (c, -t) > (best[0], -best[1])):
                    best = (c, t)
    assert best is not None and best[0] < 160  # the budget binds inside the brute-force range
    found = R.widest_within(parse("GConv(M)+PWGConv(N)"), Fraction(60, 10**6), PROFILE, hw)
    assert found.values["C"] == best[0]
    assert found.predicted_s == pytest.approx(best[1], rel=1e-12)
    vals = found.values
    assert found.predicted_s == pytest.approx(
        by_hand_gconv_pwgconv(vals["C"], vals["F"], vals["M"], vals["N"], hw)
    )


def by_hand_pw_dw_pw(c, f, hw, p=PROFILE):
    """The roofline of PW+DW+PW with K = F/4 written out per layer: PW C -> K, DW K -> K, PW K -> F."""
    e, a, k = p.element_bytes, hw * hw, f // 4
    layers = [
        (c * k * a, e * ((c + k) * a + c * k)),
        (9 * k * a, e * (2 * k * a + 9 * k)),
        (k * f * a, e * ((k + f) * a + k * f)),
    ]
    return sum(max(mac / p.peak_macs_per_s, b / p.bandwidth_bytes_per_s) + p.overhead_s for mac, b in layers)


@pytest.mark.parametrize("alpha", [Fraction(1), Fraction(3, 2)])
def test_widest_within_without_group_numbers_against_brute_force(alpha):
    """A design with no group numbers is bisected on its time: every width up to 400 (F = alpha*C, the
    bottleneck K = F/4 whole) timed by hand, the widest that fits is the answer."""
    hw = 14
    budget = by_hand_pw_dw_pw(300, int(300 * alpha), hw) * 1.0001
    fits = [
        c
        for c in range(1, 401)
        if (alpha * c).denominator == 1 and int(alpha * c) % 4 == 0
        if by_hand_pw_dw_pw(c, int(alpha * c), hw) <= budget
    ]
    assert fits and fits[-1] < 400  # the budget binds inside the brute-force range
    found = R.widest_within(parse("PW+DW+PW"), budget, PROFILE, hw, alpha)
    assert found.values["C"] == fits[-1]
    assert found.predicted_s == pytest.approx(
        by_hand_pw_dw_pw(fits[-1], int(alpha * fits[-1]), hw), rel=1e-12
    )


def test_widest_within_a_budget_nothing_meets():
    with pytest.raises(SkanalyzeError, match="predicted to fit"):
        R.widest_within(parse("DW+PW"), 1e-6, PROFILE, 28)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("2ms", Fraction(2, 1000)),
        ("500us", Fraction(1, 2000)),
        ("0.01s", Fraction(1, 100)),
        ("1e-3", Fraction(1, 1000)),
    ],
)
def test_parse_latency(text, seconds):
    assert R.parse_latency(text) == seconds


@pytest.mark.parametrize("text", ["-1ms", "0", "fast", "2 parsecs"])
def test_parse_latency_rejects(text):
    with pytest.raises(SkanalyzeError, match="latency"):
        R.parse_latency(text)


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"peak_macs_per_s": 0}, "peak_macs_per_s = 0 must be a positive number"),
        ({"bandwidth_bytes_per_s": -1.0}, "must be a positive number"),
        ({"overhead_s": "fast"}, "must be a positive number"),
        ({"overhead_s": float("nan")}, "must be a positive number"),
        ({"element_bytes": 0}, "element_bytes"),
    ],
)
def test_bad_profiles(change, needle):
    data = {**P.profile_dict(PROFILE), **change}
    with pytest.raises(SkanalyzeError, match=needle):
        P.profile_from_dict(data)


def test_missing_constant_and_unknown_profile(tmp_path):
    data = P.profile_dict(PROFILE)
    del data["overhead_s"]
    with pytest.raises(SkanalyzeError, match="has no overhead_s"):
        P.profile_from_dict(data)
    with pytest.raises(SkanalyzeError, match="shipped: h100-sxm-datasheet"):
        P.load_profile("no-such-device")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SkanalyzeError, match="not readable JSON"):
        P.load_profile(str(bad))


def test_shipped_h100_profile_is_the_datasheet():
    p = P.load_profile("h100-sxm-datasheet")
    assert p.peak_macs_per_s == 989.5e12 / 2 and p.bandwidth_bytes_per_s == 3.35e12 and p.element_bytes == 2
    assert "datasheet, not measured" in p.source and "assumed" in p.source
    assert P.profile_from_dict(P.profile_dict(p)) == p


def test_the_speed_plot_claim_in_docs_latency():
    """docs/latency.md: on the H100 profile at 56 x 56, C = F in 32..512, every design has far fewer params than
    the standard conv, and only DW+PW and PW+DW+PW at C = 512 are predicted faster than it."""
    from pathlib import Path

    from skanalyze.core import catalog

    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "latency.md").read_text().split())
    assert "only the widest DW+PW and PW+DW+PW layers are predicted faster" in text
    rows = R.speed_rows(
        [catalog.get(n) for n in catalog.DEFAULT_FORMULAS if n != "standard"],
        P.load_profile("h100-sxm-datasheet"),
        widths=(32, 64, 128, 256, 512),
        hw=56,
    )
    faster = {(r["design"], r["C"]) for r in rows if r["speedup"] > 1}
    assert faster == {("DW+PW", 512), ("PW+DW+PW", 512)}
    assert all(r["param_ratio"] < 0.2 for r in rows)


torch = pytest.importorskip("torch")
from skanalyze.nn import latency as L  # noqa: E402


class Sleeper(torch.nn.Module):
    """A module whose forward takes a known time."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def forward(self, x):
        import time

        time.sleep(self.seconds)
        return x


def test_time_module_measures_a_known_time():
    t = L.time_module(Sleeper(0.004), (1, 1, 1, 1), warmup=1, repeats=9)
    assert 0.004 <= t.median_s < 0.004 + 0.004  # sleep never returns early; scheduling may add a little
    assert t.q1_s <= t.median_s <= t.q3_s and t.repeats == 9


@pytest.mark.slow
def test_calibrate_gives_a_usable_profile(tmp_path):
    p = L.calibrate(threads=1, quick=True, name="quick")
    assert p.name == "quick" and p.details["calibrated"] and p.details["threads"] == 1
    for key in P.CONSTANTS:
        assert math.isfinite(getattr(p, key)) and getattr(p, key) > 0
    # the peak is what the dense conv reached: recompute it from the recorded timing
    conv = p.details["dense_conv"]
    assert p.peak_macs_per_s == pytest.approx(
        9 * conv["channels"] ** 2 * conv["size"] ** 2 / conv["median_s"]
    )
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P.profile_dict(p)))
    assert P.load_profile(str(path)) == p
    # what a user needs to judge it: when, how loaded, how many threads, which torch, and the checks' verdict
    import datetime

    import torch

    when = datetime.datetime.fromisoformat(p.details["date"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 600
    assert set(p.details["load"]) == {"before", "after"} and p.details["torch"] == torch.__version__
    assert p.details["warnings"] == P.calibration_problems(p.details)


QUIET = {
    "cpus": 8,
    "threads": 4,
    "load": {"before": 0.4, "after": 0.5},
    "dense_conv": {"median_s": 0.010, "iqr_s": 0.0004, "macs_per_s": 60e9, "rounds": 1},
    "copy": {"median_s": 0.020, "iqr_s": 0.001, "rounds": 1},
    "tiny_layer": {"median_s": 8e-6, "iqr_s": 1e-6, "rounds": 1},
    "matmul": {"macs_per_s": 80e9},
    "matmul_end": {"macs_per_s": 78e9},
}


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"load": {"before": 4.6, "after": 5.0}}, "busy: load average 4.60 on 8 cores"),
        ({"copy": {"median_s": 0.020, "iqr_s": 0.008, "rounds": 3}}, "copy timings spread 40%"),
        ({"matmul_end": {"macs_per_s": 20e9}}, "ran -75% faster at the end"),
        ({"dense_conv": {"median_s": 0.01, "iqr_s": 0.0, "macs_per_s": 2e9}}, "0.025x the reference"),
        ({"dense_conv": {"median_s": 0.01, "iqr_s": 0.0, "macs_per_s": 400e9}}, "5x the reference"),
    ],
)
def test_calibration_problems_name_what_cannot_be_trusted(change, needle):
    assert P.calibration_problems(QUIET) == []
    problems = P.calibration_problems({**QUIET, **change})
    assert len(problems) == 1 and needle in problems[0]


def test_latency_report_counts_are_exact_and_prediction_is_the_roofline():
    d = parse("GConv(M)+PWGConv(N)")
    vals = {"C": 32, "F": 64, "M": 4, "N": 2, "H": 7, "W": 7}
    data = L.latency_report(d, vals, repeats=3, warmup=1, profile=PROFILE, threads=1)
    assert data["macs"] == 49 * (9 * 32 * 8 + 64 * 16)
    assert data["predicted_s"] == pytest.approx(by_hand_gconv_pwgconv(32, 64, 4, 2, 7))
    assert (
        data["measured"]["median_s"] > 0
        and data["measured_over_predicted"] == data["measured"]["median_s"] / data["predicted_s"]
    )


KINDS = {
    "gconv": {"overhead_s": 5e-5, "peak_macs_per_s": 1e10},
    "shuffle": {"overhead_s": 2e-6, "bandwidth_bytes_per_s": 3e10},
    "pwgconv": {"overhead_s": 3e-5},
}


def test_per_kind_constants_by_hand():
    """Each layer takes its kind's constants where the profile has them, the global ones otherwise: the
    roofline of GConv(M)+PWGConv(N) written out with per-layer constants, exactly and vectorised."""
    prof = P.Profile("kinds", 2e10, 1e10, 1e-5, kinds=KINDS)
    c, f, m, n, hw = 64, 128, 8, 4, 14
    e, a = 4, hw * hw
    layers = [  # (MACs, bytes, peak, bandwidth, overhead)
        (9 * c * (c // m) * a, e * (2 * c * a + 9 * c * (c // m)), 1e10, 1e10, 5e-5),
        (0, e * 2 * c * a, 2e10, 3e10, 2e-6),
        (f * (c // n) * a, e * ((c + f) * a + f * (c // n)), 2e10, 1e10, 3e-5),
    ]
    by_hand = sum(max(mac / pk, b / bw) + o for mac, b, pk, bw, o in layers)
    vals = {"C": c, "F": f, "M": m, "N": n, "H": hw, "W": hw}
    d = parse("GConv(M)+PWGConv(N)")
    assert R.predict(d, vals, prof) == pytest.approx(by_hand, rel=1e-12)
    assert float(R.predictor(d, prof)(**vals)) == pytest.approx(by_hand, rel=1e-12)
    assert R.predict(d, vals, prof.global_only()) == pytest.approx(
        by_hand_gconv_pwgconv(c, f, m, n, hw), rel=1e-12
    )


def test_profile_kinds_round_trip_and_bad_kinds(tmp_path):
    prof = P.Profile("kinds", 2e10, 1e10, 1e-5, kinds=KINDS)
    path = tmp_path / "k.json"
    path.write_text(json.dumps(P.profile_dict(prof)))
    assert P.load_profile(str(path)) == prof and prof.constants("pwgconv") == (2e10, 1e10, 3e-5)
    for bad, needle in (
        ({"warp": {"overhead_s": 1}}, "kind 'warp' is unknown; valid: conv, pw"),
        ({"dw": {"latency": 1}}, "kinds.dw may give only"),
        ({"dw": {"overhead_s": -1}}, "kinds.dw.overhead_s = -1 must be a positive number"),
    ):
        with pytest.raises(SkanalyzeError, match=re.escape(needle)):
            P.profile_from_dict({**P.profile_dict(prof), "kinds": bad})


@pytest.mark.slow
def test_a_per_kind_latency_search_keeps_its_brute_force():
    """optimize --latency with per-kind constants: the scan's bound stays a lower bound (the brute force over
    every C up to 160 and every full-field pair, timed by predict, finds the same width)."""
    prof = P.Profile("kinds", 2e10, 1e10, 1e-5, kinds=KINDS)
    d, hw, budget = parse("GConv(M)+PWGConv(N)"), 14, 150e-6
    best = None
    for c in range(1, 161):
        for m in (g for g in range(1, c + 1) if c % g == 0):
            for n in (g for g in range(1, c + 1) if c % g == 0 and m * g <= c):
                t = R.predict(d, {"C": c, "F": c, "M": m, "N": n, "H": hw, "W": hw}, prof)
                if t <= budget and (best is None or c > best):
                    best = c
    assert best is not None and best < 160
    assert R.widest_within(d, Fraction(150, 10**6), prof, hw).values["C"] == best


def test_efficiency_at_with_a_profile_ranks_by_time_by_hand(cli, tmp_path):
    """`efficiency --at C=64 --profile P --hw 28`: the fewest-params configuration's time, the standard conv's,
    and the fastest of every full-field pair (M*N <= C, both dividing 64), all written out by hand."""
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P.profile_dict(PROFILE)))
    code, out, _ = cli(
        "efficiency", "gconv-pwgconv", "--at", "C=64", "--profile", str(path), "--hw", "28", "--json"
    )
    assert code == 0
    lat = json.loads(out)["at"]["latency"]
    c, hw = 64, 28
    standard = max(9 * c * c * hw * hw / 2e10, 4 * (2 * c * hw * hw + 9 * c * c) / 1e10) + 1e-5
    assert lat["standard_s"] == pytest.approx(standard, rel=1e-12)
    few = lat["fewest_params"]
    assert few["groups"] == {"M": 32, "N": 2}
    assert few["predicted_s"] == pytest.approx(by_hand_gconv_pwgconv(c, c, 32, 2, hw), rel=1e-12)
    pairs = [
        (m, n) for m in range(1, 65) for n in range(1, 65) if 64 % m == 0 and 64 % n == 0 and m * n <= 64
    ]
    fastest = min(by_hand_gconv_pwgconv(c, c, m, n, hw) for m, n in pairs)
    assert lat["fastest"]["predicted_s"] == pytest.approx(fastest, rel=1e-12)
    assert lat["slower_than_standard"] == (few["predicted_s"] > standard)
    code, _, err = cli("efficiency", "gconv-pwgconv", "--profile", str(path))
    assert code == 2 and "give --at C=64 --profile P --hw 28" in err


def test_the_time_as_a_closed_form_is_the_roofline_by_hand(cli, tmp_path):
    """`formulas --profile P`: a closed form in C, F, H, W and the group numbers, a Max per layer with a
    compute side (piecewise where a layer crosses the ridge); at concrete values it is the roofline written
    out by hand (to its 4 significant digits), with the global constants and with per-kind ones."""
    import sympy as sp

    from skanalyze.core import symbols as S

    d = parse("GConv(M)+PWGConv(N)")
    vals = {S.C: 64, S.F: 128, S.M: 8, S.N: 4, S.H: 14, S.W: 14}
    expr = R.time_expression(d, PROFILE)
    assert expr.has(sp.Max) and expr.free_symbols == {S.C, S.F, S.M, S.N, S.H, S.W}
    assert float(expr.subs(vals)) == pytest.approx(by_hand_gconv_pwgconv(64, 128, 8, 4, 14), rel=2e-3)
    kinds = P.Profile("kinds", 2e10, 1e10, 1e-5, kinds=KINDS)
    hand = R.predict(
        d, {str(k): v for k, v in vals.items()}, kinds
    )  # by hand in test_per_kind_constants_by_hand
    assert float(R.time_expression(d, kinds).subs(vals)) == pytest.approx(hand, rel=2e-3)
    assert float(R.time_expression(d, PROFILE, batch=3).subs(vals)) == pytest.approx(
        by_hand_gconv_pwgconv(64, 128, 8, 4, 14, batch=3), rel=2e-3
    )
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P.profile_dict(PROFILE)))
    code, out, _ = cli("formulas", "gconv-pwgconv", "--profile", str(path))
    assert code == 0 and "time (test, batch 1)" in out and "Max(" in out
    code, _, err = cli("formulas", "--batch", "2")
    assert code == 2 and "--batch belongs to --profile" in err
    code, _, err = cli("formulas", "--profile", str(path), "--format", "python")
    assert code == 2 and "needs pretty, text, latex or json" in err


CURVED = {
    "gconv": {"overhead_s": 5e-5, "peak_macs_per_s": 1e10, "channels_half": 12.0, "positions_half": 50.0},
    "pwgconv": {"overhead_s": 3e-5, "channels_half": 6.0},
    "shuffle": {"overhead_s": 2e-6, "bandwidth_bytes_per_s": 3e10},
}


@pytest.mark.parametrize("batch", [1, 3])
def test_compute_curves_by_hand(batch):
    """A kind's compute curve: its MAC rate is peak * c / (c + c_half) * n / (n + n_half), c the layer's input
    channels per group, n its output positions (batch x h x w); written out here for GConv(M)+PWGConv(N),
    exactly, vectorised, and as the closed form (to its four significant digits)."""
    from skanalyze.core import symbols as S

    prof = P.Profile("curves", 2e10, 1e10, 1e-5, kinds=CURVED)
    c, f, m, n, hw = 64, 128, 8, 4, 14
    e, a = 4, batch * hw * hw

    def rate(peak, c_half, n_half, ch, pos):
        return peak * ch / (ch + c_half) * pos / (pos + n_half)

    layers = [  # (MACs, bytes, rate, bandwidth, overhead)
        (9 * c * (c // m) * a, e * (2 * c * a + 9 * c * (c // m)), rate(1e10, 12, 50, c // m, a), 1e10, 5e-5),
        (0, e * 2 * c * a, 1, 3e10, 2e-6),
        (f * (c // n) * a, e * ((c + f) * a + f * (c // n)), rate(2e10, 6, 0, c // n, a), 1e10, 3e-5),
    ]
    by_hand = sum(max(mac / r, b / bw) + o for mac, b, r, bw, o in layers)
    vals = {"C": c, "F": f, "M": m, "N": n, "H": hw, "W": hw}
    d = parse("GConv(M)+PWGConv(N)")
    assert R.predict(d, vals, prof, batch) == pytest.approx(by_hand, rel=1e-12)
    assert float(R.predictor(d, prof, batch)(**vals)) == pytest.approx(by_hand, rel=1e-12)
    expr = R.time_expression(d, prof, batch)
    assert float(expr.subs({S.by_name[k]: v for k, v in vals.items()})) == (pytest.approx(by_hand, rel=2e-3))
    # no curve: the flat peak (the same profile with the curve constants dropped)
    flat = P.Profile("flat", 2e10, 1e10, 1e-5, kinds={k: {c: v for c, v in own.items() if c in P.CONSTANTS}
                                                       for k, own in CURVED.items()})  # fmt: skip
    assert R.predict(d, vals, flat, batch) < by_hand


def test_solve_curve_recovers_the_constants_it_was_given():
    """Calibration's three layers, timed by the curve written out here with known constants, give the
    constants back (the inverse of the forward formula)."""
    from skanalyze.nn.latency import solve_curve

    peak, c_half, n_half = 8e10, 30.0, 40.0
    wide, narrow, size, small = 160, 20, 400, 25

    def per_mac(ch, pos):
        return 1 / (peak * ch / (ch + c_half) * pos / (pos + n_half))

    got = solve_curve(
        {"wide": per_mac(wide, size), "narrow": per_mac(narrow, size), "small": per_mac(wide, small)},
        wide, narrow, size, small,
    )  # fmt: skip
    assert got["peak_macs_per_s"] == pytest.approx(peak, rel=1e-12)
    assert got["channels_half"] == pytest.approx(c_half, rel=1e-12)
    assert got["positions_half"] == pytest.approx(n_half, rel=1e-12)
    # the narrow layer at other positions than the wide one (calibration's: 80 x 80 against 20 x 20)
    at = 6400
    got = solve_curve(
        {"wide": per_mac(wide, size), "narrow": per_mac(narrow, at), "small": per_mac(wide, small)},
        wide, narrow, size, small, at,
    )  # fmt: skip
    assert [got[k] for k in ("peak_macs_per_s", "channels_half", "positions_half")] == pytest.approx(
        [peak, c_half, n_half], rel=1e-12
    )
    # a layer that is not slower with fewer channels or positions: no curve, the peak as measured
    flat = solve_curve({"wide": 1e-11, "narrow": 0.9e-11, "small": 1e-11}, wide, narrow, size, small)
    assert flat == {"peak_macs_per_s": 1e11, "channels_half": 0.0, "positions_half": 0.0}


def test_kernel_kinds_of_the_related_families():
    """Each kernel of the catalog has the profile kind its module is: the related families' own kinds."""
    from skanalyze.core.kernels import SCC, SSC, Line

    assert P.kernel_kind(SSC(g=4)) == "ssc"
    assert P.kernel_kind(SCC()) == "scc" and P.kernel_kind(SCC(mode="channel")) == "scc-channel"
    assert P.kernel_kind(Line()) == "line" and P.kernel_kind(Line(orient="filter")) == "line-learned"
    assert {P.kernel_kind(k) for k in parse("PW+DW+GConv(2)+PWGConv(2)+Conv").kernels} == {
        "pw", "dw", "gconv", "pwgconv", "conv",
    }  # fmt: skip
    assert set(P.KERNEL_KINDS.values()) <= set(P.KINDS)


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"gconv": {"channels_half": -1}}, "kinds.gconv.channels_half = -1 must be a positive number or 0"),
        (
            {"gconv": {"positions_half": "x"}},
            "kinds.gconv.positions_half = 'x' must be a positive number or 0",
        ),
        ({"gconv": {"overhead_s": 0}}, "kinds.gconv.overhead_s = 0 must be a positive number"),
        ({"gconv": {"channels_half": True}}, "must be a positive number or 0"),
    ],
)
def test_bad_curve_constants(bad, needle):
    prof = P.Profile("curves", 2e10, 1e10, 1e-5, kinds=CURVED)
    assert P.profile_from_dict(P.profile_dict(prof)) == prof
    assert P.profile_from_dict({**P.profile_dict(prof), "kinds": {"gconv": {"channels_half": 0}}}).curve(
        "gconv"
    ) == (0, 0.0)
    with pytest.raises(SkanalyzeError, match=re.escape(needle)):
        P.profile_from_dict({**P.profile_dict(prof), "kinds": bad})


def test_device_show_prints_each_kinds_curve(cli, tmp_path):
    path = tmp_path / "curves.json"
    path.write_text(json.dumps(P.profile_dict(P.Profile("curves", 2e10, 1e10, 1e-5, kinds=CURVED))))
    code, out, _ = cli("device", "show", str(path))
    assert code == 0
    assert (
        "gconv:        overhead 50 us, peak 10 GMAC/s, half rate at 12 channels per group, 50 positions"
        in out
    )
    assert "pwgconv:      overhead 30 us, half rate at 6 channels per group, 0 positions" in out
    assert "half rate" not in next(line for line in out.splitlines() if line.strip().startswith("shuffle:"))


def test_no_layer_computes_faster_than_the_profiles_peak():
    """A kind's curve may have its asymptote above the profile's own peak (pw here: 4e10 against 2e10); a layer
    then computes at min(profile peak, peak * c / (c + c_half)), written out here for a wide and a narrow
    pointwise conv, exactly, vectorised and as the closed form."""
    from skanalyze.core import symbols as S

    prof = P.Profile(
        "capped", 2e10, 1e10, 1e-5, kinds={"pw": {"peak_macs_per_s": 4e10, "channels_half": 100.0}}
    )
    d = parse("PW")
    for c in (1000, 50):  # the cap binds at 1000 channels (3.6e10 > 2e10), not at 50 (1.33e10)
        vals = {"C": c, "F": c, "H": 7, "W": 7}
        macs, nbytes = c * c * 49, 4 * (2 * c * 49 + c * c)
        rate = min(2e10, 4e10 * c / (c + 100))
        by_hand = max(macs / rate, nbytes / 1e10) + 1e-5
        assert R.predict(d, vals, prof) == pytest.approx(by_hand, rel=1e-12)
        assert float(R.predictor(d, prof)(**vals)) == pytest.approx(by_hand, rel=1e-12)
        expr = R.time_expression(d, prof)
        assert float(expr.subs({S.by_name[k]: v for k, v in vals.items()})) == pytest.approx(
            by_hand, rel=2e-3
        )
    assert R.predict(d, {"C": 1000, "F": 1000, "H": 7, "W": 7}, prof) > R.predict(
        d, {"C": 1000, "F": 1000, "H": 7, "W": 7}, replace(prof, peak_macs_per_s=4e10)
    )


def test_a_grouped_kinds_fixed_cost_grows_with_its_groups():
    """kinds.K.overhead_per_group_s: a layer of g groups has the fixed cost overhead_s + g x it, written out
    here for GConv(M)+PWGConv(N) (its shuffle and group conv at the global constants), exactly, vectorised and
    in the closed form, at two group numbers."""
    from skanalyze.core import symbols as S

    kinds = {"pwgconv": {"overhead_s": 5e-6, "overhead_per_group_s": 2e-6}}
    prof = P.Profile("groups", 2e10, 1e10, 1e-5, kinds=kinds)
    d = parse("GConv(M)+PWGConv(N)")
    c, hw, e = 64, 14, 4
    for n in (2, 16):
        vals = {"C": c, "F": c, "M": 4, "N": n, "H": hw, "W": hw}
        a = hw * hw
        layers = [  # (MACs, bytes, overhead): GConv(4), the shuffle, PWGConv(n)
            (9 * c * (c // 4) * a, e * (2 * c * a + 9 * c * (c // 4)), 1e-5),
            (0, e * 2 * c * a, 1e-5),
            (c * (c // n) * a, e * (2 * c * a + c * (c // n)), 5e-6 + n * 2e-6),
        ]
        by_hand = sum(max(mac / 2e10, b / 1e10) + o for mac, b, o in layers)
        assert R.predict(d, vals, prof) == pytest.approx(by_hand, rel=1e-12)
        assert float(R.predictor(d, prof)(**vals)) == pytest.approx(by_hand, rel=1e-12)
        expr = R.time_expression(d, prof)
        assert float(expr.subs({S.by_name[k]: v for k, v in vals.items()})) == pytest.approx(
            by_hand, rel=2e-3
        )
    assert "2.0e-6*N" in str(R.time_expression(d, prof))  # the per-group cost, in the closed form


def test_per_group_cost_from_two_tiny_layers():
    """Calibration's two tiny layers (2 and 16 groups), timed here by a known base + g x per-group cost, give
    both back; times that fall with the groups give no per-group constants."""
    from skanalyze.nn.latency import GROUP_PROBES, per_group_cost

    own, times = per_group_cost("PWGConv", lambda text, values: 7e-6 + 3e-6 * int(text.split("(")[1][:-1]))
    assert own == {"overhead_s": pytest.approx(7e-6), "overhead_per_group_s": pytest.approx(3e-6)}
    assert set(times) == set(GROUP_PROBES)
    own, _ = per_group_cost("PWGConv", lambda text, values: 1e-4 - 1e-6 * int(text.split("(")[1][:-1]))
    assert own == {}


@pytest.mark.parametrize("value, ok", [(0, True), (2e-6, True), (-1e-6, False), ("x", False)])
def test_per_group_constant_is_checked(value, ok):
    """overhead_per_group_s may be 0 or positive (a layer of 4 groups then costs overhead_s + 4 x it); anything
    else is a one-line error naming the key."""
    data = {
        **P.profile_dict(P.Profile("t", 1e10, 1e10, 1e-5)),
        "kinds": {"pwgconv": {"overhead_per_group_s": value}},
    }
    if ok:
        assert P.profile_from_dict(data).overhead("pwgconv", 4) == pytest.approx(1e-5 + 4 * value)
    else:
        with pytest.raises(SkanalyzeError, match="overhead_per_group_s .* must be a positive number or 0"):
            P.profile_from_dict(data)
