"""Common factors pulled out of sums, fast: ``sympy.factor_terms`` for the expressions the counts are made of.

Every count, traffic and ratio of a design is a sum of monomials with positive integer coefficients in the
symbols (powers may be negative: ``9*C**2/M``), or a product of such sums. For those, ``factor_terms``
reduces to integer arithmetic: the gcd of the coefficients and, per symbol, the smallest power every term
shares (a positive power in every term, or a negative one in every term). This module computes that
directly and builds the very expression sympy builds (the same tree, so the same printed form), about 30x
faster; anything else (a rational or negative coefficient, a function, a non-integer power) goes to
``sympy.factor_terms`` itself. tests/test_terms.py holds it to sympy on generated expressions.
"""

from __future__ import annotations

import math

import sympy as sp


def _monomial(term: sp.Expr) -> tuple[int, dict] | None:
    """(coefficient, {symbol: power}) of a monomial with a positive integer coefficient, or None."""
    coeff, rest = term.as_coeff_Mul()
    if not (coeff.is_Integer and coeff > 0):
        return None
    powers = {}
    for factor in () if rest is sp.S.One else sp.Mul.make_args(rest):
        base, exp = factor.as_base_exp()
        if not (base.is_Symbol and exp.is_Integer and exp != 0):
            return None
        powers[base] = int(exp)
    return int(coeff), powers


def _sum_parts(expr: sp.Expr) -> tuple[int, dict] | None:
    """The gcd of a monomial sum's coefficients and its common monomial ({symbol: power}), or None."""
    parts = [_monomial(t) for t in expr.args]
    if any(p is None for p in parts):
        return None
    common = {}
    for symbol in parts[0][1]:
        powers = [p[1].get(symbol, 0) for p in parts]
        if all(e > 0 for e in powers):
            common[symbol] = min(powers)
        elif all(e < 0 for e in powers):
            common[symbol] = max(powers)
    return math.gcd(*(c for c, _ in parts)), common


def _factor_sum(expr: sp.Add) -> sp.Expr | None:
    """factor_terms of a sum of monomials with positive integer coefficients; None for any other sum."""
    found = _sum_parts(expr)
    if found is None:
        return None
    n, common = found
    if n == 1 and not common:
        return expr
    monomial = sp.Mul(*(s**e for s, e in common.items()))
    inner = sp.Add(*(t / (n * monomial) for t in expr.args))
    rest = monomial * inner
    if n == 1:
        return rest
    if rest.is_Add:  # the coefficient stays outside the sum, unevaluated: 2*(x + y)
        return sp.Mul(sp.Integer(n), rest, evaluate=False)
    return sp.Mul(sp.Integer(n), *rest.args, evaluate=False)  # as sympy's _keep_coeff puts it in front


def _is_primitive_sum(expr: sp.Expr) -> bool:
    """A sum of positive-integer monomials with no common factor: factor_terms leaves it as it is."""
    found = expr.is_Add and _sum_parts(expr)
    return bool(found) and found[0] == 1 and not found[1]


def _positive_integer(number: sp.Expr) -> bool:
    return bool(number.is_Integer and number > 0)


def _is_plain_factor(factor: sp.Expr) -> bool:
    """A factor that factor_terms leaves as it is inside a product with a positive integer coefficient: that
    coefficient, a symbol's integer power, or a primitive sum (or its integer power)."""
    base, exp = factor.as_base_exp()
    if _positive_integer(factor) or (base.is_Symbol and exp.is_Integer):
        return True
    return exp.is_Integer and _is_primitive_sum(base)


def integer_form(expr) -> sp.Expr | None:
    """factor_terms of a monomial sum or a product of them, done in integers; None for anything else."""
    expr = sp.sympify(expr)
    if expr.is_Add:
        return _factor_sum(expr)
    if expr.is_Symbol or (expr.is_Mul and _positive_integer(expr.as_coeff_Mul()[0])):
        if all(_is_plain_factor(f) for f in sp.Mul.make_args(expr)):
            return expr
    return None


def factor_terms(expr) -> sp.Expr:
    """``sympy.factor_terms(expr)``, with the sums and products the counts are made of done in integers."""
    fast = integer_form(expr)
    return fast if fast is not None else sp.factor_terms(expr)


__all__ = ["integer_form", "factor_terms"]
