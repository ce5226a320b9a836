"""Layered offset min-sum in 16-bit fixed point on the twin layout (see :mod:`.twin`).

The schedule and check update of :mod:`.layered_float32` on int16 beliefs ``L`` and check messages ``R`` in
units of ``1/scale`` LLR: a vector register holds 16 lanes instead of 8, and ``L`` and ``R`` take half the
cache. Channel LLRs are rounded to that grid; min-sum itself needs no rounding (it compares, subtracts the
offset and adds), so the input quantization is the only loss (with ``alpha != 1`` also the normalization).

No saturation is needed: in exact integer arithmetic a belief stays its channel value plus its column's
current messages, ``|L| <= llr_max + degree * msg_max``, which :func:`int16_bounds` checks fits in int16.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from lssc_sim.digital.fast_ldpc.twin import fill_twins, sync_twins, syndrome_ok, write_outputs

_I16 = np.int16  # numba widens integer arithmetic to int64: casting results back keeps LLVM in 16-bit lanes
_U = np.uint64  # unsigned offsets: see layered_float32
INT16_MAX = 32767
ALPHA_ONE = 1 << 15
"""``alpha`` is passed as ``alpha_q = round(alpha * 2**15)``: messages are ``(m * alpha_q) >> 15``."""


def int16_bounds(max_degree: int, filler_degree: int, llr_max_q: int, msg_max_q: int, beta_q: int, alpha: float) -> int:
    """Check that fixed-point beliefs cannot overflow and return the filler bits' belief.

    Parameters
    ----------
    max_degree, filler_degree : int
        Largest number of kept checks on one bit, and on one filler bit (0 without filler).
    llr_max_q, msg_max_q, beta_q : int
        Channel clip, message clip and offset, in fixed-point units.
    alpha : float
        Normalization of the check update.

    Returns
    -------
    int
        Belief of the known-zero filler bits: the largest that cannot overflow. Even with every other message
        against it, its ``t = L - R`` then stays so high that ``alpha * (t - beta) >= msg_max``: it never
        flips a sign nor lowers a message, like the float32 path's 1e4.

    Raises
    ------
    ValueError
        ``llr_max + degree * msg_max`` or the filler belief does not fit in int16.
    """
    filler = INT16_MAX - filler_degree * msg_max_q
    lowest_t = filler - max(filler_degree - 1, 0) * msg_max_q
    if llr_max_q + max_degree * msg_max_q > INT16_MAX or alpha * (lowest_t - beta_q) < msg_max_q:
        raise ValueError(
            f"int16 beliefs could overflow: column degree {max_degree} (filler {filler_degree}), llr_max "
            f"{llr_max_q}, msg_max {msg_max_q} in fixed-point units; lower msg_max or scale"
        )
    return filler


@numba.njit(cache=True, nogil=True)
def _quantize(llr_row, scale, llr_max_q, filler_q, ch):
    """``ch[:n]``: the sent LLRs flipped to ``log P0/P1``, scaled, clipped (NaN as ``-llr_max``, as in the
    float32 path) and rounded to the fixed-point grid; then 0 (punctured bits) and ``filler_q``."""
    n = llr_row.shape[0]
    lim = np.float32(llr_max_q)
    for j in range(n):
        x = -llr_row[j] * scale
        x = x if x > -lim else -lim
        ch[j] = _I16(np.rint(min(x, lim)))
    ch[n] = 0
    ch[n + 1] = filler_q


@numba.njit(cache=True, nogil=True, inline="always")
def _gather_min(L, R, a, q, z, min1, min2, sgn):
    """Check-side pass over one edge: running two smallest ``|t|`` and sign parity of ``t[i] = L[a+i] - R[q+i]``."""
    au, qu = _U(a), _U(q)
    for i in range(_U(z)):
        t = _I16(L[au + i] - R[qu + i])
        m = _I16(abs(t))
        m1 = min1[i]
        min2[i] = m1 if m < m1 else min(m, min2[i])
        min1[i] = min(m, m1)
        sgn[i] ^= _I16(t < 0)


@numba.njit(cache=True, nogil=True, inline="always")
def _gather_min4(L, R, a0, a1, a2, a3, q, z, min1, min2, sgn):
    """:func:`_gather_min` of four edges at once (``R`` offsets ``q + j*z``): the loop set-up (alias checks,
    ~100 instructions) and the loads and stores of the running minima are paid once per four edges."""
    a0u, a1u, a2u, a3u, qu, zu = _U(a0), _U(a1), _U(a2), _U(a3), _U(q), _U(z)
    for i in range(zu):
        t0 = _I16(L[a0u + i] - R[qu + i])
        t1 = _I16(L[a1u + i] - R[qu + zu + i])
        t2 = _I16(L[a2u + i] - R[qu + _U(2) * zu + i])
        t3 = _I16(L[a3u + i] - R[qu + _U(3) * zu + i])
        m1, m2 = min1[i], min2[i]
        # insert each |t| into the running pair: the same two smallest as one edge at a time
        m = _I16(abs(t0))
        m2, m1 = min(m2, max(m1, m)), min(m1, m)
        m = _I16(abs(t1))
        m2, m1 = min(m2, max(m1, m)), min(m1, m)
        m = _I16(abs(t2))
        m2, m1 = min(m2, max(m1, m)), min(m1, m)
        m = _I16(abs(t3))
        m2, m1 = min(m2, max(m1, m)), min(m1, m)
        min1[i], min2[i] = m1, m2
        sgn[i] ^= _I16(_I16(t0 ^ t1 ^ t2 ^ t3) < 0)  # the sign bit of the XOR is the parity of the four signs


@numba.njit(cache=True, nogil=True, inline="always")
def _messages(min1, min2, v1, v2, alpha_q, beta_q, msg_max_q):
    """The two possible message magnitudes of a layer, ``min(alpha * max(m - beta, 0), msg_max)`` of both
    minima (in int64, which ``m * alpha_q`` needs; once per layer, so the width does not matter)."""
    for i in range(min1.shape[0]):
        a = (max(np.int64(min1[i]) - beta_q, 0) * np.int64(alpha_q)) >> 15
        b = (max(np.int64(min2[i]) - beta_q, 0) * np.int64(alpha_q)) >> 15
        v1[i] = _I16(min(a, msg_max_q))
        v2[i] = _I16(min(b, msg_max_q))


@numba.njit(cache=True, nogil=True, inline="always")
def _scatter_msg(L, R, a, q, z, min1, v1, v2, sgn):
    """New check-to-bit messages of one edge and the updated beliefs ``L = t + R``: the float32 kernel (see
    there why the message is a masked max) in int16."""
    au, qu = _U(a), _U(q)
    for i in range(_U(z)):
        t = _I16(L[au + i] - R[qu + i])
        m = max(v1[i], v2[i] if _I16(abs(t)) == min1[i] else _I16(0))
        r = _I16(-m) if (sgn[i] ^ _I16(t < 0)) != 0 else m
        R[qu + i] = r
        L[au + i] = _I16(t + r)


@numba.njit(cache=True, nogil=True, inline="always")
def _layer(L, R, acc, sgn, z, p0, p1, edge_col, edge_shift, update):
    """One layer, as in :mod:`.layered_float32`; the check-side pass takes the edges four at a time."""
    min1, min2, v1, v2 = acc
    alpha_q, beta_q, msg_max_q = update
    min1[:] = INT16_MAX
    min2[:] = INT16_MAX
    sgn[:] = 0
    e = p0
    while e + 4 <= p1:
        a0, a1 = 2 * z * edge_col[e] + edge_shift[e], 2 * z * edge_col[e + 1] + edge_shift[e + 1]
        a2, a3 = 2 * z * edge_col[e + 2] + edge_shift[e + 2], 2 * z * edge_col[e + 3] + edge_shift[e + 3]
        _gather_min4(L, R, a0, a1, a2, a3, e * z, z, min1, min2, sgn)
        e += 4
    while e < p1:
        _gather_min(L, R, 2 * z * edge_col[e] + edge_shift[e], e * z, z, min1, min2, sgn)
        e += 1
    _messages(min1, min2, v1, v2, alpha_q, beta_q, msg_max_q)
    for e in range(p0, p1):
        c, s = 2 * z * edge_col[e], edge_shift[e]
        _scatter_msg(L, R, c + s, e * z, z, min1, v1, v2, sgn)
        sync_twins(L, c, s, z)


@numba.njit(cache=True, nogil=True)
def _iterate(L, R, acc, sgn, par, z, row_ptr, edge_col, edge_shift, max_iter, update):
    """Layered iterations on one codeword until its syndrome is zero or ``max_iter``; returns how many ran."""
    it = 0
    while it < max_iter:
        it += 1
        for r in range(row_ptr.shape[0] - 1):
            _layer(L, R, acc, sgn, z, row_ptr[r], row_ptr[r + 1], edge_col, edge_shift, update)
        if syndrome_ok(L, z, row_ptr, edge_col, edge_shift, par):
            break
    return it


@numba.njit(cache=True, nogil=True, parallel=True)
def decode_batch_int16(llr: np.ndarray, graph: tuple, params: tuple, out: tuple, chunks: int) -> None:
    """Decode every row of ``llr`` in int16 fixed point, ``chunks`` contiguous chunks of rows in parallel.

    Parameters
    ----------
    llr : [b, n], np.float32
        Channel LLRs in Sionna's convention ``log P1/P0``.
    graph : tuple
        ``(gather, row_ptr, edge_col, edge_shift, z)`` as for :func:`decode_batch_float32`.
    params : tuple
        ``(max_iter, scale, alpha_q, beta_q, llr_max_q, msg_max_q, filler_q)``: int, np.float32 (fixed-point
        units per LLR unit), then ints: ``alpha * 2**15``, offset, channel and message clips and the filler
        belief (:func:`int16_bounds`) in fixed-point units.
    out : tuple
        Written: ``(bits, crc_ok, iterations, codeword)`` as for :func:`decode_batch_float32`.
    chunks : int
        Parallel work items; a codeword's result does not depend on it.
    """
    gather, row_ptr, edge_col, edge_shift, z = graph
    max_iter, scale, alpha_q, beta_q, llr_max_q, msg_max_q, filler_q = params
    bits, crc_ok, iterations, codeword = out
    b_total, n, n_dec = llr.shape[0], llr.shape[1], gather.shape[0]
    update = (alpha_q, beta_q, msg_max_q)
    for chunk in prange(chunks):  # scratch per chunk, as in the float32 driver
        ch = np.empty(n + 2, np.int16)
        L = np.empty(2 * n_dec, np.int16)
        R = np.empty(edge_col.shape[0] * z, np.int16)
        # four arrays, not the rows of one [4, z] array: with those the layer ran 3-6x slower
        acc = (np.empty(z, np.int16), np.empty(z, np.int16), np.empty(z, np.int16), np.empty(z, np.int16))
        sgn = np.empty(z, np.int16)
        par = np.empty(z, np.int32)
        for b in range(chunk * b_total // chunks, (chunk + 1) * b_total // chunks):
            R[:] = 0
            _quantize(llr[b], scale, llr_max_q, filler_q, ch)
            fill_twins(ch, gather, z, L)
            iterations[b] = _iterate(L, R, acc, sgn, par, z, row_ptr, edge_col, edge_shift, max_iter, update)
            write_outputs(L, z, b, bits, crc_ok, codeword)
