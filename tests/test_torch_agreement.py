"""Every formula against real torch modules, over many random valid sizes (hypothesis)."""

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from skanalyze import nn  # noqa: E402
from skanalyze.core import catalog, counting  # noqa: E402
from skanalyze.core import symbols as S  # noqa: E402
from skanalyze.core.design import parse  # noqa: E402
from skanalyze.core.infofield import field, propagate  # noqa: E402
from skanalyze.core.kernels import registered  # noqa: E402

from .conftest import load_example, valid_values  # noqa: E402

load_example("shift_kernel")  # a kernel registered from outside the package is covered like the built-in ones

CUSTOM = [
    "Conv(s=2)+Conv",
    "PW+Conv(s=2)+PW",
    "GConv(M,k=5)+PWGConv(N)",
    "DW(k=5,d=2)+PW",
    "GConv(M,s=2)+PWGConv(N)+DW",
    "PWGConv(M)+DW(s=2)+PWGConv(N) [shuffle=none]",
    "GConv(M)+PWGConv(N) [shuffle=none]",
    "PW+DW+PW [K=F/2]",
    "PWGConv+PWGConv+PWGConv",
    "SSC(M,rest=none,pattern=block)+PW",
    "SCC(s=2)+PWGConv(N)",
    "Line(angle=45,d=2)+Line(angle=135)",
    "Line(orient=slice,angle=30)",
    "PW+SSC(M)+Line(angle=90,s=2)",
    "SCC(mode=channel)+PWGConv(N)",  # no second shuffle after a kernel that interleaves its own groups
    "SSC(M,rest=none)+PWGConv(N)",
]
# every registered kernel kind, between two PWs (a kind with a fixed argument, like Shuffle, gets 2)
KINDS = [f"PW+{cls.name}{'(2)' if cls.arg and not cls.free_arg else ''}+PW" for cls in registered()]
# and between grouped neighbours with no shuffle: a kind's channel connectivity meets group boundaries there
# (between two full pointwise convs a wrong connectivity inside a group is invisible)
GROUPED = [
    f"PWGConv(M)+{cls.name}{'(2)' if cls.arg and not cls.free_arg else ''}+PWGConv(N) [shuffle=none]"
    for cls in registered()
]
DESIGNS = [e.name for e in catalog.ENTRIES] + CUSTOM + KINDS + GROUPED


def test_every_kind_is_covered():
    assert "PW+Shift+PW" in KINDS and len(KINDS) == len(GROUPED) == len(registered()) >= 10


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
@given(data=st.data())
def test_params_and_macs_match_torch(name, data):
    design = catalog.resolve(name)
    values = data.draw(valid_values(design))
    bn = data.draw(st.booleans())
    module = nn.build(design, values, bn=bn)
    assert counting.params(design, bn=bn).subs(values) == nn.count_params(module)
    h, w = counting.input_size(design, values[S.H], values[S.W])
    shape = (1, int(values[S.C]), int(h), int(w))
    assert counting.macs(design).subs(values) == nn.count_macs(module, shape)
    # FLOPs against torch's own counter directly (count_macs halves it, so it is no oracle for FLOPs)
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(shape))
    assert counting.flops(design).subs(values) == counter.get_total_flops()


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
@given(data=st.data())
def test_field_matches_autograd(name, data):
    design = catalog.resolve(name)
    values = data.draw(valid_values(design))
    x, y, c = (sp.sympify(e).subs(values) for e in field(design).as_tuple())
    measured = nn.measure_field(
        nn.build(design, values), int(values[S.C]), nn.field_probe_size(design, values)
    )
    assert propagate(design, values) == (measured.x, measured.y, measured.c_min, measured.c_max)
    assert (x, y) == (measured.x, measured.y)
    at = field(design, values)  # at concrete sizes the printed field is exact, aligned or not
    assert (at.x, at.y, at.c, at.largest) == (measured.x, measured.y, measured.c_min, measured.c_max)
    if at.aligned:
        # where every group boundary aligns, the symbolic expression itself is exact and uniform
        assert c == measured.c_min == measured.c_max


def test_channel_shuffle_is_a_permutation():
    shuffle = nn.ChannelShuffle(3)
    x = torch.arange(12.0).view(1, 12, 1, 1)
    out = shuffle(x).flatten().tolist()
    assert sorted(out) == list(range(12))
    assert out[:4] == [0.0, 4.0, 8.0, 1.0]
    assert nn.count_params(shuffle) == 0


def test_verify_reports_agreement():
    result = nn.verify(parse("PWGConv(4)+DW+PWGConv(4)"), {S.C: 32, S.F: 64})
    for key in ("params", "macs", "field"):
        assert result[key][0] == result[key][1]
