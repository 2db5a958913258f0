import pytest
import sympy as sp
from hypothesis import given
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
