"""Fast 5G LDPC encoder and layered offset-min-sum decoder in numba, bit-compatible with Sionna's 5G blocks.

Both are built from a Sionna ``LDPC5GEncoder`` (its base graph, lifting size ``Z``, filler bits and output
interleaver) and mirror Sionna's rate matching (38.212 5.4.2): the first ``2Z`` systematic bits are punctured,
the ``k_ldpc - k`` filler bits after the information bits are known zeros and are not sent, the codeword is
cut after ``n`` bits and, for ``bits_per_symbol > 1``, interleaved by 38.212 5.4.2.2. Sionna's
``LDPC5GEncoder`` and ``LDPC5GDecoder`` (boxplus-phi, flooding) stay the reference the tests compare with.

The decoder is the layered ("row-by-row", turbo-decoding message passing) normalized offset min-sum of
Mansour & Shanbhag (2003) and Chen et al. (2005): one layer is the ``Z`` check rows of one base-graph row,
so the ``Z`` rows are independent and processed as one vector loop; each codeword stops as soon as its
syndrome is zero. Codewords are decoded in parallel (``numba.prange``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

CRC24B_POLY = 0x800063
"""CRC24B generator ``D^24 + D^23 + D^6 + D^5 + D + 1`` (38.212 5.1) without its ``D^24`` term."""
CRC_BITS = 24
_FASTMATH = True  # free vectorizing of min/abs/selects; NaN is cleaned first (False not benchmarked)
_FILLER_LLR = 1e4  # filler bits are known zeros: a magnitude no message can overturn


class RateMatching:
    """Where each sent bit sits in the lifted 5G codeword, and which part of the graph the decoder keeps.

    Mirrors ``LDPC5GEncoder.call`` (filler removal, ``2Z`` puncturing, cut after ``n``, output interleaver)
    and the pruning of ``LDPC5GDecoder`` (trailing degree-1 parity columns never sent, and their rows).

    Parameters
    ----------
    encoder : sionna.phy.fec.ldpc.LDPC5GEncoder
        The encoder whose code and rate matching to mirror.

    Attributes
    ----------
    z, k, n, k_ldpc, k_b : int
        Lifting size, information bits, sent bits, information bits incl. filler, systematic base columns.
    n_dec : int
        Codeword bits the decoder keeps (whole base columns): ``cols * z``.
    tx_index : [n], np.int64
        Position in the lifted codeword of each sent bit.
    rows, cols : int
        Base-graph rows and columns the decoder keeps.
    row_ptr : [rows + 1], np.int64; edge_col, edge_shift : [num_edges], np.int64
        Base-graph edges of the kept rows (CSR): check ``r*z + i`` touches bit ``col*z + (i + shift) % z``.
    """

    def __init__(self, encoder) -> None:
        z, k, n = int(encoder.z), int(encoder.k), int(encoder.n)
        self.z, self.k, self.n = z, k, n
        self.k_ldpc, self.k_b = int(encoder.k_ldpc), int(encoder._k_b)
        bm = np.asarray(encoder._bm, dtype=np.int64)
        # sent bits before interleaving: systematic bits 2Z..k-1, then parity from k_ldpc on (filler skipped)
        p = np.arange(n)
        pre = np.where(p < k - 2 * z, 2 * z + p, self.k_ldpc + p - (k - 2 * z))
        out_int = getattr(encoder, "_out_int", None)
        self.tx_index = pre[np.asarray(out_int)] if encoder.num_bits_per_symbol is not None else pre
        # keep base columns up to the last sent bit, but never cut into the core (Sionna's last_pos rule)
        last_sent = int(self.tx_index.max()) + 1
        self.cols = max(-(-last_sent // z), self.k_b + 4)
        self.rows = self.cols - self.k_b
        self.n_dec = self.cols * z
        sub = bm[: self.rows, : self.cols]
        r_idx, c_idx = np.nonzero(sub >= 0)
        self.row_ptr = np.searchsorted(r_idx, np.arange(self.rows + 1)).astype(np.int64)
        self.edge_col = c_idx.astype(np.int64)
        self.edge_shift = (sub[r_idx, c_idx] % z).astype(np.int64)
        # source of each decoder input: sent bit j (>= 0), punctured (-1) or filler (-2)
        src = np.full(self.n_dec, -1, dtype=np.int64)
        src[k : self.k_ldpc] = -2
        src[self.tx_index] = np.arange(n)
        self.src = src


# --------------------------------------------------------------------------------------------- CRC24B
@numba.njit(cache=True, nogil=True)
def _crc24b(bits: np.ndarray, start: int, length: int) -> int:
    """CRC24B register of ``bits[start:start+length]`` (first bit = highest power), as an int."""
    reg = 0
    for j in range(start, start + length):
        fb = ((reg >> 23) & 1) ^ np.int64(bits[j])
        reg = ((reg << 1) & 0xFFFFFF) ^ (CRC24B_POLY & -fb)  # branch-free: the feedback bit is random
    return reg


@numba.njit(cache=True, nogil=True, parallel=True)
def _crc24b_attach(payload: np.ndarray, out: np.ndarray) -> None:
    m = payload.shape[1]
    for b in prange(payload.shape[0]):
        out[b, :m] = payload[b]
        reg = _crc24b(payload[b], 0, m)
        for j in range(CRC_BITS):
            out[b, m + j] = (reg >> (CRC_BITS - 1 - j)) & 1


def crc24b_attach(payload: np.ndarray) -> np.ndarray:
    """Append the 24 CRC24B parity bits, bit-exact with Sionna's ``CRCEncoder("CRC24B")``.

    Parameters
    ----------
    payload : [..., m], 0/1 integers or floats

    Returns
    -------
    [..., m + 24], np.uint8
    """
    payload = np.asarray(payload)
    flat = np.ascontiguousarray(payload.reshape(-1, payload.shape[-1]), dtype=np.uint8)
    out = np.empty((flat.shape[0], flat.shape[1] + CRC_BITS), np.uint8)
    _crc24b_attach(flat, out)
    return out.reshape(*payload.shape[:-1], out.shape[-1])


# --------------------------------------------------------------------------------------------- encoder
@numba.njit(cache=True, nogil=True)
def _row_sum(c, z, row_ptr, edge_col, edge_shift, r, skip_col, col_limit, acc):
    """``acc[i]`` = XOR of the bits of check ``r*z + i`` in columns ``< col_limit`` other than ``skip_col``."""
    acc[:] = 0
    for e in range(row_ptr[r], row_ptr[r + 1]):
        col = edge_col[e]
        if col == skip_col or col >= col_limit:
            continue
        base, s = col * z, edge_shift[e]
        for i in range(z - s):
            acc[i] ^= c[base + s + i]
        for i in range(z - s, z):
            acc[i] ^= c[base + i - (z - s)]


@numba.njit(cache=True, nogil=True, parallel=True)
def _encode_batch(u, z, k_b, row_ptr, edge_col, edge_shift, p0_shift, steps, tx_index, out):
    """Systematic 5G encoding (38.212 5.3.2) by back-substitution on the double-diagonal core."""
    n_dec = (row_ptr.shape[0] - 1 + k_b) * z
    for b in prange(u.shape[0]):
        c = np.zeros(n_dec, np.uint8)
        c[: u.shape[1]] = u[b]  # filler bits stay 0
        acc = np.empty(z, np.uint8)
        tot = np.zeros(z, np.uint8)
        # summing the 4 core rows cancels the double-diagonal parity columns and leaves P^t p0
        for r in range(4):
            _row_sum(c, z, row_ptr, edge_col, edge_shift, r, -1, k_b, acc)
            tot ^= acc
        for j in range(z):
            c[k_b * z + j] = tot[(j - p0_shift) % z]
        # every remaining row then has one unknown parity column: solve them in order
        for t in range(steps.shape[0]):
            r, ucol = steps[t, 0], steps[t, 1]
            _row_sum(c, z, row_ptr, edge_col, edge_shift, r, ucol, n_dec, acc)
            s = 0
            for e in range(row_ptr[r], row_ptr[r + 1]):
                if edge_col[e] == ucol:
                    s = edge_shift[e]
            for i in range(z):
                c[ucol * z + (i + s) % z] = acc[i]
        for j in range(tx_index.shape[0]):
            out[b, j] = c[tx_index[j]]


class FastLDPC5GEncoder:
    """CRC24B + 5G LDPC encoder in numba, bit-exact with Sionna's ``CRCEncoder`` + ``LDPC5GEncoder``.

    Parameters
    ----------
    encoder : sionna.phy.fec.ldpc.LDPC5GEncoder
        Defines the code, the rate matching and the interleaver.
    """

    def __init__(self, encoder) -> None:
        self.rm = rm = RateMatching(encoder)
        self._p0_shift, self._steps = _core_schedule(rm)

    def encode(self, payload: np.ndarray) -> np.ndarray:
        """Append the CRC24B and encode.

        Parameters
        ----------
        payload : [..., k - 24], 0/1 ints or floats

        Returns
        -------
        [..., n], np.uint8
            Sent codeword bits, the same as Sionna's encoder returns.
        """
        u = crc24b_attach(payload)
        flat = u.reshape(-1, self.rm.k)
        out = np.empty((flat.shape[0], self.rm.n), np.uint8)
        rm = self.rm
        _encode_batch(flat, rm.z, rm.k_b, rm.row_ptr, rm.edge_col, rm.edge_shift, self._p0_shift,
                      self._steps, rm.tx_index, out)
        return out.reshape(*u.shape[:-1], rm.n)


def _core_schedule(rm: RateMatching) -> tuple[int, np.ndarray]:
    """Check the 5G core structure and return the shift of ``p0`` and the (row, unknown column) solve order.

    Raises
    ------
    ValueError
        The base graph does not have the double-diagonal core this back-substitution relies on.
    """
    kb = rm.k_b
    edges = [list(zip(rm.edge_col[rm.row_ptr[r]: rm.row_ptr[r + 1]].tolist(),
                      rm.edge_shift[rm.row_ptr[r]: rm.row_ptr[r + 1]].tolist(), strict=True))
             for r in range(rm.rows)]
    # the multiset of (column, shift) over the 4 core rows, mod 2, must leave only p0 with one shift
    odd: dict[tuple[int, int], int] = {}
    for r in range(4):
        for col, s in edges[r]:
            if col >= kb:
                odd[(col, s)] = odd.get((col, s), 0) ^ 1
    left = [key for key, v in odd.items() if v]
    if len(left) != 1 or left[0][0] != kb:
        raise ValueError(f"unexpected 5G core structure: {left}")
    known, steps = set(range(kb + 1)), []
    todo = list(range(rm.rows))
    while todo:
        for r in todo:
            unknown = {col for col, _ in edges[r]} - known
            if len(unknown) <= 1:
                todo.remove(r)
                if unknown:
                    (ucol,) = unknown
                    steps.append((r, ucol))
                    known.add(ucol)
                break
        else:
            raise ValueError("5G base graph cannot be back-substituted")
    return left[0][1], np.asarray(steps, dtype=np.int64).reshape(-1, 2)


# --------------------------------------------------------------------------------------------- decoder
# The decoder keeps each base column's Z beliefs twice in a row ("twin" layout, 2Z per column): check i of an
# edge with shift s touches bit (i + s) % Z, which is then the contiguous run 2Z*col + s .. 2Z*col + s + Z. One
# plain loop per edge (LLVM vectorizes it) replaces two wrapped runs; a write is copied to its twin after.
@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _init_llr(llr_row, src, z, llr_max, L):
    """Undo the rate matching into the twin layout: sent LLRs (flipped to ``log P0/P1``, cleaned, clipped),
    0 for punctured bits, or the filler value."""
    for col in range(src.shape[0] // z):
        base = 2 * z * col
        for i in range(z):
            j = src[col * z + i]
            if j >= 0:
                x = -llr_row[j]
                if not (x > -llr_max):  # also catches NaN (-> -llr_max is as good as any guess)
                    x = -llr_max
                x = min(x, llr_max)
            elif j == -1:
                x = np.float32(0.0)
            else:
                x = np.float32(_FILLER_LLR)
            L[base + i] = x
        L[base + z: base + 2 * z] = L[base: base + z]


@numba.njit(cache=True, nogil=True)
def _hard_bits(L, z, out):
    """``out[j] = L[j] < 0`` for the first ``len(out)`` bits, read from the twin layout."""
    n = out.shape[0]
    for col in range(-(-n // z)):
        for i in range(min(z, n - col * z)):
            out[col * z + i] = L[2 * z * col + i] < 0


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _gather_min(lv, rv, min1, min2, sgn):
    """Check-side pass over one edge: running two smallest ``|t|`` and sign parity of ``t = L - R``.

    All arguments are length-``Z`` slices, so the loop index is a plain ``range`` index that LLVM vectorizes
    (an offset index would keep numba's negative-index wraparound and block it).
    """
    for i in range(lv.shape[0]):
        t = lv[i] - rv[i]
        a = abs(t)
        m1 = min1[i]
        min2[i] = m1 if a < m1 else min(a, min2[i])
        min1[i] = min(a, m1)
        sgn[i] ^= np.int32(t < 0)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _scatter_msg(lv, rv, min1, min2, sgn, alpha, beta, msg_max):
    """New check-to-bit messages of one edge and the updated beliefs ``L = t + R`` (same slices as above).

    The edge's own ``|t|`` equals ``min1`` exactly when it is the minimum, or ties with it (then ``min2`` is
    that same value): either way the extrinsic minimum is ``min2``, so no argmin needs storing.
    """
    for i in range(lv.shape[0]):
        t = lv[i] - rv[i]
        m = min2[i] if abs(t) == min1[i] else min1[i]
        m = min(alpha * max(m - beta, np.float32(0.0)), msg_max)
        r = -m if (sgn[i] ^ np.int32(t < 0)) else m
        rv[i] = r
        lv[i] = t + r


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _layer(L, R, min1, min2, sgn, z, p0, p1, edge_col, edge_shift, alpha, beta, msg_max):
    """One layer: the ``z`` checks of one base row, min-sum over the row's edges, vectorized over ``z``.

    A column appears once per base row, so ``L`` of an edge does not change between its two passes.
    """
    min1[:] = np.inf
    min2[:] = np.inf
    sgn[:] = 0
    for e in range(p0, p1):
        a = 2 * z * edge_col[e] + edge_shift[e]
        _gather_min(L[a: a + z], R[e * z: (e + 1) * z], min1, min2, sgn)
    for e in range(p0, p1):
        c, s = 2 * z * edge_col[e], edge_shift[e]
        _scatter_msg(L[c + s: c + s + z], R[e * z: (e + 1) * z], min1, min2, sgn, alpha, beta, msg_max)
        # copy the run's two parts to their twins: bits s..z-1 to the second copy, bits 0..s-1 to the first
        L[c + z + s: c + 2 * z] = L[c + s: c + z]
        L[c: c + s] = L[c + z: c + z + s]


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _xor_signs(lv, par):
    """``par[i] ^= lv[i] < 0`` over equal-length slices (a plain loop that vectorizes, as in _gather_min)."""
    for i in range(lv.shape[0]):
        par[i] ^= np.int32(lv[i] < 0)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _syndrome_ok(L, z, row_ptr, edge_col, edge_shift, par):
    """Whether the hard decisions of the twin-layout ``L`` (``L < 0`` is a 1) satisfy every kept check."""
    for r in range(row_ptr.shape[0] - 1):
        par[:] = 0
        for e in range(row_ptr[r], row_ptr[r + 1]):
            a = 2 * z * edge_col[e] + edge_shift[e]
            _xor_signs(L[a: a + z], par)
        for i in range(z):
            if par[i]:
                return False
    return True


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_FASTMATH)
def _decode_batch(llr, src, z, k, row_ptr, edge_col, edge_shift, max_iter, alpha, beta, llr_max,
                  msg_max, bits_out, crc_ok, iters, cw_out, chunks):
    n_dec, num_edges = src.shape[0], edge_col.shape[0]
    keep_cw = cw_out.shape[0] > 0
    # scratch once per chunk of codewords, not per codeword: R alone is ~150 kB, which malloc serves with
    # fresh zeroed pages (mmap) each time; a chunk's codewords reuse it (R is zeroed per codeword)
    for chunk in prange(chunks):
        L = np.empty(2 * n_dec, np.float32)
        R = np.empty(num_edges * z, np.float32)
        min1, min2 = np.empty(z, np.float32), np.empty(z, np.float32)
        sgn = np.zeros(z, np.int32)
        for b in range(chunk * llr.shape[0] // chunks, (chunk + 1) * llr.shape[0] // chunks):
            R[:] = 0.0
            _decode_one(llr[b], src, z, k, row_ptr, edge_col, edge_shift, max_iter, alpha, beta, llr_max,
                        msg_max, L, R, min1, min2, sgn, bits_out, crc_ok, iters, cw_out, b, keep_cw)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _decode_one(llr_row, src, z, k, row_ptr, edge_col, edge_shift, max_iter, alpha, beta, llr_max, msg_max,
                L, R, min1, min2, sgn, bits_out, crc_ok, iters, cw_out, b, keep_cw):
    """Decode codeword ``b`` with the given scratch (``R`` zeroed) and write its outputs."""
    _init_llr(llr_row, src, z, llr_max, L)
    it = 0
    while it < max_iter:
        it += 1
        for r in range(row_ptr.shape[0] - 1):
            _layer(L, R, min1, min2, sgn, z, row_ptr[r], row_ptr[r + 1], edge_col, edge_shift,
                   alpha, beta, msg_max)
        if _syndrome_ok(L, z, row_ptr, edge_col, edge_shift, sgn):
            break
    iters[b] = it
    _hard_bits(L, z, bits_out[b])
    if keep_cw:
        _hard_bits(L, z, cw_out[b])
    crc = _crc24b(bits_out[b], 0, k - CRC_BITS)
    ok = True
    for j in range(CRC_BITS):
        ok = ok and bits_out[b, k - CRC_BITS + j] == ((crc >> (CRC_BITS - 1 - j)) & 1)
    crc_ok[b] = ok


class FastLDPC5GDecoder:
    """Layered normalized offset min-sum decoder of a 5G LDPC code with CRC24B check, in numba.

    Undoes Sionna's rate matching exactly as ``LDPC5GDecoder.call`` does (deinterleave, LLR 0 for the ``2Z``
    punctured systematic bits and the unsent parity, known-zero filler bits), then runs layered min-sum
    (one layer = the ``Z`` checks of a base-graph row) with check messages ``alpha * max(|m| - beta, 0)``,
    stopping each codeword once its syndrome is zero.

    Parameters
    ----------
    encoder : sionna.phy.fec.ldpc.LDPC5GEncoder
        Defines the code and its rate matching.
    max_iter : int, default 20
        Maximum layered iterations (one pass over all layers each).
    alpha, beta : float, default 1.0 and 0.5
        Normalization and offset of the min-sum check update (``beta`` in LLR units).
    llr_max : float, default 20.0
        Channel LLRs are clipped to ``[-llr_max, llr_max]`` (Sionna's default too); NaN counts as
        ``+llr_max`` in Sionna's convention (a 1), so garbage input cannot crash or poison the decoder.
    msg_max : float, default 64.0
        Check messages saturate here so beliefs stay finite.
    """

    def __init__(self, encoder, max_iter: int = 20, alpha: float = 1.0, beta: float = 0.5,
                 llr_max: float = 20.0, msg_max: float = 64.0) -> None:
        self.rm = RateMatching(encoder)
        self.max_iter = int(max_iter)
        self.alpha, self.beta = np.float32(alpha), np.float32(beta)
        self.llr_max, self.msg_max = np.float32(llr_max), np.float32(msg_max)

    def decode(self, llr: np.ndarray, return_codeword: bool = False):
        """Decode and check the CRC24B.

        Parameters
        ----------
        llr : [..., n], float
            Channel LLRs ``log(P(b=1)/P(b=0))`` (Sionna's convention), as the demapper returns them.
        return_codeword : bool, default False
            Also return the hard decisions on all ``n_dec`` decoded bits of the lifted codeword.

        Returns
        -------
        payload_hat : [..., k - 24], np.uint8
            Decoded payload bits.
        crc_ok : [...], bool
            Whether each block's CRC24B checks.
        iterations : [...], np.int32
            Layered iterations run per codeword (``max_iter`` when the syndrome never cleared).
        codeword : [..., n_dec], np.uint8
            Only with ``return_codeword``: the bits the parity checks of the kept graph apply to.
        """
        llr = np.asarray(llr)
        rm = self.rm
        if llr.shape[-1] != rm.n:
            raise ValueError(f"llr must have last dimension {rm.n}; got shape {llr.shape}")
        lead = llr.shape[:-1]
        flat = np.ascontiguousarray(llr.reshape(-1, rm.n), dtype=np.float32)
        b = flat.shape[0]
        bits = np.empty((b, rm.k), np.uint8)
        crc_ok = np.empty(b, np.bool_)
        iters = np.empty(b, np.int32)
        cw = np.empty((b if return_codeword else 0, rm.n_dec), np.uint8)
        _decode_batch(flat, rm.src, rm.z, rm.k, rm.row_ptr, rm.edge_col, rm.edge_shift, self.max_iter,
                      self.alpha, self.beta, self.llr_max, self.msg_max, bits, crc_ok, iters, cw,
                      max(1, min(b, 16 * numba.get_num_threads())))
        out = (bits[:, : rm.k - CRC_BITS].reshape(*lead, -1), crc_ok.reshape(lead), iters.reshape(lead))
        return (*out, cw.reshape(*lead, rm.n_dec)) if return_codeword else out

    def parity_check(self, codeword: np.ndarray) -> np.ndarray:
        """Whether each ``[..., n_dec]`` 0/1 codeword satisfies the kept parity checks; ``[...]`` bool."""
        cw = np.asarray(codeword).reshape(-1, self.rm.n_dec)
        rm = self.rm
        par = np.empty(rm.z, np.int32)
        ok = [_syndrome_ok(_twin(np.where(row == 1, -1.0, 1.0).astype(np.float32), rm.z), rm.z, rm.row_ptr,
                           rm.edge_col, rm.edge_shift, par) for row in cw]
        return np.asarray(ok, bool).reshape(np.asarray(codeword).shape[:-1])


def _twin(values: np.ndarray, z: int) -> np.ndarray:
    """``[cols * z]`` values in the decoder's twin layout ``[cols * 2z]`` (each column's run twice)."""
    cols = values.reshape(-1, z)
    return np.ascontiguousarray(np.concatenate([cols, cols], axis=1).reshape(-1))
