"""Systems under test, registered by ``kind``."""

from lssc_sim.systems import ber, digital_adaptive, digital_image, semantic  # noqa: F401  (registers the built-in systems)
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig

__all__ = ["SYSTEMS", "Counters", "PointContext", "SystemConfig"]
