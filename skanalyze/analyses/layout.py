"""The network skeleton a design fills: the paper's Table 1 layout as an immutable, configurable description.

Its fields carry their command-line help (``metadata``), from which `skanalyze network` derives its options.
Imports only sympy and the core's errors, so that the CLI can read it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _option

import sympy as sp

from ..core.errors import SkanalyzeError

SHORTCUTS = ("projection", "zero-pad", "none")
STRIDE_AT = ("spatial", "first")  # which layer of the design strides in a down-sampling block
WIDEN_AT = (
    "plan",
    "first",
)  # which layer widens C -> 2C: the design's own plan, or its first width-changing layer
GROUPS = ("fixed", "scale")  # group numbers fixed across stages, or doubled with the width


@dataclass(frozen=True)
class Layout:
    """The network skeleton a design fills (defaults: the paper's Table 1 with ResNet-18's 2 blocks per stage)."""

    # metadata: the command-line option of each field (skanalyze network derives its options from it)
    input_size: int = _option(
        default=224,
        metadata={
            "help": "Input resolution H = W (also --input-size).",
            "flags": ("--resolution", "--input-size"),
        },
    )
    in_channels: int = _option(default=3, metadata={"help": "Input channels."})
    stem_kernel: int = _option(default=3, metadata={"help": "Stem conv kernel size (odd)."})
    stem_stride: int = _option(default=2, metadata={"help": "Stem conv stride."})
    stem_width: int | None = _option(
        default=None, metadata={"help": "Fixed stem channels (default: width)."}
    )  # None: the stem outputs `width` channels
    maxpool: bool = _option(default=True, metadata={"help": "Max pool 3x3/2 after the stem."})
    blocks: tuple = _option(  # blocks per stage: integers, or the symbol B
        default=(2, 2, 2, 2),
        metadata={"help": "Blocks per stage: 2,2,2,2 or 3,4,6,3 or B (symbolic).", "cli": "2,2,2,2"},
    )
    units: int = _option(default=1, metadata={"help": "Design units per block."})
    stride_at: str = _option(default="spatial", metadata={"help": "spatial | first"})
    widen_at: str = _option(default="plan", metadata={"help": "plan | first"})
    shortcut: str = _option(default="projection", metadata={"help": "projection | zero-pad | none"})
    # BN is always built; its parameters are counted only when asked, the default of every command
    bn: bool = _option(
        default=False, metadata={"help": "Count BatchNorm parameters (2 per channel; BN is always built)."}
    )
    classifier: bool = _option(default=True, metadata={"help": "Count the FC classifier."})  # FC counted
    classes: int = _option(default=1000, metadata={"help": "Classes of the FC classifier."})
    group_scaling: str = _option(  # JSON "group_scaling": "groups" is the group numbers themselves
        default="fixed", metadata={"help": "fixed | scale (with the width)", "flags": ("--groups",)}
    )
    bottleneck: sp.Expr | None = _option(  # overrides the design's K rule (an expression in C and F)
        default=None, metadata={"help": "Bottleneck width K: F/4 (default), 6*C, 64, ...", "cli": None}
    )

    def __post_init__(self):
        def positive(name, value, allow_symbol=False):
            value = sp.sympify(value)
            if allow_symbol and value.free_symbols:
                return
            if not (value.is_Integer and value > 0):
                raise SkanalyzeError(f"layout {name} (={value}) must be a positive integer")

        for name in ("input_size", "in_channels", "stem_kernel", "stem_stride", "units", "classes"):
            positive(name, getattr(self, name))
        if self.stem_width is not None:
            positive("stem_width", self.stem_width)
        if not self.blocks:
            raise SkanalyzeError("layout needs at least one stage; e.g. --blocks 2,2,2,2")
        for b in self.blocks:
            positive("blocks per stage", b, allow_symbol=True)
        for name, value, valid in (
            ("shortcut", self.shortcut, SHORTCUTS),
            ("stride-at", self.stride_at, STRIDE_AT),
            ("widen-at", self.widen_at, WIDEN_AT),
            ("groups", self.group_scaling, GROUPS),
        ):
            if value not in valid:
                raise SkanalyzeError(f"layout {name} {value!r} is unknown; valid: {', '.join(valid)}")
        if self.stem_kernel % 2 == 0:
            raise SkanalyzeError(f"layout stem kernel (={self.stem_kernel}) must be odd")
        total = self.stem_stride * (2 if self.maxpool else 1) * 2 ** (len(self.blocks) - 1)
        if self.input_size % total:
            near = [
                m for m in (self.input_size // total * total, (self.input_size // total + 1) * total) if m > 0
            ]
            raise SkanalyzeError(
                f"input size {self.input_size} is not divisible by the layout's total stride {total}; "
                f"use a multiple of {total} such as {' or '.join(map(str, near))}"
            )

    @property
    def stages(self) -> int:
        """Number of stages."""
        return len(self.blocks)

    @property
    def symbolic_blocks(self) -> bool:
        """True when the blocks per stage are symbols (B), so counts are polynomials in them."""
        return any(isinstance(b, sp.Basic) and b.free_symbols for b in self.blocks)

    def sizes(self) -> tuple[int, list[int]]:
        """(stem output size, output size of each stage)."""
        stem = self.input_size // self.stem_stride
        size = stem // 2 if self.maxpool else stem
        out = [size]
        for _ in range(1, self.stages):
            size //= 2
            out.append(size)
        return stem, out


PAPER_LAYOUT = Layout()
