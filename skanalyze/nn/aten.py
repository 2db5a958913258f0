"""The ATen operators of a forward pass, for the peers that read them (FlopCounterMode and ptflops' aten
backend): a TorchDispatchMode that records the counted operators with their shapes and decomposes the others,
as FlopCounterMode does. A second pass over the traced copy, run only when one of those peers is asked."""

from __future__ import annotations

import torch
from torch import nn as tnn
from torch.utils._python_dispatch import TorchDispatchMode

from .ops import aten, shape_of

# The ATen operators FlopCounterMode and ptflops' aten backend count; anything else is decomposed if it can be.
ATEN_COUNTED = {
    aten.mm,
    aten.addmm,
    aten.bmm,
    aten.baddbmm,
    aten.convolution,
    aten._convolution,
    aten._scaled_dot_product_efficient_attention,
    aten._scaled_dot_product_flash_attention,
    aten._scaled_dot_product_cudnn_attention,
    aten._efficient_attention_forward,
    aten._flash_attention_forward,
}


class AtenRecorder(TorchDispatchMode):
    """Records the counted ATen operators with their shapes, decomposing the others as FlopCounterMode does."""

    def __init__(self):
        super().__init__()
        self.ops: list[dict] = []
        self.depth = 0  # > 0 inside a decomposition (ptflops' aten backend never decomposes)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in ATEN_COUNTED and func is not torch.ops.prim.device.default:
            self.depth += 1
            try:
                with self:
                    r = func.decompose(*args, **kwargs)
            finally:
                self.depth -= 1
            if r is not NotImplemented:
                return r
        out = func(*args, **kwargs)
        if packet in ATEN_COUNTED:
            shapes = [shape_of(a) for a in args]
            first = out[0] if isinstance(out, (tuple, list)) else out
            op = {"op": packet.__name__, "args": shapes, "output": shape_of(first), "depth": self.depth}
            if packet in (aten.convolution, aten._convolution):
                op["transposed"] = bool(args[6])
                op["has_bias"] = args[2] is not None
            self.ops.append(op)
        return out


def aten_ops(twin: tnn.Module, shape: tuple) -> list[dict]:
    """The counted ATen operators of one forward pass of a traced copy (on meta tensors), for the peers that
    read them (FlopCounterMode, ptflops' aten backend); a second pass, run only when one of them is asked."""
    dispatch = AtenRecorder()
    with torch.no_grad(), dispatch:
        twin(torch.zeros(shape, device="meta"))
    return dispatch.ops
