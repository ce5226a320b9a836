"""Source codecs of the digital image link (PNG, JPEG, JPEG 2000, WebP, AVIF) and the in-band framing.

The transmitter sends ``pack(image, codec)``: a fixed header and the codec stream. The receiver gets the
stream back from the channel decoder, possibly damaged and followed by the zero padding of the last code
block, and calls :func:`unpack`, which never raises on bad data and never lets a decoder allocate more
than the expected image: it checks the sizes the stream declares (our header, then the codec's own header)
before any pixel is decoded, and returns a loss with its reason instead. The readers of the codecs' own
headers, and why each is needed, are in :mod:`lssc_sim.digital.codec_headers`.

Header (``HEADER_BYTES`` = 13, big-endian)::

    offset  size  field
    0       2     magic b"LS"
    2       1     version (1)
    3       1     codec_id (1 png, 2 jpeg, 3 jpeg2000, 4 webp, 5 avif)
    4       2     height, uint16
    6       2     width, uint16
    8       1     channels, uint8 (3)
    9       4     payload length in bytes, uint32 (the codec stream, header and padding excluded)

The header carries no checksum of its own: each of its fields but the length already turns a damaged
header into a loss, and the link's CRC24 per code block is what detects errors.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lssc_sim.digital.codec_headers import Size, avif_size, jpeg2000_size, png_crcs_ok, webp_size
from lssc_sim.registry import Registry

__all__ = [
    "HEADER_BYTES",
    "SOURCE_CODECS",
    "SourceCodec",
    "Unpacked",
    "bits_per_pixel",
    "bits_to_bytes",
    "bytes_to_bits",
    "pack",
    "unpack",
]

MAGIC = b"LS"
VERSION = 1
_HEADER = struct.Struct(">2sBBHHBI")
HEADER_BYTES = _HEADER.size


@dataclass(frozen=True)
class SourceCodec:
    """One image format, encoded and decoded with Pillow.

    The meaning of ``quality`` depends on the codec: png ignores it; jpeg, webp and avif take Pillow's
    0..100 quality scale (default 75); jpeg2000 takes a target PSNR in dB, not a 0..100 scale (OpenJPEG's
    fixed-quality mode: any value > 0, default 35 dB).

    Attributes
    ----------
    name : str
        Registry name ("png", "jpeg", "jpeg2000", "webp", "avif").
    pil_format : str
        Pillow's format name; decoding accepts this format only.
    codec_id : int
        The header's codec field, 1..5.
    lossless : bool
        Whether the default encoding is bit-exact.
    options : callable
        ``options(quality, (height, width)) -> dict`` of Pillow save options (``quality`` as above).
    declared_size : callable, optional
        ``declared_size(stream) -> (width, height) or None``: the size a decoder library would allocate
        by, read before ``Image.open`` where that is not the size Pillow checks (or where ``Image.open``
        already allocates); None when the header is unreadable or not laid out as ``encode`` writes it.
        See :mod:`lssc_sim.digital.codec_headers`.
    """

    name: str
    pil_format: str
    codec_id: int
    lossless: bool
    options: Callable[[int | None, tuple[int, int]], dict[str, Any]] = field(repr=False)
    declared_size: Callable[[bytes], Size | None] | None = field(default=None, repr=False)

    def encode(self, image: np.ndarray, quality: int | None = None) -> bytes:
        """Encode an image into this format's stream.

        Parameters
        ----------
        image : [H, W, 3], np.uint8
            RGB image.
        quality : int, optional
            None for the default. png: ignored (lossless, zlib level 9). jpeg, webp, avif: Pillow's
            0..100 scale, default 75. jpeg2000: the target PSNR in dB (> 0; not a 0..100 scale), default
            35 dB.

        Returns
        -------
        bytes
            The codec stream; the same bytes for the same image and quality.
        """
        _check_image(image)
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


SOURCE_CODECS: Registry[SourceCodec] = Registry("source codec")
for _codec in (
    SourceCodec("png", "PNG", 1, True, _png_options),
    SourceCodec("jpeg", "JPEG", 2, False, _jpeg_options),
    SourceCodec("jpeg2000", "JPEG2000", 3, False, _jpeg2000_options, declared_size=jpeg2000_size),
    SourceCodec("webp", "WEBP", 4, False, _webp_options, declared_size=webp_size),
    SourceCodec("avif", "AVIF", 5, False, _avif_options, declared_size=avif_size),
):
    SOURCE_CODECS.add(_codec.name, _codec)


def _check_image(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
        what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be a uint8 array [H, W, 3]; got {what}")
    if not (0 < image.shape[0] <= 0xFFFF and 0 < image.shape[1] <= 0xFFFF):
        raise ValueError(f"image sides must be 1..65535 (uint16 header fields); got {image.shape[:2]}")


def pack(image: np.ndarray, codec: str, quality: int | None = None) -> bytes:
    """Header and codec stream of one image.

    Parameters
    ----------
    image : [H, W, 3], np.uint8
        RGB image, sides up to 65535.
    codec : str
        A name in :data:`SOURCE_CODECS`.
    quality : int, optional
        None for the codec's default. png: ignored. jpeg, webp, avif: Pillow's 0..100 scale, default 75.
        jpeg2000: the target PSNR in dB (> 0; not a 0..100 scale), default 35 dB. See
        :meth:`SourceCodec.encode`.

    Returns
    -------
    bytes
        ``HEADER_BYTES`` of header, then the codec stream.
    """
    source_codec = SOURCE_CODECS.get(codec)
    payload = source_codec.encode(image, quality)
    height, width, channels = image.shape
    return _HEADER.pack(MAGIC, VERSION, source_codec.codec_id, height, width, channels, len(payload)) + payload


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
        header or the codec stream declares another shape, or a decompression bomb), "mode" (the codec
        stream is not 8-bit RGB), "truncated" (strict: the declared length runs past the stream),
        "checksum" (strict PNG: a chunk CRC fails), "decode" (the decoder failed, or warned in strict mode).
    partial : bool
        Tolerant mode only: the image was kept although the decoder failed part way (the pixels it did
        not reach are whatever Pillow left there, zeros as of Pillow 13).
    detail : str
        The decoder's message, for logs; empty when there is none.
    """

    image: np.ndarray | None
    reason: str
    partial: bool = False
    detail: str = ""


def unpack(stream: bytes | None, shape: tuple[int, int, int], tolerant: bool = False) -> Unpacked:
    """Guarded decode of a received stream (header, codec stream, then possibly padding bytes).

    Parameters
    ----------
    stream : bytes or None
        What the link delivered; None (a stream the link dropped) is lost as "empty".
    shape : (H, W, 3)
        The image shape the receiver expects; any other declared shape is a loss.
    tolerant : bool, default False
        False: any decoder error or warning loses the image, and so does a declared length beyond the
        stream. True: best effort on a damaged stream. The codec stream is everything after the header
        (the codecs find their own end, so a damaged length field costs nothing and padding is ignored)
        and an image the decoder filled only in part is kept (``partial=True``).

    Returns
    -------
    Unpacked
        Never raises on bad data; a bad ``shape`` argument is a ValueError.
    """
    if not (len(shape) == 3 and shape[2] == 3 and all(isinstance(n, int | np.integer) and n > 0 for n in shape)):
        raise ValueError(f"shape must be (H, W, 3) with positive sides; got {shape!r}")
    stream = b"" if stream is None else bytes(stream)
    if not stream:
        return Unpacked(None, "empty", detail="no stream")
    if len(stream) < HEADER_BYTES:
        return Unpacked(None, "header", detail=f"{len(stream)} bytes < {HEADER_BYTES}-byte header")
    magic, version, codec_id, height, width, channels, length = _HEADER.unpack_from(stream)
    if magic != MAGIC or version != VERSION:
        return Unpacked(None, "header", detail=f"magic {magic!r}, version {version}")
    codec = next((c for c in map(SOURCE_CODECS.get, SOURCE_CODECS.names()) if c.codec_id == codec_id), None)
    if codec is None:
        return Unpacked(None, "codec", detail=f"codec id {codec_id}")
    if (height, width, channels) != tuple(shape):
        return Unpacked(None, "size", detail=f"header declares {(height, width, channels)}")
    available = len(stream) - HEADER_BYTES
    if tolerant:
        payload = stream[HEADER_BYTES:]
    elif length > available:
        return Unpacked(None, "truncated", detail=f"declared {length} bytes, {available} received")
    else:
        payload = stream[HEADER_BYTES : HEADER_BYTES + length]
    if not payload:
        return Unpacked(None, "empty", detail="empty payload")
    return _decode(payload, codec, (shape[1], shape[0]), tolerant)


def _decode(payload: bytes, codec: SourceCodec, size: Size, tolerant: bool) -> Unpacked:
    """Pillow decode of one codec stream, with the size check before any pixel memory is allocated."""
    if codec.declared_size is not None:
        declared = codec.declared_size(payload)
        if declared is None:
            return Unpacked(None, "decode", detail=f"unreadable {codec.pil_format} header")
        if declared != size:
            return Unpacked(None, "size", detail=f"{codec.pil_format} codec header declares {declared}")
    if not tolerant and codec.name == "png" and not png_crcs_ok(payload):  # Pillow skips IDAT CRCs
        return Unpacked(None, "checksum", detail="PNG chunk CRC mismatch")
    # strict: a decoder warning is an error; tolerant: warnings stay quiet. catch_warnings swaps the
    # process-wide filters (Python 3.11 has no per-thread ones) for the length of one decode only.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if tolerant else "error")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our size check supersedes it
        try:
            with Image.open(io.BytesIO(payload), formats=[codec.pil_format]) as im:
                # Image.open has read the codec header only (WebP: checked above): check before load()
                if im.size != size:
                    return Unpacked(None, "size", detail=f"{codec.pil_format} stream declares {im.size}")
                if im.mode != "RGB":
                    return Unpacked(None, "mode", detail=f"{codec.pil_format} stream is {im.mode}")
                return _load(im, size, tolerant)
        except Image.DecompressionBombError as exc:
            return Unpacked(None, "size", detail=str(exc))
        except Exception as exc:  # a corrupted stream reaches odd corners of every decoder
            # (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, MemoryError, warnings
            # raised as errors, ...); no damaged stream may stop a sweep, so anything here is a lost image
            return Unpacked(None, "decode", detail=f"{type(exc).__name__}: {exc}")


def _load(im: Image.Image, size: Size, tolerant: bool) -> Unpacked:
    """Decode the pixels; tolerant mode keeps what the decoder wrote before it failed.

    Tolerance without ``ImageFile.LOAD_TRUNCATED_IMAGES``: that flag is process-wide, so setting it even
    inside try/finally would make another thread's strict decode tolerant meanwhile, and a lock would only
    order our own calls. Instead, when ``load()`` fails after allocating the image (``load_prepare``), the
    rows decoded so far stay in it, and clearing ``tile`` lets Pillow hand them out without decoding again;
    no global state is touched. (``ImageFile.Parser`` is no help: PNG, WebP and AVIF have loaders of their
    own that it cannot feed, and its ``close`` then calls ``load``.) Formats that decode in one library call
    (WebP, AVIF) give nothing on failure, with or without the flag.
    """
    error = None
    try:
        im.load()
    except Exception as exc:  # see _decode
        if not tolerant:
            raise
        error = exc
    if error is None:
        image = np.asarray(im)
    else:
        im.tile = []  # keep the partly filled image; without tiles, load() returns it as it is
        try:
            image = np.asarray(im)
        except Exception:  # the decoder failed before it allocated the image: nothing to keep
            raise error from None
    if image.shape != (size[1], size[0], 3) or image.dtype != np.uint8:
        return Unpacked(None, "size", detail=f"decoded {image.dtype} {image.shape}")
    detail = "" if error is None else f"{type(error).__name__}: {error}"
    return Unpacked(np.array(image), "ok", partial=error is not None, detail=detail)


def bits_per_pixel(num_bytes: int, shape: tuple[int, ...]) -> float:
    """Source rate: ``8 * num_bytes / (H * W)`` for an image of shape (H, W) or (H, W, C)."""
    return 8.0 * num_bytes / (shape[0] * shape[1])


def bytes_to_bits(data: bytes) -> np.ndarray:
    """[8 * len(data)], np.uint8 of 0/1, most significant bit of each byte first."""
    return np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """Inverse of :func:`bytes_to_bits`; ``bits`` : [8 * n] of 0/1."""
    bits = np.asarray(bits)
    if bits.ndim != 1 or bits.size % 8:
        raise ValueError(f"bits must be 1-D with a length that is a multiple of 8; got shape {bits.shape}")
    return np.packbits(bits.astype(np.uint8)).tobytes()
