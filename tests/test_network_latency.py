"""`network --latency`: a whole network's roofline prediction, checked against the layers of the torch network
(hooks record every conv's, linear's and shuffle's MACs and tensors; the roofline is written out here), and the
widest-network search against a brute force over widths and group numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import product

import pytest

from skanalyze.analyses import network_latency as NL
from skanalyze.analyses import profiles as P
from skanalyze.analyses.layout import PAPER_LAYOUT
from skanalyze.analyses.network import evaluate, full_field_ok, network
from skanalyze.core import symbols as S
from skanalyze.core.catalog import get
from skanalyze.core.errors import SkanalyzeError
from skanalyze.core.exact import divisors

PROFILE = P.profile_from_dict(
    {
        "name": "toy",
        "peak_macs_per_s": 2e10,
        "bandwidth_bytes_per_s": 1e10,
        "overhead_s": 1e-5,
        "element_bytes": 4,
        "source": "test",
    }
)
SMALL = replace(PAPER_LAYOUT, input_size=64, classes=10)


def brute_widest(design, layout, seconds, widths):
    """The greatest width in `widths` with any dividing, buildable, full-field group numbers predicted to fit."""
    net = network(design, layout)
    syms = design.group_symbols
    best = None
    for w in widths:
        for combo in product(divisors(w), repeat=len(syms)):
            groups = dict(zip(syms, combo, strict=True))
            try:
                evaluate(net, w, groups)
            except SkanalyzeError:
                continue
            if full_field_ok(net, w, groups) and NL.network_time(net, w, groups, PROFILE) <= seconds:
                best = w
                break
    return best


# gconv-pwgconv at a budget whose widest network is narrow: its brute force over every pair of dividing group
# numbers costs seconds per width (the oracle is unchanged, its size is what runs in seconds)
@pytest.mark.slow
@pytest.mark.parametrize("name, seconds", [("dw-pw", 2e-3), ("gconv-pwgconv", 4e-4), ("pw-dw-pw", 1e-3)])
def test_widest_network_is_the_brute_force_one(name, seconds):
    design = get(name)
    found = NL.widest_network_within(design, SMALL, seconds, PROFILE)
    assert found.predicted_s <= seconds
    # the greatest fitting width of a window that starts at the answer: it fits, and nothing wider in the
    # window does (so a search that stops too early or too late both fail)
    assert found.width == brute_widest(design, SMALL, seconds, range(found.width, found.width + 24))
    net = network(design, SMALL)
    groups = {S.by_name[k]: v for k, v in found.groups.items()}
    assert found.predicted_s == pytest.approx(NL.network_time(net, found.width, groups, PROFILE), rel=1e-12)


def test_an_unreachable_latency_is_one_error():
    with pytest.raises(SkanalyzeError, match="even width 1 needs"):
        NL.widest_network_within(get("dw-pw"), SMALL, 1e-6, PROFILE)


@pytest.mark.parametrize(
    "args, needle",
    [
        (
            ("network", "dw-pw", "--profile", "h100-sxm-datasheet", "--width", "8"),
            "--profile belongs to a latency",
        ),
        (("network", "dw-pw", "--batch", "2", "--width", "8"), "--batch belongs to a latency"),
        (("network", "dw-pw", "--latency", "2ms", "--budget", "1M", "--profile", "x"), "contradict"),
        (("network", "dw-pw", "--latency", "2ms"), "needs a device profile"),
        (("network", "dw-pw", "--latency", "1ns", "--profile", "h100-sxm-datasheet"), "even width 1 needs"),
        (("network", "dw-pw", "--latency", "-1ms", "--profile", "h100-sxm-datasheet"), "must be positive"),
        (("network", "dw-pw", "--latency", "2ms", "--profile", "nope"), "shipped profile"),
    ],
)
def test_bad_input_is_one_line(cli, args, needle):
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_cli_network_latency_json(cli, tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(P.profile_dict(PROFILE)))
    code, out, _ = cli(
        "network", "gconv-pwgconv", "--latency", "2ms", "--profile", str(path), "--resolution", "64",
        "--classes", "10", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    found = NL.widest_network_within(get("gconv-pwgconv"), SMALL, 2e-3, PROFILE)
    assert doc["width"] == found.width and doc["groups"] == found.groups
    assert doc["predicted_s"] == pytest.approx(found.predicted_s) and doc["latency_budget_s"] == 2e-3


torch = pytest.importorskip("torch")


def hand_roofline(module, shape, profile):
    """Every conv, linear and channel shuffle of a torch network, timed on the roofline written out here:
    max(MACs / peak, bytes / bandwidth) + overhead, bytes = element size x (input + weights + output)."""
    from skanalyze.nn.modules import ChannelShuffle

    total = []

    def hook(mod, inputs, output):
        x = inputs[0]
        weights = sum(p.numel() for p in mod.parameters(recurse=False))
        if isinstance(mod, torch.nn.Conv2d):
            macs = mod.weight.numel() * output.shape[2] * output.shape[3]
            weights = mod.weight.numel()  # bias-free convs
        elif isinstance(mod, torch.nn.Linear):
            macs = mod.weight.numel()
        else:
            macs = 0
        moved = profile.element_bytes * (x.numel() + weights + output.numel())
        total.append(
            max(macs / profile.peak_macs_per_s, moved / profile.bandwidth_bytes_per_s) + profile.overhead_s
        )

    for m in module.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, ChannelShuffle)):
            m.register_forward_hook(hook)
    with torch.inference_mode():
        module(torch.zeros(shape))
    return sum(total)


@pytest.mark.parametrize(
    "name, width, groups",
    [
        ("dw-pw", 16, {}),
        ("gconv-pwgconv", 16, {"M": 4, "N": 2}),
        ("shufflenet-v1", 64, {}),
        ("pw-dw-pw", 8, {}),
    ],
)
def test_network_time_against_the_torch_layers(name, width, groups):
    from skanalyze.nn import build_network

    design = get(name)
    net = network(design, SMALL)
    g = {S.by_name[k]: v for k, v in groups.items()}
    module = build_network(net, width, g).eval()
    expected = hand_roofline(module, (1, 3, 64, 64), PROFILE)
    assert NL.network_time(net, width, g, PROFILE) == pytest.approx(expected, rel=1e-9)


KINDS = replace(
    PROFILE,
    kinds={
        "dw": {"overhead_s": 5e-5, "bandwidth_bytes_per_s": 3e9},
        "pw": {"overhead_s": 8e-6, "peak_macs_per_s": 3e10},
        "conv": {"overhead_s": 2e-5},
        "linear": {"bandwidth_bytes_per_s": 2e10},
    },
)


@pytest.mark.slow
def test_widest_network_with_per_kind_constants_is_the_brute_force_one():
    """Per-kind constants change every layer's time: the search's bound (the kinds' extremes) must stay a lower
    bound, so the answer is still the greatest fitting width of a window that starts at it; every width it
    tried is reported (the progress bar's steps)."""
    design, seconds, steps = get("dw-pw"), 2e-3, []
    found = NL.widest_network_within(design, SMALL, seconds, KINDS, on_step=lambda *a: steps.append(a))
    net = network(design, SMALL)
    assert found.predicted_s <= seconds and len(steps) == found.widths_searched
    best = None
    for w in range(found.width, found.width + 24):
        if NL.network_time(net, w, {}, KINDS) <= seconds:
            best = w
    assert best == found.width
    assert NL.network_time(net, found.width, {}, KINDS) != NL.network_time(net, found.width, {}, PROFILE)
