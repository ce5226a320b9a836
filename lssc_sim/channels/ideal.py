"""The ideal channel: error-free and noiseless, ``y = x`` at any SNR.

What rate-distortion and rate-semantic curves are run on: a digital system sends its source stream unchanged
(no channel code, no modulation; channel uses are not defined), a semantic system its features without noise.
Points over this channel have no SNR and no modulation axis (:attr:`Channel.noiseless`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lssc_sim.channels.base import CHANNELS, Channel

if TYPE_CHECKING:
    import tensorflow as tf


@CHANNELS.register("ideal")
class IdealChannel(Channel):
    """``y = x``, ``h = 1`` (``[batch, 1]`` ones) whatever ``no``. Takes no parameters."""

    name = "ideal"
    has_gains = False
    noiseless = True

    def __call__(self, x: tf.Tensor, no: float | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        if x.dtype != tf.complex64:
            raise TypeError(f"{self.name}: x must be tf.complex64, got {x.dtype.name}")
        return x, tf.ones(tf.concat([tf.shape(x)[:-1], [1]], axis=0), dtype=tf.complex64)
