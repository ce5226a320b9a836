"""Files a folder dataset must refuse before any Point runs, naming the file: a decompression bomb, an empty or
truncated file, something that is not an image, and a mask whose size differs from its image's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lssc_sim.data import DATASETS, DatasetSpec
from lssc_sim.data.folders import MAX_PIXELS
from lssc_sim.engine.scenario import QUICK_NUM_IMAGES, ScenarioError, scenario_from_dict


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for i in range(3):
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "masks").mkdir(exist_ok=True)
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "images" / f"im{i}.png")
        Image.fromarray((rng.random((40, 48)) > 0.5).astype(np.uint8)).save(tmp_path / "masks" / f"im{i}.png")
    return tmp_path


def _load(root: Path):
    return scenario_from_dict(
        {
            "name": "hostile",
            "dataset": {"name": "folder", "path": str(root), "num_images": 3, "image_size": 32},
            "systems": {"u": {"kind": "ber", "max_bits": 2400}},
            "sweep": {"snr_db": [0]},
        },
        "hostile.yaml",
    )


def test_the_clean_folder_validates(root):
    assert _load(root).spec.dataset.num_images == 3


def test_a_decompression_bomb_is_refused_without_being_decoded(root):
    bomb = root / "images" / "im1.png"
    side = int(MAX_PIXELS**0.5) + 1  # just over the limit: a few kB of PNG that decodes to 67 MB
    Image.new("L", (side, side)).save(bomb)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ScenarioError, match=rf"hostile.yaml: dataset: dataset 'folder': '{bomb}' is {side}x{side} "
                                            rf"pixels, over the limit of {MAX_PIXELS} per image"):  # fmt: skip
        _load(root)


def test_an_empty_file_is_refused_by_name(root):
    (root / "masks" / "im2.png").write_bytes(b"")
    with pytest.raises(ScenarioError, match=rf"dataset 'folder': '{root / 'masks' / 'im2.png'}' is empty \(0 bytes\)"):
        _load(root)


def test_a_truncated_file_is_refused_by_name(root):
    victim = root / "images" / "im0.png"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # the header still reads
    with Image.open(victim) as im:
        assert im.size == (48, 40)
    with pytest.raises(ScenarioError, match=rf"'{victim}' is truncated or corrupt"):
        _load(root)


def test_a_file_that_is_no_image_is_refused_by_name(root):
    (root / "images" / "im0.png").write_text("name: not an image\n")
    with pytest.raises(ScenarioError, match=rf"'{root / 'images' / 'im0.png'}' is not an image file Pillow can read"):
        _load(root)


def test_a_mask_of_the_wrong_size_is_refused_by_name(root):
    mask = root / "masks" / "im1.png"
    Image.fromarray(np.zeros((40, 47), np.uint8)).save(mask)
    with pytest.raises(ScenarioError, match=rf"image '{root / 'images' / 'im1.png'}' is 48x40 but its mask '{mask}' "
                                            "is 47x40"):  # fmt: skip
        _load(root)


def test_quick_checks_the_images_its_own_subset_reads(tmp_path):
    """--quick draws a subset of QUICK_NUM_IMAGES that is not inside the full run's: that is the one checked."""
    for i in range(30):
        for folder in ("images", "masks"):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(np.full((8, 8), i % 2, np.uint8)).save(tmp_path / folder / f"im{i:02d}.png")
    folder = DATASETS.get("folder")
    for seed in range(100):  # the first seed whose quick subset reads an image the full subset does not
        full, quick = (
            DatasetSpec(name="folder", path=str(tmp_path), num_images=n, image_size=32, seed=seed)
            for n in (20, QUICK_NUM_IMAGES)
        )
        only_quick = set(folder.select(folder.pairs(quick), quick)) - set(folder.select(folder.pairs(full), full))
        if only_quick:
            break
    victim = sorted(only_quick)[0][0]
    victim.write_bytes(b"")
    raw = {
        "name": "hostile",
        "dataset": full.model_dump(),
        "systems": {"u": {"kind": "ber", "max_bits": 2400}},
        "sweep": {"snr_db": [0]},
    }
    assert scenario_from_dict(raw, "hostile.yaml").spec.dataset.num_images == 20  # the full run never reads it
    with pytest.raises(ScenarioError, match=rf"'{victim}' is empty \(0 bytes\)"):
        scenario_from_dict(raw, "hostile.yaml", quick=True)
