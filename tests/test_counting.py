"""Exact expressions: the paper's formulas (PAPER-NOTES.md, k = 3) and the counting convention."""

import pytest
import sympy as sp

from skanalyze.core import counting
from skanalyze.core import symbols as S
from skanalyze.core.design import parse

C, F, K, M, N, H, W = S.C, S.F, S.K, S.M, S.N, S.H, S.W


def same(a, b):
    return sp.simplify(a - b) == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Conv", 9 * C * F),
        ("DW+PW", 9 * C + C * F),
        ("GConv(M)+PWGConv(N)", 9 * C**2 / M + C * F / N),
        ("PW+DW+PW", K * (C + F + 9)),
        ("PWGConv(M)+DW+PWGConv(N)", K * (C / M + 9 + F / N)),
    ],
)
def test_paper_params(text, expected):
    assert same(counting.params(parse(text)), expected)
    assert same(counting.macs(parse(text)), expected * H * W)
    assert same(counting.flops(parse(text)), 2 * expected * H * W)


def test_bottleneck_substitution():
    assert same(counting.params(parse("PW+DW+PW"), substitute_k=True), F / 4 * (C + F + 9))
    assert same(counting.params(parse("PW+DW+PW [K=6*C]"), substitute_k=True), 6 * C * (C + F + 9))


def test_symbolic_kernel_size_and_dilation():
    assert same(counting.params(parse("Conv(k=k)")), S.k**2 * C * F)
    assert same(counting.params(parse("GConv(M,k=5,d=2)+PW")), 25 * C**2 / M + C * F)


def test_stride_puts_earlier_layers_at_larger_sizes():
    d = parse("PW+Conv(s=2)+PW")
    expected = C * K * (2 * H) * (2 * W) + 9 * K * K * H * W + K * F * H * W
    assert same(counting.macs(d), expected)
    assert counting.input_size(d, 7, 7) == (14, 14)


def test_bn_counts_two_per_conv_channel_not_shuffles():
    d = parse("GConv(M)+PWGConv(N)")
    assert same(counting.params(d, bn=True) - counting.params(d), 2 * C + 2 * F)


def test_integers_give_exact_integers():
    d = parse("PWGConv(4)+DW+PWGConv(4)")
    value = counting.params(d, substitute_k=True).subs({C: 560, F: 560})
    assert value.is_Integer and value == 140 * (140 + 9 + 140)


def test_shuffle_is_free():
    assert counting.params(parse("GConv(4)+Shuffle(4)+PWGConv(4) [shuffle=none]")) == counting.params(
        parse("GConv(4)+PWGConv(4)")
    )


def test_params_at_equals_substitution():
    from skanalyze.core import catalog

    for name in ["gconv-pwgconv", "pwgconv-dw-pwgconv", "resnext", "mobilenet-v2"]:
        d = catalog.get(name)
        values = {S.C: 64, S.F: 128, S.K: d.bottleneck.subs({S.C: 64, S.F: 128}), S.M: 4, S.N: 8}
        assert counting.params_at(d, values) == counting.params(d).subs(values)
        assert counting.params_at(d, values, bn=True) == counting.params(d, bn=True).subs(values)
