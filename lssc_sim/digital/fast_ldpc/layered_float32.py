"""Layered normalized offset min-sum in float32 on the twin layout (see :mod:`.twin`).

The layered ("row-by-row", turbo-decoding message passing) schedule of Mansour & Shanbhag (2003) and Chen et
al. (2005): one layer is the ``Z`` check rows of one base-graph row, so the ``Z`` rows are independent and
processed as one vector loop; each codeword stops as soon as its syndrome is zero.

The per-edge kernels index with unsigned offsets instead of taking slices: numba wraps a negative signed index
(which blocks LLVM's vectorizer) and builds each slice with ~20 instructions, per edge. They are inlined into
the layer (``inline="always"``) so that no call and no reference counting of the arrays is left per edge.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from lssc_sim.digital.fast_ldpc.twin import fill_twins, sync_twins, syndrome_ok, write_outputs

_U = np.uint64
_FASTMATH = True  # free vectorizing of min/abs/selects; NaN is cleaned first, without fastmath
_FILLER_LLR = 1e4  # filler bits are known zeros: a magnitude no message can overturn


@numba.njit(cache=True, nogil=True)
def _clean(llr_row, llr_max, ch):
    """``ch[:n]``: the sent LLRs flipped to ``log P0/P1``, clipped, NaN as ``-llr_max`` (as good as any guess);
    then 0 (punctured bits) and the filler belief, the layout :func:`fill_twins` reads.

    No fastmath here: it would let LLVM assume there is no NaN and drop the test that catches it.
    """
    n = llr_row.shape[0]
    for j in range(n):
        x = -llr_row[j]
        x = x if x > -llr_max else -llr_max
        ch[j] = min(x, llr_max)
    ch[n] = 0.0
    ch[n + 1] = _FILLER_LLR


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _gather_min(L, R, a, q, z, min1, min2, sgn):
    """Check-side pass over one edge: running two smallest ``|t|`` and sign parity of ``t[i] = L[a+i] - R[q+i]``."""
    au, qu = _U(a), _U(q)
    for i in range(_U(z)):
        t = L[au + i] - R[qu + i]
        m = abs(t)
        m1 = min1[i]
        min2[i] = m1 if m < m1 else min(m, min2[i])
        min1[i] = min(m, m1)
        sgn[i] ^= np.int32(t < 0)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _messages(min1, min2, v1, v2, alpha, beta, msg_max):
    """The two possible message magnitudes of a layer, ``min(alpha * max(m - beta, 0), msg_max)`` of both
    minima: once per layer instead of once per edge."""
    for i in range(min1.shape[0]):
        v1[i] = min(alpha * max(min1[i] - beta, np.float32(0.0)), msg_max)
        v2[i] = min(alpha * max(min2[i] - beta, np.float32(0.0)), msg_max)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _scatter_msg(L, R, a, q, z, min1, v1, v2, sgn):
    """New check-to-bit messages of one edge and the updated beliefs ``L = t + R`` (indexing as above).

    The edge's own ``|t|`` equals ``min1`` exactly when it is the minimum, or ties with it (then the second
    minimum is that same value): either way its message is ``v2`` (made from the second minimum), so no
    argmin needs storing. ``v2 >= v1 >= 0`` makes the pick a max of a masked value: a plain select of two
    loads becomes a select of their addresses, which LLVM vectorizes as a slow gather.
    """
    au, qu = _U(a), _U(q)
    for i in range(_U(z)):
        t = L[au + i] - R[qu + i]
        m = max(v1[i], v2[i] if abs(t) == min1[i] else np.float32(0.0))
        r = -m if (sgn[i] ^ np.int32(t < 0)) != 0 else m
        R[qu + i] = r
        L[au + i] = t + r


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always")
def _layer(L, R, acc, sgn, z, p0, p1, edge_col, edge_shift, update):
    """One layer: the ``z`` checks of one base row, min-sum over the row's edges, vectorized over ``z``.

    A column appears once per base row, so ``L`` of an edge does not change between its two passes.
    """
    min1, min2, v1, v2 = acc
    alpha, beta, msg_max = update
    min1[:] = np.inf
    min2[:] = np.inf
    sgn[:] = 0
    for e in range(p0, p1):
        _gather_min(L, R, 2 * z * edge_col[e] + edge_shift[e], e * z, z, min1, min2, sgn)
    _messages(min1, min2, v1, v2, alpha, beta, msg_max)
    for e in range(p0, p1):
        c, s = 2 * z * edge_col[e], edge_shift[e]
        _scatter_msg(L, R, c + s, e * z, z, min1, v1, v2, sgn)
        sync_twins(L, c, s, z)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _iterate(L, R, acc, sgn, z, row_ptr, edge_col, edge_shift, max_iter, update):
    """Layered iterations on one codeword until its syndrome is zero or ``max_iter``; returns how many ran."""
    it = 0
    while it < max_iter:
        it += 1
        for r in range(row_ptr.shape[0] - 1):
            _layer(L, R, acc, sgn, z, row_ptr[r], row_ptr[r + 1], edge_col, edge_shift, update)
        if syndrome_ok(L, z, row_ptr, edge_col, edge_shift, sgn):
            break
    return it


@numba.njit(cache=True, nogil=True, parallel=True)
def decode_batch_float32(llr: np.ndarray, graph: tuple, params: tuple, out: tuple, chunks: int) -> None:
    """Decode every row of ``llr`` in float32, ``chunks`` contiguous chunks of rows in parallel.

    Parameters
    ----------
    llr : [b, n], np.float32
        Channel LLRs in Sionna's convention ``log P1/P0``.
    graph : tuple
        ``(gather, row_ptr, edge_col, edge_shift, z)``: :func:`gather_index` ([n_dec], np.uint32), the kept
        edges of :class:`RateMatching` (np.int64) and the lifting size.
    params : tuple
        ``(max_iter, alpha, beta, llr_max, msg_max)``: int, then np.float32; check update
        ``min(alpha * max(|m| - beta, 0), msg_max)``, channel LLR clip.
    out : tuple
        Written: ``(bits [b, k] np.uint8, crc_ok [b] bool, iterations [b] np.int32, codeword [b or 0, n_dec]
        np.uint8)``, see :func:`write_outputs`.
    chunks : int
        Parallel work items; a codeword's result does not depend on it.
    """
    gather, row_ptr, edge_col, edge_shift, z = graph
    max_iter, alpha, beta, llr_max, msg_max = params
    bits, crc_ok, iterations, codeword = out
    b_total, n, n_dec = llr.shape[0], llr.shape[1], gather.shape[0]
    update = (alpha, beta, msg_max)
    # scratch once per chunk of codewords, not per codeword: R alone is ~150 kB, which malloc serves with
    # fresh zeroed pages (mmap) each time; a chunk's codewords reuse it (R is zeroed per codeword)
    for chunk in prange(chunks):
        ch = np.empty(n + 2, np.float32)
        L = np.empty(2 * n_dec, np.float32)
        R = np.empty(edge_col.shape[0] * z, np.float32)
        # four arrays, not the rows of one [4, z] array: with those the layer ran 3-6x slower
        acc = (np.empty(z, np.float32), np.empty(z, np.float32), np.empty(z, np.float32), np.empty(z, np.float32))
        sgn = np.empty(z, np.int32)
        for b in range(chunk * b_total // chunks, (chunk + 1) * b_total // chunks):
            R[:] = 0.0
            _clean(llr[b], llr_max, ch)
            fill_twins(ch, gather, z, L)
            iterations[b] = _iterate(L, R, acc, sgn, z, row_ptr, edge_col, edge_shift, max_iter, update)
            write_outputs(L, z, b, bits, crc_ok, codeword)
