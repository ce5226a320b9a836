"""Closed forms checked against known values, textbook special cases and direct numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from lssc_sim import snr, theory


def q(x):
    return norm.sf(x)


def test_snr_ebno_round_trip_and_value():
    ebno = np.linspace(-5, 20, 11)
    for m, r in [(2, 1.0), (4, 0.5), (6, 5 / 6), (8, 1 / 3)]:
        np.testing.assert_allclose(snr.snr_db_to_ebno_db(snr.ebno_db_to_snr_db(ebno, m, r), m, r), ebno)
    # 16-QAM at rate 1/2 carries 2 information bits per symbol: Es/N0 = Eb/N0 + 3.01 dB
    assert snr.ebno_db_to_snr_db(10.0, 4, 0.5) == pytest.approx(10 + 10 * math.log10(2))
    with pytest.raises(ValueError):
        snr.ebno_db_to_snr_db(0.0, 2, 1.5)


def test_qpsk_awgn_known_point_and_formula():
    assert float(theory.ber_awgn(9.6, "qpsk")) == pytest.approx(1e-5, rel=0.03)  # the classic 9.6 dB
    ebno = np.linspace(-2, 12, 15)
    np.testing.assert_allclose(theory.ber_awgn(ebno, "qpsk"), q(np.sqrt(2 * 10 ** (ebno / 10))), rtol=1e-10)


def test_16qam_awgn_equals_the_textbook_exact_form():
    g = 10 ** (np.linspace(0, 16, 9) / 10)
    a = np.sqrt(4 / 5 * g)  # sqrt(3 log2(M) / (M - 1) Eb/N0) for M = 16
    exact = 0.75 * q(a) + 0.5 * q(3 * a) - 0.25 * q(5 * a)
    np.testing.assert_allclose(theory.ber_awgn(10 * np.log10(g), "16qam"), exact, rtol=1e-10)


@pytest.mark.parametrize(("modulation", "m"), [("16qam", 16), ("64qam", 64), ("256qam", 256)])
def test_mqam_tends_to_nearest_neighbour_approximation(modulation, m):
    k = math.log2(m)
    ebno_db = {16: 14.0, 64: 18.5, 256: 23.0}[m]  # BER around 1e-6 .. 1e-7
    g = 10 ** (ebno_db / 10)
    approx = 4 / k * (1 - 1 / math.sqrt(m)) * q(math.sqrt(3 * k / (m - 1) * g))
    assert float(theory.ber_awgn(ebno_db, modulation)) == pytest.approx(approx, rel=1e-3)
    # at zero SNR every bit is a coin flip
    assert float(theory.ber_awgn(-60.0, modulation)) == pytest.approx(0.5, abs=1e-3)


def test_qpsk_rayleigh_closed_form_and_diversity_order():
    ebno = np.array([0.0, 10.0, 20.0, 30.0])
    g = 10 ** (ebno / 10)
    np.testing.assert_allclose(theory.ber_rayleigh(ebno, "qpsk"), 0.5 * (1 - np.sqrt(g / (1 + g))), rtol=1e-12)
    # diversity order 1: BER ~ 1/(4 Eb/N0) at high SNR, 10x per 10 dB
    assert float(theory.ber_rayleigh(40.0, "qpsk")) == pytest.approx(1 / (4 * 1e4), rel=1e-3)


@pytest.mark.parametrize("modulation", ["16qam", "64qam"])
@pytest.mark.parametrize("ebno_db", [5.0, 15.0, 25.0])
def test_rayleigh_is_the_awgn_ber_averaged_over_fading(modulation, ebno_db):
    mean = 10 ** (ebno_db / 10)

    def integrand(g):  # exponential pdf of the instantaneous Eb/N0
        return theory.ber_awgn(10 * np.log10(g), modulation) * np.exp(-g / mean) / mean

    numeric = integrate.quad(integrand, 1e-14, 60 * mean, limit=400, points=[mean])[0]
    assert float(theory.ber_rayleigh(ebno_db, modulation)) == pytest.approx(numeric, rel=1e-6)
    assert theory.ber_rayleigh(ebno_db, modulation) > theory.ber_awgn(ebno_db, modulation)


def test_shannon_limit():
    assert float(theory.shannon_ebno_limit_db(0.0)) == pytest.approx(-1.5917, abs=1e-4)  # 10 log10(ln 2)
    assert float(theory.shannon_ebno_limit_db(1e-6)) == pytest.approx(-1.59, abs=0.01)
    assert float(theory.shannon_ebno_limit_db(1.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(theory.shannon_ebno_limit_db(2.0)) == pytest.approx(10 * math.log10(1.5))
    # consistency: at the limit, AWGN capacity equals the spectral efficiency
    for eta in (0.5, 1.0, 3.0, 6.0):
        snr_db = snr.ebno_db_to_snr_db(theory.shannon_ebno_limit_db(eta), eta)
        assert float(theory.capacity_awgn(snr_db)) == pytest.approx(eta)
    with pytest.raises(ValueError):
        theory.shannon_ebno_limit_db(-1.0)


def test_capacities():
    assert float(theory.capacity_awgn(0.0)) == pytest.approx(1.0)
    for snr_db in (-40.0, -27.0, -26.99, -10.0, 0.0, 10.0, 30.0):  # both sides of the asymptotic switch
        snr = 10 ** (snr_db / 10)
        numeric = integrate.quad(lambda t, s=snr: np.log2(1 + t * s) * np.exp(-t), 0, np.inf)[0]
        rayleigh = float(theory.capacity_rayleigh(snr_db))
        assert rayleigh == pytest.approx(numeric, rel=1e-8)
        assert rayleigh < float(theory.capacity_awgn(snr_db))  # Jensen: fading costs capacity
    # at high SNR the ergodic loss tends to Euler's gamma * log2(e) = 0.83 bit
    gap = float(theory.capacity_awgn(50.0) - theory.capacity_rayleigh(50.0))
    assert gap == pytest.approx(np.euler_gamma * math.log2(math.e), abs=1e-3)
    # at very low SNR both capacities tend to snr * log2(e) bits
    assert float(theory.capacity_rayleigh(-60.0)) == pytest.approx(1e-6 * math.log2(math.e), rel=1e-5)
