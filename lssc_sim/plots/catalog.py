"""The plots a scenario may name and the system kinds each one draws, without importing matplotlib.

The scenario validator reads this table: a plot that draws none of a scenario's systems is refused before any
work starts. ``tests/plots/test_catalog.py`` holds it equal to the registered plot functions.
"""

from __future__ import annotations

PLOT_KINDS: dict[str, tuple[str, ...]] = {
    "ber_vs_ebno": ("ber",),
    "ber_vs_snr": ("ber",),
    "bler_vs_ebno": ("ber",),
    "miou_vs_snr": ("digital_image", "semantic"),
    "bler_vs_snr": ("digital_image",),
    "images_lost_vs_snr": ("digital_image",),
    "model_table": ("semantic",),
    "depth_ablation": ("semantic",),
}
"""Plot name -> the system kinds whose rows it draws."""
