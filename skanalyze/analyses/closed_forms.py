"""Closed forms of a whole imported model: params in a width multiplier alpha_w, MACs in alpha_w and the
input size H_in x W_in, and the widest multiplier a budget buys. Torch-free: it reads the layers a trace
produced (``skanalyze.nn.importer``) and the output shapes of a second trace at twice the input size."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from ..core import symbols as S
from ..core.errors import SkanalyzeError
from .search import largest_fitting


@dataclass
class ClosedForms:
    """Params in the width multiplier alpha_w and MACs in alpha_w and the input size H_in x W_in."""

    params: sp.Expr
    macs: sp.Expr | None  # None: some layer's output size is not proportional to the input (see note)
    stride: int  # H_in and W_in must be multiples of it for the MACs form
    base: int  # alpha_w * (every scaled channel count) is an integer exactly when alpha_w is a multiple of 1/base
    groups: tuple  # (group number, channel counts at alpha_w = 1 it must divide) of the fixed-group layers
    note: str = ""


SCALED = ("conv", "linear", "bn", "norm", "pool", "act", "shuffle", "add")  # the layers whose channels scale


def _scaled(model) -> tuple[set[int], set[int]]:
    """Indices of the layers whose input / output channels stay fixed under a width multiplier: what reads
    the image keeps its input channels, the last FC keeps its outputs (the classes)."""
    fixed_in = {lay.index for lay in model.layers if lay.source is None}
    linears = [lay.index for lay in model.layers if lay.kind == "linear"]
    return fixed_in, set(linears[-1:])


def _refuse_beyond(model) -> None:
    """Closed forms cover 2-D convs, linear layers and norms: anything else is a one-line error."""
    beyond = sorted(
        {
            lay.notation if lay.kind == "conv" else lay.kind
            for lay in model.layers
            if lay.kind in ("matmul", "attention", "rnn")
            or (lay.kind == "conv" and (lay.detail.get("dims", 2) != 2 or lay.detail.get("transposed")))
        }
    )
    if beyond:
        raise SkanalyzeError(
            "closed forms cover models of 2-D convs, linear layers and norms; this one also has "
            + ", ".join(beyond[:3])
        )


@dataclass
class _Sums:
    """The forms being summed over the layers, and what they must satisfy."""

    model: object
    second: list[tuple] | None
    note: str
    params: sp.Expr = sp.Integer(0)
    macs: sp.Expr = sp.Integer(0)
    strides: list = field(default_factory=list)
    counts: list = field(default_factory=list)  # every scaled channel count at alpha_w = 1
    group_rules: list = field(default_factory=list)
    resolution_ok: bool = True

    def positions(self, lay) -> sp.Expr:
        """Output positions of a conv or linear layer, in H_in x W_in where they scale with the input."""
        if self.second is None or not self.resolution_ok:
            return sp.Integer(1)
        n, _, h0, w0 = self.model.input_size
        other, mine = self.second[lay.index], lay.out_shape
        if lay.kind == "linear":
            rows = math.prod(mine[:-1])
            if math.prod(other[:-1]) != rows:
                self.resolution_ok = False
                self.note = f"the rows of {lay.name or 'a linear layer'} change with the input size"
            return sp.Integer(rows)
        hh, ww = mine[2], mine[3]
        if other[2] == 2 * hh and other[3] == 2 * ww and h0 % hh == 0 and w0 % ww == 0:
            self.strides += [h0 // hh, w0 // ww]
            return n * (S.H_in / (h0 // hh)) * (S.W_in / (w0 // ww))
        if tuple(other[2:]) == tuple(mine[2:]):
            return sp.Integer(n * hh * ww)
        self.resolution_ok = False
        self.note = f"the output of {lay.name or 'a layer'} is not proportional to the input size"
        return sp.Integer(1)

    def add(self, lay, fixed_in: bool, fixed_out: bool) -> None:
        """One layer's parameters and MACs, with its channel counts scaled unless fixed."""
        a = S.alpha_w
        c_in = lay.in_shape[-1] if lay.kind == "linear" else lay.in_shape[1]
        c_out = lay.out_shape[-1] if lay.kind == "linear" else lay.out_shape[1]
        ci = sp.Integer(c_in) if fixed_in else a * c_in
        co = sp.Integer(c_out) if fixed_out else a * c_out
        self.counts += [c for c, fixed in ((c_in, fixed_in), (c_out, fixed_out)) if not fixed]
        if lay.kind == "conv":
            g = lay.detail["groups"]
            depthwise = g == c_in and g > 1
            if g > 1 and not depthwise:
                self.group_rules.append((g, (c_out,) if fixed_in else (c_in, c_out)))
            weights = co * (ci / (ci if depthwise else sp.Integer(g))) * lay.detail["kh"] * lay.detail["kw"]
            if lay.params:  # a shared module's second call adds no parameters
                self.params += weights + (co if lay.bias else 0)
            self.macs += weights * self.positions(lay)
        elif lay.kind == "linear":
            if lay.params:
                self.params += ci * co + (co if lay.bias else 0)
            self.macs += ci * co * self.positions(lay)
        elif lay.kind == "bn" and lay.params:
            self.params += 2 * ci
        elif lay.kind == "norm" and lay.params:  # layer/group norms: kept as they are (not scaled)
            self.params += lay.params
        elif lay.kind == "shuffle":
            self.group_rules.append((int(lay.kernel.g), (c_in,)))


def build(model, second: list[tuple] | None, note: str = "") -> ClosedForms:
    """Exact expressions of a traced model (its ``layers``, ``unmodelled`` and ``input_size``, duck-typed):
    every channel count (but the image's and the classes) times alpha_w, group numbers of grouped convs and
    shuffles fixed, depthwise groups = channels; MACs at an input H_in x W_in from ``second``, the output
    shape of every layer traced again at twice the input size (None: no MACs form)."""
    _refuse_beyond(model)
    fixed_in, fixed_out = _scaled(model)
    ok = second is not None and len(second) == len(model.layers)
    sums = _Sums(model, second if ok else None, note, resolution_ok=ok)
    sums.params = sp.Integer(sum(p for _, p in model.unmodelled))
    for lay in model.layers:
        if (
            lay.kind in SCALED
            and len(lay.in_shape or ()) >= 2
            and (lay.kind != "add" or len(lay.in_shape) == 4)
        ):
            sums.add(lay, lay.index in fixed_in, lay.index in fixed_out)
        # else: element-wise products, interpolation, scalars: no channel count of their own
    base = 0
    for c in sums.counts:
        base = math.gcd(base, c)
    stride = 1
    for r in sums.strides:
        stride = math.lcm(stride, r)
    return ClosedForms(
        sp.expand(sums.params),
        sp.expand(sums.macs) if sums.resolution_ok else None,
        stride,
        base or 1,
        tuple(dict.fromkeys(sums.group_rules)),
        sums.note,
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

    lo = largest_fitting(lambda j: cost(j) <= budget)
    if lo is None:
        return None
    for j in range(lo, 0, -1):
        if buildable(j):
            return Fraction(j, forms.base)
    return None


def closed_form_report(
    forms: ClosedForms,
    model,
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


__all__ = ["ClosedForms", "build", "widest_multiplier", "closed_form_report"]
