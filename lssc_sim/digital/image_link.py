"""Bit-true transport of byte streams (one per image) over 5G LDPC + QAM + a channel, for a batch of images.

Each stream is a transport block: its bits are cut into code blocks of ``k - 24`` payload bits (the last one
zero-padded; padding is counted), each gets a CRC24B and is LDPC-encoded. An image's code blocks are sent back
to back as one frame, so a channel with ``coherence="frame"`` fades once per image and ``coherence="block"``
every ``block_length`` channel uses. The receiver demaps with perfect CSI and decodes.

Strict early stopping: when an image is lost at its first failed code block anyway (strict receivers), its
remaining blocks need not be decoded. Blocks are decoded in rounds of ``round_blocks`` per image, all images
together (numba decodes a round's blocks in parallel), and an image leaves after a round with a CRC failure.
The block error rate counted over the decoded blocks stays an unbiased ratio estimate: whether a block is
decoded depends only on earlier rounds, never on its own outcome (Wald's identity).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from lssc_sim.channels import Channel, equalize
from lssc_sim.channels.awgn import AWGNChannel
from lssc_sim.digital.fast_ldpc import FastLDPC5GDecoder, FastLDPC5GEncoder
from lssc_sim.digital.fast_link import QAMTables, demap, map_awgn_demap, standard_normal_rows
from lssc_sim.digital.fec import LDPC5GCode
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.source import bytes_to_bits


@dataclass
class Transmission:
    """What came out of :meth:`ImageLink.send` for a batch of streams.

    Attributes
    ----------
    streams : list of bytes or None
        The received byte stream of each image (padding included), None where early stopping dropped it.
    crc_ok : list of [num_blocks_i], bool
        CRC24B check of each decoded code block; blocks never decoded count as failed.
    decoded : list of [num_blocks_i], bool
        Which blocks were decoded.
    counters : dict
        ``blocks`` (sent), ``blocks_decoded``, ``block_errors`` (decoded blocks whose payload differs),
        ``crc_failures``, ``bits_decoded`` (payload bits of decoded blocks), ``bit_errors`` (among them),
        ``coded_bits``, ``coded_bit_errors`` (hard decisions on the channel LLRs of the decoded blocks),
        ``channel_uses``.
    seconds : dict
        Wall time of ``channel_demapping`` (QAM mapping, channel, equalizer, demapper) and ``fec_decoding``.
    """

    streams: list[bytes | None]
    crc_ok: list[np.ndarray]
    decoded: list[np.ndarray]
    counters: dict[str, int]
    seconds: dict[str, float]


class ImageLink:
    """5G LDPC (fast numba decoder, or stock Sionna) + Gray QAM + channel + perfect-CSI equalizer + demapper.

    Parameters
    ----------
    modem : Modem
    channel : Channel
        AWGN runs entirely in numba; other channels use Sionna's blocks through :class:`Modem` and the channel.
    code : LDPC5GCode
        Code block size, rate and interleaver. ``code.decoder == "sionna"`` decodes with stock Sionna.
    round_blocks : int, default 8
        Code blocks per image decoded per round when ``early_stop`` is used.
    """

    def __init__(self, modem: Modem, channel: Channel, code: LDPC5GCode, round_blocks: int = 8) -> None:
        self.modem, self.channel, self.code = modem, channel, code
        self.encoder = FastLDPC5GEncoder(code._encoder)
        self.fast_decoder = (FastLDPC5GDecoder(code._encoder, max_iter=code.num_iter)
                             if code.decoder == "fast" else None)
        self.tables = QAMTables(modem.bits_per_symbol)
        self.symbols_per_block = code.n // modem.bits_per_symbol
        self.round_blocks = int(round_blocks)
        self._tf_front = tf.function(self._tf_front_impl, reduce_retracing=True)

    # -- transmit ----------------------------------------------------------------------------------------
    def blocks(self, stream: bytes) -> tuple[np.ndarray, int]:
        """Payload bits ``[num_blocks, k - 24]`` (uint8) of a stream and the number of padding bits."""
        bits = bytes_to_bits(stream)
        per_block = self.code.payload_bits
        num_blocks = max(1, -(-bits.size // per_block))
        padded = np.zeros(num_blocks * per_block, np.uint8)
        padded[: bits.size] = bits
        return padded.reshape(num_blocks, per_block), padded.size - bits.size

    def encode(self, payload: np.ndarray) -> np.ndarray:
        """Codewords ``[num_blocks, n]`` (uint8) of payload bits ``[num_blocks, k - 24]``, CRC24B attached."""
        return self.encoder.encode(payload)

    # -- channel and receiver ----------------------------------------------------------------------------
    def llr(self, coded: list[np.ndarray], no: float, rng: np.random.Generator) -> list[np.ndarray]:
        """Channel LLRs ``[num_blocks_i, n]`` (float32) of each image's codewords at noise power ``no``."""
        if isinstance(self.channel, AWGNChannel):
            llr = self._awgn_llr(np.concatenate(coded), no, rng)
            return np.split(llr, np.cumsum([c.shape[0] for c in coded])[:-1])
        # one frame per image: a frame-coherent channel fades once for all of an image's blocks
        llrs = []
        for c in coded:
            x_hat, no_eff = self._tf_front(tf.constant(c, tf.float32), tf.constant(no, tf.float32))
            llrs.append(demap(x_hat.numpy(), no_eff.numpy(), self.tables, exact=self.modem.demapping == "app"))
        return llrs

    def _awgn_llr(self, coded: np.ndarray, no: float, rng: np.random.Generator) -> np.ndarray:
        """LLRs ``[B, n]`` of codewords ``[B, n]`` stacked across images, over AWGN (noise drawn from ``rng``)."""
        noise = standard_normal_rows(rng, coded.shape[0], 2 * self.symbols_per_block)
        return map_awgn_demap(coded, no, self.tables, noise, exact=self.modem.demapping == "app")

    def _tf_front_impl(self, coded: tf.Tensor, no: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Sionna's mapper, the channel and the equalizer: ``x_hat`` and ``no_eff``, ``[num_blocks, n / m]``."""
        x = self.modem.map(coded)  # [num_blocks, n / m]
        frame = tf.reshape(x, [1, -1])  # one frame per image: its blocks back to back
        y, h = self.channel(frame, no)
        x_hat, no_eff = equalize(y, h, no)
        return tf.reshape(x_hat, tf.shape(x)), tf.reshape(tf.broadcast_to(no_eff, tf.shape(x_hat)), tf.shape(x))

    def decode(self, llr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Payload bits ``[B, k - 24]`` (uint8) and CRC check ``[B]`` (bool) of LLRs ``[B, n]``."""
        if self.fast_decoder is not None:
            bits, ok, _ = self.fast_decoder.decode(llr)
            return bits, ok
        bits, ok = self.code.decode(tf.constant(llr, tf.float32))
        return bits.numpy().astype(np.uint8), ok.numpy()

    def send(self, payloads: list[np.ndarray], coded: list[np.ndarray], no: float, rng: np.random.Generator,
             early_stop: bool) -> Transmission:
        """Send every image's codewords, decode, and reassemble the received streams.

        Parameters
        ----------
        payloads : list of [num_blocks_i, k - 24], np.uint8
            The sent payload bits (to count errors).
        coded : list of [num_blocks_i, n], np.uint8
            Their codewords (:meth:`encode`), computed once per image since they do not depend on the SNR.
        no : float
            Noise power per complex symbol (unit symbol energy).
        rng : numpy.random.Generator
            Noise of the AWGN path (other channels draw from Sionna's generator).
        early_stop : bool
            Stop decoding an image after the round holding its first CRC failure (strict receivers).
        """
        nb = [c.shape[0] for c in coded]
        hat = [np.zeros_like(p) for p in payloads]
        crc_ok = [np.zeros(n, bool) for n in nb]
        decoded = [np.zeros(n, bool) for n in nb]
        seconds = {"channel_demapping": 0.0, "fec_decoding": 0.0}
        # AWGN blocks are independent: only the blocks about to be decoded are demapped (their noise drawn
        # then). Fading channels are demapped per whole image, so that a frame keeps its one gain.
        lazy = isinstance(self.channel, AWGNChannel)
        t0 = time.perf_counter()
        llrs = None if lazy else self.llr(coded, no, rng)
        seconds["channel_demapping"] += time.perf_counter() - t0
        coded_errors = 0
        alive = list(range(len(coded)))
        step = self.round_blocks if early_stop else max(nb, default=1)
        for start in range(0, max(nb, default=0), step):
            jobs = [(i, start, min(start + step, nb[i])) for i in alive if nb[i] > start]
            if not jobs:
                break
            t0 = time.perf_counter()
            sent = np.concatenate([coded[i][a:b] for i, a, b in jobs])
            llr = (self._awgn_llr(sent, no, rng) if lazy
                   else np.concatenate([llrs[i][a:b] for i, a, b in jobs]))
            coded_errors += int(np.count_nonzero((llr > 0) != sent))
            t1 = time.perf_counter()
            bits, ok = self.decode(llr)
            seconds["channel_demapping"] += t1 - t0
            seconds["fec_decoding"] += time.perf_counter() - t1
            at = 0
            for i, a, b in jobs:
                hat[i][a:b], crc_ok[i][a:b], decoded[i][a:b] = bits[at: at + b - a], ok[at: at + b - a], True
                at += b - a
            if early_stop:
                alive = [i for i in alive if crc_ok[i][: start + step].all()]
        num_decoded = int(sum(d.sum() for d in decoded))
        counters = {
            "blocks": sum(nb),
            "blocks_decoded": num_decoded,
            "block_errors": int(sum((np.any(h != p, axis=1) & d).sum()
                                    for h, p, d in zip(hat, payloads, decoded, strict=True))),
            "crc_failures": int(sum((~c & d).sum() for c, d in zip(crc_ok, decoded, strict=True))),
            "bits_decoded": num_decoded * self.code.payload_bits,
            "bit_errors": int(sum(np.count_nonzero((h != p)[d])
                                  for h, p, d in zip(hat, payloads, decoded, strict=True))),
            "coded_bits": num_decoded * self.code.n,
            "coded_bit_errors": coded_errors,
            "channel_uses": sum(nb) * self.symbols_per_block,
        }
        # whole code blocks: the padding bits after the stream need not fill whole bytes
        streams = [np.packbits(h.reshape(-1)).tobytes() if d.all() else None
                   for h, d in zip(hat, decoded, strict=True)]
        return Transmission(streams, crc_ok, decoded, counters, seconds)
