"""The digital link of :class:`~lssc_sim.digital.link.BitLink`, fast: numba encoder, QAM mapper, AWGN, exact
demapper and layered min-sum decoder; other channels keep Sionna's mapper, channel and equalizer in TF, then
demap in numba (per-symbol noise power).

Same counters as ``BitLink.run``; ``BitLink`` with stock Sionna blocks stays the reference.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import tensorflow as tf
from numba import prange
from sionna.phy.mapping import Constellation

from lssc_sim.channels import Channel, equalize
from lssc_sim.channels.awgn import AWGNChannel
from lssc_sim.digital.fast_ldpc import FastLDPC5GDecoder, FastLDPC5GEncoder
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.modem import Modem


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
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (
        1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880)))))))))
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
        m0[:] = -np.inf
        m1[:] = -np.inf
        for p in range(num):
            level, top = levels[p], m1 if (p >> shift) & 1 else m0
            for s in range(sym):
                top[s] = max(top[s], -((y[s] - level) ** 2) * inv_no[s])
        out = row[2 * q + axis:: m]
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
def _map_awgn_demap(coded, noise, no, levels, m, exact, llr):
    """QAM-map ``coded``, add ``sqrt(no/2) * noise`` per axis, and demap to ``llr`` (``[B, n]``)."""
    half, sym = m // 2, coded.shape[1] // m
    sigma = np.float32(np.sqrt(no / 2.0))
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


NOISE_CHUNK_ROWS = 32  # rows per independent noise stream: fixed, so the draws never depend on the thread count


def standard_normal_rows(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Standard normal float32 ``[rows, cols]``, drawn in parallel threads, reproducibly.

    Each chunk of :data:`NOISE_CHUNK_ROWS` rows comes from its own generator spawned from ``rng``; NumPy
    releases the GIL while filling, so the chunks are drawn on all cores, and the result depends only on
    ``rng``'s state, never on how many threads drew it (one draw from ``rng`` seeds the spawned streams).
    """
    out = np.empty((rows, cols), np.float32)
    chunks = range(0, rows, NOISE_CHUNK_ROWS)
    streams = np.random.default_rng(rng.integers(2**63)).spawn(len(chunks))

    def fill(i: int) -> None:
        start = chunks[i]
        streams[i].standard_normal(out=out[start: start + NOISE_CHUNK_ROWS], dtype=np.float32)

    threads = min(numba.get_num_threads(), len(chunks))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, range(len(chunks))))
    else:
        for i in range(len(chunks)):
            fill(i)
    return out


def map_awgn_demap(coded: np.ndarray, no: float, tables: QAMTables, noise: np.ndarray,
                   exact: bool = True) -> np.ndarray:
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
    _map_awgn_demap(np.ascontiguousarray(coded, np.uint8), np.ascontiguousarray(noise, np.float32),
                    float(no), tables.levels, tables.bits_per_symbol, exact, llr)
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


class FastBitLink:
    """``BitLink`` with the fast decoder: same inputs, same counters from :meth:`run`.

    Parameters
    ----------
    modem : Modem
    channel : Channel
        AWGN runs entirely in numba; any other channel keeps Sionna's mapper, channel and equalizer (TF), then
        the numba demapper.
    code : LDPC5GCode
        Its Sionna encoder defines the code; :attr:`encoder` and :attr:`decoder` are the numba ones.
    seed : int, default 0
        Seed of the NumPy generator that draws payload bits and AWGN noise.
    **decoder_options
        Passed to :class:`~lssc_sim.digital.fast_ldpc.FastLDPC5GDecoder` (``max_iter``, ``alpha``, ``beta``).
    """

    def __init__(self, modem: Modem, channel: Channel, code: LDPC5GCode, seed: int = 0,
                 **decoder_options) -> None:
        if code.bits_per_symbol != modem.bits_per_symbol:
            raise ValueError(f"code interleaves for {code.bits_per_symbol} bits per symbol, the modem maps "
                             f"{modem.bits_per_symbol}")
        self.modem, self.channel, self.code = modem, channel, code
        self.encoder = FastLDPC5GEncoder(code._encoder)
        self.decoder = FastLDPC5GDecoder(code._encoder, **decoder_options)
        self.tables = QAMTables(modem.bits_per_symbol)
        self.symbols_per_block = code.n // modem.bits_per_symbol
        self.rng = np.random.default_rng(seed)
        self._tf_front = tf.function(self._tf_front_impl)
        self.last_iterations: np.ndarray | None = None

    def llr(self, coded: np.ndarray, no: float) -> np.ndarray:
        """Channel LLRs ``[B, n]`` (float32) of the coded bits ``[B, n]`` at noise power ``no``."""
        if isinstance(self.channel, AWGNChannel):
            noise = self.rng.standard_normal((coded.shape[0], 2 * self.symbols_per_block), np.float32)
            return map_awgn_demap(coded, no, self.tables, noise, exact=self.modem.demapping == "app")
        x_hat, no_eff = self._tf_front(tf.constant(coded, tf.float32), tf.constant(no, tf.float32))
        return demap(x_hat.numpy(), no_eff.numpy(), self.tables, exact=self.modem.demapping == "app")

    def _tf_front_impl(self, coded: tf.Tensor, no: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Sionna's mapper, the channel and the equalizer: ``x_hat`` and ``no_eff``, ``[B, n / m]``."""
        y, h = self.channel(self.modem.map(coded), no)
        x_hat, no_eff = equalize(y, h, no)
        return x_hat, tf.broadcast_to(no_eff, tf.shape(x_hat))

    def run(self, batch_size: int, no: float) -> dict[str, int]:
        """Send ``batch_size`` blocks at noise power ``no`` (per complex symbol) and count errors.

        Returns
        -------
        dict
            The counters of ``BitLink.run``: ``bit_errors``, ``coded_bit_errors``, ``block_errors``,
            ``crc_failures``, ``bits``, ``coded_bits``, ``blocks``, ``channel_uses``.
            The iterations of each block are kept in :attr:`last_iterations`.
        """
        code = self.code
        bits = self.rng.integers(0, 2, (batch_size, code.payload_bits), dtype=np.uint8)
        coded = self.encoder.encode(bits)
        llr = self.llr(coded, no)
        bits_hat, crc_ok, self.last_iterations = self.decoder.decode(llr)
        block_error = np.any(bits_hat != bits, axis=-1)
        return {
            "bit_errors": int(np.count_nonzero(bits_hat != bits)),
            "coded_bit_errors": int(np.count_nonzero((llr > 0) != coded)),
            "block_errors": int(np.count_nonzero(block_error)),
            "crc_failures": int(np.count_nonzero(~crc_ok)),
            "bits": batch_size * code.payload_bits,
            "coded_bits": batch_size * code.n,
            "blocks": batch_size,
            "channel_uses": batch_size * self.symbols_per_block,
        }
