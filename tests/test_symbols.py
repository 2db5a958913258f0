import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError


def test_symbols_are_positive_and_named():
    for name, sym in S.by_name.items():
        assert sym.name == name
        assert sym.is_positive


def test_sympify_reads_back_with_project_symbols():
    expr = 9 * S.C**2 / S.M + S.C * S.F / S.N
    assert sp.sympify(str(expr), locals=S.by_name) == expr


@pytest.mark.parametrize(
    "text, expected",
    [
        ("F/4", S.F / 4),
        ("6*C", 6 * S.C),
        ("64", sp.Integer(64)),
        ("(C+F)/2", (S.C + S.F) / 2),
        ("C^2", S.C**2),
        ("C**2/M", S.C**2 / S.M),
        ("-3+5", sp.Integer(2)),
        ("0.5*F", S.F / 2),
    ],
)
def test_parse_expr(text, expected):
    assert S.parse_expr(text) == expected


@pytest.mark.parametrize("text", ["", "C+", "(C", "C)", "foo", "C/0", "2^100", "C $ F", "import os"])
def test_parse_expr_rejects(text):
    with pytest.raises(SkanalyzeError):
        S.parse_expr(text)


@given(st.text(max_size=30))
def test_parse_expr_parses_or_raises_own_error(text):
    try:
        S.parse_expr(text)
    except SkanalyzeError:
        pass


def test_parse_subs_and_resolve():
    subs = S.parse_subs(["C=64", "F=2*C", "M=4,N=8"])
    assert subs == {S.C: 64, S.F: 2 * S.C, S.M: 4, S.N: 8}
    assert S.resolve(subs)[S.F] == 128


@pytest.mark.parametrize("item", ["C", "X=3", "C=-4", "C=0", "=4", "C=abc"])
def test_parse_subs_rejects(item):
    with pytest.raises(SkanalyzeError):
        S.parse_subs([item])


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(1, 10**20), min_size=7, max_size=7),
    st.sampled_from([int, sp.Integer, lambda v: sp.Rational(v, 3)]),
)
def test_values_at_numbers_are_what_subs_gives(numbers, kind):
    # the oracle: sympy's subs; `at` takes xreplace only when every value is a number
    from skanalyze.core.catalog import ENTRIES

    names = [S.C, S.F, S.K, S.M, S.N, S.H, S.W]
    values = {s: kind(v) for s, v in zip(names, numbers, strict=True)}
    for entry in ENTRIES[:12]:
        for layer in entry.design().layers:
            for expr in (layer.c_in, layer.c_out, layer.params()):
                assert S.at(expr, values) == sp.sympify(expr).subs(values)
    chained = {S.K: S.F / 4, S.F: sp.Integer(64)}  # a value that is no number: subs, one value after another
    assert S.at(S.K + S.F, chained) == (S.K + S.F).subs(chained)
