"""The command line (top layer): argument parsing and the commands, glue from arguments to analyses,
the torch side and the printers."""

from .app import app, entry, main

__all__ = ["app", "entry", "main"]
