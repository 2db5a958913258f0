"""benchmarks/gpu_check.sh, the one GPU script, runs its steps end to end (on the CPU at a tiny size)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skanalyze.nn import data as datasets

from .conftest import TORCH_REASON

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_check_script_smoke(tmp_path):
    pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(0)
    for split, n in (("train", 256), ("t10k", 128)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 255, (n, 28, 28)).astype(np.uint8)
        datasets.write_idx(tmp_path / f"{split}-images-idx3-ubyte", images)
        datasets.write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labels)
    out = tmp_path / "out"
    env = {**os.environ, "SMOKE": "1", "DATA": str(tmp_path), "OUT": str(out), "PY": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert {d["design"] for d in summary["designs"]} == {
        "GConv(1)+PWGConv(1)", "GConv(2)+PWGConv(1)", "GConv(8)+PWGConv(2)", "GConv(16)+PWGConv(4)",
    }  # fmt: skip
    assert len(list((out / "runs").glob("*-s0-*.json"))) == 4 and (out / "profile.json").exists()
    assert "wall time" in (out / "wall.txt").read_text()
    (study,) = (out / "latency").glob("latency-run1*.json")  # the study's grid timed on the check's device
    run = json.loads(study.read_text())
    assert run["records"] and all(r["median_s"] > 0 and r["predicted_kinds_s"] > 0 for r in run["records"])
    assert '"spearman_kinds"' in (out / "latency.txt").read_text()
