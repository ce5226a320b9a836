"""Additive white Gaussian noise: ``y = x + n``, ``h = 1``."""

from __future__ import annotations

from lssc_sim.channels.base import CHANNELS, Channel


@CHANNELS.register("awgn")
class AWGNChannel(Channel):
    """AWGN channel, ``y = x + n`` with ``n ~ CN(0, no)`` drawn by Sionna's ``AWGN`` block.

    ``h`` is ones of shape ``[batch, 1]``. Takes no parameters.
    """

    name = "awgn"
    has_gains = False
