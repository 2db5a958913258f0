"""The JSON printer: any report's data as JSON (sympy integers as JSON integers, other expressions as
the one-line text that sympy reads back), indented, with a trailing newline."""

from __future__ import annotations

import json

import sympy as sp

from ..core.errors import SkanalyzeError
from .expr import text


def document(data) -> str:
    """A report's data as a JSON document ending in a newline."""
    return dumps(data) + "\n"


def compare(data: dict) -> str:
    """`skanalyze compare --format json`: the rows (each names its design; budget and C are the options)."""
    return document(data["rows"])


def dumps(obj) -> str:
    """JSON with sympy values turned into exact ints or expression strings."""
    return json.dumps(jsonable(obj), indent=2)


def jsonable(obj):
    """Recursively convert sympy values: integers to int, other expressions to strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, sp.Basic):
        if obj.is_Integer:
            return int(obj)
        if obj in (sp.true, sp.false):
            return bool(obj)
        return text(obj)
    if isinstance(obj, (int, float, str, bool)) or obj is None:
        return obj
    raise SkanalyzeError(f"cannot write {type(obj).__name__} as JSON")  # pragma: no cover
