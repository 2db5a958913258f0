"""Layers and units, the second room of the importer: a trace read in the notation, every parameter once.

Each recorded call becomes a ``Layer``; a 2-D conv becomes a kernel of the notation (groups = 1, 1x1: PW;
groups = 1: Conv; groups = C_in = C_out: DW; 1x1 grouped: PWGConv(g); grouped: GConv(g)). Matrix products
(linear layers, matmul, bmm, einsum) and scaled dot-product attention are layers too, so a transformer's
MACs are all there. Parameters are attributed by tensor identity: a layer owns the parameters it consumed
(a weight used functionally belongs to the layer that uses it, a tied weight to its first user); a weight
computed from parameters (standardised, scaled, a slice of a packed one) brings them to the layer that uses
it, followed through the trace; a weight held in a buffer is no parameter. What no layer consumed is listed by module, never dropped, so
the total is ``sum(p.numel())``.

Convs on one data path inside one block (the deepest module with two or more of them that is not a
container) form a design unit; a conv that starts from the block's input beside that path is a shortcut.
"""

from __future__ import annotations

import functools
import math
import string
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from torch import nn as tnn

from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field as info_field
from ..core.kernels import DW, PW, Conv, GConv, Kernel, PWGConv, Shuffle
from .ops import numel
from .trace import Trace

CONTAINERS = (tnn.Sequential, tnn.ModuleList, tnn.ModuleDict)
PLANS = ("auto", "early", "keep", "bottleneck")
WEIGHTED = ("conv", "linear", "bn", "norm")  # the layers that may own parameters


@dataclass
class Layer:
    """One recorded layer: where it ran, what it is in the notation, its shapes and exact counts."""

    name: str
    kind: str  # conv | linear | matmul | attention | bn | norm | pool | act | shuffle | add | mul | ...
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
    detail: dict = field(default_factory=dict, repr=False)  # what the peers' rules read


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


# -- MACs of the products ------------------------------------------------------------------------------------
def _broadcast(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def matmul_macs(a: tuple, b: tuple) -> int:
    """Multiply-accumulates of ``a @ b`` with numpy's broadcasting (1-D operands included)."""
    a = (1, *a) if len(a) == 1 else tuple(a)
    b = (*b, 1) if len(b) == 1 else tuple(b)
    return numel(_broadcast(a[:-2], b[:-2])) * a[-2] * a[-1] * b[-1]


def einsum_macs(equation: str, shapes: list[tuple]) -> int:
    """Multiply-accumulates of an einsum contracted left to right, two operands at a time, as torch does: the
    product of the sizes of every index the pair shares or keeps (an index only one side has and the result
    drops is summed out first, free)."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if "..." in equation:  # the ellipsis: as many fresh index letters as the dimensions it stands for
        ranks = [len(s) - (len(t) - 3) if "..." in t else 0 for t, s in zip(terms, shapes, strict=False)]
        fresh = "".join(c for c in string.ascii_letters if c not in equation)[: max(ranks)]
        terms = [t.replace("...", fresh[len(fresh) - r :]) for t, r in zip(terms, ranks, strict=False)]
        output = output.replace("...", fresh) if arrow else fresh
        inputs = ",".join(terms)
    if not arrow:
        output += "".join(sorted(c for c in set(inputs) - {","} - set(output) if inputs.count(c) == 1))
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=False):
        for c, d in zip(term, shape, strict=False):
            sizes[c] = max(sizes.get(c, 1), int(d))
    total, left = 0, terms[0]
    for i, right in enumerate(terms[1:], start=1):
        later = set("".join(terms[i + 1 :])) | set(output)
        a = {c for c in left if c in right or c in later}
        b = {c for c in right if c in left or c in later}
        total += math.prod(sizes[c] for c in a | b)
        left = "".join(sorted(c for c in a | b if c in later))
    return total


def product_macs(ev: dict) -> int:
    """Multiply-accumulates of a recorded matrix product."""
    if ev["op"] == "einsum":
        return einsum_macs(ev["equation"], ev["operands"])
    return matmul_macs(ev["input"], ev["other"])


def attention_macs(ev: dict) -> int:
    """Multiply-accumulates of scaled dot-product attention: Q K^T and (the weights) V."""
    q, k, v = ev["input"], ev["key"], ev["value"]
    batch = numel(q[:-2])
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


# -- events -> layers ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _conv_reading(
    c_in: int, c_out: int, k: tuple, stride: tuple, padding: tuple, dilation: tuple, groups: int
):
    """A 2-D conv's kernel in the notation, its notation and its MACs per output position (kernels are frozen:
    one reading serves every layer with the same settings, in every model)."""
    kernel = conv_kernel(c_in, c_out, k, stride, padding, dilation, groups)
    if kernel is None:
        return None, None, None
    return kernel, kernel.notation(), int(kernel.macs_per_position(c_in, c_out))


def _conv(ev: dict) -> tuple[str, int, Kernel | None, dict]:
    weight, out = ev["weight"], ev["output"]
    groups = int(ev.get("groups", 1))
    if ev["dims"] == 2 and not ev["transposed"]:
        c_out, c_in_g, kh, kw = weight
        c_in = c_in_g * groups
        settings = (_pair(ev.get("stride", 1)), _pair(ev.get("padding", 0)), _pair(ev.get("dilation", 1)))
        kernel, notation, per_position = _conv_reading(c_in, c_out, (kh, kw), *settings, groups)
        positions = out[0] * out[2] * out[3]
        if kernel is not None:
            return notation, per_position * positions, kernel, {"groups": groups, "kh": kh, "kw": kw}
        return (
            f"conv {kh}x{kw} (not in the notation)",
            numel(weight) * positions,
            None,
            {
                "groups": groups,
                "kh": kh,
                "kw": kw,
            },
        )
    spatial = ev["input"][2:] if ev["transposed"] else out[2:]
    size = "x".join(map(str, weight[2:]))
    name = (
        f"conv{ev['dims']}d {size}" + (" transposed" if ev["transposed"] else "") + " (not in the notation)"
    )
    return name, out[0] * numel(weight) * numel(spatial), None, {"groups": groups}


def _row(ev: dict) -> Layer:
    kind, inp, out = ev["kind"], ev["input"], ev["output"]
    detail: dict = {}
    kernel, macs = None, 0
    if kind == "conv":
        notation, macs, kernel, detail = _conv(ev)
        detail |= {"dims": ev["dims"], "transposed": ev["transposed"]}
    elif kind == "linear":
        f_out, f_in = ev["weight"]
        macs = numel(inp[:-1]) * f_in * f_out
        notation = f"FC({f_in}->{f_out})"
    elif kind == "matmul":
        macs = product_macs(ev)
        if ev["op"] == "einsum":
            notation = f"einsum({ev['equation'].replace(' ', '')})"
        else:
            a, b = ev["input"], ev["other"]
            notation = f"{ev['op']}({'x'.join(map(str, a))} @ {'x'.join(map(str, b))})"
    elif kind == "attention":
        macs = attention_macs(ev)
        heads = inp[-3] if len(inp) >= 3 else 1
        tokens = f"{inp[-2]}" if inp[-2] == ev["key"][-2] else f"{inp[-2]}x{ev['key'][-2]}"
        notation = f"Attention(heads={heads}, tokens={tokens}, dim={inp[-1]})"
    elif kind == "rnn":  # every step multiplies the input and the hidden state by the 2-D weights
        macs = ev["steps"] * ev["batch"] * sum(numel(w) for w in ev["weights"])
        hidden = ev["weights"][1][1] if len(ev["weights"]) > 1 else 0
        notation = (
            f"{ev['op']}(in={inp[-1]}, hidden={hidden}"
            + (f", layers={ev['layers']}" if ev["layers"] > 1 else "")
            + (", bidirectional" if ev["bidirectional"] else "")
            + ")"
        )
    elif kind == "shuffle":
        kernel = Shuffle(g=ev["groups"])
        notation = f"Shuffle({ev['groups']})"
    elif kind in ("pool", "act", "norm", "interpolate"):
        notation = ev["op"]
    elif kind == "bn":
        notation = "BN"
    else:
        notation = kind
    return Layer(ev["name"], kind, notation, inp, out, 0, macs, kernel, detail=detail)


def layers_of(tr: Trace) -> tuple[list[Layer], list[tuple[str, int]]]:
    """The layers of a trace, every parameter of the model counted once, and what no layer consumed."""
    modules = tr.modules
    counted: set[int] = set()

    def claim(tid) -> int:
        """The size of a parameter not yet counted (marking it counted); 0 for anything else."""
        if tid not in tr.params or tid in counted:
            return 0
        counted.add(tid)
        return tr.params[tid][1]

    layers: list[Layer] = []
    index_of: dict[int, int] = {}
    for i, ev in enumerate(tr.events):
        lay = _row(ev)
        lay.detail.update(
            {
                k: v
                for k, v in ev.items()
                if k not in ("name", "source", "tensors", "sources", "owned", "reads")
            }
        )
        if "reads" in ev:  # (the layer that last wrote each activation read, or None: the input; elements)
            lay.detail["reads"] = [(index_of.get(w) if w is not None else None, n) for w, n in ev["reads"]]
        module = modules.get(ev["name"])
        lay.detail["module"] = module
        lay.detail["module_type"] = type(module) if module is not None else None
        tensors = ev.get("tensors", {})
        lay.params += claim(tensors.get("weight"))
        lay.bias = claim(tensors.get("bias"))
        lay.params += lay.bias
        # a recurrent layer's weights and biases (all passed in one list); a computed weight's parameters
        lay.params += sum(claim(tid) for tid in (*ev.get("owned", ()), *ev.get("weight_from", ())))
        lay.source = index_of.get(ev["source"]) if ev["source"] is not None else None
        lay.index = len(layers)
        index_of[i] = lay.index
        layers.append(lay)
    unmodelled: dict[str, int] = {}
    for tid, (name, count) in tr.params.items():
        if tid not in counted:
            owner = name.rpartition(".")[0] or "(the model)"
            unmodelled[owner] = unmodelled.get(owner, 0) + count
    return layers, list(unmodelled.items())


# -- units ---------------------------------------------------------------------------------------------------
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


def units_of(modules: dict, layers: list[Layer]) -> list[Unit]:
    """The design units of the traced layers (``modules``: name -> module of the model)."""
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
            if lay.kind == "add"
            and len(lay.in_shape or ()) == 4
            and (lay.name == block or lay.name.startswith(block + "."))
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


__all__ = [
    "Layer",
    "Unit",
    "conv_kernel",
    "layers_of",
    "units_of",
    "matmul_macs",
    "einsum_macs",
    "attention_macs",
]
