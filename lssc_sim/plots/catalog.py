"""The plots a scenario may name and the system kinds each one draws, without importing matplotlib.

The scenario validator reads this table: a plot that draws none of a scenario's systems is refused before any
work starts. ``tests/plots/test_catalog.py`` holds it equal to the registered plot functions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PLOT_KINDS: dict[str, tuple[str, ...]] = {
    "ber_vs_ebno": ("ber",),
    "ber_vs_snr": ("ber",),
    "bler_vs_ebno": ("ber",),
    "miou_vs_snr": ("digital_image", "semantic", "label_map", "split_digital"),
    "ss_vs_snr": ("digital_image", "semantic", "label_map", "split_digital"),
    "psnr_vs_snr": ("digital_image",),
    "bler_vs_snr": ("digital_image", "label_map", "split_digital"),
    "images_lost_vs_snr": ("digital_image", "label_map", "split_digital"),
    # rate figures: the ideal channel's rows; a semantic system there is a reference line (it has no bpp)
    "miou_vs_bpp": ("digital_image", "semantic"),
    "psnr_vs_bpp": ("digital_image",),
    "ssim_vs_bpp": ("digital_image",),
    "ss_vs_bpp": ("digital_image", "semantic"),
    "bd_table": ("digital_image",),
    # equal bandwidth: semantic systems set the budgets, digital ones make the envelope and the rate curve
    "miou_vs_snr_matched": ("digital_image", "semantic", "digital_adaptive"),
    "miou_vs_bandwidth": ("digital_image", "semantic", "digital_adaptive"),
    "model_table": ("semantic",),
    # seed 002's costs of getting a segmentation to the receiver; seed 004's compression, seed 000's delivery
    "bits_per_image": ("digital_image", "label_map", "split_digital", "semantic"),
    "transmitter_cost": ("digital_image", "label_map", "split_digital", "semantic"),
    "miou_vs_weight_bits": ("semantic",),
    "miou_vs_sparsity": ("semantic",),
    "model_delivery": ("semantic",),
    "depth_ablation": ("semantic",),
}
"""Plot name -> the system kinds whose rows it draws."""


PRESETS: dict[str, dict[str, object]] = {
    "column": {"width_in": 3.5, "height_in": 2.8, "font_size": 8.0, "legend": "below", "panels": "channel"},
    "page": {"width_in": 7.0, "height_in": 4.2, "font_size": 10.0, "legend": "outside", "panels": "channel"},
}
"""Figure sizes of a one-column and a full-page figure of a two-column paper (inches, points)."""


class PlotStyle(BaseModel):
    """The scenario's ``plot_style:`` section: a preset and any of its values overridden.

    ``width_in`` and ``height_in`` are the size of one panel's figure in inches (a figure with several panels
    grows in width), ``font_size`` in points, ``legend`` where the legend goes, ``panels`` what one panel of
    the SNR figures of image systems holds: a channel, or a channel and a modulation (the analog systems, which
    have none, appear in every panel of their channel).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Literal["column", "page"] = "page"
    width_in: float | None = Field(None, gt=0, le=30)
    height_in: float | None = Field(None, gt=0, le=30)
    font_size: float | None = Field(None, gt=0, le=40)
    legend: Literal["inside", "outside", "below"] | None = None
    panels: Literal["channel", "channel_and_modulation"] | None = None

    def resolved(self) -> dict[str, object]:
        """The preset's values with the ones given here in their place."""
        given = {k: v for k, v in self.model_dump(exclude={"preset"}).items() if v is not None}
        return {**PRESETS[self.preset], **given}
