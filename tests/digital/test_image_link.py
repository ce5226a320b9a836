"""The image link: blocks and padding, lossless above the cliff, early stopping, stock Sionna decoding, fading."""

from __future__ import annotations

import numpy as np
import pytest

from lssc_sim.channels import make_channel
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.image_link import ImageLink
from lssc_sim.digital.modem import Modem


def _link(channel="awgn", modulation="qpsk", decoder="fast", k=1000):
    modem = Modem(modulation)
    code = LDPC5GCode(k, rate=0.5, bits_per_symbol=modem.bits_per_symbol, decoder=decoder)
    return ImageLink(modem, make_channel(channel), code, round_blocks=2)


def _streams(rng, sizes):
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in sizes]


def _prepare(link, streams):
    blocks = [link.blocks(s) for s in streams]
    payloads = [b for b, _ in blocks]
    return payloads, [link.encode(p) for p in payloads], [p for _, p in blocks]


def test_blocks_pad_the_last_code_block(rng):
    link = _link()
    payload, padding = link.blocks(bytes(range(250)))  # 2000 bits into 976-bit payloads: 3 blocks
    assert payload.shape == (3, 976) and padding == 3 * 976 - 2000
    assert np.packbits(payload.reshape(-1))[:250].tobytes() == bytes(range(250))
    assert not payload.reshape(-1)[2000:].any()
    assert link.blocks(b"")[0].shape == (1, 976)  # an empty stream still sends one block (its header would)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_high_snr_delivers_every_stream_exactly(rng, channel):
    link = _link(channel, "16qam")
    streams = _streams(rng, [300, 17, 520])
    payloads, coded, _ = _prepare(link, streams)
    tx = link.send(payloads, coded, no=10 ** (-4.0), rng=rng, early_stop=True)  # 40 dB
    assert [s[: len(x)] for s, x in zip(tx.streams, streams, strict=True)] == streams
    c = tx.counters
    assert c["blocks"] == c["blocks_decoded"] == sum(len(p) for p in payloads)
    assert c["block_errors"] == c["crc_failures"] == c["bit_errors"] == 0
    assert c["channel_uses"] == c["blocks"] * link.symbols_per_block
    assert set(tx.seconds) == {"channel_demapping", "fec_decoding"}


def test_early_stop_decodes_only_the_first_round_below_the_cliff(rng):
    link = _link()
    streams = _streams(rng, [1200, 1200])  # 10 blocks each; rounds of 2
    payloads, coded, _ = _prepare(link, streams)
    tx = link.send(payloads, coded, no=10.0, rng=rng, early_stop=True)  # -10 dB: every block fails
    assert tx.streams == [None, None]
    assert tx.counters["blocks_decoded"] == 4 and tx.counters["crc_failures"] == 4
    full = link.send(payloads, coded, no=10.0, rng=rng, early_stop=False)
    assert full.counters["blocks_decoded"] == 20 and all(s is not None for s in full.streams)


def test_early_stop_keeps_the_block_error_rate_estimate_unbiased(rng):
    # At the cliff blocks fail independently with some p: the ratio over decoded blocks estimates p whether or
    # not decoding stops early (Wald's identity), so the two BLERs must agree within their spread.
    link = _link(k=500)
    streams = _streams(rng, [600] * 40)  # 10 blocks each
    payloads, coded, _ = _prepare(link, streams)
    no = 10 ** (-1.2 / 10)  # QPSK r=1/2, k=500, Es/N0 1.2 dB: at the cliff
    stop = [link.send(payloads, coded, no, rng, early_stop=True).counters for _ in range(6)]
    full = [link.send(payloads, coded, no, rng, early_stop=False).counters for _ in range(3)]
    bler = [sum(c["block_errors"] for c in cs) / sum(c["blocks_decoded"] for c in cs) for cs in (stop, full)]
    decoded = sum(c["blocks_decoded"] for c in stop)
    assert 0.03 < bler[1] < 0.8, bler
    sigma = np.sqrt(bler[1] * (1 - bler[1]) / decoded)
    assert abs(bler[0] - bler[1]) < 5 * sigma + 0.03, (bler, sigma)
    assert decoded < sum(c["blocks_decoded"] for c in full) * 2  # early stopping really skipped blocks


def test_stock_sionna_decoder_agrees_on_a_clean_channel(rng):
    link = _link(decoder="sionna", k=600)
    streams = _streams(rng, [150, 90])
    payloads, coded, _ = _prepare(link, streams)
    tx = link.send(payloads, coded, no=10 ** (-1.0), rng=rng, early_stop=False)  # 10 dB
    assert [s[: len(x)] for s, x in zip(tx.streams, streams, strict=True)] == streams


def test_frame_fading_hits_a_whole_image_at_once(rng):
    # One Rayleigh gain per image: at 12 dB average SNR an image is either received whole or lost whole in a
    # deep fade, unlike symbol fading; over 60 images both outcomes occur and blocks of an image agree.
    link = _link({"name": "rayleigh", "coherence": "frame"})
    streams = _streams(rng, [600] * 60)  # 5 blocks each
    payloads, coded, _ = _prepare(link, streams)
    tx = link.send(payloads, coded, no=10 ** (-1.2), rng=rng, early_stop=False)
    per_image = [ok.mean() for ok in tx.crc_ok]
    mixed = sum(0 < f < 1 for f in per_image)
    assert sum(f == 1 for f in per_image) > 30 and sum(f == 0 for f in per_image) >= 1
    assert mixed <= 3, per_image
