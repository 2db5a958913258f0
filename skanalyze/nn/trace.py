"""Tracing, the first room of the importer: one forward pass of a *copy* of the user's model (nn/copying.py:
meta tensors, eval mode unless asked; the user's module is never run or changed), recorded. A forward that needs
real values (data-dependent control flow) runs once on zeros, on a copy whose tensors are clones. On meta
tensors the common calls' shapes come from nn/meta_shapes.py rather than torch's slow meta kernels.

Two records come out of the pass (the ATen operators, nn/aten.py, are a second pass, run when asked):

- ``events``: the torch functions the model calls (a ``TorchFunctionMode``), one builder per family (EVENTS,
  nn/events.py): convolutions of any dimension and transposed ones, linear layers,
  matmul/bmm/mm/addmm/baddbmm/einsum, scaled dot-product attention, ``F.multi_head_attention_forward`` seen
  through (its projections as linear layers, its attention products), recurrent layers and cells, norms,
  pools, activations, interpolation, element-wise add/mul, channel shuffles, concatenations; each with the
  module that ran it and the ids of the parameters it consumed.
- ``calls``: every module call (forward hooks on the copy), with the module, its positional arguments and its
  output: what module-hook counters (thop, ptflops) see.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch import nn as tnn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from ..core.errors import SkanalyzeError
from .aten import AtenRecorder
from .copying import copy_model
from .events import EVENTS, PRODUCERS
from .meta_shapes import meta_shortcut
from .ops import shape_of, tensors_in


@dataclass
class Trace:
    """What one forward pass of the copy did: function events, ATen operators, module calls."""

    events: list[dict]
    aten: list[dict] | None  # None: not recorded yet (aten_ops records it on demand)
    calls: list[tuple]  # (module of the copy, its positional arguments, its output): meta tensors
    copy: tnn.Module = field(repr=False)  # the traced copy (meta tensors): the peers' rules read it
    params: dict[int, tuple[str, int]] = field(repr=False)  # id of a parameter of the copy -> (name, numel)
    modules: dict[str, tnn.Module] = field(repr=False)  # the copy's modules by name
    how: str = "meta"


class _Recorder(TorchFunctionMode):
    """Records the torch functions a forward pass calls, with the module that ran them."""

    def __init__(self, params: set[int] = frozenset()):
        super().__init__()
        self.params = params  # ids of the copy's parameters
        self.data: set[int] = set()  # ids of tensors computed from the input (activations)
        # id of a tensor computed from weights only -> the ids of the parameters it was computed from
        self.derived: dict[int, frozenset] = {}
        self.stack: list[str] = [""]
        self.events: list[dict] = []
        self.origin: dict[int, int | None] = {}  # id(tensor) -> index of the event that produced it
        # id(activation) -> index of the last event that wrote it (a view: its base's), whatever its kind
        self.writer: dict[int, int | None] = {}
        self.alive: list = []  # keep traced tensors alive, so their ids stay unique
        self.views: dict[int, int] = {}  # id(5-D view) -> groups, for shuffle detection

    def source(self, tensor) -> int | None:
        """The index of the event that produced a tensor (None: the input, or no event)."""
        return self.origin.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None

    def _made_of_id(self, tid: int) -> frozenset:
        return frozenset((tid,)) if tid in self.params else self.derived.get(tid, frozenset())

    def _made_of(self, tensor) -> frozenset:
        """The parameters a tensor that is not an activation was computed from."""
        return self._made_of_id(id(tensor))

    def emit(self, event: dict, source, out=None) -> int:
        """Append one event (its module, its source, its output shape) and return its index."""
        event.update(name=self.stack[-1], source=source)
        if "output" not in event:
            event["output"] = shape_of(out)
        self.events.append(event)
        return len(self.events) - 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.multi_head_attention_forward:
            return self._attention_module(args, kwargs)
        out = meta_shortcut(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
            if not isinstance(out, (torch.Tensor, tuple, list)):
                return out  # a size, a flag, None (x.shape, torch._assert): nothing to record
        inputs = tensors_in(args)
        first = inputs[0] if inputs else None
        if kwargs:
            inputs += tensors_in(kwargs.values())
        source = self.origin.get(id(first)) if first is not None else None
        builder = EVENTS.get(func)
        event = builder(self, func, args, kwargs, first, out) if builder is not None else None
        data = self.data
        from_data = any(id(t) in data for t in inputs)
        made_of = frozenset() if from_data else frozenset().union(*(self._made_of(t) for t in inputs))
        if event is not None and "tensors" in event:
            event["weight_from"] = self._made_of_id(event["tensors"]["weight"])
        mark = source
        written = self.writer.get(id(first)) if first is not None else None  # a view's: its base's writer
        if event is not None:
            # what a network's memory model reads: the activations it reads (the event that last wrote each, by
            # index, and its elements), and whether it wrote its output into its input (in place)
            event["reads"] = [[self.writer.get(id(t)), t.numel()] for t in inputs if id(t) in data]
            event["inplace"] = out is first
            index = self.emit(event, source, out if not isinstance(out, (tuple, list)) else out[0])
            written = index
            if event["kind"] in PRODUCERS:
                mark = index
        self._mark(out, mark, written, from_data, made_of, first if event is None else None)
        return out

    def _mark(self, out, mark, written, from_data: bool, made_of: frozenset, first) -> None:
        """Remember where each output tensor came from: the event (or source), and whether it is an activation
        (and then which event wrote it) or a weight computed from parameters (standardised, scaled, a slice of a
        packed one)."""
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.alive.append(o)
                self.origin[id(o)] = mark
                if from_data:
                    self.data.add(id(o))
                    self.writer[id(o)] = written
                else:
                    self.derived[id(o)] = made_of
                if id(first) in self.views and id(o) not in self.views and o.dim() == 5:
                    self.views[id(o)] = self.views[id(first)]  # .contiguous() of the split view

    def _attention_module(self, args, kwargs):
        """F.multi_head_attention_forward seen through: its input projections, attention products and output
        projection recorded as the calls it makes (the function mode cannot see inside it)."""
        names = (
            "query",
            "key",
            "value",
            "embed_dim_to_check",
            "num_heads",
            "in_proj_weight",
            "in_proj_bias",
            "bias_k",
            "bias_v",
            "add_zero_attn",
            "dropout_p",
            "out_proj_weight",
            "out_proj_bias",
        )
        a = dict(zip(names, args, strict=False)) | kwargs
        q, k, v = a["query"], a["key"], a["value"]
        heads = int(a["num_heads"])
        need_weights = a.get("need_weights", True)
        source = self.source(q)
        out = F.multi_head_attention_forward(*args, **kwargs)  # the trace runs under no_grad already
        batched = q.dim() == 3
        tokens_q = q.shape[0]
        tokens_k = k.shape[0]
        batch = q.shape[1] if batched else 1
        embed = q.shape[-1]

        def linear(x_shape, w, b, out_features):
            self.emit(
                {
                    "kind": "linear",
                    "input": x_shape,
                    "weight": (out_features, x_shape[-1]),
                    "has_bias": b is not None,
                    "tensors": {"weight": id(w), "bias": id(b)},
                    "inside": "multi_head_attention_forward",
                },
                source,
                None,
            )
            self.events[-1]["output"] = (*x_shape[:-1], out_features)

        w, b = a["in_proj_weight"], a["in_proj_bias"]
        if not a.get("use_separate_proj_weight", False):
            if k is v and q is k:
                linear(tuple(q.shape), w, b, 3 * embed)
            elif k is v:
                linear(
                    tuple(q.shape), w, b, embed
                )  # a chunk of the packed weight: its parameter, counted once
                linear(tuple(k.shape), w, b, 2 * embed)
            else:
                for x in (q, k, v):
                    linear(tuple(x.shape), w, b, embed)
        else:
            for x, name in ((q, "q_proj_weight"), (k, "k_proj_weight"), (v, "v_proj_weight")):
                weight = a.get(name)
                linear(tuple(x.shape), weight, b, weight.shape[0])
        extra = int(a.get("bias_k") is not None) + int(bool(a.get("add_zero_attn")))
        s = tokens_k + extra
        head = embed // heads
        bh = batch * heads
        if need_weights:
            mask = a.get("attn_mask") is not None
            for left, right, op in (
                ((bh, tokens_q, head), (bh, head, s), "baddbmm" if mask else "bmm"),
                ((bh, tokens_q, s), (bh, s, head), "bmm"),
            ):
                event = {
                    "kind": "matmul",
                    "op": op,
                    "input": left,
                    "other": right,
                    "called": True,
                    "inside": "multi_head_attention_forward",
                }
                if op == "baddbmm":
                    event |= {"self": (bh, tokens_q, s), "beta_zero": False}
                self.emit(event, source, None)
                self.events[-1]["output"] = (left[0], left[1], right[2])
                if left[2] == head:
                    self.emit(
                        {
                            "kind": "act",
                            "op": "softmax",
                            "input": (bh, tokens_q, s),
                            "output": (bh, tokens_q, s),
                            "inside": "multi_head_attention_forward",
                        },
                        source,
                    )
        else:
            self.emit(
                {
                    "kind": "attention",
                    "op": "sdpa",
                    "input": (batch, heads, tokens_q, head),
                    "key": (batch, heads, s, head),
                    "value": (batch, heads, s, head),
                    "output": (batch, heads, tokens_q, head),
                    "inside": "multi_head_attention_forward",
                },
                source,
            )
        linear(
            (tokens_q * batch, embed), a["out_proj_weight"], a["out_proj_bias"], a["out_proj_weight"].shape[0]
        )
        index = len(self.events) - 1
        for o in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(o, torch.Tensor):
                self.alive.append(o)
                self.origin[id(o)] = index
                self.data.add(id(o))
        return out


_ENTER, _LEAVE = "skanalyze: enter", "skanalyze: leave"  # keys that no handle's integer id can collide with


def _run(model: tnn.Module, shape: tuple, device: str, training: bool) -> Trace:
    twin, params, modules = copy_model(model, device, training)
    recorder = _Recorder(set(params))
    dispatch = AtenRecorder() if device != "meta" else contextlib.nullcontext()  # meta: later, if asked
    calls: list[tuple] = []
    names = {id(m): name for name, m in modules.items()}
    stack = recorder.stack

    def enter(module, args):
        stack.append(names.get(id(module), ""))

    def leave(module, args, output):
        stack.pop()
        calls.append((module, args, output[0] if isinstance(output, (tuple, list)) and output else output))

    for module in modules.values():  # the copy's own hook tables (register_forward_hook's handles are slow)
        module._forward_pre_hooks[_ENTER] = enter
        module._forward_hooks[_LEAVE] = leave
    x = torch.zeros(shape, device=device)
    recorder.data.add(id(x))
    with torch.no_grad(), recorder, dispatch:
        twin(x)
    for module in modules.values():  # the copy is kept for the peers' rules; it needs no hooks any more
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    if device != "meta":  # keep shapes, not values
        twin = twin.to("meta")
        calls = [(m, tuple(_on_meta(a) for a in args), _on_meta(out)) for m, args, out in calls]
    aten = dispatch.ops if device != "meta" else None
    how = "meta" if device == "meta" else "zeros"
    return Trace(recorder.events, aten, calls, twin, params, modules, how)


def _on_meta(value):
    return (
        torch.empty(value.shape, dtype=value.dtype, device="meta")
        if isinstance(value, torch.Tensor)
        else value
    )


def trace(model: tnn.Module, shape: tuple, training: bool = False) -> Trace:
    """One forward pass of a copy of the model (eval mode unless ``training``) on meta tensors, else on zeros."""
    try:
        return _run(model, shape, "meta", training)
    except SkanalyzeError:
        raise
    except Exception:  # a forward that needs real values: run it once on zeros
        try:
            return _run(model, shape, "cpu", training)
        except SkanalyzeError:
            raise
        except Exception as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise SkanalyzeError(
                f"the model rejects an input of shape {'x'.join(map(str, shape))}: {text}"
            ) from None


__all__ = ["Trace", "trace"]
