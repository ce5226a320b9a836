"""The int16 fixed-point decoder (the default) against the float32 one on the same LLRs: exact on noiseless
codewords, the same BLER near the cliff within binomial noise; for both: garbage input handled, iterations
bounded, results independent of the batch and the thread count."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from lssc_sim import snr
from lssc_sim.digital.fast_ldpc import FastLDPC5GDecoder, FastLDPC5GEncoder
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.qam import QAMTables, map_awgn_demap


def _noisy_llr(code: LDPC5GCode, ebno_db: float, blocks: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Payloads and their APP LLRs after QAM over AWGN at ``ebno_db`` (Eb per LDPC info bit)."""
    m = code.bits_per_symbol
    no = 10 ** (-snr.ebno_db_to_snr_db(ebno_db, m, code.rate) / 10)
    payload = rng.integers(0, 2, (blocks, code.payload_bits), dtype=np.uint8)
    noise = rng.standard_normal((blocks, 2 * code.n // m), dtype=np.float32)
    coded = FastLDPC5GEncoder(code._encoder).encode(payload)
    return payload, map_awgn_demap(coded, float(no), QAMTables(m), noise)


def _block_errors(payload_hat, payload) -> int:
    return int(np.any(np.asarray(payload_hat) != payload, axis=-1).sum())


@pytest.mark.parametrize(
    "k, rate, bits_per_symbol",
    [(1000, 1 / 3, 2), (1000, 5 / 6, 6), (4032, 0.5, 2), (8448, 0.5, 4), (8448, 1 / 3, 2)],
)
def test_int16_decodes_noiseless_codewords_exactly(k, rate, bits_per_symbol, rng):
    # k=1000: base graph 2 with filler bits; 8448 at 1/3 keeps all of base graph 1 (column degrees up to 30)
    code = LDPC5GCode(k, rate=rate, bits_per_symbol=bits_per_symbol)
    decoder = FastLDPC5GDecoder(code._encoder, arithmetic="int16")
    payload = rng.integers(0, 2, (4, code.payload_bits), dtype=np.uint8)
    codeword = FastLDPC5GEncoder(code._encoder).encode(payload).astype(np.float32)
    for amplitude in (2.0, 10.0, 1e6):  # small (beta = 0.5 cuts messages below it), mid-range, clipped
        payload_hat, crc_ok, iterations, cw = decoder.decode(amplitude * (2 * codeword - 1), return_codeword=True)
        np.testing.assert_array_equal(payload_hat, payload)
        assert crc_ok.all() and (iterations == 1).all()
        assert decoder.parity_check(cw).all()


@pytest.mark.parametrize("ebno_db", [1.0, 1.1])
def test_int16_bler_within_binomial_band_of_float32_on_the_same_llrs(ebno_db, rng):
    # two points on the waterfall (BLER ~0.13 and ~0.02 here): a loss of 0.05 dB would move the BLER by a
    # factor ~2 (a decade per ~0.12 dB), far outside the band
    code = LDPC5GCode(4032, rate=0.5, bits_per_symbol=2)
    blocks = 2048
    payload, llr = _noisy_llr(code, ebno_db, blocks, rng)
    float_errors = _block_errors(FastLDPC5GDecoder(code._encoder, arithmetic="float32").decode(llr)[0], payload)
    int_errors = _block_errors(FastLDPC5GDecoder(code._encoder, arithmetic="int16").decode(llr)[0], payload)
    p = float_errors / blocks
    assert 20 <= float_errors <= blocks / 2, float_errors  # on the waterfall, so the comparison means something
    band = 1.96 * np.sqrt(blocks * p * (1 - p))
    assert abs(int_errors - float_errors) <= band, (int_errors, float_errors, band)


@pytest.mark.parametrize("arithmetic", ["int16", "float32"])
def test_garbage_llrs_do_not_crash_or_leak_into_other_blocks(arithmetic, rng):
    code = LDPC5GCode(1000, rate=0.5)
    decoder = FastLDPC5GDecoder(code._encoder, arithmetic=arithmetic)
    payload = rng.integers(0, 2, (1, code.payload_bits))
    clean = 4.0 * (2.0 * FastLDPC5GEncoder(code._encoder).encode(payload)[0] - 1.0)
    bad = [np.full(code.n, np.nan), np.full(code.n, np.inf), np.full(code.n, -np.inf),
           rng.normal(0, 1e30, code.n), np.zeros(code.n), rng.normal(0, 1, code.n)]  # fmt: skip
    bad[0][::2] = clean[::2]  # half NaN
    llr = np.stack([clean, *bad, clean]).reshape(2, 4, code.n)
    payload_hat, crc_ok, iterations = decoder.decode(llr)
    assert payload_hat.shape == (2, 4, code.payload_bits) and crc_ok.shape == iterations.shape == (2, 4)
    assert crc_ok[0, 0] and crc_ok[1, 3]
    np.testing.assert_array_equal(payload_hat[1, 3], payload[0])
    assert (iterations >= 1).all() and (iterations <= decoder.max_iter).all()


@pytest.mark.parametrize("arithmetic", ["int16", "float32"])
@pytest.mark.parametrize("max_iter", [1, 3, 20])
def test_iterations_never_exceed_max_iter(max_iter, arithmetic, rng):
    code = LDPC5GCode(1000, rate=0.5, bits_per_symbol=2)
    _, llr = _noisy_llr(code, 1.0, 96, rng)
    decoder = FastLDPC5GDecoder(code._encoder, max_iter=max_iter, arithmetic=arithmetic)
    _, crc_ok, iterations, codeword = decoder.decode(llr, return_codeword=True)
    assert iterations.dtype == np.int32 and (iterations >= 1).all() and (iterations <= max_iter).all()
    assert (iterations == max_iter).any()  # some blocks ran out of iterations: the bound was exercised
    # a codeword that stopped early satisfies every check; one that did not, ran all iterations
    assert (iterations[~decoder.parity_check(codeword)] == max_iter).all()


@pytest.mark.parametrize("arithmetic", ["int16", "float32"])
def test_each_codeword_decodes_alone_whatever_the_batch_and_thread_count(arithmetic, rng):
    # chunks are handed to threads dynamically: the schedule differs run to run, the results may not
    code = LDPC5GCode(1000, rate=0.5, bits_per_symbol=2)
    _, llr = _noisy_llr(code, 1.3, 40, rng)
    decoder = FastLDPC5GDecoder(code._encoder, arithmetic=arithmetic)
    alone = [decoder.decode(row) for row in llr]
    before = numba.get_num_threads()
    try:
        for threads in {1, before}:
            numba.set_num_threads(threads)
            bits, ok, iterations = decoder.decode(llr)
            np.testing.assert_array_equal(bits, np.stack([a[0] for a in alone]))
            np.testing.assert_array_equal(ok, [a[1] for a in alone])
            np.testing.assert_array_equal(iterations, [a[2] for a in alone])
    finally:
        numba.set_num_threads(before)
    assert 0 < np.mean([a[1] for a in alone]) < 1 and len({int(a[2]) for a in alone}) > 2


def test_int16_rejects_parameters_that_could_overflow():
    code = LDPC5GCode(4032, rate=0.5)
    with pytest.raises(ValueError, match="overflow"):
        FastLDPC5GDecoder(code._encoder, arithmetic="int16", msg_max=512.0)
    with pytest.raises(ValueError, match="overflow"):
        FastLDPC5GDecoder(code._encoder, arithmetic="int16", scale=64.0)
