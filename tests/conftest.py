"""Shared fixtures: the CLI runner, golden files, hypothesis settings, valid-size strategies."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError

# Every test runs the commands' code: the output cache of the pure commands (cli/replay.py) is off for the
# suite and its subprocesses; tests/test_replay.py turns it on in a folder of its own.
os.environ["SKANALYZE_NO_CACHE"] = "1"

settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    """Import examples/NAME.py as a module, once (a kernel it defines is registered like a built-in one)."""
    import importlib.util
    import sys

    key = f"skanalyze_example_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the current output"
    )


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.write_text(text)
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert text == path.read_text(), (
            f"{name} differs from its golden file (pytest --update-golden rewrites it)"
        )

    return check


TORCH_REASON = "torch is not installed: pip install 'skanalyze[torch]'"


@pytest.fixture(scope="session")
def nn():
    """skanalyze.nn (torch's side); the test is skipped with the install hint when torch is absent."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from skanalyze import nn as module

    return module


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from skanalyze.cli import main

    def run(*args: str):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@st.composite
def valid_values(draw, design, *, groups=(1, 2, 3, 4), max_mult=3, spatial=(4, 6)):
    """Integer values for every symbol of a design such that it builds (groups divide widths)."""
    values = {}
    for sym in design.group_symbols:
        values[sym] = sp.Integer(draw(st.sampled_from(groups)))
    lcm = 1
    for layer in design.layers:
        for _what, divisor, _width in layer.kernel.constraints(layer.c_in, layer.c_out):
            g = sp.sympify(divisor).xreplace(values)  # every value is a sympy integer: as subs, 10x faster
            if g.is_Integer:
                lcm = math.lcm(lcm, int(g))
    values[S.C] = sp.Integer(lcm * draw(st.integers(1, max_mult)))
    values[S.F] = sp.Integer(4 * lcm * draw(st.integers(1, max_mult)))
    if design.uses_bottleneck:
        values[S.K] = sp.sympify(design.bottleneck).xreplace(values)
    values[S.H] = sp.Integer(draw(st.sampled_from(spatial)))
    values[S.W] = sp.Integer(draw(st.sampled_from(spatial)))
    try:
        design.validate(values)
    except SkanalyzeError:
        assume(False)
    return values


def pytest_collection_modifyitems(config, items):
    """Mark every test that needs torch (it takes the ``nn`` fixture or its module imports torch) with
    ``torch``, so that ``-m "not torch"`` is the symbolic suite; ``slow`` (over about a second here) is marked
    by hand on each such test, so that ``-m "not slow"`` is the inner loop."""
    for item in items:
        module = getattr(item, "module", None)
        if "nn" in getattr(item, "fixturenames", ()) or (module is not None and "torch" in vars(module)):
            item.add_marker(pytest.mark.torch)
