"""`skanalyze model --latency`: a user's model timed end to end and per leaf module, beside the roofline's
prediction of every traced layer.

The model is never changed: a copy (eval mode, the same weights) is timed. End to end: warm-up calls, then
the median and IQR of ``repeats`` forward passes (inference mode, fixed threads). Per leaf module (one with
no children): forward hooks on the copy add up the time of every call of the module in one pass (a ReLU
used twice counts twice), median over the same number of passes; the hooks cost a little, so per-module
times add up to a little more than the whole. What runs outside leaf modules (a residual add, a flatten in
``forward``) is the whole minus the leaf modules' sum.

The prediction of a traced layer (``importer.Layer``) is the roofline of its exact MACs and its bytes: the
input and output activations read and written once and its parameters read once, at the profile's element
size (``analyses.roofline.layer_time``), with the constants of its kind where the profile has them (a conv
by its kernel: dense, pointwise, group, pointwise group, depthwise; linear and matrix products; BN,
activations and additions as element-wise; windowed and global pooling; shuffles, and concatenations as
shuffles: both copy their tensors), a conv's compute curve at its channels per group and output positions,
and its fixed cost at its groups; layers are predicted one by one, as eager PyTorch runs them. In a network each
layer also pays for the tensors it reads and writes out of the cache (:func:`network_cost`, the profile's network
rates, measured by `device calibrate`): timed alone a layer's buffers stay in the cache, in a network they do not.
"""

from __future__ import annotations

import math
import statistics
import time

import torch

from ..analyses.profiles import Profile, kernel_kind
from ..analyses.roofline import layer_time
from .copying import copy_model
from .timing import sample_input, set_threads, time_call


def memory_needed(layers: list, params: int) -> int:
    """An upper bound of the bytes timing holds beyond the user's model (float32): its copy's weights and,
    at once, the two largest layers' inputs and outputs."""
    sizes = sorted((math.prod(lay.in_shape) + math.prod(lay.out_shape) for lay in layers), reverse=True)
    return 4 * (params + sum(sizes[:2]))


ELEMENTWISE = ("bn", "act", "add", "mul", "norm")


def layer_kind(layer) -> str | None:
    """The profile kind whose constants a traced layer takes (None: the global ones)."""
    if layer.kind == "conv":
        return (kernel_kind(layer.kernel) or "conv") if layer.kernel is not None else "conv"
    if layer.kind in ("linear", "matmul"):
        return "linear"
    if layer.kind in ELEMENTWISE:
        return "elementwise"
    if layer.kind == "pool" and len(layer.out_shape) == 4 and math.prod(layer.out_shape[2:]) == 1:
        return "global-pool"  # a reduction over the whole map reads its input once, unlike a window
    if layer.kind == "cat":  # a concatenation copies its operands into a new tensor, as a shuffle its input
        return "shuffle"
    return layer.kind if layer.kind in ("pool", "shuffle") else None


def layer_bytes(layer, element_bytes: int) -> int:
    """A traced layer's bytes: its input and output activations once each (every tensor operand of an
    element-wise add or mul, of a concatenation), and its parameters once."""
    reads, writes = layer_traffic(layer, element_bytes)  # an operand None (a number) is not read
    return reads + writes + element_bytes * layer.params


def layer_traffic(layer, element_bytes: int) -> tuple[int, int]:
    """A traced layer's activation bytes (read, written): every tensor operand (its input where it has none
    recorded), and its output; its parameters are not counted here."""
    operands = [shape for shape in layer.detail.get("operands", ()) if shape is not None]
    reads = sum(math.prod(shape) for shape in operands or [layer.in_shape])
    return element_bytes * reads, element_bytes * math.prod(layer.out_shape)


def cold_traffic(layer, element_bytes: int) -> tuple[int, int]:
    """The bytes (read, written) a traced layer moves out of the cache when it runs in a network: every
    activation it reads that the layer just before it did not write (the model's input, a residual's skip, a
    branch computed earlier), and its output unless it wrote it into its input (an in-place ReLU). A layer
    the trace has no reads for (inside an attention module) counts all of its traffic."""
    reads = layer.detail.get("reads")
    if reads is None:
        return layer_traffic(layer, element_bytes)
    just_before = layer.index - 1
    cold = sum(n for writer, n in reads if writer != just_before)  # None: the model's input
    written = 0 if layer.detail.get("inplace") else math.prod(layer.out_shape)
    return element_bytes * cold, element_bytes * written


def network_cost(layer, profile: Profile) -> float:
    """The extra seconds a traced layer takes in a network over alone (:func:`cold_traffic` at the profile's
    network rates; 0 where it has none)."""
    return profile.in_network(*cold_traffic(layer, profile.element_bytes))


def layer_shape(layer) -> tuple[int | None, int | None]:
    """A traced conv's (input channels per group, output positions batch x h x w), what its kind's compute
    curve reads; (None, None) for any other layer (no curve)."""
    if layer.kind != "conv" or layer.kernel is None or len(layer.out_shape) < 3:
        return None, None
    c_in = int(layer.in_shape[1])
    return c_in // int(layer.kernel.groups(c_in)), math.prod(layer.out_shape) // int(layer.out_shape[1])


def predict_layer(layer, profile: Profile) -> float:
    """A traced layer's roofline time: its exact MACs and its bytes, with its kind's constants and curve, and a
    conv's fixed cost at its groups."""
    nbytes = layer_bytes(layer, profile.element_bytes)
    channels, positions = layer_shape(layer)
    groups = int(layer.in_shape[1]) // channels if channels else 1
    return layer_time(
        layer.notation,
        layer.macs,
        nbytes,
        profile,
        layer_kind(layer),
        channels=channels,
        positions=positions,
        groups=groups,
    ).time_s


def time_leaves(
    module: torch.nn.Module, shape: tuple, *, repeats: int, warmup: int
) -> dict[str, list[float]]:
    """Per leaf module of a copy of ``module``: the seconds of all its calls in each of ``repeats`` passes."""
    twin, _, modules = copy_model(module, "cpu", training=False)
    leaves = {name: m for name, m in modules.items() if name and next(m.children(), None) is None}
    started: dict[int, float] = {}
    current: dict[str, float] = {}

    def hooks(name: str):
        def before(mod, args):
            started[id(mod)] = time.perf_counter()

        def after(mod, args, out):
            current[name] = current.get(name, 0.0) + time.perf_counter() - started.pop(id(mod))

        return before, after

    handles = []
    for name, leaf in leaves.items():
        before, after = hooks(name)
        handles += [leaf.register_forward_pre_hook(before), leaf.register_forward_hook(after)]
    x = sample_input(shape)
    runs: dict[str, list[float]] = {}
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                current.clear()
                twin(x)
                if i >= warmup:
                    for name, seconds in current.items():
                        runs.setdefault(name, []).append(seconds)
    finally:
        for handle in handles:
            handle.remove()
    return runs


def time_model(
    module: torch.nn.Module,
    shape: tuple,
    layers: list,
    *,
    profile: Profile | None = None,
    repeats: int = 10,
    warmup: int = 2,
    threads: int | None = None,
) -> dict:
    """The data of `model --latency`: the whole pass and every leaf module measured, and (with a profile)
    every traced layer predicted in the network (alone, plus its network cost), grouped by the module it ran in;
    the modules furthest off first."""
    used = set_threads(threads)
    twin, _, _ = copy_model(module, "cpu", training=False)
    x = sample_input(shape)
    whole = time_call(lambda: twin(x), warmup=warmup, repeats=repeats)
    runs = time_leaves(twin, shape, repeats=repeats, warmup=warmup)
    predicted: dict[str, float] = {}
    alone = 0.0
    kinds: dict[str, str] = {}
    calls: dict[str, int] = {}
    for layer in layers:
        kinds.setdefault(layer.name, layer.kind)
        calls[layer.name] = calls.get(layer.name, 0) + 1
        if profile is not None:
            by_itself = predict_layer(layer, profile)
            alone += by_itself
            predicted[layer.name] = predicted.get(layer.name, 0.0) + by_itself + network_cost(layer, profile)
    rows = []
    for name, seconds in runs.items():
        measured = statistics.median(seconds)
        guess = predicted.get(name)
        rows.append(
            {
                "name": name,
                "kind": kinds.get(name, "?"),
                "calls": calls.get(name, 0),
                "measured_s": measured,
                "predicted_s": guess,
                "ratio": measured / guess if guess else None,
            }
        )
    inside = sum(r["measured_s"] for r in rows)
    outside_predicted = sum(t for name, t in predicted.items() if name not in runs) if profile else None
    total_predicted = sum(predicted.values()) if profile else None
    furthest = sorted((r for r in rows if r["ratio"] is not None), key=lambda r: -abs(math.log(r["ratio"])))
    return {
        "threads": used,
        "repeats": repeats,
        "profile": profile.name if profile else None,
        "measured": {"median_s": whole.median_s, "iqr_s": whole.iqr_s},
        "predicted_s": total_predicted,
        "predicted_alone_s": alone if profile else None,  # the layers' time alone, no network cost
        "network_rates": bool(profile.network) if profile else None,  # False: a profile without them
        "ratio": whole.median_s / total_predicted if total_predicted else None,
        "leaf_modules_s": inside,
        "outside": {"measured_s": whole.median_s - inside, "predicted_s": outside_predicted},
        "modules": rows,
        "furthest": [r["name"] for r in furthest[:10]],
    }


__all__ = [
    "cold_traffic",
    "layer_bytes",
    "layer_kind",
    "layer_traffic",
    "memory_needed",
    "network_cost",
    "predict_layer",
    "time_leaves",
    "time_model",
]
