"""The realism measurements: compressed sizes, colour classifiers, and (slow) the bars themselves."""

import numpy as np
import pytest

from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.data.realism import BARS, ColourClassifiers, colour_classifier_miou, compressed_bpp, measure


def test_compressed_bpp_orders_flat_and_noisy_images():
    flat = np.full((64, 64, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert compressed_bpp(flat, "PNG") < 1.0
    assert 23.0 < compressed_bpp(noise, "PNG") < 26.0  # 24 bits of entropy plus container overhead
    assert compressed_bpp(noise, "JPEG", quality=75) > compressed_bpp(flat, "JPEG", quality=75)


def test_colour_classifiers_learn_a_colour_rule():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (20_000, 3))
    labels = (rgb[:, 0] > 128).astype(np.int64) + 2 * (rgb[:, 2] > 200)  # 4 classes set by colour alone
    clf = ColourClassifiers(4).fit(rgb, labels)
    test = rng.integers(0, 256, (5_000, 3))
    truth = (test[:, 0] > 128) + 2 * (test[:, 2] > 200)
    preds = clf.predict(test)
    assert set(preds) == {"histogram", "histogram_balanced", "knn", "logistic"}
    for name in ("histogram", "knn"):
        assert (preds[name] == truth).mean() > 0.95, name
    assert (preds["logistic"] == truth).mean() > 0.85  # the classes are linearly separable


def test_colour_miou_ignores_the_ignore_label():
    spec = dict(name="synthetic_street", num_images=3, image_size=32)
    scores = colour_classifier_miou(load_dataset(DatasetSpec(split="train", **spec)),
                                    load_dataset(DatasetSpec(split="test", **spec)))  # fmt: skip
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_measure_small():
    result = measure("synthetic_portraits", num_train=4, num_test=3, image_size=32)
    assert set(result["bars"]) == set(BARS["synthetic_portraits"])
    assert set(result["fractions"]) == {"background", "person", "(ignore)"}
    assert result["png_bpp"]["min"] <= result["png_bpp"]["mean"] <= result["png_bpp"]["max"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["synthetic_portraits", "synthetic_street"])
def test_realism_bars_hold(name):
    """The issue's bars at 128x128: PNG and JPEG-75 bits per pixel, person fraction, colour-only mIoU."""
    result = measure(name, num_train=200, num_test=100, image_size=128)
    failing = {k: v for k, (v, ok) in result["bars"].items() if not ok}
    assert not failing, failing
