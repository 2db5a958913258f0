"""What a layer pays in a network for tensors that are not in the cache: `device calibrate`'s ring probes.

Timed alone, a layer reads the same input and writes the same output buffer call after call, so both stay in
the cache. In a network each layer reads a tensor another layer wrote and writes a buffer the allocator hands
out, and a pass touches more memory than the cache holds, so the same layer runs slower: on this project's
machine a 1x1 conv of RegNetY-400MF took 280 us in the network and 145 us alone. Two probes measure the extra
time per byte with an element-wise op (a ReLU: ``clamp(min=0)``) on RING_BYTES of buffers taken in turn, so that
each is out of the cache when its turn comes: the outputs in turn (each write lands on memory not in the cache),
and the inputs in turn (each read comes from memory not in the cache), each against the same op with one input
and one output. benchmarks/notes.md has the measurements behind this choice.
"""

from __future__ import annotations

import torch

from .timing import sample_input, time_call

SAMPLE_ELEMENTS = 2**19  # the probe's tensor: 2 MiB (float32) per sample of the batch, an activation's size
RING_BYTES = 128 * 2**20  # the buffers taken in turn: well beyond the last-level cache a single core sees


def cold_constants(batch: int, device: torch.device, repeats: int = 5) -> tuple[dict, dict]:
    """The extra time per byte of a tensor read or written while out of the cache, as rates (bytes per second;
    none where the ring is not slower than the warm op); (constants, what was measured)."""
    elements = batch * SAMPLE_ELEMENTS
    nbytes = 4 * elements
    count = max(2, RING_BYTES // nbytes)
    x = sample_input((elements,), device)
    inputs = [x.clone() for _ in range(count)]
    outputs = [torch.zeros_like(x) for _ in range(count)]

    def per_call(pairs) -> float:  # one round of the ring as one timed call, divided by its calls
        def ring():
            for a, out in pairs:
                torch.clamp(a, min=0, out=out)

        return time_call(ring, warmup=1, repeats=repeats, device=device).median_s / len(pairs)

    warm = per_call([(x, outputs[0])] * count)
    write = per_call([(x, out) for out in outputs])
    read = per_call([(a, outputs[0]) for a in inputs])
    constants = {}
    if write > warm:
        constants["cold_write_bytes_per_s"] = nbytes / (write - warm)
    if read > warm:
        constants["cold_read_bytes_per_s"] = nbytes / (read - warm)
    measured = {
        "bytes": nbytes,
        "ring": count,
        "warm_s": warm,
        "outputs_in_turn_s": write,
        "inputs_in_turn_s": read,
    }
    return constants, measured


__all__ = ["RING_BYTES", "SAMPLE_ELEMENTS", "cold_constants"]
