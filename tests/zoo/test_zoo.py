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
import time

import pytest

pytest.importorskip("torchvision", reason="the zoo step needs torchvision: see .ci/run (its own venv)")
pytest.importorskip("timm", reason="the zoo step needs timm: see .ci/run (its own venv)")

from . import zoo  # noqa: E402

torch = pytest.importorskip("torch")

from skanalyze.nn.importer import from_module  # noqa: E402
from skanalyze.nn.peers import convention  # noqa: E402

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
    row["seconds"] = round(time.perf_counter() - start, 2)
    out = os.environ.get("SKANALYZE_ZOO_OUT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
    assert row["params_ok"], f"params {m.params:,} != sum(p.numel()) {numel:,}"
    assert row["flops_ok"], f"2 x MACs {2 * m.macs:,} != FlopCounterMode {flops:,}"
    for peer in META_PEERS + CPU_PEERS:
        assert row[peer] in ("ok", "not run (large)"), f"{peer}: {row[peer]} {row.get(peer + '_error', '')}"
