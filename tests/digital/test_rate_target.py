"""Bit-rate targets: the stream is at most the target, as large as the search allows, and a floor is reported."""

from __future__ import annotations

import numpy as np
import pytest

from lssc_sim.data.synthetic import generate
from lssc_sim.digital.rate_target import RATE_SETTINGS, pack_at_rate
from lssc_sim.digital.source import SOURCE_CODECS, frame, unpack

LOSSY = [*RATE_SETTINGS, "jpeg2000"]


@pytest.fixture(scope="module")
def image():
    return generate("synthetic_street", 0, "test", 3, (64, 128))[0]


def _bpp(stream, image):
    return 8 * len(stream) / (image.shape[0] * image.shape[1])


@pytest.mark.parametrize("codec", LOSSY)
@pytest.mark.parametrize("bpp", [0.5, 1.0, 3.0])
def test_stream_is_at_most_the_target_and_decodes(image, codec, bpp):
    at = pack_at_rate(image, codec, bpp)
    assert at.reached and _bpp(at.stream, image) <= bpp
    assert unpack(at.stream, image.shape).reason == "ok"


@pytest.mark.parametrize("codec", list(RATE_SETTINGS))
def test_quality_search_finds_the_largest_fitting_quality(image, codec):
    at = pack_at_rate(image, codec, 1.0)
    budget = 1.0 * image.shape[0] * image.shape[1] / 8
    q = int(at.setting)
    assert len(frame(SOURCE_CODECS.get(codec).encode(image, q), codec, image.shape)) <= budget
    if q < RATE_SETTINGS[codec][1]:  # one step more no longer fits (sizes are monotone in quality here)
        assert len(frame(SOURCE_CODECS.get(codec).encode(image, q + 1), codec, image.shape)) > budget


def test_jpeg2000_rate_mode_uses_the_budget(image):
    for bpp in (0.3, 1.0, 4.0):
        assert 0.9 * bpp < _bpp(pack_at_rate(image, "jpeg2000", bpp).stream, image) <= bpp


@pytest.mark.parametrize("codec", LOSSY)
def test_a_target_below_the_codec_floor_is_reported_not_hidden(image, codec):
    at = pack_at_rate(image, codec, 0.01)  # 10 bytes: below every codec's headers
    assert not at.reached and _bpp(at.stream, image) > 0.01
    assert unpack(at.stream, image.shape).reason == "ok"  # still the smallest stream the codec makes


def test_lossless_and_bad_targets_are_refused(image):
    with pytest.raises(ValueError, match="takes no rate target"):
        pack_at_rate(image, "png", 1.0)
    with pytest.raises(ValueError, match="bpp must be > 0"):
        pack_at_rate(image, "jpeg", 0.0)
    assert np.array_equal(unpack(pack_at_rate(image, "webp", 2.0).stream, image.shape).image.shape, image.shape)
