"""The one search (analyses/search.py) that every budget question uses, against brute forces written plainly here:
the largest integer under a monotone cost, and the scan down widths for the cheapest acceptable choice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.analyses.search import largest_fitting, widest_scan


@settings(max_examples=400, deadline=None)
@given(
    threshold=st.integers(-5, 10**6),
    start=st.integers(0, 50),
    limit=st.one_of(st.none(), st.integers(0, 2 * 10**6)),
    first=st.one_of(st.none(), st.integers(0, 3000)),
)
def test_largest_fitting_is_the_brute_force_answer(threshold, start, limit, first):
    calls = []

    def fits(n):
        calls.append(n)
        return n <= threshold

    got = largest_fitting(fits, start, limit, first=first)
    top = threshold if limit is None else min(threshold, max(limit, start))
    want = top if threshold >= start else None
    assert got == want
    assert len(calls) <= 2 * (threshold.bit_length() + 64)  # a gallop and a bisection, never a scan


def test_largest_fitting_with_a_real_cost():
    assert largest_fitting(lambda n: n * n <= 1000) == 31
    assert largest_fitting(lambda n: 3 * n + 7 <= 10**12) == (10**12 - 7) // 3
    assert largest_fitting(lambda n: n <= 7, start=8) is None


choices = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5)), max_size=6)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(
    table=st.lists(choices, min_size=1, max_size=12),
    budget=st.integers(0, 40),
    rejected=st.sets(st.tuples(st.integers(1, 12), st.integers(0, 5))),
    max_scan=st.one_of(st.none(), st.integers(1, 12)),
)
def test_widest_scan_is_the_brute_force_answer(table, budget, rejected, max_scan):
    top = len(table)

    def costs_at(width):
        return [(cost, (width, tag)) for cost, tag in table[width - 1]]

    def accept(width, choice):
        return (width, choice[1]) not in rejected

    got = widest_scan(top, costs_at, budget, accept, max_scan)
    want = None
    for searched, width in enumerate(range(top, 0, -1), 1):
        if max_scan is not None and searched > max_scan:
            break
        fitting = [(c, ch) for c, ch in costs_at(width) if c <= budget and accept(width, ch)]
        if fitting:
            cheapest = min(c for c, _ in fitting)
            choice = next(ch for c, ch in fitting if c == cheapest)  # ties: the first given
            want = (width, choice, cheapest, searched)
            break
    assert got == want


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5000))
def test_divisors_are_every_divisor_in_order(n):
    from skanalyze.core.exact import divisors

    assert divisors(n) == [d for d in range(1, n + 1) if n % d == 0]


def test_divisors_of_huge_widths_come_from_the_factorisation():
    from skanalyze.core.exact import divisors

    d = divisors(10**18)  # 2^18 * 5^18: trial division would take 10^9 steps
    assert len(d) == 19 * 19 and d[0] == 1 and d[-1] == 10**18 and all(10**18 % x == 0 for x in d)
    assert divisors(2**61 - 1) == [1, 2**61 - 1]  # a Mersenne prime
    assert divisors(999_999_999_999_999_989 * 3) == [1, 3, 999_999_999_999_999_989, 2_999_999_999_999_999_967]
