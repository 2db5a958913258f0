"""The latency of a whole network on the roofline: every unit's layers predicted (:mod:`.roofline`), the stem,
projection shortcuts and classifier as dense layers; and the widest buildable network predicted to fit a time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core import symbols as S
from ..core import traffic as T
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import compile_exact
from .network import (
    Network,
    builds_with_full_field,
    classifier_counts,
    group_candidates,
    int_at,
    network,
    projection_counts,
    relaxed_parts,
    stem_counts,
    unit_values,
)
from .network import report as network_report
from .profiles import Profile, positive_batch
from .roofline import layer_time, predict, predictor
from .search import largest_fitting, widest_scan


def _dense_layer_s(
    macs: int,
    activations: int,
    weights: int,
    profile: Profile,
    batch: int,
    kind: str | None = None,
    shape: tuple[int, int] | None = None,
) -> float:
    """One dense layer (stem conv, projection, classifier) on the roofline: batch-scaled MACs and activations,
    with its kind's constants where the profile has them (and its compute curve at ``shape``: input channels,
    output positions per image)."""
    nbytes = profile.element_bytes * (batch * activations + weights)
    channels, positions = shape if shape else (None, None)
    return layer_time(
        "", batch * macs, nbytes, profile, kind, channels=channels, positions=positions and batch * positions
    ).time_s


def _extremes(profile: Profile) -> tuple[float, float, float]:
    """The largest peak, the largest bandwidth and the smallest overhead of any kind: a lower bound's constants."""
    every = [profile.constants(None), *(profile.constants(k) for k in profile.kinds)]
    return max(c[0] for c in every), max(c[1] for c in every), min(c[2] for c in every)


def _around_units_s(net: Network, width: int, profile: Profile, batch: int) -> float:
    """The stem conv, the projection shortcuts and the classifier of a network at a width (seconds)."""
    lay = net.layout
    base = {S.width: width}
    stem_c = int_at(net.stem_width, base)
    _, stem_macs = stem_counts(lay, stem_c, net.stem_size)
    total = _dense_layer_s(
        stem_macs,
        lay.in_channels * lay.input_size**2 + stem_c * net.stem_size**2,
        lay.stem_kernel**2 * lay.in_channels * stem_c,
        profile,
        batch,
        "conv",
        (lay.in_channels, net.stem_size**2),
    )
    for block in net.blocks:
        if block.shortcut != "projection":
            continue
        c_in, c_out = int_at(block.c_in, base), int_at(block.c_out, base)
        size_in = block.out_size * block.stride
        _, macs = projection_counts(c_in, c_out, block.out_size, False)
        repeat = int_at(block.repeat, base)
        total += repeat * _dense_layer_s(
            macs,
            c_in * size_in**2 + c_out * block.out_size**2,
            c_in * c_out,
            profile,
            batch,
            "pw",
            (c_in, block.out_size**2),
        )
    if lay.classifier:
        final = int_at(net.final_width, base)
        _, macs = classifier_counts(final, lay.classes)
        weights = final * lay.classes + lay.classes
        total += _dense_layer_s(macs, final + lay.classes, weights, profile, batch, "linear")
    return total


def network_time(net: Network, width: int, groups: dict, profile: Profile, batch: int = 1) -> float:
    """Predicted latency of a whole network at a width and group numbers: every unit's layers on the roofline
    (:func:`predict`), plus the stem conv, projection shortcuts and classifier as dense layers; pooling,
    shortcut additions, BN and ReLU are not counted (as in the MACs)."""
    batch = positive_batch(batch)
    total = _around_units_s(net, width, profile, batch)
    for block, values in zip(net.blocks, unit_values(net, width, groups), strict=True):
        repeat = int_at(block.repeat, {S.width: width})
        for unit, vals in zip(block.units, values, strict=True):
            total += repeat * predict(unit.design, vals, profile, batch)
    return total


@dataclass(frozen=True)
class NetworkWithinLatency:
    """The widest buildable network predicted to fit a latency budget."""

    width: int
    groups: dict
    predicted_s: float
    widths_searched: int


def widest_network_within(
    design: Design,
    layout,
    seconds,
    profile: Profile,
    batch: int = 1,
    *,
    max_width: int = 1 << 14,
    on_step=None,
) -> NetworkWithinLatency:
    """The greatest buildable width (free group numbers chosen per width: the fastest with a full field at
    every stage) whose whole network is predicted to fit ``seconds``.

    A lower bound of the time that holds for every group number and grows with the width (``floor_s``) is
    bisected for the widest width it allows; no wider network can fit, and the widths below it are scanned
    down until one has group numbers that build, keep the full field and are predicted to fit."""
    batch = positive_batch(batch)
    budget = float(seconds)
    if layout.symbolic_blocks:
        raise SkanalyzeError(
            "a network latency budget needs concrete blocks per stage, e.g. --blocks 2,2,2,2"
        )
    net = network(design, layout)
    syms = design.group_symbols
    units = [(block, unit) for block in net.blocks for unit in block.units]
    fast = {}
    for _, unit in units:
        if unit.design not in fast:
            fast[unit.design] = predictor(unit.design, profile, batch)
    scales = {}  # per unit: each group number's value there as a multiple of the network's (g or g * 2^s)
    for _, unit in units:
        pairs = []
        for g, expr in unit.groups.items():
            scale = sp.sympify(expr) / g
            if not (scale.is_Rational and scale > 0):
                raise SkanalyzeError(
                    f"group number {g} of {design.notation!r} scales as {expr}, not a multiple of {g}"
                )
            pairs.append((g, float(scale)))
        scales[id(unit)] = pairs
    unit_layers = sum(len(T.layer_traffic(unit.design)) * int(block.repeat) for block, unit in units)
    stage_macs = relaxed_parts(net, "macs")
    stage_acts: dict = {}  # per stage: the units' activations read and written, in `width` (no group number)
    for block, unit in units:
        rows = T.layer_traffic(unit.design)
        acts = unit.design.substitute_bottleneck(sum((r.reads + r.writes for r in rows), sp.Integer(0)))
        at = {S.C: unit.c_in, S.F: unit.c_out, S.H: unit.out_size, S.W: unit.out_size}
        key = f"stage {block.stage + 1}"
        stage_acts[key] = stage_acts.get(key, 0) + block.repeat * acts.subs(at, simultaneous=True)
    for block in net.blocks:  # the stage MACs include the projections, timed exactly on their own below
        if block.shortcut == "projection":
            key = f"stage {block.stage + 1}"
            stage_macs[key] -= block.repeat * block.c_in * block.c_out * block.out_size**2
    bounds = [
        (
            compile_exact(sp.expand(stage_acts[k]), (S.width,)),
            compile_exact(sp.expand(stage_macs[k]), (S.width,)),
        )
        for k in stage_acts
    ]

    most_peak, most_bandwidth, least_overhead = _extremes(profile)

    def floor_s(width: int) -> float:
        """A lower bound of the network's time at this width, whatever the group numbers: the stem, projections
        and classifier exactly, every unit layer's overhead, and per stage the larger of its MACs at the peak
        (groups at their largest) and its activations at the bandwidth (a sum of maxima >= the max of sums)."""
        total = _around_units_s(net, width, profile, batch) + unit_layers * least_overhead
        for acts, macs in bounds:
            memory = batch * profile.element_bytes * float(acts(width)) / most_bandwidth
            total += max(memory, batch * float(macs(width)) / most_peak)
        return total

    if floor_s(1) > budget:
        raise SkanalyzeError(
            f"no {design.notation} network in this layout is predicted to fit {budget * 1e6:g} us on "
            f"{profile.name}: even width 1 needs {floor_s(1) * 1e6:.3g} us"
        )
    lo = largest_fitting(lambda w: floor_s(w) <= budget, 1, limit=max_width)  # no wider network can fit

    def times_at(width):
        """Every group choice's predicted time at this width (vectorised over the choices)."""
        try:
            ones = [v for values in unit_values(net, width, dict.fromkeys(syms, 1)) for v in values]
        except SkanalyzeError:  # not buildable at this width (a bottleneck that is not an integer)
            return []
        candidates = group_candidates(net, width)
        times = np.full(len(candidates), _around_units_s(net, width, profile, batch))
        chosen = {g: np.array([c[g] for c in candidates], dtype=float) for g in syms}
        for (block, unit), vals in zip(units, ones, strict=True):
            arrays = {str(k): np.full(len(candidates), float(v)) for k, v in vals.items()}
            for g, scale in scales[id(unit)]:
                arrays[str(g)] = scale * chosen[g]
            times = times + int(block.repeat) * np.asarray(fast[unit.design](**arrays), dtype=float)
        return zip(times.tolist(), candidates, strict=True)

    found = widest_scan(lo, times_at, budget, lambda w, g: builds_with_full_field(net, w, g), on_step=on_step)
    if found is None:
        raise SkanalyzeError(
            f"no buildable {design.notation} network in this layout is predicted to fit {budget * 1e6:g} us "
            f"on {profile.name}"
        )
    width, groups, _, searched = found
    return NetworkWithinLatency(
        width,
        {str(k): int(v) for k, v in groups.items()},
        network_time(net, width, groups, profile, batch),
        searched,
    )


def network_latency_report(
    design: Design, layout, seconds, profile: Profile, batch: int = 1, values=None, on_step=None
):
    """`skanalyze network --latency`: the widest buildable network predicted to fit, with its counts per part
    (the data of `skanalyze network` at that width) and the prediction. Returns (data, (net, groups))."""
    fixed = {k: int(v) for k, v in S.resolve(values or {}).items() if k in design.group_symbols}
    target = design.subs_groups(fixed) if fixed else design
    found = widest_network_within(target, layout, seconds, profile, batch, on_step=on_step)
    chosen = {**S.resolve(values or {}), **{S.by_name[k]: v for k, v in found.groups.items()}}
    data, built = network_report(design, layout, found.width, None, chosen)
    data.update(  # the keys of `optimize --latency`
        latency_budget_s=float(seconds),
        predicted_s=found.predicted_s,
        profile=profile.name,
        profile_source=profile.source,
        batch=batch,
        widths_searched=found.widths_searched,
    )
    return data, built
