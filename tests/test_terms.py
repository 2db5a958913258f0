"""The fast factor_terms against sympy's own (the oracle): the same expression tree, hence the same printed
text, on generated sums and products of monomials (positive, negative and rational coefficients, negative
powers, shared factors), and on every catalog design's counts, traffic and intensity."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.core import counting, terms, traffic
from skanalyze.core import symbols as S
from skanalyze.core.catalog import ENTRIES

SYMBOLS = [S.C, S.F, S.H, S.W, S.M, S.N, S.K, S.b]

monomials = st.builds(
    lambda c, powers: c * sp.Mul(*(s**e for s, e in zip(SYMBOLS, powers, strict=False))),
    st.one_of(
        st.integers(1, 60), st.integers(1, 60), st.integers(-20, -1), st.fractions(-9, 9, max_denominator=8)
    ),
    st.lists(st.integers(-2, 3), min_size=1, max_size=len(SYMBOLS)),
)
sums = st.lists(monomials, min_size=1, max_size=6).map(lambda ts: sp.Add(*ts))


def same(expr) -> bool:
    """The fast path gives exactly sympy's tree and text; whether the fast path (not sympy) answered."""
    ours, theirs = terms.factor_terms(expr), sp.factor_terms(expr)
    assert ours == theirs and ours.args == theirs.args and sp.srepr(ours) == sp.srepr(theirs)
    assert str(ours) == str(theirs) and sp.sstr(ours, order="grlex") == sp.sstr(theirs, order="grlex")
    return terms.integer_form(expr) is not None


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(sums, st.integers(1, 12), st.lists(st.integers(-2, 3), min_size=len(SYMBOLS), max_size=len(SYMBOLS)))
def test_a_sum_with_a_shared_factor_is_factored_as_sympy_does(total, scale, powers):
    shared = scale * sp.Mul(*(s**e for s, e in zip(SYMBOLS, powers, strict=True)))
    same(total)
    same(sp.expand(shared * total))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(sums, sums, st.integers(1, 12), st.integers(-2, 2))
def test_a_ratio_of_sums_is_left_as_sympy_leaves_it(top, bottom, coefficient, power):
    if bottom == 0:
        return
    same(coefficient * counting.canonical(top) / (S.b * counting.canonical(bottom)))
    same(top * bottom**power)


def test_every_catalog_design_gives_sympys_forms():
    answered = []
    for entry in ENTRIES:
        design = entry.design()
        for rows in (counting.breakdown(design), counting.breakdown(design, bn=True)):
            for what in ("params", "macs"):
                total = sp.expand(sum((getattr(r, what) for r in rows), sp.Integer(0)))
                answered += [(same(total), total), (same(sp.expand(2 * total)), total)]
        moved = sp.expand(sum((r.total for r in traffic.layer_traffic(design)), sp.Integer(0)))
        answered.append((same(moved), moved))
        answered.append((same(counting.macs(design) / traffic.traffic_bytes(design)), moved))
        if design.uses_bottleneck:
            same(counting.macs(design, substitute_k=True) / traffic.traffic_bytes(design, substitute_k=True))
    # where every coefficient is an integer (all but a fixed bottleneck such as ShuffleNet's K/4), the
    # integer path answers, and does so for most of the catalog
    integral = [fast for fast, total in answered if all(t.as_coeff_Mul()[0].is_Integer for t in total.args)]
    assert all(integral) and len(integral) > 0.7 * len(answered)


def test_generated_positive_sums_take_the_integer_path():
    assert terms.integer_form(9 * S.C**2 / S.M + S.C * S.F / S.N) == S.C * (9 * S.C / S.M + S.F / S.N)
    assert terms.integer_form(S.C * S.K / 4 + 9 * S.K) is None  # a rational coefficient: sympy answers


def test_what_is_not_a_monomial_sum_goes_to_sympy():
    assert not same(S.C + sp.sqrt(S.F) + sp.Max(S.M, S.N))
    assert not same(2 * S.C * sp.floor(S.F / 2) + 4 * S.C)
    assert not same(-2 * S.C - 4 * S.F)
    assert not same(sp.Rational(1, 2) * (2 * S.C + S.F))
    assert not same(sp.Integer(0))
    assert same(S.C)
