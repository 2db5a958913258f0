"""The one set of sympy symbols, and a small safe parser for expressions typed by users.

Every printed or exported expression uses exactly these names, so a string written by
skanalyze can be read back with ``sympy.sympify(text, locals=skanalyze.symbols.by_name)``.
"""

from __future__ import annotations

import re

import sympy as sp

from .errors import SkanalyzeError

C, F, K, M, N = sp.symbols("C F K M N", positive=True)
alpha, k, H, W, s, P = sp.symbols("alpha k H W s P", positive=True)
width, B = sp.symbols("width B", positive=True)
alpha_w, H_in, W_in = sp.symbols("alpha_w H_in W_in", positive=True)
b = sp.Symbol("b", positive=True)

DESCRIPTIONS: dict[str, str] = {
    "C": "input channels",
    "F": "output channels",
    "K": "bottleneck channels",
    "M": "group number of the first grouped layer",
    "N": "group number of the second grouped layer",
    "alpha": "output/input channel ratio, F = alpha*C",
    "k": "spatial kernel size",
    "H": "output height",
    "W": "output width",
    "s": "stride",
    "P": "parameter budget",
    "width": "input channels of the first network stage",
    "B": "blocks per network stage",
    "alpha_w": "width multiplier of an imported model (every scaled channel count times alpha_w)",
    "H_in": "input height of an imported model",
    "W_in": "input width of an imported model",
    "b": "bytes per element of activations and weights (4 for fp32, 2 for bf16)",
}

by_name: dict[str, sp.Symbol] = {
    sym.name: sym for sym in (C, F, K, M, N, alpha, k, H, W, s, P, width, B, alpha_w, H_in, W_in, b)
}


def group_symbol(index: int) -> sp.Symbol:
    """The symbol of the index-th free group number of a design: M, N, then G3, G4, ..."""
    if index == 0:
        return M
    if index == 1:
        return N
    return symbol(f"G{index + 1}")


def symbol(name: str) -> sp.Symbol:
    """The project's positive symbol called ``name`` (created once, then shared)."""
    if name not in by_name:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SkanalyzeError(f"symbol name {name!r} is not an identifier")
        by_name[name] = sp.Symbol(name, positive=True)
    return by_name[name]


_TOKEN = re.compile(
    r"\s*(?:((?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|[-+*/^()]))"
)


def parse_expr(text: str, *, new_symbols: bool = False, what: str = "expression") -> sp.Expr:
    """Parse arithmetic over numbers and symbol names (+ - * / ^ and parentheses), without eval.

    Numbers are exact: ``1e18`` is the integer 10**18, ``0.25`` the rational 1/4.

    >>> parse_expr("F/4")
    F/4
    >>> parse_expr("1e18")
    1000000000000000000
    """
    tokens: list[tuple[str, str]] = []
    pos, text = 0, str(text)
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise SkanalyzeError(
                f"{what} {text!r}: unexpected {text[pos:].strip()[:1]!r} at position {pos}; "
                "use numbers, symbol names and + - * / ^ ( )"
            )
        num, name, op = m.groups()
        tokens.append(("num", num) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    if not tokens:
        raise SkanalyzeError(f"{what} is empty; give a number or an expression such as F/4")
    parser = _Parser(tokens, text, new_symbols, what)
    value = parser.sum()
    if parser.i != len(tokens):
        raise SkanalyzeError(f"{what} {text!r}: unexpected {tokens[parser.i][1]!r}")
    return value


class _Parser:
    """Recursive descent over the tokens of parse_expr (sum > product > power > atom)."""

    def __init__(self, tokens, text, new_symbols, what):
        self.tokens, self.text, self.new_symbols, self.what = tokens, text, new_symbols, what
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise SkanalyzeError(f"{self.what} {self.text!r} ends too early")
        self.i += 1
        return self.tokens[self.i - 1]

    def sum(self) -> sp.Expr:
        value = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.product()
            value = value + rhs if op == "+" else value - rhs
        return value

    def product(self) -> sp.Expr:
        value = self.power()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.power()
            if op == "/" and rhs == 0:
                raise SkanalyzeError(f"{self.what} {self.text!r} divides by zero")
            value = value * rhs if op == "*" else value / rhs
        return value

    def power(self) -> sp.Expr:
        base = self.unary()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.power()
            if not (exponent.is_Rational and abs(exponent) <= 16):
                raise SkanalyzeError(
                    f"{self.what} {self.text!r}: exponent {exponent} must be a number between -16 and 16"
                )
            if base == 0 and exponent < 0:
                raise SkanalyzeError(f"{self.what} {self.text!r} divides by zero")
            return base**exponent
        return base

    def unary(self) -> sp.Expr:
        if self.peek() in ("-", "+"):
            sign = -1 if self.take()[1] == "-" else 1
            return sign * self.unary()
        return self.atom()

    def atom(self) -> sp.Expr:
        kind, value = self.take()
        if kind == "num":
            return sp.Rational(value) if any(ch in value for ch in ".eE") else sp.Integer(value)
        if kind == "name":
            if value in by_name or self.new_symbols:
                return symbol(value)
            raise SkanalyzeError(
                f"{self.what} {self.text!r}: unknown symbol {value!r}; valid: {', '.join(sorted(by_name))}"
            )
        if value == "(":
            inner = self.sum()
            if self.peek() != ")":
                raise SkanalyzeError(f"{self.what} {self.text!r}: missing ')'")
            self.take()
            return inner
        raise SkanalyzeError(f"{self.what} {self.text!r}: unexpected {value!r}")


def parse_subs(items: list[str] | tuple[str, ...]) -> dict[sp.Symbol, sp.Expr]:
    """Parse ``["C=64", "F=2*C"]`` into a substitution dict (values may use other symbols).

    >>> parse_subs(["C=64", "M=4"])
    {C: 64, M: 4}
    """
    out: dict[sp.Symbol, sp.Expr] = {}
    for item in items:
        for part in str(item).replace(",", " ").split():
            name, eq, value = part.partition("=")
            if not eq or not name:
                raise SkanalyzeError(f"substitution {part!r} is not NAME=VALUE, e.g. C=64")
            if name not in by_name:
                raise SkanalyzeError(
                    f"substitution {part!r}: unknown symbol {name!r}; valid: {', '.join(by_name)}"
                )
            if by_name[name] in out:
                raise SkanalyzeError(
                    f"substitution {part!r}: {name} is given twice ({name}={out[by_name[name]]} before); give it once"
                )
            val = parse_expr(value, what=f"value of {name}")
            if val.is_number and not val.is_positive:
                raise SkanalyzeError(f"substitution {part!r}: {name} must be positive")
            out[by_name[name]] = val
    return out


def keyed(values: dict | None) -> dict:
    """Values keyed by the project's symbols, whatever the user keyed them by: a name (``"C"``), a symbol
    they made (``sympy.Symbol("C")``, any assumptions) or ours; plain ints become sympy integers. A key
    that names no symbol is an error, never silently left unsubstituted."""
    out: dict = {}
    for key, value in (values or {}).items():
        name = key if isinstance(key, str) else getattr(key, "name", None)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SkanalyzeError(f"value key {key!r} is not a symbol or a symbol's name, e.g. 'C' or C")
        # ours when it is one; else the positive symbol of that name, without registering it as a project symbol
        key_ = by_name.get(name) or sp.Symbol(name, positive=True)
        out[key_] = sp.sympify(value) if isinstance(value, (int, str)) else value
    return out


def at(expr, values: dict) -> sp.Expr:
    """``expr.subs(values)``; when every key is a symbol and every value a number, by ``xreplace`` (the same
    result: replacing symbols by numbers all at once is what the substitution does one by one; 10x faster)."""
    expr = sp.sympify(expr)
    numbers = {}
    for key, value in values.items():
        value = sp.Integer(value) if type(value) is int else value
        if not (isinstance(key, sp.Symbol) and isinstance(value, sp.Number)):
            return expr.subs(values)
        numbers[key] = value
    return expr.xreplace(numbers)


def resolve(subs: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
    """Substitute values into each other until they are fixed (F=2*C, C=8 -> F=16)."""
    out = dict(subs)
    for _ in range(len(out) + 1):
        new = {key: sp.sympify(val).subs(out) for key, val in out.items()}
        if new == out:
            return out
        out = new
    raise SkanalyzeError(f"substitutions {subs} refer to each other in a cycle")


def symbol_order(name: str) -> tuple[int, str]:
    """Sort key of a symbol name: the canonical order of DESCRIPTIONS, then alphabetical."""
    order = list(DESCRIPTIONS)
    return (order.index(name) if name in order else len(order), name)


def symbols_of(*exprs) -> dict[str, str]:
    """Descriptions of the symbols used by some expressions, in the canonical order."""
    names = set()
    for e in exprs:
        if isinstance(e, sp.Basic):
            names |= {str(s) for s in e.free_symbols}
    return {n: DESCRIPTIONS.get(n, "free symbol") for n in sorted(names, key=symbol_order)}
