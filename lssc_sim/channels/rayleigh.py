"""Flat Rayleigh fading: ``y = h x + n`` with ``h ~ CN(0, 1)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lssc_sim.channels.base import CHANNELS, FlatFadingChannel

if TYPE_CHECKING:
    import tensorflow as tf


@CHANNELS.register("rayleigh")
class Rayleigh(FlatFadingChannel):
    """Flat Rayleigh fading with CN(0, 1) gains (``E|h|^2 = 1``, so the average SNR is Es/N0).

    Parameters
    ----------
    coherence : {"symbol", "block", "frame"}, default "symbol"
        How long a gain lasts: one symbol, ``block_length`` symbols, or one row of ``x`` (an image).
    block_length : int, optional
        Symbols per block, only with ``coherence="block"`` (default 64).
    """

    name = "rayleigh"

    def __init__(self, coherence: str = "symbol", block_length: int | None = None) -> None:
        super().__init__(coherence=coherence, block_length=block_length)

    def gains(self, shape: tf.Tensor) -> tf.Tensor:
        return self.scattered(shape)

    def draw_gains(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return self.scattered_numpy(rng, shape)
