"""The procedural datasets: ``synthetic_portraits`` (person vs background) and ``synthetic_street``.

Image ``i`` of split ``s`` at size ``S`` is a pure function of ``(seed, s, i, S)``: worker processes and
resumed runs regenerate identical pixels without storing them, and the splits are disjoint because the
split name is part of every image's seed. The scene itself (geometry, colours, textures) depends on
``(seed, s, i)`` only, so one image drawn at 64 and at 256 pixels shows the same scene; only sensor noise
and the finest texture octaves change with ``S``.

A non-square ``image_size: [H, W]`` is rendered as the square scene of side ``max(H, W)`` and centre-cropped
to ``H x W`` (image and labels alike): a 2:1 street scene keeps the horizon band of a Cityscapes frame and
drops the top of the sky and the ego vehicle's hood. Rendering the larger square costs ``max / min`` times
the pixels of the crop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from lssc_sim.data.base import DATASETS, Dataset, DatasetSpec, image_hw
from lssc_sim.data.portraits import render_portrait
from lssc_sim.data.street import STREET_CLASSES, STREET_PALETTE, render_street
from lssc_sim.seeding import derive_seed

__all__ = ["SyntheticDataset", "SyntheticPortraits", "SyntheticStreet", "generate"]

Renderer = Callable[[np.random.Generator, np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def streams(name: str, seed: int, split: str, index: int, size: int) -> tuple[np.random.Generator, ...]:
    """The two random streams of one image: the scene (size-independent) and the sensor noise."""
    key = f"{name}/{split}/{int(index)}"
    layout = np.random.default_rng(derive_seed(seed, key))
    pixel = np.random.default_rng(derive_seed(seed, f"{key}/{int(size)}"))
    return layout, pixel


class SyntheticDataset(Dataset):
    """Base of the procedural datasets; subclasses set ``renderer`` and the class attributes."""

    renderer: ClassVar[Renderer]

    @classmethod
    def check(cls, spec: DatasetSpec) -> None:
        if spec.path is not None:
            raise ValueError(
                f"dataset {spec.name!r} is generated procedurally and takes no path (got path={spec.path!r}); "
                "remove 'path' or choose a real-data loader (portrait_matting, cityscapes, folder)"
            )

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.spec
        return generate(s.name, s.seed, s.split, index, s.image_size)


@DATASETS.register("synthetic_portraits")
class SyntheticPortraits(SyntheticDataset):
    """Portraits in the style of the Deep Automatic Portrait Matting set: 0 background, 1 person."""

    num_classes = 2
    class_names = ("background", "person")
    palette = ((0, 0, 0), (255, 40, 40))
    renderer = staticmethod(render_portrait)


@DATASETS.register("synthetic_street")
class SyntheticStreet(SyntheticDataset):
    """Cityscapes-like street scenes with 8 classes and the ignore label 255 (ego vehicle, clutter)."""

    num_classes = len(STREET_CLASSES)
    class_names = STREET_CLASSES
    palette = STREET_PALETTE
    renderer = staticmethod(render_street)


def generate(
    name: str, seed: int, split: str, index: int, size: int | tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Image uint8 [H, W, 3] and mask uint8 [H, W] of one procedural image, without building a dataset.

    ``size`` is a side ``S`` or ``(H, W)``; a non-square size is the centre crop of the square of side
    ``max(H, W)``.
    """
    cls = DATASETS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, SyntheticDataset)):
        raise ValueError(f"{name!r} is not a procedural dataset")
    h, w = image_hw(size)
    side = max(h, w)
    layout, pixel = streams(name, seed, split, index, side)
    image, mask = cls.renderer(layout, pixel, side)
    top, left = (side - h) // 2, (side - w) // 2
    return image[top : top + h, left : left + w], mask[top : top + h, left : left + w]
