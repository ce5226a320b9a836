"""The shipped weights: files match their cards, they reload identically in a fresh process, they still reach
the validation mIoU of their cards, and (slow) the quality bars of the codec issue on the test split."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from lssc_sim import pretrained
from lssc_sim.channels import make_channel
from lssc_sim.data import DatasetSpec, image_hw, load_dataset
from lssc_sim.seeding import seed_everything
from lssc_sim.snr import to_no
from lssc_sim.systems.base import PointContext
from lssc_sim.systems.semantic import SemanticConfig

BUDGETS = {"lssc_awgn_cu1_16": 1 / 16, "lssc_awgn_cu1_2": 1 / 2, "lssc_awgn_cu4": 4.0}  # channel uses per pixel
STREET_SPLIT = ("lssc_street_deep", "lssc_street_skips", "lssc_street_stage2")  # deep tensor, every skip, stage 2
SHIPPED = ("lssc_awgn", "unet_segmenter", "unet_segmenter_street", *BUDGETS, *STREET_SPLIT)
TRAINED_ON = {  # dataset and image size of each card
    "lssc_awgn": ("synthetic_portraits", 128),
    **dict.fromkeys(BUDGETS, ("synthetic_portraits", 128)),
    "unet_segmenter": ("synthetic_portraits", 128),
    "unet_segmenter_street": ("synthetic_street", [64, 128]),
    **dict.fromkeys(STREET_SPLIT, ("synthetic_street", [64, 128])),
}


def test_the_shipped_models_are_there_with_matching_cards():
    assert set(SHIPPED) <= set(pretrained.names())
    for name in SHIPPED:
        folder = pretrained.resolve(name)
        card = json.loads((folder / "card.json").read_text())
        for file in ("encoder.keras", "decoder.keras"):
            assert hashlib.sha256((folder / file).read_bytes()).hexdigest() == card["sha256"][file]
            assert (folder / file).stat().st_size < 8 * 2**20  # small enough to ship
        assert card["command"] == f"python -m lssc_sim.train lssc_sim/pretrained/{name}.yaml"
        assert (card["dataset"]["name"], card["config"]["image_size"]) == TRAINED_ON[name]


@pytest.mark.parametrize("name", BUDGETS)
def test_budget_codecs_achieve_their_budget_within_five_percent(name):
    card = json.loads((pretrained.resolve(name) / "card.json").read_text())
    assert card["config"]["bandwidth"] == BUDGETS[name]
    achieved = card["channel_uses_per_pixel"]
    assert abs(achieved - BUDGETS[name]) <= 0.05 * BUDGETS[name]
    model = pretrained.load(name)  # the card's number is the encoder's
    h, w = image_hw(card["config"]["image_size"])
    assert -(-sum(int(np.prod(s)) for s in model.transmitted_shapes) // 2) / (h * w) == achieved


def _point(name: str, split: str, num_images: int, snr_db: float, seed: int = 11):
    card = pretrained.load(name).card
    spec = DatasetSpec(**{**card["dataset"], "split": split, "num_images": num_images})
    system = SemanticConfig(weights=name).build()
    ctx = PointContext(snr_db, to_no(snr_db), make_channel("awgn"), None, seed_everything(seed), load_dataset(spec))
    return card, system(ctx), system


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_card_miou_on_its_validation_images(name):
    """The card's score again, on the same validation images the early stopping picked the best epoch on: a check
    that the shipped files are the card's weights, not of how they generalise (test_quality_bars_on_the_test_split
    checks lssc_awgn and the segmenter on unseen images). Only the channel noise is fresh (seed 11); the segmenter
    has none."""
    card = json.loads((pretrained.resolve(name) / "card.json").read_text())
    snr = card["val_snr_db"] if card["val_snr_db"] is not None else 100.0
    _, c, _ = _point(name, "val", card["config"]["val_images"], snr)
    # the segmenter has no channel: its card score is the noise-free one
    miou = c["miou"] if card["val_snr_db"] is not None else c["clean_miou"]
    assert miou == pytest.approx(card["best_val_miou"], abs=0.01)


RELOAD = """
import sys, numpy as np
import lssc_sim
from lssc_sim import pretrained
from lssc_sim.data import image_hw
model = pretrained.load(sys.argv[1])
x = np.random.default_rng(0).random((2, *image_hw(model.card["config"]["image_size"]), 3), dtype=np.float32)
np.save(sys.argv[2], np.asarray(model.segment(x)))
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reloads_with_identical_outputs_in_a_fresh_process(name, tmp_path):
    out = tmp_path / "logits.npy"
    subprocess.run([sys.executable, "-c", RELOAD, name, str(out)], check=True, capture_output=True)
    model = pretrained.load(name)
    x = np.random.default_rng(0).random((2, *image_hw(model.card["config"]["image_size"]), 3), dtype=np.float32)
    np.testing.assert_array_equal(np.load(out), np.asarray(model.segment(x)))


@pytest.mark.slow
def test_quality_bars_on_the_test_split():
    """Clean UNet >= 0.90; LSSC at 20 dB within 0.03 of it; LSSC falls smoothly from 20 to 0 dB (steps <= 0.05)."""
    _, unet, _ = _point("unet_segmenter", "test", 200, 100.0)
    assert unet["clean_miou"] >= 0.90
    card = pretrained.load("lssc_awgn").card
    spec = DatasetSpec(**{**card["dataset"], "split": "test", "num_images": 200})
    system, dataset = SemanticConfig(weights="lssc_awgn").build(), load_dataset(spec)
    curve = [
        system(PointContext(float(s), to_no(s), make_channel("awgn"), None, seed_everything(s), dataset))["miou"]
        for s in range(20, -1, -1)
    ]
    assert curve[0] >= unet["clean_miou"] - 0.03, (curve[0], unet["clean_miou"])
    assert max(abs(np.diff(curve))) <= 0.05, curve


@pytest.mark.parametrize("granularity", ["tensor", "channel"])
def test_shipped_lssc_with_16_bit_weights_scores_as_with_float_weights(granularity):
    """Seed 004's weight quantisation: at 16 bits the noiseless mIoU moves by less than 0.002; pruning nothing
    and quantising nothing changes nothing."""
    card = pretrained.load("lssc_awgn").card
    dataset = load_dataset(DatasetSpec(**{**card["dataset"], "split": "val", "num_images": 32}))

    def clean(compress):
        system = SemanticConfig(weights="lssc_awgn", compress=compress).build()
        ctx = PointContext(float("nan"), 0.0, make_channel("ideal"), None, seed_everything(0), dataset)
        return system(ctx)["clean_miou"]

    float_miou = clean(None)
    assert clean({"bits": None, "sparsity": 0.0}) == float_miou
    assert abs(clean({"bits": 16, "granularity": granularity}) - float_miou) < 0.002
