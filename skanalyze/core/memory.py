"""Memory guards: estimate what building and measuring a design in torch needs, before anything is built.

The estimate is an upper bound of the tensors a check holds at once, in bytes: the weights of the
modules it builds (float32, then a float64 copy with its gradients for the field measurement) and
every layer's activations (the MAC count's forward pass; the field probe's batch of up to 64
outputs in float64, saved for the backward pass, with their gradients). The limit defaults to
half the memory this machine has available now; ``--max-memory`` changes it.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction

from . import symbols as S
from .counting import input_size, output_sizes, params_at
from .errors import SkanalyzeError

DEFAULT_SHARE = Fraction(1, 2)
_UNITS = {
    "": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}


def parse_bytes(text) -> int:
    """A positive byte count from '2G', '512M', '1.5GiB', '1e9' (B optional)."""
    raw = str(text).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]i?)?[bB]?", raw)
    if not m:
        raise SkanalyzeError(f"memory size {raw!r} is not a size; e.g. 2G, 512M, 1.5GiB or 1e9")
    value = Fraction(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if value <= 0:
        raise SkanalyzeError(f"memory size {raw!r} must be positive")
    return int(value)


def available_bytes() -> int | None:
    """Memory available to new allocations now (Linux MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def default_limit() -> int | None:
    """Half of the memory available now (None when it cannot be read: no guard)."""
    free = available_bytes()
    return None if free is None else int(free * DEFAULT_SHARE)


def human(n: int) -> str:
    """Bytes in a short human form: 1.5 GB."""
    if n >= 10**15:  # beyond a float's range in the end: the exact order of magnitude
        return f"10^{len(str(n)) - 1} bytes"
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def design_bytes(design, values: dict, *, batch: int = 64) -> int:
    """Upper bound of the bytes `verify` / `field --measure` hold for a design at concrete values
    (H = W = 8 unless given, as `verify` builds it; the field probe is no larger)."""
    layers = design.at(values)
    weights = params_at(design, values, bn=True)
    h, w = int(values.get(S.H, 8)), int(values.get(S.W, 8))
    in_h, in_w = (int(v) for v in input_size(design, h, w))
    acts = layers[0].c_in * in_h * in_w
    for (oh, ow), lay in zip(output_sizes(design, h, w), layers, strict=True):
        acts += lay.c_out * int(oh) * int(ow)
    probe_batch = min(batch, layers[-1].c_out)
    return 4 * weights * 2 + 8 * weights * 2 + 4 * acts + 3 * 8 * probe_batch * acts


def check(estimate: int, limit: int | None, what: str, *, given: bool = False) -> None:
    """Refuse (SkanalyzeError) when the estimate exceeds the limit."""
    if limit is not None and estimate > limit:
        source = "--max-memory" if given else "half the memory available now"
        raise SkanalyzeError(
            f"{what} would need about {human(estimate)} of memory, over the limit of {human(limit)} "
            f"({source}); use smaller sizes, or raise the limit with --max-memory"
        )
