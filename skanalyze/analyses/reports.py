"""What the core commands report, as data (formulas, designs), and the helpers every report shares.

Each report is a dict (or a list of dicts) of sympy values, integers and strings; the printers in
skanalyze.render turn it into text, LaTeX, Markdown, Python or JSON (the JSON output is the data as it is).
The analyses' own reports sit at the end of their modules: ``core.infofield.report``,
``efficiency.report``, ``optimize.report``, ``space.report`` and ``space.explain_report``, ``network.report``.
"""

from __future__ import annotations

import sympy as sp

from ..core import counting, traffic
from ..core import symbols as S
from ..core.catalog import BY_NAME, DEFAULT_FORMULAS, ENTRIES, resolve
from ..core.design import Design
from ..core.errors import SkanalyzeError


def designs_from(
    names: list[str] | tuple[str, ...] | None, default=DEFAULT_FORMULAS, **options
) -> list[Design]:
    """Resolve design arguments (catalog names or notation); the defaults when none is given."""
    return [resolve(n, **options) for n in (names or default)]


def description(design: Design) -> str:
    """The catalog description of a design, or '' for a design typed in the notation."""
    if design.label:
        return BY_NAME[design.label.split("(")[0]].description
    return ""


def complete_values(design: Design, values: dict) -> dict:
    """Values with K filled in from the design's bottleneck when the user gave none."""
    values = S.resolve(values)
    if values and design.uses_bottleneck and S.K not in values:
        values[S.K] = design.bottleneck.subs(values)
    if values:
        design.validate(values)
    return values


def require_values(design: Design, values: dict, what: str) -> None:
    """Raise unless every symbol a torch build needs has a value (a one-line error with an example)."""
    missing = sorted((design.free_symbols | {S.C}) - set(values), key=str)
    if missing:
        raise SkanalyzeError(
            f"{what} {design.notation!r} needs values for {', '.join(map(str, missing))}; e.g. --subs "
            + " ".join(f"{m}={4 if str(m) in 'MN' else 16}" for m in missing)
        )


# -- formulas, designs ---------------------------------------------------------------------------------
def formulas_data(design: Design, values: dict, *, bn: bool = False, substitute_k: bool = False) -> dict:
    """The formulas of one design as a dict of sympy values (the JSON and text reports share it): params,
    MACs, FLOPs, memory traffic (elements), bytes (b per element) and intensity (MACs per byte); with
    ``substitute_k`` the bottleneck's expression replaces K in them."""
    values = complete_values(design, values)
    p = counting.params(design, bn=bn, substitute_k=substitute_k)
    m = counting.macs(design, substitute_k=substitute_k)
    t = traffic.traffic(design, substitute_k=substitute_k)
    nbytes = traffic.traffic_bytes(design, substitute_k=substitute_k)
    ratio = traffic.intensity(design, substitute_k=substitute_k)
    if values:
        p, m, t, nbytes = (counting.canonical(e.subs(values)) for e in (p, m, t, nbytes))
        ratio = sp.factor(ratio.subs(values))
    data = {
        "design": design.notation,
        "name": design.label,
        "description": description(design),
        "params": p,
        "macs": m,
        "flops": counting.canonical(counting.FLOPS_PER_MAC * m),
        "traffic": t,
        "bytes": nbytes,
        "intensity": ratio,
        "bn": bn,
    }
    if design.uses_bottleneck:
        data["bottleneck"] = design.bottleneck
    if values:
        data["subs"] = {str(k): v for k, v in values.items()}
    data["symbols"] = S.symbols_of(p, m, nbytes, design.bottleneck if design.uses_bottleneck else 0)
    return data


def formulas(
    designs: list[Design], values: dict, *, bn: bool = False, substitute_k: bool = False
) -> list[dict]:
    """`skanalyze formulas`: one dict per design."""
    return [formulas_data(d, values, bn=bn, substitute_k=substitute_k) for d in designs]


def check_bottleneck(designs: list[Design], given: str | None) -> None:
    """A --bottleneck that no design uses is an error, not silently ignored."""
    if given is not None and not any(d.uses_bottleneck for d in designs):
        names = ", ".join(d.notation for d in designs)
        raise SkanalyzeError(
            f"--bottleneck {given}: {names} {'has' if len(designs) == 1 else 'have'} no bottleneck K; it sets the "
            "middle width of designs such as pw-dw-pw"
        )


def catalog() -> list[dict]:
    """`skanalyze designs`: name, notation and description of every catalog entry."""
    return [
        {
            "name": e.name,
            "design": e.design().notation,
            "description": e.description + (f" (knob: {e.knob}, default {e.default})" if e.knob else ""),
        }
        for e in ENTRIES
    ]


__all__ = [
    "designs_from",
    "description",
    "complete_values",
    "require_values",
    "formulas_data",
    "formulas",
    "check_bottleneck",
    "catalog",
]
