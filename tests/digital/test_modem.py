"""Gray QAM modem: constellation properties, LLR convention, and Monte-Carlo BER against closed forms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from lssc_sim import snr, theory
from lssc_sim.channels import equalize, make_channel
from lssc_sim.digital.modem import MODULATIONS, Modem

BITS_PER_POINT = 2**21  # >= 1500 errors at the lowest BER tested below, so 10 % is >= 4 standard deviations
CHUNK_BITS = 2**18


def _all_labels(m: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=m)), dtype=np.float32)


@pytest.mark.parametrize("modulation", list(MODULATIONS))
def test_constellation_unit_energy_and_gray(modulation):
    modem = Modem(modulation)
    m = modem.bits_per_symbol
    labels = _all_labels(m)
    points = modem.map(tf.constant(labels.reshape(1, -1))).numpy().ravel()
    assert points.dtype == np.complex64 and points.shape == (2**m,)
    assert np.mean(np.abs(points) ** 2) == pytest.approx(1.0, rel=1e-5)
    assert len(np.unique(np.round(points, 5))) == 2**m
    d_min = np.min(np.abs(points[:, None] - points[None, :]) + 10 * np.eye(2**m))
    for i, j in zip(*np.nonzero(np.isclose(np.abs(points[:, None] - points[None, :]), d_min)), strict=True):
        assert np.sum(labels[i] != labels[j]) == 1  # Gray: nearest neighbours differ in one bit


@pytest.mark.parametrize("demapping", ["app", "maxlog"])
@pytest.mark.parametrize("modulation", list(MODULATIONS))
def test_noise_free_round_trip_and_llr_sign(modulation, demapping, rng):
    modem = Modem(modulation, demapping)
    bits = rng.integers(0, 2, (3, 5, 16 * modem.bits_per_symbol)).astype(np.float32)
    x = modem.map(bits)
    assert x.shape == (3, 5, 16) and x.dtype == tf.complex64
    # [batch] noise, expanded over the other axes; small, since bit-wise MAP at y = x need not return the
    # label of x when the noise is large (outer points of 256-QAM at no = 0.1)
    llr = modem.demap(x, tf.constant([1e-4, 1e-3, 1e-2]))
    assert llr.shape == bits.shape and llr.dtype == tf.float32
    # Sionna's convention: llr = log(P(b=1)/P(b=0)), positive for a 1
    assert np.all(np.sign(llr.numpy()) == 2 * bits - 1)
    np.testing.assert_array_equal(modem.hard_decision(llr).numpy(), bits)


def test_bad_arguments_name_the_options():
    with pytest.raises(ValueError, match="'qpsk', '16qam', '64qam', '256qam'; got '8psk'"):
        Modem("8psk")
    with pytest.raises(ValueError, match="'app', 'maxlog'; got 'exact'"):
        Modem("qpsk", demapping="exact")
    with pytest.raises(ValueError, match="multiple of 4"):
        Modem("16qam").map(tf.zeros([2, 10]))


def _simulate_ber(modem: Modem, channel_spec, ebno_db: float, rng: np.random.Generator) -> tuple[int, int]:
    """Bit errors and bits of uncoded ``modem`` over ``channel_spec`` with perfect-CSI ZF equalization."""
    channel = make_channel(channel_spec)
    no = 10 ** (-float(snr.ebno_db_to_snr_db(ebno_db, modem.bits_per_symbol)) / 10)
    errors, total = 0, 0
    row_bits = CHUNK_BITS // 64 // modem.bits_per_symbol * modem.bits_per_symbol
    while total < BITS_PER_POINT:
        bits = rng.integers(0, 2, (64, row_bits)).astype(np.float32)
        y, h = channel(modem.map(bits), no)
        x_hat, no_eff = equalize(y, h, no)
        errors += int(np.sum(modem.hard_decision(modem.demap(x_hat, no_eff)).numpy() != bits))
        total += bits.size
    return errors, total


CASES = [
    ("qpsk", "awgn", [0.0, 4.0, 7.0], theory.ber_awgn),
    ("16qam", "awgn", [4.0, 8.0, 10.0], theory.ber_awgn),
    ("64qam", "awgn", [8.0, 12.0, 14.0], theory.ber_awgn),
    ("qpsk", {"name": "rayleigh", "coherence": "symbol"}, [0.0, 10.0, 20.0], theory.ber_rayleigh),
    ("16qam", {"name": "rayleigh", "coherence": "symbol"}, [10.0, 20.0], theory.ber_rayleigh),
]


@pytest.mark.parametrize(
    ("modulation", "channel", "ebno_dbs", "reference"),
    CASES,
    ids=[f"{c[0]}-{c[1] if isinstance(c[1], str) else c[1]['name']}" for c in CASES],
)
def test_uncoded_ber_matches_theory(modulation, channel, ebno_dbs, reference, rng):
    # max-log hard decisions are minimum-distance symbol decisions, the detector the closed forms assume
    modem = Modem(modulation, demapping="maxlog")
    for ebno_db in ebno_dbs:
        errors, bits = _simulate_ber(modem, channel, ebno_db, rng)
        expected = float(reference(ebno_db, modulation))
        assert expected >= 1e-4 and errors >= 200
        assert errors / bits == pytest.approx(expected, rel=0.10), f"{modulation} at Eb/N0 {ebno_db} dB"


def test_16qam_ber_agrees_with_commpy(rng):
    """Independent implementation: CommPy's Gray 16-QAM and its minimum-distance demodulator.

    CommPy's ``QAMModem(16)`` uses the integer grid {+-1, +-3}^2, whose average energy ``Es`` is 10, not 1:
    we transmit ``constellation / sqrt(Es)`` and scale the received samples back by ``sqrt(Es)`` before its
    hard demodulator. The noise is drawn here from the test's seeded generator, because
    ``commpy.channels.awgn`` draws from NumPy's global generator and measures the signal power from the
    samples themselves. CommPy 0.8.0 imports and runs unchanged with NumPy 1.26.
    """
    from commpy.modulation import QAMModem

    ebno_db, num_bits = 6.0, 2**20
    no = 10 ** (-float(snr.ebno_db_to_snr_db(ebno_db, 4)) / 10)

    qam = QAMModem(16)
    scale = np.sqrt(qam.Es)
    assert np.mean(np.abs(qam.constellation / scale) ** 2) == pytest.approx(1.0)
    bits = rng.integers(0, 2, num_bits)
    x = qam.modulate(bits) / scale
    noise = np.sqrt(no / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    commpy_ber = np.mean(qam.demodulate((x + noise) * scale, "hard") != bits)

    errors, total = _simulate_ber(Modem("16qam", "maxlog"), "awgn", ebno_db, rng)
    ours = errors / total
    sigma = np.sqrt(ours * (1 - ours) / total + commpy_ber * (1 - commpy_ber) / num_bits)
    assert abs(ours - commpy_ber) < 4 * sigma, f"ours {ours:.5f} commpy {commpy_ber:.5f}"
    assert commpy_ber == pytest.approx(float(theory.ber_awgn(ebno_db, "16qam")), rel=0.10)
