"""Gray QAM in numba, bit-compatible with Sionna's ``Mapper``/``Demapper`` (the reference its tests compare with):
mapping, the fused map + AWGN + demap of the noise-only path, and exact APP (or max-log) demapping with
per-symbol noise power (the fading channel and its equalizer are in ``lssc_sim/channels/fading_numpy.py``).

Sionna's square QAM is two Gray PAM axes (even bits pick the real level, odd bits the imaginary one), and with
circular noise the APP LLR of an axis' bit depends only on that axis: summing over the ``sqrt(M)`` levels of
one axis is exact and ``sqrt(M)`` times cheaper than over the ``M`` points.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

_NEG = np.float32(-3e38)


class QAMTables:
    """Sionna's Gray QAM split into two PAM axes, for mapping and per-axis exact demapping.

    Sionna's square QAM labels point ``l`` with bits ``b_0..b_{m-1}`` (``b_0`` the MSB of ``l``): even bits
    pick the real PAM level, odd bits the imaginary one (``sionna.phy.mapping.qam``). Since the complex noise
    is circular, the APP LLR of a real-axis bit depends only on ``Re y``: summing over the ``sqrt(M)`` levels
    of one axis is exact and ``sqrt(M)`` times cheaper than over the ``M`` points.

    Parameters
    ----------
    bits_per_symbol : int
        Even, 2..8.

    Attributes
    ----------
    levels : [sqrt(M)], np.float32
        PAM level of each axis sub-label (the axis' bits read MSB first).
    """

    def __init__(self, bits_per_symbol: int) -> None:
        from sionna.phy.mapping import Constellation  # the reference constellation the tables are read from

        m = bits_per_symbol
        points = Constellation("qam", m, precision="single").points.numpy()
        labels = np.arange(2**m)
        bits = (labels[:, None] >> (m - 1 - np.arange(m))) & 1
        weights = 1 << np.arange(m // 2)[::-1]
        sub_re, sub_im = bits[:, 0::2] @ weights, bits[:, 1::2] @ weights
        levels = np.empty(2 ** (m // 2), np.float32)
        levels[sub_re] = points.real
        # the imaginary axis must use the same levels with the odd bits, or the split is wrong
        if not np.allclose(levels[sub_re] + 1j * levels[sub_im], points, atol=1e-6):
            raise ValueError("Sionna's QAM is not the separable Gray QAM this module assumes")
        self.bits_per_symbol, self.levels = m, levels


@numba.njit(inline="always", fastmath=True)
def _exp_clamped(x):
    """``exp(max(x, -24))`` for ``x <= 0``, to float32 accuracy, in a form LLVM vectorizes.

    numba has no vector ``exp`` here (no SVML), and a scalar libm call per term was most of the demapper's
    time. ``exp(r)`` with ``r = x/64`` in ``[-0.375, 0]`` is its Taylor polynomial (degree 9, error below
    1e-11) in float64, then squared six times; relative error below 1e-9, 8 lanes per instruction.
    A term below ``exp(-24)`` of the largest (which adds 1) cannot change a float32 sum, hence the clamp.
    """
    r = max(np.float64(x), -24.0) * (1.0 / 64.0)
    p = 1.0 + r * (
        1.0
        + r
        * (
            1 / 2
            + r
            * (
                1 / 6
                + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880))))))
            )
        )
    )
    for _ in range(6):
        p = p * p
    return p


@numba.njit(cache=True, nogil=True, fastmath=True)
def _demap_axis(y, inv_no, levels, m, axis, exact, row, m0, m1, s0, s1):
    """LLRs of one axis' bits of a row (``row[2q + axis :: m]``) from its values ``y`` and ``1/no``, ``[sym]``.

    Every step is a plain loop over the row's symbols with the level and bit fixed outside it, so LLVM
    vectorizes it: the per-set maxima of the metrics ``-(y - level)^2 / no``, then (exact) the log-sum-exp
    around them, ``LLR = (m1 - m0) + log(S1 / S0)``. ``m0, m1, s0, s1`` are ``[sym]`` scratch.
    """
    half, num, sym = m // 2, levels.shape[0], y.shape[0]
    for q in range(half):
        shift = half - 1 - q  # bit q of the axis is bit `shift` of the level's sub-label
        m0[:] = _NEG  # a finite sentinel: fastmath assumes no infinities
        m1[:] = _NEG
        for p in range(num):
            level, top = levels[p], m1 if (p >> shift) & 1 else m0
            for s in range(sym):
                top[s] = max(top[s], -((y[s] - level) ** 2) * inv_no[s])
        out = row[2 * q + axis :: m]
        if exact and num > 2:  # one level per bit value (QPSK) makes max-log exact
            s0[:] = 0.0
            s1[:] = 0.0
            for p in range(num):
                one = (p >> shift) & 1
                level, top, acc = levels[p], m1 if one else m0, s1 if one else s0
                for s in range(sym):
                    acc[s] += _exp_clamped(-((y[s] - level) ** 2) * inv_no[s] - top[s])
            for s in range(sym):
                out[s] = (m1[s] - m0[s]) + np.log(s1[s] / s0[s])
        else:
            for s in range(sym):
                out[s] = m1[s] - m0[s]


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _qpsk_awgn_demap(coded, noise, sigma, inv_no, levels, llr):
    """QPSK in one pass: ``y = level(b) + sigma n`` and ``LLR = ((y - l0)^2 - (y - l1)^2) / no``, which is
    ``(l1 - l0) (2 y - l0 - l1) / no``: the same max-log (here exact) LLR ``_demap_axis`` computes."""
    l0, l1 = levels[0], levels[1]
    gain, offset = (l1 - l0) * inv_no, l0 + l1
    for b in prange(coded.shape[0]):
        bits, noise_row, out = coded[b], noise[b], llr[b]
        for j in range(coded.shape[1]):  # bit j is axis j % 2 of symbol j // 2: noise index j
            y = (l1 if bits[j] else l0) + sigma * noise_row[j]
            out[j] = gain * (2 * y - offset)


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _map_awgn_demap(coded, noise, no, levels, m, exact, llr):
    """QAM-map ``coded``, add ``sqrt(no/2) * noise`` per axis, and demap to ``llr`` (``[B, n]``)."""
    half, sym = m // 2, coded.shape[1] // m
    sigma = np.float32(np.sqrt(no / 2.0))
    if m == 2:  # QPSK: one level per bit value, so max-log is exact and the LLR is linear in y
        _qpsk_awgn_demap(coded, noise, sigma, np.float32(1.0 / no), levels, llr)
        return
    for b in prange(coded.shape[0]):
        y, inv_no = np.empty(sym, np.float32), np.full(sym, np.float32(1.0 / no))
        m0, m1 = np.empty(sym, np.float32), np.empty(sym, np.float32)
        s0, s1 = np.empty(sym, np.float32), np.empty(sym, np.float32)
        noise_row, bits = noise[b], coded[b]
        for axis in range(2):  # real axis: even bits of each symbol; imaginary: odd bits
            for s in range(sym):
                index = 0
                for q in range(half):
                    index = (index << 1) | bits[s * m + 2 * q + axis]
                y[s] = levels[index] + sigma * noise_row[2 * s + axis]
            _demap_axis(y, inv_no, levels, m, axis, exact, llr[b], m0, m1, s0, s1)


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=True)
def _demap(y_iq, no, levels, m, exact, llr):
    """Demap received symbols ``y_iq`` (``[B, 2 sym]``, real and imaginary parts interleaved) with per-symbol
    noise power ``no`` (``[B, sym]``) to ``llr`` (``[B, sym * m]``)."""
    sym = no.shape[1]
    if m == 2:  # QPSK: the LLR is linear in y (as in _qpsk_awgn_demap), with each symbol's own noise power
        gain, offset = levels[1] - levels[0], levels[0] + levels[1]
        for b in prange(y_iq.shape[0]):
            for j in range(2 * sym):
                llr[b, j] = gain * (2 * y_iq[b, j] - offset) / no[b, j // 2]
        return
    for b in prange(y_iq.shape[0]):
        y, inv_no = np.empty(sym, np.float32), np.empty(sym, np.float32)
        m0, m1 = np.empty(sym, np.float32), np.empty(sym, np.float32)
        s0, s1 = np.empty(sym, np.float32), np.empty(sym, np.float32)
        for s in range(sym):
            inv_no[s] = np.float32(1.0) / no[b, s]
        for axis in range(2):
            for s in range(sym):
                y[s] = y_iq[b, 2 * s + axis]
            _demap_axis(y, inv_no, levels, m, axis, exact, llr[b], m0, m1, s0, s1)


def map_awgn_demap(
    coded: np.ndarray, no: float, tables: QAMTables, noise: np.ndarray, exact: bool = True
) -> np.ndarray:
    """Sionna-compatible QAM mapping, AWGN and APP (or max-log) demapping in one pass.

    Parameters
    ----------
    coded : [B, n], np.uint8
        Coded bits, ``n`` a multiple of ``bits_per_symbol``.
    no : float
        Noise power per complex symbol (linear); symbols have unit average energy.
    tables : QAMTables
    noise : [B, 2 * n / bits_per_symbol], np.float32
        Standard normal draws, real and imaginary axis interleaved; ``noise = 0`` gives the noise-free LLRs.
    exact : bool, default True
        Exact APP LLRs (Sionna's ``Demapper("app")``) or max-log.

    Returns
    -------
    [B, n], np.float32
        LLRs ``log(P(b=1)/P(b=0))``.
    """
    llr = np.empty(coded.shape, np.float32)
    _map_awgn_demap(
        np.ascontiguousarray(coded, np.uint8),
        np.ascontiguousarray(noise, np.float32),
        float(no),
        tables.levels,
        tables.bits_per_symbol,
        exact,
        llr,
    )
    return llr


def demap(x_hat: np.ndarray, no: np.ndarray, tables: QAMTables, exact: bool = True) -> np.ndarray:
    """Sionna-compatible APP (or max-log) demapping of equalized symbols with per-symbol noise power.

    Parameters
    ----------
    x_hat : [B, S], complex64
        Equalized symbols (unit average energy constellation).
    no : [B, S] or broadcastable, float
        Effective noise power per complex symbol after equalization (``no / |h|^2`` for zero forcing).
    tables : QAMTables
    exact : bool, default True

    Returns
    -------
    [B, S * bits_per_symbol], np.float32
        LLRs ``log(P(b=1)/P(b=0))``.
    """
    x_hat = np.ascontiguousarray(x_hat, np.complex64)
    no = np.ascontiguousarray(np.broadcast_to(no, x_hat.shape), np.float32)
    llr = np.empty((x_hat.shape[0], x_hat.shape[1] * tables.bits_per_symbol), np.float32)
    _demap(x_hat.view(np.float32), no, tables.levels, tables.bits_per_symbol, exact, llr)
    return llr


@numba.njit(cache=True, nogil=True, parallel=True)
def _map(coded, levels, m, out):
    half = m // 2
    for b in prange(coded.shape[0]):
        for s in range(out.shape[1]):
            re = im = 0
            for q in range(half):
                re = (re << 1) | coded[b, s * m + 2 * q]
                im = (im << 1) | coded[b, s * m + 2 * q + 1]
            out[b, s] = levels[re] + 1j * levels[im]


def qam_map(coded: np.ndarray, tables: QAMTables) -> np.ndarray:
    """Sionna-compatible Gray QAM mapping of coded bits ``[B, n]`` (0/1, ``n`` a multiple of the bits per symbol)
    to unit-energy symbols ``[B, n / bits_per_symbol]``, complex64."""
    coded = np.ascontiguousarray(coded, np.uint8)
    m = tables.bits_per_symbol
    out = np.empty((coded.shape[0], coded.shape[1] // m), np.complex64)
    _map(coded, tables.levels, m, out)
    return out
