"""Closed-form reference curves: uncoded QAM BER, Shannon limits and capacities.

NumPy/SciPy only. Conventions: SNR is Es/N0 per complex symbol, Eb is the energy per information bit; the
conversions between them live in :mod:`lssc_sim.snr`. All dB values are 10*log10 of power ratios.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erfc, exp1

QAM_ORDERS: dict[str, int] = {"qpsk": 4, "16qam": 16, "64qam": 64, "256qam": 256}
"""Constellation size M of each modulation (Gray-labelled square QAM)."""


@lru_cache
def _cho_yoon_terms(modulation: str) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``w``, coefficients ``c`` with ``BER = sum_j w_j erfc(sqrt(c_j Eb/N0))`` (Cho & Yoon 2002)."""
    if modulation not in QAM_ORDERS:
        raise ValueError(f"modulation must be one of {', '.join(map(repr, QAM_ORDERS))}; got {modulation!r}")
    m = QAM_ORDERS[modulation]
    sqrt_m = math.isqrt(m)
    bits_per_dim = int(math.log2(sqrt_m))  # bits per I or Q rail
    coeffs: dict[int, float] = {}
    # K. Cho, D. Yoon, "On the general BER expression of one- and two-dimensional amplitude modulations",
    # IEEE Trans. Commun. 50(7), 2002, eq. (14): P_b = 1/log2(sqrt M) * sum_k P_b(k), with
    # P_b(k) = 1/sqrt(M) sum_i (-1)^floor(i 2^(k-1)/sqrt M) (2^(k-1) - floor(i 2^(k-1)/sqrt M + 1/2))
    #          * erfc((2i+1) sqrt(3 log2(M) Eb/N0 / (2 (M-1)))).
    for k in range(1, bits_per_dim + 1):
        for i in range(int((1 - 2.0**-k) * sqrt_m)):
            f = (i * 2 ** (k - 1)) // sqrt_m
            weight = (-1) ** f * (2 ** (k - 1) - math.floor(i * 2 ** (k - 1) / sqrt_m + 0.5))
            coeffs[i] = coeffs.get(i, 0.0) + weight / (sqrt_m * bits_per_dim)
    i = np.array(sorted(coeffs))
    w = np.array([coeffs[j] for j in i])
    c = (2 * i + 1) ** 2 * 3 * math.log2(m) / (2 * (m - 1))
    return w, c


def ber_awgn(ebno_db: ArrayLike, modulation: str) -> np.ndarray:
    """Exact bit error rate of Gray-labelled square M-QAM over AWGN with coherent ML symbol detection.

    Cho & Yoon (2002) closed form, a weighted sum of ``erfc`` terms; for QPSK it reduces to
    ``Q(sqrt(2 Eb/N0))``.

    Parameters
    ----------
    ebno_db : float or array
        Eb/N0 in dB (uncoded, Eb per bit).
    modulation : {"qpsk", "16qam", "64qam", "256qam"}

    Returns
    -------
    np.ndarray of float
        Bit error probability, same shape as ``ebno_db``.
    """
    w, c = _cho_yoon_terms(modulation)
    g = _db_to_lin(ebno_db)[..., None]
    return np.sum(w * erfc(np.sqrt(c * g)), axis=-1)


def ber_rayleigh(ebno_db: ArrayLike, modulation: str) -> np.ndarray:
    """Exact bit error rate of Gray square M-QAM over flat Rayleigh fading with perfect CSI.

    The Cho & Yoon AWGN expression averaged over the exponential distribution of the instantaneous SNR
    (``E[erfc(sqrt(c g))] = 1 - sqrt(c gm / (1 + c gm))``; symbol-by-symbol independent fading, i.e. any
    coherence, since uncoded BER only depends on the per-symbol SNR distribution). For QPSK it reduces to
    ``0.5 (1 - sqrt(gm / (1 + gm)))``.

    Parameters
    ----------
    ebno_db : float or array
        Average Eb/N0 in dB (``E|h|^2 = 1``).
    modulation : {"qpsk", "16qam", "64qam", "256qam"}

    Returns
    -------
    np.ndarray of float
        Bit error probability, same shape as ``ebno_db``.
    """
    w, c = _cho_yoon_terms(modulation)
    cg = c * _db_to_lin(ebno_db)[..., None]
    return np.sum(w * (1.0 - np.sqrt(cg / (1.0 + cg))), axis=-1)


def shannon_ebno_limit_db(spectral_efficiency: ArrayLike) -> np.ndarray:
    """Smallest Eb/N0 for reliable communication over AWGN at a given spectral efficiency.

    ``Eb/N0 >= (2**eta - 1) / eta``; tends to ln 2 (-1.59 dB) as ``eta -> 0``.

    Parameters
    ----------
    spectral_efficiency : float or array
        ``eta`` in information bits per complex channel use (code rate * bits per symbol), >= 0.

    Returns
    -------
    np.ndarray of float
        Eb/N0 limit in dB.
    """
    eta = np.asarray(spectral_efficiency, dtype=float)
    if np.any(eta < 0):
        raise ValueError(f"spectral_efficiency must be >= 0; got {spectral_efficiency!r}")
    safe = np.where(eta > 0, eta, 1.0)
    ratio = np.where(eta > 0, np.expm1(safe * math.log(2.0)) / safe, math.log(2.0))
    return 10.0 * np.log10(ratio)


def capacity_awgn(snr_db: ArrayLike) -> np.ndarray:
    """AWGN capacity ``log2(1 + Es/N0)`` in bits per complex channel use (Gaussian input).

    Parameters
    ----------
    snr_db : float or array
        Es/N0 in dB.
    """
    return np.log2(1.0 + _db_to_lin(snr_db))


def capacity_rayleigh(snr_db: ArrayLike) -> np.ndarray:
    """Ergodic capacity of flat Rayleigh fading with receiver CSI, in bits per complex channel use.

    ``E[log2(1 + |h|^2 snr)] = log2(e) exp(1/snr) E1(1/snr)`` with ``E|h|^2 = 1``.

    Parameters
    ----------
    snr_db : float or array
        Average Es/N0 in dB.
    """
    x = 1.0 / _db_to_lin(snr_db)
    # exp(x) E1(x) overflows for large x (very low SNR); there its asymptotic series converges fast.
    small = np.minimum(x, 500.0)
    direct = np.exp(small) * exp1(small)
    big = np.maximum(x, 500.0)
    series = (1 - 1 / big + 2 / big**2 - 6 / big**3 + 24 / big**4) / big
    return math.log2(math.e) * np.where(x <= 500.0, direct, series)


def _db_to_lin(db: ArrayLike) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=float) / 10.0)
