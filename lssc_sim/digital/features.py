"""Digitally sent split-codec features: the device half's tensors, quantised and entropy coded.

In split computing the device runs the first half of a codec and sends the tensors it outputs; here they go
bit-true over the digital link (LDPC + QAM, elsewhere) like an image codec's stream. The receiver gets back
what :func:`pack_features` made, possibly damaged and followed by the zero padding of the last code block,
and calls :func:`unpack_features`, which never raises on bad data and never allocates more than the tensors
it expects: every size it decodes by comes from its ``shapes`` argument; the stream's are only compared.

Quantisation: uniform, ``2 ** bits`` levels over each tensor's (or channel's) range, at the range's endpoints
and evenly in between: ``x_hat = lo + q * (hi - lo) / (2 ** bits - 1)``. Endpoints rather than cell centres so
that lo, hi, a constant channel and the zeros of a ReLU output (lo = 0) come back exactly; the error is at
most half a step. lo and hi are sent as float16, rounded outwards (lo down, hi up) so that every value lies
in the range the receiver sees, and the transmitter quantises with those float16 values.

Entropy coding (:data:`CODERS`; "auto" sends the smallest) of the levels, each tensor channel-major ([C, H, W]:
the neighbouring pixels of a channel side by side), the tensors one after the other:

- "packed": ``bits`` bits a level, MSB first (no entropy coding; a flipped bit changes one level);
- "zlib", "lzma", "zstd": the packed levels compressed by :mod:`~lssc_sim.digital.byte_coders`: raw
  deflate (level 9), raw LZMA1 (9e) or a magicless zstd frame (level 19), without checksums: the link's CRC24
  per code block is what detects errors;
- "range": range coded (``constriction``'s queue coder) with a static model per tensor, sent first: all
  models, then the coder's 32-bit words, big-endian. A model is a byte (k = 0..bits: bins of 2 ** k adjacent
  levels; + 16: with a spike), the spike's level (if any), then 4-bit weight codes, high nibble first and
  padded to a byte: one per bin, then the spike's. Code q > 0 weighs 2 ** (q / 2), shared evenly by the
  bin's levels (but the spike); 0 is absent (constriction still gives every level its smallest
  probability). The spike, the most frequent level with a weight of its own, holds the zeros of a ReLU
  output (at 8 bits, 7-16 % fewer bytes on rectified Gaussian or Laplacian tensors of 1k-16k values). The
  transmitter picks the model with the fewest model plus code bits; strict decoding checks that the payload
  is exactly what it would write.

Stream layout (big-endian)::

    offset  size    field
    0       2       magic b"LF"
    2       1       version (1)
    3       1       bits, 2..8
    4       1       granularity: 0 tensor, 1 channel
    5       1       coder id: 1 packed, 2 zlib, 3 lzma, 4 zstd, 5 range
    6       1       number of tensors N, 1..255
    7       4       payload length in bytes, uint32
    11      6 N     each tensor's H, W, C, uint16 each
    11+6N   4 R     ranges: (lo, hi) float16 per tensor (R = N) or per channel (R = sum of C)
    ...     length  payload
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import constriction
import numpy as np

from lssc_sim.digital.byte_coders import compress_bytes, decompress_bytes, pack_bits, unpack_bits

__all__ = [
    "CODERS",
    "GRANULARITIES",
    "FeatureResult",
    "pack_features",
    "unpack_features",
]

MAGIC = b"LF"
VERSION = 1
CODERS = ("packed", "zlib", "lzma", "zstd", "range")
GRANULARITIES = ("tensor", "channel")
_FIXED = struct.Struct(">2sBBBBBI")
_SHAPE = struct.Struct(">HHH")
_F16_MAX = float(np.finfo(np.float16).max)
_SPIKE = 16  # flag of a range model's first byte, whose low 4 bits are k


@dataclass(frozen=True)
class FeatureResult:
    """What :func:`unpack_features` made of a received stream.

    Attributes
    ----------
    tensors : list of [H_i, W_i, C_i] np.float32, or None
        The decoded tensors, of exactly the shapes asked for, finite; None when lost.
    reason : str or None
        None when ``tensors`` is set, else why they were lost: "empty" (no bytes), "header" (short fixed
        header; bad magic, version, bits, granularity or coder; strict: a tensor count other than expected),
        "shape" (strict: a declared shape differs), "range" (strict: a non-finite or inverted range),
        "truncated" (strict: the stream ends before the ranges or the declared payload), "padding" (strict:
        non-zero bytes after the payload), "payload" (strict: it does not decode to exactly the levels).
    detail : str
        A short explanation, for logs; empty when there is none.
    """

    tensors: list[np.ndarray] | None
    reason: str | None
    detail: str = ""


def pack_features(tensors: Sequence[np.ndarray], bits: int, granularity: str = "tensor", coder: str = "auto") -> bytes:
    """Quantise and entropy code one image's tensors.

    Parameters
    ----------
    tensors : list of [H_i, W_i, C_i] np.float32
        1..255 tensors, sides 1..65535, finite values within float16's range (|x| <= 65504).
    bits : int
        2..8: ``2 ** bits`` quantisation levels.
    granularity : {"tensor", "channel"}
        One (lo, hi) range per tensor (4 bytes each) or per channel (4 bytes per channel).
    coder : str
        "auto" (the smallest stream) or a name in :data:`CODERS`.

    Returns
    -------
    bytes
        Header, ranges and payload (see the module docstring); the link's cost is ``8 * len(stream)`` bits.
    """
    if not (isinstance(bits, int | np.integer) and 2 <= bits <= 8):
        raise ValueError(f"bits must be an integer in 2..8; got {bits!r}")
    if granularity not in GRANULARITIES or (coder != "auto" and coder not in CODERS):
        raise ValueError(f"granularity must be in {GRANULARITIES} and coder 'auto' or in {CODERS}")
    shapes = [getattr(t, "shape", ()) for t in tensors]
    if not (1 <= len(tensors) <= 255 and all(len(s) == 3 and 0 < min(s) <= max(s) <= 0xFFFF for s in shapes)):
        raise ValueError(f"1..255 tensors [H, W, C] with sides 1..65535; got shapes {shapes}")
    if not all(np.all(np.abs(t) <= _F16_MAX) for t in tensors):  # False for NaN too
        raise ValueError("tensor values must be finite and within float16's range (|x| <= 65504)")
    ranges = [_float16_range(np.asarray(t, np.float64), granularity) for t in tensors]
    levels = [_quantise(np.asarray(t, np.float64), lo, hi, bits) for t, (lo, hi) in zip(tensors, ranges, strict=True)]
    names = CODERS if coder == "auto" else (coder,)
    payload, name = min(((_encode(levels, bits, n), n) for n in names), key=lambda pair: len(pair[0]))
    fixed = (MAGIC, VERSION, bits, GRANULARITIES.index(granularity), CODERS.index(name) + 1, len(tensors))
    los_his = np.concatenate([np.stack([lo, hi], axis=-1).ravel() for lo, hi in ranges]).astype(">f2")
    sides = b"".join(_SHAPE.pack(*s) for s in shapes)
    return _FIXED.pack(*fixed, len(payload)) + sides + los_his.tobytes() + payload


def unpack_features(
    stream: bytes | None, shapes: Sequence[tuple[int, int, int]], tolerant: bool = False
) -> FeatureResult:
    """Guarded decode of a received feature stream (header, ranges, payload, then possibly zero padding).

    Parameters
    ----------
    stream : bytes or None
        What the link delivered; None (dropped) is lost as "empty".
    shapes : list of (H, W, C)
        The tensor shapes the receiver expects; they bound every allocation and all decoding work.
    tolerant : bool, default False
        False: any inconsistency loses the tensors (see :class:`FeatureResult`). True: None only when the
        stream is empty or the header's fixed fields (magic, version, bits, granularity, coder) are unusable;
        otherwise ``shapes`` is used whatever the header declares, a missing or non-finite range is 0..0,
        everything after the ranges is payload, the levels it does not give are the middle level, and
        out-of-range levels are clipped.

    Returns
    -------
    FeatureResult
        Never raises on bad data; a bad ``shapes`` argument is a ValueError.
    """
    shapes = [tuple(int(n) for n in s) for s in shapes]
    if not (1 <= len(shapes) <= 255 and all(len(s) == 3 and 0 < min(s) <= max(s) <= 0xFFFF for s in shapes)):
        raise ValueError(f"shapes must be 1..255 (H, W, C) with sides 1..65535; got {shapes!r}")
    stream = b"" if stream is None else bytes(stream)
    if not stream:
        return FeatureResult(None, "empty", "no stream")
    if len(stream) < _FIXED.size:
        return FeatureResult(None, "header", f"{len(stream)} bytes < {_FIXED.size}-byte header")
    magic, version, bits, granularity, coder_id, count, length = _FIXED.unpack_from(stream)
    if magic != MAGIC or version != VERSION or not 2 <= bits <= 8 or granularity > 1 or not 1 <= coder_id <= 5:
        return FeatureResult(None, "header", f"{magic!r} v{version}, {bits} bits, granularity {granularity}")
    if not tolerant and count != len(shapes):
        return FeatureResult(None, "header", f"{count} tensors declared, {len(shapes)} expected")
    ranges_at = _FIXED.size + _SHAPE.size * len(shapes)
    per_tensor = [1 if granularity == 0 else s[2] for s in shapes]  # ranges of each tensor
    payload_at = ranges_at + 4 * sum(per_tensor)
    if len(stream) < payload_at and not tolerant:
        return FeatureResult(None, "truncated", f"{len(stream)} bytes < {payload_at} of header and ranges")
    stream += bytes(max(0, payload_at - len(stream)))  # tolerant: missing shapes and ranges read as zeros
    declared = [_SHAPE.unpack_from(stream, _FIXED.size + _SHAPE.size * i) for i in range(len(shapes))]
    if not tolerant and declared != shapes:
        return FeatureResult(None, "shape", f"declared {declared}, expected {shapes}")
    los_his = np.frombuffer(stream, ">f2", 2 * sum(per_tensor), ranges_at).astype(np.float64).reshape(-1, 2)
    finite = np.isfinite(los_his).all(axis=1)
    if not tolerant and not (finite & (los_his[:, 0] <= los_his[:, 1])).all():
        return FeatureResult(None, "range", "a non-finite or inverted range")
    los_his[~finite] = 0.0  # tolerant; an inverted finite range decodes as it is
    if not tolerant and payload_at + length > len(stream):
        return FeatureResult(None, "truncated", f"declared {length} bytes, {len(stream) - payload_at} received")
    if not tolerant and stream[payload_at + length :].strip(b"\0"):
        return FeatureResult(None, "padding", "non-zero bytes after the payload")
    payload = stream[payload_at:] if tolerant else stream[payload_at : payload_at + length]
    sizes = [h * w * c for h, w, c in shapes]
    levels, error = _decode(payload, CODERS[coder_id - 1], bits, sizes, tolerant)
    if error is not None:
        return FeatureResult(None, "payload", error)
    tensors, ranges = [], np.split(los_his, np.cumsum(per_tensor)[:-1])
    for (h, w, c), start, (lo, hi) in zip(shapes, np.cumsum([0] + sizes), (r.T for r in ranges), strict=False):
        planes = levels[start : start + h * w * c].reshape(c, h, w).transpose(1, 2, 0)
        tensors.append((lo + planes * (hi - lo) / (2**bits - 1)).astype(np.float32))  # q = max: hi exactly
    return FeatureResult(tensors, None)


def _float16_range(x: np.ndarray, granularity: str) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each [1] or [C] float64 holding float16 values, lo <= min and hi >= max of each."""
    axes = (0, 1, 2) if granularity == "tensor" else (0, 1)
    low, high = x.min(axis=axes).reshape(-1), x.max(axis=axes).reshape(-1)
    lo, hi = low.astype(np.float16), high.astype(np.float16)
    lo = np.where(lo > low, np.nextafter(lo, np.float16(-np.inf)), lo)  # round outwards: every x in range
    hi = np.where(hi < high, np.nextafter(hi, np.float16(np.inf)), hi)
    return lo.astype(np.float64), hi.astype(np.float64)


def _quantise(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, bits: int) -> np.ndarray:
    """[C * H * W] uint8 levels, channel-major, of x [H, W, C] over the float16 ranges lo, hi ([1] or [C])."""
    step = (hi - lo) / (2**bits - 1)
    scaled = np.divide(x - lo, step, out=np.zeros_like(x), where=step > 0)  # a constant channel: level 0
    return np.clip(np.rint(scaled), 0, 2**bits - 1).astype(np.uint8).transpose(2, 0, 1).ravel()


def _encode(levels: list[np.ndarray], bits: int, coder: str) -> bytes:
    if coder == "range":
        return _range_encode(levels, bits)
    packed = pack_bits(np.concatenate(levels), bits)
    return packed if coder == "packed" else compress_bytes(packed, coder)


def _decode(payload: bytes, coder: str, bits: int, sizes: list[int], tolerant: bool) -> tuple[np.ndarray, str | None]:
    """([sum(sizes)] uint8 levels below 2 ** bits, None), or (anything, what was wrong) in strict mode."""
    if coder == "range":
        levels, error = _range_decode(payload, bits, sizes, tolerant)
    else:
        expected = (sum(sizes) * bits + 7) // 8
        packed, error = (payload, None) if coder == "packed" else decompress_bytes(payload, coder, expected, tolerant)
        if error is None and len(packed) != expected:
            error = f"{len(packed)} bytes of levels, {expected} expected"
        levels = unpack_bits(packed, bits, sum(sizes), fill=2 ** (bits - 1))
    if error is not None and not tolerant:
        return levels, error
    return np.minimum(levels, 2**bits - 1), None


def _range_encode(levels: list[np.ndarray], bits: int) -> bytes:
    encoder, models = constriction.stream.queue.RangeEncoder(), []
    for symbols in levels:
        model, weights = _best_model(np.bincount(symbols, minlength=2**bits).astype(np.float64), bits)
        models.append(model)
        encoder.encode(symbols.astype(np.int32), constriction.stream.model.Categorical(weights, perfect=False))
    return b"".join(models) + encoder.get_compressed().astype(">u4").tobytes()


def _best_model(counts: np.ndarray, bits: int) -> tuple[bytes, np.ndarray]:
    """(model bytes, [2 ** bits] level weights) with the fewest model plus code bits for ``counts``."""
    present, best = counts > 0, (np.inf, b"", counts)
    for k, spike in ((k, spike) for k in range(bits + 1) for spike in (None, int(np.argmax(counts)))):
        if spike is not None and k == 0:
            continue  # a bin of one level is a spike already
        binned = np.where(np.arange(counts.size) == spike, 0, counts).reshape(-1, 2**k).sum(axis=1)
        share = np.append(binned, [] if spike is None else counts[spike])
        share /= share.max()
        codes = np.where(share > 0, np.clip(np.rint(15 + 2 * np.log2(np.maximum(share, 1e-9))), 1, 15), 0)
        codes = np.append(codes, [0] * (codes.size % 2)).astype(np.uint8)
        model = bytes([k + _SPIKE * (spike is not None)] + ([] if spike is None else [spike]))
        model += (codes[0::2] << 4 | codes[1::2]).tobytes()
        weights = _level_weights(k, spike, codes, bits)
        cost = 8 * len(model) - counts[present] @ np.log2(weights[present] / weights.sum())
        if cost < best[0]:
            best = cost, model, weights
    return best[1], best[2]


def _level_weights(k: int, spike: int | None, codes: np.ndarray, bits: int) -> np.ndarray:
    """[2 ** bits] float64 weight of each level from a model's codes (bins, then the spike's)."""
    weights = np.where(codes > 0, 2.0 ** (codes / 2.0), 0.0)
    sharing = np.full(2 ** (bits - k), 2.0**k)  # levels that share each bin's weight
    if spike is not None:
        sharing[spike >> k] -= 1
    bins = np.divide(weights[: sharing.size], sharing, out=np.zeros(sharing.size), where=sharing > 0)
    per_level = np.repeat(bins, 2**k)
    if spike is not None:
        per_level[spike] = weights[sharing.size]
    return per_level


def _read_model(payload: bytes, position: int, bits: int) -> tuple[np.ndarray, int] | None:
    """(level weights, position after the model), or None where no model _range_encode writes is there."""
    flags = payload[position] if position < len(payload) else 255
    k, has_spike = flags & 15, flags >> 4
    spike = payload[position + 1] if has_spike == 1 and position + 1 < len(payload) else None
    if has_spike > 1 or k > bits or (has_spike and (k == 0 or spike is None or spike >= 2**bits)):
        return None
    size = (2 ** (bits - k) + has_spike + 1) // 2
    position += 1 + has_spike
    if position + size > len(payload):
        return None
    data = np.frombuffer(payload, np.uint8, size, position)
    weights = _level_weights(k, spike, np.stack([data >> 4, data & 15], axis=1).ravel(), bits)
    return (weights, position + size) if weights.sum() > 0 else None


def _range_decode(payload: bytes, bits: int, sizes: list[int], tolerant: bool) -> tuple[np.ndarray, str | None]:
    middle = np.full(sum(sizes), 2 ** (bits - 1), dtype=np.uint8)  # tolerant: nothing decodable
    models, position = [], 0
    for i in range(len(sizes)):
        model = _read_model(payload, position, bits)
        if model is None:
            return middle, f"model {i} unusable"  # and so are the offsets of everything after it
        models.append(constriction.stream.model.Categorical(model[0], perfect=False))
        position = model[1]
    try:
        words = payload[position:] + bytes(-len(payload[position:]) % 4)
        decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(words, ">u4").astype(np.uint32))
        levels = np.concatenate([decoder.decode(m, n) for m, n in zip(models, sizes, strict=True)]).astype(np.uint8)
    except Exception as exc:  # constriction reports a damaged stream with ValueError or AssertionError
        return middle, f"{type(exc).__name__}: {exc}"
    # strict: exactly what the encoder writes for these levels (any word sequence decodes to something)
    if not tolerant and _range_encode(np.split(levels, np.cumsum(sizes)[:-1]), bits) != payload:
        return levels, "not the range coding of the levels it decodes to"
    return levels, None
