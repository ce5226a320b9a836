"""Real-data loaders on tiny fake dataset trees built in a temporary folder, and every bad-layout error."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lssc_sim.data import DatasetSpec, load_dataset
from lssc_sim.data.folders import CITYSCAPES_ID_TO_TRAIN_ID


def save(path: Path, array: np.ndarray, mode: str | None = None, palette: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(array, mode) if mode else Image.fromarray(array)
    if palette:
        im = im.convert("L").convert("P")
        im.putpalette([v for k in range(256) for v in (k * 40 % 256, k * 90 % 256, k * 17 % 256)])
    im.save(path)


def photo(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def spec(name: str, root: Path, **kw) -> DatasetSpec:
    kw.setdefault("image_size", 32)
    kw.setdefault("num_images", 1)
    return DatasetSpec(name=name, path=str(root), **kw)


# ------------------------------------------------------------------------------------ portrait matting


@pytest.fixture
def matting_root(tmp_path: Path) -> Path:
    for folder, n in (("training", 10), ("testing", 3)):
        for i in range(n):
            save(tmp_path / folder / f"{i:05d}.png", photo(40, 32, i))
            alpha = np.zeros((40, 32), np.uint8)
            alpha[:, 16:] = 255
            alpha[:, 12:16] = 128  # just above 0.5 -> person
            alpha[:, 8:12] = 127  # just below -> background
            save(tmp_path / folder / f"{i:05d}_matte.png", alpha)
    return tmp_path


def test_portrait_matting_splits_and_mask(matting_root: Path):
    sizes = {s: len(load_dataset(spec("portrait_matting", matting_root, split=s, num_images=n)))
             for s, n in (("train", 9), ("val", 1), ("test", 3))}  # fmt: skip
    assert sizes == {"train": 9, "val": 1, "test": 3}
    ds = load_dataset(spec("portrait_matting", matting_root, split="test", num_images=3))
    image, mask = ds[0]
    assert image.shape == (32, 32, 3) and mask.shape == (32, 32)  # 32x40 frames are stretched to square
    assert set(np.unique(mask)) == {0, 1}
    assert mask[:, 12:].all() and not mask[:, :12].any()


def test_portrait_matting_errors(matting_root: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="only 3 images"):
        load_dataset(spec("portrait_matting", matting_root, split="test", num_images=4))
    (matting_root / "testing" / "00001_matte.png").unlink()
    with pytest.raises(ValueError, match="has no alpha matte"):
        load_dataset(spec("portrait_matting", matting_root, split="test"))
    save(matting_root / "training" / "00002_matte.png", np.zeros((41, 32), np.uint8))
    with pytest.raises(ValueError, match="is 32x40 but its mask .* is 32x41"):
        load_dataset(spec("portrait_matting", matting_root, split="train", num_images=9))
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(spec("portrait_matting", tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no such folder"):
        load_dataset(spec("portrait_matting", empty))
    with pytest.raises(ValueError, match="set 'path'"):
        load_dataset(DatasetSpec(name="portrait_matting"))


# ------------------------------------------------------------------------------------------ cityscapes


@pytest.fixture
def cityscapes_root(tmp_path: Path) -> Path:
    for city, frames in (("aachen", 2), ("bonn", 1)):
        for k in range(frames):
            stem = f"{city}_000000_{k:06d}"
            save(tmp_path / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png", photo(16, 32, k))
            ids = np.zeros((16, 32), np.uint8)  # unlabeled (0) -> ignore
            ids[8:, :] = 7  # road -> 0
            ids[:8, 16:] = 26  # car -> 13
            ids[0, 0] = 255  # license plate as stored in 8 bits -> ignore
            save(tmp_path / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png", ids)
    return tmp_path


def test_cityscapes_train_ids(cityscapes_root: Path):
    ds = load_dataset(spec("cityscapes", cityscapes_root, split="val", num_images=3, image_size=32))
    assert ds.num_classes == 19 and ds.class_names[13] == "car"
    image, mask = ds[0]
    assert image.shape == (32, 32, 3)
    assert set(np.unique(mask)) == {0, 13, 255}
    assert (mask[16:] == 0).all() and (mask[:16, 16:] == 13).all() and (mask[:16, :16] == 255).all()
    assert CITYSCAPES_ID_TO_TRAIN_ID[33] == 18 and len(CITYSCAPES_ID_TO_TRAIN_ID) == 19


def test_cityscapes_errors(cityscapes_root: Path):
    with pytest.raises(ValueError, match="no such folder"):
        load_dataset(spec("cityscapes", cityscapes_root, split="train"))
    bad = np.full((16, 32), 40, np.uint8)
    save(cityscapes_root / "gtFine" / "val" / "bonn" / "bonn_000000_000000_gtFine_labelIds.png", bad)
    ds = load_dataset(spec("cityscapes", cityscapes_root, split="val", num_images=3))
    with pytest.raises(ValueError, match="label id 40"):
        ds[2]
    (cityscapes_root / "gtFine" / "val" / "aachen" / "aachen_000000_000001_gtFine_labelIds.png").unlink()
    with pytest.raises(ValueError, match="has no label file"):
        load_dataset(spec("cityscapes", cityscapes_root, split="val"))


# ---------------------------------------------------------------------------------------------- folder


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    for i in range(10):
        save(tmp_path / "images" / f"img{i}.jpg", photo(20, 20, i))
        mask = np.zeros((20, 20), np.uint8)
        mask[:10] = 2
        mask[-2:] = 255
        save(tmp_path / "masks" / f"img{i}.png", mask, palette=i % 2 == 1)  # index and palette PNGs
    (tmp_path / "classes.txt").write_text("sky\ntree\nwall\n")
    return tmp_path


def test_folder_index_and_palette_masks(folder_root: Path):
    ds = load_dataset(spec("folder", folder_root, num_images=10, image_size=40))
    assert ds.class_names == ("sky", "tree", "wall") and ds.num_classes == 3
    for i in (0, 1):  # an index PNG and a palette PNG
        image, mask = ds[i]
        assert image.shape == (40, 40, 3)
        assert (mask[:20] == 2).all() and (mask[20:36] == 0).all() and (mask[-4:] == 255).all()


def test_folder_subset_follows_the_seed(folder_root: Path):
    def files(seed):
        return [p.name for p, _ in load_dataset(spec("folder", folder_root, num_images=4, seed=seed)).items]

    assert files(0) == files(0)
    assert len({tuple(files(s)) for s in range(5)}) > 1


def test_folder_split_subfolders_and_default_classes(tmp_path: Path):
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            save(tmp_path / split / "images" / f"{split}{i}.png", photo(8, 12, i))
            save(tmp_path / split / "masks" / f"{split}{i}.png", np.ones((8, 12), np.uint8))
    test = load_dataset(spec("folder", tmp_path, split="test", num_images=2))
    assert test.class_names == ("background", "foreground")
    assert [p.name for p, _ in test.items] == ["test0.png", "test1.png"]
    assert len(load_dataset(spec("folder", tmp_path, split="train", num_images=3))) == 3


def test_folder_errors(folder_root: Path):
    save(folder_root / "masks" / "img3.png", np.full((20, 20), 5, np.uint8))
    ds = load_dataset(spec("folder", folder_root, num_images=10))
    with pytest.raises(ValueError, match="contains label 5, which is neither a class id"):
        ds[3]
    save(folder_root / "masks" / "img4.png", photo(20, 20, 0))  # a colour mask
    with pytest.raises(ValueError, match="mode RGB"):
        ds[4]
    save(folder_root / "masks" / "img5.png", np.zeros((21, 20), np.uint8))
    with pytest.raises(ValueError, match="is 20x20 but its mask"):
        load_dataset(spec("folder", folder_root, num_images=10))
    (folder_root / "masks" / "img6.png").unlink()
    with pytest.raises(ValueError, match="has no mask named img6.png"):
        load_dataset(spec("folder", folder_root))
    (folder_root / "classes.txt").write_text("\n")
    with pytest.raises(ValueError, match="must list 1..255 class names"):
        load_dataset(spec("folder", folder_root))
    with pytest.raises(ValueError, match="an images/ folder"):
        load_dataset(spec("folder", folder_root / "masks"))


def test_a_corrupt_file_is_a_value_error(folder_root: Path):
    ds = load_dataset(spec("folder", folder_root, num_images=10))
    (folder_root / "images" / "img7.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="cannot decode"):
        ds[7]
    with pytest.raises(ValueError, match="img7.jpg.* is not an image file Pillow can read"):
        load_dataset(spec("folder", folder_root, num_images=10))
