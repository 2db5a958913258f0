"""The JSON printer: any report's data as one versioned JSON document (docs/json.md): an object with
``"schema": 2``, ``"report"`` (which output it is), the report's fields (a list becomes ``"rows"``), and
``"exact_strings"``: the paths of the values written as strings because they are exact sympy values that
JSON numbers cannot hold (rationals, expressions); exact integers are JSON integers, measured values JSON
numbers. Indented, with a trailing newline."""

from __future__ import annotations

import json

import sympy as sp

from ..core.errors import SkanalyzeError
from . import prints, prints_any
from .expr import text

SCHEMA = 2


@prints_any("json")
def document(data, report: str | None = None) -> str:
    """A report's data as a versioned JSON document ending in a newline."""
    paths: set[str] = set()
    body = jsonable(data if isinstance(data, dict) else {"rows": data}, "", paths)
    clash = [key for key in ("schema", "report", "exact_strings") if key in body]
    if clash:  # pragma: no cover - a report must not use the envelope's keys
        raise SkanalyzeError(f"report {report!r} uses the reserved JSON key {clash[0]!r}")
    out = {"schema": SCHEMA, "report": report, **body, "exact_strings": sorted(paths)}
    return json.dumps(out, indent=2) + "\n"


@prints("tables", "json")
def tables(report) -> str:
    """`skanalyze tables --json`: one object per row of the paper's tables."""
    return document(report.rows(), "tables")


def dumps(obj) -> str:
    """JSON with sympy values turned into exact ints or expression strings (no envelope)."""
    return json.dumps(jsonable(obj), indent=2)


def jsonable(obj, path: str = "", exact: set | None = None):
    """Recursively convert sympy values: integers to int, other expressions to strings (their paths are
    added to ``exact``; list items are written ``[]``)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v, f"{path}.{k}" if path else str(k), exact) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, f"{path}[]", exact) for v in obj]
    if isinstance(obj, sp.Basic):
        if obj.is_Integer:
            return int(obj)
        if obj in (sp.true, sp.false):
            return bool(obj)
        if exact is not None:
            exact.add(path or "(the document)")
        return text(obj)
    if isinstance(obj, (int, float, str, bool)) or obj is None:
        return obj
    raise SkanalyzeError(f"cannot write {type(obj).__name__} as JSON")  # pragma: no cover
