"""The Python printer: formulas as plain Python functions of their symbols, exact at any size.

A formula with a denominator (``C*(9*C/M + F/N)``) is printed as integer numerator and denominator
divided by ``_exact``: an ``int`` when the division is whole, else a ``fractions.Fraction``, never a
float (``/`` would round past 2**53).
"""

from __future__ import annotations

import sympy as sp

from . import prints
from .expr import python, python_function, slug

EXACT = '''from fractions import Fraction


def _exact(num, den):
    """num / den exactly: an int when whole, else a Fraction."""
    q, r = divmod(num, den)
    return q if r == 0 else Fraction(num, den)
'''


def exact_function(name: str, e) -> str:
    """``def name(args)`` returning the expression exactly (integer arithmetic, ``_exact`` for a quotient)."""
    e = sp.sympify(e)
    num, den = sp.fraction(sp.together(e))
    if den == 1 or not (num.is_polynomial() and den.is_polynomial()):
        return python_function(name, e)
    scale = sp.ilcm(*(sp.Rational(c).q for part in (num, den) for c in sp.Poly(part).coeffs()))
    num, den = sp.expand(num * scale), sp.expand(den * scale)
    head = python_function(name, e).splitlines()[0]
    return f"{head}\n    return _exact({python(num)}, {python(den)})\n"


@prints("formulas", "python")
def formulas(rows: list[dict]) -> str:
    """`skanalyze formulas --format python`: params, MACs, FLOPs, traffic, bytes and intensity as functions."""
    out = [
        "# skanalyze formulas: params, MACs (output size H x W), FLOPs = 2 x MACs, memory traffic (elements),\n"
        "# bytes (b bytes per element) and intensity (MACs per byte); exact: int, or Fraction for a ratio",
        EXACT,
    ]
    for row in rows:
        title = row["design"] + (f"   [{row['name']}] {row['description']}" if row["name"] else "")
        name = slug(row["name"] or row["design"])
        out.append(f"# {title}")
        for what in ("params", "macs", "flops", "traffic", "bytes", "intensity"):
            out.append(exact_function(f"{what}_{name}", row[what]))
    return "\n\n".join(out) + "\n"
