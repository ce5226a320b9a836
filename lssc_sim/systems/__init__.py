"""Systems under test, registered by ``kind``."""

# importing the modules registers the built-in systems
from lssc_sim.systems import ber, digital_adaptive, digital_image, label_map, semantic, split_digital  # noqa: F401
from lssc_sim.systems.base import SYSTEMS, Counters, PointContext, SystemConfig

__all__ = ["SYSTEMS", "Counters", "PointContext", "SystemConfig"]
