"""Panel titles name the channel in words, not in its raw keys."""

from __future__ import annotations

import pytest

from lssc_sim.plots.base import channel_label, panels


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"channel": "awgn", "kind": "semantic"}, "AWGN"),
        ({"channel": "rayleigh", "kind": "digital_image"}, "Rayleigh, one gain per symbol"),  # the default
        ({"channel": "rayleigh", "channel.coherence": "symbol", "kind": "ber"}, "Rayleigh, one gain per symbol"),
        (
            {"channel": "rayleigh", "channel.coherence": "frame", "kind": "digital_image"},
            "Rayleigh, one gain per image",
        ),
        ({"channel": "rayleigh", "channel.coherence": "frame", "kind": "semantic"}, "Rayleigh, one gain per image"),
        ({"channel": "rayleigh", "channel.coherence": "frame", "kind": "ber"}, "Rayleigh, one gain per code block"),
        (
            {"channel": "rayleigh", "channel.coherence": "block", "channel.block_length": 4032, "kind": "semantic"},
            "Rayleigh, one gain per 4032 channel uses",
        ),
        (
            {"channel": "rician", "channel.k_factor_db": 6.0, "channel.coherence": "symbol", "kind": "ber"},
            "Rician, K = 6 dB, one gain per symbol",
        ),
        (
            {"channel": "rician", "channel.k_factor_db": 10, "channel.coherence": "frame", "kind": "digital_image"},
            "Rician, K = 10 dB, one gain per image",
        ),
        (
            {"channel": "phase_noise", "channel.linewidth_symbol": 0.02, "kind": "ber"},
            "phase noise, linewidth 0.02 rad/symbol",
        ),
        (
            {"channel": "my_plugin", "channel.alpha": 0.3, "channel.taps": 4, "kind": "ber"},
            "my_plugin, alpha = 0.3, taps = 4",
        ),
    ],
)
def test_channel_subtitles_in_words(row, words):
    assert channel_label(row) == words


def test_panels_follow_the_rows_order():
    rows = [
        {"channel": "rayleigh", "channel.coherence": "frame", "kind": "semantic"},
        {"channel": "awgn"},
        {"channel": "rayleigh", "channel.coherence": "frame", "kind": "digital_image"},
    ]
    assert list(panels(rows)) == ["Rayleigh, one gain per image", "AWGN"]
    assert len(panels(rows)["Rayleigh, one gain per image"]) == 2  # both image kinds share the panel
