"""compile_exact against sympy's own exact substitution (the oracle): generated quotients of polynomials with
integer, negative and rational coefficients at ints of any size, zero and negative values included; several
expressions compiled into one function; every catalog design's params and MACs; and what is not an exact
number refused, as before."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.core import counting
from skanalyze.core import symbols as S
from skanalyze.core.catalog import BY_NAME
from skanalyze.core.exact import compile_exact

ARGS = [S.C, S.F, S.K, S.M, S.N]

monomials = st.builds(
    lambda c, powers: c * sp.Mul(*(s**e for s, e in zip(ARGS, powers, strict=False))),
    st.one_of(st.integers(-20, 60), st.fractions(-9, 9, max_denominator=8)),
    st.lists(st.integers(0, 3), min_size=1, max_size=len(ARGS)),
)
polys = st.lists(monomials, min_size=1, max_size=4).map(lambda ts: sp.Add(*ts))
# a quotient kept as sympy builds it (factored, nested), the shape counting's closed forms have
quotients = st.builds(lambda a, b, c: a * (b + 1 / c) if c != 0 else a * b, polys, polys, polys)
values = st.one_of(st.integers(-50, 50), st.integers(1, 10**30))


def oracle(expr, vals):
    """sympy's exact value, or None where the expression as written is undefined (a 1/0 inside it)."""
    value = expr.xreplace({a: sp.Integer(v) for a, v in zip(ARGS, vals, strict=True)})
    if value.has(sp.zoo, sp.nan) or not value.is_Rational:
        return None
    return int(value) if value.is_Integer else Fraction(int(value.p), int(value.q))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(quotients, st.lists(values, min_size=len(ARGS), max_size=len(ARGS)))
def test_one_expression_equals_sympy(expr, vals):
    """The Python-int path and its fallback give sympy's exact value wherever it is defined: an int when whole,
    else a Fraction. (Where a 1/0 inside cancels, as in C*(1 + 1/C) at C = 0, the quotient's value is given.)"""
    want = oracle(expr, vals)
    if want is not None:
        got = compile_exact(expr, ARGS)(*vals)
        assert got == want and type(got) is type(want)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(quotients, min_size=2, max_size=4), st.lists(values, min_size=len(ARGS), max_size=len(ARGS)))
def test_several_expressions_in_one_function(exprs, vals):
    """A tuple compiles to one function whose values are each expression's own, shared parts or not."""
    want = tuple(oracle(e, vals) for e in exprs)
    if None not in want:
        got = compile_exact(tuple(exprs), ARGS)(*vals)
        assert got == want and [type(g) for g in got] == [type(w) for w in want]


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_catalog_params_and_macs_in_one_call(name):
    """Each catalog design's params and MACs, compiled together, equal sympy's substitution at sizes that
    build and at 10^18."""
    design = BY_NAME[name].design()
    p, m = counting.params(design), counting.macs(design)
    syms = sorted(p.free_symbols | m.free_symbols, key=str)
    both = compile_exact((p, m), syms)
    for scale in (1, 10**15):
        vals = {s: 64 * scale for s in syms}
        vals.update({s: 4 for s in syms if s.name in ("M", "N", "G", "b")})
        got = both(*(vals[s] for s in syms))
        want = tuple(e.xreplace({s: sp.Integer(v) for s, v in vals.items()}) for e in (p, m))
        assert got == tuple(int(w) for w in want) and all(type(g) is int for g in got)


def test_other_exact_numbers_take_the_general_path():
    """Fractions and sympy numbers are exact: they give the same values as ints; a remainder gives a Fraction."""
    expr = S.K * (S.C / S.M + S.F / S.N + 9)
    fn = compile_exact(expr, ARGS)
    assert fn(256, 256, 64, 4, 4) == fn(sp.Integer(256), 256, Fraction(64), 4, sp.Integer(4)) == 8768
    assert fn(3, 1, 1, 2, 1) == Fraction(23, 2)
    assert fn(Fraction(1, 2), 0, 2, 1, 1) == 19


@pytest.mark.parametrize("bad", [True, 2.0, float("nan"), "3"])
def test_what_is_no_exact_number_is_refused(bad):
    """A bool, a float or a string is refused, never rounded, even where the expression ignores it."""
    with pytest.raises(TypeError):
        compile_exact(S.C * S.F, ARGS)(4, 4, bad, 1, 1)
    with pytest.raises(TypeError):
        compile_exact((S.C, S.C / S.M), ARGS)(bad, 4, 4, 1, 1)


def test_no_expressions_and_no_arguments():
    """An empty tuple gives an empty tuple; constants need no arguments."""
    assert compile_exact((), ARGS)(1, 2, 3, 4, 5) == ()
    assert compile_exact((sp.Integer(6), sp.Rational(3, 4)), [])() == (6, Fraction(3, 4))


def test_zero_denominator_raises():
    with pytest.raises(ZeroDivisionError):
        compile_exact(S.C / S.M, ARGS)(4, 4, 4, 0, 1)
    with pytest.raises(ZeroDivisionError):
        compile_exact((S.C, S.C / (S.M - S.N)), ARGS)(4, 4, 4, 2, 2)
