"""Files get the mode any other program would give them: 0666 & ~umask for a new file, an existing file's
own mode when it is replaced (the atomic write's temporary file is 0600 until then)."""

import os
import stat

import pytest

from skanalyze.core.outputs import write_text


@pytest.fixture(params=[0o022, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_mode(tmp_path, umask):
    path = tmp_path / "out.txt"
    write_text(path, "x")
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as f:  # the oracle: what Python's own open gives under this umask
        f.write("x")
    assert mode(path) == mode(plain) == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_text(path, "new")
    assert mode(path) == 0o640 and path.read_text() == "new"


@pytest.mark.parametrize("args", [("plot", "width", "--out", "w.png"), ("plot", "macs", "--out", "m.svg")])
def test_cli_files_get_the_umask_mode(cli, tmp_path, umask, args):
    path = tmp_path / args[-1]
    code, out, err = cli(*args[:-1], str(path))
    assert code == 0, err
    assert mode(path) == 0o666 & ~umask
