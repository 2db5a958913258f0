"""Exact integer arithmetic for compiled expressions: no float on any path that ends in an integer.

``lambdify(modules="math")`` prints a rational coefficient such as 9/16 as the float division
``9/16``, so its results drift once they pass 2**53. Here an expression is split into numerator
and denominator, both scaled to integer-coefficient polynomials, and evaluated with Python
integers (arbitrary precision); the quotient is an ``int`` when whole, else a ``Fraction``.
Expressions that are not rational functions (Max, sqrt, Piecewise) fall back to sympy's own
exact substitution.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache

import sympy as sp

Number = int | Fraction


def _integer_polys(num: sp.Expr, den: sp.Expr, args) -> tuple[sp.Poly, sp.Poly, int] | None:
    """num and den scaled by one positive integer to integer-coefficient polynomials in args, and that integer;
    or None."""
    try:
        polys = [sp.Poly(e, *args) for e in (num, den)]
    except sp.PolynomialError:
        return None
    if any(not (p.domain.is_ZZ or p.domain.is_QQ) for p in polys):
        return None
    scale = sp.ilcm(*(sp.Rational(c).q for p in polys for c in p.coeffs()))
    num_poly, den_poly = (sp.Poly(p.as_expr() * scale, *args, domain="ZZ") for p in polys)
    return num_poly, den_poly, int(scale)


def _poly_fn(poly: sp.Poly) -> Callable[..., int]:
    """An integer polynomial as a function of integers (Python source, so it is fast)."""
    names = [f"a{i}" for i in range(len(poly.gens))]
    terms = []
    for monom, coeff in poly.terms():
        factors = [str(int(coeff))]
        factors += [f"{n}**{e}" if e > 1 else n for n, e in zip(names, monom, strict=True) if e]
        terms.append("*".join(factors))
    body = " + ".join(terms) or "0"
    namespace: dict = {}
    exec(f"def f({', '.join(names)}):\n    return {body}\n", namespace)  # noqa: S102 - generated from integers
    return namespace["f"]


def _to_int(value):
    """Python ints and integral Fractions pass through; anything else must already be exact."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a size")
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return value
    if isinstance(value, sp.Integer):
        return int(value)
    if isinstance(value, sp.Rational):
        return Fraction(int(value.p), int(value.q))
    raise TypeError(f"{value!r} is not an exact number")


def compile_exact(expr, args) -> Callable[..., Number]:
    """expr as a function of exact numbers (ints or Fractions) returning an exact int or Fraction.

    A tuple or list of expressions compiles to one function returning a tuple, their shared
    subexpressions computed once (params and MACs of a layer: MACs = H * W * params).

    >>> f = compile_exact(sp.Rational(9, 16) * sp.Symbol("x") ** 2, [sp.Symbol("x")])
    >>> f(10**20)
    5625000000000000000000000000000000000000
    """
    if isinstance(expr, (tuple, list)):
        return _compiled(tuple(sp.sympify(e) for e in expr), tuple(args), True)
    return _compiled((sp.sympify(expr),), tuple(args), False)


@lru_cache(maxsize=4096)
def _compiled(exprs: tuple, args: tuple, many: bool) -> Callable[..., Number]:
    """compile_exact, once per expressions and arguments (the compiled function holds no state).

    Python ints (the common case) take one generated function: the integer numerator and
    denominator, and an exact floor division when it leaves no remainder. Anything else (a
    Fraction, a sympy number, a bool, a float, a remainder, a zero denominator) goes to
    ``_general``, one exact function per expression.
    """
    if not exprs:
        return lambda *values: ()
    parts = []
    for expr in exprs:
        num, den = sp.fraction(sp.together(expr))
        parts.append((expr, num, den, _integer_polys(num, den, args) if args else None))
    if any(polys is None for *_, polys in parts):
        singles = tuple(_compiled_one(expr, args, polys) for expr, _, _, polys in parts)
        return _combine(singles, many)
    built: list = []

    def general(*values):  # built on first use: the Python-int path rarely needs it
        if not built:
            built.append(_combine(tuple(_compiled_one(e, args, polys) for e, _, _, polys in parts), many))
        return built[0](*values)

    namespace: dict = {"_general": general, "_int": int}
    exec(_source(parts, args), namespace)  # noqa: S102 - generated from integer polynomials
    return namespace["exact"]


def _combine(singles: tuple, many: bool) -> Callable:
    """One function of several exact ones (a tuple of their values), or the one itself."""
    if not many:
        return singles[0]
    return lambda *values: tuple(f(*values) for f in singles)


def _integer_form(expr: sp.Expr, poly: sp.Poly, args) -> sp.Expr:
    """expr itself when it is an integer polynomial in args equal to poly (a factored form multiplies less),
    else poly expanded."""
    plain = all(n.is_Integer for n in expr.atoms(sp.Number)) and all(
        p.exp.is_Integer and p.exp > 0 for p in expr.atoms(sp.Pow)
    )
    if plain and expr.free_symbols <= set(args) and sp.Poly(expr, *args, domain="ZZ") == poly:
        return expr
    return poly.as_expr()


def _source(parts: list, args: tuple) -> str:
    """The Python-int path of compile_exact as the source of one function (each expression a quotient of integer
    polynomials)."""
    forms = []
    for _, num, den, (num_poly, den_poly, scale) in parts:
        forms.append((_integer_form(num * scale, num_poly, args), _integer_form(den * scale, den_poly, args)))
    names = [sp.Symbol(f"a{i}") for i in range(len(args))]
    rename = dict(zip(args, names, strict=True))
    flat = [e.xreplace(rename) for pair in forms for e in pair]
    if len(parts) > 1:  # one function for several outputs: what they share is computed once
        shared, flat = sp.cse(flat, symbols=sp.numbered_symbols("x"), order="none")
    else:
        shared = []
    call = ", ".join(map(str, names))
    lines = [f"    {s} = {e}" for s, e in shared]
    results = []
    for i in range(len(parts)):
        num, den = flat[2 * i], flat[2 * i + 1]
        if den == 1:
            results.append(str(num))
            continue
        lines += [
            f"    n{i} = {num}",
            f"    d{i} = {den}",
            f"    if not d{i} or n{i} % d{i}:",
            f"        return _general({call})",
        ]
        results.append(f"n{i} // d{i}")
    guard = " is ".join(f"type({n})" for n in names) + " is _int"
    out = results[0] if len(parts) == 1 else "(" + ", ".join(results) + ",)"
    return "\n".join(
        [
            f"def exact({call}):",
            f"    if not {guard}:",
            f"        return _general({call})",
            *lines,
            f"    return {out}",
            "",
        ]
    )


def _compiled_one(expr: sp.Expr, args: tuple, polys) -> Callable[..., Number]:
    """One expression as an exact function of ints, Fractions and sympy rationals (polys: its integer numerator
    and denominator, or None where it is no quotient of polynomials)."""
    if not args:
        if not expr.is_Rational:
            raise ValueError(f"{expr} is not a rational number")
        const = int(expr) if expr.is_Integer else Fraction(int(expr.p), int(expr.q))
        return lambda: const
    if polys is None:
        return _fallback(expr, args)
    num, den = _poly_fn(polys[0]), _poly_fn(polys[1])

    def exact(*values):
        vals = [v if type(v) is int else _to_int(v) for v in values]
        if all(type(v) is int for v in vals):
            n, d = num(*vals), den(*vals)
            if d == 1:  # the fast path: a polynomial at integers
                return n
            if d and n % d == 0:
                return n // d
        elif all(isinstance(v, int) for v in vals):
            n, d = num(*vals), den(*vals)
        else:
            n, d = Fraction(num(*vals)), Fraction(den(*vals))
        if d == 0:
            raise ZeroDivisionError(f"{expr} at {values}")
        q = Fraction(n, d) if isinstance(n, int) else n / d
        return int(q) if q.denominator == 1 else q

    return exact


def _fallback(expr: sp.Expr, args) -> Callable[..., Number]:
    def slow(*values):
        subs = {
            a: sp.Rational(_to_int(v))
            if not isinstance(v, Fraction)
            else sp.Rational(v.numerator, v.denominator)
            for a, v in zip(args, values, strict=True)
        }
        value = sp.sympify(expr).xreplace(subs)
        value = sp.simplify(value) if not value.is_Rational else value
        if not value.is_Rational:
            raise ValueError(f"{expr} is not rational at {values}: {value}")
        return int(value) if value.is_Integer else Fraction(int(value.p), int(value.q))

    return slow


_OPS = {
    "<=": lambda v: v <= 0,
    "<": lambda v: v < 0,
    ">=": lambda v: v >= 0,
    ">": lambda v: v > 0,
    "==": lambda v: v == 0,
    "!=": lambda v: v != 0,
}


def compile_condition(cond, args) -> Callable[..., bool]:
    """A condition compiled to an exact test on positive integers.

    Each relation lhs ~ rhs becomes the sign of the integer numerator of lhs - rhs, when its
    denominator has positive coefficients (so is positive at positive arguments); otherwise the
    exact value of lhs - rhs decides.
    """
    if cond is sp.true or cond is sp.false:
        truth = bool(cond)
        return lambda *a: truth
    if isinstance(cond, (sp.And, sp.Or)):
        parts = [compile_condition(c, args) for c in cond.args]
        combine = all if isinstance(cond, sp.And) else any
        return lambda *a: combine(p(*a) for p in parts)
    if isinstance(cond, sp.Not):
        inner = compile_condition(cond.args[0], args)
        return lambda *a: not inner(*a)
    if isinstance(cond, sp.core.relational.Relational) and cond.rel_op in _OPS:
        test = _OPS[cond.rel_op]
        num, den = sp.fraction(sp.together(cond.lhs - cond.rhs))
        polys = _integer_polys(num, den, list(args))
        if polys is not None and all(c > 0 for c in polys[1].coeffs()):
            sign = _poly_fn(polys[0])
            return lambda *a: test(sign(*(_to_int(v) for v in a)))
        diff = compile_exact(cond.lhs - cond.rhs, args)
        return lambda *a: test(diff(*a))
    raise ValueError(f"cannot compile the condition {cond}")


def divisors(n: int) -> list[int]:
    """The positive divisors of a positive integer, ascending.

    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    out = [1]
    for prime, power in sp.factorint(
        n
    ).items():  # by factorisation (Pollard rho), not trial division: 10^18 in ms
        out = [d * prime**e for d in out for e in range(power + 1)]
    return sorted(out)


def as_positive_int(value) -> int | None:
    """The value as a positive int when it is a positive whole number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, sp.Basic):
        if not value.is_Rational:
            return None
        value = Fraction(int(value.p), int(value.q))
    value = Fraction(value)
    return int(value) if value.denominator == 1 and value > 0 else None


def floor_exact(expr) -> int:
    """The floor of a real sympy number exactly (sqrt and rationals included), also beyond 2**53."""
    expr = sp.sympify(expr)
    if expr.is_Rational:
        return int(expr.p // expr.q)
    root_floor = _root_power_floor(expr)
    if root_floor is not None:
        return root_floor
    if not expr.has(sp.CRootOf):
        # evalf keeps the digits it is asked for: 30 beyond the integer part leave the fraction decided unless
        # it is within 1e-10 of a whole number, which sympy's floor then settles exactly (15x faster on sqrt)
        digits = 30 + len(str(abs(int(expr.evalf(20)))))
        value = expr.evalf(digits)
        whole = int(sp.floor(value))
        if _MARGIN < value - whole < 1 - _MARGIN:
            return whole
    return int(sp.floor(expr))  # sympy decides the floor of algebraic numbers exactly


_MARGIN = sp.Float(1e-10)


def _root_power_floor(expr: sp.Expr) -> int | None:
    """The floor of q * r**k (q a positive rational, r a positive real polynomial root, k a positive integer) from
    rational bounds on r that sympy certifies (``CRootOf.eval_rational``: within dx of r), 2-3x faster than
    ``sympy.floor`` on a fresh root; None for any other expression, or where the bounds do not decide it."""
    coeff, rest = expr.as_coeff_Mul()
    base, k = rest.as_base_exp()
    if not (
        coeff.is_Rational
        and coeff > 0
        and isinstance(base, sp.CRootOf)
        and base.is_real
        and k.is_Integer
        and k > 0
    ):
        return None
    for digits in (12, 40):
        dx = sp.Rational(1, 10**digits)
        mid = base.eval_rational(dx=dx, dy=0)
        low, high = mid - dx, mid + dx
        if low <= 0:
            return None
        # q * x**k grows with x > 0: r in [low, high] puts the value between these two
        below, above = coeff * low**k, coeff * high**k
        if below.p // below.q == above.p // above.q:
            return int(below.p // below.q)
    return None
