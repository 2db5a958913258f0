"""Peers, the third room of the importer: other counters' totals rebuilt from one trace, by their own rules.

Each peer is a table of rules, the way fvcore keeps its op handles, applied to what that peer sees:

- ``torch`` (``FlopCounterMode``) and ``ptflops-aten`` see ATen operators (the trace's ``aten`` record);
- ``fvcore`` sees the operators ``torch.jit.trace`` records, which are the torch functions of the trace's
  ``events`` (``F.linear`` is ``aten::linear``, ``@`` is ``aten::matmul``, a conv is ``aten::_convolution``);
- ``thop`` and ``ptflops`` (its default "pytorch" backend) hook modules by exact type (the trace's
  ``calls``), and ptflops also patches functions in ``torch.nn.functional`` and ``torch`` (events whose
  ``called`` flag says they were called by name, not written as an operator).

Where a peer counts nothing for an operator (fvcore and scaled dot-product attention, thop and every
functional call), the line says so: the convention reproduces the peer, it does not correct it.
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
from torch import nn as tnn

from ..core.errors import SkanalyzeError
from .layers import Layer, attention_macs, einsum_macs, matmul_macs
from .ops import numel, shape_of

CONVENTIONS = ("skanalyze", "torch", "fvcore", "ptflops", "ptflops-aten", "thop")


# -- torch: FlopCounterMode's formulas on the ATen operators (2 FLOPs per MAC) ------------------------------
def _mm(a, b) -> int:
    return a[0] * a[1] * b[1]


def _bmm(a, b) -> int:
    return a[0] * a[1] * a[2] * b[2]


def _conv(op) -> int:
    x, w = op["args"][0], op["args"][1]
    spatial = (x if op["transposed"] else op["output"])[2:]
    return x[0] * numel(w) * numel(spatial)


def _sdpa(op) -> int:
    q, k, v = op["args"][:3]
    b, h, s_q, d_q = q
    return b * h * s_q * k[2] * (d_q + v[3])


TORCH_RULES = {
    "mm": lambda op: _mm(*op["args"][:2]),
    "addmm": lambda op: _mm(*op["args"][1:3]),
    "bmm": lambda op: _bmm(*op["args"][:2]),
    "baddbmm": lambda op: _bmm(*op["args"][1:3]),
    "convolution": _conv,
    "_convolution": _conv,
    "_scaled_dot_product_efficient_attention": _sdpa,
    "_scaled_dot_product_flash_attention": _sdpa,
    "_scaled_dot_product_cudnn_attention": _sdpa,
}
# ptflops' aten backend: its own table, no decomposition, biases of addmm and convs counted
PTFLOPS_ATEN_RULES = {
    "mm": lambda op: numel(op["args"][0]) * op["args"][1][-1],
    "addmm": lambda op: _mm(*op["args"][1:3]) + op["args"][1][0] * op["args"][2][1],
    "bmm": lambda op: _bmm(*op["args"][:2]),
    "convolution": lambda op: _conv(op) + (numel(op["output"]) if op["has_bias"] else 0),
    "_convolution": lambda op: _conv(op) + (numel(op["output"]) if op["has_bias"] else 0),
}


# -- fvcore: its op handles on the functions jit.trace records -----------------------------------------------
def _fvcore_einsum(ev) -> int | float:
    equation = ev["equation"].replace(" ", "")
    order = {c: None for c in equation if c.isalpha()}
    equation = equation.translate({ord(c): 97 + i for i, c in enumerate(order)})
    shapes = ev["operands"]
    if equation == "abc,abd->acd":
        n, c, t = shapes[0]
        return n * c * t * shapes[-1][-1]
    if equation == "abc,adc->adb":
        n, t, g = shapes[0]
        return n * t * g * shapes[-1][1]
    path = np.einsum_path(equation, *[np.zeros(s) for s in shapes], optimize="optimal")[1]
    for line in path.split("\n"):
        if "optimized flop" in line.lower():
            return float(np.floor(float(line.split(":")[-1]) / 2))
    raise SkanalyzeError(f"fvcore cannot count the einsum {ev['equation']!r}")


def _fvcore_bn(lay: Layer) -> int:
    per = (5 if lay.detail["affine"] else 4) if lay.detail["training"] else (2 if lay.detail["affine"] else 1)
    return numel(lay.in_shape) * per


def _fvcore_product(lay: Layer):
    ev = lay.detail
    if ev["op"] == "einsum":
        return _fvcore_einsum(ev)
    if ev["op"] in ("matmul", "mm"):
        return numel(ev["input"]) * ev["other"][-1]
    if ev["op"] == "bmm":
        return _bmm(ev["input"], ev["other"])
    if ev["op"] == "addmm":
        return _mm(ev["input"], ev["other"])
    return 0  # aten::baddbmm has no handle


def _fvcore_interpolate(lay: Layer) -> int:
    if len(lay.in_shape) != 4 or lay.detail["op"] != "interpolate":
        return 0
    return {"nearest": 1, "bilinear": 4}.get(lay.detail["mode"], 0) * numel(lay.out_shape)


FVCORE_RULES = {
    "conv": (
        lambda lay: _conv(
            {
                "args": [lay.in_shape, lay.detail["weight"]],
                "output": lay.out_shape,
                "transposed": lay.detail["transposed"],
            }
        ),
        "aten::_convolution: MACs, bias not counted",
    ),
    "linear": (
        lambda lay: numel(lay.in_shape) * lay.detail["weight"][0],
        "aten::linear: MACs, bias not counted",
    ),
    "matmul": (
        _fvcore_product,
        "aten::matmul/mm/bmm/addmm/einsum: MACs (einsum by numpy's optimal path); baddbmm: 0",
    ),
    "attention": (lambda lay: 0, "aten::scaled_dot_product_attention: 0 (fvcore has no handle for it)"),
    "bn": (_fvcore_bn, "eval: 1 per element, 2 with an affine weight; training: 4, 5 with a weight"),
    "norm": (
        lambda lay: numel(lay.in_shape) * (5 if lay.detail["affine"] else 4),
        "layer/group/instance norm: 5 per element with a weight, 4 without",
    ),
    "pool": (
        lambda lay: numel(lay.in_shape) if lay.detail["op"] == "adaptive_avg_pool2d" else 0,
        "adaptive avg pool 2-D: 1 per input element (other pools: 0)",
    ),
    "interpolate": (
        _fvcore_interpolate,
        "upsample nearest 2-D: 1 per output element, bilinear: 4 (others: 0)",
    ),
    "grid_sample": (lambda lay: 4 * numel(lay.out_shape), "grid_sampler: 4 per output element"),
    "rnn": (
        lambda lay: lay.macs if lay.detail["op"].endswith("Cell") else 0,
        "aten::lstm/gru/rnn: 0 (no handle); a cell is traced as its linear products: MACs",
    ),
}


# -- thop: module hooks by exact type ----------------------------------------------------------------------
def _thop_conv(m, ins, out) -> int:
    return numel(out) * (ins[0][1] // m.groups) * numel(m.weight.shape[2:])


def _thop_norm(m, ins, out) -> int:
    return (
        2
        * numel(ins[0])
        * (2 if getattr(m, "affine", False) or getattr(m, "elementwise_affine", False) else 1)
    )


def _thop_softmax(m, ins, out) -> int:
    n = ins[0][m.dim]
    return (numel(ins[0]) // n) * (3 * n - 1)


def _thop_adaptive(m, ins, out) -> int:
    window = 1.0
    for a, b in zip(ins[0][2:], out[2:], strict=False):
        window *= float(a) / float(b)  # thop divides in float64
    return int((window + 1) * numel(out))


def _thop_upsample(m, ins, out) -> int:
    factor = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}
    return factor.get(m.mode, 0) * numel(out)


def _zero(m, ins, out) -> int:
    return 0


def _thop_cell(kind: str, i: int, h: int, bias: bool) -> int:
    """thop's operations of one recurrent cell step (rnn_hooks.py's _count_*_cell)."""
    extra = 2 * h if bias else 0
    if kind == "RNN":
        return h * (i + h) + h + extra
    state = (i + h) * h + h + extra
    if kind == "GRU":
        return 2 * state + (h + i) * h + h + extra + h + 3 * h
    return 4 * state + 3 * h + h  # LSTM


def _thop_rnn(kind: str):
    def rule(m, ins, out) -> int:
        x = ins[0]
        batch, steps = (x[0], x[1]) if m.batch_first else (x[1], x[0])
        dirs = 2 if m.bidirectional else 1
        total = _thop_cell(kind, m.input_size, m.hidden_size, m.bias) * dirs
        total += (m.num_layers - 1) * _thop_cell(kind, m.hidden_size * dirs, m.hidden_size, m.bias) * dirs
        return total * steps * batch

    return rule


def _thop_rnn_cell(kind: str):
    def rule(m, ins, out) -> int:
        return _thop_cell(kind, m.input_size, m.hidden_size, m.bias) * ins[0][0]

    return rule


THOP_RULES = {
    **{
        t: _thop_conv
        for t in (
            tnn.Conv1d,
            tnn.Conv2d,
            tnn.Conv3d,
            tnn.ConvTranspose1d,
            tnn.ConvTranspose2d,
            tnn.ConvTranspose3d,
        )
    },
    **{
        t: _thop_norm
        for t in (
            tnn.BatchNorm1d,
            tnn.BatchNorm2d,
            tnn.BatchNorm3d,
            tnn.LayerNorm,
            tnn.InstanceNorm1d,
            tnn.InstanceNorm2d,
            tnn.InstanceNorm3d,
            tnn.SyncBatchNorm,
        )
    },
    tnn.PReLU: lambda m, ins, out: numel(ins[0]),  # thop runs in eval mode, where it counts PReLU
    tnn.Softmax: _thop_softmax,
    **{t: lambda m, ins, out: numel(out) for t in (tnn.AvgPool1d, tnn.AvgPool2d, tnn.AvgPool3d)},
    **{t: _thop_adaptive for t in (tnn.AdaptiveAvgPool1d, tnn.AdaptiveAvgPool2d, tnn.AdaptiveAvgPool3d)},
    tnn.Linear: lambda m, ins, out: m.in_features * numel(out),
    **{t: _thop_upsample for t in (tnn.Upsample, tnn.UpsamplingBilinear2d, tnn.UpsamplingNearest2d)},
    **{
        t: _zero
        for t in (
            tnn.ZeroPad2d,
            tnn.ReLU,
            tnn.ReLU6,
            tnn.LeakyReLU,
            tnn.MaxPool1d,
            tnn.MaxPool2d,
            tnn.MaxPool3d,
            tnn.AdaptiveMaxPool1d,
            tnn.AdaptiveMaxPool2d,
            tnn.AdaptiveMaxPool3d,
            tnn.Dropout,
            tnn.Sequential,
            tnn.PixelShuffle,
        )
    },
    tnn.RNN: _thop_rnn("RNN"),
    tnn.GRU: _thop_rnn("GRU"),
    tnn.LSTM: _thop_rnn("LSTM"),
    tnn.RNNCell: _thop_rnn_cell("RNN"),
    tnn.GRUCell: _thop_rnn_cell("GRU"),
    tnn.LSTMCell: _thop_rnn_cell("LSTM"),
}


# -- ptflops (pytorch backend): module hooks by exact type, plus patched functions --------------------------
def _pt_conv(m, ins, out, transpose=False) -> int:
    batch = ins[0][0]
    per_position = numel(m.kernel_size) * (m.in_channels * (m.out_channels // m.groups))
    active = batch * numel((ins[0] if transpose else out)[2:])
    return per_position * active + (batch * numel(out[1:]) if m.bias is not None else 0)


def _pt_mha(m, ins, out) -> int:
    q, k, v = ins[:3]
    batch_first = getattr(m, "batch_first", False)
    batch, at = (q[0], 1) if batch_first else (q[1], 0)
    qdim, kdim, vdim = q[2], k[2], v[2]
    qlen, klen, vlen = q[at], k[at], v[at]
    flops = qlen * qdim + qlen * qdim * qdim + klen * kdim * kdim + vlen * vdim * vdim
    if m.in_proj_bias is not None:
        flops += (qlen + klen + vlen) * qdim
    heads = m.num_heads
    flops += heads * (qlen * klen * (qdim // heads) + qlen * klen + qlen * klen * (vdim // heads))
    flops += qlen * vdim * (vdim + 1)
    return flops * batch


def _pt_rnn_step(m, w_ih, w_hh) -> int:
    """ptflops' rnn_flops: both weight products, then the element-wise work per kind of cell."""
    flops = w_ih.shape[0] * w_ih.shape[1] + w_hh.shape[0] * w_hh.shape[1]
    h = m.hidden_size
    if isinstance(m, (tnn.RNN, tnn.RNNCell)):
        return flops + h
    if isinstance(m, (tnn.GRU, tnn.GRUCell)):
        return flops + h + 3 * h + 3 * h
    return flops + 4 * h + 3 * h + 3 * h  # LSTM, LSTMCell


def _pt_rnn(m, ins, out) -> int:
    flops = 0
    for i in range(m.num_layers):  # ptflops counts one direction per layer, then doubles
        flops += _pt_rnn_step(m, getattr(m, f"weight_ih_l{i}"), getattr(m, f"weight_hh_l{i}"))
        if m.bias:
            flops += getattr(m, f"bias_ih_l{i}").shape[0] + getattr(m, f"bias_hh_l{i}").shape[0]
    flops *= ins[0][0] * ins[0][1]  # ptflops takes the batch first, whatever batch_first says
    return flops * (2 if m.bidirectional else 1)


def _pt_rnn_cell(m, ins, out) -> int:
    flops = _pt_rnn_step(m, m.weight_ih, m.weight_hh)
    if m.bias:
        flops += m.bias_ih.shape[0] + m.bias_hh.shape[0]
    return flops * ins[0][0]


def _pt_timm_attention(m, ins, out) -> int:
    b, n, _ = ins[0]
    hd, heads = m.head_dim, m.num_heads
    return b * (n * hd * heads + heads * (n * n * hd + n * n + n * n * hd))


PTFLOPS_RULES = {
    **{t: _pt_conv for t in (tnn.Conv1d, tnn.Conv2d, tnn.Conv3d)},
    **{
        t: lambda m, ins, out: _pt_conv(m, ins, out, True)
        for t in (tnn.ConvTranspose1d, tnn.ConvTranspose2d, tnn.ConvTranspose3d)
    },
    **{
        t: lambda m, ins, out: numel(out)
        for t in (tnn.ReLU, tnn.PReLU, tnn.ELU, tnn.LeakyReLU, tnn.ReLU6, tnn.GELU)
    },
    **{
        t: lambda m, ins, out: numel(ins[0])
        for t in (
            tnn.MaxPool1d,
            tnn.AvgPool1d,
            tnn.AvgPool2d,
            tnn.MaxPool2d,
            tnn.MaxPool3d,
            tnn.AvgPool3d,
            tnn.AdaptiveMaxPool1d,
            tnn.AdaptiveAvgPool1d,
            tnn.AdaptiveMaxPool2d,
            tnn.AdaptiveAvgPool2d,
            tnn.AdaptiveMaxPool3d,
            tnn.AdaptiveAvgPool3d,
        )
    },
    **{
        t: lambda m, ins, out: numel(ins[0]) * (2 if getattr(m, "affine", False) else 1)
        for t in (
            tnn.BatchNorm1d,
            tnn.BatchNorm2d,
            tnn.BatchNorm3d,
            tnn.InstanceNorm1d,
            tnn.InstanceNorm2d,
            tnn.InstanceNorm3d,
            tnn.GroupNorm,
            tnn.LayerNorm,
        )
    },
    tnn.Linear: lambda m, ins, out: (
        (ins[0][-1] * out[-1] + (out[-1] if m.bias is not None else 0)) * numel(ins[0][:-1])
    ),
    tnn.Upsample: lambda m, ins, out: numel(out[1:]),  # ptflops reads output[0]: the first image's elements
    tnn.MultiheadAttention: _pt_mha,
    **{t: _pt_rnn for t in (tnn.RNN, tnn.GRU, tnn.LSTM)},
    **{t: _pt_rnn_cell for t in (tnn.RNNCell, tnn.LSTMCell, tnn.GRUCell)},
}
# classes ptflops hooks when their package is installed (it imports them itself): (module, name) -> rule
PTFLOPS_OPTIONAL = {("timm.models.vision_transformer", "Attention"): _pt_timm_attention}
PTFLOPS_FUNCTIONS = {"relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax"}


def _pt_rule(kind: type):
    rule = PTFLOPS_RULES.get(kind)
    if rule is None:
        for (where, name), optional in PTFLOPS_OPTIONAL.items():
            # the class ptflops imported, by identity (it may be defined elsewhere and re-exported there)
            if getattr(sys.modules.get(where), name, None) is kind:
                return optional
    return rule


def _pt_elementwise(a, b) -> int:
    if a is None:
        return numel(b) if b is not None else 1
    if b is None:
        return numel(a)
    n = max(len(a), len(b))  # ptflops aligns the shapes on the left
    return numel([max(a[i] if i < len(a) else 1, b[i] if i < len(b) else 1) for i in range(n)])


def _pt_interpolate(lay: Layer):
    ev = lay.detail
    shape, size, scale = lay.in_shape, ev["size"], ev["scale_factor"]
    if size is not None:
        if isinstance(size, (tuple, list)):
            return numel(size) * numel(shape[:2])
        return int(size) ** (len(shape) - 2) * numel(shape[:2])
    if isinstance(scale, tuple) and len(scale) == len(shape) - 2:
        return numel(shape) * int(math.prod(scale))
    return numel(shape) * scale ** (len(shape) - 2)


def _pt_functional(lay: Layer):
    """What ptflops' patched functions count for one recorded call (0 for what it does not patch)."""
    kind, ev = lay.kind, lay.detail
    if kind == "act" and ev["op"] in PTFLOPS_FUNCTIONS:
        return numel(lay.in_shape)
    if kind == "pool":
        return numel(lay.in_shape)
    if kind == "interpolate":
        return _pt_interpolate(lay)
    if kind == "matmul" and ev.get("called"):
        if ev["op"] in ("addmm", "baddbmm"):
            return numel(ev["input"]) * ev["other"][-1] + (0 if ev["beta_zero"] else numel(ev["self"]))
        return numel(ev["input"]) * ev["other"][-1]
    if kind in ("add", "mul") and ev.get("called"):
        return _pt_elementwise(*ev["operands"])
    return 0


# -- walking the module tree as the hook-based peers do ----------------------------------------------------
def _hooked_totals(model, rule_of) -> dict[int, int]:
    """Per module (by id), the sum of its rule over its calls."""
    totals: dict[int, int] = {}
    for module, args, output in model.calls:
        rule = rule_of(type(module))
        if rule is None:
            continue
        ins, out = tuple(shape_of(a) for a in args), shape_of(output)
        if ins and ins[0] is not None and out is not None:
            totals[id(module)] = totals.get(id(module), 0) + rule(module, ins, out)
    return totals


def _paths(root) -> dict[int, int]:
    """How many times ``Module.apply`` visits each module (children() drops repeats only within a parent)."""
    count: dict[int, int] = {}

    def visit(m):
        count[id(m)] = count.get(id(m), 0) + 1
        for child in m.children():
            visit(child)

    visit(root)
    return count


def _thop_total(model) -> int:
    totals = _hooked_totals(model, THOP_RULES.get)
    # thop registers its hooks once per visit of Module.apply: a module reached by k paths counts each call k times
    registrations = _paths(model.copy)

    def dfs(m) -> int:
        total = registrations[id(m)] * totals.get(id(m), 0)
        for child in m.children():
            if type(child) in THOP_RULES and not isinstance(child, (tnn.Sequential, tnn.ModuleList)):
                total += registrations[id(child)] * totals.get(id(child), 0)
            else:
                total += dfs(child)
        return total

    return int(dfs(model.copy))


def _ptflops_modules(model) -> int:
    totals = _hooked_totals(model, _pt_rule)

    def accumulate(m) -> int:
        if _pt_rule(type(m)) is not None:
            return totals.get(id(m), 0)
        return sum(accumulate(child) for child in m.children())

    return accumulate(model.copy)


def _lines(name: str, model) -> tuple[str, list[tuple[str, int, str]]]:
    layers = model.layers
    by_kind: dict[str, int] = {}
    for lay in layers:
        by_kind[lay.kind] = by_kind.get(lay.kind, 0) + lay.macs
    if name == "skanalyze":
        return "MACs", [
            ("conv", by_kind.get("conv", 0), "multiply-accumulates of every conv, bias-free"),
            ("FC", by_kind.get("linear", 0), "multiply-accumulates of linear layers"),
            ("matmul", by_kind.get("matmul", 0), "matmul, bmm, mm, addmm, baddbmm, einsum"),
            ("attention", by_kind.get("attention", 0), "scaled dot-product attention: Q K^T and A V"),
            ("recurrent", by_kind.get("rnn", 0), "RNN/GRU/LSTM and cells: every step's weight products"),
        ]
    if name in ("torch", "ptflops-aten"):
        rules = TORCH_RULES if name == "torch" else PTFLOPS_ATEN_RULES
        per: dict[str, int] = {}
        for op in model.aten:
            if op["op"] in rules and (name == "torch" or not op["depth"]):
                per[op["op"]] = per.get(op["op"], 0) + rules[op["op"]](op)
        if name == "torch":
            return "FLOPs", [
                (f"aten.{k}", 2 * v, "2 per MAC (bias adds not counted)") for k, v in per.items()
            ]
        return "MACs", [
            (f"aten.{k}", v, "MACs, + 1 per output element of an addmm or biased conv")
            for k, v in per.items()
        ]
    if name == "fvcore":
        per = {}
        for lay in layers:
            if lay.kind in FVCORE_RULES:
                per[lay.kind] = per.get(lay.kind, 0) + FVCORE_RULES[lay.kind][0](lay)
        return "flops (1 per MAC)", [(k, v, FVCORE_RULES[k][1]) for k, v in per.items()] + [
            ("everything else", 0, "ReLU, additions, other pools: no handle")
        ]
    if name == "thop":
        return "MACs", [
            (
                "modules",
                _thop_total(model),
                "modules of exactly the types thop hooks (conv, norm, linear, pools, "
                "softmax, upsample; max pools and ReLU: 0); functional calls and subclasses: not seen",
            ),
        ]
    # ptflops, default backend
    n = model.input_size[0]
    modules = Fraction(_ptflops_modules(model), n)
    functional = sum(_pt_functional(lay) for lay in layers)
    return "MACs", [
        (
            "modules",
            modules,
            "modules of exactly the types ptflops hooks (conv, linear, activations, pools, norms, "
            "MultiheadAttention, timm's Attention), per image (divided by the batch)",
        ),
        (
            "patched functions",
            functional,
            "F.relu/prelu/elu/relu6/gelu/silu/softmax, every F pool, F.interpolate, "
            "torch.matmul/mm/bmm/addmm/baddbmm/add/mul and Tensor.matmul/mm/bmm/addmm/add/mul called by name "
            "(not the operators), also inside modules; whole batch",
        ),
    ]


def convention(model, name: str) -> dict:
    """Another counter's total on this model, rebuilt from the trace by that counter's own rules, line by line."""
    if name not in CONVENTIONS:
        raise SkanalyzeError(f"convention {name!r} is unknown; valid: {', '.join(CONVENTIONS)}")
    unit, lines = _lines(name, model)
    total = sum(count for _, count, _ in lines)
    if name == "ptflops":
        total = int(total)  # ptflops truncates the sum (its interpolation counts can be fractions)
        lines = [(w, int(c) if c == int(c) else float(c), r) for w, c, r in lines]
    return {
        "convention": name,
        "unit": unit,
        "total": total,
        "params": model.params,
        "lines": [{"what": w, "count": c, "rule": r} for w, c, r in lines],
    }


__all__ = ["CONVENTIONS", "convention", "matmul_macs", "einsum_macs", "attention_macs"]
