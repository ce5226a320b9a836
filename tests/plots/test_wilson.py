"""The uncertainty the figures draw: Wilson intervals, the rule-of-three marks, the sample sizes they state."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, norm

from lssc_sim.plots.stats import amount, per_point, wilson_interval, zero_error_bound, zero_error_points

CASES = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (50, 100), (1, 5341), (251, 1490), (0, 76_800), (5, 3_000_000)]


@pytest.mark.parametrize(("k", "n"), CASES)
def test_wilson_matches_scipy(k, n):
    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n, z=float(norm.ppf(0.975)))  # scipy's exact quantile: equal to rounding
    assert float(low) == pytest.approx(reference.low, rel=1e-9, abs=1e-15)
    assert float(high) == pytest.approx(reference.high, rel=1e-9, abs=1e-15)
    low, high = wilson_interval(k, n)  # z = 1.96: within the quantile's rounding
    assert float(low) == pytest.approx(reference.low, rel=1e-4, abs=1e-12)
    assert float(high) == pytest.approx(reference.high, rel=1e-4, abs=1e-12)


def test_wilson_known_values_and_edges():
    low, high = wilson_interval(0, 100)
    assert float(low) == 0.0 and float(high) == pytest.approx(1.96**2 / (100 + 1.96**2))
    low, high = wilson_interval(100, 100)
    assert float(high) == 1.0 and float(low) == pytest.approx(100 / (100 + 1.96**2))
    low, high = wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))  # broadcasts
    assert low.shape == (3,) and np.all(low <= [0, 0.5, 1]) and np.all(high >= [0, 0.5, 1])
    assert np.isnan(wilson_interval(0, 0)[0])  # no trials, no interval


def test_zero_error_marks_stop_after_the_first_clean_point_past_the_last_error():
    xs = [0, 1, 2, 3, 4, 5]
    assert zero_error_points(xs, [5, 0, 3, 0, 0, 0]) == [1, 3]  # a gap inside the curve, then the first past it
    assert zero_error_points(xs, [0, 0, 0, 0, 0, 0]) == [0]
    assert zero_error_points(xs, [1, 1, 1, 1, 1, 1]) == []
    assert zero_error_bound(300) == pytest.approx(0.01)


def test_sample_sizes_read_short():
    assert per_point([100, 100, 100], "images") == "100 images per point"
    assert per_point([76_800, 3_000_000], "bits") == "76.8 k–3 M bits per point"
    assert per_point([], "bits") == ""
    assert amount(5341) == "5,341"
