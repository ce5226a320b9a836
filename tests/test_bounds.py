"""The comparisons at equal bandwidth (lssc_sim.bounds) on hand-made results tables, against closed forms and
an independent Monte-Carlo estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lssc_sim import bounds
from lssc_sim.theory import capacity_rayleigh


def _digital(system, snr, miou, uses, *, modulation="qpsk", rate=0.5, bpp=0.4, channel="awgn"):
    return {
        "system": system,
        "kind": "digital_image",
        "channel": channel,
        "modulation": modulation,
        "snr_db": snr,
        "miou": miou,
        "channel_uses_per_pixel": uses,
        "fec.rate": rate,
        "source.bpp": bpp,
        "source_bits_per_pixel": bpp,
        "lost_miou": 0.3,
    }


def _ideal(system, bpp, miou):
    return {
        "system": system,
        "kind": "digital_image",
        "channel": "ideal",
        "snr_db": float("nan"),
        "miou": miou,
        "source_bits_per_pixel": bpp,
        "source.bpp": bpp,
        "lost_miou": 0.3,
    }


def _table(seed=0):
    """Twelve configurations at five SNRs with random scores and channel uses: a table no one tuned."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(12):
        uses = float(rng.choice([0.05, 0.1, 0.5, 1.0, 2.0, 4.0]))
        for snr in (0.0, 5.0, 10.0, 15.0, 20.0):
            rows.append(_digital(f"cfg{c}", snr, float(rng.uniform(0.3, 0.95)), uses, bpp=0.1 * (c + 1)))
    return rows


@pytest.mark.parametrize("budget", [0.05, 0.3, 1.0, 4.0, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_envelope_covers_every_configuration_within_the_budget_and_none_above(budget, seed):
    rows = _table(seed)
    winners, count = bounds.digital_envelope(rows, budget)
    fit = [r for r in rows if r["channel_uses_per_pixel"] <= budget]
    assert count == len({r["system"] for r in fit})
    assert [w["snr_db"] for w in winners] == sorted({r["snr_db"] for r in fit})
    for w in winners:
        assert w["channel_uses_per_pixel"] <= budget  # never one above the budget
        same_snr = [r["miou"] for r in fit if r["snr_db"] == w["snr_db"]]
        assert w["miou"] == max(same_snr)  # never below any configuration it covers


def test_envelope_ties_go_to_fewer_channel_uses_and_rows_of_other_kinds_do_not_count():
    rows = [
        _digital("wide", 5.0, 0.9, 2.0),
        _digital("narrow", 5.0, 0.9, 1.0),
        {**_digital("semantic", 5.0, 0.99, 0.5), "kind": "semantic"},
        _ideal("png", 12.0, 0.97),
    ]
    winners, count = bounds.digital_envelope(rows, 2.0)
    assert [w["system"] for w in winners] == ["narrow"] and count == 2


def test_configurations_differ_by_swept_parameters_and_modulation():
    rows = [_digital("webp", 0.0, 0.5, 0.1, rate=r, modulation=m) for r in (1 / 3, 0.5) for m in ("qpsk", "16qam")]
    assert bounds.digital_envelope(rows, 1.0)[1] == 4


def test_rate_curve_is_the_upper_envelope_and_monotone():
    rows = [
        _ideal("jpeg", 0.2, 0.40),
        _ideal("jpeg", 0.5, 0.80),
        _ideal("jpeg", 1.0, 0.85),
        _ideal("webp", 0.3, 0.70),
        _ideal("webp", 0.6, 0.78),  # below jpeg's 0.5 bpp point: not on the envelope
        _ideal("png", 12.0, 0.97),
    ]
    curve = bounds.rate_curve(rows)
    np.testing.assert_array_equal(curve.bpp, [0.2, 0.3, 0.5, 1.0, 12.0])
    np.testing.assert_array_equal(curve.miou, [0.40, 0.70, 0.80, 0.85, 0.97])
    assert curve.floor_miou == 0.3 and curve.points == 6
    r = np.geomspace(0.01, 100, 2001)
    m = curve(r)
    assert np.all(np.diff(m) >= -1e-12)  # monotone in rate
    np.testing.assert_allclose(curve(curve.bpp), curve.miou)  # through its points
    assert curve(0.1) == 0.3 and curve(50.0) == 0.97  # floor below the smallest stream, best above the largest
    for row in rows:  # never below a measured point at or below the rate
        assert curve(row["source_bits_per_pixel"]) >= row["miou"] - 1e-12


def test_rate_curve_needs_ideal_channel_rows():
    assert bounds.rate_curve([_digital("a", 5.0, 0.9, 1.0)]) is None


def _curve():
    return bounds.RateCurve(np.array([0.2, 0.5, 1.0, 4.0]), np.array([0.5, 0.8, 0.9, 0.97]), 0.3, 4)


def test_separate_scheme_over_awgn_is_the_curve_at_the_shannon_rate():
    curve = _curve()
    for budget, snr in [(0.1, 0.0), (0.5, 10.0), (4.0, -5.0)]:
        rate = budget * math.log2(1 + 10 ** (snr / 10))
        got = bounds.separate_scheme_miou(curve, budget, snr, {"channel": "awgn"}, 16384)
        assert got == pytest.approx(float(curve(rate)))


def test_separate_scheme_over_frame_fading_against_monte_carlo():
    """One gain per image: the quantile quadrature against 400,000 drawn exponential gains."""
    curve, rng = _curve(), np.random.default_rng(5)
    g = rng.exponential(size=400_000)
    channel = {"channel": "rayleigh", "channel.coherence": "frame"}
    for budget, snr in [(0.25, 5.0), (1.0, 10.0), (4.0, 0.0)]:
        s = 10 ** (snr / 10)
        expected = float(np.mean(curve(budget * np.log2(1 + g * s))))
        got = bounds.separate_scheme_miou(curve, budget, snr, channel, 16384)
        assert got == pytest.approx(expected, abs=2e-3)
        # at these points (rates above the curve's first point, where it is concave) fading costs: AWGN at the
        # same average SNR does at least as well
        assert got <= bounds.separate_scheme_miou(curve, budget, snr, {"channel": "awgn"}, 16384) + 1e-12


def test_separate_scheme_over_fast_fading_uses_the_ergodic_capacity_and_blocks_lie_between():
    curve = _curve()
    fast = bounds.separate_scheme_miou(curve, 0.5, 8.0, {"channel": "rayleigh", "channel.coherence": "symbol"}, 1)
    assert fast == pytest.approx(float(curve(0.5 * capacity_rayleigh(8.0))))
    frame = bounds.separate_scheme_miou(curve, 0.5, 8.0, {"channel": "rayleigh", "channel.coherence": "frame"}, 1)
    block = {"channel": "rayleigh", "channel.coherence": "block", "channel.block_length": 64}
    many = bounds.separate_scheme_miou(curve, 0.5, 8.0, block, 16384)  # 128 fades per image
    assert frame < many <= fast + 0.01
    assert bounds.separate_scheme_miou(curve, 0.5, 8.0, {"channel": "rician"}, 1) is None


def test_budgets_are_the_semantic_systems_channel_uses():
    rows = [
        {"kind": "semantic", "channel_uses_per_pixel": 0.0625, "system": "a"},
        {"kind": "semantic", "channel_uses_per_pixel": 15.000000001, "system": "b"},
        _digital("d", 0.0, 0.5, 3.0),
    ]
    assert bounds.budgets(rows) == [0.0625, 15.0]
    assert bounds.at_budget(15.0)(rows[1]) and not bounds.at_budget(15.0)(rows[0])


def test_rows_without_a_finite_miou_never_enter_the_envelope_or_the_curve():
    rows = [_digital("broken", 5.0, float("nan"), 0.5), _digital("ok", 5.0, 0.9, 0.5)]
    assert [w["system"] for w in bounds.digital_envelope(rows, 1.0)[0]] == ["ok"]
    curve = bounds.rate_curve([{**_ideal("a", 0.2, 0.5), "miou": float("nan")}, _ideal("b", 0.4, 0.8)])
    np.testing.assert_array_equal(curve.bpp, [0.4])


def test_adaptive_chains_join_the_rate_curve_and_match_budgets_within_five_percent_below_their_target():
    adaptive = {**_ideal("adaptive", 2.38, 0.972), "kind": "digital_adaptive", "bandwidth": 0.5}
    assert bounds.rate_curve([_ideal("webp", 0.4, 0.9), adaptive]).bpp.tolist() == [0.4, 2.38]
    assert bounds.at_budget(0.5, "digital_adaptive")(adaptive)
    assert bounds.at_budget(0.48, "digital_adaptive")(adaptive)  # a codec that lands 4 % under the target
    assert not bounds.at_budget(0.52, "digital_adaptive")(adaptive) and not bounds.at_budget(0.4, "digital_adaptive")(
        adaptive
    )
