"""The real zoos (CI's zoo step, in its own venv with torchvision and timm): every torchvision classification
constructor and 30+ timm models, none written here, each against oracles skanalyze does not compute:

- params == sum(p.numel()) of the model;
- 2 x MACs == FlopCounterMode on the same model on meta tensors;
- every --convention == its real peer: FlopCounterMode, ptflops' aten backend and thop on meta tensors; fvcore
  and ptflops' default backend on a real CPU forward (on meta they see torch's own meta kernels), for the
  models up to zoo.SMALL parameters;
- the model is left exactly as it was: every state-dict tensor (device, dtype, shape, values, identity).

With SKANALYZE_ZOO_OUT=FILE each model's row is appended to FILE (JSON lines): benchmarks/zoo_table.py turns
them into the table of docs/model-import.md.
"""

from __future__ import annotations

import json
import os
import re
import time
from functools import cache
from pathlib import Path

import pytest

pytest.importorskip("torchvision", reason="the zoo step needs torchvision: see .ci/run (its own venv)")
pytest.importorskip("timm", reason="the zoo step needs timm: see .ci/run (its own venv)")

from . import zoo  # noqa: E402

torch = pytest.importorskip("torch")

from skanalyze.nn.importer import from_module, report, suggest  # noqa: E402
from skanalyze.nn.peers import convention  # noqa: E402
from skanalyze.render import render  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "model-import.md"


@cache
def documented() -> dict:
    """(zoo, model) -> (params, MACs) as the zoo table of docs/model-import.md prints them."""
    text = DOC.read_text()
    table = text[text.index("<!-- zoo table -->") : text.index("<!-- end zoo table -->")]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 5 and cells[0] in ("torchvision", "timm"):
            rows[(cells[0], cells[1])] = (int(cells[3].replace(",", "")), int(cells[4].replace(",", "")))
    return rows


CASES = [("torchvision", n) for n in zoo.torchvision_names()] + [("timm", n) for n in zoo.TIMM]
META_PEERS = ("torch", "ptflops-aten", "thop")
CPU_PEERS = ("fvcore", "ptflops")


def _check(row: dict, what: str, mine, real) -> None:
    row[what] = "n/a" if isinstance(real, Exception) else ("ok" if mine == real else f"{mine} != {real}")
    if isinstance(real, Exception):
        row[what + "_error"] = f"{type(real).__name__}: {str(real)[:120]}"


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.parametrize("family, name", CASES, ids=[f"{f}:{n}" for f, n in CASES])
def test_zoo_model(family, name):
    start = time.perf_counter()
    model, shape = zoo.build(family, name, "meta")
    numel = sum(p.numel() for p in model.parameters())
    before = zoo.fingerprint(model)
    m = from_module(model, shape)
    assert zoo.fingerprint(model) == before, "from_module changed the model"
    assert m.traced_on == "meta"  # no zoo model needs real values (the fast paths of the trace included)
    row = {"zoo": family, "model": name, "params": m.params, "macs": m.macs, "input": list(shape)}
    flops = zoo.flop_counter(model, shape)
    row["params_ok"], row["flops_ok"] = m.params == numel, 2 * m.macs == flops
    for peer in META_PEERS:
        _check(row, peer, convention(m, peer)["total"], zoo.peer(peer, model, shape))
    if numel <= zoo.SMALL:  # the real forward: fingerprints with values, and the peers that need it
        cpu, _ = zoo.build(family, name, "cpu")
        before = zoo.fingerprint(cpu)
        m_cpu = from_module(cpu, shape)
        assert zoo.fingerprint(cpu) == before, "from_module changed the model's tensors"
        assert (m_cpu.params, m_cpu.macs) == (m.params, m.macs)
        for peer in CPU_PEERS:
            _check(row, peer, convention(m_cpu, peer)["total"], zoo.peer(peer, cpu, shape, "cpu"))
    else:
        row.update({peer: "not run (large)" for peer in CPU_PEERS})
    # the report a user reads, with suggestions: it renders for every zoo model (a transformer has no unit)
    data = report(m, name)
    data["suggestions"] = suggest(m)
    text = render("model", data, "text")
    assert f"total: {numel:,} params" in text and f"design units ({len(data['units'])})" in text
    row["seconds"] = round(time.perf_counter() - start, 2)
    doc = documented().get((family, name))
    out = os.environ.get("SKANALYZE_ZOO_OUT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
    assert row["params_ok"], f"params {m.params:,} != sum(p.numel()) {numel:,}"
    assert row["flops_ok"], f"2 x MACs {2 * m.macs:,} != FlopCounterMode {flops:,}"
    for peer in META_PEERS + CPU_PEERS:
        assert row[peer] in ("ok", "not run (large)"), f"{peer}: {row[peer]} {row.get(peer + '_error', '')}"
    assert doc == (m.params, m.macs), (
        f"docs/model-import.md's zoo table says {doc} for {family}:{name}, the model has "
        f"{(m.params, m.macs)}: regenerate it with benchmarks/zoo_table.py"
    )


@pytest.mark.slow
@pytest.mark.parametrize("family, name", [("torchvision", "vit_b_16"), ("timm", "vit_small_patch16_224")])
def test_cpu_fused_kernels_count_less_as_documented(family, name):
    """FlopCounterMode on meta tensors and on a real CPU forward, as docs/model-import.md quotes them."""
    meta, shape = zoo.build(family, name, "meta")
    cpu, _ = zoo.build(family, name, "cpu")
    on_meta, on_cpu = zoo.flop_counter(meta, shape), zoo.flop_counter(cpu, shape, "cpu")
    assert on_meta == 2 * from_module(meta, shape).macs
    row = next(line for line in DOC.read_text().splitlines() if line.startswith(f"| {family} `{name}`"))
    numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]{6,}", row)]
    assert numbers[:3] == [on_meta, on_cpu, on_meta - on_cpu]


@pytest.mark.slow
def test_the_readme_command_on_a_torchvision_factory(cli):
    """`skanalyze model torchvision.models:vit_b_16 --convention all` (the README's line) runs and agrees."""
    code, out, err = cli("model", "torchvision.models:vit_b_16", "--convention", "all", "--json")
    assert code == 0, err
    data = json.loads(out)
    meta, shape = zoo.build("torchvision", "vit_b_16", "meta")
    flops = zoo.flop_counter(meta, shape)
    assert data["traced_mode"] == "eval" and data["totals"]["flops"] == flops
    totals = {c["convention"]: c["total"] for c in data["conventions"]}
    assert totals["torch"] == flops and totals["thop"] == zoo.peer("thop", meta, shape)
    assert data["totals"]["params"] == sum(p.numel() for p in meta.parameters())
    code, out, err = cli("model", "torchvision.models:vit_b_16", "--convention", "all")  # the line as printed
    assert code == 0 and err == "" and f"total: {data['totals']['params']:,} params" in out, err


MODEL_LATENCY = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "model-latency.json"


@pytest.mark.slow
@pytest.mark.skipif(not MODEL_LATENCY.exists(), reason="benchmarks/results/model-latency.json is not here")
def test_the_real_networks_predictions_are_what_the_code_computes_now():
    """docs/latency.md's real networks: each committed prediction (the three constants, per kind alone, in the
    network) recomputed from the committed profiles by tracing the torchvision model again, so a change to
    the trace or the model cannot leave the table stale. The network cost is summed here from the traced
    layers' own tensors: the bytes each reads and writes, by hand from the data flow the trace records."""
    import math

    import torchvision

    from skanalyze.analyses.profiles import profile_from_dict
    from skanalyze.nn.model_latency import predict_layer

    runs = json.loads(MODEL_LATENCY.read_text())["runs"]
    for run in runs:
        profiles = {int(b): profile_from_dict(p) for b, p in run["profiles"].items()}
        for r in run["records"]:
            prof = profiles[r["batch"]]
            module = getattr(torchvision.models, r["network"])(weights=None).eval()
            layers = from_module(module, (r["batch"], 3, 224, 224)).layers
            assert len(layers) == r["layers"]
            alone = sum(predict_layer(lay, prof) for lay in layers)
            assert sum(predict_layer(lay, prof.global_only()) for lay in layers) == pytest.approx(
                r["predicted_s"]
            )
            assert alone == pytest.approx(r["predicted_alone_s"], rel=1e-9)
            read = write = 0
            for lay in (
                layers
            ):  # what lay reads that the layer just before it did not write; its output unless in place
                read += sum(n for w, n in lay.detail["reads"] if w != lay.index - 1)
                write += 0 if lay.detail["inplace"] else math.prod(lay.out_shape)
            rates = prof.network
            extra = 4 * read / rates["cold_read_bytes_per_s"] + 4 * write / rates["cold_write_bytes_per_s"]
            assert r["predicted_kinds_s"] == pytest.approx(alone + extra, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["resnet18", "mobilenet_v2", "shufflenet_v2_x0_5", "mnasnet0_5", "regnet_x_400mf", "efficientnet_b0"],
)
def test_apply_on_torchvision_models_counts_as_predicted(name):
    """`model --apply dw-pw` on real torchvision models: the rebuilt module runs, and its sum(p.numel()) and
    FlopCounterMode / 2 equal the predicted counts; the user's model is left as it was."""
    import torchvision
    from torch.utils.flop_counter import FlopCounterMode

    from skanalyze.nn.rebuild import apply

    model = getattr(torchvision.models, name)(weights=None).eval()
    before = zoo.fingerprint(model)
    shape = (1, 3, 64, 64)
    applied = apply(model, "dw-pw", shape)
    assert zoo.fingerprint(model) == before
    assert applied.replaced and sum(p.numel() for p in applied.module.parameters()) == applied.params
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = applied.module.eval()(torch.randn(shape))
    assert counter.get_total_flops() == 2 * applied.macs and torch.isfinite(out).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["beit_base_patch16_224", "eva02_tiny_patch14_224"])
def test_attention_that_calls_linear_by_keyword(name):
    """timm's BEiT and EVA-02 call F.linear(x, weight=..., bias=...) in their attention, which stopped the
    trace. They cannot run on meta tensors (they make CPU tensors in forward), so the oracle is FlopCounterMode
    on a CPU forward with the math attention backend (the fused CPU kernels count less, as documented)."""
    import timm
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    model, shape = timm.create_model(name, pretrained=False).eval(), (1, 3, 224, 224)
    before = zoo.fingerprint(model)
    m = from_module(model, shape)
    assert zoo.fingerprint(model) == before
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape))
    assert m.params == sum(p.numel() for p in model.parameters())
    assert 2 * m.macs == counter.get_total_flops()
