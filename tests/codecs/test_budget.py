"""A codec built at a channel-use budget: which tensors cross, how wide, and the budget it achieves."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lssc_sim.codecs import CODECS
from lssc_sim.codecs.budget import achieved_channel_uses_per_pixel, cut_widths, full_channel_uses_per_pixel
from lssc_sim.codecs.channel_layer import channel_uses_of
from lssc_sim.train.config import TrainConfig

NATIVE = [16, 32, 64, 128]  # LSSC at base width 16 (the shipped codecs)


@pytest.mark.parametrize("budget", [1 / 64, 1 / 16, 0.03905, 0.25, 1 / 3, 1 / 2, 1, 2, 3, 4, 7.5, 15])
@pytest.mark.parametrize("size", [(128, 128), (64, 128), (24, 40)])
def test_achieved_budget_within_five_percent_and_never_above(budget, size):
    try:
        widths = cut_widths(budget, *size, NATIVE)
    except ValueError as exc:  # refused only when no width gets within 5 % below it without passing it
        assert "more than 5% below" in str(exc), exc
        assert budget < 0.1, exc  # the coarse grain of one bottleneck channel: small budgets only
        return
    achieved = achieved_channel_uses_per_pixel(*size, widths)
    assert abs(achieved - budget) <= 0.05 * budget
    assert achieved <= budget * (1 + 1e-12)  # the leftover is only ever added while it fits
    assert widths[-1] >= 1 and all(0 <= w <= n for w, n in zip(widths, NATIVE, strict=True))
    # skips are dropped from the finest up: what crosses is a run of the deepest levels
    sent = [i for i, w in enumerate(widths) if w]
    assert sent == list(range(sent[0], len(NATIVE)))


def test_the_rule_on_the_shipped_budgets():
    assert cut_widths(1 / 16, 128, 128, NATIVE) == [0, 0, 0, 8]  # the bottleneck alone, 8 channels
    assert cut_widths(1 / 2, 128, 128, NATIVE) == [0, 0, 8, 32]  # the deepest skip joins
    assert cut_widths(4, 128, 128, NATIVE) == [2, 8, 32, 128]  # every skip, equal shares of the reals
    assert full_channel_uses_per_pixel(128, 128, NATIVE) == 15.0  # lssc_awgn: everything at native width


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (0, "must be > 0"),
        (16, r"above what this network sends .* \(15\)"),
        (0.1, r"nearest this network reaches is 0.09375"),  # 12 bottleneck channels; 13 would exceed it
        (1 / 1000, r"nearest this network reaches .* smallest budget it can send is 0.0078125"),
    ],
)
def test_unreachable_budgets_are_refused_with_the_nearest(budget, message):
    with pytest.raises(ValueError, match=message):
        cut_widths(budget, 128, 128, NATIVE)


@pytest.mark.parametrize("budget", [1 / 16, 1 / 2, 4])
def test_built_codec_sends_the_budget_and_its_decoder_takes_it(budget):
    codec = CODECS.get("lssc")(base_width=16, image_size=32, bandwidth=budget)
    uses = channel_uses_of(codec.transmitted_shapes) / (32 * 32)
    assert abs(uses - budget) <= 0.05 * budget
    x = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    sent = codec.encoder(x)
    sent = sent if isinstance(sent, list) else [sent]  # Keras returns a lone output unwrapped (1/16: one tensor)
    assert [tuple(t.shape[1:]) for t in sent] == list(codec.transmitted_shapes)
    assert tuple(codec.decoder(sent).shape) == (2, 32, 32, 2)
    keras.backend.clear_session()


def test_bandwidth_and_projections_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        CODECS.get("lssc")(base_width=4, image_size=32, bandwidth=1, projections=2)


def test_training_config_refuses_an_unreachable_budget_before_training():
    with pytest.raises(ValueError, match="above what this network sends"):
        TrainConfig(codec="lssc", base_width=4, image_size=32, bandwidth=100)
    with pytest.raises(ValueError, match="per-tensor channels are projections"):
        TrainConfig(codec="lssc", base_width=4, image_size=32, bandwidth=[2, 2, 2, 2])
    assert TrainConfig(codec="lssc", base_width=16, image_size=128, bandwidth=0.5).bandwidth == 0.5


def test_a_budget_for_a_split_after_stage_k_counts_its_own_candidates():
    # two device stages of three: skips at 32 x 32 and 16 x 16, then the 8 x 8 downsampled output of stage 2
    codec = CODECS.get("lssc")(base_width=4, image_size=32, device_stages=2, bandwidth=1 / 8)
    uses = channel_uses_of(codec.transmitted_shapes) / (32 * 32)
    assert 0.95 / 8 <= uses <= 1 / 8 and codec.transmitted_shapes[-1][:2] == (8, 8)
    with pytest.raises(ValueError, match="device_stages: 4 is more than depth 3"):
        TrainConfig(codec="lssc", base_width=4, image_size=32, device_stages=4)
    with pytest.raises(ValueError, match="above what this network sends"):  # its candidates, not the full network's
        TrainConfig(codec="lssc", base_width=4, image_size=32, device_stages=1, bandwidth=10)
    assert (
        TrainConfig(codec="lssc", base_width=4, image_size=32, device_stages=1, bandwidth=2).device_stages == 1
    )  # of 2.5
