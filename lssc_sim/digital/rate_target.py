"""Bit-rate targets: per image, the codec setting whose stream (header included) is at most a target rate.

``source: {codec: jpeg, bpp: 0.25}`` asks for at most 0.25 bits per pixel per image. Each lossy codec has one
setting that moves its size: Pillow's quality for JPEG, WebP, AVIF and HEIF (integers, bisected), and for
JPEG 2000 the compression ratio of OpenJPEG's rate mode (continuous, bisected in log ratio from a bracket
grown above the rate mode's own estimate; the rate mode aims at a size but does not guarantee it, so its
result is checked like the others). The search assumes the
size grows with the setting; where a codec is not monotone the result is still at most the target, only
perhaps not the largest such setting. An image that no setting brings under the target (a codec's floor:
headers alone can exceed a tiny target) is sent at the smallest setting and counted, never hidden.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from lssc_sim.digital.source import HEADER_BYTES, SOURCE_CODECS, frame

__all__ = ["RATE_SETTINGS", "AtRate", "pack_at_rate"]

J2K_MAX_RATIO = 10_000.0  # OpenJPEG's smallest streams are headers with empty packets long before this
J2K_FIRST_STEP = 1.03  # the first bracket above the rate mode's estimate; squared at every miss
J2K_STEPS = 5  # bisection steps in log ratio: a bracket of 1.03 ends within 1.03 ** (2 ** -5) - 1 = 0.1 %


@dataclass(frozen=True)
class AtRate:
    """One image coded at a rate target.

    Attributes
    ----------
    stream : bytes
        Header and codec stream, as :func:`lssc_sim.digital.source.pack` frames it.
    setting : float
        The codec setting used (quality, or the JPEG 2000 compression ratio).
    reached : bool
        Whether the stream is at most the target; False: the codec's floor, sent at its smallest setting.
    """

    stream: bytes
    setting: float
    reached: bool


RATE_SETTINGS = {"jpeg": (1, 100), "webp": (0, 100), "avif": (0, 100), "heif": (0, 100)}
"""Codecs searched over an integer quality range (lowest, highest); ``jpeg2000`` uses its rate mode."""


def pack_at_rate(image: np.ndarray, codec: str, bpp: float) -> AtRate:
    """The largest setting of ``codec`` whose framed stream is at most ``bpp`` bits per pixel.

    Parameters
    ----------
    image : [H, W, 3], np.uint8
        RGB image.
    codec : str
        A lossy codec: ``jpeg``, ``webp``, ``avif``, ``heif`` or ``jpeg2000``.
    bpp : float
        Target bits per pixel (> 0), the header's 13 bytes included.

    Returns
    -------
    AtRate
    """
    if not bpp > 0:
        raise ValueError(f"bpp must be > 0; got {bpp}")
    budget = int(math.floor(bpp * image.shape[0] * image.shape[1] / 8))  # bytes, header included
    if codec == "jpeg2000":
        return _jpeg2000_at(image, budget)
    if codec not in RATE_SETTINGS:
        lossy = ", ".join([*RATE_SETTINGS, "jpeg2000"])
        raise ValueError(f"codec {codec!r} takes no rate target (lossless or unknown); rate targets: {lossy}")
    source_codec = SOURCE_CODECS.get(codec)
    low, high = RATE_SETTINGS[codec]
    streams: dict[int, bytes] = {}

    def fits(quality: int) -> bool:
        if quality not in streams:
            streams[quality] = frame(source_codec.encode(image, quality), codec, image.shape)
        return len(streams[quality]) <= budget

    if not fits(low):
        return AtRate(streams[low], float(low), False)
    while low < high:  # invariant: fits(low); the answer is in [low, high]
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return AtRate(streams[low], float(low), True)


def _jpeg2000_at(image: np.ndarray, budget: int) -> AtRate:
    """OpenJPEG's rate mode at the ratio that fills the budget: its own estimate first, then a bracket grown
    geometrically from there and bisected in log ratio."""
    raw = image.size  # bytes of the 8-bit image
    options = SOURCE_CODECS.get("jpeg2000").options(None, image.shape[:2])

    def encode(ratio: float) -> bytes:
        buffer = io.BytesIO()
        rate_options = {**options, "quality_mode": "rates", "quality_layers": [ratio]}
        Image.fromarray(image, "RGB").save(buffer, "JPEG2000", **rate_options)
        return frame(buffer.getvalue(), "jpeg2000", image.shape)

    # the rate mode's own estimate: it usually lands just under the budget, or a few percent over it
    low = max(raw / max(budget - HEADER_BYTES, 1), 1.0)  # larger ratios give smaller streams
    stream = encode(low)
    if len(stream) <= budget:
        return AtRate(stream, low, True)
    step = J2K_FIRST_STEP
    while True:  # grow the bracket: invariant encode(low) does not fit
        high = min(low * step, J2K_MAX_RATIO)
        best = encode(high)
        if len(best) <= budget:
            break
        if high == J2K_MAX_RATIO:
            return AtRate(best, high, False)  # the codec's floor
        low, step = high, step * step
    for _ in range(J2K_STEPS):  # invariant: encode(high) fits, encode(low) does not
        middle = math.sqrt(low * high)
        stream = encode(middle)
        if len(stream) <= budget:
            high, best = middle, stream
        else:
            low = middle
    return AtRate(best, high, True)
