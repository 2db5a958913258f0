"""Measured latency: timing torch modules properly, and calibrating a roofline profile on this machine.

Timing (:func:`time_module`): fixed torch threads, ``torch.inference_mode``, warm-up calls, then the median
and interquartile range of ``repeats`` timed calls (``time.perf_counter``; on CUDA, CUDA events after a
synchronisation). Calibration (:func:`calibrate`) measures the roofline's three constants with micro-benchmarks:

* peak MAC rate: a large dense 3x3 convolution (256 -> 256 channels at 56 x 56, at the calibration's batch,
  1 unless asked), MACs / time;
  a large matrix product is measured beside it and recorded (a conv reaches less of the machine's peak,
  and convolutions are what the model predicts);
* bandwidth: copying a 256 MiB tensor into another (read + write = 2 x 256 MiB) / time;
* per-layer overhead: a 1 x 1 convolution of one channel at 1 x 1, the fixed cost of calling a layer.

Every micro-benchmark runs at the calibration's batch (``device calibrate --batch``).

Each is measured again (up to three rounds) while its spread is large; the load before and after, the date,
the threads and torch's version are recorded, and ``analyses.profiles.calibration_problems`` lists why the
numbers cannot be trusted (a busy machine, a spread that stayed large, a reference matmul whose rate
drifted, a conv rate the matmul beside it does not allow): ``device calibrate`` saves such a profile only
with ``--force``. Then each kind of layer is measured on its own (:func:`calibrate_kinds`: a fixed cost, a
cost per group for group convs, a peak and compute curve or a bandwidth), and what a layer pays in a network
for tensors out of the cache (``nn.cold``: the profile's network rates).

Timing itself (:func:`time_module`, :func:`time_call`, the steady allocator) lives in ``nn.timing``; its names
are re-exported here.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics

import torch
from torch import nn as tnn

from ..analyses.profiles import SPREAD_LIMIT, Profile, calibration_problems, positive_batch
from ..analyses.roofline import full_values, layer_time, predict_layers
from ..core import counting
from ..core import symbols as S
from ..core.design import parse
from .cold import cold_constants
from .dispatch import direct_multiple, group_conv_kernels
from .modules import build
from .timing import Timing, pick_device, set_threads, steady_allocator, time_call, time_module


def calibrate(
    *,
    threads: int | None = None,
    device: str = "cpu",
    name: str | None = None,
    quick: bool = False,
    batch: int = 1,
) -> Profile:
    """Measure the roofline's constants on this machine at a batch (under 30 s on a 2-core CPU)."""
    batch = positive_batch(batch)
    dev = pick_device(device)
    used = set_threads(threads) if dev.type == "cpu" else None
    load_before = _load()
    reps = 5 if quick else 15
    # peak: a large dense conv (what the model predicts), with a matrix product beside it for reference
    c, hw = (128, 28) if quick else (256, 56)
    conv = tnn.Conv2d(c, c, 3, padding=1, bias=False)
    n = 512 if quick else 1024
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    t_mm = time_call(lambda: a @ b, warmup=2, repeats=reps, device=dev)
    t_conv, conv_rounds = _steady(
        lambda: time_module(conv, (batch, c, hw, hw), warmup=2, repeats=reps, device=dev)
    )
    conv_rate = 9 * c * c * hw * hw * batch / t_conv.median_s
    # bandwidth: copy a large tensor into another (read + write)
    elements = (16 if quick else 64) * 2**20
    src, dst = torch.ones(elements, device=dev), torch.empty(elements, device=dev)
    t_copy, copy_rounds = _steady(
        lambda: time_call(lambda: dst.copy_(src), warmup=2, repeats=reps, device=dev)
    )
    bandwidth = 2 * 4 * elements / t_copy.median_s
    # overhead: the smallest possible layer
    tiny = tnn.Conv2d(1, 1, 1, bias=False)
    t_tiny, tiny_rounds = _steady(
        lambda: time_module(tiny, (batch, 1, 1, 1), warmup=20, repeats=200 if not quick else 50, device=dev)
    )
    base = Profile("global", conv_rate, bandwidth, t_tiny.median_s)
    kinds, kind_details = calibrate_kinds(base, dev, reps, quick, batch)
    network, cold = cold_constants(batch, dev)
    t_mm_end = time_call(lambda: a @ b, warmup=1, repeats=reps, device=dev)  # did the machine's speed change?
    label = name or f"{platform.node() or 'this-machine'}-{dev.type}" + (f"-{used}t" if used else "")
    details = {
        "calibrated": True,  # measured on this machine (a datasheet profile says false)
        "device": dev.type,
        "threads": used,
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load": {"before": load_before, "after": _load()},
        "machine": platform.machine(),
        "processor": _cpu_name() if dev.type == "cpu" else torch.cuda.get_device_name(dev),
        "cpus": os.cpu_count(),
        "batch": batch,
        "allocator": steady_allocator(),
        "dense_conv": {
            "channels": c,
            "size": hw,
            "median_s": t_conv.median_s,
            "iqr_s": t_conv.iqr_s,
            "rounds": conv_rounds,
            "macs_per_s": conv_rate,
        },
        "matmul": {"n": n, "median_s": t_mm.median_s, "macs_per_s": n**3 / t_mm.median_s},
        "matmul_end": {"n": n, "median_s": t_mm_end.median_s, "macs_per_s": n**3 / t_mm_end.median_s},
        "copy": {
            "bytes": 2 * 4 * elements,
            "median_s": t_copy.median_s,
            "iqr_s": t_copy.iqr_s,
            "rounds": copy_rounds,
        },
        "tiny_layer": {"median_s": t_tiny.median_s, "iqr_s": t_tiny.iqr_s, "rounds": tiny_rounds},
        "kinds": kind_details,
        "cold": cold,
    }
    details["warnings"] = calibration_problems(details)
    return Profile(
        name=label,
        peak_macs_per_s=conv_rate,
        bandwidth_bytes_per_s=bandwidth,
        overhead_s=t_tiny.median_s,
        element_bytes=4,
        source="measured by skanalyze device calibrate",
        details=details,
        kinds=kinds,
        network=network,
    )


# Per kind, micro-benchmarks at sizes outside the latency study's grid (widths 16-512 in its steps, outputs 14
# and 28): nothing is set on the configurations it is judged on. A tiny layer's time is the kind's fixed cost.
# A compute-bound kind is timed at three more sizes: WIDE input channels per group at SIZE x SIZE (the peak),
# NARROW channels per group at NARROW_SIZE x NARROW_SIZE (how the rate falls with channels; large enough that
# its work, not its fixed cost, is most of its time) and WIDE channels at SMALL x SMALL (how it falls with
# positions); the three solve its compute curve exactly. NARROW fills the vector block
# (16 fp32 lanes of AVX-512): oneDNN's blocked kernels pad 20 channels to 32, and a narrow layer of 20 made every
# aligned count look slow (calibrated at 16, the study's grid lands within ±25% 3-8 points more often in three
# paired calibrations at each batch, benchmarks/notes.md). A memory-bound kind is timed
# at three large sizes and its bandwidth is the median (torch may pick another algorithm at one of them).
TINY = {"C": 8, "F": 8, "H": 4, "W": 4}
# A probe whose one call takes longer than this is timed a third as often (at batch 8 the large probes take
# 20-80 ms a call, where a third of the repeats keeps calibration under 30 s and their spread stays small)
LONG_CALL_S = 0.02
WIDE, NARROW, SIZE, SMALL = 160, 16, 20, 5
NARROW_SIZE = 80  # the narrow layer's output size: its MACs well above its fixed cost (not so at 20 x 20)
COMPUTE_KINDS = {  # kind: (design, channel groups)
    "conv": ("Conv", 1),
    "pw": ("PW", 1),
    "gconv": ("GConv(8)", 8),
    "pwgconv": ("PWGConv(8)", 8),
    "ssc": ("SSC(4)", 4),
    "scc": ("SCC", 1),
    "scc-channel": ("SCC(mode=channel)", 2),
    "line": ("Line(orient=fixed)", 1),
}
# kinds whose fixed cost grows with their groups (one product per group): two tiny layers, GROUP_PROBES groups
# of C = F = 32 at 4 x 4 (gconv's: at its direct kernel's channels per group, below), give the cost per group and
# the rest (kinds.K.overhead_per_group_s, overhead_s)
PER_GROUP = {"gconv": "GConv", "pwgconv": "PWGConv"}
GROUP_PROBES = (2, 16)
# Where oneDNN runs a group conv's channels per group on its direct kernel only at multiples of m
# (nn.dispatch), the gconv kind is measured at multiples of m (its probes and its narrow layer at 2m channels
# per group) and the gconv-gemm kind, one product per group, at the least count that is not one: its fixed
# cost per group from tiny layers, its rate as a bandwidth over MEMORY_SIZES (its time grows with the
# activations, not with the MACs: 2 to 6 channels per group take the same time at the same C and positions).
MEMORY_KINDS = {"dw": "DW", "shuffle": "Shuffle(8)"}
MEMORY_SIZES = ((256, 40), (384, 32), (640, 24))  # (channels, output size)
# learned lines gather F x C x k x k x H x W elements: one moderate size for the rate, no curve
GATHER_KINDS = {"line-learned": ("Line(orient=filter)", {"C": 40, "F": 40, "H": 10, "W": 10})}


def _other_kinds(quick: bool, b: int = 1) -> dict:
    """The kinds an imported model has beside convolutions, at batch b: (tiny module and input, large module and
    input, large MACs, large elements read and written, parameters)."""
    c, hw, n_in, n_out = (320, 20, 1280, 1000) if quick else (640, 40, 2560, 2000)
    return {
        "linear": (tnn.Linear(8, 8), (b, 8), tnn.Linear(n_in, n_out), (b, n_in), b * n_in * n_out, b * (n_in + n_out), n_in * n_out + n_out),
        "elementwise": (tnn.BatchNorm2d(8), (b, 8, 4, 4), tnn.BatchNorm2d(c), (b, c, hw, hw), 0, b * 2 * c * hw * hw, 2 * c),
        "pool": (
            tnn.MaxPool2d(3, 2, 1), (b, 8, 4, 4), tnn.MaxPool2d(3, 2, 1), (b, c, hw, hw), 0, b * (c * hw * hw + c * (hw // 2) ** 2), 0,
        ),
        "global-pool": (
            tnn.AdaptiveAvgPool2d(1), (b, 8, 4, 4), tnn.AdaptiveAvgPool2d(1), (b, c, hw, hw), 0, b * (c * hw * hw + c), 0,
        ),
    }  # fmt: skip


def solve_curve(
    work: dict, wide: int, narrow: int, size: int, small: int, narrow_size: int | None = None
) -> dict:
    """A kind's peak and compute curve from the seconds per MAC (time less the fixed cost, over the MACs) of
    three layers: ``work`` maps "wide" (``wide`` channels per group, ``size`` positions), "narrow" (``narrow``
    channels at ``narrow_size`` positions, default ``size``) and "small" (``wide`` channels at ``small``
    positions) to it. With rate = peak * c / (c + c_half) * n / (n + n_half), the small layer's ratio to the
    wide one solves n_half exactly, and the narrow one's, its positions' factor taken out, c_half; a ratio that
    says no slow-down gives 0."""

    def half(ratio: float, big: int, little: int) -> float:
        denominator = 1 / little - ratio / big
        return max((ratio - 1) / denominator, 0.0) if ratio > 1 and denominator > 0 else 0.0

    n_half = half(work["small"] / work["wide"], size, small)
    at = size if narrow_size is None else narrow_size
    c_half = half(work["narrow"] / work["wide"] * (1 + n_half / size) / (1 + n_half / at), wide, narrow)
    peak = (1 + c_half / wide) * (1 + n_half / size) / work["wide"]
    return {"peak_macs_per_s": peak, "channels_half": c_half, "positions_half": n_half}


def _layer_case(text: str, values: dict, base: Profile, batch: int = 1) -> tuple:
    """(module, input shape, MACs, bytes) of a one-kernel design at values and a batch."""
    design = parse(text)
    (row,) = predict_layers(design, values, base, batch)
    shape = (batch, values["C"], *counting.input_size(design, values["H"], values["W"]))
    return build(design, full_values(design, values)), tuple(int(x) for x in shape), row.macs, row.bytes


def _compute_kind(
    kind: str,
    text: str,
    groups: int,
    base: Profile,
    timed,
    fixed: float,
    batch: int = 1,
    narrow: int = NARROW,
) -> tuple[dict, dict]:
    """A compute kind's constants: its peak and curve from three layers (WIDE channels per group at SIZE,
    ``narrow`` at NARROW_SIZE, WIDE at SMALL; at a batch), or its bandwidth where the global roofs say the wide
    layer is memory-bound."""
    work, record = {}, {"tiny_s": fixed}
    sizes = {"wide": (WIDE, SIZE), "narrow": (narrow, NARROW_SIZE), "small": (WIDE, SMALL)}
    for label, (per_group, hw) in sizes.items():
        c = per_group * groups
        module, shape, macs, nbytes = _layer_case(text, {"C": c, "F": c, "H": hw, "W": hw}, base, batch)
        t = timed(module, shape)
        record[label] = {"s": t, "macs": macs, "bytes": nbytes, "shape": list(shape)}
        if label == "wide" and layer_time(kind, macs, nbytes, base).bound == "memory":
            return _one_layer_constants(kind, macs, nbytes, t, fixed, base), record
        work[label] = (t - fixed) / macs
    own = {"overhead_s": fixed}
    if all(w > 0 for w in work.values()):
        own.update(solve_curve(work, WIDE, narrow, batch * SIZE**2, batch * SMALL**2, batch * NARROW_SIZE**2))
    return own, record


def _one_layer_constants(kind: str, macs: int, nbytes: int, t: float, fixed: float, base: Profile) -> dict:
    """A kind's fixed cost and, from one larger layer's time t, its rate at the roof the global constants say
    that layer is under: its peak MAC rate or its bandwidth (none where t is not above the fixed cost)."""
    own = {"overhead_s": fixed}
    if t > fixed:
        if layer_time(kind, macs, nbytes, base).bound == "compute":
            own["peak_macs_per_s"] = macs / (t - fixed)
        else:
            own["bandwidth_bytes_per_s"] = nbytes / (t - fixed)
    return own


def _memory_kind(
    text: str, base: Profile, timed, fixed: float, quick: bool, batch: int = 1, per_group: tuple = ()
) -> tuple[dict, dict]:
    """A memory kind's constants: its bandwidth as the median over MEMORY_SIZES (the first only, quick); with
    ``per_group`` (channels per group, fixed cost per group), a design in M at that many channels per group (C
    rounded down to a multiple), each layer's fixed cost counting its groups."""
    rates, record = [], {"tiny_s": fixed}
    for c, hw in MEMORY_SIZES[:1] if quick else MEMORY_SIZES:
        values = {"C": c, "F": c, "H": hw, "W": hw}
        layer_fixed = fixed
        if per_group:
            channels, cost = per_group
            values = {
                **values,
                "C": c // channels * channels,
                "F": c // channels * channels,
                "M": c // channels,
            }
            layer_fixed = fixed + values["M"] * cost
        module, shape, _, nbytes = _layer_case(text, values, base, batch)
        t = timed(module, shape)
        record[f"{values['C']}x{hw}"] = {"s": t, "bytes": nbytes, "shape": list(shape)}
        if t > layer_fixed:
            rates.append(nbytes / (t - layer_fixed))
    return {
        "overhead_s": fixed,
        **({"bandwidth_bytes_per_s": statistics.median(rates)} if rates else {}),
    }, record


def calibrate_kinds(
    base: Profile, dev: torch.device, reps: int, quick: bool, batch: int = 1
) -> tuple[dict, dict]:
    """Each kind's constants at a batch: its fixed cost from a tiny layer, and its peak MAC rate and compute
    curve, or its bandwidth, from larger ones (whichever roof the global constants say they are under); (kinds,
    what was measured)."""
    kinds, measured = {}, {}

    def timed(module, shape, repeats=reps) -> float:
        once = time_module(module, shape, warmup=1, repeats=1, device=dev).median_s
        repeats = max(3, repeats // 3) if once > LONG_CALL_S else repeats
        return _median_of_rounds(time_module, module, shape, warmup=3, repeats=repeats, device=dev)

    def tiny_time(module, shape) -> float:  # a kind's fixed cost: its tiny layer, timed more often
        return _median_of_rounds(time_module, module, shape, warmup=5, repeats=4 * reps, device=dev)

    def fixed_cost(text: str, values: dict = TINY) -> float:
        return tiny_time(*_layer_case(text, values, base, batch)[:2])

    kernels = group_conv_kernels() if dev.type == "cpu" else {}
    multiple = direct_multiple(kernels)
    for kind, (text, groups) in COMPUTE_KINDS.items():
        per_group = multiple if kind == "gconv" and multiple else None
        own, probes = (
            per_group_cost(PER_GROUP[kind], fixed_cost, per_group) if kind in PER_GROUP else ({}, {})
        )
        fixed = own["overhead_s"] + groups * own["overhead_per_group_s"] if own else fixed_cost(text)
        narrow = 2 * per_group if per_group else NARROW
        kinds[kind], measured[kind] = _compute_kind(kind, text, groups, base, timed, fixed, batch, narrow)
        kinds[kind].update(own)
        if probes:
            measured[kind]["groups_s"] = probes
    if multiple:
        gemm = next(c for c in range(2, multiple + 2) if c % multiple)
        own, probes = per_group_cost("GConv", fixed_cost, gemm)
        rest, cost = (
            (own["overhead_s"], own["overhead_per_group_s"]) if own else (fixed_cost("GConv(4)"), 0.0)
        )
        kinds["gconv-gemm"], measured["gconv-gemm"] = _memory_kind(
            "GConv(M)", base, timed, rest, quick, batch, (gemm, cost)
        )
        kinds["gconv-gemm"].update(own)
        measured["gconv-gemm"].update(groups_s=probes, channels_per_group=gemm)
        kinds["gconv"]["channels_multiple"] = multiple
    measured["gconv"]["kernels"] = {str(c): name for c, name in kernels.items()}
    for kind, text in MEMORY_KINDS.items():
        kinds[kind], measured[kind] = _memory_kind(text, base, timed, fixed_cost(text), quick, batch)
    for kind, (text, values) in GATHER_KINDS.items():
        fixed = fixed_cost(text)
        module, shape, macs, nbytes = _layer_case(text, values, base, batch)
        t = timed(module, shape, repeats=max(3, reps // 3))
        kinds[kind] = {"overhead_s": fixed, **({"peak_macs_per_s": macs / (t - fixed)} if t > fixed else {})}
        measured[kind] = {
            "tiny_s": fixed,
            "large": {"s": t, "macs": macs, "bytes": nbytes, "shape": list(shape)},
        }
    for kind, (tiny, tiny_shape, big, shape, macs, elements, params) in _other_kinds(quick, batch).items():
        nbytes = base.element_bytes * (elements + params)
        fixed, t = tiny_time(tiny, tiny_shape), timed(big, shape)
        kinds[kind] = _one_layer_constants(kind, macs, nbytes, t, fixed, base)
        measured[kind] = {"tiny_s": fixed, "large_s": t, "macs": macs, "bytes": nbytes, "shape": list(shape)}
    return kinds, measured


def per_group_cost(name: str, fixed_cost, per_group: int | None = None) -> tuple[dict, dict]:
    """A grouped kind's fixed cost per group and the rest (overhead_s, overhead_per_group_s), from tiny layers of
    GROUP_PROBES groups (``fixed_cost`` times a design at values; C = 32, or ``per_group`` channels per group),
    and those times; no constants where the two do not say a positive cost per group and a positive rest."""
    lo, hi = GROUP_PROBES

    def values(g: int) -> dict:
        c = g * per_group if per_group else 32
        return {"C": c, "F": c, "H": 4, "W": 4}

    times = {g: fixed_cost(f"{name}({g})", values(g)) for g in GROUP_PROBES}
    cost = (times[hi] - times[lo]) / (hi - lo)  # seconds per group (per_group stays the channel count)
    rest = times[lo] - lo * cost
    own = {"overhead_s": rest, "overhead_per_group_s": cost} if cost > 0 and rest > 0 else {}
    return own, times


def _median_of_rounds(measure, *args, rounds: int = 3, **kwargs) -> float:
    """The median of three rounds' medians of ``measure(*args, **kwargs)``: one slow round (a page fault, a
    neighbour) does not set a kind's constant."""
    return statistics.median(measure(*args, **kwargs).median_s for _ in range(rounds))


def _steady(measure, rounds: int = 3) -> tuple[Timing, int]:
    """Measure again (up to ``rounds`` times) while the spread (IQR / median) is above the limit; the
    steadiest round and how many were run."""
    best = measure()
    done = 1
    while done < rounds and best.iqr_s > SPREAD_LIMIT / 2.5 * best.median_s:
        again = measure()
        done += 1
        if again.iqr_s / again.median_s < best.iqr_s / best.median_s:
            best = again
    return best, done


def _load() -> float | None:
    """The 1-minute load average (None where the system does not say)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def latency_report(
    design,
    values: dict,
    *,
    batch: int = 1,
    threads: int | None = None,
    device: str = "cpu",
    warmup: int = 3,
    repeats: int = 20,
    profile: Profile | None = None,
) -> dict:
    """`skanalyze latency`: the design's module timed (median, IQR) beside its exact MACs and bytes and, with a
    profile, the roofline prediction per layer."""
    dev = pick_device(device)
    used = set_threads(threads) if dev.type == "cpu" else None
    vals = full_values(design, values)
    module = build(design, vals)
    h, w = counting.input_size(design, vals[S.H], vals[S.W])
    shape = (batch, int(vals[S.C]), int(h), int(w))
    timing = time_module(module, shape, warmup=warmup, repeats=repeats, device=dev)
    element_bytes = profile.element_bytes if profile else 4
    unit = Profile(
        "counts", 1.0, 1.0, 1e-30, element_bytes
    )  # exact MACs and bytes, with or without a profile
    layers = predict_layers(design, vals, profile or unit, batch)
    data = {
        "design": design.notation,
        "values": {str(k): int(v) for k, v in vals.items()},
        "batch": batch,
        "device": dev.type,
        "threads": used,
        "torch": torch.__version__,
        "measured": {
            "median_s": timing.median_s,
            "q1_s": timing.q1_s,
            "q3_s": timing.q3_s,
            "iqr_s": timing.iqr_s,
            "repeats": timing.repeats,
            "warmup": warmup,
        },
        "macs": sum(r.macs for r in layers),
        "bytes": sum(r.bytes for r in layers),
        "element_bytes": element_bytes,
        "params": counting.params_at(design, vals),
        "profile": None,
    }
    if profile is not None:
        predicted = sum(r.time_s for r in layers)
        data["profile"] = profile.name
        data["predicted_s"] = predicted
        data["measured_over_predicted"] = timing.median_s / predicted
        data["layers"] = [
            {
                "layer": r.notation,
                "macs": r.macs,
                "bytes": r.bytes,
                "bound": r.bound,
                "predicted_s": r.time_s,
            }
            for r in layers
        ]
    return data
