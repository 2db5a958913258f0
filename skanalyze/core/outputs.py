"""Writing output files: checked before any work starts, written atomically, never left half-written.

Every command that writes a file checks the path first (:func:`writable_file`, :func:`writable_dir`),
so a bad path fails in one line before a long job, and writes through :func:`atomic_write`: a
temporary file beside the target, renamed into place, removed if anything fails.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import SkanalyzeError

PLOT_FORMATS = (".png", ".svg", ".pdf")


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _probe_dir(folder: Path, what: str, shown: str) -> None:
    """Create and remove a temporary file in folder, so that an unwritable place fails now."""
    try:
        fd, name = tempfile.mkstemp(prefix=".skanalyze-probe-", dir=folder)
    except OSError as err:
        raise SkanalyzeError(f"{what} {shown!r} cannot be written: {_reason(err)}") from None
    os.close(fd)
    os.unlink(name)


def writable_file(path: str | Path, what: str = "output file", suffixes: tuple[str, ...] = ()) -> Path:
    """Check that a file can be written at path (its folder exists and takes files; the path is not a folder)."""
    shown = str(path)
    path = Path(path)
    if not shown.strip():
        raise SkanalyzeError(f"{what} is empty; give a file name")
    if path.is_dir():
        raise SkanalyzeError(f"{what} {shown!r} is a folder; give a file name inside it")
    if suffixes and path.suffix.lower() not in suffixes:
        raise SkanalyzeError(f"{what} {shown!r} must end in {', '.join(suffixes)}")
    folder = path.parent
    if not folder.exists():
        raise SkanalyzeError(f"{what} {shown!r}: the folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise SkanalyzeError(f"{what} {shown!r}: {str(folder)!r} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise SkanalyzeError(f"{what} {shown!r} cannot be written: permission denied")
    _probe_dir(folder, what, shown)
    return path


def writable_dir(path: str | Path, what: str = "output folder") -> Path:
    """Check that a folder exists (or can be made) and takes files; make it."""
    shown = str(path)
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SkanalyzeError(f"{what} {shown!r} is a file, not a folder")
    if not path.exists():
        if not path.parent.is_dir():
            raise SkanalyzeError(f"{what} {shown!r}: the folder {str(path.parent)!r} does not exist")
        try:
            path.mkdir(exist_ok=True)  # exist_ok: several processes of one job array make it at once
        except OSError as err:
            raise SkanalyzeError(f"{what} {shown!r} cannot be made: {_reason(err)}") from None
    _probe_dir(path, what, shown)
    return path


def _mode_for(path: Path) -> int:
    """The mode a program that opens ``path`` for writing leaves: an existing file's own, else 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[Path], None], what: str = "output file") -> Path:
    """Call write(tmp) on a temporary file beside path, then rename it into place; no partial file is left."""
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise SkanalyzeError(f"{what} {str(path)!r} cannot be written: {_reason(err)}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; a file gets the mode any program would give it
        os.replace(tmp, path)
    except OSError as err:
        raise SkanalyzeError(f"{what} {str(path)!r} cannot be written: {_reason(err)}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path: str | Path, text: str, what: str = "output file") -> Path:
    """Write text atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text), what)
