"""The field algebra: exact symbolic fields, laws of composition, numeric propagation vs torch."""

import random

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from skanalyze.core import catalog
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.infofield import Spatial, field, propagate, spatial, trace

C, F, K, M, N = S.C, S.F, S.K, S.M, S.N


@pytest.mark.parametrize(
    "text, c, condition",
    [
        ("Conv", C, sp.true),
        ("DW+PW", C, sp.true),
        ("GConv(M)+PWGConv(N)", sp.Min(C, C**2 / (M * N)), sp.Le(M * N, C)),
        ("PWGConv(M)+DW+PWGConv(N)", sp.Min(C, C * K / (M * N)), sp.Le(M * N, K)),
        ("GConv(M)+PWGConv(N) [shuffle=none]", sp.Max(C / M, C / N), sp.false),
        ("DW", 1, sp.false),
        ("GConv", C / M, sp.false),
        ("PW+DW+PW", C, sp.true),
    ],
)
def test_symbolic_fields(text, c, condition):
    f = field(parse(text))
    assert (f.x, f.y) == (3, 3)
    assert sp.simplify(f.c - c) == 0
    assert f.full_condition == condition


def test_stride_and_dilation_grow_the_spatial_field():
    f = field(parse("Conv(s=2)+Conv(k=5,d=2)"))
    assert (f.x, f.y) == (1 + 2 + 8 * 2, 19)
    assert field(parse("Conv(k=k)")).x == S.k


def test_trace_is_cumulative():
    rows = trace(parse("GConv(M)+PWGConv(N)"))
    assert [r[0].kernel.name for r in rows] == ["GConv", "Shuffle", "PWGConv"]
    assert rows[0][1] == (3, 3, C / M)


spatial_maps = st.builds(
    Spatial,
    st.integers(1, 9).map(sp.Integer),
    st.integers(1, 9).map(sp.Integer),
    st.integers(1, 3).map(sp.Integer),
)


@given(spatial_maps, spatial_maps, spatial_maps)
def test_spatial_composition_is_associative(a, b, c):
    assert a.then(b).then(c) == a.then(b.then(c))
    assert Spatial().then(a) == a == a.then(Spatial())


def test_spatial_composition_is_associative_symbolically():
    a, b, c = (Spatial(sp.Symbol(f"x{i}"), sp.Symbol(f"y{i}"), sp.Symbol(f"j{i}")) for i in range(3))
    left, right = a.then(b).then(c), a.then(b.then(c))
    assert all(
        sp.expand(u - v) == 0
        for u, v in zip((left.x, left.y, left.jump), (right.x, right.y, right.jump), strict=True)
    )


def test_field_of_a_concatenation_composes():
    design = parse("PW(s=2)+GConv(M,k=5)+PWGConv(N)+DW(d=2)")
    layers = design.layers
    for cut in range(1, len(layers)):
        assert spatial(layers) == spatial(layers[:cut]).then(spatial(layers[cut:]))


def _connectivity(ops, width):
    """Boolean connectivity matrix (outputs x inputs) of channel ops, built independently with numpy."""
    mat = np.eye(width, dtype=bool)
    for op in ops:
        if op[0] == "group":
            g, c_out = op[1], op[2]
            step = np.zeros((c_out, mat.shape[0]), dtype=bool)
            for o in range(c_out):
                grp = o // (c_out // g)
                step[o, grp * (mat.shape[0] // g) : (grp + 1) * (mat.shape[0] // g)] = True
        else:
            g, w = op[1], mat.shape[0]
            step = np.zeros((w, w), dtype=bool)
            for p in range(w):
                step[p, (p % g) * (w // g) + p // g] = True
        mat = (step.astype(int) @ mat.astype(int)) > 0
    return mat


@pytest.mark.parametrize("name", ["gconv-pwgconv", "pwgconv-dw-pwgconv", "shufflenet-v1", "resnext(4)"])
def test_channel_maps_compose(name):
    design = catalog.resolve(name)
    rng = random.Random(0)
    for _ in range(5):
        g = rng.choice([2, 4])
        values = {
            C: 32,
            F: 64,
            K: sp.sympify(design.bottleneck).subs({C: 32, F: 64}),
            M: g,
            N: rng.choice([2, 4]),
        }
        layers = design.at(values)
        ops = [op for lay in layers for op in lay.ops]
        whole = _connectivity(ops, 32)
        cut = rng.randrange(1, len(ops))
        first = _connectivity(ops[:cut], 32)
        second = _connectivity(ops[cut:], first.shape[0])
        assert np.array_equal(whole, (second.astype(int) @ first.astype(int)) > 0)
        x, y, c_min, c_max = propagate(design, values)
        assert c_min == whole.sum(axis=1).min() and c_max == whole.sum(axis=1).max()


def _plain_footprint(design, values):
    """The footprint by brute force: every (input channel, dy, dx) each output channel reads, as a set."""
    layers = design.at(values)
    fields = [{(c, 0, 0)} for c in range(layers[0].c_in)]
    jump = 1
    for lay in layers:
        kern = lay.layer.kernel.subs(values)
        fields = [
            {
                (c0, y0 + ty * jump, x0 + tx * jump)
                for channels, taps in pairs
                for c in channels
                for c0, y0, x0 in fields[c]
                for ty, tx in taps
            }
            for pairs in kern.connections(lay.c_in, lay.c_out)
        ]
        jump *= kern.s
    spots = [{(y, x) for _, y, x in f} for f in fields]
    ys = [y for f in fields for _, y, _ in f]
    xs = [x for f in fields for _, _, x in f]
    chans = [len({c for c, _, _ in f}) for f in fields]
    window = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    return (
        max(xs) - min(xs) + 1,
        max(ys) - min(ys) + 1,
        min(chans),
        max(chans),
        min(len(s) for s in spots),
        max(len(s) for s in spots),
        all(window <= s for s in spots),
    )


@pytest.mark.parametrize("name", [e.name for e in catalog.ENTRIES])
@pytest.mark.parametrize("c, groups", [(12, (2, 3)), (24, (4, 2)), (16, (4, 4))])
def test_footprint_equals_the_plain_walk(name, c, groups):
    """`footprint` (offsets to channel bitsets, a group merged once) equals the set of (channel, dy, dx) each
    output reads, walked plainly, for every catalog design with strides and group numbers."""
    from skanalyze.core.errors import SkanalyzeError
    from skanalyze.core.infofield import footprint

    design = catalog.get(name)
    values = {C: c, F: c, **dict(zip(design.group_symbols, groups, strict=False))}
    if design.uses_bottleneck:
        values[K] = sp.sympify(design.bottleneck).subs(values)
    try:
        design.at(values)
    except SkanalyzeError:
        pytest.skip(f"{name} does not build at {values}")
    fp = footprint(design, values)
    got = (fp.x, fp.y, fp.c_min, fp.c_max, fp.positions_min, fp.positions_max, fp.covers_window)
    assert got == _plain_footprint(design, values)
