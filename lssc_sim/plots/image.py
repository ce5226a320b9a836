"""Figures of the image systems (``digital_image``, ``semantic``) from results.csv: mIoU, BLER and images lost
against SNR, one panel per channel, registered in :data:`lssc_sim.plots.base.PLOTS`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from lssc_sim import theory
from lssc_sim.plots.base import MODULATION_LABELS, PLOTS, Row, legend_right, panels, plt, save

IMAGE_KINDS = ("digital_image", "semantic")
SOURCE_LABELS = {"png": "PNG", "jpeg": "JPEG", "jpeg2000": "JPEG 2000", "webp": "WebP", "avif": "AVIF"}
CAPACITY = {"awgn": theory.capacity_awgn, "rayleigh": theory.capacity_rayleigh}  # ergodic for fading


def system_label(row: Row) -> str:
    """``PNG + LDPC r=1/2 + QPSK · 12.9 ch. uses/px`` or ``lssc_awgn (semantic) · 15.0 ch. uses/px``."""
    uses = f"{float(row['channel_uses_per_pixel']):.1f} ch. uses/px"
    if row["kind"] == "semantic":
        return f"{row['system']} ({row.get('weights') or 'trained'}, analog) · {uses}"
    source = SOURCE_LABELS.get(row["source.codec"], row["source.codec"])
    if row.get("source.quality") not in (None, ""):
        source += f" q{row['source.quality']}"
    mod = MODULATION_LABELS.get(row["modulation"], row["modulation"])
    mode = "" if row.get("receiver.mode", "strict") == "strict" else f" ({row['receiver.mode']})"
    return f"{source} + LDPC r={float(row['code_rate']):.2f} + {mod}{mode} · {uses}"


def _lines(rows: list[Row]) -> dict[str, list[Row]]:
    lines: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        lines[(row["system"], system_label(row))].append(row)  # swept parameters (code rate...) split lines
    return {key: sorted(v, key=lambda r: float(r["snr_db"])) for key, v in lines.items()}


def shannon_snr_db(channel: str, source_bits: float, channel_uses: float) -> float | None:
    """SNR (dB) at which capacity times ``channel_uses`` equals ``source_bits``; None without a capacity formula.

    No separate source-channel scheme with these channel uses can deliver the stream losslessly below it.
    """
    if channel not in CAPACITY:
        return None
    need = source_bits / channel_uses  # bits per channel use
    if channel == "awgn":
        return float(10 * np.log10(2**need - 1))
    grid = np.linspace(-20, 80, 20001)
    return float(np.interp(need, CAPACITY[channel](grid), grid))


def _figure(rows: list[Row], title: str, ylabel: str):
    by_channel = panels(rows)
    fig, axes = plt.subplots(1, len(by_channel), figsize=(6.4 * len(by_channel) + 3.6, 4.8), squeeze=False,
                             sharey=True)
    for ax, panel in zip(axes[0], by_channel, strict=True):
        ax.set_title(panel)
        ax.set_xlabel("SNR $E_s/N_0$ (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    return fig, axes[0], by_channel


def _style(index: int, row: Row) -> tuple[str, str, str]:
    if row["kind"] == "semantic":
        return "k", "o", "-"
    return f"C{index % 10}", "s", "--"


@PLOTS.register("miou_vs_snr")
def miou_vs_snr(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """mIoU against SNR: a line per system; clean-image and all-lost mIoU dashed; Shannon markers (stars)."""
    rows = [r for r in rows if r.get("kind") in IMAGE_KINDS]
    if not rows:
        return []
    fig, axes, by_channel = _figure(rows, title, "mIoU")
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        refs = {}
        for i, line in enumerate(_lines(panel_rows).values()):
            first = line[0]
            color, marker, style = _style(i, first)
            xs = [float(r["snr_db"]) for r in line]
            ax.plot(xs, [float(r["miou"]) for r in line], marker=marker, ls=style, color=color, ms=4,
                    label=system_label(first))
            if first["kind"] == "semantic":
                ax.axhline(float(first["clean_miou"]), color=color, ls="-.", lw=0.8,
                           label=f"{first['system']} without channel noise")
                continue
            refs["clean"] = float(first["clean_miou"])
            refs["lost"] = float(first["lost_miou"])
            snr = shannon_snr_db(first["channel"], float(first["source_bits_per_image"]),
                                 float(first["channel_uses_per_image"]))
            if snr is not None:
                ax.plot([snr], [refs["clean"]], "*", color=color, ms=12, mec="k", mew=0.5,
                        label=f"Shannon limit{'' if first['channel'] == 'awgn' else ' (ergodic)'}, "
                              f"{system_label(first).split(' · ')[0]}: {snr:.1f} dB")
        if "clean" in refs:
            ax.axhline(refs["clean"], color="0.3", ls="--", lw=1, label="clean images, UNet segmenter")
            ax.axhline(refs["lost"], color="0.3", ls=":", lw=1, label="every image lost (grey fallback)")
        ax.set_ylim(0, 1.02)
    legend_right(fig, axes)
    return save(fig, out_dir, "miou_vs_snr")


@PLOTS.register("bler_vs_snr")
def bler_vs_snr(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """Code-block error rate of the digital image links against SNR (decoded blocks; zero errors at 3/N)."""
    rows = [r for r in rows if r.get("kind") == "digital_image"]
    if not rows:
        return []
    fig, axes, by_channel = _figure(rows, title, "block error rate")
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        lowest = 1.0
        for i, line in enumerate(_lines(panel_rows).values()):
            color, marker, style = _style(i, line[0])
            xs = np.array([float(r["snr_db"]) for r in line])
            ys = np.array([float(r["bler"]) for r in line])
            seen = ys > 0
            ax.semilogy(xs, np.where(seen, ys, np.nan), marker=marker, ls=style, color=color, ms=4,
                        label=system_label(line[0]))
            last = xs[seen].max() if seen.any() else -np.inf
            first_clean = [j for j in np.flatnonzero(~seen) if xs[j] > last][:1]
            if first_clean:
                bound = 3.0 / float(line[first_clean[0]]["blocks_decoded"])
                ax.semilogy(xs[first_clean], [bound], "v", color=color, mfc="none", ms=6)
                lowest = min(lowest, bound)
            lowest = min([lowest, *ys[seen]])
        ax.semilogy([], [], "v", color="0.4", mfc="none", label="no block errors: 95% upper bound 3/N")
        ax.set_ylim(max(lowest / 3, 1e-7), 1.5)
    legend_right(fig, axes)
    return save(fig, out_dir, "bler_vs_snr")


@PLOTS.register("images_lost_vs_snr")
def images_lost_vs_snr(rows: list[Row], out_dir: Path, title: str) -> list[Path]:
    """Fraction of images the digital receivers lost (CRC failure or undecodable stream) against SNR."""
    rows = [r for r in rows if r.get("kind") == "digital_image"]
    if not rows:
        return []
    fig, axes, by_channel = _figure(rows, title, "images lost (fraction)")
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        for i, line in enumerate(_lines(panel_rows).values()):
            color, marker, style = _style(i, line[0])
            ax.plot([float(r["snr_db"]) for r in line],
                    [int(r["images_lost"]) / int(r["images"]) for r in line],
                    marker=marker, ls=style, color=color, ms=4, label=system_label(line[0]))
        ax.set_ylim(-0.02, 1.02)
    legend_right(fig, axes)
    return save(fig, out_dir, "images_lost_vs_snr")
