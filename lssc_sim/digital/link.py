"""THE digital link of every digital system: payload bits -> [5G LDPC + CRC24B] -> QAM -> channel -> equalizer ->
demapper -> [LDPC decoder] -> bits and error counts.

``Link(code, modem, channel)`` composes three parts and touches none of their insides: the code owns its
encoder and decoder (stock Sionna or the fast numba ones, ``LDPC5GCode(decoder=...)``) behind array-level
``encode_bits``/``decode_llr``; the front end (:mod:`lssc_sim.digital.front_end`) is chosen once from what the
channel declares; ``reference=True`` takes the stock Sionna front end. ``code=None`` is the uncoded link (hard
decisions). Image streams are framed and sent by :mod:`lssc_sim.digital.transport` over the same link.
"""

from __future__ import annotations

import numpy as np

from lssc_sim.channels import Channel
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.front_end import make_front_end
from lssc_sim.digital.modem import Modem


class Link:
    """Sends blocks of bits over a code, a modem and a channel.

    Parameters
    ----------
    code : LDPC5GCode or None
        Channel code with a CRC24B per block; ``None`` for the uncoded link.
    modem : Modem
        QAM mapper and demapper (its ``demapping`` picks exact APP or max-log).
    channel : Channel
        Built once per Point and handed down.
    reference : bool, default False
        Use the stock Sionna front end (mapper, channel, equalizer, demapper) instead of the fast one.
    uncoded_block_bits : int, default 1200
        Bits per block of the uncoded link (rounded down to whole symbols).
    """

    def __init__(
        self,
        code: LDPC5GCode | None,
        modem: Modem,
        channel: Channel,
        reference: bool = False,
        uncoded_block_bits: int = 1200,
    ) -> None:
        m = modem.bits_per_symbol
        if code is not None and code.bits_per_symbol != m:
            raise ValueError(f"the code interleaves for {code.bits_per_symbol} bits per symbol, the modem maps {m}")
        self.code, self.modem, self.channel = code, modem, channel
        self.front_end = make_front_end(modem, channel, reference)
        self.payload_bits = code.payload_bits if code else uncoded_block_bits // m * m
        self.coded_bits = code.n if code else self.payload_bits
        self.symbols_per_block = self.coded_bits // m

    def encode(self, payload: np.ndarray) -> np.ndarray:
        """Codewords ``[B, coded_bits]`` (uint8) of payload bits ``[B, payload_bits]``."""
        return self.code.encode_bits(payload) if self.code else np.ascontiguousarray(payload, np.uint8)

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        """Channel LLRs ``[B, coded_bits]`` (float32) of codewords sent in frames of ``frame_rows`` blocks."""
        return self.front_end.llr(coded, no, rng, frame_rows)

    def decode(self, llr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Payload bits ``[B, payload_bits]`` (uint8) and CRC check ``[B]`` (bool; all True when uncoded)."""
        if self.code is None:
            return (llr > 0).astype(np.uint8), np.ones(llr.shape[0], bool)
        return self.code.decode_llr(llr)

    def run(self, batch_size: int, no: float, rng: np.random.Generator) -> dict[str, int]:
        """Send ``batch_size`` random blocks (one frame each) at noise power ``no`` and count errors.

        Returns
        -------
        dict
            ``bits``, ``bit_errors`` (payload, after decoding), ``coded_bits``, ``coded_bit_errors`` (hard
            decisions before decoding), ``blocks``, ``block_errors`` (any payload bit wrong), ``crc_failures``
            (blocks the CRC flags), ``channel_uses`` (complex symbols).
        """
        payload = rng.integers(0, 2, (batch_size, self.payload_bits), dtype=np.uint8)
        coded = self.encode(payload)
        llr = self.llr(coded, no, rng)
        bits, crc_ok = self.decode(llr)
        errors = bits != payload
        return {
            "bits": batch_size * self.payload_bits,
            "bit_errors": int(np.count_nonzero(errors)),
            "coded_bits": batch_size * self.coded_bits,
            "coded_bit_errors": int(np.count_nonzero((llr > 0) != coded)),
            "blocks": batch_size,
            "block_errors": int(np.count_nonzero(errors.any(axis=1))),
            "crc_failures": int(np.count_nonzero(~crc_ok)),
            "channel_uses": batch_size * self.symbols_per_block,
        }
