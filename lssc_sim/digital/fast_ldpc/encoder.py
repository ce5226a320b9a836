"""CRC24B + systematic 5G LDPC encoding (38.212 5.3.2) in numba, bit-exact with Sionna's encoder."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from lssc_sim.digital.fast_ldpc.crc import CRC_BITS, crc24b
from lssc_sim.digital.fast_ldpc.rate_matching import RateMatching

_U = np.uint64


@numba.njit(cache=True, nogil=True, inline="always")
def _xor_into(acc, a0, c, c0, length):
    """``acc[a0 + i] ^= c[c0 + i]`` for ``i < length``; unsigned offsets so that LLVM vectorizes it (numba adds a
    negative-index wraparound to signed ones)."""
    a0u, c0u = _U(a0), _U(c0)
    for i in range(_U(length)):
        acc[a0u + i] ^= c[c0u + i]


@numba.njit(cache=True, nogil=True, inline="always")
def _rotate_into(c, base, src, shift, z):
    """``c[base + (i + shift) % z] = src[i]`` for ``i < z``, as two contiguous copies."""
    bu, su, zu = _U(base), _U(shift), _U(z)
    for i in range(zu - su):
        c[bu + su + i] = src[i]
    for i in range(su):
        c[bu + i] = src[zu - su + i]


@numba.njit(cache=True, nogil=True)
def _row_sum(c, z, row_ptr, edge_col, edge_shift, r, skip_col, col_limit, acc):
    """``acc[i]`` = XOR of the bits of check ``r*z + i`` in columns ``< col_limit`` other than ``skip_col``."""
    acc[:] = 0
    for e in range(row_ptr[r], row_ptr[r + 1]):
        col = edge_col[e]
        if col == skip_col or col >= col_limit:
            continue
        base, s = col * z, edge_shift[e]
        _xor_into(acc, 0, c, base + s, z - s)  # check i touches bit (i + s) % z of the column
        _xor_into(acc, z - s, c, base, s)


@numba.njit(cache=True, nogil=True, parallel=True)
def _encode_batch(payload, z, k_b, row_ptr, edge_col, edge_shift, p0_shift, steps, tx_index, out):
    """CRC24B, then systematic 5G encoding (38.212 5.3.2) by back-substitution on the double-diagonal core.

    The CRC is appended here rather than by :func:`crc24b_attach`: one parallel region instead of two, which
    matters for small batches on a busy machine (each region waits for its slowest thread). ``tx_index`` is
    unsigned ([n], np.uint32) for the same reason as in :func:`_xor_into`.
    """
    n_dec, m = (row_ptr.shape[0] - 1 + k_b) * z, payload.shape[1]
    for b in prange(payload.shape[0]):
        c = np.zeros(n_dec, np.uint8)  # filler bits stay 0
        c[:m] = payload[b]
        reg = crc24b(payload[b], 0, m)
        for j in range(CRC_BITS):
            c[m + j] = (reg >> (CRC_BITS - 1 - j)) & 1
        acc = np.empty(z, np.uint8)
        tot = np.zeros(z, np.uint8)
        # summing the 4 core rows cancels the double-diagonal parity columns and leaves P^t p0
        for r in range(4):
            _row_sum(c, z, row_ptr, edge_col, edge_shift, r, -1, k_b, acc)
            _xor_into(tot, 0, acc, 0, z)
        _rotate_into(c, k_b * z, tot, p0_shift % z, z)  # c[k_b z + j] = tot[(j - p0_shift) % z]
        # every remaining row then has one unknown parity column: solve them in order
        for t in range(steps.shape[0]):
            r, ucol = steps[t, 0], steps[t, 1]
            _row_sum(c, z, row_ptr, edge_col, edge_shift, r, ucol, n_dec, acc)
            s = 0
            for e in range(row_ptr[r], row_ptr[r + 1]):
                if edge_col[e] == ucol:
                    s = edge_shift[e]
            _rotate_into(c, ucol * z, acc, s, z)
        row = out[b]
        for j in range(_U(tx_index.shape[0])):
            row[j] = c[tx_index[j]]


def _core_schedule(rm: RateMatching) -> tuple[int, np.ndarray]:
    """Check the 5G core structure and return the shift of ``p0`` and the (row, unknown column) solve order.

    Raises
    ------
    ValueError
        The base graph does not have the double-diagonal core this back-substitution relies on.
    """
    kb = rm.k_b
    edges = [
        list(
            zip(
                rm.edge_col[rm.row_ptr[r] : rm.row_ptr[r + 1]].tolist(),
                rm.edge_shift[rm.row_ptr[r] : rm.row_ptr[r + 1]].tolist(),
                strict=True,
            )
        )
        for r in range(rm.rows)
    ]
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
        self._tx_index = rm.tx_index.astype(np.uint32)

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
        rm = self.rm
        payload = np.asarray(payload)
        if payload.shape[-1] != rm.k - CRC_BITS:
            raise ValueError(f"payload must have last dimension {rm.k - CRC_BITS}; got shape {payload.shape}")
        flat = np.ascontiguousarray(payload.reshape(-1, rm.k - CRC_BITS), dtype=np.uint8)
        out = np.empty((flat.shape[0], rm.n), np.uint8)
        _encode_batch(
            flat, rm.z, rm.k_b, rm.row_ptr, rm.edge_col, rm.edge_shift, self._p0_shift, self._steps, self._tx_index, out
        )
        return out.reshape(*payload.shape[:-1], rm.n)
