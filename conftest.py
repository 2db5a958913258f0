"""Root pytest configuration: without torch, the torch-only modules' doctests are not collected.

(tests/conftest.py holds the fixtures; this file only decides what is collected.)
"""

import importlib.util
import os
import re
from pathlib import Path

HAS_TORCH = importlib.util.find_spec("torch") is not None
NN = Path(__file__).parent / "skanalyze" / "nn"
# Every module of skanalyze/nn/ that imports torch at its top level (read from the files, so a new one is never missed).
TORCH_ONLY = {
    p.name for p in NN.glob("*.py") if re.search(r"^(import torch|from torch)", p.read_text(), re.M)
}
REASON = "torch is not installed: pip install 'skanalyze[torch]'"


def pytest_ignore_collect(collection_path, config):
    """Skip collecting the doctests of modules that import torch when torch is absent, and the zoo's helper
    module (no doctests; tests/zoo/test_zoo.py imports it once torchvision and timm are there)."""
    if not HAS_TORCH and collection_path.name in TORCH_ONLY and collection_path.parent.name == "nn":
        return True
    if collection_path.name == "zoo.py" and collection_path.parent.name == "zoo":
        return True
    return None


def pytest_configure(config):
    """Under pytest-xdist (the README's command runs one worker per core), each worker and the processes it
    starts use one thread, so that two workers do not oversubscribe the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = "1"
        if HAS_TORCH:
            import torch

            torch.set_num_threads(1)


def pytest_report_header(config):
    """Say once why the torch tests are skipped."""
    return None if HAS_TORCH else f"{REASON}: the torch tests and doctests are skipped"
