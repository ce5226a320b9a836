"""The source codecs (PNG, JPEG, JPEG 2000, WebP, AVIF, HEIF, raw): how each encodes, and the registry.

Each :class:`SourceCodec` is one image format with its encoder options and, where the format's decoder
library allocates by a size Pillow cannot check first, a reader of the size its header declares
(:mod:`lssc_sim.digital.codec_headers`). Framing and guarded decoding are in :mod:`lssc_sim.digital.source`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lssc_sim.digital.codec_headers import Size, avif_size, heif_size, jpeg2000_size, webp_size
from lssc_sim.registry import Registry

__all__ = ["SOURCE_CODECS", "SourceCodec", "Unpacked", "check_image"]


@dataclass(frozen=True)
class Unpacked:
    """What :func:`unpack` made of a received stream.

    Attributes
    ----------
    image : [H, W, 3], np.uint8, or None
        The decoded image; None when lost.
    reason : str
        "ok" when ``image`` is set, else why it was lost: "empty" (no bytes, or an empty payload),
        "header" (shorter than the header, bad magic or version), "codec" (unknown codec id), "size" (the
        header or the codec stream declares another shape, a decompression bomb, or strict raw: a declared
        length other than the image's), "mode" (the codec stream is not 8-bit RGB), "truncated" (strict:
        the declared length runs past the stream), "checksum" (strict PNG: a chunk CRC fails), "decode"
        (the decoder failed, or warned in strict mode).
    partial : bool
        Tolerant mode only: the image was kept although the decoder failed part way (the pixels it did
        not reach are whatever Pillow left there, zeros as of Pillow 13), or raw: the stream ended before
        the image (the missing bytes are zeros).
    detail : str
        The decoder's message, for logs; empty when there is none.
    """

    image: np.ndarray | None
    reason: str
    partial: bool = False
    detail: str = ""


@dataclass(frozen=True)
class SourceCodec:
    """One image format, encoded and decoded with Pillow (or with functions of its own).

    The meaning of ``quality`` depends on the codec: png and raw ignore it; jpeg, webp and avif take
    Pillow's 0..100 quality scale, heif pillow-heif's (default 75 for all three: not the same image quality,
    see :func:`_heif_options`); jpeg2000 takes a target PSNR in dB, not a 0..100 scale (OpenJPEG's
    fixed-quality mode: any value > 0, default 35 dB).

    Attributes
    ----------
    name : str
        Registry name ("png", "jpeg", "jpeg2000", "webp", "avif", "heif", "raw").
    pil_format : str or None
        Pillow's format name; decoding accepts this format only. None for a codec that Pillow does not
        handle: ``encoder`` and ``decoder`` are then set.
    codec_id : int
        The header's codec field, 1..7.
    lossless : bool
        Whether the default encoding is bit-exact.
    options : callable, optional
        ``options(quality, (height, width)) -> dict`` of Pillow save options (``quality`` as above).
    declared_size : callable, optional
        ``declared_size(stream) -> (width, height) or None``: the size a decoder library would allocate
        by, read before ``Image.open`` where that is not the size Pillow checks (or where ``Image.open``
        already allocates); None when the header is unreadable or not laid out as ``encode`` writes it.
        See :mod:`lssc_sim.digital.codec_headers`.
    plugin : callable, optional
        ``plugin()``, called before each encode and decode: registers the Pillow plugin that provides
        ``pil_format`` (idempotent), so that the plugin is imported only by a run that uses the codec.
    encoder : callable, optional
        ``encoder(image, quality) -> bytes``, used instead of Pillow.
    decoder : callable, optional
        ``decoder(payload, (width, height), tolerant) -> Unpacked``, used instead of Pillow, after the
        checks of :func:`unpack`; it must not raise on bad data either.
    """

    name: str
    pil_format: str | None
    codec_id: int
    lossless: bool
    options: Callable[[int | None, tuple[int, int]], dict[str, Any]] | None = field(default=None, repr=False)
    declared_size: Callable[[bytes], Size | None] | None = field(default=None, repr=False)
    plugin: Callable[[], None] | None = field(default=None, repr=False)
    encoder: Callable[[np.ndarray, int | None], bytes] | None = field(default=None, repr=False)
    decoder: Callable[[bytes, Size, bool], Unpacked] | None = field(default=None, repr=False)

    def encode(self, image: np.ndarray, quality: int | None = None) -> bytes:
        """Encode an image into this format's stream.

        Parameters
        ----------
        image : [H, W, 3], np.uint8
            RGB image.
        quality : int, optional
            None for the default. png: ignored (lossless, zlib level 9). raw: ignored. jpeg, webp, avif:
            Pillow's 0..100 scale, default 75. heif: pillow-heif's 0..100 scale, default 75. jpeg2000: the
            target PSNR in dB (> 0; not a 0..100 scale), default 35 dB.

        Returns
        -------
        bytes
            The codec stream; the same bytes for the same image and quality.
        """
        check_image(image)
        if self.encoder is not None:
            return self.encoder(image, quality)
        if self.plugin is not None:
            self.plugin()
        buffer = io.BytesIO()
        Image.fromarray(image, "RGB").save(buffer, self.pil_format, **self.options(quality, image.shape[:2]))
        return buffer.getvalue()


def _quality(quality: int | None, default: int, name: str) -> int:
    if quality is None:
        return default
    if not 0 <= quality <= 100:
        raise ValueError(f"{name} quality must be in 0..100; got {quality}")
    return int(quality)


def _png_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    # the fewest bits zlib gives (0.3-0.6 % fewer than the default level 6), at up to 1.7x the encode time
    return {"compress_level": 9}


def _jpeg_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    # optimized Huffman tables: same pixels, 10-35 % fewer bytes at 32..128 px; baseline (not progressive)
    # so that a truncated stream still gives its first rows
    return {"quality": _quality(quality, 75, "jpeg"), "optimize": True}


def _jpeg2000_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    """JPEG 2000 ``quality`` is the target PSNR in dB (OpenJPEG's fixed-quality mode), default 35 dB.

    A raw codestream (no JP2 boxes: 85 bytes fewer, and one size field instead of two), the irreversible
    9/7 wavelet, and as many resolution levels (up to OpenJPEG's default 6) as the image side allows.
    """
    target_db = 35.0 if quality is None else float(quality)
    if not target_db > 0:
        raise ValueError(f"jpeg2000 quality is a target PSNR in dB and must be > 0; got {quality}")
    levels = min(6, min(hw).bit_length())  # OpenJPEG needs min(H, W) >= 2 ** (levels - 1)
    return {
        "no_jp2": True,
        "irreversible": True,
        "quality_mode": "dB",
        "quality_layers": [target_db],
        "num_resolutions": levels,
    }


def _webp_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    return {"quality": _quality(quality, 75, "webp"), "lossless": False, "method": 4}


def _avif_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    # one encoder thread: libaom's multi-threaded output differs from the single-threaded one
    return {"quality": _quality(quality, 75, "avif"), "speed": 6, "max_threads": 1}


def _heif_options(quality: int | None, hw: tuple[int, int]) -> dict[str, Any]:
    """HEIF: HEVC intra (BPG-like: BPG's coding core, x265, in the HEIF container) through pillow-heif.

    ``quality`` is pillow-heif's 0..100 scale, default 75; it is not Pillow's AVIF or WebP scale: at 75,
    HEIF gives 42-44 dB where AVIF gives 34-35 dB, at 2-2.3 times the bytes (synthetic images, 64 px).

    4:4:4 chroma, not x265's default 4:2:0: at the same quality setting, within 3 % of 4:2:0's bytes (more
    or fewer), with 1.5-7 dB more PSNR from quality 50 up (4:2:0 stops near 37 dB on the colour edges of our
    synthetic images) and at most 1.2 dB less below it: fewer bytes for the same PSNR from about 31 dB up,
    about as many below. One x265 worker thread and one frame thread: the same bytes on any number of cores
    (x265 sizes its thread pool and frame threads by the cores it finds; measured: the same bytes as the
    default on 1 and 2 cores).
    """
    return {
        "quality": _quality(quality, 75, "heif"),
        "chroma": 444,
        "enc_params": {"x265:pools": "1", "x265:frame-threads": "1"},
    }


@functools.cache
def _register_heif() -> None:
    """Registers pillow-heif's HEIF plugin with Pillow, once: imported at the codec's first use only."""
    import pillow_heif

    # no options passed: pillow-heif's options are process-wide, and ours would change them for every user
    pillow_heif.register_heif_opener()


def _raw_encode(image: np.ndarray, quality: int | None) -> bytes:
    return np.ascontiguousarray(image).tobytes()  # row-major H x W x 3


def _raw_decode(payload: bytes, size: Size, tolerant: bool) -> Unpacked:
    """The H * W * 3 bytes of the image, row-major; tolerant: the bytes that arrived, the others zero.

    Strict: ``unpack`` has cut the payload to the declared length, which must be that of the image; no
    check of the pixels is possible (the link's CRC24 is what detects errors). Tolerant: the payload is
    everything after the header, padding included, and only the image's bytes are read; never more memory
    than the image.
    """
    width, height = size
    expected = 3 * width * height
    if not tolerant and len(payload) != expected:
        return Unpacked(None, "size", detail=f"raw payload of {len(payload)} bytes; the image has {expected}")
    image = np.zeros(expected, dtype=np.uint8)
    received = payload[:expected]
    image[: len(received)] = np.frombuffer(received, dtype=np.uint8)
    partial = len(received) < expected
    detail = f"truncated: {len(received)} of {expected} bytes" if partial else ""
    return Unpacked(image.reshape(height, width, 3), "ok", partial=partial, detail=detail)


SOURCE_CODECS: Registry[SourceCodec] = Registry("source codec")
for _codec in (
    SourceCodec("png", "PNG", 1, True, _png_options),
    SourceCodec("jpeg", "JPEG", 2, False, _jpeg_options),
    SourceCodec("jpeg2000", "JPEG2000", 3, False, _jpeg2000_options, declared_size=jpeg2000_size),
    SourceCodec("webp", "WEBP", 4, False, _webp_options, declared_size=webp_size),
    SourceCodec("avif", "AVIF", 5, False, _avif_options, declared_size=avif_size),
    SourceCodec("heif", "HEIF", 6, False, _heif_options, declared_size=heif_size, plugin=_register_heif),
    SourceCodec("raw", None, 7, True, encoder=_raw_encode, decoder=_raw_decode),
):
    SOURCE_CODECS.add(_codec.name, _codec)


def check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be a uint8 array [H, W, 3]; got {what}")
    if not (0 < image.shape[0] <= 0xFFFF and 0 < image.shape[1] <= 0xFFFF):
        raise ValueError(f"image sides must be 1..65535 (uint16 header fields); got {image.shape[:2]}")
