"""Whole networks: symbolic totals == compiled integers == torch, budgets against brute force, bad layouts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.analyses.network import Layout, counts, evaluate, network, unit_values, widest
from skanalyze.core import catalog
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError

DESIGNS = [
    "standard",
    "resnet-basic",
    "dw-pw",
    "pw-dw-pw",
    "GConv(2)+PWGConv(4)",
    "PWGConv(2)+DW+PWGConv(2)",
    "resnext(2)",
    "mobilenet-v2(2)",
    "PW+Conv+PW",
]

layouts = st.builds(
    Layout,
    input_size=st.just(32),
    blocks=st.sampled_from([(1, 1, 1, 1), (1, 2, 1, 1), (2, 1, 1, 1)]),
    units=st.integers(1, 2),
    stem_width=st.sampled_from([None, 8]),
    stride_at=st.sampled_from(["spatial", "first"]),
    widen_at=st.sampled_from(["plan", "first"]),
    shortcut=st.sampled_from(["projection", "zero-pad", "none"]),
    bn=st.booleans(),
    classifier=st.booleans(),
    classes=st.just(10),
    group_scaling=st.sampled_from(["fixed", "scale"]),
)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(DESIGNS), layout=layouts, width=st.sampled_from([8, 16, 24]))
def test_network_counts_match_torch(nn, name, layout, width):
    design = catalog.resolve(name)
    net = network(design, layout)
    try:
        params, macs = evaluate(net, width)
    except SkanalyzeError:
        return  # a group number that does not divide a width at this size: nothing to build
    sym = counts(net)
    assert sym.total_params.subs(S.width, width) == sum(params.values())
    assert sym.total_macs.subs(S.width, width) == sum(macs.values())
    module = nn.build_network(net, width)
    assert nn.network_counts(module, layout, bn=layout.bn) == (sum(params.values()), sum(macs.values()))


@pytest.mark.parametrize("bn", [False, True])
@pytest.mark.parametrize("name, width", [("resnet-basic", 16), ("dw-pw", 24)])
def test_full_size_224(nn, name, width, bn):
    net = network(catalog.get(name), Layout(bn=bn))
    params, macs = evaluate(net, width)
    module = nn.build_network(net, width)
    assert nn.network_counts(module, net.layout, bn=bn) == (sum(params.values()), sum(macs.values()))
    if bn:  # the built module's every parameter, BN included
        assert sum(p.numel() for p in module.parameters()) == sum(params.values())


def test_resnet18_is_the_standard_layout():
    # torchvision's ResNet-18 has 11,689,512 parameters: a 7x7 stem, basic blocks widening at the first conv
    net = network(parse("Conv+Conv"), Layout(widen_at="first", stem_kernel=7, bn=True))
    assert sum(evaluate(net, 64)[0].values()) == 11_689_512
    # the paper's Table 1 stem is 3x3: 7*7*3*64 - 3*3*3*64 = 7680 fewer
    assert (
        sum(evaluate(network(parse("Conv+Conv"), Layout(widen_at="first", bn=True)), 64)[0].values())
        == 11_689_512 - 7680
    )
    # the default counts no BN: ResNet-18's BNs have 64 + 4*64 + (4+1)*128 + (4+1)*256 + (4+1)*512 = 4800
    # channels (the stem's, two per basic block, one per downsampling projection), 2 parameters each
    assert sum(
        evaluate(network(parse("Conv+Conv"), Layout(widen_at="first", stem_kernel=7)), 64)[0].values()
    ) == (11_689_512 - 2 * 4800)


def test_symbolic_blocks():
    design = catalog.get("pw-dw-pw")
    sym = counts(network(design, Layout(blocks=(S.B,) * 4))).total_params
    for b in (1, 3):
        concrete = sum(evaluate(network(design, Layout(blocks=(b,) * 4)), 64)[0].values())
        assert sym.subs({S.B: b, S.width: 64}) == concrete
    assert sym.free_symbols == {S.B, S.width}


def test_per_stage_parts():
    params, macs = evaluate(network(catalog.get("dw-pw"), Layout()), 32)
    assert list(params) == ["stem", "stage 1", "stage 2", "stage 3", "stage 4", "classifier"]
    assert params["classifier"] == 256 * 1000 + 1000 and macs["classifier"] == 256 * 1000


def reaches_every_channel(design, values) -> bool:
    """Plain channel reachability (the oracle): output f of a conv with g groups reads the inputs of its group,
    output p of Shuffle(g) reads input (p % g) * (c / g) + p // g; full when every output reaches all C."""
    reach = None
    for layer in design.layers:
        lay = layer.subs(values)
        c_in, c_out, kern = int(lay.c_in), int(lay.c_out), lay.kernel
        reach = reach or [{c} for c in range(c_in)]
        if kern.name == "Shuffle":
            g = int(kern.g)
            reach = [reach[(p % g) * (c_in // g) + p // g] for p in range(c_in)]
        else:
            g = int(kern.groups(c_in))
            size_in, size_out = c_in // g, c_out // g
            reach = [
                set().union(*reach[(f // size_out) * size_in : (f // size_out + 1) * size_in])
                for f in range(c_out)
            ]
    return all(len(r) == int(values[S.C]) for r in reach)


def brute_widest(design, layout, budget, free_groups=False):
    best = None
    net = network(design, layout)
    for width in range(1, 200):
        divisors = [g for g in range(1, width + 1) if width % g == 0]
        choices = [(m, n) for m in divisors for n in divisors] if free_groups else [None]
        for groups in choices:
            g = {} if groups is None else dict(zip(design.group_symbols, groups, strict=True))
            try:
                total = sum(evaluate(net, width, g)[0].values())
            except SkanalyzeError:
                continue
            units = [
                (unit.design, values)
                for block, per_unit in zip(net.blocks, unit_values(net, width, g), strict=True)
                for unit, values in zip(block.units, per_unit, strict=True)
            ]
            if total <= budget and all(reaches_every_channel(d, v) for d, v in units):
                if best is None or (width, -total) > (best[0], -best[1]):
                    best = (width, total)
    return best


@pytest.mark.parametrize(
    "name, budget", [("dw-pw", 150_000), ("GConv(4)+PWGConv(2)", 300_000), ("pw-dw-pw", 200_000)]
)
def test_widest_equals_brute_force(name, budget):
    layout = Layout(input_size=32, blocks=(1, 1, 1, 1), classes=10)
    design = catalog.resolve(name)
    found = widest(design, layout, budget)
    assert (found.width, found.params) == brute_widest(design, layout, budget)


@pytest.mark.slow
def test_widest_with_free_groups():
    layout = Layout(input_size=32, blocks=(1, 1, 1, 1), classes=10)
    design = parse("GConv(M)+PWGConv(N)")
    found = widest(design, layout, 100_000)
    assert (found.width, found.params) == brute_widest(design, layout, 100_000, free_groups=True)
    assert found.params <= 100_000
    assert found.groups[S.M] * found.groups[S.N] <= found.width


def test_widest_dw_pw_under_11_2m():
    found = widest(catalog.get("dw-pw"), Layout(), 11_200_000)
    assert (
        found.params
        <= 11_200_000
        < sum(evaluate(network(catalog.get("dw-pw"), Layout()), found.width + 1)[0].values())
    )


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"blocks": (2, 0, 2, 2)}, "blocks per stage (=0) must be a positive integer"),
        ({"blocks": ()}, "at least one stage"),
        ({"input_size": 100}, "not divisible by the layout's total stride 32"),
        ({"shortcut": "dense"}, "shortcut 'dense' is unknown"),
        ({"group_scaling": "grow"}, "groups 'grow' is unknown"),
        ({"stem_kernel": 4}, "must be odd"),
    ],
)
def test_bad_layouts(kwargs, fragment):
    with pytest.raises(SkanalyzeError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Layout(**kwargs)


def test_width_that_does_not_divide():
    net = network(parse("GConv(32)+PWGConv(4)"), Layout())
    with pytest.raises(
        SkanalyzeError,
        match=r"width 72, stage 1: .*group number \(=32\) must be a positive integer dividing the 72",
    ):
        evaluate(net, 72)


def test_the_widest_search_reports_every_width_it_tries():
    """`network --budget` draws a progress bar from these steps: one per width, scanned down to the answer."""
    from skanalyze.analyses.layout import PAPER_LAYOUT
    from skanalyze.analyses.network import report as network_report

    steps = []
    data, _ = network_report(
        catalog.get("gconv-pwgconv"), PAPER_LAYOUT, None, 11_200_000, {}, on_step=lambda *a: steps.append(a)
    )
    widths = [int(what.split()[1]) for _, _, what in steps]
    assert [done for done, _, _ in steps] == list(range(1, len(steps) + 1))
    assert widths == list(range(widths[0], widths[0] - len(widths), -1)) and widths[-1] == data["width"]
