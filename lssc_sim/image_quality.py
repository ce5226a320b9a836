"""Image-quality metrics of received images against the sent ones: PSNR, SSIM and MS-SSIM.

PSNR is the dataset's, from the mean squared error over every pixel and colour of every image (never an
average of per-image PSNRs, which is infinite as soon as one image arrives exactly). Where every image
arrives exactly the error is zero; ``psnr_db`` then reports the bound of one grey level wrong in one sample
of the whole set, flagged by ``psnr_exact`` and ``images_exact``, so that it stays a finite number that a
plot can draw and a reader cannot mistake for a measurement. SSIM and MS-SSIM are TensorFlow's
(``tf.image.ssim``, ``tf.image.ssim_multiscale``: 11-pixel Gaussian window, sigma 1.5, five scales), averaged
over images.

A digital receiver mostly shows either the sent image (above the cliff) or the fallback (below it), so
:class:`CachedQuality` remembers each image's scores by the content of the pair and scores an exact image
without TensorFlow.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

__all__ = ["MS_SSIM_MIN_SIDE", "CachedQuality", "quality_counters"]

FILTER_SIZE = 11  # TensorFlow's SSIM window (pixels)
MS_SSIM_SCALES = 5  # TensorFlow's default power factors
MS_SSIM_MIN_SIDE = (FILTER_SIZE - 1) * 2 ** (MS_SSIM_SCALES - 1) + 1
"""Smallest image side (161 px) at which the window still fits the coarsest of the five scales."""


def quality_counters(received: np.ndarray, sent: np.ndarray, batch_size: int = 64) -> dict[str, float | int | str]:
    """PSNR, SSIM and MS-SSIM of ``received`` against ``sent``.

    Parameters
    ----------
    received, sent : [N, H, W, 3], np.uint8
        What the receiver shows (a lost image as its fallback) and what was sent.
    batch_size : int
        Images per TensorFlow call.

    Returns
    -------
    dict
        ``mse`` (grey levels squared, over all samples), ``psnr_db`` (peak 255; the bound of one level wrong
        in one sample where ``mse`` is 0), ``psnr_exact`` (``mse`` is 0), ``images_exact`` (images received
        exactly), ``ssim`` (mean over images),
        ``ms_ssim`` (mean over images; NaN where the image is too small) and ``ms_ssim_note`` (why it is NaN,
        else empty).
    """
    _check(received, sent)
    squared, ssim, ms_ssim = per_image(received, sent, batch_size)
    return summarize(squared, ssim, ms_ssim, sent.shape)


def per_image(received: np.ndarray, sent: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, ...]:
    """Per image: the sum of squared errors (float64 [N]), SSIM and MS-SSIM (float64 [N]; NaN when too small)."""
    import tensorflow as tf

    diff = received.astype(np.int32) - sent.astype(np.int32)
    squared = np.square(diff, dtype=np.int64).sum(axis=(1, 2, 3)).astype(np.float64)
    multiscale = min(sent.shape[1:3]) >= MS_SSIM_MIN_SIDE
    ssim, ms_ssim = [], []
    for start in range(0, len(sent), batch_size):
        a = tf.constant(received[start : start + batch_size], tf.float32)
        b = tf.constant(sent[start : start + batch_size], tf.float32)
        ssim.append(tf.image.ssim(a, b, 255.0, filter_size=FILTER_SIZE).numpy())
        if multiscale:
            ms_ssim.append(tf.image.ssim_multiscale(a, b, 255.0, filter_size=FILTER_SIZE).numpy())
    ssim = np.concatenate(ssim).astype(np.float64) if ssim else np.zeros(0)
    ms_ssim = np.concatenate(ms_ssim).astype(np.float64) if multiscale and ms_ssim else np.full(len(sent), math.nan)
    return squared, ssim, ms_ssim


def summarize(squared: np.ndarray, ssim: np.ndarray, ms_ssim: np.ndarray, shape: tuple[int, ...]) -> dict:
    """The dataset's counters (see :func:`quality_counters`) from per-image scores of images of ``shape``."""
    samples = int(np.prod(shape))
    total = float(squared.sum())
    exact = total == 0
    side = min(shape[1:3])
    note = "" if side >= MS_SSIM_MIN_SIDE else f"image side {side} px < {MS_SSIM_MIN_SIDE} px of 5-scale MS-SSIM"
    return {
        "mse": total / samples,
        "psnr_db": 10.0 * math.log10(255.0**2 * samples / (1.0 if exact else total)),
        "psnr_exact": exact,
        "images_exact": int(np.count_nonzero(squared == 0)),
        "ssim": float(ssim.mean()),
        "ms_ssim": float(ms_ssim.mean()) if not note else math.nan,
        "ms_ssim_note": note,
    }


class CachedQuality:
    """:func:`quality_counters` with each image's scores remembered by the content of (received, sent).

    Parameters
    ----------
    max_entries : int
        Pairs kept (oldest dropped first).
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._scores: dict[bytes, tuple[float, float, float]] = {}

    def __call__(self, received: np.ndarray, sent: np.ndarray) -> dict[str, float | int | str]:
        _check(received, sent)
        exact = (received == sent).reshape(len(sent), -1).all(axis=1)
        keys = [
            b"" if same else hashlib.blake2b(r.tobytes() + s.tobytes(), digest_size=16).digest()
            for r, s, same in zip(received, sent, exact, strict=True)
        ]
        todo = [i for i, k in enumerate(keys) if k and k not in self._scores]
        if todo:
            for i, scores in zip(todo, zip(*per_image(received[todo], sent[todo]), strict=True), strict=True):
                self._scores[keys[i]] = tuple(float(v) for v in scores)
        multiscale = 1.0 if min(sent.shape[1:3]) >= MS_SSIM_MIN_SIDE else math.nan
        scores = np.array([self._scores[k] if k else (0.0, 1.0, multiscale) for k in keys]).reshape(-1, 3)
        while len(self._scores) > self.max_entries:
            self._scores.pop(next(iter(self._scores)))
        return summarize(scores[:, 0], scores[:, 1], scores[:, 2], sent.shape)


def _check(received: np.ndarray, sent: np.ndarray) -> None:
    if received.shape != sent.shape or received.ndim != 4 or received.shape[-1] != 3:
        raise ValueError(f"expected two uint8 arrays [N, H, W, 3] of one shape; got {received.shape}, {sent.shape}")
