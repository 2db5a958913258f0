"""The t interval of the width test: Student's t against published quantiles, and the interval against a plain
computation from the per-seed slopes written here."""

import math

import pytest

from skanalyze.analyses.ranking import t_cdf, t_quantile, width_test

# two-sided 95% critical values of Student's t (any statistics table, e.g. Abramowitz & Stegun table 26.10)
PUBLISHED = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 9: 2.262, 19: 2.093, 29: 2.045}


@pytest.mark.parametrize("df, value", sorted(PUBLISHED.items()))
def test_t_quantiles_are_the_published_ones(df, value):
    assert round(t_quantile(0.975, df), 3) == value
    assert t_cdf(0.0, df) == pytest.approx(0.5) and t_cdf(-value, df) == pytest.approx(0.025, abs=2e-5)


def test_the_t_interval_is_mean_plus_minus_t_times_the_standard_error():
    widths = [16, 32, 64]
    acc = [[0.80, 0.81, 0.79, 0.80], [0.81, 0.80, 0.81, 0.82], [0.83, 0.80, 0.82, 0.81]]  # designs x seeds
    test = width_test(widths, acc)
    x = [math.log2(w) for w in widths]
    mx = sum(x) / 3
    slopes = []
    for s in range(4):  # least squares of points on log2 width, one seed at a time
        y = [100 * acc[d][s] for d in range(3)]
        my = sum(y) / 3
        slopes.append(
            sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sum((a - mx) ** 2 for a in x)
        )
    mean = sum(slopes) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in slopes) / 3)
    half = 3.182 * sd / 2  # t(0.975, 3) x sd / sqrt(4)
    assert test["slope"] == pytest.approx(mean)
    assert test["t_interval_95"] == pytest.approx([mean - half, mean + half], abs=1e-3)
    assert test["per_seed_slopes"] == pytest.approx(slopes)
