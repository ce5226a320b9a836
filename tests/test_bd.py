"""Bjøntegaard delta metrics: agreement with the ``bjontegaard`` package, known shifts, and the NaN cases."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import bjontegaard as bjd
import numpy as np
import pytest

from lssc_sim import bd

METHODS = ("cubic", "pchip")


def _curve(rng: np.random.Generator, n: int, log_rate0: float, quality0: float, scale: float):
    """A random monotone rate-quality curve of ``n`` points: rates increasing, quality concave and increasing."""
    log_rate = log_rate0 + np.cumsum(rng.uniform(0.1, 0.7, n))
    # Shrinking quality steps give the diminishing returns of a real codec's curve.
    quality = quality0 + scale * np.cumsum(rng.uniform(0.2, 1.0, n) * np.linspace(1.0, 0.3, n))
    return np.exp(log_rate), quality


def _overlap_fraction(a: np.ndarray, b: np.ndarray) -> float:
    common = min(a.max(), b.max()) - max(a.min(), b.min())
    return common / (max(a.max(), b.max()) - min(a.min(), b.min()))


def _random_pairs(seed: int, count: int):
    """``count`` (anchor, test) curve pairs of 4-8 points each, overlapping in quality and in log rate.

    Half are PSNR-like (tens of dB), half mIoU-like (0..1). Pairs sharing less than a fifth of their range in
    either variable are redrawn: the reference would warn about them and no real comparison looks like that.
    """
    rng = np.random.default_rng(seed)
    pairs = []
    while len(pairs) < count:
        scale = 1.0 if len(pairs) % 2 else 0.02
        ra, qa = _curve(rng, int(rng.integers(4, 9)), rng.uniform(-4.0, 0.0), 30 * scale, scale)
        rt, qt = _curve(rng, int(rng.integers(4, 9)), rng.uniform(-4.5, 0.5), (30 + rng.uniform(-2, 2)) * scale, scale)
        if min(_overlap_fraction(qa, qt), _overlap_fraction(np.log(ra), np.log(rt))) < 0.2:
            continue
        pairs.append((ra, qa, rt, qt))
    return pairs


def _reference(ra, qa, rt, qt, method):
    # The package takes the points in curve order (it only reverses a decreasing abscissa) and by default
    # demands equal point counts and warns below 75 % overlap; neither changes the definition.
    kw = dict(method=method, require_matching_points=False, min_overlap=0)
    return bjd.bd_rate(ra, qa, rt, qt, **kw), bjd.bd_psnr(ra, qa, rt, qt, **kw)


def test_agrees_with_the_bjontegaard_package_on_random_monotone_curves():
    """bd_rate and bd_quality equal ``bjontegaard.bd_rate`` / ``bd_psnr`` (v1.3) within 1e-6 on 200 pairs.

    The package implements the same definitions: ``'cubic'`` is ``np.polyfit(x, y, 3)`` per curve integrated
    with ``np.polyint`` over the overlap of the abscissa ranges, ``'pchip'`` is ``PchipInterpolator(x, y)``
    integrated exactly (its ``integrate``) over the same overlap; BD-rate has x = quality, y = log10 rate and
    returns ``(10**d - 1) * 100``, BD-PSNR has x = log10 rate, y = quality (for us any quality: mIoU too).
    Its options used: ``require_matching_points=False`` (our curves have 4-8 points each, not necessarily
    the same count) and ``min_overlap=0`` (only silences a warning). Our inputs are shuffled, the package's
    are in rate order: we must sort them ourselves.
    """
    rng = np.random.default_rng(7)
    worst = {(m, kind): 0.0 for m in METHODS for kind in ("rate", "quality")}
    for ra, qa, rt, qt in _random_pairs(seed=2024, count=200):
        pa, pt = rng.permutation(ra.size), rng.permutation(rt.size)
        for m in METHODS:
            ref_rate, ref_quality = _reference(ra, qa, rt, qt, m)
            got_rate = bd.bd_rate(ra[pa], qa[pa], rt[pt], qt[pt], method=m)
            got_quality = bd.bd_quality(ra[pa], qa[pa], rt[pt], qt[pt], method=m)
            assert got_rate.reason == "" and got_quality.reason == ""
            assert math.isfinite(ref_rate) and math.isfinite(ref_quality)
            worst[m, "rate"] = max(worst[m, "rate"], abs(got_rate.value - ref_rate))
            worst[m, "quality"] = max(worst[m, "quality"], abs(got_quality.value - ref_quality))
    assert max(worst.values()) < 1e-6, worst


def test_agrees_with_the_package_on_distortion_curves_and_non_monotone_cubic():
    """A quality falling with rate (an MSE-like distortion) and a curve with a dip.

    The package refuses a distortion in rate order (it reverses a decreasing abscissa only when the ordinate
    decreases too, and asserts that), so it gets the points from the highest rate down; pchip then agrees
    exactly. The uncentred cubic in another point order differs by rounding, amplified by its conditioning:
    up to ~1.4e-6 percent points on these curves, the package disagreeing with itself by as much under the
    same reordering, hence the looser 1e-5 there. The cubic fit needs no monotonicity and agrees on a dipping
    curve; pchip cannot interpolate log rate over a quality that goes back on itself: NaN with the reason where
    the package raises scipy's ValueError.
    """
    kw = dict(require_matching_points=False, min_overlap=0)
    for ra, qa, rt, qt in _random_pairs(seed=5, count=30):
        with pytest.raises(AssertionError):
            bjd.bd_rate(ra, -qa, rt, -qt, method="pchip", **kw)
        for m, tol in (("cubic", 1e-5), ("pchip", 1e-6)):
            ref_rate = bjd.bd_rate(ra[::-1], -qa[::-1], rt[::-1], -qt[::-1], method=m, **kw)
            ref_quality = bjd.bd_psnr(ra, -qa, rt, -qt, method=m, **kw)  # log rate increases: no reversal needed
            assert bd.bd_rate(ra, -qa, rt, -qt, m).value == pytest.approx(ref_rate, abs=tol)
            assert bd.bd_quality(ra, -qa, rt, -qt, m).value == pytest.approx(ref_quality, abs=1e-6)

    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    dipping = np.array([30.0, 33.0, 32.0, 36.0, 38.0])
    smooth = np.array([29.0, 32.5, 34.5, 36.0, 37.0])
    ref_rate, ref_quality = _reference(rate, smooth, rate, dipping, "cubic")
    assert bd.bd_rate(rate, smooth, rate, dipping).value == pytest.approx(ref_rate, abs=1e-6)
    assert bd.bd_quality(rate, smooth, rate, dipping).value == pytest.approx(ref_quality, abs=1e-6)
    res = bd.bd_rate(rate, smooth, rate, dipping, method="pchip")
    assert math.isnan(res.value) and "test quality is not strictly monotone" in res.reason
    with pytest.raises(ValueError):
        bjd.bd_rate(rate, smooth, rate, dipping, method="pchip", min_overlap=0)
    # Along log rate the dipping curve is a function, so pchip BD-quality is defined and agrees.
    ref_quality = bjd.bd_psnr(rate, smooth, rate, dipping, method="pchip", min_overlap=0)
    assert bd.bd_quality(rate, smooth, rate, dipping, method="pchip").value == pytest.approx(ref_quality, abs=1e-6)
    # Two qualities at one rate: the cubic fits through them, pchip has no single value to interpolate.
    tied_rate = np.array([0.1, 0.2, 0.4, 0.4, 0.8])
    res = bd.bd_quality(rate, smooth, tied_rate, dipping, method="pchip")
    assert math.isnan(res.value) and res.reason.startswith("test has several qualities at rate [0.4]")
    assert math.isfinite(bd.bd_quality(rate, smooth, tied_rate, dipping, method="cubic").value)


def _log_rate_of_quality(q):
    """A smooth increasing cubic: the cubic fit reproduces any curve drawn from it exactly."""
    return -3 + 0.25 * (q - 28) + 0.004 * (q - 28) ** 2 - 0.0002 * (q - 28) ** 3


def _quality_of_log_rate(lr):
    return 36 + 4 * lr - 0.5 * lr**2 + 0.05 * lr**3


@pytest.mark.parametrize("method", METHODS)
def test_half_the_rate_at_every_quality_is_minus_50_percent(method):
    q = np.array([28.0, 31.0, 34.0, 37.0, 40.0])
    rate = np.exp(_log_rate_of_quality(q))
    same_points = bd.bd_rate(rate, q, rate / 2, q, method=method)
    assert same_points.reason == "" and same_points.value == pytest.approx(-50.0, abs=1e-6)
    # At other qualities only the cubic, which can represent the curve, is still exact.
    q_test = np.array([28.5, 32.5, 35.0, 39.5])
    other_points = bd.bd_rate(rate, q, np.exp(_log_rate_of_quality(q_test)) / 2, q_test, method=method)
    assert other_points.value == pytest.approx(-50.0, abs=1e-6 if method == "cubic" else 0.5)
    # Swapping anchor and test inverts the rate ratio: (1 + a)(1 + b) = 1.
    back = bd.bd_rate(rate / 2, q, rate, q, method=method)
    assert back.value == pytest.approx(100.0, abs=1e-6)
    assert (1 + same_points.value / 100) * (1 + back.value / 100) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_constant_quality_shift_at_equal_rates(method):
    rate = np.array([0.05, 0.1, 0.2, 0.4, 0.8])
    q = _quality_of_log_rate(np.log(rate))
    for c in (0.7, -1.25):
        res = bd.bd_quality(rate, q, rate, q + c, method=method)
        assert res.reason == "" and res.value == pytest.approx(c, abs=1e-9)
        assert bd.bd_quality(rate, q + c, rate, q, method=method).value == pytest.approx(-c, abs=1e-9)
    rate_test = np.array([0.07, 0.15, 0.3, 0.6])
    res = bd.bd_quality(rate, q, rate_test, _quality_of_log_rate(np.log(rate_test)) + 0.7, method=method)
    assert res.value == pytest.approx(0.7, abs=1e-9 if method == "cubic" else 0.01)


def test_swapping_anchor_and_test_inverts_any_result():
    for ra, qa, rt, qt in _random_pairs(seed=11, count=20):
        for m in METHODS:
            a, b = bd.bd_rate(ra, qa, rt, qt, m).value, bd.bd_rate(rt, qt, ra, qa, m).value
            assert (1 + a / 100) * (1 + b / 100) == pytest.approx(1.0, rel=1e-9)
            assert bd.bd_quality(rt, qt, ra, qa, m).value == pytest.approx(-bd.bd_quality(ra, qa, rt, qt, m).value)


@pytest.mark.parametrize("method", METHODS)
def test_curves_that_do_not_overlap_give_nan_with_the_ranges(method):
    rate = [0.1, 0.2, 0.4, 0.8]
    res = bd.bd_rate(rate, [0.2, 0.3, 0.35, 0.4], rate, [0.5, 0.6, 0.65, 0.7], method=method)
    assert math.isnan(res.value)
    assert res.reason == "no overlap: anchor quality 0.2..0.4, test 0.5..0.7"
    # Touching at one quality is no interval either.
    res = bd.bd_rate(rate, [0.2, 0.3, 0.35, 0.4], rate, [0.4, 0.6, 0.65, 0.7], method=method)
    assert math.isnan(res.value) and res.reason.startswith("no overlap")
    q = [30.0, 33.0, 35.0, 36.0]
    res = bd.bd_quality(rate, q, [1.0, 2.0, 4.0, 8.0], q, method=method)
    assert math.isnan(res.value) and res.reason == "no overlap: anchor rate 0.1..0.8, test 1..8"


def test_too_few_points_give_nan_with_a_reason():
    rate, q = [0.1, 0.2, 0.4], [30.0, 33.0, 35.0]
    full_rate, full_q = [0.1, 0.2, 0.4, 0.8], [30.0, 33.0, 35.0, 36.0]
    # The package fits a cubic through 3 points anyway (underdetermined: numpy warns and picks one of
    # infinitely many cubics); it never lowers the degree, so we refuse rather than follow it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bjd.bd_rate(full_rate, full_q, rate, q, method="cubic", require_matching_points=False, min_overlap=0)
    assert any("Polyfit may be poorly conditioned" in str(w.message) for w in caught)
    for fn in (bd.bd_rate, bd.bd_quality):
        res = fn(full_rate, full_q, rate, q, method="cubic")
        assert math.isnan(res.value) and res.reason.startswith("too few points: test has 3 distinct")
        assert "cubic needs >= 4" in res.reason
        # pchip works from 2 points, as in the package.
        ref = (bjd.bd_rate if fn is bd.bd_rate else bjd.bd_psnr)(
            full_rate, full_q, rate, q, method="pchip", require_matching_points=False, min_overlap=0
        )
        assert fn(full_rate, full_q, rate, q, method="pchip").value == pytest.approx(ref, abs=1e-9)
        res = fn([0.1], [30.0], full_rate, full_q, method="pchip")
        assert math.isnan(res.value) and res.reason.startswith("too few points: anchor has 1 distinct")
    # A NaN pair is dropped, so a 4-point curve with a failed point is a 3-point curve.
    res = bd.bd_rate(full_rate, full_q, [0.1, 0.2, 0.4, 0.8], [30.0, 33.0, math.nan, 36.0])
    assert math.isnan(res.value) and "too few points" in res.reason
    # Four points but only three distinct qualities cannot pin a cubic of quality either.
    res = bd.bd_rate(full_rate, full_q, [0.1, 0.2, 0.4, 0.8], [30.0, 33.0, 33.0, 36.0])
    assert math.isnan(res.value) and "test has 3 distinct quality" in res.reason


@pytest.mark.parametrize("method", METHODS)
def test_nan_pairs_and_duplicates_are_dropped(method):
    ra, qa, rt, qt = _random_pairs(seed=3, count=1)[0]
    for fn in (bd.bd_rate, bd.bd_quality):
        clean = fn(ra, qa, rt, qt, method=method).value
        noisy_rate = np.concatenate([rt, [math.nan, 0.5, rt[1]]])
        noisy_quality = np.concatenate([qt, [31.0, math.nan, qt[1]]])
        assert fn(ra, qa, noisy_rate, noisy_quality, method=method).value == pytest.approx(clean, abs=1e-12)


def test_invalid_inputs_raise():
    rate, q = [0.1, 0.2, 0.4, 0.8], [30.0, 33.0, 35.0, 36.0]
    with pytest.raises(ValueError, match="rates must be > 0"):
        bd.bd_rate(rate, q, [0.0, 0.2, 0.4, 0.8], q)
    with pytest.raises(ValueError, match="4 rates but 3 qualities"):
        bd.bd_quality(rate, q, rate, q[:3])
    with pytest.raises(ValueError, match="1-D"):
        bd.bd_rate(np.ones((2, 2)), np.ones((2, 2)), rate, q)
    with pytest.raises(ValueError, match="unknown method"):
        bd.bd_rate(rate, q, rate, q, method="akima")


def _table_curves():
    q = np.array([28.0, 31.0, 34.0, 37.0, 40.0]) / 50
    rate = np.exp(_log_rate_of_quality(q * 50))
    return {
        "LSSC": (rate * 0.8, q + 0.01),
        "PNG+LDPC": (rate, q),
        "far": (rate * 1000, np.linspace(0.1, 0.2, 5)),
        "short": (rate[:3], q[:3]),
    }


def test_bd_table_rows_match_the_single_metrics():
    curves = _table_curves()
    rows = bd.bd_table(curves, anchor="PNG+LDPC")
    assert [r["curve"] for r in rows] == ["LSSC", "far", "short"]
    assert list(rows[0]) == [
        "curve",
        "anchor",
        "bd_rate_cubic_pct",
        "bd_quality_cubic",
        "bd_rate_pchip_pct",
        "bd_quality_pchip",
        "note",
    ]
    anchor = curves["PNG+LDPC"]
    for row in rows:
        assert row["anchor"] == "PNG+LDPC"
        for m in METHODS:
            for key, fn in ((f"bd_rate_{m}_pct", bd.bd_rate), (f"bd_quality_{m}", bd.bd_quality)):
                expected = fn(*anchor, *curves[row["curve"]], method=m).value
                assert row[key] == pytest.approx(expected, nan_ok=True)
    lssc, far, short = rows
    assert lssc["note"] == "" and lssc["bd_rate_cubic_pct"] < 0 and lssc["bd_quality_cubic"] > 0
    assert all(math.isnan(far[k]) for k in far if k.startswith("bd_"))
    # Each reason is listed once, with the cells it explains.
    assert far["note"].count("no overlap: anchor quality") == 1
    assert "BD-rate cubic, BD-rate pchip: no overlap: anchor quality" in far["note"]
    assert "BD-quality cubic, BD-quality pchip: no overlap: anchor rate" in far["note"]
    assert math.isnan(short["bd_rate_cubic_pct"]) and not math.isnan(short["bd_rate_pchip_pct"])
    assert "BD-rate cubic: too few points" in short["note"]
    with pytest.raises(ValueError, match="anchor"):
        bd.bd_table(curves, anchor="JPEG")
    only_cubic = bd.bd_table(curves, anchor="PNG+LDPC", methods=("cubic",))
    assert "bd_rate_pchip_pct" not in only_cubic[0]


def test_module_imports_neither_tensorflow_nor_matplotlib():
    code = (
        "import sys, lssc_sim.bd; bad = [m for m in ('tensorflow', 'matplotlib') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
