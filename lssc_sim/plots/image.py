"""Figures of the image systems (``digital_image``, ``semantic``, ``label_map``, ``split_digital``) from
results.csv against SNR, one panel per channel, registered in :data:`lssc_sim.plots.base.PLOTS`:

======================  ==========================================  ==================================
plot                    y                                           systems
======================  ==========================================  ==================================
``miou_vs_snr``         mIoU (95 % band where the rows carry one)   every image system
``ss_vs_snr``           SS = mIoU / clean mIoU (seed 004)           every image system
``psnr_vs_snr``         PSNR (dB) of what the receiver shows        digital_image
``bler_vs_snr``         code-block error rate (Wilson bars)         the systems that send bits
``images_lost_vs_snr``  fraction of images lost (Wilson band)       the systems that send bits
======================  ==========================================  ==================================

Each figure has a builder (``miou_figure``, ``ss_figure``, ``psnr_figure``, ``bler_figure``,
``images_lost_figure``: rows, title, style -> Figure) and a registered wrapper that saves it. All take their line
styles from :func:`image_styles` over every image row of the scenario with an SNR, so a system has one colour
and marker in all of them. Rows of the ideal channel (``snr_db`` NaN) have no place on an SNR axis and are left
out; the rate figures of :mod:`lssc_sim.plots.rate` draw them.
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
    exact_entry,
    exact_marks,
    has_snr,
    is_exact,
    new_figure,
    panels,
    place_legend,
    plt,
    rate_uncertainty,
    set_titles,
    uncertainty_entries,
    uses_text,
)
from lssc_sim.plots.lines import LineStyles
from lssc_sim.plots.stats import per_point, span, wilson_interval

IMAGE_KINDS = ("digital_image", "semantic", "label_map", "split_digital")
# the image systems that send bits through LDPC + QAM (code blocks, images lost, a Shannon marker)
BIT_KINDS = ("digital_image", "label_map", "split_digital")
SOURCE_LABELS = {
    "png": "PNG",
    "raw": "raw 24 bpp",
    "jpeg": "JPEG",
    "jpeg2000": "JPEG 2000",
    "webp": "WebP",
    "avif": "AVIF",
    "heif": "HEVC intra (BPG-like)",
}
SS_LABEL = "SS = mIoU / clean mIoU"
# SS is each system's mIoU over its own reference, and the references differ: said wherever both kinds are drawn
SS_NOTE = (
    "SS: digital chains over the segmenter's mIoU on the clean images, "
    "semantic systems over their own mIoU without channel noise"
)
CAPACITY = {"awgn": theory.capacity_awgn, "rayleigh": theory.capacity_rayleigh}  # ergodic for fading
BAND_ALPHA = 0.18


def source_label(row: Row) -> str:
    """The source coding of a digital row: ``JPEG q75``, ``JPEG 0.25 bpp target``, ``PNG``."""
    source = SOURCE_LABELS.get(row["source.codec"], row["source.codec"])
    if row.get("source.bpp") not in (None, ""):  # a rate target: the quality differs from image to image
        return f"{source} {float(row['source.bpp']):g} bpp target"
    if row.get("source.quality") not in (None, ""):
        source += f" q{row['source.quality']}"
    return source


def system_label(row: Row) -> str:
    """``PNG + LDPC r=1/2 + QPSK · 12.9 ch. uses/px`` or ``lssc_awgn (semantic) · 15.0 ch. uses/px``.

    A row without a link (the ideal channel: no code, no modulation, no channel uses) is named by its source
    coding alone.
    """
    uses = f" · {uses_text(row['channel_uses_per_pixel'])}" if "channel_uses_per_pixel" in row else ""
    if row["kind"] == "semantic":
        return f"{row['system']} ({row.get('weights') or 'trained'}, analog){uses}"
    if row["kind"] == "label_map":
        source = f"{row['system']}: label map of {row['segmenter']}"
    elif row["kind"] == "split_digital":
        source = f"{row['system']}: {row['weights']} features at {int(row['feature_bits'])} bits"
    else:
        source = source_label(row)
    if "code_rate" not in row:
        return source
    mod = MODULATION_LABELS.get(row["modulation"], row["modulation"])
    mode = "" if row.get("receiver.mode", "strict") == "strict" else f" ({row['receiver.mode']})"
    return f"{source} + LDPC r={float(row['code_rate']):.2f} + {mod}{mode}{uses}"


def snr_rows(rows: list[Row], kinds: tuple[str, ...] = IMAGE_KINDS) -> list[Row]:
    """The rows of ``kinds`` measured at an SNR (the ideal channel's rows left out)."""
    return [r for r in rows if r.get("kind") in kinds and has_snr(r)]


def image_styles(rows: list[Row]) -> LineStyles:
    """Line names and looks of every image row with an SNR (semantic and digital), in results.csv order."""
    return LineStyles(snr_rows(rows), system_label)


def ss_value(row: Row) -> float:
    """SS of a row: its ``ss``, or mIoU / clean mIoU in a results.csv written before the column existed."""
    return float(row["ss"]) if "ss" in row else float(row["miou"]) / float(row["clean_miou"])


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
    by_channel = panels(rows, by_modulation=style.get("panels") == "channel_and_modulation")
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


def score_figure(rows: list[Row], title: str, style: Style, metric: str = "miou") -> plt.Figure | None:
    """mIoU (``metric="miou"``) or SS (``"ss"``) against SNR: a line per system (95 % band when the rows carry
    ``miou_ci_low/high``); clean-image and all-lost levels dashed; the Shannon limit of each digital chain as a
    star at the clean level.

    SS divides each row by its clean mIoU, the band too (the clean mIoU held fixed); a semantic system's own
    noiseless level is then 1 by definition and is not drawn.
    """
    ss = metric == "ss"
    styles = image_styles(rows)
    rows = snr_rows(rows)
    if not rows:
        return None
    notes = [images_note(rows)]
    if ss and "semantic" in {r["kind"] for r in rows} and len({r["kind"] for r in rows}) > 1:
        notes.append(SS_NOTE)
    fig, axes, by_channel = _figure(rows, title, style, SS_LABEL if ss else "mIoU", notes)
    star = 2.6 * plt.rcParams["lines.markersize"]
    banded, highest, own_levels = False, 1.0, False
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        refs = {}
        for name, line in styles.group(panel_rows).items():
            first = line[0]
            look = styles.look(first)
            xs = np.array([float(r["snr_db"]) for r in line])
            scale = np.array([1 / float(r["clean_miou"]) if ss else 1.0 for r in line])
            ys = [ss_value(r) for r in line] if ss else [float(r["miou"]) for r in line]
            highest = max(highest, *ys)
            ax.plot(xs, ys, **look, label=name)
            banded |= _band(
                ax,
                xs,
                scale * np.array([r.get("miou_ci_low", np.nan) for r in line], float),
                scale * np.array([r.get("miou_ci_high", np.nan) for r in line], float),
                look["color"],
            )
            if first["kind"] == "semantic":
                if not ss:
                    ax.axhline(
                        float(first["clean_miou"]),
                        color=look["color"],
                        ls="-.",
                        lw=0.8,
                        label=f"{first['system']} without channel noise",
                    )
                continue
            clean = float(first["clean_miou"])
            if first["kind"] == "digital_image":  # the receiver's segmenter on the sent images: one level for all
                refs["clean"] = 1.0 if ss else clean
                refs["lost"] = float(first["lost_miou"]) / (clean if ss else 1.0)
            elif not ss:  # label maps, features: their own error-free level (the device's maps, quantised features)
                ax.axhline(clean, color=look["color"], ls="-.", lw=0.8)
                own_levels = True
            snr = shannon_snr_db(
                first["channel"], float(first["source_bits_per_image"]), float(first["channel_uses_per_image"])
            )
            if snr is not None:
                ax.plot(
                    [snr],
                    [1.0 if ss else clean],
                    "*",
                    color=look["color"],
                    ms=star,
                    mec="k",
                    mew=0.5,
                    # right after its line in the legend, in its colour: the line's name need not be repeated
                    label=f"its Shannon limit{'' if first['channel'] == 'awgn' else ' (ergodic)'}: {snr:.1f} dB",
                )
        if "clean" in refs:
            clean_label = "clean images, UNet segmenter" + (" (SS = 1)" if ss else "")
            ax.axhline(refs["clean"], color="0.3", ls="--", lw=1, label=clean_label)
            ax.axhline(refs["lost"], color="0.3", ls=":", lw=1, label="every image lost (grey fallback)")
    if own_levels:
        axes[-1].plot(
            [], [], color="0.3", ls="-.", lw=0.8, label="dash-dot: a label-map or feature line without errors"
        )
    axes[0].set_ylim(0, max(1.02, 1.02 * highest))  # SS can pass 1 a little: noise may help a segmenter
    if banded:
        band = "shaded: 95% bootstrap interval over images" + (" (clean mIoU held fixed)" if ss else "")
        axes[-1].fill_between([], [], color="0.4", alpha=BAND_ALPHA, lw=0, label=band)
    place_legend(fig, axes, style)
    return fig


def miou_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """mIoU against SNR (:func:`score_figure`)."""
    return score_figure(rows, title, style, "miou")


def ss_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """SS = mIoU / clean mIoU against SNR (:func:`score_figure`), seed 004's semantic service quality."""
    return score_figure(rows, title, style, "ss")


def psnr_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """PSNR of what the digital receivers show (a lost image as its grey fallback) against SNR; a point where
    every image arrived exactly has no finite PSNR and is marked on the top edge instead."""
    styles = image_styles(rows)
    rows = [r for r in snr_rows(rows, ("digital_image",)) if "psnr_db" in r]
    if not rows:
        return None
    notes = [images_note(rows), "PSNR over all images of a point, a lost image scored as its grey fallback"]
    fig, axes, by_channel = _figure(rows, title, style, "PSNR (dB)", notes)
    any_exact = False
    for ax, panel_rows in zip(axes, by_channel.values(), strict=True):
        for name, line in styles.group(panel_rows).items():
            look = styles.look(line[0])
            xs = np.array([float(r["snr_db"]) for r in line])
            exact = np.array([is_exact(r) for r in line], bool)
            ys = np.array([float(r["psnr_db"]) for r in line])
            ax.plot(xs, np.where(exact, np.nan, ys), **look, label=name)
            exact_marks(ax, xs[exact], look["color"])
            any_exact |= bool(exact.any())
    if any_exact:
        exact_entry(axes[-1])
    place_legend(fig, axes, style)
    return fig


def bler_figure(rows: list[Row], title: str, style: Style) -> plt.Figure | None:
    """Code-block error rate of the digital image links against SNR, with 95 % Wilson intervals over the
    scored blocks; a point with no block error is marked at its 95 % upper bound 3/N."""
    styles = image_styles(rows)
    rows = snr_rows(rows, BIT_KINDS)
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
    rows = snr_rows(rows, BIT_KINDS)
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


@PLOTS.register("ss_vs_snr")
def ss_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """SS against SNR (:func:`ss_figure`), as ``ss_vs_snr.{png,pdf}``."""
    return draw(ss_figure, rows, out_dir, title, style, "ss_vs_snr")


@PLOTS.register("psnr_vs_snr")
def psnr_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """PSNR against SNR (:func:`psnr_figure`), as ``psnr_vs_snr.{png,pdf}``."""
    return draw(psnr_figure, rows, out_dir, title, style, "psnr_vs_snr")


@PLOTS.register("bler_vs_snr")
def bler_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """Block error rate against SNR (:func:`bler_figure`), as ``bler_vs_snr.{png,pdf}``."""
    return draw(bler_figure, rows, out_dir, title, style, "bler_vs_snr")


@PLOTS.register("images_lost_vs_snr")
def images_lost_vs_snr(rows: list[Row], out_dir: Path, title: str, style: Style | None = None) -> list[Path]:
    """Images lost against SNR (:func:`images_lost_figure`), as ``images_lost_vs_snr.{png,pdf}``."""
    return draw(images_lost_figure, rows, out_dir, title, style, "images_lost_vs_snr")
