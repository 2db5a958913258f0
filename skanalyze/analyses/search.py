"""One search: the largest integer whose monotone cost fits a budget (gallop, then bisect), and the one scan
down from it that every widest-network question uses (params, MACs or predicted time: only the cost differs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def largest_fitting(
    fits: Callable[[int], bool], start: int = 1, limit: int | None = None, *, first: int | None = None
) -> int | None:
    """The largest integer n >= start with ``fits(n)``, for a predicate true up to some n and false after it
    (a monotone cost under a budget); None if ``fits(start)`` is false. ``limit`` caps the gallop: the answer
    is then at most ``limit``. ``first``: the first probe above ``start`` (default start + 1), where a larger
    answer is expected.

    >>> largest_fitting(lambda n: n * n <= 1000)
    31
    >>> largest_fitting(lambda n: n <= 7, start=8) is None
    True
    """
    if not fits(start):
        return None
    lo, hi = start, max(start + 1, first or 0)
    while True:  # gallop: hi doubles its distance from start until it fails (or passes the limit)
        if limit is not None and hi > limit:
            hi = limit + 1
            break
        if not fits(hi):
            break
        lo, hi = hi, start + 2 * (hi - start)
    while hi - lo > 1:  # fits(lo) and not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def widest_scan(
    top: int,
    costs_at: Callable[[int], Iterable[tuple[Any, Any]]],
    budget,
    accept: Callable[[int, Any], bool],
    max_scan: int | None = None,
    on_step: Callable[[int, int | None, str], None] | None = None,
) -> tuple[int, Any, Any, int] | None:
    """The widest width at most ``top`` with a choice that fits: widths are scanned down from ``top`` (the
    largest a lower bound of the cost allows, so nothing wider can fit); at each, the choices are tried
    cheapest first (``costs_at(width)``: (cost, choice) pairs, ties in their given order) and the first that
    ``accept(width, choice)`` (it builds, it keeps the full field) is taken if its cost fits the budget.
    Returns (width, choice, cost, widths searched), or None when no width down to 1 has one (or ``max_scan``
    widths were searched). ``on_step(done, total, what)``, when given, hears of every width (progress)."""
    searched = 0
    for width in range(top, 0, -1):
        searched += 1
        if on_step is not None:
            on_step(searched, None, f"width {width} ({searched} searched down from {top})")
        if max_scan is not None and searched > max_scan:
            return None
        for cost, choice in sorted(costs_at(width), key=lambda pair: pair[0]):
            if cost > budget:
                break
            if accept(width, choice):
                return width, choice, cost, searched
    return None


__all__ = ["largest_fitting", "widest_scan"]
