"""Split-codec features: quantisation accuracy, every coder's round trip, and guarded decoding of damaged streams."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
import zstandard

from lssc_sim.digital.byte_coders import compress_bytes, decompress_bytes, pack_bits, unpack_bits
from lssc_sim.digital.features import CODERS, GRANULARITIES, pack_features, unpack_features

REASONS = {"empty", "header", "shape", "range", "truncated", "padding", "payload"}
FIXED = struct.Struct(">2sBBBBBI")
FLIP_TRIALS = 3000  # each decoded strict and tolerant; 4 damage kinds in 5 flip bits: about 2400 bit-flip trials


def _features(seed: int) -> list[np.ndarray]:
    """One image's tensors as a split codec might send them: a smooth signed map with channel offsets, a
    rectified one with per-channel scales (half zeros), and a small one with a constant channel."""
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(rng.standard_normal((8, 16, 8)), axis=1) / 3 + np.linspace(-2, 2, 8)
    rectified = np.maximum(rng.laplace(size=(4, 6, 12)), 0) * rng.uniform(0.5, 4, 12)
    small = rng.standard_normal((3, 5, 2))
    small[..., 1] = 0.75  # a float16 value: lo = hi
    return [t.astype(np.float32) for t in (smooth, rectified, small)]


def _shapes(tensors: list[np.ndarray]) -> list[tuple[int, int, int]]:
    return [t.shape for t in tensors]


def _ranges(stream: bytes, tensors: list[np.ndarray]) -> list[np.ndarray]:
    """Each tensor's [R, 2] (lo, hi) as the header carries them (float16, after the shapes)."""
    granularity = stream[4]
    per_tensor = [1 if granularity == 0 else t.shape[2] for t in tensors]
    start = FIXED.size + 6 * len(tensors)
    ranges = np.frombuffer(stream, ">f2", 2 * sum(per_tensor), start).astype(np.float64).reshape(-1, 2)
    return np.split(ranges, np.cumsum(per_tensor)[:-1])


def _max_errors(tensors, decoded) -> list[float]:
    return [float(np.abs(t.astype(np.float64) - d).max()) for t, d in zip(tensors, decoded, strict=True)]


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize("coder", CODERS)
def test_round_trip_at_8_bits_is_within_half_a_step(granularity, coder):
    tensors = _features(1)
    stream = pack_features(tensors, 8, granularity, coder)
    assert FIXED.unpack_from(stream)[:6] == (b"LF", 1, 8, GRANULARITIES.index(granularity), CODERS.index(coder) + 1, 3)
    result = unpack_features(stream, _shapes(tensors))
    assert result.reason is None and len(result.tensors) == 3
    for t, d, ranges in zip(tensors, result.tensors, _ranges(stream, tensors), strict=True):
        assert d.dtype == np.float32 and d.shape == t.shape
        lo, hi = ranges.T  # [1] or [C]
        axes = (0, 1, 2) if granularity == "tensor" else (0, 1)
        assert np.all(lo <= t.min(axis=axes)) and np.all(hi >= t.max(axis=axes))  # rounded outwards
        assert np.all(lo > t.min(axis=axes) - 0.01 * (1 + np.abs(lo)))  # ...by one float16 step at most
        half_step = (hi - lo) / 255 / 2
        error = np.abs(t.astype(np.float64) - d)
        assert np.all(error <= half_step * (1 + 1e-6) + 1e-6 * np.abs(t)), error.max()  # float32 rounding
        np.testing.assert_array_equal(d.min(axis=axes), lo.astype(np.float32))  # endpoints come back exactly
        np.testing.assert_array_equal(d.max(axis=axes), hi.astype(np.float32))


def test_per_channel_ranges_cost_4_bytes_a_channel_and_help_scaled_channels():
    tensors = _features(2)
    per_tensor, per_channel = (pack_features(tensors, 4, g, "packed") for g in GRANULARITIES)
    assert len(per_channel) - len(per_tensor) == 4 * (8 + 12 + 2 - 3)
    errors = {
        g: _max_errors(tensors, unpack_features(s, _shapes(tensors)).tensors)
        for g, s in zip(GRANULARITIES, (per_tensor, per_channel), strict=True)
    }
    assert errors["channel"][1] < errors["tensor"][1]  # the rectified tensor's channels differ in scale


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_error_falls_with_bits(granularity):
    tensors = _features(3)
    max_error, mean_error = [], []
    for bits in range(2, 9):
        decoded = unpack_features(pack_features(tensors, bits, granularity), _shapes(tensors)).tensors
        max_error.append(max(_max_errors(tensors, decoded)))
        mean_error.append(np.mean([np.abs(t - d).mean() for t, d in zip(tensors, decoded, strict=True)]))
    assert all(a > b for a, b in zip(max_error, max_error[1:], strict=False)), max_error
    assert all(a > 1.6 * b for a, b in zip(mean_error, mean_error[1:], strict=False)), mean_error  # about halves a bit


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_constant_tensors_and_channels(granularity):
    tensors = [
        np.zeros((2, 3, 4), np.float32),
        np.full((3, 2, 1), -1.5, np.float32),
        np.full((2, 2, 2), 0.1, np.float32),
    ]
    steps = np.ones((2, 2, 3), np.float32) * np.array([2.0, -7.25, 1e4], np.float32)  # one value a channel
    tensors.append(steps)
    for coder in CODERS:
        for bits in (2, 8):
            decoded = unpack_features(pack_features(tensors, bits, granularity, coder), _shapes(tensors)).tensors
            np.testing.assert_array_equal(decoded[0], tensors[0])  # float16 values: a zero step, exact
            np.testing.assert_array_equal(decoded[1], tensors[1])
            np.testing.assert_allclose(decoded[2], 0.1, atol=1e-4)  # 0.1 is no float16: a range of one ulp
            if granularity == "channel":
                np.testing.assert_array_equal(decoded[3], steps)
            else:  # one range for the three channels: -7.25 and 1e4 are its endpoints, exact at any bits
                assert (decoded[3][..., 1] == -7.25).all() and (decoded[3][..., 2] == 1e4).all()
                assert np.abs(decoded[3][..., 0] - 2.0).max() <= (1e4 + 7.25) / (2**bits - 1) / 2


@pytest.mark.parametrize("bits", [2, 3, 5, 8])
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_every_coder_gives_the_same_levels(bits, granularity):
    tensors = _features(bits)
    reference = unpack_features(pack_features(tensors, bits, granularity, "packed"), _shapes(tensors)).tensors
    sizes = {}
    for coder in CODERS:
        stream = pack_features(tensors, bits, granularity, coder)
        assert pack_features(tensors, bits, granularity, coder) == stream  # deterministic
        sizes[coder] = len(stream)
        result = unpack_features(stream, _shapes(tensors))
        assert result.reason is None
        for a, b in zip(result.tensors, reference, strict=True):
            np.testing.assert_array_equal(a, b)
    auto = pack_features(tensors, bits, granularity)
    assert len(auto) == min(sizes.values())
    assert CODERS[auto[5] - 1] == min(sizes, key=sizes.get)
    assert sizes["range"] < sizes["packed"]  # the levels are far from uniform


def test_range_coder_beats_the_dictionary_coders_on_independent_levels():
    """Gaussian features [8, 16, 8]: the range coder's model costs less than what LZ finds in i.i.d. data."""
    tensors = [np.random.default_rng(4).standard_normal((8, 16, 8)).astype(np.float32)]
    for bits in (2, 4, 8):
        sizes = {c: len(pack_features(tensors, bits, coder=c)) for c in CODERS}
        assert sizes["range"] == min(sizes.values()), sizes
        assert sizes["packed"] - FIXED.size - 10 == 128 * bits  # 1024 levels, bits each


@pytest.mark.parametrize("coder", CODERS)
def test_trailing_zero_padding_is_accepted_and_other_bytes_are_not(coder):
    tensors = _features(5)
    stream = pack_features(tensors, 5, "channel", coder)
    clean = unpack_features(stream, _shapes(tensors)).tensors
    for padding in (b"\0", bytes(3), bytes(100)):
        result = unpack_features(stream + padding, _shapes(tensors))
        assert result.reason is None
        for a, b in zip(result.tensors, clean, strict=True):
            np.testing.assert_array_equal(a, b)
    assert unpack_features(stream + b"\0\0\x01", _shapes(tensors)).reason == "padding"
    assert unpack_features(stream + b"\0\0\x01", _shapes(tensors), tolerant=True).reason is None


@pytest.mark.parametrize("coder", CODERS)
def test_strict_refuses_data_after_the_levels_within_the_declared_length(coder):
    tensors = _features(13)
    stream = pack_features(tensors, 6, "tensor", coder)
    length = FIXED.unpack_from(stream)[6]
    for extra in (b"\x12\x34\x56\x78", bytes(4)):
        longer = _with_fixed(stream, length=length + 4) + extra
        assert unpack_features(longer, _shapes(tensors)).reason == "payload"
        assert unpack_features(longer, _shapes(tensors), tolerant=True).reason is None


def _with_fixed(stream: bytes, **fields) -> bytes:
    names = ("magic", "version", "bits", "granularity", "coder", "count", "length")
    values = dict(zip(names, FIXED.unpack_from(stream), strict=True)) | fields
    return FIXED.pack(*(values[n] for n in names)) + stream[FIXED.size :]


@pytest.mark.parametrize(
    ("fields", "strict", "tolerant"),
    [
        ({"magic": b"LS"}, "header", "header"),
        ({"version": 2}, "header", "header"),
        ({"bits": 1}, "header", "header"),
        ({"bits": 9}, "header", "header"),
        ({"granularity": 2}, "header", "header"),
        ({"coder": 0}, "header", "header"),
        ({"coder": 6}, "header", "header"),
        ({"count": 2}, "header", None),  # tolerant: the receiver knows the shapes
        ({"length": 2**32 - 1}, "truncated", None),  # tolerant: everything after the ranges
        ({"length": 3}, "padding", None),  # the rest of the payload looks like garbage after it
    ],
)
def test_damaged_fixed_header_fields(fields, strict, tolerant):
    tensors = _features(6)
    stream = _with_fixed(pack_features(tensors, 4, "channel", "zlib"), **fields)
    assert unpack_features(stream, _shapes(tensors)).reason == strict
    result = unpack_features(stream, _shapes(tensors), tolerant=True)
    assert result.reason == tolerant and (result.tensors is None) == (tolerant is not None)


def test_shape_mismatch_and_damaged_ranges():
    tensors = _features(7)
    shapes = _shapes(tensors)
    stream = pack_features(tensors, 6, "tensor", "range")
    assert unpack_features(stream, [shapes[0], shapes[2], shapes[1]]).reason == "shape"
    assert unpack_features(stream, shapes[:2]).reason == "header"  # a count other than expected
    wider = bytearray(stream)
    wider[FIXED.size + 6 + 1] += 1  # the second tensor's height
    assert unpack_features(bytes(wider), shapes).reason == "shape"
    tolerant = unpack_features(bytes(wider), shapes, tolerant=True)
    assert tolerant.reason is None and _shapes(tolerant.tensors) == shapes
    at = FIXED.size + 6 * 3  # the ranges: (lo, hi) of each tensor, 2 bytes each
    swapped = stream[: at + 4] + stream[at + 6 : at + 8] + stream[at + 4 : at + 6] + stream[at + 8 :]
    for damaged in (
        stream[:at] + np.array([np.inf], ">f2").tobytes() + stream[at + 2 :],  # the first tensor's lo
        stream[: at + 2] + np.array([np.nan], ">f2").tobytes() + stream[at + 4 :],  # its hi
        swapped,  # the second tensor's lo and hi: an inverted range
    ):
        assert unpack_features(bytes(damaged), shapes).reason == "range"
        result = unpack_features(bytes(damaged), shapes, tolerant=True)
        assert result.reason is None and all(np.isfinite(t).all() for t in result.tensors)


def test_empty_short_and_truncated_streams():
    tensors = _features(8)
    shapes = _shapes(tensors)
    stream = pack_features(tensors, 3, "channel", "lzma")
    assert unpack_features(None, shapes).reason == "empty"
    assert unpack_features(b"", shapes, tolerant=True).reason == "empty"
    assert unpack_features(stream[:5], shapes, tolerant=True).reason == "header"
    assert unpack_features(stream[: FIXED.size + 10], shapes).reason == "truncated"  # inside the shapes
    assert unpack_features(stream[:-1], shapes).reason == "truncated"
    for cut in (FIXED.size + 10, FIXED.size + 30, len(stream) - 20, len(stream) - 1):
        result = unpack_features(stream[:cut], shapes, tolerant=True)  # missing ranges 0..0, levels middle
        assert result.reason is None and _shapes(result.tensors) == shapes
        assert all(np.isfinite(t).all() for t in result.tensors)


@pytest.mark.parametrize("coder", CODERS)
def test_tolerant_mode_decodes_a_damaged_payload_byte(coder):
    tensors = _features(9)
    stream = bytearray(pack_features(tensors, 8, "tensor", coder))
    stream[-len(stream) // 4] ^= 0x5A  # in the payload (the header and ranges are 41 bytes)
    result = unpack_features(bytes(stream), _shapes(tensors), tolerant=True)
    assert result.reason is None and _shapes(result.tensors) == _shapes(tensors)
    if coder == "packed":  # one damaged byte changes at most two levels
        changed = sum(
            int((a != b).sum())
            for a, b in zip(
                result.tensors,
                unpack_features(pack_features(tensors, 8, "tensor", coder), _shapes(tensors)).tensors,
                strict=True,
            )
        )
        assert 1 <= changed <= 2


def test_random_damage_never_escapes(damage):
    """3000 damaged streams (all bit depths' corners, both granularities, every coder), each decoded strict
    and tolerant: never an exception, either a loss with a reason or tensors of exactly the expected shapes,
    float32 and finite; tolerant loses only what strict loses too, and only at the header."""
    rng = np.random.default_rng(10)
    tensors = _features(10)
    shapes = _shapes(tensors)
    streams = [pack_features(tensors, b, g, c) for b in (2, 5, 8) for g in GRANULARITIES for c in CODERS]
    counts = {(tolerant, lost): 0 for tolerant in (False, True) for lost in (False, True)}
    for trial in range(FLIP_TRIALS):
        damaged = damage(streams[trial % len(streams)], rng, 320)
        results = {tolerant: unpack_features(damaged, shapes, tolerant=tolerant) for tolerant in (False, True)}
        for tolerant, result in results.items():
            counts[tolerant, result.tensors is None] += 1
            if result.tensors is None:
                assert result.reason in REASONS and (not tolerant or result.reason in ("empty", "header"))
            else:
                assert result.reason is None and _shapes(result.tensors) == shapes
                assert all(t.dtype == np.float32 and np.isfinite(t).all() for t in result.tensors)
        if results[True].tensors is None:
            assert results[False].tensors is None
    assert counts[False, True] > 0.6 * FLIP_TRIALS  # measured 72 %: no checksums, but lengths and models
    assert counts[True, False] > 0.9 * FLIP_TRIALS  # measured 95 %: the rest had a damaged fixed header


def test_decompression_is_bounded_by_the_expected_size():
    """Streams that expand to 8 MB are stopped near the expected 1000 bytes, in memory and in time."""
    small_window = zstandard.ZstdCompressionParameters.from_level(
        19, window_log=17, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_content_size=False
    )
    bombs = {coder: compress_bytes(bytes(8 << 20), coder) for coder in ("zlib", "lzma", "zstd")}
    bombs["zstd window"] = zstandard.ZstdCompressor(compression_params=small_window).compress(bytes(8 << 20))
    for coder, bomb in bombs.items():
        tracemalloc.start()
        for tolerant in (False, True):
            data, error = decompress_bytes(bomb, coder.split()[0], 1000, tolerant)
            if coder == "zstd":  # an 8 MB window (its frame header says so) is refused before any output
                assert data == b"" and (error is None) == tolerant
            else:
                assert data == bytes(1000) and (error is None) == tolerant
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 1 << 20, (coder, peak)  # measured 40-260 kB (and under 1 ms: the output is bounded)


@pytest.mark.parametrize("coder", ["zlib", "lzma", "zstd"])
def test_decompress_bytes_strictness(coder):
    data = bytes(np.random.default_rng(11).integers(0, 4, 300_000, dtype=np.uint8))  # zstd: 3 blocks
    payload = compress_bytes(data, coder)
    assert decompress_bytes(payload, coder, len(data), False) == (data, None)
    assert decompress_bytes(payload, coder, len(data) + 1, False)[1] is not None  # ends early
    assert decompress_bytes(payload, coder, len(data) - 1, False)[1] is not None  # too long
    assert decompress_bytes(payload + b"\0", coder, len(data), False)[1] is not None  # data after the end
    assert decompress_bytes(payload[:-5], coder, len(data), False)[1] is not None
    partial, error = decompress_bytes(payload[: len(payload) // 2], coder, len(data), True)
    assert error is None and 0 < len(partial) < len(data) and data.startswith(partial)


def test_bit_packing(rng):
    for bits in range(1, 9):
        values = rng.integers(0, 2**bits, 37).astype(np.uint8)
        packed = pack_bits(values, bits)
        assert len(packed) == (37 * bits + 7) // 8
        np.testing.assert_array_equal(unpack_bits(packed, bits, 37), values)
        short = unpack_bits(packed[:2], bits, 37, fill=9)
        np.testing.assert_array_equal(short[: 16 // bits], values[: 16 // bits])
        assert (short[16 // bits :] == 9).all()


def test_bad_arguments_are_errors():
    tensors = _features(12)
    for bits in (1, 9, 4.0):
        with pytest.raises(ValueError, match="bits"):
            pack_features(tensors, bits)
    with pytest.raises(ValueError, match="granularity"):
        pack_features(tensors, 4, "pixel")
    with pytest.raises(ValueError, match="coder"):
        pack_features(tensors, 4, coder="huffman")
    for bad in ([], [np.zeros((4, 4), np.float32)], [np.zeros((0, 4, 2), np.float32)], tensors * 100):
        with pytest.raises(ValueError, match="tensors"):
            pack_features(bad, 4)
    for value in (np.nan, np.inf, 70000.0):
        with pytest.raises(ValueError, match="float16"):
            pack_features([np.full((2, 2, 1), value, np.float32)], 4)
    with pytest.raises(ValueError, match="shapes"):
        unpack_features(b"", [(2, 2)])
