"""Every help page shows examples, and every example runs (the two that train or calibrate for minutes are
checked to parse their flags only); bare `skanalyze` is a short overview."""

import importlib.util
import shlex

import pytest

from skanalyze.cli.app import EXAMPLES, OVERVIEW, app

HAS_TORCH = importlib.util.find_spec("torch") is not None
COMMANDS = [info.name or info.callback.__name__.replace("_", "-") for info in app.registered_commands]
LONG = {  # minutes of work: not run here (train is tested in test_train.py, calibrate in test_roofline.py)
    "skanalyze train --budget 50k --epochs 4 --seeds 3",
    "skanalyze device calibrate --out this-machine.json",
}
TORCH = {"verify", "model", "latency"}


def test_every_command_has_examples_on_its_help_page(cli):
    assert sorted(EXAMPLES) == sorted(COMMANDS)  # a new command without examples fails here
    for name in COMMANDS:
        args = ["train", "summarize"] if name == "train-summarize" else [name]
        code, out, err = cli(*args, "--help")
        assert code == 0 and "Examples:" in out, (name, err)
        shown = "train summarize" if name == "train-summarize" else name
        assert out.startswith(f"Usage: skanalyze {shown} ")
        for example in EXAMPLES[name]:
            assert example in out


CASES = [(name, example) for name in COMMANDS for example in EXAMPLES[name] if example not in LONG]


@pytest.mark.slow
@pytest.mark.parametrize("name, example", CASES, ids=[e for _, e in CASES])
def test_every_example_runs(cli, tmp_path, monkeypatch, name, example):
    if name in TORCH and not HAS_TORCH:
        pytest.skip("torch is not installed")
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    args = [
        a if not (a.startswith(("examples/", "results/"))) else str(root / a) for a in shlex.split(example)
    ]
    code, out, err = cli(*args[1:])
    assert code == 0, err
    assert out or os.listdir(tmp_path)  # it printed or wrote something


def test_bare_skanalyze_is_a_short_overview(cli):
    code, out, err = cli()
    assert code == 0 and out == OVERVIEW and len(out.splitlines()) <= 12
    for command in ("formulas", "optimize", "model"):
        assert f"skanalyze {command}" in out
