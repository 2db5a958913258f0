"""The project's one error type: every bad input raises it, the CLI prints it on one line."""

from __future__ import annotations

import difflib


class SkanalyzeError(ValueError):
    """A user-facing error: the message names the bad value and what would be valid."""


def did_you_mean(value: str, valid: list[str] | tuple[str, ...]) -> str:
    """A short 'valid: a, b, c' hint, with the closest match first when there is one."""
    close = difflib.get_close_matches(value, list(valid), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}valid: {', '.join(valid)}"
