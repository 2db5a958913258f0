"""Does accuracy follow width? The rank statistics of the training experiment (numpy only, no torch)."""

from __future__ import annotations

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


def ordering(rows: list[dict], *, draws: int = 2000) -> dict:
    """Does accuracy follow width? Spearman on the means, adjacent pairs against their standard error,
    and a bootstrap over seeds. An ordering inside the seed noise is reported as not confirmed."""
    done = [r for r in rows if r["accuracy_mean"] is not None]
    if len(done) < 2:
        return {
            "spearman": None,
            "ordering_holds": False,
            "confirmed": False,
            "pairs": [],
            "verdict": "fewer than two designs finished: no ordering to test",
        }
    rho = spearman([r["width"] for r in done], [r["accuracy_mean"] for r in done])
    pairs, holds, resolved = [], True, True
    by_width = sorted(done, key=lambda r: -r["width"])
    for wide, narrow in zip(by_width, by_width[1:], strict=False):
        diff = wide["accuracy_mean"] - narrow["accuracy_mean"]
        se = math.sqrt(sum(r["accuracy_std"] ** 2 / r["seeds"] for r in (wide, narrow) if r["seeds"] > 1))
        ok = diff > TIE if wide["width"] != narrow["width"] else True  # equal accuracies are not an ordering
        clear = ok and wide["seeds"] > 1 and narrow["seeds"] > 1 and diff > 2 * se
        holds &= ok
        resolved &= clear
        pairs.append(
            {
                "wider": wide["design"],
                "narrower": narrow["design"],
                "difference": diff,
                "standard_error": se,
                "ordered": ok,
                "beyond_noise": clear,
            }
        )
    rng = np.random.default_rng(0)
    multi = all(len(r["accuracies"]) > 1 for r in done)
    boot = []
    if multi:
        for _ in range(draws):
            boot.append(spearman([r["width"] for r in done], [rng.choice(r["accuracies"]) for r in done]))
    boot = [b for b in boot if not math.isnan(b)]
    interval = [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))] if boot else None
    confirmed = bool(holds and resolved and rho > 0)
    if confirmed:
        verdict = "accuracy follows width, every step beyond 2 standard errors of the seed noise"
    elif holds and rho > 0:
        verdict = (
            "accuracy follows width on the means, but some steps are inside the seed noise: not confirmed"
        )
    elif rho is not None and not math.isnan(rho) and rho > 0:
        verdict = "accuracy tends to rise with width (positive Spearman), but the order is not monotone"
    else:
        verdict = "accuracy does not follow width"
    if not multi:
        verdict += "; a single seed per design gives no estimate of the noise"
    return {
        "spearman": rho,
        "ordering_holds": bool(holds and rho > 0),
        "confirmed": confirmed,
        "pairs": pairs,
        "bootstrap_spearman_95": interval,
        "verdict": verdict,
    }


__all__ = ["TIE", "spearman", "ordering"]
