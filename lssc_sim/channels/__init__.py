"""Channel models: ``y, h = channel(x, no)``; built by name with :func:`make_channel`.

Importing this package registers the built-in models; others come from the ``lssc_sim.channels``
entry-point group (see ``registry.py``).
"""

from __future__ import annotations

from lssc_sim.channels import awgn, ideal, phase_noise, rayleigh, rician, tdl  # noqa: F401  (register the built-ins)
from lssc_sim.channels.base import CHANNELS, Channel, FlatFadingChannel, equalize, make_channel

__all__ = ["CHANNELS", "Channel", "FlatFadingChannel", "equalize", "make_channel"]
