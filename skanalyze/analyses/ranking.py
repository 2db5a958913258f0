"""Does accuracy follow width? The rank statistics of the training experiment (numpy only, no torch)."""

from __future__ import annotations

import itertools
import math

import numpy as np

TIE = 1e-9  # accuracy differences below this are ties (accuracies are multiples of 1/test images)


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(v):
        v = np.asarray(v, dtype=float)
        order = v.argsort()
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for val in np.unique(v):
            r[v == val] = r[v == val].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def ordering(rows: list[dict]) -> dict:
    """Descriptive: Spearman between width and mean accuracy, and each adjacent pair's difference of means
    (designs of equal width predict no order, so their pair is not counted). The verdict is not taken from
    here but from :func:`width_test`."""
    done = [r for r in rows if r["accuracy_mean"] is not None]
    if len(done) < 2:
        return {"spearman": None, "ordering_holds": False, "pairs": []}
    rho = spearman([r["width"] for r in done], [r["accuracy_mean"] for r in done])
    pairs, holds = [], True
    by_width = sorted(done, key=lambda r: -r["width"])
    for wide, narrow in zip(by_width, by_width[1:], strict=False):
        diff = wide["accuracy_mean"] - narrow["accuracy_mean"]
        tie = wide["width"] == narrow["width"]
        ok = True if tie else diff > TIE  # equal accuracies are not an ordering
        holds &= ok
        pairs.append(
            {"wider": wide["design"], "narrower": narrow["design"], "difference": diff, "equal_width": tie}
        )
    return {
        "spearman": rho,
        "ordering_holds": bool(holds and not math.isnan(rho) and rho > 0),
        "pairs": pairs,
    }


# -- the pre-registered test: slope of accuracy on log2(width), blocked by seed --------------------------
def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """Within-seed least-squares slope of y (seeds x designs) on x (seeds x designs): both centred per seed."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxx = float((xc * xc).sum())
    return float((xc * yc).sum() / sxx) if sxx > 0 else float("nan")


def _normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _normal_quantile(p: float) -> float:
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _normal_cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def t_cdf(t: float, df: int) -> float:
    """The Student t distribution's CDF for an integer number of degrees of freedom, in closed form
    (Abramowitz & Stegun 26.7.3-4: a finite series in cos(theta), theta = atan(t / sqrt(df)))."""
    theta = math.atan2(t, math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2:  # odd: 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        term, series = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            series += term
        inside = 2 / math.pi * (theta + s * math.cos(theta) * series)
    else:  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        term, series = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            series += term
        inside = s * series
    return 0.5 + inside / 2  # inside = P(-t < T < t) signed with t


def t_quantile(p: float, df: int) -> float:
    """The Student t quantile (bisection on t_cdf).

    >>> round(t_quantile(0.975, 4), 3)
    2.776
    """
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def width_test(
    widths, accuracies, *, alpha: float = 0.05, draws: int = 20_000, boot: int = 5_000, seed: int = 0
) -> dict:
    """The primary test of "accuracy rises with width": the slope b of accuracy (points) on log2(width),
    blocked by seed (each seed's designs centred on their own mean; every design has the same seeds), one
    sided. p: the share of within-seed permutations of the widths with a slope >= the observed one (all of
    them when there are at most ``draws``, else ``draws`` random ones, counted with the observed). Interval:
    the 95% percentile bootstrap of b over seeds. Verdict at ``alpha``: supports (b > 0 significant),
    contradicts (b < 0 significant in the other one-sided test), else inconclusive. Designs of equal width
    predict no order: permuting them changes nothing.

    ``accuracies[d][s]`` is design d's accuracy at seed s (fractions in 0..1)."""
    order = sorted(range(len(widths)), key=lambda d: (widths[d], tuple(accuracies[d])))
    widths = [widths[d] for d in order]  # the order the designs are listed in must not change a draw
    accuracies = [accuracies[d] for d in order]
    x1 = np.log2(np.asarray(widths, dtype=float))
    y = 100 * np.asarray(accuracies, dtype=float).T  # seeds x designs, in points
    n_seeds, n_designs = y.shape
    x = np.tile(x1, (n_seeds, 1))
    b = _slope(x, y)
    if n_designs < 2 or len(set(x1.tolist())) < 2 or math.isnan(b):
        return {
            "statistic": "slope",
            "slope": None,
            "verdict": "inconclusive",
            "reason": "fewer than two widths",
        }
    perms = list(itertools.permutations(range(n_designs)))
    rng = np.random.default_rng(seed)
    total = len(perms) ** n_seeds
    if total <= draws:  # exact: every combination of one permutation per seed
        slopes = np.array(
            [
                _slope(np.array([x1[list(p)] for p in combo]), y)
                for combo in itertools.product(perms, repeat=n_seeds)
            ]
        )
        above = int((slopes >= b - 1e-12).sum())
        below = int((slopes <= b + 1e-12).sum())
        p_up, p_down, method = (
            above / len(slopes),
            below / len(slopes),
            f"exact ({len(slopes):,} permutations)",
        )
    else:
        above = below = 1  # the observed assignment counts
        for _ in range(draws):
            xs = np.array([rng.permutation(x1) for _ in range(n_seeds)])
            s = _slope(xs, y)
            above += s >= b - 1e-12
            below += s <= b + 1e-12
        p_up, p_down = above / (draws + 1), below / (draws + 1)
        se = math.sqrt(p_up * (1 - p_up) / draws)
        method = f"Monte Carlo ({draws:,} permutations, standard error of p {se:.4f})"
    boots = []
    if n_seeds > 1:
        for _ in range(boot):
            pick = rng.integers(0, n_seeds, n_seeds)
            boots.append(_slope(x[pick], y[pick]))
    interval = [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))] if boots else None
    # the t interval on the per-seed slopes (b is their mean: every seed has the same widths); with few seeds
    # the percentile bootstrap is too narrow, the t interval is the one the data support
    per_seed = [_slope(x[i : i + 1], y[i : i + 1]) for i in range(n_seeds)]
    t_interval = None
    if n_seeds > 1:
        half = t_quantile(0.975, n_seeds - 1) * float(np.std(per_seed, ddof=1)) / math.sqrt(n_seeds)
        t_interval = [b - half, b + half]
    # residual spread after seed and design effects (two-way additive), for the power table
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    dof = (n_seeds - 1) * (n_designs - 1)
    sigma = float(math.sqrt((resid**2).sum() / dof)) if dof > 0 else None
    verdict = "supports" if p_up < alpha else "contradicts" if p_down < alpha else "inconclusive"
    return {
        "statistic": "slope of test accuracy (points) on log2(width), blocked by seed, one-sided",
        "slope": b,
        "p_value": p_up,
        "p_value_negative": p_down,
        "method": method,
        "interval_95": interval,
        "t_interval_95": t_interval,
        "t_p_one_point": (  # one-sided t test of "b >= 1 point per doubling" (small p: 1 point is excluded)
            t_cdf((b - 1) / (float(np.std(per_seed, ddof=1)) / math.sqrt(n_seeds)), n_seeds - 1)
            if n_seeds > 1 and np.std(per_seed, ddof=1) > 0
            else None
        ),
        "per_seed_slopes": per_seed,
        "alpha": alpha,
        "seeds": n_seeds,
        "designs": n_designs,
        "residual_sd": sigma,
        "power": power_table(x1, sigma, alpha) if sigma else None,
        "verdict": verdict,
    }


def seeds_for_power(x1, sigma: float, effect: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds needed to detect a slope of ``effect`` points per doubling with the given power (one-sided
    level alpha), by the normal approximation: the blocked slope's standard error is
    sigma / sqrt(seeds * sum_d (x_d - mean x)^2)."""
    x1 = np.asarray(x1, dtype=float)
    sxx = float(((x1 - x1.mean()) ** 2).sum())
    z = _normal_quantile(1 - alpha) + _normal_quantile(power)
    return max(2, math.ceil((z * sigma / effect) ** 2 / sxx))


def power_table(x1, sigma: float, alpha: float = 0.05) -> list[dict]:
    """Seeds needed for 80% power at 0.5 and 1 point per doubling of width, at the measured residual spread."""
    return [
        {"effect_per_doubling": e, "seeds_for_80_percent": seeds_for_power(x1, sigma, e, alpha=alpha)}
        for e in (0.5, 1.0)
    ]


def verdict_text(test: dict) -> str:
    """What the pre-registered test says, and what was tested."""
    if test.get("slope") is None:
        return f"inconclusive: {test.get('reason', 'no test')}"
    lo, hi = test["interval_95"] or (float("nan"), float("nan"))
    t_lo, t_hi = test.get("t_interval_95") or (float("nan"), float("nan"))
    said = {
        "supports": "supports the claim",
        "contradicts": "contradicts the claim",
        "inconclusive": "inconclusive",
    }[test["verdict"]]
    return (
        f"{said} at alpha = {test['alpha']}: accuracy changes by {test['slope']:+.2f} points per doubling of width "
        f"(95% t interval over the {test['seeds']} per-seed slopes {t_lo:+.2f} .. {t_hi:+.2f}; seed bootstrap "
        f"{lo:+.2f} .. {hi:+.2f}, too narrow for few seeds); one-sided permutation p = {test['p_value']:.4f} "
        f"({test['method']}, widths permuted within each of {test['seeds']} seeds)"
    )


__all__ = [
    "TIE",
    "spearman",
    "ordering",
    "width_test",
    "t_cdf",
    "t_quantile",
    "seeds_for_power",
    "power_table",
    "verdict_text",
]
