"""One Monte-Carlo batch of a bit-true digital link: bits -> [LDPC] -> QAM -> channel -> equalizer -> demapper
-> [LDPC decoder] -> error counts. The reference chain, built from stock Sionna blocks."""

from __future__ import annotations

import tensorflow as tf
from sionna.phy.mapping import BinarySource

from lssc_sim.channels import Channel, equalize
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.modem import Modem


class BitLink:
    """Counts bit and block errors of ``batch_size`` blocks per call.

    Parameters
    ----------
    modem : Modem
        Mapper and demapper.
    channel : Channel
        Channel model; one row of symbols per block, so ``frame`` coherence means one gain per block.
    code : LDPC5GCode or None
        Channel code with CRC24 per block; ``None`` for an uncoded link.
    uncoded_block_bits : int
        Bits per block of the uncoded link (rounded down to a multiple of the bits per symbol).
    """

    def __init__(self, modem: Modem, channel: Channel, code: LDPC5GCode | None = None,
                 uncoded_block_bits: int = 1024):
        self.modem, self.channel, self.code = modem, channel, code
        m = modem.bits_per_symbol
        self.payload_bits = code.payload_bits if code else uncoded_block_bits // m * m
        self.coded_bits = code.n if code else self.payload_bits
        self.symbols_per_block = self.coded_bits // m
        self._source = BinarySource()
        self._step = tf.function(self._step_impl)

    def run(self, batch_size: int, no: float) -> dict[str, int]:
        """Send ``batch_size`` blocks at noise power ``no`` (per complex symbol) and count errors.

        Returns
        -------
        dict
            ``bits``, ``bit_errors`` (payload, after decoding), ``coded_bits``, ``coded_bit_errors`` (hard
            decisions before decoding), ``blocks``, ``block_errors`` (any payload bit wrong),
            ``crc_failures`` (blocks the CRC flags), ``channel_uses`` (complex symbols).
        """
        counts = self._step(tf.constant(batch_size), tf.constant(no, tf.float32))
        out = {name: int(value) for name, value in counts.items()}
        out.update(bits=batch_size * self.payload_bits, coded_bits=batch_size * self.coded_bits,
                   blocks=batch_size, channel_uses=batch_size * self.symbols_per_block)
        return out

    def _step_impl(self, batch_size: tf.Tensor, no: tf.Tensor) -> dict[str, tf.Tensor]:
        bits = self._source([batch_size, self.payload_bits])
        coded = self.code.encode(bits) if self.code else bits
        y, h = self.channel(self.modem.map(coded), no)
        x_hat, no_eff = equalize(y, h, no)
        llr = self.modem.demap(x_hat, no_eff)
        coded_errors = tf.not_equal(self.modem.hard_decision(llr), coded)
        if self.code:
            bits_hat, crc_ok = self.code.decode(llr)
        else:
            bits_hat = self.modem.hard_decision(llr)
            crc_ok = tf.ones([batch_size], tf.bool)
        errors = tf.not_equal(bits_hat, bits)
        block_error = tf.reduce_any(errors, axis=-1)

        def count(t: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(tf.cast(t, tf.int64))

        return {
            "bit_errors": count(errors),
            "coded_bit_errors": count(coded_errors),
            "block_errors": count(block_error),
            "crc_failures": count(tf.logical_not(crc_ok)),
        }
