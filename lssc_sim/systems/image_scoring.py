"""What the image systems share: scoring a receiver's masks and a segmenter cached by image content."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from lssc_sim.metrics import ConfusionMatrix, miou_interval
from lssc_sim.systems.base import Counters

_SEGMENTERS: dict[str, CachedSegmenter] = {}  # per process, by weights name: masks cached by image content
_CODECS: dict[str, Any] = {}  # per process, by weights name: loaded (and sha256-checked) once


def scores(per_image: np.ndarray, ignore_index: int = 255) -> Counters:
    """``miou``, its 95 % bootstrap interval over images (``miou_ci_low``, ``miou_ci_high``), ``per_class_iou``
    (list; NaN for classes absent from targets and predictions) and ``pixel_accuracy`` of per-image confusion
    counts ``[N, C, C]`` (the dataset's matrix is their sum: mIoU is never an average of per-image mIoUs)."""
    cm = dataset_confusion(per_image, ignore_index)
    low, high = miou_interval(per_image)
    return {
        "miou": cm.miou(),
        "miou_ci_low": low,
        "miou_ci_high": high,
        "per_class_iou": [round(float(v), 6) for v in cm.iou()],
        "pixel_accuracy": cm.pixel_accuracy(),
    }


def service_quality(miou: float, clean_miou: float) -> float:
    """SS, the semantic service quality of seed 004 (eq. 1): mIoU over the mIoU of the error-free reference."""
    return miou / clean_miou if clean_miou > 0 else float("nan")


def loss_counters(lost: Mapping[str, int]) -> Counters:
    """``images_lost`` and its two causes: ``images_lost_crc`` (dropped on a failed CRC, key ``"crc"``) and
    ``images_undecodable`` (every other reason a decoder gave)."""
    return {
        "images_lost": sum(lost.values()),
        "images_lost_crc": lost.get("crc", 0),
        "images_undecodable": sum(v for k, v in lost.items() if k != "crc"),
    }


def dataset_confusion(per_image: np.ndarray, ignore_index: int = 255) -> ConfusionMatrix:
    """The dataset's confusion matrix from per-image counts ``[N, C, C]``."""
    return ConfusionMatrix.from_list(per_image.sum(axis=0).tolist(), ignore_index)


class CachedSegmenter:
    """Predicted masks of a model, cached by the image's bytes.

    The digital receiver mostly sees either the exact sent image (above the cliff) or the fallback (below it):
    segmenting each distinct image once makes segmentation cost nothing after the first Point.

    Parameters
    ----------
    model : callable
        float32 images [B, H, W, 3] in [0, 1] -> logits [B, H, W, C].
    batch_size : int
    max_entries : int
        Entries kept (oldest dropped first); 128x128 masks cost 16 KiB each.
    """

    def __init__(self, model: Any, batch_size: int = 16, max_entries: int = 20_000) -> None:
        self.model, self.batch_size, self.max_entries = model, batch_size, max_entries
        self._masks: dict[bytes, np.ndarray] = {}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Masks uint8 [N, H, W] of images uint8 [N, H, W, 3]."""
        keys = [hashlib.blake2b(im.tobytes(), digest_size=16).digest() for im in images]
        todo = list(dict.fromkeys(k for k in keys if k not in self._masks))
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            x = images[[first[k] for k in chunk]].astype(np.float32) / 255.0
            logits = np.asarray(self.model(x))
            for k, mask in zip(chunk, logits.argmax(axis=-1).astype(np.uint8), strict=True):
                self._masks[k] = mask
        masks = np.stack([self._masks[k] for k in keys])
        while len(self._masks) > self.max_entries:
            self._masks.pop(next(iter(self._masks)))
        return masks


def shared_codec(name: str) -> Any:
    """The :class:`~lssc_sim.pretrained.TrainedCodec` of a shipped model or training folder ``name``, loaded once
    per process (never modify it: compress a copy)."""
    if name not in _CODECS:
        from lssc_sim import pretrained

        _CODECS[name] = pretrained.load(name)
    return _CODECS[name]


def shared_segmenter(name: str) -> CachedSegmenter:
    """The cached segmenter of a shipped model or training folder ``name``, loaded and traced once per process
    (every variant of a sweep and every system that segments with it share it)."""
    if name not in _SEGMENTERS:
        import tensorflow as tf

        _SEGMENTERS[name] = CachedSegmenter(tf.function(shared_codec(name).segment, reduce_retracing=True))
    return _SEGMENTERS[name]
