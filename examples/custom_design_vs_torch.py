"""Property-test a design of your own against real torch modules.

For many random valid sizes, the symbolic parameter count, MAC count and information field
must equal what torch measures (sum of p.numel(), FlopCounterMode / 2, autograd).

    python examples/custom_design_vs_torch.py "GConv(M,k=5)+PWGConv(N)+DW(s=2)"
"""

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze import field, nn, parse
from skanalyze.core import counting
from skanalyze.core import symbols as S

design = parse(sys.argv[1] if len(sys.argv) > 1 else "PWGConv(M)+DW(k=5)+PWGConv(N) [K=F/2]")


@st.composite
def sizes(draw):
    values = {g: draw(st.sampled_from([1, 2, 4])) for g in design.group_symbols}
    unit = 4 * max(values.values(), default=1) ** 2
    values[S.C] = unit * draw(st.integers(1, 3))
    values[S.F] = 2 * unit * draw(st.integers(1, 3))
    if design.uses_bottleneck:
        values[S.K] = design.bottleneck.subs(values)
    values[S.H] = values[S.W] = draw(st.integers(3, 7))
    return values


@settings(max_examples=30, deadline=None)
@given(sizes())
def check(values):
    module = nn.build(design, values)
    h, w = counting.input_size(design, values[S.H], values[S.W])
    assert counting.params(design).subs(values) == nn.count_params(module)
    assert counting.macs(design).subs(values) == nn.count_macs(module, (1, values[S.C], int(h), int(w)))
    x, y, c = field(design, values).as_tuple()
    measured = nn.measure_field(module, values[S.C], nn.field_probe_size(design, values))
    assert (x, y, c) == (measured.x, measured.y, measured.c_min), (values, measured)


if __name__ == "__main__":
    check()
    print(f"{design.notation}: params, MACs and field agree with torch on 30 random sizes")
