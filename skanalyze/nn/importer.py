"""Bring your own model: read an ``nn.Module`` in the notation, layer by layer and unit by unit.

The importer is in rooms, each a module of ``skanalyze.nn``:

- ``trace``: one forward pass of a *copy* of the model (meta tensors, eval mode unless asked), recording the
  torch functions it calls, the ATen operators they reach and every module call; the user's module is never
  touched;
- ``layers``: the recorded calls as layers in the notation, every parameter counted once (by tensor
  identity), and the design units;
- ``peers``: other counters' totals (FlopCounterMode, fvcore, ptflops with either backend, thop) rebuilt
  from the same trace by each peer's own rule table;
- ``skanalyze.analyses.closed_forms``: the torch-free closed forms in a width multiplier.

This module ties them together (``from_module``, ``report``, ``suggest``) and holds the searches that
build models (``own_width_rule``).

Counts (the convention of docs/model.md, applied to a whole model): params are every parameter (conv and
linear weights and biases, norms, anything unmodelled), so the total is ``sum(p.numel())``; MACs are the
multiply-accumulates of convolutions, linear layers, matrix products and attention for the given input
(batch included), so FLOPs = 2 x MACs is FlopCounterMode's total on meta tensors.
"""

from __future__ import annotations

import html
import inspect
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp
import torch
from torch import nn as tnn

from ..analyses import closed_forms as cf
from ..analyses.optimize import optimize, ranked_at
from ..analyses.roofline import predict
from ..analyses.search import largest_fitting
from ..core import symbols as S
from ..core.catalog import PAPER, resolve
from ..core.counting import params_at
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.infofield import field as info_field
from .aten import aten_ops
from .layers import Layer, Unit, conv_kernel, layers_of, units_of
from .model_latency import predict_layer
from .peers import CONVENTIONS, convention
from .trace import trace

MAC_KINDS = ("conv", "linear", "matmul", "attention", "rnn")
SHOWN = ("conv", "linear", "matmul", "attention", "rnn", "bn", "pool", "shuffle")  # the layers a table shows


def shown(lay: Layer) -> bool:
    """Whether a layer is a row of the per-layer table (report and notebook): not element-wise work, and a
    norm only when it holds parameters."""
    return lay.kind in SHOWN or (lay.kind == "norm" and bool(lay.params))


@dataclass
class Model:
    """A traced model: its layers, units, unmodelled parameters and totals (and what the peers' rules read)."""

    input_size: tuple
    layers: list[Layer] = field(repr=False)
    units: list[Unit] = field(repr=False)
    unmodelled: list[tuple[str, int]] = field(default_factory=list, repr=False)
    traced_on: str = "meta"
    training: bool = False
    recorded_aten: list[dict] | None = field(default=None, repr=False)
    calls: list[tuple] = field(default_factory=list, repr=False)
    copy: tnn.Module | None = field(default=None, repr=False)

    @property
    def aten(self) -> list[dict]:
        """The ATen operators of the forward pass (recorded on first use: only two peers read them)."""
        if self.recorded_aten is None:
            self.recorded_aten = aten_ops(self.copy, self.input_size)
        return self.recorded_aten

    @property
    def params(self) -> int:
        """Every parameter, counted once."""
        return sum(lay.params for lay in self.layers) + sum(p for _, p in self.unmodelled)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolutions, linear layers, matrix products and attention."""
        return sum(lay.macs for lay in self.layers if lay.kind in MAC_KINDS)

    def __str__(self) -> str:
        return (
            f"Model({'x'.join(map(str, self.input_size))}: {len(self.layers)} layers, {len(self.units)} units, "
            f"{self.params:,} params, {self.macs:,} MACs, traced on {self.traced_on})"
        )

    # -- notebooks: the per-layer table torchinfo users expect ------------------------------
    def _table(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (
                lay.name or "(the model)",
                lay.notation,
                "x".join(map(str, lay.out_shape or ())),
                f"{lay.params:,}",
                f"{lay.macs:,}",
            )
            for lay in self.layers
            if shown(lay)
        ]

    @property
    def mode(self) -> str:
        """The mode the copy was traced in: eval or train."""
        return "train" if self.training else "eval"

    def _totals(self) -> str:
        return (
            f"input {'x'.join(map(str, self.input_size))} (traced on {self.traced_on} tensors, {self.mode} mode): "
            f"{self.params:,} params, {self.macs:,} MACs ({2 * self.macs:,} FLOPs)"
        )

    def _repr_markdown_(self) -> str:
        """Jupyter (Markdown front ends): the per-layer table and the totals."""
        rows = "\n".join(f"| {n} | `{k}` | {o} | {p} | {m} |" for n, k, o, p, m in self._table())
        return f"{self._totals()}\n\n| layer | notation | output | params | MACs |\n|---|---|---|---:|---:|\n{rows}\n"

    def _repr_html_(self) -> str:
        """Jupyter (HTML front ends): the per-layer table and the totals."""
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(n)}</td><td><code>{esc(k)}</code></td><td>{o}</td>"
            f"<td style='text-align:right'>{p}</td><td style='text-align:right'>{m}</td></tr>"
            for n, k, o, p, m in self._table()
        )
        head = "<tr><th>layer</th><th>notation</th><th>output</th><th>params</th><th>MACs</th></tr>"
        return f"<p>{esc(self._totals())}</p><table>{head}{rows}</table>"


def is_module(obj) -> bool:
    """Whether obj is a torch nn.Module."""
    return isinstance(obj, tnn.Module)


def from_module(model: tnn.Module, input_size=(1, 3, 224, 224), training: bool = False) -> Model:
    """Trace a copy of a model (eval mode unless ``training``) and read it in the notation: layers, units,
    unmodelled parameters, exact totals. The model itself is never changed."""
    if not isinstance(model, tnn.Module):
        raise SkanalyzeError(f"expected a torch nn.Module, got {type(model).__name__}")
    shape = tuple(int(d) for d in input_size)
    if len(shape) != 4 or any(d <= 0 for d in shape):
        raise SkanalyzeError(
            f"input size {input_size!r} must be 4 positive integers N x C x H x W, e.g. 1x3x224x224"
        )
    tr = trace(model, shape, training)
    layers, unmodelled = layers_of(tr)
    units = units_of(tr.modules, layers)
    if not any(lay.kind == "conv" for lay in layers):
        raise SkanalyzeError(
            f"{type(model).__name__} has no convolution to analyse (skanalyze reads convolutional models)"
        )
    return Model(shape, layers, units, unmodelled, tr.how, training, tr.aten, tr.calls, tr.copy)


# -- closed forms of the whole model (the forms themselves are torch-free: analyses.closed_forms) ------------
ClosedForms = cf.ClosedForms
widest_multiplier = cf.widest_multiplier
closed_form_report = cf.closed_form_report


def closed_forms(model: Model, module: tnn.Module | None = None) -> cf.ClosedForms:
    """The closed forms of a traced model; with ``module``, a second trace at twice the input size gives the
    MACs in H_in x W_in."""
    second, note = None, ""
    if module is not None:
        n, c, h0, w0 = model.input_size
        try:
            again = trace(module, (n, c, 2 * h0, 2 * w0), model.training)
            second = [ev["output"] for ev in again.events]
        except SkanalyzeError as err:
            note = f"no second trace at twice the input: {err}"
    return cf.build(model, second, note)


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
    limit = int(32 / step) + 1  # past width 32: the budget is beyond any sensible width
    lo = largest_fitting(lambda j: cost(j) <= budget, 1, limit, first=int(1 / step))  # width 1 probed first
    if lo is None:
        raise SkanalyzeError(
            f"no {arg} on the grid of {step} fits {budget:,} {what} ({arg}={float(step):g} needs more)"
        )
    if lo == limit:
        raise SkanalyzeError(f"a budget of {budget:,} {what} fits {arg} > 32; give a smaller budget")
    hi = lo + 1
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


WIDTH_KEYWORDS = ("width_mult", "width_multiplier", "multiplier", "alpha")  # how factories name their width


def check_widest(factory, widest: dict, input_size: tuple) -> dict:
    """The widest alpha_w of the exact scaling, checked: when the factory takes a width keyword, the model it
    builds at that width (its own rounding included) traced and compared with the budget; otherwise a plain
    statement that the answer assumes exact scaling."""
    assumption = (
        "assumes exact scaling (every channel count times alpha_w, no rounding); a model that rounds its "
        "channels (to multiples of 8, say) can differ: --width-arg KEYWORD searches by the model's own rule"
    )
    try:
        keywords = dict(inspect.signature(factory).parameters) if factory is not None else {}
    except (TypeError, ValueError):
        keywords = {}
    arg = next((k for k in WIDTH_KEYWORDS if k in keywords), None)
    if arg is None and "width" in keywords and keywords["width"].default == 1.0:
        arg = "width"  # a multiplier by its default (a channel count would default to an integer > 1)
    if arg is None:
        return {"checked": False, "note": assumption}
    alpha = float(widest["alpha_w"])
    try:
        with torch.device("meta"):
            module = factory(**{arg: alpha})
        built = from_module(module, input_size)
    except Exception as err:  # noqa: BLE001 - the check is reported, never hides the answer
        return {"checked": False, "note": f"{assumption} (building with {arg}={alpha:g} failed: {err})"}
    cost = built.params if widest["objective"] == "parameters" else built.macs
    fits = cost <= widest["budget"]
    note = f"built with {arg}={alpha:g}: {built.params:,} params, {built.macs:,} MACs, " + (
        "within the budget"
        if fits
        else "OVER the budget: the model's own rounding moves it; use --width-arg " + arg
    )
    return {
        "checked": True,
        "keyword": arg,
        "params": built.params,
        "macs": built.macs,
        "fits": fits,
        "note": note,
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


def unit_time(model: Model, unit: Unit, profile) -> float:
    """The roofline time of a unit's traced layers (each with its kind's constants), as `model --latency`
    predicts them."""
    return sum(predict_layer(model.layers[i], profile) for i in unit.layers)


def suggest(model: Model, designs: tuple[str, ...] = PAPER, profile=None) -> list[dict]:
    """For every unit with a spatial kernel (not a shortcut, not the stem): its weights and their ratio to one
    standard 3x3 conv C -> F, and each paper design as one unit C -> F in its place: at equal width (its
    cheapest buildable group numbers with a full field, the params saved, its field) and at equal params
    (the widest buildable C at the unit's F/C). Biases and BN are left out of both sides. With a device
    profile, the unit's and each replacement's predicted time at the unit's output size and batch, and
    whether a replacement saves parameters but costs time."""
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
        if profile is not None:
            _add_times(model, unit, row, profile)
        out.append(row)
    return out


def _add_times(model: Model, unit: Unit, row: dict, profile) -> None:
    """The unit's and its replacements' predicted times (the unit's last layer gives the output size and the
    batch), and which replacements save parameters but are predicted slower."""
    batch, _, h, w = model.layers[unit.layers[-1]].out_shape
    row["predicted_s"] = unit_time(model, unit, profile)
    for rep in row["replacements"]:
        values = {**rep["values"], "H": h, "W": w}
        rep["predicted_s"] = predict(resolve(rep["design"]), values, profile, batch)
        rep["slower"] = rep["saved"] > 0 and rep["predicted_s"] > row["predicted_s"]


def report(model: Model, label: str = "model", conventions: tuple[str, ...] = ()) -> dict:
    """`skanalyze model`: the traced model as data (layers, units, unmodelled parameters, totals, and
    other counters' totals rebuilt line by line when asked)."""
    total_macs = model.macs or 1
    return {
        "conventions": [convention(model, name) for name in conventions],
        "model": label,
        "input": list(model.input_size),
        "traced_on": model.traced_on,
        "traced_mode": model.mode,
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
            if shown(lay)
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
            "params: every parameter (conv and FC weights and biases, norms, anything unmodelled) = sum(p.numel()); "
            "MACs: convolutions, FC layers, matrix products and attention for this input, batch included; "
            "FLOPs = 2 x MACs"
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
    "check_widest",
    "widest_multiplier",
    "own_width_rule",
    "is_module",
]
