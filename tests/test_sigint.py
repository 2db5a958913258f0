"""Ctrl-C on a long-running command: exit 130, one line on stderr saying what stopped and what was written,
no traceback and no file left behind."""

import signal
import subprocess
import sys
import time

import pytest

LONG = [
    ("space", "--max-length", "12"),
    ("network", "gconv-pwgconv", "--budget", "11.2M"),
    ("plot", "funnel", "--max-length", "12", "--out", "{out}"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args", LONG, ids=[a[0] for a in LONG])
def test_ctrl_c_says_what_stopped(tmp_path, args):
    out = tmp_path / "ratio.png"
    argv = [a.format(out=out) for a in args]
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from skanalyze.cli import main; sys.exit(main())", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)  # past start-up, inside the work
    if proc.poll() is not None:
        pytest.skip(f"{args[0]} finished in under 4 s on this machine: nothing to interrupt")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.count("\n") == 1 and stderr.startswith("skanalyze: interrupted: skanalyze " + args[0]), (
        stderr
    )
    assert "Traceback" not in stderr and "nothing was written" in stderr
    assert not out.exists() and not list(tmp_path.iterdir())  # no file, no temporary left behind
