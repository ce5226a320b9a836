"""Sionna's 5G rate matching (38.212 5.4.2) as index arrays, and the part of the base graph the decoder keeps."""

from __future__ import annotations

import numpy as np


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
    src : [n_dec], np.int64
        Source of each decoder input bit: the sent bit index ``j >= 0``, punctured (-1) or filler (-2).
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
        src = np.full(self.n_dec, -1, dtype=np.int64)
        src[k : self.k_ldpc] = -2
        src[self.tx_index] = np.arange(n)
        self.src = src
