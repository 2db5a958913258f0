"""Tracing, the first room of the importer: one forward pass of a *copy* of the user's model, recorded.

The user's module is never touched: it is copied structurally (every module a new object of its class, its
other attributes deep-copied; ``copy.deepcopy`` itself for a class with a copy protocol of its own), every
parameter and buffer mapped to a meta tensor of the same shape (so no weight is copied, ties and shared
modules stay shared), the copy is put in eval mode (or training mode when asked), and every hook and mode
lives on the copy only. A forward that needs real values (data-dependent control flow) runs once on zeros, on a copy
whose tensors are clones.

Three records come out of the one pass:

- ``events``: the torch functions the model calls (a ``TorchFunctionMode``): convolutions of any dimension
  and transposed ones, linear layers, matmul/bmm/mm/addmm/baddbmm/einsum, scaled dot-product attention,
  ``F.multi_head_attention_forward`` seen through (its projections as linear layers, its attention products),
  batch and other norms, pools, activations, interpolation, element-wise add/mul, channel shuffles; each with
  the module that ran it and the ids of the parameter tensors it consumed.
- ``aten``: the ATen operators that reach the dispatcher (a ``TorchDispatchMode`` that decomposes what it has
  no rule for, as ``FlopCounterMode`` does): mm, addmm, bmm, baddbmm, convolution, the attention kernels.
- ``calls``: every module call (forward hooks on the copy), with the module, its positional arguments and its
  output: what module-hook counters (thop, ptflops) see.
"""

from __future__ import annotations

import contextlib
import copy
import dis
import gc
import math
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import nn as tnn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from ..core.errors import SkanalyzeError

aten = torch.ops.aten

CONVS = {
    torch.conv1d: (1, False),
    torch.conv2d: (2, False),
    torch.conv3d: (3, False),
    torch.conv_transpose1d: (1, True),
    torch.conv_transpose2d: (2, True),
    torch.conv_transpose3d: (3, True),
}
LINEARS = {F.linear, torch._C._nn.linear}
# matrix products: name -> the positions of the two factors in the arguments
PRODUCTS = {
    torch.matmul: ("matmul", 0, 1),
    torch.Tensor.matmul: ("matmul", 0, 1),
    torch.Tensor.__matmul__: ("matmul", 0, 1),
    torch.mm: ("mm", 0, 1),
    torch.Tensor.mm: ("mm", 0, 1),
    torch.bmm: ("bmm", 0, 1),
    torch.Tensor.bmm: ("bmm", 0, 1),
    torch.addmm: ("addmm", 1, 2),
    torch.Tensor.addmm: ("addmm", 1, 2),
    torch.baddbmm: ("baddbmm", 1, 2),
    torch.Tensor.baddbmm: ("baddbmm", 1, 2),
}
# what ptflops patches (torch.X and Tensor.X called by name; never the operators)
TORCH_CALLS = {torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.baddbmm, torch.add, torch.mul}
POOLS = {
    F.adaptive_avg_pool1d: "adaptive_avg_pool1d",
    F.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    torch._C._nn.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    F.adaptive_avg_pool3d: "adaptive_avg_pool3d",
    F.adaptive_max_pool1d: "adaptive_max_pool1d",
    F.adaptive_max_pool2d: "adaptive_max_pool2d",
    F.adaptive_max_pool3d: "adaptive_max_pool3d",
    F.avg_pool1d: "avg_pool1d",
    F.avg_pool2d: "avg_pool2d",
    torch._C._nn.avg_pool2d: "avg_pool2d",
    F.avg_pool3d: "avg_pool3d",
    F.max_pool1d: "max_pool1d",
    F.max_pool2d: "max_pool2d",
    torch.max_pool2d: "max_pool2d",
    F.max_pool3d: "max_pool3d",
}
ACTIVATIONS = {
    F.relu: "relu",
    F.relu6: "relu6",
    F.hardtanh: "hardtanh",  # nn.ReLU6 runs it
    F.elu: "elu",
    F.gelu: "gelu",
    F.silu: "silu",
    F.prelu: "prelu",
    F.leaky_relu: "leaky_relu",
    F.hardswish: "hardswish",
    F.softmax: "softmax",
    torch.relu: "torch.relu",
}
NORMS = {F.layer_norm: "layer_norm", F.group_norm: "group_norm", F.instance_norm: "instance_norm"}
ADDS = {torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.add_, torch.Tensor.__iadd__}
MULS = {torch.mul, torch.Tensor.mul, torch.Tensor.__mul__}
INTERPOLATE = {F.interpolate: "interpolate", F.upsample: "upsample"}
RNNS = {torch.lstm: "LSTM", torch.gru: "GRU", torch.rnn_tanh: "RNN", torch.rnn_relu: "RNN"}
RNN_CELLS = {
    torch.lstm_cell: "LSTMCell",
    torch.gru_cell: "GRUCell",
    torch.rnn_tanh_cell: "RNNCell",
    torch.rnn_relu_cell: "RNNCell",
}


@dataclass
class Trace:
    """What one forward pass of the copy did: function events, ATen operators, module calls."""

    events: list[dict]
    aten: list[dict] | None  # None: not recorded yet (aten_ops records it on demand)
    calls: list[tuple]  # (module of the copy, its positional arguments, its output): meta tensors
    copy: tnn.Module = field(repr=False)  # the traced copy (meta tensors): the peers' rules read it
    params: dict[int, tuple[str, int]] = field(repr=False)  # id of a parameter of the copy -> (name, numel)
    modules: dict[str, tnn.Module] = field(repr=False)  # the copy's modules by name
    how: str = "meta"


def shape_of(value):
    """The shape of a tensor as a tuple, else None."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _tensors(args):
    """The arguments, with one level of lists and tuples opened (torch.cat's tensors)."""
    for arg in args:
        if isinstance(arg, (list, tuple)):
            yield from arg
        else:
            yield arg


# with the separator: '.../torch/' never matches '.../torchvision/'
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


_OPERATOR: dict[tuple, bool] = {}  # (code object, instruction offset) -> whether that call is an operator


def _written_as_operator() -> bool:
    """Whether the Tensor.add/mul/matmul being traced was written ``a + b`` (a BINARY_OP in the caller's code)
    rather than ``a.add(b)``: the function mode sees both as the method, ptflops counts only the second."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_TORCH_DIR) or frame.f_globals is globals()
    ):
        frame = frame.f_back
    if frame is None:
        return False
    key = (frame.f_code, frame.f_lasti)
    if key not in _OPERATOR:  # disassembling is slow and a model calls the same line many times
        _OPERATOR[key] = any(
            ins.offset == frame.f_lasti
            and (ins.opname.startswith("BINARY") or ins.opname.startswith("INPLACE"))
            for ins in dis.get_instructions(frame.f_code)
        )
    return _OPERATOR[key]


def _arg(args, kwargs, at: int, name: str, default=None):
    return args[at] if len(args) > at else kwargs.get(name, default)


# Element-wise functions whose meta kernels are slow Python: on meta tensors their result is an empty tensor of
# the input's shape and strides (what an element-wise op returns), or the input itself when in place.
# function -> the position of its ``inplace`` argument (None: it has none)
UNARY = {
    F.relu: 1,
    F.relu6: 1,
    F.hardtanh: 3,
    F.gelu: None,
    F.silu: 1,
    F.hardswish: 1,
    F.hardsigmoid: 1,
    F.sigmoid: None,
    F.leaky_relu: 2,
    F.elu: 2,
    F.mish: 1,
    torch.relu: None,
    torch.sigmoid: None,
    torch.Tensor.relu: None,
    torch.Tensor.sigmoid: None,
    torch.Tensor.relu_: None,
    torch.Tensor.sigmoid_: None,
    F.dropout: 3,
    F.softplus: None,
    F.tanh: None,
    torch.tanh: None,
    torch.Tensor.tanh: None,
    torch.exp: None,
    torch.Tensor.exp: None,
    torch.sqrt: None,
    torch.Tensor.sqrt: None,
    torch.rsqrt: None,
    torch.Tensor.rsqrt: None,
    torch.neg: None,
    torch.Tensor.neg: None,
    torch.Tensor.__neg__: None,
    torch.abs: None,
    torch.Tensor.abs: None,
    torch.pow: None,
    torch.Tensor.pow: None,
    torch.Tensor.__pow__: None,
    torch.clamp: None,
    torch.Tensor.clamp: None,
    torch.Tensor.clamp_min: None,
    torch.Tensor.clamp_max: None,
}
IN_PLACE = {torch.Tensor.relu_, torch.Tensor.sigmoid_}


_PLAIN = (torch.Tensor, tnn.Parameter)


def _plain_meta(*values) -> bool:
    """Whether every value is a plain meta tensor (or parameter, not another subclass) of one dtype."""
    return all(type(v) in _PLAIN and v.device.type == "meta" for v in values) and (
        len({v.dtype for v in values}) == 1
    )


def _broadcast(*shapes) -> tuple | None:
    """The broadcast of shapes (torch's rule), or None where they do not broadcast."""
    out: list[int] = []
    length = max(len(s) for s in shapes)
    for at in range(1, length + 1):
        sizes = {s[-at] for s in shapes if len(s) >= at} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _empty(shape, like) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device="meta")


def _window(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool = False
) -> int | None:
    """The output length of a sliding window (a convolution or a pool), torch's formula; None if empty."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0 or stride <= 0:
        return None
    out = (span + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _per_dim(value, dims: int) -> tuple | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * dims
    if isinstance(value, (tuple, list)) and all(type(v) is int for v in value):
        return tuple(value) * dims if len(value) == 1 else tuple(value) if len(value) == dims else None
    return None


def _conv_shape(func, args, kwargs) -> tuple | None:
    dims, transposed = CONVS[func]
    x, w = args[0], _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    if transposed or not _plain_meta(x, w) or x.dim() != dims + 2 or w.dim() != dims + 2:
        return None
    if bias is not None and not (_plain_meta(x, bias) and tuple(bias.shape) == (w.shape[0],)):
        return None
    stride = _per_dim(_arg(args, kwargs, 3, "stride", 1), dims)
    padding = _arg(args, kwargs, 4, "padding", 0)
    dilation = _per_dim(_arg(args, kwargs, 5, "dilation", 1), dims)
    groups = _arg(args, kwargs, 6, "groups", 1)
    if stride is None or dilation is None or type(groups) is not int or groups <= 0:
        return None
    if x.shape[1] != w.shape[1] * groups or w.shape[0] % groups:
        return None
    if padding == "valid":
        padding = (0,) * dims
    elif padding == "same":
        if any(s != 1 for s in stride):
            return None
        return (x.shape[0], w.shape[0], *x.shape[2:])
    padding = _per_dim(padding, dims)
    if padding is None:
        return None
    spatial = [
        _window(n, k, s, p, d)
        for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation, strict=True)
    ]
    return None if None in spatial or 0 in spatial else (x.shape[0], w.shape[0], *spatial)


POOL_DIMS = {F.max_pool2d: 2, torch.max_pool2d: 2, F.avg_pool2d: 2, torch._C._nn.avg_pool2d: 2}
ADAPTIVE = {F.adaptive_avg_pool2d: 2, torch._C._nn.adaptive_avg_pool2d: 2, F.adaptive_avg_pool1d: 1}


def _pool_shape(func, args, kwargs) -> tuple | None:
    x = args[0]
    if func in ADAPTIVE:
        dims = ADAPTIVE[func]
        size = _arg(args, kwargs, 1, "output_size")
        size = _per_dim(size, dims)
        if size is None or x.dim() not in (dims + 1, dims + 2) or min(size) <= 0:
            return None
        return (*x.shape[:-dims], *size)
    dims = POOL_DIMS[func]
    names = ("kernel_size", "stride", "padding")
    kernel, stride, padding = (_arg(args, kwargs, i + 1, n) for i, n in enumerate(names))
    is_max = func in (F.max_pool2d, torch.max_pool2d)
    dilation = _arg(args, kwargs, 4, "dilation", 1) if is_max else 1
    ceil = _arg(args, kwargs, 5 if is_max else 4, "ceil_mode", False)
    if is_max and _arg(args, kwargs, 6, "return_indices", False):
        return None
    kernel = _per_dim(kernel, dims)
    stride = kernel if stride is None or stride == [] or stride == () else _per_dim(stride, dims)
    padding, dilation = _per_dim(padding if padding is not None else 0, dims), _per_dim(dilation, dims)
    if (
        None in (kernel, stride, padding, dilation)
        or type(ceil) is not bool
        or x.dim() not in (dims + 1, dims + 2)
    ):
        return None
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        return None
    spatial = [
        _window(n, k, s, p, d, ceil)
        for n, k, s, p, d in zip(x.shape[-dims:], kernel, stride, padding, dilation, strict=True)
    ]
    return None if None in spatial or 0 in spatial else (*x.shape[:-dims], *spatial)


BINARY = {
    torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__,
    torch.mul, torch.Tensor.mul, torch.Tensor.__mul__, torch.Tensor.__rmul__,
    torch.sub, torch.Tensor.sub, torch.Tensor.__sub__,
    torch.div, torch.Tensor.div, torch.Tensor.__truediv__,
}  # fmt: skip
BINARY_IN_PLACE = {torch.Tensor.add_, torch.Tensor.__iadd__, torch.Tensor.mul_, torch.Tensor.__imul__}


def _binary(func, args, kwargs):
    if len(args) != 2 or set(kwargs) - {"alpha"} or (func in (torch.div, torch.Tensor.div) and kwargs):
        return None
    a, b = args
    tensors = [t for t in (a, b) if isinstance(t, torch.Tensor)]
    if not _plain_meta(*tensors):
        return None
    if len(tensors) == 1:  # a tensor and a Python number: the tensor's shape, if it is floating point
        number = b if tensors[0] is a else a
        if type(number) not in (int, float) or not tensors[0].is_floating_point():
            return None
        shape = tuple(tensors[0].shape)
    else:
        shape = _broadcast(tuple(a.shape), tuple(b.shape))
        if shape is None or (
            not a.is_floating_point() and func in (torch.div, torch.Tensor.div, torch.Tensor.__truediv__)
        ):
            return None
    if func in BINARY_IN_PLACE:
        return a if isinstance(a, torch.Tensor) and shape == tuple(a.shape) else None
    return _empty(shape, tensors[0])


def _linear(args, kwargs):
    x, w = args[0], _arg(args, kwargs, 1, "weight")
    bias = _arg(args, kwargs, 2, "bias")
    if not _plain_meta(x, w) or w.dim() != 2 or x.dim() < 1 or x.shape[-1] != w.shape[1]:
        return None
    if bias is not None and not (_plain_meta(x, bias) and tuple(bias.shape) == (w.shape[0],)):
        return None
    return _empty((*x.shape[:-1], w.shape[0]), x)


def _norm(func, args, kwargs):
    x = args[0]
    op = NORMS[func]
    if op == "layer_norm":
        shape = _arg(args, kwargs, 1, "normalized_shape")
        shape = (
            tuple(shape) if isinstance(shape, (tuple, list)) else None
        )  # torch.Size too; an int is refused
        if shape is None or not shape or tuple(x.shape[-len(shape) :]) != shape:
            return None
    elif op == "group_norm":
        groups = _arg(args, kwargs, 1, "num_groups")
        if type(groups) is not int or groups <= 0 or x.dim() < 2 or x.shape[1] % groups:
            return None
        shape = (x.shape[1],)
    else:
        return None
    at = 2
    weight, bias = _arg(args, kwargs, at, "weight"), _arg(args, kwargs, at + 1, "bias")
    for t in (weight, bias):
        if t is not None and not (_plain_meta(x, t) and tuple(t.shape) == shape):
            return None
    return _empty(x.shape, x)


def _attention(args, kwargs):
    q, k, v = args[0], _arg(args, kwargs, 1, "key"), _arg(args, kwargs, 2, "value")
    mask = _arg(args, kwargs, 3, "attn_mask")
    if kwargs.get("enable_gqa") or not _plain_meta(q, k, v) or q.dim() < 2:
        return None
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1]:
        return None
    if mask is not None:
        full = (*q.shape[:-1], k.shape[-2])
        if type(mask) is not torch.Tensor or _broadcast(tuple(mask.shape), full) != full:
            return None
    return _empty((*q.shape[:-1], v.shape[-1]), q)


def _matmul(args, kwargs):
    if len(args) != 2 or kwargs:
        return None
    a, b = args
    if not _plain_meta(a, b) or a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        return None
    batch = _broadcast(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    return None if batch is None else _empty((*batch, a.shape[-2], b.shape[-1]), a)


MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,), "bilinear": (2,),
         "bicubic": (2,), "trilinear": (3,)}  # fmt: skip


def _interpolate(args, kwargs):
    x = args[0]
    names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
    a = dict(zip(names, args[1:], strict=False)) | kwargs
    dims, mode = x.dim() - 2, a.get("mode", "nearest")
    if set(a) - set(names) or mode not in MODES or dims not in MODES[mode]:
        return None
    if (a.get("align_corners") is not None and mode in ("nearest", "nearest-exact", "area")) or (
        a.get("antialias") and mode not in ("bilinear", "bicubic")
    ):
        return None
    size, scale = a.get("size"), a.get("scale_factor")
    if (size is None) == (scale is None):
        return None
    if size is not None:
        spatial = _per_dim(size, dims)
    else:
        scales = (scale,) * dims if type(scale) in (int, float) else tuple(scale)
        if len(scales) != dims or any(type(f) not in (int, float) or f <= 0 for f in scales):
            return None
        spatial = tuple(math.floor(float(n) * f) for n, f in zip(x.shape[2:], scales, strict=True))
    return None if spatial is None or min(spatial) <= 0 else _empty((*x.shape[:2], *spatial), x)


def _cat(args, kwargs):
    tensors, dim = _arg(args, kwargs, 0, "tensors"), _arg(args, kwargs, 1, "dim", 0)
    if set(kwargs) - {"tensors", "dim"} or not isinstance(tensors, (list, tuple)) or not tensors:
        return None
    if type(dim) is not int or not _plain_meta(*tensors):
        return None
    first = tensors[0]
    if first.dim() == 0 or not -first.dim() <= dim < first.dim():
        return None
    dim %= first.dim()
    rest = [tuple(t.shape[:dim]) + tuple(t.shape[dim + 1 :]) for t in tensors]
    if any(t.dim() != first.dim() for t in tensors) or len(set(rest)) != 1:
        return None  # torch's legacy rule for 1-D empty tensors among others: run it
    return _empty((*first.shape[:dim], sum(t.shape[dim] for t in tensors), *first.shape[dim + 1 :]), first)


SOFTMAX = {F.softmax, torch.softmax, torch.Tensor.softmax}
MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__}


def meta_shortcut(func, args, kwargs):
    """The result of a call on meta tensors without running its meta kernel (torch's are slow Python), or None
    to run it: the output's shape by torch's own rule, for the calls a model makes most; anything unusual (a
    subclass, mixed dtypes, a shape the rule does not cover) runs the real kernel, which raises what it raises.
    tests/test_trace_shortcut.py checks each rule against torch's meta kernels."""
    x = args[0] if args else None
    if func is torch.cat:
        return _cat(args, kwargs)
    if type(x) is not torch.Tensor or x.device.type != "meta":
        if func in BINARY and isinstance(args[1] if len(args) > 1 else None, torch.Tensor):
            return _binary(func, args, kwargs)  # 1 + x
        return None
    if func in BINARY or func in BINARY_IN_PLACE:
        return _binary(func, args, kwargs)
    if func in LINEARS:
        return _linear(args, kwargs)
    if func in CONVS:
        shape = _conv_shape(func, args, kwargs)
        return None if shape is None else _empty(shape, x)
    if func in POOL_DIMS or func in ADAPTIVE:
        shape = _pool_shape(func, args, kwargs)
        return None if shape is None else _empty(shape, x)
    if func in NORMS:
        return _norm(func, args, kwargs)
    if func is F.scaled_dot_product_attention:
        return _attention(args, kwargs)
    if func in MATMULS:
        return _matmul(args, kwargs)
    if func is F.interpolate:
        return _interpolate(args, kwargs)
    if func in SOFTMAX:
        dim = _arg(args, kwargs, 1, "dim")
        if type(dim) is not int or kwargs.get("dtype") is not None or (len(args) > 3 and args[3] is not None):
            return None
        return _empty(x.shape, x) if -max(x.dim(), 1) <= dim < max(x.dim(), 1) else None
    if func in (F.batch_norm, torch.batch_norm):
        return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    if func is F.normalize:
        dim = _arg(args, kwargs, 2, "dim", 1)
        if _arg(args, kwargs, 4, "out") is not None or type(dim) is not int or not -x.dim() <= dim < x.dim():
            return None
        return _empty(x.shape, x) if x.is_floating_point() else None
    if func not in UNARY or any(isinstance(a, torch.Tensor) for a in (*args[1:], *kwargs.values())):
        return None  # a second tensor (a PReLU weight, say): run it
    if not x.is_floating_point() or any(type(a) not in (int, float, bool, str, type(None)) for a in args[1:]):
        return None  # an integer tensor (exp makes it floating point), a complex exponent: run it
    at = UNARY[func]
    inplace = func in IN_PLACE or kwargs.get("inplace") or (at is not None and len(args) > at and args[at])
    if func is F.dropout:
        training = kwargs.get("training", args[2] if len(args) > 2 else True)
        return None if training else x  # F.dropout(training=False) returns its input
    if inplace:
        return x
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")


class _Recorder(TorchFunctionMode):
    """Records the torch functions a forward pass calls, with the module that ran them."""

    def __init__(self, params: set[int] = frozenset()):
        super().__init__()
        self.params = params  # ids of the copy's parameters
        self.data: set[int] = set()  # ids of tensors computed from the input (activations)
        # id of a tensor computed from weights only -> the ids of the parameters it was computed from
        self.derived: dict[int, frozenset] = {}
        self.stack: list[str] = [""]
        self.events: list[dict] = []
        self.origin: dict[int, int | None] = {}  # id(tensor) -> index of the event that produced it
        self.alive: list = []  # keep traced tensors alive, so their ids stay unique
        self.views: dict[int, int] = {}  # id(5-D view) -> groups, for shuffle detection

    def _source(self, tensor) -> int | None:
        return self.origin.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None

    def _made_of_id(self, tid: int) -> frozenset:
        return frozenset((tid,)) if tid in self.params else self.derived.get(tid, frozenset())

    def _made_of(self, tensor) -> frozenset:
        """The parameters a tensor that is not an activation was computed from."""
        return self._made_of_id(id(tensor))

    def emit(self, event: dict, source, out=None) -> int:
        """Append one event (its module, its source, its output shape) and return its index."""
        event.update(name=self.stack[-1], source=source)
        if "output" not in event:
            event["output"] = shape_of(out)
        self.events.append(event)
        return len(self.events) - 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.multi_head_attention_forward:
            return self._attention_module(args, kwargs)
        out = meta_shortcut(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
            if not isinstance(out, (torch.Tensor, tuple, list)):
                return out  # a size, a flag, None (x.shape, torch._assert): nothing to record
        inputs = [t for t in _tensors(args) if isinstance(t, torch.Tensor)]
        first = inputs[0] if inputs else None
        if kwargs:
            inputs += [t for t in _tensors(kwargs.values()) if isinstance(t, torch.Tensor)]
        source = self.origin.get(id(first)) if first is not None else None
        event = self._event(func, args, kwargs, first, out)
        data = self.data
        from_data = any(id(t) in data for t in inputs)
        made_of = frozenset() if from_data else frozenset().union(*(self._made_of(t) for t in inputs))
        if event is not None and "tensors" in event:
            event["weight_from"] = self._made_of_id(event["tensors"]["weight"])
        if event is not None:
            index = self.emit(event, source, out if not isinstance(out, (tuple, list)) else out[0])
            produces = event["kind"] in ("conv", "linear", "shuffle", "matmul", "attention", "rnn")
            mark = index if produces else source
        else:
            mark = source
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.alive.append(o)
                self.origin[id(o)] = mark
                if from_data:
                    self.data.add(id(o))
                else:  # a weight computed from parameters (standardised, scaled, a slice of a packed one)
                    self.derived[id(o)] = made_of
                if id(first) in self.views and id(o) not in self.views and event is None and o.dim() == 5:
                    self.views[id(o)] = self.views[id(first)]  # .contiguous() of the split view
        return out

    def _event(self, func, args, kwargs, first, out) -> dict | None:
        """The event one call makes, or None for a call that is not recorded."""
        if func in CONVS:
            dims, transposed = CONVS[func]
            names = ("bias", "stride", "padding", "output_padding", "groups", "dilation")
            if not transposed:
                names = ("bias", "stride", "padding", "dilation", "groups")
            params = dict(zip(names, args[2:], strict=False)) | kwargs
            return {
                "kind": "conv",
                "input": shape_of(args[0]),
                "weight": shape_of(args[1]),
                "dims": dims,
                "transposed": transposed,
                "tensors": {"weight": id(args[1]), "bias": id(params.get("bias"))},
                "has_bias": params.get("bias") is not None,
                **{k: v for k, v in params.items() if k != "bias"},
            }
        if func in LINEARS:
            bias = _arg(args, kwargs, 2, "bias")
            return {
                "kind": "linear",
                "input": shape_of(args[0]),
                "weight": shape_of(args[1]),
                "has_bias": bias is not None,
                "tensors": {"weight": id(args[1]), "bias": id(bias)},
            }
        if func in PRODUCTS:
            op, a, b = PRODUCTS[func]
            left, right = args[a], args[b]
            method = func in (torch.Tensor.matmul, torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.addmm)
            event = {
                "kind": "matmul",
                "op": op,
                "input": shape_of(left),
                "other": shape_of(right),
                "called": func in TORCH_CALLS or (method and not _written_as_operator()),
            }
            if op in ("addmm", "baddbmm"):
                event["self"] = shape_of(args[0])
                event["beta_zero"] = kwargs.get("beta", 1) == 0
            return event
        if func is torch.einsum:
            operands = (
                list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
            )
            return {
                "kind": "matmul",
                "op": "einsum",
                "equation": args[0],
                "operands": [shape_of(t) for t in operands],
                "input": shape_of(operands[0]),
            }
        if func is F.scaled_dot_product_attention:
            return {
                "kind": "attention",
                "op": "sdpa",
                "input": shape_of(args[0]),
                "key": shape_of(_arg(args, kwargs, 1, "key")),
                "value": shape_of(_arg(args, kwargs, 2, "value")),
            }
        if func in (F.batch_norm, torch.batch_norm):
            at = (
                3 if func is F.batch_norm else 1
            )  # F.batch_norm(x, mean, var, weight, ...); torch's: (x, weight, ...)
            weight, bias = _arg(args, kwargs, at, "weight"), _arg(args, kwargs, at + 1, "bias")
            training = _arg(args, kwargs, 5, "training", False)
            return {
                "kind": "bn",
                "input": shape_of(args[0]),
                "affine": weight is not None,
                "training": bool(training),
                "tensors": {"weight": id(weight), "bias": id(bias)},
            }
        if func in POOLS:
            return {"kind": "pool", "input": shape_of(args[0]), "op": POOLS[func]}
        if func in ACTIVATIONS and first is not None:
            return {"kind": "act", "input": shape_of(first), "op": ACTIVATIONS[func]}
        if func in NORMS and first is not None:
            at = {"layer_norm": 2, "group_norm": 2, "instance_norm": 3}[NORMS[func]]  # the weight argument
            weight = _arg(args, kwargs, at, "weight")
            bias = _arg(args, kwargs, at + 1, "bias")
            return {
                "kind": "norm",
                "input": shape_of(first),
                "op": NORMS[func],
                "affine": weight is not None,
                "tensors": {"weight": id(weight), "bias": id(bias)},
            }
        if func in INTERPOLATE:
            return {
                "kind": "interpolate",
                "op": INTERPOLATE[func],
                "input": shape_of(args[0]),
                "mode": _arg(args, kwargs, 3, "mode", "nearest"),
                "size": _arg(args, kwargs, 1, "size"),
                "scale_factor": _arg(args, kwargs, 2, "scale_factor"),
            }
        if func in RNNS and len(args) > 8 and isinstance(args[2], (list, tuple)):  # not a packed sequence
            weights = [w for w in args[2] if isinstance(w, torch.Tensor) and w.dim() == 2]
            x, batch_first = args[0], bool(args[8])
            steps, batch = (
                (x.shape[0], 1) if x.dim() == 2 else (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
            )
            return {
                "kind": "rnn",
                "op": RNNS[func],
                "input": shape_of(x),
                "steps": int(steps),
                "batch": int(batch),
                "weights": [shape_of(w) for w in weights],
                "layers": int(args[4]),
                "bidirectional": bool(args[7]),
                "owned": [id(w) for w in args[2]],
            }
        if func in RNN_CELLS:
            weights = [w for w in args[2:4] if isinstance(w, torch.Tensor)]
            x = args[0]
            return {
                "kind": "rnn",
                "op": RNN_CELLS[func],
                "input": shape_of(x),
                "steps": 1,
                "batch": int(x.shape[0]) if x.dim() == 2 else 1,
                "weights": [shape_of(w) for w in weights],
                "layers": 1,
                "bidirectional": False,
                "owned": [id(w) for w in args[2:6] if isinstance(w, torch.Tensor)],
            }
        if func is F.grid_sample:
            return {"kind": "grid_sample", "input": shape_of(args[0])}
        if func in (torch.Tensor.view, torch.Tensor.reshape, torch.reshape) and first is not None:
            shape = tuple(out.shape)
            if first.dim() == 4 and len(shape) == 5 and shape[1] * shape[2] == first.shape[1]:
                self.views[id(out)] = shape[1]
            return None
        if func in (torch.Tensor.transpose, torch.transpose) and id(first) in self.views:
            if sorted(int(a) % 5 for a in args[1:3]) == [1, 2]:
                b, g, per, h, w = first.shape
                return {
                    "kind": "shuffle",
                    "input": (b, g * per, h, w),
                    "output": (b, g * per, h, w),
                    "groups": self.views[id(first)],
                }
            return None
        if func in ADDS or func in MULS:
            a, b = (args + (None, None))[:2]
            operator = func in (torch.Tensor.add, torch.Tensor.mul) and _written_as_operator()
            return {
                "kind": "add" if func in ADDS else "mul",
                "input": shape_of(a) if isinstance(a, torch.Tensor) else shape_of(b),
                "operands": [shape_of(a), shape_of(b)],
                "sources": [self._source(t) for t in (a, b) if isinstance(t, torch.Tensor)],
                "called": func in (torch.add, torch.mul)
                or (func in (torch.Tensor.add, torch.Tensor.mul) and not operator),
            }
        return None

    def _attention_module(self, args, kwargs):
        """F.multi_head_attention_forward seen through: its input projections, attention products and output
        projection recorded as the calls it makes (the function mode cannot see inside it)."""
        names = (
            "query",
            "key",
            "value",
            "embed_dim_to_check",
            "num_heads",
            "in_proj_weight",
            "in_proj_bias",
            "bias_k",
            "bias_v",
            "add_zero_attn",
            "dropout_p",
            "out_proj_weight",
            "out_proj_bias",
        )
        a = dict(zip(names, args, strict=False)) | kwargs
        q, k, v = a["query"], a["key"], a["value"]
        heads = int(a["num_heads"])
        need_weights = a.get("need_weights", True)
        source = self._source(q)
        out = F.multi_head_attention_forward(*args, **kwargs)  # the trace runs under no_grad already
        batched = q.dim() == 3
        tokens_q = q.shape[0]
        tokens_k = k.shape[0]
        batch = q.shape[1] if batched else 1
        embed = q.shape[-1]

        def linear(x_shape, w, b, out_features):
            self.emit(
                {
                    "kind": "linear",
                    "input": x_shape,
                    "weight": (out_features, x_shape[-1]),
                    "has_bias": b is not None,
                    "tensors": {"weight": id(w), "bias": id(b)},
                    "inside": "multi_head_attention_forward",
                },
                source,
                None,
            )
            self.events[-1]["output"] = (*x_shape[:-1], out_features)

        w, b = a["in_proj_weight"], a["in_proj_bias"]
        if not a.get("use_separate_proj_weight", False):
            if k is v and q is k:
                linear(tuple(q.shape), w, b, 3 * embed)
            elif k is v:
                linear(
                    tuple(q.shape), w, b, embed
                )  # a chunk of the packed weight: its parameter, counted once
                linear(tuple(k.shape), w, b, 2 * embed)
            else:
                for x in (q, k, v):
                    linear(tuple(x.shape), w, b, embed)
        else:
            for x, name in ((q, "q_proj_weight"), (k, "k_proj_weight"), (v, "v_proj_weight")):
                weight = a.get(name)
                linear(tuple(x.shape), weight, b, weight.shape[0])
        extra = int(a.get("bias_k") is not None) + int(bool(a.get("add_zero_attn")))
        s = tokens_k + extra
        head = embed // heads
        bh = batch * heads
        if need_weights:
            mask = a.get("attn_mask") is not None
            for left, right, op in (
                ((bh, tokens_q, head), (bh, head, s), "baddbmm" if mask else "bmm"),
                ((bh, tokens_q, s), (bh, s, head), "bmm"),
            ):
                event = {
                    "kind": "matmul",
                    "op": op,
                    "input": left,
                    "other": right,
                    "called": True,
                    "inside": "multi_head_attention_forward",
                }
                if op == "baddbmm":
                    event |= {"self": (bh, tokens_q, s), "beta_zero": False}
                self.emit(event, source, None)
                self.events[-1]["output"] = (left[0], left[1], right[2])
                if left[2] == head:
                    self.emit(
                        {
                            "kind": "act",
                            "op": "softmax",
                            "input": (bh, tokens_q, s),
                            "output": (bh, tokens_q, s),
                            "inside": "multi_head_attention_forward",
                        },
                        source,
                    )
        else:
            self.emit(
                {
                    "kind": "attention",
                    "op": "sdpa",
                    "input": (batch, heads, tokens_q, head),
                    "key": (batch, heads, s, head),
                    "value": (batch, heads, s, head),
                    "output": (batch, heads, tokens_q, head),
                    "inside": "multi_head_attention_forward",
                },
                source,
            )
        linear(
            (tokens_q * batch, embed), a["out_proj_weight"], a["out_proj_bias"], a["out_proj_weight"].shape[0]
        )
        index = len(self.events) - 1
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.alive.append(o)
                self.origin[id(o)] = index
                self.data.add(id(o))
        return out


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


class _AtenRecorder(TorchDispatchMode):
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


ATOMS = (int, float, bool, str, type(None))
EMPTY_TABLES = (dict, OrderedDict, set)
_CUSTOM: dict[type, bool] = {}  # module class -> whether it has a copy protocol of its own


def _clone(module: tnn.Module, memo: dict) -> tnn.Module:
    """A structural deep copy of a module tree (``copy.deepcopy``'s result, faster): every module a new object
    of its class, its parameters and buffers taken from ``memo``, every other attribute deep-copied; a class
    with a copy protocol of its own (a parametrized module) is copied by ``copy.deepcopy`` itself."""
    if id(module) in memo:
        return memo[id(module)]
    kind = type(module)
    custom = _CUSTOM.get(kind)
    if custom is None:
        custom = _CUSTOM[kind] = (
            getattr(kind, "__deepcopy__", None) is not None
            or kind.__reduce_ex__ is not object.__reduce_ex__
            or kind.__reduce__ is not object.__reduce__
            or kind.__getstate__ is not tnn.Module.__getstate__
            or any("__slots__" in vars(k) for k in kind.__mro__)
        )
    if custom:
        return copy.deepcopy(module, memo)
    new = kind.__new__(kind)
    memo[id(module)] = new
    state = {}
    for key, value in module.__dict__.items():
        kind = type(value)
        if kind in ATOMS:
            state[key] = value  # immutable: deepcopy would return it too, slowly
        elif kind in EMPTY_TABLES and not value:  # the many empty hook tables
            state[key] = kind()
        elif key == "_modules":
            state[key] = kind((n, None if c is None else _clone(c, memo)) for n, c in value.items())
        elif key in ("_parameters", "_buffers"):
            state[key] = kind((n, None if t is None else memo[id(t)]) for n, t in value.items())
        elif kind is tuple and all(type(v) in ATOMS for v in value):
            state[key] = value
        else:
            state[key] = copy.deepcopy(value, memo)
    new.__dict__.update(state)
    return new


def _copy(model: tnn.Module, device: str, training: bool) -> tuple[tnn.Module, dict[int, tuple[str, int]]]:
    """A deep copy of the model whose parameters and buffers are new tensors on ``device`` (empty on meta,
    clones elsewhere); the model itself is read, never changed."""
    memo: dict[int, object] = {}
    params: dict[int, tuple[str, int]] = {}

    def fresh(t):
        return torch.empty(t.shape, dtype=t.dtype, device="meta") if device == "meta" else t.detach().clone()

    modules = list(model.named_modules())
    for prefix, module in modules:  # named_parameters() and named_buffers() in one walk: the same names
        for name, p in module._parameters.items():
            if p is not None and id(p) not in memo:
                new = tnn.Parameter(fresh(p), requires_grad=p.requires_grad)
                memo[id(p)] = new
                params[id(new)] = (f"{prefix}.{name}" if prefix else name, p.numel())
        for b in module._buffers.values():
            if b is not None and id(b) not in memo:
                memo[id(b)] = fresh(b)
    try:
        twin = _clone(model, memo)
    except Exception as err:
        raise SkanalyzeError(
            f"{type(model).__name__} cannot be copied to be traced safely ({type(err).__name__}: {err}); "
            "skanalyze never runs the user's own module"
        ) from None
    copies = [memo.get(id(m)) for _, m in modules]
    if None in copies or any(type(m).train is not tnn.Module.train for _, m in modules):
        twin.train(training)  # a class with a train() of its own (one that freezes its norms, say) runs it
    else:
        for twin_module in copies:
            twin_module.training = training
    return twin, params


def aten_ops(twin: tnn.Module, shape: tuple) -> list[dict]:
    """The counted ATen operators of one forward pass of a traced copy (on meta tensors), for the peers that
    read them (FlopCounterMode, ptflops' aten backend); a second pass, run only when one of them is asked."""
    dispatch = _AtenRecorder()
    with torch.no_grad(), dispatch:
        twin(torch.zeros(shape, device="meta"))
    return dispatch.ops


_ENTER, _LEAVE = "skanalyze: enter", "skanalyze: leave"  # keys that no handle's integer id can collide with


def _run(model: tnn.Module, shape: tuple, device: str, training: bool) -> Trace:
    twin, params = _copy(model, device, training)
    recorder = _Recorder(set(params))
    dispatch = _AtenRecorder() if device != "meta" else contextlib.nullcontext()  # meta: later, if asked
    calls: list[tuple] = []
    modules = dict(twin.named_modules())
    names = {id(m): name for name, m in modules.items()}

    def enter(module, args):
        recorder.stack.append(names.get(id(module), ""))

    def leave(module, args, output):
        recorder.stack.pop()
        calls.append((module, args, output[0] if isinstance(output, (tuple, list)) and output else output))

    for module in modules.values():  # the copy's own hook tables (register_forward_hook's handles are slow)
        module._forward_pre_hooks[_ENTER] = enter
        module._forward_hooks[_LEAVE] = leave
    x = torch.zeros(shape, device=device)
    recorder.data.add(id(x))
    with torch.no_grad(), recorder, dispatch:
        twin(x)
    for module in modules.values():  # the copy is kept for the peers' rules; it needs no hooks any more
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    if device != "meta":  # keep shapes, not values
        twin = twin.to("meta")
        calls = [(m, tuple(_on_meta(a) for a in args), _on_meta(out)) for m, args, out in calls]
    aten = dispatch.ops if device != "meta" else None
    how = "meta" if device == "meta" else "zeros"
    return Trace(recorder.events, aten, calls, twin, params, modules, how)


def _on_meta(value):
    return (
        torch.empty(value.shape, dtype=value.dtype, device="meta")
        if isinstance(value, torch.Tensor)
        else value
    )


def trace(model: tnn.Module, shape: tuple, training: bool = False) -> Trace:
    """One forward pass of a copy of the model (eval mode unless ``training``) on meta tensors, else on zeros."""
    with _no_collection():
        return _trace(model, shape, training)


@contextlib.contextmanager
def _no_collection():
    """The cyclic garbage collector paused for the trace (its many small objects made it run often, for
    nothing: a forward pass makes few cycles), and restored as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _trace(model: tnn.Module, shape: tuple, training: bool) -> Trace:
    try:
        return _run(model, shape, "meta", training)
    except SkanalyzeError:
        raise
    except Exception:  # a forward that needs real values: run it once on zeros
        try:
            return _run(model, shape, "cpu", training)
        except SkanalyzeError:
            raise
        except Exception as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SkanalyzeError(
                f"the model rejects an input of shape {'x'.join(map(str, shape))}: {text}"
            ) from None


def numel(shape) -> int:
    """The number of elements of a shape (1 for a scalar)."""
    return math.prod(int(d) for d in shape) if shape else 1


__all__ = ["Trace", "trace", "aten_ops", "shape_of", "numel", "meta_shortcut", "ATEN_COUNTED"]
