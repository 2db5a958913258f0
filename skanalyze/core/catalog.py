"""Named designs: the paper's four, the standard conv, and state-of-the-art blocks as designs.

A name may take one integer argument where the block has a knob: ``shufflenet-v1(8)`` (groups),
``resnext(32)`` (cardinality), ``mobilenet-v2(4)`` (expansion t). :func:`resolve` accepts a
catalog name or any design in the notation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .design import Design, parse
from .errors import SkanalyzeError


@dataclass(frozen=True)
class Entry:
    """A catalog entry: a notation template (``{}`` = the knob), its default knob, a description."""

    name: str
    template: str
    description: str
    knob: str | None = None
    default: int | None = None

    def design(self, value: int | None = None) -> Design:
        """The entry's design, with the knob set (or its default)."""
        if value is not None and self.knob is None:
            raise SkanalyzeError(f"catalog design {self.name!r} takes no argument")
        text = self.template.format(value if value is not None else self.default)
        label = self.name if value is None else f"{self.name}({value})"
        return replace(parse(text), label=label)


ENTRIES: tuple[Entry, ...] = (
    Entry("standard", "Conv", "standard k x k convolution, the reference of every ratio"),
    Entry("dw-pw", "DW+PW", "paper design 1: depthwise then pointwise"),
    Entry(
        "gconv-pwgconv", "GConv(M)+PWGConv(N)", "paper design 2: group conv, shuffle, pointwise group conv"
    ),
    Entry("pw-dw-pw", "PW+DW+PW", "paper design 3: bottleneck K = F/4 around a depthwise conv"),
    Entry(
        "pwgconv-dw-pwgconv",
        "PWGConv(M)+DW+PWGConv(N)",
        "paper design 4: bottleneck K = F/4, pointwise group convs around a depthwise conv",
    ),
    Entry("mobilenet-v1", "DW+PW", "MobileNet v1 depthwise-separable block"),
    Entry(
        "mobilenet-v2",
        "PW+DW+PW [K={}*C]",
        "MobileNet v2 inverted residual: expand C -> tC, depthwise, project to F",
        knob="expansion t",
        default=6,
    ),
    Entry("xception", "DW+PW", "Xception separable conv (depthwise then pointwise)"),
    Entry(
        "shufflenet-v1",
        "PWGConv({0})+DW+PWGConv({0})",
        "ShuffleNet v1 unit: PWGConv(g), DW, shuffle, PWGConv(g) (the shuffle before the second grouped conv; "
        "the paper shuffles before the DW: same params, MACs and field, more traffic in a strided unit; "
        "PWGConv(g)+Shuffle+DW+PWGConv(g) is its order), bottleneck K = F/4",
        knob="groups g",
        default=4,
    ),
    Entry(
        "resnet-basic",
        "Conv+Conv [plan=early]",
        "ResNet basic block: two 3x3 convs, the first widens C -> F (He et al. 2016)",
    ),
    Entry("resnet-bottleneck", "PW+Conv+PW", "ResNet bottleneck block, bottleneck ratio 1:4 (K = F/4)"),
    Entry(
        "resnext",
        "PW+GConv({})+PW [K=F/2]",
        "ResNeXt block: cardinality as group number, bottleneck ratio 1:2 (the paper's Table 4)",
        knob="cardinality",
        default=16,
    ),
    Entry(
        "hetconv",
        "SSC({})",
        "structured sparse conv (HetConv): k x k on 1/P of the channels per filter in a shifted pattern, 1 x 1 on the rest",
        knob="part P",
        default=4,
    ),
    Entry(
        "ssc-group", "SSC(M,rest=none)", "structured sparse conv without the 1 x 1 part: a shifted group conv"
    ),
    Entry(
        "scc",
        "SCC+PW",
        "sparse complementary convs (checkerboard halves alternating over filters) fused by a 1 x 1 conv",
    ),
    Entry("scc-channel", "SCC(mode=channel)+PW", "channel-complementary sparse convs fused by a 1 x 1 conv"),
    Entry(
        "line",
        "Line(orient=filter)",
        "line-segment kernel: k weights on a learned line per filter (+F orientation params)",
    ),
    Entry(
        "line-cross", "Line+Line(angle=90)", "two orthogonal line segments: together the full k x k window"
    ),
)
FAMILIES: tuple[str, ...] = ("hetconv", "ssc-group", "scc", "scc-channel", "line", "line-cross")
COMPARISON: tuple[str, ...] = (
    "standard",
    *("dw-pw", "gconv-pwgconv", "pw-dw-pw", "pwgconv-dw-pwgconv"),
    *FAMILIES,
)

BY_NAME: dict[str, Entry] = {e.name: e for e in ENTRIES}
PAPER: tuple[str, ...] = ("dw-pw", "gconv-pwgconv", "pw-dw-pw", "pwgconv-dw-pwgconv")
DEFAULT_FORMULAS: tuple[str, ...] = ("standard", *PAPER)

_NAME = re.compile(r"\s*([a-z][a-z0-9-]*)\s*(?:\(\s*(\d+)\s*\))?\s*$")


def get(name: str) -> Design:
    """The catalog design called ``name`` (optionally ``name(knob)``)."""
    m = _NAME.match(name.lower())
    if not m or m.group(1) not in BY_NAME:
        raise SkanalyzeError(f"unknown catalog design {name!r}; valid: {', '.join(BY_NAME)}")
    entry = BY_NAME[m.group(1)]
    return entry.design(int(m.group(2)) if m.group(2) else None)


def resolve(text: str, **options) -> Design:
    """A catalog name or a design in the notation, as a Design (options override the design's)."""
    m = _NAME.match(text.lower()) if isinstance(text, str) else None
    if m and m.group(1) in BY_NAME:
        design = get(text)
        return replace(design, **options) if options else design
    return parse(text, **options)


def paper_designs() -> list[Design]:
    """The paper's four final designs."""
    return [get(name) for name in PAPER]
