"""Figures of the image systems (``digital_image``, ``semantic``) from results.csv: mIoU, BLER and images lost
against SNR, one panel per channel, registered in :data:`lssc_sim.plots.base.PLOTS`.

Each figure has a builder (``miou_figure``, ``bler_figure``, ``images_lost_figure``: rows, title, style ->
Figure) and a registered wrapper that saves it. All three take their line styles from :func:`image_styles`
over every image row of the scenario, so a system has one colour and marker in all of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lssc_sim import theory
from lssc_sim.plots.base import (
    MODULATION_LABELS,
    PLOTS,
    Row,
    Style,
    draw,
    new_figure,
    panels,
    place_legend,
    plt,
    rate_uncertainty,
    set_titles,
    uncertainty_entries,
)
from lssc_sim.plots.lines import LineStyles
from lssc_sim.plots.stats import per_point, span, wilson_interval

IMAGE_KINDS = ("digital_image", "semantic")
SOURCE_LABELS = {"png": "PNG", "jpeg": "JPEG", "jpeg2000": "JPEG 2000", "webp": "WebP", "avif": "AVIF"}
CAPACITY = {"awgn": theory.capacity_awgn, "rayleigh": theory.capacity_rayleigh}  # ergodic for fading
BAND_ALPHA = 0.18


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


def image_styles(rows: list[Row]) -> LineStyles:
    """Line names and looks of every image row (semantic and digital), in results.csv order."""
    return LineStyles([r for r in rows if r.get("kind") in IMAGE_KINDS], system_label)


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


def scored_blocks(row: Row) -> float:
    """Code blocks a digital row's BLER counts (``scored_blocks``; ``blocks_decoded`` in older files), NaN
    when neither is there."""
    return float(row.get("scored_blocks", row.get("blocks_decoded", np.nan)))


def block_errors(row: Row) -> float:
    """Block errors of a digital row (from ``bler`` times the blocks scored when the count is missing)."""
    if "block_errors" in row:
        return float(row["block_errors"])
    return float(np.round(float(row.get("bler", np.nan)) * scored_blocks(row)))


def images_note(rows: list[Row]) -> str:
    """``100 images per point`` for the rows drawn."""
    return per_point((r.get("images") for r in rows), "images")


def _figure(rows: list[Row], title: str, style: Style, ylabel: str, notes: list[str]):
    by_channel = panels(rows)
    fig, axes = new_figure(len(by_channel), style)
    for ax in axes:
        ax.set_xlabel("SNR $E_s/N_0$ (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel(ylabel)
    set_titles(fig, axes, list(by_channel), title, notes, style)
    return fig, axes, by_channel


def _band(ax, xs, low, high, color) -> bool:
    """Shade an interval (NaN where a point has none); True when anything was shaded."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    if not np.isfinite(low).any():
        return False
    ax.fill_between(xs, low, high, color=color, alpha=BAND_ALPHA, lw=0)
    return True


def miou_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU against SNR: a line per system (95 % band when the rows carry ``miou_ci_low/high``); clean-image
    and all-lost mIoU dashed; the Shannon limit of each digital chain as a star."""
    styles = image_styles(rows)
    rows = [r for r in rows if r.get("kind") in IMAGE_KINDS]
    if not rows:
        return None
    fig, axes, by_channel = _figure(rows, title, style, "mIoU", [images_note(rows)])
    star = 2.6 * plt.rcParams["lines.markersize"]
    banded = False
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        refs = {}
        for name, line in styles.group(panel_rows).items():
            first = line[0]
            look = styles.look(first)
            xs = np.array([float(r["snr_db"]) for r in line])
            ax.plot(xs, [float(r["miou"]) for r in line], **look, label=name)
            banded |= _band(
                ax,
                xs,
                [r.get("miou_ci_low", np.nan) for r in line],
                [r.get("miou_ci_high", np.nan) for r in line],
                look["color"],
            )
            if first["kind"] == "semantic":
                ax.axhline(
                    float(first["clean_miou"]),
                    color=look["color"],
                    ls="-.",
                    lw=0.8,
                    label=f"{first['system']} without channel noise",
                )
                continue
            refs["clean"] = float(first["clean_miou"])
            refs["lost"] = float(first["lost_miou"])
            snr = shannon_snr_db(
                first["channel"], float(first["source_bits_per_image"]), float(first["channel_uses_per_image"])
            )
            if snr is not None:
                ax.plot(
                    [snr],
                    [refs["clean"]],
                    "*",
                    color=look["color"],
                    ms=star,
                    mec="k",
                    mew=0.5,
                    label=f"Shannon limit{'' if first['channel'] == 'awgn' else ' (ergodic)'}, "
                    f"{system_label(first).split(' · ')[0]}: {snr:.1f} dB",
                )
        if "clean" in refs:
            ax.axhline(refs["clean"], color="0.3", ls="--", lw=1, label="clean images, UNet segmenter")
            ax.axhline(refs["lost"], color="0.3", ls=":", lw=1, label="every image lost (grey fallback)")
        ax.set_ylim(0, 1.02)
    if banded:
        axes[-1].fill_between(
            [], [], color="0.4", alpha=BAND_ALPHA, lw=0, label="shaded: 95% bootstrap interval over images"
        )
    place_legend(fig, axes, style)
    return fig


def bler_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Code-block error rate of the digital image links against SNR, with 95 % Wilson intervals over the
    scored blocks; a point with no block error is marked at its 95 % upper bound 3/N."""
    styles = image_styles(rows)
    rows = [r for r in rows if r.get("kind") == "digital_image"]
    if not rows:
        return None
    images, blocks = span(r.get("images") for r in rows), span(map(scored_blocks, rows))
    notes = [f"{images} images, {blocks} code blocks scored per point"]
    fig, axes, by_channel = _figure(rows, title, style, "block error rate", notes)
    lowest = 1.0  # over all panels: they share the y axis
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        for name, line in styles.group(panel_rows).items():
            look = styles.look(line[0])
            xs = np.array([float(r["snr_db"]) for r in line])
            n = np.array([scored_blocks(r) for r in line])
            k = np.array([block_errors(r) for r in line])
            with np.errstate(invalid="ignore", divide="ignore"):  # a point with no block scored has no rate
                ys = k / n
            seen = (k > 0) & (n > 0)
            # NaN breaks the line where no errors were seen, so it never bridges a gap in the data
            ax.semilogy(xs, np.where(seen, ys, np.nan), **look, label=name)
            lowest = min(lowest, rate_uncertainty(ax, xs, k, n, look["color"]))
    axes[0].set_ylim(max(lowest / 3, 1e-7), 1.5)
    uncertainty_entries(axes[-1], "no block errors: 95% upper bound 3/N")
    place_legend(fig, axes, style)
    return fig


def images_lost_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Fraction of images the digital receivers lost (CRC failure or undecodable stream) against SNR, with
    its 95 % Wilson band over the images."""
    styles = image_styles(rows)
    rows = [r for r in rows if r.get("kind") == "digital_image"]
    if not rows:
        return None
    fig, axes, by_channel = _figure(rows, title, style, "images lost (fraction)", [images_note(rows)])
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        for name, line in styles.group(panel_rows).items():
            look = styles.look(line[0])
            xs = np.array([float(r["snr_db"]) for r in line])
            k = np.array([float(r["images_lost"]) for r in line])
            n = np.array([float(r["images"]) for r in line])
            ax.plot(xs, k / n, **look, label=name)
            _band(ax, xs, *wilson_interval(k, n), look["color"])
        ax.set_ylim(-0.02, 1.02)
    axes[-1].fill_between([], [], color="0.4", alpha=BAND_ALPHA, lw=0, label="shaded: 95% Wilson interval")
    place_legend(fig, axes, style)
    return fig


@PLOTS.register("miou_vs_snr")
def miou_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """mIoU against SNR (:func:`miou_figure`), as ``miou_vs_snr.{png,pdf}``."""
    return draw(miou_figure, rows, out_dir, title, style, "miou_vs_snr")


@PLOTS.register("bler_vs_snr")
def bler_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """Block error rate against SNR (:func:`bler_figure`), as ``bler_vs_snr.{png,pdf}``."""
    return draw(bler_figure, rows, out_dir, title, style, "bler_vs_snr")


@PLOTS.register("images_lost_vs_snr")
def images_lost_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """Images lost against SNR (:func:`images_lost_figure`), as ``images_lost_vs_snr.{png,pdf}``."""
    return draw(images_lost_figure, rows, out_dir, title, style, "images_lost_vs_snr")
