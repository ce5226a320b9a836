"""The decoder's "twin" belief layout and the kernels both arithmetics share on it.

The decoder keeps each base column's ``Z`` beliefs twice in a row (2Z per column): check ``i`` of an edge with
shift ``s`` touches bit ``(i + s) % Z``, which is then the contiguous run ``2Z*col + s .. 2Z*col + s + Z``. One
plain loop per edge (LLVM vectorizes it) replaces two wrapped runs; a write is copied to its twin after.
The kernels here only look at signs, so they serve float32 and int16 beliefs alike (numba compiles one
specialization per dtype).
"""

from __future__ import annotations

import numba
import numpy as np

from lssc_sim.digital.fast_ldpc.crc import crc24b_ok

_U = np.uint64


def gather_index(src: np.ndarray, n: int) -> np.ndarray:
    """Where :func:`fill_twins` reads each decoder input from: sent bit ``j`` at ``j``, punctured bits at ``n``
    (which holds 0), filler bits at ``n + 1`` (which holds the filler belief).

    Parameters
    ----------
    src : [n_dec], np.int64
        :attr:`RateMatching.src`.
    n : int
        Sent bits.

    Returns
    -------
    [n_dec], np.uint32
        Unsigned, as every index in these kernels: numba adds a negative-index wraparound to signed ones
        (see :func:`sync_twins`).
    """
    return np.where(src >= 0, src, np.where(src == -1, n, n + 1)).astype(np.uint32)


@numba.njit(cache=True, nogil=True)
def fill_twins(ch: np.ndarray, gather: np.ndarray, z: int, L: np.ndarray) -> None:
    """Undo the rate matching into the twin layout: ``L`` of bit ``p`` (both copies) is ``ch[gather[p]]``.

    Parameters
    ----------
    ch : [n + 2], float32 or int16
        Cleaned channel beliefs (``log P0/P1``) of the sent bits, then 0 and the filler belief.
    gather : [n_dec], np.uint32
        From :func:`gather_index`.
    z : int
        Lifting size.
    L : [2 * n_dec], same dtype as ``ch``
        Written.
    """
    zu = _U(z)
    for col in range(_U(gather.shape[0]) // zu):
        base = _U(2) * zu * col
        for i in range(zu):
            L[base + i] = ch[gather[col * zu + i]]
        for i in range(zu):
            L[base + zu + i] = L[base + i]


@numba.njit(cache=True, nogil=True)
def hard_bits(L: np.ndarray, z: int, out: np.ndarray) -> None:
    """``out[j] = L[j] < 0`` for the first ``len(out)`` bits, read from the twin layout.

    Parameters
    ----------
    L : [2 * n_dec], float32 or int16
        Beliefs in the twin layout (``log P0/P1``, negative is a 1).
    z : int
        Lifting size.
    out : [m], np.uint8
        Written: the hard decisions on bits ``0..m-1`` (``m <= n_dec``).
    """
    nu, zu = _U(out.shape[0]), _U(z)
    for col in range((nu + zu - _U(1)) // zu):
        for i in range(min(zu, nu - col * zu)):
            out[col * zu + i] = L[_U(2) * zu * col + i] < 0


@numba.njit(cache=True, nogil=True, fastmath=True, inline="always")
def _xor_signs(L, a, z, par):
    """``par[i] ^= L[a + i] < 0`` for ``i < z`` (unsigned ``a`` and ``z``, see :func:`sync_twins`)."""
    for i in range(z):
        par[i] ^= np.int32(L[a + i] < 0)


@numba.njit(cache=True, nogil=True, fastmath=True)
def syndrome_ok(
    L: np.ndarray, z: int, row_ptr: np.ndarray, edge_col: np.ndarray, edge_shift: np.ndarray, par: np.ndarray
) -> bool:
    """Whether the hard decisions of the twin-layout ``L`` (``L < 0`` is a 1) satisfy every kept check.

    Parameters
    ----------
    L : [2 * n_dec], float32 or int16
        Beliefs in the twin layout.
    z : int
        Lifting size.
    row_ptr, edge_col, edge_shift : np.int64
        The kept base-graph edges, see :class:`RateMatching`.
    par : [z], np.int32
        Scratch.
    """
    for r in range(row_ptr.shape[0] - 1):
        par[:] = 0
        for e in range(row_ptr[r], row_ptr[r + 1]):
            _xor_signs(L, _U(2 * z * edge_col[e] + edge_shift[e]), _U(z), par)
        for i in range(z):
            if par[i]:
                return False
    return True


@numba.njit(cache=True, nogil=True, inline="always")
def sync_twins(L: np.ndarray, c: int, s: int, z: int) -> None:
    """Copy the run ``L[c+s : c+s+z]`` just written to its twin: bits ``s..z-1`` to the second copy, bits
    ``0..s-1`` to the first.

    Explicit loops with unsigned indices: numba would copy a slice assignment within one array through a
    temporary (a heap allocation per edge), and signed offsets keep a negative-index wraparound that blocks
    vectorizing.

    Parameters
    ----------
    L : [2 * n_dec], float32 or int16
        Beliefs in the twin layout.
    c, s, z : int
        The column's offset ``2 * z * col``, the edge's shift and the lifting size.
    """
    cu, su, zu = _U(c), _U(s), _U(z)
    for i in range(zu - su):
        L[cu + zu + su + i] = L[cu + su + i]
    for i in range(su):
        L[cu + i] = L[cu + zu + i]


@numba.njit(cache=True, nogil=True)
def write_outputs(L: np.ndarray, z: int, b: int, bits: np.ndarray, crc_ok: np.ndarray, codeword: np.ndarray) -> None:
    """Hard decisions and CRC check of decoded codeword ``b``.

    Parameters
    ----------
    L : [2 * n_dec], float32 or int16
        Its final beliefs, in the twin layout.
    z, b : int
        Lifting size and the codeword's row in the outputs.
    bits : [B, k], np.uint8; crc_ok : [B], bool
        Written: row ``b``'s information bits (with the CRC) and whether their CRC24B checks.
    codeword : [B, n_dec] or [0, n_dec], np.uint8
        Written when it has rows: row ``b``'s hard decisions on all decoded bits.
    """
    hard_bits(L, z, bits[b])
    if codeword.shape[0] > 0:
        hard_bits(L, z, codeword[b])
    crc_ok[b] = crc24b_ok(bits[b])


def twin(values: np.ndarray, z: int) -> np.ndarray:
    """``[cols * z]`` values in the decoder's twin layout ``[cols * 2z]`` (each column's run twice)."""
    cols = values.reshape(-1, z)
    return np.ascontiguousarray(np.concatenate([cols, cols], axis=1).reshape(-1))
