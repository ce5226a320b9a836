"""CRC24B of 38.212 5.1 in numba, bit-exact with Sionna's ``CRCEncoder("CRC24B")``."""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from lssc_sim.digital.spec import CRC_BITS

CRC24B_POLY = 0x800063
"""CRC24B generator ``D^24 + D^23 + D^6 + D^5 + D + 1`` (38.212 5.1) without its ``D^24`` term."""
_MASK = (1 << CRC_BITS) - 1


def _byte_table() -> np.ndarray:
    """``table[v]``: the register after feeding byte ``v`` (MSB first) into a register that was ``v << 16``."""
    table = np.empty(256, np.int64)
    for v in range(256):
        reg = v << 16
        for _ in range(8):
            reg = ((reg << 1) & _MASK) ^ (CRC24B_POLY if reg & 0x800000 else 0)
        table[v] = reg
    return table


_TABLE = _byte_table()


@numba.njit(cache=True, nogil=True)
def crc24b(bits: np.ndarray, start: int, length: int) -> int:
    """CRC24B register of ``bits[start:start+length]`` (first bit = highest power), as an int.

    Byte-wise with a 256-entry table (Sarwate): the bit-serial loop is one long dependency chain, 8 times
    as many steps. The ``length % 8`` leading bits go bit by bit.

    Parameters
    ----------
    bits : [m], 0/1 integers (np.uint8)
    start, length : int
        The bits to cover.
    """
    reg = 0
    head = start + length % 8
    for j in range(start, head):
        fb = ((reg >> 23) & 1) ^ np.int64(bits[j])
        reg = ((reg << 1) & _MASK) ^ (CRC24B_POLY & -fb)  # branch-free: the feedback bit is random
    for j in range(head, start + length, 8):
        byte = 0
        for u in range(8):
            byte = (byte << 1) | np.int64(bits[j + u])
        reg = ((reg << 8) & _MASK) ^ _TABLE[((reg >> 16) ^ byte) & 0xFF]
    return reg


@numba.njit(cache=True, nogil=True)
def crc24b_ok(bits: np.ndarray) -> bool:
    """Whether the last 24 of ``bits`` ([k], 0/1 np.uint8) are the CRC24B of the ones before."""
    m = bits.shape[0] - CRC_BITS
    reg = crc24b(bits, 0, m)
    for j in range(CRC_BITS):
        if bits[m + j] != ((reg >> (CRC_BITS - 1 - j)) & 1):
            return False
    return True


@numba.njit(cache=True, nogil=True, parallel=True)
def _crc24b_attach(payload: np.ndarray, out: np.ndarray) -> None:
    m = payload.shape[1]
    for b in prange(payload.shape[0]):
        out[b, :m] = payload[b]
        reg = crc24b(payload[b], 0, m)
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
