"""The torch checks of the commands: refuse builds that would not fit in memory, say in one line how to
install torch, build the module and set its measurement beside the symbolic data."""

from __future__ import annotations

import importlib.util

import sympy as sp

from ..analyses.reports import complete_values, require_values
from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.memory import check, default_limit, design_bytes, parse_bytes

INSTALL_TORCH = "pip install 'skanalyze[torch]' (CPU-only: pip install torch --index-url https://download.pytorch.org/whl/cpu)"


def memory_limit(max_memory: str | None) -> int | None:
    """The byte limit of a torch check: --max-memory, else half the memory available now."""
    return parse_bytes(max_memory) if max_memory is not None else default_limit()


def guard_design(design: Design, values: dict, max_memory: str | None, what: str) -> None:
    """Refuse a torch build of a design whose estimated memory exceeds the limit (before importing torch)."""
    check(design_bytes(design, values), memory_limit(max_memory), what, given=max_memory is not None)


def need_torch(what: str):
    """Import torch's side of skanalyze, or say in one line how to install it."""
    try:
        if importlib.util.find_spec("torch") is None:
            raise ImportError("torch")
        from ..nn import measure, modules, networks  # noqa: F401 (the torch side, which imports torch)
    except ImportError:
        raise SkanalyzeError(f"{what} needs torch, which is not installed: {INSTALL_TORCH}") from None
    from .. import nn

    return nn


def verify(design: Design, values: dict, *, bn: bool = False, max_memory: str | None = None) -> dict:
    """`skanalyze verify`: params, MACs and field, symbolic and measured on the torch module."""
    require_values(design, values, "verify")
    values = complete_values(design, values)
    guard_design(design, values, max_memory, f"verify {design.notation!r}")
    result = need_torch("verify").verify(design, values, bn=bn)
    ok = all(sym == meas for key in ("params", "macs", "field", "field_max") for sym, meas in [result[key]])
    return {
        "design": design.notation,
        "values": {str(k): v for k, v in result["values"].items()},
        **{
            key: {"symbolic": result[key][0], "torch": result[key][1]}
            for key in ("params", "macs", "field", "field_max")
        },
        "field_uniform": result["field_uniform"],
        "ok": ok,
    }


def measure_field(data: dict, design: Design, values: dict, max_memory: str | None) -> dict:
    """Add the field measured by autograd (and whether it agrees) to `skanalyze field`'s data."""
    nn = need_torch("field --measure")
    m = nn.measure_field(nn.build(design, values), int(values[S.C]), nn.field_probe_size(design, values))
    largest = data.get("c_max", data["field"][2])
    data["measured"] = [m.x, m.y, m.c_min]
    data["measured_c_max"] = m.c_max
    data["agrees"] = [sp.sympify(e) for e in data["field"]] == data["measured"] and sp.sympify(
        largest
    ) == m.c_max
    return data


def network_torch(data: dict, net, groups: dict, layout, max_memory: str | None) -> dict:
    """Add the torch network's measured params and MACs (and whether they agree) to `network`'s data."""
    if layout.symbolic_blocks:
        raise SkanalyzeError("--torch needs concrete blocks per stage, e.g. --blocks 2,2,2,2")
    width = data["width"]
    # every activation costs at least one MAC, so MACs bound the activations of the forward pass
    estimate = 8 * int(data["params"]["total"]) + 4 * (
        int(data["macs"]["total"]) + layout.in_channels * layout.input_size**2
    )
    check(
        estimate, memory_limit(max_memory), f"network --torch at width {width}", given=max_memory is not None
    )
    nn = need_torch("network --torch")
    module = nn.build_network(net, width, groups)
    measured = nn.network_counts(module, layout, bn=layout.bn)
    data["torch"] = {
        "params": measured[0],
        "macs": measured[1],
        "agrees": measured == (int(data["params"]["total"]), int(data["macs"]["total"])),
    }
    return data
