"""Every command's JSON output is one versioned document (docs/json.md): ``schema`` 1, ``report``, the fields,
``exact_strings`` listing exactly the paths whose values are exact sympy values written as strings; exact
integers are JSON integers; a trailing newline."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import sympy as sp

from .conftest import TORCH_REASON

COMMANDS = [
    ("formulas", ("formulas",)),
    ("formulas", ("formulas", "dw-pw", "--subs", "C=64", "F=128")),
    ("efficiency", ("efficiency", "gconv-pwgconv")),
    ("efficiency", ("efficiency", "gconv-pwgconv", "--at", "C=64", "F=128")),
    ("optimize", ("optimize", "pw-dw-pw", "--budget", "1M")),
    ("field", ("field", "dw-pw", "--subs", "C=8", "F=8")),
    ("space", ("space", "--max-length", "3")),
    ("explain", ("space", "--explain", "PW+DW")),
    ("tables", ("tables",)),
    ("network", ("network", "dw-pw", "--width", "64")),
    ("compare", ("compare",)),
    ("catalog", ("designs",)),
    ("profile", ("device", "show", "h100-sxm-datasheet")),
    (
        "optimize_latency",
        ("optimize", "dw-pw", "--latency", "20us", "--profile", "h100-sxm-datasheet", "--hw", "28"),
    ),
]
TORCH_COMMANDS = [
    ("verify", ("verify", "dw-pw", "--subs", "C=8", "F=8")),
    ("model", ("model", "examples/models.py:resnet18", "--input", "1x3x32x32", "--closed-form", "--suggest")),
    (
        "latency",
        (
            "latency",
            "dw-pw",
            "--subs",
            "C=8",
            "F=8",
            "--hw",
            "7",
            "--repeats",
            "2",
            "--profile",
            "h100-sxm-datasheet",
        ),
    ),
]


def _walk(value, path, out):
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}.{k}" if path else k, out)
    elif isinstance(value, list):
        for v in value:
            _walk(v, f"{path}[]", out)
    else:
        out.append((path, value))


def check_document(text: str, report: str) -> dict:
    assert text.endswith("}\n")
    doc = json.loads(text)
    assert (
        isinstance(doc, dict) and list(doc)[:2] == ["schema", "report"] and list(doc)[-1] == "exact_strings"
    )
    assert doc["schema"] == 1 and doc["report"] == report
    exact = doc["exact_strings"]
    assert exact == sorted(set(exact))
    leaves: list = []
    _walk({k: v for k, v in doc.items() if k not in ("schema", "report", "exact_strings")}, "", leaves)
    for path, value in leaves:
        if path in exact:  # exact strings here; integers at the same path stay integers
            assert isinstance(value, (str, int)) or value is None, path
            if isinstance(value, str):
                sides = re.split(r"\s*(?:<=|>=|==|=|<|>)\s*", value)  # an equation or inequality
                for side in sides:
                    names = set(re.findall(r"\b([A-Za-z_]\w*)\b(?!\s*\()", side))
                    parsed = sp.parse_expr(side, local_dict={n: sp.Symbol(n) for n in names})
                assert len(sides) > 1 or not parsed.is_Integer, (
                    f"{path}: an exact integer must be a JSON integer"
                )
        elif isinstance(value, str):
            assert not re.fullmatch(r"-?\d+", value), f"{path}: the integer {value} is written as a string"
    for path in exact:
        assert any(p == path for p, _ in leaves), f"{path} is listed but not in the document"
    return doc


@pytest.mark.parametrize("report, args", COMMANDS, ids=[" ".join(a) for _, a in COMMANDS])
def test_every_command_writes_the_schema(cli, report, args):
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    check_document(out, report)
    code, again, _ = cli(*args, "--format", "json")
    assert again == out


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason=TORCH_REASON)
@pytest.mark.parametrize("report, args", TORCH_COMMANDS, ids=[" ".join(a) for _, a in TORCH_COMMANDS])
def test_torch_commands_write_the_schema(cli, report, args):
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    check_document(out, report)


def test_exact_values_are_listed(cli):
    code, out, _ = cli("optimize", "gconv-pwgconv", "--budget", "1M", "--json")
    doc = check_document(out, "optimize")
    assert doc["exact_strings"]  # the continuous optimum is irrational
    code, out, _ = cli("formulas", "dw-pw", "--subs", "C=64", "F=128", "H=7", "W=7", "--json")
    doc = check_document(out, "formulas")
    assert doc["rows"][0]["params"] == 9 * 64 + 64 * 128 and "rows[].params" not in doc["exact_strings"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("tables", "--json", "--markdown"), "--json and --markdown contradict each other"),
        (("formulas", "--format", "latex", "--json"), "--format latex and --json contradict each other"),
        (("compare", "--format", "csv"), "format 'csv' is unknown; valid:"),
        (("optimize", "dw-pw", "--budget", "1M", "--hw", "56"), "--hw is the output size of a MAC budget"),
        (("designs", "--format", "python"), "format 'python' is unknown"),
    ],
)
def test_formats_contradicting_or_unknown(cli, args, fragment):
    code, out, err = cli(*args)
    assert code == 2 and fragment in err and not out and len(err.strip().splitlines()) == 1
