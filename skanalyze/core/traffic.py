"""Memory traffic of designs, as exact sympy expressions: elements and bytes moved per forward pass.

The convention (ShuffleNet V2's memory access cost, Ma et al. 2018, stated once; docs/latency.md):

* every layer reads its whole input once, reads its weights once and writes its whole output once:
  traffic = C_in*H_in*W_in + weights + C_out*H_out*W_out elements (a 1x1 conv: h*w*(c1 + c2) + c1*c2);
* nothing is reused across layers (no fusion, no cache): the tensor one layer writes the next reads again;
* weights are the layer's parameters (the count of :mod:`counting`); BatchNorm and ReLU fold into the
  layer before them (0 traffic, as they cost 0 MACs); a channel shuffle reads and writes its tensor
  (0 weights, 0 MACs); zero padding is not read from memory;
* bytes = elements x ``b``, the bytes per element (4 for fp32, 2 for bf16 and fp16).

Arithmetic intensity = MACs / bytes. H and W are the design's output size, as for the MACs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import symbols as S
from .counting import breakdown, canonical, macs
from .design import Design, Layer, show_values
from .errors import SkanalyzeError
from .exact import as_positive_int, compile_exact
from .terms import factor_terms


@dataclass(frozen=True)
class LayerTraffic:
    """One layer's memory traffic in elements (input read, weights read, output written) and its MACs."""

    layer: Layer
    reads: sp.Expr
    weights: sp.Expr
    writes: sp.Expr
    macs: sp.Expr

    @property
    def total(self) -> sp.Expr:
        """Elements moved by this layer: reads + weights + writes."""
        return self.reads + self.weights + self.writes


def layer_traffic(design: Design) -> tuple[LayerTraffic, ...]:
    """Per-layer traffic in elements and MACs, at output size H x W (cached per design)."""
    return _layer_traffic(design)


@lru_cache(maxsize=512)
def _layer_traffic(design: Design) -> tuple[LayerTraffic, ...]:
    rows = []
    for row in breakdown(design):
        kernel = row.layer.kernel
        h_in, w_in = kernel.input_size(row.out_h, 0), kernel.input_size(row.out_w, 1)
        reads = row.layer.c_in * h_in * w_in
        writes = row.layer.c_out * row.out_h * row.out_w
        rows.append(LayerTraffic(row.layer, reads, row.layer.params(), writes, row.macs))
    return tuple(rows)


def traffic(design: Design, *, substitute_k: bool = False) -> sp.Expr:
    """Total elements moved per forward pass (inputs read + weights read + outputs written), canonical."""
    return _traffic(design, substitute_k)


@lru_cache(maxsize=512)
def _traffic(design: Design, substitute_k: bool) -> sp.Expr:
    total = sum((row.total for row in layer_traffic(design)), sp.Integer(0))
    if substitute_k:
        total = design.substitute_bottleneck(total)
    return canonical(total)


def traffic_parts(design: Design, *, substitute_k: bool = False) -> dict[str, sp.Expr]:
    """The total split into activations read, weights read and activations written (elements)."""
    rows = layer_traffic(design)
    parts = {
        "reads": sum((r.reads for r in rows), sp.Integer(0)),
        "weights": sum((r.weights for r in rows), sp.Integer(0)),
        "writes": sum((r.writes for r in rows), sp.Integer(0)),
    }
    if substitute_k:
        parts = {k: design.substitute_bottleneck(v) for k, v in parts.items()}
    return {k: canonical(v) for k, v in parts.items()}


def traffic_bytes(design: Design, *, substitute_k: bool = False) -> sp.Expr:
    """Bytes moved per forward pass: elements x b (bytes per element)."""
    return S.b * traffic(design, substitute_k=substitute_k)  # traffic is canonical; b multiplies it whole


def intensity(design: Design, *, substitute_k: bool = False) -> sp.Expr:
    """Arithmetic intensity, MACs per byte moved: an exact rational function of the symbols."""
    return _intensity(design, substitute_k)


@lru_cache(maxsize=512)
def _intensity(design: Design, substitute_k: bool) -> sp.Expr:
    # factor_terms, not factor: the same exact value, the group numbers kept as divisors (as in params), 4x cheaper
    return factor_terms(
        macs(design, substitute_k=substitute_k) / traffic_bytes(design, substitute_k=substitute_k)
    )


@lru_cache(maxsize=256)
def _compiled(design: Design):
    expr = traffic(design)
    syms = sorted(expr.free_symbols, key=str)
    return syms, compile_exact(expr, syms)


def traffic_at(design: Design, values: dict) -> int:
    """Exact integer elements moved at concrete values (H, W = the design's output size), at any size."""
    syms, fn = _compiled(design)
    lookup = {str(k): v for k, v in values.items()}
    missing = [str(s) for s in syms if str(s) not in lookup]
    if missing:
        raise SkanalyzeError(f"traffic of {design.notation!r} needs values for {', '.join(missing)}")
    args = []
    for s in syms:
        value = lookup[str(s)]
        number = None if isinstance(value, float) else as_positive_int(value)
        if number is None:
            raise SkanalyzeError(f"{s} (={value!r}) must be a positive integer")
        args.append(number)
    value = fn(*args)
    if not isinstance(value, int):
        raise SkanalyzeError(
            f"{design.notation!r}: the traffic {value} is not an integer at {show_values(values)}"
        )
    return value


def bytes_at(design: Design, values: dict, element_bytes: int = 4) -> int:
    """Exact integer bytes moved at concrete values, ``element_bytes`` per element (4: fp32)."""
    if isinstance(element_bytes, bool) or not isinstance(element_bytes, int) or element_bytes < 1:
        raise SkanalyzeError(f"bytes per element {element_bytes!r} must be a positive integer (4 for fp32)")
    return element_bytes * traffic_at(design, values)
