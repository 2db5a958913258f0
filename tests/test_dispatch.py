"""A group conv runs the kernel its channels per group allow: oneDNN's own word for it, the profile's dispatch,
the predictions that follow it (written out by hand), and calibration at a batch."""

from fractions import Fraction

import numpy as np
import pytest

from skanalyze.analyses import profiles as P
from skanalyze.analyses import roofline as R
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError

DISPATCHED = {
    "gconv": {"overhead_s": 5e-5, "peak_macs_per_s": 1e10, "channels_multiple": 4},
    "gconv-gemm": {"overhead_s": 3e-5, "bandwidth_bytes_per_s": 1e9, "overhead_per_group_s": 1e-6},
    "dw": {"overhead_s": 4e-5, "bandwidth_bytes_per_s": 8e9},
}
PROFILE = P.Profile("dispatched", 2e10, 1e10, 1e-5, kinds=DISPATCHED)


def by_hand(c, m, n, hw, batch=1):
    """GConv(M)+PWGConv(N) at F = C written out: the group conv with the constants of the kernel its c / m channels
    per group run (1: depthwise; not a multiple of 4: one product per group; else the direct kernel), the shuffle
    and the pointwise group conv at the global constants."""
    e, a, per_group = 4, batch * hw * hw, c // m
    gconv_macs, gconv_bytes = 9 * c * per_group * a, e * (2 * c * a + 9 * c * per_group)
    if per_group == 1:
        first = max(gconv_macs / 2e10, gconv_bytes / 8e9) + 4e-5
    elif per_group % 4:
        first = max(gconv_macs / 2e10, gconv_bytes / 1e9) + 3e-5 + m * 1e-6
    else:
        first = max(gconv_macs / 1e10, gconv_bytes / 1e10) + 5e-5
    shuffle = e * 2 * c * a / 1e10 + 1e-5
    pwgconv = max(c * (c // n) * a / 2e10, e * (2 * c * a + c * (c // n)) / 1e10) + 1e-5
    return first + shuffle + pwgconv


def test_the_kernel_each_channel_count_takes():
    assert [PROFILE.kind_at("gconv", c) for c in (1, 2, 3, 4, 6, 8, 12)] == [
        "dw", "gconv-gemm", "gconv-gemm", "gconv", "gconv-gemm", "gconv", "gconv",
    ]  # fmt: skip
    assert PROFILE.kind_at("pwgconv", 3) == "pwgconv" and PROFILE.kind_at("conv", 1) == "conv"
    no_gemm = P.Profile("n", 2e10, 1e10, 1e-5, kinds={"gconv": DISPATCHED["gconv"]})
    assert [no_gemm.kind_at("gconv", c) for c in (1, 3, 4)] == ["dw", "gconv", "gconv"]
    flat = P.Profile("flat", 2e10, 1e10, 1e-5)  # no kinds: every kernel takes the global constants
    assert flat.dispatch("gconv") == [] and flat.kind_at("gconv", 1) == "gconv"


@pytest.mark.parametrize("batch", [1, 8])
def test_dispatched_predictions_by_hand(batch):
    """Exactly, vectorised over all the group numbers at once, and as the closed form (a Piecewise on C/M, to
    its four significant digits), at every kernel's channel counts."""
    import sympy as sp

    d = parse("GConv(M)+PWGConv(N)")
    c, n, hw = 48, 2, 14
    ms = [48, 24, 16, 12, 8, 6, 4]  # 1, 2, 3, 4, 6, 8, 12 channels per group
    want = [by_hand(c, m, n, hw, batch) for m in ms]
    got = [R.predict(d, {"C": c, "F": c, "M": m, "N": n, "H": hw, "W": hw}, PROFILE, batch) for m in ms]
    assert got == pytest.approx(want, rel=1e-12)
    grid = R.predictor(d, PROFILE, batch)(C=c, F=c, M=np.array(ms), N=n, H=hw, W=hw)
    assert list(grid) == pytest.approx(want, rel=1e-12)
    expr = R.time_expression(d, PROFILE, batch)
    assert expr.has(sp.Piecewise) and expr.has(sp.Mod)
    for m, w in zip(ms, want, strict=True):
        vals = {S.C: c, S.F: c, S.M: m, S.N: n, S.H: hw, S.W: hw}
        assert float(expr.subs(vals)) == pytest.approx(w, rel=2e-3)
    # the three kernels differ here: a dispatch that is ignored would fail above
    assert len({round(w / by_hand(c, ms[0], n, hw, batch), 6) for w in want}) == len(want)


def test_a_latency_search_over_dispatched_kernels_keeps_its_brute_force():
    """The widest GConv(M)+PWGConv(N) within 120 µs at 14 x 14: every C up to 120 and every pair of group numbers
    that divide it with a full field (M * N <= C), timed by the hand-written roofline above."""
    budget, hw = 120e-6, 14
    best = None
    for c in range(1, 121):
        for m in (g for g in range(1, c + 1) if c % g == 0):
            for n in (g for g in range(1, c + 1) if c % g == 0 and m * g <= c):
                t = by_hand(c, m, n, hw)
                if t <= budget and (best is None or (c, -t) > (best[0], -best[1])):
                    best = (c, t, m, n)
    assert best is not None and best[0] < 120  # the budget binds inside the brute-force range
    found = R.widest_within(parse("GConv(M)+PWGConv(N)"), Fraction(120, 10**6), PROFILE, hw)
    assert found.values["C"] == best[0]
    assert found.predicted_s == pytest.approx(best[1], rel=1e-12)


@pytest.mark.parametrize(
    "kinds, needle",
    [
        (
            {"gconv": {"channels_multiple": -4}},
            "kinds.gconv.channels_multiple = -4 must be a whole number >= 0",
        ),
        ({"gconv": {"channels_multiple": 2.5}}, "kinds.gconv.channels_multiple = 2.5 must be a whole number"),
        (
            {"gconv": {"channels_multiple": True}},
            "kinds.gconv.channels_multiple = True must be a whole number",
        ),
        ({"pwgconv": {"channels_multiple": 4}}, "kinds.pwgconv may give only"),
        ({"gconv-gemm": {"overhead_s": -1}}, "kinds.gconv-gemm.overhead_s = -1 must be a positive number"),
    ],
)
def test_bad_dispatch_constants(kinds, needle):
    data = {**P.profile_dict(P.Profile("t", 1e10, 1e10, 1e-5)), "kinds": kinds}
    with pytest.raises(SkanalyzeError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        P.profile_from_dict(data)


def test_dispatch_round_trips_through_json():
    back = P.profile_from_dict(P.profile_dict(PROFILE))
    assert back == PROFILE and back.kinds["gconv"]["channels_multiple"] == 4
    assert isinstance(back.kinds["gconv"]["channels_multiple"], int)


def test_direct_multiple_from_kernel_names():
    pytest.importorskip("torch")
    from skanalyze.nn.dispatch import direct_multiple

    def names(direct):
        return {c: ("jit:avx512_core" if direct(c) else "x64:gemm:jit") for c in range(2, 17)}

    assert direct_multiple(names(lambda c: c % 4 == 0)) == 4
    assert direct_multiple(names(lambda c: c % 8 == 0)) == 8
    assert direct_multiple(names(lambda c: True)) == 0  # every count direct: nothing to split
    assert direct_multiple(names(lambda c: c in (4, 8, 9))) == 0  # no multiple says it
    assert direct_multiple({}) == 0


def test_onednn_names_the_kernel_and_the_gemm_kernel_is_slower():
    """oneDNN's own verbose log names the kernel of each channel count; the counts it runs on its matrix-product
    kernel are several times slower per MAC here than the direct ones (measured: the same C and positions)."""
    torch = pytest.importorskip("torch")
    from skanalyze.nn import time_module
    from skanalyze.nn.dispatch import direct_multiple, group_conv_kernels

    kernels = group_conv_kernels()
    if not kernels:
        pytest.skip("torch does not run convolutions on oneDNN here")
    assert set(kernels) == set(range(2, 17))
    m = direct_multiple(kernels)
    direct = sorted(c for c, name in kernels.items() if "gemm" not in name)
    if not m:
        pytest.skip(f"no channel multiple splits oneDNN's kernels here ({kernels})")
    assert direct == [c for c in range(2, 17) if c % m == 0]
    slow = next(c for c in range(2, 17) if c % m)
    c = 96 // (slow * m) * slow * m  # a width both counts divide
    per_mac = {}
    for per_group in (slow, m):
        conv = torch.nn.Conv2d(c, c, 3, padding=1, groups=c // per_group, bias=False)
        t = time_module(conv, (1, c, 20, 20), warmup=3, repeats=15).median_s
        per_mac[per_group] = t / (9 * c * per_group * 400)
    assert per_mac[slow] > 1.5 * per_mac[m]


@pytest.mark.slow
def test_calibration_at_a_batch():
    """`device calibrate --batch 2`: the micro-benchmarks run at batch 2 (the peak is batch x the conv's MACs over
    its time), the profile says so, and a group conv's kernels are split where oneDNN splits them."""
    pytest.importorskip("torch")
    from skanalyze.nn import calibrate
    from skanalyze.nn.dispatch import direct_multiple, group_conv_kernels

    p = calibrate(threads=1, quick=True, batch=2)
    conv = p.details["dense_conv"]
    assert p.details["batch"] == 2
    assert p.peak_macs_per_s == pytest.approx(
        2 * 9 * conv["channels"] ** 2 * conv["size"] ** 2 / conv["median_s"]
    )
    m = direct_multiple(group_conv_kernels())
    assert p.kinds["gconv"].get("channels_multiple", 0) == m
    assert ("gconv-gemm" in p.kinds) == bool(m)
    assert p.details["kinds"]["gconv"]["kernels"] == {str(k): v for k, v in group_conv_kernels().items()}


def test_calibrate_batch_flag(cli):
    code, _, err = cli("device", "show", "h100-sxm-datasheet", "--batch", "8")
    assert code == 2 and "--batch is an option of device calibrate, not device show" in err
    code, _, err = cli("device", "calibrate", "--batch", "0")
    assert code == 2 and "batch 0 must be a positive integer" in err


def test_device_show_says_which_kernel_a_group_conv_runs(cli, tmp_path):
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps({**P.profile_dict(PROFILE), "details": {"calibrated": True, "batch": 8}}))
    code, out, _ = cli("device", "show", str(path))
    assert code == 0
    assert (
        "gconv:        overhead 50 us, peak 10 GMAC/s, direct kernel at multiples of 4 channels per group"
        in out
    )
    assert "gconv-gemm:   overhead 30 us, + 1 us per group, bandwidth 1 GB/s" in out
    assert "batch 8" in out
