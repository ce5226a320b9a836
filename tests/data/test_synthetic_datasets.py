"""Procedural datasets: purity, split disjointness, class ids, scale independence, statistics, speed."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.data.synthetic import generate

NAMES = ["synthetic_portraits", "synthetic_street"]
VALID_IDS = {"synthetic_portraits": {0, 1}, "synthetic_street": set(range(8)) | {255}}


def digest(name, seed, split, index, size):
    image, mask = generate(name, seed, split, index, size)
    return hashlib.sha256(image.tobytes() + mask.tobytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_same_key_same_bytes_in_another_process(name):
    keys = [(7, "test", 0, 64), (7, "train", 5, 96)]
    here = [digest(name, *k) for k in keys]
    assert here == [digest(name, *k) for k in keys]  # and again in this process
    code = (
        "import hashlib;from lssc_sim.data.synthetic import generate\n"
        f"for k in {keys!r}:\n"
        f"    im, m = generate({name!r}, *k)\n"
        "    print(hashlib.sha256(im.tobytes() + m.tobytes()).hexdigest())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == here


@pytest.mark.parametrize("name", NAMES)
def test_splits_and_seeds_are_disjoint(name):
    seen = {}
    for seed in (0, 1):
        for split in ("train", "val", "test"):
            for i in range(6):
                seen.setdefault(digest(name, seed, split, i, 32), (seed, split, i))
    assert len(seen) == 2 * 3 * 6


@pytest.mark.parametrize("name", NAMES)
def test_valid_class_ids_and_both_classes_present(name):
    ds = load_dataset(DatasetSpec(name=name, num_images=12, image_size=64, seed=3))
    _, masks = ds.batch(range(len(ds)))
    ids = set(np.unique(masks).tolist())
    assert ids <= VALID_IDS[name]
    assert len(ids - {255}) >= 2


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [32, 200])
def test_any_size(name, size):
    image, mask = generate(name, 0, "val", 1, size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    assert mask.shape == (size, size) and mask.dtype == np.uint8


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_largest_size(name):
    image, mask = generate(name, 0, "test", 0, 1024)
    assert image.shape == (1024, 1024, 3) and mask.shape == (1024, 1024)


@pytest.mark.parametrize("name", NAMES)
def test_the_scene_does_not_depend_on_the_size(name):
    """One key drawn at 64 and 192 pixels shows the same layout (the labels agree after resizing)."""
    agree = []
    for i in range(4):
        _, small = generate(name, 0, "test", i, 64)
        _, large = generate(name, 0, "test", i, 192)
        agree.append((np.asarray(Image.fromarray(large).resize((64, 64), Image.NEAREST)) == small).mean())
    assert min(agree) > 0.93


def test_portrait_person_fractions_are_wide():
    ds = load_dataset(DatasetSpec(name="synthetic_portraits", num_images=60, image_size=64, seed=11))
    _, masks = ds.batch(range(len(ds)))
    frac = masks.mean(axis=(1, 2))
    assert 0.2 <= frac.mean() <= 0.5
    assert frac.min() < 0.12  # small and distant persons
    assert frac.max() > 0.5  # close-ups
    # some persons are cropped by a side or the top border
    touches = masks[:, :, 0].any(axis=1) | masks[:, :, -1].any(axis=1) | masks[:, 0, :].any(axis=1)
    assert touches.mean() > 0.1


def test_street_has_road_below_sky():
    ds = load_dataset(DatasetSpec(name="synthetic_street", num_images=10, image_size=64, seed=5))
    _, masks = ds.batch(range(len(ds)))
    assert (masks[:, :8] == 5).mean() > 0.2  # sky in the top rows
    bottom = masks[:, -20:]
    assert ((bottom == 0) | (bottom == 255)).mean() > 0.5  # road (or the ego hood) at the bottom
