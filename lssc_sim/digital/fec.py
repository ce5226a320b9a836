"""5G NR LDPC code with a CRC24B per code block, wrapping Sionna's LDPC5G encoder/decoder and CRC blocks."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sionna.phy.fec.crc import CRCDecoder, CRCEncoder
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

from lssc_sim.digital.spec import CN_UPDATES, CRC_BITS, DECODERS, LdpcSpec, check_int, codeword_length


class LDPC5GCode:
    """One 5G LDPC code block carrying ``k - 24`` payload bits and a CRC24B.

    Parameters
    ----------
    k : int
        LDPC information length of one code block including its 24 CRC bits, 25..8448.
    n : int, optional
        Codeword length in bits. Exactly one of ``n`` and ``rate``.
    rate : float, optional
        Code rate in [1/3, 5/6]; ``n = ceil(k / rate)`` rounded up to a multiple of ``bits_per_symbol``.
    bits_per_symbol : int, default 1
        Bits per QAM symbol. Above 1, the 5G rate-matching output interleaver (38.212 5.4.2.2) is applied
        for bit-interleaved coded modulation, and ``n`` must be a multiple of it.
    num_iter : int, default 20
        Belief-propagation iterations (no early stopping in Sionna 1.2).
    cn_update : {"boxplus-phi", "boxplus", "minsum", "offset-minsum"}, default "boxplus-phi"
        Check-node update rule of the Sionna decoder.
    decoder : {"sionna", "fast"}, default "sionna"
        ``"sionna"``: Sionna's ``LDPC5GDecoder`` (flooding BP, ``num_iter`` iterations), the reference.
        ``"fast"``: :class:`~lssc_sim.digital.fast_ldpc.FastLDPC5GDecoder` (numba layered offset min-sum
        with early stopping, at most ``num_iter`` iterations; ``cn_update`` is ignored). :meth:`decode`
        returns tf tensors either way; the fast path also works inside a ``tf.function``.

    Attributes
    ----------
    k, n, payload_bits : int
        LDPC information length, codeword length, payload bits per block (``k - 24``).
    rate : float
        Actual code rate ``k / n``.
    """

    @classmethod
    def from_spec(cls, spec: LdpcSpec, bits_per_symbol: int) -> LDPC5GCode:
        """The code a scenario's ``fec:`` section (:class:`~lssc_sim.digital.spec.LdpcSpec`) describes, for a
        modulation of ``bits_per_symbol``."""
        return cls(
            spec.k,
            n=spec.n,
            rate=spec.rate,
            bits_per_symbol=bits_per_symbol,
            num_iter=spec.num_iter,
            cn_update=spec.cn_update,
            decoder=spec.decoder,
        )

    def __init__(
        self,
        k: int,
        n: int | None = None,
        rate: float | None = None,
        bits_per_symbol: int = 1,
        num_iter: int = 20,
        cn_update: str = "boxplus-phi",
        decoder: str = "sionna",
    ) -> None:
        self.n = codeword_length(k, n=n, rate=rate, bits_per_symbol=bits_per_symbol)
        check_int("num_iter", num_iter, 1, 10_000)
        if cn_update not in CN_UPDATES:
            raise ValueError(f"cn_update must be one of {', '.join(map(repr, CN_UPDATES))}; got {cn_update!r}")
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(map(repr, DECODERS))}; got {decoder!r}")
        self.decoder = decoder
        self.k = int(k)
        self.payload_bits = self.k - CRC_BITS
        self.rate = self.k / self.n
        self.bits_per_symbol = int(bits_per_symbol)
        self.num_iter = int(num_iter)
        self.cn_update = cn_update
        try:
            self._encoder = LDPC5GEncoder(
                self.k, self.n, num_bits_per_symbol=self.bits_per_symbol if self.bits_per_symbol > 1 else None
            )
            self._decoder = LDPC5GDecoder(
                self._encoder,
                cn_update=cn_update,
                num_iter=self.num_iter,
                hard_out=True,
                return_infobits=True,
            )
        except (ValueError, TypeError, AssertionError) as exc:
            raise ValueError(f"Sionna rejected the 5G LDPC code k={self.k}, n={self.n}: {exc}") from exc
        # Separate CRC encoders: Sionna's CRCDecoder re-runs its encoder on k bits (payload + CRC) and a
        # CRCEncoder rebuilds its generator matrix whenever the input length changes.
        self._crc_encoder = CRCEncoder("CRC24B", precision="single")
        self._crc_decoder = CRCDecoder(CRCEncoder("CRC24B", precision="single"), precision="single")
        self._decode_graph = tf.function(self._decode, reduce_retracing=True)
        self._encode_graph = tf.function(self.encode, reduce_retracing=True)
        self.fast_encoder = self.fast_decoder = None
        if decoder == "fast":  # imported here so the reference path never needs numba
            from lssc_sim.digital.fast_ldpc import FastLDPC5GDecoder, FastLDPC5GEncoder

            self.fast_encoder = FastLDPC5GEncoder(self._encoder)
            self.fast_decoder = FastLDPC5GDecoder(self._encoder, max_iter=self.num_iter)

    # -- arrays: what the link uses --------------------------------------------------------------------
    def encode_bits(self, payload: np.ndarray) -> np.ndarray:
        """CRC24B and LDPC encoding of payload bits ``[B, payload_bits]`` (0/1) into codewords ``[B, n]``, uint8.

        The fast encoder (numba, bit-exact with Sionna's; tested) with ``decoder="fast"``, else Sionna's blocks.
        """
        if self.fast_encoder is not None:
            return self.fast_encoder.encode(payload)
        return self._encode_graph(tf.constant(payload, tf.float32)).numpy().astype(np.uint8)

    def decode_llr(self, llr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode channel LLRs ``[B, n]`` (float32): payload bits ``[B, payload_bits]`` (uint8) and the CRC check
        ``[B]`` (bool), with the decoder this code was built with."""
        if self.fast_decoder is not None:
            bits, ok, _ = self.fast_decoder.decode(llr)
            return bits, ok
        bits, ok = self._decode_graph(tf.constant(llr, tf.float32))
        return bits.numpy().astype(np.uint8), ok.numpy()

    def encode(self, payload: tf.Tensor) -> tf.Tensor:
        """Append the CRC24B and LDPC-encode.

        Parameters
        ----------
        payload : [..., payload_bits], tf.float32
            0/1 payload bits of each code block.

        Returns
        -------
        [..., n], tf.float32
            Codeword bits (rate-matched, and interleaved when ``bits_per_symbol > 1``).
        """
        payload = tf.cast(payload, tf.float32)
        self._check_last_dim("payload", payload, self.payload_bits)
        return self._encoder(self._crc_encoder(payload))

    def decode(self, llr: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Belief-propagation decode and check the CRC.

        Parameters
        ----------
        llr : [..., n], tf.float32 (or a NumPy array)
            Channel LLRs ``log(P(b=1)/P(b=0))``, as returned by :meth:`Modem.demap`.

        Returns
        -------
        payload_hat : [..., payload_bits], tf.float32
            Decoded payload bits.
        crc_ok : [...], tf.bool
            Whether each block's CRC24B checks.
        """
        if self.fast_decoder is not None:
            return self._decode_fast(llr)
        llr = tf.cast(llr, tf.float32)
        self._check_last_dim("llr", llr, self.n)
        return self._decode_graph(llr)

    def _decode_fast(self, llr) -> tuple[tf.Tensor, tf.Tensor]:
        if isinstance(llr, tf.Tensor) and not tf.executing_eagerly():  # inside a tf.function
            self._check_last_dim("llr", llr, self.n)
            payload_hat, crc_ok = tf.numpy_function(
                lambda x: self.fast_decoder.decode(x)[:2], [tf.cast(llr, tf.float32)], [tf.uint8, tf.bool]
            )
            payload_hat.set_shape(llr.shape[:-1].concatenate([self.payload_bits]))
            crc_ok.set_shape(llr.shape[:-1])
            return tf.cast(payload_hat, tf.float32), crc_ok
        payload_hat, crc_ok, _ = self.fast_decoder.decode(np.asarray(llr, np.float32))
        return tf.constant(payload_hat, tf.float32), tf.constant(crc_ok)

    def _decode(self, llr: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        bits = self._decoder(llr)
        payload_hat, crc_ok = self._crc_decoder(bits)
        return payload_hat, tf.squeeze(crc_ok, axis=-1)

    @staticmethod
    def _check_last_dim(what: str, t: tf.Tensor, expected: int) -> None:
        if t.shape[-1] is not None and t.shape[-1] != expected:
            raise ValueError(f"{what} must have last dimension {expected}; got shape {t.shape}")

    def __repr__(self) -> str:
        return (
            f"LDPC5GCode(k={self.k}, n={self.n}, bits_per_symbol={self.bits_per_symbol}, "
            f"num_iter={self.num_iter}, cn_update={self.cn_update!r}, decoder={self.decoder!r})"
        )
