"""The equal-bandwidth figures and the winners table, from a hand-made results table."""

from __future__ import annotations

import numpy as np

from lssc_sim import bounds
from lssc_sim.plots import bandwidth
from lssc_sim.plots.base import style_context
from lssc_sim.plots.catalog import PlotStyle

SNRS = [0.0, 10.0, 20.0]
PIXELS = 16384


def _row(kind, system, channel, snr, miou, uses, **extra):
    return {
        "system": system,
        "kind": kind,
        "channel": channel,
        "snr_db": snr,
        "miou": miou,
        "clean_miou": 0.97,
        "lost_miou": 0.35,
        "images": 50,
        "channel_uses_per_pixel": uses,
        "channel_uses_per_image": uses * PIXELS,
        **extra,
    }


def _digital(channel, snr, bpp, rate, miou):
    uses = bpp / (2 * rate)
    extra = {"source.codec": "webp", "source.bpp": bpp, "fec.rate": rate, "code_rate": rate}
    extra["source_bits_per_pixel"] = bpp
    return _row("digital_image", "webp", channel, snr, miou, uses, modulation="qpsk", **extra)


def _rows():
    rows = []
    for bpp, miou in ((0.2, 0.6), (0.8, 0.9), (3.2, 0.95)):
        rows.append({**_digital("ideal", float("nan"), bpp, 0.5, miou), "modulation": ""})
    for channel in ("awgn", "rayleigh"):
        extra = {"channel.coherence": "frame"} if channel == "rayleigh" else {}
        for snr in SNRS:
            for budget, name in ((0.0625, "lssc_small"), (2.0, "lssc_large")):
                rows.append(_row("semantic", name, channel, snr, 0.8 + snr / 200, budget, weights=name, **extra))
            for bpp in (0.2, 0.8, 3.2):
                for rate in (1 / 3, 0.5):
                    works = snr >= 10 or rate < 0.4
                    miou = {0.2: 0.6, 0.8: 0.9, 3.2: 0.95}[bpp] if works else 0.35
                    rows.append({**_digital(channel, snr, bpp, rate, miou), **extra})
    return rows


def test_matched_figure_has_a_panel_per_channel_and_budget_with_the_three_families():
    with style_context(PlotStyle().resolved()):
        fig = bandwidth.matched_figure(_rows(), "t", PlotStyle().resolved())
    axes = fig.axes
    assert len(axes) == 2 * 2
    titles = [ax.get_title().replace("\n", " ") for ax in axes]
    assert titles[0].startswith("AWGN") and "1/16 ch. uses/px" in titles[0] and "2 ch. uses/px" in titles[1]
    legend = " ".join(t.get_text().replace("\n", " ") for ax in axes if ax.get_legend() for t in ax.get_legend().texts)
    assert "best digital ≤ 2 ch. uses/px (best of 4 swept)" in legend  # 0.8 and 3.2 bpp do not fit at r=1/3
    assert "ideal separate scheme at 1/16 ch. uses/px" in legend and "lssc_small" in legend
    # at 2 channel uses per pixel over AWGN the envelope is the best configuration that fits, per SNR
    ax = axes[1]
    envelope = next(line for line in ax.lines if line.get_label().startswith("best digital"))
    np.testing.assert_allclose(envelope.get_ydata(), [0.9, 0.9, 0.9])  # 3.2 bpp never fits 2.0
    ideal = next(line for line in ax.lines if line.get_label().startswith("ideal"))
    assert np.all(ideal.get_ydata() >= 0.35) and ideal.get_linestyle() != "-"


def test_bandwidth_figure_draws_the_semantic_codecs_at_their_budgets():
    with style_context(PlotStyle().resolved()):
        fig = bandwidth.bandwidth_figure(_rows(), "t", PlotStyle().resolved())
    assert len(fig.axes) == 2 * 3
    semantic = next(line for line in fig.axes[0].lines if line.get_label().startswith("semantic"))
    np.testing.assert_allclose(semantic.get_xdata(), [0.0625, 2.0])
    assert fig.axes[0].get_xscale() == "log"


def test_winners_table_names_the_winner_and_the_ideal_scheme_bounds_it_over_awgn():
    table = bandwidth.winners_table(_rows())
    awgn = [t for t in table if t["channel"] == "AWGN" and t["budget_channel_uses_per_pixel"] == 2.0]
    assert [t["winner"] for t in awgn][0].startswith("WebP 0.8 bpp target + LDPC r=0.33")
    assert all(t["ideal_separate_miou"] >= t["winner_miou"] - 1e-9 for t in awgn)
    small = [t for t in table if t["budget_channel_uses_per_pixel"] == 0.0625]
    assert all(t["winner"] == "none fits" and t["configurations"] == 0 for t in small)
    assert "| SNR (dB) | winner |" in bandwidth.winners_markdown(table, "t")
    assert bounds.rate_curve(_rows()).points == 3


def test_budgets_read_as_simple_fractions_or_numbers():
    written = {b: bandwidth.budget_number(b) for b in (0.0625, 0.5, 0.3333, 0.75, 0.41, 0.0123, 4.0, 15.0, 2.5)}
    assert written == {
        0.0625: "1/16",
        0.5: "1/2",
        0.3333: "1/3",  # budgets are kept to 4 significant digits (bounds.budget_of)
        0.75: "3/4",
        0.41: "0.41",
        0.0123: "0.012",
        4.0: "4",
        15.0: "15",
        2.5: "2.5",
    }


def _ideal_only(codec, bpp, miou):
    """A rate-curve row of a codec run over the ideal channel only (``channels: [ideal]``)."""
    return {**_digital("ideal", float("nan"), bpp, 0.5, miou), "system": codec, "source.codec": codec, "modulation": ""}


def _legend(fig) -> list[str]:
    return [t.get_text().replace("\n", " ") for legend in fig.legends for t in legend.texts]


def test_bandwidth_legend_gives_the_budgets_and_the_configurations_within_each():
    rows = _rows() + [_ideal_only("jpeg", 0.4, 0.97)]  # on the ideal channel only: a rate point, no configuration
    with style_context(PlotStyle().resolved()):
        fig = bandwidth.bandwidth_figure(rows, "t", PlotStyle().resolved())
    legend = _legend(fig)
    assert "semantic codecs at their budgets (1/16 and 2 ch. uses/px)" in legend
    # 1/16 fits nothing; 2 fits 0.2 and 0.8 bpp at both rates (the same over both channels; not jpeg)
    expected = "best digital within the budget: best of 0 and 4 swept configurations within 1/16 and 2 ch. uses/px"
    assert expected in legend, legend
    assert bounds.rate_curve(rows).points == 4 and bounds.rate_curve(rows)(0.4) == 0.97


def test_bandwidth_legend_gives_a_range_where_the_channels_differ():
    rows = [r for r in _rows() if not (r["channel"] == "rayleigh" and r.get("source.bpp") == 0.8)]
    with style_context(PlotStyle().resolved()):
        fig = bandwidth.bandwidth_figure(rows, "t", PlotStyle().resolved())
        matched = bandwidth.matched_figure(rows, "t", PlotStyle().resolved())
    assert "best of 0-4 swept configurations within each budget" in " ".join(_legend(fig))
    texts = [t.get_text().replace("\n", " ") for ax in matched.axes if ax.get_legend() for t in ax.get_legend().texts]
    assert "best digital ≤ 2 ch. uses/px (best of 2-4 swept)" in texts
