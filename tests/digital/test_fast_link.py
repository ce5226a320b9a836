"""Fast link pieces against Sionna's: QAM map + demap, the counters of ``BitLink``, and the ``decoder="fast"``
option of ``LDPC5GCode``."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim.channels import make_channel
from lssc_sim.digital.fast_link import FastBitLink, QAMTables, demap, map_awgn_demap
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.link import BitLink
from lssc_sim.digital.modem import Modem


@pytest.mark.parametrize("modulation, m", [("qpsk", 2), ("16qam", 4), ("64qam", 6)])
@pytest.mark.parametrize("demapping", ["app", "maxlog"])
@pytest.mark.parametrize("no", [1.0, 0.3, 0.01])  # Es/N0 0, 5.2 and 20 dB: from all terms counting to one
def test_map_awgn_demap_equals_sionna(modulation, m, demapping, no, rng):
    modem = Modem(modulation, demapping)
    coded = rng.integers(0, 2, (3, 120 * m), dtype=np.uint8)
    noise = rng.standard_normal((3, 240), dtype=np.float32)
    x = modem.map(tf.constant(coded, tf.float32)).numpy()
    y = (x + np.sqrt(no / 2) * (noise[:, 0::2] + 1j * noise[:, 1::2])).astype(np.complex64)
    reference = modem.demap(tf.constant(y), no).numpy()
    llr = map_awgn_demap(coded, no, QAMTables(m), noise, exact=demapping == "app")
    np.testing.assert_allclose(llr, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("modulation, m", [("qpsk", 2), ("16qam", 4), ("64qam", 6)])
@pytest.mark.parametrize("demapping", ["app", "maxlog"])
def test_demap_with_per_symbol_noise_equals_sionna(modulation, m, demapping, rng):
    # after a fading channel and zero forcing every symbol has its own noise power no / |h|^2
    modem = Modem(modulation, demapping)
    x = modem.map(tf.constant(rng.integers(0, 2, (4, 200 * m)), tf.float32)).numpy()
    no = (0.02 * 10 ** rng.uniform(0, 3, x.shape)).astype(np.float32)  # Es/N0 from -13 to 17 dB
    noise = rng.standard_normal((*x.shape, 2)).astype(np.float32) @ np.array([1, 1j])
    y = (x + np.sqrt(no / 2) * noise).astype(np.complex64)
    reference = modem.demap(tf.constant(y), tf.constant(no)).numpy()
    np.testing.assert_allclose(demap(y, no, QAMTables(m), exact=demapping == "app"), reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_fast_link_counts_like_bit_link(channel):
    code = LDPC5GCode(1000, rate=0.5, bits_per_symbol=4)
    fast = FastBitLink(Modem("16qam"), make_channel(channel), code)
    reference = BitLink(Modem("16qam"), make_channel(channel), code)
    counts = fast.run(16, 1e-3)  # Es/N0 30 dB: error-free
    assert counts.keys() == reference.run(2, 1e-3).keys()
    assert counts["bit_errors"] == counts["block_errors"] == counts["crc_failures"] == 0
    assert (counts["bits"], counts["coded_bits"], counts["channel_uses"]) == (16 * 976, 16 * 2000, 16 * 500)
    garbage = fast.run(16, 100.0)
    assert garbage["crc_failures"] == garbage["block_errors"] == 16
    assert 0.3 < garbage["coded_bit_errors"] / garbage["coded_bits"] < 0.7


def test_code_with_fast_decoder_is_a_drop_in(rng):
    code = LDPC5GCode(1000, rate=0.5, bits_per_symbol=2, decoder="fast")
    payload = rng.integers(0, 2, (2, 3, code.payload_bits)).astype(np.float32)
    llr = 8.0 * (2.0 * code.encode(payload) - 1.0)
    for x in (llr, llr.numpy()):
        payload_hat, crc_ok = code.decode(x)
        assert payload_hat.dtype == tf.float32 and crc_ok.dtype == tf.bool and crc_ok.shape == (2, 3)
        np.testing.assert_array_equal(payload_hat.numpy(), payload)
    # inside BitLink's tf.function the fast decoder runs through tf.numpy_function
    counts = BitLink(Modem("qpsk"), make_channel("awgn"), code).run(4, 1e-2)
    assert counts["block_errors"] == counts["crc_failures"] == 0
    with pytest.raises(ValueError, match="decoder must be one of"):
        LDPC5GCode(1000, rate=0.5, decoder="turbo")


def test_parallel_noise_is_standard_normal_and_independent_of_the_thread_count():
    import numba

    from lssc_sim.digital.fast_link import standard_normal_rows

    before = numba.get_num_threads()
    try:
        draws = []
        for threads in (1, before):
            numba.set_num_threads(threads)
            draws.append(standard_normal_rows(np.random.default_rng(7), 100, 3001))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(draws[0], draws[1])
    x = draws[0]
    assert x.dtype == np.float32 and abs(x.mean()) < 0.005 and abs(x.std() - 1) < 0.005  # 3e5 samples: 5 sigma
    assert abs(np.corrcoef(x[:32].ravel(), x[32:64].ravel())[0, 1]) < 0.01  # chunks are distinct streams
