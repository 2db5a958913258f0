"""Which kernel torch's CPU backend (oneDNN) runs a group convolution with: asked of oneDNN itself.

A k x k group conv with c input channels per group runs on oneDNN's direct kernel only where c suits its
vector blocking; otherwise oneDNN runs one matrix product per group (im2col and GEMM), several times slower per
MAC (benchmarks/grouped_probe.py). :func:`group_conv_kernels` runs one small group conv per channel count with
oneDNN's verbose log on and reads the implementation it names (``jit:avx512_core``, ``x64:gemm:jit``, ...);
:func:`direct_multiple` turns that into the profile's ``gconv.channels_multiple``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import torch
from torch import nn as tnn

# the input channels per group asked about (1 is torch's depthwise kernel, not a group conv)
PROBED = range(2, 17)


def _verbose_lines(fn) -> list[str]:
    """oneDNN's verbose log of ``fn()`` (it writes to the process's standard output, file descriptor 1)."""
    sys.stdout.flush()
    fd = 1  # oneDNN writes with C's stdio, whatever Python's sys.stdout is
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), fd)
        try:
            with torch.inference_mode(), torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                fn()
        finally:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)
        log.seek(0)
        return log.read().decode(errors="replace").splitlines()


def group_conv_kernels(channels=PROBED) -> dict[int, str]:
    """For each count of input channels per group, the oneDNN implementation that runs a 3 x 3 conv of two such
    groups (e.g. ``jit:avx512_core``, ``x64:gemm:jit``); empty where torch does not use oneDNN here."""
    if not torch.backends.mkldnn.is_available():
        return {}
    out = {}
    for c in channels:
        conv = tnn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2, bias=False).eval()
        x = torch.zeros(1, 2 * c, 6, 6)
        lines = _verbose_lines(lambda conv=conv, x=x: conv(x))
        names = [ln.split(",")[6] for ln in lines if ",exec," in ln and ",convolution," in ln]
        if names:
            out[c] = names[-1]
    return out


def direct_multiple(kernels: dict[int, str]) -> int:
    """The least m > 1 such that, over the probed counts, the direct kernel runs exactly where the channels per
    group are a multiple of m (the GEMM kernel, ``gemm`` in its name, elsewhere); 0 where no m says it (every
    count direct, none probed, or no such pattern)."""
    if not kernels:
        return 0
    direct = {c: "gemm" not in name for c, name in kernels.items()}
    for m in range(2, max(direct) + 1):
        if all(d == (c % m == 0) for c, d in direct.items()):
            return m
    return 0


__all__ = ["direct_multiple", "group_conv_kernels"]
