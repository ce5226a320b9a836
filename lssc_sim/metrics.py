"""Segmentation and link metrics: a confusion matrix (per-class IoU, mIoU, pixel accuracy) and error rates.

The confusion matrix is the only segmentation state a Point keeps: it merges across batches, workers and
resumed runs by addition, and every score is computed from it at the end, so mIoU is never an average of
per-image or per-batch mIoUs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["ConfusionMatrix", "error_rate", "miou_interval", "per_image_confusion"]


class ConfusionMatrix:
    """Pixel counts of (target class, predicted class) pairs.

    Parameters
    ----------
    num_classes : int
        Number of classes ``C``; valid class ids are ``0 .. C-1``.
    ignore_index : int
        Target value of pixels that are not scored (Cityscapes' 255). Predictions never take this value.

    Examples
    --------
    >>> cm = ConfusionMatrix(2)
    >>> cm.update(np.array([0, 1, 1]), np.array([0, 1, 255]))
    >>> cm.miou()
    1.0
    """

    def __init__(self, num_classes: int, ignore_index: int = 255):
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore_index {ignore_index} collides with a class id (0..{num_classes - 1})")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self._matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    @property
    def matrix(self) -> np.ndarray:
        """int64 [C, C]: ``matrix[t, p]`` pixels of target class ``t`` predicted as ``p`` (a copy)."""
        return self._matrix.copy()

    @property
    def total(self) -> int:
        """Number of scored pixels (ignored pixels excluded)."""
        return int(self._matrix.sum())

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Add the pixels of one prediction.

        Parameters
        ----------
        pred : int array, any shape
            Predicted class ids in ``[0, C)``.
        target : int array, same shape as ``pred``
            True class ids in ``[0, C)`` or ``ignore_index``.

        Raises
        ------
        ValueError
            Shapes differ, a prediction is outside ``[0, C)`` or a target is neither a class id nor the
            ignore label.
        """
        pred = np.asarray(pred)
        target = np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(f"pred shape {pred.shape} != target shape {target.shape}")
        for name, a in (("pred", pred), ("target", target)):
            if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
                raise ValueError(f"{name} must hold integer class ids, got dtype {a.dtype}")
        # int64 before the arithmetic: uint8 inputs would wrap around in ``t * C + p``.
        pred = pred.astype(np.int64, copy=False).ravel()
        target = target.astype(np.int64, copy=False).ravel()
        keep = target != self.ignore_index
        pred, target = pred[keep], target[keep]
        c = self.num_classes
        if pred.size and (pred.min() < 0 or pred.max() >= c):
            bad = pred[(pred < 0) | (pred >= c)][0]
            raise ValueError(f"prediction {bad} is outside the class ids 0..{c - 1}")
        if target.size and (target.min() < 0 or target.max() >= c):
            bad = target[(target < 0) | (target >= c)][0]
            raise ValueError(
                f"target {bad} is neither a class id (0..{c - 1}) nor the ignore label {self.ignore_index}"
            )
        self._matrix += np.bincount(target * c + pred, minlength=c * c).reshape(c, c)

    def _check_compatible(self, other: ConfusionMatrix) -> None:
        if not isinstance(other, ConfusionMatrix):
            raise TypeError(f"cannot merge a ConfusionMatrix with {type(other).__name__}")
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                f"cannot merge confusion matrices of {self.num_classes} classes (ignore {self.ignore_index}) "
                f"and {other.num_classes} classes (ignore {other.ignore_index})"
            )

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add ``other``'s counts to this matrix in place; returns ``self``."""
        self._check_compatible(other)
        self._matrix += other._matrix
        return self

    def copy(self) -> ConfusionMatrix:
        out = ConfusionMatrix(self.num_classes, self.ignore_index)
        out._matrix = self._matrix.copy()
        return out

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """A new matrix holding both counts; neither operand changes."""
        return self.copy().merge(other)

    def __radd__(self, other: object) -> ConfusionMatrix:
        # Lets ``sum(matrices)`` work: it starts from the integer 0.
        if isinstance(other, int) and other == 0:
            return self.copy()
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfusionMatrix):
            return NotImplemented
        return (
            self.num_classes == other.num_classes
            and self.ignore_index == other.ignore_index
            and bool(np.array_equal(self._matrix, other._matrix))
        )

    def __repr__(self) -> str:
        return f"ConfusionMatrix(num_classes={self.num_classes}, total={self.total}, miou={self.miou():.4f})"

    def iou(self) -> np.ndarray:
        """float64 [C]: intersection over union per class; NaN for a class absent from target and prediction."""
        m = self._matrix.astype(np.float64)
        tp = np.diag(m)
        union = m.sum(axis=0) + m.sum(axis=1) - tp
        out = np.full(self.num_classes, np.nan)
        np.divide(tp, union, out=out, where=union > 0)
        return out

    def miou(self) -> float:
        """Mean IoU over the classes that occur in target or prediction; NaN when nothing was scored."""
        iou = self.iou()
        valid = ~np.isnan(iou)
        return float(iou[valid].mean()) if valid.any() else math.nan

    def pixel_accuracy(self) -> float:
        """Fraction of scored pixels predicted correctly; NaN when nothing was scored."""
        total = self.total
        return float(np.trace(self._matrix)) / total if total else math.nan

    def to_list(self) -> list[list[int]]:
        """The counts as nested Python ints (rows = target), for JSON."""
        return self._matrix.tolist()

    @classmethod
    def from_list(cls, rows: Sequence[Sequence[int]], ignore_index: int = 255) -> ConfusionMatrix:
        """Inverse of :meth:`to_list`."""
        m = np.asarray(rows, dtype=np.int64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
            raise ValueError(f"a confusion matrix must be a non-empty square list of lists, got shape {m.shape}")
        if (m < 0).any():
            raise ValueError("a confusion matrix holds counts; found a negative entry")
        out = cls(m.shape[0], ignore_index)
        out._matrix = m
        return out


def error_rate(errors: int | float, total: int | float) -> float:
    """``errors / total`` (BER, BLER, image loss rate); NaN when nothing was counted.

    Parameters
    ----------
    errors : int or float
        Number of erroneous units (bits, blocks, images).
    total : int or float
        Number of units sent.
    """
    if total < 0 or errors < 0:
        raise ValueError(f"counts must be non-negative, got errors={errors}, total={total}")
    if errors > total:
        raise ValueError(f"errors ({errors}) exceed total ({total})")
    return float(errors) / float(total) if total else math.nan


def per_image_confusion(pred: np.ndarray, target: np.ndarray, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Confusion counts of each image: int64 ``[N, C, C]`` (``[i, t, p]``) of ``pred`` and ``target`` ``[N, ...]``.

    Their sum over images is the dataset's :class:`ConfusionMatrix` (checked values: as in its ``update``).
    """
    n, c = pred.shape[0], int(num_classes)
    t = np.asarray(target, np.int64).reshape(n, -1)
    p = np.asarray(pred, np.int64).reshape(n, -1)
    if t.shape != p.shape:
        raise ValueError(f"pred shape {pred.shape} != target shape {target.shape}")
    keep = t != ignore_index
    if p.size and (p.min() < 0 or p.max() >= c):
        raise ValueError(f"a prediction is outside the class ids 0..{c - 1}")
    if keep.any() and (t[keep].min() < 0 or t[keep].max() >= c):
        raise ValueError(f"a target is neither a class id (0..{c - 1}) nor the ignore label {ignore_index}")
    index = (np.arange(n)[:, None] * c * c + t * c + p)[keep]
    return np.bincount(index, minlength=n * c * c).reshape(n, c, c)


def miou_interval(
    per_image: np.ndarray, level: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the dataset mIoU, resampling images with replacement.

    Parameters
    ----------
    per_image : [N, C, C] int
        Confusion counts per image (:func:`per_image_confusion`).
    level : float
        Coverage of the interval.
    resamples : int
        Bootstrap resamples; the generator is seeded with ``seed`` so an interval is reproducible.

    Returns
    -------
    (low, high) : float
        NaN when there are no images.
    """
    n, c = per_image.shape[0], per_image.shape[1]
    if n == 0:
        return math.nan, math.nan
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=resamples)  # [R, N]
    m = (weights @ per_image.reshape(n, c * c).astype(np.float64)).reshape(resamples, c, c)
    tp = np.diagonal(m, axis1=1, axis2=2)
    union = m.sum(axis=1) + m.sum(axis=2) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    miou = np.nanmean(iou, axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.nanquantile(miou, [alpha, 1.0 - alpha])
    return float(low), float(high)
