"""Apply a replacement to a traced model: a rebuilt ``nn.Module`` and the counts skanalyze predicts for it.

Two kinds of replacement (docs/model-import.md):

* a **design of two or more kernels** (``GConv(M)+PWGConv(N)``, ``PW+DW+PW``, ``SCC+PW``) replaces every unit
  that ``suggest`` considers (a spatial kernel, not a shortcut, not the stem) by one unit C -> F at the
  unit's widths, with its cheapest buildable values that give a full field; the unit's stride goes on the
  design's first spatial kernel. The design's kernels, with BatchNorm and ReLU between them, run in place of
  the unit's first conv; the unit's other convs, and the BatchNorms between its convs, become ``Identity``;
  the BatchNorm after the unit's last conv stays.
* **one kernel** (``SSC(4)``, ``SCC``, ``Line``, ``Line(orient=filter)``, ``DW``...) replaces every standard
  spatial conv (groups = 1, k x k with k > 1; the stem only with ``stem=True``) by that kernel at the conv's
  widths, with the conv's k, stride and dilation; its other options are kept as written.

A replaced conv's bias is dropped (the kernel modules are bias-free; a BN follows in these models). What
cannot be replaced (a functional conv, a module run twice, a padding or size the notation does not model,
widths the design cannot split) is listed with the reason, never dropped silently. The predictions are
skanalyze's exact counts (``params_at``/``macs_at``), not a measurement of the rebuilt module; the tests
hold them to ``sum(p.numel())`` and FlopCounterMode.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import sympy as sp
from torch import nn as tnn

from ..core import symbols as S
from ..core.catalog import resolve
from ..core.counting import macs_at, params_at
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.kernels import Conv
from .importer import Layer, Model, from_module, replacement_at, spatial_units, trace
from .modules import build_kernel, concrete_layers


@dataclass
class Replaced:
    """One replacement: what ran there, what runs now (with its values), and its exact counts."""

    target: str
    before: str
    after: str
    values: dict
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int


@dataclass
class Applied:
    """A rebuilt model, what was replaced or skipped (with the reason), and the predicted totals."""

    module: tnn.Module
    design: str
    mode: str  # "unit" (a design per unit) or "conv" (a kernel per standard spatial conv)
    replaced: list[Replaced]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    params_before: int = 0
    macs_before: int = 0

    @property
    def params(self) -> int:
        """Predicted parameters of the rebuilt model (= ``sum(p.numel())`` of ``module``)."""
        return self.params_before + sum(r.params_after - r.params_before for r in self.replaced)

    @property
    def macs(self) -> int:
        """Predicted MACs of the rebuilt model at the traced input (= FlopCounterMode / 2)."""
        return self.macs_before + sum(r.macs_after - r.macs_before for r in self.replaced)


def _feeding_kernel(layers: list[Layer], lay: Layer) -> int | None:
    """The recorded conv or linear layer whose output this layer reads (through BN, activations, ...)."""
    src = lay.source
    while src is not None and layers[src].kind not in ("conv", "linear"):
        src = layers[src].source
    return src


def _set(root: tnn.Module, name: str, module: tnn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, module)


def _stride_of(lay_in: tuple, lay_out: tuple) -> int | None:
    """The spatial downsampling s of a unit with input lay_in and output lay_out, if input = s x output."""
    (h, w), (oh, ow) = lay_in[2:], lay_out[2:]
    if h % oh or w % ow or h // oh != w // ow:
        return None
    return h // oh


def _unit_obstacle(model: Model, unit, chain: list, runs: dict, modules: dict):
    """Why a unit's convs cannot be swapped (a string), else (its stride, the BNs that read its inner
    channels and go with it)."""
    layers = model.layers
    for lay in chain:
        if not isinstance(modules.get(lay.name), tnn.Conv2d) or runs[lay.name] > 1:
            return f"{lay.name or 'a conv'} is not a Conv2d module run once"
        if lay.kernel.d != 1 or lay.kernel.p is not None:
            return f"{lay.name} has a dilation or padding other than 'same' at d = 1"
    first, last = chain[0], chain[-1]
    s = _stride_of(first.in_shape, last.out_shape)
    if s is None:
        return f"its input {first.in_shape[2]}x{first.in_shape[3]} is not a stride times its output"
    inner = {lay.index for lay in chain[:-1]}
    between = []
    for lay in layers:
        if (
            lay.index in unit.layers
            or lay.kind in ("add", "pool", "act")
            or _feeding_kernel(layers, lay) not in inner
        ):
            continue
        if lay.kind != "bn" or not isinstance(modules.get(lay.name), tnn.BatchNorm2d) or runs[lay.name] > 1:
            return f"{lay.name or 'a layer'} ({lay.notation}) reads the unit's inner channels"
        between.append(lay)
    return s, between


def _strided(design: Design, s: int):
    """The design with its first spatial kernel at stride s, or why it cannot downsample."""
    if s == 1:
        return design
    kernels = list(design.kernels)
    spatial = [i for i, k in enumerate(kernels) if k.spatial]
    if not spatial:
        return f"it downsamples by {s} and {design.notation} has no spatial kernel to stride"
    kernels[spatial[0]] = replace(kernels[spatial[0]], s=s)
    return replace(design, kernels=tuple(kernels))


def _one_unit(design: Design, model: Model, unit, runs: dict, modules: dict):
    """(Replaced, surgery) for one unit, or a reason it cannot be replaced."""
    # a traced shuffle is not replaced: it stays in the forward
    chain = [model.layers[i] for i in unit.layers if model.layers[i].kind == "conv"]
    found = _unit_obstacle(model, unit, chain, runs, modules)
    if isinstance(found, str):
        return found
    s, between = found
    strided = _strided(design, s)
    if isinstance(strided, str):
        return strided
    # the convs' own widths: a unit's may end after a concatenation and its shuffle (ShuffleNet V2's
    # downsampling branch: its convs 24 -> 24, the unit 24 -> 48), which stay in the forward as they are
    c_in, c_out = int(chain[0].in_shape[1]), int(chain[-1].out_shape[1])
    rep = replacement_at(strided, c_in, c_out)
    if rep is None:
        return f"{design.notation} has no buildable values with a full field at C={c_in}, F={c_out}"
    values = rep["symbols"]
    concrete = concrete_layers(strided, values)
    bn_at = [i for i, lay in enumerate(concrete) if lay.kernel.has_bn][:-1]  # the last BN is the unit's own
    mods: list[tnn.Module] = []
    for i, lay in enumerate(concrete):
        mods.append(build_kernel(lay.kernel, int(lay.c_in), int(lay.c_out)))
        if i in bn_at:
            mods += [tnn.BatchNorm2d(int(lay.c_out)), tnn.ReLU(inplace=True)]
    n, _, oh, ow = chain[-1].out_shape
    after_params = params_at(strided, values) + sum(2 * int(concrete[i].c_out) for i in bn_at)
    after_macs = n * macs_at(strided, {**values, S.H: sp.Integer(oh), S.W: sp.Integer(ow)})
    before_params = sum(lay.params for lay in chain) + sum(lay.params for lay in between)
    surgery = [(chain[0].name, tnn.Sequential(*mods))]
    surgery += [(lay.name, tnn.Identity()) for lay in chain[1:] + between]
    shown = ", ".join(f"{k}={v}" for k, v in rep["values"].items())
    return (
        Replaced(
            unit.name,
            unit.notation,
            f"{strided.notation} ({shown})",
            rep["values"],
            before_params,
            after_params,
            sum(lay.macs for lay in chain),
            after_macs,
        ),
        surgery,
    )


def _one_conv(kernel, lay: Layer, runs: dict, modules: dict):
    """(Replaced, surgery) for one standard spatial conv, or a reason it cannot be replaced."""
    if not isinstance(modules.get(lay.name), tnn.Conv2d) or runs[lay.name] > 1:
        return f"{lay.name or 'a conv'} is not a Conv2d module run once"
    try:
        new = replace(kernel, k=lay.kernel.k, s=lay.kernel.s, d=lay.kernel.d, p=lay.kernel.p)
        single = Design((new,))
        c_in, c_out = lay.in_shape[1], lay.out_shape[1]
        values = {S.C: sp.Integer(c_in), S.F: sp.Integer(c_out)}
        single.validate(values)
        n, _, oh, ow = lay.out_shape
        if _stride_of(lay.in_shape, lay.out_shape) != lay.kernel.s:
            return (
                f"its input {lay.in_shape[2]}x{lay.in_shape[3]} is not stride {lay.kernel.s} times its output"
            )
        after_params = params_at(single, values)
        after_macs = n * macs_at(single, {**values, S.H: sp.Integer(oh), S.W: sp.Integer(ow)})
        module = build_kernel(new, c_in, c_out)
    except SkanalyzeError as err:
        return str(err)
    return (
        Replaced(
            lay.name,
            lay.notation,
            new.notation(),
            {"C": c_in, "F": c_out},
            lay.params,
            after_params,
            lay.macs,
            after_macs,
        ),
        [(lay.name, module)],
    )


def _attempts(design: Design, model: Model, stem: bool, runs: dict, modules: dict):
    """The mode (conv: one kernel in place of each standard spatial conv; unit: a design in place of each unit)
    and, per target, its (Replaced, surgery) or the reason it is skipped."""
    if len(design.kernels) == 1:
        kernel = design.kernels[0]
        if kernel.arg_symbols():
            raise SkanalyzeError(
                f"--apply {design.notation}: give {kernel.name} its number, e.g. {kernel.name}(4)"
            )
        targets = [
            lay
            for lay in model.layers
            if lay.kind == "conv" and isinstance(lay.kernel, Conv) and (stem or lay.source is not None)
        ]
        return "conv", [(lay.name, _one_conv(kernel, lay, runs, modules)) for lay in targets]
    if stem:
        raise SkanalyzeError(
            f"--apply-stem replaces the stem's conv by one kernel; {design.notation} is a design of "
            f"{len(design.kernels)} (units, never the stem): drop --apply-stem or --apply one kernel"
        )
    return "unit", [(u.name, _one_unit(design, model, u, runs, modules)) for u in spatial_units(model)]


def _nothing_replaced(design: Design, model: Model, mode: str, skipped: list) -> str:
    what = "unit" if mode == "unit" else "standard spatial conv (groups = 1, k > 1)"
    reason = f" ({skipped[0][0]}: {skipped[0][1]})" if skipped else ""
    if mode == "conv" and not skipped:
        others = sum(
            1
            for lay in model.layers
            if lay.kind == "conv"
            and lay.kernel is not None
            and lay.kernel.spatial
            and not isinstance(lay.kernel, Conv)
        )
        reason = f" (its {others} other spatial convs are depthwise or grouped)" if others else reason
    return f"--apply {design.notation}: no {what} of the model can be replaced{reason}"


def apply(
    module: tnn.Module,
    design: str | Design,
    input_size=(1, 3, 224, 224),
    *,
    stem: bool = False,
    model: Model | None = None,
) -> Applied:
    """A copy of ``module`` with ``design`` in place of every unit (or, for one kernel, of every standard
    spatial conv), and its exact predicted params and MACs; the user's module is not modified."""
    design = resolve(design) if isinstance(design, str) else design
    model = model or from_module(module, input_size)
    rebuilt = copy.deepcopy(module)
    modules = dict(rebuilt.named_modules())
    runs: dict[str, int] = {}
    for lay in model.layers:
        runs[lay.name] = runs.get(lay.name, 0) + 1
    mode, results = _attempts(design, model, stem, runs, modules)
    replaced, skipped, surgery = [], [], []
    for name, result in results:
        if isinstance(result, str):
            skipped.append((name, result))
        else:
            replaced.append(result[0])
            surgery += result[1]
    if not replaced:
        raise SkanalyzeError(_nothing_replaced(design, model, mode, skipped))
    for name, new in surgery:
        _set(rebuilt, name, new)
    try:
        trace(rebuilt, model.input_size)
    except SkanalyzeError as err:
        raise SkanalyzeError(f"--apply {design.notation}: the rebuilt model does not run: {err}") from None
    return Applied(rebuilt, design.notation, mode, replaced, skipped, model.params, model.macs)


def report(applied: Applied) -> dict:
    """`skanalyze model --apply`: the replacements, what was skipped and why, and the predicted totals."""
    return {
        "design": applied.design,
        "mode": applied.mode,
        "replaced": [
            {
                "target": r.target,
                "before": r.before,
                "after": r.after,
                "values": r.values,
                "params_before": r.params_before,
                "params_after": r.params_after,
                "macs_before": r.macs_before,
                "macs_after": r.macs_after,
            }
            for r in applied.replaced
        ],
        "skipped": [{"target": t, "reason": why} for t, why in applied.skipped],
        "before": {"params": applied.params_before, "macs": applied.macs_before},
        "predicted": {"params": applied.params, "macs": applied.macs},
    }


__all__ = ["Replaced", "Applied", "apply", "report"]
