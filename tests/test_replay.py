"""The output cache of the pure commands: a replayed output is byte for byte what the command prints with the
cache off (the oracle), it needs no sympy, a failed or noisy run is never kept, anything impure is never
cached, a change of source starts afresh without touching anything it did not write, and a cache that
cannot be written costs nothing but time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from skanalyze.cli import replay

RUN = (
    "import sys; from skanalyze.cli import entry; sys.argv = ['skanalyze', *sys.argv[1:]]\n"
    "try:\n    entry()\nexcept SystemExit as done:\n"
    "    print('SYMPY' if 'sympy' in sys.modules else 'NO-SYMPY', file=sys.stderr); raise"
)


def run(args, cache_dir, *, cache=True):
    env = {**os.environ, "SKANALYZE_CACHE_DIR": str(cache_dir), "SKANALYZE_NO_CACHE": "0" if cache else "1"}
    return subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "args",
    [
        ["formulas"],
        ["formulas", "gconv-pwgconv", "--subs", "C=64", "F=128", "--format", "latex"],
        ["efficiency", "dw-pw"],
        ["designs"],
    ],
)
def test_a_replayed_output_is_the_uncached_output_and_needs_no_sympy(tmp_path, args):
    truth = run(args, tmp_path / "unused", cache=False)
    first, second = run(args, tmp_path), run(args, tmp_path)
    assert truth.returncode == first.returncode == second.returncode == 0
    assert truth.stdout == first.stdout == second.stdout
    assert first.stderr.strip() == "SYMPY" and second.stderr.strip() == "NO-SYMPY"
    assert not (tmp_path / "unused").exists()  # with the cache off nothing is written


def test_failures_impure_commands_and_help_are_never_kept(tmp_path):
    assert run(["formulas", "NoSuchDesign"], tmp_path).returncode == 2
    assert run(["formulas", "--help"], tmp_path).returncode == 0
    assert run(["optimize", "dw-pw", "--budget", "1M"], tmp_path).returncode == 0
    kept = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert kept == []
    assert not replay.cacheable(["field", "dw-pw", "--measure"]) and replay.cacheable(["field", "dw-pw"])
    assert not replay.cacheable(
        ["efficiency", "dw-pw", "--at", "C=64", "--profile", "mine.json", "--hw", "7"]
    )
    assert not replay.cacheable(["formulas", "--profile=mine.json"])


def test_a_run_that_writes_to_stderr_is_not_kept(tmp_path, monkeypatch, capsys):
    from skanalyze.cli import main

    monkeypatch.setenv("SKANALYZE_NO_CACHE", "0")
    monkeypatch.setenv("SKANALYZE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("skanalyze.cli.app._run", lambda argv: print("a warning", file=sys.stderr) or 0)
    assert main(["designs"]) == 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_new_source_starts_afresh_and_removes_only_its_own_folders(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    cache = tmp_path / "cache"
    (cache / "mine").mkdir(parents=True)  # something of the user's beside the cache
    (cache / "mine" / "notes.txt").write_text("keep me")
    monkeypatch.setattr(replay, "PACKAGE", package)
    monkeypatch.setenv("SKANALYZE_CACHE_DIR", str(cache))
    replay.source_fingerprint.cache_clear()
    replay.keep(["designs"], "old output\n")
    assert replay.lookup(["designs"]) == "old output\n"
    (package / "a.py").write_text("x = 2\n")  # an edit
    replay.source_fingerprint.cache_clear()
    assert replay.lookup(["designs"]) is None
    replay.keep(["designs"], "new output\n")
    assert replay.lookup(["designs"]) == "new output\n"
    folders = sorted(p.name for p in cache.iterdir())
    assert len(folders) == 2 and "mine" in folders and (cache / "mine" / "notes.txt").read_text() == "keep me"
    entry = next(p for p in cache.rglob("*.out"))
    umask = os.umask(0)
    os.umask(umask)
    assert entry.stat().st_mode & 0o777 == 0o666 & ~umask
    replay.source_fingerprint.cache_clear()


def test_an_unwritable_cache_costs_only_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    truth = run(["designs"], tmp_path, cache=False)
    done = run(["designs"], blocker / "cache")
    assert done.returncode == 0 and done.stdout == truth.stdout


def test_the_console_entry_collects_during_the_command_and_keeps_its_exit_code(tmp_path):
    # The entry pauses the collector only while the app imports and freezes what exists at exit: the command
    # itself runs with the collector on, a cycle made by the command is collected, and the code passes through.
    probe = (
        "import gc, sys, weakref\n"
        "import skanalyze.cli.app as app\n"
        "class Node: pass\n"
        "def main(argv):\n"
        "    node = Node(); node.me = node; ref = weakref.ref(node); del node\n"
        "    gc.collect()\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 0, ref() is None)\n"
        "    return 3\n"
        "app.main = main\n"
        "from skanalyze.cli import entry\n"
        "sys.argv = ['skanalyze', 'optimize']\n"
        "entry()\n"
    )
    env = {**os.environ, "SKANALYZE_NO_CACHE": "1"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 3 and done.stdout.split() == ["True", "True", "True"]
