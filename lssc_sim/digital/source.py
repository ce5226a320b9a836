"""The framing of the digital image link's source streams and their guarded decoding.

The transmitter sends ``pack(image, codec)``: a fixed header and the codec stream. The receiver gets the
stream back from the channel decoder, possibly damaged and followed by the zero padding of the last code
block, and calls :func:`unpack`, which never raises on bad data and never lets a decoder allocate more
than the expected image: it checks the sizes the stream declares (our header, then the codec's own header)
before any pixel is decoded, and returns a loss with its reason instead. The codecs themselves (PNG, JPEG,
JPEG 2000, WebP, AVIF, HEIF, raw) are in :mod:`lssc_sim.digital.formats`; the readers of their own headers,
and why each is needed, in :mod:`lssc_sim.digital.codec_headers`.

Header (``HEADER_BYTES`` = 13, big-endian)::

    offset  size  field
    0       2     magic b"LS"
    2       1     version (1)
    3       1     codec_id (1 png, 2 jpeg, 3 jpeg2000, 4 webp, 5 avif, 6 heif, 7 raw)
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

import numpy as np
from PIL import Image

from lssc_sim.digital.codec_headers import Size, png_crcs_ok
from lssc_sim.digital.formats import SOURCE_CODECS, SourceCodec, Unpacked

__all__ = [
    "HEADER_BYTES",
    "SOURCE_CODECS",
    "SourceCodec",
    "Unpacked",
    "bits_per_pixel",
    "bits_to_bytes",
    "bytes_to_bits",
    "frame",
    "pack",
    "unpack",
]

MAGIC = b"LS"
VERSION = 1
_HEADER = struct.Struct(">2sBBHHBI")
HEADER_BYTES = _HEADER.size


def pack(image: np.ndarray, codec: str, quality: int | None = None) -> bytes:
    """Header and codec stream of one image.

    Parameters
    ----------
    image : [H, W, 3], np.uint8
        RGB image, sides up to 65535.
    codec : str
        A name in :data:`SOURCE_CODECS`.
    quality : int, optional
        None for the codec's default. png, raw: ignored. jpeg, webp, avif: Pillow's 0..100 scale, default
        75; heif: pillow-heif's, default 75. jpeg2000: the target PSNR in dB (> 0; not a 0..100 scale),
        default 35 dB. See :meth:`SourceCodec.encode`.

    Returns
    -------
    bytes
        ``HEADER_BYTES`` of header, then the codec stream.
    """
    return frame(SOURCE_CODECS.get(codec).encode(image, quality), codec, image.shape)


def frame(payload: bytes, codec: str, shape: tuple[int, int, int]) -> bytes:
    """The header for a codec stream of an image of ``shape`` (H, W, 3), followed by the stream."""
    height, width, channels = shape
    codec_id = SOURCE_CODECS.get(codec).codec_id
    return _HEADER.pack(MAGIC, VERSION, codec_id, height, width, channels, len(payload)) + payload


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
    if codec.decoder is not None:
        return codec.decoder(payload, size, tolerant)
    if codec.plugin is not None:
        codec.plugin()
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
                bit_depth = im.info.get("bit_depth", 8)  # pillow-heif's: it converts deeper samples to 8 bits
                if im.mode != "RGB" or bit_depth != 8:
                    return Unpacked(None, "mode", detail=f"{codec.pil_format} stream is {im.mode}, {bit_depth}-bit")
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
    no global state is touched. (``ImageFile.Parser`` is no help: PNG, WebP, AVIF and HEIF have loaders of
    their own that it cannot feed, and its ``close`` then calls ``load``.) Formats that decode in one library
    call (WebP, AVIF, HEIF) give nothing on failure, with or without the flag.
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
        if im._im is None:  # failed before allocating the image; pillow-heif's load() would decode again
            raise error from None
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
