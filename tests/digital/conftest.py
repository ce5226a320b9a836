"""Shared by the stream decoders' robustness tests (features, label maps)."""

from __future__ import annotations

import numpy as np
import pytest


def damage_stream(stream: bytes, rng: np.random.Generator, header_bits: int) -> bytes:
    """One of: a single bit flip, 2..16 flips, a flipped bit among the first ``header_bits``, a truncation, a
    random byte; then 0..7 bytes of zero padding, as the transport adds."""
    data = np.unpackbits(np.frombuffer(stream, np.uint8))
    kind = rng.integers(5)
    if kind == 0:
        data[rng.integers(data.size)] ^= 1
    elif kind == 1:
        data[rng.choice(data.size, rng.integers(2, 17), replace=False)] ^= 1
    elif kind == 2:
        data[rng.integers(min(data.size, header_bits))] ^= 1
    elif kind == 3:
        data = data[: 8 * rng.integers(len(stream))]
    else:
        position = 8 * rng.integers(len(stream))
        data[position : position + 8] = rng.integers(0, 2, 8)
    return np.packbits(data).tobytes() + bytes(int(rng.integers(8)))


@pytest.fixture
def damage():
    """:func:`damage_stream`, for the tests of this folder."""
    return damage_stream
