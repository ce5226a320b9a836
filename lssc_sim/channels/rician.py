"""Flat Rician fading: a line-of-sight component plus Rayleigh scattering, ``E|h|^2 = 1``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from lssc_sim.channels.base import CHANNELS, FlatFadingChannel, check_float

if TYPE_CHECKING:
    import tensorflow as tf


@CHANNELS.register("rician")
class Rician(FlatFadingChannel):
    """Flat Rician fading, ``h = sqrt(K/(K+1)) + sqrt(1/(K+1)) g`` with ``g ~ CN(0, 1)``.

    The line-of-sight component has a fixed phase of 0 (the receiver knows ``h`` anyway); ``E|h|^2 = 1``.

    Parameters
    ----------
    k_factor_db : float, default 6.0
        Rician K-factor (LOS power over scattered power) in dB.
    coherence : {"symbol", "block", "frame"}, default "symbol"
        How long the scattered part lasts: one symbol, ``block_length`` symbols, or one row of ``x``.
    block_length : int, optional
        Symbols per block, only with ``coherence="block"`` (default 64).
    """

    name = "rician"

    def __init__(self, k_factor_db: float = 6.0, coherence: str = "symbol", block_length: int | None = None) -> None:
        super().__init__(coherence=coherence, block_length=block_length)
        self.k_factor_db = check_float(self.name, "k_factor_db", k_factor_db)

    @property
    def k_factor(self) -> float:
        """K-factor, linear."""
        return 10.0 ** (self.k_factor_db / 10.0)

    def gains(self, shape: tf.Tensor) -> tf.Tensor:
        los, spread = self._parts()
        return los + spread * self.scattered(shape)

    def draw_gains(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        los, spread = self._parts()
        return (los + spread * self.scattered_numpy(rng, shape)).astype(np.complex64)

    def _parts(self) -> tuple[complex, float]:
        """The line-of-sight gain and the scale of the scattered part."""
        k = self.k_factor
        return complex(math.sqrt(k / (k + 1.0)), 0.0), math.sqrt(1.0 / (k + 1.0))
