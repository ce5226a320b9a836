"""Loaders for real datasets on disk: ``portrait_matting``, ``cityscapes`` and a generic ``folder``.

Images are resized bilinearly and masks by nearest neighbour to ``image_size`` (``S x S``, or ``[H, W]``;
a frame of another aspect ratio is stretched to it, so ask for ``[512, 1024]`` to keep Cityscapes' 2:1).
When ``num_images`` is smaller than the split, a subset drawn with ``seed`` is used, so the same spec always
reads the same files. :meth:`check` finds every problem before any Point runs, naming the file: a bad layout
(from directory listings), an empty, unreadable or truncated file, an image over ``MAX_PIXELS`` (a decompression
bomb: a small file that decodes to gigabytes) and a mask whose size differs from its image's. It decodes each
selected file once for that (about 20 ms for a 2048x1024 PNG on one core), and never one over the limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lssc_sim.data.base import DATASETS, Dataset, DatasetSpec
from lssc_sim.seeding import derive_seed

__all__ = ["FolderDataset", "PortraitMatting", "Cityscapes", "ImageFolder", "CITYSCAPES_ID_TO_TRAIN_ID"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MASK_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff")
Pair = tuple[Path, Path]
# Pixels per image file at most: 8K x 8K, far above any segmentation dataset (Cityscapes is 2048 x 1024) and far
# below what would exhaust memory (Pillow's own bomb error starts at about 179 million).
MAX_PIXELS = 8192 * 8192


def _root(spec: DatasetSpec) -> Path:
    if spec.path is None:
        raise ValueError(f"dataset {spec.name!r} reads files from disk: set 'path' to the dataset's root folder")
    root = Path(spec.path).expanduser()
    if not root.is_dir():
        raise ValueError(f"dataset {spec.name!r}: folder {str(root)!r} does not exist or is not a directory")
    return root


def _require_dir(path: Path, name: str, what: str) -> Path:
    if not path.is_dir():
        raise ValueError(f"dataset {name!r}: expected {what} at {str(path)!r}, but there is no such folder")
    return path


def _files(folder: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Files in ``folder`` (not recursive) with one of ``extensions``, sorted by name; hidden files skipped."""
    with os.scandir(folder) as entries:
        found = [Path(e.path) for e in entries if e.is_file() and not e.name.startswith(".")]
    return sorted(p for p in found if p.suffix.lower() in extensions)


class FolderDataset(Dataset):
    """Base of the on-disk loaders: subclasses list ``(image, mask)`` pairs and decode masks."""

    @classmethod
    def pairs(cls, spec: DatasetSpec) -> list[Pair]:
        """All ``(image path, mask path)`` pairs of the split, sorted; ``ValueError`` on a bad layout."""
        raise NotImplementedError

    def decode_mask(self, im: Image.Image, path: Path) -> np.ndarray:
        """Class ids uint8 [H, W] (or the ignore label) from the opened mask file."""
        raise NotImplementedError

    @classmethod
    def select(cls, pairs: list[Pair], spec: DatasetSpec) -> list[Pair]:
        """The ``num_images`` pairs used: all of them, or a subset drawn with the spec's seed."""
        n = len(pairs)
        if n == 0:
            raise ValueError(f"dataset {spec.name!r}: no images found for split {spec.split!r} under {spec.path!r}")
        if spec.num_images > n:
            raise ValueError(
                f"dataset {spec.name!r}: num_images is {spec.num_images} but split {spec.split!r} "
                f"under {spec.path!r} has only {n} images"
            )
        if spec.num_images == n:
            return list(pairs)
        rng = np.random.default_rng(derive_seed(spec.seed, f"{spec.name}/{spec.split}/subset"))
        return [pairs[i] for i in np.sort(rng.choice(n, spec.num_images, replace=False))]

    @classmethod
    def check(cls, spec: DatasetSpec) -> None:
        """Folders, image-mask pairing and counts; then every selected file decoded once (empty, unreadable,
        truncated, over ``MAX_PIXELS``) and each mask's size against its image's."""
        for image_path, mask_path in cls.select(cls.pairs(spec), spec):
            _check_pair(spec.name, image_path, mask_path)

    def __init__(self, spec: DatasetSpec):
        super().__init__(spec)
        self.items = self.select(self.pairs(spec), spec)

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = self.items[index]
        height, width = self.spec.hw
        try:
            with Image.open(image_path) as im:
                image = im.convert("RGB")
            with Image.open(mask_path) as im:
                im.load()
                if image.size != im.size:
                    raise ValueError(_size_message(self.spec.name, image_path, image.size, mask_path, im.size))
                labels = self.decode_mask(im, mask_path)
        except (OSError, Image.DecompressionBombError) as exc:
            raise ValueError(
                f"dataset {self.spec.name!r}: cannot decode {str(image_path)!r} or its mask: {exc}"
            ) from exc
        image = np.asarray(image.resize((width, height), Image.BILINEAR), dtype=np.uint8)
        mask = np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST), dtype=np.uint8)
        return image, mask

    def check_labels(self, labels: np.ndarray, path: Path) -> np.ndarray:
        """``labels`` if every value is a class id or the ignore label, else a ``ValueError``."""
        bad = (labels >= self.num_classes) & (labels != self.ignore_index)
        if bad.any():
            value = int(labels[bad][0])
            raise ValueError(
                f"dataset {self.spec.name!r}: mask {str(path)!r} contains label {value}, which is neither a class "
                f"id (0..{self.num_classes - 1}) nor the ignore label {self.ignore_index}"
            )
        return labels.astype(np.uint8)


def _size_message(name: str, image_path: Path, image_size, mask_path: Path, mask_size) -> str:
    return (
        f"dataset {name!r}: image {str(image_path)!r} is {image_size[0]}x{image_size[1]} but its mask "
        f"{str(mask_path)!r} is {mask_size[0]}x{mask_size[1]}"
    )


def _check_pair(name: str, image_path: Path, mask_path: Path) -> None:
    """Both files decode within ``MAX_PIXELS`` and have the same size; a ``ValueError`` names the file."""
    sizes = [_check_file(name, path) for path in (image_path, mask_path)]
    if sizes[0] != sizes[1]:
        raise ValueError(_size_message(name, image_path, sizes[0], mask_path, sizes[1]))


def _check_file(name: str, path: Path) -> tuple[int, int]:
    """(width, height) of an image file after decoding it fully; ``ValueError`` naming the file otherwise."""
    where = f"dataset {name!r}: {str(path)!r}"
    try:
        if path.stat().st_size == 0:
            raise ValueError(f"{where} is empty (0 bytes)")
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ValueError(
                    f"{where} is {im.width}x{im.height} pixels, over the limit of {MAX_PIXELS} per image "
                    "(a decompression bomb, or an image to downscale before use)"
                )
            im.load()  # decodes every byte: a truncated file fails here, not halfway through a sweep
            return im.size
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{where} is not an image file Pillow can read") from None
    except OSError as exc:
        raise ValueError(f"{where} is truncated or corrupt ({exc})") from None


def _index_array(im: Image.Image, path: Path, name: str) -> np.ndarray:
    """int64 [H, W] mask values; palette PNGs give their indices, which are the class ids."""
    if im.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        return np.asarray(im).astype(np.int64)
    raise ValueError(
        f"dataset {name!r}: mask {str(path)!r} has mode {im.mode}; masks must be single-channel index PNGs "
        "(pixel value = class id) or palette PNGs (palette index = class id)"
    )


# ------------------------------------------------------------------------------------ portrait matting


@DATASETS.register("portrait_matting")
class PortraitMatting(FolderDataset):
    """The Deep Automatic Portrait Matting set (Shen et al., ECCV 2016): 1,700 training, 300 test portraits.

    Layout: ``<path>/training/00001.png`` with its alpha matte ``<path>/training/00001_matte.png``, and the
    same in ``<path>/testing/``. Splits: ``test`` is ``testing/``; the set has no validation split, so
    ``val`` is every tenth training portrait and ``train`` the other nine tenths. Mask = alpha >= 0.5.
    """

    num_classes = 2
    class_names = ("background", "person")
    palette = ((0, 0, 0), (255, 40, 40))
    MATTE_SUFFIX = "_matte"

    @classmethod
    def pairs(cls, spec: DatasetSpec) -> list[Pair]:
        root = _root(spec)
        folder = _require_dir(root / ("testing" if spec.split == "test" else "training"), spec.name,
                              f"the {spec.split} portraits")  # fmt: skip
        files = _files(folder, IMAGE_EXTENSIONS)
        mattes = {p.stem[: -len(cls.MATTE_SUFFIX)]: p for p in files if p.stem.endswith(cls.MATTE_SUFFIX)}
        images = [p for p in files if not p.stem.endswith(cls.MATTE_SUFFIX)]
        out = []
        for image in images:
            if image.stem not in mattes:
                raise ValueError(
                    f"dataset {spec.name!r}: image {str(image)!r} has no alpha matte "
                    f"(expected {str(folder / (image.stem + cls.MATTE_SUFFIX + '.png'))!r})"
                )
            out.append((image, mattes[image.stem]))
        if spec.split != "test":
            out = [pair for i, pair in enumerate(out) if (i % 10 == 9) == (spec.split == "val")]
        return out

    def decode_mask(self, im: Image.Image, path: Path) -> np.ndarray:
        if im.mode == "RGBA":  # a cut-out: the matte is the transparency
            alpha, full = np.asarray(im)[..., 3], 255
        elif im.mode.startswith("I"):  # 16-bit grey
            alpha, full = np.asarray(im), 65535
        else:
            alpha, full = np.asarray(im.convert("L")), 255
        return (alpha.astype(np.int64) * 2 >= full).astype(np.uint8)


# ------------------------------------------------------------------------------------------ cityscapes

# labelIds (0..33) -> the 19 train ids, 255 = ignored (cityscapesScripts' labels.py).
CITYSCAPES_ID_TO_TRAIN_ID = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
                             25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}  # fmt: skip
_CITYSCAPES_LUT = np.full(256, -1, np.int64)
_CITYSCAPES_LUT[:34] = 255
for _id, _train in CITYSCAPES_ID_TO_TRAIN_ID.items():
    _CITYSCAPES_LUT[_id] = _train
_CITYSCAPES_LUT[255] = 255  # the license plate's id -1, as stored in 8-bit files


@DATASETS.register("cityscapes")
class Cityscapes(FolderDataset):
    """Cityscapes fine annotations: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/*_gtFine_labelIds.png``, mapped to the 19 train ids (255 ignored)."""

    num_classes = 19
    class_names = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                   "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
                   "motorcycle", "bicycle")  # fmt: skip
    palette = ((128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
               (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
               (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
               (0, 80, 100), (0, 0, 230), (119, 11, 32))  # fmt: skip

    @classmethod
    def pairs(cls, spec: DatasetSpec) -> list[Pair]:
        root = _root(spec)
        images_root = _require_dir(root / "leftImg8bit" / spec.split, spec.name, "the camera images")
        labels_root = _require_dir(root / "gtFine" / spec.split, spec.name, "the fine annotations")
        out = []
        for city in sorted(p for p in images_root.iterdir() if p.is_dir()):
            for image in _files(city, (".png",)):
                if not image.name.endswith("_leftImg8bit.png"):
                    continue
                frame = image.name[: -len("_leftImg8bit.png")]
                label = labels_root / city.name / f"{frame}_gtFine_labelIds.png"
                if not label.is_file():
                    raise ValueError(f"dataset {spec.name!r}: image {str(image)!r} has no label file {str(label)!r}")
                out.append((image, label))
        return out

    def decode_mask(self, im: Image.Image, path: Path) -> np.ndarray:
        array = _index_array(im, path, self.spec.name)
        if array.max(initial=0) > 255:
            raise ValueError(f"dataset {self.spec.name!r}: {str(path)!r} holds label ids above 255")
        train = _CITYSCAPES_LUT[array]
        if (train < 0).any():
            value = int(array[train < 0][0])
            raise ValueError(
                f"dataset {self.spec.name!r}: {str(path)!r} contains label id {value}, which is not a Cityscapes "
                "label id (0..33); is this a *_labelIds.png file?"
            )
        return train.astype(np.uint8)


# ---------------------------------------------------------------------------------------------- folder


@DATASETS.register("folder")
class ImageFolder(FolderDataset):
    """Any segmentation set as ``images/`` and ``masks/`` matched by file stem.

    Layout: ``<path>/<split>/images`` and ``<path>/<split>/masks`` when the split folder exists, else
    ``<path>/images`` and ``<path>/masks`` for every split. Masks are index PNGs (value = class id) or
    palette PNGs (index = class id); 255 is ignored. Class names come from ``<path>/classes.txt`` (one per
    line, in id order); without it the set has two classes, background and foreground.
    """

    palette = None

    def __init__(self, spec: DatasetSpec):
        super().__init__(spec)
        self.class_names = self.read_classes(spec)
        self.num_classes = len(self.class_names)

    @staticmethod
    def read_classes(spec: DatasetSpec) -> tuple[str, ...]:
        path = _root(spec) / "classes.txt"
        if not path.is_file():
            return ("background", "foreground")
        names = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
        if not 1 <= len(names) <= 255:
            raise ValueError(f"dataset {spec.name!r}: {str(path)!r} must list 1..255 class names, found {len(names)}")
        return names

    @classmethod
    def check(cls, spec: DatasetSpec) -> None:
        cls.read_classes(spec)
        super().check(spec)

    @classmethod
    def pairs(cls, spec: DatasetSpec) -> list[Pair]:
        root = _root(spec)
        base = root / spec.split if (root / spec.split).is_dir() else root
        images = _files(_require_dir(base / "images", spec.name, "an images/ folder"), IMAGE_EXTENSIONS)
        masks_dir = _require_dir(base / "masks", spec.name, "a masks/ folder")
        masks = {p.stem: p for p in _files(masks_dir, MASK_EXTENSIONS)}
        out = []
        for image in images:
            if image.stem not in masks:
                raise ValueError(
                    f"dataset {spec.name!r}: image {str(image)!r} has no mask named {image.stem}.png "
                    f"in {str(masks_dir)!r}"
                )
            out.append((image, masks[image.stem]))
        return out

    def decode_mask(self, im: Image.Image, path: Path) -> np.ndarray:
        return self.check_labels(_index_array(im, path, self.spec.name), path)
