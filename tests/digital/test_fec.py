"""5G LDPC + CRC24B: parameter checks, the LLR convention shared with the demapper, and a waterfall close to
the Shannon limit."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim import snr, theory
from lssc_sim.channels import equalize, make_channel
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.spec import CODE_RATES, codeword_length


@pytest.fixture(scope="module")
def code_4032() -> LDPC5GCode:
    """k = 4032 (4008 payload + 24 CRC), rate 1/2, for QPSK: n = 8064."""
    return LDPC5GCode(4032, rate=0.5, bits_per_symbol=2)


def _payload(rng, shape) -> np.ndarray:
    return rng.integers(0, 2, shape).astype(np.float32)


def test_attributes():
    code = LDPC5GCode(4032, rate=0.5)
    assert (code.k, code.n, code.payload_bits, code.rate) == (4032, 8064, 4008, 0.5)
    assert LDPC5GCode(1000, n=1500).rate == pytest.approx(2 / 3)
    assert CODE_RATES == (pytest.approx(1 / 3), pytest.approx(5 / 6))


def test_n_is_rounded_up_to_whole_symbols():
    # k = 4096 at rate 1/2 gives 8192 bits, not a whole number of 64-QAM symbols: round up to 8196
    code = LDPC5GCode(4096, rate=0.5, bits_per_symbol=6)
    assert code.n == 8196 and code.n % 6 == 0
    assert code.rate == pytest.approx(4096 / 8196)
    assert codeword_length(4032, rate=1 / 3) == 12096  # float rounding of 1/3 does not add a bit


def test_noise_free_round_trip_through_the_modem(code_4032, rng):
    modem = Modem("qpsk")
    payload = _payload(rng, (4, code_4032.payload_bits))
    codeword = code_4032.encode(payload)
    assert codeword.shape == (4, code_4032.n) and codeword.dtype == tf.float32
    # demapper LLRs go straight into the decoder: both use log(P(b=1)/P(b=0))
    payload_hat, crc_ok = code_4032.decode(modem.demap(modem.map(codeword), 1e-2))
    assert payload_hat.shape == payload.shape and payload_hat.dtype == tf.float32
    assert crc_ok.shape == (4,) and crc_ok.dtype == tf.bool
    np.testing.assert_array_equal(payload_hat.numpy(), payload)
    assert np.all(crc_ok.numpy())


def test_llr_sign_matters(code_4032, rng):
    codeword = code_4032.encode(_payload(rng, (2, code_4032.payload_bits)))
    llr = 8.0 * (2.0 * codeword - 1.0)  # positive means 1
    assert np.all(code_4032.decode(llr)[1].numpy())
    assert not np.any(code_4032.decode(-llr)[1].numpy())  # the textbook sign convention would fail


def test_any_leading_shape_and_64qam(rng):
    code = LDPC5GCode(200, rate=0.5, bits_per_symbol=6)
    modem = Modem("64qam")
    payload = _payload(rng, (2, 3, code.payload_bits))
    x = modem.map(code.encode(payload))
    assert x.shape == (2, 3, code.n // 6)
    payload_hat, crc_ok = code.decode(modem.demap(x, 1e-4))
    assert crc_ok.shape == (2, 3) and np.all(crc_ok.numpy())
    np.testing.assert_array_equal(payload_hat.numpy(), payload)


def test_garbage_fails_the_crc(code_4032, rng):
    modem = Modem("qpsk")
    channel = make_channel("awgn")
    payload = _payload(rng, (8, code_4032.payload_bits))
    no = 10.0  # Es/N0 = -10 dB, far below anything a rate-1/2 code can decode
    y, h = channel(modem.map(code_4032.encode(payload)), no)
    x_hat, no_eff = equalize(y, h, no)
    payload_hat, crc_ok = code_4032.decode(modem.demap(x_hat, no_eff))
    assert not np.any(crc_ok.numpy())
    assert np.all(np.any(payload_hat.numpy() != payload, axis=-1))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k": 4032, "rate": 0.9}, ValueError, r"rate must be in \[1/3, 5/6\]"),
        ({"k": 4032, "rate": 0.25}, ValueError, r"rate must be in \[1/3, 5/6\]"),
        ({"k": 4032, "n": 4400}, ValueError, r"k/n must be in \[1/3, 5/6\]"),
        ({"k": 4032, "rate": "1/2"}, TypeError, "rate must be a number"),
        ({"k": 4032}, ValueError, "exactly one of n and rate"),
        ({"k": 4032, "n": 8064, "rate": 0.5}, ValueError, "exactly one of n and rate"),
        ({"k": 24, "rate": 0.5}, ValueError, r"k must be an integer in \[25, 8448\]"),
        ({"k": 8449, "rate": 0.5}, ValueError, r"k must be an integer in \[25, 8448\]"),
        ({"k": 4032.0, "rate": 0.5}, TypeError, "k must be an integer"),
        ({"k": 4032, "n": 8065, "bits_per_symbol": 2}, ValueError, "multiple of bits_per_symbol=2"),
        ({"k": 4032, "rate": 0.5, "cn_update": "sum-product"}, ValueError, "cn_update must be one of"),
        ({"k": 4032, "rate": 0.5, "num_iter": 0}, ValueError, "num_iter"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        LDPC5GCode(**kwargs)


def test_waterfall_within_two_db_of_shannon(code_4032, rng):
    """Rate 1/2 over QPSK carries eta = 1 bit per channel use; Shannon needs Eb/N0 >= 0 dB.

    At the limit + 1.5 dB the 5G code (20 flooding iterations) must reach BLER < 1e-2: at most 1 block error
    in 512 blocks bounds the BLER below 0.93 % with 95 % confidence. Half a dB above the limit it must still
    fail most blocks (the cliff is real, and the test can fail in both directions).
    """
    modem = Modem("qpsk")
    channel = make_channel("awgn")
    eta = code_4032.rate * modem.bits_per_symbol
    limit_db = float(theory.shannon_ebno_limit_db(eta))
    assert limit_db == pytest.approx(0.0, abs=1e-9)

    def block_errors(ebno_db: float, batches: int) -> tuple[int, int, int]:
        snr_db = float(snr.ebno_db_to_snr_db(ebno_db, modem.bits_per_symbol, code_4032.rate))
        no = 10 ** (-snr_db / 10)
        errors = undetected = 0
        for _ in range(batches):
            payload = _payload(rng, (128, code_4032.payload_bits))
            y, h = channel(modem.map(code_4032.encode(payload)), no)
            x_hat, no_eff = equalize(y, h, no)
            payload_hat, crc_ok = code_4032.decode(modem.demap(x_hat, no_eff))
            wrong = np.any(payload_hat.numpy() != payload, axis=-1)
            errors += int(np.sum(wrong))
            undetected += int(np.sum(wrong & crc_ok.numpy()))
        return errors, undetected, 128 * batches

    errors, undetected, blocks = block_errors(limit_db + 1.5, batches=4)
    assert blocks >= 512 and errors <= 1, f"BLER {errors}/{blocks} at Eb/N0 {limit_db + 1.5} dB"
    assert undetected == 0

    errors, undetected, blocks = block_errors(limit_db + 0.5, batches=1)
    assert errors / blocks > 0.5
    assert undetected == 0  # the CRC24 catches every failed block
