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
- :func:`heif_size` (ISO-BMFF boxes, then the HEVC sequence parameter sets): pillow-heif reports the
  ``ispe`` box size (cropped by ``clap``), but libde265 allocates by the SPS picture size, so the ``ispe``,
  ``clap`` and every SPS libheif would pass to libde265 (in the ``hvcC`` box and in the coded data) must
  agree, within the padding libheif and x265 add to our images.
- :func:`png_crcs_ok` (chunk CRC-32) guards no allocation but the integrity of strict decoding: Pillow
  skips the CRCs of IDAT chunks and its zlib reader stops before the Adler-32 check, so damaged pixel data
  would decode silently where a strict decoder (libpng) rejects it.

The size readers return ``(width, height)`` (Pillow's order), or None where the header is unreadable or
not laid out as our encoder writes it; none of them raises on bad data.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["Size", "avif_size", "heif_size", "jpeg2000_size", "png_crcs_ok", "webp_size"]

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


def _box_list(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """ISO-BMFF boxes in ``data[start:end]``, in order: (type, content start, content end).

    Stops at the first box that does not fit, as libheif and libavif stop reading there.
    """
    found = []
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            break
        found.append((kind, start + header, start + size))
        start += size
    return found


def _boxes(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """ISO-BMFF boxes in ``data[start:end]``: type -> (content start, content end), first of each type."""
    found: dict[bytes, tuple[int, int]] = {}
    for kind, content_start, content_end in _box_list(data, start, end):
        found.setdefault(kind, (content_start, content_end))
    return found


def _primary_item(stream: bytes, item_type: bytes) -> tuple[dict[bytes, tuple[int, int]], bytes] | None:
    """The ``meta`` box's children and the data of the primary item (its ``iloc`` extents).

    None where the boxes are unreadable or the primary item is not of ``item_type`` ("av01", "hvc1": our
    encoders write one coded image; a derived item such as "grid" would have the library allocate a canvas
    of the size its own data declares).
    """
    meta = _boxes(stream, 0, len(stream)).get(b"meta")
    if meta is None:
        return None
    children = _boxes(stream, meta[0] + 4, meta[1])  # meta is a FullBox
    if b"pitm" not in children or b"iloc" not in children or b"iinf" not in children:
        return None
    start, end = children[b"pitm"]
    pitm = stream[start:end]
    primary = int.from_bytes(pitm[4 : 6 if pitm[:1] == b"\x00" else 8], "big")
    start, end = children[b"iinf"]
    infos = _box_list(stream, start + (6 if stream[start:end][:1] == b"\x00" else 8), end)
    types = []
    for kind, start, end in infos:  # ItemInfoEntry version 2 (16-bit item_ID) or 3 (32-bit)
        infe = stream[start:end]
        if kind == b"infe" and infe[:1] in (b"\x02", b"\x03"):
            id_end = 6 if infe[0] == 2 else 8
            if int.from_bytes(infe[4:id_end], "big") == primary:
                types.append(infe[id_end + 2 : id_end + 6])
    if types != [item_type]:
        return None
    start, end = children[b"iloc"]
    if start + 8 > end or stream[start] > 2:
        return None
    version = stream[start]
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
                    return None  # our encoders write the data into mdat (file offsets)
                return children, b"".join(stream[o : o + n if n else len(stream)] for o, n in extents)
    except ValueError:
        return None
    return None


class _Bits:
    """MSB-first bit reader of the AV1 specification's f(n) and uvlc() (HEVC's u(n) and ue(v) alike)."""

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
    item = _primary_item(stream, b"av01")
    if item is None:
        return None
    data, sizes, position = item[1], set(), 0
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


_HEVC_CTU = 64  # libheif pads a side shorter than x265's 64-pixel CTU to it, an odd side by one, and crops back
_HEVC_MIN_CU = 8  # x265 pads a side to its smallest coding unit, and crops back with the conformance window
_HEVC_SPS = 33  # nal_unit_type of a sequence parameter set
_SPS_HEAD = 64  # bytes of an SPS that hold the fields read here, emulation prevention included


def _hvcc_nals(config: bytes) -> list[bytes]:
    """NAL units of an ``hvcC`` box (ISO/IEC 14496-15 8.3.3): all of them, whatever array they are in.

    libheif hands every one to the decoder ahead of the item's data, so the array types are not trusted.
    """
    if len(config) < 23 or config[21] & 3 != 3:  # lengthSizeMinusOne: libheif writes 4-byte NAL lengths
        raise ValueError("not an hvcC box with 4-byte NAL lengths")
    nals, position = [], 23
    for _ in range(config[22]):  # numOfArrays
        count, position = int.from_bytes(config[position + 1 : position + 3], "big"), position + 3
        for _ in range(count):
            length = int.from_bytes(config[position : position + 2], "big")
            nals.append(config[position + 2 : position + 2 + length])
            position += 2 + length
            if position > len(config):
                raise ValueError("hvcC arrays run past the box")
    return nals


def _sample_nals(data: bytes) -> list[bytes]:
    """NAL units of an item's data (4-byte lengths), each cut to its first ``_SPS_HEAD`` bytes.

    A unit that runs past the data is kept as far as it goes: a decoder may parse that much of it.
    """
    nals, position = [], 0
    while position + 4 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        nals.append(data[position + 4 : position + 4 + min(length, _SPS_HEAD)])
        position += 4 + length
    return nals


def _hevc_sps_size(nal: bytes) -> Size:
    """The picture size one SPS NAL unit declares, cropped by its conformance window (H.265 7.3.2.2).

    libde265 allocates the coded size; it may exceed the cropped one by x265's padding only (up to
    ``_HEVC_MIN_CU - 1``), and its samples must be 8-bit (2 bytes a sample above that). Raises ValueError
    where the SPS is unreadable or laid out otherwise than x265 writes it (one sub-layer).
    """
    bits = _Bits(nal[2:_SPS_HEAD].replace(b"\x00\x00\x03", b"\x00\x00"))  # 2-byte NAL header; RBSP
    bits.f(4)  # sps_video_parameter_set_id
    if bits.f(3):  # sps_max_sub_layers_minus1: x265 writes one layer, whose profile_tier_level is 12 bytes
        raise ValueError("SPS with sub-layers")
    bits.f(1 + 96)  # sps_temporal_id_nesting_flag, profile_tier_level(1, 0)
    bits.uvlc()  # sps_seq_parameter_set_id
    chroma_format = bits.uvlc()
    if chroma_format > 3:
        raise ValueError(f"chroma_format_idc {chroma_format}")
    if chroma_format == 3 and bits.f(1):  # separate_colour_plane_flag: three full-size planes, no subsampling
        chroma_format = 0
    width, height = bits.uvlc(), bits.uvlc()  # pic_width_in_luma_samples, pic_height_in_luma_samples
    left = right = top = bottom = 0
    if bits.f(1):  # conformance_window_flag
        left, right, top, bottom = bits.uvlc(), bits.uvlc(), bits.uvlc(), bits.uvlc()
    if bits.uvlc() or bits.uvlc():  # bit_depth_luma_minus8, bit_depth_chroma_minus8
        raise ValueError("SPS samples are not 8-bit")
    sub_width, sub_height = {1: (2, 2), 2: (2, 1)}.get(chroma_format, (1, 1))  # SubWidthC, SubHeightC
    cropped = width - sub_width * (left + right), height - sub_height * (top + bottom)
    if min(cropped) <= 0 or max(width - cropped[0], height - cropped[1]) >= _HEVC_MIN_CU:
        raise ValueError(f"SPS codes {width} x {height} for a {cropped[0]} x {cropped[1]} picture")
    return cropped


def heif_size(stream: bytes) -> Size | None:
    """The size of the primary HEVC item, where its ``ispe`` box, clean aperture and every SPS agree.

    Pillow (pillow-heif) reports the ``ispe`` size, cropped by the ``clap`` box where there is one, but
    libde265 allocates by the sequence parameter sets that libheif passes it: those of the ``hvcC`` box and
    any in the item's data (a damaged NAL header can turn a slice into one). So every SPS must declare the
    ``ispe`` size within x265's padding (see :func:`_hevc_sps_size`), and the ``ispe`` size may exceed the
    returned one only by libheif's padding: an odd side to even, a side shorter than ``_HEVC_CTU`` to it (a
    32 x 32 image is coded as 64 x 64), cropped back by a ``clap`` box anchored at the top left, the only
    crop accepted.
    """
    item = _primary_item(stream, b"hvc1")
    if item is None:
        return None
    children, data = item
    iprp = children.get(b"iprp")
    ipco = _boxes(stream, *iprp).get(b"ipco") if iprp else None
    properties = _boxes(stream, *ipco) if ipco else {}
    if b"hvcC" not in properties or b"ispe" not in properties:
        return None
    ispe = stream[slice(*properties[b"ispe"])]
    if len(ispe) < 12:
        return None
    extent = struct.unpack_from(">II", ispe, 4)  # after the FullBox version and flags
    try:
        nals = _hvcc_nals(stream[slice(*properties[b"hvcC"])]) + _sample_nals(data)
        sizes = {_hevc_sps_size(nal) for nal in nals if nal and (nal[0] >> 1) & 63 == _HEVC_SPS}
    except (IndexError, ValueError):
        return None
    if sizes != {extent}:
        return None
    size = extent
    if b"clap" in properties:
        clap = stream[slice(*properties[b"clap"])]
        if len(clap) < 32:
            return None
        width, width_d, height, height_d, left, left_d, top, top_d = struct.unpack_from(">IIIIiIiI", clap)
        anchored = left_d > 0 and top_d > 0 and 2 * left == (width - extent[0]) * left_d
        if not (anchored and 2 * top == (height - extent[1]) * top_d and width_d == height_d == 1):
            return None
        size = width, height
    if not all(0 < n <= e <= max(n + n % 2, _HEVC_CTU) for n, e in zip(size, extent, strict=True)):
        return None
    return size


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
