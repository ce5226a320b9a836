"""Codec header readers, called directly: sizes of our encoder's streams, refusals, and no exceptions."""

from __future__ import annotations

import io
import struct

import numpy as np
import pillow_heif
import pytest

from lssc_sim.digital.codec_headers import avif_size, heif_size, jpeg2000_size, png_crcs_ok, webp_size
from lssc_sim.digital.source import SOURCE_CODECS

READERS = {"jpeg2000": jpeg2000_size, "webp": webp_size, "avif": avif_size, "heif": heif_size}
HEIGHT, WIDTH = 48, 80  # not square, so that a swapped (width, height) shows; heif: coded as 80 x 64


def _image(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[:height, :width]
    return np.stack([3 * x, 5 * y, 2 * (x + y)], axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def streams() -> dict[str, bytes]:
    return {name: SOURCE_CODECS.get(name).encode(_image(HEIGHT, WIDTH)) for name in [*READERS, "png"]}


@pytest.mark.parametrize("codec", list(READERS))
def test_size_of_our_encoder_stream_is_width_height(codec, streams):
    assert READERS[codec](streams[codec]) == (WIDTH, HEIGHT)


@pytest.mark.parametrize("codec", list(READERS))
def test_readers_never_raise(codec, streams):
    """Every prefix, and bytes flipped in the first 128, give a size or None, never an exception."""
    reader, stream = READERS[codec], streams[codec]
    assert reader(b"") is None and reader(bytes(64)) is None
    for end in range(len(stream)):
        size = reader(stream[:end])
        assert size is None or (len(size) == 2 and all(isinstance(n, int) for n in size))
    rng = np.random.default_rng(0)
    for _ in range(500):
        damaged = bytearray(stream)
        for position in rng.integers(0, min(128, len(stream)), rng.integers(1, 4)):
            damaged[position] ^= 1 << int(rng.integers(8))
        size = reader(bytes(damaged))
        assert size is None or (len(size) == 2 and all(isinstance(n, int) for n in size))


@pytest.mark.parametrize(
    ("offset", "value"),
    [(16, 1), (20, 1), (24, 1), (28, 1), (32, 7), (36, 7)],  # XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz
)
def test_jpeg2000_refuses_tiles_and_offsets_other_than_ours(offset, value, streams):
    stream = bytearray(streams["jpeg2000"])
    stream[offset : offset + 4] = struct.pack(">I", value)
    assert jpeg2000_size(bytes(stream)) is None


def test_webp_avif_and_heif_refuse_other_containers(streams):
    assert webp_size(b"RIFX" + streams["webp"][4:]) is None
    assert avif_size(streams["webp"]) is None and webp_size(streams["avif"]) is None
    assert heif_size(streams["avif"]) is None and avif_size(streams["heif"]) is None  # av01 vs hvc1 items


def _replace(stream: bytes, old: bytes, new: bytes) -> bytes:
    assert stream.count(old) == 1 and len(new) == len(old)
    return stream.replace(old, new)


def _box(stream: bytes, kind: bytes) -> bytes:
    """The whole box (size field included) of the one box of this type."""
    start = stream.index(kind) - 4
    return stream[start : start + int.from_bytes(stream[start : start + 4], "big")]


@pytest.mark.parametrize("width", [72, 88])  # 88: wider than the ispe; 72: narrower
def test_heif_refuses_an_sps_of_another_size(width, streams):
    """The hvcC box (VPS, SPS, PPS) of an image of another width, spliced in: ispe and SPS disagree."""
    other = SOURCE_CODECS.get("heif").encode(_image(HEIGHT, width))
    assert heif_size(other) == (width, HEIGHT)
    spliced = _replace(streams["heif"], _box(streams["heif"], b"hvcC"), _box(other, b"hvcC"))
    assert heif_size(spliced) is None


def test_heif_refuses_a_slice_damaged_into_an_sps(streams):
    """libheif passes every NAL unit of the item's data to libde265: one whose type reads SPS is checked."""
    stream = bytearray(streams["heif"])
    mdat = stream.index(b"mdat") + 4
    assert (stream[mdat + 4] >> 1) & 63 != 33  # the first NAL unit of the data is a slice
    stream[mdat + 4] = (stream[mdat + 4] & 0x81) | (33 << 1)
    assert heif_size(bytes(stream)) is None


def test_heif_refuses_boxes_other_than_ours(streams):
    """ispe, clap, the item type and the hvcC NAL length size, each changed in turn."""
    heif = streams["heif"]
    ispe, clap = _box(heif, b"ispe"), _box(heif, b"clap")
    assert struct.unpack(">II", ispe[12:]) == (WIDTH, 64)  # libheif pads the 48 rows to x265's 64-pixel CTU
    assert struct.unpack(">IIII", clap[8:24]) == (WIDTH, 1, HEIGHT, 1)
    hvcc = _box(heif, b"hvcC")
    for damaged in (
        _replace(heif, ispe, ispe[:12] + struct.pack(">II", WIDTH + 8, 64)),  # the SPS still says 80 x 64
        _replace(heif, ispe, ispe[:12] + struct.pack(">II", WIDTH, 56)),
        _replace(heif, clap, clap[:8] + struct.pack(">I", WIDTH - 8) + clap[12:]),  # no longer top-left
        _replace(heif, b"hvc1", b"grid"),  # a derived item: libheif would allocate the grid's own size
        _replace(heif, hvcc, hvcc[:29] + bytes([hvcc[29] & 0xFC | 1]) + hvcc[30:]),  # 2-byte NAL lengths
    ):
        assert heif_size(damaged) is None
    assert heif_size(heif.replace(b"clap", b"clip")) == (WIDTH, 64)  # no clap: the ispe size, then refused


def test_heif_refuses_samples_deeper_than_8_bits():
    """libde265 allocates 2 bytes a sample above 8 bits; our encoder writes 8."""
    image = _image(64, 64).astype(np.uint16) << 8
    buffer = io.BytesIO()
    pillow_heif.from_bytes("RGB;16", (64, 64), image.tobytes()).save(buffer, quality=75)
    assert heif_size(buffer.getvalue()) is None


def test_png_crcs(streams):
    png = streams["png"]
    assert png_crcs_ok(png)
    assert not png_crcs_ok(png[:-1])  # IEND incomplete
    assert not png_crcs_ok(png[:-12])  # no IEND
    for position in (20, len(png) // 2, len(png) - 20):  # IHDR, IDAT, the last IDAT's CRC
        damaged = bytearray(png)
        damaged[position] ^= 0x10
        assert not png_crcs_ok(bytes(damaged))
