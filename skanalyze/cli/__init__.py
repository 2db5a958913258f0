"""The command line (top layer): argument parsing and the commands, glue from arguments to analyses,
the torch side and the printers. Importing this package is light: the app loads on first use, so that
``entry`` can replay a kept output of a pure command (``replay.py``) without importing sympy."""

from __future__ import annotations

import gc
import sys

from ..core.lazy import lazy_exports


def entry() -> None:
    """Console-script entry point: a kept output is replayed at once, anything else runs the app.

    The process is short-lived, so the cyclic garbage collector is kept off what cannot be garbage: it is
    paused while sympy, typer and the commands import (their objects live as long as the process), which are
    then frozen (never scanned again), and at exit everything is frozen, so that the interpreter's final
    collection does not walk sympy's objects (about 70 ms) just before the process ends and frees its memory
    anyway. The collector runs as usual during the command itself; ``main`` (called in process by tests and
    notebooks) leaves the collector alone.
    """
    from . import replay

    argv = sys.argv[1:]
    if replay.enabled() and replay.cacheable(argv) and replay.replayed(argv):
        sys.exit(0)
    gc.disable()
    try:
        from .app import main
    finally:
        gc.freeze()
        gc.enable()
    try:
        code = main(argv)
    finally:
        gc.freeze()
    sys.exit(code)


__all__ = ["app", "entry", "main"]
__getattr__, __dir__ = lazy_exports(__name__, {"app": "app", "main": "app"}, globals())
