"""Parameter and multiply-accumulate counts of designs, as exact sympy expressions.

The convention, stated once (docs/model.md has the details and the comparison with other tools):

* parameters = convolution weights; convolutions are bias-free; a channel shuffle has none;
  BatchNorm (weight and bias, 2 per channel; running statistics are buffers) only with ``bn=True``;
* MACs = multiply-accumulates of the convolutions = weights x output positions of each layer;
  BatchNorm, ReLU, shuffles and shortcut additions cost 0 MACs (BN folds into the conv at inference);
* FLOPs = 2 x MACs, the convention of ``torch.utils.flop_counter``.

H and W are the design's output size; a layer before a strided layer runs at the larger size.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from . import symbols as S
from .design import Design, Layer
from .kernels import Conv

FLOPS_PER_MAC = 2


def canonical(expr) -> sp.Expr:
    """The readable canonical form used everywhere: expanded, then common factors pulled out."""
    return sp.factor_terms(sp.expand(sp.sympify(expr)))


@dataclass(frozen=True)
class LayerCount:
    """One layer's contribution: its parameters and MACs, and the output size it runs at."""

    layer: Layer
    params: sp.Expr
    macs: sp.Expr
    out_h: sp.Expr
    out_w: sp.Expr


def output_sizes(design: Design, h=S.H, w=S.W) -> list[tuple[sp.Expr, sp.Expr]]:
    """Output (height, width) of every layer, given the design's output size."""
    sizes: list[tuple[sp.Expr, sp.Expr]] = []
    for layer in reversed(design.layers):
        sizes.append((h, w))
        h, w = layer.kernel.input_size(h, 0), layer.kernel.input_size(w, 1)
    return sizes[::-1]


def input_size(design: Design, h=S.H, w=S.W) -> tuple[sp.Expr, sp.Expr]:
    """The input size that gives output (h, w)."""
    for layer in reversed(design.layers):
        h, w = layer.kernel.input_size(h, 0), layer.kernel.input_size(w, 1)
    return h, w


def breakdown(design: Design, *, bn: bool = False) -> tuple[LayerCount, ...]:
    """Per-layer parameters and MACs (BN parameters included with ``bn=True``); cached per design."""
    return _breakdown(design, bn)


@lru_cache(maxsize=512)
def _breakdown(design: Design, bn: bool) -> tuple[LayerCount, ...]:
    rows = []
    for layer, (oh, ow) in zip(design.layers, output_sizes(design), strict=True):
        weights = layer.params()
        macs = layer.kernel.macs_per_position(layer.c_in, layer.c_out) * oh * ow
        extra = 2 * layer.c_out if bn and layer.kernel.mixing != "permute" else 0
        rows.append(LayerCount(layer, weights + extra, macs, oh, ow))
    return tuple(rows)


def params(design: Design, *, bn: bool = False, substitute_k: bool = False) -> sp.Expr:
    """Total parameters, in canonical form; K stays a symbol unless ``substitute_k``.

    >>> from skanalyze.design import parse
    >>> params(parse("DW+PW"))
    C*(F + 9)
    """
    total = sum((row.params for row in breakdown(design, bn=bn)), sp.Integer(0))
    if substitute_k:
        total = design.substitute_bottleneck(total)
    return canonical(total)


def macs(design: Design, *, substitute_k: bool = False) -> sp.Expr:
    """Total multiply-accumulates for output size H x W, in canonical form."""
    total = sum((row.macs for row in breakdown(design)), sp.Integer(0))
    if substitute_k:
        total = design.substitute_bottleneck(total)
    return canonical(total)


def flops(design: Design, *, substitute_k: bool = False) -> sp.Expr:
    """FLOPs = 2 x MACs (the torch.utils.flop_counter convention)."""
    return canonical(FLOPS_PER_MAC * macs(design, substitute_k=substitute_k))


@lru_cache(maxsize=256)
def _params_fn(design: Design, bn: bool):
    expr = params(design, bn=bn)
    syms = sorted(expr.free_symbols, key=str)
    fn = sp.lambdify(syms, expr, modules="math")
    return syms, fn


def params_at(design: Design, values: dict, *, bn: bool = False) -> int:
    """Exact integer parameters at concrete values, fast (the canonical expression, compiled once)."""
    syms, fn = _params_fn(design, bn)
    value = Fraction(fn(*(Fraction(int(values[s])) for s in syms)))
    if value.denominator != 1:
        raise ValueError(f"non-integer parameter count {value} at {values}")
    return int(value)


@lru_cache(maxsize=256)
def _macs_fn(design: Design):
    expr = macs(design)
    syms = sorted(expr.free_symbols, key=str)
    return syms, sp.lambdify(syms, expr, modules="math")


def macs_at(design: Design, values: dict) -> int:
    """Exact integer MACs at concrete values (H, W = the design's output size), fast."""
    syms, fn = _macs_fn(design)
    value = Fraction(fn(*(Fraction(int(values[s])) for s in syms)))
    if value.denominator != 1:
        raise ValueError(f"non-integer MAC count {value} at {values}")
    return int(value)


def standard(k=3) -> Design:
    """The standard k x k convolution C -> F that every design is compared with."""
    return Design((Conv(k=k),))
