"""Whole networks as torch modules: stem, blocks of design units with shortcuts, classifier."""

from __future__ import annotations

import sympy as sp
import torch
from torch import nn as tnn

from ..analyses.network import evaluate, unit_values
from ..core import symbols as S
from .measure import count_macs
from .modules import build


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
