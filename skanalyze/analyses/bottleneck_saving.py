"""The bottleneck exception of the design space's efficiency stage, decided: does a word's bottleneck version
(first kernel C -> K = F/4, last K -> F) have fewer parameters than the word without its last kernel, at F = C,
for every feasible size? Proven by a sign argument over the domain, else refuted by an integer point, else
undecided."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from ..core import symbols as S
from ..core.design import parse
from ..core.exact import divisors

SMALLEST_C = 4  # the least C whose bottleneck K = F/4 = C/4 is a whole channel
DOMAIN = (
    "integers C >= 4, F = C, K = C/4 and group numbers >= 1 (proof over the reals: linear in each 1/g, so "
    "extreme at g = 1 or g -> oo, where it is a polynomial in C with no root on C >= 4)"
)


@dataclass(frozen=True)
class Saving:
    """The bottleneck exception's parameter argument: proven, refuted (with a point), or undecided."""

    verdict: str  # proven | refuted | undecided
    diff: sp.Expr  # params(bottleneck) - params(the word without its last kernel), at F = C
    witness: dict | None = None  # a feasible integer point where the bottleneck does not save
    witness_value: int | None = None

    @property
    def proven(self) -> bool:
        """The bottleneck saves parameters at every feasible size."""
        return self.verdict == "proven"


def _monomials(terms: dict, groups: list[sp.Symbol]) -> dict[tuple, Fraction] | None:
    """The terms {monomial: coefficient} as exponents (of u = 1/g for each group number, then of C); None when a
    group number appears in a numerator or C in a denominator (not a polynomial in the u and C)."""
    out: dict[tuple, Fraction] = {}
    for monomial, coeff in terms.items():
        powers = monomial.as_powers_dict()
        if set(powers) - {S.C, *groups, sp.S.One}:
            return None
        exps = tuple(-int(powers.get(g, 0)) for g in groups) + (int(powers.get(S.C, 0)),)
        if any(e < 0 for e in exps):
            return None
        out[exps] = out.get(exps, 0) + Fraction(int(coeff.p), int(coeff.q))
    return out


def _negative_on_domain(diff: sp.Expr, groups: list[sp.Symbol], terms: dict | None = None) -> bool | None:
    """True: diff < 0 for every real C >= 4 and every group number in [1, oo); None: not decided this way.
    With diff's terms given, the sufficient corner test runs in integer arithmetic first."""
    monomials = _monomials(terms, groups) if terms is not None else None
    if monomials is not None and all(e <= 1 for m in monomials for e in m[:-1]):
        if _below_zero_at_every_corner(monomials.items(), len(groups)):
            return True
    us = [sp.Dummy(f"u{g}") for g in groups]
    try:  # a sum of monomials in C and 1/g: with u = 1/g a polynomial (a group number in a numerator is not)
        poly = sp.Poly(diff.xreplace({g: 1 / u for g, u in zip(groups, us, strict=True)}), *us, S.C)
    except sp.PolynomialError:
        return None
    if any(poly.degree(u) > 1 for u in us):
        return None
    if _below_zero_at_every_corner(((m, Fraction(int(c.p), int(c.q))) for m, c in poly.terms()), len(us)):
        return True
    for corner in itertools.product((0, 1), repeat=len(us)):
        p = poly
        for u, value in zip(us, corner, strict=True):
            p = p.eval(u, value)  # exact: a polynomial in the remaining variables
        p = sp.Poly(p.as_expr(), S.C) if not isinstance(p, sp.Poly) or p.gens != (S.C,) else p
        if p.is_zero or not p.eval(SMALLEST_C) < 0:
            return None
        if all(c <= 0 for c in p.shift(SMALLEST_C).all_coeffs()):
            continue  # p(SMALLEST_C + x) has no positive coefficient: negative for every x >= 0
        if p.count_roots(SMALLEST_C, None) > 0:
            return None
    return True


def _below_zero_at_every_corner(terms, n: int) -> bool:
    """A sufficient test, linear in the terms (the corners are 2^n): with C = SMALLEST_C + x, the part with no
    group number plus the positive coefficients of every other part has no positive coefficient and is negative
    at x = 0. Every corner's polynomial is at most that one, coefficient by coefficient, for every x >= 0."""
    parts: dict[tuple, dict[int, Fraction]] = {}
    for monom, coeff in terms:  # (exponents of the n u's and of C, an exact coefficient)
        part = parts.setdefault(monom[:n], {})
        part[monom[n]] = part.get(monom[n], 0) + coeff
    bound: dict[int, Fraction] = {}
    for key, part in parts.items():
        shifted: dict[
            int, Fraction
        ] = {}  # sum c_k (4 + x)^k = sum_k c_k sum_j binom(k, j) 4^(k-j) x^j, exactly
        for k, c in part.items():
            for j in range(k + 1):
                shifted[j] = shifted.get(j, 0) + c * math.comb(k, j) * SMALLEST_C ** (k - j)
        for j, c in shifted.items():
            if not any(key) or c > 0:
                bound[j] = bound.get(j, 0) + c
    return bound.get(0, 0) < 0 and all(c <= 0 for c in bound.values())


def _feasible_points(full, trimmed, groups, c_max: int = 256):
    """Integer points of the domain: C a multiple of 4 up to c_max, F = C, K = C/4, every group number
    dividing every width it splits in both designs."""
    for c in range(SMALLEST_C, c_max + 1, 4):
        widths = {S.C: c, S.F: c, S.K: c // 4}
        options = []
        for g in groups:
            common = 0
            for design in (full, trimmed):
                for lay in design.layers:
                    if lay.kernel.arg and sp.sympify(lay.kernel.argument()) == g:
                        for w in (lay.c_in, lay.c_out):
                            common = math.gcd(common, int(sp.sympify(w).subs(widths)))
            options.append(divisors(common) if common else [1])
        for combo in itertools.product(*options):
            yield {**widths, **dict(zip(groups, combo, strict=True))}


@lru_cache(maxsize=4096)
def bottleneck_saving(names: tuple[str, ...]) -> Saving:
    """Whether the bottleneck version of a word saves parameters over the word without its last kernel.

    Both at F = C: the bottleneck maps C -> K = F/4 -> ... -> F; the trimmed word maps C -> F. The
    sign is decided over the feasible domain (see DOMAIN); when that proof does not go through, the
    integer points C <= 256 with dividing group numbers are searched for a point where it does not save.
    """
    full = parse("+".join(names), plan="bottleneck")
    trimmed = parse("+".join(names[:-1]), plan="keep")
    at = {S.K: sp.sympify(full.bottleneck).subs(S.F, S.C), S.F: S.C}

    terms: dict = {}  # monomial -> coefficient of params(full) - params(trimmed), collected without expand
    for design, sign in ((full, 1), (trimmed, -1)):
        for lay in design.layers:  # widths substituted first, so a layer's count is a sum of monomials
            count = lay.kernel.params(at.get(lay.c_in, lay.c_in), at.get(lay.c_out, lay.c_out))
            for term in sp.Add.make_args(count if count.is_Mul or count.is_Atom else sp.expand_mul(count)):
                coeff, monomial = term.as_coeff_Mul()
                terms[monomial] = terms.get(monomial, 0) + sign * coeff
    terms = {m: c for m, c in terms.items() if c != 0}
    diff = sp.Add(*(c * m for m, c in terms.items()))
    groups = sorted(diff.free_symbols - {S.C}, key=str)
    if _negative_on_domain(diff, groups, terms):
        return Saving("proven", diff)
    for point in _feasible_points(full, trimmed, groups):
        value = diff.subs(point)
        if value >= 0:
            return Saving("refuted", diff, {str(k): v for k, v in point.items() if k != S.K}, int(value))
    return Saving("undecided", diff)
