"""A layer's cost in a network over alone: its tensors read and written out of the cache. Oracles: a model
whose data flow is written out by hand (which tensor each layer reads, who wrote it, which write is in place),
the profile's rates applied by hand, and the ring probes' buffers and arithmetic checked call by call."""

from __future__ import annotations

import json
import re

import pytest

from skanalyze.analyses import profiles as P
from skanalyze.core.errors import SkanalyzeError

torch = pytest.importorskip("torch")

from skanalyze.nn import cold, importer  # noqa: E402
from skanalyze.nn.model_latency import cold_traffic, network_cost, predict_layer, time_model  # noqa: E402
from skanalyze.nn.timing import Timing  # noqa: E402

RATES = {"cold_read_bytes_per_s": 1e9, "cold_write_bytes_per_s": 2e9}
PROFILE = P.Profile("net", 2e10, 1e10, 1e-5, network=RATES)


class Flow(torch.nn.Module):
    """conv -> BN -> in-place ReLU -> conv, a residual sum with the input, a gate, and a concatenation with
    a tensor written four layers earlier."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(4, 8, 1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = torch.nn.Conv2d(8, 4, 3, padding=1, bias=False)
        self.gate = torch.nn.Sigmoid()

    def forward(self, x):
        y = self.relu(self.bn(self.conv1(x)))
        s = self.conv2(y) + x
        return torch.cat([self.gate(s), y], 1)


# (elements read out of the cache, elements written out of the cache) per layer, by hand, at input 1 x 4 x 6 x 6
# (x: 144 elements, y: 288, s: 144): conv1 reads the model's input (cold) and writes 288; BN reads what conv1
# just wrote and writes 288; the in-place ReLU writes into what BN just wrote; conv2 reads y, written by the
# ReLU just before it; the sum reads conv2's output (just written) and x (the input: cold); the gate reads the
# sum; the concatenation reads the gate's output (just written) and y (written by the ReLU, four layers back).
BY_HAND = [
    ("conv", 144, 288),
    ("bn", 0, 288),
    ("act", 0, 0),
    ("conv", 0, 144),
    ("add", 144, 144),
    ("act", 0, 144),
    ("cat", 288, 432),
]


def test_each_layers_cold_traffic_follows_the_data_flow_by_hand():
    layers = importer.from_module(Flow().eval(), (1, 4, 6, 6)).layers
    assert [(lay.kind, *(n // 4 for n in cold_traffic(lay, 4))) for lay in layers] == BY_HAND
    assert layers[2].detail["inplace"] and not layers[1].detail["inplace"]
    for lay, (_, read, written) in zip(layers, BY_HAND, strict=True):
        by_hand = 4 * read / RATES["cold_read_bytes_per_s"] + 4 * written / RATES["cold_write_bytes_per_s"]
        assert network_cost(lay, PROFILE) == pytest.approx(by_hand, rel=1e-12)
        assert network_cost(lay, PROFILE.global_only()) == 0.0  # no rates: a layer costs what it costs alone


def test_model_latency_adds_the_network_cost_to_the_layers_alone():
    model = Flow().eval()
    layers = importer.from_module(model, (1, 4, 6, 6)).layers
    data = time_model(model, (1, 4, 6, 6), layers, profile=PROFILE, repeats=2, warmup=1, threads=1)
    alone = sum(predict_layer(lay, PROFILE) for lay in layers)
    read, written = sum(r for _, r, _ in BY_HAND), sum(w for _, _, w in BY_HAND)
    extra = 4 * read / 1e9 + 4 * written / 2e9
    assert data["predicted_alone_s"] == pytest.approx(alone, rel=1e-12)
    assert data["predicted_s"] == pytest.approx(alone + extra, rel=1e-12)


def test_a_layer_the_trace_has_no_reads_for_counts_all_its_traffic():
    (lay,) = importer.from_module(torch.nn.Conv2d(4, 8, 1, bias=False), (1, 4, 6, 6)).layers
    del lay.detail["reads"]
    assert cold_traffic(lay, 4) == (4 * 144, 4 * 288)


def test_the_network_rates_round_trip_and_bad_ones_are_named(tmp_path):
    path = tmp_path / "n.json"
    path.write_text(json.dumps(P.profile_dict(PROFILE)))
    assert P.load_profile(str(path)) == PROFILE and P.load_profile(str(path)).network == RATES
    assert "network" not in P.profile_dict(PROFILE.global_only())
    for bad, needle in (
        ({"cold_read_bytes_per_s": 0}, "network.cold_read_bytes_per_s = 0 must be a positive number"),
        ({"cold_write_bytes_per_s": "fast"}, "network.cold_write_bytes_per_s = 'fast' must be a positive"),
        ({"warm_bytes_per_s": 1e9}, "network may give only cold_read_bytes_per_s, cold_write_bytes_per_s"),
        ([1e9], "network may give only"),
    ):
        with pytest.raises(SkanalyzeError, match=re.escape(needle)):
            P.profile_from_dict({**P.profile_dict(PROFILE), "network": bad})


def test_the_ring_probes_take_buffers_in_turn_and_solve_the_rates(monkeypatch):
    """Each probe's clamp calls, recorded: the warm one reuses one input and one output, the write ring a new
    output each call, the read ring a new input each call; the rates are bytes over the extra time."""
    calls: list[list] = []
    real_clamp = torch.clamp

    def clamp(a, *args, out=None, **kwargs):
        calls[-1].append((a.data_ptr(), out.data_ptr()))
        return real_clamp(a, *args, out=out, **kwargs)

    seconds = iter([1e-3, 5e-3, 2e-3])  # one round of each ring: warm, outputs in turn, inputs in turn

    def fake_time_call(fn, *, warmup, repeats, device):
        calls.append([])
        fn()
        return Timing(*(next(seconds),) * 3, repeats)

    monkeypatch.setattr(torch, "clamp", clamp)
    monkeypatch.setattr(cold, "time_call", fake_time_call)
    constants, measured = cold.cold_constants(1, torch.device("cpu"))
    count = cold.RING_BYTES // (4 * cold.SAMPLE_ELEMENTS)
    warm, write, read = calls
    assert len(warm) == len(write) == len(read) == count == measured["ring"]
    assert len(set(warm)) == 1
    assert len({o for _, o in write}) == count and len({a for a, _ in write}) == 1
    assert len({a for a, _ in read}) == count and len({o for _, o in read}) == 1
    nbytes = 4 * cold.SAMPLE_ELEMENTS
    assert constants == pytest.approx(
        {
            "cold_write_bytes_per_s": nbytes / ((5e-3 - 1e-3) / count),
            "cold_read_bytes_per_s": nbytes / ((2e-3 - 1e-3) / count),
        }
    )


def test_a_ring_no_slower_than_the_warm_op_gives_no_rate(monkeypatch):
    seconds = iter([2e-3, 2e-3, 1e-3])
    monkeypatch.setattr(cold, "time_call", lambda fn, **kw: Timing(*(next(seconds),) * 3, kw["repeats"]))
    assert cold.cold_constants(1, torch.device("cpu"))[0] == {}


def test_cli_model_latency_says_what_the_network_cost_adds(cli, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(P.profile_dict(PROFILE)))
    args = ("model", "examples/models.py:resnet18", "--input", "1x3x32x32", "--latency", "--repeats", "2")
    code, out, _ = cli(*args, "--profile", str(path), "--threads", "1", "--json")
    lat = json.loads(out)["latency"]
    assert code == 0 and 0 < lat["predicted_alone_s"] < lat["predicted_s"]
    code, text, _ = cli(*args, "--profile", str(path), "--threads", "1")
    assert code == 0 and "for tensors read and written out of the cache in the network" in text
    code, out, _ = cli("device", "show", str(path))
    assert (
        code == 0
        and "in a network: + read 1 ms per MB, + written 500 us per MB of tensors out of the cache" in out
    )
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(P.profile_dict(PROFILE.global_only())))
    code, text, _ = cli(*args, "--profile", str(plain), "--threads", "1")
    assert code == 0 and "each layer as if alone: this profile has no network rates" in text
