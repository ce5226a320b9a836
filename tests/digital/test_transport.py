"""Streams over the link: blocks and padding, lossless above the cliff, early stopping, stock Sionna decoding,
fading, and error rates that early stopping does not bias."""

from __future__ import annotations

import numpy as np
import pytest

from lssc_sim.channels import make_channel
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.link import Link
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.transport import send_streams, stream_blocks


def _link(channel="awgn", modulation="qpsk", decoder="fast", k=1000):
    modem = Modem(modulation)
    code = LDPC5GCode(k, rate=0.5, bits_per_symbol=modem.bits_per_symbol, decoder=decoder)
    return Link(code, modem, make_channel(channel))


def _send(link, payloads, coded, no, rng, early_stop):
    return send_streams(link, payloads, coded, no, rng, early_stop, round_blocks=2)


def _streams(rng, sizes):
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in sizes]


def _prepare(link, streams):
    blocks = [stream_blocks(s, link.payload_bits) for s in streams]
    payloads = [b for b, _ in blocks]
    return payloads, [link.encode(p) for p in payloads], [p for _, p in blocks]


def test_blocks_pad_the_last_code_block(rng):
    link = _link()
    payload, padding = stream_blocks(bytes(range(250)), link.payload_bits)  # 2000 bits into 976-bit payloads: 3 blocks
    assert payload.shape == (3, 976) and padding == 3 * 976 - 2000
    assert np.packbits(payload.reshape(-1))[:250].tobytes() == bytes(range(250))
    assert not payload.reshape(-1)[2000:].any()
    # an empty stream still sends one block (its header would)
    assert stream_blocks(b"", link.payload_bits)[0].shape == (1, 976)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_high_snr_delivers_every_stream_exactly(rng, channel):
    link = _link(channel, "16qam")
    streams = _streams(rng, [300, 17, 520])
    payloads, coded, _ = _prepare(link, streams)
    tx = _send(link, payloads, coded, no=10 ** (-4.0), rng=rng, early_stop=True)  # 40 dB
    assert [s[: len(x)] for s, x in zip(tx.streams, streams, strict=True)] == streams
    c = tx.counters
    assert c["blocks"] == c["blocks_decoded"] == sum(len(p) for p in payloads)
    assert c["scored_blocks"] == sum(min(2, len(p)) for p in payloads)
    assert c["block_errors"] == c["crc_failures"] == c["bit_errors"] == 0
    assert c["channel_uses"] == c["blocks"] * link.symbols_per_block
    assert set(tx.seconds) == {"channel_demapping", "fec_decoding"}


def test_early_stop_decodes_only_the_first_round_below_the_cliff(rng):
    link = _link()
    streams = _streams(rng, [1200, 1200])  # 10 blocks each; rounds of 2
    payloads, coded, _ = _prepare(link, streams)
    tx = _send(link, payloads, coded, no=10.0, rng=rng, early_stop=True)  # -10 dB: every block fails
    assert tx.streams == [None, None]
    assert tx.counters["blocks_decoded"] == 4 and tx.counters["crc_failures"] == 4
    full = _send(link, payloads, coded, no=10.0, rng=rng, early_stop=False)
    assert full.counters["blocks_decoded"] == 20 and all(s is not None for s in full.streams)


@pytest.mark.parametrize("channel", ["awgn", {"name": "rayleigh", "coherence": "frame"}])
def test_error_rates_and_losses_do_not_depend_on_early_stop(channel):
    # One fade per image makes an image's blocks fail together: a BLER over the decoded blocks would drop with
    # early stop (blocks after a failure, decoded only without it, fail far more often). The rates are counted on
    # every image's first round, decoded either way, and each image draws its channel from its own stream:
    # with the same Point seed, both runs see the same channel, so counts agree exactly.
    link = _link(channel, k=500)
    streams = _streams(np.random.default_rng(0), [600] * 40)  # 10 blocks each, rounds of 2
    payloads, coded, _ = _prepare(link, streams)
    snr_db = 1.2 if channel == "awgn" else 6.0  # where some images are lost and some are not
    no = 10 ** (-snr_db / 10)
    runs = {stop: _send(link, payloads, coded, no, np.random.default_rng(5), stop) for stop in (True, False)}
    stop, full = runs[True].counters, runs[False].counters
    for key in ("block_errors", "bit_errors", "coded_bit_errors", "scored_blocks"):
        assert stop[key] == full[key], key
    assert 0 < stop["block_errors"] < stop["scored_blocks"]
    lost = {s: sum(not ok.all() for ok in runs[s].crc_ok) for s in runs}
    assert lost[True] == lost[False] and 0 < lost[True] < 40
    assert stop["blocks_decoded"] < full["blocks_decoded"]  # early stopping really skipped blocks
    # the blocks after the first round, decoded only without early stop, are worse: the bias the rule avoids
    later = sum(int((~ok[2:]).sum()) for ok in runs[False].crc_ok) / (full["blocks"] - full["scored_blocks"])
    if channel != "awgn":
        assert later > 0


def test_first_round_bler_estimates_the_bler_of_all_blocks(rng):
    # without early stop, over AWGN (independent blocks), the first-round BLER is within binomial spread of the
    # BLER over all decoded blocks
    link = _link(k=500)
    streams = _streams(rng, [600] * 40)
    payloads, coded, _ = _prepare(link, streams)
    no = 10 ** (-1.2 / 10)
    errors = scored = fails = decoded = 0
    for seed in range(4):
        tx = _send(link, payloads, coded, no, np.random.default_rng(seed), early_stop=False)
        errors += tx.counters["block_errors"]
        scored += tx.counters["scored_blocks"]
        fails += tx.counters["crc_failures"]
        decoded += tx.counters["blocks_decoded"]
    first, overall = errors / scored, fails / decoded
    assert 0.03 < overall < 0.8
    assert abs(first - overall) < 4 * np.sqrt(overall * (1 - overall) / scored), (first, overall)


def test_stock_sionna_decoder_agrees_on_a_clean_channel(rng):
    link = _link(decoder="sionna", k=600)
    streams = _streams(rng, [150, 90])
    payloads, coded, _ = _prepare(link, streams)
    tx = _send(link, payloads, coded, no=10 ** (-1.0), rng=rng, early_stop=False)  # 10 dB
    assert [s[: len(x)] for s, x in zip(tx.streams, streams, strict=True)] == streams


def test_frame_fading_hits_a_whole_image_at_once(rng):
    # One Rayleigh gain per image: at 12 dB average SNR an image is either received whole or lost whole in a
    # deep fade, unlike symbol fading; over 60 images both outcomes occur and blocks of an image agree.
    link = _link({"name": "rayleigh", "coherence": "frame"})
    streams = _streams(rng, [600] * 60)  # 5 blocks each
    payloads, coded, _ = _prepare(link, streams)
    tx = _send(link, payloads, coded, no=10 ** (-1.2), rng=rng, early_stop=False)
    per_image = [ok.mean() for ok in tx.crc_ok]
    mixed = sum(0 < f < 1 for f in per_image)
    assert sum(f == 1 for f in per_image) > 30 and sum(f == 0 for f in per_image) >= 1
    assert mixed <= 3, per_image
