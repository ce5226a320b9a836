"""The link and its numba pieces against Sionna's: QAM map + demap, the fading front end against Sionna's mapper,
channel, equalizer and demapper on identical draws, the choice of front end, the link's counters, and the
array-level encode and decode of ``LDPC5GCode``."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim.channels import Channel, equalize, make_channel
from lssc_sim.channels.fading_numpy import fade_equalize
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.front_end import AwgnFrontEnd, FadingFrontEnd, SionnaFrontEnd, TfFrontEnd
from lssc_sim.digital.link import Link
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.qam import QAMTables, demap, map_awgn_demap, qam_map


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


def test_qam_map_equals_sionna(rng):
    for modulation, m in (("qpsk", 2), ("16qam", 4), ("64qam", 6), ("256qam", 8)):
        coded = rng.integers(0, 2, (3, 40 * m), dtype=np.uint8)
        reference = Modem(modulation).map(tf.constant(coded, tf.float32)).numpy()
        np.testing.assert_allclose(qam_map(coded, QAMTables(m)), reference, atol=1e-6)


@pytest.mark.parametrize("modulation", ["qpsk", "16qam"])
def test_fading_front_end_equals_sionnas_chain_on_identical_draws(modulation, rng):
    # Sionna's mapper, y = h x + n, the perfect-CSI equalizer and Sionna's demapper, on the same h and noise
    modem = Modem(modulation)
    m = modem.bits_per_symbol
    coded = rng.integers(0, 2, (4, 300 * m), dtype=np.uint8)
    h = (rng.standard_normal((4, 300)) + 1j * rng.standard_normal((4, 300))).astype(np.complex64) / np.sqrt(2)
    noise = rng.standard_normal((4, 600)).astype(np.float32)
    no = 0.05
    x = modem.map(tf.constant(coded, tf.float32))
    y = h * x.numpy() + np.sqrt(no / 2) * (noise[:, 0::2] + 1j * noise[:, 1::2])
    x_ref, no_ref = equalize(tf.constant(y.astype(np.complex64)), tf.constant(h), no)
    reference = modem.demap(x_ref, no_ref).numpy()
    x_hat, no_eff = fade_equalize(qam_map(coded, modem.tables), h, noise, no)
    np.testing.assert_allclose(x_hat, x_ref.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(no_eff, no_ref.numpy(), rtol=1e-5)
    np.testing.assert_allclose(demap(x_hat, no_eff, modem.tables), reference, rtol=1e-3, atol=1e-3)


class _Scaled(Channel):
    """A channel with gains but no NumPy sampler: h = 0.5 everywhere."""

    name = "scaled_test"

    def gains(self, shape):
        return tf.fill(tf.concat([shape[:-1], [1]], axis=0), tf.complex(0.5, 0.0))


def test_front_end_is_chosen_from_what_the_channel_declares():
    modem = Modem("qpsk")
    assert isinstance(Link(None, modem, make_channel("awgn")).front_end, AwgnFrontEnd)
    assert isinstance(Link(None, modem, make_channel("rayleigh")).front_end, FadingFrontEnd)
    assert isinstance(Link(None, modem, make_channel("phase_noise")).front_end, TfFrontEnd)
    assert isinstance(Link(None, modem, _Scaled()).front_end, TfFrontEnd)
    assert isinstance(Link(None, modem, make_channel("rayleigh"), reference=True).front_end, SionnaFrontEnd)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh", "phase_noise"])
@pytest.mark.parametrize("reference", [False, True])
def test_link_counts(channel, reference, rng):
    code = LDPC5GCode(1000, rate=0.5, bits_per_symbol=4, decoder="sionna" if reference else "fast")
    link = Link(code, Modem("16qam"), make_channel(channel), reference=reference)
    counts = link.run(16, 1e-3, rng)  # Es/N0 30 dB: error-free
    assert counts["bit_errors"] == counts["block_errors"] == counts["crc_failures"] == 0
    assert (counts["bits"], counts["coded_bits"], counts["channel_uses"]) == (16 * 976, 16 * 2000, 16 * 500)
    garbage = link.run(16, 100.0, rng)
    assert garbage["crc_failures"] == garbage["block_errors"] == 16
    assert 0.3 < garbage["coded_bit_errors"] / garbage["coded_bits"] < 0.7


def test_uncoded_link_makes_hard_decisions(rng):
    link = Link(None, Modem("qpsk"), make_channel("awgn"), uncoded_block_bits=101)
    counts = link.run(8, 1e-4, rng)
    assert link.payload_bits == 100 and counts["bits"] == 800 and counts["bit_errors"] == 0


def test_array_level_encode_and_decode_of_both_decoders_agree(rng):
    payload = rng.integers(0, 2, (3, 976), dtype=np.uint8)
    fast, stock = (LDPC5GCode(1000, rate=0.5, bits_per_symbol=2, decoder=d) for d in ("fast", "sionna"))
    coded = fast.encode_bits(payload)
    np.testing.assert_array_equal(coded, stock.encode_bits(payload))  # the numba encoder is bit-exact
    llr = 8.0 * (2.0 * coded.astype(np.float32) - 1.0)
    for code in (fast, stock):
        bits, ok = code.decode_llr(llr)
        assert bits.dtype == np.uint8 and ok.all()
        np.testing.assert_array_equal(bits, payload)
    with pytest.raises(ValueError, match="decoder must be one of"):
        LDPC5GCode(1000, rate=0.5, decoder="turbo")
