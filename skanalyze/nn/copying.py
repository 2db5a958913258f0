"""The copy a trace runs: a structural deep copy of the user's module whose parameters and buffers are new
tensors (empty on meta), so that the user's module is never run or changed."""

from __future__ import annotations

import copy
from collections import OrderedDict

import torch
from torch import nn as tnn

from ..core.errors import SkanalyzeError

ATOMS = (int, float, bool, str, type(None))
EMPTY_TABLES = (dict, OrderedDict, set)
_CUSTOM: dict[type, bool] = {}  # module class -> whether it has a copy protocol of its own


def _clone(module: tnn.Module, memo: dict, training: bool) -> tnn.Module:
    """A structural deep copy of a module tree (``copy.deepcopy``'s result, faster): every module a new object
    of its class, its parameters and buffers taken from ``memo``, every other attribute deep-copied; a class
    with a copy protocol of its own (a parametrized module) is copied by ``copy.deepcopy`` itself."""
    if id(module) in memo:
        return memo[id(module)]
    kind = type(module)
    custom = _CUSTOM.get(kind)
    if custom is None:
        custom = _CUSTOM[kind] = (
            getattr(kind, "__deepcopy__", None) is not None
            or kind.__reduce_ex__ is not object.__reduce_ex__
            or kind.__reduce__ is not object.__reduce__
            or kind.__getstate__ is not tnn.Module.__getstate__
            or any("__slots__" in vars(k) for k in kind.__mro__)
        )
    if custom:
        return copy.deepcopy(module, memo)
    new = kind.__new__(kind)
    memo[id(module)] = new
    state = {}
    for key, value in module.__dict__.items():
        kind = type(value)
        if kind in ATOMS:
            state[key] = value  # immutable: deepcopy would return it too, slowly
        elif kind in EMPTY_TABLES and not value:  # the many empty hook tables
            state[key] = kind()
        elif key == "_modules":
            state[key] = kind((n, None if c is None else _clone(c, memo, training)) for n, c in value.items())
        elif key in ("_parameters", "_buffers"):
            state[key] = kind((n, None if t is None else memo[id(t)]) for n, t in value.items())
        elif kind is tuple and all(type(v) in ATOMS for v in value):
            state[key] = value
        else:
            state[key] = copy.deepcopy(value, memo)
    if "training" in state:
        state["training"] = training  # the mode asked for (Module.train() would walk the tree again)
    new.__dict__.update(state)
    return new


def copy_model(
    model: tnn.Module, device: str, training: bool
) -> tuple[tnn.Module, dict, dict[str, tnn.Module]]:
    """A deep copy of the model whose parameters and buffers are new tensors on ``device`` (empty on meta,
    clones elsewhere), with the ids of its parameters (-> name, numel) and its modules by name; the model
    itself is read, never changed."""
    memo: dict[int, object] = {}
    params: dict[int, tuple[str, int]] = {}

    def fresh(t):
        return torch.empty(t.shape, dtype=t.dtype, device="meta") if device == "meta" else t.detach().clone()

    modules = list(model.named_modules())
    for prefix, module in modules:  # named_parameters() and named_buffers() in one walk: the same names
        for name, p in module._parameters.items():
            if p is not None and id(p) not in memo:
                new = tnn.Parameter(fresh(p), requires_grad=p.requires_grad)
                memo[id(p)] = new
                params[id(new)] = (f"{prefix}.{name}" if prefix else name, p.numel())
        for b in module._buffers.values():
            if b is not None and id(b) not in memo:
                memo[id(b)] = fresh(b)
    try:
        twin = _clone(model, memo, training)
    except Exception as err:
        raise SkanalyzeError(
            f"{type(model).__name__} cannot be copied to be traced safely ({type(err).__name__}: {err}); "
            "skanalyze never runs the user's own module"
        ) from None
    copies = [memo.get(id(m)) for _, m in modules]
    if None in copies or any(
        _CUSTOM.get(type(m), True) or type(m).train is not tnn.Module.train for _, m in modules
    ):
        twin.train(training)  # a class copied by its own protocol, or with a train() of its own, runs it
    if None in copies:  # a class copied by its own protocol: walk the copy itself
        return twin, params, dict(twin.named_modules())
    return twin, params, {name: twin_module for (name, _), twin_module in zip(modules, copies, strict=True)}
