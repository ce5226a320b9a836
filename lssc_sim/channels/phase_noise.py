"""Worked example of a channel model: AWGN plus Wiener (random-walk) carrier phase noise.

Copy this file to add a channel: subclass ``Channel``, give it a ``name``, validate the keyword parameters
in ``__init__`` (plain Python, no TensorFlow) and store them under attributes of the same names, and say in
``gains`` how the gains ``h`` are drawn. ``Channel.__call__`` then computes ``y = h * x + n`` with Sionna's
AWGN block, and the receiver equalizes with ``h`` (perfect CSI). Register it with ``@CHANNELS.register``
here, or from another package through the ``lssc_sim.channels`` entry-point group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lssc_sim.channels.base import CHANNELS, Channel, check_float

if TYPE_CHECKING:
    import tensorflow as tf


@CHANNELS.register("phase_noise")
class PhaseNoise(Channel):
    """AWGN with Wiener phase noise: ``h[t] = exp(j phi[t])``, ``phi[t] = sum_{i<=t} d[i]``, ``d~N(0, s^2)``.

    The phase variance grows linearly along a row of ``x``: ``Var(phi[t]) = (t + 1) s^2``; each row (frame)
    starts afresh. ``|h| = 1``, so the SNR is unchanged.

    Parameters
    ----------
    linewidth_symbol : float, default 0.02
        Standard deviation ``s`` of the phase increment per symbol, in radians
        (``s^2 = 2 pi * linewidth * symbol_duration`` for an oscillator of that 3 dB linewidth).
    """

    name = "phase_noise"

    def __init__(self, linewidth_symbol: float = 0.02) -> None:
        super().__init__()  # sets up the AWGN block used by __call__
        # Validate here, with no TensorFlow work: scenario files are checked before anything runs.
        self.linewidth_symbol = check_float(self.name, "linewidth_symbol", linewidth_symbol, minimum=0.0)

    def gains(self, shape: tf.Tensor) -> tf.Tensor:
        import tensorflow as tf  # inside: validating a scenario constructs channels and must stay light
        from sionna.phy import config

        # Draw from Sionna's generator so that seed_everything() makes runs reproducible.
        increments = config.tf_rng.normal(shape, stddev=self.linewidth_symbol, dtype=tf.float32)
        phi = tf.cumsum(increments, axis=-1)  # random walk along the symbols of each frame
        return tf.exp(tf.complex(tf.zeros_like(phi), phi))
