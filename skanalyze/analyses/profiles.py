"""Device profiles of the roofline: three constants (peak MAC rate, memory bandwidth, per-layer overhead) and where
they came from; read from JSON (a file, or a profile shipped with skanalyze), written by `device calibrate`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import SkanalyzeError

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


def check_threads(threads) -> None:
    """--threads of a timing: None (torch's default) or a positive integer; else a one-line error (no torch needed)."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise SkanalyzeError(f"--threads {threads!r} must be a positive integer")


def positive_batch(batch) -> int:
    """A batch size: a positive integer; else a one-line error."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise SkanalyzeError(f"batch {batch!r} must be a positive integer")
    return batch
