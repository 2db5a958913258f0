"""Torch modules of the kernel kinds, and the registry that maps each kernel class to its builder.

A builder is registered on the torch side with ``@builds(KernelClass)``, so the kernel classes
(skanalyze.core.kernels) never import torch. :func:`build` turns a design at concrete sizes into an
``nn.Sequential``: bias-free convs with ``groups=``, real channel shuffles, BatchNorm after every
kernel whose ``has_bn`` trait is set (when asked).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import sympy as sp
import torch
from torch import nn as tnn

from ..core import symbols as S
from ..core.design import Design, Layer
from ..core.errors import SkanalyzeError
from ..core.kernels import DW, PW, SCC, SSC, Conv, GConv, Kernel, Line, PWGConv, Shuffle


class ChannelShuffle(tnn.Module):
    """Channel shuffle(g): view channels as (g, C/g), transpose, flatten. No parameters."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = int(groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class SSCModule(tnn.Module):
    """SSC(P): a k x k conv with P groups over permuted inputs (each filter's C/P dense channels), plus a
    1 x 1 conv with P groups over the remaining channels of each filter (rest=pw). Only real weights exist:
    trainable parameters = the formula, and FlopCounterMode sees exactly the formula's MACs."""

    def __init__(self, kernel, c_in: int, c_out: int):
        super().__init__()
        g = int(kernel.groups(c_in))
        self.dense = tnn.Conv2d(
            c_in,
            c_out,
            int(kernel.k),
            kernel.s,
            kernel.d * (int(kernel.k) - 1) // 2 if kernel.p is None else kernel.p,
            kernel.d,
            groups=g,
            bias=False,
        )
        per_out = c_out // g
        # group r of the convolution = filters f with f // per_out == r (block) or f % g == r (shift)
        filters = [
            [f for f in range(c_out) if (f % g if kernel.pattern == "shift" else f // per_out) == r]
            for r in range(g)
        ]
        dense_in = [kernel.dense_channels(fs[0], c_in, c_out) for fs in filters]
        self.register_buffer(
            "dense_index", torch.tensor([c for block in dense_in for c in block]), persistent=False
        )
        order = [f for fs in filters for f in fs]  # conv output o -> filter order[o]
        self.register_buffer(
            "out_index", torch.tensor([order.index(f) for f in range(c_out)]), persistent=False
        )
        self.rest = None
        if kernel.rest == "pw" and g > 1:
            rest_in = [[c for c in range(c_in) if c not in set(block)] for block in dense_in]
            self.register_buffer(
                "rest_index", torch.tensor([c for block in rest_in for c in block]), persistent=False
            )
            self.rest = tnn.Conv2d(len(self.rest_index), c_out, 1, kernel.s, 0, groups=g, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dense(x[:, self.dense_index])
        if self.rest is not None:
            y = y + self.rest(x[:, self.rest_index])
        return y[:, self.out_index]


def _shifted(
    x: torch.Tensor, dy: int, dx: int, pad: tuple[int, int], stride: int, out_hw: tuple[int, int]
) -> torch.Tensor:
    """The input seen by a tap at (dy, dx) of a 'same'-padded window: a strided slice of the padded input."""
    py, px = pad
    xp = torch.nn.functional.pad(x, (px, px, py, py))
    h, w = out_hw
    y0, x0 = py + dy, px + dx
    return xp[:, :, y0 : y0 + (h - 1) * stride + 1 : stride, x0 : x0 + (w - 1) * stride + 1 : stride]


class SCCModule(tnn.Module):
    """SCC: mode=space sums, per tap of each half of the window, a 1 x 1 conv over the shifted input (even
    filters: one checkerboard half, odd filters: the other); mode=channel is a 2-group conv with the two
    groups' outputs interleaved (even filters see the first half of the channels)."""

    def __init__(self, kernel, c_in: int, c_out: int):
        super().__init__()
        self.kernel, self.c_out = kernel, c_out
        k = int(kernel.k)
        self.pad = (kernel.d * (k - 1) // 2,) * 2
        if kernel.mode == "channel":
            self.conv = tnn.Conv2d(c_in, c_out, k, kernel.s, self.pad[0], kernel.d, groups=2, bias=False)
            half = c_out // 2
            self.register_buffer(
                "out_index", torch.tensor([(f % 2) * half + f // 2 for f in range(c_out)]), persistent=False
            )
            return
        even, odd = kernel.masks()
        self.taps = (sorted(even), sorted(odd))
        self.even = tnn.ModuleList(tnn.Conv2d(c_in, (c_out + 1) // 2, 1, bias=False) for _ in self.taps[0])
        self.odd = tnn.ModuleList(tnn.Conv2d(c_in, c_out // 2, 1, bias=False) for _ in self.taps[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel.mode == "channel":
            return self.conv(x)[:, self.out_index]
        s = self.kernel.s
        out_hw = ((x.shape[2] - 1) // s + 1, (x.shape[3] - 1) // s + 1)
        halves = []
        for taps, convs in zip(self.taps, (self.even, self.odd), strict=True):
            halves.append(
                sum(
                    conv(_shifted(x, dy, dx, self.pad, s, out_hw))
                    for (dy, dx), conv in zip(taps, convs, strict=True)
                )
            )
        y = torch.empty(x.shape[0], self.c_out, *out_hw, dtype=halves[0].dtype, device=x.device)
        y[:, 0::2], y[:, 1::2] = halves
        return y


class LineModule(tnn.Module):
    """Line: k weights per (filter, channel) along a segment. A fixed grid angle sums k 1 x 1 convs over shifted
    inputs. A learned orientation (per filter or per slice) samples each point bilinearly from the k x k
    neighbourhood (element-wise work) and contracts with the weights (counted MACs = k*C*F per position);
    `dense = True` (training, see dense_lines) computes the same function as one conv with dense_weight()."""

    def __init__(self, kernel, c_in: int, c_out: int):
        super().__init__()
        self.kernel, self.c_in, self.c_out = kernel, c_in, c_out
        k = int(kernel.k)
        self.r = (k - 1) // 2
        self.pad = (kernel.d * self.r, kernel.d * self.r)
        if kernel.orient == "fixed":
            self.taps = sorted(kernel.offsets())
            self.convs = tnn.ModuleList(tnn.Conv2d(c_in, c_out, 1, bias=False) for _ in self.taps)
            return
        self.weight = tnn.Parameter(torch.randn(c_out, c_in, k) * math.sqrt(2.0 / (c_in * k)))
        shape = (c_out,) if kernel.orient == "filter" else (c_out, c_in)
        self.theta = tnn.Parameter(torch.full(shape, math.radians(kernel.angle)))
        self.register_buffer("t", torch.arange(k, dtype=torch.float32) - self.r, persistent=False)

    dense = (
        False  # learned orientations: False gathers (the counted cost), True convolves with dense_weight()
    )

    def _theta(self) -> torch.Tensor:
        return self.theta if self.theta.dim() == 2 else self.theta[:, None].expand(self.c_out, self.c_in)

    def _tents(self, i: int, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bilinear weights (F, C, k) with which segment point i reads grid rows and columns -r..r
        (cell (a, b) gets rows[..., a + r] * cols[..., b + r]); differentiable in theta."""
        cells = self.t  # -r .. r
        dy, dx = -self.t[i] * torch.sin(theta), self.t[i] * torch.cos(theta)
        rows = torch.relu(1 - (dy[..., None] - cells).abs())
        cols = torch.relu(1 - (dx[..., None] - cells).abs())
        return rows, cols

    def dense_weight(self) -> torch.Tensor:
        """The learned segment as the equivalent dense (F, C, k, k) kernel: sum over points of weight x bilinear."""
        theta = self._theta()
        total = 0
        for i in range(len(self.t)):
            rows, cols = self._tents(i, theta)
            total = total + self.weight[:, :, i, None, None] * rows[..., :, None] * cols[..., None, :]
        return total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.kernel.s
        out_hw = ((x.shape[2] - 1) // s + 1, (x.shape[3] - 1) // s + 1)
        if self.kernel.orient == "fixed":
            return sum(
                conv(_shifted(x, dy, dx, self.pad, s, out_hw))
                for (dy, dx), conv in zip(self.taps, self.convs, strict=True)
            )
        d, r = self.kernel.d, self.r
        if self.dense:
            return torch.nn.functional.conv2d(x, self.dense_weight(), stride=s, padding=self.pad, dilation=d)
        grid = [(a, b) for a in range(-r, r + 1) for b in range(-r, r + 1)]
        shifts = torch.stack(
            [_shifted(x, a * d, b * d, self.pad, s, out_hw) for a, b in grid], 1
        )  # (B, k*k, C, h, w)
        theta = self._theta()
        out = 0
        for i in range(len(self.t)):
            rows, cols = self._tents(i, theta)
            sample = 0
            for j, (a, b) in enumerate(grid):  # bilinear weights of every grid cell (element-wise)
                wgt = rows[..., a + r] * cols[..., b + r]
                sample = sample + wgt[None, :, :, None, None] * shifts[:, j][:, None]
            b, f, c, h, w = sample.shape  # contract over channels as a batched matmul (one batch per filter)
            flat = sample.permute(1, 0, 3, 4, 2).reshape(f, b * h * w, c)
            y = torch.bmm(flat, self.weight[:, :, i, None]).reshape(f, b, h, w).permute(1, 0, 2, 3)
            out = out + y
        return out


def dense_lines(module: tnn.Module) -> tnn.Module:
    """Switch every learned-orientation line in a module to its dense-kernel form (same function, fast)."""
    for m in module.modules():
        if isinstance(m, LineModule):
            m.dense = True
    return module


# -- the builder registry ------------------------------------------------------------------------------
Builder = Callable[[Kernel, int, int], tnn.Module]
BUILDERS: dict[type[Kernel], Builder] = {}


def builds(*kinds: type[Kernel]) -> Callable[[Builder], Builder]:
    """Register ``builder(kernel, c_in, c_out) -> nn.Module`` as the torch module of these kernel classes; a
    class that already has a builder is refused (one builder per kind, never replaced silently)."""

    def register(builder: Builder) -> Builder:
        for kind in kinds:
            if kind in BUILDERS:
                raise SkanalyzeError(
                    f"kernel {kind.name} already has a torch builder ({BUILDERS[kind].__name__}); "
                    "one builder per kernel class"
                )
            BUILDERS[kind] = builder
        return builder

    return register


def builder_of(kind: type[Kernel]) -> Builder:
    """The registered builder of exactly this kernel class (a subclass needs its own: its module differs)."""
    if kind in BUILDERS:
        return BUILDERS[kind]
    raise SkanalyzeError(
        f"kernel {kind.name} has no torch builder; register one with @skanalyze.nn.builds({kind.__name__})"
    )


def build_kernel(kernel: Kernel, c_in: int, c_out: int) -> tnn.Module:
    """The torch module of one kernel at integer widths."""
    return builder_of(type(kernel))(kernel, int(c_in), int(c_out))


@builds(Conv, GConv, DW, PW, PWGConv)
def conv_layer(kernel: Kernel, c_in: int, c_out: int) -> tnn.Module:
    """A bias-free Conv2d for a dense conv-like kernel (Conv, GConv, DW, PW, PWGConv)."""
    kx, ky = (int(e) for e in kernel.extent())
    px, py = (int(e) for e in kernel.padding())
    return tnn.Conv2d(
        int(c_in),
        int(c_out),
        kernel_size=(ky, kx),
        stride=kernel.s,
        padding=(py, px),
        dilation=kernel.d,
        groups=int(kernel.groups(c_in)),
        bias=False,
    )


@builds(Shuffle)
def shuffle_layer(kernel: Shuffle, c_in: int, c_out: int) -> tnn.Module:
    """The channel shuffle module."""
    return ChannelShuffle(int(kernel.groups(c_in)))


@builds(SSC)
def ssc_layer(kernel: SSC, c_in: int, c_out: int) -> tnn.Module:
    """The structured sparse conv module."""
    return SSCModule(kernel, c_in, c_out)


@builds(SCC)
def scc_layer(kernel: SCC, c_in: int, c_out: int) -> tnn.Module:
    """The sparse complementary conv module."""
    return SCCModule(kernel, c_in, c_out)


@builds(Line)
def line_layer(kernel: Line, c_in: int, c_out: int) -> tnn.Module:
    """The line-segment kernel module."""
    return LineModule(kernel, c_in, c_out)


# -- designs -------------------------------------------------------------------------------------------
def concrete_layers(design: Design, values: dict) -> list[Layer]:
    """The design's layers with every symbol replaced by an integer (validated); keys may be names or symbols."""
    values = S.keyed(values)
    design.validate(values)
    out = []
    for layer in design.layers:
        lay = layer.subs(values)
        free = set().union(*(sp.sympify(e).free_symbols for e in (lay.c_in, lay.c_out, *lay.kernel.extent())))
        free |= lay.kernel.arg_symbols()
        if free:
            names = ", ".join(sorted(map(str, free)))
            raise SkanalyzeError(
                f"design {design.notation!r} needs values for {names}; e.g. --subs "
                + " ".join(f"{n}=8" for n in sorted(map(str, free)))
            )
        out.append(lay)
    return out


def build(design: Design, values: dict, *, bn: bool = False) -> tnn.Sequential:
    """An ``nn.Sequential`` for the design at concrete sizes (``values`` maps symbols to integers)."""
    mods: list[tnn.Module] = []
    for lay in concrete_layers(design, values):
        c_in, c_out = int(lay.c_in), int(lay.c_out)
        mods.append(build_kernel(lay.kernel, c_in, c_out))
        if bn and lay.kernel.has_bn:
            mods.append(tnn.BatchNorm2d(c_out))
    return tnn.Sequential(*mods)
