"""The CLI under random argument lists (hypothesis), built from each command's own options: absurd numbers,
empty strings, repeated keys, conflicting flags. Every run either succeeds (exit 0) or is refused in one
line (exit 2, `skanalyze: error: ...`); never a traceback, and a refused run leaves no file behind. A run
that takes more than a few seconds of real work is stopped and not judged (SIGALRM): speed is not fuzzed."""

import os
import signal

import pytest
import typer
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from skanalyze.cli.app import app

SKIP = {"train", "device", "latency", "verify", "model", "train-summarize"}  # torch, training or timing
COMMANDS = {
    info.name or info.callback.__name__.replace("_", "-"): info
    for info in app.registered_commands
    if (info.name or info.callback.__name__.replace("_", "-")) not in SKIP
}
VALUES = [
    "",
    " ",
    "0",
    "1",
    "-1",
    "3",
    "64",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "1/2",
    "0.5",
    "abc",
    "1M",
    "11.2M",
    "C=64",
    "C=64 C=32",
    "C=64,F=8",
    "M=0",
    "F=C/3",
    "x" * 300,
    "2,2,2,2",
    "1,,2",
    "all",
    "dw-pw",
    "2ms",
    "out.png",
    "out.txt",
    "nowhere/out.png",
    "json",
    "latex",
    "csv",
    "markdown",
    "python",
    "pretty",
]
DESIGNS = [
    "dw-pw",
    "gconv-pwgconv",
    "DW+PW",
    "GConv(M)+PWGConv(N)",
    "PW+DW+PW [K=-F]",
    "GConv(0)+PW",
    "XYZ",
    "",
]


class Slow(Exception):
    pass


@st.composite
def argv(draw):
    name = draw(st.sampled_from(sorted(COMMANDS)))
    command = typer.main.get_command_from_info(
        COMMANDS[name], pretty_exceptions_short=True, rich_markup_mode=None
    )
    args = [name]
    for param in command.params:
        if param.param_type_name == "argument":
            n = draw(st.integers(0, 2)) if param.nargs == -1 else 1
            args += [
                draw(st.sampled_from(DESIGNS + VALUES[:8]))
                for _ in range(n)
                if draw(st.booleans()) or param.required
            ]
        elif draw(st.integers(0, 3)) == 0:  # each option given now and then, sometimes twice
            flag = draw(st.sampled_from(param.opts))
            for _ in range(draw(st.integers(1, 2))):
                args += (
                    [flag]
                    if getattr(param, "is_flag", False)
                    else [flag, draw(st.sampled_from(VALUES + DESIGNS))]
                )
    return args


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(args=argv())
def test_every_argument_list_is_a_result_or_a_one_line_error(cli, tmp_path_factory, args):
    folder = tmp_path_factory.mktemp("fuzz")
    here = os.getcwd()
    os.chdir(folder)

    def stop(signum, frame):
        raise Slow

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(3)
    try:
        code, out, err = cli(*args)
    except Slow:
        code = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(here)
    assume(code is not None)
    event(
        f"exit {code}"
    )  # pytest --hypothesis-show-statistics: how many runs succeeded, how many were refused
    assert "Traceback" not in err and "Traceback" not in out, (args, err)
    assert code in (0, 2), (args, code, err)
    if code == 2:
        assert err.startswith("skanalyze: error: ") and err.count("\n") == 1, (args, err)
        assert not os.listdir(folder), (args, os.listdir(folder))
