"""Measurements of built modules: parameters, MACs (torch's FlopCounterMode) and the information
field by autograd, and :func:`verify`, which sets them beside the closed forms.

* :func:`count_params`, :func:`count_macs` measure a module (``sum(p.numel())`` and
  ``torch.utils.flop_counter.FlopCounterMode`` / 2);
* :func:`measure_field` measures the information field by autograd: the input positions and
  channels with a non-zero gradient of one output activation, for every output channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
import torch
from torch import nn as tnn
from torch.utils.flop_counter import FlopCounterMode

from ..core import counting
from ..core import symbols as S
from ..core.infofield import field
from .modules import build


def count_params(module: tnn.Module) -> int:
    """Trainable parameters: ``sum(p.numel())``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def count_macs(module: tnn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass = FlopCounterMode's FLOPs / 2."""
    x = torch.zeros(input_shape)
    was_training = module.training
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    module.train(was_training)
    flops = counter.get_total_flops()
    return flops // 2


def count_macs_meta(module: tnn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass on meta tensors (nothing computed, any size) = FlopCounterMode's FLOPs / 2;
    the module itself is not moved or modified."""
    state = {k: torch.empty_like(v, device="meta") for k, v in module.named_parameters()}
    state |= {k: torch.empty_like(v, device="meta") for k, v in module.named_buffers()}
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            torch.func.functional_call(
                module, state, (torch.zeros(input_shape, device="meta"),), strict=False, tie_weights=True
            )
    finally:
        module.train(was_training)
    return counter.get_total_flops() // 2


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
    fx, fy, _ = field(design, values).as_tuple()
    out = (2 * int(fx) + 1, 2 * int(fy) + 1)
    h, w = counting.input_size(design, out[1], out[0])
    return int(h), int(w)


def verify(design, values: dict, *, bn: bool = False) -> dict:
    """Build the design and measure params, MACs and field; returns measured and symbolic values."""
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
