"""The kernel vocabulary: one frozen dataclass per kernel kind, and the registry that lists them.

A kernel knows, for given input and output widths, its parameter count, its
multiply-accumulates per output position, its channel connectivity (for the information
field), and how to build itself in torch. Widths and group numbers may be sympy
expressions or integers; the formulas are the same code either way.

Counting convention (stated once, see docs/model.md): convolutions are bias-free; a
layer's parameters are its weights; MACs = weights x output positions; FLOPs = 2 x MACs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import sympy as sp

from .errors import SkanalyzeError, did_you_mean


def _is_int(value) -> bool:
    return isinstance(value, int) or (isinstance(value, sp.Basic) and value.is_Integer)


def _check_positive_int(what: str, value, *, odd: bool = False) -> None:
    if isinstance(value, sp.Basic) and value.free_symbols:
        return
    if not _is_int(value) or int(value) <= 0:
        raise SkanalyzeError(f"{what} (={value}) must be a positive integer")
    if odd and int(value) % 2 == 0:
        raise SkanalyzeError(f"{what} (={value}) must be odd so that 'same' padding is symmetric")


def divides(what: str, divisor, total) -> None:
    """Raise unless the integer ``divisor`` divides ``total`` (no-op for symbolic values)."""
    divisor, total = sp.sympify(divisor), sp.sympify(total)
    if divisor.free_symbols or total.free_symbols:
        return
    if not (divisor.is_Integer and total.is_Integer) or int(divisor) <= 0 or int(total) % int(divisor):
        raise SkanalyzeError(
            f"{what} (={divisor}) must be a positive integer dividing the {total} channels it splits"
        )


@dataclass(frozen=True, kw_only=True)
class Kernel:
    """Base of every kernel kind: geometry (k, stride, dilation, padding) and the shared API."""

    k: sp.Expr | int = 3
    s: int = 1
    d: int = 1
    p: int | None = None  # None: 'same' padding, d*(k-1)/2

    name: ClassVar[str] = "?"
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    arg: ClassVar[str | None] = None  # name of the positional argument, if any
    keeps_width: ClassVar[bool] = False  # output width must equal input width
    mixing: ClassVar[str] = "full"  # channel mixing: none | grouped | full | permute
    paper_letter: ClassVar[str] = "?"  # one letter for the design-space regex

    def __post_init__(self):
        _check_positive_int(f"{self.name} kernel size k", self.k, odd=True)
        _check_positive_int(f"{self.name} stride s", self.s)
        _check_positive_int(f"{self.name} dilation d", self.d)
        if self.p is not None and (not _is_int(self.p) or int(self.p) < 0):
            raise SkanalyzeError(f"{self.name} padding p (={self.p}) must be a non-negative integer")

    # -- geometry -------------------------------------------------------------------
    def extent(self) -> tuple[sp.Expr, sp.Expr]:
        """Spatial kernel extent (kx, ky)."""
        return sp.sympify(self.k), sp.sympify(self.k)

    @property
    def spatial(self) -> bool:
        """True when the kernel looks at more than one spatial position."""
        return any(e != 1 for e in self.extent())

    def padding(self) -> tuple[sp.Expr, sp.Expr]:
        """Padding (px, py); 'same' padding keeps the size at stride 1."""
        if self.p is not None:
            return sp.Integer(self.p), sp.Integer(self.p)
        kx, ky = self.extent()
        return self.d * (kx - 1) / 2, self.d * (ky - 1) / 2

    def input_size(self, out: sp.Expr, axis: int = 0) -> sp.Expr:
        """The input size that gives ``out`` outputs along an axis (s*out with 'same' padding)."""
        if self.p is None:
            return self.s * out
        kk = self.extent()[axis]
        return (out - 1) * self.s + self.d * (kk - 1) + 1 - 2 * self.padding()[axis]

    def output_size(self, size: int, axis: int = 0) -> int:
        """The output size for an integer input size, as torch computes it."""
        kk, pad = self.extent()[axis], self.padding()[axis]
        return int(sp.floor((size + 2 * pad - self.d * (kk - 1) - 1) / self.s)) + 1

    # -- channels -------------------------------------------------------------------
    def groups(self, c_in) -> sp.Expr:
        """Channel groups of the layer for input width c_in (1 = every output sees every input)."""
        return sp.Integer(1)

    def channel_ops(self, c_in, c_out) -> tuple[tuple, ...]:
        """Channel connectivity as primitives for the field algebra: ('group', G, c_out), ('shuffle', g)."""
        return (("group", self.groups(c_in), c_out),)

    def validate(self, c_in, c_out) -> None:
        """Raise SkanalyzeError if the widths are not valid for this kernel (numbers only)."""
        for what, value in (("input channels", c_in), ("output channels", c_out)):
            value = sp.sympify(value)
            if value.is_number and not (value.is_Integer and value > 0):
                raise SkanalyzeError(f"{self.name}: {what} (={value}) must be a positive integer")
        if self.keeps_width and sp.simplify(sp.sympify(c_in) - c_out) != 0:
            raise SkanalyzeError(f"{self.name} keeps the width: output (={c_out}) must equal input (={c_in})")
        g = self.groups(c_in)
        divides(f"{self.name} group number", g, c_in)
        divides(f"{self.name} group number", g, c_out)

    # -- counting -------------------------------------------------------------------
    def params(self, c_in, c_out) -> sp.Expr:
        """Weights of the layer (bias-free)."""
        kx, ky = self.extent()
        return kx * ky * c_in * c_out / self.groups(c_in)

    def macs_per_position(self, c_in, c_out) -> sp.Expr:
        """Multiply-accumulates per output spatial position (= params for a dense conv)."""
        return self.params(c_in, c_out)

    # -- torch ----------------------------------------------------------------------
    def build(self, c_in: int, c_out: int):
        """The torch module of this kernel (imports torch)."""
        from . import nn

        return nn.conv_layer(self, c_in, c_out)

    # -- notation -------------------------------------------------------------------
    def argument(self):
        """The positional argument's value (a group number), or None."""
        return getattr(self, self.arg) if self.arg else None

    def notation(self) -> str:
        """The kernel in the design notation, defaults omitted: ``GConv(4,k=5)``."""
        parts = []
        if self.arg is not None and self.argument() is not None:
            parts.append(_fmt(self.argument()))
        for f in fields(self):
            if f.name == self.arg:
                continue
            value, default = getattr(self, f.name), f.default
            if value != default:
                parts.append(f"{f.name}={_fmt(value)}")
        return self.name + (f"({','.join(parts)})" if parts else "")

    def with_arg(self, value) -> Kernel:
        """A copy with the positional argument replaced."""
        return replace(self, **{self.arg: value}) if self.arg else self


def _fmt(value) -> str:
    return str(value).replace(" ", "")


@dataclass(frozen=True, kw_only=True)
class Conv(Kernel):
    """Standard k x k convolution: every output sees every input channel."""

    name: ClassVar[str] = "Conv"
    aliases: ClassVar[tuple[str, ...]] = ("Conv", "StdConv", "Standard", "SConv")
    description: ClassVar[str] = "standard k x k convolution, k^2*C*F params"
    paper_letter: ClassVar[str] = "C"


@dataclass(frozen=True, kw_only=True)
class GConv(Kernel):
    """Group convolution GConv(M): k x k, M channel groups."""

    g: sp.Expr | int | None = None
    name: ClassVar[str] = "GConv"
    aliases: ClassVar[tuple[str, ...]] = ("GConv", "GC", "GroupConv")
    description: ClassVar[str] = "k x k group convolution with M groups, k^2*C*F/M params"
    arg: ClassVar[str | None] = "g"
    mixing: ClassVar[str] = "grouped"
    paper_letter: ClassVar[str] = "G"

    def groups(self, c_in):
        return sp.sympify(self.g)

    def __post_init__(self):
        super().__post_init__()
        if self.g is not None:
            _check_positive_int(f"{self.name} group number", self.g)


@dataclass(frozen=True, kw_only=True)
class DW(Kernel):
    """Depthwise convolution: one k x k filter per channel, width kept."""

    name: ClassVar[str] = "DW"
    aliases: ClassVar[tuple[str, ...]] = ("DW", "DWConv", "Depthwise", "DepthwiseConv")
    description: ClassVar[str] = "k x k depthwise convolution (F = C), k^2*C params"
    keeps_width: ClassVar[bool] = True
    mixing: ClassVar[str] = "none"
    paper_letter: ClassVar[str] = "D"

    def groups(self, c_in):
        return sp.sympify(c_in)


@dataclass(frozen=True, kw_only=True)
class PW(Kernel):
    """Pointwise (1 x 1) convolution."""

    k: sp.Expr | int = 1
    name: ClassVar[str] = "PW"
    aliases: ClassVar[tuple[str, ...]] = ("PW", "PWConv", "Pointwise", "1x1")
    description: ClassVar[str] = "1 x 1 pointwise convolution, C*F params"
    paper_letter: ClassVar[str] = "P"


@dataclass(frozen=True, kw_only=True)
class PWGConv(Kernel):
    """Pointwise group convolution PWGConv(N): 1 x 1, N channel groups."""

    k: sp.Expr | int = 1
    g: sp.Expr | int | None = None
    name: ClassVar[str] = "PWGConv"
    aliases: ClassVar[tuple[str, ...]] = ("PWGConv", "PWG", "PWGC", "GPW", "PWGroupConv")
    description: ClassVar[str] = "1 x 1 pointwise group convolution with N groups, C*F/N params"
    arg: ClassVar[str | None] = "g"
    mixing: ClassVar[str] = "grouped"
    paper_letter: ClassVar[str] = "Q"

    def groups(self, c_in):
        return sp.sympify(self.g)

    def __post_init__(self):
        super().__post_init__()
        if self.g is not None:
            _check_positive_int(f"{self.name} group number", self.g)


@dataclass(frozen=True, kw_only=True)
class Shuffle(Kernel):
    """Channel shuffle(g): a fixed permutation (reshape to g x C/g, transpose); no weights."""

    k: sp.Expr | int = 1
    g: sp.Expr | int | None = None
    name: ClassVar[str] = "Shuffle"
    aliases: ClassVar[tuple[str, ...]] = ("Shuffle", "ChannelShuffle", "CS", "Permute")
    description: ClassVar[str] = "channel shuffle with g groups, 0 params, 0 MACs"
    arg: ClassVar[str | None] = "g"
    keeps_width: ClassVar[bool] = True
    mixing: ClassVar[str] = "permute"
    paper_letter: ClassVar[str] = "S"

    def __post_init__(self):
        super().__post_init__()
        if self.g is not None:
            _check_positive_int("Shuffle group number", self.g)
        if self.k != 1 or self.s != 1:
            raise SkanalyzeError(f"Shuffle has no kernel size or stride (got k={self.k}, s={self.s})")

    def groups(self, c_in):
        return sp.sympify(self.g)

    def channel_ops(self, c_in, c_out):
        return (("shuffle", self.groups(c_in)),)

    def params(self, c_in, c_out):
        return sp.Integer(0)

    def build(self, c_in, c_out):
        from . import nn

        return nn.ChannelShuffle(int(self.groups(c_in)))


KERNELS: tuple[type[Kernel], ...] = (Conv, GConv, DW, PW, PWGConv, Shuffle)


def _alias_table() -> dict[str, type[Kernel]]:
    return {alias.lower(): cls for cls in KERNELS for alias in cls.aliases}


def lookup(name: str) -> type[Kernel]:
    """The kernel class for a name or alias, case-insensitively."""
    table = _alias_table()
    cls = table.get(name.strip().lower())
    if cls is None:
        raise SkanalyzeError(f"unknown kernel {name!r}; " + did_you_mean(name, [c.name for c in KERNELS]))
    return cls


def kernel_fields(cls: type[Kernel]) -> list[str]:
    """Keyword arguments a kernel accepts in the notation (k, s, d, p)."""
    return [f.name for f in fields(cls) if f.name != cls.arg]


__all__ = ["KERNELS", "Kernel", "lookup", "divides"]
