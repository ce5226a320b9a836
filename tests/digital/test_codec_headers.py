"""Codec header readers, called directly: sizes of our encoder's streams, refusals, and no exceptions."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from lssc_sim.digital.codec_headers import avif_size, jpeg2000_size, png_crcs_ok, webp_size
from lssc_sim.digital.source import SOURCE_CODECS

READERS = {"jpeg2000": jpeg2000_size, "webp": webp_size, "avif": avif_size}
HEIGHT, WIDTH = 48, 80  # not square, so that a swapped (width, height) shows


@pytest.fixture(scope="module")
def streams() -> dict[str, bytes]:
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    image = np.stack([3 * x, 5 * y, 2 * (x + y)], axis=-1).astype(np.uint8)
    return {name: SOURCE_CODECS.get(name).encode(image) for name in [*READERS, "png"]}


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


def test_webp_and_avif_refuse_other_containers(streams):
    assert webp_size(b"RIFX" + streams["webp"][4:]) is None
    assert avif_size(streams["webp"]) is None and webp_size(streams["avif"]) is None


def test_png_crcs(streams):
    png = streams["png"]
    assert png_crcs_ok(png)
    assert not png_crcs_ok(png[:-1])  # IEND incomplete
    assert not png_crcs_ok(png[:-12])  # no IEND
    for position in (20, len(png) // 2, len(png) - 20):  # IHDR, IDAT, the last IDAT's CRC
        damaged = bytearray(png)
        damaged[position] ^= 0x10
        assert not png_crcs_ok(bytes(damaged))
