"""One search: the largest integer whose monotone cost fits a budget (gallop, then bisect)."""

from __future__ import annotations

from collections.abc import Callable


def largest_fitting(fits: Callable[[int], bool], start: int = 1, limit: int | None = None) -> int | None:
    """The largest integer n >= start with ``fits(n)``, for a predicate true up to some n and false after it
    (a monotone cost under a budget); None if ``fits(start)`` is false. ``limit`` caps the gallop: the answer
    is then at most ``limit``.

    >>> largest_fitting(lambda n: n * n <= 1000)
    31
    >>> largest_fitting(lambda n: n <= 7, start=8) is None
    True
    """
    if not fits(start):
        return None
    lo, hi = start, start + 1
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


__all__ = ["largest_fitting"]
