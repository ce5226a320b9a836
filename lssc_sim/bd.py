"""Bjøntegaard delta metrics: average rate saving at equal quality (BD-rate) and quality gain at equal rate.

After G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33 (2001): each
rate-quality curve is fitted as a smooth function, log rate of quality for BD-rate and quality of log rate for
BD-quality (BD-PSNR, BD-mIoU), both fits are integrated over the interval where the two curves overlap, and the
mean difference of the integrals is the result. Two fits are offered:

``"cubic"``
    The classic one: a least-squares cubic polynomial (``np.polyfit`` degree 3) through all points of a curve.
    It needs at least 4 distinct abscissa values per curve (with fewer the result is NaN: the reference
    package fits an underdetermined cubic instead, with numpy's RankWarning), and does not need the curve to be
    monotone.
``"pchip"``
    Piecewise cubic Hermite interpolation (``scipy.interpolate.PchipInterpolator``), integrated exactly, as in
    the newer VCEG/JVET practice. It passes through every point and never overshoots between them; it needs
    2 points per curve and the abscissa strictly monotone along the curve (quality in rate order for BD-rate,
    one quality per rate for BD-quality), NaN otherwise.

Both match the ``bjontegaard`` package (version 1.3, methods ``'cubic'`` and ``'pchip'``) to rounding error;
``tests/test_bd.py`` checks that. Only NumPy and SciPy are imported, so this module is cheap to load from
scripts that do not need TensorFlow.

A result that cannot be computed (too few points, curves that do not overlap, a curve pchip cannot
interpolate) is a :class:`BdResult` with a NaN value and a reason, never an exception or a made-up number:
a table of many codecs should still print, with the failing cells explained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import PchipInterpolator

__all__ = ["METHODS", "BdResult", "bd_quality", "bd_rate", "bd_table"]

METHODS = ("cubic", "pchip")

# Fewest points each fit can use: a degree-3 least-squares fit is underdetermined below 4 distinct abscissa
# values, a pchip interpolant needs two knots.
_MIN_POINTS = {"cubic": 4, "pchip": 2}


@dataclass(frozen=True)
class BdResult:
    """One Bjøntegaard delta value.

    Attributes
    ----------
    value : float
        The delta (percent for :func:`bd_rate`, the quality's unit for :func:`bd_quality`); NaN when it cannot
        be computed.
    reason : str
        Why ``value`` is NaN, for a person to read; empty when the value was computed.
    """

    value: float
    reason: str = ""


def _nan(reason: str) -> BdResult:
    return BdResult(float("nan"), reason)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def _clean_curve(rate: ArrayLike, quality: ArrayLike, who: str) -> tuple[np.ndarray, np.ndarray]:
    """The points of one curve as float64 ``[n]`` arrays, sorted by rate, without NaN pairs or duplicates.

    A pair with a non-finite rate or quality (a Point that produced no result) is dropped, so one failed
    Point shortens the curve rather than poisoning it. An exact duplicate pair (the same measurement listed
    twice) is kept once, so that it does not count twice in the least-squares fit. Sorting by rate (then by
    quality) makes the result independent of the order the points came in.

    Raises
    ------
    ValueError
        An input is not 1-D, the two lengths differ, or a finite rate is not positive (its log is undefined).
    """
    r = np.asarray(rate, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.ndim != 1 or q.ndim != 1:
        raise ValueError(f"{who} rates and qualities must be 1-D, got shapes {r.shape} and {q.shape}")
    if r.shape != q.shape:
        raise ValueError(f"{who} has {r.size} rates but {q.size} qualities")
    keep = np.isfinite(r) & np.isfinite(q)
    r, q = r[keep], q[keep]
    if np.any(r <= 0):
        raise ValueError(f"{who} rates must be > 0 (their log is taken), got {r[r <= 0].tolist()}")
    order = np.lexsort((q, r))
    r, q = r[order], q[order]
    if r.size > 1:
        fresh = np.concatenate([[True], (np.diff(r) != 0) | (np.diff(q) != 0)])
        r, q = r[fresh], q[fresh]
    return r, q


def _listed(values: np.ndarray) -> str:
    """``[0.343, 0.3446, 0.4052]``: values to 4 significant digits on one line (a reason lands in table cells)."""
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def _span(values: np.ndarray) -> str:
    return f"{values.min():.4g}..{values.max():.4g}"


def _mean_delta(
    x_anchor: np.ndarray,
    y_anchor: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    method: str,
    x_name: str,
    x_shown: tuple[np.ndarray, np.ndarray],
) -> tuple[float, str]:
    """Mean of ``f_test - f_anchor`` over the overlap of the two abscissa ranges.

    Parameters
    ----------
    x_anchor, y_anchor, x_test, y_test : float64 [n]
        Abscissa and ordinate of each curve, in rate order (see :func:`_clean_curve`).
    method : {"cubic", "pchip"}
        The fit.
    x_name : str
        What the abscissa is ("quality", "rate"), for the reasons.
    x_shown : (float64 [n_anchor], float64 [n_test])
        The abscissa as a person knows it (rates rather than log rates), for the reasons.

    Returns
    -------
    delta : float
        The mean difference, in the ordinate's unit; NaN when it cannot be computed.
    reason : str
        Why ``delta`` is NaN; empty otherwise.
    """
    need = _MIN_POINTS[method]
    for who, x in (("anchor", x_anchor), ("test", x_test)):
        distinct = np.unique(x).size
        if distinct < need:
            return math.nan, (
                f"too few points: {who} has {distinct} distinct {x_name} value(s), {method} needs >= {need}"
            )

    curves = []
    for who, x, y, shown in (("anchor", x_anchor, y_anchor, x_shown[0]), ("test", x_test, y_test, x_shown[1])):
        if method == "pchip":
            # pchip interpolates y as a function of x along the curve, so x must be strictly monotone in rate
            # order. A decreasing x (a distortion such as MSE, for BD-rate) still makes log rate a function of
            # it, so it is reversed; the reference package gives the same when the points are listed from the
            # highest rate down, and refuses them (an assert) in rate order.
            step = np.diff(x)
            if np.all(step < 0):
                x, y = x[::-1], y[::-1]
            elif not np.all(step > 0):
                if x_name == "rate":  # log rate only stalls, at a rate listed with two qualities
                    tied = np.unique(shown[1:][step == 0])
                    return math.nan, (
                        f"{who} has several qualities at rate {_listed(tied)}; "
                        "pchip needs one quality per rate, the cubic fit does not"
                    )
                return math.nan, (
                    f"{who} {x_name} is not strictly monotone in rate (in rate order: "
                    f"{_listed(x)}); pchip needs it, the cubic fit does not"
                )
        curves.append((x, y))

    lo = max(x_anchor.min(), x_test.min())
    hi = min(x_anchor.max(), x_test.max())
    if not hi > lo:
        # Giving a number here (e.g. -100 %) would read as a result; two disjoint curves have no common range
        # to compare on. A single common point (hi == lo) is no range either.
        return math.nan, f"no overlap: anchor {x_name} {_span(x_shown[0])}, test {_span(x_shown[1])}"

    integrals = []
    for x, y in curves:
        if method == "cubic":
            # Deliberately the reference's floating-point path (raw abscissa, polyfit, polyint, polyval; log10
            # rates): a cubic in an uncentred abscissa such as PSNR ~ 35 dB is ill-conditioned, so any other
            # (equally exact) evaluation differs from the bjontegaard package and the VCEG/JVET sheets by
            # ~1e-8 relative, enough to show in a cross-check. The log base cancels in the result.
            antiderivative = np.polyint(np.polyfit(x, y, 3))
            integrals.append(np.polyval(antiderivative, hi) - np.polyval(antiderivative, lo))
        else:
            # PchipInterpolator.integrate is exact for the piecewise cubic, no quadrature error.
            integrals.append(float(PchipInterpolator(x, y).integrate(lo, hi)))
    return float((integrals[1] - integrals[0]) / (hi - lo)), ""


def bd_rate(
    rate_anchor: ArrayLike,
    quality_anchor: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
    method: str = "cubic",
) -> BdResult:
    """Bjøntegaard delta rate: the mean rate difference of the test curve against the anchor at equal quality.

    ``log(rate)`` is fitted as a function of quality on each curve, both fits are integrated over the quality
    interval the two curves share, and the mean difference ``d`` of the log rates gives ``(exp(d) - 1) * 100``
    (computed in log10 and ``10**d``, as the reference package does; the base cancels).

    Parameters
    ----------
    rate_anchor, quality_anchor : array-like, float [n_anchor]
        The anchor's points: rates (> 0, bits per pixel or any unit: the log makes it cancel) and qualities
        (PSNR in dB, mIoU, ...). Pairs holding a NaN (or inf) are dropped, exact duplicate pairs kept once,
        and the points are sorted by rate, so their order does not matter.
    rate_test, quality_test : array-like, float [n_test]
        The test curve's points, the same way; ``n_test`` may differ from ``n_anchor``.
    method : {"cubic", "pchip"}
        ``"cubic"``: a least-squares cubic polynomial per curve (VCEG-M33), needs >= 4 distinct qualities per
        curve; curves need not be monotone. ``"pchip"``: piecewise cubic Hermite interpolation, needs >= 2
        points and quality strictly monotone in rate.

    Returns
    -------
    BdResult
        ``value`` in percent: negative when the test curve needs fewer bits for the same quality (-50 means
        half the rate). NaN, with ``reason``, when a curve has too few points, pchip meets a non-monotone
        curve, or the quality ranges do not overlap.

    Raises
    ------
    ValueError
        Unknown ``method``, inputs not 1-D, rates and qualities of a curve of different lengths, or a rate <= 0.

    Examples
    --------
    >>> q = [30.0, 33.0, 36.0, 39.0]
    >>> round(bd_rate([0.1, 0.2, 0.4, 0.8], q, [0.05, 0.1, 0.2, 0.4], q).value, 6)
    -50.0
    """
    _check_method(method)
    ra, qa = _clean_curve(rate_anchor, quality_anchor, "anchor")
    rt, qt = _clean_curve(rate_test, quality_test, "test")
    d, reason = _mean_delta(qa, np.log10(ra), qt, np.log10(rt), method, "quality", (qa, qt))
    if reason:
        return _nan(reason)
    # d is a mean log10 rate ratio, so 10**d - 1 is exp(mean ln ratio) - 1 of the definition.
    return BdResult(float((10.0**d - 1.0) * 100.0))


def bd_quality(
    rate_anchor: ArrayLike,
    quality_anchor: ArrayLike,
    rate_test: ArrayLike,
    quality_test: ArrayLike,
    method: str = "cubic",
) -> BdResult:
    """Bjøntegaard delta quality (BD-PSNR, BD-mIoU): the mean quality difference at equal rate.

    Quality is fitted as a function of ``log(rate)`` on each curve, both fits are integrated over the log-rate
    interval the two curves share, and the result is the mean difference, test minus anchor.

    Parameters
    ----------
    rate_anchor, quality_anchor, rate_test, quality_test, method
        As for :func:`bd_rate`; here the fits' abscissa is log rate, so ``"cubic"`` needs >= 4 distinct rates
        per curve and ``"pchip"`` one quality per rate.

    Returns
    -------
    BdResult
        ``value`` in the quality's unit (dB for PSNR, mIoU points for mIoU): positive when the test curve gives
        better quality at the same rate. NaN, with ``reason``, when a curve has too few distinct rates, pchip
        meets two qualities at one rate, or the rate ranges do not overlap.

    Raises
    ------
    ValueError
        As for :func:`bd_rate`.

    Examples
    --------
    >>> r = [0.1, 0.2, 0.4, 0.8]
    >>> round(bd_quality(r, [30.0, 33.0, 35.0, 36.0], r, [30.5, 33.5, 35.5, 36.5]).value, 6)
    0.5
    """
    _check_method(method)
    ra, qa = _clean_curve(rate_anchor, quality_anchor, "anchor")
    rt, qt = _clean_curve(rate_test, quality_test, "test")
    d, reason = _mean_delta(np.log10(ra), qa, np.log10(rt), qt, method, "rate", (ra, rt))
    return _nan(reason) if reason else BdResult(d)


def bd_table(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    anchor: str,
    methods: Sequence[str] = METHODS,
) -> list[dict]:
    """BD-rate and BD-quality of every curve against one anchor, one row per curve (the paper's Table II).

    Parameters
    ----------
    curves : mapping of str to (rates, qualities)
        Each curve's name and its points (1-D array-likes of equal length, as for :func:`bd_rate`).
    anchor : str
        Name of the curve the others are compared with; it gets no row.
    methods : sequence of {"cubic", "pchip"}
        The fits, each giving two columns.

    Returns
    -------
    list of dict
        In the order of ``curves``, one dict per non-anchor curve with keys ``curve``, ``anchor``, then per
        method ``bd_rate_<method>_pct`` (percent) and ``bd_quality_<method>`` (quality unit), both floats
        (NaN when not computable), and ``note``: the reasons for the NaN cells, each prefixed by the cells it
        explains ("" when every cell has a value).

    Raises
    ------
    ValueError
        ``anchor`` is not in ``curves``, or a method is unknown; or, from :func:`bd_rate`, invalid points.
    """
    if anchor not in curves:
        raise ValueError(f"anchor {anchor!r} is not one of the curves {list(curves)}")
    for m in methods:
        _check_method(m)
    rate_a, quality_a = curves[anchor]
    rows = []
    for name, (rate, quality) in curves.items():
        if name == anchor:
            continue
        row: dict = {"curve": name, "anchor": anchor}
        # One reason often explains several cells (no overlap fails both fits): list it once, with its cells.
        reasons: dict[str, list[str]] = {}
        for m in methods:
            for label, key, fn in (
                ("BD-rate", f"bd_rate_{m}_pct", bd_rate),
                ("BD-quality", f"bd_quality_{m}", bd_quality),
            ):
                res = fn(rate_a, quality_a, rate, quality, method=m)
                row[key] = res.value
                if res.reason:
                    reasons.setdefault(res.reason, []).append(f"{label} {m}")
        row["note"] = "; ".join(f"{', '.join(cells)}: {reason}" for reason, cells in reasons.items())
        rows.append(row)
    return rows
