"""Byte streams (one per image) over a :class:`~lssc_sim.digital.link.Link`: code blocks, frames, early stopping.

Each stream is a transport block: its bits are cut into code blocks of ``k - 24`` payload bits (the last one
zero-padded; padding is counted), each gets a CRC24B and is LDPC-encoded. An image's code blocks are sent back
to back as one frame, so a channel with ``coherence="frame"`` fades once per image and ``coherence="block"``
every ``block_length`` channel uses. The receiver demaps with perfect CSI and decodes.

Blocks are decoded in rounds of ``round_blocks`` per image, all images of a round together (numba decodes them
in parallel). With ``early_stop`` (strict receivers) an image leaves after a round holding a CRC failure: it is
lost anyway. A block's channel never depends on the early stop, so the images lost are the same with and without
it: on channels without gains the noise of block ``j`` of image ``i`` is the stream keyed by (the image's seed,
``j``), drawn when the block is about to be decoded; on channels with gains every image's frame is drawn whole,
up front, for every image (one fade per image needs the whole frame), before any decoding.

The error rates are counted on the **first round of every image**, which is always decoded. Blocks after an
image's first failure are decoded only without early stop, and on a fading channel they fail far more often
than average (the fade that failed the first one persists), so rates over "decoded blocks" would be biased low
with early stop. The first-round rates are unbiased on every channel, with or without early stop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lssc_sim.digital.link import Link
from lssc_sim.digital.source import bytes_to_bits

ROUND_BLOCKS = 8


@dataclass
class Transmission:
    """What :func:`send_streams` returns for a batch of streams.

    Attributes
    ----------
    streams : list of bytes or None
        The received byte stream of each image (padding included), None where early stopping dropped it.
    crc_ok : list of [num_blocks_i], bool
        CRC24B check of each decoded code block; blocks never decoded count as failed.
    decoded : list of [num_blocks_i], bool
        Which blocks were decoded.
    counters : dict
        ``blocks`` (sent), ``blocks_decoded``, ``crc_failures`` (among the decoded), ``channel_uses``, and on
        the first round of every image (``scored_blocks`` blocks): ``block_errors``, ``bits_scored``,
        ``bit_errors``, ``coded_bits``, ``coded_bit_errors`` (hard decisions on the channel LLRs).
    seconds : dict
        Wall time of ``channel_demapping`` (QAM mapping, channel, equalizer, demapper) and ``fec_decoding``.
    """

    streams: list[bytes | None]
    crc_ok: list[np.ndarray]
    decoded: list[np.ndarray]
    counters: dict[str, int]
    seconds: dict[str, float]


def stream_blocks(stream: bytes, payload_bits: int) -> tuple[np.ndarray, int]:
    """Payload bits ``[num_blocks, payload_bits]`` (uint8) of a stream, and the number of padding bits."""
    bits = bytes_to_bits(stream)
    num_blocks = max(1, -(-bits.size // payload_bits))
    padded = np.zeros(num_blocks * payload_bits, np.uint8)
    padded[: bits.size] = bits
    return padded.reshape(num_blocks, payload_bits), padded.size - bits.size


def send_streams(
    link: Link,
    payloads: list[np.ndarray],
    coded: list[np.ndarray],
    no: float,
    rng: np.random.Generator,
    early_stop: bool,
    round_blocks: int = ROUND_BLOCKS,
) -> Transmission:
    """Send every image's codewords as one frame each, decode in rounds, reassemble the received streams.

    Parameters
    ----------
    link : Link
    payloads : list of [num_blocks_i, k - 24], np.uint8
        The sent payload bits (to count errors).
    coded : list of [num_blocks_i, n], np.uint8
        Their codewords (``link.encode``), computed once per image since they do not depend on the SNR.
    no : float
        Noise power per complex symbol (unit symbol energy).
    rng : numpy.random.Generator
        The Point's stream: one seed per image is drawn from it (the keys of its blocks' noise without gains);
        with gains every frame is drawn from it up front.
    early_stop : bool
        Stop decoding an image after the round holding its first CRC failure (strict receivers).
    round_blocks : int
        Code blocks per image and round.
    """
    nb = [c.shape[0] for c in coded]
    seeds = rng.integers(2**63, size=len(coded), dtype=np.uint64)  # one per image
    hat = [np.zeros_like(p) for p in payloads]
    crc_ok = [np.zeros(n, bool) for n in nb]
    decoded = [np.zeros(n, bool) for n in nb]
    seconds = {"channel_demapping": 0.0, "fec_decoding": 0.0}
    scored = dict.fromkeys(("block_errors", "bit_errors", "coded_bit_errors"), 0)
    # Without gains, blocks are independent: only the blocks about to be decoded are demapped, their noise drawn
    # then. With gains a frame must be drawn whole (one fade per image), so every image is demapped up front.
    lazy = not link.channel.has_gains and hasattr(link.front_end, "llr_keyed")
    t0 = time.perf_counter()
    llrs = None if lazy else link.front_end.llr_frames(coded, no, rng)
    seconds["channel_demapping"] += time.perf_counter() - t0
    alive = list(range(len(coded)))
    for start in range(0, max(nb, default=0), round_blocks):
        jobs = [(i, start, min(start + round_blocks, nb[i])) for i in alive if nb[i] > start]
        if not jobs:
            break
        t0 = time.perf_counter()
        sent = [coded[i][a:b] for i, a, b in jobs]
        if lazy:
            rows = np.concatenate(sent)
            keys = np.concatenate([np.full(b - a, seeds[i]) for i, a, b in jobs])
            blocks = np.concatenate([np.arange(a, b, dtype=np.uint64) for _, a, b in jobs])
            llr = link.front_end.llr_keyed(rows, no, keys, blocks)
            parts = np.split(llr, np.cumsum([b - a for _, a, b in jobs])[:-1])
        else:
            parts = [llrs[i][a:b] for i, a, b in jobs]
            llr = np.concatenate(parts)
        t1 = time.perf_counter()
        bits, ok = link.decode(llr)
        seconds["channel_demapping"] += t1 - t0
        seconds["fec_decoding"] += time.perf_counter() - t1
        at = 0
        for (i, a, b), part, c in zip(jobs, parts, sent, strict=True):
            hat[i][a:b], crc_ok[i][a:b], decoded[i][a:b] = bits[at : at + b - a], ok[at : at + b - a], True
            at += b - a
            if start == 0:  # the first round of every image: the blocks the error rates are counted on
                errors = hat[i][a:b] != payloads[i][a:b]
                scored["block_errors"] += int(errors.any(axis=1).sum())
                scored["bit_errors"] += int(np.count_nonzero(errors))
                scored["coded_bit_errors"] += int(np.count_nonzero((part > 0) != c))
        if early_stop:
            alive = [i for i in alive if crc_ok[i][: start + round_blocks].all()]
    first = sum(min(n, round_blocks) for n in nb)
    counters = {
        "blocks": sum(nb),
        "blocks_decoded": int(sum(d.sum() for d in decoded)),
        "crc_failures": int(sum((~c & d).sum() for c, d in zip(crc_ok, decoded, strict=True))),
        "scored_blocks": first,
        **scored,
        "bits_scored": first * link.payload_bits,
        "coded_bits": first * link.coded_bits,
        "channel_uses": sum(nb) * link.symbols_per_block,
    }
    # whole code blocks: the padding bits after the stream need not fill whole bytes
    received = [np.packbits(h.reshape(-1)).tobytes() if d.all() else None for h, d in zip(hat, decoded, strict=True)]
    return Transmission(received, crc_ok, decoded, counters, seconds)
