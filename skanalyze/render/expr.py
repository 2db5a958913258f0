"""Expression printers: pretty (one-line unicode), one-line text, LaTeX and Python, and the small
layout helpers the report printers share.

Expressions are printed with the symbol names of skanalyze.symbols, so every string can be
read back with ``sympy.sympify(text, locals=skanalyze.symbols.by_name)``.
"""

from __future__ import annotations

import re

import sympy as sp

from ..core import symbols as S


def text(expr) -> str:
    """One-line form that sympy.sympify reads back (an equation prints as ``lhs = rhs``)."""
    if isinstance(expr, sp.Equality):
        return f"{text(expr.lhs)} = {text(expr.rhs)}"
    return sp.sstr(sp.sympify(expr), order="grlex") if isinstance(expr, sp.Basic) else str(expr)


def latex(expr) -> str:
    """LaTeX form."""
    return sp.latex(sp.sympify(expr))


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def pretty(expr) -> str:
    """One-line unicode form: C·(F + 9), 9·C²/M, √(F)/3.

    (sympy's 2-D printer is not used: it imports sympy.physics, half a second at start-up.)
    """
    out = text(expr)
    out = re.sub(r"\*\*(-?\d+)\b", lambda m: m.group(1).translate(_SUPERSCRIPT), out)
    out = re.sub(r"\bsqrt\(", "√(", out)
    out = out.replace("<=", "≤").replace(">=", "≥").replace("**", "^").replace("*", "·")
    return out


def python(expr) -> str:
    """A Python expression (math module names for sqrt etc.)."""
    return sp.pycode(sp.sympify(expr), fully_qualified_modules=False)


def expr(e, fmt: str) -> str:
    """An expression in one of the formats (json gives the one-line text)."""
    return {"pretty": pretty, "latex": latex, "python": python}.get(fmt, text)(e)


def slug(name: str) -> str:
    """A Python identifier made from a design notation or label."""
    out = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    return out if out and not out[0].isdigit() else f"d_{out}"


def block(label: str, rows: list[tuple[str, str]], fmt: str, sep: str = "=") -> str:
    """A titled block of name = value rows; multi-line values are indented under their name."""
    lines = [label]
    width = max((len(name) for name, _ in rows), default=0)
    for name, value in rows:
        value_lines = value.splitlines() or [""]
        if len(value_lines) == 1:
            lines.append(f"  {name.ljust(width)} {sep} {value_lines[0]}")
        else:
            lines.append(f"  {name}:")
            lines += [f"      {v}" for v in value_lines]
    return "\n".join(lines)


def python_function(name: str, e) -> str:
    """``def name(args): return expr`` with the expression's symbols as arguments, sorted."""
    e = sp.sympify(e)
    args = ", ".join(sorted((str(s) for s in e.free_symbols), key=S.symbol_order))
    return f"def {name}({args}):\n    return {python(e)}\n"


def seconds(value: float) -> str:
    """A time with a readable unit (s, ms, us, ns), three significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"
