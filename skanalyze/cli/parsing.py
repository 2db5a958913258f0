"""Command-line argument parsers: budgets, alpha, blocks per stage, design lists. Each raises a
one-line SkanalyzeError naming the value and what would be valid."""

from __future__ import annotations

import re
from fractions import Fraction

from ..core import symbols as S
from ..core.errors import SkanalyzeError

MAX_BUDGET = 10**13  # beyond this a single layer is absurd; the search would still answer, slowly
_SUFFIX = {"k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9, "T": 10**12}


def parse_budget(text) -> int:
    """A positive integer budget from '1000000', '1e6', '11.2M' (k, M, G, T suffixes)."""
    raw = str(text).strip()
    m = re.fullmatch(r"([-+]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKMGBT]?)", raw)
    if not m:
        raise SkanalyzeError(f"budget {raw!r} is not a number; e.g. 1000000, 1e6 or 11.2M")
    value = Fraction(m.group(1)) * _SUFFIX.get(m.group(2), 1)
    if value <= 0:
        raise SkanalyzeError(f"budget {raw!r} must be positive")
    if value.denominator != 1:
        raise SkanalyzeError(f"budget {raw!r} must be a whole number of parameters")
    if value > MAX_BUDGET:
        raise SkanalyzeError(f"budget {raw!r} is absurd for one layer; give at most {MAX_BUDGET:.0e}")
    return int(value)


def parse_alpha(text) -> Fraction:
    """alpha = F/C as a positive rational ('1', '2', '1/2', '0.5'): F = alpha*C must be an integer."""
    expr = S.parse_expr(str(text), what="alpha")
    if not (expr.is_Rational and expr > 0):
        raise SkanalyzeError(
            f"alpha (={text}) must be a positive rational number such as 1, 2 or 1/2, so that F = alpha*C is an integer"
        )
    return Fraction(int(expr.p), int(expr.q))


def split_designs(items: list[str]) -> list[str]:
    """Split comma-separated design lists, keeping commas inside (...) and [...]."""
    out: list[str] = []
    for item in items:
        depth, start = 0, 0
        for i, ch in enumerate(item):
            depth += ch in "([" and 1 or (-1 if ch in ")]" else 0)
            if ch == "," and depth == 0:
                out.append(item[start:i])
                start = i + 1
        out.append(item[start:])
    return [x.strip() for x in out if x.strip()]


def given_designs(items: list[str] | None, flag: str = "--designs") -> list[str] | None:
    """The designs a --designs option names; None when it was not given; an empty one is an error, never a
    silent fallback to the default."""
    if items is None:
        return None
    names = split_designs(items)
    if not names:
        raise SkanalyzeError(
            f"{flag} is empty; give design names, e.g. {flag} dw-pw,pw-dw-pw (or leave it out)"
        )
    return names


def parse_blocks(text: str) -> tuple:
    """'2,2,2,2' -> (2, 2, 2, 2); 'B' -> (B, B, B, B); '3' -> (3, 3, 3, 3)."""
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise SkanalyzeError(f"--blocks {text!r} is empty; e.g. 2,2,2,2 or B")
    if not all(parts):  # 1,,2 is not 1,2: a stage was left out
        raise SkanalyzeError(f"--blocks {text!r} has an empty entry; e.g. 2,2,2,2 or 3,4,6,3")
    out = []
    for part in parts:
        if part == "B":
            out.append(S.B)
        elif part.isdigit() and int(part) > 0:
            out.append(int(part))
        else:
            raise SkanalyzeError(
                f"--blocks {text!r}: {part!r} is not a positive integer or B; e.g. 2,2,2,2 or 3,4,6,3"
            )
    return tuple(out) if len(out) > 1 else (out[0],) * 4


def parse_shard(text: str) -> tuple[int, int]:
    """--shard I/N: '2/8' -> (2, 8), with 1 <= I <= N."""
    i, sep, n = text.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit() or not 1 <= int(i) <= int(n):
        raise SkanalyzeError(f"--shard {text} must be I/N with 1 <= I <= N, e.g. 1/4")
    return int(i), int(n)


def parse_width_step(text: str) -> Fraction:
    """--width-step: 1/n for a positive integer n ('1/64', '0.01')."""
    try:
        step = Fraction(text)
    except (ValueError, ZeroDivisionError):
        step = None
    if step is None or step <= 0 or (1 / step).denominator != 1:
        raise SkanalyzeError(f"--width-step {text!r} must be 1/n for a positive integer n, e.g. 1/64 or 0.01")
    return step


def parse_resolution(text: str) -> tuple[int, int]:
    """--resolution H x W: '320x320' -> (320, 320)."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise SkanalyzeError(f"--resolution {text!r} must be H x W positive integers, e.g. 320x320")
    return int(parts[0]), int(parts[1])
