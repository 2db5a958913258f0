import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from skanalyze.core import catalog, kernels
from skanalyze.core import symbols as S
from skanalyze.core.design import Design, parse
from skanalyze.core.errors import SkanalyzeError


def plan(text):
    return [(lay.kernel.notation(), lay.c_in, lay.c_out) for lay in parse(text).layers]


def test_paper_notation_parses():
    for text in [
        "DW+PW",
        "GConv(M)+PWGConv(N)",
        "PW+DW+PW",
        "PWGConv(4)+DW+PWGConv(4)",
        "GConv(100)+PWGConv(2)",
    ]:
        assert parse(text).notation == text


@pytest.mark.parametrize(
    "alias, canonical",
    [
        ("gc", "GConv"),
        ("GroupConv", "GConv"),
        ("pwg", "PWGConv"),
        ("PWGC", "PWGConv"),
        ("dwconv", "DW"),
        ("Depthwise", "DW"),
        ("conv", "Conv"),
        ("STANDARD", "Conv"),
        ("pointwise", "PW"),
        ("1x1", "PW"),
        ("shuffle", "Shuffle"),
    ],
)
def test_aliases_case_insensitive(alias, canonical):
    assert kernels.lookup(alias).name == canonical


def test_free_groups_get_M_then_N():
    assert parse("GConv+PWGConv").notation == "GConv(M)+PWGConv(N)"
    assert parse("GConv(N)+PWGConv").notation == "GConv(N)+PWGConv(M)"
    assert parse("PWGConv+PWGConv+PWGConv").group_symbols == (S.M, S.N, S.symbol("G3"))


def test_channel_plans():
    assert plan("DW+PW") == [("DW", S.C, S.C), ("PW", S.C, S.F)]
    # GConv keeps C, the shuffle sits between the grouped layers
    assert plan("GConv(M)+PWGConv(N)") == [
        ("GConv(M)", S.C, S.C),
        ("Shuffle(M)", S.C, S.C),
        ("PWGConv(N)", S.C, S.F),
    ]
    assert plan("PW+DW+PW") == [("PW", S.C, S.K), ("DW", S.K, S.K), ("PW", S.K, S.F)]
    assert plan("PWGConv(M)+DW+PWGConv(N)") == [
        ("PWGConv(M)", S.C, S.K),
        ("DW", S.K, S.K),
        ("Shuffle(M)", S.K, S.K),
        ("PWGConv(N)", S.K, S.F),
    ]
    assert plan("Conv+Conv") == [("Conv", S.C, S.C), ("Conv", S.C, S.F)]
    assert plan("DW") == [("DW", S.C, S.C)]


def test_plan_and_shuffle_options():
    assert plan("PW+DW+PW [plan=keep]") == [("PW", S.C, S.C), ("DW", S.C, S.C), ("PW", S.C, S.F)]
    assert plan("GConv+PWGConv [shuffle=none]") == [("GConv(M)", S.C, S.C), ("PWGConv(N)", S.C, S.F)]
    assert plan("GConv(4)+Shuffle+PWGConv(2)") == [
        ("GConv(4)", S.C, S.C),
        ("Shuffle(4)", S.C, S.C),
        ("PWGConv(2)", S.C, S.F),
    ]
    # a group number of 1 mixes fully: no shuffle needed after it
    assert [lay.kernel.name for lay in parse("GConv(1)+PWGConv(2)").layers] == ["GConv", "PWGConv"]


def test_bottleneck_option_round_trips():
    d = parse("PW+DW+PW [K=6*C]")
    assert d.bottleneck == 6 * S.C
    assert d.notation == "PW+DW+PW [K=6*C]"
    assert parse(d.notation) == d


def test_kernel_options():
    d = parse("GConv(4, k=5, s=2)+PWGConv(2)")
    assert d.kernels[0] == kernels.GConv(g=4, k=5, s=2)
    assert d.notation == "GConv(4,k=5,s=2)+PWGConv(2)"


def test_catalog_designs():
    assert catalog.get("shufflenet-v1").notation == "PWGConv(4)+DW+PWGConv(4)"
    assert catalog.get("shufflenet-v1(8)").notation == "PWGConv(8)+DW+PWGConv(8)"
    assert catalog.get("resnext").notation == "PW+GConv(16)+PW [K=F/2]"
    assert catalog.get("mobilenet-v2").bottleneck == 6 * S.C
    assert [d.notation for d in catalog.paper_designs()] == [
        "DW+PW",
        "GConv(M)+PWGConv(N)",
        "PW+DW+PW",
        "PWGConv(M)+DW+PWGConv(N)",
    ]
    assert catalog.resolve("DW+PW").label is None
    assert catalog.resolve("dw-pw").label == "dw-pw"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("FooConv", "unknown kernel 'FooConv'"),
        ("DW++PW", "kernel 2 is empty"),
        ("DW+PW(3)", "PW takes no group number"),
        ("GConv(M", "cannot read"),
        ("GConv(1.5)", "must be a positive integer"),
        ("GConv(k=4)", "must be odd"),
        ("GConv(0)", "must be a positive integer"),
        ("DW(q=2)", "has no option 'q'"),
        ("PW+DW+PW [K=M]", "may use only C and F"),
        ("DW+PW [plan=wide]", "plan 'wide' is unknown"),
        ("DW+PW [shuffle=sometimes]", "shuffle 'sometimes' is unknown"),
        ("DW+PW [colour=red]", "unknown option 'colour'"),
        ("Shuffle+PW", "Shuffle needs a group number"),
        ("", "design is empty"),
    ],
)
def test_bad_designs_raise_one_line(text, fragment):
    with pytest.raises(SkanalyzeError) as err:
        _ = parse(text).layers
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_group_must_divide_channels():
    d = parse("GConv(M)+PWGConv(N)")
    with pytest.raises(
        SkanalyzeError, match=r"group number \(=5\) must be a positive integer dividing the 64"
    ):
        d.validate({S.C: 64, S.F: 64, S.M: 5, S.N: 2})
    d.validate({S.C: 64, S.F: 64, S.M: 4, S.N: 2})


@given(st.text(alphabet=st.sampled_from(list("GConvPWDSshufle()+[]=,0123456789MNKCF/* k")), max_size=40))
def test_parser_fuzz_parses_or_raises_own_error(text):
    try:
        design = parse(text)
        _ = design.layers
    except SkanalyzeError as err:
        assert "\n" not in str(err)


@given(st.text(max_size=40))
def test_parser_fuzz_arbitrary_text(text):
    try:
        _ = parse(text).layers
    except SkanalyzeError:
        pass


def test_designs_are_hashable_values():
    assert hash(parse("DW+PW")) == hash(parse("dw+pw"))
    assert isinstance(parse("DW+PW"), Design)
    with pytest.raises(AttributeError):
        parse("DW+PW").plan = "keep"


def test_symbolic_kernel_size():
    d = parse("Conv(k=k)")
    assert d.kernels[0].k == S.k
    assert sp.simplify(d.layers[0].params() - S.k**2 * S.C * S.F) == 0


def test_the_shufflenet_entry_says_where_its_shuffle_is():
    """The catalog's description names the order the unit is counted, built and trafficked in (the planner
    puts the shuffle before the second grouped conv); the paper's order, written out, moves more elements in a
    strided unit and has the same params and MACs."""
    from skanalyze.core.catalog import get
    from skanalyze.core.counting import macs_at, params_at
    from skanalyze.core.traffic import traffic_at

    unit = get("shufflenet-v1")
    kinds = [type(layer.kernel).__name__ for layer in unit.layers]
    assert kinds == ["PWGConv", "DW", "Shuffle", "PWGConv"]
    assert "PWGConv(g), DW, shuffle, PWGConv(g)" in unit_description("shufflenet-v1")
    ours, paper = parse("PWGConv(4)+DW(s=2)+PWGConv(4)"), parse("PWGConv(4)+Shuffle+DW(s=2)+PWGConv(4)")
    values = {"C": 16, "F": 32, "K": 8, "H": 4, "W": 4}
    assert params_at(ours, values) == params_at(paper, values)
    assert macs_at(ours, values) == macs_at(paper, values)
    assert traffic_at(ours, values) < traffic_at(paper, values)  # the shuffle runs on the stride-2 output


def unit_description(name):
    from skanalyze.core.catalog import ENTRIES

    return next(e.description for e in ENTRIES if e.name == name)


def test_the_shuffle_planner_reads_each_kernels_channel_ops():
    """A kernel whose own output is already interleaved (its channel_ops end with a shuffle) gets no second
    shuffle after it; one that keeps its groups apart does, before the next grouped kernel."""

    def inserted(text):
        return [str(lay.kernel.g) for lay in parse(text).layers if lay.inserted]

    assert inserted("GConv(M)+PWGConv(N)") == ["M"]  # ShuffleNet's rule
    assert inserted("PWGConv(M)+DW+PWGConv(N)") == ["M"]  # a depthwise conv keeps the groups apart
    assert inserted("SCC(mode=channel)+PWGConv(N)") == []  # SCC interleaves its two groups itself
    assert inserted("GConv(M)+SCC(mode=channel)") == ["M"]
    assert inserted("SSC(M,rest=none)+PWGConv(N)") == []  # the shifted pattern ends with its own shuffle
    assert inserted("SSC(M,rest=none,pattern=block)+PWGConv(N)") == ["M"]  # the block pattern is GConv(M)
    assert inserted("SSC(M)+PWGConv(N)") == []  # rest=pw reaches every channel
