"""Seed 002's E2 and E3 end to end with tiny trained models: the label map and the quantised features over the
bit-true link (bit-exact above the cliff, the fallback below it), the device's cost, and seed 004's compressed
weights and model delivery."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lssc_sim.bounds import break_even_images
from lssc_sim.channels import make_channel
from lssc_sim.codecs import CODECS
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.seeding import seed_everything
from lssc_sim.snr import to_no
from lssc_sim.systems.base import PointContext
from lssc_sim.systems.delivery import DeliverySpec, delivery_counters
from lssc_sim.systems.digital_image import DigitalImageConfig
from lssc_sim.systems.label_map import LabelMapConfig
from lssc_sim.systems.semantic import SemanticConfig
from lssc_sim.systems.split_digital import SplitDigitalConfig
from lssc_sim.train.config import TrainConfig
from lssc_sim.train.loop import train

TINY = dict(image_size=32, base_width=4, train_images=48, val_images=16, batch_size=8, epochs=2)
FEC = {"k": 1000, "rate": 0.5, "decoder": "fast"}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny LSSC codecs (every skip; the bottleneck only) trained through AWGN and a tiny clean UNet."""
    root = tmp_path_factory.mktemp("models")
    train(TrainConfig(codec="lssc", depth=2, channel="awgn", **TINY), out_dir=root / "lssc", progress=False)
    deep = TrainConfig(codec="lssc", depth=2, channel="awgn", projections=[0, 0, 4], **TINY)
    train(deep, out_dir=root / "deep", progress=False)
    train(TrainConfig(codec="unet", depth=2, **TINY), out_dir=root / "unet", progress=False)
    return root


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DatasetSpec(name="synthetic_portraits", split="test", num_images=12, image_size=32))


def run(system, dataset, snr_db, channel="awgn", modulation="qpsk", seed=3):
    return system(
        PointContext(snr_db, to_no(snr_db), make_channel(channel), modulation, seed_everything(seed), dataset)
    )


def test_label_map_arrives_bit_exact_above_the_cliff(models, dataset):
    system = LabelMapConfig(segmenter=str(models / "unet"), fec=FEC).build()
    c = run(system, dataset, 20.0)
    assert c["images_lost"] == 0 and c["maps_exact"] == 12 and c["block_errors"] == 0
    assert c["miou"] == c["clean_miou"]  # exactly the transmitter-side segmenter's mIoU
    # and that is the receiver-side segmenter's mIoU on clean images: the same network, run at the device
    digital = run(DigitalImageConfig(receiver={"segmenter": str(models / "unet")}, fec=FEC).build(), dataset, 20.0)
    assert c["clean_miou"] == pytest.approx(digital["clean_miou"], abs=1e-12)
    assert 0 < c["source_bits_per_pixel"] < digital["source_bits_per_pixel"]  # a map costs less than PNG
    assert c["channel_uses_per_pixel"] < digital["channel_uses_per_pixel"]


def test_label_map_below_the_cliff_shows_the_fallback_map(models, dataset):
    c = run(LabelMapConfig(segmenter=str(models / "unet"), fec=FEC).build(), dataset, -10.0)
    assert c["images_lost"] == 12 and c["maps_exact"] == 0
    assert c["miou"] == pytest.approx(c["lost_miou"])


def test_label_map_tolerant_receiver_never_crashes_at_the_cliff(models, dataset):
    system = LabelMapConfig(segmenter=str(models / "unet"), fec=FEC, receiver={"mode": "tolerant"}).build()
    for snr in (-2.0, 0.0, 1.0, 2.0):
        c = run(system, dataset, snr)
        assert 0 <= c["miou"] <= 1 and c["images_lost"] <= 12


def test_split_digital_at_8_bits_error_free_scores_like_the_analog_codec_without_noise(models, dataset):
    weights = str(models / "lssc")
    analog = run(SemanticConfig(weights=weights).build(), dataset, math.nan, channel="ideal", modulation=None)
    for granularity in ("tensor", "channel"):
        config = SplitDigitalConfig(weights=weights, feature_bits=8, granularity=granularity, fec=FEC)
        c = run(config.build(), dataset, math.nan, channel="ideal", modulation=None)
        assert c["float_miou"] == pytest.approx(analog["miou"], abs=1e-9)
        assert abs(c["miou"] - analog["miou"]) <= 0.01
        assert c["miou"] == c["clean_miou"]  # the ideal channel delivers the quantised features as sent
        assert c["feature_sqnr_db"] > 35  # about 6 dB per bit


def test_split_digital_arrives_bit_exact_above_the_cliff_and_falls_back_below(models, dataset):
    system = SplitDigitalConfig(weights=str(models / "deep"), feature_bits=4, fec=FEC).build()
    assert len(system.shapes) == 1  # the deep-only cut sends the bottleneck alone
    high = run(system, dataset, 20.0, modulation="16qam")
    assert high["images_lost"] == 0 and high["miou"] == high["clean_miou"]
    low = run(system, dataset, -10.0)
    assert low["images_lost"] == 12
    tolerant = SplitDigitalConfig(weights=str(models / "deep"), feature_bits=4, fec=FEC, receiver={"mode": "tolerant"})
    assert 0 <= run(tolerant.build(), dataset, 0.0)["miou"] <= 1


def test_fewer_feature_bits_cost_fewer_source_bits_and_more_quantisation_noise(models, dataset):
    rows = {
        b: run(SplitDigitalConfig(weights=str(models / "lssc"), feature_bits=b, fec=FEC).build(), dataset, 20.0)
        for b in (2, 4, 8)
    }
    assert rows[2]["source_bits_per_image"] < rows[4]["source_bits_per_image"] < rows[8]["source_bits_per_image"]
    assert rows[2]["feature_sqnr_db"] < rows[4]["feature_sqnr_db"] < rows[8]["feature_sqnr_db"]


def test_every_image_system_reports_the_device_cost(models, dataset):
    lssc, unet = str(models / "lssc"), str(models / "unet")
    costs = {
        "e1": run(
            DigitalImageConfig(source={"codec": "raw"}, receiver={"segmenter": unet}, fec=FEC).build(), dataset, 20.0
        ),
        "e2": run(LabelMapConfig(segmenter=unet, fec=FEC).build(), dataset, 20.0),
        "e3": run(SplitDigitalConfig(weights=lssc, fec=FEC).build(), dataset, 20.0),
        "analog": run(SemanticConfig(weights=lssc).build(), dataset, 20.0, modulation=None),
    }
    for c in costs.values():
        assert c["device_seconds"] > 0 and c["device_peak_activation_bytes"] > 0
    assert costs["e1"]["device_gflops"] == 0  # no network at the device
    # the device runs the whole UNet for E2, the encoder half of LSSC for E3 and the analog codec
    assert costs["e2"]["device_gflops"] > 0
    assert costs["e3"]["device_gflops"] == costs["analog"]["device_gflops"] > 0
    # E1 holds the image and its raw stream: 2 x 32 x 32 x 3 bytes plus the header
    assert 2 * 32 * 32 * 3 <= costs["e1"]["device_peak_activation_bytes"] < 2 * 32 * 32 * 3 + 64


def test_compressed_weights_keep_their_clean_miou(models, dataset):
    weights = str(models / "lssc")

    def clean(**compress):
        config = SemanticConfig(weights=weights, compress=compress or None)
        return run(config.build(), dataset, math.nan, channel="ideal", modulation=None)

    plain, none, sixteen, two = clean(), clean(bits=None, sparsity=0.0), clean(bits=16), clean(bits=2)
    assert none["clean_miou"] == plain["clean_miou"]  # no quantisation, no pruning: nothing changes
    assert none["model_bytes_device"] == none["model_float_bytes_device"]
    assert abs(sixteen["clean_miou"] - plain["clean_miou"]) < 0.002
    assert two["model_bytes_device"] < sixteen["model_bytes_device"] < none["model_bytes_device"]
    pruned = clean(sparsity=0.5)
    assert pruned["realised_sparsity_device"] == pytest.approx(0.5, abs=0.005)


def test_delivery_counts_blocks_and_retransmissions():
    spec = DeliverySpec(snr_db=30.0, fec=FEC)
    c = delivery_counters(10_000, spec, make_channel("awgn"), np.random.default_rng(0))
    blocks = math.ceil(80_000 / (1000 - 24))
    assert c["delivery_blocks"] == blocks and c["delivery_bler"] == 0
    assert c["delivery_channel_uses"] == blocks * 2000 / 2  # rate 1/2, QPSK: n = 2000 bits in 1000 symbols
    dead_spec = DeliverySpec(snr_db=-15.0, fec=FEC)
    dead = delivery_counters(10_000, dead_spec, make_channel("awgn"), np.random.default_rng(0))
    assert dead["delivery_bler"] == 1 and dead["delivery_channel_uses"] == math.inf


def test_break_even_images():
    assert break_even_images(1000.0, 10.0, 20.0) == 101  # 1000 + 101 * 10 < 101 * 20, not at 100
    assert break_even_images(1000.0, 20.0, 20.0) == math.inf
    assert break_even_images(math.inf, 1.0, 20.0) == math.inf


def test_projections_drop_skips_but_never_the_bottleneck():
    codec = CODECS.get("lssc")(base_width=4, depth=2, num_classes=2, image_size=32, projections=[0, 0, 3])
    assert codec.transmitted_shapes == ((8, 8, 3),)
    with pytest.raises(ValueError, match="bottleneck"):
        CODECS.get("lssc")(base_width=4, depth=2, num_classes=2, image_size=32, projections=[2, 2, 0])
