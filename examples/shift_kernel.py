"""A new kernel kind in one class and one builder: the Shift (Wu et al. 2018, "Shift: A Zero FLOP, Zero
Parameter Alternative to Spatial Convolutions"). No other module of skanalyze is edited.

The C channels are split into k*k equal groups; group i is moved by the i-th offset of the k x k window
(row-major), with zero fill. No weights, no MACs; each output channel reads one input channel at one
offset, so a following PW sees a k x k window over every channel: Shift+PW has the standard conv's field.

    python examples/shift_kernel.py      # formulas, field and the torch check of Shift+PW
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import sympy as sp

from skanalyze.core.kernels import Kernel, register_kernel


@register_kernel
@dataclass(frozen=True, kw_only=True)
class Shift(Kernel):
    """Shift: k*k channel groups, each moved by one offset of the k x k window; no weights."""

    name: ClassVar[str] = "Shift"
    aliases: ClassVar[tuple[str, ...]] = ("Shift", "ShiftConv")
    description: ClassVar[str] = "shift: k^2 channel groups moved by the offsets of a k x k window, 0 params"
    keeps_width: ClassVar[bool] = True
    weighted: ClassVar[bool] = False  # no weights: no BatchNorm, not a letter of the design space
    has_bn: ClassVar[bool] = False
    paper_letter: ClassVar[str] = "T"

    def groups(self, c_in):
        return sp.sympify(c_in)  # channel-wise, like DW

    def constraints(self, c_in, c_out):
        taps = sp.sympify(self.k) ** 2
        return (("Shift splits the channels into k^2 equal groups; k^2", taps, c_in),)

    def tap(self, channel: int, c_in: int) -> tuple[int, int]:
        """The offset (dy, dx) that moves a channel (integer sizes)."""
        k = int(self.k)
        index = channel // (c_in // (k * k))
        return ((index // k - (k - 1) // 2) * self.d, (index % k - (k - 1) // 2) * self.d)

    @property
    def footprint_kind(self) -> str:
        """sparse: one tap per output channel."""
        return "sparse"

    def filter_taps(self, f, channels, c_in, c_out):
        return [(channels, frozenset({self.tap(f, c_in)}))]  # channel_ops reach its own channel: one tap

    def params(self, c_in, c_out):
        return sp.Integer(0)

    def macs_per_position(self, c_in, c_out):
        return sp.Integer(0)


# -- the torch side: one builder (registered when torch is installed) -------------------------------------
try:
    import torch
except ImportError:  # the symbolic side above works without torch
    torch = None

if torch is not None:
    from skanalyze.nn import builds

    class ShiftModule(torch.nn.Module):
        """Moves each channel by its offset, zero-filling what enters (output[y, x] = input[y + dy, x + dx])."""

        def __init__(self, kernel: Shift, c_in: int):
            super().__init__()
            self.taps = [kernel.tap(c, c_in) for c in range(c_in)]
            self.pad, self.stride = int(kernel.padding()[0]), kernel.s

        def forward(self, x):
            p, s = self.pad, self.stride
            xp = torch.nn.functional.pad(x, (p, p, p, p))
            h, w = (x.shape[2] - 1) // s + 1, (x.shape[3] - 1) // s + 1
            return torch.stack(
                [
                    xp[:, c, p + dy : p + dy + (h - 1) * s + 1 : s, p + dx : p + dx + (w - 1) * s + 1 : s]
                    for c, (dy, dx) in enumerate(self.taps)
                ],
                dim=1,
            )

    @builds(Shift)
    def shift_layer(kernel: Shift, c_in: int, c_out: int):
        """The Shift module."""
        return ShiftModule(kernel, c_in)


if __name__ == "__main__":
    from skanalyze import field, nn, params, parse
    from skanalyze.core import symbols as S

    design = parse("Shift+PW")
    print(design.notation, "params =", params(design), " field =", field(design).as_tuple())
    values = {S.C: 18, S.F: 36}
    module = nn.build(design, values)
    assert nn.count_params(module) == params(design).subs(values) == 18 * 36
    measured = nn.measure_field(module, 18, nn.field_probe_size(design, values))
    assert (measured.x, measured.y, measured.c_min) == tuple(field(design, values).as_tuple()) == (3, 3, 18)
    print("torch agrees: params", nn.count_params(module), " field", (measured.x, measured.y, measured.c_min))
