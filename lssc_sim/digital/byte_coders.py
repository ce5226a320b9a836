"""General-purpose byte coders shared by the feature and label-map streams (:mod:`lssc_sim.digital.features`,
:mod:`lssc_sim.digital.label_maps`): bit packing, and raw deflate, LZMA1 and magicless zstd without checksums
(the link's CRC24 per code block is what detects errors), decompressed with bounded output whatever the bytes.
"""

from __future__ import annotations

import lzma
import zlib

import numpy as np
import zstandard

__all__ = ["compress_bytes", "decompress_bytes", "pack_bits", "unpack_bits"]

_CHUNK = 16  # input bytes per decompressor call: a zstd RLE block (4 bytes) can expand to 128 kB


def pack_bits(values: np.ndarray, bits: int) -> bytes:
    """[N] uint8 values below ``2 ** bits`` at ``bits`` bits each, MSB first, zero-padded to whole bytes."""
    return np.packbits(np.unpackbits(values.reshape(-1, 1), axis=1)[:, 8 - bits :]).tobytes()


def unpack_bits(data: bytes, bits: int, count: int, fill: int = 0) -> np.ndarray:
    """[count] uint8, the inverse of :func:`pack_bits`; values beyond the bytes given are ``fill``."""
    available = min(count, 8 * len(data) // bits)
    values = np.full(count, fill, dtype=np.uint8)
    planes = np.unpackbits(np.frombuffer(data, np.uint8))[: available * bits].reshape(available, bits)
    values[:available] = np.packbits(np.pad(planes, ((0, 0), (8 - bits, 0))), axis=1)[:, 0]
    return values


def compress_bytes(data: bytes, coder: str) -> bytes:
    """``data`` compressed by "zlib" (raw deflate, level 9), "lzma" (raw LZMA1, 9e) or "zstd" (level 19).

    No headers or checksums but what each format needs; :func:`decompress_bytes`, given ``len(data)``,
    undoes it.
    """
    if coder == "zlib":
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
        return compressor.compress(data) + compressor.flush()
    if coder == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(data)))
    if coder == "zstd":
        frame = {"format": zstandard.FORMAT_ZSTD1_MAGICLESS, "write_content_size": False, "write_checksum": False}
        params = zstandard.ZstdCompressionParameters.from_level(19, **frame)
        return zstandard.ZstdCompressor(compression_params=params).compress(data)
    raise ValueError(f"unknown byte coder {coder!r}")


def decompress_bytes(payload: bytes, coder: str, size: int, tolerant: bool) -> tuple[bytes, str | None]:
    """Bounded inverse of :func:`compress_bytes`: (at most ``size`` bytes, None or what was wrong).

    Never raises on bad data, and never holds much more than ``size`` bytes of output: the payload goes in
    16-byte pieces and decoding stops as soon as the output passes ``size``. Strict: the output must be
    exactly ``size`` bytes and end the compressed stream exactly at the payload's end, else an error is
    returned with it. Tolerant: whatever was decoded before an error, cut to ``size``, and no error.
    """
    out, fed, error = bytearray(), 0, None
    try:
        if coder == "zlib":
            decompressor = zlib.decompressobj(-15)
        elif coder == "lzma":
            decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=_lzma_filters(size))
        else:
            window = 1 << max(20, (size - 1).bit_length())  # the most compress_bytes' zstd uses
            zstd = zstandard.ZstdDecompressor(format=zstandard.FORMAT_ZSTD1_MAGICLESS, max_window_size=window)
            decompressor = zstd.decompressobj()
        while fed < len(payload) and not decompressor.eof and len(out) <= size:
            chunk, fed = payload[fed : fed + _CHUNK], fed + _CHUNK
            if coder == "zstd":  # no output limit here: 16 bytes give at most 4 blocks of 128 kB
                out += decompressor.decompress(chunk)
            else:
                out += decompressor.decompress(chunk, size + 1 - len(out))
        if len(out) > size:
            error = "more output than expected"
        elif not decompressor.eof or len(out) < size:
            error = "compressed stream ends early"
        elif fed < len(payload) or decompressor.unused_data:
            error = "data after the end of the compressed stream"
    except Exception as exc:  # zlib.error, lzma.LZMAError, zstandard.ZstdError, MemoryError, ...
        error = f"{type(exc).__name__}: {exc}"
    return bytes(out[:size]), None if tolerant else error


def _lzma_filters(size: int) -> list[dict]:
    # LZMA1, not LZMA2 (no chunk headers: 2-15 % fewer bytes on a few hundred bytes of levels), with
    # lc = lp = pb = 0 (0-2 % fewer: levels have no byte structure); a dictionary of the data's size bounds
    # the decoder's memory by the expected size, never by the stream
    lzma1 = {"id": lzma.FILTER_LZMA1, "preset": 9 | lzma.PRESET_EXTREME, "lc": 0, "lp": 0, "pb": 0}
    return [lzma1 | {"dict_size": max(4096, size)}]
