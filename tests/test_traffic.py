"""Memory traffic formulas against the tensors of real torch modules, and against ShuffleNet V2's guidelines."""

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from skanalyze.core import counting, traffic
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError

from .conftest import valid_values


def test_pointwise_is_shufflenet_v2s_memory_access_cost():
    """Ma et al. 2018, Sec. 2: a 1x1 conv's MAC = h*w*(c1 + c2) + c1*c2 (their B = h*w*c1*c2 FLOPs)."""
    h, w, c1, c2 = S.H, S.W, S.C, S.F
    assert sp.expand(traffic.traffic(parse("PW")) - (h * w * (c1 + c2) + c1 * c2)) == 0
    assert sp.expand(counting.macs(parse("PW")) - h * w * c1 * c2) == 0


def test_g1_equal_widths_minimise_traffic_at_fixed_macs_over_integers():
    """Guideline G1, decided on integers by brute force: among 1x1 convs with c1*c2 fixed, c1 = c2 moves least."""
    pw = parse("PW")
    for hw, product in [(56, 64 * 64), (14, 256 * 256), (7, 36 * 36)]:
        options = [(c1, product // c1) for c1 in range(1, product + 1) if product % c1 == 0]
        cost = {(c1, c2): traffic.traffic_at(pw, {"C": c1, "F": c2, "H": hw, "W": hw}) for c1, c2 in options}
        root = round(product**0.5)
        assert min(cost, key=cost.get) == (root, root)


def test_g2_more_groups_move_more_at_fixed_macs():
    """Guideline G2: a 1x1 group conv with g groups, widened to keep its MACs (c = c0*sqrt(g)), moves more as g grows."""
    pwg = parse("PWGConv(M)")
    hw, c0 = 28, 32
    costs = []
    for g in (1, 4, 16, 64):
        c = c0 * {1: 1, 4: 2, 16: 4, 64: 8}[g]
        v = {"C": c, "F": c, "M": g, "H": hw, "W": hw}
        assert counting.macs_at(pwg, v) == hw * hw * c0 * c0  # the same MACs at every g
        costs.append(traffic.traffic_at(pwg, v))
    assert costs == sorted(costs) and len(set(costs)) == len(costs)


def test_bytes_and_intensity():
    d = parse("GConv(M)+PWGConv(N)")
    v = {"C": 64, "F": 128, "M": 8, "N": 4, "H": 14, "W": 14}
    elements = traffic.traffic_at(d, v)
    assert traffic.bytes_at(d, v) == 4 * elements and traffic.bytes_at(d, v, 2) == 2 * elements
    ratio = traffic.intensity(d).subs({**{S.symbol(k): x for k, x in v.items()}, S.b: 4})
    assert ratio == sp.Rational(counting.macs_at(d, v), 4 * elements)


def test_huge_sizes_stay_exact():
    d = parse("PWGConv(M)+DW+PWGConv(N)")
    big = {"C": 10**12, "F": 4 * 10**12, "K": 10**12, "M": 10**6, "N": 10**6, "H": 10**5, "W": 10**5}
    value = traffic.traffic_at(d, big)
    assert value == traffic.traffic(d).subs({S.symbol(k): x for k, x in big.items()})


@pytest.mark.parametrize(
    "values, needle",
    [({"C": 8, "F": 8}, "needs values for H"), ({"C": 8, "F": 8, "H": 2.0, "W": 2}, "positive integer")],
)
def test_bad_values_are_errors(values, needle):
    with pytest.raises(SkanalyzeError, match=needle):
        traffic.traffic_at(parse("PW"), values)
    with pytest.raises(SkanalyzeError, match="bytes per element"):
        traffic.bytes_at(parse("PW"), {"C": 8, "F": 8, "H": 2, "W": 2}, 0)


torch = pytest.importorskip("torch")
from skanalyze import nn  # noqa: E402

from .test_torch_agreement import DESIGNS  # noqa: E402  (every catalog design, custom ones, every kernel kind)


def measured_traffic(module, shape) -> tuple[int, int, int]:
    """Elements each kernel module reads (its input tensor), holds (its parameters) and writes (its output),
    summed over the modules, read off the real tensors of a forward pass at batch 1."""
    totals = [0, 0, 0]

    def hook(mod, inputs, output):
        totals[0] += inputs[0].numel()
        totals[1] += sum(p.numel() for p in mod.parameters())
        totals[2] += output.numel()

    handles = [child.register_forward_hook(hook) for child in module]
    with torch.no_grad():
        module(torch.zeros(shape))
    for h in handles:
        h.remove()
    return tuple(totals)


@pytest.mark.parametrize("name", DESIGNS)
@given(data=st.data())
def test_traffic_matches_the_module_tensors(name, data):
    from skanalyze.core import catalog

    design = catalog.resolve(name)
    values = data.draw(valid_values(design))
    module = nn.build(design, values)
    h, w = counting.input_size(design, values[S.H], values[S.W])
    reads, weights, writes = measured_traffic(module, (1, int(values[S.C]), int(h), int(w)))
    parts = {k: v.xreplace(values) for k, v in traffic.traffic_parts(design).items()}  # integers for symbols
    assert (parts["reads"], parts["weights"], parts["writes"]) == (reads, weights, writes)
    assert traffic.traffic(design).xreplace(values) == reads + weights + writes
    assert traffic.traffic_at(design, {str(k): v for k, v in values.items()}) == reads + weights + writes
