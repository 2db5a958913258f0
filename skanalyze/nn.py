"""Torch builders and measurements: the only module that imports torch.

* :func:`build` turns a design at concrete sizes into an ``nn.Sequential`` (bias-free convs
  with ``groups=``, real channel shuffles, optional BatchNorm after each conv);
* :func:`count_params`, :func:`count_macs` measure it (``sum(p.numel())`` and
  ``torch.utils.flop_counter.FlopCounterMode`` / 2);
* :func:`measure_field` measures the information field by autograd: the input positions and
  channels with a non-zero gradient of one output activation, for every output channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
import torch
from torch import nn as tnn

from . import symbols as S
from .errors import SkanalyzeError


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
        import math

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


def conv_layer(kernel, c_in: int, c_out: int) -> tnn.Module:
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


def concrete_layers(design, values: dict):
    """The design's layers with every symbol replaced by an integer (validated)."""
    from .infofield import subs_layer

    design.validate(values)
    out = []
    for layer in design.layers:
        lay = subs_layer(layer, values)
        free = set().union(*(sp.sympify(e).free_symbols for e in (lay.c_in, lay.c_out, *lay.kernel.extent())))
        if lay.kernel.arg and lay.kernel.argument() is not None:
            free |= sp.sympify(lay.kernel.argument()).free_symbols
        if free:
            names = ", ".join(sorted(map(str, free)))
            raise SkanalyzeError(
                f"design {design.notation!r} needs values for {names}; e.g. --subs "
                + " ".join(f"{n}=8" for n in sorted(map(str, free)))
            )
        out.append(lay)
    return out


def build(design, values: dict, *, bn: bool = False) -> tnn.Sequential:
    """An ``nn.Sequential`` for the design at concrete sizes (``values`` maps symbols to integers)."""
    mods: list[tnn.Module] = []
    for lay in concrete_layers(design, values):
        c_in, c_out = int(lay.c_in), int(lay.c_out)
        mods.append(lay.kernel.build(c_in, c_out))
        if bn and lay.kernel.mixing != "permute":
            mods.append(tnn.BatchNorm2d(c_out))
    return tnn.Sequential(*mods)


def count_params(module: tnn.Module) -> int:
    """Trainable parameters: ``sum(p.numel())``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def count_macs(module: tnn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass = FlopCounterMode's FLOPs / 2."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(input_shape)
    was_training = module.training
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    module.train(was_training)
    flops = counter.get_total_flops()
    return flops // 2


@dataclass(frozen=True)
class MeasuredField:
    """A field measured by autograd: extents, and channels reached by the least/most connected output."""

    x: int
    y: int
    c_min: int
    c_max: int
    positions: int  # distinct spatial positions read by the least-covering output (union over its channels)
    positions_max: int = 0

    @property
    def uniform(self) -> bool:
        """True when every output channel reaches the same number of input channels."""
        return self.c_min == self.c_max


def measure_field(module: tnn.Module, c_in: int, size: tuple[int, int], *, chunk: int = 64) -> MeasuredField:
    """Measure the field of the centre output activation of every output channel by autograd.

    Random float64 weights and inputs; one backward pass per chunk of output channels, each
    batch element carrying the gradient of one output channel.
    """
    module = module.double().eval()
    h, w = size
    with torch.no_grad():
        probe = module(torch.zeros(1, c_in, h, w, dtype=torch.float64))
    c_out, oh, ow = probe.shape[1:]
    cy, cx = oh // 2, ow // 2
    gen = torch.Generator().manual_seed(0)
    chan_counts: list[int] = []
    pos_counts: list[int] = []
    rows = torch.zeros(h, dtype=torch.bool)
    cols = torch.zeros(w, dtype=torch.bool)
    for start in range(0, c_out, chunk):
        idx = torch.arange(start, min(start + chunk, c_out))
        x = torch.randn(len(idx), c_in, h, w, dtype=torch.float64, generator=gen, requires_grad=True)
        y = module(x)
        y[torch.arange(len(idx)), idx, cy, cx].sum().backward()
        hit = x.grad != 0  # (batch, c_in, h, w)
        chan_counts += hit.any(dim=(2, 3)).sum(dim=1).tolist()
        pos_counts += hit.any(dim=1).flatten(1).sum(dim=1).tolist()
        spatial = hit.any(dim=(0, 1))
        rows |= spatial.any(dim=1)
        cols |= spatial.any(dim=0)
    ys, xs = rows.nonzero().flatten(), cols.nonzero().flatten()
    return MeasuredField(
        x=int(xs.max() - xs.min() + 1),
        y=int(ys.max() - ys.min() + 1),
        c_min=min(chan_counts),
        c_max=max(chan_counts),
        positions=min(pos_counts),
        positions_max=max(pos_counts),
    )


def field_probe_size(design, values: dict) -> tuple[int, int]:
    """An input size large enough that the centre output's field is not clipped by padding."""
    from .counting import input_size
    from .infofield import field

    fx, fy, _ = field(design, values).as_tuple()
    out = (2 * int(fx) + 1, 2 * int(fy) + 1)
    h, w = input_size(design, out[1], out[0])
    return int(h), int(w)


def verify(design, values: dict, *, bn: bool = False) -> dict:
    """Build the design and measure params, MACs and field; returns measured and symbolic values."""
    from . import counting
    from .infofield import field

    values = dict(values)
    values.setdefault(S.H, 8)
    values.setdefault(S.W, 8)
    if design.uses_bottleneck and S.K not in values:
        values[S.K] = design.bottleneck.subs(values)
    if S.F not in values and S.F not in set().union(*(sp.sympify(w).free_symbols for w in design.widths)):
        values[S.F] = values.get(S.C)
    module = build(design, values, bn=bn)
    h_in, w_in = counting.input_size(design, values[S.H], values[S.W])
    c_in = int(values[S.C])
    sym_params = counting.params(design, bn=bn).subs(values)
    sym_macs = counting.macs(design).subs(values)
    sym = field(design, values)
    measured = measure_field(build(design, values), c_in, field_probe_size(design, values))
    return {
        "values": values,
        "params": (sym_params, count_params(module)),
        "macs": (sym_macs, count_macs(module, (1, c_in, int(h_in), int(w_in)))),
        "field": (tuple(sym.as_tuple()), (measured.x, measured.y, measured.c_min)),
        "field_max": (sym.largest, measured.c_max),
        "field_uniform": measured.uniform,
    }


# -- whole networks -------------------------------------------------------------------------------
class ZeroPadShortcut(tnn.Module):
    """The parameter-free shortcut on a shape change: subsample by the stride, pad channels with zeros."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.extra, self.stride = c_out - c_in, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return torch.nn.functional.pad(x, (0, 0, 0, 0, 0, self.extra))


class Block(tnn.Module):
    """Units of a design in sequence, BN after every conv, plus a shortcut; ReLU after the sum."""

    def __init__(self, body: tnn.Module, shortcut: tnn.Module | None):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return torch.relu(out)


def build_network(net, width: int, groups: dict | None = None) -> tnn.Module:
    """The whole network of a design in a layout at a concrete width, as an nn.Module."""
    from .network import evaluate, unit_values

    evaluate(net, width, groups)  # validates every unit with a one-line error
    lay = net.layout
    base = {S.width: width}
    sw = int(net.stem_width.subs(base))
    mods: list[tnn.Module] = [
        tnn.Conv2d(lay.in_channels, sw, lay.stem_kernel, lay.stem_stride, lay.stem_kernel // 2, bias=False),
        tnn.BatchNorm2d(sw),
        tnn.ReLU(inplace=True),
    ]
    if lay.maxpool:
        mods.append(tnn.MaxPool2d(3, 2, 1))
    for block, values_per_unit in zip(net.blocks, unit_values(net, width, groups), strict=True):
        repeat = int(sp.sympify(block.repeat).subs(base))
        c_in, c_out = int(sp.sympify(block.c_in).subs(base)), int(sp.sympify(block.c_out).subs(base))
        for _ in range(repeat):
            body = tnn.Sequential(
                *(build(u.design, v, bn=True) for u, v in zip(block.units, values_per_unit, strict=True))
            )
            if block.shortcut == "identity":
                shortcut = tnn.Identity()
            elif block.shortcut == "projection":
                shortcut = tnn.Sequential(
                    tnn.Conv2d(c_in, c_out, 1, block.stride, bias=False), tnn.BatchNorm2d(c_out)
                )
            elif block.shortcut == "zero-pad":
                shortcut = ZeroPadShortcut(c_in, c_out, block.stride)
            else:
                shortcut = None
            mods.append(Block(body, shortcut))
    mods += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten()]
    if lay.classifier:
        mods.append(tnn.Linear(int(net.final_width.subs(base)), lay.classes))
    return tnn.Sequential(*mods)


def network_counts(module: tnn.Module, layout, *, bn: bool) -> tuple[int, int]:
    """Measured params (BN excluded unless counted) and MACs of a built network for one image."""
    params = sum(
        p.numel()
        for m in module.modules()
        for p in m.parameters(recurse=False)
        if bn or not isinstance(m, tnn.BatchNorm2d)
    )
    macs = count_macs(module, (1, layout.in_channels, layout.input_size, layout.input_size))
    return params, macs
