"""Section 3.3 of the paper, derived by skanalyze and compared with PAPER-NOTES.md (k = 3)."""

import pytest
import sympy as sp

from skanalyze.analyses.efficiency import analyse, greatest_width, optimal_groups, ratios, theorem1_integers
from skanalyze.core import catalog
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError

C, F, K, M, N, a, P = S.C, S.F, S.K, S.M, S.N, S.alpha, S.P


def same(x, y):
    return sp.simplify(sp.sympify(x) - y) == 0


def test_ratios_match_the_paper():
    assert same(ratios(parse("DW+PW"))[0], 1 / F + sp.Rational(1, 9))
    assert same(ratios(parse("GConv(M)+PWGConv(N)"))[0], C / (M * F) + 1 / (9 * N))
    assert same(ratios(parse("PW+DW+PW"))[0], (C + F + 9) / (36 * C))
    assert same(ratios(parse("Conv"))[0], 1)
    # MACs are params x positions for stride-1 designs, so the ratios coincide
    for d in catalog.paper_designs():
        p_ratio, m_ratio = ratios(d)
        assert same(p_ratio, m_ratio)


def test_theorem1_gconv_pwgconv():
    opt = analyse(parse("GConv(M)+PWGConv(N)")).optimum
    assert opt.status == "boundary"
    assert opt.boundary == sp.Eq(M * N, C)
    assert same(opt.boundary_ratio, N / F + 1 / (9 * N))
    assert same(opt.groups[N], sp.sqrt(F) / 3)
    assert same(opt.groups[M], 3 * C / sp.sqrt(F))
    assert same(opt.ratio, 2 / (3 * sp.sqrt(F)))  # = 2*sqrt(N/(9F)) at the AM-GM equality
    # the optimum is a real configuration (1 <= N, M <= C) only when 9 <= F <= 9*C**2
    assert set(opt.valid_when) == {sp.Le(9, F), sp.Le(F, 9 * C**2)}


def test_theorem1_pwgconv_dw_pwgconv():
    opt = optimal_groups(parse("PWGConv(M)+DW+PWGConv(N)"))
    assert opt.boundary == sp.Eq(M * N, K)
    assert same(opt.groups[M], sp.sqrt(C * K / F))
    # with K = F/4 the optimum is M = sqrt(C)/2 (for any F, in particular F = C)
    assert same(opt.groups[M].subs(K, F / 4), sp.sqrt(C) / 2)


def test_unconstrained_groups_go_depthwise():
    opt = optimal_groups(parse("PW+GConv+PW"))
    assert opt.status == "unconstrained"
    assert opt.groups[M] == sp.Min(K, K)


def test_no_full_field_is_reported():
    assert optimal_groups(parse("GConv+PWGConv [shuffle=none]")).status == "none"


@pytest.mark.parametrize(
    "name, closed_form",
    [
        ("dw-pw", (-9 + sp.sqrt(81 + 4 * a * P)) / (2 * a)),
        ("gconv-pwgconv", (P / (6 * sp.sqrt(a))) ** sp.Rational(2, 3)),
        ("pw-dw-pw", (-9 * a + sp.sqrt(81 * a**2 + 16 * (a**2 + a) * P)) / (2 * (a**2 + a))),
    ],
)
def test_greatest_width_closed_forms(name, closed_form):
    w = greatest_width(catalog.get(name))
    assert w.width is not None
    for p_val, a_val in [(10**6, 1), (3 * 10**7, 2), (12345, sp.Rational(1, 2))]:
        assert (
            abs(float(w.width.subs({P: p_val, a: a_val})) - float(closed_form.subs({P: p_val, a: a_val})))
            < 1e-6
        )


def test_greatest_width_group_relations():
    assert greatest_width(catalog.get("gconv-pwgconv")).relation == sp.Eq(9 * N, a * M)
    assert greatest_width(catalog.get("pwgconv-dw-pwgconv")).relation == sp.Eq(N, a * M)


def test_pwgconv_dw_pwgconv_width_is_a_cubic_root():
    w = greatest_width(catalog.get("pwgconv-dw-pwgconv"))
    assert same(w.least, a * C / 4 * (9 + 4 * sp.sqrt(C)))  # PAPER-NOTES: P >= (alpha C/4)(9 + 4 sqrt(C))
    assert w.width is None and w.equation is not None
    c = w.at(10**6, 1)
    assert abs(float(w.least.subs({C: c, a: 1})) - 10**6) < 1e-6


def test_mac_budget_width():
    w = greatest_width(catalog.get("dw-pw"), "macs", 56)
    c = float(w.at(10**9, 1))
    assert abs(56 * 56 * (9 * c + c * c) - 10**9) < 1e-3


@pytest.mark.parametrize("name", ["gconv-pwgconv", "pwgconv-dw-pwgconv"])
def test_theorem1_holds_over_integers(name):
    check = theorem1_integers(catalog.get(name), range(2, 25), [8, 16, 24])
    assert check.checked > 20
    assert check.counterexamples == ()
    assert check.on_boundary == check.checked


def test_theorem1_integers_needs_a_boundary():
    with pytest.raises(SkanalyzeError, match="no Theorem-1 boundary"):
        theorem1_integers(catalog.get("dw-pw"), [4])


@pytest.mark.slow
def test_theorem1_fails_over_integers_for_a_wide_bottleneck():
    # K = 6*C (MobileNet v2's expansion): the groups are capped by the narrow outer widths and
    # divisibility keeps M*N = K out of reach, so the cheapest integers are off the boundary
    check = theorem1_integers(parse("PWGConv(M)+DW+PWGConv(N) [K=6*C]"), range(2, 13))
    assert len(check.counterexamples) > check.checked // 2
    values, least, on_boundary = check.counterexamples[0]
    assert (values[S.C], values[S.K], values[M], values[N]) == (2, 12, 2, 2) and on_boundary is None


def test_analyse_is_cached_and_complete():
    e = analyse(catalog.get("gconv-pwgconv"))
    assert e is analyse(catalog.get("gconv-pwgconv"))
    assert e.full_condition == sp.Le(M * N, C)
