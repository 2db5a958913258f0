"""A roofline latency model of designs: per layer, time >= max(MACs / peak, bytes / bandwidth), plus a launch.

A device is three constants (a :class:`Profile`): the peak MAC rate, the memory bandwidth and the fixed
overhead of one layer (a kernel launch, the framework's dispatch). The predicted latency of a design is

    sum over its layers of  max(batch * MACs_l / peak,  bytes_l / bandwidth)  +  layers * overhead

where bytes_l = b * (batch * (input + output elements) + weights) is the layer's memory traffic
(:mod:`skanalyze.core.traffic`: each tensor read or written once). A channel shuffle is a layer with no
MACs: memory-bound. A profile may give each kind of layer its own three constants and a compute curve: the
kind's MAC rate is then peak * c / (c + c_half) * n / (n + n_half) for a layer with c input channels per
group and n output positions (batch x h x w), so its compute time is

    batch * MACs_l / peak * (1 + c_half / c) * (1 + n_half / n)

but never less than batch * MACs_l at the profile's own peak (the machine's: a kind's curve is measured up to
160 channels per group, and its asymptote may lie above what the machine can do). A grouped kind's fixed cost
may grow with its groups (overhead_s + g x overhead_per_group_s: one product per group). A group conv takes
the constants of the kernel its c channels per group run (``Profile.dispatch``): the depthwise kernel's at
c = 1, gconv-gemm's where c is not a multiple of gconv's channels_multiple (a Piecewise on C/M with Mod).
Still a closed form in C, F, H, W and the group numbers. Profiles are JSON (``skanalyze device calibrate --out FILE`` measures
one; one for an H100 from its datasheet ships with skanalyze, ``h100-sxm-datasheet``).

Predictions are floats (a time, never a printed count); the MACs and bytes beside them are exact integers.
:func:`predictor` compiles a design once to numpy, so a grid of configurations costs microseconds each.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np
import sympy as sp

from ..core import symbols as S
from ..core import traffic as T
from ..core.counting import params_at, standard
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import as_positive_int, compile_exact
from .optimize import choice_values, group_choices, ranked_at
from .profiles import Profile, dispatched, kernel_kind, positive_batch
from .search import largest_fitting, widest_scan
from .vectorise import compile_numpy


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


def _shape_exprs(row) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """What a traffic row's compute curve and fixed cost read: its input channels per group, output positions
    per image, and groups."""
    c_in = sp.sympify(row.layer.c_in)
    groups = sp.sympify(row.layer.kernel.groups(c_in))
    return c_in / groups, sp.sympify(row.writes) / row.layer.c_out, groups


def _branches(profile: Profile, row) -> list[tuple[int | None, str | None]]:
    """The kernels a traffic row's layer may run (``Profile.dispatch``), first match first: (m, kind), taken where
    its input channels per group are 1 (m = 0) or not a multiple of m, and (None, its own kind) for the rest;
    decided at once where its channels per group are a number."""
    kind = kernel_kind(row.layer.kernel)
    channels = _shape_exprs(row)[0]
    if channels.is_Number:
        return [(None, profile.kind_at(kind, int(channels)))]
    return [*((m, other) for other, m in profile.dispatch(kind)), (None, kind)]


def _condition(m: int, channels: sp.Expr) -> sp.Boolean:
    """A dispatch's condition on the input channels per group, as sympy: 1 (m = 0), or not a multiple of m."""
    return sp.Ne(sp.Mod(channels, m), 0) if m else sp.Eq(channels, 1)


def _fixed(profile: Profile, row, kind: str | None, num=sp.Float) -> sp.Expr:
    """A traffic row's fixed cost as an expression with a kind's constants: its overhead, plus its per-group cost
    times the row's groups where the kind has one."""
    base, per_group = profile.fixed(kind)
    return num(base) + num(per_group) * _shape_exprs(row)[2] if per_group else num(base)


def _curve_factor(profile: Profile, row, kind: str | None, batch: int, num=sp.Float):
    """(1 + c_half / c) * (1 + n_half / n) of a traffic row's layer with a kind's curve, as an expression (c: its
    input channels per group, n: its output positions, batch x h x w), or 1 where the kind has no curve; ``num``
    makes the constants sympy numbers."""
    c_half, n_half = profile.curve(kind)
    channels, positions, _ = _shape_exprs(row)
    factor = sp.Integer(1)
    if c_half:
        factor *= 1 + num(c_half) / channels
    if n_half:
        factor *= 1 + num(n_half) / (batch * positions)
    return factor


def _compute(profile: Profile, row, kind: str | None, batch: int, num=sp.Float) -> sp.Expr:
    """A traffic row's compute time as an expression: batch x its MACs at a kind's peak and curve, and never
    less than at the profile's own peak (which only a kind with a higher peak than the profile's can pass)."""
    peak = profile.constants(kind)[0]
    compute = num(batch / peak) * row.macs * _curve_factor(profile, row, kind, batch, num)
    if peak <= profile.peak_macs_per_s or compute == 0:
        return compute
    return sp.Max(compute, num(batch / profile.peak_macs_per_s) * row.macs)


def _memory(profile: Profile, row, kind: str | None, batch: int, num=sp.Float) -> sp.Expr:
    """A traffic row's memory time as an expression: its bytes at a kind's bandwidth."""
    per_byte = num(profile.element_bytes / profile.constants(kind)[1])
    return per_byte * (batch * (row.reads + row.writes)) + per_byte * row.weights


def curve_factor(profile: Profile, kind: str | None, channels, positions) -> float:
    """How much slower than its kind's peak a layer computes: (1 + c_half / channels) * (1 + n_half /
    positions), channels its input channels per group, positions batch x its output h x w (1: no curve)."""
    c_half, n_half = profile.curve(kind)
    return (1 + c_half / channels if c_half else 1.0) * (1 + n_half / positions if n_half else 1.0)


def layer_time(
    notation: str,
    macs: int,
    nbytes: int,
    profile: Profile,
    kind: str | None = None,
    *,
    channels: int | None = None,
    positions: int | None = None,
    groups: int = 1,
) -> LayerTime:
    """One layer's roofline time from its exact MACs and bytes (the batch already in both), with the
    constants of its kind where the profile has them, its kind's compute curve at its input channels
    per group and output positions (batch x h x w) where both are given, and its fixed cost at its groups; a
    group conv takes the kind of the kernel its channels per group run (``Profile.kind_at``)."""
    kind = profile.kind_at(kind, channels) if channels else kind
    peak, bandwidth, _ = profile.constants(kind)
    slow = curve_factor(profile, kind, channels, positions) if channels and positions else 1.0
    compute = max(macs / peak * slow, macs / profile.peak_macs_per_s)  # never above the machine's peak
    return LayerTime(notation, macs, nbytes, compute, nbytes / bandwidth, profile.overhead(kind, groups))


@lru_cache(maxsize=512)
def _row_fns(design: Design) -> tuple:
    """Per layer, exact functions of the values (each with its symbols): MACs, activations read and written,
    weights, and what its compute curve and fixed cost read: input channels per group, output positions per
    image, groups."""
    out = []
    for row in T.layer_traffic(design):
        exprs = (sp.sympify(row.macs), sp.sympify(row.reads + row.writes), sp.sympify(row.weights))
        exprs += _shape_exprs(row)
        out.append(tuple((compile_exact(e, sorted(e.free_symbols, key=str)), sorted(e.free_symbols, key=str))
                         for e in exprs))  # fmt: skip
    return tuple(out)


COUNTED = ("MACs", "traffic", "weights")


def _counts(design: Design, row, fns, vals: dict) -> list:
    """A layer's MACs, activations and weights as exact integers at the values, and its channels per group,
    output positions per image and groups; a missing value or a count that is not an integer is an error naming
    it."""
    exprs = (row.macs, row.reads + row.writes, row.weights)
    missing = sorted({str(a) for _, args in fns for a in args if a not in vals})
    if missing:
        for expr, what in zip(exprs, COUNTED, strict=True):
            _exact_int(expr, vals, what, design)  # raises, naming the values a count needs
        raise SkanalyzeError(
            f"{design.notation!r} needs values for {', '.join(missing)} to predict its latency"
        )
    values = [fn(*(vals[a] for a in args)) for fn, args in fns]
    for value, expr, what in zip(values[:3], exprs, COUNTED, strict=True):
        if not isinstance(value, int):
            _exact_int(expr, vals, what, design)  # raises: not an integer at these values
    return values


def predict_layers(design: Design, values: dict, profile: Profile, batch: int = 1) -> list[LayerTime]:
    """The roofline time of every layer at concrete values (H, W: the output size) and a batch."""
    batch = positive_batch(batch)
    vals = full_values(design, values)
    rows = []
    for row, fns in zip(T.layer_traffic(design), _row_fns(design), strict=True):
        macs, activations, weights, channels, positions, groups = _counts(design, row, fns, vals)
        rows.append(
            layer_time(
                row.layer.kernel.notation(),
                batch * macs,
                profile.element_bytes * (batch * activations + weights),
                profile,
                kernel_kind(row.layer.kernel),
                channels=float(channels),
                positions=float(batch * positions),
                groups=int(groups),
            )
        )
    return rows


def time_expression(design: Design, profile: Profile, batch: int = 1, digits: int = 4) -> sp.Expr:
    """The predicted time in seconds as a closed form in C, F, H, W (and the group numbers): per layer
    Max(MACs / peak, bytes / bandwidth) + overhead with its kind's constants, a piecewise function whose
    pieces switch where a layer crosses the ridge; the constants rounded to ``digits`` significant digits."""
    batch = positive_batch(batch)

    def num(x: float) -> sp.Float:
        return sp.Float(x, digits)

    total = sp.Integer(0)
    for row in T.layer_traffic(design):
        pieces = []
        for m, kind in _branches(profile, row):
            compute, memory = (
                sp.expand(design.substitute_bottleneck(e))
                for e in (_compute(profile, row, kind, batch, num), _memory(profile, row, kind, batch, num))
            )
            fixed = design.substitute_bottleneck(_fixed(profile, row, kind, num))
            term = (sp.Max(compute, memory) if compute != 0 else memory) + fixed
            where = True if m is None else _condition(m, design.substitute_bottleneck(_shape_exprs(row)[0]))
            pieces.append((term, where))
        total += pieces[0][0] if len(pieces) == 1 else sp.Piecewise(*pieces)
    return total


def predict(design: Design, values: dict, profile: Profile, batch: int = 1) -> float:
    """Predicted latency in seconds of one forward pass (the sum of the layers' roofline times)."""
    return sum(r.time_s for r in predict_layers(design, values, profile, batch))


def predictor(design: Design, profile: Profile, batch: int = 1):
    """``f(**arrays) -> seconds``: the roofline compiled to numpy once, vectorised over arrays of values
    (keyed by symbol name: C, F, M, N, H, W, ...; K comes from the bottleneck when not given)."""
    batch = positive_batch(batch)
    rows = []  # per layer: its kernels, first match first: (m, compute, memory, fixed, channels per group)
    for row in T.layer_traffic(design):
        channels = design.substitute_bottleneck(_shape_exprs(row)[0])
        rows.append([
            (m, *(design.substitute_bottleneck(e) for e in (
                _compute(profile, row, kind, batch), _memory(profile, row, kind, batch), _fixed(profile, row, kind)
            )), channels)
            for m, kind in _branches(profile, row)
        ])  # fmt: skip
    every = [e for branches in rows for branch in branches for e in branch[1:]]
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for e in every)), key=str)
    names = [str(s) for s in syms]
    fns = [[(m, *(compile_numpy(syms, e) for e in exprs)) for m, *exprs in branches] for branches in rows]

    def layer(branches, args):
        *others, (_, compute, memory, fixed, _) = branches
        out = np.maximum(compute(*args), memory(*args)) + fixed(*args)
        for m, compute, memory, fixed, channels in others[::-1]:  # the first match wins
            taken = dispatched(channels(*args), m)
            out = np.where(taken, np.maximum(compute(*args), memory(*args)) + fixed(*args), out)
        return out

    def predict_grid(**arrays):
        missing = [n for n in names if n not in arrays]
        if missing:
            raise SkanalyzeError(
                f"{design.notation!r} needs values for {', '.join(missing)} to predict its latency"
            )
        args = [np.asarray(arrays[n], dtype=float) for n in names]
        total = 0.0
        for branches in fns:
            total = total + layer(branches, args)
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


SCAN_CHUNK = 64  # widths timed in one vectorised call while scanning down


def _timed_widths(design: Design, fast, ks, step: int, alpha: Fraction, hw: int) -> dict[int, list]:
    """Per k in ``ks``: (predicted time, values) of every buildable full-field configuration at width
    C = k * step, F = alpha * C, the values a tuple (C, F, K, the group numbers: ``optimize.choice_values``
    reads it); all the widths' configurations timed in one vectorised call."""
    owners, rows = [], []
    for k in ks:
        c = k * step
        if design.group_symbols:
            try:
                (c, f, kk), choices = group_choices(design, c, int(alpha * c))
            except SkanalyzeError:
                continue
            rows += [(c, f, kk, *combo) for combo in choices]
            owners += [k] * len(choices)
        else:
            for vals in _configs(design, c, int(alpha * c)):
                rows.append((c, int(vals[S.F]), int(vals.get(S.K, 1))))
                owners.append(k)
    out: dict[int, list] = {k: [] for k in ks}
    if rows:
        names = ("C", "F", "K", *(str(g) for g in design.group_symbols))
        columns = np.array(rows, dtype=float).T
        arrays = {n: col for n, col in zip(names, columns, strict=True) if n in fast.symbols}
        times = np.asarray(fast(**arrays, H=hw, W=hw), dtype=float) * np.ones(len(rows))
        for k, t, row in zip(owners, times.tolist(), rows, strict=True):
            out[k].append((t, row))
    return out


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

    No wider layer can fit where even the activations alone (read and written once, every group number
    ignored: a lower bound that grows with C) take longer than the budget: widths are scanned down from
    there (every buildable configuration of a width timed at once) and the first that fits is the answer. A
    design without group numbers has one configuration per width, whose time grows with it: the bound is
    bisected on that time first."""
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
    # per layer, the constants of every kernel it may run: the bound takes the least fixed cost, the most bandwidth
    constants = [[profile.constants(kind) for _, kind in _branches(profile, r)] for r in rows]
    fixed = sum(min(c[2] for c in kernels) for kernels in constants)
    fast = predictor(design, profile, batch)  # floats for the search; the answer is recomputed exactly
    step = alpha.denominator  # widths are k * step, so that F = alpha * C is whole
    bw = max(c[1] for kernels in constants for c in kernels)  # the largest bandwidth: a lower bound's

    def floor_fits(k: int) -> bool:  # the activations alone: a lower bound of every configuration's time
        return fixed + batch * profile.element_bytes * float(floor_fn(k * step)) / bw <= budget

    top = largest_fitting(floor_fits, start=1, limit=max_width // step)
    if top is not None and not design.group_symbols:
        # one configuration per width, its time growing with the width: bisect on the time itself
        top = (
            largest_fitting(
                lambda k: float(fast(C=k * step, F=alpha * k * step, H=hw, W=hw)) <= budget,
                start=1,
                limit=top,
            )
            or 0
        )

    timed: dict[int, list] = {}

    def times_at(k: int):  # every buildable configuration at width k * step (timed with the widths below it)
        if k not in timed:
            timed.clear()
            timed.update(
                _timed_widths(design, fast, range(max(1, k - SCAN_CHUNK + 1), k + 1), step, alpha, hw)
            )
        return timed[k]

    found = widest_scan(top or 0, times_at, budget, lambda k, vals: True)
    searched = found[3] if found is not None else (top or 0)
    best = (choice_values(design, found[1][:3], found[1][3:]), found[2]) if found is not None else None
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


def at_latency(design: Design, c: int, f: int, profile: Profile, hw: int, batch: int = 1) -> dict:
    """`efficiency --at ... --profile P --hw N`: every buildable full-field configuration at widths C, F ranked
    by predicted time as well as by parameters, beside the standard conv C -> F at the same size."""
    if not isinstance(hw, int) or hw < 1:
        raise SkanalyzeError(f"--hw {hw!r} must be a positive integer (the output size)")
    batch = positive_batch(batch)
    ranked = ranked_at(design, c, f, top=None)
    timed = [(predict(design, {**b.values, S.H: hw, S.W: hw}, profile, batch), b) for b in ranked]
    k = next((int(kern.k) for kern in design.kernels if kern.spatial), 3)
    standard_s = predict(standard(k), {S.C: c, S.F: f, S.H: hw, S.W: hw}, profile, batch)
    fastest_s, fastest = min(timed, key=lambda tb: (tb[0], tb[1].params))
    best_s, best = timed[0]

    def row(seconds: float, b) -> dict:
        return {"groups": {str(g): int(b.values[g]) for g in design.group_symbols}, "params": b.params,
                "predicted_s": seconds, "speedup": standard_s / seconds}  # fmt: skip

    return {
        "profile": profile.name,
        "hw": hw,
        "batch": batch,
        "standard_s": standard_s,
        "fewest_params": row(best_s, best),
        "fastest": row(fastest_s, fastest),
        "slower_than_standard": best_s > standard_s,
    }
