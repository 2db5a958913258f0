"""A roofline latency model of designs: per layer, time >= max(MACs / peak, bytes / bandwidth), plus a launch.

A device is three constants (a :class:`Profile`): the peak MAC rate, the memory bandwidth and the fixed
overhead of one layer (a kernel launch, the framework's dispatch). The predicted latency of a design is

    sum over its layers of  max(batch * MACs_l / peak,  bytes_l / bandwidth)  +  layers * overhead

where bytes_l = b * (batch * (input + output elements) + weights) is the layer's memory traffic
(:mod:`skanalyze.core.traffic`: each tensor read or written once). A channel shuffle is a layer with no
MACs: memory-bound. Profiles are JSON (``skanalyze device calibrate --out FILE`` measures one; one for an
H100 from its datasheet ships with skanalyze, named ``h100-sxm-datasheet``).

Predictions are floats (a time, never a printed count); the MACs and bytes beside them are exact integers.
:func:`predictor` compiles a design once to numpy, so a grid of configurations costs microseconds each.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from ..core import symbols as S
from ..core import traffic as T
from ..core.counting import params_at, standard
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import as_positive_int, compile_exact
from .network import (
    Network,
    classifier_counts,
    evaluate,
    full_field_ok,
    group_candidates,
    network,
    projection_counts,
    relaxed_parts,
    stem_counts,
    unit_values,
)
from .network import (
    report as network_report,
)
from .optimize import ranked_at
from .search import largest_fitting

CONSTANTS = {
    "peak_macs_per_s": "peak multiply-accumulates per second",
    "bandwidth_bytes_per_s": "memory bandwidth, bytes per second",
    "overhead_s": "fixed time of one layer (launch and dispatch), seconds",
}
PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"


@dataclass(frozen=True)
class Profile:
    """A device for the roofline: peak MAC rate, bandwidth, per-layer overhead, and where they came from."""

    name: str
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    overhead_s: float
    element_bytes: int = 4
    source: str = ""
    details: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def ridge(self) -> float:
        """The ridge point: the intensity (MACs per byte) above which a layer is compute-bound."""
        return self.peak_macs_per_s / self.bandwidth_bytes_per_s


def profile_from_dict(data: dict, where: str = "profile") -> Profile:
    """A Profile from its JSON form; a missing, non-numeric or non-positive constant is an error naming it."""
    if not isinstance(data, dict):
        raise SkanalyzeError(f"{where} is not a JSON object with {', '.join(CONSTANTS)}")
    values = {}
    for key, what in CONSTANTS.items():
        if key not in data:
            raise SkanalyzeError(f"{where} has no {key} ({what}); a profile needs {', '.join(CONSTANTS)}")
        value = data[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise SkanalyzeError(f"{where}: {key} = {value!r} must be a positive number ({what})")
        values[key] = float(value)
    eb = data.get("element_bytes", 4)
    if isinstance(eb, bool) or not isinstance(eb, int) or eb < 1:
        raise SkanalyzeError(f"{where}: element_bytes = {eb!r} must be a positive integer (4 for fp32)")
    return Profile(
        name=str(data.get("name", where)),
        element_bytes=eb,
        source=str(data.get("source", "")),
        details=dict(data.get("details", {})),
        **values,
    )


def profile_dict(profile: Profile) -> dict:
    """The JSON form of a profile (what `device calibrate --out` writes and `--profile` reads)."""
    return {
        "name": profile.name,
        **{key: getattr(profile, key) for key in CONSTANTS},
        "element_bytes": profile.element_bytes,
        "source": profile.source,
        "details": profile.details,
    }


def shipped_profiles() -> list[str]:
    """Names of the profiles that ship with skanalyze."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.json"))


def load_profile(name_or_path: str) -> Profile:
    """A profile by file path, or by the name of a shipped one; an unknown one is an error naming them."""
    path = Path(name_or_path)
    if not path.is_file():
        shipped = PROFILE_DIR / f"{name_or_path}.json"
        if not shipped.is_file():
            raise SkanalyzeError(
                f"profile {name_or_path!r} is neither a file nor a shipped profile; shipped: "
                f"{', '.join(shipped_profiles())}; measure this machine with `skanalyze device calibrate --out FILE`"
            )
        path = shipped
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SkanalyzeError(f"profile {name_or_path!r} is not readable JSON: {err}") from None
    return profile_from_dict(data, f"profile {name_or_path!r}")


# -- predictions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerTime:
    """One layer's exact MACs and bytes at a batch, its roofline time and what bounds it."""

    notation: str
    macs: int
    bytes: int
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def time_s(self) -> float:
        """max(compute, memory) + overhead."""
        return max(self.compute_s, self.memory_s) + self.overhead_s

    @property
    def bound(self) -> str:
        """compute or memory: which roof this layer is under."""
        return "compute" if self.compute_s >= self.memory_s else "memory"


def full_values(design: Design, values: dict) -> dict:
    """Values keyed by the project's symbols, K filled in from the bottleneck, validated (groups divide)."""
    vals = S.keyed(values)
    if design.uses_bottleneck and S.K not in vals:
        vals[S.K] = sp.sympify(design.bottleneck).subs(vals)
    design.validate(vals)
    return vals


def _exact_int(expr, vals: dict, what: str, design: Design) -> int:
    value = sp.sympify(expr).subs(vals)
    number = as_positive_int(value) if value != 0 else 0
    if number is None:
        missing = sorted(str(s) for s in sp.sympify(value).free_symbols)
        if missing:
            raise SkanalyzeError(
                f"{design.notation!r} needs values for {', '.join(missing)} to predict its latency"
            )
        raise SkanalyzeError(f"{design.notation!r}: {what} {value} is not an integer at these values")
    return number


def check_threads(threads) -> None:
    """--threads of a timing: None (torch's default) or a positive integer; else a one-line error (no torch needed)."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise SkanalyzeError(f"--threads {threads!r} must be a positive integer")


def _positive_batch(batch) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SkanalyzeError(f"batch {batch!r} must be a positive integer")
    return batch


def predict_layers(design: Design, values: dict, profile: Profile, batch: int = 1) -> list[LayerTime]:
    """The roofline time of every layer at concrete values (H, W: the output size) and a batch."""
    batch = _positive_batch(batch)
    vals = full_values(design, values)
    rows = []
    for row in T.layer_traffic(design):
        macs = batch * _exact_int(row.macs, vals, "MACs", design)
        elements = batch * _exact_int(row.reads + row.writes, vals, "traffic", design)
        elements += _exact_int(row.weights, vals, "weights", design)
        nbytes = profile.element_bytes * elements
        rows.append(
            LayerTime(
                row.layer.kernel.notation(),
                macs,
                nbytes,
                macs / profile.peak_macs_per_s,
                nbytes / profile.bandwidth_bytes_per_s,
                profile.overhead_s,
            )
        )
    return rows


def predict(design: Design, values: dict, profile: Profile, batch: int = 1) -> float:
    """Predicted latency in seconds of one forward pass (the sum of the layers' roofline times)."""
    return sum(r.time_s for r in predict_layers(design, values, profile, batch))


def predictor(design: Design, profile: Profile, batch: int = 1):
    """``f(**arrays) -> seconds``: the roofline compiled to numpy once, vectorised over arrays of values
    (keyed by symbol name: C, F, M, N, H, W, ...; K comes from the bottleneck when not given)."""
    batch = _positive_batch(batch)
    rows = T.layer_traffic(design)
    exprs = []
    for row in rows:
        compute = batch * row.macs / profile.peak_macs_per_s
        memory = profile.element_bytes * (batch * (row.reads + row.writes) + row.weights)
        exprs.append((design.substitute_bottleneck(compute), design.substitute_bottleneck(memory)))
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for pair in exprs for e in pair)), key=str)
    names = [str(s) for s in syms]
    fns = [(sp.lambdify(syms, c, modules="numpy"), sp.lambdify(syms, m, modules="numpy")) for c, m in exprs]
    bw, overhead = profile.bandwidth_bytes_per_s, profile.overhead_s * len(rows)

    def predict_grid(**arrays):
        missing = [n for n in names if n not in arrays]
        if missing:
            raise SkanalyzeError(
                f"{design.notation!r} needs values for {', '.join(missing)} to predict its latency"
            )
        args = [np.asarray(arrays[n], dtype=float) for n in names]
        total = overhead
        for compute, memory in fns:
            total = total + np.maximum(compute(*args), memory(*args) / bw)
        return total

    predict_grid.symbols = tuple(names)
    return predict_grid


# -- a latency budget ----------------------------------------------------------------------------------
UNITS = {
    "s": Fraction(1),
    "ms": Fraction(1, 10**3),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "ns": Fraction(1, 10**9),
}


def parse_latency(text: str) -> Fraction:
    """A latency such as 2ms, 500us, 800ns, 0.01s or 1e-3 (seconds), exactly; anything else is an error."""
    raw = str(text).strip().lower()
    unit = next((u for u in sorted(UNITS, key=len, reverse=True) if raw.endswith(u)), "s")
    number = raw[: len(raw) - len(unit)] if raw.endswith(unit) else raw
    try:
        value = Fraction(number.strip()) * UNITS[unit]
    except (ValueError, ZeroDivisionError):
        raise SkanalyzeError(f"latency {text!r} is not a time; e.g. 2ms, 500us, 0.01s") from None
    if value <= 0:
        raise SkanalyzeError(f"latency {text!r} must be positive; e.g. 2ms")
    if value > 10**6:  # predicted times are floats: nothing beyond this is a budget a layer could meet
        raise SkanalyzeError(f"latency {text!r} is over 10^6 s (11.6 days); a latency budget is at most that")
    return value


def _configs(design: Design, c: int, f: int) -> list[dict]:
    """Every buildable configuration at widths C, F with a full field (group numbers that divide), K filled in."""
    if design.group_symbols:
        try:
            return [b.values for b in ranked_at(design, c, f, top=None)]
        except SkanalyzeError:
            return []
    try:
        return [full_values(design, {S.C: c, S.F: f})]
    except SkanalyzeError:
        return []


@dataclass(frozen=True)
class WithinLatency:
    """The widest buildable layer predicted to fit a latency budget."""

    values: dict
    params: int
    macs: int
    bytes: int
    predicted_s: float
    widths_searched: int


def widest_within(
    design: Design, seconds, profile: Profile, hw: int, alpha=1, batch: int = 1, *, max_width: int = 1 << 16
) -> WithinLatency:
    """The greatest buildable C (F = alpha*C, group numbers that divide with a full field) whose predicted
    latency at output size hw x hw fits ``seconds``; at each width the fastest group numbers are taken.

    The scan stops where even the activations alone (read and written once, every group number ignored:
    a lower bound that grows with C) take longer than the budget, so no wider layer can fit."""
    alpha = Fraction(alpha)
    budget = float(seconds)
    if not isinstance(hw, int) or hw < 1:
        raise SkanalyzeError(f"--hw {hw!r} must be a positive integer (the output size)")
    rows = T.layer_traffic(design)
    activations = sum((r.reads + r.writes for r in rows), sp.Integer(0))
    activations = design.substitute_bottleneck(activations).subs({S.H: hw, S.W: hw, S.F: S.alpha * S.C})
    floor_fn = compile_exact(
        activations.subs(S.alpha, sp.Rational(alpha.numerator, alpha.denominator)), [S.C]
    )
    fixed = profile.overhead_s * len(rows)
    fast = predictor(design, profile, batch)  # floats for the search; the answer is recomputed exactly
    best = None
    searched = 0
    c = alpha.denominator
    while c <= max_width:
        lower = fixed + batch * profile.element_bytes * float(floor_fn(c)) / profile.bandwidth_bytes_per_s
        if lower > budget:
            break
        searched += 1
        f = alpha * c
        if f.denominator == 1:
            for vals in _configs(design, c, int(f)):
                arrays = {str(k): float(v) for k, v in vals.items()}
                t = float(fast(**arrays, H=hw, W=hw))
                # c only grows: a fit at a new width wins; at the same width, the faster group numbers
                if t <= budget and (best is None or c > int(best[0][S.C]) or t < best[1]):
                    best = (vals, t)
        c += alpha.denominator
    if best is None:
        raise SkanalyzeError(
            f"no buildable {design.notation} at --hw {hw} is predicted to fit {budget * 1e6:g} us on "
            f"{profile.name} (the {len(rows)} layers' overhead alone is {fixed * 1e6:g} us)"
        )
    vals = {**best[0], S.H: hw, S.W: hw}
    counts = predict_layers(design, vals, profile, batch)
    t = sum(r.time_s for r in counts)
    return WithinLatency(
        {str(k): int(v) for k, v in full_values(design, vals).items() if str(k) not in ("H", "W")},
        params_at(design, vals),
        sum(r.macs for r in counts),
        sum(r.bytes for r in counts),
        t,
        searched,
    )


def latency_report(design: Design, seconds, profile: Profile, hw: int, alpha=1, batch: int = 1) -> dict:
    """`skanalyze optimize --latency`: the widest buildable layer predicted to fit, its counts and prediction."""
    found = widest_within(design, seconds, profile, hw, alpha, batch)
    return {
        "design": design.notation,
        "latency_budget_s": float(seconds),
        "profile": profile.name,
        "profile_source": profile.source,
        "hw": hw,
        "batch": batch,
        "alpha": sp.Rational(Fraction(alpha).numerator, Fraction(alpha).denominator),
        "buildable": found.values,
        "params": found.params,
        "macs": found.macs,
        "bytes": found.bytes,
        "predicted_s": found.predicted_s,
        "widths_searched": found.widths_searched,
    }


def speed_rows(
    designs: list[Design], profile: Profile, widths=(32, 64, 128, 256, 512), hw: int = 28
) -> list[dict]:
    """Parameter efficiency against predicted speed: per design and width (C = F, the cheapest full-field group
    numbers), the ratio of its params to the standard conv's and the standard conv's predicted time over its own."""
    conv = standard()
    rows = []
    for design in designs:
        for c in widths:
            configs = _configs(design, c, c)
            if not configs:
                continue
            vals = {**min(configs, key=lambda v: params_at(design, v)), S.H: hw, S.W: hw}
            base = {S.C: c, S.F: c, S.H: hw, S.W: hw}
            t, t_conv = predict(design, vals, profile), predict(conv, base, profile)
            rows.append(
                {
                    "design": design.notation,
                    "C": c,
                    "groups": {str(g): int(vals[g]) for g in design.group_symbols},
                    "param_ratio": Fraction(params_at(design, vals), params_at(conv, base)),
                    "predicted_s": t,
                    "speedup": t_conv / t,
                }
            )
    return rows


# -- whole networks ------------------------------------------------------------------------------------
def _dense_layer_s(macs: int, activations: int, weights: int, profile: Profile, batch: int) -> float:
    """One dense layer (stem conv, projection, classifier) on the roofline: batch-scaled MACs and activations."""
    compute = batch * macs / profile.peak_macs_per_s
    memory = profile.element_bytes * (batch * activations + weights) / profile.bandwidth_bytes_per_s
    return max(compute, memory) + profile.overhead_s


def _around_units_s(net: Network, width: int, profile: Profile, batch: int) -> float:
    """The stem conv, the projection shortcuts and the classifier of a network at a width (seconds)."""
    lay = net.layout
    base = {S.width: width}
    stem_c = int(sp.sympify(net.stem_width).subs(base))
    _, stem_macs = stem_counts(lay, stem_c, net.stem_size)
    total = _dense_layer_s(
        stem_macs,
        lay.in_channels * lay.input_size**2 + stem_c * net.stem_size**2,
        lay.stem_kernel**2 * lay.in_channels * stem_c,
        profile,
        batch,
    )
    for block in net.blocks:
        if block.shortcut != "projection":
            continue
        c_in, c_out = int(sp.sympify(block.c_in).subs(base)), int(sp.sympify(block.c_out).subs(base))
        size_in = block.out_size * block.stride
        _, macs = projection_counts(c_in, c_out, block.out_size, False)
        repeat = int(sp.sympify(block.repeat).subs(base))
        total += repeat * _dense_layer_s(
            macs, c_in * size_in**2 + c_out * block.out_size**2, c_in * c_out, profile, batch
        )
    if lay.classifier:
        final = int(sp.sympify(net.final_width).subs(base))
        _, macs = classifier_counts(final, lay.classes)
        total += _dense_layer_s(macs, final + lay.classes, final * lay.classes + lay.classes, profile, batch)
    return total


def network_time(net: Network, width: int, groups: dict, profile: Profile, batch: int = 1) -> float:
    """Predicted latency of a whole network at a width and group numbers: every unit's layers on the roofline
    (:func:`predict`), plus the stem conv, projection shortcuts and classifier as dense layers; pooling,
    shortcut additions, BN and ReLU are not counted (as in the MACs)."""
    batch = _positive_batch(batch)
    total = _around_units_s(net, width, profile, batch)
    for block, values in zip(net.blocks, unit_values(net, width, groups), strict=True):
        repeat = int(sp.sympify(block.repeat).subs({S.width: width}))
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
    design: Design, layout, seconds, profile: Profile, batch: int = 1, *, max_width: int = 1 << 14
) -> NetworkWithinLatency:
    """The greatest buildable width (free group numbers chosen per width: the fastest with a full field at
    every stage) whose whole network is predicted to fit ``seconds``.

    A lower bound of the time that holds for every group number and grows with the width (``floor_s``) is
    bisected for the widest width it allows; no wider network can fit, and the widths below it are scanned
    down until one has group numbers that build, keep the full field and are predicted to fit."""
    batch = _positive_batch(batch)
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

    def floor_s(width: int) -> float:
        """A lower bound of the network's time at this width, whatever the group numbers: the stem, projections
        and classifier exactly, every unit layer's overhead, and per stage the larger of its MACs at the peak
        (groups at their largest) and its activations at the bandwidth (a sum of maxima >= the max of sums)."""
        total = _around_units_s(net, width, profile, batch) + unit_layers * profile.overhead_s
        for acts, macs in bounds:
            memory = batch * profile.element_bytes * float(acts(width)) / profile.bandwidth_bytes_per_s
            total += max(memory, batch * float(macs(width)) / profile.peak_macs_per_s)
        return total

    if floor_s(1) > budget:
        raise SkanalyzeError(
            f"no {design.notation} network in this layout is predicted to fit {budget * 1e6:g} us on "
            f"{profile.name}: even width 1 needs {floor_s(1) * 1e6:.3g} us"
        )
    lo = largest_fitting(lambda w: floor_s(w) <= budget, 1, limit=max_width)  # no wider network can fit
    best = None
    searched = 0
    for width in range(lo, 0, -1):
        searched += 1
        try:
            ones = [
                v for block_values in unit_values(net, width, dict.fromkeys(syms, 1)) for v in block_values
            ]
        except SkanalyzeError:  # not buildable at this width (a bottleneck that is not an integer)
            continue
        candidates = group_candidates(net, width)
        times = np.full(len(candidates), _around_units_s(net, width, profile, batch))
        chosen = {g: np.array([c[g] for c in candidates], dtype=float) for g in syms}
        for (block, unit), vals in zip(units, ones, strict=True):
            arrays = {str(k): np.full(len(candidates), float(v)) for k, v in vals.items()}
            for g, scale in scales[id(unit)]:
                arrays[str(g)] = scale * chosen[g]
            times = times + int(block.repeat) * np.asarray(fast[unit.design](**arrays), dtype=float)
        for i in np.argsort(times, kind="stable"):
            if times[i] > budget:
                break
            try:
                evaluate(net, width, candidates[i])  # validates every unit (divisibility, plans)
            except SkanalyzeError:
                continue
            if full_field_ok(net, width, candidates[i]):
                best = (width, candidates[i])
                break
        if best is not None:
            break
    if best is None:
        raise SkanalyzeError(
            f"no buildable {design.notation} network in this layout is predicted to fit {budget * 1e6:g} us "
            f"on {profile.name}"
        )
    width, groups = best
    return NetworkWithinLatency(
        width,
        {str(k): int(v) for k, v in groups.items()},
        network_time(net, width, groups, profile, batch),
        searched,
    )


def network_latency_report(design: Design, layout, seconds, profile: Profile, batch: int = 1, values=None):
    """`skanalyze network --latency`: the widest buildable network predicted to fit, with its counts per part
    (the data of `skanalyze network` at that width) and the prediction. Returns (data, (net, groups))."""
    fixed = {k: int(v) for k, v in S.resolve(values or {}).items() if k in design.group_symbols}
    target = design.subs_groups(fixed) if fixed else design
    found = widest_network_within(target, layout, seconds, profile, batch)
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
