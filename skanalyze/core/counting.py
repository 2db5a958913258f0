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
from functools import lru_cache

import sympy as sp

from . import symbols as S
from .design import Design, Layer, show_values
from .errors import SkanalyzeError
from .exact import as_positive_int, compile_exact
from .kernels import Conv
from .terms import factor_terms

FLOPS_PER_MAC = 2


def canonical(expr) -> sp.Expr:
    """The readable canonical form used everywhere: expanded, then common factors pulled out."""
    return factor_terms(sp.expand(sp.sympify(expr)))


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
        extra = 2 * layer.c_out if bn and layer.kernel.has_bn else 0
        rows.append(LayerCount(layer, weights + extra, macs, oh, ow))
    return tuple(rows)


def params(design: Design, *, bn: bool = False, substitute_k: bool = False) -> sp.Expr:
    """Total parameters, in canonical form; K stays a symbol unless ``substitute_k``.

    >>> from skanalyze.core.design import parse
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
def _compiled(design: Design, what: str, bn: bool):
    expr = params(design, bn=bn) if what == "params" else macs(design)
    syms = sorted(expr.free_symbols, key=str)
    return tuple(str(s) for s in syms), compile_exact(expr, syms)


def _name(key) -> str:
    """A value's key as a name: a str as it is, a symbol by its name (sympy's printer is slow in a loop)."""
    return key if type(key) is str else getattr(key, "name", None) or str(key)


def _at(design: Design, values: dict, what: str, bn: bool = False, validate: bool = True) -> int:
    names, fn = _compiled(design, what, bn)
    lookup = {_name(k): v for k, v in values.items()}
    unknown = sorted(k for k in lookup if k not in S.by_name and k not in names)
    if unknown:
        raise SkanalyzeError(
            f"{what} of {design.notation!r}: {', '.join(map(repr, unknown))} is no symbol; its symbols: "
            + ", ".join(sorted(set(names) | {"C", "F"}, key=S.symbol_order))
        )
    if validate:
        _buildable(design, values)
    missing = [n for n in names if n not in lookup]
    if missing:
        raise SkanalyzeError(f"{what} of {design.notation!r} needs values for {', '.join(missing)}")
    value = fn(*(_exact_number(lookup[n], n) for n in names))
    if not isinstance(value, int):
        raise SkanalyzeError(
            f"{design.notation!r}: the {what} count {value} is not an integer at {show_values(values)}"
        )
    return value


def _buildable(design: Design, values: dict) -> None:
    """Raise, as verify does, when a group number does not divide the channels it splits or a width is not a
    positive integer (K from the bottleneck rule when it is not given)."""
    vals = S.keyed(values)
    if S.K not in vals and design.uses_bottleneck:
        k = sp.sympify(design.bottleneck).subs(vals)
        if k.free_symbols:
            return
        vals[S.K] = k
    if all(sym in vals for sym in design.free_symbols):
        design.at(vals)


def _exact_number(value, name: str):
    if isinstance(value, float):
        raise SkanalyzeError(f"{name}={value!r} is a float; give an int so that the count is exact")
    number = as_positive_int(value)
    if number is None:
        raise SkanalyzeError(f"{name} (={value}) must be a positive integer")
    return number


def params_at(design: Design, values: dict, *, bn: bool = False, validate: bool = True) -> int:
    """Exact integer parameters at concrete values, at any size (integer arithmetic, compiled once).

    >>> from skanalyze.core.design import parse
    >>> params_at(parse("GConv(M)+PWGConv(N)"), {"C": 10**18, "F": 10**18, "M": 10**9, "N": 10**9})
    10000000000000000000000000000
    """
    return _at(design, values, "params", bn, validate)


def macs_at(design: Design, values: dict, *, validate: bool = True) -> int:
    """Exact integer MACs at concrete values (H, W = the design's output size), at any size."""
    return _at(design, values, "macs", validate=validate)


def standard(k=3) -> Design:
    """The standard k x k convolution C -> F that every design is compared with."""
    return Design((Conv(k=k),))
