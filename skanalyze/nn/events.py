"""The trace's event builders, one per family of torch function (nn/ops.py): what each call of a convolution,
linear layer, product, attention, norm, pool, activation, interpolation, recurrent layer, element-wise add or
mul, channel shuffle or concatenation records (EVENTS), read from the call's arguments and output. The recorder
(nn/trace.py) calls them with itself as ``rec``: its ``views`` (5-D views of a split, for shuffles) and
``source`` (the event that produced a tensor)."""

from __future__ import annotations

import dis
import os
import sys

import torch
from torch.nn import functional as F

from .ops import (
    ACTIVATIONS,
    ADDS,
    CATS,
    CONVS,
    INTERPOLATE,
    LINEARS,
    MULS,
    NORMS,
    POOLS,
    PRODUCTS,
    RNN_CELLS,
    RNNS,
    TORCH_CALLS,
    arg,
    first_family,
    shape_of,
)

# with the separator: '.../torch/' never matches '.../torchvision/'
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep


# the tracer's own modules: their frames are skipped when looking for the model's line that made a call
TRACER_MODULES = frozenset({__name__, __name__.rpartition(".")[0] + ".trace"})
_OPERATOR: dict[tuple, bool] = {}  # (code object, instruction offset) -> whether that call is an operator


def _written_as_operator() -> bool:
    """Whether the Tensor.add/mul/matmul being traced was written ``a + b`` (a BINARY_OP in the caller's code)
    rather than ``a.add(b)``: the function mode sees both as the method, ptflops counts only the second."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_TORCH_DIR) or frame.f_globals.get("__name__") in TRACER_MODULES
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


def _conv_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A convolution (any dimension, transposed too): its shapes, settings and weight."""
    dims, transposed = CONVS[func]
    names = ("bias", "stride", "padding", "output_padding", "groups", "dilation")
    if not transposed:
        names = ("bias", "stride", "padding", "dilation", "groups")
    params = dict(zip(names, args[2:], strict=False)) | {
        k: v for k, v in kwargs.items() if k not in ("input", "weight")
    }
    weight = arg(args, kwargs, 1, "weight")  # F.conv2d(x, weight=w) as well as F.conv2d(x, w)
    return {
        "kind": "conv",
        "input": shape_of(arg(args, kwargs, 0, "input")),
        "weight": shape_of(weight),
        "dims": dims,
        "transposed": transposed,
        "tensors": {"weight": id(weight), "bias": id(params.get("bias"))},
        "has_bias": params.get("bias") is not None,
        **{k: v for k, v in params.items() if k != "bias"},
    }


def _linear_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A linear layer: its shapes and weight."""
    bias = arg(args, kwargs, 2, "bias")
    weight = arg(args, kwargs, 1, "weight")  # F.linear(x, weight=w, bias=b), as BEiT's attention calls it
    return {
        "kind": "linear",
        "input": shape_of(arg(args, kwargs, 0, "input")),
        "weight": shape_of(weight),
        "has_bias": bias is not None,
        "tensors": {"weight": id(weight), "bias": id(bias)},
    }


def _product_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A matrix product (matmul/@/mm/bmm/addmm/baddbmm): its operands, and whether it was called by name."""
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


def _einsum_event(rec, func, args, kwargs, first, out) -> dict | None:
    """An einsum: its equation and operand shapes."""
    operands = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
    return {
        "kind": "matmul",
        "op": "einsum",
        "equation": args[0],
        "operands": [shape_of(t) for t in operands],
        "input": shape_of(operands[0]),
    }


def _sdpa_event(rec, func, args, kwargs, first, out) -> dict | None:
    """Scaled dot-product attention: query, key and value shapes."""
    return {
        "kind": "attention",
        "op": "sdpa",
        "input": shape_of(args[0]),
        "key": shape_of(arg(args, kwargs, 1, "key")),
        "value": shape_of(arg(args, kwargs, 2, "value")),
    }


def _batch_norm_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A batch norm: its input, affine weight and mode."""
    at = (
        3 if func is F.batch_norm else 1
    )  # F.batch_norm(x, mean, var, weight, ...); torch's: (x, weight, ...)
    weight, bias = arg(args, kwargs, at, "weight"), arg(args, kwargs, at + 1, "bias")
    training = arg(args, kwargs, 5, "training", False)
    return {
        "kind": "bn",
        "input": shape_of(args[0]),
        "affine": weight is not None,
        "training": bool(training),
        "tensors": {"weight": id(weight), "bias": id(bias)},
    }


def _pool_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A pool."""
    return {"kind": "pool", "input": shape_of(args[0]), "op": POOLS[func]}


def _activation_event(rec, func, args, kwargs, first, out) -> dict | None:
    """An activation."""
    if first is None:
        return None
    return {"kind": "act", "input": shape_of(first), "op": ACTIVATIONS[func]}


def _norm_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A layer, group or instance norm."""
    if first is None:
        return None
    at = {"layer_norm": 2, "group_norm": 2, "instance_norm": 3}[NORMS[func]]  # the weight argument
    weight = arg(args, kwargs, at, "weight")
    bias = arg(args, kwargs, at + 1, "bias")
    return {
        "kind": "norm",
        "input": shape_of(first),
        "op": NORMS[func],
        "affine": weight is not None,
        "tensors": {"weight": id(weight), "bias": id(bias)},
    }


def _interpolate_event(rec, func, args, kwargs, first, out) -> dict | None:
    """An interpolation: mode and output size."""
    return {
        "kind": "interpolate",
        "op": INTERPOLATE[func],
        "input": shape_of(args[0]),
        "mode": arg(args, kwargs, 3, "mode", "nearest"),
        "size": arg(args, kwargs, 1, "size"),
        "scale_factor": arg(args, kwargs, 2, "scale_factor"),
    }


def _rnn_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A recurrent layer (not a packed sequence): steps, batch, its 2-D weights."""
    if len(args) <= 8 or not isinstance(args[2], (list, tuple)):
        return None
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


def _rnn_cell_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A recurrent cell: one step."""
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


def _grid_sample_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A grid sample."""
    return {"kind": "grid_sample", "input": shape_of(args[0])}


def _view_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A view or reshape: no event, but a 4-D -> 5-D split is remembered for a shuffle."""
    if first is None:
        return None
    shape = tuple(out.shape)
    if first.dim() == 4 and len(shape) == 5 and shape[1] * shape[2] == first.shape[1]:
        rec.views[id(out)] = shape[1]
    return None


def _transpose_event(rec, func, args, kwargs, first, out) -> dict | None:
    """The transpose of a remembered split: a channel shuffle."""
    if id(first) not in rec.views:
        return None
    if sorted(int(a) % 5 for a in args[1:3]) == [1, 2]:
        b, g, per, h, w = first.shape
        return {
            "kind": "shuffle",
            "input": (b, g * per, h, w),
            "output": (b, g * per, h, w),
            "groups": rec.views[id(first)],
        }
    return None


def _elementwise_event(rec, func, args, kwargs, first, out) -> dict | None:
    """An element-wise add or mul: operands, sources, whether called by name."""
    a, b = (args + (None, None))[:2]
    operator = func in (torch.Tensor.add, torch.Tensor.mul) and _written_as_operator()
    return {
        "kind": "add" if func in ADDS else "mul",
        "input": shape_of(a) if isinstance(a, torch.Tensor) else shape_of(b),
        "operands": [shape_of(a), shape_of(b)],
        "sources": [rec.source(t) for t in (a, b) if isinstance(t, torch.Tensor)],
        "called": func in (torch.add, torch.mul)
        or (func in (torch.Tensor.add, torch.Tensor.mul) and not operator),
    }


def _cat_event(rec, func, args, kwargs, first, out) -> dict | None:
    """A concatenation: every tensor operand's shape and source, and the dimension joined."""
    tensors = arg(args, kwargs, 0, "tensors")
    if not isinstance(tensors, (tuple, list)) or not tensors:
        return None
    parts = [t for t in tensors if isinstance(t, torch.Tensor)]
    return {
        "kind": "cat",
        "input": shape_of(first),
        "operands": [shape_of(t) for t in parts],
        "sources": [rec.source(t) for t in parts],
        "dim": arg(args, kwargs, 1, "dim", 0),
    }


def _events() -> dict:
    """Function -> the event builder for its calls (a function in two families gets the first one's)."""
    families = [
        (CONVS, _conv_event),
        (LINEARS, _linear_event),
        (PRODUCTS, _product_event),
        ((torch.einsum,), _einsum_event),
        ((F.scaled_dot_product_attention,), _sdpa_event),
        ((F.batch_norm, torch.batch_norm), _batch_norm_event),
        (POOLS, _pool_event),
        (ACTIVATIONS, _activation_event),
        (NORMS, _norm_event),
        (INTERPOLATE, _interpolate_event),
        (RNNS, _rnn_event),
        (RNN_CELLS, _rnn_cell_event),
        ((F.grid_sample,), _grid_sample_event),
        ((torch.Tensor.view, torch.Tensor.reshape, torch.reshape), _view_event),
        ((torch.Tensor.transpose, torch.transpose), _transpose_event),
        ((*ADDS, *MULS), _elementwise_event),
        (CATS, _cat_event),
    ]
    return first_family(families)


EVENTS = _events()


PRODUCERS = ("conv", "linear", "shuffle", "matmul", "attention", "rnn")  # events whose output is a new tensor


__all__ = ["EVENTS", "PRODUCERS", "TRACER_MODULES"]
