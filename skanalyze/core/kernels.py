"""The kernel vocabulary: one frozen dataclass per kernel kind, and the open registry that lists them.

A kernel knows, for given input and output widths, its parameter count, its
multiply-accumulates per output position and its channel connectivity (for the information
field); its traits say what the analyses may assume about it: constants of the kind (``weighted``,
``has_bn``, ``keeps_width``) are class variables; traits that follow from the options are properties
(``mixing`` is read from ``channel_ops``; ``footprint_kind`` names the shape of the taps). One truth per kernel:
``channel_ops`` is the channel connectivity, and the field, the footprint (``connections``) and the
shuffle planner all follow it. Widths and group numbers may be sympy expressions or integers;
the formulas are the same code either way. A new kind is one class decorated with
``@register_kernel``; its torch module is registered on the torch side
(``@skanalyze.nn.builds``), so this module never imports torch.

Counting convention (stated once, see docs/model.md): convolutions are bias-free; a
layer's parameters are its weights; MACs = weights x output positions; FLOPs = 2 x MACs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import sympy as sp

from . import symbols as S
from .channels import bits, channel_reach, mixing_of
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
    weighted: ClassVar[bool] = True  # has trainable weights (a layer of the design space's alphabet)
    has_bn: ClassVar[bool] = True  # BatchNorm follows it when BN is counted or built
    paper_letter: ClassVar[str] = "?"  # one letter for the design-space regex
    free_arg: ClassVar[bool] = (
        False  # the positional argument is a free number (a symbol M, N, ... when omitted)
    )
    words: ClassVar[dict] = {}  # options that take a word: name -> valid words
    integers: ClassVar[tuple[str, ...]] = ("s", "d", "p")  # options that take a plain integer

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

    # -- channels -------------------------------------------------------------------
    def groups(self, c_in) -> sp.Expr:
        """Channel groups of the layer for input width c_in (1 = every output sees every input)."""
        return sp.Integer(1)

    def channel_ops(self, c_in, c_out) -> tuple[tuple, ...]:
        """Channel connectivity as primitives for the field algebra: ('group', G, c_out), ('shuffle', g)."""
        return (("group", self.groups(c_in), c_out),)

    @property
    def mixing(self) -> str:
        """How outputs mix input channels, read from channel_ops: none | grouped | full | permute."""
        c_in = sp.Symbol("c_in", positive=True, integer=True)
        c_out = c_in if self.keeps_width else sp.Symbol("c_out", positive=True, integer=True)
        return mixing_of(self.channel_ops(c_in, c_out), c_in)

    @property
    def footprint_kind(self) -> str:
        """The spatial taps' shape: box (the whole k x k window for every filter), split (complementary
        halves across filters) or sparse (a segment or single taps)."""
        return "box"

    def constraints(self, c_in, c_out) -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
        """(what, divisor, width) triples: each divisor must divide its width."""
        g = self.groups(c_in)
        return ((f"{self.name} group number", g, c_in), (f"{self.name} group number", g, c_out))

    def validate(self, c_in, c_out) -> None:
        """Raise SkanalyzeError if the widths are not valid for this kernel (numbers only)."""
        for what, value in (("input channels", c_in), ("output channels", c_out)):
            value = sp.sympify(value)
            if value.is_number and not (value.is_Integer and value > 0):
                raise SkanalyzeError(f"{self.name}: {what} (={value}) must be a positive integer")
        if self.keeps_width and sp.simplify(sp.sympify(c_in) - c_out) != 0:
            raise SkanalyzeError(f"{self.name} keeps the width: output (={c_out}) must equal input (={c_in})")
        for what, divisor, total in self.constraints(c_in, c_out):
            divides(what, divisor, total)

    # -- footprint (exact, integer sizes) ---------------------------------------------------------
    def offsets(self) -> frozenset:
        """The spatial offsets (dy, dx) of the kernel's taps, dilation included (integer k)."""
        kx, ky = (int(e) for e in self.extent())
        ry, rx = (ky - 1) // 2, (kx - 1) // 2
        return frozenset((dy * self.d, dx * self.d) for dy in range(-ry, ry + 1) for dx in range(-rx, rx + 1))

    def filter_taps(self, f: int, channels: list[int], c_in: int, c_out: int) -> list[tuple[list, frozenset]]:
        """How filter f's input channels (those channel_ops reach) split by the offsets it applies to them."""
        return [(channels, self.offsets())]

    def connections(self, c_in: int, c_out: int) -> list[list[tuple[list, frozenset]]]:
        """For every output channel: (input channels, offsets) pairs (integer sizes); the channels are those
        channel_ops reach, so the footprint and the field cannot disagree."""
        sets = channel_reach(self.channel_ops(c_in, c_out), c_in)
        return [self.filter_taps(f, bits(sets[f]), c_in, c_out) for f in range(len(sets))]

    # -- counting -------------------------------------------------------------------
    def params(self, c_in, c_out) -> sp.Expr:
        """Weights of the layer (bias-free)."""
        kx, ky = self.extent()
        return kx * ky * c_in * c_out / self.groups(c_in)

    def macs_per_position(self, c_in, c_out) -> sp.Expr:
        """Multiply-accumulates per output spatial position (= params for a dense conv)."""
        return self.params(c_in, c_out)

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

    def arg_symbols(self) -> set:
        """The free symbols of the positional argument (a group number); empty when it has none."""
        return sp.sympify(self.argument()).free_symbols if self.arg and self.argument() is not None else set()

    def subs(self, values: dict) -> Kernel:
        """A copy with values substituted into the positional argument (the one place group numbers are set)."""
        if self.arg and self.argument() is not None:
            return self.with_arg(S.at(self.argument(), values))
        return self


def _fmt(value) -> str:
    return str(value).replace(" ", "")


REGISTRY: dict[str, type[Kernel]] = {}  # name -> class, in registration order


def register_kernel(cls: type[Kernel]) -> type[Kernel]:
    """Add a kernel class to the vocabulary (a class decorator); its name, aliases and letter must be new."""
    taken = {alias.lower(): other.name for other in REGISTRY.values() for alias in other.aliases}
    taken.update({other.paper_letter: other.name for other in REGISTRY.values() if other.paper_letter != "?"})
    letter = () if cls.paper_letter == "?" else (cls.paper_letter,)
    for key in (*(alias.lower() for alias in cls.aliases), cls.name.lower(), *letter):
        owner = taken.get(key)
        if owner is not None and owner != cls.name:
            raise SkanalyzeError(f"kernel {cls.name}: {key!r} is already taken by {owner}")
    REGISTRY[cls.name] = cls
    return cls


@register_kernel
@dataclass(frozen=True, kw_only=True)
class Conv(Kernel):
    """Standard k x k convolution: every output sees every input channel."""

    name: ClassVar[str] = "Conv"
    aliases: ClassVar[tuple[str, ...]] = ("Conv", "StdConv", "Standard", "SConv")
    description: ClassVar[str] = "standard k x k convolution, k^2*C*F params"
    paper_letter: ClassVar[str] = "C"


@dataclass(frozen=True, kw_only=True)
class GroupedKernel(Kernel):
    """Base of the convolutions with a free group number g (a symbol M, N, ... when omitted): g groups."""

    g: sp.Expr | int | None = None
    arg: ClassVar[str | None] = "g"
    free_arg: ClassVar[bool] = True

    def groups(self, c_in):
        return sp.sympify(self.g)

    def __post_init__(self):
        super().__post_init__()
        if self.g is not None:
            _check_positive_int(f"{self.name} group number", self.g)


@register_kernel
@dataclass(frozen=True, kw_only=True)
class GConv(GroupedKernel):
    """Group convolution GConv(M): k x k, M channel groups."""

    name: ClassVar[str] = "GConv"
    aliases: ClassVar[tuple[str, ...]] = ("GConv", "GC", "GroupConv")
    description: ClassVar[str] = "k x k group convolution with M groups, k^2*C*F/M params"
    paper_letter: ClassVar[str] = "G"


@register_kernel
@dataclass(frozen=True, kw_only=True)
class DW(Kernel):
    """Depthwise convolution: one k x k filter per channel, width kept."""

    name: ClassVar[str] = "DW"
    aliases: ClassVar[tuple[str, ...]] = ("DW", "DWConv", "Depthwise", "DepthwiseConv")
    description: ClassVar[str] = "k x k depthwise convolution (F = C), k^2*C params"
    keeps_width: ClassVar[bool] = True
    paper_letter: ClassVar[str] = "D"

    def groups(self, c_in):
        return sp.sympify(c_in)


@register_kernel
@dataclass(frozen=True, kw_only=True)
class PW(Kernel):
    """Pointwise (1 x 1) convolution."""

    k: sp.Expr | int = 1
    name: ClassVar[str] = "PW"
    aliases: ClassVar[tuple[str, ...]] = ("PW", "PWConv", "Pointwise", "1x1")
    description: ClassVar[str] = "1 x 1 pointwise convolution, C*F params"
    paper_letter: ClassVar[str] = "P"


@register_kernel
@dataclass(frozen=True, kw_only=True)
class PWGConv(GroupedKernel):
    """Pointwise group convolution PWGConv(N): 1 x 1, N channel groups."""

    k: sp.Expr | int = 1
    name: ClassVar[str] = "PWGConv"
    aliases: ClassVar[tuple[str, ...]] = ("PWGConv", "PWG", "PWGC", "GPW", "PWGroupConv")
    description: ClassVar[str] = "1 x 1 pointwise group convolution with N groups, C*F/N params"
    paper_letter: ClassVar[str] = "Q"


@register_kernel
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
    weighted: ClassVar[bool] = False
    has_bn: ClassVar[bool] = False
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

    def constraints(self, c_in, c_out):
        return (("Shuffle group number", self.groups(c_in), c_in),)

    def params(self, c_in, c_out):
        return sp.Integer(0)


@register_kernel
@dataclass(frozen=True, kw_only=True)
class SSC(Kernel):
    """Structured sparse conv SSC(P): each filter applies k x k to 1/P of the input channels (a shifted or
    block pattern) and 1 x 1 (``rest=pw``, HetConv) or nothing (``rest=none``) to the rest.

    Reductions: P=1 is the standard conv; rest=none, pattern=block is GConv(P); rest=none with P = C = F is
    DW; k=1 is PW. The shifted pattern gives filter f the channels c with c = f (mod P), as HetConv does.
    """

    g: sp.Expr | int | None = None
    rest: str = "pw"
    pattern: str = "shift"
    name: ClassVar[str] = "SSC"
    aliases: ClassVar[tuple[str, ...]] = ("SSC", "StructuredSparse", "HetConv")
    words: ClassVar[dict] = {"rest": ("pw", "none"), "pattern": ("shift", "block")}
    description: ClassVar[str] = (
        "structured sparse conv: k x k on C/P channels per filter, 1 x 1 on the rest (HetConv)"
    )
    arg: ClassVar[str | None] = "g"
    free_arg: ClassVar[bool] = True
    paper_letter: ClassVar[str] = "H"

    def __post_init__(self):
        super().__post_init__()
        if self.g is not None:
            _check_positive_int("SSC part number P", self.g)
        if self.rest not in ("pw", "none"):
            raise SkanalyzeError(f"SSC rest={self.rest!r} is unknown; valid: pw, none")
        if self.pattern not in ("shift", "block"):
            raise SkanalyzeError(f"SSC pattern={self.pattern!r} is unknown; valid: shift, block")
        if self.rest == "pw" and self.p is not None:
            raise SkanalyzeError("SSC with rest=pw needs 'same' padding (its 1 x 1 part has none); drop p=")

    def groups(self, c_in):
        return sp.sympify(self.g)

    def params(self, c_in, c_out):
        kx, ky = self.extent()
        part = sp.sympify(c_in) / self.groups(c_in)
        dense = kx * ky * part * c_out
        return dense + (c_out * (c_in - part) if self.rest == "pw" else 0)

    def channel_ops(self, c_in, c_out):
        if self.rest == "pw":
            return (("group", sp.Integer(1), c_out),)
        if self.pattern == "block":
            return (("group", self.groups(c_in), c_out),)
        g = self.groups(c_in)
        return (("shuffle", sp.sympify(c_in) / g), ("group", g, c_out), ("shuffle", g))

    def dense_channels(self, f: int, c_in: int, c_out: int) -> list[int]:
        """The input channels filter f applies k x k to."""
        g = int(self.groups(c_in))
        if self.pattern == "shift":
            return list(range(f % g, c_in, g))
        block = f // (c_out // g)
        return list(range(block * (c_in // g), (block + 1) * (c_in // g)))

    def filter_taps(self, f, channels, c_in, c_out):
        dense = set(self.dense_channels(f, c_in, c_out))
        pairs = [([c for c in channels if c in dense], self.offsets())]
        rest = [c for c in channels if c not in dense]
        return pairs + [(rest, frozenset({(0, 0)}))] if rest else pairs


def checkerboard(k: int, parity: int) -> frozenset:
    """The taps (dy, dx) of a k x k window with dy + dx of the given parity (SCC's complementary masks)."""
    r = (k - 1) // 2
    return frozenset(
        (dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if (dy + dx) % 2 == parity
    )


@register_kernel
@dataclass(frozen=True, kw_only=True)
class SCC(Kernel):
    """Sparse complementary conv: even filters use one half of the k x k grid (a checkerboard), odd filters the
    complementary half (``mode=space``); or even filters see the first half of the input channels and odd ones
    the second (``mode=channel``). Its fusion design SCC+PW has the standard conv's field."""

    mode: str = "space"
    name: ClassVar[str] = "SCC"
    aliases: ClassVar[tuple[str, ...]] = ("SCC", "SparseComplementary")
    words: ClassVar[dict] = {"mode": ("space", "channel")}
    description: ClassVar[str] = (
        "sparse complementary conv: complementary halves of the k x k grid (or channels), k^2*C*F/2 params"
    )
    paper_letter: ClassVar[str] = "X"

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in ("space", "channel"):
            raise SkanalyzeError(f"SCC mode={self.mode!r} is unknown; valid: space, channel")
        if self.mode == "space" and sp.sympify(self.k).is_Integer and int(self.k) < 3:
            raise SkanalyzeError(f"SCC mode=space needs k >= 3 to split the window (got k={self.k})")

    @property
    def footprint_kind(self) -> str:
        """split: even and odd filters see complementary halves of the window (mode=space)."""
        return "split" if self.mode == "space" else "box"

    def groups(self, c_in):
        return sp.Integer(1) if self.mode == "space" else sp.Integer(2)

    def constraints(self, c_in, c_out):
        out = (("SCC needs an even number of filters; 2", sp.Integer(2), c_out),)
        if self.mode == "channel":
            out += (("SCC mode=channel needs an even number of input channels; 2", sp.Integer(2), c_in),)
        return out

    def params(self, c_in, c_out):
        kx, ky = self.extent()
        return kx * ky * c_in * c_out / 2

    def channel_ops(self, c_in, c_out):
        if self.mode == "space":
            return (("group", sp.Integer(1), c_out),)
        return (("group", sp.Integer(2), c_out), ("shuffle", sp.Integer(2)))

    def masks(self) -> tuple[frozenset, frozenset]:
        """(taps of even filters, taps of odd filters)."""
        k = int(self.k)
        scale = lambda taps: frozenset((dy * self.d, dx * self.d) for dy, dx in taps)  # noqa: E731
        if self.mode == "channel":
            return self.offsets(), self.offsets()
        return scale(checkerboard(k, 0)), scale(checkerboard(k, 1))

    def filter_taps(self, f, channels, c_in, c_out):
        even, odd = self.masks()
        return [(channels, even if f % 2 == 0 else odd)]


LINE_ANGLES = (0, 45, 90, 135)
ORIENTATIONS = ("fixed", "filter", "slice")


@register_kernel
@dataclass(frozen=True, kw_only=True)
class Line(Kernel):
    """Line-segment kernel: k weights along a line through the window's centre, at a fixed angle
    (0, 45, 90, 135 degrees) or with a learned orientation per filter or per (filter, channel) slice,
    sampled bilinearly; the learned orientation adds F or C*F parameters."""

    angle: int = 0
    orient: str = "fixed"
    name: ClassVar[str] = "Line"
    aliases: ClassVar[tuple[str, ...]] = ("Line", "LineSegment", "Irregular")
    words: ClassVar[dict] = {"orient": ORIENTATIONS}
    integers: ClassVar[tuple[str, ...]] = ("s", "d", "p", "angle")
    description: ClassVar[str] = (
        "line-segment kernel: k weights on a line (+ F or C*F learned orientations), k*C*F params"
    )
    paper_letter: ClassVar[str] = "L"

    def __post_init__(self):
        super().__post_init__()
        if self.orient not in ORIENTATIONS:
            raise SkanalyzeError(f"Line orient={self.orient!r} is unknown; valid: {', '.join(ORIENTATIONS)}")
        if self.orient == "fixed" and self.angle not in LINE_ANGLES:
            raise SkanalyzeError(
                f"Line angle={self.angle} is not a grid direction; valid: {', '.join(map(str, LINE_ANGLES))}"
                " (or orient=filter|slice to learn it)"
            )
        if self.p is not None:
            raise SkanalyzeError("Line uses 'same' padding; drop p=")

    def segment(self) -> list[tuple[float, float]]:
        """The k sample points (dy, dx) of the segment: grid cells for a fixed angle; for a learned one, unit
        steps along its initial angle, sampled bilinearly."""
        k = int(self.k)
        steps = [i - (k - 1) / 2 for i in range(k)]
        if self.orient == "fixed":  # grid directions: one cell per step (the diagonal steps by (1, 1))
            dy, dx = {0: (0, 1), 45: (-1, 1), 90: (-1, 0), 135: (-1, -1)}[self.angle]
            return [(t * dy, t * dx) for t in steps]
        theta = math.radians(self.angle)
        return [(-t * math.sin(theta), t * math.cos(theta)) for t in steps]

    def offsets(self) -> frozenset:
        """The grid cells the segment touches (bilinear neighbours with a non-zero weight)."""
        cells = set()
        for dy, dx in self.segment():
            for cy in {math.floor(dy + 1e-9), math.ceil(dy - 1e-9)}:
                for cx in {math.floor(dx + 1e-9), math.ceil(dx - 1e-9)}:
                    wy, wx = 1 - abs(dy - cy), 1 - abs(dx - cx)
                    if wy > 1e-9 and wx > 1e-9:
                        cells.add((int(cy) * self.d, int(cx) * self.d))
        return frozenset(cells)

    def extent(self):
        if isinstance(self.k, sp.Basic) and self.k.free_symbols:
            return sp.sympify(self.k), sp.sympify(self.k)
        cells = self.offsets()
        ys = [c[0] for c in cells]
        xs = [c[1] for c in cells]
        return sp.Integer((max(xs) - min(xs)) // self.d + 1), sp.Integer((max(ys) - min(ys)) // self.d + 1)

    def params(self, c_in, c_out):
        extra = {"fixed": 0, "filter": c_out, "slice": c_in * c_out}[self.orient]
        return self.k * c_in * c_out + extra

    def macs_per_position(self, c_in, c_out):
        return self.k * c_in * c_out  # the bilinear sampling of a learned orientation is element-wise work

    @property
    def footprint_kind(self) -> str:
        """sparse: k taps on a line (its orientation free in the design space)."""
        return "sparse"


def registered() -> tuple[type[Kernel], ...]:
    """Every registered kernel class, in registration order."""
    return tuple(REGISTRY.values())


def lookup(name: str) -> type[Kernel]:
    """The kernel class for a name or alias, case-insensitively."""
    wanted = name.strip().lower()
    for cls in REGISTRY.values():
        if wanted == cls.name.lower() or wanted in (alias.lower() for alias in cls.aliases):
            return cls
    raise SkanalyzeError(f"unknown kernel {name!r}; " + did_you_mean(name, list(REGISTRY)))


def kernel_fields(cls: type[Kernel]) -> list[str]:
    """Keyword arguments a kernel accepts in the notation (k, s, d, p)."""
    return [f.name for f in fields(cls) if f.name != cls.arg]


__all__ = [
    "Kernel",
    "GroupedKernel",
    "REGISTRY",
    "register_kernel",
    "registered",
    "lookup",
    "divides",
    "kernel_fields",
]
