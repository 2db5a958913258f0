"""The torch functions the trace knows, by family (convolutions, products, pools, norms, activations, recurrent
layers), and small readers of a call's arguments. Read by the trace's events and by its meta shapes."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

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
    torch.sigmoid: "sigmoid",  # nn.Sigmoid runs it (squeeze-excitation gates)
    torch.Tensor.sigmoid: "sigmoid",
    F.hardsigmoid: "hardsigmoid",
    torch.tanh: "tanh",  # nn.Tanh runs it
    torch.Tensor.tanh: "tanh",
}
# concatenations: a copy of every operand into one new tensor (no MACs, no parameters)
CATS = {torch.cat: "cat", torch.concat: "cat", torch.concatenate: "cat"}
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


def shape_of(value):
    """The shape of a tensor as a tuple, else None."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def tensors_in(args) -> list:
    """The tensors among the arguments, with one level of lists and tuples opened (torch.cat's tensors)."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out += [t for t in a if isinstance(t, torch.Tensor)]
    return out


def arg(args, kwargs, at: int, name: str, default=None):
    """The argument at position ``at`` or by keyword ``name``."""
    return args[at] if len(args) > at else kwargs.get(name, default)


def first_family(families) -> dict:
    """Function -> its handler, from (functions, handler) families: a function in two families gets the first
    one's."""
    table: dict = {}
    for functions, handler in families:
        for function in functions:
            table.setdefault(function, handler)
    return table


def numel(shape) -> int:
    """The number of elements of a shape (1 for a scalar)."""
    return math.prod(int(d) for d in shape) if shape else 1
