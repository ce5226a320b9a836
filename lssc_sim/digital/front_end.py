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
in the image systems). It returns the LLRs ``[B, n]`` (float32, ``log P(1)/P(0)``): the equalizer hands each
symbol's effective noise to the demapper, ``no / |h|^2`` with the perfect CSI of the flat channels, the estimation
error added on an OFDM channel (:meth:`~lssc_sim.channels.Channel.receive`, which ``TfFrontEnd`` calls). The
numba paths draw from the NumPy generator they are given; the TensorFlow ones from Sionna's generator (reset per
Point from the same seed).
"""

from __future__ import annotations

import numpy as np

from lssc_sim.channels import Channel
from lssc_sim.channels.fading_numpy import fade_equalize
from lssc_sim.channels.gaussian import standard_normal, standard_normal_keyed
from lssc_sim.digital.modem import Modem
from lssc_sim.digital.qam import demap, map_awgn_demap, qam_map


class FrontEnd:
    """What every front end offers: :meth:`llr` for a batch in frames of equal size, :meth:`llr_frames` for frames
    of any sizes (one image each)."""

    def __init__(self, modem: Modem, channel: Channel) -> None:
        self.modem, self.channel = modem, channel

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        """LLRs ``[B, n]`` of codewords ``[B, n]`` (uint8) sent in frames of ``frame_rows`` rows each."""
        raise NotImplementedError

    def llr_frames(self, frames: list[np.ndarray], no: float, rng: np.random.Generator) -> list[np.ndarray]:
        """LLRs of each frame ``[rows_i, n]`` (its rows sent back to back as one row of the channel)."""
        return [self.llr(f, no, rng, f.shape[0]) for f in frames]


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
        return self._demapped(x, np.broadcast_to(h, frames.shape).reshape(x.shape), no, rng)

    def llr_frames(self, frames: list[np.ndarray], no: float, rng: np.random.Generator) -> list[np.ndarray]:
        # every frame's gains with its own length, then one pass over all frames (few large kernel calls)
        x = qam_map(np.concatenate(frames), self.modem.tables)
        sym = x.shape[1]
        gains = [self.channel.draw_gains(rng, (1, f.shape[0] * sym)) for f in frames]
        if all(g.shape[-1] == 1 for g in gains):  # one gain per frame: keep it per row, not per symbol
            h = np.concatenate([np.repeat(g[:, :1], f.shape[0], axis=0) for g, f in zip(gains, frames, strict=True)])
        else:
            h = np.concatenate(
                [
                    np.broadcast_to(g, (1, f.shape[0] * sym)).reshape(f.shape[0], sym)
                    for g, f in zip(gains, frames, strict=True)
                ]
            )
        llr = self._demapped(x, h, no, rng)
        return np.split(llr, np.cumsum([f.shape[0] for f in frames])[:-1])

    def _demapped(self, x: np.ndarray, h: np.ndarray, no: float, rng: np.random.Generator) -> np.ndarray:
        noise = standard_normal(rng, (x.shape[0], 2 * x.shape[1]))
        x_hat, no_eff = fade_equalize(x, h, noise, no)
        return demap(x_hat, no_eff, self.modem.tables, exact=self.modem.exact)


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
        x_hat, no_eff = self.channel.receive(tf.reshape(x, [-1, frame_rows * x.shape[-1]]), no)
        return tf.reshape(x_hat, tf.shape(x)), tf.reshape(no_eff, tf.shape(x))

    def symbols(self, coded: np.ndarray, no: float, frame_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Equalized symbols and their effective noise, ``[B, n / m]`` each."""
        import tensorflow as tf

        x_hat, no_eff = self._graph(
            tf.constant(coded, tf.float32), tf.constant(no, tf.float32), tf.constant(frame_rows)
        )
        return x_hat.numpy(), no_eff.numpy()

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        x_hat, no_eff = self.symbols(coded, no, frame_rows)
        return demap(x_hat, no_eff, self.modem.tables, exact=self.modem.exact)


class SionnaFrontEnd(TfFrontEnd):
    """The stock chain: Sionna's mapper, the channel, the equalizer and Sionna's demapper in one graph."""

    def __init__(self, modem: Modem, channel: Channel) -> None:
        import tensorflow as tf

        super().__init__(modem, channel)
        self._llr_graph = tf.function(self._llr, reduce_retracing=True)

    def _llr(self, coded, no, frame_rows):
        x_hat, no_eff = self._equalized(coded, no, frame_rows)
        return self.modem.demap(x_hat, no_eff)

    def llr(self, coded: np.ndarray, no: float, rng: np.random.Generator, frame_rows: int = 1) -> np.ndarray:
        import tensorflow as tf

        llr = self._llr_graph(tf.constant(coded, tf.float32), tf.constant(no, tf.float32), tf.constant(frame_rows))
        return llr.numpy()


def make_front_end(modem: Modem, channel: Channel, reference: bool = False) -> FrontEnd:
    """The front end for this channel: by what it declares (``has_gains``, NumPy gains), or the stock chain."""
    if reference:
        return SionnaFrontEnd(modem, channel)
    if not channel.has_gains:
        return AwgnFrontEnd(modem, channel)
    if channel.has_numpy_gains():
        return FadingFrontEnd(modem, channel)
    return TfFrontEnd(modem, channel)
