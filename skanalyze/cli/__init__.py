"""The command line (top layer): argument parsing and the commands, glue from arguments to analyses,
the torch side and the printers. Importing this package is light: the app loads on first use, so that
``entry`` can replay a kept output of a pure command (``replay.py``) without importing sympy."""

from __future__ import annotations

import sys

from ..core.lazy import lazy_exports


def entry() -> None:
    """Console-script entry point: a kept output is replayed at once, anything else runs the app."""
    from . import replay

    argv = sys.argv[1:]
    if replay.enabled() and replay.cacheable(argv) and replay.replayed(argv):
        sys.exit(0)
    from .app import main

    sys.exit(main(argv))


__all__ = ["app", "entry", "main"]
__getattr__, __dir__ = lazy_exports(__name__, {"app": "app", "main": "app"}, globals())
