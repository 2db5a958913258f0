"""Device profiles of the roofline: three constants (peak MAC rate, memory bandwidth, per-layer overhead) and where
they came from; read from JSON (a file, or a profile shipped with skanalyze), written by `device calibrate`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.errors import SkanalyzeError

CONSTANTS = {
    "peak_macs_per_s": "peak multiply-accumulates per second",
    "bandwidth_bytes_per_s": "memory bandwidth, bytes per second",
    "overhead_s": "fixed time of one layer (launch and dispatch), seconds",
}
PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
# Kinds of layer with constants of their own (a profile may give any of the three per kind; what it does not
# give comes from the global constants): each measured by its own micro-benchmarks in `device calibrate`.
KINDS = {
    "conv": "dense k x k convolution",
    "pw": "pointwise (1 x 1) convolution",
    "gconv": "k x k group convolution",
    "gconv-gemm": "k x k group convolution the direct kernel does not take (one matrix product per group)",
    "pwgconv": "pointwise group convolution",
    "dw": "depthwise convolution",
    "shuffle": "channel shuffle",
    "linear": "fully connected layer",
    "elementwise": "BatchNorm, activations, additions (element-wise)",
    "pool": "windowed pooling (max or average over a k x k window)",
    "global-pool": "global pooling (adaptive to 1 x 1): one read of its input",
    "ssc": "sparse shift conv (SSC, HetConv): a gathered group conv plus a pointwise group conv",
    "scc": "checkerboard conv (SCC) over space: 1 x 1 convs of shifted inputs",
    "scc-channel": "checkerboard conv (SCC) over channels: a 2-group conv, outputs interleaved",
    "line": "line segments at fixed angles: 1 x 1 convs of shifted inputs",
    "line-learned": "line segments with learned orientations: bilinear gathers and batched products",
}
KERNEL_KINDS = {
    "Conv": "conv",
    "PW": "pw",
    "GConv": "gconv",
    "PWGConv": "pwgconv",
    "DW": "dw",
    "Shuffle": "shuffle",
    "SSC": "ssc",
}
# A kind's compute curve (optional, per kind): its MAC rate is peak * c / (c + channels_half) * n / (n +
# positions_half) for a layer with c input channels per group and n output positions (batch x H x W), so small
# channel counts (vector lanes left idle) and small outputs run below the peak; calibration measures both.
CURVE = {
    "channels_half": "input channels per group at which the MAC rate is half the kind's peak (0: no curve)",
    "positions_half": "output positions (batch x H x W) at which the MAC rate is half the kind's peak (0: none)",
}


# A grouped kind's fixed cost may grow with its groups (optional, per kind): oneDNN runs a group conv as one
# product per group, each with its own dispatch, so a layer of g groups costs overhead_s + g x this before any
# work; calibration measures it from tiny layers of two group numbers.
GROUPS = {"overhead_per_group_s": "fixed time each group adds to a grouped conv, seconds (0: none)"}
# Which kernel runs a k x k group conv depends on its input channels per group c (optional, gconv only): oneDNN's
# direct kernel takes a layer only where c is a multiple of this (4 on this project's AVX-512 CPU) and runs one
# matrix product per group otherwise, several times slower (the gconv-gemm kind's constants); at c = 1 torch
# runs its depthwise kernel (the dw kind's constants). benchmarks/grouped_probe.py shows both.
DISPATCH = {
    "channels_multiple": "input channels per group the direct group-conv kernel needs a multiple of (0: any)"
}


# What a layer pays in a network beyond its time alone (optional, profile-wide): timed alone, a layer reads and
# writes the same buffers call after call, all in the cache; in a network whose pass touches more memory than the
# cache holds, each tensor a layer reads or writes is taken to be out of it, at these extra rates (extra seconds =
# bytes / rate); calibration measures both with ring probes (nn/cold.py). Per-layer predictions (a design, the
# study) are of layers alone and leave them out; a network's (`model --latency`) adds them.
NETWORK = {
    "cold_read_bytes_per_s": "extra time of reading a tensor that is not in the cache, as bytes per second",
    "cold_write_bytes_per_s": "extra time of writing a tensor onto memory that is not in the cache, as bytes per second",
}


def dispatched(channels, multiple: int):
    """Whether a layer with ``channels`` input channels per group (a number, or a numpy array of them) runs the
    kernel of a dispatch entry (``Profile.dispatch``): channels == 1 where multiple is 0, not a multiple else."""
    return (channels % multiple != 0) if multiple else (channels == 1)


def kernel_kind(kernel) -> str | None:
    """The profile kind of a design's kernel (None: a kernel with no kind of its own takes the global constants)."""
    name = type(kernel).__name__
    if name == "SCC":
        return "scc" if kernel.mode == "space" else "scc-channel"
    if name == "Line":
        return "line" if kernel.orient == "fixed" else "line-learned"
    return KERNEL_KINDS.get(kernel.name)


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
    kinds: dict = field(
        default_factory=dict, hash=False
    )  # kind -> {constant: value}, any subset of CONSTANTS
    network: dict = field(default_factory=dict, hash=False)  # any subset of NETWORK

    @property
    def ridge(self) -> float:
        """The ridge point: the intensity (MACs per byte) above which a layer is compute-bound."""
        return self.peak_macs_per_s / self.bandwidth_bytes_per_s

    def constants(self, kind: str | None = None) -> tuple[float, float, float]:
        """(peak MACs/s, bandwidth bytes/s, overhead s) of a kind of layer: its own where the profile has them,
        else the global ones."""
        own = self.kinds.get(kind, {}) if kind is not None else {}
        return (
            own.get("peak_macs_per_s", self.peak_macs_per_s),
            own.get("bandwidth_bytes_per_s", self.bandwidth_bytes_per_s),
            own.get("overhead_s", self.overhead_s),
        )

    def fixed(self, kind: str | None = None) -> tuple[float, float]:
        """(overhead, cost per group) of a kind's fixed cost: its own where it has them; no cost per group else."""
        own = self.kinds.get(kind, {}) if kind is not None else {}
        return own.get("overhead_s", self.overhead_s), own.get("overhead_per_group_s", 0.0)

    def overhead(self, kind: str | None = None, groups: int = 1) -> float:
        """A layer's fixed cost: its kind's overhead, plus its per-group cost times its groups where it has one."""
        base, per_group = self.fixed(kind)
        return base + per_group * groups

    def curve(self, kind: str | None = None) -> tuple[float, float]:
        """(channels_half, positions_half) of a kind's compute curve; (0, 0), the flat peak, where it has none."""
        own = self.kinds.get(kind, {}) if kind is not None else {}
        return own.get("channels_half", 0.0), own.get("positions_half", 0.0)

    def kind_at(self, kind: str | None, channels) -> str | None:
        """The kind whose constants a layer of ``kind`` with ``channels`` input channels per group takes: a group
        conv of one channel per group runs as a depthwise conv (dw), and one whose channels per group are not a
        multiple of gconv's channels_multiple as gconv-gemm where the profile has that kind; else ``kind``."""
        for other, multiple in self.dispatch(kind):
            if dispatched(channels, multiple):
                return other
        return kind

    def dispatch(self, kind: str | None) -> list[tuple[str, int]]:
        """The kernels other than its own that a layer of ``kind`` may run, first match first: (the kind whose
        constants it then takes, m), taken where its input channels per group are 1 (m = 0) or not a multiple of
        m; empty where the profile names none."""
        if kind != "gconv":
            return []
        out = [("dw", 0)] if {"dw", "gconv"} & set(self.kinds) else []  # else both take the global constants
        multiple = int(self.kinds.get("gconv", {}).get("channels_multiple", 0))
        return out + ([("gconv-gemm", multiple)] if multiple and "gconv-gemm" in self.kinds else [])

    def in_network(self, read_bytes: int, write_bytes: int) -> float:
        """The extra seconds a layer takes in a network for the bytes it reads and writes out of the cache (0
        where the profile has no such rate)."""
        read, write = self.network.get("cold_read_bytes_per_s"), self.network.get("cold_write_bytes_per_s")
        return (read_bytes / read if read else 0.0) + (write_bytes / write if write else 0.0)

    def global_only(self) -> Profile:
        """The same profile without its per-kind constants and its network rates (the three-constant roofline)."""
        return replace(self, kinds={}, network={})


def _positive_number(value) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    )


def _checked_kinds(kinds, where: str) -> dict:
    """A profile's kinds, each a dict of its known keys with valid values; else a one-line error naming it."""
    if not isinstance(kinds, dict):
        raise SkanalyzeError(f"{where}: kinds must map a kind of layer to its constants")
    for kind, own in kinds.items():
        if kind not in KINDS:
            raise SkanalyzeError(f"{where}: kind {kind!r} is unknown; valid: {', '.join(KINDS)}")
        optional = {**CURVE, **GROUPS, **(DISPATCH if kind == "gconv" else {})}  # 0 allowed: none
        if not isinstance(own, dict) or not set(own) <= set(CONSTANTS) | set(optional):
            raise SkanalyzeError(f"{where}: kinds.{kind} may give only {', '.join([*CONSTANTS, *optional])}")
        for key, value in own.items():
            zero = not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0
            if key in DISPATCH and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise SkanalyzeError(f"{where}: kinds.{kind}.{key} = {value!r} must be a whole number >= 0")
            if key in optional and (zero or _positive_number(value)):
                continue
            if not _positive_number(value):
                raise SkanalyzeError(
                    f"{where}: kinds.{kind}.{key} = {value!r} must be a positive number"
                    + (" or 0" if key in optional else "")
                )
    return kinds


def profile_from_dict(data: dict, where: str = "profile") -> Profile:
    """A Profile from its JSON form; a missing, non-numeric or non-positive constant is an error naming it."""
    if not isinstance(data, dict):
        raise SkanalyzeError(f"{where} is not a JSON object with {', '.join(CONSTANTS)}")
    values = {}
    for key, what in CONSTANTS.items():
        if key not in data:
            raise SkanalyzeError(f"{where} has no {key} ({what}); a profile needs {', '.join(CONSTANTS)}")
        value = data[key]
        if not _positive_number(value):
            raise SkanalyzeError(f"{where}: {key} = {value!r} must be a positive number ({what})")
        values[key] = float(value)
    eb = data.get("element_bytes", 4)
    if isinstance(eb, bool) or not isinstance(eb, int) or eb < 1:
        raise SkanalyzeError(f"{where}: element_bytes = {eb!r} must be a positive integer (4 for fp32)")
    kinds = _checked_kinds(data.get("kinds", {}), where)
    network = data.get("network", {})
    if not isinstance(network, dict) or not set(network) <= set(NETWORK):
        raise SkanalyzeError(f"{where}: network may give only {', '.join(NETWORK)}")
    for key, value in network.items():
        if not _positive_number(value):
            raise SkanalyzeError(
                f"{where}: network.{key} = {value!r} must be a positive number ({NETWORK[key]})"
            )
    return Profile(
        name=str(data.get("name", where)),
        element_bytes=eb,
        source=str(data.get("source", "")),
        details=dict(data.get("details", {})),
        kinds={k: {c: v if c in DISPATCH else float(v) for c, v in own.items()} for k, own in kinds.items()},
        network={key: float(value) for key, value in network.items()},
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
        **({"kinds": profile.kinds} if profile.kinds else {}),
        **({"network": profile.network} if profile.network else {}),
    }


# -- can a calibration be trusted? -------------------------------------------------------------------
SPREAD_LIMIT = 0.25  # interquartile range / median of a micro-benchmark above this: too noisy to trust
DRIFT_LIMIT = 0.3  # the reference matmul's rate at the end against the start: the machine's speed changed
CONV_OVER_MATMUL = (1 / 20, 1.5)  # a dense conv's MAC rate against the matmul's: outside, inconsistent


def calibration_problems(details: dict) -> list[str]:
    """Why a calibration's constants cannot be trusted, one line each (empty: none found): the machine was
    busy (load beyond the cores the calibration left free), a micro-benchmark's spread stayed large, the
    reference computation's rate drifted, or the dense conv's rate is not what the matmul beside it allows."""
    out = []
    load = (details.get("load") or {}).get("before")
    cpus, threads = details.get("cpus") or 0, details.get("threads") or 0
    if load is not None and cpus and threads and load > max(cpus - threads, 0) + 0.5:
        out.append(
            f"the machine was busy: load average {load:.2f} on {cpus} cores before calibrating with {threads} "
            f"threads (at most {max(cpus - threads, 0) + 0.5:g} leaves them free)"
        )
    for what in ("dense_conv", "copy", "tiny_layer"):
        item = details.get(what) or {}
        if (
            item.get("median_s")
            and item.get("iqr_s") is not None
            and item["iqr_s"] / item["median_s"] > SPREAD_LIMIT
        ):
            out.append(
                f"{what.replace('_', ' ')} timings spread {100 * item['iqr_s'] / item['median_s']:.0f}% "
                f"(IQR / median, limit {100 * SPREAD_LIMIT:.0f}%) after {item.get('rounds', 1)} rounds"
            )
    mm, end = details.get("matmul") or {}, details.get("matmul_end") or {}
    if mm.get("macs_per_s") and end.get("macs_per_s"):
        drift = end["macs_per_s"] / mm["macs_per_s"] - 1
        if abs(drift) > DRIFT_LIMIT:
            out.append(f"the reference matmul ran {100 * drift:+.0f}% faster at the end than at the start")
    conv = (details.get("dense_conv") or {}).get("macs_per_s")
    if conv and mm.get("macs_per_s"):
        ratio = conv / mm["macs_per_s"]
        low, high = CONV_OVER_MATMUL
        if not low <= ratio <= high:
            out.append(
                f"the dense conv's rate is {ratio:.3g}x the reference matmul's (consistent: {low:g}x to {high:g}x)"
            )
    return out


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


def check_threads(threads) -> None:
    """--threads of a timing: None (torch's default) or a positive integer; else a one-line error (no torch needed)."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise SkanalyzeError(f"--threads {threads!r} must be a positive integer")


def positive_batch(batch) -> int:
    """A batch size: a positive integer; else a one-line error."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SkanalyzeError(f"batch {batch!r} must be a positive integer")
    return batch
