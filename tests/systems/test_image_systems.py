"""The image systems end to end with tiny trained models: the semantic codec over the channel, the digital image
link with its receiver, the counters they report, and the honesty checks of the comparison."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from lssc_sim.channels import make_channel
from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.seeding import seed_everything
from lssc_sim.snr import to_no
from lssc_sim.systems.base import PointContext
from lssc_sim.systems.digital_image import DigitalImageConfig
from lssc_sim.systems.semantic import SemanticConfig
from lssc_sim.train.config import TrainConfig
from lssc_sim.train.loop import train

TINY = dict(image_size=32, base_width=4, train_images=48, val_images=16, batch_size=8, epochs=2)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny LSSC trained through AWGN and a tiny clean UNet segmenter (folders of python -m lssc_sim.train)."""
    root = tmp_path_factory.mktemp("models")
    train(TrainConfig(codec="lssc", depth=2, channel="awgn", **TINY), out_dir=root / "lssc", progress=False)
    train(TrainConfig(codec="unet", depth=2, **TINY), out_dir=root / "unet", progress=False)
    return root


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DatasetSpec(name="synthetic_portraits", split="test", num_images=12, image_size=32))


def run(system, dataset, snr_db, channel="awgn", modulation=None, seed=3):
    return system(
        PointContext(snr_db, to_no(snr_db), make_channel(channel), modulation, seed_everything(seed), dataset)
    )


def test_semantic_system_counts_channel_uses_and_is_reproducible(models, dataset):
    system = SemanticConfig(weights=str(models / "lssc")).build()
    c = run(system, dataset, 5.0)
    reals = sum(math.prod(s) for s in system.shapes)
    assert c["channel_uses_per_image"] == math.ceil(reals / 2) == c["channel_uses"] / 12
    assert c["channel_uses_per_pixel"] == pytest.approx(c["channel_uses_per_image"] / 32**2)
    assert 0 <= c["miou"] <= 1 and len(c["per_class_iou"]) == 2
    assert {"encoding", "channel", "decoding"} <= set(c["stage_seconds"])
    again = run(system, dataset, 5.0)
    assert {k: v for k, v in again.items() if k != "stage_seconds"} == {
        k: v for k, v in c.items() if k != "stage_seconds"
    }


def test_semantic_system_at_high_snr_scores_like_without_noise(models, dataset):
    system = SemanticConfig(weights=str(models / "lssc")).build()
    high, low = run(system, dataset, 50.0), run(system, dataset, -20.0)
    assert high["miou"] == pytest.approx(high["clean_miou"], abs=0.01)
    assert low["pixel_accuracy"] < high["pixel_accuracy"] or high["pixel_accuracy"] > 0.99


def test_semantic_complexity_columns(models, dataset):
    c = run(SemanticConfig(weights=str(models / "lssc"), complexity=True).build(), dataset, 10.0)
    assert c["codec"] == "lssc" and c["depth"] == 2 and c["base_width"] == 4
    assert c["base64_gflops"] > 100 * c["gflops"] > 0  # width 64 vs 4: 256x the FLOPs of most layers
    assert c["q"] == pytest.approx(c["miou"] - 0.1 * c["q_flops_ratio"] - 0.2 * c["q_size_ratio"])


def test_semantic_config_needs_weights_or_train():
    with pytest.raises(ValidationError, match="exactly one of weights"):
        SemanticConfig()
    with pytest.raises(ValidationError, match="codec"):
        SemanticConfig(train={"codec": "no_such_codec"})
    assert SemanticConfig(weights="no_such_model").check_files()[0].startswith("weights 'no_such_model'")


def _digital(models, **kwargs):
    return DigitalImageConfig(
        receiver={"segmenter": str(models / "unet"), **kwargs.pop("receiver", {})},
        fec={"k": 1000, "rate": 0.5, "decoder": "fast"},
        **kwargs,
    ).build()


def test_digital_link_above_the_cliff_is_lossless(models, dataset):
    c = run(_digital(models), dataset, 20.0, modulation="qpsk")
    assert c["images_lost"] == 0 and c["images_exact"] == 12
    assert c["miou"] == c["clean_miou"]  # exactly: the receiver segments the very images that were sent
    assert c["block_errors"] == c["bit_errors"] == 0 and c["blocks_decoded"] == c["blocks"]
    assert c["source_bits_per_pixel"] > 1
    rate = c["code_rate"]
    # the channel carries the source bits plus padding at the payload rate (k - 24) / n: the CRC24 is overhead
    expected_uses = (c["source_bits_per_image"] * 12 + c["padding_bits"]) / (2 * rate)
    assert c["channel_uses"] == pytest.approx(expected_uses, rel=1e-9)
    assert c["ebno_db"] == pytest.approx(20.0 - 10 * np.log10(c["source_bits_per_image"] / c["channel_uses_per_image"]))


def test_digital_link_below_the_cliff_loses_every_image_to_the_fallback(models, dataset):
    c = run(_digital(models), dataset, -5.0, modulation="qpsk")
    assert c["images_lost"] == c["images_lost_crc"] == 12
    assert c["miou"] == c["lost_miou"]  # what the receiver shows is the grey fallback, segmented
    assert c["blocks_decoded"] < c["blocks"]  # strict early stopping skipped the hopeless blocks
    assert c["bler"] > 0.9


def test_tolerant_receiver_decodes_every_block_and_never_crashes(models, dataset):
    system = _digital(models, receiver={"mode": "tolerant"})
    for snr in (-5.0, 1.0, 2.0, 3.0):
        c = run(system, dataset, snr, modulation="qpsk")
        assert c["blocks_decoded"] == c["blocks"]
        assert c["images_lost"] + c["images_exact"] <= 12


@pytest.mark.parametrize("codec", ["jpeg", "jpeg2000", "webp", "avif", "heif"])
def test_lossy_source_codecs_run_through_the_link(models, dataset, codec):
    c = run(_digital(models, source={"codec": codec, "quality": 80}), dataset, 20.0, modulation="16qam")
    assert c["images_lost"] == 0 and c["images_exact"] < 12  # delivered, but lossy
    assert 0 < c["source_bits_per_pixel"] < 24


def test_digital_config_rejects_unknown_codec_and_missing_segmenter(models):
    with pytest.raises(ValidationError, match="unknown source codec 'gif'"):
        DigitalImageConfig(source={"codec": "gif"})
    assert DigitalImageConfig(receiver={"segmenter": "nope"}).check_files()
    assert DigitalImageConfig(receiver={"segmenter": str(models / "unet")}).check_files() == []


def test_ideal_channel_delivers_the_stream_unchanged_without_link_columns(models, dataset):
    c = run(_digital(models), dataset, math.nan, channel="ideal")
    assert c["images_exact"] == 12 and c["images_lost"] == 0 and c["miou"] == c["clean_miou"] and c["ss"] == 1.0
    assert c["psnr_exact"] and c["mse"] == 0 and c["ssim"] == pytest.approx(1.0)
    assert not {"channel_uses", "channel_uses_per_pixel", "bler", "ber", "code_rate"} & set(c)


def test_semantic_over_the_ideal_channel_scores_its_clean_miou(models, dataset):
    c = run(SemanticConfig(weights=str(models / "lssc")).build(), dataset, math.nan, channel="ideal")
    assert c["miou"] == c["clean_miou"] and c["ss"] == 1.0


@pytest.mark.parametrize("codec", ["jpeg", "jpeg2000", "webp", "avif", "heif"])
def test_rate_targets_are_met_or_counted(models, dataset, codec):
    top = 6 if codec == "heif" else 3  # HEIF's boxes alone are about 3 bpp of a 32 x 32 image
    low, high = (
        run(_digital(models, source={"codec": codec, "bpp": b}), dataset, math.nan, "ideal") for b in (0.3, top)
    )
    for c, target in ((low, 0.3), (high, top)):
        # every image is at most the target unless it is counted as over it (the codec's floor)
        assert (c["source_bpp_max"] <= target) == (c["images_over_target"] == 0)
        assert c["source_bpp_min"] <= c["source_bits_per_pixel"] <= c["source_bpp_max"]
    assert high["images_over_target"] == 0 and high["source_bpp_max"] <= top
    assert high["source_bits_per_pixel"] > 0.8 * top  # the search uses the budget, not just any setting under it
    assert high["psnr_db"] > low["psnr_db"] and high["ssim"] > low["ssim"]


def test_quality_and_ss_count_lost_images_with_their_fallback(models, dataset):
    c = run(_digital(models), dataset, -5.0, modulation="qpsk")
    fallback = np.full((12, 32, 32, 3), 128, np.uint8)
    images, _ = dataset.arrays()
    mse = np.mean((images.astype(float) - fallback) ** 2)
    assert c["mse"] == pytest.approx(mse) and c["psnr_db"] == pytest.approx(10 * np.log10(255**2 / mse))
    assert c["ss"] == pytest.approx(c["lost_miou"] / c["clean_miou"])


def test_rate_target_is_refused_with_quality_or_for_lossless_codecs():
    with pytest.raises(ValidationError, match="either quality or a bpp target"):
        DigitalImageConfig(source={"codec": "jpeg", "quality": 50, "bpp": 0.5})
    with pytest.raises(ValidationError, match="png is lossless"):
        DigitalImageConfig(source={"codec": "png", "bpp": 0.5})


def test_raw_images_arrive_exactly_through_the_link(models, dataset):
    c = run(_digital(models, source={"codec": "raw"}), dataset, 20.0, modulation="16qam")
    assert c["images_exact"] == 12 and c["psnr_exact"] and c["source_bpp_min"] > 24  # 24 bpp and the header


def test_both_image_systems_take_non_square_street_images(tmp_path):
    tiny = {**TINY, "image_size": [32, 64], "epochs": 1, "train_images": 16, "val_images": 8}
    street = {"name": "synthetic_street"}
    train(
        TrainConfig(codec="lssc", depth=2, channel="awgn", dataset=street, **tiny),
        out_dir=tmp_path / "l",
        progress=False,
    )
    train(TrainConfig(codec="unet", depth=2, dataset=street, **tiny), out_dir=tmp_path / "u", progress=False)
    data = load_dataset(DatasetSpec(name="synthetic_street", num_images=4, image_size=[32, 64]))
    semantic = run(SemanticConfig(weights=str(tmp_path / "l")).build(), data, 10.0)
    assert semantic["channel_uses_per_pixel"] == pytest.approx(semantic["channel_uses_per_image"] / (32 * 64))
    digital = DigitalImageConfig(source={"codec": "webp", "bpp": 1.0}, receiver={"segmenter": str(tmp_path / "u")})
    assert DigitalImageConfig(receiver={"segmenter": str(tmp_path / "u")}).check_files(data.spec) == []
    c = run(digital.build(), data, 20.0, modulation="qpsk")
    assert c["images_lost"] == 0 and c["source_bpp_max"] <= 1.0 and len(c["per_class_iou"]) == 8
