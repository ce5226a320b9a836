"""The uncertainty the figures draw, and the sample sizes they state: no matplotlib, so it tests on its own.

A rate measured from ``k`` events in ``n`` trials gets a 95 % Wilson score interval (it stays inside [0, 1]
and keeps its coverage near 0 and 1, where the normal interval ``p +- 1.96 sqrt(p(1-p)/n)`` collapses). A
point with no events at all is drawn on a log axis at the rule-of-three bound ``3/n`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def wilson_interval(k, n, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, ``k`` successes in ``n`` trials.

    Parameters
    ----------
    k, n : int or array_like
        Successes and trials (broadcast together); ``n = 0`` gives NaN.
    z : float, default 1.96
        Standard-normal quantile: 1.96 for a two-sided 95 % interval.

    Returns
    -------
    low, high : numpy.ndarray
        The bounds, the shape of ``k`` and ``n`` broadcast (0-d for scalars).
    """
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # at k = 0 and k = n the bound is exactly 0 or 1, which the formula reaches only up to rounding
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def zero_error_bound(n) -> np.ndarray:
    """``3/n``: the 95 % upper bound on a rate when ``n`` trials showed no event (the rule of three)."""
    return 3.0 / np.asarray(n, float)


def zero_error_points(xs: Sequence[float], errors: Sequence[float]) -> list[int]:
    """Indices of the error-free points worth marking: those up to the last point with errors and the first one
    past it (beyond that the curve only keeps falling, and a row of bounds would read as a floor)."""
    xs, errors = np.asarray(xs, float), np.asarray(errors, float)
    clean = np.flatnonzero(errors == 0)
    last = xs[errors > 0].max() if (errors > 0).any() else -np.inf
    return [int(j) for j in clean if xs[j] <= last] + [int(j) for j in clean if xs[j] > last][:1]


def amount(n: float) -> str:
    """``76.8 k``, ``3 M`` or ``640``: a count short enough for a title."""
    n = float(n)
    if n >= 1e6:
        return f"{n / 1e6:.3g} M"
    if n >= 1e4:
        return f"{n / 1e3:.3g} k"
    return f"{n:,.0f}"


def span(values: Iterable[float]) -> str:
    """``100`` or ``76.8 k–3 M``: the range of ``values`` (None skipped) in short counts; "" when empty."""
    values = [float(v) for v in values if v is not None and np.isfinite(float(v))]
    if not values:
        return ""
    low, high = amount(min(values)), amount(max(values))
    return low if low == high else f"{low}–{high}"


def per_point(values: Iterable[float], unit: str) -> str:
    """``100 images per point`` or ``76.8 k–3 M bits per point`` (a range when the points differ)."""
    text = span(values)
    return f"{text} {unit} per point" if text else ""
