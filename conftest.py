"""Root pytest configuration: without torch, the torch-only modules' doctests are not collected.

(tests/conftest.py holds the fixtures; this file only decides what is collected.)
"""

import importlib.util

HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_ONLY = {"modules.py", "measure.py", "networks.py", "train.py", "importer.py", "rebuild.py"}  # in skanalyze/nn/
REASON = "torch is not installed: pip install 'skanalyze[torch]'"


def pytest_ignore_collect(collection_path, config):
    """Skip collecting the doctests of modules that import torch when torch is absent."""
    if not HAS_TORCH and collection_path.name in TORCH_ONLY and collection_path.parent.name == "nn":
        return True
    return None


def pytest_report_header(config):
    """Say once why the torch tests are skipped."""
    return None if HAS_TORCH else f"{REASON}: the torch tests and doctests are skipped"
