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
    assert doc["schema"] == 2 and doc["report"] == report
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


@pytest.mark.slow
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


# every report, including the variants whose keys differ (network under a budget and a latency)
SHARED_KEY_RUNS = [
    *COMMANDS,
    ("network", ("network", "dw-pw", "--budget", "1M")),
    (
        "network",
        (
            "network",
            "gconv-pwgconv",
            "--latency",
            "100us",
            "--profile",
            "h100-sxm-datasheet",
            "--resolution",
            "32",
            "--classes",
            "10",
            "--blocks",
            "1,1,1,1",
        ),
    ),  # fmt: skip
    ("optimize", ("optimize", "gconv-pwgconv", "--budget", "1M", "--macs", "--hw", "14")),
    ("efficiency", ("efficiency", "pw-dw-pw")),
    ("formulas", ("formulas", "pw-dw-pw", "--bn")),
]
RETIRED = {"bn_counted", "classifier_counted", "projection_shortcuts", "ratio", "boundary_ratio"}
RETIRED |= {"budget_s", "c", "f"}
TYPES = {
    "string": (str,),
    "exact string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "list": (list,),
    "null": (type(None),),
    "value": (object,),
}


def glossary() -> dict[str, tuple]:
    """docs/json.md's table of shared keys: key -> the Python types its values may have."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "json.md").read_text()
    section = doc.split("## Shared keys", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        kinds = [k.strip() for k in re.split(r",| or ", cells[1]) if k.strip()]
        if len(keys) > 1 and len(kinds) == len(keys):  # one type per key: `kept`, `reason`, `stage`
            out.update({k: TYPES[t] for k, t in zip(keys, kinds, strict=True)})
        else:
            out.update({k: sum((TYPES[t] for t in kinds), ()) for k in keys})
    return out


def _keys(value, report, found, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            found.setdefault(k, []).append((report, f"{path}.{k}" if path else k, v))
            _keys(v, report, found, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for v in value:
            _keys(v, report, found, path + "[]")


# maps whose keys are data, not names: per-part counts, per-symbol values and meanings, space families
DATA_MAPS = re.compile(r"(^|\.)(params|macs|groups|values|subs|symbols|footprint_at|width_groups|at_equal_params"
                       r"|buildable|paper|families|layout)(\.|$)")  # fmt: skip


@pytest.mark.slow
def test_one_key_one_idea_across_reports(cli):
    runs = list(SHARED_KEY_RUNS)
    if importlib.util.find_spec("torch") is not None:
        runs += TORCH_COMMANDS
    found: dict[str, list] = {}
    for report, args in runs:
        code, out, err = cli(*args, "--json")
        assert code == 0, err
        doc = json.loads(out)
        _keys({k: v for k, v in doc.items() if k not in ("schema", "report", "exact_strings")}, report, found)
    # a key inside a map of data (a part's name, a symbol) is data; the layout's keys are names
    named = {
        k: [
            (r, p, v)
            for r, p, v in uses
            if not DATA_MAPS.search(p.rsplit(".", 1)[0]) or ".layout." in f".{p}"
        ]
        for k, uses in found.items()
    }
    named = {k: uses for k, uses in named.items() if uses}
    assert not RETIRED & set(named), f"retired keys still written: {sorted(RETIRED & set(named))}"
    notation = {(r, p) for r, p, _ in named.get("notation", [])}
    assert notation <= {("model", "layers[].notation")}, notation  # only a layer's kernel notation
    label = {(r, p) for r, p, _ in named.get("label", [])}
    assert label <= {("tables", "rows[].label")}, label  # only the paper's own label of a row
    shared = {k for k, uses in named.items() if len({r for r, _, _ in uses}) >= 2}
    table = glossary()
    missing = sorted(shared - set(table))
    assert not missing, f"keys shared by several reports but not in docs/json.md's table: {missing}"
    for key in shared:
        for report, path, value in named[key]:
            assert isinstance(value, table[key]) and not (
                isinstance(value, bool) and bool not in table[key]
            ), f"{report}: {path} = {value!r} is not of the type docs/json.md gives `{key}`"


def test_every_report_a_command_prints_is_checked_here():
    """The runs above are listed by hand (each needs its arguments); a command whose report none of them
    prints fails here, so a new command cannot skip the schema checks."""
    from skanalyze.cli.app import COMMAND_REPORTS

    checked = {report for report, _ in COMMANDS + TORCH_COMMANDS}
    elsewhere = {"training": "tests/test_train.py runs train --json on Fashion-MNIST"}
    assert set(COMMAND_REPORTS.values()) == checked | set(elsewhere)
