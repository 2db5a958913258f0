"""The open kernel registry: a kind defined outside the package (examples/shift_kernel.py) is parsed,
counted and propagated like a built-in one; the docs show that example verbatim."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import sympy as sp

from skanalyze import field, macs, params, parse
from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError
from skanalyze.core.infofield import propagate
from skanalyze.core.kernels import Kernel, lookup, register_kernel, registered

from .conftest import load_example

ROOT = Path(__file__).resolve().parent.parent
SHIFT = load_example("shift_kernel").Shift


def test_the_docs_show_the_example_as_it_runs():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    blocks = [b for b in re.findall(r"^```python\n(.*?)^```", doc, re.S | re.M) if "class Shift" in b]
    assert len(blocks) == 1 and blocks[0] in (ROOT / "examples" / "shift_kernel.py").read_text()


def test_a_kind_from_outside_is_registered():
    assert lookup("shift").name == "Shift" and lookup("ShiftConv").name == "Shift"
    assert "Shift" in [cls.name for cls in registered()]


def test_shift_counts_by_hand():
    # Shift has no weights and does no MACs; PW has C*F weights and C*F MACs per output position
    d = parse("Shift+PW")
    assert sp.simplify(params(d) - S.C * S.F) == 0
    assert sp.simplify(macs(d) - S.C * S.F * S.H * S.W) == 0
    assert sp.simplify(params(parse("Shift"))) == 0
    with_bn = sp.simplify(params(d, bn=True) - S.C * S.F)
    assert with_bn == 2 * S.F, "BN follows the PW only: Shift has no weights, so no BN"


def test_shift_field_by_brute_force():
    # channel c belongs to group c // (C/9) and moves by offset (g // 3 - 1, g % 3 - 1); a PW output reads
    # every channel, so its field is the union of the nine offsets (a 3 x 3 window) over all C channels
    c = 18
    offsets = {((ch // (c // 9)) // 3 - 1, (ch // (c // 9)) % 3 - 1) for ch in range(c)}
    ys, xs = {o[0] for o in offsets}, {o[1] for o in offsets}
    expected = (max(xs) - min(xs) + 1, max(ys) - min(ys) + 1, c)
    d = parse("Shift+PW")
    assert expected == (3, 3, 18)
    assert tuple(field(d, {S.C: c, S.F: 36}).as_tuple()) == expected
    assert propagate(d, {S.C: c, S.F: 36}) == (*expected, c)
    assert field(parse("Shift")).c == 1  # alone, an output reads one channel


def test_shift_needs_channels_in_k2_groups():
    with pytest.raises(SkanalyzeError, match="k\\^2"):
        parse("Shift+PW").validate({S.C: 10, S.F: 10})


def test_registering_a_taken_alias_is_refused():
    @dataclass(frozen=True, kw_only=True)
    class Impostor(Kernel):
        name: ClassVar[str] = "Impostor"
        aliases: ClassVar[tuple[str, ...]] = ("Impostor", "DW")

    with pytest.raises(SkanalyzeError, match="'dw' is already taken by DW"):
        register_kernel(Impostor)
    with pytest.raises(SkanalyzeError, match="unknown kernel"):
        lookup("Impostor")


def test_every_built_in_kernel_is_registered_by_the_decorator_the_docs_teach():
    source = (ROOT / "skanalyze" / "core" / "kernels.py").read_text()
    for cls in registered():
        if cls.__module__ == "skanalyze.core.kernels":
            assert f"@register_kernel\n@dataclass(frozen=True, kw_only=True)\nclass {cls.__name__}(" in source


def test_a_second_builder_for_a_kind_is_refused(nn):
    from skanalyze.core.kernels import GConv

    before = nn.BUILDERS[GConv]
    with pytest.raises(SkanalyzeError, match="GConv already has a torch builder \\(conv_layer\\)"):

        @nn.builds(GConv)
        def impostor(kernel, c_in, c_out):
            raise AssertionError("never built")

    assert nn.BUILDERS[GConv] is before


def test_a_subclass_never_borrows_its_base_class_builder(nn):
    from skanalyze.core.kernels import GConv

    @dataclass(frozen=True, kw_only=True)
    class Dilated(GConv):  # a newcomer's kind: its module is not the plain grouped conv
        name: ClassVar[str] = "DilatedGConvForTest"
        aliases: ClassVar[tuple[str, ...]] = ()
        paper_letter: ClassVar[str] = "?"

    with pytest.raises(SkanalyzeError, match="DilatedGConvForTest has no torch builder; register one"):
        nn.build_kernel(Dilated(g=2), 4, 4)


def every_kind_between_pws() -> list[str]:
    """Every registered kind between two PWs, and the related families' variants."""
    texts = [f"PW+{cls.name}{'(2)' if cls.arg and not cls.free_arg else ''}+PW" for cls in registered()]
    return texts + [
        "PW+SSC(M,rest=none)+PW",
        "PW+SSC(M,rest=none,pattern=block)+PW",
        "PW+SCC(mode=channel)+PW",
    ]


def reach_by_ops(ops, c_in: int) -> list[set[int]]:
    """The input channels each output channel reaches, following channel_ops plainly: ('group', G, c_out)
    joins blocks of c_in/G inputs into blocks of c_out/G outputs; ('shuffle', g) is reshape (g, per),
    transpose, flatten."""
    sets = [{c} for c in range(c_in)]
    for op in ops:
        width = len(sets)
        if op[0] == "group":
            g, c_out = int(op[1]), int(op[2])
            blocks = [set().union(*sets[i * (width // g) : (i + 1) * (width // g)]) for i in range(g)]
            sets = [blocks[j // (c_out // g)] for j in range(c_out)]
        else:
            g = int(op[1])
            sets = [sets[(p % g) * (width // g) + p // g] for p in range(width)]
    return sets


def test_each_kinds_connections_reach_the_channels_its_channel_ops_say():
    """The footprint reads `connections`, the field `channel_ops`: for every registered kind (and the related
    families' variants) both give every output channel the same input channels."""
    values = {S.C: 144, S.F: 144, S.K: 36, S.M: 4, S.N: 4}
    texts = every_kind_between_pws()
    texts += ["PW+GConv(M)+PW", "PW+PWGConv(M)+PW", "PW+SSC(M)+PW"]
    for text in texts:
        lay = parse(text).at(values)[1]
        kern = lay.layer.kernel.subs(values)
        by_ops = reach_by_ops(lay.ops, lay.c_in)
        by_taps = [
            {c for channels, _ in pairs for c in channels} for pairs in kern.connections(lay.c_in, lay.c_out)
        ]
        assert by_ops == by_taps, text


def test_each_kinds_mixing_trait_says_which_channels_its_outputs_reach():
    """The design space reads `mixing`; a plain brute force over the channels each output reaches at integer
    sizes says what it must be: none (each its own channel), permute (one channel each, a reordering), full
    (every channel) or grouped (some)."""
    values = {S.C: 36, S.F: 36, S.K: 18, S.M: 2, S.N: 3}
    texts = every_kind_between_pws() + ["PW+GConv(M)+PW", "PW+GConv(1)+PW", "PW+Shuffle(3)+PW"]
    for text in texts:
        lay = parse(text).at(values)[1]
        sets = reach_by_ops(lay.ops, lay.c_in)
        if all(s == {c} for c, s in enumerate(sets)):
            expected = "none"
        elif all(len(s) == 1 for s in sets) and len(set().union(*sets)) == lay.c_in:
            expected = "permute"
        elif all(len(s) == lay.c_in for s in sets):
            expected = "full"
        else:
            expected = "grouped"
        assert lay.layer.kernel.subs(values).mixing == expected, text


@pytest.mark.parametrize("text", [*every_kind_between_pws(), "SSC(2)+PW", "SCC", "Line(angle=45)+PW"])
def test_each_kinds_footprint_equals_autograd(text):
    """`connections` (channel_ops' reach split by each filter's taps) gives the exact footprint: extents,
    channels and spatial positions per output channel equal what autograd measures on the torch module."""
    pytest.importorskip("torch")
    from skanalyze import nn
    from skanalyze.core.infofield import footprint

    design = parse(text)
    values = {S.C: 36, S.F: 36, S.K: 18, S.M: 2, S.N: 3}  # Shift (examples/) splits the channels in 9
    values = {sym: v for sym, v in values.items() if sym in design.free_symbols | {S.C, S.F, S.K}}
    fp = footprint(design, values)
    measured = nn.measure_field(nn.build(design, values), 36, nn.field_probe_size(design, values))
    assert (fp.x, fp.y, fp.c_min, fp.c_max, fp.positions_min, fp.positions_max) == (
        measured.x,
        measured.y,
        measured.c_min,
        measured.c_max,
        measured.positions,
        measured.positions_max,
    )


def test_shared_reach_sets_equal_the_plain_brute_force():
    """The field and the network searches follow channels with shared bitsets (one per group); on whole
    designs (every kind between PWs, and the paper's designs with shuffles) the distinct sets they give are
    the plain brute force's."""
    from skanalyze.core.channels import reached_sets

    values = {S.C: 36, S.F: 36, S.K: 18, S.M: 2, S.N: 3}
    texts = [
        *every_kind_between_pws(),
        "GConv(M)+PWGConv(N)",
        "PWGConv(M)+DW+PWGConv(N)",
        "DW+PW",
        "PW+DW+PW",
    ]
    for text in texts:
        design = parse(text)
        vals = {k: v for k, v in values.items() if k in design.free_symbols | {S.C, S.F, S.K}}
        layers = design.at(vals)
        ops = tuple(op for lay in layers for op in lay.ops)
        plain = {sum(1 << c for c in s) for s in reach_by_ops(ops, layers[0].c_in)}
        assert set(reached_sets(ops, layers[0].c_in)) == plain, text


def test_the_fan_in_bound_never_rejects_a_full_field():
    """reaches_every_channel stops early where the product of the fan-ins is below C: that bound is never below
    what an output reaches (plain brute force), so the verdict is the brute force's at every group number."""
    from skanalyze.core.channels import reach_bound
    from skanalyze.core.infofield import reaches_every_channel

    for text in ("GConv(M)+PWGConv(N)", "PWGConv(M)+DW+PWGConv(N)", "GConv(M)+Shuffle(M)+GConv(N)"):
        design = parse(text)
        for c in (12, 24, 36):
            for m in (d for d in range(1, c + 1) if c % d == 0):
                for n in (d for d in range(1, c + 1) if c % d == 0):
                    vals = {S.C: c, S.F: c, S.K: c // 2, S.M: m, S.N: n}
                    vals = {k: v for k, v in vals.items() if k in design.free_symbols | {S.C, S.F}}
                    try:
                        layers = design.at(vals)
                    except SkanalyzeError:
                        continue
                    ops = tuple(op for lay in layers for op in lay.ops)
                    plain = reach_by_ops(ops, c)
                    assert max(len(s) for s in plain) <= reach_bound(ops, c), (text, c, m, n)
                    assert reaches_every_channel(design, vals) == all(len(s) == c for s in plain)
