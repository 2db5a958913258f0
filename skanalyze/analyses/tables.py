"""The paper's Tables 2-4, row by row: can skanalyze's network model reproduce each #Params, and under what?

The rows are data (the paper's numbers). For every row the layout options the paper leaves
unstated are searched: blocks per stage B (pinned by the depth where the paper gives one,
depth = 2 + conv layers in all blocks), design units per block, projection or parameter-free
shortcuts, BN counted or not, the classifier counted or not, the stem width (`width` or 64),
group numbers fixed or scaled with the width, which layer widens a down-sampling block, whether a
design unit in the standard and ResNet rows is a Conv+Conv block or one Conv (each design unit
replacing one standard convolution), and, for Table 2's "bottleneck-like" design only (the paper
states no ratio), K = F/4, F/2 or F.
A row is reproduced when the count is within the paper's rounding (|params - reported| <=
0.05 M). The single assumption set that reproduces the most rows is reported, and every row
gets a verdict: reproduced (under that set), reproduced only under a different set (named),
or not reproducible (with the closest value and the likely cause).
The model is never tuned to a row: options are global choices, stated ones stay fixed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, replace
from functools import cache, lru_cache
from pathlib import Path

import sympy as sp

from ..core import symbols as S
from ..core.design import Design, parse
from ..core.errors import SkanalyzeError
from .network import Layout, classifier_counts, evaluate, network, projection_counts

TOLERANCE_M = 0.05  # the paper rounds #Params to 0.1 M


@dataclass(frozen=True)
class Row:
    """One row of the paper's tables."""

    table: int
    label: str  # the paper's name for the network unit
    design: str  # in skanalyze's notation
    width: int
    params_m: float
    error: float  # top-1 error, %
    depth: int | None = None
    free_bottleneck: bool = False  # the paper states no bottleneck ratio for this design

    @property
    def key(self) -> str:
        """A short identifier: T<table>.<label>@<width>."""
        return f"T{self.table} {self.label} w{self.width}"


ROWS: tuple[Row, ...] = (
    Row(2, "PW+GConv(1)+PW", "PW+GConv(1)+PW", 128, 13.9, 30.0, 98, True),
    Row(2, "PW+GConv(32)+PW", "PW+GConv(32)+PW", 256, 13.9, 29.2, 98, True),
    Row(2, "PW+GConv(1)+PW", "PW+GConv(1)+PW", 128, 28.4, 29.7, 194, True),
    Row(2, "PW+GConv(1)+PW", "PW+GConv(1)+PW", 200, 28.4, 29.3, 98, True),
    Row(2, "PW+GConv(2)+PW", "PW+GConv(2)+PW", 256, 28.4, 28.7, 98, True),
    Row(2, "PW+GConv(64)+PW", "PW+GConv(64)+PW", 512, 28.4, 28.4, 98, True),
    Row(3, "Standard Convolution", "Conv+Conv", 64, 11.2, 31.1),
    Row(3, "DW+PW", "DW+PW", 72, 0.8, 31.7),
    Row(3, "DW+PW", "DW+PW", 280, 11.2, 28.5),
    Row(3, "GConv(4)+PWGConv(32)", "GConv(4)+PWGConv(32)", 128, 11.2, 30.8),
    Row(3, "GConv(16)+PWGConv(16)", "GConv(16)+PWGConv(16)", 256, 11.3, 29.4),
    Row(3, "PW+DW+PW", "PW+DW+PW", 400, 11.0, 26.9),
    Row(3, "PWGConv(4)+DW+PWGConv(4)", "PWGConv(4)+DW+PWGConv(4)", 560, 11.3, 25.6),
    Row(4, "ResNet", "Conv+Conv", 64, 11.2, 31.3),
    Row(4, "ResNet with bottleneck (1:4)", "PW+Conv+PW [K=F/4]", 192, 11.3, 29.9),
    Row(4, "ResNeXt (16, 1:2)", "PW+GConv(16)+PW [K=F/2]", 192, 11.1, 29.8),
    Row(4, "Xception", "DW+PW", 280, 11.2, 28.5),
    Row(4, "ShuffleNet (4 groups)", "PWGConv(4)+DW+PWGConv(4)", 560, 11.3, 25.6),
    Row(4, "GConv(100)+PWGConv(2)", "GConv(100)+PWGConv(2)", 200, 8.6, 27.0),
    Row(4, "PWGConv(100)+DW+PWGConv(2)", "PWGConv(100)+DW+PWGConv(2)", 700, 10.4, 24.9),
)


@dataclass(frozen=True)
class Assumptions:
    """One global choice of the options the paper leaves unstated."""

    blocks: int | tuple = 2  # B for rows without a depth
    units: int = 1
    projection: bool = True  # projection shortcuts on shape changes (else parameter-free)
    bn: bool = True
    classifier: bool = True
    stem64: bool = False  # stem outputs 64 channels instead of `width`
    scale_groups: bool = False
    widen_first: bool = False
    table2_k: str = "F/4"
    conv_per_unit: bool = False  # standard/ResNet rows: one Conv per design unit (else one Conv+Conv block)

    def describe(self, row: Row | None = None) -> str:
        """The assumptions in words (for one row: only the options that matter to it)."""
        b = "B=" + (",".join(map(str, self.blocks)) if isinstance(self.blocks, tuple) else str(self.blocks))
        if row is not None and row.depth is not None:
            b = f"B from depth {row.depth}"
        parts = [
            f"{b} (depth-free rows)" if row is None else b,
            f"{self.units} design unit{'s' if self.units > 1 else ''} per block",
            "projection shortcuts" if self.projection else "parameter-free shortcuts",
            "BN counted" if self.bn else "BN not counted",
            "FC counted" if self.classifier else "FC not counted",
            "stem 64 channels" if self.stem64 else "stem = width",
            "groups scale with width" if self.scale_groups else "groups fixed",
            "widen at the first layer"
            if self.widen_first
            else "widen at the design's last width-changing layer",
            f"Table 2 K = {self.table2_k}",
            "standard rows: one Conv per design unit"
            if self.conv_per_unit
            else "standard rows: a Conv+Conv block per design unit",
        ]
        if row is not None:  # only the options that change this row's network
            base = _relevant(row, self)
            matters = {
                k for k in SPACE if _relevant(row, replace(self, **{k: _other(k, getattr(self, k))})) != base
            }
            parts = [p for p, k in zip(parts, SPACE, strict=True) if k in matters or k == "blocks"]
        return "; ".join(parts)

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "blocks": list(self.blocks) if isinstance(self.blocks, tuple) else self.blocks,
            "units": self.units,
            "shortcut": "projection" if self.projection else "zero-pad",  # the keys of network's layout
            "bn": self.bn,
            "classifier": self.classifier,
            "stem_width": 64 if self.stem64 else "width",
            "group_scaling": "scale" if self.scale_groups else "fixed",
            "widen_at": "first" if self.widen_first else "plan",
            "table2_k": self.table2_k,
            "standard_block": "Conv per unit" if self.conv_per_unit else "Conv+Conv per unit",
        }


DEFAULT = Assumptions()
SPACE = {
    "blocks": (1, 2, 3, 4, (3, 4, 6, 3)),
    "units": (1, 2),
    "projection": (True, False),
    "bn": (True, False),
    "classifier": (True, False),
    "stem64": (False, True),
    "scale_groups": (False, True),
    "widen_first": (False, True),
    "table2_k": ("F/4", "F/2", "F"),
    "conv_per_unit": (False, True),
}
STANDARD_BLOCK = "Conv+Conv"  # the standard and ResNet rows' design


def _layers(design: Design) -> int:
    return sum(1 for k in design.kernels if k.weighted)


def row_setup(row: Row, a: Assumptions) -> tuple[Design, Layout] | None:
    """The design and layout a row means under some assumptions (None if its depth cannot be met)."""
    design = _parsed("Conv" if a.conv_per_unit and row.design == STANDARD_BLOCK else row.design)
    if row.free_bottleneck:
        design = replace(design, bottleneck=S.parse_expr(a.table2_k))
    if row.depth is not None:
        per_block = a.units * _layers(design) * 4
        if (row.depth - 2) % per_block:
            return None
        blocks = ((row.depth - 2) // per_block,) * 4
    else:
        blocks = a.blocks if isinstance(a.blocks, tuple) else (a.blocks,) * 4
    layout = Layout(
        blocks=blocks,
        units=a.units,
        shortcut="projection" if a.projection else "zero-pad",
        bn=a.bn,
        classifier=a.classifier,
        stem_width=64 if a.stem64 else None,
        group_scaling="scale" if a.scale_groups else "fixed",
        widen_at="first" if a.widen_first else "plan",
    )
    return design, layout


@cache
def _parsed(text: str) -> Design:
    return parse(text)


def _relevant(row: Row, a: Assumptions) -> Assumptions:
    """The same assumptions with the options that cannot change this row's count set to defaults."""
    design = _parsed(row.design)
    grouped = any(k.free_arg and k.argument() not in (None, 1) for k in design.kernels)
    widening = sum(1 for k in design.kernels if not k.keeps_width) >= 2 and not design.is_bottleneck
    return replace(
        a,
        blocks=DEFAULT.blocks if row.depth is not None else a.blocks,
        scale_groups=a.scale_groups if grouped else False,
        widen_first=a.widen_first if widening else False,
        table2_k=a.table2_k if row.free_bottleneck else DEFAULT.table2_k,
        conv_per_unit=a.conv_per_unit if row.design == STANDARD_BLOCK else DEFAULT.conv_per_unit,
    )


def row_params(row: Row, a: Assumptions) -> int | str:
    """The row's parameter count under some assumptions, or why it does not build."""
    a = _relevant(row, a)
    parts = _components(row, replace(a, bn=True, projection=True, classifier=True))
    if isinstance(parts, str):
        return parts
    total = (
        parts["conv"]
        + (parts["projection"] if a.projection else 0)
        + (parts["classifier"] if a.classifier else 0)
    )
    if a.bn:
        total += parts["bn"] + (parts["projection_bn"] if a.projection else 0)
    return total


@cache
def _components(row: Row, a: Assumptions) -> dict | str:
    """Convolution weights, BN, projection shortcuts and classifier of one row's network, separately."""
    setup = row_setup(row, a)
    if setup is None:
        return (
            f"depth {row.depth} is not 2 + {a.units} x {_layers(_parsed(row.design))} layers x 4 stages x B"
        )
    design, layout = setup
    try:
        net = network(design, replace(layout, bn=False, classifier=False, shortcut="zero-pad"))
        conv = sum(evaluate(net, row.width)[0].values())
        with_bn = sum(  # the same units at the same values: validated once, above
            evaluate(
                network(design, replace(layout, bn=True, classifier=False, shortcut="zero-pad")),
                row.width,
                validate=False,
            )[0].values()
        )
    except SkanalyzeError as err:
        return str(err)
    proj = proj_bn = 0
    for block in network(design, layout).blocks:
        if block.shortcut == "projection":
            c_in = int(sp.sympify(block.c_in).subs(S.width, row.width))
            c_out = int(sp.sympify(block.c_out).subs(S.width, row.width))
            weights, _ = projection_counts(c_in, c_out, block.out_size, bn=False)
            proj += weights
            proj_bn += projection_counts(c_in, c_out, block.out_size, bn=True)[0] - weights
    final = int(sp.sympify(net.final_width).subs(S.width, row.width))
    return {
        "conv": conv,
        "bn": with_bn - conv,
        "projection": proj,
        "projection_bn": proj_bn,
        "classifier": classifier_counts(final, layout.classes)[0],
    }


def reproduces(row: Row, value) -> bool:
    """Within the paper's rounding."""
    return isinstance(value, int) and abs(value / 1e6 - row.params_m) <= TOLERANCE_M + 1e-9


def all_assumptions():
    """Every combination in the search space."""
    keys = list(SPACE)
    for combo in itertools.product(*(SPACE[k] for k in keys)):
        yield Assumptions(**dict(zip(keys, combo, strict=True)))


REPRODUCED = "reproduced"  # under the best single assumption set
OTHER_SET = "reproduced only under a different set"  # the set is named in the cause
NOT_REPRODUCIBLE = "not reproducible"  # the closest value and the likely cause are given
VERDICTS = (REPRODUCED, OTHER_SET, NOT_REPRODUCIBLE)


@dataclass(frozen=True)
class Verdict:
    """A row's verdict and the numbers behind it."""

    row: Row
    default: int | str
    best: int | str
    reproduced: bool
    verdict: str  # REPRODUCED | OTHER_SET | NOT_REPRODUCIBLE
    reproducing: int  # how many assumption sets reproduce the row
    closest: int | None
    closest_assumptions: Assumptions | None
    cause: str


@dataclass(frozen=True)
class Report:
    """All rows, the best assumption set, and how many rows it reproduces."""

    best: Assumptions
    best_count: int
    verdicts: tuple[Verdict, ...]
    sets: int = 0  # assumption sets searched
    tolerance_m: float = TOLERANCE_M  # a row is reproduced within this many millions
    findings: tuple[str, ...] = ()  # the conclusions, computed from the verdicts

    def rows(self) -> list[dict]:
        """One object per paper table row (what --json, --format csv and --format latex print)."""
        return rows_json(self)

    def _repr_markdown_(self) -> str:
        """Jupyter: one line per table row (paper's params, skanalyze's under the paper's defaults, verdict)."""
        lines = [
            "| table | design | width | paper (M) | skanalyze (M) | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.rows():
            lines.append(
                f"| {row['table']} | `{row['design']}` | {row['width']} | {row['paper_params_m']} "
                f"| {_millions(row['default_params'])} | {row['verdict']} |"
            )
        return "\n".join(lines) + "\n"


def _millions(value) -> str:
    return f"{value / 1e6:.2f}" if isinstance(value, int) else "n/a"


def _distance_from_default(a: Assumptions) -> int:
    return sum(getattr(a, k) != getattr(DEFAULT, k) for k in SPACE)


@lru_cache(maxsize=1)
def analyse() -> Report:
    """The report of :func:`search`: read from the copy stored beside this module when that copy was searched
    by this very source (its fingerprint), else searched now (about 3.5 s)."""
    stored = load_stored()
    return stored if stored is not None else search()


def search() -> Report:
    """Search the assumption space for every row; pick the set reproducing the most rows."""
    sets = list(all_assumptions())
    table = {(row, a): row_params(row, a) for row in ROWS for a in sets}
    scores = {a: sum(reproduces(row, table[row, a]) for row in ROWS) for a in sets}
    best = max(sets, key=lambda a: (scores[a], -_distance_from_default(a)))
    verdicts = []
    for row in ROWS:
        values = [(table[row, a], a) for a in sets]
        ok = [a for v, a in values if reproduces(row, v)]
        numeric = [(v, a) for v, a in values if isinstance(v, int)]
        closest = (
            min(numeric, key=lambda va: (abs(va[0] / 1e6 - row.params_m), _distance_from_default(va[1])))
            if numeric
            else None
        )
        best_value = table[row, best]
        if reproduces(row, best_value):
            verdict, cause = REPRODUCED, ""
        elif ok:
            verdict = OTHER_SET
            example = min(ok, key=_distance_from_default)
            mine, theirs = _relevant(row, example), _relevant(row, best)
            diff = [k for k in SPACE if getattr(mine, k) != getattr(theirs, k)]
            cause = f"reproduced with {', '.join(_describe_option(k, getattr(example, k)) for k in diff)}"
        else:
            verdict = NOT_REPRODUCIBLE
            cause = _cause(row, closest, table[row, best])
        verdicts.append(
            Verdict(
                row,
                table[row, DEFAULT],
                best_value,
                verdict == REPRODUCED,
                verdict,
                len(ok),
                closest[0] if closest else None,
                closest[1] if closest else None,
                cause,
            )
        )
    report = Report(best, scores[best], tuple(verdicts), len(sets))
    return replace(report, findings=tuple(findings(report)))


def _describe_option(key: str, value) -> str:
    return {
        "blocks": f"B={value}",
        "units": f"{value} units per block",
        "projection": "projection shortcuts" if value else "parameter-free shortcuts",
        "bn": "BN counted" if value else "BN not counted",
        "classifier": "FC counted" if value else "FC not counted",
        "stem64": "a 64-channel stem" if value else "stem = width",
        "scale_groups": "groups scaled with width" if value else "fixed groups",
        "widen_first": "widening at the first layer" if value else "widening at the last layer",
        "table2_k": f"K = {value}",
        "conv_per_unit": "one Conv per design unit in the standard rows"
        if value
        else "a Conv+Conv block per design unit in the standard rows",
    }[key]


def _other(key: str, value):
    """Another value of an option (to test whether the option matters for a row)."""
    return next(v for v in SPACE[key] if v != value)


def _cause(row: Row, closest, best_value) -> str:
    if closest is None:
        first = best_value if isinstance(best_value, str) else "no assumption set builds it"
        alt = _alternative_bottleneck(row)
        return f"not buildable at width {row.width}: {first}" + (f"; {alt}" if alt else "")
    value, a = closest
    gap = value / 1e6 - row.params_m
    text = f"closest {value / 1e6:.2f} M ({gap:+.2f} M) with {a.describe(row)}"
    if abs(gap) / row.params_m > 0.25:
        text += (
            "; no option comes near: the paper's width or #Params is probably a typo or uses another layout"
        )
    else:
        text += "; probably an unstated setting"
    return text


def _alternative_bottleneck(row: Row) -> str:
    """For an unbuildable bottleneck row: the K = M*N reading of Theorem 1 (a diagnosis, not a verdict)."""
    design = parse(row.design)
    if not design.uses_bottleneck:
        return ""
    groups = [sp.sympify(k.argument()) for k in design.kernels if k.free_arg and k.argument() is not None]
    if len(groups) != 2:
        return ""
    k_value = groups[0] * groups[1]
    alt = replace(design, bottleneck=S.F * k_value / row.width)  # K = M*N at stage 1, scaled with F
    try:
        params, _ = evaluate(network(alt, Layout()), row.width)
    except SkanalyzeError:
        return ""
    return (
        f"with K = M*N = {k_value} at stage 1 (Theorem 1's boundary, K = {k_value}F/{row.width}) instead of "
        f"F/4 it builds: {sum(params.values()) / 1e6:.2f} M under the default layout"
    )


# -- data ----------------------------------------------------------------------------------------------
def rows_json(report: Report) -> list[dict]:
    """`skanalyze tables --json`: one object per row."""
    out = []
    for v in report.verdicts:
        out.append(
            {
                "table": v.row.table,
                "design": v.row.design,
                "label": v.row.label,
                "width": v.row.width,
                "depth": v.row.depth,
                "paper_params_m": v.row.params_m,
                "params": v.best if isinstance(v.best, int) else None,
                "default_params": v.default if isinstance(v.default, int) else None,
                "reproduced": v.reproduced,
                "verdict": v.verdict,
                "assumptions": report.best.as_dict(),
                "reproducing_sets": v.reproducing,
                "closest_params": v.closest,
                "closest_assumptions": v.closest_assumptions.as_dict() if v.closest_assumptions else None,
                "cause": v.cause,
            }
        )
    return out


def findings(report: Report) -> list[str]:
    """The conclusions, each computed from the verdicts (nothing here is typed in)."""
    out = [
        f"The best single assumption set reproduces {report.best_count} of {len(report.verdicts)} rows: "
        f"{', '.join(v.row.key for v in report.verdicts if v.reproduced) or 'none'}."
    ]
    contra = [v for v in report.verdicts if v.verdict == OTHER_SET]
    if contra:
        out.append(
            f"{len(contra)} rows are reproduced only under a different assumption set than the best one: "
            + "; ".join(f"{v.row.key} ({v.cause})" for v in contra)
            + "."
        )
    same = {}
    for v in report.verdicts:
        same.setdefault(v.row.design, []).append(v)
    for design, vs in same.items():
        widths = sorted({v.row.width for v in vs})
        if len(widths) > 1 and not all(v.reproduced for v in vs):
            sets = list(all_assumptions())
            both = sum(all(reproduces(v.row, row_params(v.row, a)) for v in vs) for a in sets)
            out.append(
                f"The {len(vs)} rows of `{design}` (widths {', '.join(map(str, widths))}) are reproduced together by "
                f"{both} of {len(sets)} assumption sets."
            )
    unbuildable = [v for v in report.verdicts if v.closest is None]
    for v in unbuildable:
        out.append(f"{v.row.key} cannot be built under any assumption set: {v.cause}.")
    return out


# -- the stored search ---------------------------------------------------------------------------------
# The search is a pure function of the package's source: its result is stored beside this module with a
# fingerprint of the source that produced it, and read back only when the fingerprint still matches (any
# edit to core/ or analyses/ searches again). tests/test_tables.py searches afresh and compares.
STORED = Path(__file__).with_name("tables.json")
_SOURCES = ("core", "analyses")


def fingerprint() -> str:
    """A hash of the source the search depends on (every module of core/ and analyses/)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in _SOURCES:
        for path in sorted((root / package).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _assumptions(data: dict | None) -> Assumptions | None:
    if data is None:
        return None
    blocks = data["blocks"]
    return Assumptions(**{**data, "blocks": tuple(blocks) if isinstance(blocks, list) else blocks})


def to_stored(report: Report) -> dict:
    """The report as JSON data, rows by their index in ROWS, with the source's fingerprint."""
    verdicts = []
    for v in report.verdicts:
        item = asdict(v)
        item["row"] = ROWS.index(v.row)
        item["closest_assumptions"] = asdict(v.closest_assumptions) if v.closest_assumptions else None
        verdicts.append(item)
    data = {"fingerprint": fingerprint(), "best": asdict(report.best), "best_count": report.best_count}
    return data | {"verdicts": verdicts, "sets": report.sets, "findings": list(report.findings)}


def from_stored(data: dict) -> Report:
    """The report from its JSON data (the inverse of :func:`to_stored`)."""
    verdicts = tuple(
        Verdict(**{**v, "row": ROWS[v["row"]], "closest_assumptions": _assumptions(v["closest_assumptions"])})
        for v in data["verdicts"]
    )
    best = _assumptions(data["best"])
    return Report(best, data["best_count"], verdicts, data["sets"], TOLERANCE_M, tuple(data["findings"]))


def load_stored(path: Path = STORED) -> Report | None:
    """The stored report when it was searched by this source; None when it is missing, unreadable or stale."""
    try:
        data = json.loads(path.read_text())
        return from_stored(data) if data.get("fingerprint") == fingerprint() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stored(path: Path = STORED) -> Path:
    """Search afresh and store the report (run after changing anything in core/ or analyses/)."""
    path.write_text(json.dumps(to_stored(search()), indent=1) + "\n")
    return path


if __name__ == "__main__":  # python -m skanalyze.analyses.tables: refresh the stored search
    print(f"wrote {write_stored()}")
