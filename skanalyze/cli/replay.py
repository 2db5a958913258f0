"""The output cache of the pure commands: what `formulas`, `efficiency`, `field`, `space`, `tables`, `compare`
and `designs` print depends only on their arguments and on the source that computes it, so a finished run's
output is kept and replayed when the same arguments meet the same source again (no sympy import, no work).

Kept: stdout of a run that exited 0 and wrote nothing to stderr, never one with --profile (a file that may
change). The key is a hash of the arguments, of every module and data file of the package, and of the Python
and sympy installations; any edit to the package starts a new cache and removes the old one (only folders it
named: skanalyze-source-*). Where: $SKANALYZE_CACHE_DIR, else $XDG_CACHE_HOME/skanalyze, else
~/.cache/skanalyze; SKANALYZE_NO_CACHE=1 turns it off. A cache that cannot be read or written is skipped
silently (it only ever saves time); entries are written whole (a temporary file renamed into place).
"""

from __future__ import annotations

import io
import os
import sys
from functools import lru_cache
from pathlib import Path

# hashlib, secrets, shutil and importlib.util are imported where they are used: a run with the cache off
# (or a first run) should not pay for them before it starts (about 9 ms).

PURE = ("formulas", "efficiency", "field", "space", "tables", "compare", "designs")
IMPURE_FLAGS = ("--measure", "--profile", "--help", "-h")  # torch; a file read at each run; typer's help
PACKAGE = Path(__file__).resolve().parent.parent


def enabled() -> bool:
    """Whether the cache is on (SKANALYZE_NO_CACHE unset or 0)."""
    return os.environ.get("SKANALYZE_NO_CACHE", "0") in ("", "0")


def cacheable(argv: list[str]) -> bool:
    """A pure command with no flag that makes it read or run something outside the package (--profile reads
    a file that may change between runs)."""
    return bool(argv) and argv[0] in PURE and not any(a.split("=")[0] in IMPURE_FLAGS for a in argv)


def directory() -> Path:
    """The cache's folder (not created here)."""
    if os.environ.get("SKANALYZE_CACHE_DIR"):
        return Path(os.environ["SKANALYZE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "skanalyze"


@lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """A hash of the package's modules and data files and of the Python and sympy that run them."""
    import hashlib
    from importlib.util import find_spec

    digest = hashlib.sha256(sys.version.encode())
    sympy = find_spec("sympy")
    if sympy is not None and sympy.origin:
        release = Path(sympy.origin).with_name("release.py")
        digest.update(str(release).encode() + (release.read_bytes() if release.exists() else b""))
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


FOLDER_PREFIX = "skanalyze-source-"  # only folders named so are ever removed


def _entry(argv: list[str]) -> tuple[Path, Path]:
    import hashlib

    folder = directory() / (FOLDER_PREFIX + source_fingerprint())
    key = hashlib.sha256("\0".join(argv).encode()).hexdigest()[:32]
    return folder, folder / f"{key}.out"


def lookup(argv: list[str]) -> str | None:
    """The kept output of these arguments under this source, or None."""
    try:
        return _entry(argv)[1].read_text()
    except (OSError, ValueError):
        return None


def replayed(argv: list[str]) -> bool:
    """Write the kept output of these arguments, if there is one; whether it did."""
    kept = lookup(argv)
    if kept is not None:
        sys.stdout.write(kept)
    return kept is not None


def keep(argv: list[str], output: str) -> None:
    """Keep a finished run's output (atomically); a new source's first entry removes the old sources' ones."""
    import secrets
    import shutil

    try:
        folder, path = _entry(argv)
        if not folder.exists():
            folder.mkdir(parents=True)
            for old in folder.parent.iterdir():
                if old != folder and old.is_dir() and old.name.startswith(FOLDER_PREFIX):
                    shutil.rmtree(old, ignore_errors=True)
        tmp = folder / f".{secrets.token_hex(8)}.tmp"
        with open(tmp, "x") as handle:  # the mode the umask gives
            handle.write(output)
        os.replace(tmp, path)
    except OSError:
        return


class Tee(io.TextIOBase):
    """Writes through to a stream and keeps a copy."""

    def __init__(self, stream):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        """Write to both."""
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()

    def isatty(self) -> bool:
        """As the stream."""
        return self.stream.isatty()
