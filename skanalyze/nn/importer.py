"""Bring your own model: trace an ``nn.Module`` and read it in the notation, layer by layer and unit by unit.

The model runs once on meta tensors (``torch.func.functional_call`` with every parameter and buffer
replaced by a meta tensor of the same shape, so nothing is computed and the user's module is never
modified: hooks and the function mode live only during the call, also after an exception). A model whose
forward needs real values (data-dependent control flow) is run once on zeros instead.

Recorded: every convolution (``conv2d``, functional or in a module), linear layer, batch norm, channel
shuffle (a transpose of dimensions 1 and 2 of a 5-D view that splits the channels) and residual addition,
with the module that ran it. Each conv becomes a kernel of the notation (groups = 1, 1x1: PW; groups = 1:
Conv; groups = C_in = C_out: DW; 1x1 grouped: PWGConv(g); grouped: GConv(g)), with stride, dilation and
padding. Convs on one data path inside one block (the deepest module with two or more of them that is
not a container) form a design unit; a conv that starts from the block's input beside that path is a
shortcut. Parameters of anything else are listed by module, never dropped.

Counts (the convention of docs/model.md, applied to a whole model): params are every parameter
(conv weights and biases, BN's weight and bias, linear weights and biases, anything unmodelled), so the
total is ``sum(p.numel())``; MACs are the multiply-accumulates of convolutions and linear layers for the
given input (batch included), so FLOPs = 2 x MACs is FlopCounterMode's total for models made of them.
"""

from __future__ import annotations

import dis
import math
import os
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import sympy as sp
import torch
from torch import nn as tnn
from torch.overrides import TorchFunctionMode

from ..analyses.optimize import optimize, ranked_at
from ..core import symbols as S
from ..core.catalog import PAPER, resolve
from ..core.counting import params_at
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field as info_field
from ..core.kernels import DW, PW, Conv, GConv, Kernel, PWGConv, Shuffle

CONTAINERS = (tnn.Sequential, tnn.ModuleList, tnn.ModuleDict)
POOLS = {
    tnn.functional.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    torch._C._nn.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    tnn.functional.avg_pool2d: "avg_pool2d",
    torch._C._nn.avg_pool2d: "avg_pool2d",
    tnn.functional.max_pool2d: "max_pool2d",
    torch.max_pool2d: "max_pool2d",
}
POOL_MODULES = {
    "adaptive_avg_pool2d": tnn.AdaptiveAvgPool2d,
    "avg_pool2d": tnn.AvgPool2d,
    "max_pool2d": tnn.MaxPool2d,
}
ACTIVATIONS = {
    tnn.functional.relu: "relu",
    tnn.functional.relu6: "relu6",
    tnn.functional.hardtanh: "hardtanh",  # nn.ReLU6 runs it
    tnn.functional.elu: "elu",
    tnn.functional.gelu: "gelu",
    tnn.functional.silu: "silu",
    tnn.functional.prelu: "prelu",
    tnn.functional.leaky_relu: "leaky_relu",
    tnn.functional.hardswish: "hardswish",
    tnn.functional.softmax: "softmax",
    torch.relu: "torch.relu",
}
NORMS = {
    tnn.functional.layer_norm: "layer_norm",
    tnn.functional.group_norm: "group_norm",
    tnn.functional.instance_norm: "instance_norm",
}
PLANS = ("auto", "early", "keep", "bottleneck")


@dataclass
class Layer:
    """One recorded layer: where it ran, what it is in the notation, its shapes and exact counts."""

    name: str
    kind: str  # conv | linear | bn | pool | shuffle | add
    notation: str
    in_shape: tuple
    out_shape: tuple
    params: int
    macs: int
    kernel: Kernel | None = None
    bias: int = 0
    unit: str | None = None
    source: int | None = None  # index of the layer whose output this one reads (None: the model's input)
    index: int = 0
    detail: dict = field(default_factory=dict)  # affine, pooling op and module: what the peers count


@dataclass
class Unit:
    """A design unit: the kernels on one data path of a block, in the notation, with its field."""

    name: str
    notation: str
    layers: list[int]
    c_in: int
    c_out: int
    residual: bool = False
    shortcut: bool = False
    field: tuple | None = None
    note: str = ""


@dataclass
class Model:
    """A traced model: its layers, units, unmodelled parameters and totals."""

    input_size: tuple
    layers: list[Layer]
    units: list[Unit]
    unmodelled: list[tuple[str, int]] = field(default_factory=list)
    traced_on: str = "meta"

    @property
    def params(self) -> int:
        """Every parameter, counted once."""
        return sum(lay.params for lay in self.layers) + sum(p for _, p in self.unmodelled)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolutions and linear layers."""
        return sum(lay.macs for lay in self.layers)


# -- conv -> kernel ---------------------------------------------------------------------------------------
def conv_kernel(c_in: int, c_out: int, k: tuple, stride: tuple, padding: tuple, dilation: tuple, groups: int):
    """The kernel of the notation for a Conv2d's settings, or None when the notation has none (a non-square
    or even kernel, unequal strides, dilations or paddings)."""
    if isinstance(padding[0], str):  # Conv2d(padding="same" | "valid")
        padding = tuple(
            d * (kk - 1) // 2 if padding[0] == "same" else 0 for kk, d in zip(k, dilation, strict=True)
        )
    if len({*k}) != 1 or len({*stride}) != 1 or len({*dilation}) != 1 or len({*padding}) != 1:
        return None
    k, s, d, p = int(k[0]), int(stride[0]), int(dilation[0]), int(padding[0])
    if k % 2 == 0:
        return None
    opts = {"s": s, "d": d, "p": None if p == d * (k - 1) // 2 else p}
    if groups == 1:
        return PW(**opts) if k == 1 else Conv(k=k, **opts)
    if groups == c_in == c_out:
        return DW(k=k, **opts)
    return PWGConv(g=groups, **opts) if k == 1 else GConv(g=groups, k=k, **opts)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)  # "same"/"valid" stay strings


# -- tracing ---------------------------------------------------------------------------------------------
def _tensors(args):
    """The arguments, with one level of lists and tuples opened (torch.cat's tensors)."""
    for arg in args:
        if isinstance(arg, (list, tuple)):
            yield from arg
        else:
            yield arg


_TORCH_DIR = os.path.dirname(torch.__file__)


def _written_as_operator() -> bool:
    """Whether the Tensor.add being traced was written ``a + b`` (a BINARY_OP in the caller's code) rather than
    ``a.add(b)``: the function mode sees both as Tensor.add, ptflops counts only the second."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename.startswith(_TORCH_DIR) or frame.f_globals is globals()
    ):
        frame = frame.f_back
    if frame is None:
        return False
    for ins in dis.get_instructions(frame.f_code):
        if ins.offset == frame.f_lasti:
            return ins.opname.startswith("BINARY") or ins.opname.startswith("INPLACE")
    return False


class _Recorder(TorchFunctionMode):
    """Records convs, linears, batch norms, shuffles and additions with the module that ran them."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = [""]
        self.events: list[dict] = []
        self.origin: dict[int, int | None] = {}  # id(tensor) -> index of the event that produced it
        self.alive: list = []  # keep traced tensors alive, so their ids stay unique
        self.views: dict[int, int] = {}  # id(5-D view) -> groups, for shuffle detection

    def _source(self, tensor) -> int | None:
        return self.origin.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (tnn.functional.batch_norm, torch.batch_norm) and args[0].device.type == "meta":
            out = torch.empty_like(args[0])  # the same shape; skips torch's slow meta decomposition of BN
        else:
            out = func(*args, **kwargs)
        first = next((t for t in _tensors(args) if isinstance(t, torch.Tensor)), None)
        source = self._source(first)
        name = self.stack[-1]
        event = None
        if func in (torch.conv2d, tnn.functional.conv2d):
            x, w = args[0], args[1]
            params = dict(zip(("bias", "stride", "padding", "dilation", "groups"), args[2:], strict=False))
            params.update(kwargs)
            event = {"kind": "conv", "input": tuple(x.shape), "weight": tuple(w.shape), **params}
        elif func in (tnn.functional.linear, torch._C._nn.linear):
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            event = {
                "kind": "linear",
                "input": tuple(args[0].shape),
                "weight": tuple(args[1].shape),
                "bias": bias,
            }
        elif func in (tnn.functional.batch_norm, torch.batch_norm):
            weight = args[3] if func is tnn.functional.batch_norm and len(args) > 3 else kwargs.get("weight")
            if func is torch.batch_norm:
                weight = args[1] if len(args) > 1 else kwargs.get("weight")
            event = {"kind": "bn", "input": tuple(args[0].shape), "affine": weight is not None}
        elif func in POOLS:
            event = {"kind": "pool", "input": tuple(args[0].shape), "op": POOLS[func]}
        elif func in ACTIVATIONS and first is not None:
            event = {"kind": "act", "input": tuple(first.shape), "op": ACTIVATIONS[func]}
        elif func in NORMS and first is not None:
            at = {"layer_norm": 2, "group_norm": 2, "instance_norm": 3}[NORMS[func]]  # the weight argument
            weight = args[at] if len(args) > at else kwargs.get("weight")
            event = {
                "kind": "norm",
                "input": tuple(first.shape),
                "op": NORMS[func],
                "affine": weight is not None,
            }
        elif func in (torch.Tensor.view, torch.Tensor.reshape, torch.reshape) and first is not None:
            shape = tuple(out.shape)
            if first.dim() == 4 and len(shape) == 5 and shape[1] * shape[2] == first.shape[1]:
                self.views[id(out)] = shape[1]
        elif func in (torch.Tensor.transpose, torch.transpose) and id(first) in self.views:
            dims = sorted(int(a) % 5 for a in args[1:3])
            if dims == [1, 2]:
                b, g, per, h, w = first.shape
                event = {"kind": "shuffle", "input": (b, g * per, h, w), "groups": self.views[id(first)]}
        elif func in (
            torch.add,
            torch.Tensor.add,
            torch.Tensor.__add__,
            torch.Tensor.add_,
            torch.Tensor.__iadd__,
        ):
            tensors = [a for a in args if isinstance(a, torch.Tensor)]
            if len(tensors) == 2 and tensors[0].shape == tensors[1].shape and tensors[0].dim() == 4:
                event = {
                    "kind": "add",
                    "input": tuple(tensors[0].shape),
                    "sources": [self._source(t) for t in tensors],
                    "call": func is torch.add or (func is torch.Tensor.add and not _written_as_operator()),
                }
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if event is not None:
            event.update(name=name, source=source)
            event.setdefault("output", event["input"] if event["kind"] == "shuffle" else tuple(outs[0].shape))
            self.events.append(event)
            mark = len(self.events) - 1 if event["kind"] in ("conv", "linear", "shuffle") else source
        else:
            mark = source
        for o in outs:
            if isinstance(o, torch.Tensor):
                self.alive.append(o)
                self.origin[id(o)] = mark
                if id(first) in self.views and id(o) not in self.views and event is None and o.dim() == 5:
                    self.views[id(o)] = self.views[id(first)]  # .contiguous() of the split view
        return out


def _trace(model: tnn.Module, shape: tuple, device: str) -> list[dict]:
    recorder = _Recorder()

    def enter(name):
        def hook(module, args):
            recorder.stack.append(name)

        return hook

    def leave(module, args, output):
        recorder.stack.pop()

    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(enter(name)))
        handles.append(module.register_forward_hook(leave))
    try:
        if device == "meta":
            state = {k: torch.empty_like(v, device="meta") for k, v in model.named_parameters()}
            state |= {k: torch.empty_like(v, device="meta") for k, v in model.named_buffers()}
            x = torch.zeros(shape, device="meta")
            with recorder, torch.no_grad():
                torch.func.functional_call(model, state, (x,), strict=False, tie_weights=True)
        else:
            with recorder, torch.no_grad():
                model(torch.zeros(shape))
    finally:
        for h in handles:
            h.remove()
    return recorder.events


def trace(model: tnn.Module, shape: tuple) -> tuple[list[dict], str]:
    """The recorded events of one forward pass (on meta tensors, else on zeros) and which it was."""
    try:
        return _trace(model, shape, "meta"), "meta"
    except Exception:  # a forward that needs real values: run it once on zeros
        try:
            return _trace(model, shape, "cpu"), "zeros"
        except Exception as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SkanalyzeError(
                f"the model rejects an input of shape {'x'.join(map(str, shape))}: {text}"
            ) from None


# -- layers and units ------------------------------------------------------------------------------------
def _layers(model: tnn.Module, events: list[dict]) -> tuple[list[Layer], list[tuple[str, int]]]:
    modules = dict(model.named_modules())
    counted: set[int] = set()  # ids of the parameters the layers count
    seen: set[int] = set()  # modules whose parameters are counted (a shared module runs twice)
    layers: list[Layer] = []
    index_of: dict[int, int] = {}
    for i, ev in enumerate(events):
        module = modules.get(ev["name"])
        own = list(module.parameters(recurse=False)) if module is not None else []
        if ev["kind"] == "conv":
            c_out, c_in_g, kh, kw = ev["weight"]
            groups = int(ev.get("groups", 1))
            c_in = c_in_g * groups
            kernel = conv_kernel(
                c_in,
                c_out,
                (kh, kw),
                _pair(ev.get("stride", 1)),
                _pair(ev.get("padding", 0)),
                _pair(ev.get("dilation", 1)),
                groups,
            )
            positions = ev["output"][0] * ev["output"][2] * ev["output"][3]
            if kernel is not None:
                weights = int(kernel.params(c_in, c_out))
                macs = int(kernel.macs_per_position(c_in, c_out)) * positions
                notation = kernel.notation()
            else:
                weights = c_out * c_in_g * kh * kw
                macs = weights * positions
                notation = f"conv {kh}x{kw} (not in the notation)"
            bias = c_out if ev.get("bias") is not None else 0
            lay = Layer(
                ev["name"], "conv", notation, ev["input"], ev["output"], weights + bias, macs, kernel, bias
            )
            lay.detail = {"bias": bool(bias), "groups": groups, "kh": kh, "kw": kw}
        elif ev["kind"] == "linear":
            f_out, f_in = ev["weight"]
            rows = 1
            for d in ev["input"][:-1]:
                rows *= d
            has_bias = ev.get("bias") is not None
            lay = Layer(
                ev["name"],
                "linear",
                f"FC({f_in}->{f_out})",
                ev["input"],
                ev["output"],
                f_in * f_out + (f_out if has_bias else 0),
                f_in * f_out * rows,
                bias=f_out if has_bias else 0,
            )
            lay.detail = {"bias": has_bias}
        elif ev["kind"] == "bn":
            lay = Layer(ev["name"], "bn", "BN", ev["input"], ev["output"], sum(p.numel() for p in own), 0)
            lay.detail = {
                "affine": ev["affine"],
                "module": isinstance(module, (tnn.BatchNorm1d, tnn.BatchNorm2d, tnn.BatchNorm3d)),
            }
        elif ev["kind"] == "pool":
            lay = Layer(ev["name"], "pool", ev["op"], ev["input"], ev["output"], 0, 0)
            lay.detail = {"op": ev["op"], "module": isinstance(module, POOL_MODULES[ev["op"]])}
        elif ev["kind"] == "shuffle":
            g = ev["groups"]
            lay = Layer(ev["name"], "shuffle", f"Shuffle({g})", ev["input"], ev["output"], 0, 0, Shuffle(g=g))
        elif ev["kind"] in ("act", "norm"):
            lay = Layer(ev["name"], ev["kind"], ev["op"], ev["input"], ev["output"], 0, 0)
            lay.detail = {"op": ev["op"], "affine": ev.get("affine")}
        else:  # add
            lay = Layer(ev["name"], "add", "add", ev["input"], ev["output"], 0, 0)
            lay.detail = {"call": ev["call"]}
        lay.detail["module_type"] = type(module) if module is not None else None
        lay.detail["affine_attribute"] = bool(getattr(module, "affine", False))  # what ptflops reads
        if ev["kind"] in ("conv", "linear", "bn"):
            if module is None or id(module) in seen:  # a shared module run again: its parameters count once
                lay.params, lay.bias = 0, 0
            else:
                seen.add(id(module))
                counted |= {id(p) for p in module.parameters(recurse=False)}
        lay.source = index_of.get(ev["source"]) if ev["source"] is not None else None
        lay.index = len(layers)
        index_of[i] = lay.index
        layers.append(lay)
    unmodelled = []
    for name, module in model.named_modules():
        rest = [p for p in module.parameters(recurse=False) if id(p) not in counted]
        if rest:
            unmodelled.append((name or "(the model)", sum(p.numel() for p in rest)))
            counted |= {id(p) for p in rest}
    return layers, unmodelled


def _block_of(name: str, modules: dict, counts: dict) -> str | None:
    """The deepest ancestor (not a container, not the model) with two or more kernel layers."""
    parts = name.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:depth])
        if counts.get(prefix, 0) >= 2 and not isinstance(modules.get(prefix), CONTAINERS):
            return prefix
    return None


def _design_for(kernels: list[Kernel], widths: list[tuple[int, int]]) -> tuple[Design | None, dict]:
    """A design in the notation whose channel plan reproduces the traced widths (None if none does)."""
    c_in, c_out = widths[0][0], widths[-1][1]
    inner = sorted({w for pair in widths for w in pair} - {c_in, c_out}) or [c_out]
    for plan in PLANS:
        for k in inner:
            for shuffles in ("auto", "none"):  # auto (the default) when it inserts no shuffle the model lacks
                try:
                    design = Design(tuple(kernels), bottleneck=sp.Integer(k), plan=plan, shuffles=shuffles)
                    values = {S.C: c_in, S.F: c_out}
                    if design.uses_bottleneck:
                        values[S.K] = k
                    got = [(int(lay.c_in), int(lay.c_out)) for lay in design.at(values)]
                except SkanalyzeError:
                    continue
                if got == widths and len(design.layers) == len(kernels):
                    return design, values
    return None, {}


def _units(model: tnn.Module, layers: list[Layer]) -> list[Unit]:
    modules = dict(model.named_modules())
    kernels = [lay for lay in layers if lay.kernel is not None]
    counts: dict[str, int] = {}
    for lay in kernels:
        parts = lay.name.split(".")
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            counts[prefix] = counts.get(prefix, 0) + 1
    groups: dict[str, list[Layer]] = {}
    for lay in kernels:
        block = _block_of(lay.name, modules, counts) or lay.name
        groups.setdefault(block, []).append(lay)
    # the data path of each layer: which recorded kernel layer feeds it (through BN, activations, ...)
    feeds: dict[int, int | None] = {}
    for lay in layers:
        src = lay.source
        while src is not None and layers[src].kernel is None and layers[src].kind != "linear":
            src = layers[src].source
        feeds[lay.index] = src
    units = []
    for block, members in groups.items():
        chain, rest = [members[0]], []
        for lay in members[1:]:
            (chain if feeds[lay.index] == chain[-1].index else rest).append(lay)
        adds = [
            lay
            for lay in layers
            if lay.kind == "add" and (lay.name == block or lay.name.startswith(block + "."))
        ]
        units.append(_unit(block, chain, residual=bool(adds)))
        for lay in rest:
            units.append(_unit(f"{block} (shortcut)", [lay], shortcut=True))
    return units


@lru_cache(maxsize=1024)
def _reading(
    kernels: tuple[Kernel, ...], widths: tuple[tuple[int, int], ...]
) -> tuple[str | None, tuple | None, str]:
    """(notation, field, note) of a chain of kernels at traced widths; cached, as blocks repeat."""
    design, values = _design_for(list(kernels), list(widths))
    if design is None:
        return None, None, "no channel plan of the notation reproduces these widths"
    try:
        return design.notation, tuple(int(e) for e in info_field(design, values).as_tuple()), ""
    except (SkanalyzeError, TypeError):
        return design.notation, None, "field not exact at these sizes"


def _unit(name: str, chain: list[Layer], residual: bool = False, shortcut: bool = False) -> Unit:
    widths = [(lay.in_shape[1], lay.out_shape[1]) for lay in chain]
    unit = Unit(
        name,
        "+".join(lay.kernel.notation() for lay in chain),
        [lay.index for lay in chain],
        widths[0][0],
        widths[-1][1],
        residual,
        shortcut,
    )
    for lay in chain:
        lay.unit = name
    notation, unit.field, unit.note = _reading(tuple(lay.kernel for lay in chain), tuple(widths))
    unit.notation = notation or unit.notation
    return unit


def is_module(obj) -> bool:
    """Whether obj is a torch nn.Module."""
    return isinstance(obj, tnn.Module)


def from_module(model: tnn.Module, input_size=(1, 3, 224, 224)) -> Model:
    """Trace a model and read it in the notation: layers, units, unmodelled parameters, exact totals."""
    if not isinstance(model, tnn.Module):
        raise SkanalyzeError(f"expected a torch nn.Module, got {type(model).__name__}")
    shape = tuple(int(d) for d in input_size)
    if len(shape) != 4 or any(d <= 0 for d in shape):
        raise SkanalyzeError(
            f"input size {input_size!r} must be 4 positive integers N x C x H x W, e.g. 1x3x224x224"
        )
    events, how = trace(model, shape)
    layers, unmodelled = _layers(model, events)
    if not any(lay.kind == "conv" for lay in layers):
        raise SkanalyzeError(
            f"{type(model).__name__} has no convolution to analyse (skanalyze reads Conv2d models)"
        )
    return Model(shape, layers, _units(model, layers), unmodelled, how)


# -- other counters' conventions -----------------------------------------------------------------------
CONVENTIONS = ("skanalyze", "torch", "fvcore", "ptflops", "ptflops-aten", "thop")
# ptflops' default backend ("pytorch"): forward hooks on modules of exactly these types ...
PTFLOPS_ACT_MODULES = (tnn.ReLU, tnn.PReLU, tnn.ELU, tnn.LeakyReLU, tnn.ReLU6, tnn.GELU)
PTFLOPS_POOL_MODULES = (tnn.MaxPool2d, tnn.AvgPool2d, tnn.AdaptiveMaxPool2d, tnn.AdaptiveAvgPool2d)
PTFLOPS_NORM_MODULES = (
    tnn.BatchNorm1d,
    tnn.BatchNorm2d,
    tnn.BatchNorm3d,
    tnn.InstanceNorm2d,
    tnn.GroupNorm,
    tnn.LayerNorm,
)
# ... plus these functions, patched in torch.nn.functional (so also when a module's forward calls them)
PTFLOPS_FUNCTIONS = {"relu", "relu6", "elu", "gelu", "silu", "prelu", "softmax"}


def _numel(shape) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


def convention(model: Model, name: str) -> dict:
    """Another counter's total on this model, rebuilt from the traced layers line by line, with what it counts.

    torch: FlopCounterMode (2 FLOPs per MAC of convs and matmuls); fvcore: FlopCountAnalysis in eval mode
    (1 per MAC, plus BN and adaptive average pooling); ptflops: get_model_complexity_info with its default
    backend "pytorch" (module hooks plus patched functions, see _ptflops_pytorch); ptflops-aten: the same with
    backend="aten" (MACs of convs and matmuls plus their biases); thop: profile (MACs of conv and linear modules, plus BN and
    average-pooling modules; functional calls are not seen)."""
    if name not in CONVENTIONS:
        raise SkanalyzeError(f"convention {name!r} is unknown; valid: {', '.join(CONVENTIONS)}")
    layers = model.layers
    conv = sum(lay.macs for lay in layers if lay.kind == "conv")
    fc = sum(lay.macs for lay in layers if lay.kind == "linear")
    bn = [lay for lay in layers if lay.kind == "bn"]
    pools = [lay for lay in layers if lay.kind == "pool"]
    lines: list[tuple[str, int, str]] = []
    if name == "skanalyze":
        unit = "MACs"
        lines += [("conv", conv, "multiply-accumulates, bias-free"), ("FC", fc, "multiply-accumulates")]
    elif name == "torch":
        unit = "FLOPs"
        lines += [("conv", 2 * conv, "2 per MAC; bias adds not counted"), ("FC", 2 * fc, "2 per MAC (addmm)")]
    elif name == "fvcore":
        unit = "flops (1 per MAC)"
        lines += [("conv", conv, "1 per MAC; bias not counted"), ("FC", fc, "1 per MAC; bias not counted")]
        bn_count = sum(_numel(lay.in_shape) * (2 if lay.detail.get("affine") else 1) for lay in bn)
        lines.append(("BN", bn_count, "eval mode: 1 per input element, 2 with an affine weight"))
        pooled = sum(_numel(lay.in_shape) for lay in pools if lay.detail["op"] == "adaptive_avg_pool2d")
        lines.append(("adaptive avg pool", pooled, "1 per input element (other pools, ReLU, additions: 0)"))
        norms = sum(
            _numel(lay.in_shape) * (5 if lay.detail["affine"] else 4) for lay in layers if lay.kind == "norm"
        )
        if norms:
            lines.append(("layer/group/instance norm", norms, "5 per input element with a weight, 4 without"))
    elif name == "ptflops":
        unit = "MACs"
        lines += _ptflops_pytorch(model)
    elif name == "ptflops-aten":
        unit = "MACs"
        conv_bias = sum(_numel(lay.out_shape) for lay in layers if lay.kind == "conv" and lay.detail["bias"])
        fc_bias = sum(_numel(lay.out_shape) for lay in layers if lay.kind == "linear" and lay.detail["bias"])
        lines += [
            ("conv", conv, "MACs (backend aten)"),
            ("conv bias", conv_bias, "1 per output element of a biased conv"),
            ("FC", fc, "MACs"),
            ("FC bias", fc_bias, "1 per output element"),
        ]
    else:  # thop
        unit = "MACs"
        lines += [
            ("conv", conv, "MACs of Conv2d modules; bias not counted"),
            ("FC", fc, "MACs; bias not counted"),
        ]
        bn_count = sum(
            2 * _numel(lay.in_shape) * (2 if lay.detail.get("affine") else 1)
            for lay in bn
            if lay.detail.get("module")
        )
        lines.append(("BN", bn_count, "2 per element, 4 with an affine weight (BatchNorm modules)"))
        norms = sum(
            2 * _numel(lay.in_shape) * (2 if lay.detail["affine"] else 1)
            for lay in layers
            if lay.kind == "norm" and lay.detail["module_type"] in (tnn.LayerNorm, tnn.InstanceNorm2d)
        )
        if norms:
            lines.append(("LayerNorm/InstanceNorm", norms, "as BN (modules; GroupNorm: 0)"))
        adaptive = 0
        for lay in pools:
            if lay.detail["op"] == "adaptive_avg_pool2d" and lay.detail["module"]:
                window = (lay.in_shape[2] // lay.out_shape[2]) * (lay.in_shape[3] // lay.out_shape[3])
                adaptive += (window + 1) * _numel(lay.out_shape)
        lines.append(
            ("adaptive avg pool", adaptive, "window + 1 per output element (AdaptiveAvgPool2d modules)")
        )
        avg = sum(
            _numel(lay.out_shape)
            for lay in pools
            if lay.detail["op"] == "avg_pool2d" and lay.detail["module"]
        )
        lines.append(
            ("avg pool", avg, "1 per output element (AvgPool2d modules; functional pools, max pool, ReLU: 0)")
        )
    return {
        "convention": name,
        "unit": unit,
        "total": sum(count for _, count, _ in lines),
        "params": model.params,
        "lines": [{"what": w, "count": c, "rule": r} for w, c, r in lines],
    }


def _ptflops_pytorch(model: Model) -> list[tuple[str, int, str]]:
    """ptflops' default backend, line by line: module hooks by exact type (per image) plus patched functions."""
    n = model.input_size[0]

    def exact(lay, *types):
        return lay.detail.get("module_type") in types

    conv = fc = act_mod = pool_mod = norm_mod = 0
    functional = 0
    adds = 0
    for lay in model.layers:
        if lay.kind == "conv" and exact(lay, tnn.Conv2d):
            conv += lay.macs + (_numel(lay.out_shape) if lay.detail["bias"] else 0)
        elif lay.kind == "linear" and exact(lay, tnn.Linear):
            fc += lay.macs + (_numel(lay.out_shape) if lay.detail["bias"] else 0)
        elif lay.kind == "act":
            if exact(lay, *PTFLOPS_ACT_MODULES):
                act_mod += _numel(lay.out_shape)
            if lay.detail["op"] in PTFLOPS_FUNCTIONS:
                functional += _numel(lay.in_shape)
        elif lay.kind == "pool":
            if exact(lay, *PTFLOPS_POOL_MODULES):
                pool_mod += _numel(lay.in_shape)
            functional += _numel(lay.in_shape)  # every torch.nn.functional pool is patched
        elif lay.kind in ("bn", "norm") and exact(lay, *PTFLOPS_NORM_MODULES):
            norm_mod += _numel(lay.in_shape) * (2 if lay.detail["affine_attribute"] else 1)
        elif lay.kind == "add" and lay.detail.get("call"):
            adds += _numel(lay.in_shape)
    per_image = "per image (ptflops divides its module hooks by the batch)"
    return [
        (
            "conv",
            conv // n,
            f"Conv2d modules (exact type): MACs + 1 per output element of a bias; {per_image}",
        ),
        ("FC", fc // n, "Linear modules: MACs + bias; functional convs and linears: 0"),
        (
            "activation modules",
            act_mod // n,
            "ReLU, PReLU, ELU, LeakyReLU, ReLU6, GELU modules: 1 per output element",
        ),
        ("pool modules", pool_mod // n, "pooling modules: 1 per input element"),
        (
            "norm modules",
            norm_mod // n,
            "BatchNorm, InstanceNorm, GroupNorm, LayerNorm: 1 per input element, 2 if affine",
        ),
        (
            "patched functions",
            functional + adds,
            "F.relu/relu6/elu/gelu/silu/prelu/softmax and every F pool: 1 per input element, also when a module "
            "calls them (nn.ReLU counts twice, nn.ReLU6 once: it runs hardtanh); torch.add and Tensor.add: 1 "
            "per element (the + operator: 0); whole batch",
        ),
    ]


# -- closed forms of the whole model ----------------------------------------------------------------------
@dataclass
class ClosedForms:
    """Params in the width multiplier alpha_w and MACs in alpha_w and the input size H_in x W_in."""

    params: sp.Expr
    macs: sp.Expr | None  # None: some layer's output size is not proportional to the input (see note)
    stride: int  # H_in and W_in must be multiples of it for the MACs form
    base: int  # alpha_w * (every scaled channel count) is an integer exactly when alpha_w is a multiple of 1/base
    groups: tuple  # (group number, channel counts at alpha_w = 1 it must divide) of the fixed-group layers
    note: str = ""


def _scaled(model: Model) -> tuple[set[int], set[int]]:
    """Indices of the layers whose input / output channels stay fixed under a width multiplier: what reads
    the image keeps its input channels, the last FC keeps its outputs (the classes)."""
    fixed_in = {lay.index for lay in model.layers if lay.source is None}
    linears = [lay.index for lay in model.layers if lay.kind == "linear"]
    return fixed_in, set(linears[-1:])


def closed_forms(model: Model, module: tnn.Module | None = None) -> ClosedForms:
    """Exact expressions of the traced model: every channel count (but the image's and the classes) times
    alpha_w, group numbers of grouped convs and shuffles fixed, depthwise groups = channels; MACs at an
    input H_in x W_in, from a second trace at twice the input size (``module`` is needed for it)."""
    a, h, w = S.alpha_w, S.H_in, S.W_in
    fixed_in, fixed_out = _scaled(model)
    n, _, h0, w0 = model.input_size
    second = None
    note = ""
    if module is not None:
        try:
            second, _ = trace(module, (n, model.input_size[1], 2 * h0, 2 * w0))
        except SkanalyzeError as err:
            note = f"no second trace at twice the input: {err}"
    params = sp.Integer(sum(p for _, p in model.unmodelled))
    macs = sp.Integer(0)
    strides: list[int] = []
    counts: list[int] = []
    group_rules: list[tuple[int, tuple[int, ...]]] = []
    resolution_ok = second is not None and len(second) == len(model.layers)
    for lay in model.layers:
        c_in, c_out = (lay.in_shape[1], lay.out_shape[-1] if lay.kind == "linear" else lay.out_shape[1])
        if lay.kind == "linear":
            c_in = lay.in_shape[-1]
        ci = sp.Integer(c_in) if lay.index in fixed_in else a * c_in
        co = sp.Integer(c_out) if lay.index in fixed_out else a * c_out
        counts += [
            c for c, fixed in ((c_in, lay.index in fixed_in), (c_out, lay.index in fixed_out)) if not fixed
        ]
        positions = sp.Integer(1)
        if lay.kind in ("conv", "linear") and resolution_ok:
            other = second[lay.index]["output"]
            mine = lay.out_shape
            if lay.kind == "conv":
                hh, ww = mine[2], mine[3]
                if other[2] == 2 * hh and other[3] == 2 * ww and h0 % hh == 0 and w0 % ww == 0:
                    positions = n * (h / (h0 // hh)) * (w / (w0 // ww))
                    strides += [h0 // hh, w0 // ww]
                elif tuple(other[2:]) == tuple(mine[2:]):
                    positions = sp.Integer(n * hh * ww)
                else:
                    resolution_ok = False
                    note = f"the output of {lay.name or 'a layer'} is not proportional to the input size"
            else:
                rows = _numel(mine[:-1])
                if _numel(other[:-1]) != rows:
                    resolution_ok = False
                    note = f"the rows of {lay.name or 'a linear layer'} change with the input size"
                positions = sp.Integer(rows)
        if lay.kind == "conv":
            g = lay.detail["groups"]
            depthwise = g == c_in and g > 1
            groups = ci if depthwise else sp.Integer(g)
            if g > 1 and not depthwise:
                group_rules.append(
                    (g, tuple(c for c, f in ((c_in, lay.index in fixed_in), (c_out, False)) if not f))
                )
            weights = co * (ci / groups) * lay.detail["kh"] * lay.detail["kw"]
            if lay.params:  # a shared module's second call adds no parameters
                params += weights + (co if lay.detail["bias"] else 0)
            macs += weights * positions
        elif lay.kind == "linear":
            if lay.params:
                params += ci * co + (co if lay.bias else 0)
            macs += ci * co * positions
        elif lay.kind == "bn" and lay.params:
            params += 2 * (sp.Integer(c_in) if lay.index in fixed_in else a * c_in)
        elif lay.kind == "shuffle":
            group_rules.append((int(lay.kernel.g), (c_in,)))
    base = 0
    for c in counts:
        base = math.gcd(base, c)
    stride = 1
    for r in strides:
        stride = math.lcm(stride, r)
    return ClosedForms(
        sp.expand(params),
        sp.expand(macs) if resolution_ok else None,
        stride,
        base or 1,
        tuple(dict.fromkeys(group_rules)),
        note,
    )


def widest_multiplier(forms: ClosedForms, budget: int, cost_expr: sp.Expr | None = None) -> Fraction | None:
    """The greatest alpha_w (a multiple of 1/base, so every channel count is an integer, and every fixed group
    number divides what it splits) whose parameters (or ``cost_expr``, an expression in alpha_w that rises
    with it, e.g. the MACs at one input size) are at most the budget; exact. None if none fits."""
    poly = sp.Poly(forms.params if cost_expr is None else cost_expr, S.alpha_w)

    def cost(j: int) -> Fraction:
        value = poly.eval(sp.Rational(j, forms.base))
        return Fraction(int(value.p), int(value.q))

    def buildable(j: int) -> bool:
        return all((j * c) % (forms.base * g) == 0 for g, channels in forms.groups for c in channels)

    if cost(1) > budget:
        return None
    lo, hi = 1, 2
    while cost(hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # cost rises with alpha_w: the last j that fits
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid)
    for j in range(lo, 0, -1):
        if buildable(j):
            return Fraction(j, forms.base)
    return None


def closed_form_report(
    forms: ClosedForms,
    model: Model,
    budget: int | None = None,
    resolution: tuple | None = None,
    macs: bool = False,
) -> dict:
    """`skanalyze model --closed-form`: the forms, their conditions, and the answers asked for."""
    out = {
        "params": forms.params,
        "macs": forms.macs,
        "input_multiple_of": forms.stride,
        "alpha_w_step": sp.Rational(1, forms.base),
        "fixed_groups": [{"groups": g, "channels": list(c)} for g, c in forms.groups],
        "note": forms.note,
        "rule": "every channel count times alpha_w, except the image's channels and the classes; group numbers "
        "of grouped convs and shuffles fixed, depthwise groups = channels; no rounding (alpha_w a multiple "
        f"of 1/{forms.base} keeps every channel count an integer)",
    }
    if resolution is not None:
        h, w = resolution
        if forms.macs is None:
            raise SkanalyzeError(f"no closed form of the MACs in the input size: {forms.note}")
        if h % forms.stride or w % forms.stride:
            raise SkanalyzeError(
                f"--resolution {h}x{w}: the MACs form holds for inputs that are multiples of {forms.stride}"
            )
        out["macs_at"] = {"resolution": [h, w], "macs": forms.macs.subs({S.alpha_w: 1, S.H_in: h, S.W_in: w})}
    if budget is not None:
        what = "parameters"
        cost = None
        if macs:
            if forms.macs is None:
                raise SkanalyzeError(f"a MACs budget needs a closed form of the MACs: {forms.note}")
            h, w = resolution or model.input_size[2:]
            cost, what = forms.macs.subs({S.H_in: h, S.W_in: w}), f"MACs at {h}x{w}"
        best = widest_multiplier(forms, budget, cost)
        if best is None:
            raise SkanalyzeError(
                f"no width multiplier fits a budget of {budget} {what} (alpha_w = 1/{forms.base} needs more)"
            )
        value = sp.Rational(best.numerator, best.denominator)
        out["widest"] = {
            "budget": budget,
            "objective": what,
            "alpha_w": value,
            "params": forms.params.subs(S.alpha_w, value),
        }
        if cost is not None:
            out["widest"]["macs"] = cost.subs(S.alpha_w, value)
    return out


def own_width_rule(
    factory,
    arg: str,
    input_size: tuple,
    budget: int,
    *,
    macs: bool = False,
    step: Fraction = Fraction(1, 100),
    label: str = "factory",
) -> dict:
    """The widest width on a grid of ``step`` whose model, built by the factory's own rule
    (``factory(**{arg: width})``, its rounding included), fits the budget of params (or MACs at the input);
    each candidate is built on the meta device and traced, so its counts are exact. Assumes the counts rise
    with the width, and checks it at every width visited."""
    seen: dict[int, tuple[int, int]] = {}

    def counts(j: int) -> tuple[int, int]:
        if j not in seen:
            width = float(j * step)  # what the factory's own argument usually is
            try:
                with torch.device("meta"):
                    module = factory(**{arg: width})
            except Exception as err:
                text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise SkanalyzeError(
                    f"{label}({arg}={width:g}) failed: {type(err).__name__}: {text} (a coarser --width-step?)"
                ) from None
            if not isinstance(module, tnn.Module):
                raise SkanalyzeError(
                    f"{label}({arg}={width:g}) returned a {type(module).__name__}, not an nn.Module"
                )
            traced = from_module(module, input_size)
            seen[j] = (traced.params, traced.macs)
            ordered = [seen[k][1 if macs else 0] for k in sorted(seen)]
            if any(a > b for a, b in zip(ordered, ordered[1:], strict=False)):
                raise SkanalyzeError(
                    f"{label}: the {'MACs' if macs else 'parameters'} do not rise with {arg} "
                    f"(widths {', '.join(f'{float(k * step):g}' for k in sorted(seen))}); no widest width to search for"
                )
        return seen[j]

    def cost(j: int) -> int:
        return counts(j)[1 if macs else 0]

    what = f"MACs at {input_size[2]}x{input_size[3]}" if macs else "parameters"
    if cost(1) > budget:
        raise SkanalyzeError(
            f"no {arg} on the grid of {step} fits {budget:,} {what} ({arg}={float(step):g} needs more)"
        )
    lo, hi = 1, int(1 / step)
    while cost(hi) <= budget:
        lo, hi = hi, 2 * hi
        if hi * step > 64:
            raise SkanalyzeError(f"a budget of {budget:,} {what} fits {arg} > 32; give a smaller budget")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid)
    return {
        "rule": f"{label}({arg}=width): the model's own width rule (its rounding included), traced at each width; "
        f"widths on a grid of {step}",
        "budget": budget,
        "objective": what,
        "width": sp.Rational(lo) * sp.Rational(step.numerator, step.denominator),
        "params": counts(lo)[0],
        "macs": counts(lo)[1],
        "next": {
            "width": sp.Rational(hi) * sp.Rational(step.numerator, step.denominator),
            "params": counts(hi)[0],
            "macs": counts(hi)[1],
        },
        "traced": len(seen),
    }


# -- how to make it efficient ------------------------------------------------------------------------------
def replacement_at(design: Design, c_in: int, c_out: int) -> dict | None:
    """A design in place of a unit C -> F at equal width: its cheapest buildable values with a full field
    (``symbols``: symbol -> integer; ``values``: the same by name), params and field; None if none builds."""
    values = {S.C: sp.Integer(c_in), S.F: sp.Integer(c_out)}
    if design.uses_bottleneck:
        k = design.bottleneck.subs(values)
        if not (k.is_Integer and k > 0):
            return None
        values[S.K] = k
    if design.group_symbols:
        ranked = ranked_at(design, c_in, c_out, top=1)
        if not ranked:
            return None
        values = dict(ranked[0].values)
    else:
        try:
            design.validate(values)
        except SkanalyzeError:
            return None
    f = info_field(design, values)
    return {
        "symbols": {k: sp.Integer(v) for k, v in values.items()},
        "values": {str(k): int(v) for k, v in values.items()},
        "params": params_at(design, values),
        "field": [int(e) for e in f.as_tuple()],
        "full": int(f.c) == c_in,
    }


def spatial_units(model: Model) -> list[Unit]:
    """The units a design may replace: those with a spatial kernel, but not shortcuts or the stem (it reads
    the image)."""
    return [
        unit
        for unit in model.units
        if not unit.shortcut
        and any(model.layers[i].kernel.spatial for i in unit.layers)
        and model.layers[unit.layers[0]].source is not None
    ]


def suggest(model: Model, designs: tuple[str, ...] = PAPER) -> list[dict]:
    """For every unit with a spatial kernel (not a shortcut, not the stem): its weights and their ratio to one
    standard 3x3 conv C -> F, and each paper design as one unit C -> F in its place: at equal width (its
    cheapest buildable group numbers with a full field, the params saved, its field) and at equal params
    (the widest buildable C at the unit's F/C). Biases and BN are left out of both sides."""
    out = []
    for unit in spatial_units(model):
        weights = sum(model.layers[i].params - model.layers[i].bias for i in unit.layers)
        standard = 9 * unit.c_in * unit.c_out
        row = {
            "unit": unit.name,
            "design": unit.notation,
            "c_in": unit.c_in,
            "c_out": unit.c_out,
            "params": weights,
            "param_ratio": sp.Rational(weights, standard),
            "replacements": [],
        }
        for name in designs:
            design = resolve(name)
            rep = replacement_at(design, unit.c_in, unit.c_out)
            if rep is None:
                continue
            del rep["symbols"]
            rep["design"] = design.notation
            rep["saved"] = weights - rep["params"]
            try:
                opt = optimize(design, weights, Fraction(unit.c_out, unit.c_in))
                rep["width_at_equal_params"] = int(opt.buildable.values[S.C])
                rep["at_equal_params"] = {str(k): int(v) for k, v in opt.buildable.values.items()}
            except SkanalyzeError:
                rep["width_at_equal_params"], rep["at_equal_params"] = None, None
            row["replacements"].append(rep)
        row["replacements"].sort(key=lambda r: (not r["full"], r["params"]))
        out.append(row)
    return out


def _shape(shape: tuple) -> str:
    return "x".join(map(str, shape))


def report(model: Model, label: str = "model", conventions: tuple[str, ...] = ()) -> dict:
    """`skanalyze model`: the traced model as data (layers, units, unmodelled parameters, totals, and
    other counters' totals rebuilt line by line when asked)."""
    total_macs = model.macs or 1
    return {
        "conventions": [convention(model, name) for name in conventions],
        "model": label,
        "input": list(model.input_size),
        "traced_on": model.traced_on,
        "layers": [
            {
                "name": lay.name,
                "kind": lay.kind,
                "notation": lay.notation,
                "input": list(lay.in_shape),
                "output": list(lay.out_shape),
                "params": lay.params,
                "bias": lay.bias,
                "macs": lay.macs,
                "macs_share": lay.macs / total_macs,
                "unit": lay.unit,
            }
            for lay in model.layers
            if lay.kind not in ("add", "act", "norm")
        ],
        "units": [
            {
                "name": u.name,
                "design": u.notation,
                "layers": [model.layers[i].name for i in u.layers],
                "c_in": u.c_in,
                "c_out": u.c_out,
                "residual": u.residual,
                "shortcut_branch": u.shortcut,  # on a block's shortcut (not the layout's shortcut kind)
                "field": list(u.field) if u.field else None,
                "note": u.note,
            }
            for u in model.units
        ],
        "unmodelled": [{"name": name, "params": count} for name, count in model.unmodelled],
        "totals": {"params": model.params, "macs": model.macs, "flops": 2 * model.macs},
        "convention": (
            "params: every parameter (conv and FC weights and biases, BN, anything unmodelled) = sum(p.numel()); "
            "MACs: convolutions and FC layers for this input, batch included; FLOPs = 2 x MACs"
        ),
    }


__all__ = [
    "Layer",
    "Unit",
    "Model",
    "conv_kernel",
    "trace",
    "from_module",
    "report",
    "convention",
    "CONVENTIONS",
    "suggest",
    "spatial_units",
    "replacement_at",
    "closed_forms",
    "closed_form_report",
    "widest_multiplier",
    "own_width_rule",
    "is_module",
]
