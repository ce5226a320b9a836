"""Codec header readers that :func:`lssc_sim.digital.source.unpack` runs before Pillow touches a stream.

``unpack`` compares the size a stream declares with the expected one before any pixel memory is
allocated. For PNG and JPEG, ``Image.open`` reads only the header and ``load()`` allocates, so checking
``im.size`` in between is enough. For the other formats the size Pillow reports is not (or not yet) the one
the decoder library allocates by, so each has a reader here, written for the streams our encoder produces:

- :func:`webp_size` (RIFF canvas): Pillow's WebP plugin creates libwebp's animation decoder
  (``WebPAnimDecoderNew``) inside ``Image.open``, which allocates the whole canvas before ``im.size`` can
  be checked; the canvas size is read from the first RIFF chunk (VP8, VP8L or VP8X) instead.
- :func:`jpeg2000_size` (codestream SIZ): Pillow reads the image size from the SIZ segment, but OpenJPEG
  allocates per tile, and a damaged tile size can multiply the tiles (and their allocations) by up to
  H * W; so only what our encoder writes, one tile and no offsets, is accepted.
- :func:`avif_size` (ISO-BMFF boxes, then the AV1 sequence header): Pillow reports the ``ispe`` box size,
  but libavif's AV1 decoder (dav1d) allocates by the sequence header's frame size, up to libavif's
  16384 * 16384-pixel limit, and libavif scales the frame to the ``ispe`` size afterwards; so a damaged
  sequence header passes a check of ``Image.open``'s size.
- :func:`png_crcs_ok` (chunk CRC-32) guards no allocation but the integrity of strict decoding: Pillow
  skips the CRCs of IDAT chunks and its zlib reader stops before the Adler-32 check, so damaged pixel data
  would decode silently where a strict decoder (libpng) rejects it.

The size readers return ``(width, height)`` (Pillow's order), or None where the header is unreadable or
not laid out as our encoder writes it; none of them raises on bad data.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["Size", "avif_size", "jpeg2000_size", "png_crcs_ok", "webp_size"]

Size = tuple[int, int]  # (width, height), Pillow's order


def webp_size(stream: bytes) -> Size | None:
    """Canvas size from the first RIFF chunk (VP8 frame header, VP8L header or VP8X canvas).

    Pillow's WebP plugin creates libwebp's animation decoder in ``Image.open``, which allocates the whole
    canvas, so the size must be known before opening.
    """
    chunk = stream[12:16]
    if stream[:4] != b"RIFF" or stream[8:12] != b"WEBP":
        return None
    if chunk == b"VP8 " and len(stream) >= 30 and stream[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", stream, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(stream) >= 25 and stream[20] == 0x2F:
        bits = int.from_bytes(stream[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(stream) >= 30:
        return int.from_bytes(stream[24:27], "little") + 1, int.from_bytes(stream[27:30], "little") + 1
    return None


def jpeg2000_size(stream: bytes) -> Size | None:
    """Image size from the SIZ segment of a raw codestream laid out as our encoder writes it.

    Pillow reads the size from the same segment, but OpenJPEG allocates per tile, and a damaged tile size
    can multiply the tiles by up to H * W; so only one tile and no offsets are accepted.
    """
    if len(stream) < 42 or stream[:4] != b"\xff\x4f\xff\x51":
        return None
    xsiz, ysiz, xosiz, yosiz, xtsiz, ytsiz, xtosiz, ytosiz = struct.unpack_from(">8I", stream, 8)
    if xosiz or yosiz or xtosiz or ytosiz or xtsiz < xsiz or ytsiz < ysiz:
        return None
    return xsiz, ysiz


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """ISO-BMFF boxes in ``data[start:end]``: type -> (content start, content end), first of each type."""
    found: dict[bytes, tuple[int, int]] = {}
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            break
        found.setdefault(kind, (start + header, start + size))
        start += size
    return found


def _avif_av1_data(stream: bytes) -> bytes | None:
    """The AV1 sample of the primary item (its ``iloc`` extents), or None where the boxes are unreadable."""
    meta = _boxes(stream, 0, len(stream)).get(b"meta")
    if meta is None:
        return None
    children = _boxes(stream, meta[0] + 4, meta[1])  # meta is a FullBox
    if b"pitm" not in children or b"iloc" not in children:
        return None
    start = children[b"pitm"][0]
    primary = int.from_bytes(stream[start + 4 : start + (6 if stream[start] == 0 else 8)], "big")
    start, end = children[b"iloc"]
    version = stream[start]
    if version > 2 or start + 8 > end:
        return None
    offset_size, length_size = stream[start + 4] >> 4, stream[start + 4] & 15
    base_size, index_size = stream[start + 5] >> 4, (stream[start + 5] & 15) if version else 0
    if any(n not in (0, 4, 8) for n in (offset_size, length_size, base_size, index_size)):
        return None
    view, position = memoryview(stream)[:end], start + 6

    def read(num_bytes: int) -> int:
        nonlocal position
        if position + num_bytes > end:
            raise ValueError("iloc box ends early")
        position += num_bytes
        return int.from_bytes(view[position - num_bytes : position], "big")

    try:
        for _ in range(read(2 if version < 2 else 4)):
            item = read(2 if version < 2 else 4)
            method = read(2) & 15 if version else 0
            read(2)  # data_reference_index
            base = read(base_size)
            extents = []
            for _ in range(read(2)):
                read(index_size)
                extents.append((base + read(offset_size), read(length_size)))
            if item == primary:
                if method != 0 or not extents:
                    return None  # our encoder writes the sample into mdat (file offsets)
                return b"".join(stream[o : o + n if n else len(stream)] for o, n in extents)
    except ValueError:
        return None
    return None


class _Bits:
    """MSB-first bit reader of the AV1 specification's f(n) and uvlc()."""

    def __init__(self, data: bytes):
        self.value, self.left = int.from_bytes(data, "big"), 8 * len(data)

    def f(self, n: int) -> int:
        if n > self.left:
            raise ValueError("sequence header ends early")
        self.left -= n
        return (self.value >> self.left) & ((1 << n) - 1)

    def uvlc(self) -> int:
        zeros = 0
        while not self.f(1):
            zeros += 1
        return (1 << 32) - 1 if zeros >= 32 else self.f(zeros) + (1 << zeros) - 1


def _av1_frame_bound(header: bytes) -> tuple[Size, Size]:
    """(max frame size, 2 ** frame size bits) of one sequence header OBU payload (AV1 spec 5.5.1)."""
    bits = _Bits(header)
    bits.f(4)  # seq_profile, still_picture
    if bits.f(1):  # reduced_still_picture_header
        bits.f(5)
    else:
        decoder_model = delay_bits = 0
        if bits.f(1):  # timing_info_present_flag
            bits.f(64)
            if bits.f(1):  # equal_picture_interval
                bits.uvlc()
            decoder_model = bits.f(1)
            if decoder_model:
                delay_bits = bits.f(5) + 1
                bits.f(42)
        initial_display_delay = bits.f(1)
        for _ in range(bits.f(5) + 1):  # operating points
            bits.f(12)
            if bits.f(5) > 7:  # seq_level_idx
                bits.f(1)
            if decoder_model and bits.f(1):
                bits.f(2 * delay_bits + 1)
            if initial_display_delay and bits.f(1):
                bits.f(4)
    width_bits, height_bits = bits.f(4) + 1, bits.f(4) + 1
    return (bits.f(width_bits) + 1, bits.f(height_bits) + 1), (1 << width_bits, 1 << height_bits)


def avif_size(stream: bytes) -> Size | None:
    """The frame size every AV1 sequence header of the primary item declares, where they agree.

    Pillow reads the size of the ``ispe`` box, but dav1d allocates by the AV1 headers (up to libavif's
    16384 * 16384-pixel limit) and libavif then scales the frame to the ``ispe`` size, so a damaged
    sequence header would pass a check of ``Image.open``'s size. A frame header may code any size below
    2 ** (frame size bits), so those bits may not exceed what the size needs (libaom writes the fewest).
    """
    data = _avif_av1_data(stream)
    if data is None:
        return None
    sizes, position = set(), 0
    try:
        while position < len(data):  # OBUs (AV1 spec 5.3)
            header = data[position]
            obu_type, position = (header >> 3) & 15, position + 1 + ((header >> 2) & 1)
            if header & 2:  # obu_has_size_field: leb128
                size = shift = 0
                while True:
                    byte = data[position]
                    size, shift, position = size | (byte & 0x7F) << shift, shift + 7, position + 1
                    if byte < 0x80 or shift >= 56:
                        break
            else:
                size = len(data) - position
            if obu_type == 1:
                (width, height), (width_bound, height_bound) = _av1_frame_bound(data[position : position + size])
                if width_bound > 2 * width or height_bound > 2 * height:
                    return None
                sizes.add((width, height))
            position += size
    except (IndexError, ValueError):
        return None
    return sizes.pop() if len(sizes) == 1 else None


def png_crcs_ok(payload: bytes) -> bool:
    """Whether every chunk up to IEND is complete and has a matching CRC-32.

    Pillow skips the CRCs of IDAT chunks, and its zlib reader stops before the Adler-32 check, so a damaged
    pixel stream would decode silently; a strict PNG decoder (libpng) rejects it.
    """
    position = 8  # signature
    while position + 12 <= len(payload):
        length = int.from_bytes(payload[position : position + 4], "big")
        end = position + 8 + length
        if end + 4 > len(payload):
            return False
        if zlib.crc32(payload[position + 4 : end]) != int.from_bytes(payload[end : end + 4], "big"):
            return False
        if payload[position + 4 : position + 8] == b"IEND":
            return True
        position = end + 4
    return False
