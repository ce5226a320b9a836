"""One interface for every dataset: a frozen spec, a registry, and a small indexable base class.

A scenario names a dataset by ``dataset: {name, split, num_images, image_size, seed, path}``; the same
keys select the procedural sets and the real-data loaders, so switching from the embedded default to real
photographs changes one line. A new dataset is one file: subclass :class:`Dataset`, decorate it with
``@DATASETS.register("my_name")`` and import it from ``lssc_sim/data/__init__.py`` (or expose it through
the ``lssc_sim.datasets`` entry-point group from another package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lssc_sim.registry import Registry

__all__ = ["DATASETS", "Dataset", "DatasetSpec", "default_palette", "image_hw", "load_dataset"]


Split = Literal["train", "val", "test"]


class DatasetSpec(BaseModel):
    """What a scenario asks for; frozen so it can be hashed into Point keys and saved beside results.

    Attributes
    ----------
    name : str
        A registered dataset (``synthetic_portraits``, ``synthetic_street``, ``portrait_matting``,
        ``cityscapes``, ``folder``).
    split : {"train", "val", "test"}
        Which split; procedural splits are disjoint by construction.
    num_images : int
        Number of images used (>= 1). Real datasets with fewer images are an error, not a silent cut.
    image_size : int or (int, int)
        Side ``S`` of square images, or ``[height, width]`` (e.g. ``[64, 128]`` for 2:1 street scenes), each
        32..1024 pixels. :attr:`hw` gives ``(H, W)`` either way.
    seed : int
        Procedural sets: the generator seed. Real sets: which subset is drawn when ``num_images`` is smaller
        than the split.
    path : str, optional
        Root folder of a real dataset; procedural sets take none.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    split: Split = "test"
    num_images: int = Field(100, ge=1)
    image_size: int | tuple[int, int] = 128
    seed: int = 0
    path: str | None = None

    @field_validator("image_size")
    @classmethod
    def _sides(cls, size: int | tuple[int, int]) -> int | tuple[int, int]:
        image_hw(size, "image_size")
        return size

    @property
    def hw(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return image_hw(self.image_size)

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        import lssc_sim.data  # noqa: F401  -- registers the built-in datasets before the lookup

        if name not in DATASETS:
            raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS.names())}")
        return name


def image_hw(size: int | Sequence[int], what: str = "image size") -> tuple[int, int]:
    """``(H, W)`` of an image size given as a side ``S`` (square) or as ``[H, W]``; sides 32..1024.

    Raises
    ------
    ValueError
        A side out of range or not an integer, or a list that is not two sides.
    """
    sides = [size] if isinstance(size, int | np.integer) else list(size) if isinstance(size, list | tuple) else None
    if sides is None or len(sides) not in (1, 2) or not all(isinstance(n, int | np.integer) for n in sides):
        raise ValueError(f"{what}: expected a side or [height, width] in pixels, found {size!r}")
    if not all(32 <= n <= 1024 for n in sides):
        raise ValueError(f"{what}: sides must be 32..1024 pixels, found {size!r}")
    return int(sides[0]), int(sides[-1])


def default_palette(num_classes: int) -> tuple[tuple[int, int, int], ...]:
    """Distinct RGB colours for mask overlays (the Pascal VOC bit-interleaving scheme)."""
    colours = []
    for c in range(num_classes):
        r = g = b = 0
        label = c + 1  # skip black, which would hide the class in an overlay
        for shift in range(7, -1, -1):
            r |= ((label >> 0) & 1) << shift
            g |= ((label >> 1) & 1) << shift
            b |= ((label >> 2) & 1) << shift
            label >>= 3
        colours.append((r, g, b))
    return tuple(colours)


class Dataset:
    """Base class: ``len(ds)`` images, each ``(image uint8 [H, W, 3], mask uint8 [H, W])``.

    Subclasses set the class attributes and implement :meth:`_load`; a registered class is constructed as
    ``cls(spec)`` after ``cls.check(spec)`` passed.

    Attributes
    ----------
    num_classes : int
        Number of classes ``C``; mask values are ``0 .. C-1`` or ``ignore_index``.
    class_names : tuple of str
        One name per class id.
    ignore_index : int
        Mask value of pixels that are not scored (255).
    palette : tuple of (r, g, b)
        Overlay colour per class id.
    spec : DatasetSpec
        What was asked for.
    """

    # Class-level for fixed datasets; a loader whose classes come from its folder sets them per instance.
    num_classes: int
    class_names: tuple[str, ...]
    ignore_index: int = 255
    palette: tuple[tuple[int, int, int], ...] | None = None

    def __init__(self, spec: DatasetSpec):
        self.spec = spec
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every image uint8 [N, H, W, 3] and mask int32 [N, H, W], loaded on the first call and kept."""
        if self._arrays is None:
            self._arrays = self.batch(range(len(self)))
        return self._arrays

    @classmethod
    def check(cls, spec: DatasetSpec) -> None:
        """Validate ``spec`` before any Point runs (folders, layout, files that do not decode); raise
        ``ValueError`` with the reason, naming the file."""

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Image uint8 [H, W, 3] and mask uint8 [H, W] of item ``index`` (already range-checked)."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.spec.num_images

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Image uint8 [H, W, 3] and mask uint8 [H, W] (class ids or ``ignore_index``)."""
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"image index {index} out of range for a dataset of {n} images")
        return self._load(i)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def batch(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Stack items into ``(images uint8 [B, H, W, 3], masks int32 [B, H, W])``."""
        items = [self[i] for i in indices]
        h, w = self.spec.hw
        if not items:
            return np.zeros((0, h, w, 3), np.uint8), np.zeros((0, h, w), np.int32)
        images = np.stack([im for im, _ in items])
        masks = np.stack([m for _, m in items]).astype(np.int32)
        return images, masks

    def colours(self) -> tuple[tuple[int, int, int], ...]:
        """Overlay colour per class id."""
        return self.palette if self.palette is not None else default_palette(self.num_classes)

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"{type(self).__name__}(name={s.name!r}, split={s.split!r}, num_images={len(self)}, "
            f"image_size={s.image_size}, num_classes={self.num_classes})"
        )


DATASETS: Registry[type[Dataset]] = Registry("dataset", entry_point_group="lssc_sim.datasets", base=Dataset)


def load_dataset(spec: DatasetSpec) -> Dataset:
    """Build the dataset ``spec`` names, after its cheap :meth:`Dataset.check`."""
    cls = DATASETS.get(spec.name)
    cls.check(spec)
    return cls(spec)
