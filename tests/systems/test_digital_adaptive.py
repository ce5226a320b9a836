"""The adaptive digital chain: its measured MCS table against Shannon, its choice per SNR, the budget it keeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from lssc_sim.channels import make_channel
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.digital.spec import MODULATIONS
from lssc_sim.seeding import seed_everything
from lssc_sim.snr import to_no
from lssc_sim.systems.base import PointContext
from lssc_sim.systems.digital_adaptive import (
    DigitalAdaptiveConfig,
    block_error_target,
    blocks_in_budget,
    mcs_threshold,
)

SMALL_TABLE = dict(mcs=[["qpsk", 1 / 3], ["qpsk", 3 / 4], ["16qam", 1 / 2], ["64qam", 3 / 4]], table_blocks=200)


def test_measured_thresholds_lie_above_shannon_by_a_code_like_gap_and_rise_with_efficiency():
    config = DigitalAdaptiveConfig(bandwidth=1.0, **SMALL_TABLE)
    thresholds = [mcs_threshold(config, m, r, 1) for m, r in config.mcs]  # one block per image: 10 % per block
    gaps = []
    for (modulation, rate), snr in zip(config.mcs, thresholds, strict=True):
        efficiency = (config.fec.k - 24) / math.ceil(config.fec.k / rate / MODULATIONS[modulation])
        gaps.append(snr - 10 * math.log10(2**efficiency - 1))
    # a k = 1024 LDPC code at 10 % BLER: about 1 to 3 dB from the Shannon limit of its spectral efficiency
    assert all(0.5 <= g <= 3.5 for g in gaps), gaps
    assert thresholds == sorted(thresholds)
    # an image of 16 blocks lost 10 % of the time needs each block right 99.3 % of the time: a higher SNR, though
    # the steep waterfall keeps it within about a dB
    many = mcs_threshold(config, "qpsk", 1 / 3, 16)
    assert thresholds[0] < many <= thresholds[0] + 1.5
    assert block_error_target(0.1, 1) == pytest.approx(0.1) and block_error_target(0.1, 16) == pytest.approx(
        1 - 0.9 ** (1 / 16)
    )


def test_choice_follows_the_table_and_fills_the_budget_with_whole_blocks():
    run = DigitalAdaptiveConfig(bandwidth=0.5, **SMALL_TABLE).build()
    robust = run.choose(-20.0, 16384)
    assert robust[:2] == ("qpsk", 1 / 3)  # below every threshold: the most robust
    assert run.choose(math.inf, 16384)[:2] == ("64qam", 3 / 4)  # the most blocks
    assert run.choose(robust[3], 16384)[:2] == ("qpsk", 1 / 3)  # at its own threshold
    for modulation, rate in run.config.mcs:
        blocks = blocks_in_budget(run.config.fec, modulation, rate, 0.5, 16384)
        symbols = math.ceil(1024 / rate / MODULATIONS[modulation])
        assert blocks * symbols <= 0.5 * 16384 < (blocks + 1) * symbols


def test_a_point_keeps_the_budget_and_delivers_above_the_threshold():
    dataset = load_dataset(DatasetSpec(name="synthetic_portraits", split="test", num_images=6, image_size=128))
    run = DigitalAdaptiveConfig(bandwidth=0.5, **SMALL_TABLE).build()
    modulation, rate, blocks, threshold = run.choose(9.0, 128 * 128)
    # at its threshold (no margin): images lost at most about 10 % of the time, and the budget kept
    c = run(PointContext(threshold, to_no(threshold), make_channel("awgn"), None, seed_everything(1), dataset))
    assert (c["adaptive_modulation"], c["adaptive_code_rate"], c["adaptive_blocks_per_image"]) == (
        modulation,
        rate,
        blocks,
    )
    assert c["images_over_target"] == 0 and c["channel_uses_per_pixel"] <= 0.5
    assert c["source_bits_per_pixel"] <= c["adaptive_bpp_target"] and c["images_lost"] <= 2
    assert c["bler"] <= c["adaptive_block_error_target"] * 5 and np.isfinite(c["miou"])


def test_bad_configs_are_refused_before_any_point():
    with pytest.raises(ValidationError, match="expected a lossy source codec"):
        DigitalAdaptiveConfig(bandwidth=1.0, codec="png")
    with pytest.raises(ValidationError, match="unknown modulation"):
        DigitalAdaptiveConfig(bandwidth=1.0, mcs=[["8psk", 0.5]])
    tiny = DigitalAdaptiveConfig(bandwidth=0.001)
    spec = DatasetSpec(name="synthetic_portraits", split="test", num_images=2, image_size=64)
    assert any("hold no code block" in p for p in tiny.check_files(spec))
