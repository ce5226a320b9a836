"""Layered offset min-sum decoder of 5G LDPC codes with CRC24B check, undoing Sionna's rate matching."""

from __future__ import annotations

import numba
import numpy as np

from lssc_sim.digital.fast_ldpc.crc import CRC_BITS
from lssc_sim.digital.fast_ldpc.layered_float32 import decode_batch_float32
from lssc_sim.digital.fast_ldpc.layered_int16 import ALPHA_ONE, decode_batch_int16, int16_bounds
from lssc_sim.digital.fast_ldpc.rate_matching import RateMatching
from lssc_sim.digital.fast_ldpc.twin import gather_index, syndrome_ok, twin

ARITHMETICS = ("int16", "float32")


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
    arithmetic : {"int16", "float32"}, default "int16"
        ``"int16"``: beliefs and messages in 16-bit fixed point with ``scale`` units per LLR unit; channel
        LLRs, ``beta``, ``llr_max`` and ``msg_max`` are rounded to that grid. Twice the vector lanes: ~1.7x
        faster per iteration than ``"float32"``, for 0.002-0.008 dB more Eb/N0 at BLER 1e-2 (measured with
        >= 150 block errors per point for k = 4032 and 8448, rate 1/2, QPSK and 16-QAM over AWGN).
    scale : float, default 8.0
        Fixed-point units per LLR unit (``"int16"`` only).

    Raises
    ------
    ValueError
        Unknown ``arithmetic``, or int16 beliefs could overflow with these ``llr_max``, ``msg_max`` and
        ``scale`` on this graph.
    """

    def __init__(
        self,
        encoder,
        max_iter: int = 20,
        alpha: float = 1.0,
        beta: float = 0.5,
        llr_max: float = 20.0,
        msg_max: float = 64.0,
        arithmetic: str = "int16",
        scale: float = 8.0,
    ) -> None:
        if arithmetic not in ARITHMETICS:
            raise ValueError(f"arithmetic must be one of {ARITHMETICS}; got {arithmetic!r}")
        self.rm = rm = RateMatching(encoder)
        self.max_iter = int(max_iter)
        self.arithmetic = arithmetic
        self.alpha, self.beta = np.float32(alpha), np.float32(beta)
        self.llr_max, self.msg_max = np.float32(llr_max), np.float32(msg_max)
        self.scale = np.float32(scale)
        self._graph = (gather_index(rm.src, rm.n), rm.row_ptr, rm.edge_col, rm.edge_shift, rm.z)
        if arithmetic == "float32":
            self._params = (self.max_iter, self.alpha, self.beta, self.llr_max, self.msg_max)
            return
        beta_q, llr_max_q, msg_max_q = (round(v * scale) for v in (beta, llr_max, msg_max))
        degree = np.bincount(rm.edge_col, minlength=rm.cols)
        filler_degree = int(degree[rm.k // rm.z : rm.k_b].max(initial=0))  # base columns holding filler bits
        filler_q = int16_bounds(int(degree.max()), filler_degree, llr_max_q, msg_max_q, beta_q, float(alpha))
        alpha_q = round(alpha * ALPHA_ONE)
        self._params = (self.max_iter, self.scale, alpha_q, beta_q, llr_max_q, msg_max_q, filler_q)

    def decode(self, llr: np.ndarray, return_codeword: bool = False) -> tuple[np.ndarray, ...]:
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
        out = (
            np.empty((b, rm.k), np.uint8),
            np.empty(b, np.bool_),
            np.empty(b, np.int32),
            np.empty((b if return_codeword else 0, rm.n_dec), np.uint8),
        )
        kernel = decode_batch_int16 if self.arithmetic == "int16" else decode_batch_float32
        # hand the chunks out one at a time: near the cliff a codeword takes 1 to max_iter iterations, and on a
        # shared machine a thread may stall, so a static split would leave threads idle (results do not depend
        # on the schedule: each codeword is decoded alone)
        with numba.parallel_chunksize(1):
            kernel(flat, self._graph, self._params, out, max(1, min(b, 16 * numba.get_num_threads())))
        bits, crc_ok, iterations, codeword = out
        res = (bits[:, : rm.k - CRC_BITS].reshape(*lead, -1), crc_ok.reshape(lead), iterations.reshape(lead))
        return (*res, codeword.reshape(*lead, rm.n_dec)) if return_codeword else res

    def parity_check(self, codeword: np.ndarray) -> np.ndarray:
        """Whether each ``[..., n_dec]`` 0/1 codeword satisfies the kept parity checks; ``[...]`` bool."""
        cw = np.asarray(codeword).reshape(-1, self.rm.n_dec)
        rm = self.rm
        par = np.empty(rm.z, np.int32)
        ok = [
            syndrome_ok(twin(np.where(row == 1, -1.0, 1.0).astype(np.float32), rm.z), rm.z, rm.row_ptr, rm.edge_col,
                        rm.edge_shift, par)
            for row in cw
        ]  # fmt: skip
        return np.asarray(ok, bool).reshape(np.asarray(codeword).shape[:-1])
