"""A link's front end: coded bits -> QAM -> channel -> equalizer -> soft demapper -> LLRs, chosen once from what
the channel declares.

=================  ==============================================  ============================================
front end          when                                            what runs
=================  ==============================================  ============================================
``AwgnFrontEnd``   the channel has no gains (``has_gains=False``)  numba: map, noise, exact demap in one pass
``FadingFrontEnd`` the channel draws its gains in NumPy            NumPy gains, numba map, channel + ZF, demap
``TfFrontEnd``     any other channel                               Sionna's mapper, the channel's TF call and
                                                                   the equalizer, then the numba demapper
``SionnaFrontEnd`` ``reference=True`` (the stock chain)            Sionna's mapper, channel, equalizer, demapper
=================  ==============================================  ============================================

Every front end takes coded bits ``[B, n]`` cut into frames of ``frame_rows`` consecutive rows: a frame is one
row of the channel's input, so ``coherence="frame"`` fades once per frame (per code block in ``ber``, per image
in the image systems). It returns the LLRs ``[B, n]`` (float32, ``log P(1)/P(0)``) with perfect CSI: the
equalizer hands each symbol's effective noise ``no / |h|^2`` to the demapper. The numba paths draw from the
NumPy generator they are given; the TensorFlow ones from Sionna's generator (reset per Point from the same seed).
"""

from __future__ import annotations

import numpy as np

from lssc_sim.channels import Channel, equalize
from lssc_sim.channels.gaussian import standard_normal, standard_normal_keyed
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.qam import demap, fade_equalize, map_awgn_demap, qam_map


class FrontEnd:
    """What every front end offers: :meth:`llr` for a batch, :meth:`llr_frames` for frames with their own streams."""

    def __init__(self, modem: Modem, channel: Channel) -> None:
        self.modem, self.channel = modem, channel

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        """LLRs ``[B, n]`` of codewords ``[B, n]`` (uint8) sent in frames of ``frame_rows`` rows each."""
        raise NotImplementedError

    def llr_frames(self, frames: list[np.ndarray], no: float, rngs: list[np.random.Generator]) -> list[np.ndarray]:
        """LLRs of each frame ``[rows_i, n]``, its noise (and gains) drawn from its own generator ``rngs[i]``, so a
        frame's draws never depend on which other frames are sent with it."""
        return [self.llr(f, no, g, f.shape[0]) for f, g in zip(frames, rngs, strict=True)]


class AwgnFrontEnd(FrontEnd):
    """Map, add AWGN and demap in one numba pass (tested against Sionna's mapper, AWGN and demapper)."""

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        return map_awgn_demap(coded, no, self.modem.tables, self._noise(coded, rng), exact=self.modem.exact)

    def llr_keyed(self, coded: np.ndarray, no: float, seeds: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """LLRs ``[B, n]`` whose row ``r`` has the noise of stream ``(seeds[r], indices[r])``, whatever else is sent
        with it (see :func:`lssc_sim.channels.gaussian.standard_normal_keyed`)."""
        noise = standard_normal_keyed(seeds, indices, 2 * coded.shape[1] // self.modem.bits_per_symbol)
        return map_awgn_demap(coded, no, self.modem.tables, noise, exact=self.modem.exact)

    def _noise(self, coded: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return standard_normal(rng, (coded.shape[0], 2 * coded.shape[1] // self.modem.bits_per_symbol))


class FadingFrontEnd(FrontEnd):
    """Gains from the channel's NumPy sampler, then map, fade, add noise, equalize (ZF) and demap in numba."""

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        x = qam_map(coded, self.modem.tables)
        frames = x.reshape(-1, frame_rows * x.shape[1])  # one row of the channel per frame
        h = self.channel.draw_gains(rng, frames.shape)
        noise = standard_normal(rng, (frames.shape[0], 2 * frames.shape[1]))
        x_hat, no_eff = fade_equalize(frames, h, noise, no)
        return demap(x_hat.reshape(x.shape), no_eff.reshape(x.shape), self.modem.tables, exact=self.modem.exact)


class TfFrontEnd(FrontEnd):
    """Sionna's mapper, the channel's TensorFlow call and the perfect-CSI equalizer, then the numba demapper.

    The channel draws from Sionna's generator (reset per Point); the NumPy generators passed in are not used.
    """

    def __init__(self, modem: Modem, channel: Channel) -> None:
        import tensorflow as tf

        super().__init__(modem, channel)
        self._graph = tf.function(self._equalized, reduce_retracing=True)

    def _equalized(self, coded, no, frame_rows):
        import tensorflow as tf

        x = self.modem.map(coded)  # [B, n / m]
        y, h = self.channel(tf.reshape(x, [-1, frame_rows * x.shape[-1]]), no)
        x_hat, no_eff = equalize(y, h, no)
        return tf.reshape(x_hat, tf.shape(x)), tf.reshape(no_eff, tf.shape(x))

    def symbols(self, coded: np.ndarray, no: float, frame_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Equalized symbols and their effective noise, ``[B, n / m]`` each."""
        import tensorflow as tf

        x_hat, no_eff = self._graph(tf.constant(coded, tf.float32), tf.constant(no, tf.float32),
                                    tf.constant(frame_rows))
        return x_hat.numpy(), no_eff.numpy()

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        x_hat, no_eff = self.symbols(coded, no, frame_rows)
        return demap(x_hat, no_eff, self.modem.tables, exact=self.modem.exact)


class SionnaFrontEnd(TfFrontEnd):
    """The stock chain: Sionna's mapper, the channel, the equalizer and Sionna's demapper (the reference)."""

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        import tensorflow as tf

        x_hat, no_eff = self.symbols(coded, no, frame_rows)
        return self.modem.demap(tf.constant(x_hat), tf.constant(no_eff)).numpy()


def make_front_end(modem: Modem, channel: Channel, reference: bool = False) -> FrontEnd:
    """The front end for this channel: by what it declares (``has_gains``, NumPy gains), or the stock chain."""
    if reference:
        return SionnaFrontEnd(modem, channel)
    if not channel.has_gains:
        return AwgnFrontEnd(modem, channel)
    if channel.has_numpy_gains():
        return FadingFrontEnd(modem, channel)
    return TfFrontEnd(modem, channel)
